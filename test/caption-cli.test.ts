// `tsgrad caption` as a user runs it: a tiny train / run / eval round, --json, --resume to the same
// bytes as an uninterrupted run, the run in `tsgrad runs`, --save-wrong, and one clear line with a
// non-zero exit for each kind of bad input (a missing checkpoint, a GPT's or a digit classifier's
// checkpoint, a file that is not an image, --beam 0).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { saveModel } from '../src/io/checkpoint.js';
import { Gpt } from '../src/models/gpt.js';
import { referenceCnn } from '../src/models/zoo.js';
import { tempDir } from './helpers.js';

const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('caption-cli');

function tsgrad(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tiny = ['--filters', '4,8', '--embd', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--warmup-steps', '2', '--eval-count', '16'];

/** A one-line error (no stack) and the exit code. */
function fails(r: ReturnType<typeof tsgrad>, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.err);
  assert.equal(r.out, '');
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err.trim(), pattern);
}

test('train, then caption pictures and evaluate the run', () => {
  const r = tsgrad('caption', 'train', ...tiny, '--steps', '6', '--eval-every', '3', '--out', 'run', '--json');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  const evals = lines.filter((l) => l.event === 'eval');
  assert.deepEqual(evals.map((l) => l.step), [3, 6]);
  for (const e of evals) assert.ok(e.val_loss > 0 && e.val_accuracy >= 0 && e.val_accuracy <= 1 && e.imagesPerSec > 0, JSON.stringify(e));
  const done = lines.at(-1);
  assert.equal(done.event, 'done');
  assert.equal(done.count, 2000);
  assert.deepEqual(Object.keys(done.byDigits).sort(), ['1', '2', '3', '4']);
  for (const f of ['config.json', 'metrics.jsonl', 'summary.json', ...['model.json', 'weights.safetensors', 'state.json'].map((f) => `checkpoints/step-0000006/${f}`)]) {
    assert.ok(fs.existsSync(path.join(work, 'run', f)), f);
  }
  const summary = JSON.parse(fs.readFileSync(path.join(work, 'run', 'summary.json'), 'utf8'));
  assert.equal(summary.test.accuracy, done.exact);
  assert.equal(summary.best.monitor, 'val_accuracy');

  // Pictures as a user has them: generated test images (dark on white PNGs).
  assert.equal(tsgrad('caption', 'data', '--split', 'test', '--count', '3', '--out', 'pics').code, 0);
  const pics = ['000000.png', '000001.png', '000002.png'].map((f) => path.join('pics', f));
  const c = tsgrad('caption', 'run', 'run', ...pics);
  assert.equal(c.code, 0, c.err);
  const said = c.out.trim().split('\n');
  assert.equal(said.length, 3);
  said.forEach((line, i) => assert.match(line, new RegExp(`^${pics[i].replace('.', '\\.')}: [a-z -]* \\((\\d+|not a number)\\)$`)));
  // A blank page has no writing: nothing is made up for it.
  fs.writeFileSync(path.join(work, 'blank.png'), PNG.sync.write(Object.assign(new PNG({ width: 60, height: 20 }), { data: Buffer.alloc(60 * 20 * 4, 255) })));
  assert.equal(tsgrad('caption', 'run', 'run', 'blank.png').out, 'blank.png: no writing found\n');
  const j = tsgrad('caption', 'run', 'run', ...pics, '--json', '--beam', '3');
  assert.equal(j.code, 0, j.err);
  for (const l of j.out.trim().split('\n').map((x) => JSON.parse(x))) assert.ok(typeof l.caption === 'string' && (l.number === null || Number.isInteger(l.number)) && pics.includes(l.file));

  const e = tsgrad('caption', 'eval', 'run', '--count', '40');
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /^exact match \d+\.\d\d% of 40 test \(MNIST test digits, seed 0\) images, digits right \d+\.\d\d%; by length: 1 digit .* - greedy, [\d,]+ images\/s at batch 256\n/);
  const ej = JSON.parse(tsgrad('caption', 'eval', 'run', '--count', '40', '--json', '--save-wrong', 'wrong').out);
  assert.equal(ej.count, 40);
  assert.ok(ej.imagesPerSecond > 0 && ej.batchSize === 256);
  assert.equal(ej.wrong.length, ej.wrongCount);
  const saved = fs.readFileSync(path.join(work, 'wrong', 'captions.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(saved.length, ej.wrongCount);
  for (const [i, w] of ej.wrong.entries()) {
    assert.ok(fs.existsSync(path.join(work, w.file)), w.file);
    assert.equal(saved[i].caption, w.caption);
    assert.equal(saved[i].predicted, w.predicted);
  }
  // The same images as `caption data --split test` writes.
  const again = JSON.parse(tsgrad('caption', 'eval', 'run', '--count', '3', '--json').out);
  const truth = fs.readFileSync(path.join(work, 'pics', 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).caption);
  for (const w of again.wrong) assert.equal(w.caption, truth[Number(path.basename(w.file, '.png'))]);
  // Listed by `tsgrad runs` with its test accuracy.
  const runs = tsgrad('runs', '--runs', '.');
  assert.equal(runs.code, 0, runs.err);
  assert.match(runs.out, new RegExp(`run +captioner +6 .*${(100 * done.exact).toFixed(2)}%`));
});

test('--stop-after then --resume ends with the bytes of an uninterrupted run', () => {
  const args = ['caption', 'train', ...tiny, '--steps', '6', '--eval-every', '3', '--json'];
  assert.equal(tsgrad(...args, '--out', 'whole').code, 0);
  const first = tsgrad(...args, '--out', 'halves', '--stop-after', '3');
  assert.equal(first.code, 0, first.err);
  assert.equal(JSON.parse(first.out.trim().split('\n').at(-1)!).event, 'stopped');
  const second = tsgrad('caption', 'train', '--resume', 'halves', '--json');
  assert.equal(second.code, 0, second.err);
  const weights = (run: string) => fs.readFileSync(path.join(work, run, 'checkpoints', 'step-0000006', 'weights.safetensors'));
  assert.ok(weights('whole').equals(weights('halves')));
  fails(tsgrad('caption', 'train', '--resume', 'halves', '--lr', '1'), 1, /--resume continues a run with its own settings; only --steps or --minutes may change \(got --lr\)/);
  fails(tsgrad('caption', 'train', '--resume', 'halves'), 1, /has already trained 6 steps: give a larger --steps/);
});

test('bad input: one line naming the problem, and a non-zero exit', () => {
  const gpt = path.join(work, 'gpt-ckpt');
  saveModel(new Gpt({ vocabSize: 8, layers: 1, heads: 1, embd: 4, block: 4 }), gpt);
  const cnn = referenceCnn();
  cnn.build();
  saveModel(cnn, path.join(work, 'cnn-ckpt'));
  assert.equal(tsgrad('caption', 'data', '--split', 'test', '--count', '1', '--out', 'one').code, 0);
  const png = path.join('one', '000000.png');
  fs.writeFileSync(path.join(work, 'notes.png'), 'these are notes, not a picture');
  fails(tsgrad('caption', 'run', 'no-such-run', png), 1, /^tsgrad: .*no-such-run/);
  fails(tsgrad('caption', 'run', 'gpt-ckpt', png), 1, /^tsgrad: gpt-ckpt holds a GPT language model, not a captioner: give a checkpoint from tsgrad caption train$/);
  fails(tsgrad('caption', 'run', 'cnn-ckpt', png), 1, /^tsgrad: cnn-ckpt holds a digit classifier \(Sequential\), not a captioner/);
  fails(tsgrad('caption', 'eval', 'cnn-ckpt'), 1, /holds a digit classifier/);
  // A captioner's checkpoint (the first test's run) with files that are not pictures.
  fails(tsgrad('caption', 'run', 'run', 'notes.png'), 1, /^tsgrad: notes\.png: not a readable PNG image \(it does not start with the PNG signature\)$/);
  fails(tsgrad('caption', 'run', 'run', 'missing.png'), 1, /^tsgrad: no such file: missing\.png$/);
  fails(tsgrad('caption', 'run', 'gpt-ckpt', png, '--beam', '0'), 2, /^tsgrad: --beam must be an integer from 1 to 64, got "0"$/);
  fails(tsgrad('caption', 'eval', 'gpt-ckpt', '--count', '0'), 2, /--count must be an integer from 1/);
  fails(tsgrad('caption', 'train', '--filters', '16,x'), 2, /--filters.*expected 1 to 8 comma-separated filter counts/);
  fails(tsgrad('caption', 'train', '--steps', '5', '--minutes', '1'), 1, /--steps and --minutes both bound the run/);
  fails(tsgrad('caption', 'train', '--resume', 'gpt-ckpt'), 1, /gpt-ckpt/);
});
