// The guide (docs/guide, English and Chinese) cannot drift from the library: every file in
// examples/ runs, every code block marked `file=examples/...` is that file word for word, and every
// block marked `output=examples/...` is exactly what the file prints. The worked examples' numbers
// are in those outputs, computed by tsgrad.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { EDITIONS, printed, ROOT, run } from './guide-examples.js';
// The chapter-specific checks of prose against outputs, in this process so that each example runs once.
import './guide-words.js';
import './guide-tools.js';

const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.ts')).sort();
const chapters = EDITIONS.flatMap((dir) =>
  fs.readdirSync(path.join(ROOT, dir)).filter((f) => /^\d\d-.*\.md$/.test(f)).map((f) => path.join(dir, f)));

for (const file of examples) {
  test(`examples/${file} runs`, () => {
    assert.ok(run(`examples/${file}`).length > 0);
  });
}

/**
 * An example that trains says so in its header ("numbers come out of training"): the reference
 * backend rounds differently from the wasm kernels the guide's outputs come from, and a few dozen
 * steps carry that into the printed digits (and can move early stopping by an epoch). There its
 * output is checked line by line with numbers, and lists of them, masked; on wasm (both passes)
 * it is checked exactly.
 */
const trainedOnRef = (file: string) =>
  process.env.TSGRAD_BACKEND === 'ref' && fs.readFileSync(path.join(ROOT, file), 'utf8').includes('numbers come out of training');
const masked = (text: string) => text.replace(/\d+(\.\d+)?/g, '#').replace(/#(, #)+/g, '#');

/** The guide's marked blocks: ```lang file=PATH or ```text output=PATH, with their text. */
function blocks(markdown: string): { kind: 'file' | 'output'; target: string; text: string }[] {
  return [...markdown.matchAll(/^```\w+ (file|output)=(\S+)\n([\s\S]*?)^```$/gm)].map((m) => ({ kind: m[1] as 'file' | 'output', target: m[2], text: m[3] }));
}

test('the guide has chapters in English and Chinese, each with marked blocks', () => {
  assert.ok(chapters.length >= 4, chapters.join(', '));
  for (const c of chapters) {
    assert.ok(blocks(fs.readFileSync(path.join(ROOT, c), 'utf8')).length >= 2, `${c} has no marked code blocks`);
    if (!c.includes('/zh/')) assert.ok(fs.existsSync(path.join(ROOT, c.replace('docs/guide/', 'docs/guide/zh/'))), `${c} has no Chinese edition`);
  }
});

for (const chapter of chapters) {
  test(`${chapter}: its code is the examples' and its outputs are what they print`, () => {
    const markdown = fs.readFileSync(path.join(ROOT, chapter), 'utf8');
    const all = blocks(markdown);
    assert.ok(all.length > 0);
    for (const b of all) {
      assert.ok(examples.includes(path.basename(b.target)) && b.target.startsWith('examples/'), `${chapter}: ${b.target} is not a file in examples/`);
      const expected = b.kind === 'file' ? fs.readFileSync(path.join(ROOT, b.target), 'utf8') : run(b.target);
      if (b.kind === 'output' && trainedOnRef(b.target)) {
        assert.equal(masked(b.text), masked(expected), `${chapter}: the output block of ${b.target} differs (numbers aside)`);
      } else {
        assert.equal(b.text, expected, `${chapter}: the ${b.kind} block of ${b.target} differs`);
      }
    }
    // Every code block is marked: an unmarked one would not be checked.
    const fences = [...markdown.matchAll(/^```(\w*)( .*)?$/gm)].filter((m) => m[1] !== '');
    for (const f of fences) assert.ok(f[1] === 'text' || f[2], `${chapter}: a \`\`\`${f[1]} block is neither a file nor an output of examples/`);
  });
}

test('every link and picture in the guide and the README points at a file that exists', () => {
  for (const doc of [...chapters, 'docs/guide/README.md', 'docs/guide/zh/README.md', 'README.md']) {
    const markdown = fs.readFileSync(path.join(ROOT, doc), 'utf8');
    for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target)) continue;
      const file = path.resolve(ROOT, path.dirname(doc), decodeURIComponent(target.split('#')[0]));
      assert.ok(fs.existsSync(file), `${doc}: ${target} does not exist`);
    }
  }
});

test('chapter 8\'s table is the runs scripts/guide-runs.ts recorded, in both editions', () => {
  const runs = fs.readFileSync(path.join(ROOT, 'docs/guide/data/better.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(runs.length >= 10, `${runs.length} runs recorded`);
  for (const edition of EDITIONS) {
    const rows = fs.readFileSync(path.join(ROOT, edition, '08-making-it-better.md'), 'utf8').split('\n').filter((l) => l.startsWith('| `'));
    assert.equal(rows.length, runs.length, `${edition}: one row per run`);
    runs.forEach((r, i) => {
      const cells = rows[i].split('|').map((c) => c.trim());
      assert.ok(cells[1].startsWith(`\`${r.name}\``) && cells[1].includes(String(r.seed || '')), `${edition}: row ${i + 1} is ${r.name}, seed ${r.seed}`);
      const figures = [String(r.epochs), `${(100 * r.history.accuracy.at(-1)).toFixed(2)}%`, `${(100 * r.testAccuracy).toFixed(2)}%`, r.testLoss.toFixed(4)];
      assert.deepEqual(cells.slice(3, 7), figures, `${edition}: ${r.name}'s figures`);
    });
  }
});

/** A printed array as the chapters' prose writes it: `[[25, 31], [43, 49]]`. */
const prose = (json: string) => json.replace(/,/g, ', ');

test('the worked examples and the parameter count in the chapters\' text are the ones the library prints', () => {
  for (const edition of EDITIONS) {
    const read = (f: string) => fs.readFileSync(path.join(ROOT, edition, f), 'utf8');
    const conv = read('03-convolution.md'), pool = read('04-pooling.md'), cnn = read('07-reference-cnn.md');
    for (const label of ['cross-correlation:', 'convolution (kernel flipped):']) {
      assert.ok(conv.includes(prose(printed('examples/convolution.ts', label))), `${edition}: ${label} ${printed('examples/convolution.ts', label)}`);
    }
    for (const label of ['stride 2:', 'stride 1:']) assert.ok(pool.includes(prose(printed('examples/pooling.ts', label))), `${edition}: pooling ${label}`);
    if (process.env.TSGRAD_BACKEND !== 'ref') {
      // The training example's accuracies, as the chapter quotes them (the wasm kernels' figures).
      for (const label of ['training, 32 steps of 32:', 'after one epoch, on the test digits:']) {
        const accuracy = printed('examples/train-cnn.ts', label).match(/accuracy ([\d.]+%)/)![1];
        assert.ok(cnn.includes(` ${accuracy}`), `${edition}: chapter 7 does not quote ${label} ${accuracy}`);
      }
    }
    const total = printed('examples/reference-cnn.ts', 'Total params:').split(' ')[0];
    assert.ok(cnn.includes(`**${total}**`), `${edition}: the table's total is not ${total}`);
    // Each row's sum is its own arithmetic.
    const rows = [...cnn.matchAll(/\| ([\d *+]+) = ([\d,]+) \|/g)];
    assert.equal(rows.length, 5, `${edition}: the five layers with weights`);
    for (const [, expr, value] of rows) {
      const sum = expr.split('+').reduce((s, term) => s + term.split('*').reduce((p, f) => p * Number(f), 1), 0);
      assert.equal(sum, Number(value.replace(/,/g, '')), `${edition}: ${expr} = ${value}`);
    }
  }
});
