/**
 * What the extension reads from notebooks (src/notebookdata.ts): the data of
 * a `%codeact` display, whether rendering it may start its episode, and the
 * episode of an exported notebook.
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');
const {
  FRESH_SECONDS,
  describeAge,
  exportedEpisode,
  magicSettings,
  mayStart,
  parseMagicRequest
} = require('../test-build/notebookdata.js');

/** A TranslationBundle stand-in: gettext's %1, %2 placeholders. */
const trans = {
  __: (text, ...args) =>
    text.replace(/%(\d+)/g, (_, i) => String(args[Number(i) - 1])),
  _n: (one, many, n) => (n === 1 ? one : many).replace('%1', String(n))
};

/** The data codeact_lab/magic.py publishes. */
function display(overrides = {}) {
  return {
    task: 'sum the numbers',
    settings: { approval: 'ask', max_turns: 6 },
    request_id: '0123456789abcdef0123456789abcdef',
    created: 1000,
    cell_id: 'cell-1',
    kernel_id: 'kernel-1',
    ...overrides
  };
}

test('the display of %codeact parses into a request', () => {
  const request = parseMagicRequest(display(), trans);
  assert.deepEqual(request, display());
});

test('missing optional fields become null, a bad settings object {}', () => {
  const request = parseMagicRequest(
    display({ cell_id: undefined, kernel_id: null, settings: [1] }),
    trans
  );
  assert.equal(request.cell_id, null);
  assert.equal(request.kernel_id, null);
  assert.deepEqual(request.settings, {});
});

test('data that is not a request is a message, never an exception', () => {
  for (const data of [
    null,
    undefined,
    'text',
    [],
    42,
    display({ task: '' }),
    display({ task: 7 }),
    display({ request_id: '' }),
    display({ request_id: null })
  ]) {
    const result = parseMagicRequest(data, trans);
    assert.equal(typeof result, 'string', JSON.stringify(data));
  }
});

test('only a recent display from a trusted output may start its episode', () => {
  const request = parseMagicRequest(display({ created: 10000 }), trans);
  assert.equal(mayStart(request, true, 10000 + 5), true);
  assert.equal(mayStart(request, true, 10000 + FRESH_SECONDS - 1), true);
  // Older than a few minutes: a notebook reopened later, or from elsewhere.
  assert.equal(mayStart(request, true, 10000 + FRESH_SECONDS + 1), false);
  // Untrusted: never, however recent.
  assert.equal(mayStart(request, false, 10000 + 5), false);
  // A little clock skew is fine; a date far in the future is not.
  assert.equal(mayStart(request, true, 10000 - 30), true);
  assert.equal(mayStart(request, true, 10000 - 3600), false);
  // No date at all: the epoch, so never fresh.
  const undated = parseMagicRequest(display({ created: 'now' }), trans);
  assert.equal(mayStart(undated, true, 10000), false);
});

test('ages read as minutes, hours or days', () => {
  assert.equal(describeAge(trans, 20), '1 minute');
  assert.equal(describeAge(trans, 7 * 60), '7 minutes');
  assert.equal(describeAge(trans, 3 * 3600), '3 hours');
  assert.equal(describeAge(trans, 5 * 86400), '5 days');
});

test('an exported notebook holds an episode only with a whole record', () => {
  const metadata = {
    episode: 'e1',
    record: { id: 'e1', task: 'sum', steps: [] }
  };
  assert.deepEqual(exportedEpisode(metadata, 'dir/x.ipynb'), {
    id: 'e1',
    task: 'sum',
    path: 'dir/x.ipynb'
  });
  // A code-only export (no record), another extension's metadata, nothing.
  assert.equal(exportedEpisode({ episode: 'e1' }, 'x.ipynb'), null);
  assert.equal(exportedEpisode({ record: { id: 'e1' } }, 'x.ipynb'), null);
  assert.equal(exportedEpisode({ record: 'e1' }, 'x.ipynb'), null);
  assert.equal(exportedEpisode(undefined, 'x.ipynb'), null);
});

test("a display never chooses the endpoint, nor model or approval unless it is the user's own", () => {
  const request = {
    task: 't',
    request_id: 'r',
    created: 0,
    cell_id: null,
    kernel_id: null,
    settings: {
      base_url: 'http://author.example/v1',
      model: 'authors-model',
      approval: 'auto',
      max_turns: 99
    }
  };
  const user = { approval: 'ask', model: 'mine' };
  // "Run it here" on someone else's output: the user's settings only.
  assert.deepEqual(magicSettings(user, request, false), user);
  assert.deepEqual(magicSettings({}, request, false), {});
  // More caution is always taken.
  const careful = { ...request, settings: { approval: 'ask' } };
  assert.deepEqual(magicSettings({ approval: 'auto' }, careful, false), {
    approval: 'ask'
  });
  // The user's own fresh %codeact: its options, but never an endpoint.
  assert.deepEqual(magicSettings(user, request, true), {
    model: 'authors-model',
    approval: 'auto',
    max_turns: 99
  });
});
