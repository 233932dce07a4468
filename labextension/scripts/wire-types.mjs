/**
 * src/wire.ts from ../codeact_lab/wire.schema.json (the Python half's types,
 * codeact_lab/agent/wire.py): `jlpm build:wire` writes it, and
 * test/wire.test.mjs fails when the committed file is out of date.
 *
 * The schema keeps the Python names; objects become interfaces named `I` +
 * that name (this project's convention), unions and literals keep theirs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { compile } from 'json-schema-to-typescript';
import prettier from 'prettier';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA = join(root, '..', 'codeact_lab', 'wire.schema.json');
export const OUTPUT = join(root, 'src', 'wire.ts');

const BANNER = `/**
 * The wire between the two halves: generated from codeact_lab/wire.schema.json
 * (codeact_lab/agent/wire.py) by \`jlpm build:wire\`. Do not edit.
 */
import type { IOutput } from '@jupyterlab/nbformat';`;

// TypeScript names that differ: `Event` would hide the DOM's.
const RENAMED = { Event: 'EpisodeEvent' };

// What json-schema-to-typescript says of every definition no other one uses.
const REFERENCED =
  /(\n \* ?)?\n \* This interface was referenced by `IWire`'s JSON-Schema\n \* via the `definition` "\w+"\./g;

export async function wireTypes() {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'));
  for (const [name, definition] of Object.entries(schema.$defs)) {
    const isInterface = definition.type === 'object' && !definition.tsType;
    definition.title = isInterface ? `I${name}` : (RENAMED[name] ?? name);
  }
  // Only the named types: the root is a bag of definitions, not a type.
  const { $defs } = schema;
  const bag = {
    title: 'IWire',
    type: 'object',
    properties: Object.fromEntries(
      Object.keys($defs).map(name => [name, { $ref: `#/$defs/${name}` }])
    ),
    additionalProperties: false,
    $defs
  };
  const ts = await compile(bag, 'IWire', {
    bannerComment: BANNER,
    format: false,
    unreachableDefinitions: true,
    strictIndexSignatures: true
  });
  // Drop the bag itself: nothing uses it.
  const types = ts
    .replace(/export interface IWire \{[^}]*\}\n/, '')
    .replace(REFERENCED, '')
    .replace(/\/\*\*\n \*\/\n/g, '');
  const options = await prettier.resolveConfig(OUTPUT);
  return prettier.format(types, { ...options, filepath: OUTPUT });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OUTPUT, await wireTypes());
  console.log(`wrote ${OUTPUT}`);
}
