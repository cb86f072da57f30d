// A convolution's patch matrix, packed by the SGEMM straight from the image without ever being
// stored (AssemblyScript; "implicit GEMM"). Row r of the matrix is output pixel r's window,
// kH * kW * inC values with channels innermost, exactly as ../../ref/conv.ts's im2col lays it out.
// Not writing and reading that matrix saves time: for a 3x3 layer it is 9 times the size of the
// image and does not stay in cache. Needs inC to be a multiple of 4 (a vector of channels never
// straddles two window pixels).

import { MC } from './blocking';
import { storeTransposed } from './simd';

/** The geometry of the current call (each thread's instance has its own copy). */
let inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, kW: i32;
let strideH: i32, strideW: i32, padTop: i32, padLeft: i32;
/** Floats of zeros in scratch that stand in for pixels outside the image: the widest input. */
export const ZERO_FLOATS: i32 = 1024;
/** Scratch floats for the zeros and the pixel table below. */
export const PATCH_SCRATCH_FLOATS: i32 = ZERO_FLOATS + 3 * MC;
let zeros: usize = 0;
/** Per row of the current block of A (an output pixel): byte offset of its window's corner, and the corner's (y, x), which may lie outside. */
let rowOffset: usize = 0, rowY: usize = 0, rowX: usize = 0;

export function setGeometry(
  h: i32, w: i32, c: i32, oh: i32, ow: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, scratch: usize,
): void {
  inH = h; inW = w; inC = c; outH = oh; outW = ow; kW = kw;
  strideH = sh; strideW = sw; padTop = pt; padLeft = pl;
  zeros = scratch;
  memory.fill(zeros, 0, <usize>ZERO_FLOATS << 2);
  rowOffset = zeros + (<usize>ZERO_FLOATS << 2);
  rowY = rowOffset + (<usize>MC << 2);
  rowX = rowY + (<usize>MC << 2);
}

/** Fills the row table for pixels [i0, i0 + mc) (those past `mEnd` get a corner far outside). */
export function pixelTable(i0: i32, mc: i32, mEnd: i32): void {
  const perImage = outH * outW;
  let b = i0 / perImage;
  let oy = (i0 - b * perImage) / outW;
  let ox = i0 - b * perImage - oy * outW;
  for (let r = 0; r < mc; r++) {
    const y = oy * strideH - padTop, x = ox * strideW - padLeft;
    const o = <usize>r << 2;
    store<i32>(rowY + o, i0 + r < mEnd ? y : -0x40000000);
    store<i32>(rowX + o, x);
    store<i32>(rowOffset + o, (((b * inH + y) * inW + x) * inC) << 2);
    if (++ox == outW) {
      ox = 0;
      if (++oy == outH) { oy = 0; b++; }
    }
  }
}

/** Channel c of window pixel (ky, kx) of table row r, as a byte address in `x`, or the zeros when outside. */
@inline function source(x: usize, r: i32, ky: i32, kx: i32, c: i32): usize {
  const o = <usize>r << 2;
  const y = load<i32>(rowY + o) + ky, xx = load<i32>(rowX + o) + kx;
  if (<u32>y >= <u32>inH || <u32>xx >= <u32>inW) return zeros;
  return x + <usize>(load<i32>(rowOffset + o) + (((ky * inW + kx) * inC + c) << 2));
}

/**
 * packA for A = the patch matrix of image batch `x`: rows [i0, i0+mc) (pixels, table rows from 0)
 * by columns [p0, p0+kc) into 4-row panels. Four pixels' runs of channels are loaded as a 4x4
 * block and transposed with shuffles, as packA does for a stored matrix.
 */
export function packPatchRows(x: usize, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += 4) {
    let out = dst + (<usize>(ir * kc) << 2);
    let p = p0;
    while (p < p0 + kc) {
      const tap = p / inC, c = p - tap * inC;
      const ky = tap / kW, kx = tap - ky * kW;
      const n = min(inC - c, p0 + kc - p);
      const s0 = source(x, ir, ky, kx, c), s1 = source(x, ir + 1, ky, kx, c);
      const s2 = source(x, ir + 2, ky, kx, c), s3 = source(x, ir + 3, ky, kx, c);
      for (let q = 0; q < n; q += 4, out += 64) {
        const o = <usize>q << 2;
        const r0 = v128.load(s0 + o), r1 = v128.load(s1 + o), r2 = v128.load(s2 + o), r3 = v128.load(s3 + o);
        storeTransposed(out, r0, r1, r2, r3);
      }
      p += n;
    }
  }
}

/**
 * packA for A = the transposed patch matrix: rows [i0, i0+mc) (patch entries) by columns
 * [p0, p0+kc) (output pixels). Four rows are one vector of channels of one window pixel; the
 * panels of one window pixel are filled together, so each pixel's channels are read in one run.
 */
export function packPatchColumns(x: usize, i0: i32, mc: i32, mEnd: i32, p0: i32, kc: i32, dst: usize): void {
  const perImage = outH * outW;
  const panel = <usize>(4 * kc) << 2;
  for (let ir = 0; ir < mc; ) {
    const i = i0 + ir;
    const out = dst + (<usize>(ir * kc) << 2);
    if (i >= mEnd) {
      memory.fill(out, 0, panel);
      ir += 4;
      continue;
    }
    const tap = i / inC, c = i - tap * inC;
    const ky = tap / kW, kx = tap - ky * kW;
    const groups = min(inC - c, min(mc - ir, mEnd - i)) >> 2; // panels of this window pixel
    let b = p0 / perImage;
    let oy = (p0 - b * perImage) / outW;
    let ox = p0 - b * perImage - oy * outW;
    for (let p = 0; p < kc; p++) {
      const y = oy * strideH + ky - padTop, xx = ox * strideW + kx - padLeft;
      const o = out + (<usize>p << 4);
      if (<u32>y < <u32>inH && <u32>xx < <u32>inW) {
        const src = x + (<usize>(((b * inH + y) * inW + xx) * inC + c) << 2);
        for (let g = 0; g < groups; g++) v128.store(o + <usize>g * panel, v128.load(src + (<usize>g << 4)));
      } else {
        for (let g = 0; g < groups; g++) v128.store(o + <usize>g * panel, f32x4.splat(0));
      }
      if (++ox == outW) {
        ox = 0;
        if (++oy == outH) { oy = 0; b++; }
      }
    }
    ir += groups << 2;
  }
}
