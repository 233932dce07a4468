/**
 * The live notebook a new episode sends (src/notebookcontext.ts): every
 * cell, in order, with unsaved edits, cut to a bounded size.
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');
const {
  MAX_TEXT_CHARS,
  hasError,
  notebookSnapshot
} = require('../test-build/notebookcontext.js');

const cells = [
  {
    id: 'md',
    cell_type: 'markdown',
    source: ['# Sales\n', 'report'],
    metadata: {}
  },
  {
    id: 'big',
    cell_type: 'code',
    source: 'print("x" * 10**6)',
    execution_count: 1,
    metadata: { collapsed: true, codeact: { episode: 'e', step: 's' } },
    outputs: [
      { output_type: 'stream', name: 'stdout', text: 'x'.repeat(1_000_000) },
      {
        output_type: 'display_data',
        data: {
          'image/png': 'iVBOR'.repeat(100_000),
          'text/plain': '<Figure>'
        },
        metadata: { width: 3 }
      }
    ]
  },
  {
    id: 'fails',
    cell_type: 'code',
    source: "df['revenue']",
    execution_count: 2,
    metadata: {},
    outputs: [
      {
        output_type: 'error',
        ename: 'KeyError',
        evalue: "'revenue'",
        traceback: Array.from({ length: 100 }, (_, i) => `line ${i}`)
      }
    ]
  }
];

test('the snapshot keeps every cell in order, text cut, images reduced to their kind', () => {
  const snapshot = notebookSnapshot(cells);
  assert.deepEqual(
    snapshot.cells.map(c => c.id),
    ['md', 'big', 'fails']
  );
  assert.equal(snapshot.cells[0].source, '# Sales\nreport');
  const [stream, image] = snapshot.cells[1].outputs;
  assert.ok(stream.text.length < MAX_TEXT_CHARS + 100);
  assert.match(stream.text, /characters cut/);
  assert.equal(image.data['image/png'], '');
  assert.equal(image.data['text/plain'], '<Figure>');
  // Only the episode mark of the metadata travels.
  assert.deepEqual(snapshot.cells[1].metadata, {
    codeact: { episode: 'e', step: 's' }
  });
  const error = snapshot.cells[2].outputs[0];
  assert.equal(error.traceback.length, 30);
  assert.equal(error.traceback.at(-1), 'line 99');
  assert.ok(JSON.stringify(snapshot).length < 20_000);
});

test('hasError tells a cell whose output is an error', () => {
  assert.equal(hasError(cells[2]), true);
  assert.equal(hasError(cells[1]), false);
  assert.equal(hasError(cells[0]), false);
  assert.equal(hasError(undefined), false);
});
