// Layers and models: config round trips, the reference CNN's summary, Keras initializers,
// dropout, fit/evaluate/predict mechanics and error messages.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { referenceCnn } from '../src/models/zoo.js';
import { initialize } from '../src/nn/initializers.js';
import * as L from '../src/nn/layers.js';
import { stackLayersFromConfig } from '../src/nn/stack.js';
import { Adam, SGD } from '../src/optim/optimizer.js';
import { logitsOf } from '../src/ops/activations.js';
import { sparseCategoricalCrossentropy } from '../src/ops/losses.js';
import { noGrad } from '../src/tensor/engine.js';
import { tidy } from '../src/tensor/memory.js';
import { fill, tensor, variable, zeros } from '../src/tensor/tensor.js';
import { sequential } from '../src/train/sequential.js';
import { assertClose, rand } from './helpers.js';
import { backward } from '../src/autograd/index.js';
import { Conv2D } from '../src/nn/convolutional.js';
import { activate } from '../src/ops/activations.js';
import * as ops from '../src/tensor/ops.js';

const everyLayer = () => [
  L.conv2d({ filters: 4, kernelSize: [3, 2], strides: [1, 2], padding: 'same', activation: 'relu', inputShape: [9, 8, 2] }),
  L.averagePooling2d({ poolSize: 2, padding: 'same' }),
  L.conv2d({ filters: 3, kernelSize: 2, useBias: false, kernelInitializer: 'heNormal' }),
  L.maxPooling2d({ poolSize: [2, 1], strides: 1 }),
  L.flatten(),
  L.dropout({ rate: 0.25, seed: 3 }),
  L.dense({ units: 5, activation: 'tanh', biasInitializer: 'ones' }),
  L.activation({ activation: 'sigmoid' }),
  L.dense({ units: 3, activation: 'softmax' }),
];

test('every layer rebuilds from its own config', () => {
  for (const layer of everyLayer()) {
    const c = L.serializeLayer(layer);
    const again = L.serializeLayer(L.layerFromConfig(JSON.parse(JSON.stringify(c))));
    assert.deepEqual(again, c);
  }
});

test('a model of every layer type builds, names its layers as Keras, and rebuilds identically', () => {
  const model = sequential(everyLayer(), { seed: 5 });
  model.build();
  assert.deepEqual(model.layers.map((l) => l.name), [
    'conv2d', 'average_pooling2d', 'conv2d_1', 'max_pooling2d', 'flatten', 'dropout', 'dense', 'activation', 'dense_1',
  ]);
  const copy = sequential(stackLayersFromConfig(JSON.parse(JSON.stringify(model.getConfig()))), { seed: 5 });
  copy.build();
  const x = rand([2, 9, 8, 2], 1);
  assert.deepEqual([...copy.predict(x).dataSync()], [...model.predict(x).dataSync()]);
});

test('the reference CNN has 93,322 parameters and a Keras-style summary', () => {
  const model = referenceCnn();
  const lines: string[] = [];
  model.summary((l) => lines.push(l));
  assert.equal(model.countParams(), 93322);
  const text = lines.join('\n');
  assert.match(text, /conv2d \(Conv2D\)\s+\(None, 26, 26, 32\)\s+320/);
  assert.match(text, /max_pooling2d_1 \(MaxPooling2D\)\s+\(None, 5, 5, 64\)\s+0/);
  assert.match(text, /dense_1 \(Dense\)\s+\(None, 10\)\s+650/);
  assert.match(text, /Total params: 93,322/);
});

test('glorot uniform kernels stay within Keras limits and biases start at zero', () => {
  const model = referenceCnn({ seed: 1 });
  model.build();
  const [kernel, bias] = model.layers[0].weights.map((w) => w.value);
  const limit = Math.sqrt(6 / (9 * 1 + 9 * 32));
  assert.ok(kernel.dataSync().every((v) => Math.abs(v) <= limit));
  assert.ok(Math.max(...kernel.dataSync()) > limit * 0.9);
  assert.ok(bias.dataSync().every((v) => v === 0));
  const he = initialize('heNormal', [400, 300], new Rng(2));
  const std = Math.sqrt(Array.from(he.dataSync()).reduce((s, v) => s + v * v, 0) / he.size);
  assert.ok(Math.abs(std - Math.sqrt(2 / 400)) < 0.003, `he normal std ${std}`);
});

test('the same seed gives the same weights; another seed does not', () => {
  const a = referenceCnn({ seed: 7 }); a.build();
  const b = referenceCnn({ seed: 7 }); b.build();
  const c = referenceCnn({ seed: 8 }); c.build();
  assert.deepEqual([...a.weights[4].value.dataSync()], [...b.weights[4].value.dataSync()]);
  assert.notDeepEqual([...a.weights[4].value.dataSync()], [...c.weights[4].value.dataSync()]);
});

test('dropout drops about `rate` of its inputs while training, scales the rest, and is the identity otherwise', () => {
  const layer = L.dropout({ rate: 0.3, seed: 1 });
  layer.build([1000], new Rng(0));
  const x = tensor(new Float32Array(10000).fill(1));
  const y = layer.call(x, true).dataSync();
  const kept = y.filter((v) => v !== 0);
  assert.ok(Math.abs(kept.length / 10000 - 0.7) < 0.02);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
  assert.deepEqual(layer.call(x, false).dataSync(), x.dataSync());
});

test('SGD and Adam follow the Keras update rules', () => {
  const w = variable(tensor([1, -2]));
  w.grad = tensor([0.5, -1]);
  new SGD({ learningRate: 0.1 }).step([w]);
  assert.deepEqual([...w.dataSync()].map((v) => +v.toFixed(6)), [0.95, -1.9]);
  const m = new SGD({ learningRate: 0.1, momentum: 0.9 });
  const u = variable(tensor([1]));
  for (const expected of [0.9, 0.71]) {
    u.grad = tensor([1]);
    m.step([u]);
    assert.ok(Math.abs(u.dataSync()[0] - expected) < 1e-6, `${u.dataSync()[0]} vs ${expected}`);
  }
  // Adam's first step moves every weight by lr in the direction against its gradient.
  const a = variable(tensor([3, 3]));
  a.grad = tensor([2, -0.01]);
  new Adam({ learningRate: 0.01 }).step([a]);
  assert.ok(Math.abs(a.dataSync()[0] - 2.99) < 1e-5 && Math.abs(a.dataSync()[1] - 3.01) < 1e-4);
});

test('fit reduces the loss on a learnable problem, with history, validation and callbacks', async () => {
  const rng = new Rng(3);
  const x = zeros([200, 4]);
  const y = tensor(new Int32Array(200));
  for (let i = 0; i < 200; i++) {
    const c = rng.int(3);
    y.dataSync()[i] = c;
    for (let j = 0; j < 4; j++) x.dataSync()[i * 4 + j] = rng.normal() * 0.3 + (j === c ? 2 : 0);
  }
  const model = sequential([L.dense({ units: 8, activation: 'relu', inputShape: [4] }), L.dense({ units: 3, activation: 'softmax' })], { seed: 1 });
  model.compile({ optimizer: new Adam({ learningRate: 0.05 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const events: string[] = [];
  const h = await model.fit(x, y, {
    epochs: 5, batchSize: 16, validationSplit: 0.25,
    callbacks: [{ onTrainBegin: (i) => { events.push(`begin ${i.steps} ${i.samples}`); }, onEpochEnd: (e) => { events.push(`epoch ${e}`); } }],
  });
  assert.equal(events[0], 'begin 10 150');
  assert.equal(events.length, 6);
  assert.deepEqual(Object.keys(h.history).sort(), ['accuracy', 'loss', 'val_accuracy', 'val_loss']);
  assert.ok(h.history.loss[4] < h.history.loss[0] / 3);
  assert.ok(h.history.val_accuracy[4] > 0.95);
  const r = model.evaluate(x, y);
  assert.ok(r.accuracy! > 0.95);
  assert.deepEqual(model.predict(x, { batchSize: 7 }).shape, [200, 3]);
});

test('fit with the same seed is reproducible', async () => {
  const x = rand([64, 6], 1);
  const y = tensor(Int32Array.from({ length: 64 }, (_, i) => i % 2));
  const run = async () => {
    const m = sequential([L.dense({ units: 4, activation: 'relu', inputShape: [6] }), L.dropout({ rate: 0.2 }), L.dense({ units: 2, activation: 'softmax' })], { seed: 9 });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    await m.fit(x, y, { epochs: 2, batchSize: 8 });
    return [...m.weights[0].value.dataSync()];
  };
  assert.deepEqual(await run(), await run());
});

test('mistakes give one clear TsgradError', async () => {
  const model = referenceCnn();
  assert.throws(() => model.evaluate(zeros([1, 28, 28, 1]), tensor(new Int32Array(1))), /compile\(\) the model/);
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  assert.throws(() => model.predict(zeros([2, 28, 28])), (e: unknown) => e instanceof TsgradError && /expects inputs of shape \[batch, 28, 28, 1\], got \[2, 28, 28\]/.test((e as Error).message));
  await assert.rejects(model.fit(zeros([3, 28, 28, 1]), tensor(new Int32Array(2))), /different numbers of examples/);
  await assert.rejects(model.fit(zeros([3, 28, 28, 1]), tensor(new Int32Array(3)), { epochs: 0 }), /epochs must be a positive integer/);
  assert.throws(() => L.dense({ units: 0 }), /units must be a positive integer/);
  assert.throws(() => L.layerFromConfig({ className: 'GRU', config: {} } as never), /unknown layer type "GRU"/);
  assert.throws(() => zeros([2, 3]).matmul(zeros([4, 5])), /matmul shapes do not fit/);
  assert.throws(() => zeros([2, 3]).add(zeros([4])), /cannot be broadcast/);
});

test('a softmax layer output keeps its logits, so cross-entropy uses the exact log-softmax', async () => {
  const { logitsOf } = await import('../src/ops/activations.js');
  for (const layer of [L.dense({ units: 3, activation: 'softmax', inputShape: [4] }), L.dense({ units: 3, activation: 'softmax', useBias: false, inputShape: [4] })]) {
    const model = sequential([layer]);
    model.build();
    assert.ok(logitsOf(model.call(rand([2, 4], 1))), 'no logits recorded for the softmax output');
  }
});

test('a softmax output keeps its logits alive through scopes, for an exact loss after inference', () => {
  const model = sequential([L.dense({ units: 5, inputShape: [4], activation: 'relu' }), L.dense({ units: 3, activation: 'softmax' })]);
  model.build();
  const x = rand([2, 4], 3);
  const expected = Array.from(sparseCategoricalCrossentropy(tensor([0, 2], [2], 'int32'), model.call(x, false)).dataSync());
  const pred = noGrad(() => tidy(() => model.call(x, false)));
  for (let i = 0; i < 20; i++) fill([1000], 7); // reuse any storage that was freed
  const logits = logitsOf(pred)!.logits;
  assert.ok(!Array.from(logits.dataSync()).includes(7), 'the logits were freed and overwritten');
  assert.deepEqual(Array.from(sparseCategoricalCrossentropy(tensor([0, 2], [2], 'int32'), pred).dataSync()), expected);
});

test('a convolution followed by max pooling pools before its bias and activation: the same numbers', () => {
  for (const activation of ['relu', 'tanh', 'linear'] as const) {
    const model = sequential([
      L.conv2d({ filters: 4, kernelSize: 3, activation, inputShape: [7, 6, 2] }),
      L.maxPooling2d({ poolSize: 2, padding: 'same' }),
      L.flatten(),
    ], { seed: 1 });
    model.build();
    const [conv] = model.layers as [InstanceType<typeof Conv2D>];
    const x = rand([2, 7, 6, 2], 20);
    const byHand = (t: typeof x) => activate(activation, ops.conv2d(t, conv.kernel).add(conv.bias!));
    const expected = ops.maxPool(byHand(x), { poolSize: 2, padding: 'same' }).reshape([2, -1]);
    assert.deepEqual(Array.from(model.call(x, false).dataSync()), Array.from(expected.dataSync()));
    // Gradients agree up to the order of summation.
    const weights = model.trainableWeights;
    const r = rand([2, expected.shape[1]], 21);
    backward(model.call(x, true).mul(r).sum());
    const fused = weights.map((w) => Float32Array.from(w.grad!.dataSync()));
    weights.forEach((w) => (w.grad = null));
    backward(ops.maxPool(byHand(x), { poolSize: 2, padding: 'same' }).reshape([2, -1]).mul(r).sum());
    weights.forEach((w, i) => assertClose(fused[i], w.grad!.dataSync(), 1e-5, `${activation} gradient ${i}`));
  }
});
