// Augmentation: identity at zero strength, known rotations and shifts, reproducibility by seed,
// elastic fields (smooth, Gaussian-blurred, alpha-scaled), image order kept (so labels still
// match), and fit applying it to training batches only.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { TsgradError } from '../src/core/errors.js';
import { augmenter, gaussianKernel, type AugmentOptions } from '../src/data/augment.js';
import * as L from '../src/nn/layers.js';
import { tensor, zeros, type Tensor } from '../src/tensor/tensor.js';
import { sequential } from '../src/train/sequential.js';
import { assertClose, rand } from './helpers.js';

/** A (1, size, size, 1) image, zero but for a 1 at (row, col). */
function dot(size: number, row: number, col: number): Tensor {
  const x = zeros([1, size, size, 1]);
  x.dataSync()[row * size + col] = 1;
  return x;
}

const values = (t: Tensor) => Array.from(t.dataSync());

function argMax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

test('zero-strength transforms give back the batch exactly', () => {
  const x = rand([3, 7, 5, 2], 1);
  for (const opts of [{}, { rotationRange: 0, zoomRange: 0, widthShiftRange: 0, heightShiftRange: 0, elasticAlpha: 0 },
    { rotationRange: [0, 0], zoomRange: [1, 1], fillMode: 'constant', cval: 5 }] as AugmentOptions[]) {
    const y = augmenter(opts)(x);
    assert.deepEqual(y.shape, x.shape);
    assert.notEqual(y.dataSync(), x.dataSync(), 'a new tensor');
    assert.deepEqual([...y.dataSync()], [...x.dataSync()]);
  }
});

test('a 90° rotation turns a pixel counter-clockwise about the centre, 180° to the opposite side', () => {
  // 5x5, centre (2, 2); the dot right of the centre goes to the top, then to the left.
  const quarter = values(augmenter({ rotationRange: [90, 90], fillMode: 'constant' })(dot(5, 2, 4)));
  assert.equal(argMax(quarter), 0 * 5 + 2);
  assert.ok(quarter[2] > 0.999 && quarter.reduce((s, v) => s + Math.abs(v), 0) < 1.001, `${[...quarter]}`);
  const half = values(augmenter({ rotationRange: [180, 180], fillMode: 'constant' })(dot(5, 2, 4)));
  assert.equal(argMax(half), 2 * 5 + 0);
  // 45°: the dot at distance 2 on the right lands between pixels, up and to the right, shared bilinearly.
  const eighth = values(augmenter({ rotationRange: [45, 45], fillMode: 'constant' })(dot(9, 4, 6)));
  const [r, c] = [4 - Math.SQRT2, 4 + Math.SQRT2]; // row 2.586, column 5.414
  let [mr, mc, mass] = [0, 0, 0];
  eighth.forEach((v, i) => { mr += v * Math.floor(i / 9); mc += v * (i % 9); mass += v; });
  assert.ok(Math.abs(mr / mass - r) < 0.15 && Math.abs(mc / mass - c) < 0.15, `centre of mass ${mr / mass}, ${mc / mass}`);
});

test('shifts move content by pixels or by a fraction of the side; zoom below 1 enlarges', () => {
  const right = augmenter({ widthShiftRange: [2, 2], fillMode: 'constant' })(dot(8, 3, 1)).dataSync();
  assert.equal(argMax(right), 3 * 8 + 3);
  const down = augmenter({ heightShiftRange: [0.25, 0.25], fillMode: 'constant' })(dot(8, 1, 5)).dataSync();
  assert.equal(argMax(down), 3 * 8 + 5);
  // A 3x3 block at the centre of a 9x9 image, zoomed by 0.5: sampled from half as far, it covers 5x5 or more.
  const block = zeros([1, 9, 9, 1]);
  for (let r = 3; r < 6; r++) for (let c = 3; c < 6; c++) block.dataSync()[r * 9 + c] = 1;
  const zoomed = augmenter({ zoomRange: [0.5, 0.5] })(block).dataSync();
  assert.ok(zoomed.filter((v) => v > 0.99).length >= 25);
  assert.equal(zoomed[0], 0);
});

test('the same seed gives the same batch, another seed another, and the stream does not depend on batching', () => {
  const opts = { rotationRange: 20, zoomRange: 0.2, widthShiftRange: 0.1, heightShiftRange: 2, elasticAlpha: 8, elasticSigma: 3 };
  const x = rand([6, 12, 12, 1], 2, 0, 1);
  const a = augmenter({ ...opts, seed: 7 })(x).dataSync();
  const b = augmenter({ ...opts, seed: 7 })(x).dataSync();
  const c = augmenter({ ...opts, seed: 8 })(x).dataSync();
  assert.deepEqual([...a], [...b]);
  assert.notDeepEqual([...a], [...c]);
  // Two batches of 3 from one augmenter = one batch of 6.
  const split = augmenter({ ...opts, seed: 7 });
  const first = split(tensor(x.dataSync().slice(0, 3 * 144), [3, 12, 12, 1])).dataSync();
  const second = split(tensor(x.dataSync().slice(3 * 144), [3, 12, 12, 1])).dataSync();
  assertClose([...first, ...second], a, 1e-6, 'split batches');
  // A caller's Rng is used as given (so a run can save and restore its state).
  const rng = new Rng(3);
  const state = rng.getState();
  const d = augmenter({ ...opts, rng })(x).dataSync();
  rng.setState(state);
  assert.deepEqual([...augmenter({ ...opts, rng })(x).dataSync()], [...d]);
});

test('each image keeps its place in the batch, so labels still match', () => {
  // Image i is the constant i: any mix of images would show.
  const x = zeros([5, 10, 10, 1]);
  for (let i = 0; i < 5; i++) x.dataSync().fill(i, i * 100, (i + 1) * 100);
  const y = augmenter({ rotationRange: 30, zoomRange: 0.2, widthShiftRange: 0.2, elasticAlpha: 20, elasticSigma: 2, seed: 1 })(x).dataSync();
  for (let i = 0; i < 5; i++) assertClose(y.slice(i * 100, (i + 1) * 100), new Array(100).fill(i), 1e-5, `image ${i}`);
});

test('elastic distortion: a smooth field of the expected size, moving content locally', () => {
  const k = gaussianKernel(4);
  assert.equal(k.length, 25);
  assertClose([k.reduce((a, b) => a + b, 0)], [1], 1e-6, 'kernel sum');
  assertClose([k[12 + 4] / k[12]], [Math.exp(-0.5)], 1e-6, 'kernel at one sigma');
  // A horizontal ramp shows the horizontal displacement directly: y - x = du, where nothing is clamped.
  const size = 40;
  const ramp = zeros([32, size, size, 1]);
  for (let i = 0; i < ramp.size; i++) ramp.dataSync()[i] = i % size;
  // Columns 6..33 only, away from the edges where 'nearest' clamps the sampling.
  const du = (alpha: number, sigma: number, seed: number) => {
    const y = augmenter({ elasticAlpha: alpha, elasticSigma: sigma, seed })(ramp).dataSync();
    return Array.from(y, (v, i) => v - ramp.dataSync()[i]).filter((_, i) => i % size >= 6 && i % size < 34);
  };
  const width = 28;
  const small = du(10, 4, 1);
  const rms = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
  // Blurred uniform noise has std sqrt(1/3) * sqrt(sum of squared 2-D kernel) = 0.577 / sqrt(4π σ²) ≈ 0.041
  // in the middle (less near the zero-padded edges): alpha 10 gives ~0.41 pixels.
  const middle = small.filter((_, i) => { const [r, c] = [Math.floor(i / width) % size, i % width + 6]; return r > 12 && r < 28 && c > 12 && c < 28; });
  assert.ok(rms(middle) > 0.35 && rms(middle) < 0.48, `rms displacement ${rms(middle)}`);
  // Doubling alpha doubles the field (same seed, same noise).
  assertClose(du(20, 4, 1).map((v) => v / 2), small, 1e-4, 'linear in alpha');
  // Smooth: neighbouring displacements differ far less than the displacements themselves.
  const steps = small.map((v, i) => v - small[i + 1]).filter((_, i) => i % width < width - 1);
  assert.ok(rms(steps) < rms(small) / 3, `neighbour differences ${rms(steps)} vs ${rms(small)}`);
  // A small sigma gives a much rougher field.
  const rough = du(10, 0.5, 1);
  const roughSteps = rough.map((v, i) => v - rough[i + 1]).filter((_, i) => i % width < width - 1);
  assert.ok(rms(roughSteps) > rms(rough) / 2);
});

test('bad options and inputs give one clear error', () => {
  const bad = (o: object, re: RegExp) => assert.throws(() => augmenter(o as never), (e: unknown) => e instanceof TsgradError && re.test(e.message) && !e.message.includes('\n'));
  bad({ zoomRange: 1.5 }, /^zoomRange must keep zoom factors positive, got 1.5$/);
  bad({ rotationRange: [10, -10] }, /^rotationRange must be a number or \[low, high\], finite, within 360 either way, got \[10,-10\]$/);
  bad({ elasticAlpha: 5, elasticSigma: 0 }, /^elasticSigma must be a finite number above 0 up to 100, got 0$/);
  bad({ fillMode: 'wrap' }, /^fillMode must be 'nearest' or 'constant', got "wrap"$/);
  // Values that would overflow the sampling to NaN, or allocate a kernel of billions of taps.
  bad({ rotationRange: 1e308 }, /^rotationRange must be .* within 360 either way, got 1e\+308$/);
  bad({ rotationRange: NaN }, /^rotationRange must be .*, got null$/);
  bad({ rotationRange: [0, Infinity] }, /^rotationRange must be .*, got \[0,null\]$/);
  bad({ rotationRange: [1, 2, 3] }, /^rotationRange must be .*, got \[1,2,3\]$/);
  bad({ rotationRange: '10' }, /^rotationRange must be .*, got "10"$/);
  bad({ zoomRange: 1e300 }, /^zoomRange must be .* within 10 either way, got 1e\+300$/);
  bad({ zoomRange: [0.5, 1e6] }, /^zoomRange must be .* within 10 either way/);
  bad({ widthShiftRange: 1e300 }, /^widthShiftRange must be a number or \[low, high\], finite, within 10000 either way, got 1e\+300$/);
  bad({ heightShiftRange: [-Infinity, 0] }, /^heightShiftRange must be .*, got \[null,0\]$/);
  bad({ elasticAlpha: 1e300, elasticSigma: 4 }, /^elasticAlpha must be a finite number from 0 to 1000, got 1e\+300$/);
  bad({ elasticAlpha: -1 }, /^elasticAlpha must be a finite number from 0 to 1000, got -1$/);
  bad({ elasticAlpha: 34, elasticSigma: 1e9 }, /^elasticSigma must be a finite number above 0 up to 100, got 1000000000$/);
  bad({ elasticSigma: NaN }, /^elasticSigma must be a finite number above 0 up to 100, got NaN$/);
  bad({ cval: Infinity, fillMode: 'constant' }, /^cval must be a finite number from -1e\+30 to 1e\+30, got Infinity$/);
  bad({ seed: 1.5 }, /^seed must be an integer, got 1.5$/);
  assert.deepEqual([...tensor([1, 2, 3, 4]).add(tensor([10, 20, 30, 40])).dataSync()], [11, 22, 33, 44]);
  assert.throws(() => augmenter()(zeros([2, 28, 28])), /\(batch, height, width, channels\)/);
});

test('fit augments every training batch and never the validation data', async () => {
  const x = rand([20, 6, 6, 1], 3, 0, 1);
  const y = tensor(Int32Array.from({ length: 20 }, (_, i) => i % 2));
  const model = sequential([L.flatten({ inputShape: [6, 6, 1] }), L.dense({ units: 2, activation: 'softmax' })], { seed: 1 });
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const aug = augmenter({ rotationRange: 10, seed: 2 });
  const seen: number[] = [];
  const h = await model.fit(x, y, {
    epochs: 2, batchSize: 4, validationSplit: 0.2, augment: (b) => { seen.push(b.shape[0]); return aug(b); },
  });
  assert.deepEqual(seen, [4, 4, 4, 4, 4, 4, 4, 4], '16 training examples a epoch, in batches of 4');
  assert.equal(h.history.val_loss.length, 2);
  // The augmented batch is what the model trains on: an augment that blanks the images changes the result.
  const run = async (augment?: (b: Tensor) => Tensor) => {
    const m = sequential([L.flatten({ inputShape: [6, 6, 1] }), L.dense({ units: 2, activation: 'softmax' })], { seed: 1 });
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    await m.fit(x, y, { epochs: 1, batchSize: 4, augment });
    return [...m.weights[0].value.dataSync()];
  };
  assert.notDeepEqual(await run((b) => zeros(b.shape)), await run());
});
