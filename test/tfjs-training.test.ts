// The training config of a TensorFlow.js export, checked against TensorFlow.js itself: for every
// optimizer tsgrad can export and every loss, tf.loadLayersModel gives a model that is compiled
// (optimizer, loss and metrics as tsgrad's) and whose first fit() step, without compile(), moves the
// weights as tsgrad's own first step does; `import` of the folder compiles the model the same way
// again. What TF.js cannot hold (AdamW's decay, schedules, top-k metrics) is named in a warning.

import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { exportTfjs } from '../src/io/tfjs.js';
import { importTfjs } from '../src/models/load.js';
import * as L from '../src/nn/layers.js';
import { Adam, AdamW, RMSprop, SGD, type Optimizer } from '../src/optim/optimizer.js';
import { exponentialDecay } from '../src/optim/schedules.js';
import { tensor } from '../src/tensor/tensor.js';
import { sequential, type Sequential } from '../src/train/sequential.js';
import { assertClose, tempDir } from './helpers.js';

await tf.setBackend('cpu');
const tmp = tempDir('tfjs-training');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An exported folder as tf.loadLayersModel reads it over HTTP (tfjs-core's own model.json parsing), from disk. */
function fromFolder(dir: string): tf.io.IOHandler {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  return {
    load: () => tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      const bytes = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
      return [manifest.flatMap((g) => g.weights), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)];
    }),
  };
}

/** The lines f writes to stderr, kept from the test's output. */
function warnings(t: TestContext, f: () => void): string[] {
  const write = t.mock.method(process.stderr, 'write', () => true);
  try {
    f();
  } finally {
    write.mock.restore();
  }
  return write.mock.calls.map((call) => String(call.arguments[0]));
}

// 8 examples of 5 features, 3 classes: one full batch, so one fit() epoch is one optimizer step.
const N = 8;
const xs = Array.from({ length: N * 5 }, (_, i) => Math.sin(i * 1.7) * 2);
const classes = Array.from({ length: N }, (_, i) => (i * 5) % 3);
const oneHot = classes.flatMap((c) => [0, 1, 2].map((k) => Number(k === c)));

function model(optimizer: Optimizer, loss: string, metrics: string[]): Sequential {
  const m = sequential([L.dense({ units: 4, activation: 'tanh', inputShape: [5] }), L.dense({ units: 3, activation: 'softmax' })], { seed: 3 });
  m.compile({ optimizer, loss, metrics });
  return m;
}

// Adam agrees within 1e-4, not 1e-8: TF.js adds epsilon to sqrt(v-hat), Keras and tsgrad to sqrt(v).
const cases: { what: string; optimizer: () => Optimizer; loss: string; metrics: string[]; tfClass: string; tfConfig: Record<string, unknown> }[] = [
  { what: 'Adam', optimizer: () => new Adam({ learningRate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'],
    tfClass: 'Adam', tfConfig: { learningRate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 } },
  { what: 'SGD', optimizer: () => new SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'],
    tfClass: 'SGD', tfConfig: { learningRate: 0.1 } },
  { what: 'SGD with momentum', optimizer: () => new SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'meanSquaredError', metrics: [],
    tfClass: 'Momentum', tfConfig: { learningRate: 0.05, momentum: 0.9, useNesterov: false } },
  { what: 'SGD with Nesterov momentum', optimizer: () => new SGD({ learningRate: 0.05, momentum: 0.8, nesterov: true }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'],
    tfClass: 'Momentum', tfConfig: { learningRate: 0.05, momentum: 0.8, useNesterov: true } },
  { what: 'RMSprop', optimizer: () => new RMSprop({ learningRate: 0.01, rho: 0.8, momentum: 0.5, epsilon: 1e-6 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'],
    tfClass: 'RMSProp', tfConfig: { learningRate: 0.01, decay: 0.8, momentum: 0.5, epsilon: 1e-6, centered: false } },
  // TF.js's centered RMSProp takes sqrt(ms - mg^2 - epsilon) where Keras and tsgrad add epsilon: with
  // epsilon 1e-12 the two agree; with 1e-7 they differ where a gradient is under ~1e-3 (see the warning test).
  { what: 'RMSprop, centered', optimizer: () => new RMSprop({ learningRate: 0.01, centered: true, epsilon: 1e-12 }), loss: 'categoricalCrossentropy', metrics: [],
    tfClass: 'RMSProp', tfConfig: { learningRate: 0.01, decay: 0.9, momentum: 0, epsilon: 1e-12, centered: true } },
];

cases.forEach((c, i) => {
  test(`tsgrad -> TensorFlow.js: ${c.what} with ${c.loss} loads compiled and fits one step as tsgrad does`, async (t) => {
    const ours = model(c.optimizer(), c.loss, c.metrics);
    const dir = path.join(tmp, `case${i}`);
    exportTfjs(ours, dir);
    const theirs = await tf.loadLayersModel(fromFolder(dir));
    // Compiled from the file: the optimizer TF.js registers under that class name, with tsgrad's hyper-parameters.
    assert.ok(theirs.optimizer, 'TF.js compiled the model');
    assert.equal(theirs.optimizer.getClassName(), c.tfClass);
    assert.deepEqual(theirs.optimizer.getConfig(), c.tfConfig);
    assert.equal(theirs.loss, c.loss);
    assert.deepEqual(theirs.metricsNames, ['loss', ...(c.metrics.length ? ['acc'] : [])]);

    // One full-batch step on each side, TF.js without compile(): the same weights after it.
    const sparse = c.loss === 'sparseCategoricalCrossentropy';
    const y = sparse ? tensor(classes, [N], 'int32') : tensor(oneHot, [N, 3]);
    const history = await theirs.fit(tf.tensor(xs, [N, 5]), sparse ? tf.tensor(classes, [N, 1]) : tf.tensor(oneHot, [N, 3]), { epochs: 1, batchSize: N, verbose: 0 });
    await ours.fit(tensor(xs, [N, 5]), y, { epochs: 1, batchSize: N, verbose: 0 });
    assert.ok(Number.isFinite(history.history.loss[0] as number));
    if (c.metrics.length) assert.ok(Number.isFinite(history.history.acc[0] as number), 'accuracy is logged');
    const theirWeights = theirs.getWeights();
    let max = 0;
    ours.weights.forEach((w, k) => {
      const a = theirWeights[k].dataSync();
      const b = w.value.dataSync();
      assertClose(a, b, 1e-4, `${c.what}: ${w.name} after one step`);
      for (let j = 0; j < a.length; j++) max = Math.max(max, Math.abs(a[j] - b[j]));
    });
    t.diagnostic(`${c.what}: max |TensorFlow.js - tsgrad| after one step = ${max.toExponential(2)}`);

    // And back: `import` compiles the model as tsgrad had it.
    assert.deepEqual(importTfjs(dir).trainingConfig, model(c.optimizer(), c.loss, c.metrics).trainingConfig);
  });
});

test('tsgrad -> TensorFlow.js: what TF.js cannot hold (AdamW decay, a schedule, clipping, top-k) is left out, with one warning line', async (t) => {
  const schedule = exponentialDecay({ initialLearningRate: 0.003, decaySteps: 10, decayRate: 0.5 });
  const ours = model(new AdamW({ learningRate: schedule, weightDecay: 0.01, clipnorm: 1 }), 'categorical_crossentropy', ['accuracy', 'topKCategoricalAccuracy']);
  const dir = path.join(tmp, 'adamw');
  const lines = warnings(t, () => exportTfjs(ours, dir));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^tsgrad: warning: TensorFlow\.js training config: .*ExponentialDecay.*clipnorm.*weight decay 0\.01.*topKCategoricalAccuracy is left out.*\n$/);
  const theirs = await tf.loadLayersModel(fromFolder(dir));
  assert.equal(theirs.optimizer.getClassName(), 'Adam');
  assert.deepEqual(theirs.optimizer.getConfig(), { learningRate: 0.003, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  assert.equal(theirs.loss, 'categoricalCrossentropy');
  assert.deepEqual(theirs.metricsNames, ['loss', 'acc']);
  const history = await theirs.fit(tf.tensor(xs, [N, 5]), tf.tensor(oneHot, [N, 3]), { epochs: 1, batchSize: N, verbose: 0 });
  assert.ok(Number.isFinite(history.history.loss[0] as number));
  // Back in tsgrad it is Adam, as the file says.
  assert.deepEqual(importTfjs(dir).trainingConfig, {
    optimizer: new Adam({ learningRate: 0.003 }).getConfig(), loss: 'categoricalCrossentropy', metrics: ['accuracy'],
  });
});

test('tsgrad -> TensorFlow.js: centered RMSprop is written, with a warning that TF.js puts epsilon with the other sign', (t) => {
  const lines = warnings(t, () => exportTfjs(model(new RMSprop({ centered: true }), 'mse', []), path.join(tmp, 'centered')));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /centered RMSprop: TensorFlow\.js subtracts epsilon/);
});

test('tsgrad -> TensorFlow.js: an uncompiled model has no training config, and TF.js leaves it uncompiled', async () => {
  const ours = sequential([L.dense({ units: 2, inputShape: [3] })], { seed: 1 });
  const dir = path.join(tmp, 'uncompiled');
  exportTfjs(ours, dir);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).trainingConfig, undefined);
  const theirs = await tf.loadLayersModel(fromFolder(dir));
  assert.equal(theirs.optimizer, undefined);
});

test('TensorFlow.js -> tsgrad: a training config tsgrad cannot honour gives one error naming the file', () => {
  const good = path.join(tmp, 'good');
  exportTfjs(model(new Adam(), 'sparseCategoricalCrossentropy', ['accuracy']), good);
  const edits: [string, (c: Record<string, any>) => void, RegExp][] = [
    ['an unknown loss', (c) => { c.loss = 'hinge'; }, /loss "hinge" is not supported/],
    ['an unknown metric', (c) => { c.metrics = ['precision']; }, /metric "precision" is not supported/],
    ['an optimizer tsgrad lacks', (c) => { c.optimizer_config.class_name = 'Adagrad'; }, /optimizer "Adagrad" is not supported/],
    ['a learning rate that is not a number', (c) => { c.optimizer_config.config.learningRate = '0.1'; }, /optimizer option learningRate "0.1" is not supported/],
    ['a beta outside [0, 1)', (c) => { c.optimizer_config.config.beta1 = 2; }, /beta1/],
  ];
  for (const [what, edit, message] of edits) {
    const dir = path.join(tmp, `bad-${what.replaceAll(' ', '-')}`);
    fs.cpSync(good, dir, { recursive: true });
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(json.trainingConfig);
    fs.writeFileSync(file, JSON.stringify(json));
    assert.throws(() => importTfjs(dir), (e: Error) => e instanceof TsgradError && message.test(e.message) && e.message.includes(file), what);
  }
});
