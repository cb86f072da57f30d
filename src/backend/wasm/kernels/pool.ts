// Max and average pooling, forward and backward (AssemblyScript, NHWC), for images
// [batchStart, batchEnd). Windows cover only real pixels, as in ../../ref/pool.ts, the specification.
// `op` is a Pooling code (./opcodes.ts); the channel loop is innermost and vectorised four at a time.

import { Pooling } from './opcodes';

@inline function windowLo(o: i32, stride: i32, pad: i32): i32 { return max(0, o * stride - pad); }
@inline function windowHi(o: i32, stride: i32, pad: i32, k: i32, size: i32): i32 { return min(size, o * stride - pad + k); }

/**
 * Whether this is 2x2 max pooling with stride 2 over whole vectors of channels (the common case),
 * every window inside the image ('same' padding of an odd size pads after the last row or column).
 */
@inline function max2x2(
  op: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32,
): bool {
  return op == Pooling.max && kH == 2 && kW == 2 && strideH == 2 && strideW == 2 && padTop == 0 && padLeft == 0 && (inC & 3) == 0 &&
    2 * outH <= inH && 2 * outW <= inW;
}

export function pool(
  op: i32, x: usize, out: usize, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, batchStart: i32, batchEnd: i32, _scratch: usize,
): void {
  if (max2x2(op, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft)) {
    const pixel = <usize>inC << 2, row = <usize>(inW * inC) << 2;
    let dst = out + (<usize>(batchStart * outH * outW * inC) << 2);
    for (let b = batchStart; b < batchEnd; b++) {
      for (let oy = 0; oy < outH; oy++) {
        let src = x + (<usize>(((b * inH + 2 * oy) * inW) * inC) << 2);
        for (let ox = 0; ox < outW; ox++, src += 2 * pixel) {
          for (let c: usize = 0; c < pixel; c += 16, dst += 16) {
            const top = f32x4.max(v128.load(src + c), v128.load(src + pixel + c));
            const bottom = f32x4.max(v128.load(src + row + c), v128.load(src + row + pixel + c));
            v128.store(dst, f32x4.max(top, bottom));
          }
        }
      }
    }
    return;
  }
  for (let b = batchStart; b < batchEnd; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = windowLo(oy, strideH, padTop), y1 = windowHi(oy, strideH, padTop, kH, inH);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = windowLo(ox, strideW, padLeft), x1 = windowHi(ox, strideW, padLeft, kW, inW);
        const dst = out + (<usize>(((b * outH + oy) * outW + ox) * inC) << 2);
        const scale: f32 = op == Pooling.max ? 1 : 1 / <f32>((y1 - y0) * (x1 - x0));
        let c = 0;
        for (; c + 4 <= inC; c += 4) {
          let m = op == Pooling.max ? f32x4.splat(-Infinity) : f32x4.splat(0);
          for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) {
            const v = v128.load(x + (<usize>(((b * inH + iy) * inW + ix) * inC + c) << 2));
            m = op == Pooling.max ? f32x4.max(m, v) : f32x4.add(m, v);
          }
          v128.store(dst + (<usize>c << 2), op == Pooling.max ? m : f32x4.mul(m, f32x4.splat(scale)));
        }
        for (; c < inC; c++) {
          let m: f32 = op == Pooling.max ? -Infinity : 0;
          for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) {
            const v = load<f32>(x + (<usize>(((b * inH + iy) * inW + ix) * inC + c) << 2));
            m = op == Pooling.max ? max(m, v) : m + v;
          }
          store<f32>(dst + (<usize>c << 2), m * scale);
        }
      }
    }
  }
}

/**
 * dx from dy. Max: each window's gradient goes to its first maximum (as TensorFlow and the
 * reference). Average: shared equally by the window's pixels (x is not read).
 */
export function poolGrad(
  op: i32, x: usize, dy: usize, dx: usize, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, batchStart: i32, batchEnd: i32, _scratch: usize,
): void {
  const image = inH * inW * inC;
  // Max pooling with windows that tile the image (stride = window, no padding, as 2x2/2): every
  // window pixel gets its value written, so dx needs zeroing only where no window reaches.
  const tiled = op == Pooling.max && strideH == kH && strideW == kW && padTop == 0 && padLeft == 0 && (inC & 3) == 0;
  if (!tiled || outH * kH != inH || outW * kW != inW) {
    memory.fill(dx + (<usize>(batchStart * image) << 2), 0, <usize>((batchEnd - batchStart) * image) << 2);
  }
  if (max2x2(op, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft)) {
    // The tiled case unrolled: each window's four pixels, four channels at a time.
    const pixel = <usize>inC << 2, row = <usize>(inW * inC) << 2;
    let g = dy + (<usize>(batchStart * outH * outW * inC) << 2);
    for (let b = batchStart; b < batchEnd; b++) {
      for (let oy = 0; oy < outH; oy++) {
        const at = <usize>(((b * inH + 2 * oy) * inW) * inC) << 2;
        let src = x + at, dst = dx + at;
        for (let ox = 0; ox < outW; ox++, src += 2 * pixel, dst += 2 * pixel) {
          for (let c: usize = 0; c < pixel; c += 16, g += 16) {
            const v00 = v128.load(src + c), v01 = v128.load(src + pixel + c);
            const v10 = v128.load(src + row + c), v11 = v128.load(src + row + pixel + c);
            const m = f32x4.max(f32x4.max(v00, v01), f32x4.max(v10, v11));
            const gv = v128.load(g);
            const h00 = f32x4.eq(v00, m);
            const h01 = v128.andnot(f32x4.eq(v01, m), h00);
            let taken = v128.or(h00, h01);
            const h10 = v128.andnot(f32x4.eq(v10, m), taken);
            taken = v128.or(taken, h10);
            const h11 = v128.andnot(f32x4.eq(v11, m), taken);
            v128.store(dst + c, v128.and(gv, h00));
            v128.store(dst + pixel + c, v128.and(gv, h01));
            v128.store(dst + row + c, v128.and(gv, h10));
            v128.store(dst + row + pixel + c, v128.and(gv, h11));
          }
        }
      }
    }
    return;
  }
  for (let b = batchStart; b < batchEnd; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = windowLo(oy, strideH, padTop), y1 = windowHi(oy, strideH, padTop, kH, inH);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = windowLo(ox, strideW, padLeft), x1 = windowHi(ox, strideW, padLeft, kW, inW);
        if (tiled) {
          // Four channels at a time: the window's max, then each pixel gets g where it is the
          // first pixel equal to the max (the same one the reference picks), 0 elsewhere.
          const g = dy + (<usize>(((b * outH + oy) * outW + ox) * inC) << 2);
          for (let c = 0; c < inC; c += 4) {
            let m = f32x4.splat(-Infinity);
            for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) {
              m = f32x4.max(m, v128.load(x + (<usize>(((b * inH + iy) * inW + ix) * inC + c) << 2)));
            }
            const gv = v128.load(g + (<usize>c << 2));
            let taken = i32x4.splat(0);
            for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) {
              const at = <usize>(((b * inH + iy) * inW + ix) * inC + c) << 2;
              const hit = v128.andnot(f32x4.eq(v128.load(x + at), m), taken);
              taken = v128.or(taken, hit);
              v128.store(dx + at, v128.and(gv, hit));
            }
          }
        } else if (op == Pooling.max) {
          const g = dy + (<usize>(((b * outH + oy) * outW + ox) * inC) << 2);
          let c = 0;
          // Four channels at a time: track each lane's best value and where it was (first wins ties).
          for (; c + 4 <= inC; c += 4) {
            const first = <i32>(((b * inH + y0) * inW + x0) * inC + c) << 2;
            let m = v128.load(x + <usize>first);
            let at = i32x4.add(i32x4.splat(first), i32x4(0, 4, 8, 12));
            for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) {
              const here = <i32>(((b * inH + iy) * inW + ix) * inC + c) << 2;
              const v = v128.load(x + <usize>here);
              const better = f32x4.gt(v, m);
              m = v128.bitselect(v, m, better);
              at = v128.bitselect(i32x4.add(i32x4.splat(here), i32x4(0, 4, 8, 12)), at, better);
            }
            const gv = v128.load(g + (<usize>c << 2));
            let d = dx + <usize>i32x4.extract_lane(at, 0);
            store<f32>(d, load<f32>(d) + f32x4.extract_lane(gv, 0));
            d = dx + <usize>i32x4.extract_lane(at, 1);
            store<f32>(d, load<f32>(d) + f32x4.extract_lane(gv, 1));
            d = dx + <usize>i32x4.extract_lane(at, 2);
            store<f32>(d, load<f32>(d) + f32x4.extract_lane(gv, 2));
            d = dx + <usize>i32x4.extract_lane(at, 3);
            store<f32>(d, load<f32>(d) + f32x4.extract_lane(gv, 3));
          }
          for (; c < inC; c++) {
            let best: usize = 0;
            let bestValue: f32 = 0;
            for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) {
              const at = <usize>(((b * inH + iy) * inW + ix) * inC + c) << 2;
              const v = load<f32>(x + at);
              if (best == 0 || v > bestValue) { best = at + 1; bestValue = v; }
            }
            if (best != 0) {
              const d = dx + best - 1;
              store<f32>(d, load<f32>(d) + load<f32>(g + (<usize>c << 2)));
            }
          }
        } else {
          const scale: f32 = 1 / <f32>((y1 - y0) * (x1 - x0));
          const g = dy + (<usize>(((b * outH + oy) * outW + ox) * inC) << 2);
          for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) {
            const d = dx + (<usize>(((b * inH + iy) * inW + ix) * inC) << 2);
            for (let c = 0; c < inC; c++) {
              const o = <usize>c << 2;
              store<f32>(d + o, load<f32>(d + o) + load<f32>(g + o) * scale);
            }
          }
        }
      }
    }
  }
}
