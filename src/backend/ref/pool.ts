// Reference max and average pooling (NHWC). Windows cover only real pixels: padding never wins
// a max and never counts in an average (as Keras).

import type { ConvGeometry } from '../geometry.js';
import { forWindow } from './conv.js';

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
