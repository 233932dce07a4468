/**
 * The TypeScript reducer (src/model.ts) against the Python one: replaying the
 * events the Python core made must build the record the Python core built,
 * whatever the duplicates and reconnections. Also the reply splitter.
 *
 * Run with `jlpm test` (compiles src/model.ts and src/segments.ts to
 * CommonJS in test-build/, then runs node's test runner).
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');
const fixture = require('./fixtures/episode.json');
const patches = require('./fixtures/output_patches.json');
const {
  EpisodeModel,
  applyEvent,
  applyOutputPatch
} = require('../test-build/model.js');
const { splitReply } = require('../test-build/segments.js');

/** The record's fields the Python reducer owns (the server adds the rest). */
function comparable(record) {
  const { running, awaiting_approval, ...rest } = record;
  return JSON.parse(JSON.stringify(rest));
}

test('replaying the Python events builds the Python record', () => {
  const model = new EpisodeModel(fixture.start);
  for (const ev of fixture.events) {
    assert.equal(model.apply(ev), true);
  }
  assert.deepEqual(comparable(model.record), comparable(fixture.expected));
  assert.equal(model.running, false);
  assert.equal(model.turns, 4);
  assert.equal(model.solution, '28'); // the answer final_answer() gave
  assert.equal(model.record.state, 'stuck');
});

test('an event applied twice changes nothing', () => {
  const model = new EpisodeModel(fixture.start);
  let changes = 0;
  model.changed.connect(() => changes++);
  for (const ev of fixture.events) {
    model.apply(ev);
    assert.equal(model.apply(ev), false);
  }
  assert.equal(changes, fixture.events.length);
  assert.deepEqual(comparable(model.record), comparable(fixture.expected));
});

test('a reconnection replay (no live-only events, an overlap) gives the same record', () => {
  const live = ['text_delta', 'model_retry', 'output', 'kernel_busy'];
  const stored = fixture.events.filter(ev => !live.includes(ev.type));
  const model = new EpisodeModel(fixture.start);
  // The first half, live; then a replay from an older seq, as after a drop.
  const half = Math.floor(fixture.events.length / 2);
  fixture.events.slice(0, half).forEach(ev => model.apply(ev));
  stored.filter(ev => ev.seq > 3).forEach(ev => model.apply(ev));
  assert.deepEqual(comparable(model.record), comparable(fixture.expected));
});

test("an approval with the user's edit keeps the model's code", () => {
  const model = new EpisodeModel(fixture.start);
  fixture.events.forEach(ev => model.apply(ev));
  const edited = model.record.steps.find(s => s.data.model_code !== undefined);
  assert.equal(edited.data.code, 'print(sum(numbers))  # mine');
  assert.equal(edited.data.model_code, 'print(sum(numbers))');
});

test("kernel_busy says while the episode waits for the user's cell", () => {
  const model = new EpisodeModel(fixture.start);
  const [waiting, free] = fixture.events.filter(
    ev => ev.type === 'kernel_busy'
  );
  model.apply(waiting);
  assert.equal(model.live.kernelBusy, true);
  model.apply(free);
  assert.equal(model.live.kernelBusy, false);
});

test('text deltas build a per-turn draft that the reply replaces and a retry clears', () => {
  const model = new EpisodeModel(fixture.start);
  const byType = type => fixture.events.find(ev => ev.type === type);
  const upTo = seq => fixture.events.filter(ev => ev.seq <= seq);
  upTo(byType('text_delta').seq).forEach(ev => model.apply(ev));
  assert.equal(model.live.drafts[1], '<exec');
  model.apply(byType('model_retry'));
  assert.equal(model.live.drafts[1], undefined);
  assert.equal(model.live.retry.reason, 'HTTP 500');
  const second = fixture.events.filter(ev => ev.type === 'text_delta')[1];
  model.apply(second);
  assert.equal(model.live.drafts[1], '<execute>\nprint(sum(numbrs))');
  const reply = fixture.events.find(
    ev => ev.type === 'assistant_message' && ev.data.step.data.turn === 1
  );
  model.apply(reply);
  assert.equal(model.live.drafts[1], undefined);
});

test('live outputs show until the action finishes', () => {
  const model = new EpisodeModel(fixture.start);
  const output = fixture.events.find(ev => ev.type === 'output');
  fixture.events
    .filter(ev => ev.seq <= output.seq)
    .forEach(ev => model.apply(ev));
  const action = model.record.steps.find(s => s.id === output.data.step_id);
  assert.equal(action.data.status, 'running');
  assert.deepEqual(action.data.outputs, output.data.outputs);
  assert.equal(model.running, true);
});

test('awaiting approval is derived from the actions', () => {
  const model = new EpisodeModel(fixture.start);
  const waiting = fixture.events.find(ev => ev.type === 'awaiting_approval');
  fixture.events
    .filter(ev => ev.seq <= waiting.seq)
    .forEach(ev => model.apply(ev));
  assert.equal(model.awaitingApproval.id, waiting.data.step_id);
});

test('the record given is not changed by the reducer', () => {
  const start = JSON.parse(JSON.stringify(fixture.start));
  const model = new EpisodeModel(start);
  fixture.events.forEach(ev => model.apply(ev));
  assert.deepEqual(start, fixture.start);
  // applyEvent works on a plain record too.
  const record = JSON.parse(JSON.stringify(fixture.start));
  const liveState = { drafts: {}, turn: null, retry: null };
  fixture.events.forEach(ev => applyEvent(record, liveState, ev));
  assert.deepEqual(comparable(record), comparable(fixture.expected));
});

test('replies split into prose, actions and the answer', () => {
  const parts = splitReply(
    'Let me try.\n<execute>\n```python\nx = 1\n```\n</execute>\nthen\n' +
      '<execute>\n</execute><EXECUTE>y = 2</execute>\n<solution>42</solution>'
  );
  assert.deepEqual(
    parts.map(p => [p.kind, p.index ?? null]),
    [
      ['text', null],
      ['execute', 0],
      ['text', null],
      ['execute', null],
      ['execute', 1],
      ['solution', null]
    ]
  );
  assert.equal(parts[1].code, 'x = 1');
  assert.equal(parts[4].code, 'y = 2');
  assert.equal(parts[5].text, '42');
});

test('a streaming reply hides a half-written tag and keeps an open block', () => {
  assert.deepEqual(splitReply('Hello <exe', true), [
    { kind: 'text', text: 'Hello ' }
  ]);
  const parts = splitReply('Go\n<execute>\nprint(1', true);
  assert.equal(parts[1].kind, 'execute');
  assert.equal(parts[1].closed, false);
  assert.equal(parts[1].code, 'print(1');
  // A second <execute> before a close: the first was never closed.
  const two = splitReply('<execute>a = 1\n<execute>b = 2</execute>');
  assert.deepEqual(
    two.map(p => [p.code, p.closed, p.index]),
    [
      ['a = 1', false, 0],
      ['b = 2', true, 1]
    ]
  );
});

test('live-output patches rebuild every snapshot the Python collector had', () => {
  let outputs = [];
  for (const { patch, expected } of patches.patches) {
    outputs = applyOutputPatch(outputs, patch);
    assert.deepEqual(outputs, expected);
  }
  assert.ok(patches.patches.some(({ patch }) => patch.append !== undefined));
  assert.ok(
    patches.patches.some(({ patch }) => patch.from > 0 && !patch.append)
  );
});

test('a finished action sent as a patch from the live outputs', () => {
  const { live: liveOutputs, data, expected } = patches.finish;
  const ep = {
    ...fixture.start,
    last_seq: 0,
    steps: [
      {
        id: data.step_id,
        kind: 'action',
        time: 0,
        data: { outputs: liveOutputs }
      }
    ]
  };
  const state = { drafts: {}, retry: null, turn: 0 };
  applyEvent(ep, state, { type: 'action_finished', seq: 1, time: 0, data });
  assert.deepEqual(ep.steps[0].data.outputs, expected);
  assert.equal(ep.steps[0].data.status, 'ok');
});

test('an unclosed <solution> around a whole action shows the action (parser.py)', () => {
  const text =
    "<solution>No column 'value'; I use 'price'.\n<execute>\nprint(1)\n</execute>";
  assert.deepEqual(
    splitReply(text).map(p => [p.kind, p.index ?? null]),
    [
      ['text', null],
      ['execute', 0]
    ]
  );
  // closed, it is an answer that shows code
  assert.deepEqual(
    splitReply(text + '</solution>').map(p => p.kind),
    ['solution']
  );
});
