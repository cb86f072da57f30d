// The training-toolkit layers: batch normalization and global average pooling against
// TensorFlow.js and by hand, regularizers' exact penalties and gradients, non-trainable weights
// in the optimizer and in checkpoints, and the configs of all three round-tripping.

import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward } from '../src/autograd/index.js';
import { Rng } from '../src/core/rng.js';
import { loadModel } from '../src/models/load.js';
import * as L from '../src/nn/layers.js';
import type { BatchNormalization } from '../src/nn/normalization.js';
import { l1, l1l2, l2 } from '../src/nn/regularizers.js';
import { sparseCategoricalCrossentropy } from '../src/ops/losses.js';
import { SGD } from '../src/optim/optimizer.js';
import { noGrad } from '../src/tensor/engine.js';
import { tensor, variable, type Tensor } from '../src/tensor/tensor.js';
import { Sequential, sequential } from '../src/train/sequential.js';
import { assertClose, gradCheck, rand, tempDir } from './helpers.js';

await tf.setBackend('cpu');
const toTf = (t: Tensor) => tf.tensor(Array.from(t.dataSync()), [...t.shape]);
const tfData = (t: tf.Tensor) => t.dataSync() as Float32Array;

/** A built batch norm layer with random gamma, beta and moving statistics. */
function randomBatchNorm(shape: number[], config: Parameters<typeof L.batchNormalization>[0] = {}) {
  const layer = L.batchNormalization(config);
  layer.build(shape, new Rng(0));
  const c = shape[shape.length - 1];
  if (layer.gamma) layer.gamma.dataSync().set(rand([c], 31, 0.5, 2).dataSync());
  if (layer.beta) layer.beta.dataSync().set(rand([c], 32).dataSync());
  layer.movingMean.dataSync().set(rand([c], 33).dataSync());
  layer.movingVariance.dataSync().set(rand([c], 34, 0.5, 2).dataSync());
  return layer;
}

function tfBatchNorm(layer: BatchNormalization, x: tf.Tensor) {
  const c = layer.getConfig();
  const theirs = tf.layers.batchNormalization({ axis: -1, momentum: c.momentum, epsilon: c.epsilon, center: c.center, scale: c.scale });
  theirs.apply(x); // builds
  theirs.setWeights(layer.weights.map((w) => toTf(w.value)));
  return theirs;
}

for (const shape of [[6, 5], [3, 4, 5, 3]]) {
  test(`batch normalization matches TensorFlow.js in training and inference, moving statistics included ${JSON.stringify(shape)}`, () => {
    const layer = randomBatchNorm(shape, { momentum: 0.9, epsilon: 1e-2 });
    const x = rand(shape, 35, -2, 3);
    const theirs = tfBatchNorm(layer, toTf(x));
    assertClose(layer.call(x, false).dataSync(), tfData(theirs.apply(toTf(x), { training: false }) as tf.Tensor), 1e-5, 'inference');
    assertClose(layer.call(x, true).dataSync(), tfData(theirs.apply(toTf(x), { training: true }) as tf.Tensor), 1e-4, 'training');
    // Both updated their moving statistics once; inference now uses the new ones.
    const [, , mean, variance] = theirs.getWeights();
    assertClose(layer.movingMean.dataSync(), tfData(mean), 1e-5, 'moving mean');
    assertClose(layer.movingVariance.dataSync(), tfData(variance), 1e-5, 'moving variance');
    assertClose(layer.call(x, false).dataSync(), tfData(theirs.apply(toTf(x), { training: false }) as tf.Tensor), 1e-5, 'inference after update');
  });
}

test('batch normalization by hand: batch statistics, biased variance, Keras moving-average rule', () => {
  const layer = L.batchNormalization({ center: false, scale: false });
  layer.build([4, 1], new Rng(0));
  const x = tensor([[1], [2], [3], [6]]);
  // mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5
  const y = layer.call(x, true).dataSync();
  const expected = [1, 2, 3, 6].map((v) => (v - 3) / Math.sqrt(3.5 + 1e-3));
  assertClose(y, expected, 1e-6, 'normalized');
  assertClose(layer.movingMean.dataSync(), [0.99 * 0 + 0.01 * 3], 1e-7, 'moving mean');
  assertClose(layer.movingVariance.dataSync(), [0.99 * 1 + 0.01 * 3.5], 1e-7, 'moving variance');
  layer.call(x, true);
  assertClose(layer.movingMean.dataSync(), [0.99 * 0.03 + 0.01 * 3], 1e-7, 'moving mean after two steps');
  // Inference uses the moving statistics and changes nothing.
  const inferred = layer.call(x, false).dataSync();
  assertClose(inferred, [1, 2, 3, 6].map((v) => (v - 0.0597) / Math.sqrt(layer.movingVariance.dataSync()[0] + 1e-3)), 1e-6, 'inference');
  assertClose(layer.movingMean.dataSync(), [0.0597], 1e-7, 'unchanged by inference');
});

test('batch normalization gradients: finite differences through the layer, and TensorFlow.js', () => {
  const shape = [3, 2, 2, 3];
  const layer = randomBatchNorm(shape);
  gradCheck((x) => layer.call(x, true), [rand(shape, 36)], { eps: 1e-2, tol: 2e-2 });
  // Gradients for x, gamma and beta at once, against tf.batchNorm over tf.moments.
  const x = rand(shape, 37);
  const [gamma, beta] = [rand([3], 38, 0.5, 2), rand([3], 39)];
  const leaves = [x, gamma, beta].map(variable);
  [layer.gamma, layer.beta] = [leaves[1], leaves[2]];
  const y = layer.call(leaves[0], true);
  const r = rand([...y.shape], 40);
  backward(y, r);
  const theirs = (tx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(tx, [0, 1, 2]);
    return tf.batchNorm(tx, mean, variance, b, g, 1e-3);
  };
  const tfInputs = [x, gamma, beta].map(toTf);
  assertClose(y.dataSync(), tfData(theirs(tfInputs[0], tfInputs[1], tfInputs[2])), 1e-4, 'forward');
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(theirs(a, b, c), toTf(r))))(tfInputs);
  leaves.forEach((leaf, i) => assertClose(leaf.grad!.dataSync(), tfData(grads[i]), 1e-3, `gradient ${i}`));
});

test('global average pooling matches TensorFlow.js, with and without keepdims', () => {
  const x = rand([2, 5, 3, 4], 41);
  for (const keepdims of [false, true]) {
    const ours = L.globalAveragePooling2d({ keepdims }).call(x);
    const theirs = tf.layers.globalAveragePooling2d({}).apply(toTf(x)) as tf.Tensor;
    assert.deepEqual(ours.shape, keepdims ? [2, 1, 1, 4] : [2, 4]);
    assertClose(ours.dataSync(), tfData(theirs), 1e-6, 'pooled');
  }
  gradCheck((t) => L.globalAveragePooling2d().call(t), [rand([2, 3, 4, 2], 42)]);
});

test('configs of the new layers and regularizers round-trip in Keras form', () => {
  const layers = [
    L.batchNormalization({ momentum: 0.9, epsilon: 1e-5, center: false, gammaRegularizer: l2(0.5) }),
    L.globalAveragePooling2d({ keepdims: true }),
    L.dense({ units: 3, kernelRegularizer: l2(), biasRegularizer: l1(0.2), activityRegularizer: l1l2({ l2: 0.3 }) }),
    L.conv2d({ filters: 2, kernelSize: 3, kernelRegularizer: l1l2() }),
  ];
  for (const layer of layers) {
    const c = L.serializeLayer(layer);
    assert.deepEqual(L.serializeLayer(L.layerFromConfig(JSON.parse(JSON.stringify(c)))), c);
  }
  const dense = L.serializeLayer(layers[2]).config as Record<string, unknown>;
  assert.deepEqual(dense.kernelRegularizer, { className: 'L2', config: { l2: 0.01 } });
  assert.deepEqual(dense.activityRegularizer, { className: 'L1L2', config: { l1: 0.01, l2: 0.3 } });
  const bn = L.serializeLayer(L.batchNormalization()).config;
  assert.deepEqual(bn, {
    name: '', axis: -1, momentum: 0.99, epsilon: 1e-3, center: true, scale: true, betaInitializer: 'zeros',
    gammaInitializer: 'ones', movingMeanInitializer: 'zeros', movingVarianceInitializer: 'ones',
  });
  assert.throws(() => L.dense({ units: 2, kernelRegularizer: { className: 'L3', config: {} } as never }), /unknown regularizer "L3"/);
  assert.throws(() => l2(-1), /non-negative/);
  assert.throws(() => L.batchNormalization({ axis: 1 }), /only axis -1/);
});

/** A dense model with regularizers everywhere, and its input and labels. */
function regularizedModel(withRegularizers: boolean) {
  const reg = withRegularizers
    ? { kernelRegularizer: l2(0.05), biasRegularizer: l1(0.1), activityRegularizer: l1l2({ l1: 0.02, l2: 0.03 }) }
    : {};
  const model = sequential([
    L.dense({ units: 4, activation: 'tanh', inputShape: [3], biasInitializer: 'ones', ...reg }),
    L.dense({ units: 2, activation: 'softmax' }),
  ], { seed: 4 });
  model.build();
  return { model, x: rand([5, 3], 43), y: tensor(Int32Array.from([0, 1, 1, 0, 1])) };
}

test('regularizers add exactly their penalties to the loss, and their gradients', () => {
  const plain = regularizedModel(false);
  const { model, x, y } = regularizedModel(true);
  const losses: Tensor[] = [];
  const pred = model.call(x, true, losses);
  // By hand: 0.05 * sum(kernel²) + 0.1 * sum(|bias|) + activity of the first layer's output / batch.
  const [kernel, bias] = model.layers[0].weights.map((w) => w.value);
  const hidden = noGrad(() => x.matmul(kernel).add(bias).tanh());
  const sum = (a: ArrayLike<number>, f: (v: number) => number) => Array.from(a).reduce((s, v) => s + f(v), 0);
  const expected = [
    0.05 * sum(kernel.dataSync(), (v) => v * v),
    0.1 * sum(bias.dataSync(), Math.abs),
    (0.02 * sum(hidden.dataSync(), Math.abs) + 0.03 * sum(hidden.dataSync(), (v) => v * v)) / 5,
  ];
  assertClose(losses.map((l) => l.item()), expected, 1e-5, 'penalties');
  // Gradient with the penalties minus the gradient without them = the penalties' own gradient.
  const total = losses.reduce((a, b) => a.add(b), sparseCategoricalCrossentropy(y, pred));
  backward(total);
  backward(sparseCategoricalCrossentropy(y, plain.model.call(x, true)));
  const [plainKernel, plainBias] = plain.model.layers[0].weights.map((w) => w.value);
  const dHidden = hidden.dataSync().map((h) => (1 - h * h) * (0.02 * Math.sign(h) + 0.03 * 2 * h) / 5); // through tanh
  const kernelDiff = kernel.grad!.dataSync().map((g, i) => g - plainKernel.grad!.dataSync()[i]);
  const biasDiff = bias.grad!.dataSync().map((g, i) => g - plainBias.grad!.dataSync()[i]);
  // d(activity)/d(kernel[i][j]) = sum over the batch of x[b][i] * dHidden[b][j]
  const kernelExpected = kernel.dataSync().map((w, k) => {
    const [i, j] = [Math.floor(k / 4), k % 4];
    let s = 0;
    for (let b = 0; b < 5; b++) s += x.dataSync()[b * 3 + i] * dHidden[b * 4 + j];
    return 2 * 0.05 * w + s;
  });
  const biasExpected = bias.dataSync().map((w, j) => {
    let s = 0;
    for (let b = 0; b < 5; b++) s += dHidden[b * 4 + j];
    return 0.1 * Math.sign(w) + s;
  });
  assertClose(kernelDiff, kernelExpected, 1e-4, 'kernel gradient');
  assertClose(biasDiff, biasExpected, 1e-4, 'bias gradient');
});

test('fit and evaluate report the loss with the penalties, as Keras', async () => {
  const { model, x, y } = regularizedModel(true);
  const losses: Tensor[] = [];
  const before = noGrad(() => {
    const pred = model.call(x, true, losses);
    return losses.reduce((a, b) => a + b.item(), sparseCategoricalCrossentropy(y, pred).item());
  });
  assert.ok(losses.length === 3 && losses.every((l) => l.item() > 0.01));
  model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparseCategoricalCrossentropy' });
  assert.ok(Math.abs(model.evaluate(x, y).loss - before) < 1e-5, 'evaluate');
  const h = await model.fit(x, y, { epochs: 1, batchSize: 5, shuffle: false });
  assert.ok(Math.abs(h.history.loss[0] - before) < 1e-5, `fit reported ${h.history.loss[0]}, expected ${before}`);
});

test('moving statistics are non-trainable: not given to the optimizer, updated by training calls only', async () => {
  const model = sequential([
    L.batchNormalization({ inputShape: [3] }), L.dense({ units: 2, activation: 'softmax' }),
  ], { seed: 1 });
  model.build();
  assert.deepEqual(model.weights.map((w) => [w.name, w.trainable]), [
    ['batch_normalization/gamma', true], ['batch_normalization/beta', true],
    ['batch_normalization/moving_mean', false], ['batch_normalization/moving_variance', false],
    ['dense/kernel', true], ['dense/bias', true],
  ]);
  assert.equal(model.trainableWeights.length, 4);
  const lines: string[] = [];
  model.summary((l) => lines.push(l));
  assert.match(lines.join('\n'), /Total params: 20 .*\nTrainable params: 14\nNon-trainable params: 6/);
  const x = rand([8, 3], 44, 0, 4);
  const y = tensor(Int32Array.from([0, 1, 0, 1, 1, 0, 0, 1]));
  model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparseCategoricalCrossentropy' });
  model.evaluate(x, y);
  model.predict(x);
  const bn = model.layers[0] as BatchNormalization;
  assert.deepEqual([...bn.movingMean.dataSync()], [0, 0, 0], 'inference must not move the statistics');
  await model.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false });
  // One training step on the whole batch: moving = 0.99 * initial + 0.01 * batch statistic.
  for (let c = 0; c < 3; c++) {
    const col = Array.from({ length: 8 }, (_, i) => x.dataSync()[i * 3 + c]);
    const mean = col.reduce((a, b) => a + b) / 8;
    const variance = col.reduce((a, b) => a + (b - mean) ** 2, 0) / 8;
    assertClose([bn.movingMean.dataSync()[c], bn.movingVariance.dataSync()[c]], [0.01 * mean, 0.99 + 0.01 * variance], 1e-6, `channel ${c}`);
  }
  assert.equal(Object.keys(model.optimizer!.getState().slots).length, 0, 'plain SGD keeps no slots');
  assert.ok(bn.movingMean.grad === null && !bn.movingMean.requiresGrad);
});

test('a checkpoint keeps batch normalization\'s moving statistics', async () => {
  const model = sequential([
    L.conv2d({ filters: 3, kernelSize: 3, inputShape: [6, 6, 1] }), L.batchNormalization({ momentum: 0.5 }),
    L.globalAveragePooling2d(), L.dense({ units: 2, activation: 'softmax', kernelRegularizer: l2() }),
  ], { seed: 2 });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  const x = rand([8, 6, 6, 1], 45);
  const y = tensor(Int32Array.from([0, 1, 0, 1, 1, 0, 0, 1]));
  await model.fit(x, y, { epochs: 2, batchSize: 4 });
  const bn = model.layers[1] as BatchNormalization;
  assert.ok(bn.movingMean.dataSync().some((v) => v !== 0) && bn.movingVariance.dataSync().some((v) => v !== 1));
  const dir = tempDir('bn');
  model.save(dir);
  const loaded = loadModel(dir, Sequential);
  const lbn = loaded.layers[1] as BatchNormalization;
  assert.deepEqual([...lbn.movingMean.dataSync()], [...bn.movingMean.dataSync()]);
  assert.deepEqual([...lbn.movingVariance.dataSync()], [...bn.movingVariance.dataSync()]);
  assert.deepEqual([...loaded.predict(x).dataSync()], [...model.predict(x).dataSync()]);
  assert.deepEqual(loaded.getConfig(), model.getConfig());
  // Adam keeps moments for the 6 trainable weights only (kernel, bias, gamma, beta, kernel, bias).
  const slots = Object.keys(loaded.optimizer!.getState().slots);
  assert.equal(slots.filter((k) => k.startsWith('m/')).length, 6);
});
