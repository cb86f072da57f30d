// The TensorFlow.js LayersModel format checked against TensorFlow.js itself, both ways:
// models exported by tsgrad are loaded by tf.loadLayersModel over HTTP (as apps load them) and
// must predict what tsgrad predicts on real MNIST digits; models built and saved by TensorFlow.js
// (and rewritten in the layout tensorflowjs_converter gives Keras models) are imported and must
// predict what TensorFlow.js predicts. Then every kind of bad file gives one clear error.

import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { loadMnist } from '../src/data/mnist.js';
import { exportTfjs } from '../src/io/tfjs.js';
import { importTfjs } from '../src/models/load.js';
import { lenet5, referenceCnn, strongCnn } from '../src/models/zoo.js';
import * as L from '../src/nn/layers.js';
import { l1, l2 } from '../src/nn/regularizers.js';
import { tensor } from '../src/tensor/tensor.js';
import { sequential, type Sequential } from '../src/train/sequential.js';
import { assertClose, tempDir } from './helpers.js';

await tf.setBackend('cpu');
const TOL = 1e-4;
const mnist = loadMnist({ limit: 20 });
const images = tensor(mnist.images, mnist.shape);
const labels = tensor(mnist.labels, [mnist.count], 'int32');
const tmp = tempDir('tfjs');

// A tiny static file server for the exported folders, on an ephemeral port.
let server: http.Server;
let base = '';
before(async () => {
  server = http.createServer((req, res) => {
    const file = path.join(tmp, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(tmp + path.sep) || !fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** A few training steps, so batch norm's moving statistics are not their initial values. */
async function trainBriefly(model: Sequential): Promise<void> {
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(images, labels, { epochs: 2, batchSize: 8 });
}

/** Every exportable layer type and option: 'same' padding, stride 2, both poolings, global pooling, dropout, activation, batch norm, regularizers. */
function everyLayer(): Sequential {
  return sequential([
    L.conv2d({ filters: 4, kernelSize: [3, 5], strides: 2, padding: 'same', activation: 'sigmoid', inputShape: [28, 28, 1], kernelRegularizer: l2(1e-3) }),
    L.batchNormalization({ momentum: 0.5, epsilon: 1e-2 }),
    L.activation({ activation: 'relu' }),
    L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
    L.conv2d({ filters: 6, kernelSize: 2, useBias: false, activation: 'tanh', kernelInitializer: 'heNormal' }),
    L.averagePooling2d({ poolSize: 2, strides: 1 }),
    L.dropout({ rate: 0.25, seed: 3 }),
    L.dense({ units: 5, activation: 'relu' }), // on the channel axis of (N, H, W, C)
    L.conv2d({ filters: 8, kernelSize: 1, strides: [1, 2], activation: 'relu', biasRegularizer: l1(1e-4) }),
    L.globalAveragePooling2d(),
    L.batchNormalization({ center: false, scale: false }),
    L.dense({ units: 10, activation: 'softmax' }),
  ], { name: 'every_layer', seed: 5 });
}

function flattenModel(): Sequential {
  return sequential([
    L.averagePooling2d({ poolSize: 2, inputShape: [28, 28, 1] }),
    L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }),
    L.flatten(),
    L.dropout({ rate: 0.5 }),
    L.dense({ units: 10 }),
  ], { name: 'flat', seed: 2 });
}

// ---------------------------------------------------------------------------------------------
// tsgrad -> TensorFlow.js

const exportCases: [string, () => Promise<Sequential>][] = [
  ['reference CNN', async () => referenceCnn({ seed: 1 })],
  ['LeNet-5', async () => lenet5({ seed: 2 })],
  ['strong CNN, trained', async () => { const m = strongCnn({ seed: 3 }); await trainBriefly(m); return m; }],
  ['every layer type, trained', async () => { const m = everyLayer(); await trainBriefly(m); return m; }],
  ['flatten and dense logits', async () => flattenModel()],
];
exportCases.forEach(([what, make], i) => {
  test(`tsgrad -> TensorFlow.js: ${what} loads with tf.loadLayersModel over HTTP and predicts the same`, async (t: TestContext) => {
    const model = await make();
    const dir = path.join(tmp, `export${i}`);
    exportTfjs(model, dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.deepEqual(json.modelTopology.config.layers[0].config.batch_input_shape, [null, 28, 28, 1]);
    assert.deepEqual(json.weightsManifest[0].weights.map((w: { name: string }) => w.name), model.weights.map((w) => w.name));
    const theirs = await tf.loadLayersModel(`${base}/export${i}/model.json`);
    assert.deepEqual(theirs.layers.map((l) => l.name), model.layers.map((l) => l.name));
    const expected = model.predict(images);
    const actual = (theirs.predict(tf.tensor(mnist.images, mnist.shape)) as tf.Tensor).dataSync();
    assert.deepEqual((theirs.outputs[0].shape as number[]).slice(1), expected.shape.slice(1));
    assertClose(actual, expected.dataSync(), TOL, what);
    t.diagnostic(`${what}: max |TensorFlow.js - tsgrad| = ${maxDiff(actual, expected.dataSync()).toExponential(2)}`);
  });
});

test('tsgrad -> TensorFlow.js: weights over 4 MB are split into 4 MB shards, as TF.js does', async (t) => {
  const model = sequential([L.flatten({ inputShape: [28, 28, 1] }), L.dense({ units: 1500, activation: 'relu' }), L.dense({ units: 10 })], { seed: 4 });
  const dir = path.join(tmp, 'sharded');
  exportTfjs(model, dir);
  const paths: string[] = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths;
  assert.deepEqual(paths, ['group1-shard1of2.bin', 'group1-shard2of2.bin']);
  assert.equal(fs.statSync(path.join(dir, paths[0])).size, 4 * 1024 * 1024);
  assert.equal(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')).length, 0, 'no temporary files left');
  const theirs = await tf.loadLayersModel(`${base}/sharded/model.json`);
  const actual = (theirs.predict(tf.tensor(mnist.images, mnist.shape)) as tf.Tensor).dataSync();
  const expected = model.predict(images).dataSync();
  assertClose(actual, expected, TOL, 'sharded');
  t.diagnostic(`sharded: max |TensorFlow.js - tsgrad| = ${maxDiff(actual, expected).toExponential(2)}`);
  // And back: the two shards are one byte stream.
  assertClose(importTfjs(dir).predict(images).dataSync(), expected, 0, 'sharded round trip');
});

test('tsgrad -> TensorFlow.js: GlobalAveragePooling2D with keepdims is refused (TF.js would drop it)', () => {
  const model = sequential([L.globalAveragePooling2d({ keepdims: true, inputShape: [4, 4, 2] })]);
  assert.throws(() => exportTfjs(model, path.join(tmp, 'keepdims')), (e: Error) =>
    e instanceof TsgradError && /global_average_pooling2d.*keepdims/.test(e.message));
});

// ---------------------------------------------------------------------------------------------
// TensorFlow.js -> tsgrad

/** Saves a TF.js model as the file:// handler does (model.json + weights.bin), the weights cut into `shards` files at odd byte offsets. */
async function saveTfjs(model: tf.LayersModel, dir: string, shards = 1, rewrite: (json: Record<string, any>) => void = () => {}): Promise<void> {
  await model.save(tf.io.withSaveHandler(async (a) => {
    const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!));
    const cuts = Array.from({ length: shards + 1 }, (_, i) => (i === shards ? bytes.length : Math.floor((bytes.length * i) / shards) + (i ? 1 : 0)));
    const paths = Array.from({ length: shards }, (_, i) => (shards === 1 ? 'weights.bin' : `weights${i + 1}.bin`));
    fs.mkdirSync(dir, { recursive: true });
    paths.forEach((p, i) => fs.writeFileSync(path.join(dir, p), bytes.subarray(cuts[i], cuts[i + 1])));
    const json: Record<string, any> = {
      modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy,
      weightsManifest: [{ paths, weights: a.weightSpecs }],
      ...(a.trainingConfig ? { trainingConfig: a.trainingConfig } : {}),
    };
    rewrite(json);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
}

/** Random weights (positive variances), so that nothing is at its initial value. */
function randomize(model: tf.LayersModel, seed: number): void {
  model.setWeights(model.weights.map((w, i) => w.name.includes('moving_variance')
    ? tf.randomUniform(w.shape as number[], 0.5, 1.5, 'float32', seed + i)
    : tf.randomUniform(w.shape as number[], -0.3, 0.3, 'float32', seed + i)));
}

const tfCases: [string, () => tf.Sequential][] = [
  ['reference CNN', () => tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 64, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ] })],
  ['LeNet-5', () => tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 6, kernelSize: 5, padding: 'same', activation: 'tanh', inputShape: [28, 28, 1] }),
    tf.layers.averagePooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'tanh' }),
    tf.layers.averagePooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 120, activation: 'tanh' }),
    tf.layers.dense({ units: 84, activation: 'tanh' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ] })],
  ['batch-normalised CNN', () => tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 8, kernelSize: 3, useBias: false, inputShape: [28, 28, 1] }),
    tf.layers.batchNormalization(),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 32, useBias: false }),
    tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-2 }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.dropout({ rate: 0.4 }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ] })],
  ['every layer type', () => tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 4, kernelSize: [3, 5], strides: 2, padding: 'same', activation: 'sigmoid', inputShape: [28, 28, 1], kernelRegularizer: tf.regularizers.l2({ l2: 1e-3 }) }),
    tf.layers.batchNormalization({ center: false }),
    tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
    tf.layers.conv2d({ filters: 6, kernelSize: 2, useBias: false, activation: 'tanh' }),
    tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
    tf.layers.dropout({ rate: 0.25 }),
    tf.layers.dense({ units: 5, activation: 'relu' }),
    tf.layers.conv2d({ filters: 10, kernelSize: 1, strides: [1, 2], activation: 'relu', biasRegularizer: tf.regularizers.l1({ l1: 1e-4 }) }),
    tf.layers.globalAveragePooling2d({}),
    tf.layers.activation({ activation: 'softmax' }),
  ] })],
];
tfCases.forEach(([what, make], i) => {
  test(`TensorFlow.js -> tsgrad: ${what} saved by TF.js imports and predicts the same`, async (t: TestContext) => {
    const theirs = make();
    randomize(theirs, 10 * i);
    const dir = path.join(tmp, `import${i}`);
    await saveTfjs(theirs, dir, i % 2 ? 3 : 1);
    const model = importTfjs(dir);
    assert.deepEqual(model.layers.map((l) => l.name), theirs.layers.map((l) => l.name));
    assert.equal(model.countParams(), theirs.countParams());
    const expected = (theirs.predict(tf.tensor(mnist.images, mnist.shape)) as tf.Tensor).dataSync();
    const actual = model.predict(images).dataSync();
    assertClose(actual, expected, TOL, what);
    t.diagnostic(`${what}: max |tsgrad - TensorFlow.js| = ${maxDiff(actual, expected).toExponential(2)}`);
    // Compiled with the default recipe (no training config in the file), so evaluate works at once.
    assert.equal(model.trainingConfig?.loss, 'sparseCategoricalCrossentropy');
    assert.ok(Number.isFinite(model.evaluate(images, labels).loss));
  });
});

test('TensorFlow.js -> tsgrad: the regularizers and layer options come across', async () => {
  const dir = path.join(tmp, 'import3');
  const model = fs.existsSync(dir) ? importTfjs(dir) : assert.fail('the every-layer import test must run first');
  const [conv, bn, maxPool] = model.getConfig().layers;
  assert.deepEqual(conv.config, { ...conv.config, strides: [2, 2], padding: 'same', activation: 'sigmoid', kernelRegularizer: l2(1e-3) });
  assert.deepEqual(bn.config, { ...bn.config, center: false, scale: true });
  assert.deepEqual(maxPool.config, { ...maxPool.config, poolSize: [3, 3], strides: [2, 2], padding: 'same' });
  assert.deepEqual(model.getConfig().layers[7].config, { ...model.getConfig().layers[7].config, biasRegularizer: l1(1e-4) });
});

test('TensorFlow.js -> tsgrad: a Keras model as tensorflowjs_converter writes it (model_config, InputLayer, bare layer list, axis [3], training_config)', async (t) => {
  const theirs = tfCases[2][1]();
  randomize(theirs, 77);
  const dir = path.join(tmp, 'keras');
  await saveTfjs(theirs, dir, 1, (json) => {
    const layers = json.modelTopology.config.layers;
    const batchShape = layers[0].config.batch_input_shape;
    delete layers[0].config.batch_input_shape;
    layers[1].config.axis = [3];
    layers[6].config.axis = 1;
    json.modelTopology = {
      keras_version: '2.2.4', backend: 'tensorflow',
      model_config: { class_name: 'Sequential', config: [{ class_name: 'InputLayer', config: { batch_input_shape: batchShape, dtype: 'float32', sparse: false, name: 'input_1' } }, ...layers] },
      training_config: { loss: 'categorical_crossentropy', metrics: ['acc'], optimizer_config: { class_name: 'SGD', config: { lr: 0.05, momentum: 0.9, nesterov: true } } },
    };
  });
  const model = importTfjs(path.join(dir, 'model.json'));
  const expected = (theirs.predict(tf.tensor(mnist.images, mnist.shape)) as tf.Tensor).dataSync();
  assertClose(model.predict(images).dataSync(), expected, TOL, 'keras layout');
  t.diagnostic(`keras layout: max |tsgrad - TensorFlow.js| = ${maxDiff(model.predict(images).dataSync(), expected).toExponential(2)}`);
  assert.deepEqual(model.trainingConfig, {
    loss: 'categoricalCrossentropy', metrics: ['accuracy'], optimizer: { ...model.trainingConfig!.optimizer, className: 'SGD' },
  });
  assert.deepEqual(model.trainingConfig!.optimizer.config, { ...model.trainingConfig!.optimizer.config, learningRate: 0.05, momentum: 0.9, nesterov: true });
});

test('tsgrad -> TensorFlow.js -> tsgrad gives back the same model', async () => {
  const model = everyLayer();
  await trainBriefly(model);
  const dir = path.join(tmp, 'roundtrip');
  exportTfjs(model, dir);
  const back = importTfjs(dir);
  assert.deepEqual(back.getConfig(), { ...model.getConfig(), seed: 0 }); // a LayersModel has no seed
  back.weights.forEach((w, i) => assertClose(w.value.dataSync(), model.weights[i].value.dataSync(), 0, w.name));
});

// ---------------------------------------------------------------------------------------------
// Bad files

/** A fresh small export to damage: conv2d/kernel, conv2d/bias, dense/kernel (1014 x 10), dense/bias: 40,840 bytes. */
function damaged(name: string, damage: (json: Record<string, any>, dir: string) => void): string {
  const dir = path.join(tmp, 'bad', name);
  exportTfjs(sequential([L.conv2d({ filters: 6, kernelSize: 3, strides: 2, inputShape: [28, 28, 1] }), L.flatten(), L.dense({ units: 10 })]), dir);
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  damage(json, dir);
  fs.writeFileSync(file, JSON.stringify(json));
  return dir;
}

function rejects(dir: string, pattern: RegExp, file = path.join(dir, 'model.json')): void {
  assert.throws(() => importTfjs(dir), (e: Error) => {
    assert.ok(e instanceof TsgradError, `a TsgradError, got ${e.stack}`);
    assert.ok(e.message.includes(file), `names ${file}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const bin = (dir: string) => path.join(dir, 'group1-shard1of1.bin');
const layer = (json: Record<string, any>, i: number) => json.modelTopology.config.layers[i];
const spec = (json: Record<string, any>, name: string) => json.weightsManifest[0].weights.find((w: { name: string }) => w.name === name);

test('bad files: a truncated or over-long weights file', () => {
  rejects(damaged('truncated', (_, dir) => fs.truncateSync(bin(dir), fs.statSync(bin(dir)).size - 4)), /group1-shard1of1\.bin are truncated: they hold 40836 bytes, the manifest needs 40840/);
  rejects(damaged('long', (_, dir) => fs.appendFileSync(bin(dir), Buffer.alloc(8))), /hold 40848 bytes, more than the 40840/);
});

test('bad files: a missing, an unknown, a duplicated or a misshapen weight', () => {
  rejects(damaged('missing', (json, dir) => {
    json.weightsManifest[0].weights.pop();
    fs.truncateSync(bin(dir), fs.statSync(bin(dir)).size - 40);
  }), /weight "dense\/bias" is missing from the manifest/);
  rejects(damaged('unknown', (json, dir) => {
    json.weightsManifest[0].weights.push({ name: 'dense/gamma', shape: [2], dtype: 'float32' });
    fs.appendFileSync(bin(dir), Buffer.alloc(8));
  }), /the manifest has weights the model does not: "dense\/gamma"/);
  rejects(damaged('twice', (json) => (spec(json, 'conv2d/bias').name = 'conv2d/kernel')), /weight "conv2d\/kernel" appears twice/);
  rejects(damaged('shape', (json) => (spec(json, 'dense/kernel').shape = [10, 1014])), /weight "dense\/kernel" has shape \[10, 1014\], the model needs \[1014, 10\]/);
  rejects(damaged('shape-bad', (json) => (spec(json, 'dense/kernel').shape = [-1, 10])), /weight "dense\/kernel": shape \[-1,10\] is not a list of sizes/);
  rejects(damaged('huge', (json) => (spec(json, 'dense/kernel').shape = [2 ** 30, 2 ** 30])), /are truncated: .* the manifest needs/);
});

test('bad files: weights that are not float32', () => {
  rejects(damaged('int32', (json) => (spec(json, 'dense/bias').dtype = 'int32')), /weight "dense\/bias": dtype "int32" is not supported \(only float32\)/);
  rejects(damaged('float16', (json) => (spec(json, 'dense/bias').dtype = 'float16')), /dtype "float16" is not supported/);
  rejects(damaged('quantized', (json) => (spec(json, 'dense/bias').quantization = { dtype: 'uint8', scale: 1, min: 0 })), /quantized weights are not supported/);
});

test('bad files: invalid JSON, no topology, a graph model, a missing shard', () => {
  const dir = damaged('notjson', () => {});
  fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": {');
  rejects(dir, /not valid JSON/);
  rejects(damaged('notopology', (json) => delete json.modelTopology), /no "modelTopology" object/);
  rejects(damaged('graph', (json) => (json.format = 'graph-model')), /format "graph-model" is not a LayersModel/);
  rejects(damaged('noshard', (_, dir) => fs.rmSync(bin(dir))), /its weights file group1-shard1of1\.bin is missing/);
  rejects(damaged('nomanifest', (json) => delete json.weightsManifest), /"weightsManifest" must be a list/);
  assert.throws(() => importTfjs(path.join(tmp, 'bad', 'nowhere')), /no such TensorFlow.js model/);
});

test('bad files: weights paths that leave the folder', () => {
  fs.writeFileSync(path.join(tmp, 'bad', 'outside.bin'), Buffer.alloc(40840));
  rejects(damaged('escape', (json) => (json.weightsManifest[0].paths = ['../outside.bin'])), /weights path "\.\.\/outside\.bin" leads out of the model's folder/);
  rejects(damaged('absolute', (json) => (json.weightsManifest[0].paths = [path.join(tmp, 'bad', 'outside.bin')])), /leads out of the model's folder/);
  rejects(damaged('symlink', (json, dir) => {
    fs.symlinkSync(path.join(tmp, 'bad', 'outside.bin'), path.join(dir, 'link.bin'));
    json.weightsManifest[0].paths = ['link.bin'];
  }), /weights path "link\.bin" leads out of the model's folder/);
  rejects(damaged('folder', (json, dir) => {
    fs.mkdirSync(path.join(dir, 'sub.bin'));
    json.weightsManifest[0].paths = ['sub.bin'];
  }), /weights path sub\.bin is not a file/);
});

test('bad files: unsupported layers, options and models name the layer and the option', () => {
  rejects(damaged('dilation', (json) => (layer(json, 0).config.dilation_rate = [2, 2])), /layer "conv2d" \(Conv2D\): dilation_rate \[2,2\] is not supported \(tsgrad supports dilation rate 1\)/);
  rejects(damaged('channels-first', (json) => (layer(json, 0).config.data_format = 'channels_first')), /layer "conv2d" \(Conv2D\): data_format "channels_first" is not supported/);
  rejects(damaged('flatten-first', (json) => (layer(json, 1).config.data_format = 'channels_first')), /layer "flatten" \(Flatten\): data_format "channels_first"/);
  rejects(damaged('elu', (json) => (layer(json, 2).config.activation = 'elu')), /layer "dense" \(Dense\): activation "elu" is not supported \(tsgrad supports linear, relu, sigmoid, tanh, softmax\)/);
  rejects(damaged('constraint', (json) => (layer(json, 2).config.kernel_constraint = { class_name: 'MaxNorm', config: { max_value: 2 } })), /layer "dense" \(Dense\): kernel_constraint .* is not supported/);
  rejects(damaged('causal', (json) => (layer(json, 0).config.padding = 'causal')), /layer "conv2d" \(Conv2D\): padding "causal" is not supported/);
  rejects(damaged('gru', (json) => (layer(json, 2).class_name = 'GRU')), /layer "dense" \(GRU\): layer type GRU is not supported/);
  rejects(damaged('functional', (json) => (json.modelTopology.class_name = 'Model')), /only Sequential models can be imported, this one is "Model"/);
  rejects(damaged('units', (json) => (layer(json, 2).config.units = 0)), /layer "dense" \(Dense\): Dense units must be a positive integer, got 0/);
  rejects(damaged('noinput', (json) => delete layer(json, 0).config.batch_input_shape), /no input shape/);
  rejects(damaged('varinput', (json) => (layer(json, 0).config.batch_input_shape = [null, null, null, 1])), /input shape \[null,null,null,1\] is not supported/);
  rejects(damaged('nokernel', (json) => delete layer(json, 0).config.kernel_size), /layer "conv2d" \(Conv2D\): kernel_size undefined is not supported/);
  rejects(damaged('rate', (json) => {
    json.modelTopology.config.layers.splice(2, 0, { class_name: 'Dropout', config: { name: 'dropout', rate: '0.5' } });
  }), /layer "dropout" \(Dropout\): rate "0.5" is not supported \(tsgrad supports a number\)/);
  rejects(damaged('samename', (json) => (layer(json, 2).config.name = 'conv2d')), /layer names must be unique/);
  rejects(damaged('misfit', (json) => {
    json.modelTopology.config.layers.splice(2, 0, { class_name: 'Conv2D', config: { name: 'conv2d_1', filters: 2, kernel_size: [3, 3] } });
  }), /Conv2D expects \(batch, height, width, channels\) inputs/);
  rejects(damaged('dtype', (json) => (layer(json, 2).config.dtype = 'float16')), /layer "dense" \(Dense\): dtype "float16" is not supported/);
  rejects(damaged('loss', (json) => (json.trainingConfig = { loss: 'hinge', metrics: ['accuracy'], optimizer_config: { class_name: 'Adam', config: {} } })), /training_config loss "hinge" is not supported/);
  rejects(damaged('optimizer', (json) => (json.trainingConfig = { loss: 'mse', optimizer_config: { class_name: 'Adadelta', config: {} } })), /optimizer "Adadelta" is not supported/);
});
