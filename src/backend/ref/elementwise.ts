// Reference kernels for elementwise ops, broadcasting binary ops, reductions and argMax.

import type { TypedArray } from '../../core/dtype.js';
import { stridesOf, type Shape } from '../../core/shape.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../backend.js';

const GELU_C = 2 * Math.sqrt(2 / Math.PI);
/** 2 sqrt(2/pi) (x + 0.044715 x^3): GELU(x) = x * sigmoid(this). */
const geluInner = (x: number) => GELU_C * (x + 0.044715 * x * x * x);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: Math.sign,
  relu: (x) => (x > 0 ? x : 0),
  sigmoid,
  tanh: Math.tanh,
  gelu: (x) => x * sigmoid(geluInner(x)),
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  greater: (a, b) => (a > b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
  reluGrad: (g, x) => (x > 0 ? g : 0),
  addRelu: (a, b) => (a + b > 0 ? a + b : 0),
  geluGrad: (g, x) => {
    const s = sigmoid(geluInner(x));
    return g * (s + x * s * (1 - s) * GELU_C * (1 + 3 * 0.044715 * x * x));
  },
};

export function unary(op: UnaryOp, x: Float32Array, out: Float32Array): void {
  const f = UNARY[op];
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
}

/**
 * Calls `row(offsets, count, steps)` for every run along the last axis of `shape`, where
 * offsets[j] is where operand j starts and steps[j] its stride along that axis.
 */
export function forEachRow(
  shape: Shape, strides: readonly number[][],
  row: (offsets: number[], count: number, steps: number[]) => void,
): void {
  const rank = shape.length;
  const count = rank === 0 ? 1 : shape[rank - 1];
  const steps = strides.map((s) => (rank === 0 ? 0 : s[rank - 1]));
  const offsets = strides.map(() => 0);
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  if (shape.some((d) => d === 0)) return;
  for (;;) {
    row(offsets, count, steps);
    let axis = rank - 2;
    for (; axis >= 0; axis--) {
      index[axis]++;
      for (let j = 0; j < strides.length; j++) offsets[j] += strides[j][axis];
      if (index[axis] < shape[axis]) break;
      for (let j = 0; j < strides.length; j++) offsets[j] -= strides[j][axis] * shape[axis];
      index[axis] = 0;
    }
    if (axis < 0) return;
  }
}

/** Strides of an operand of shape `s` read at the indices of `outShape` (0 where broadcast). */
function broadcastStrides(s: Shape, outShape: Shape): number[] {
  const own = stridesOf(s);
  return outShape.map((_, i) => {
    const j = i - (outShape.length - s.length);
    return j < 0 || s[j] === 1 ? 0 : own[j];
  });
}

export function binary(
  op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape,
): void {
  const f = BINARY[op];
  if (a.length === out.length && b.length === out.length) {
    for (let i = 0; i < out.length; i++) out[i] = f(a[i], b[i]);
    return;
  }
  if (b.length === 1 && a.length === out.length) {
    const bv = b[0];
    for (let i = 0; i < out.length; i++) out[i] = f(a[i], bv);
    return;
  }
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  forEachRow(outShape, [stridesOf(outShape), sa, sb], ([o, ia, ib], n, [, da, db]) => {
    for (let i = 0; i < n; i++) out[o + i] = f(a[ia + i * da], b[ib + i * db]);
  });
}

export function reduce(op: ReduceOp, x: Float32Array, shape: Shape, axes: readonly number[], out: Float32Array): void {
  out.fill(op === 'sum' ? 0 : -Infinity);
  // Each input element adds into the output element found by dropping the reduced axes.
  const outStrides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    outStrides[i] = axes.includes(i) ? 0 : acc;
    if (!axes.includes(i)) acc *= shape[i];
  }
  forEachRow(shape, [stridesOf(shape), outStrides], ([ix, io], n, [, dout]) => {
    if (op === 'sum') {
      for (let i = 0; i < n; i++) out[io + i * dout] += x[ix + i];
    } else {
      for (let i = 0; i < n; i++) if (x[ix + i] > out[io + i * dout]) out[io + i * dout] = x[ix + i];
    }
  });
}

/** Whether every value is finite (x - x is 0 for those, NaN for NaN and the infinities). */
export function allFinite(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] - x[i] !== 0) return false;
  return true;
}

/** The first index of the largest value along `axis` (NaN counts as largest). */
export function argMax(x: Float32Array, shape: Shape, axis: number, out: Int32Array): void {
  const size = shape[axis];
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = x.length / (size * inner) || 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let best = 0;
      let bestValue = x[base];
      for (let j = 1; j < size; j++) {
        const v = x[base + j * inner];
        if (v > bestValue || (Number.isNaN(v) && !Number.isNaN(bestValue))) {
          best = j;
          bestValue = v;
        }
      }
      out[o * inner + i] = best;
    }
  }
}
