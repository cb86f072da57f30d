// A TensorFlow.js user's first hour: the TF.js names tsgrad has (free functions, tensor methods,
// creators, autograd's functional forms, optimizer.minimize, compile/fit/predict) give what
// TensorFlow.js itself gives on the same inputs; TF.js's printing format; seeded random defaults.

import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import * as ts from '../src/index.js';
import { assertClose } from './helpers.js';

await tf.setBackend('cpu');

type AnyTensor = ts.Tensor | tf.Tensor;
const values = (t: AnyTensor) => Array.from(t.dataSync() as ArrayLike<number>);

/** Same shape and values (within float32 rounding of different summation orders). */
function same(ours: ts.Tensor, theirs: tf.Tensor, what: string, tol = 1e-5) {
  assert.deepEqual([...ours.shape], theirs.shape, `${what}: shape`);
  assertClose(values(ours), values(theirs), tol, what);
}

const A = [[1, -2, 3], [-4, 5, -6]];
const B = [[0.5, 2, -1], [3, -0.25, 4]];
const P = [[0.5, 2, 1.5], [3, 0.25, 4]];
const a = () => [ts.tensor(A), tf.tensor(A)] as const;
const b = () => [ts.tensor(B), tf.tensor(B)] as const;

test('free functions give what TF.js gives', () => {
  const [x, tx] = a();
  const [y, ty] = b();
  const [p, tp] = [ts.tensor(P), tf.tensor(P)];
  const row = [ts.tensor([1, 2, 3]), tf.tensor([1, 2, 3])] as const;
  const cases: [string, ts.Tensor, tf.Tensor][] = [
    ['add', ts.add(x, y), tf.add(tx, ty)],
    ['add broadcast', ts.add(x, row[0]), tf.add(tx, row[1])],
    ['add number', ts.add(x, 2), tf.add(tx, 2)],
    ['sub', ts.sub(x, y), tf.sub(tx, ty)],
    ['mul', ts.mul(x, y), tf.mul(tx, ty)],
    ['div', ts.div(x, y), tf.div(tx, ty)],
    ['addN', ts.addN([x, y, x]), tf.addN([tx, ty, tx])],
    ['maximum', ts.maximum(x, y), tf.maximum(tx, ty)],
    ['minimum', ts.minimum(x, y), tf.minimum(tx, ty)],
    ['maximum number', ts.maximum(x, 0), tf.maximum(tx, 0)],
    ['pow integer', ts.pow(x, 3), tf.pow(tx, 3)],
    ['pow negative integer', ts.pow(x, -2), tf.pow(tx, -2)],
    ['pow fraction', ts.pow(p, 1.5), tf.pow(tp, 1.5)],
    ['pow tensor', ts.pow(p, y), tf.pow(tp, ty)],
    ['squaredDifference', ts.squaredDifference(x, y), tf.squaredDifference(tx, ty)],
    ['neg', ts.neg(x), tf.neg(tx)],
    ['abs', ts.abs(x), tf.abs(tx)],
    ['sign', ts.sign(x), tf.sign(tx)],
    ['exp', ts.exp(y), tf.exp(ty)],
    ['log', ts.log(p), tf.log(tp)],
    ['sqrt', ts.sqrt(p), tf.sqrt(tp)],
    ['square', ts.square(x), tf.square(tx)],
    ['relu', ts.relu(x), tf.relu(tx)],
    ['sigmoid', ts.sigmoid(y), tf.sigmoid(ty)],
    ['tanh', ts.tanh(y), tf.tanh(ty)],
    ['softmax', ts.softmax(y), tf.softmax(ty)],
    ['logSoftmax', ts.logSoftmax(y), tf.logSoftmax(ty)],
    ['clipByValue', ts.clipByValue(x, -3, 2), tf.clipByValue(tx, -3, 2)],
    ['equal', ts.equal(x, ts.tensor([1, 5, 0])), tf.equal(tx, tf.tensor([1, 5, 0]))],
    ['notEqual', ts.notEqual(x, ts.tensor([1, 5, 0])), tf.notEqual(tx, tf.tensor([1, 5, 0]))],
    ['greater', ts.greater(x, y), tf.greater(tx, ty)],
    ['greaterEqual', ts.greaterEqual(x, -4), tf.greaterEqual(tx, -4)],
    ['less', ts.less(x, y), tf.less(tx, ty)],
    ['lessEqual', ts.lessEqual(x, 3), tf.lessEqual(tx, 3)],
    ['where', ts.where(ts.greater(x, y), x, y), tf.where(tf.greater(tx, ty), tx, ty)],
    ['sum', ts.sum(x), tf.sum(tx)],
    ['sum axis', ts.sum(x, 1), tf.sum(tx, 1)],
    ['mean keepDims', ts.mean(x, 0, true), tf.mean(tx, 0, true)],
    ['max', ts.max(x, 1), tf.max(tx, 1)],
    ['min', ts.min(x, [0, 1]), tf.min(tx, [0, 1])],
    ['argMax', ts.argMax(x), tf.argMax(tx)],
    ['argMax axis', ts.argMax(x, 1), tf.argMax(tx, 1)],
    ['argMin', ts.argMin(x, 1), tf.argMin(tx, 1)],
    ['logSumExp', ts.logSumExp(y, 1), tf.logSumExp(ty, 1)],
    ['moments mean', ts.moments(x, 0).mean, tf.moments(tx, 0).mean],
    ['moments variance', ts.moments(x, 0).variance, tf.moments(tx, 0).variance],
    ['matMul', ts.matMul(x, y, false, true), tf.matMul(tx, ty, false, true)],
    ['matMul transposeA', ts.matMul(x, y, true, false), tf.matMul(tx, ty, true, false)],
    ['transpose', ts.transpose(x), tf.transpose(tx)],
    ['reshape', ts.reshape(x, [3, -1]), tf.reshape(tx, [3, -1])],
    ['squeeze', ts.squeeze(ts.tensor([[[1], [2]]])), tf.squeeze(tf.tensor([[[1], [2]]]))],
    ['expandDims', ts.expandDims(x, 1), tf.expandDims(tx, 1)],
    ['expandDims -1', ts.expandDims(x, -1), tf.expandDims(tx, -1)],
    ['slice', ts.slice(x, [0, 1], [2, 2]), tf.slice(tx, [0, 1], [2, 2])],
    ['slice rest', ts.slice(x, [1, 1], [-1, -1]), tf.slice(tx, [1, 1], [-1, -1])],
    ['concat', ts.concat([x, y], 1), tf.concat([tx, ty], 1)],
    ['stack', ts.stack([x, y], 1), tf.stack([tx, ty], 1)],
    ['unstack', ts.unstack(x, 1)[2], tf.unstack(tx, 1)[2]],
    ['split', ts.split(ts.tensor([1, 2, 3, 4, 5, 6]), [2, 4])[1], tf.split(tf.tensor([1, 2, 3, 4, 5, 6]), [2, 4])[1]],
    ['gather', ts.gather(x, [2, 0], 1), tf.gather(tx, [2, 0], 1)],
    ['pad', ts.pad(x, [[1, 0], [0, 2]]), tf.pad(tx, [[1, 0], [0, 2]])],
    ['pad constant', ts.pad(x, [[0, 1], [2, 1]], 7), tf.pad(tx, [[0, 1], [2, 1]], 7)],
    ['oneHot', ts.oneHot(ts.tensor([0, 3, 1], undefined, 'int32'), 4), tf.oneHot(tf.tensor1d([0, 3, 1], 'int32'), 4)],
    ['oneHot values', ts.oneHot([2, 0], 3, 5, -1), tf.oneHot([2, 0], 3, 5, -1)],
    ['range', ts.range(1, 10, 3), tf.range(1, 10, 3)],
    ['range down', ts.range(5, 0, -2), tf.range(5, 0, -2)],
    ['linspace', ts.linspace(0, 1, 5), tf.linspace(0, 1, 5)],
    ['eye', ts.eye(3, 2), tf.eye(3, 2)],
    ['zerosLike', ts.zerosLike(x), tf.zerosLike(tx)],
    ['onesLike', ts.onesLike(x), tf.onesLike(tx)],
    ['tensor1d', ts.tensor1d([1, 2]), tf.tensor1d([1, 2])],
    ['tensor2d flat', ts.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 2, 3, 4], [2, 2])],
    ['tensor3d', ts.tensor3d([[[1], [2]]]), tf.tensor3d([[[1], [2]]])],
    ['tensor4d', ts.tensor4d([[[[1, 2]]]]), tf.tensor4d([[[[1, 2]]]])],
    ['scalar', ts.scalar(3), tf.scalar(3)],
    ['fill', ts.fill([2, 3], 4), tf.fill([2, 3], 4)],
    ['cast', ts.cast(ts.tensor([1.7, -1.7, 2.5]), 'int32'), tf.cast(tf.tensor([1.7, -1.7, 2.5]), 'int32')],
    ['clone', ts.clone(x), tf.clone(tx)],
  ];
  for (const [what, ours, theirs] of cases) same(ours, theirs, what);
  assert.equal(ts.oneHot([1], 2).dtype, 'int32');
  assert.equal(ts.argMax(x).dtype, 'int32');
  assert.equal(ts.cast(x, 'int32').dtype, 'int32');
});

test('convolution and pooling in TF.js\'s positional form', () => {
  const xs = ts.randomUniform([2, 6, 6, 3], -1, 1, 'float32', 1);
  const ws = ts.randomUniform([3, 3, 3, 4], -1, 1, 'float32', 2);
  const [tx, tw] = [tf.tensor(values(xs), [2, 6, 6, 3]), tf.tensor(values(ws), [3, 3, 3, 4])];
  same(ts.conv2d(xs, ws, 1, 'same'), tf.conv2d(tx as tf.Tensor4D, tw as tf.Tensor4D, 1, 'same'), 'conv2d same', 1e-4);
  same(ts.conv2d(xs, ws, [2, 1], 'valid'), tf.conv2d(tx as tf.Tensor4D, tw as tf.Tensor4D, [2, 1], 'valid'), 'conv2d strides', 1e-4);
  same(ts.conv2d(xs, ws, { strides: 2, padding: 'same' }), tf.conv2d(tx as tf.Tensor4D, tw as tf.Tensor4D, 2, 'same'), 'conv2d options', 1e-4);
  const one = ts.slice(xs, [0], [1]).squeeze([0]);
  same(ts.conv2d(one, ws, 1, 'valid'), tf.conv2d(tf.tensor3d(values(one), [6, 6, 3]), tw as tf.Tensor4D, 1, 'valid'), 'conv2d on one image', 1e-4);
  same(ts.maxPool(xs, 2, 2, 'valid'), tf.maxPool(tx as tf.Tensor4D, 2, 2, 'valid'), 'maxPool');
  same(ts.maxPool(xs, 3, 2, 'same'), tf.maxPool(tx as tf.Tensor4D, 3, 2, 'same'), 'maxPool same');
  same(ts.avgPool(xs, [2, 3], 1, 'valid'), tf.avgPool(tx as tf.Tensor4D, [2, 3], 1, 'valid'), 'avgPool');
  same(ts.maxPool(xs, { poolSize: 2 }), tf.maxPool(tx as tf.Tensor4D, 2, 2, 'valid'), 'maxPool options');
});

test('gradients of the composed ops match TF.js\'s (maximum, minimum, where, pow, pad, logSumExp)', () => {
  const [x, tx] = a();
  const [y, ty] = b();
  const [p, tp] = [ts.tensor(P), tf.tensor(P)];
  const [cond, tcond] = [ts.greater(x, 0), tf.greater(tx, 0)];
  const cases: [string, (u: ts.Tensor, v: ts.Tensor) => ts.Tensor, (u: tf.Tensor, v: tf.Tensor) => tf.Tensor, ts.Tensor[], tf.Tensor[]][] = [
    ['maximum', (u, v) => ts.maximum(u, v), (u, v) => tf.maximum(u, v), [x, y], [tx, ty]],
    ['minimum', (u, v) => ts.minimum(u, v), (u, v) => tf.minimum(u, v), [x, y], [tx, ty]],
    ['where', (u, v) => ts.where(cond, u, v), (u, v) => tf.where(tcond, u, v), [x, y], [tx, ty]],
    ['pow', (u, v) => ts.pow(u, v), (u, v) => tf.pow(u, v), [p, y], [tp, ty]],
    ['pow 3', (u, v) => ts.pow(u, 3).add(v), (u, v) => tf.pow(u, 3).add(v), [x, y], [tx, ty]],
    ['pad', (u, v) => ts.pad(u.mul(v), [[1, 1], [0, 2]], 3), (u, v) => tf.pad(tf.mul(u, v), [[1, 1], [0, 2]], 3), [x, y], [tx, ty]],
    ['logSumExp', (u, v) => ts.logSumExp(u.mul(v), 1), (u, v) => tf.logSumExp(tf.mul(u, v), 1), [x, y], [tx, ty]],
  ];
  for (const [what, ours, theirs, xs, txs] of cases) {
    const r = ts.tensor(values(ours(xs[0], xs[1])).map((_, i) => Math.cos(i + 1)), ours(xs[0], xs[1]).shape);
    const g = ts.grads((u, v) => ours(u, v).mul(r).sum())(xs);
    const tg = tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(theirs(u, v), tf.tensor(values(r), [...r.shape]))))(txs);
    g.forEach((gi, i) => same(gi, tg[i], `${what} gradient ${i}`, 1e-4));
  }
});

test('toString(), print() and console.log show TF.js\'s format', () => {
  const cases: [ts.Tensor, tf.Tensor][] = [
    [ts.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 2], [3, 4]])],
    [ts.scalar(0.1), tf.scalar(0.1)],
    [ts.tensor([1.5, -2.25, 1e-9, 123456.789]), tf.tensor([1.5, -2.25, 1e-9, 123456.789])],
    [ts.tensor([[1.5, -20], [3, 0.125]]), tf.tensor([[1.5, -20], [3, 0.125]])],
    [ts.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]), tf.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])],
    [ts.range(0, 30), tf.range(0, 30)],
    [ts.range(0, 100).reshape([25, 4]), tf.range(0, 100).reshape([25, 4])],
    [ts.range(0, 48).reshape([2, 3, 2, 4]), tf.range(0, 48).reshape([2, 3, 2, 4])],
    [ts.tensor([3, -1], undefined, 'int32'), tf.tensor([3, -1], undefined, 'int32')],
    [ts.zeros([0]), tf.zeros([0])],
  ];
  for (const [ours, theirs] of cases) {
    assert.equal(ours.toString(), theirs.toString(), `shape [${ours.shape}]`);
    assert.equal(ours.toString(true), theirs.toString(true), `shape [${ours.shape}] verbose`);
  }
  // TF.js prints a single row as `[[1, 2],]`: tsgrad closes the bracket.
  assert.equal(ts.tensor([[16.5, 2]]).toString(), 'Tensor\n    [[16.5, 2]]');
  assert.equal(ts.tensor([[[1]]]).toString(), 'Tensor\n    [[[1]]]');
  assert.equal(ts.tensor([[[1, 2]], [[3, 4]]]).toString(), 'Tensor\n    [[[1, 2]],\n\n     [[3, 4]]]');
  const t = ts.tensor2d([[1, 2], [3, 4]]);
  assert.equal(inspect(t), 'Tensor\n    [[1, 2],\n     [3, 4]]');
  assert.equal(`${t}`, t.toString());
  const printed: unknown[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(...args);
  try {
    t.print();
    ts.print(t, true);
  } finally {
    console.log = log;
  }
  assert.deepEqual(printed, [tf.tensor2d([[1, 2], [3, 4]]).toString(), tf.tensor2d([[1, 2], [3, 4]]).toString(true)]);
});

test('a freed tensor prints as freed rather than throwing', () => {
  let inner: ts.Tensor | null = null;
  ts.tidy(() => void (inner = ts.tensor([1, 2])));
  assert.equal(inspect(inner), 'Tensor [2] float32 (freed)');
});

test('tensor methods: array, arraySync, data, dataSync, clone, cast, squeeze, expandDims, flatten, assign, dispose', async () => {
  const t = ts.tensor2d([[1, 2], [3, 4]]);
  assert.deepEqual(await t.array(), await tf.tensor2d([[1, 2], [3, 4]]).array());
  assert.deepEqual(t.arraySync(), [[1, 2], [3, 4]]);
  assert.equal(ts.scalar(5).arraySync(), 5);
  assert.deepEqual([...t.dataSync()], [1, 2, 3, 4]);
  assert.deepEqual(await t.data(), await tf.tensor2d([[1, 2], [3, 4]]).data(), 'data(): a Promise of the typed array, as TF.js');
  assert.equal(await t.data(), t.dataSync(), 'the same array');
  const c = t.clone();
  c.dataSync()[0] = 9;
  assert.equal(t.dataSync()[0], 1, 'a clone has its own storage');
  assert.deepEqual(t.cast('int32').dataSync(), new Int32Array([1, 2, 3, 4]));
  assert.deepEqual(t.reshape([1, 4, 1]).squeeze().shape, [4]);
  assert.deepEqual(t.reshape([1, 4, 1]).squeeze([2]).shape, [1, 4]);
  assert.throws(() => t.squeeze([0]), /cannot squeeze axis 0/);
  assert.deepEqual(t.expandDims().shape, [1, 2, 2]);
  assert.deepEqual(t.flatten().shape, [4]);
  const v = ts.variable(ts.zeros([2, 2]));
  v.assign(t);
  assert.deepEqual(v.arraySync(), [[1, 2], [3, 4]]);
  assert.throws(() => v.assign(ts.zeros([3])), /assign needs a float32 tensor of shape \[2, 2\]/);
  t.dispose();
  ts.dispose(t);
  assert.deepEqual(t.arraySync(), [[1, 2], [3, 4]], 'dispose is a no-op: tsgrad frees tensors itself');
});

test('nested arrays must be rectangular', () => {
  assert.throws(() => ts.tensor([[1, 2], [3]]), /ragged: \[1\] has 1 entries where the first at that depth has 2/);
  assert.throws(() => ts.tensor([[1, 2], 3] as never), /ragged: \[1\] is a number/);
  assert.throws(() => ts.tensor2d([1, 2]), /tensor2d needs 2 axes/);
});

test('randomNormal, randomUniform and truncatedNormal take TF.js\'s arguments and need no Rng', () => {
  const n = ts.randomNormal([2000], 3, 2);
  const { mean, variance } = ts.moments(n);
  assert.ok(Math.abs(mean.item() - 3) < 0.15 && Math.abs(Math.sqrt(variance.item()) - 2) < 0.15);
  const u = ts.randomUniform([1000], -2, 5);
  assert.ok(u.min().item() >= -2 && u.max().item() < 5);
  const i = ts.randomUniform([100], 0, 3, 'int32');
  assert.equal(i.dtype, 'int32');
  assert.deepEqual([...new Set(i.dataSync())].sort(), [0, 1, 2]);
  assert.ok(ts.truncatedNormal([500], 0, 1).abs().max().item() <= 2);
  assert.deepEqual(ts.randomNormal([4], 0, 1, 'float32', 7).dataSync(), ts.randomNormal([4], 0, 1, 'float32', 7).dataSync(), 'a seed fixes the values');
  assert.deepEqual(ts.randomNormal([4], 0, 1, 'float32', 7).dataSync(), ts.randomNormal([4], new ts.Rng(7)).dataSync(), 'tsgrad\'s Rng form still works');
  // The same program draws the same numbers every run, without a seed.
  const program = `import { randomNormal, randomUniform, sequential, layers } from ${JSON.stringify(path.resolve('src/index.ts'))};
    console.log(JSON.stringify([...randomNormal([3]).dataSync(), ...randomUniform([2, 2]).dataSync()]));`;
  const tsx = pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href;
  const run = () => spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', program], { encoding: 'utf8' });
  const [first, second] = [run(), run()];
  assert.equal(first.status, 0, first.stderr);
  assert.equal(JSON.parse(first.stdout).length, 7);
  assert.equal(first.stdout, second.stdout);
});

test('grad, grads, valueAndGrad, valueAndGrads and variableGrads give TF.js\'s values and leave .grad alone', () => {
  const f = (x: ts.Tensor) => x.square().sum();
  const tfF = (x: tf.Tensor) => tf.sum(tf.square(x));
  const [x, tx] = [ts.tensor([1, -2, 3]), tf.tensor([1, -2, 3])];
  same(ts.grad(f)(x), tf.grad(tfF)(tx), 'grad');
  const dy = [ts.tensor([1, 2, 3]), tf.tensor([1, 2, 3])] as const;
  same(ts.grad((u) => u.mul(u))(x, dy[0]), tf.grad((u: tf.Tensor) => tf.mul(u, u))(tx, dy[1]), 'grad with dy');
  same(ts.grad((u) => u.mul(u))(x), tf.grad((u: tf.Tensor) => tf.mul(u, u))(tx), 'grad of a non-scalar (dy of ones)');
  const g2 = ts.grads((u, v) => u.mul(v).sum())([x, ts.tensor([4, 5, 6])]);
  const tg2 = tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(u, v)))([tx, tf.tensor([4, 5, 6])]);
  g2.forEach((g, i) => same(g, tg2[i], `grads ${i}`));
  const vg = ts.valueAndGrad(f)(x);
  const tvg = tf.valueAndGrad(tfF)(tx);
  same(vg.value, tvg.value, 'valueAndGrad value');
  same(vg.grad, tvg.grad, 'valueAndGrad grad');
  assert.equal(vg.value.node, null, 'the value carries no graph');
  const vgs = ts.valueAndGrads((u, v) => u.mul(v).sum())([x, ts.tensor([2, 2, 1])]);
  const tvgs = tf.valueAndGrads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(u, v)))([tx, tf.tensor([2, 2, 1])]);
  same(vgs.value, tvgs.value, 'valueAndGrads value');
  vgs.grads.forEach((g, i) => same(g, tvgs.grads[i], `valueAndGrads grad ${i}`));

  const w = ts.variable(ts.tensor([[0.5, -1], [2, 1]]), true, 'api-w');
  const bias = ts.variable(ts.tensor([0.1, 0.2]), true, 'api-b');
  const frozen = ts.variable(ts.tensor([3, 3]), false, 'api-frozen');
  const tw = tf.variable(tf.tensor([[0.5, -1], [2, 1]]), true, 'api-w');
  const tb = tf.variable(tf.tensor([0.1, 0.2]), true, 'api-b');
  const tfrozen = tf.variable(tf.tensor([3, 3]), false, 'api-frozen');
  const inp = [ts.tensor([[1, 2], [3, 4]]), tf.tensor([[1, 2], [3, 4]])] as const;
  const loss = () => inp[0].matMul(w).add(bias).mul(frozen).tanh().sum();
  const tfLoss = () => tf.sum(tf.tanh(tf.mul(tf.add(tf.matMul(inp[1], tw), tb), tfrozen))) as tf.Scalar;
  w.grad = ts.tensor([[7, 7], [7, 7]]);
  const ours = ts.variableGrads(loss);
  const theirs = tf.variableGrads(tfLoss, [tw, tb]);
  same(ours.value, theirs.value, 'variableGrads value');
  assert.deepEqual(Object.keys(ours.grads).sort(), ['api-b', 'api-w'], 'the trainable variables f used, by name');
  same(ours.grads['api-w'], theirs.grads['api-w'], 'variableGrads w', 1e-4);
  same(ours.grads['api-b'], theirs.grads['api-b'], 'variableGrads b', 1e-4);
  assert.deepEqual(w.grad.arraySync(), [[7, 7], [7, 7]], '.grad is left as it was');
  assert.equal(bias.grad, null);
  assert.deepEqual(Object.keys(ts.variableGrads(loss, [bias]).grads), ['api-b']);
  assert.throws(() => ts.variable(ts.zeros([1]), true, 'api-w'), /a variable named "api-w" exists already/);
});

test('optimizer.minimize and applyGradients follow TF.js\'s optimizers step for step', () => {
  const xs = [[1, 2], [2, 1], [3, -1], [0, 1]];
  const ys = [[1], [0], [2], [-1]];
  const setups: [string, () => ts.Optimizer, () => tf.Optimizer][] = [
    ['sgd', () => ts.train.sgd(0.05), () => tf.train.sgd(0.05)],
    ['momentum', () => ts.train.momentum(0.05, 0.9), () => tf.train.momentum(0.05, 0.9)],
    ['adam', () => ts.train.adam(0.1, 0.9, 0.999, 1e-8), () => tf.train.adam(0.1, 0.9, 0.999, 1e-8)],
  ];
  for (const [name, ours, theirs] of setups) {
    const w = ts.variable(ts.tensor([[0.1], [-0.2]]), true, `min-${name}-w`);
    const tw = tf.variable(tf.tensor([[0.1], [-0.2]]), true, `min-${name}-w`);
    const [x, y, tx, ty] = [ts.tensor(xs), ts.tensor(ys), tf.tensor(xs), tf.tensor(ys)];
    const [opt, topt] = [ours(), theirs()];
    for (let step = 0; step < 5; step++) {
      const cost = opt.minimize(() => ts.losses.meanSquaredError(y, x.matMul(w)), true)!;
      const tcost = topt.minimize(() => tf.losses.meanSquaredError(ty, tf.matMul(tx, tw)) as tf.Scalar, true)!;
      assertClose([cost.item()], values(tcost), 1e-5, `${name} cost at step ${step}`);
    }
    same(w, tw, `${name} weights after 5 steps`, 1e-5);
    assert.equal(opt.minimize(() => x.matMul(w).sum()), null, 'no cost unless asked for');
  }
  const v = ts.variable(ts.tensor([1, 2]), true, 'apply-v');
  const opt = ts.train.sgd(0.5);
  const g = ts.tensor([2, -2]);
  opt.applyGradients({ 'apply-v': g });
  assert.deepEqual(v.arraySync(), [0, 3]);
  opt.applyGradients([{ name: 'apply-v', tensor: g }]);
  assert.deepEqual(v.arraySync(), [-1, 4]);
  assert.deepEqual(g.arraySync(), [2, -2], 'the gradients given are not changed');
  assert.throws(() => opt.applyGradients({ nobody: g }), /no variable is named "nobody"/);
  assert.equal(ts.train.adam(0.01).learningRate, 0.01, 'TF.js\'s positional learning rate');
  assert.equal(ts.train.rmsprop(0.02, 0.8).rho, 0.8);
});

test('meanSquaredError matches a hand computation and TF.js', () => {
  const yTrue = ts.tensor([[1, 2], [3, 4]]);
  const yPred = ts.tensor([[1.5, 2], [2, 6]]);
  // ((0.5)^2 + 0 + 1^2 + 2^2) / 4 = 5.25 / 4
  assertClose([ts.losses.meanSquaredError(yTrue, yPred).item()], [5.25 / 4], 1e-7);
  assertClose([ts.meanSquaredError(yTrue, yPred).item()], values(tf.losses.meanSquaredError(tf.tensor([[1, 2], [3, 4]]), tf.tensor([[1.5, 2], [2, 6]]))), 1e-6);
  assert.throws(() => ts.losses.meanSquaredError(yTrue, ts.zeros([2])), /must have one shape/);
});

const tiny = () => ts.sequential([ts.layers.dense({ units: 4, activation: 'relu', inputShape: [3] }), ts.layers.dense({ units: 1 })], { seed: 1 });

test('compile rejects unknown losses, metrics and optimizers at once, naming the known ones', () => {
  const m = tiny();
  const err = (args: object) => {
    try {
      m.compile(args as ts.CompileArgs);
    } catch (e) {
      assert.ok(e instanceof ts.TsgradError, String(e));
      return e.message;
    }
    assert.fail(`compile(${JSON.stringify(args)}) did not throw`);
  };
  assert.match(err({ optimizer: 'adam', loss: 'meanSquaredErr' }), /unknown loss "meanSquaredErr" \(tsgrad has .*meanSquaredError.*mse/);
  assert.match(err({ optimizer: 'adam', loss: 'mse', metrics: ['accuracy', 'f1'] }), /unknown metric "f1" \(tsgrad has accuracy, acc/);
  assert.match(err({ optimizer: 'adagrad', loss: 'mse' }), /unknown optimizer "adagrad" \(tsgrad has adam, adamw, rmsprop, sgd/);
  const all = err({ optimizer: 'nadam', loss: 'hinge', metrics: 'auc' });
  assert.match(all, /optimizer "nadam".*loss "hinge".*metric "auc"/, 'every problem in one error');
  assert.match(err({ optimizer: 'adam', loss: (a: unknown) => a }), /a function: tsgrad takes a loss by name/);
  assert.equal(m.optimizer, null, 'a rejected compile changes nothing');
  for (const loss of ['mse', 'MSE', 'meanSquaredError', 'mean_squared_error']) m.compile({ optimizer: 'Adam', loss });
  m.compile({ optimizer: 'sgd', loss: 'mse', metrics: 'acc' });
  assert.deepEqual(m.trainingConfig?.metrics, ['accuracy']);
  assert.equal(m.trainingConfig?.loss, 'meanSquaredError');
});

test('predict, fit and evaluate take nested arrays; ragged ones are an error', async () => {
  const m = tiny();
  m.compile({ optimizer: ts.train.sgd(0.01), loss: 'meanSquaredError' });
  const xs = [[1, 2, 3], [0, -1, 2], [2, 2, 2], [1, 0, 0]];
  const ys = [1, 0, 2, -1]; // one target per example for a model with one output: as TF.js, not broadcast
  const byTensor = m.predict(ts.tensor(xs));
  same(m.predict(xs), tf.tensor(values(byTensor), [4, 1]), 'predict on arrays');
  const before = m.evaluate(xs, ys).loss;
  const expected = m.evaluate(ts.tensor(xs), ts.tensor(ys.map((v) => [v]))).loss;
  assert.equal(before, expected, 'a vector of targets is one per example');
  const h = await m.fit(xs, ys, { epochs: 3, batchSize: 2, verbose: 0, validationData: [xs, ys] });
  assert.equal(h.history.loss.length, 3);
  assert.ok(m.evaluate(xs, ys).loss < before);
  assert.throws(() => m.predict([[1, 2, 3], [4, 5]]), /ragged/);
  assert.throws(() => m.predict([1, 2, 3]), /expects inputs of shape \[batch, 3\], got \[3\]/);
  const c = ts.sequential([ts.layers.dense({ units: 3, activation: 'softmax', inputShape: [2] })]);
  c.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['acc'] });
  const r = await c.fit([[0, 1], [1, 0], [1, 1]], [0, 2, 1], { epochs: 1, verbose: 0 });
  assert.ok(Number.isFinite(r.history.loss[0]) && 'accuracy' in r.history);
});

test('fit({verbose}) prints Keras\'s progress: 1 a bar, 2 a line per epoch, 0 and auto under the test runner nothing', async () => {
  const m = tiny();
  m.compile({ optimizer: 'sgd', loss: 'mse' });
  const xs = [[1, 2, 3], [0, -1, 2], [2, 2, 2]];
  const capture = async (verbose?: 0 | 1 | 2 | 'auto') => {
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
    try {
      await m.fit(xs, [1, 2, 3], { epochs: 2, batchSize: 2, verbose });
    } finally {
      process.stdout.write = write;
    }
    return out.join('');
  };
  const bar = await capture(1);
  assert.match(bar, /^Epoch 1\/2\n2\/2 \[=+\] - \d+s \d+ms\/step - loss: \d+\.\d{4}\nEpoch 2\/2\n/);
  const lines = await capture(2);
  assert.match(lines, /^Epoch 1\/2\n2\/2 - \d+s \d+ms\/step - loss: \d+\.\d{4}\nEpoch 2\/2\n2\/2 - /);
  assert.equal(await capture(0), '');
  assert.equal(await capture(), '', 'auto is silent under node --test');
  assert.equal(await capture('auto'), '');
  await assert.rejects(m.fit(xs, [1, 2, 3], { verbose: 3 as never }), /verbose must be 0, 1, 2 or 'auto'/);
});

test('free functions are safe outside tidy and free their temporaries inside one', () => {
  const x = ts.tensor([[1, -2], [3, 4]]);
  const before = ts.memory();
  ts.tidy(() => {
    ts.where(ts.greater(x, 0), x, ts.neg(x));
    ts.oneHot([0, 1], 2);
    ts.pad(x, [[1, 1], [1, 1]], 2);
    ts.logSumExp(x, 1);
    ts.maximum(x, 1);
  });
  assert.deepEqual(ts.memory(), before);
});

test('a README-style snippet runs', async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    const t = ts.tensor2d([[1, 2], [3, 4]]);
    t.print();
    ts.matMul(t, t).print();
    console.log(await t.square().sum().array());
    const w = ts.variable(ts.zeros([2, 1]), true, 'readme-w');
    const opt = ts.train.adam(0.1);
    for (let i = 0; i < 50; i++) opt.minimize(() => ts.losses.meanSquaredError(ts.tensor([[5], [11]]), t.matMul(w)));
    console.log(w.arraySync());
  } finally {
    console.log = log;
  }
  assert.equal(lines[0], 'Tensor\n    [[1, 2],\n     [3, 4]]');
  assert.equal(lines[1], 'Tensor\n    [[7 , 10],\n     [15, 22]]');
  assert.equal(lines[2], '30');
});
