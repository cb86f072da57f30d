// Reference max and average pooling (NHWC). Windows cover only real pixels: padding never wins
// a max and never counts in an average (as Keras).

import type { ConvGeometry } from '../geometry.js';
import { conv2d, conv2dBackpropFilter, forWindow } from './conv.js';

/**
 * Calls `f(outBase, inBases, positions)` per output pixel, with the NHWC offsets of its in-bounds
 * window pixels and their positions in the window (ky * kW + kx).
 */
function forEachWindow(g: ConvGeometry, f: (outBase: number, inBases: number[], positions: number[]) => void): void {
  const inBases: number[] = [], positions: number[] = [];
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        inBases.length = positions.length = 0;
        forWindow(g, oy, ox, (ky, kx, iy, ix) => {
          inBases.push(((b * g.inH + iy) * g.inW + ix) * g.inC);
          positions.push(ky * g.kW + kx);
        });
        f(((b * g.outH + oy) * g.outW + ox) * g.inC, inBases, positions);
      }
    }
  }
}

export function maxPool(x: Float32Array, out: Float32Array, g: ConvGeometry): void {
  forEachWindow(g, (o, bases) => {
    for (let c = 0; c < g.inC; c++) {
      let m = -Infinity;
      for (const i of bases) if (x[i + c] > m) m = x[i + c];
      out[o + c] = m;
    }
  });
}

/** The gradient goes to the first maximum of each window (as TensorFlow). */
export function maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  dx.fill(0);
  forEachWindow(g, (o, bases) => {
    for (let c = 0; c < g.inC; c++) {
      let best = -1;
      for (const i of bases) if (best < 0 || x[i + c] > x[best]) best = i + c;
      if (best >= 0) dx[best] += dy[o + c];
    }
  });
}

export function avgPool(x: Float32Array, out: Float32Array, g: ConvGeometry): void {
  forEachWindow(g, (o, bases) => {
    for (let c = 0; c < g.inC; c++) {
      let s = 0;
      for (const i of bases) s += x[i + c];
      out[o + c] = s / bases.length;
    }
  });
}

export function avgPoolGrad(dy: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  dx.fill(0);
  forEachWindow(g, (o, bases) => {
    for (let c = 0; c < g.inC; c++) {
      const share = dy[o + c] / bases.length;
      for (const i of bases) dx[i + c] += share;
    }
  });
}

/** argmax's bytes (Backend.conv2dMaxPool): one a pooled output. */
const argmaxBytes = (argmax: Int32Array, length: number) => new Uint8Array(argmax.buffer, argmax.byteOffset, length);

/** maxPool, and where each output's gradient goes: its window's first maximum, as maxPoolGrad picks it. */
function maxPoolArgmax(x: Float32Array, out: Float32Array, argmax: Uint8Array, g: ConvGeometry): void {
  maxPool(x, out, g);
  forEachWindow(g, (o, bases, positions) => {
    for (let c = 0; c < g.inC; c++) {
      let best = 0;
      for (let j = 1; j < bases.length; j++) if (x[bases[j] + c] > x[bases[best] + c]) best = j;
      argmax[o + c] = positions[best];
    }
  });
}

export function conv2dMaxPool(x: Float32Array, w: Float32Array, out: Float32Array, argmax: Int32Array, p: ConvGeometry, g: ConvGeometry): void {
  const c = new Float32Array(g.batch * g.outH * g.outW * g.outC);
  conv2d(x, w, c, g);
  maxPoolArgmax(c, out, argmaxBytes(argmax, out.length), p);
}

/** maxPoolGrad from conv2dMaxPool's argmax instead of the pooled values. */
function maxPoolGradAt(argmax: Int32Array, dy: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  dx.fill(0);
  const at = argmaxBytes(argmax, dy.length);
  forEachWindow(g, (o, bases, positions) => {
    for (let c = 0; c < g.inC; c++) dx[bases[positions.indexOf(at[o + c])] + c] += dy[o + c];
  });
}

/** The filter gradient of a convolution (g) through max pooling (p) of its output: the two gradients in turn. */
export function conv2dPoolFilter(x: Float32Array, argmax: Int32Array, dy: Float32Array, dw: Float32Array, p: ConvGeometry, g: ConvGeometry): void {
  const dc = new Float32Array(p.batch * p.inH * p.inW * p.inC);
  maxPoolGradAt(argmax, dy, dc, p);
  conv2dBackpropFilter(x, dc, dw, g);
}
