// The API reference (typedoc.json, `npm run docs:api`) builds without a warning: every name the
// package exports from its entries (src/index.ts, src/browser.ts) has a doc comment, and every
// {@link} resolves. A new export without one fails here, not when someone next builds the docs.
// typedoc writes into a temporary folder, so this leaves docs/api/ alone.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from './helpers.js';

const TYPEDOC = path.resolve('node_modules/typedoc/bin/typedoc');

test('typedoc builds the API reference with no warnings (every export documented)', () => {
  const out = tempDir('api-docs');
  const r = spawnSync(process.execPath, [TYPEDOC, '--options', 'typedoc.json', '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    timeout: 120_000,
  });
  const output = `${r.stdout}${r.stderr}`;
  const warnings = output.split('\n').filter((line) => /warning/i.test(line));
  assert.deepEqual(warnings, [], `typedoc warned:\n${warnings.join('\n')}`);
  assert.equal(r.status, 0, `typedoc exited with ${r.status ?? r.signal}:\n${output}`);
});
