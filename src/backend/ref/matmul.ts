// Reference batched matrix multiply. Each output is a dot product of a row of op(a) with a row of
// op(b)ᵀ, both made contiguous first; a 4x2 block of outputs is accumulated at a time (in float64)
// so V8 keeps them in registers: about 4 GFLOPS, 4x the naive loop. The fast kernels are wasm's.

import type { MatmulArgs } from '../backend.js';

/** The (rows, cols) matrix stored transposed at src[offset...], copied row-major. */
function transposed(src: Float32Array, offset: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = src[offset + c * rows + r];
  return out;
}

export function matmul(a: Float32Array, b: Float32Array, out: Float32Array, args: MatmulArgs): void {
  const { batch, m, k, n, transA, transB, strideA, strideB } = args;
  for (let t = 0; t < batch; t++) {
    // x: op(a) as (m, k) rows; y: op(b)ᵀ as (n, k) rows.
    const [x, xo] = transA ? [transposed(a, t * strideA, m, k), 0] : [a, t * strideA];
    const [y, yo] = transB ? [b, t * strideB] : [transposed(b, t * strideB, n, k), 0];
    dotRows(x, xo, y, yo, out, t * m * n, m, k, n);
  }
}

function dotRows(x: Float32Array, xo: number, y: Float32Array, yo: number, out: Float32Array, oo: number, m: number, k: number, n: number): void {
  const m4 = m - (m % 4);
  const n2 = n - (n % 2);
  for (let i = 0; i < m4; i += 4) {
    const x0 = xo + i * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
    for (let j = 0; j < n2; j += 2) {
      const y0 = yo + j * k, y1 = y0 + k;
      let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
      for (let p = 0; p < k; p++) {
        const b0 = y[y0 + p], b1 = y[y1 + p];
        const a0 = x[x0 + p], a1 = x[x1 + p], a2 = x[x2 + p], a3 = x[x3 + p];
        c00 += a0 * b0; c01 += a0 * b1;
        c10 += a1 * b0; c11 += a1 * b1;
        c20 += a2 * b0; c21 += a2 * b1;
        c30 += a3 * b0; c31 += a3 * b1;
      }
      const o = oo + i * n + j;
      out[o] = c00; out[o + 1] = c01;
      out[o + n] = c10; out[o + n + 1] = c11;
      out[o + 2 * n] = c20; out[o + 2 * n + 1] = c21;
      out[o + 3 * n] = c30; out[o + 3 * n + 1] = c31;
    }
  }
  // The edges that do not fill a block: one dot product at a time.
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? n2 : 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += x[xo + i * k + p] * y[yo + j * k + p];
      out[oo + i * n + j] = s;
    }
  }
}
