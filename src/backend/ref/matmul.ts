// Reference batched matrix multiply. Loops in i-k-j order so the innermost loop walks rows of b
// and out contiguously (about 1-2 GFLOPS in V8); the fast kernels come from the wasm backend.

import type { MatmulArgs } from '../backend.js';

export function matmul(a: Float32Array, b: Float32Array, out: Float32Array, args: MatmulArgs): void {
  const { batch, m, k, n, transA, transB, strideA, strideB } = args;
  // a(i, p) = a[offA + i * ai + p * ap]; b is made row-major (k, n) first when it is transposed.
  const ai = transA ? 1 : k;
  const ap = transA ? m : 1;
  const bt = transB ? new Float32Array(k * n) : b;
  for (let t = 0; t < batch; t++) {
    const offA = t * strideA;
    let offB = t * strideB;
    if (transB) {
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[p * n + j] = b[offB + j * k + p];
      offB = 0;
    }
    const offO = t * m * n;
    out.fill(0, offO, offO + m * n);
    for (let i = 0; i < m; i++) {
      const row = offO + i * n;
      for (let p = 0; p < k; p++) {
        const av = a[offA + i * ai + p * ap];
        if (av === 0) continue;
        const brow = offB + p * n;
        for (let j = 0; j < n; j++) out[row + j] += av * bt[brow + j];
      }
    }
  }
}
