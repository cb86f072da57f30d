// The sequence layers (Embedding, LayerNormalization, LSTM): finite-difference gradient checks,
// agreement with TensorFlow.js's layers given the same weights (outputs and gradients), Sequential
// models that train, save and load, export to TensorFlow.js (loaded by tf.loadLayersModel) and
// back, ONNX export checked by onnxruntime, and the errors a user can meet.

import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { backward } from '../src/autograd/index.js';
import { TsgradError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { exportOnnx } from '../src/io/onnx.js';
import { exportTfjs } from '../src/io/tfjs.js';
import { importTfjs, loadModel } from '../src/models/load.js';
import { initialize } from '../src/nn/initializers.js';
import * as L from '../src/nn/layers.js';
import { type LSTMConfig } from '../src/nn/recurrent.js';
import { stack, unstack } from '../src/ops/arrays.js';
import { Adam } from '../src/optim/optimizer.js';
import { noGrad } from '../src/tensor/engine.js';
import { tensor, variable, type Tensor } from '../src/tensor/tensor.js';
import { Sequential, sequential } from '../src/train/sequential.js';
import { assertClose, gradCheck, onnxSession, rand, tempDir } from './helpers.js';

await tf.setBackend('cpu');
const TOL = 1e-5;
const toTf = (t: Tensor) => tf.tensor(Array.from(t.dataSync()), [...t.shape], t.dtype === 'int32' ? 'int32' : 'float32');
const tfData = (t: tf.Tensor) => t.dataSync() as Float32Array;
const tmp = tempDir('recurrent');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Random token ids in [0, n) as float32 (what a Sequential feeds) or int32. */
function ids(shape: number[], n: number, seed: number, dtype: 'float32' | 'int32' = 'float32'): Tensor {
  const rng = new Rng(seed);
  const size = shape.reduce((p, d) => p * d, 1);
  const values = Array.from({ length: size }, () => rng.int(n));
  return tensor(dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values), shape, dtype);
}

/**
 * Our layer (built, weights set) against a TF.js layer given the same weights: the outputs, the
 * gradients of sum(y * r) for every weight, and for the input when it is float. Returns the largest
 * differences.
 */
function agree(t: TestContext, ours: L.AnyLayer, theirs: tf.layers.Layer, x: Tensor, what: string, { withInput = true, gradients = true } = {}) {
  const tfX = toTf(x);
  theirs.apply(tfX); // builds
  theirs.setWeights(ours.weights.map((w) => toTf(w.value)));
  const leaf = withInput ? variable(x) : x;
  const y = ours.call(leaf, true);
  const r = rand([...y.shape], 99);
  backward(y, r);
  const tfY = theirs.apply(tfX) as tf.Tensor;
  assert.deepEqual(tfY.shape, y.shape, `${what}: output shape`);
  assertClose(y.dataSync(), tfData(tfY), TOL, `${what} forward`);
  const diffs = { forward: maxDiff(y.dataSync(), tfData(tfY)), gradient: 0 };
  if (!gradients) return t.diagnostic(`${what}: max |tsgrad - TensorFlow.js| forward ${diffs.forward.toExponential(2)}`);
  const loss = (input: tf.Tensor) => tf.sum(tf.mul(theirs.apply(input) as tf.Tensor, toTf(r))) as tf.Scalar;
  const vars = theirs.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => loss(tfX), vars);
  ours.weights.forEach((w, i) => {
    const expected = tfData(grads[vars[i].name]);
    assertClose(w.value.grad!.dataSync(), expected, 1e-4, `${what} gradient of ${w.name}`);
    diffs.gradient = Math.max(diffs.gradient, maxDiff(w.value.grad!.dataSync(), expected));
  });
  if (withInput) {
    const expected = tfData(tf.grad(loss)(tfX));
    assertClose(leaf.grad!.dataSync(), expected, 1e-4, `${what} gradient of the input`);
    diffs.gradient = Math.max(diffs.gradient, maxDiff(leaf.grad!.dataSync(), expected));
  }
  t.diagnostic(`${what}: max |tsgrad - TensorFlow.js| forward ${diffs.forward.toExponential(2)}, gradients ${diffs.gradient.toExponential(2)}`);
}

/** A built layer whose weights are all seeded random values, so none is a trivial 0 or 1. */
function randomized<T extends L.AnyLayer>(layer: T, inputShape: number[], seed: number, low = -0.5, high = 0.5): T {
  layer.build(inputShape, new Rng(seed));
  layer.weights.forEach((w, i) => w.value.dataSync().set(rand([...w.value.shape], seed + i, low, high).dataSync()));
  return layer;
}

// ---------------------------------------------------------------------------------------------
// Embedding

test('embedding matches TensorFlow.js for float and int32 ids of any shape, table gradient included', (t) => {
  for (const [shape, dtype] of [[[2, 3], 'float32'], [[7], 'int32'], [[2, 2, 3], 'float32']] as const) {
    const layer = randomized(L.embedding({ inputDim: 6, outputDim: 5 }), [...shape], 1);
    agree(t, layer, tf.layers.embedding({ inputDim: 6, outputDim: 5 }), ids([...shape], 6, 2, dtype), `embedding ${JSON.stringify(shape)} ${dtype}`, { withInput: false });
  }
});

test('embedding gradient: finite differences of the table, repeated ids summing', () => {
  const layer = L.embedding({ inputDim: 5, outputDim: 3 });
  layer.build([2, 4], new Rng(0));
  const x = tensor([[0, 4, 4, 1], [4, 2, 0, 0]]);
  gradCheck((w) => {
    layer.embeddings = w;
    return layer.call(x);
  }, [rand([5, 3], 3)]);
});

test('embedding: default initializer as Keras, and ids that are not token ids are a clear error', () => {
  const layer = L.embedding({ inputDim: 10, outputDim: 4, name: 'tokens' });
  layer.build([1, 3], new Rng(4));
  assert.ok(layer.embeddings.dataSync().every((v) => Math.abs(v) <= 0.05) && layer.embeddings.dataSync().some((v) => v !== 0));
  assert.deepEqual(layer.call(tensor([[9, 0, 3]])).shape, [1, 3, 4]);
  assert.throws(() => layer.call(tensor([[1, 10, 2]])), (e) => e instanceof TsgradError && /layer "tokens" \(Embedding\): input 10 at position 1 is not a token id in \[0, 10\)/.test(e.message));
  assert.throws(() => layer.call(tensor([[-1]])), /input -1 at position 0 is not a token id/);
  assert.throws(() => layer.call(tensor([[2.5]])), /input 2.5 at position 0 is not a token id/);
  assert.throws(() => layer.call(tensor(Int32Array.of(3, 11), [1, 2], 'int32')), /input 11 at position 1/);
  assert.throws(() => L.embedding({ inputDim: 0, outputDim: 4 }), /Embedding inputDim must be a positive integer, got 0/);
  const fixed = L.embedding({ inputDim: 10, outputDim: 4, inputLength: 3, name: 'fixed' });
  fixed.build([1, 3], new Rng(0));
  assert.throws(() => fixed.call(tensor([[1, 2]])), /layer "fixed" \(Embedding\) expects sequences of length 3, got 2/);
});

// ---------------------------------------------------------------------------------------------
// LayerNormalization

test('layer normalization matches TensorFlow.js: outputs and the gradients of input, gamma and beta', (t) => {
  const cases: [number[], { epsilon?: number; center?: boolean; scale?: boolean }][] = [
    [[3, 5], {}], [[2, 3, 7], { epsilon: 1e-5 }], [[4, 6], { center: false }], [[2, 1, 3, 4], { scale: false }],
  ];
  for (const [shape, config] of cases) {
    const layer = randomized(L.layerNormalization(config), shape, 5, 0.5, 1.5);
    // TensorFlow.js 4.22 cannot differentiate its layer norm without beta or gamma (its gradient
    // tape meets an undefined input): those two are compared forward only, and checked against
    // finite differences below.
    agree(t, layer, tf.layers.layerNormalization(config), rand(shape, 6, -2, 3), `layerNormalization ${JSON.stringify(shape)} ${JSON.stringify(config)}`,
      { gradients: config.center !== false && config.scale !== false });
  }
});

test('layer normalization gradients: finite differences of input, gamma and beta', () => {
  const layer = L.layerNormalization();
  layer.build([3, 2, 5], new Rng(0));
  gradCheck((x, gamma, beta) => {
    [layer.gamma, layer.beta] = [gamma, beta];
    return layer.call(x);
  }, [rand([3, 2, 5], 7, -2, 2), rand([5], 8, 0.5, 1.5), rand([5], 9)], { tol: 2e-2 });
  for (const config of [{ center: false }, { scale: false }]) {
    const partial = randomized(L.layerNormalization(config), [4, 6], 10, 0.5, 1.5);
    gradCheck((x) => partial.call(x), [rand([4, 6], 11, -2, 2)], { tol: 2e-2 });
  }
});

test('layer normalization: Keras defaults and names, only the last axis', () => {
  const layer = L.layerNormalization();
  layer.build([2, 4], new Rng(0));
  assert.deepEqual(layer.weights.map((w) => w.name), ['gamma', 'beta']);
  const x = tensor([[1, 2, 3, 6], [0, 0, 0, 4]]);
  // mean 3, biased variance 3.5; epsilon 1e-3 as Keras.
  assertClose(layer.call(x).dataSync().slice(0, 4), [1, 2, 3, 6].map((v) => (v - 3) / Math.sqrt(3.5 + 1e-3)), 1e-6, 'by hand');
  assert.throws(() => L.layerNormalization({ axis: 1 }), /LayerNormalization supports only axis -1 \(the last axis\), got 1/);
});

// ---------------------------------------------------------------------------------------------
// LSTM

const lstmCases: [string, Pick<LSTMConfig, 'units' | 'returnSequences' | 'goBackwards' | 'useBias' | 'activation'>][] = [
  ['last output', { units: 4 }],
  ['sequences', { units: 4, returnSequences: true }],
  ['backwards, sequences', { units: 4, returnSequences: true, goBackwards: true }],
  ['backwards, no bias', { units: 3, goBackwards: true, useBias: false }],
  ['relu activation', { units: 4, returnSequences: true, activation: 'relu' }],
];
for (const [what, config] of lstmCases) {
  test(`LSTM matches TensorFlow.js (${what}): outputs and the gradients of input, kernel, recurrent kernel, bias`, (t) => {
    const layer = randomized(L.lstm(config), [2, 3, 5], 10);
    const theirs = tf.layers.lstm({ ...config, recurrentActivation: 'sigmoid' });
    agree(t, layer, theirs, rand([2, 3, 5], 11, -1, 1), `lstm ${what}`);
    // A longer, odd sequence, forward only.
    const x = rand([3, 7, 5], 12, -1, 1);
    const expected = tfData(theirs.apply(toTf(x)) as tf.Tensor);
    assertClose(noGrad(() => layer.call(x)).dataSync(), expected, TOL, `lstm ${what}, T = 7`);
  });
}

for (const returnSequences of [false, true]) {
  test(`LSTM gradients: finite differences of input, kernel, recurrent kernel and bias (returnSequences ${returnSequences})`, () => {
    const layer = randomized(L.lstm({ units: 4, returnSequences }), [2, 3, 5], 13);
    const w = layer.weights.map((v) => v.value);
    gradCheck((x, kernel, recurrent, bias) => {
      [layer.kernel, layer.recurrentKernel, layer.bias] = [kernel, recurrent, bias];
      return layer.call(x);
    }, [rand([2, 3, 5], 14), ...w.map((v) => tensor(v.dataSync(), v.shape))], { eps: 1e-2, tol: 1e-2 });
  });
}

test('LSTM: Keras layout, names and initializers; running in pieces continues the state', () => {
  const layer = L.lstm({ units: 3 });
  layer.build([1, 4, 2], new Rng(15));
  assert.deepEqual(layer.weights.map((w) => [w.name, w.value.shape]), [['kernel', [2, 12]], ['recurrent_kernel', [3, 12]], ['bias', [12]]]);
  assert.deepEqual(Array.from(layer.bias!.dataSync()), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0], 'unit forget bias: the f gate starts at 1');
  // The recurrent kernel is orthogonal: U Uᵀ = I for (3, 12).
  const u = layer.recurrentKernel;
  const uut = noGrad(() => u.matmul(u, { transB: true }));
  assertClose(uut.dataSync(), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-5, 'U Uᵀ');
  const x = rand([2, 5, 2], 16);
  const whole = noGrad(() => layer.run(x));
  const [first, second] = [[0, 1, 2], [3, 4]].map((steps) => noGrad(() => x.gather(tensor(Int32Array.from(steps), [steps.length], 'int32'), 1)));
  const a = noGrad(() => layer.run(first));
  const b = noGrad(() => layer.run(second, a.state));
  assertClose(b.output.dataSync(), whole.output.dataSync(), 1e-6, 'h after two pieces');
  assertClose(b.state.c.dataSync(), whole.state.c.dataSync(), 1e-6, 'c after two pieces');
  assert.throws(() => layer.call(rand([2, 5], 0)), /layer "" \(LSTM\) expects \(batch, time, 2\) inputs, got \[2, 5\]/);
  assert.throws(() => L.lstm({ units: 0 }), /LSTM units must be a positive integer/);
});

test('orthogonal initializer: orthonormal rows or columns, whichever side is shorter', () => {
  for (const shape of [[5, 3], [3, 5], [4, 4], [2, 3, 4]]) {
    const q = initialize('orthogonal', shape, new Rng(17)).reshape([-1, shape[shape.length - 1]]);
    const [rows, cols] = q.shape;
    const gram = rows < cols ? q.matmul(q, { transB: true }) : q.matmul(q, { transA: true });
    const n = Math.min(rows, cols);
    assertClose(gram.dataSync(), Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)), 1e-5, `${JSON.stringify(shape)}`);
  }
});

test('unstack and stack by halving: inverse of each other for every length, gradients included', () => {
  for (const n of [1, 2, 5, 8]) {
    const x = rand([2, n, 3], n);
    const parts = unstack(x, 1);
    assert.equal(parts.length, n);
    parts.forEach((p, i) => assertClose(p.dataSync(), x.gather(tensor(Int32Array.of(i), [], 'int32'), 1).dataSync(), 0, `slice ${i}`));
    assertClose(stack(parts, 1).dataSync(), x.dataSync(), 0, `stack ${n}`);
    gradCheck((t) => stack(unstack(t, 1).map((p, i) => p.mul(i + 1)).reverse(), 1), [x]);
  }
});

// ---------------------------------------------------------------------------------------------
// Models: training, checkpoints, TensorFlow.js and ONNX

/** Sequences of `length` tokens in [1, vocab); the label is the first token (the LSTM must carry it to the end). */
function firstTokenTask(count: number, length: number, vocab: number, seed: number) {
  const x = ids([count, length], vocab - 1, seed);
  for (let i = 0; i < x.size; i++) x.dataSync()[i] += 1;
  const y = tensor(Int32Array.from({ length: count }, (_, i) => x.dataSync()[i * length] - 1), [count], 'int32');
  return { x, y };
}

function sequenceModel(seed: number): Sequential {
  return sequential([
    L.embedding({ inputDim: 5, outputDim: 8, inputShape: [6] }),
    L.layerNormalization(),
    L.lstm({ units: 16, returnSequences: true }),
    L.lstm({ units: 12 }),
    L.dense({ units: 4, activation: 'softmax' }),
  ], { name: 'sequence_model', seed });
}

test('embedding -> layer norm -> LSTM -> LSTM -> softmax learns to recall the first token, then saves and loads', async (t) => {
  const model = sequenceModel(18);
  const train = firstTokenTask(256, 6, 5, 19);
  const heldOut = firstTokenTask(64, 6, 5, 20);
  model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const before = model.evaluate(heldOut.x, heldOut.y);
  await model.fit(train.x, train.y, { epochs: 12, batchSize: 32 });
  const afterwards = model.evaluate(heldOut.x, heldOut.y);
  t.diagnostic(`held-out accuracy ${before.accuracy} -> ${afterwards.accuracy}`);
  assert.ok(afterwards.accuracy! >= 0.95, `accuracy ${afterwards.accuracy}`);
  const dir = path.join(tmp, 'checkpoint');
  model.save(dir);
  const loaded = loadModel(dir, Sequential);
  assert.deepEqual(loaded.getConfig(), model.getConfig());
  assertClose(loaded.predict(heldOut.x).dataSync(), model.predict(heldOut.x).dataSync(), 0, 'predictions after loading');
});

test('configs of the sequence layers round-trip', () => {
  const layers = [
    L.embedding({ inputDim: 7, outputDim: 3, inputLength: 4, embeddingsInitializer: 'glorotUniform' }),
    L.layerNormalization({ epsilon: 1e-5, center: false }),
    L.lstm({ units: 5, returnSequences: true, goBackwards: true, unitForgetBias: false, recurrentActivation: 'tanh', recurrentInitializer: 'glorotNormal' }),
  ];
  for (const layer of layers) {
    const c = L.serializeLayer(layer);
    assert.deepEqual(L.serializeLayer(L.layerFromConfig(JSON.parse(JSON.stringify(c)))), c);
  }
  assert.deepEqual(L.lstm({ units: 2 }).getConfig(), {
    name: '', units: 2, activation: 'tanh', recurrentActivation: 'sigmoid', useBias: true, unitForgetBias: true,
    kernelInitializer: 'glorotUniform', recurrentInitializer: 'orthogonal', biasInitializer: 'zeros', returnSequences: false, goBackwards: false,
  });
});

/** tf.loadLayersModel on an exported folder, read from disk (TF.js's file:// needs tfjs-node). */
function loadFromDisk(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel({
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const group = json.weightsManifest[0];
      const data = Buffer.concat(group.paths.map((p: string) => fs.readFileSync(path.join(dir, p))));
      return { modelTopology: json.modelTopology, weightSpecs: group.weights, weightData: new Uint8Array(data).buffer };
    },
  });
}

test('TensorFlow.js export: the sequence layers load with tf.loadLayersModel and predict the same; importTfjs reads them back', async (t) => {
  const model = sequenceModel(21);
  model.build();
  model.weights.forEach((w, i) => w.value.dataSync().set(rand([...w.value.shape], 30 + i, -0.4, 0.4).dataSync()));
  const x = firstTokenTask(9, 6, 5, 22).x;
  const dir = path.join(tmp, 'tfjs');
  exportTfjs(model, dir);
  const theirs = await loadFromDisk(dir);
  assert.deepEqual(theirs.layers.map((l) => l.getClassName()), ['Embedding', 'LayerNormalization', 'LSTM', 'LSTM', 'Dense']);
  const expected = model.predict(x).dataSync();
  const actual = tfData(theirs.predict(toTf(x)) as tf.Tensor);
  assertClose(actual, expected, TOL, 'exported');
  t.diagnostic(`export: max |TensorFlow.js - tsgrad| = ${maxDiff(actual, expected).toExponential(2)}`);
  const back = importTfjs(dir);
  assert.deepEqual(back.getConfig(), { ...model.getConfig(), seed: 0 }); // a LayersModel has no seed
  assertClose(back.predict(x).dataSync(), expected, 0, 'imported back');
});

test('TensorFlow.js import: a model built and saved by TF.js (embedding, layer norm, LSTMs going backwards) predicts the same', async (t) => {
  const theirs = tf.sequential({ layers: [
    tf.layers.embedding({ inputDim: 11, outputDim: 6, inputShape: [5] }),
    tf.layers.layerNormalization({ epsilon: 1e-4 }),
    tf.layers.lstm({ units: 7, recurrentActivation: 'sigmoid', returnSequences: true, goBackwards: true }),
    tf.layers.lstm({ units: 4, recurrentActivation: 'sigmoid', useBias: false }),
  ] });
  theirs.setWeights(theirs.weights.map((w, i) => tf.randomUniform(w.shape as number[], -0.5, 0.5, 'float32', 40 + i)));
  const dir = path.join(tmp, 'from-tfjs');
  await theirs.save(tf.io.withSaveHandler(async (a) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!)));
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, format: a.format, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const model = importTfjs(dir);
  const x = ids([8, 5], 11, 23);
  const expected = tfData(theirs.predict(toTf(x)) as tf.Tensor);
  const actual = model.predict(x).dataSync();
  assertClose(actual, expected, TOL, 'imported');
  t.diagnostic(`import: max |tsgrad - TensorFlow.js| = ${maxDiff(actual, expected).toExponential(2)}`);
  // TF.js's default recurrent activation (hard_sigmoid) is refused, not silently replaced.
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  json.modelTopology.config.layers[2].config.recurrent_activation = 'hard_sigmoid';
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  assert.throws(() => importTfjs(dir), /\(LSTM\): recurrent_activation "hard_sigmoid" is not supported/);
});

test('ONNX export: Embedding (Cast + Gather) and LayerNormalization run in onnxruntime; LSTM is one clear error', async (t) => {
  const model = sequential([
    L.embedding({ inputDim: 9, outputDim: 6, inputShape: [4] }),
    L.layerNormalization({ epsilon: 1e-4 }),
    L.dense({ units: 5, activation: 'relu' }),
    L.layerNormalization({ center: false }),
    L.flatten(),
    L.dense({ units: 3, activation: 'softmax' }),
  ], { seed: 24 });
  model.build();
  model.weights.forEach((w, i) => w.value.dataSync().set(rand([...w.value.shape], 50 + i, -0.6, 0.6).dataSync()));
  const x = ids([5, 4], 9, 25);
  const { ort, session } = await onnxSession(exportOnnx(model));
  const { output } = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.dataSync()), [...x.shape]) });
  const expected = model.predict(x);
  assert.deepEqual(output.dims, expected.shape);
  assertClose(output.data as Float32Array, expected.dataSync(), 1e-5, 'onnxruntime');
  t.diagnostic(`onnx: max |onnxruntime - tsgrad| = ${maxDiff(output.data as Float32Array, expected.dataSync()).toExponential(2)}`);
  const recurrent = sequential([L.embedding({ inputDim: 3, outputDim: 2, inputShape: [4] }), L.lstm({ units: 2 })]);
  assert.throws(() => exportOnnx(recurrent), (e) => e instanceof TsgradError && /layer "lstm" of type "LSTM" yet/.test(e.message));
});
