// Reference 2-D convolution (cross-correlation, NHWC) by im2col: each output pixel's window is
// copied into a row of a patch matrix, so the three convolution kernels become one matmul each.

import type { ConvGeometry } from '../geometry.js';
import { matmul } from './matmul.js';

/** Patch matrix (batch * outH * outW, kH * kW * inC); pixels outside the input are 0. */
function im2col(x: Float32Array, g: ConvGeometry): Float32Array {
  const { batch, inH, inW, inC, outH, outW, kH, kW } = g;
  const cols = new Float32Array(batch * outH * outW * kH * kW * inC);
  let r = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++, r++) {
        forWindow(g, oy, ox, (ky, kx, iy, ix) => {
          const src = ((b * inH + iy) * inW + ix) * inC;
          cols.set(x.subarray(src, src + inC), r * kH * kW * inC + (ky * kW + kx) * inC);
        });
      }
    }
  }
  return cols;
}

/** The adjoint of im2col: adds every patch row back into the image it came from. */
function col2im(cols: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  const { batch, inH, inW, inC, outH, outW, kH, kW } = g;
  dx.fill(0);
  let r = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++, r++) {
        forWindow(g, oy, ox, (ky, kx, iy, ix) => {
          const dst = ((b * inH + iy) * inW + ix) * inC;
          const src = r * kH * kW * inC + (ky * kW + kx) * inC;
          for (let c = 0; c < inC; c++) dx[dst + c] += cols[src + c];
        });
      }
    }
  }
}

/** Calls `f` for each window position (ky, kx) of output pixel (oy, ox) that lands inside the input. */
export function forWindow(
  g: ConvGeometry, oy: number, ox: number, f: (ky: number, kx: number, iy: number, ix: number) => void,
): void {
  for (let ky = 0; ky < g.kH; ky++) {
    const iy = oy * g.strideH + ky - g.padTop;
    if (iy < 0 || iy >= g.inH) continue;
    for (let kx = 0; kx < g.kW; kx++) {
      const ix = ox * g.strideW + kx - g.padLeft;
      if (ix >= 0 && ix < g.inW) f(ky, kx, iy, ix);
    }
  }
}

function dims(g: ConvGeometry) {
  return { rows: g.batch * g.outH * g.outW, patch: g.kH * g.kW * g.inC };
}

export function conv2d(x: Float32Array, w: Float32Array, out: Float32Array, g: ConvGeometry): void {
  const { rows, patch } = dims(g);
  matmul(im2col(x, g), w, out, { batch: 1, m: rows, k: patch, n: g.outC, transA: false, transB: false, strideA: 0, strideB: 0 });
}

export function conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  const { rows, patch } = dims(g);
  const cols = new Float32Array(rows * patch);
  matmul(dy, w, cols, { batch: 1, m: rows, k: g.outC, n: patch, transA: false, transB: true, strideA: 0, strideB: 0 });
  col2im(cols, dx, g);
}

export function conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: ConvGeometry): void {
  const { rows, patch } = dims(g);
  matmul(im2col(x, g), dy, dw, { batch: 1, m: patch, k: rows, n: g.outC, transA: true, transB: false, strideA: 0, strideB: 0 });
}
