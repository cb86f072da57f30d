// Optimizers and learning-rate schedules: update values against TensorFlow.js (where its rules are
// Keras's) or against float64 references written out here from Keras's formulas, gradient
// clipping, weight decay exclusions, schedules' exact sequences, and config/state round trips.

import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { loadModel } from '../src/models/load.js';
import * as L from '../src/nn/layers.js';
import { Adam, AdamW, optimizerFromConfig, RMSprop, SGD, type Optimizer } from '../src/optim/optimizer.js';
import { cosineDecay, exponentialDecay, piecewiseConstantDecay, scheduleFromConfig } from '../src/optim/schedules.js';
import { tensor, variable, type Tensor } from '../src/tensor/tensor.js';
import { Sequential, sequential } from '../src/train/sequential.js';
import { assertClose, rand, tempDir } from './helpers.js';

await tf.setBackend('cpu');

const SHAPES = [[3, 4], [5]];
const STEPS = 5;
/** The gradient of parameter i at step t: random, different every step. */
const gradient = (i: number, t: number) => rand(SHAPES[i], 100 + 10 * t + i, -2, 2);
const start = () => SHAPES.map((s, i) => variable(rand(s, 1 + i)));

/** Our optimizer's parameters after STEPS updates with the gradients above. */
function run(opt: Optimizer, params = start(), names?: string[]): Tensor[] {
  for (let t = 0; t < STEPS; t++) {
    params.forEach((p, i) => (p.grad = gradient(i, t)));
    opt.step(params, names);
  }
  return params;
}

let tfNames = 0;
/** TensorFlow.js's parameters after the same updates. */
function runTf(opt: tf.Optimizer): Float32Array[] {
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(Array.from(rand(s, 1 + i).dataSync()), s), true, `p${tfNames++}`));
  for (let t = 0; t < STEPS; t++) opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(Array.from(gradient(i, t).dataSync()), SHAPES[i])])));
  return vars.map((v) => v.dataSync() as Float32Array);
}

/** A float64 reference: each element's weight after `update(w, g, its slots, t)` for steps t = 1..STEPS. */
function reference(update: (w: number, g: number, s: Record<string, number>, t: number) => number): number[][] {
  return SHAPES.map((shape, i) => {
    const w0 = rand(shape, 1 + i).dataSync();
    return Array.from(w0, (w, k) => {
      const s: Record<string, number> = {};
      for (let t = 1; t <= STEPS; t++) w = update(w, gradient(i, t - 1).dataSync()[k], s, t);
      return w;
    });
  });
}

const agree = (ours: Tensor[], theirs: ArrayLike<number>[], tol: number, what: string) =>
  ours.forEach((p, i) => assertClose(p.dataSync(), theirs[i], tol, `${what} param ${i}`));

test('SGD with momentum, with and without Nesterov, matches TensorFlow.js', () => {
  agree(run(new SGD({ learningRate: 0.1 })), runTf(tf.train.sgd(0.1)), 1e-6, 'sgd');
  agree(run(new SGD({ learningRate: 0.05, momentum: 0.9 })), runTf(tf.train.momentum(0.05, 0.9)), 1e-6, 'momentum');
  agree(run(new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true })), runTf(tf.train.momentum(0.05, 0.9, true)), 1e-6, 'nesterov');
});

test('Nesterov SGD follows Keras: v = mu v - lr g; w += mu v - lr g', () => {
  const expected = reference((w, g, s) => {
    s.v = 0.8 * (s.v ?? 0) - 0.03 * g;
    return w + 0.8 * s.v - 0.03 * g;
  });
  agree(run(new SGD({ learningRate: 0.03, momentum: 0.8, nesterov: true })), expected, 1e-6, 'nesterov');
});

test('Adam matches TensorFlow.js (its epsilon is applied after bias correction, so loosely)', () => {
  agree(run(new Adam({ learningRate: 0.01 })), runTf(tf.train.adam(0.01, 0.9, 0.999, 1e-7)), 1e-5, 'adam');
});

test('RMSprop matches TensorFlow.js, plain and with momentum', () => {
  agree(run(new RMSprop({ learningRate: 0.01 })), runTf(tf.train.rmsprop(0.01, 0.9, 0, 1e-7)), 1e-5, 'rmsprop');
  // A large epsilon shows where it goes: inside the sqrt in both.
  agree(run(new RMSprop({ learningRate: 0.01, epsilon: 0.1 })), runTf(tf.train.rmsprop(0.01, 0.9, 0, 0.1)), 1e-5, 'rmsprop epsilon');
  agree(run(new RMSprop({ learningRate: 0.01, rho: 0.8, momentum: 0.5 })), runTf(tf.train.rmsprop(0.01, 0.8, 0.5, 1e-7)), 1e-5, 'rmsprop momentum');
});

test('centered RMSprop with momentum follows Keras (epsilon added inside the sqrt)', () => {
  // TensorFlow.js subtracts epsilon in the centered case, so the reference is Keras's update written out.
  const [lr, rho, mu, eps] = [0.01, 0.9, 0.7, 0.1];
  const expected = reference((w, g, s) => {
    s.ms = rho * (s.ms ?? 0) + (1 - rho) * g * g;
    s.mg = rho * (s.mg ?? 0) + (1 - rho) * g;
    s.mom = mu * (s.mom ?? 0) + (lr * g) / Math.sqrt(s.ms - s.mg * s.mg + eps);
    return w - s.mom;
  });
  const opt = new RMSprop({ learningRate: lr, rho, momentum: mu, epsilon: eps, centered: true });
  agree(run(opt), expected, 1e-5, 'centered rmsprop');
  assert.deepEqual(Object.keys(opt.getState().slots).sort(),
    ['average_gradient/0', 'average_gradient/1', 'momentum/0', 'momentum/1', 'velocity/0', 'velocity/1']);
});

test('AdamW decays matrices by lr * weightDecay * w before the Adam step, not vectors', () => {
  const [lr, wd, b1, b2, eps] = [0.01, 0.1, 0.9, 0.999, 1e-7];
  const adamW = (decay: boolean) => reference((w, g, s, t) => {
    if (decay) w -= w * wd * lr;
    s.m = b1 * (s.m ?? 0) + (1 - b1) * g;
    s.v = b2 * (s.v ?? 0) + (1 - b2) * g * g;
    const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    return w - (alpha * s.m) / (Math.sqrt(s.v) + eps);
  });
  const [decayed, plain] = [adamW(true), adamW(false)];
  const ours = run(new AdamW({ learningRate: lr, weightDecay: wd }));
  assertClose(ours[0].dataSync(), decayed[0], 1e-5, 'matrix');
  assertClose(ours[1].dataSync(), plain[1], 1e-5, 'vector');
  // The decay is visible: without it the matrix would be elsewhere.
  assert.ok(Math.abs(ours[0].dataSync()[0] - plain[0][0]) > 1e-4);
  // Excluded by name (a regular expression, as Keras), the matrix is not decayed either.
  const excluded = run(new AdamW({ learningRate: lr, weightDecay: wd, excludeFromWeightDecay: ['^emb'] }), start(), ['embedding/embeddings', 'dense/bias']);
  assertClose(excluded[0].dataSync(), plain[0], 1e-5, 'excluded matrix');
});

test('AdamW with zero gradients only decays: w * (1 - lr * wd) per step, the rate taken from its schedule', () => {
  const w = variable(tensor([2, -4, 8, 1], [2, 2]));
  const b = variable(tensor([3]));
  const opt = new AdamW({ learningRate: piecewiseConstantDecay({ boundaries: [0], values: [0.5, 0.25] }), weightDecay: 0.2 });
  for (let t = 0; t < 2; t++) {
    w.grad = tensor(new Float32Array(4), [2, 2]);
    b.grad = tensor([0]);
    opt.step([w, b]);
  }
  assertClose(w.dataSync(), [2, -4, 8, 1].map((v) => v * 0.9 * 0.95), 1e-7, 'decayed');
  assert.deepEqual([...b.dataSync()], [3]);
});

test('fit() gives the optimizer the weight names, so AdamW can exclude weights by name', async () => {
  const model = sequential([L.dense({ units: 3, inputShape: [2] }), L.dense({ units: 2, activation: 'softmax' })], { seed: 2 });
  const seen: string[][] = [];
  const inner = new SGD();
  const spy: Optimizer = Object.assign(Object.create(inner), {
    step(params: Tensor[], names?: string[]) {
      seen.push(names ?? []);
      inner.step(params, names);
    },
  });
  model.compile({ optimizer: spy, loss: 'sparseCategoricalCrossentropy' });
  await model.fit(rand([4, 2], 1), tensor(new Int32Array([0, 1, 1, 0])), { epochs: 1, batchSize: 4 });
  assert.deepEqual(seen, [['dense/kernel', 'dense/bias', 'dense_1/kernel', 'dense_1/bias']]);
});

test('clipnorm, globalClipnorm and clipvalue clip as Keras', () => {
  // SGD with lr 1 from zero weights: each weight ends at minus its clipped gradient.
  const clipped = (config: object, grads: number[][]) => {
    const params = grads.map((g) => variable(tensor(new Float32Array(g.length))));
    params.forEach((p, i) => (p.grad = tensor(grads[i])));
    new SGD({ learningRate: 1, ...config }).step(params);
    return params.map((p) => [...p.dataSync()].map((v) => -v));
  };
  const grads = [[3, 4], [0.3, -0.4], [12, 0, -5]];
  const expectClose = (got: number[][], want: number[][]) => got.forEach((g, i) => assertClose(g, want[i], 1e-6));
  // Per parameter: norms 5, 0.5 and 13 become at most 1.
  expectClose(clipped({ clipnorm: 1 }, grads), [[0.6, 0.8], [0.3, -0.4], [12 / 13, 0, -5 / 13]]);
  // Together: the joint norm sqrt(25 + 0.25 + 169) = 13.9374... is scaled to 2.
  const k = 2 / Math.sqrt(25 + 0.25 + 169);
  expectClose(clipped({ globalClipnorm: 2 }, grads), grads.map((g) => g.map((v) => v * k)));
  expectClose(clipped({ globalClipnorm: 20 }, grads), grads);
  expectClose(clipped({ clipvalue: 0.35 }, grads), [[0.35, 0.35], [0.3, -0.35], [0.35, 0, -0.35]]);
  assert.throws(() => new SGD({ clipnorm: 1, clipvalue: 1 }), (e) => e instanceof TsgradError && /only one of/.test((e as Error).message));
});

test('schedules give Keras\'s learning-rate sequences', () => {
  const seq = (f: (s: number) => number, n: number) => Array.from({ length: n }, (_, s) => f(s));
  assert.deepEqual(seq(piecewiseConstantDecay({ boundaries: [2, 4], values: [1, 0.5, 0.25] }), 7), [1, 1, 1, 0.5, 0.5, 0.25, 0.25]);
  assert.deepEqual(seq(exponentialDecay({ initialLearningRate: 0.8, decaySteps: 2, decayRate: 0.5, staircase: true }), 6), [0.8, 0.8, 0.4, 0.4, 0.2, 0.2]);
  assertClose(seq(exponentialDecay({ initialLearningRate: 0.8, decaySteps: 2, decayRate: 0.25 }), 4), [0.8, 0.4, 0.2, 0.1], 1e-15);
  // Warmup from 0 to 0.1 over 4 steps, then a half cosine over 4 steps to alpha * 0.1, held there.
  const c = 0.05 * (1 + Math.SQRT1_2); // 0.1 * (1 + cos(pi / 4)) / 2
  assertClose(seq(cosineDecay({ initialLearningRate: 0, warmupTarget: 0.1, warmupSteps: 4, decaySteps: 4 }), 10),
    [0, 0.025, 0.05, 0.075, 0.1, c, 0.05, 0.1 - c, 0, 0], 1e-15);
  assertClose(seq(cosineDecay({ initialLearningRate: 1, decaySteps: 2, alpha: 0.5 }), 4), [1, 0.75, 0.5, 0.5], 1e-15);
  for (const s of [piecewiseConstantDecay({ boundaries: [3], values: [1, 2] }), cosineDecay({ initialLearningRate: 1, decaySteps: 10, warmupTarget: 2, warmupSteps: 3 })]) {
    const again = scheduleFromConfig(JSON.parse(JSON.stringify(s.getConfig())));
    assert.deepEqual(again.getConfig(), s.getConfig());
    assert.deepEqual(seq(again, 15), seq(s, 15));
  }
});

test('an optimizer evaluates its schedule at its step count; a scheduled rate cannot be set', () => {
  const opt = new SGD({ learningRate: piecewiseConstantDecay({ boundaries: [0, 1], values: [1, 0.5, 0.25] }) });
  const w = variable(tensor([0]));
  const rates: number[] = [];
  for (let t = 0; t < 3; t++) {
    rates.push(opt.learningRate);
    w.grad = tensor([1]);
    opt.step([w]);
  }
  assert.deepEqual(rates, [1, 0.5, 0.25]);
  assert.deepEqual([...w.dataSync()], [-1.75]);
  assert.throws(() => { opt.learningRate = 0.1; }, /schedule/);
  const fixed = new SGD({ learningRate: 0.1 });
  fixed.learningRate = 0.05;
  assert.equal(fixed.learningRate, 0.05);
});

test('every optimizer rebuilds from its config and continues identically from its state', () => {
  const make: (() => Optimizer)[] = [
    () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true, clipvalue: 0.5 }),
    () => new Adam({ learningRate: exponentialDecay({ initialLearningRate: 0.01, decaySteps: 3, decayRate: 0.5 }), globalClipnorm: 1 }),
    () => new AdamW({ weightDecay: 0.01, excludeFromWeightDecay: ['bias'], clipnorm: 2 }),
    () => new RMSprop({ learningRate: cosineDecay({ initialLearningRate: 0.01, decaySteps: 10 }), momentum: 0.5, centered: true }),
  ];
  for (const f of make) {
    const a = f();
    const config = JSON.parse(JSON.stringify(a.getConfig()));
    const b = optimizerFromConfig(config);
    assert.deepEqual(b.getConfig(), a.getConfig());
    const pa = run(a);
    const pb = start();
    pb.forEach((p, i) => p.dataSync().set(pa[i].dataSync()));
    b.setState(a.getState());
    run(a, pa);
    run(b, pb);
    pa.forEach((p, i) => assert.deepEqual([...pb[i].dataSync()], [...p.dataSync()], `${config.className} after restoring`));
  }
});

test('a model compiled with a scheduled RMSprop saves and loads it', async () => {
  const model = sequential([L.dense({ units: 2, activation: 'softmax', inputShape: [3] })], { seed: 4 });
  model.compile({ optimizer: new RMSprop({ learningRate: exponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 }) }), loss: 'sparseCategoricalCrossentropy' });
  await model.fit(rand([6, 3], 2), tensor(new Int32Array([0, 1, 0, 1, 1, 0])), { epochs: 1, batchSize: 2 });
  const dir = tempDir('optim');
  model.save(dir);
  const loaded = loadModel(dir, Sequential);
  assert.deepEqual(loaded.optimizer!.getConfig(), model.optimizer!.getConfig());
  assert.equal(loaded.optimizer!.learningRate, 0.1 * 0.5 ** 3);
  fs.rmSync(dir, { recursive: true });
});
