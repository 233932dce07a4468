/**
 * The words for an episode's state (src/labels.ts), shared by the chat's
 * status line, the history and the `%codeact` output.
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');
const {
  episodeState,
  finalLabel,
  statusLabel,
  summaryState
} = require('../test-build/labels.js');

/** A TranslationBundle stand-in: gettext's %1, %2 placeholders. */
const trans = {
  __: (text, ...args) =>
    text.replace(/%(\d+)/g, (_, i) => String(args[Number(i) - 1])),
  _n: (one, many, n) => (n === 1 ? one : many).replace('%1', String(n))
};

/** What `episodeState` reads of an EpisodeModel. */
function model({ state = null, kernelBusy = false, awaiting = false } = {}) {
  return {
    record: { state },
    live: { kernelBusy },
    awaitingApproval: awaiting ? { id: 'step' } : null
  };
}

test('a final state is its label, in its own colour', () => {
  assert.deepEqual(episodeState(trans, model({ state: 'solved' })), {
    state: 'solved',
    label: 'Solved'
  });
  assert.equal(finalLabel(trans, 'max_turns'), 'Turn limit reached');
  assert.equal(finalLabel(trans, 'stuck'), 'Stuck: the model repeated itself');
});

test('a state the page does not know is shown as it is', () => {
  assert.equal(finalLabel(trans, 'exploded'), 'exploded');
  assert.equal(statusLabel(trans, 'exploded'), 'exploded');
});

test("the user's running cell comes before an approval, an end before both", () => {
  const waiting = episodeState(
    trans,
    model({ kernelBusy: true, awaiting: true })
  );
  assert.equal(waiting.state, 'waiting');
  assert.equal(waiting.label, 'waiting for your running cell');
  assert.match(waiting.title, /never interrupts it/);
  assert.equal(
    episodeState(trans, model({ state: 'stopped', kernelBusy: true })).state,
    'stopped'
  );
});

test('awaiting approval, else running', () => {
  assert.deepEqual(episodeState(trans, model({ awaiting: true })), {
    state: 'awaiting_approval',
    label: 'awaiting approval'
  });
  assert.deepEqual(episodeState(trans, model()), {
    state: 'running',
    label: 'running'
  });
});

test('an action status has a badge text', () => {
  assert.equal(statusLabel(trans, 'ok'), 'done');
  assert.equal(statusLabel(trans, 'dead'), 'kernel died');
  assert.equal(statusLabel(trans, 'awaiting_approval'), 'awaiting approval');
});

test('a listed episode: running, its end, or unknown', () => {
  assert.deepEqual(summaryState(trans, { running: true, state: null }), {
    state: 'running',
    label: 'running'
  });
  assert.deepEqual(summaryState(trans, { running: false, state: 'failed' }), {
    state: 'failed',
    label: 'Failed'
  });
  assert.deepEqual(summaryState(trans, { running: false, state: null }), {
    state: 'unknown',
    label: 'unknown'
  });
});
