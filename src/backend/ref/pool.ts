// Reference max and average pooling (NHWC). Windows cover only real pixels: padding never wins
// a max and never counts in an average (as Keras).

import type { ConvGeometry } from '../geometry.js';
import { conv2d, conv2dBackpropFilter, forWindow } from './conv.js';

/** Calls `f(outBase, inBases)` per output pixel, with the NHWC offsets of its in-bounds window pixels. */
function forEachWindow(g: ConvGeometry, f: (outBase: number, inBases: number[]) => void): void {
  const inBases: number[] = [];
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        inBases.length = 0;
        forWindow(g, oy, ox, (_ky, _kx, iy, ix) => inBases.push(((b * g.inH + iy) * g.inW + ix) * g.inC));
        f(((b * g.outH + oy) * g.outW + ox) * g.inC, inBases);
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
export const argmaxBytes = (argmax: Int32Array, length: number) => new Uint8Array(argmax.buffer, argmax.byteOffset, length);

/** maxPool, and where each output's gradient goes: its window's first maximum, as maxPoolGrad picks it. */
function maxPoolArgmax(x: Float32Array, out: Float32Array, argmax: Uint8Array, g: ConvGeometry): void {
  maxPool(x, out, g);
  const at: number[] = [], positions: number[] = [];
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        at.length = positions.length = 0;
        forWindow(g, oy, ox, (ky, kx, iy, ix) => {
          at.push(((b * g.inH + iy) * g.inW + ix) * g.inC);
          positions.push(ky * g.kW + kx);
        });
        const o = ((b * g.outH + oy) * g.outW + ox) * g.inC;
        for (let c = 0; c < g.inC; c++) {
          let best = 0;
          for (let j = 1; j < at.length; j++) if (x[at[j] + c] > x[at[best] + c]) best = j;
          argmax[o + c] = positions[best];
        }
      }
    }
  }
}

export function conv2dMaxPool(x: Float32Array, w: Float32Array, out: Float32Array, argmax: Int32Array, p: ConvGeometry, g: ConvGeometry): void {
  const c = new Float32Array(g.batch * g.outH * g.outW * g.outC);
  conv2d(x, w, c, g);
  maxPoolArgmax(c, out, argmaxBytes(argmax, out.length), p);
}

/** maxPoolGrad from conv2dMaxPool's argmax instead of the pooled values. */
export function maxPoolGradAt(argmax: Int32Array, dy: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  dx.fill(0);
  const at = argmaxBytes(argmax, dy.length);
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const o = ((b * g.outH + oy) * g.outW + ox) * g.inC;
        for (let c = 0; c < g.inC; c++) {
          const ky = Math.floor(at[o + c] / g.kW), kx = at[o + c] % g.kW;
          const iy = oy * g.strideH + ky - g.padTop, ix = ox * g.strideW + kx - g.padLeft;
          dx[((b * g.inH + iy) * g.inW + ix) * g.inC + c] += dy[o + c];
        }
      }
    }
  }
}

/** The filter gradient of a convolution (g) through max pooling (p) of its output: the two gradients in turn. */
export function conv2dPoolFilter(x: Float32Array, argmax: Int32Array, dy: Float32Array, dw: Float32Array, p: ConvGeometry, g: ConvGeometry): void {
  const dc = new Float32Array(p.batch * p.inH * p.inW * p.inC);
  maxPoolGradAt(argmax, dy, dc, p);
  conv2dBackpropFilter(x, dc, dw, g);
}
