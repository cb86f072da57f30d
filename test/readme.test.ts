// The README's code examples run as written: each ```ts block becomes a file in a fresh folder
// (its working directory), its `from 'tsgrad'` pointed at the package's entry (src/index.ts), run
// with tsx. To stay quick a few literal sizes are made small (MNIST's first 200 images, one epoch,
// a slice of the corpus, a few steps and tokens); each substitution must match somewhere, so an
// edited example fails here rather than running for minutes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { tempDir } from './helpers.js';

const ENTRY = path.resolve('src/index.ts');
/** tsx's loader by path: the examples run in a folder without node_modules. */
const TSX = pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href;
const QUICK: [RegExp, string][] = [
  [/loadMnist\(\)/g, 'loadMnist({ limit: 200 })'],
  [/loadMnist\(\{ split: 'test' \}\)/g, "loadMnist({ split: 'test', limit: 200 })"],
  [/epochs: \d+/g, 'epochs: 1'],
  [/loadBrown\(\)/g, 'loadBrown().slice(0, 30000)'],
  [/steps: 1000/g, 'steps: 4'],
  [/warmup: 100/g, 'warmup: 2'],
  [/evalEvery: 100/g, 'evalEvery: 2'],
  [/evalBatches: 8/g, 'evalBatches: 1'],
  [/tokens: \d+/g, 'tokens: 5'],
];

const blocks = [...fs.readFileSync('README.md', 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
const used = new Set<RegExp>();

test('the README has code examples, each importing from tsgrad', () => {
  assert.ok(blocks.length >= 3);
  for (const b of blocks) assert.match(b, /from 'tsgrad';/);
});

blocks.forEach((block, i) => {
  test(`README example ${i + 1} runs (${block.split('\n')[0].slice(0, 60)}...)`, () => {
    let code = block.replace(/from 'tsgrad';/g, `from ${JSON.stringify(ENTRY)};`);
    for (const [re, small] of QUICK) {
      re.lastIndex = 0;
      if (re.test(code)) used.add(re);
      code = code.replace(re, small);
    }
    const dir = tempDir('readme');
    fs.writeFileSync(path.join(dir, 'example.mts'), code);
    const r = spawnSync(process.execPath, ['--import', TSX, 'example.mts'], { cwd: dir, encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, `example ${i + 1} failed:\n${r.stderr}\n${code}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

test('every shortcut applied to some example (the examples still say what they did)', () => {
  assert.deepEqual(QUICK.filter(([re]) => !used.has(re)).map(([re]) => re.source), []);
});
