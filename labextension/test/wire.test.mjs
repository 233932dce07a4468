// src/wire.ts is generated from the Python half's schema: it must be what
// `jlpm build:wire` makes of the committed codeact_lab/wire.schema.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { OUTPUT, wireTypes } from '../scripts/wire-types.mjs';

test('src/wire.ts is up to date with codeact_lab/wire.schema.json', async () => {
  const committed = readFileSync(OUTPUT, 'utf8');
  assert.ok(
    committed === (await wireTypes()),
    'src/wire.ts is out of date: run `jlpm build:wire`'
  );
});
