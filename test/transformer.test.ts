// The transformer's ops: GELU, softmax (scaled, causal), layer normalisation and attention, checked
// against their definitions written out with elementwise ops, and by finite differences.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concat, split } from '../src/ops/arrays.js';
import { attention, gelu, layerNorm, mergeHeads, selfAttention, splitHeads } from '../src/ops/transformer.js';
import * as ops from '../src/tensor/ops.js';
import { tensor, type Tensor } from '../src/tensor/tensor.js';
import { assertClose, gradCheck, rand } from './helpers.js';

/** softmax(scale * x) over the last axis written out, with query i of tq seeing keys j <= i + tk - tq. */
function softmaxByHand(x: Tensor, scale: number, causal: boolean): Tensor {
  const [tq, tk] = x.shape.slice(-2);
  const mask = new Float32Array(tq * tk);
  for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) mask[i * tk + j] = causal && j > i + tk - tq ? -Infinity : 0;
  const z = x.mul(scale).add(tensor(mask, [tq, tk]));
  const e = z.sub(z.max(-1, true)).exp();
  return e.div(e.sum(-1, true));
}

test('gelu is x * Φ(x) in the tanh approximation', () => {
  const x = tensor([-6, -3, -1, -0.5, 0, 0.5, 1, 3, 6]);
  const expected = Array.from(x.dataSync(), (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
  assertClose(gelu(x).dataSync(), expected, 1e-6);
});

test('gradient of gelu, and of its backward in g', () => {
  gradCheck(gelu, [rand([4, 9], 1, -4, 4)]);
  gradCheck((g) => ops.binary('geluGrad', g, rand([4, 9], 3, -3, 3)), [rand([4, 9], 2)]);
});

test('softmax: scaled and causal, with as many or fewer queries than keys', () => {
  for (const [shape, causal] of [[[2, 3, 5], false], [[2, 5, 5], true], [[3, 2, 7], true], [[1, 1, 4], true], [[4, 1], false]] as const) {
    const x = rand([...shape], 4, -3, 3);
    const y = ops.softmaxLast(x, { scale: 0.7, causal });
    assertClose(y.dataSync(), softmaxByHand(x.rank === 2 ? x.reshape([1, ...shape]) : x, 0.7, causal).dataSync(), 1e-6, JSON.stringify(shape));
    gradCheck((t) => ops.softmaxLast(t, { scale: 0.7, causal }), [x]);
  }
});

test('softmax is exact far from zero: no overflow at large logits', () => {
  const y = ops.softmaxLast(tensor([[1000, 1001, 999], [-1000, -1000, -1000]]));
  assertClose(y.dataSync(), [0.24472847, 0.66524096, 0.09003057, 1 / 3, 1 / 3, 1 / 3], 1e-6);
});

test('log-softmax: exact at large logits, and its gradient', () => {
  const y = ops.logSoftmaxLast(tensor([[1000, 1001, 999], [-1000, -1000, -1000]]));
  assertClose(y.dataSync(), [-1.40760596, -0.40760596, -2.40760596, -Math.log(3), -Math.log(3), -Math.log(3)], 1e-6);
  const x = rand([3, 7], 19, -3, 3);
  assertClose(ops.logSoftmaxLast(x).dataSync(), softmaxByHand(x.reshape([1, 3, 7]), 1, false).log().dataSync(), 1e-5);
  gradCheck((t) => ops.logSoftmaxLast(t), [x]);
});

test('layer norm: zero mean and unit variance per row, then scale and shift', () => {
  const x = rand([3, 4, 6], 5, -2, 3);
  const gamma = rand([6], 6);
  const beta = rand([6], 7);
  const centered = x.sub(x.mean(-1, true));
  const expected = centered.div(centered.square().mean(-1, true).add(1e-5).sqrt()).mul(gamma).add(beta);
  assertClose(layerNorm(x, gamma, beta).dataSync(), expected.dataSync(), 1e-5);
  gradCheck((t, g, b) => layerNorm(t, g, b, 1e-3), [x, gamma, beta]);
  gradCheck((t) => layerNorm(t, null, null), [rand([2, 1, 5], 8)]);
});

test('attention: causal and not, with fewer queries than keys, and its gradients', () => {
  for (const [tq, tk, causal] of [[5, 5, true], [3, 5, true], [4, 6, false], [1, 4, true]] as const) {
    const q = rand([2, 2, tq, 3], 9);
    const k = rand([2, 2, tk, 3], 10);
    const v = rand([2, 2, tk, 4], 11);
    const expected = softmaxByHand(q.matmul(k, { transB: true }), 1 / Math.sqrt(3), causal).matmul(v);
    assertClose(attention(q, k, v, { causal }).dataSync(), expected.dataSync(), 1e-5, `${tq}x${tk}`);
    gradCheck((a, b, c) => attention(a, b, c, { causal }), [q, k, v]);
  }
});

test('fused self-attention of packed q, k, v equals attention of the split heads, and its gradient checks', () => {
  for (const [b, t, heads, d, causal] of [[2, 5, 2, 4, true], [1, 7, 3, 4, false], [2, 9, 1, 8, true], [1, 3, 2, 6, true]] as const) {
    const qkv = rand([b, t, 3 * heads * d], 16);
    const c = heads * d;
    const [q, k, v] = [0, 1, 2].map((i) => splitHeads(ops.slice(qkv, 2, i * c, c), heads));
    const label = `${b}x${t}, ${heads} heads of ${d}, causal ${causal}`;
    assertClose(ops.fusedSelfAttention(qkv, heads, causal).dataSync(), mergeHeads(attention(q, k, v, { causal })).dataSync(), 1e-5, label);
    assertClose(selfAttention(qkv, heads, { causal }).dataSync(), mergeHeads(attention(q, k, v, { causal })).dataSync(), 1e-5, label);
    gradCheck((x) => ops.fusedSelfAttention(x, heads, causal), [qkv]);
  }
});

test('a causal query never sees later keys', () => {
  const q = rand([1, 1, 4, 2], 12);
  const k = rand([1, 1, 4, 2], 13);
  const v = rand([1, 1, 4, 2], 14);
  const before = attention(q, k, v, { causal: true }).dataSync().slice(0, 4);
  v.dataSync()[7] += 10; // the last key's value: only the last query may see it
  k.dataSync()[7] += 10;
  assert.deepEqual(Array.from(attention(q, k, v, { causal: true }).dataSync().slice(0, 4)), Array.from(before));
});

test('heads split and merge back', () => {
  const x = rand([2, 3, 8], 15);
  const heads = splitHeads(x, 4);
  assert.deepEqual(heads.shape, [2, 4, 3, 2]);
  assert.equal(heads.dataSync()[1 * 3 * 2], x.dataSync()[2]); // batch 0, head 1, position 0, its first channel
  assert.deepEqual(Array.from(mergeHeads(heads).dataSync()), Array.from(x.dataSync()));
  assert.throws(() => splitHeads(x, 3), /8 channels do not split into 3 heads/);
});

test('slice, pad, split and concat, and their gradients', () => {
  const x = rand([2, 5, 3], 16);
  const [a, b] = split(x, [2, 3], 1);
  assert.deepEqual(a.shape, [2, 2, 3]);
  assert.deepEqual(Array.from(b.dataSync().slice(0, 3)), Array.from(x.dataSync().slice(6, 9)));
  assert.deepEqual(Array.from(concat([a, b], 1).dataSync()), Array.from(x.dataSync()));
  assert.deepEqual(Array.from(concat(split(x, 3, -1), -1).dataSync()), Array.from(x.dataSync()));
  assert.deepEqual(Array.from(ops.pad(tensor([[1, 2]]), 1, 1, 2).dataSync()), [0, 1, 2, 0, 0]);
  gradCheck((t) => ops.slice(t, 1, 1, 3), [x]);
  gradCheck((t) => ops.pad(t, 2, 2, 1), [x]);
  gradCheck((t, u) => concat([t, u], 0), [rand([1, 4], 17), rand([2, 4], 18)]);
  assert.throws(() => ops.slice(x, 1, 3, 3), /slice \[3, 6\) is outside axis 1 of shape \[2, 5, 3\]/);
  assert.throws(() => split(x, 2, 1), /does not split into 2 equal pieces/);
});
