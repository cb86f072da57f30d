// Finite-difference gradient checks for every primitive op, on random shapes including odd sizes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward } from '../src/autograd/index.js';
import { Rng } from '../src/core/rng.js';
import type { BinaryOp, UnaryOp } from '../src/backend/backend.js';
import { windowGeometry } from '../src/backend/geometry.js';
import * as ops from '../src/tensor/ops.js';
import { tensor, variable } from '../src/tensor/tensor.js';
import { gradCheck, rand } from './helpers.js';

const unaries: [UnaryOp, number, number][] = [
  ['neg', -2, 2], ['exp', -2, 2], ['log', 0.5, 3], ['sqrt', 0.5, 3], ['sigmoid', -3, 3], ['tanh', -2, 2],
];
for (const [op, lo, hi] of unaries) {
  test(`gradient of ${op}`, () => gradCheck((x) => ops.unary(op, x), [rand([3, 5], 1, lo, hi)]));
}

test('gradient of relu, abs and sign away from the kink', () => {
  const x = rand([4, 7], 2).mul(1).add(0);
  for (let i = 0; i < x.size; i++) if (Math.abs(x.dataSync()[i]) < 0.1) x.dataSync()[i] = 0.5;
  gradCheck((t) => ops.unary('relu', t), [x]);
  gradCheck((t) => ops.unary('abs', t), [x]);
  gradCheck((t) => ops.unary('sign', t).add(t), [x]);
});

const shapePairs: [number[], number[]][] = [
  [[3, 5], [3, 5]], [[3, 5], [5]], [[3, 1], [1, 5]], [[2, 3, 4], [3, 1]], [[7], []], [[], [2, 3]],
];
for (const op of ['add', 'sub', 'mul', 'div'] as BinaryOp[]) {
  for (const [sa, sb] of shapePairs) {
    test(`gradient of ${op} ${JSON.stringify(sa)} with ${JSON.stringify(sb)}`, () => {
      const b = op === 'div' ? rand(sb, 4, 0.5, 2) : rand(sb, 4);
      gradCheck((x, y) => ops.binary(op, x, y), [rand(sa, 3), b]);
    });
  }
}

test('gradient of reluGrad (ReLU\'s backward): linear in g, none to x', () => {
  const x = rand([4, 7], 25);
  for (let i = 0; i < x.size; i++) if (Math.abs(x.dataSync()[i]) < 0.1) x.dataSync()[i] = -0.5;
  gradCheck((g, t) => ops.binary('reluGrad', g, t), [rand([4, 7], 26), x]);
});

test('gradient of addRelu (bias and ReLU in one op), with broadcasting', () => {
  const a = rand([4, 6], 27);
  const b = rand([6], 28);
  for (let i = 0; i < a.size; i++) if (Math.abs(a.dataSync()[i] + b.dataSync()[i % 6]) < 0.1) a.dataSync()[i] += 0.3;
  gradCheck((x, y) => ops.binary('addRelu', x, y), [a, b]);
});

test('comparisons pass no gradient', () => {
  gradCheck((x, y) => ops.binary('greater', x, y).add(x), [rand([3, 4], 5), rand([4], 6)]);
  gradCheck((x, y) => ops.binary('equal', x, y).add(y), [rand([3, 4], 5), rand([4], 6)]);
});

/** Distinct values at least 0.1 apart, so that a max is never near a tie. */
function spread(shape: number[], seed: number) {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Array.from(new Rng(seed).permutation(n), (v) => v * 0.1), shape);
}

test('gradient of sum and max over various axes', () => {
  for (const axes of [undefined, 0, 1, 2, [0, 2], [1, 2]] as (number | number[] | undefined)[]) {
    gradCheck((t) => ops.sum(t, axes), [rand([3, 4, 5], 8)]);
    gradCheck((t) => ops.max(t, axes, true), [spread([3, 4, 5], 8)], { eps: 1e-3 });
  }
});

test('max shares the gradient between tied maxima', () => {
  const x = variable(tensor([[1, 3, 3], [2, 0, 1]]));
  backward(ops.max(x, 1).sum());
  assert.deepEqual([...x.grad!.dataSync()], [0, 0.5, 0.5, 1, 0, 0]);
});

test('gradient of matmul in every transpose case, batched and broadcast', () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const [m, k, n] = [3, 5, 2];
      const a = rand(transA ? [k, m] : [m, k], 9);
      const b = rand(transB ? [n, k] : [k, n], 10);
      gradCheck((x, y) => ops.matmul(x, y, { transA, transB }), [a, b]);
      const a3 = rand(transA ? [2, k, m] : [2, m, k], 11);
      const b3 = rand(transB ? [2, n, k] : [2, k, n], 12);
      gradCheck((x, y) => ops.matmul(x, y, { transA, transB }), [a3, b3]);
      gradCheck((x, y) => ops.matmul(x, y, { transA, transB }), [a3, b]);
      gradCheck((x, y) => ops.matmul(x, y, { transA, transB }), [a, b3]);
    }
  }
});

const convCases = [
  { x: [2, 5, 6, 3], k: [3, 3, 3, 4], strides: 1, padding: 'valid' },
  { x: [1, 7, 5, 2], k: [3, 2, 2, 3], strides: 2, padding: 'same' },
  { x: [2, 4, 4, 1], k: [1, 1, 1, 2], strides: 1, padding: 'same' },
  { x: [1, 6, 7, 2], k: [2, 3, 2, 1], strides: [2, 3], padding: 'valid' },
  { x: [2, 5, 5, 8], k: [3, 3, 8, 8], strides: 1, padding: 'valid' }, // wasm: Winograd F(3x3), a 3x3 output
  { x: [1, 8, 8, 8], k: [3, 3, 8, 8], strides: 1, padding: 'same' }, // wasm: Winograd F(4x4), with padding
] as const;

for (const c of convCases) {
  const opts = { strides: c.strides as number | [number, number], padding: c.padding };
  test(`gradient of conv2d and its two backprops ${JSON.stringify(c)}`, () => {
    const x = rand([...c.x], 13);
    const w = rand([...c.k], 14);
    gradCheck((a, b) => ops.conv2d(a, b, opts), [x, w]);
    const g = windowGeometry(x.shape, c.k[0], c.k[1], c.k[3], typeof c.strides === 'number' ? [c.strides, c.strides] : [...c.strides], c.padding);
    const dy = rand([g.batch, g.outH, g.outW, g.outC], 15);
    gradCheck((a, b) => ops.conv2dBackpropInput(a, b, g), [dy, w]);
    gradCheck((a, b) => ops.conv2dBackpropFilter(a, b, g), [x, dy]);
  });
}

const poolCases = [
  { x: [2, 4, 4, 3], poolSize: 2, strides: 2, padding: 'valid' },
  { x: [1, 5, 7, 2], poolSize: 3, strides: 2, padding: 'same' },
  { x: [1, 5, 5, 1], poolSize: [2, 3], strides: 1, padding: 'valid' },
] as const;

for (const c of poolCases) {
  const opts = { poolSize: c.poolSize as number | [number, number], strides: c.strides as number, padding: c.padding };
  test(`gradient of pooling ${JSON.stringify(c)}`, () => {
    // Distinct, well separated values so that the max is not on a tie.
    const x = spread([...c.x], 16);
    gradCheck((a) => ops.maxPool(a, opts), [x], { eps: 1e-3 });
    gradCheck((a) => ops.avgPool(a, opts), [rand([...c.x], 17)]);
    const y = ops.avgPool(x, opts);
    const g = windowGeometry(x.shape, ...(typeof c.poolSize === 'number' ? [c.poolSize, c.poolSize] : c.poolSize) as [number, number],
      undefined, [c.strides, c.strides], c.padding);
    gradCheck((d) => ops.avgPoolGrad(d, g), [rand([...y.shape], 18)]);
  });
}

test('gradient of a convolution and max pooling as one op (conv2dMaxPool), of the filters of a first layer', () => {
  for (const c of [
    { x: [2, 7, 6, 1], k: [3, 3, 1, 16], conv: {}, pool: { poolSize: 2 } }, // fused on wasm too (filters in sixteens)
    { x: [1, 6, 7, 3], k: [2, 2, 3, 8], conv: { padding: 'same' }, pool: { poolSize: 2 } },
    { x: [1, 7, 7, 2], k: [3, 3, 2, 4], conv: { strides: 2 }, pool: { poolSize: 2, strides: 1, padding: 'same' } },
  ] as const) {
    const x = spread([...c.x], 21); // the input is data: no gradient
    gradCheck((w) => ops.conv2dMaxPool(x, w, c.conv, c.pool), [rand([...c.k], 22)], { eps: 1e-3 });
    gradCheck((a, w) => ops.conv2dMaxPool(a, w, c.conv, c.pool), [x, rand([...c.k], 22)], { eps: 1e-3 }); // with one: conv2d, then maxPool
  }
});

test('gradient of reshape and transpose', () => {
  gradCheck((x) => ops.reshape(x, [5, -1]).mul(x.reshape([5, 6])), [rand([2, 3, 5], 19)]);
  gradCheck((x) => ops.transpose(x, [2, 0, 1]), [rand([2, 3, 5], 20)]);
  gradCheck((x) => ops.transpose(x), [rand([3, 4], 21)]);
});

test('gradient of gather and scatterAdd, with repeated indices', () => {
  const idx = tensor([2, 0, 2, 1], [2, 2], 'int32');
  gradCheck((x) => ops.gather(x, idx, 0), [rand([3, 4], 22)]);
  gradCheck((x) => ops.gather(x, idx, 1), [rand([2, 3, 5], 23)]);
  gradCheck((g) => ops.scatterAdd(g, idx, 1, 3), [rand([2, 2, 2, 5], 24)]);
});

test('grads(f) returns gradients without touching .grad; noGrad records nothing', async () => {
  const { grads, noGrad } = await import('../src/autograd/index.js');
  const x = tensor([1, 2, 3]);
  const y = tensor([4, 5, 6]);
  const [dx, dy] = grads((a, b) => a.mul(b).sum())([x, y]);
  assert.deepEqual([...dx.dataSync()], [4, 5, 6]);
  assert.deepEqual([...dy.dataSync()], [1, 2, 3]);
  assert.equal(x.grad, null);
  const v = variable(tensor([1, 2]));
  const out = noGrad(() => v.mul(3));
  assert.equal(out.requiresGrad, false);
  assert.equal(out.node, null);
  assert.throws(() => backward(out), /needs a result computed from tensors that require gradients/);
});

test('leaves added together get gradients of their own, not one shared array', () => {
  const x = variable(tensor([1, 2]));
  const y = variable(tensor([3, 4]));
  backward(x.add(y).sum());
  assert.notEqual(x.grad!.dataSync(), y.grad!.dataSync());
  x.grad!.dataSync()[0] = 5;
  assert.deepEqual(Array.from(y.grad!.dataSync()), [1, 1]);
});
