// The primitive ops: each checks its arguments, runs one backend kernel into fresh storage and,
// while autograd records, remembers its inputs in a graph node. Their gradients are in
// src/autograd/rules.ts; composite ops built from these are in src/ops.

import type { AttentionArgs, BinaryOp, UnaryOp } from '../backend/backend.js';
import { windowGeometry, type ConvGeometry, type Padding } from '../backend/geometry.js';
import type { DType } from '../core/dtype.js';
import { check } from '../core/errors.js';
import {
  broadcastShapes, formatShape, inferReshape, normalizeAxes, reducedShape, sameShape, sizeOf, type Shape,
} from '../core/shape.js';
import { currentScope, getBackend, isRecording } from './engine.js';
import { keepWith, release } from './memory.js';
import type { Op } from './op.js';
import { allocate, Tensor, scalar } from './tensor.js';

/**
 * The values each op's backward rule (autograd/rules.ts) reads: which inputs, by position, and
 * 'y' for its output. Ops not listed read none (an add's gradient needs no values, a transpose's
 * none). A recorded op marks these storages saved; memory.ts internal() frees the others early.
 */
const SAVES: Partial<Record<Op['kind'], readonly (0 | 1 | 'y')[]>> = {
  exp: ['y'], log: [0], sqrt: ['y'], abs: [0], relu: [0], sigmoid: ['y'], tanh: ['y'], gelu: [0],
  mul: [0, 1], div: [0, 1], reluGrad: [1], geluGrad: [1], addRelu: ['y'], max: [0, 'y'],
  softmax: ['y'], logSoftmax: ['y'], normalize: [0], matmul: [0, 1], attention: [0, 'y'],
  conv2d: [0, 1], conv2dBackpropInput: [0, 1], conv2dBackpropFilter: [0, 1], conv2dMaxPool: [0, 1], maxPool: [0],
  gather: [1], scatterAdd: [1],
};

/** Allocates the result and records the node when any input needs a gradient. */
function output(op: Op, inputs: Tensor[], shape: Shape, dtype: DType = 'float32'): Tensor {
  const tracked = isRecording() && inputs.some((t) => t.requiresGrad);
  const t = allocate(shape, dtype, tracked ? { op, inputs, scope: currentScope() } : null);
  t.requiresGrad = tracked;
  if (tracked) for (const i of SAVES[op.kind] ?? []) (i === 'y' ? t : inputs[i]).storage.saved = true;
  return t;
}

function float(t: Tensor, what: string): Float32Array {
  check(t.dtype === 'float32', `${what} needs a float32 tensor, got ${t.dtype}`);
  return t.raw as Float32Array;
}

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const y = output({ kind: op }, [x], x.shape);
  getBackend().unary(op, float(x, op), y.raw as Float32Array);
  return y;
}

export function binary(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  // A number takes the other operand's dtype when it fits it (an integer with an int32 tensor).
  const like = (n: number, t: Tensor | number) => scalar(n, typeof t !== 'number' && t.dtype === 'int32' && Number.isInteger(n) ? 'int32' : 'float32');
  const ta = typeof a === 'number' ? like(a, b) : a;
  const tb = typeof b === 'number' ? like(b, a) : b;
  check(ta.dtype === tb.dtype, `${op} needs operands of one dtype, got ${ta.dtype} and ${tb.dtype}`);
  const shape = broadcastShapes(ta.shape, tb.shape);
  const compare = op === 'greater' || op === 'equal';
  const y = output({ kind: op }, [ta, tb], shape, compare ? 'float32' : ta.dtype);
  if (compare && ta.dtype !== 'float32') {
    // Comparisons of int32 tensors still answer in float32 0/1.
    const tmp = new Int32Array(y.size);
    getBackend().binary(op, ta.raw, ta.shape, tb.raw, tb.shape, tmp, shape);
    y.raw.set(tmp);
  } else {
    getBackend().binary(op, ta.raw, ta.shape, tb.raw, tb.shape, y.raw, shape);
  }
  return y;
}

function reduction(kind: 'sum' | 'max', x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  const ax = normalizeAxes(axes, x.rank);
  check(kind === 'sum' || ax.every((a) => x.shape[a] > 0), 'max over an empty axis');
  const y = output({ kind, axes: ax }, [x], reducedShape(x.shape, ax, false));
  getBackend().reduce(kind, float(x, kind), x.shape, ax, y.raw as Float32Array);
  return keepDims ? reshape(y, reducedShape(x.shape, ax, true)) : y;
}

export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduction('sum', x, axes, keepDims);
}

export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduction('max', x, axes, keepDims);
}

/** Index of the largest value along `axis` (int32, no gradient). */
export function argMax(x: Tensor, axis = -1): Tensor {
  const [a] = normalizeAxes(axis, x.rank);
  const y = output({ kind: 'argMax', axis: a }, [x], reducedShape(x.shape, [a], false), 'int32');
  getBackend().argMax(float(x, 'argMax'), x.shape, a, y.raw as Int32Array);
  return y;
}

/**
 * softmax(scale * x) over the last axis. With `causal`, x is (..., tq, tk) attention scores and
 * query i (the last tq of tk positions) sees keys j <= i + tk - tq only: the rest get 0.
 */
export function softmaxLast(x: Tensor, opts: { scale?: number; causal?: boolean } = {}): Tensor {
  const scale = opts.scale ?? 1;
  const causal = opts.causal ?? false;
  check(x.rank >= (causal ? 2 : 1), () => `softmax needs a tensor with ${causal ? 'rows and columns' : 'an axis'}, got shape ${formatShape(x.shape)}`);
  const cols = x.shape[x.rank - 1];
  const tq = causal ? x.shape[x.rank - 2] : 0;
  check(tq <= cols, () => `causal softmax needs no more queries than keys, got shape ${formatShape(x.shape)}`);
  const y = output({ kind: 'softmax', scale, causal }, [x], x.shape);
  getBackend().softmax(float(x, 'softmax'), y.raw as Float32Array, cols, scale, tq);
  return y;
}

/** softmax's backward, from its output y. */
export function softmaxGrad(g: Tensor, y: Tensor, scale: number): Tensor {
  const dx = output({ kind: 'softmaxGrad', scale }, [g, y], y.shape);
  getBackend().softmaxGrad(float(g, 'softmax'), float(y, 'softmax'), dx.raw as Float32Array, y.shape[y.rank - 1] ?? 1, scale);
  return dx;
}

/**
 * Multi-head self-attention of packed qkv (B, T, 3C): each position's queries, keys and values
 * side by side (GPT-2's c_attn output), each of `heads` heads of C / heads channels. Returns
 * softmax(q kᵀ / sqrt(d)) v per head, the heads merged: (B, T, C); with `causal`, position i
 * attends to positions j <= i. One fused kernel each way (Backend.attention): the (T x T)
 * scores are never stored, only each query's log-sum-exp, which backward reads. Only where the
 * backend's fusedAttention says so (ops/transformer.ts selfAttention chooses).
 */
export function fusedSelfAttention(qkv: Tensor, heads: number, causal: boolean): Tensor {
  const a = attentionArgs(qkv, heads, causal);
  const lse = allocate([a.batch, heads, a.time]);
  const y = output({ kind: 'attention', heads, causal, lse }, [qkv], [a.batch, a.time, heads * a.d]);
  if (y.requiresGrad) {
    lse.storage.saved = true; // backward reads it, and whatever keeps y keeps it
    keepWith(y, lse);
  }
  getBackend().attention(float(qkv, 'attention'), y.raw as Float32Array, lse.raw as Float32Array, a);
  return y;
}

/** fusedSelfAttention's backward: d(qkv) from the gradient g of its output y. */
export function selfAttentionGrad(g: Tensor, qkv: Tensor, y: Tensor, op: { heads: number; causal: boolean; lse: Tensor }): Tensor {
  const dqkv = output({ kind: 'attentionGrad' }, [g], qkv.shape);
  getBackend().attentionGrad(float(qkv, 'attention'), float(y, 'attention'), op.lse.raw as Float32Array, float(g, 'attention'), dqkv.raw as Float32Array,
    attentionArgs(qkv, op.heads, op.causal));
  return dqkv;
}

/** The attention kernels' sizes for packed qkv (B, T, 3C) in `heads` heads, after checking its shape; scale 1 / sqrt(d). */
export function attentionArgs(qkv: Tensor, heads: number, causal: boolean): AttentionArgs {
  check(qkv.rank === 3 && qkv.shape[2] % (3 * heads) === 0,
    `self-attention needs packed q, k, v (B, T, 3C) with C a multiple of ${heads} heads, got shape ${formatShape(qkv.shape)}`);
  const [batch, time, c3] = qkv.shape;
  const d = c3 / 3 / heads;
  return { batch, time, heads, d, scale: 1 / Math.sqrt(d), causal };
}

/** log(softmax(x)) over the last axis, exactly (shifted by the row maxima). */
export function logSoftmaxLast(x: Tensor): Tensor {
  check(x.rank >= 1 && x.shape[x.rank - 1] > 0, () => `log-softmax needs a non-empty last axis, got shape ${formatShape(x.shape)}`);
  const y = output({ kind: 'logSoftmax' }, [x], x.shape);
  getBackend().logSoftmax(float(x, 'logSoftmax'), y.raw as Float32Array, x.shape[x.rank - 1]);
  return y;
}

/** logSoftmax's backward, from its output y. */
export function logSoftmaxGrad(g: Tensor, y: Tensor): Tensor {
  const dx = output({ kind: 'logSoftmaxGrad' }, [g, y], y.shape);
  getBackend().logSoftmaxGrad(float(g, 'logSoftmax'), float(y, 'logSoftmax'), dx.raw as Float32Array, y.shape[y.rank - 1]);
  return dx;
}

/** (x - mean) / sqrt(variance + epsilon) over the last axis: layer norm without scale and shift. */
export function normalize(x: Tensor, epsilon: number): Tensor {
  check(x.rank >= 1 && x.shape[x.rank - 1] > 0, () => `normalize needs a non-empty last axis, got shape ${formatShape(x.shape)}`);
  const y = output({ kind: 'normalize', epsilon }, [x], x.shape);
  getBackend().normalize(float(x, 'normalize'), y.raw as Float32Array, x.shape[x.rank - 1], epsilon);
  return y;
}

/** normalize's backward, recomputing the statistics from x. */
export function normalizeGrad(g: Tensor, x: Tensor, epsilon: number): Tensor {
  const dx = output({ kind: 'normalizeGrad', epsilon }, [g, x], x.shape);
  getBackend().normalizeGrad(float(g, 'normalize'), float(x, 'normalize'), dx.raw as Float32Array, x.shape[x.rank - 1], epsilon);
  return dx;
}

/**
 * (..., m, k) @ (..., k, n) -> (..., m, n). Batch axes must match, or one side is a plain matrix
 * shared by every batch. transA/transB read a stored (..., k, m) or (..., n, k) operand transposed.
 */
export function matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  check(a.rank >= 2 && b.rank >= 2, () => `matmul needs matrices, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  const [m, k] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [kb, n] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  check(k === kb && (batchA.length === 0 || batchB.length === 0 || sameShape(batchA, batchB)),
    `matmul shapes do not fit: ${formatShape(a.shape)}${transA ? 'ᵀ' : ''} @ ${formatShape(b.shape)}${transB ? 'ᵀ' : ''}`);
  const batchShape = batchA.length ? batchA : batchB;
  const y = output({ kind: 'matmul', transA, transB }, [a, b], [...batchShape, m, n]);
  getBackend().matmul(float(a, 'matmul'), float(b, 'matmul'), y.raw as Float32Array, {
    batch: sizeOf(batchShape), m, k, n, transA, transB,
    strideA: batchA.length ? m * k : 0,
    strideB: batchB.length ? k * n : 0,
  });
  return y;
}

export interface WindowOptions {
  strides?: number | [number, number];
  padding?: Padding;
}

function pair(v: number | [number, number] | undefined, fallback: number): [number, number] {
  return v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : v;
}

/** The geometry of conv2d(x, w, opts), after checking that the filter fits x. */
function convGeometry(x: Tensor, w: Tensor, opts: WindowOptions): ConvGeometry {
  check(w.rank === 4, () => `conv2d filter must be (kh, kw, in, out), got ${formatShape(w.shape)}`);
  const g = windowGeometry(x.shape, w.shape[0], w.shape[1], w.shape[3], pair(opts.strides, 1), opts.padding ?? 'valid');
  check(w.shape[2] === g.inC, () => `conv2d filter ${formatShape(w.shape)} expects ${w.shape[2]} input channels, input has ${g.inC}`);
  return g;
}

/** 2-D cross-correlation: x (N, H, W, C) with filter (kh, kw, C, F) -> (N, OH, OW, F). */
export function conv2d(x: Tensor, w: Tensor, opts: WindowOptions = {}): Tensor {
  return conv2dWith(x, w, convGeometry(x, w, opts));
}

/** conv2d with a precomputed geometry (used by the backward rules). */
export function conv2dWith(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const y = output({ kind: 'conv2d', g }, [x, w], [g.batch, g.outH, g.outW, g.outC]);
  getBackend().conv2d(float(x, 'conv2d'), float(w, 'conv2d'), y.raw as Float32Array, g);
  return y;
}

/** The gradient of conv2d with respect to its input, given dy and the filter. */
export function conv2dBackpropInput(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const dx = output({ kind: 'conv2dBackpropInput', g }, [dy, w], [g.batch, g.inH, g.inW, g.inC]);
  getBackend().conv2dBackpropInput(float(dy, 'conv2d'), float(w, 'conv2d'), dx.raw as Float32Array, g);
  return dx;
}

/** The gradient of conv2d with respect to its filter, given the input and dy. */
export function conv2dBackpropFilter(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const dw = output({ kind: 'conv2dBackpropFilter', g }, [x, dy], [g.kH, g.kW, g.inC, g.outC]);
  getBackend().conv2dBackpropFilter(float(x, 'conv2d'), float(dy, 'conv2d'), dw.raw as Float32Array, g);
  return dw;
}

export interface PoolOptions extends WindowOptions {
  poolSize?: number | [number, number];
}

function poolGeometry(shape: Shape, opts: PoolOptions): ConvGeometry {
  const [kH, kW] = pair(opts.poolSize, 2);
  return windowGeometry(shape, kH, kW, undefined, pair(opts.strides ?? [kH, kW], 1), opts.padding ?? 'valid');
}

function poolShape(g: ConvGeometry): number[] {
  return [g.batch, g.outH, g.outW, g.inC];
}

export function maxPool(x: Tensor, opts: PoolOptions = {}): Tensor {
  const g = poolGeometry(x.shape, opts);
  const y = output({ kind: 'maxPool', g }, [x], poolShape(g));
  getBackend().maxPool(float(x, 'maxPool'), y.raw as Float32Array, g);
  return y;
}

/**
 * maxPool(conv2d(x, w)) as one op where the backend runs it fused (Backend.fusedConvPool), for a
 * convolution whose input needs no gradient (a first layer): the convolution's output is never
 * stored, only where each window's maximum was (a byte each), and backward takes the filter
 * gradient straight from the pooled gradient (Backend.conv2dPoolFilter), not through the
 * convolution's mostly-zero one. Elsewhere the two ops in turn; the same numbers either way.
 */
export function conv2dMaxPool(x: Tensor, w: Tensor, conv: WindowOptions, pooling: PoolOptions): Tensor {
  const g = convGeometry(x, w, conv);
  const p = poolGeometry([g.batch, g.outH, g.outW, g.outC], pooling);
  if (x.requiresGrad || p.kH * p.kW > 256 || !getBackend().fusedConvPool(p, g)) {
    const c = conv2dWith(x, w, g);
    const y = maxPool(c, pooling);
    if (!y.requiresGrad) release(c, y);
    return y;
  }
  const argmax = allocate([Math.ceil(sizeOf(poolShape(p)) / 4)], 'int32');
  const y = output({ kind: 'conv2dMaxPool', g, p, argmax }, [x, w], poolShape(p));
  if (y.requiresGrad) {
    argmax.storage.saved = true; // backward reads it, and whatever keeps y keeps it
    keepWith(y, argmax);
  }
  getBackend().conv2dMaxPool(float(x, 'conv2d'), float(w, 'conv2d'), y.raw as Float32Array, argmax.raw as Int32Array, p, g);
  if (!y.requiresGrad) release(argmax, y);
  return y;
}

/** conv2dMaxPool's backward: the gradients of x and w from the gradient dy of its output. */
export function conv2dMaxPoolGrad(x: Tensor, w: Tensor, dy: Tensor, op: { g: ConvGeometry; p: ConvGeometry; argmax: Tensor }, needs: boolean[]): (Tensor | null)[] {
  const { g, p } = op;
  let dx: Tensor | null = null;
  if (needs[0]) {
    // Not the case it is for (an input that needs no gradient): the convolution's output again.
    const c = conv2dWith(x, w, g);
    dx = conv2dBackpropInput(maxPoolGrad(c, dy, p), w, g);
  }
  if (!needs[1]) return [dx, null];
  const dw = output({ kind: 'maxPoolGrad', g: p }, [x, dy], [g.kH, g.kW, g.inC, g.outC]); // (second derivatives of pooling are not supported)
  getBackend().conv2dPoolFilter(float(x, 'conv2d'), op.argmax.raw as Int32Array, float(dy, 'maxPool'), dw.raw as Float32Array, p, g);
  return [dx, dw];
}

export function maxPoolGrad(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const dx = output({ kind: 'maxPoolGrad', g }, [x, dy], x.shape);
  getBackend().maxPoolGrad(float(x, 'maxPool'), float(dy, 'maxPool'), dx.raw as Float32Array, g);
  return dx;
}

export function avgPool(x: Tensor, opts: PoolOptions = {}): Tensor {
  return avgPoolWith(x, poolGeometry(x.shape, opts));
}

export function avgPoolWith(x: Tensor, g: ConvGeometry): Tensor {
  const y = output({ kind: 'avgPool', g }, [x], poolShape(g));
  getBackend().avgPool(float(x, 'avgPool'), y.raw as Float32Array, g);
  return y;
}

export function avgPoolGrad(dy: Tensor, g: ConvGeometry): Tensor {
  const dx = output({ kind: 'avgPoolGrad', g }, [dy], [g.batch, g.inH, g.inW, g.inC]);
  getBackend().avgPoolGrad(float(dy, 'avgPool'), dx.raw as Float32Array, g);
  return dx;
}

/** Same data, new shape (one axis may be -1). Shares storage: no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferReshape(x.size, shape);
  const tracked = isRecording() && x.requiresGrad;
  const y = new Tensor(x.storage, target, x.dtype, tracked ? { op: { kind: 'reshape' }, inputs: [x], scope: currentScope() } : null, x.offset);
  y.requiresGrad = tracked;
  return y;
}

/** Permutes axes; the default reverses them. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ? [...perm] : [...x.shape.keys()].reverse();
  check(p.length === x.rank && [...p].sort((i, j) => i - j).every((v, i) => v === i),
    `transpose needs a permutation of 0..${x.rank - 1}, got [${p.join(', ')}]`);
  const y = output({ kind: 'transpose', perm: p }, [x], p.map((i) => x.shape[i]), x.dtype);
  getBackend().transpose(x.raw, x.shape, p, y.raw);
  return y;
}

/** x[..., start:start + size, ...] along `axis`: as tf.slice on one axis. */
export function slice(x: Tensor, axis: number, start: number, size: number): Tensor {
  const [a] = normalizeAxes(axis, x.rank);
  const { outer, size: length, inner } = around(x.shape, a);
  check(Number.isInteger(start) && Number.isInteger(size) && start >= 0 && size >= 0 && start + size <= length,
    `slice [${start}, ${start + size}) is outside axis ${a} of shape ${formatShape(x.shape)}`);
  const shape = x.shape.map((d, i) => (i === a ? size : d));
  const y = output({ kind: 'slice', axis: a, start }, [x], shape, x.dtype);
  getBackend().copyRows(x.raw, start * inner, length * inner, y.raw, 0, size * inner, outer, size * inner, false);
  return y;
}

/** x with `before` and `after` zeros added along `axis` (the adjoint of slice). */
export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  const [a] = normalizeAxes(axis, x.rank);
  const { outer, size, inner } = around(x.shape, a);
  check(Number.isInteger(before) && Number.isInteger(after) && before >= 0 && after >= 0, `pad needs counts >= 0, got ${before} and ${after}`);
  const total = before + size + after;
  const y = output({ kind: 'pad', axis: a, before, after }, [x], x.shape.map((d, i) => (i === a ? total : d)), x.dtype);
  getBackend().copyRows(x.raw, 0, size * inner, y.raw, before * inner, total * inner, outer, size * inner, true);
  return y;
}

function checkIndices(indices: Tensor, size: number): void {
  check(indices.dtype === 'int32', `indices must be int32, got ${indices.dtype}`);
  const idx = indices.raw as Int32Array;
  for (let i = 0; i < idx.length; i++) {
    check(idx[i] >= 0 && idx[i] < size, () => `index ${idx[i]} is out of range [0, ${size})`);
  }
}

function around(shape: Shape, axis: number) {
  return { outer: sizeOf(shape.slice(0, axis)), size: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

/** Slices of x along `axis` picked by int32 `indices` (any shape): as tf.gather. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const [a] = normalizeAxes(axis, x.rank);
  const { outer, size, inner } = around(x.shape, a);
  checkIndices(indices, size);
  const y = output({ kind: 'gather', axis: a }, [x, indices],
    [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)], x.dtype);
  getBackend().gather(x.raw, outer, size, inner, indices.raw as Int32Array, y.raw);
  return y;
}

/** The adjoint of gather: a tensor with `size` slices along `axis`, summing the slices of g sent to each. */
export function scatterAdd(g: Tensor, indices: Tensor, axis: number, size: number): Tensor {
  const shape = [...g.shape.slice(0, axis), size, ...g.shape.slice(axis + indices.rank)];
  const { outer, inner } = around(shape, axis);
  checkIndices(indices, size);
  const y = output({ kind: 'scatterAdd', axis, size }, [g, indices], shape);
  getBackend().scatterAdd(float(g, 'scatterAdd'), outer, size, inner, indices.raw as Int32Array, y.raw as Float32Array);
  return y;
}
