/**
 * The line shown before a reply whose prompt was condensed (src/promptsummary.ts).
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { promptSummary } = require('../test-build/promptsummary.js');

const trans = {
  __: (text, ...args) =>
    args.reduce((s, a, i) => s.replace(`%${i + 1}`, a), text),
  _n: (one, many, n) => (n === 1 ? one : many).replace('%1', n)
};

test('a prompt sent whole has no line', () => {
  assert.equal(promptSummary(trans, { text: 'x', prompt_tokens: 900 }), null);
});

test('a condensed prompt says its size and what it shortened', () => {
  const data = {
    text: 'x',
    prompt_tokens: 3012,
    context_tokens: 4096,
    condensed: {
      cut: ['0005-observation', '0007-observation'],
      omitted: ['0003-observation'],
      code: ['0002-assistant'],
      dropped: { through: '0001-observation', messages: 1 }
    }
  };
  assert.equal(
    promptSummary(trans, data),
    'Prompt: 3,012 of 4,096 tokens; 3 older outputs shortened; ' +
      '1 older reply shortened; 1 earlier message left out'
  );
});
