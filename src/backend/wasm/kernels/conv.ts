// Convolution helpers (AssemblyScript): im2col copies each output pixel's window into a row of a
// patch matrix (so convolution is one SGEMM), col2im adds patch rows back into an image (the
// adjoint, for the input gradient). The twin of ../../ref/conv.ts. Pointers are byte offsets; a
// geometry is (batch, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft).

import { madd } from './simd';

/** Copies `n` floats (a few, or a multiple of 4 with SIMD), or writes zeros when `src` is 0. */
@inline function copyRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  if (src == 0) {
    for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.splat(0));
    for (; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
    return;
  }
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

/**
 * Patch rows [rowStart, rowEnd) of x (NHWC); a row is one output pixel, kH * kW * inC long. Where
 * a window row lies inside the image its kW pixels are adjacent in x, so it is one run to copy.
 */
export function im2col(
  x: usize, cols: usize, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, rowStart: i32, rowEnd: i32, _scratch: usize,
): void {
  const run = kW * inC;
  let ox = rowStart % outW;
  let oy = (rowStart / outW) % outH;
  let b = rowStart / (outW * outH);
  let dst = cols + (<usize>(rowStart * kH * run) << 2);
  for (let r = rowStart; r < rowEnd; r++) {
    const x0 = ox * strideW - padLeft;
    const inside = x0 >= 0 && x0 + kW <= inW;
    for (let ky = 0; ky < kH; ky++, dst += <usize>run << 2) {
      const iy = oy * strideH + ky - padTop;
      if (iy < 0 || iy >= inH) {
        copyRun(dst, 0, run);
      } else if (inside) {
        copyRun(dst, x + (<usize>(((b * inH + iy) * inW + x0) * inC) << 2), run);
      } else {
        for (let kx = 0; kx < kW; kx++) {
          const ix = x0 + kx;
          const src = ix < 0 || ix >= inW ? 0 : x + (<usize>(((b * inH + iy) * inW + ix) * inC) << 2);
          copyRun(dst + (<usize>(kx * inC) << 2), src, inC);
        }
      }
    }
    if (++ox == outW) {
      ox = 0;
      if (++oy == outH) {
        oy = 0;
        b++;
      }
    }
  }
}

/** dx = 0, then adds every patch row of images [batchStart, batchEnd) back where it came from. */
export function col2im(
  cols: usize, dx: usize, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, batchStart: i32, batchEnd: i32, _scratch: usize,
): void {
  const image = inH * inW * inC, perImage = outH * outW;
  memory.fill(dx + (<usize>(batchStart * image) << 2), 0, <usize>((batchEnd - batchStart) * image) << 2);
  const first = cols + (<usize>(batchStart * perImage * kH * kW * inC) << 2);
  addPatchRows(first, dx, batchStart * perImage, batchEnd * perImage, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft);
}

/** Adds patch rows [rowStart, rowEnd) (the first at `cols`) into image batch dx where they came from. */
export function addPatchRows(
  cols: usize, dx: usize, rowStart: i32, rowEnd: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32,
): void {
  let ox = rowStart % outW, oy = (rowStart / outW) % outH, b = rowStart / (outW * outH);
  let src = cols;
  for (let r = rowStart; r < rowEnd; r++) {
    for (let ky = 0; ky < kH; ky++) {
      const iy = oy * strideH + ky - padTop;
      for (let kx = 0; kx < kW; kx++, src += <usize>inC << 2) {
        const ix = ox * strideW + kx - padLeft;
        if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
        const dst = dx + (<usize>(((b * inH + iy) * inW + ix) * inC) << 2);
        let c = 0;
        for (; c + 4 <= inC; c += 4) {
          const o = <usize>c << 2;
          v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
        }
        for (; c < inC; c++) {
          const o = <usize>c << 2;
          store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
        }
      }
    }
    if (++ox == outW) {
      ox = 0;
      if (++oy == outH) { oy = 0; b++; }
    }
  }
}

// Direct convolutions for inputs with few channels (a first layer: 1 grey or 3 RGB channels,
// patch = kH * kW * inC of at most SMALL_PATCH). Their patch matrix is too narrow for the SGEMM to
// run near its peak, and writing it costs more than the product; here each window is read in place
// through a table of its entries' offsets. The caller pads x first (padTop = padLeft = 0 here), so
// that every window lies inside the image.

/** The longest window the direct kernels take. */
export const SMALL_PATCH: i32 = 256;
/** Pixels per block of the filter gradient (its rows of dy stay in cache across the window). */
const SMALL_BLOCK: i32 = 256;

/** Writes the byte offset of every window entry (ky, kx, c) from the window's corner to `table`. */
function windowOffsets(table: usize, inW: i32, inC: i32, kH: i32, kW: i32): void {
  let t = table;
  for (let ky = 0; ky < kH; ky++) for (let kx = 0; kx < kW; kx++) for (let c = 0; c < inC; c++, t += 4) {
    store<i32>(t, ((ky * inW + kx) * inC + c) << 2);
  }
}

/** Byte address in x of the window corner of output pixel (b, oy, ox). */
@inline function corner(x: usize, b: i32, oy: i32, ox: i32, inH: i32, inW: i32, inC: i32, strideH: i32, strideW: i32): usize {
  return x + (<usize>(((b * inH + oy * strideH) * inW + ox * strideW) * inC) << 2);
}

/**
 * out = conv(x, w) for output pixels [rowStart, rowEnd), two at a time: four vectors of filters
 * for two pixels are eight accumulators, and each filter vector loaded serves both pixels.
 */
export function convSmallForward(
  x: usize, w: usize, out: usize, outC: i32, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, _padTop: i32, _padLeft: i32, rowStart: i32, rowEnd: i32, scratch: usize,
): void {
  const patch = kH * kW * inC;
  const offsets = scratch;
  windowOffsets(offsets, inW, inC, kH, kW);
  const rowBytes = <usize>outC << 2;
  let ox = rowStart % outW, oy = (rowStart / outW) % outH, b = rowStart / (outW * outH);
  for (let r = rowStart; r < rowEnd; r += 2) {
    const pair = r + 1 < rowEnd;
    const x0 = corner(x, b, oy, ox, inH, inW, inC, strideH, strideW);
    if (++ox == outW) { ox = 0; if (++oy == outH) { oy = 0; b++; } }
    let x1 = x0;
    if (pair) {
      x1 = corner(x, b, oy, ox, inH, inW, inC, strideH, strideW);
      if (++ox == outW) { ox = 0; if (++oy == outH) { oy = 0; b++; } }
    }
    const o0 = out + <usize>r * rowBytes, o1 = o0 + rowBytes;
    let c = 0;
    for (; c + 16 <= outC; c += 16) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      let wp = w + (<usize>c << 2);
      for (let t = 0; t < patch; t++, wp += rowBytes) {
        const at = <usize>load<i32>(offsets + (<usize>t << 2));
        const s0 = v128.load32_splat(x0 + at), s1 = v128.load32_splat(x1 + at);
        const w0 = v128.load(wp), w1 = v128.load(wp, 16), w2 = v128.load(wp, 32), w3 = v128.load(wp, 48);
        a0 = madd(s0, w0, a0); a1 = madd(s0, w1, a1); a2 = madd(s0, w2, a2); a3 = madd(s0, w3, a3);
        b0 = madd(s1, w0, b0); b1 = madd(s1, w1, b1); b2 = madd(s1, w2, b2); b3 = madd(s1, w3, b3);
      }
      const d = <usize>c << 2;
      v128.store(o0 + d, a0); v128.store(o0 + d, a1, 16); v128.store(o0 + d, a2, 32); v128.store(o0 + d, a3, 48);
      if (pair) { v128.store(o1 + d, b0); v128.store(o1 + d, b1, 16); v128.store(o1 + d, b2, 32); v128.store(o1 + d, b3, 48); }
    }
    for (; c < outC; c++) {
      let s0: f32 = 0, s1: f32 = 0;
      for (let t = 0; t < patch; t++) {
        const at = <usize>load<i32>(offsets + (<usize>t << 2));
        const wt = load<f32>(w + (<usize>(t * outC + c) << 2));
        s0 += load<f32>(x0 + at) * wt;
        s1 += load<f32>(x1 + at) * wt;
      }
      store<f32>(o0 + (<usize>c << 2), s0);
      if (pair) store<f32>(o1 + (<usize>c << 2), s1);
    }
  }
}

/**
 * dw = patchesᵀ · dy for the groups of 16 filters [groupStart, groupEnd) (the last may be
 * narrower), each over every pixel, a block of pixels at a time: two window entries by four
 * vectors of filters are eight accumulators.
 */
export function convSmallFilter(
  x: usize, dy: usize, dw: usize, outC: i32, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, _padTop: i32, _padLeft: i32, groupStart: i32, groupEnd: i32, scratch: usize,
): void {
  const patch = kH * kW * inC;
  const pixels = batch * outH * outW;
  const offsets = scratch, corners = scratch + (<usize>SMALL_PATCH << 2);
  windowOffsets(offsets, inW, inC, kH, kW);
  const rowBytes = <usize>outC << 2;
  for (let g = groupStart; g < groupEnd; g++) {
    const c0 = g * 16, width = min(16, outC - c0);
    for (let t = 0; t < patch; t++) memory.fill(dw + (<usize>(t * outC + c0) << 2), 0, <usize>width << 2);
    let ox = 0, oy = 0, b = 0;
    for (let p0 = 0; p0 < pixels; p0 += SMALL_BLOCK) {
      const n = min(SMALL_BLOCK, pixels - p0);
      for (let i = 0; i < n; i++) {
        store<u32>(corners + (<usize>i << 2), <u32>corner(x, b, oy, ox, inH, inW, inC, strideH, strideW));
        if (++ox == outW) { ox = 0; if (++oy == outH) { oy = 0; b++; } }
      }
      const dyBlock = dy + <usize>p0 * rowBytes + (<usize>c0 << 2);
      if (width < 16) {
        for (let t = 0; t < patch; t++) {
          const at = <usize>load<i32>(offsets + (<usize>t << 2));
          for (let c = 0; c < width; c++) {
            let s: f32 = 0;
            for (let i = 0; i < n; i++) s += load<f32>(<usize>load<u32>(corners + (<usize>i << 2)) + at) * load<f32>(dyBlock + <usize>i * rowBytes + (<usize>c << 2));
            const d = dw + (<usize>(t * outC + c0 + c) << 2);
            store<f32>(d, load<f32>(d) + s);
          }
        }
        continue;
      }
      for (let t = 0; t < patch; t += 2) {
        const two = t + 1 < patch;
        const at0 = <usize>load<i32>(offsets + (<usize>t << 2));
        const at1 = two ? <usize>load<i32>(offsets + (<usize>(t + 1) << 2)) : at0;
        const d0 = dw + (<usize>(t * outC + c0) << 2), d1 = d0 + rowBytes;
        let a0 = v128.load(d0), a1 = v128.load(d0, 16), a2 = v128.load(d0, 32), a3 = v128.load(d0, 48);
        let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
        if (two) { b0 = v128.load(d1); b1 = v128.load(d1, 16); b2 = v128.load(d1, 32); b3 = v128.load(d1, 48); }
        let dp = dyBlock;
        for (let i = 0; i < n; i++, dp += rowBytes) {
          const xc = <usize>load<u32>(corners + (<usize>i << 2));
          const y0 = v128.load(dp), y1 = v128.load(dp, 16), y2 = v128.load(dp, 32), y3 = v128.load(dp, 48);
          const s0 = v128.load32_splat(xc + at0), s1 = v128.load32_splat(xc + at1);
          a0 = madd(s0, y0, a0); a1 = madd(s0, y1, a1); a2 = madd(s0, y2, a2); a3 = madd(s0, y3, a3);
          b0 = madd(s1, y0, b0); b1 = madd(s1, y1, b1); b2 = madd(s1, y2, b2); b3 = madd(s1, y3, b3);
        }
        v128.store(d0, a0); v128.store(d0, a1, 16); v128.store(d0, a2, 32); v128.store(d0, a3, 48);
        if (two) { v128.store(d1, b0); v128.store(d1, b1, 16); v128.store(d1, b2, 32); v128.store(d1, b3, 48); }
      }
    }
  }
}

// A direct convolution and the 2x2 max pooling (stride 2) of its output, for a first layer: the
// convolution's output is never stored, only the pooled one and, for each pooled output, which of
// its window's four pixels was the maximum (argmax: one byte, 0-3), from which the filter gradient
// is computed without the pooling's mostly-zero gradient. The caller pads x.

/** Windows per block of convPoolFilter (their tables stay in the L1 cache). */
const POOL_BLOCK: i32 = 32;

/** Byte address in x of the corner of window (b, py, px)'s pixel (dy, dx) (conv2d's output pixel (2py + dy, 2px + dx)). */
@inline function pooledCorner(x: usize, b: i32, py: i32, px: i32, dy: i32, dx: i32, inH: i32, inW: i32, inC: i32, strideH: i32, strideW: i32): usize {
  return corner(x, b, 2 * py + dy, 2 * px + dx, inH, inW, inC, strideH, strideW);
}

/**
 * Of four pixels' vectors, the max (as kernels/pool.ts) into out, and each lane's argmax, 0-3, as a
 * byte at `at` (the reference's: a later pixel wins only when greater, so a NaN never does and a
 * NaN first stays first).
 */
@inline function poolFour(v00: v128, v01: v128, v10: v128, v11: v128, out: usize, at: usize): void {
  v128.store(out, f32x4.max(f32x4.max(v00, v01), f32x4.max(v10, v11)));
  let more = f32x4.gt(v01, v00), best = f32x4.pmax(v00, v01);
  let k = v128.and(i32x4.splat(1), more);
  more = f32x4.gt(v10, best);
  k = v128.bitselect(i32x4.splat(2), k, more);
  best = f32x4.pmax(best, v10);
  k = v128.bitselect(i32x4.splat(3), k, f32x4.gt(v11, best));
  v128.store32_lane(at, i8x16.shuffle(k, k, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12), 0);
}

/**
 * out = maxPool(conv(x, w)) and argmax for windows [start, end) (of batch x pH x pW): each
 * window's four pixels by eight filters are eight accumulators, each filter vector loaded serving
 * the four. outC is a multiple of 16, so that every output is the sum convSmallForward makes, term
 * by term.
 */
export function convPoolForward(
  x: usize, w: usize, out: usize, argmax: usize, outC: i32, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, _padTop: i32, _padLeft: i32, pH: i32, pW: i32, start: i32, end: i32, scratch: usize,
): void {
  const patch = kH * kW * inC;
  const offsets = scratch;
  windowOffsets(offsets, inW, inC, kH, kW);
  const rowBytes = <usize>outC << 2;
  let px = start % pW, py = (start / pW) % pH, b = start / (pW * pH);
  for (let i = start; i < end; i++) {
    const x00 = pooledCorner(x, b, py, px, 0, 0, inH, inW, inC, strideH, strideW), x01 = pooledCorner(x, b, py, px, 0, 1, inH, inW, inC, strideH, strideW);
    const x10 = pooledCorner(x, b, py, px, 1, 0, inH, inW, inC, strideH, strideW), x11 = pooledCorner(x, b, py, px, 1, 1, inH, inW, inC, strideH, strideW);
    if (++px == pW) { px = 0; if (++py == pH) { py = 0; b++; } }
    const o = out + <usize>i * rowBytes, a = argmax + <usize>(i * outC);
    for (let c = 0; c < outC; c += 8) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      let wp = w + (<usize>c << 2);
      for (let t = 0; t < patch; t++, wp += rowBytes) {
        const at = <usize>load<i32>(offsets + (<usize>t << 2));
        const s0 = v128.load32_splat(x00 + at), s1 = v128.load32_splat(x01 + at), s2 = v128.load32_splat(x10 + at), s3 = v128.load32_splat(x11 + at);
        const w0 = v128.load(wp), w1 = v128.load(wp, 16);
        a0 = madd(s0, w0, a0); a1 = madd(s1, w0, a1); a2 = madd(s2, w0, a2); a3 = madd(s3, w0, a3);
        b0 = madd(s0, w1, b0); b1 = madd(s1, w1, b1); b2 = madd(s2, w1, b2); b3 = madd(s3, w1, b3);
      }
      poolFour(a0, a1, a2, a3, o + (<usize>c << 2), a + <usize>c);
      poolFour(b0, b1, b2, b3, o + (<usize>c << 2) + 16, a + <usize>c + 4);
    }
  }
}

/**
 * The filter gradient through the pooling from its gradient dy and argmax, for the vectors of four
 * filters [vecStart, vecEnd): dw = patchesᵀ · maxPoolGrad(dy), without that gradient's zeros,
 * summed in convSmallFilter's order (pixel rows in turn; outC a multiple of 16, its full groups),
 * so that the numbers are the same: for
 * each row of windows, first the gradients whose maximum is in the window's top row, then those in
 * its bottom row. Only the argmax pixel's patch entry counts: for a block of windows, a table
 * holds each entry t of the four pixels' patches as one vector, and each window and vector of
 * filters its gradient (0 in lanes of the other row) and, as byte indices, its lanes' argmax
 * pixels; then four entries of dw at a time sum over the block in registers, each lane's pixel
 * picked by a byte shuffle.
 */
export function convPoolFilter(
  x: usize, argmax: usize, dy: usize, dw: usize, outC: i32, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, _padTop: i32, _padLeft: i32, pH: i32, pW: i32, vecStart: i32, vecEnd: i32, scratch: usize,
): void {
  const patch = kH * kW * inC;
  const offsets = scratch, entries = offsets + (<usize>SMALL_PATCH << 2);
  const picks = entries + (<usize>(POOL_BLOCK * SMALL_PATCH) << 4);
  windowOffsets(offsets, inW, inC, kH, kW);
  const rowBytes = <usize>outC << 2;
  const vecs = vecEnd - vecStart, first = <usize>vecStart << 4;
  const entryBytes = <usize>patch << 4, pickBytes = <usize>vecs << 5;
  for (let t = 0; t < patch; t++) memory.fill(dw + <usize>t * rowBytes + first, 0, <usize>vecs << 4);
  // Per window: the entries' table, then for each vector of filters its picks and its gradient in
  // the top row's lanes, then the same for the bottom row's (pickBytes apart).
  for (let b = 0; b < batch; b++) for (let py = 0; py < pH; py++) for (let px0 = 0; px0 < pW; px0 += POOL_BLOCK) {
    const n = min(POOL_BLOCK, pW - px0);
    for (let i = 0; i < n; i++) {
      const px = px0 + i;
      const x00 = pooledCorner(x, b, py, px, 0, 0, inH, inW, inC, strideH, strideW), x01 = pooledCorner(x, b, py, px, 0, 1, inH, inW, inC, strideH, strideW);
      const x10 = pooledCorner(x, b, py, px, 1, 0, inH, inW, inC, strideH, strideW), x11 = pooledCorner(x, b, py, px, 1, 1, inH, inW, inC, strideH, strideW);
      const e = entries + <usize>i * entryBytes;
      for (let t = 0; t < patch; t++) {
        const at = <usize>load<i32>(offsets + (<usize>t << 2));
        let v = v128.load32_splat(x00 + at);
        v = v128.load32_lane(x01 + at, v, 1);
        v = v128.load32_lane(x10 + at, v, 2);
        v128.store(e + (<usize>t << 4), v128.load32_lane(x11 + at, v, 3));
      }
      const window = <usize>(((b * pH + py) * pW + px) * outC);
      const k = argmax + window + (<usize>vecStart << 2), g = dy + (window << 2) + first;
      let pick = picks + <usize>i * 2 * pickBytes;
      for (let v = 0; v < vecs; v++, pick += 32) {
        // Each lane's argmax k, as the byte indices 4k .. 4k + 3 of its pixel's lane in an entry.
        const kk = i8x16.shuffle(v128.load32_zero(k + (<usize>v << 2)), f32x4.splat(0), 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        const k2 = i8x16.add(kk, kk);
        const bytes = i8x16.add(i8x16.add(k2, k2), i8x16(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3));
        const inBottom = i8x16.gt_u(kk, i8x16.splat(1));
        const gv = v128.load(g + (<usize>v << 4));
        v128.store(pick, bytes);
        v128.store(pick, v128.andnot(gv, inBottom), 16);
        v128.store(pick + pickBytes, bytes);
        v128.store(pick + pickBytes, v128.and(gv, inBottom), 16);
      }
    }
    for (let half = 0; half < 2; half++) {
      for (let v = 0; v < vecs; v++) {
        const col = dw + first + (<usize>v << 4), pv = picks + <usize>half * pickBytes + (<usize>v << 5), step = 2 * pickBytes;
        let t = 0;
        for (; t + 4 <= patch; t += 4) {
          const d = col + <usize>t * rowBytes;
          let a0 = v128.load(d), a1 = v128.load(d + rowBytes), a2 = v128.load(d + 2 * rowBytes), a3 = v128.load(d + 3 * rowBytes);
          let e = entries + (<usize>t << 4), p = pv;
          for (let i = 0; i < n; i++, e += entryBytes, p += step) {
            const pick = v128.load(p), gv = v128.load(p, 16);
            a0 = madd(i8x16.swizzle(v128.load(e), pick), gv, a0);
            a1 = madd(i8x16.swizzle(v128.load(e, 16), pick), gv, a1);
            a2 = madd(i8x16.swizzle(v128.load(e, 32), pick), gv, a2);
            a3 = madd(i8x16.swizzle(v128.load(e, 48), pick), gv, a3);
          }
          v128.store(d, a0); v128.store(d + rowBytes, a1); v128.store(d + 2 * rowBytes, a2); v128.store(d + 3 * rowBytes, a3);
        }
        for (; t < patch; t++) {
          const d = col + <usize>t * rowBytes;
          let a = v128.load(d), e = entries + (<usize>t << 4), p = pv;
          for (let i = 0; i < n; i++, e += entryBytes, p += step) a = madd(i8x16.swizzle(v128.load(e), v128.load(p)), v128.load(p, 16), a);
          v128.store(d, a);
        }
      }
    }
  }
}
