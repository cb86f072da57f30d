// ONNX export checked by an independent runtime: onnxruntime runs the exported bytes and its
// outputs must match tsgrad's predict() on real MNIST digits and on random inputs, for the zoo
// models (fresh and trained, so batch norm's moving statistics are not the initial ones) and for
// models that use every exportable layer in every layout and padding case.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { loadMnist } from '../src/data/mnist.js';
import { exportOnnx, saveOnnx } from '../src/io/onnx.js';
import { lenet5, referenceCnn, strongCnn } from '../src/models/zoo.js';
import { Layer } from '../src/nn/layer.js';
import * as L from '../src/nn/layers.js';
import { tensor, type Tensor } from '../src/tensor/tensor.js';
import { sequential, type Sequential } from '../src/train/sequential.js';
import { assertClose, onnxSession, rand, tempDir } from './helpers.js';

const TOL = 1e-4;
const mnist = loadMnist({ limit: 96 });
const images = tensor(mnist.images, mnist.shape);
const labels = tensor(mnist.labels, [mnist.count], 'int32');

/** onnxruntime's output for x on the exported model against tsgrad's predict(); returns the largest difference. */
async function agree(t: TestContext, model: Sequential, x: Tensor, what: string): Promise<number> {
  const { ort, session } = await onnxSession(exportOnnx(model));
  const { output } = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.dataSync()), [...x.shape]) });
  const expected = model.predict(x);
  assert.deepEqual(output.dims, expected.shape, `${what}: output shape`);
  const actual = output.data as Float32Array;
  assertClose(actual, expected.dataSync(), TOL, what);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected.dataSync()[i]));
  t.diagnostic(`${what}: max |onnxruntime - tsgrad| = ${max.toExponential(2)}`);
  return max;
}

async function train(model: Sequential, steps: number): Promise<void> {
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  await model.fit(images, labels, { epochs: 1, batchSize: Math.floor(mnist.count / steps) });
}

/** Sets every weight to seeded random values (variances positive), so no weight is a trivial 0 or 1. */
function randomizeWeights(model: Sequential, seed: number): void {
  model.build();
  const rng = new Rng(seed);
  for (const w of model.weights) {
    const variance = w.name.endsWith('moving_variance');
    for (let i = 0; i < w.value.size; i++) w.value.dataSync()[i] = variance ? 0.2 + 2 * rng.uniform() : 2 * rng.uniform() - 1;
  }
}

test('the reference CNN: random initialisation, then after two Adam steps', async (t) => {
  const model = referenceCnn({ seed: 3 });
  await agree(t, model, images, 'reference, initial, MNIST');
  await train(model, 2);
  await agree(t, model, images, 'reference, trained, MNIST');
  await agree(t, model, rand([5, 28, 28, 1], 1, 0, 1), 'reference, trained, random');
});

test('LeNet-5: tanh, average pooling, same padding', async (t) => {
  const model = lenet5({ seed: 4 });
  await train(model, 2);
  await agree(t, model, images, 'lenet5, trained, MNIST');
  await agree(t, model, rand([5, 28, 28, 1], 2, 0, 1), 'lenet5, trained, random');
});

test('the strong CNN with batch normalisation statistics moved by training', async (t) => {
  const model = strongCnn({ seed: 5 });
  await train(model, 3);
  const moving = model.weights.filter((w) => w.name.includes('moving_'));
  assert.equal(moving.length, 10);
  for (const w of moving) {
    const initial = w.name.endsWith('moving_mean') ? 0 : 1;
    assert.ok(w.value.dataSync().some((v) => Math.abs(v - initial) > 1e-3), `${w.name} has moved`);
  }
  await agree(t, model, images, 'strong, trained, MNIST');
  await agree(t, model, rand([4, 28, 28, 1], 3, 0, 1), 'strong, trained, random');
});

test('a model of every exportable layer: strided same convolution, same pooling at the borders, batch norm on images and vectors', async (t) => {
  const model = sequential([
    // 12x10 -> 6x5: 'same' with stride 2 pads only at the bottom/right here.
    L.conv2d({ filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'relu', inputShape: [12, 10, 2] }),
    L.batchNormalization({ epsilon: 0.01 }),
    // 6x5 -> 3x3, windows cut by the border on both sides of the width and at the bottom.
    L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
    L.conv2d({ filters: 3, kernelSize: 2, useBias: false, activation: 'sigmoid' }),
    L.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
    L.activation({ activation: 'tanh' }),
    L.flatten(),
    L.dropout({ rate: 0.5 }),
    L.dense({ units: 8, activation: 'relu' }),
    L.batchNormalization({ center: false }),
    L.dense({ units: 5, activation: 'linear' }),
    L.activation({ activation: 'softmax' }),
  ], { seed: 6 });
  randomizeWeights(model, 7);
  await agree(t, model, rand([6, 12, 10, 2], 4), 'every layer, random');
});

test('global average pooling with and without keepdims; Dense on images; softmax over channels of an image', async (t) => {
  const pooled = sequential([
    L.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'tanh', inputShape: [7, 6, 3] }),
    L.batchNormalization({ scale: false }),
    L.globalAveragePooling2d(),
    L.dense({ units: 3, activation: 'sigmoid' }),
  ], { seed: 8 });
  randomizeWeights(pooled, 9);
  await agree(t, pooled, rand([4, 7, 6, 3], 5), 'global pooling');

  const layouts = sequential([
    L.dense({ units: 4, activation: 'relu', inputShape: [6, 5, 3] }), // on the channels of each pixel
    L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }),
    L.activation({ activation: 'softmax' }), // over the channels, axis 1 in ONNX's layout
    L.batchNormalization(),
    L.globalAveragePooling2d({ keepdims: true }),
    L.flatten(),
    L.dense({ units: 2 }),
  ], { seed: 10 });
  randomizeWeights(layouts, 11);
  await agree(t, layouts, rand([3, 6, 5, 3], 6), 'layouts');

  const images4d = sequential([L.conv2d({ filters: 2, kernelSize: 1, activation: 'softmax', inputShape: [3, 4, 2] })], { seed: 12 });
  await agree(t, images4d, rand([2, 3, 4, 2], 7), 'image output, channels last');
  const onlyDropout = sequential([L.dropout({ rate: 0.3, inputShape: [5] })]);
  await agree(t, onlyDropout, rand([2, 5], 8), 'identity');
});

test('saveOnnx writes the exported bytes atomically', () => {
  const dir = tempDir('onnx');
  try {
    const model = lenet5({ seed: 1 });
    const file = path.join(dir, 'sub', 'lenet5.onnx');
    saveOnnx(model, file);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), exportOnnx(model));
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['lenet5.onnx']);
    fs.mkdirSync(path.join(dir, 'taken.onnx'));
    assert.throws(() => saveOnnx(model, path.join(dir, 'taken.onnx')), (e) => e instanceof TsgradError && /cannot write/.test(e.message));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['sub', 'taken.onnx']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a layer or activation the exporter does not know is a TsgradError naming it', () => {
  class Doubler extends Layer {
    readonly className = 'Doubler';
    call(x: Tensor): Tensor { return x.mul(2); }
    getConfig() { return this.base(); }
  }
  const custom = sequential([L.dense({ units: 3, inputShape: [4] }), new Doubler({}) as unknown as L.AnyLayer]);
  assert.throws(() => exportOnnx(custom), (e) => e instanceof TsgradError && /layer "doubler" of type "Doubler"/.test(e.message));

  // An activation no layer has (as a hand-edited checkpoint could say) never reaches the exporter.
  assert.throws(() => L.dense({ units: 3, activation: 'gelu' as 'relu', inputShape: [4] }), { name: 'TsgradError', message: 'unknown activation "gelu" (tsgrad has linear, relu, sigmoid, tanh, softmax)' });
});
