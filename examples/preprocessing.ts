// The guide's preprocessing chapter (docs/guide/02-preprocessing.md): how MNIST's digits sit in
// their 28x28 field, and what tsgrad's toMnistInput (used by predict) does to a picture of your own:
// dark ink on white paper, off-centre and large, becomes white ink on black, scaled into 20x20 and
// centred by its centre of mass.
// Run: node --import tsx examples/preprocessing.ts

import { loadMnist, toMnistInput } from 'tsgrad';

/** The ink's bounding box and centre of mass in a 28x28 field. */
function describe(pixels: ArrayLike<number>): string {
  let x0 = 28, y0 = 28, x1 = -1, y1 = -1, mass = 0, mx = 0, my = 0;
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const v = pixels[y * 28 + x];
    if (v > 0.1) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    mass += v; mx += v * x; my += v * y;
  }
  return `ink ${x1 - x0 + 1}x${y1 - y0 + 1} pixels, centre of mass (${(mx / mass).toFixed(1)}, ${(my / mass).toFixed(1)})`;
}

// MNIST's first training digit (a 5): scaled to fit 20x20, its centre of mass near the middle.
console.log('MNIST digit:', describe(loadMnist({ split: 'train', limit: 1 }).images));

// A picture of our own: 200x120 RGBA, white paper, a black bar 16 pixels wide and 90 tall (a "1"),
// drawn near the left edge.
const [width, height] = [200, 120];
const rgba = new Uint8Array(4 * width * height).fill(255);
for (let y = 15; y < 105; y++) for (let x = 20; x < 36; x++) rgba.fill(0, 4 * (y * width + x), 4 * (y * width + x) + 3);
const input = toMnistInput({ width, height, rgba });
console.log('your picture:', describe(input), `values from ${Math.min(...input)} to ${Math.max(...input)}`);
