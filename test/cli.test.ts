// The `tsgrad` command as a user runs it: train, evaluate and predict on a small MNIST folder,
// --json output, --help, and one clear line with a non-zero exit for every kind of bad input.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { loadMnist } from '../src/data/mnist.js';

const BIN = path.resolve('bin/tsgrad.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-cli-'));

function tsgrad(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A small MNIST folder: real images, 96 for training and 50 for testing. */
function writeSmallMnist(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [split, prefix, n] of [['train', 'train', 96], ['test', 't10k', 50]] as const) {
    const s = loadMnist({ split, limit: n });
    const images = Buffer.alloc(16 + n * 784);
    images.writeUInt32BE(0x803, 0); images.writeUInt32BE(n, 4); images.writeUInt32BE(28, 8); images.writeUInt32BE(28, 12);
    s.images.forEach((v, i) => (images[16 + i] = Math.round(v * 255)));
    const labels = Buffer.alloc(8 + n);
    labels.writeUInt32BE(0x801, 0); labels.writeUInt32BE(n, 4);
    s.labels.forEach((v, i) => (labels[8 + i] = v));
    fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte`), images);
    fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte`), labels);
  }
}

const data = path.join(work, 'mnist');
writeSmallMnist(data);
const ckpt = path.join(work, 'ckpt');

test('train --json prints only JSON lines and writes a checkpoint', () => {
  const r = tsgrad('train', '--data', data, '--epochs', '2', '--batch-size', '16', '--out', ckpt, '--json');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.event), ['epoch', 'epoch', 'done']);
  assert.equal(lines[1].epoch, 2);
  assert.ok(lines[0].loss > 0 && lines[0].accuracy >= 0);
  const done = lines[2];
  assert.ok(done.testAccuracy >= 0 && done.testAccuracy <= 1 && done.testLoss > 0);
  assert.equal(done.checkpoint, ckpt);
  assert.ok(fs.existsSync(path.join(ckpt, 'model.json')) && fs.existsSync(path.join(ckpt, 'weights.safetensors')));

  const e = tsgrad('evaluate', ckpt, '--data', data, '--json');
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out);
  assert.ok(Math.abs(ev.testAccuracy - done.testAccuracy) < 1e-9 && Math.abs(ev.testLoss - done.testLoss) < 1e-6);
});

test('train prints Keras-style progress, the test figures and the checkpoint', () => {
  const out = path.join(work, 'ckpt-text');
  const r = tsgrad('train', '--data', data, '--epochs', '1', '--limit', '40', '--out', out, '--optimizer', 'sgd', '--lr', '0.05', '--seed', '3');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Total params: 93,322/);
  assert.match(r.out, /Training reference on 40 MNIST images: 1 epochs, batch 32, sgd lr 0.05, seed 3/);
  assert.match(r.out, /Epoch 1\/1\n2\/2 \[=+\] - \d+s \d+ms\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n/);
  assert.match(r.out, /Test loss: \d\.\d{4} - test accuracy: \d\.\d{4} \(\d+\/50\)/);
  assert.match(r.out, new RegExp(`Checkpoint written to ${out}`));
  const e = tsgrad('evaluate', out, '--data', data);
  assert.match(e.out, /^Test loss: \d\.\d{4} - test accuracy: \d\.\d{4} on 50 images\n$/);
});

test('predict gives the top 3 classes for each PNG', () => {
  const files = [0, 1].map((i) => {
    const s = loadMnist({ split: 'test', limit: 2 });
    const png = new PNG({ width: 56, height: 56 });
    for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) {
      const v = 255 - Math.round(255 * s.images[i * 784 + Math.floor(y / 2) * 28 + Math.floor(x / 2)]); // dark on light, 2x
      png.data.set([v, v, v, 255], 4 * (y * 56 + x));
    }
    const file = path.join(work, `digit${i}.png`);
    fs.writeFileSync(file, PNG.sync.write(png));
    return file;
  });
  const r = tsgrad('predict', ckpt, ...files, '--json');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const [i, l] of lines.entries()) {
    assert.equal(l.file, files[i]);
    assert.equal(l.predictions.length, 3);
    const p = l.predictions.map((q: { probability: number }) => q.probability);
    assert.ok(p[0] >= p[1] && p[1] >= p[2] && p[0] + p[1] + p[2] <= 1 + 1e-6);
  }
  const text = tsgrad('predict', ckpt, files[0]);
  assert.match(text.out, /digit0\.png: \d \(\d+\.\d\d%\), \d \(\d+\.\d\d%\), \d \(\d+\.\d\d%\)\n/);
});

test('every command has --help', () => {
  for (const cmd of [[], ['train'], ['evaluate'], ['predict']]) {
    const r = tsgrad(...cmd, '--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /Usage: tsgrad/);
  }
  assert.match(tsgrad('train', '--help').out, /--batch-size <n>/);
});

function badData(name: string, edit: (dir: string) => void): string {
  const dir = path.join(work, name);
  writeSmallMnist(dir);
  edit(dir);
  return dir;
}

test('bad input gives one clear line, a non-zero exit and no stack trace', () => {
  fs.writeFileSync(path.join(work, 'junk.png'), 'not a png');
  const truncated = badData('truncated', (d) => fs.truncateSync(path.join(d, 'train-images-idx3-ubyte'), 5000));
  const magic = badData('magic', (d) => {
    const f = path.join(d, 't10k-labels-idx1-ubyte');
    const b = fs.readFileSync(f);
    b[0] = 7;
    fs.writeFileSync(f, b);
  });
  const mismatch = badData('mismatch', (d) => {
    const f = path.join(d, 'train-labels-idx1-ubyte');
    const b = fs.readFileSync(f);
    b.writeUInt32BE(95, 4);
    fs.writeFileSync(f, b.subarray(0, b.length - 1));
  });
  const missing = badData('missing', (d) => fs.rmSync(path.join(d, 't10k-images-idx3-ubyte')));
  const cases: [string[], RegExp][] = [
    [['train', '--epochs', '1', '--bogus'], /unknown option '--bogus'/],
    [['train', '--epochs', 'five'], /--epochs <n>.*'five' is invalid.*positive integer/],
    [['train', '--epochs', '0'], /positive integer/],
    [['train', '--lr', '-1'], /--lr <rate>.*positive number/],
    [['train', '--batch-size', '2.5'], /positive integer/],
    [['train', '--optimizer', 'adamw'], /'adamw' is invalid.*adam, sgd/],
    [['train', '--data', path.join(work, 'nowhere')], /no such data folder: .*nowhere/],
    [['train', '--data', truncated, '--epochs', '1'], /train-images-idx3-ubyte: truncated IDX file/],
    [['train', '--data', magic, '--epochs', '1'], /t10k-labels-idx1-ubyte: wrong magic number/],
    [['train', '--data', mismatch, '--epochs', '1'], /image count mismatch: .* has 96 images but .* has 95 labels/],
    [['train', '--data', missing, '--epochs', '1'], /no MNIST test images file/],
    [['evaluate', path.join(work, 'no-ckpt')], /no such checkpoint: .*no-ckpt/],
    [['evaluate', data], /not a tsgrad checkpoint: model\.json is missing/],
    [['predict', ckpt, path.join(work, 'junk.png')], /junk\.png: not a readable PNG image/],
    [['predict', ckpt, path.join(work, 'none.png')], /no such file: .*none\.png/],
    [['predict', ckpt], /missing required argument 'images'/],
    [['fly'], /unknown command 'fly'/],
  ];
  for (const [args, re] of cases) {
    const r = tsgrad(...args);
    const what = `tsgrad ${args.join(' ')}`;
    assert.notEqual(r.code, 0, `${what} exited 0`);
    assert.equal(r.out, '', `${what} printed to stdout: ${r.out}`);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, `${what} printed ${lines.length} lines:\n${r.err}`);
    assert.match(lines[0], re, what);
    assert.doesNotMatch(r.err, /\n\s+at /, `${what} printed a stack trace`);
  }
});
