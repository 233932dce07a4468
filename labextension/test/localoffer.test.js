/**
 * The detected model server the sidebar offers (src/localoffer.ts).
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { localOffer, pickModel } = require('../test-build/localoffer.js');

const ollama = {
  name: 'Ollama',
  base_url: 'http://127.0.0.1:11434/v1',
  models: ['nomic-embed-text:latest', 'llama3.2:3b', 'qwen2.5-coder:7b']
};
const studio = {
  name: 'LM Studio',
  base_url: 'http://127.0.0.1:1234/v1',
  models: ['llama-3.2-3b-instruct']
};

test('a code model is offered first, never an embedding model', () => {
  assert.equal(pickModel(ollama.models), 'qwen2.5-coder:7b');
  assert.equal(pickModel(['llama3.2:3b', 'bge-reranker']), 'llama3.2:3b');
  assert.equal(pickModel(['nomic-embed-text']), null);
  assert.equal(pickModel([]), null);
});

test('the first detected server with a chat model is offered', () => {
  assert.deepEqual(localOffer([ollama, studio], '', []), {
    name: 'Ollama',
    baseUrl: 'http://127.0.0.1:11434/v1',
    model: 'qwen2.5-coder:7b',
    models: ['qwen2.5-coder:7b', 'llama3.2:3b']
  });
  const embeddingsOnly = { ...ollama, models: ['nomic-embed-text'] };
  assert.equal(localOffer([embeddingsOnly, studio], '', []).name, 'LM Studio');
});

test('nothing is offered once the user chose an endpoint or said no', () => {
  assert.equal(localOffer([ollama], 'http://example.com/v1', []), null);
  assert.equal(localOffer([ollama], '', [ollama.base_url]), null);
  assert.equal(
    localOffer([ollama, studio], '', [ollama.base_url]).name,
    'LM Studio'
  );
  assert.equal(localOffer(undefined, '', []), null);
  assert.equal(localOffer([], '', []), null);
});
