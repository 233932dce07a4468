/**
 * What a `%codeact` output shows (src/magicphase.ts): each event's phase,
 * and when a request renders or starts again.
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');
const {
  INITIAL_PHASE,
  nextPhase,
  rerunsOnTrust,
  shownEpisode,
  waitsForKernel
} = require('../test-build/magicphase.js');

const model = { id: 'e1' };
const held = { kind: 'held', why: 'stale', age: 90, runsWith: null };
/** Every phase, to show that an event's phase does not depend on it. */
const phases = [
  INITIAL_PHASE,
  { kind: 'starting' },
  { kind: 'queued', message: 'busy' },
  { kind: 'finding' },
  { kind: 'episode', model },
  held,
  { kind: 'error', message: 'no', retry: true }
];

test('an output starts by finding its notebook', () => {
  assert.deepEqual(INITIAL_PHASE, { kind: 'locating' });
  for (const phase of phases) {
    assert.deepEqual(nextPhase(phase, { type: 'run' }), { kind: 'locating' });
  }
});

test('data that is no request, or no notebook to run in: an error with nothing to retry', () => {
  for (const phase of phases) {
    assert.deepEqual(nextPhase(phase, { type: 'invalid', message: 'bad' }), {
      kind: 'error',
      message: 'bad',
      retry: false
    });
    assert.deepEqual(
      nextPhase(phase, { type: 'unplaced', message: 'no notebook' }),
      { kind: 'error', message: 'no notebook', retry: false }
    );
  }
});

test('starting, waiting for the kernel, asking the server', () => {
  assert.deepEqual(nextPhase(INITIAL_PHASE, { type: 'start' }), {
    kind: 'starting'
  });
  assert.deepEqual(nextPhase(held, { type: 'start' }), { kind: 'starting' });
  assert.deepEqual(
    nextPhase({ kind: 'starting' }, { type: 'kernelBusy', message: '409' }),
    { kind: 'queued', message: '409' }
  );
  assert.deepEqual(
    nextPhase({ kind: 'queued', message: '409' }, { type: 'start' }),
    { kind: 'starting' }
  );
  assert.deepEqual(nextPhase(INITIAL_PHASE, { type: 'find' }), {
    kind: 'finding'
  });
});

test('the episode, started or found, is shown', () => {
  for (const from of [{ kind: 'starting' }, { kind: 'finding' }]) {
    const phase = nextPhase(from, { type: 'episode', model });
    assert.deepEqual(phase, { kind: 'episode', model });
    assert.equal(shownEpisode(phase), model);
  }
  for (const phase of phases.filter(p => p.kind !== 'episode')) {
    assert.equal(shownEpisode(phase), null);
  }
});

test('no episode on the server: held, for being old or untrusted', () => {
  const event = { type: 'notFound', age: 172800, runsWith: 'model m' };
  assert.deepEqual(
    nextPhase({ kind: 'finding' }, { ...event, trusted: true }),
    {
      kind: 'held',
      why: 'stale',
      age: 172800,
      runsWith: 'model m'
    }
  );
  assert.equal(
    nextPhase({ kind: 'finding' }, { ...event, trusted: false }).why,
    'untrusted'
  );
  // A clock behind the one that made the request: never a negative age.
  assert.equal(
    nextPhase({ kind: 'finding' }, { ...event, trusted: true, age: -5 }).age,
    0
  );
});

test('a failure says why, and whether "Try again" is offered', () => {
  assert.deepEqual(
    nextPhase(
      { kind: 'starting' },
      { type: 'failed', message: 'Busy', retry: true }
    ),
    { kind: 'error', message: 'Busy', retry: true }
  );
  assert.equal(
    nextPhase(INITIAL_PHASE, { type: 'failed', message: 'x', retry: false })
      .retry,
    false
  );
});

test('rendered again, a request runs again only when held and trusted since', () => {
  assert.equal(rerunsOnTrust(held, false, true), true);
  assert.equal(rerunsOnTrust(held, true, true), false);
  assert.equal(rerunsOnTrust(held, false, false), false);
  assert.equal(rerunsOnTrust({ kind: 'episode', model }, false, true), false);
  assert.equal(rerunsOnTrust(INITIAL_PHASE, false, true), false);
});

test('only a busy kernel (409) is waited for, until the user cancels', () => {
  assert.equal(waitsForKernel(409, false), true);
  assert.equal(waitsForKernel(409, true), false);
  assert.equal(waitsForKernel(500, false), false);
  assert.equal(waitsForKernel(null, false), false);
});
