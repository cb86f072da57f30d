// Reference kernels that move elements without arithmetic: transpose, gather and its adjoint.

import type { TypedArray } from '../../core/dtype.js';
import { stridesOf, type Shape } from '../../core/shape.js';
import { forEachRow } from './elementwise.js';

export function transpose(x: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void {
  const inStrides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  forEachRow(outShape, [stridesOf(outShape), perm.map((p) => inStrides[p])], ([o, i], n, [, di]) => {
    for (let j = 0; j < n; j++) out[o + j] = x[i + j * di];
  });
}

export function copyRows(
  x: TypedArray, xOffset: number, xStride: number, out: TypedArray, outOffset: number, outStride: number, rows: number, length: number,
  zeroRest: boolean,
): void {
  if (zeroRest) out.fill(0);
  for (let r = 0; r < rows; r++) {
    const from = xOffset + r * xStride;
    out.set(x.subarray(from, from + length), outOffset + r * outStride);
  }
}

export function gather(
  x: TypedArray, outer: number, size: number, inner: number, indices: Int32Array, out: TypedArray,
): void {
  const n = indices.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const src = (o * size + indices[j]) * inner;
      out.set(x.subarray(src, src + inner), (o * n + j) * inner);
    }
  }
}

export function scatterAdd(
  g: Float32Array, outer: number, size: number, inner: number, indices: Int32Array, out: Float32Array,
): void {
  out.fill(0);
  const n = indices.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const dst = (o * size + indices[j]) * inner;
      const src = (o * n + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] += g[src + i];
    }
  }
}
