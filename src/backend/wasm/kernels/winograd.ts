// 3x3, stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3) (AssemblyScript; Lavin
// and Gray, "Fast Algorithms for Convolutional Neural Networks", 2015). The output is cut into
// 4x4 tiles; each tile's 6x6 input window d becomes V = Bᵀ d B and each filter g becomes
// U = G g Gᵀ, and then
//   forward:         y  = Aᵀ [Σ_ci U ⊙ V] A                      (36 products of 36 numbers),
//   input gradient:  dd = B [Σ_co U ⊙ (A dy Aᵀ)] Bᵀ, added back over the overlapping windows,
//   filter gradient: dg = Gᵀ [Σ_tiles V ⊙ (A dy Aᵀ)] G            (the adjoints of the forward).
// Each of the 36 sums is a small matrix product over channels (or, for the filter gradient, over
// tiles), run here on a block of tiles that stays in cache. A tile costs 36 multiply-adds per
// channel pair against 144 for the direct convolution; with the transforms and the tiles that
// hang over the image's edge, the reference CNN's middle layer does about a third of the work.
// The transforms scale terms up and back down, so the rounding error is about 1e-5 of a layer's
// largest value, against 1e-6 for the GEMM. Needs inC and outC to be multiples of 8. The twin of ../../ref/conv.ts (the
// specification; the results agree within float tolerance, not bit for bit).

import { product, SGEMM_SCRATCH_FLOATS } from './matmul';
import { madd } from './simd';

/** Tiles per block at most (a block's transforms and products stay in a thread's cache). */
const BLOCK_TILES: i32 = 32;
/** Bytes at the start of the scratch: a vector of zeros, the window table, two 6x6 vector buffers. */
const HEADER: usize = 2048;
const ZEROS: usize = 0, BASES: usize = 16, MASKS: usize = 16 + 36 * 4, TMP: usize = 512, TMP2: usize = 512 + 576;

/** The geometry of the current call (each thread's instance has its own copy). */
let inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32, padTop: i32, padLeft: i32;
/** Tiles of `tile` x `tile` outputs, whose windows are `alpha` = tile + 2 wide: F(4x4) or F(3x3). */
let tile: i32, alpha: i32, tilesH: i32, tilesW: i32, block: i32;

function setGeometry(co: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32, pt: i32, pl: i32, scratch: usize, m: i32): void {
  inH = h; inW = w; inC = c; outH = oh; outW = ow; outC = co; padTop = pt; padLeft = pl;
  tile = m; alpha = m + 2;
  tilesH = (oh + m - 1) / m;
  tilesW = (ow + m - 1) / m;
  block = min(BLOCK_TILES, ((SGEMM_SCRATCH_FLOATS - <i32>(HEADER >> 2) - 72 * 16) / (36 * (c + co))) & ~3);
  v128.store(scratch + ZEROS, f32x4.splat(0));
}

/**
 * Bytes from one ξ's matrix of `floats` to the next: a cache line more, so that the 36 of them,
 * read or written together by a tile's transform, do not all fall into one set of the L1 cache
 * (as sizes that are multiples of 4 KiB would).
 */
@inline function slab(floats: i32): usize {
  return <usize>(floats + 16) << 2;
}

// The 1-D transforms, on vectors of four channels; each stores its results at dst + i * step.

/** Bᵀ d (6 -> 6): how an input window is transformed. */
@inline function inputRow(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, step: usize): void {
  const four = f32x4.splat(4), two = f32x4.splat(2), minus5 = f32x4.splat(-5);
  v128.store(dst, madd(d0, four, madd(d2, minus5, d4)));
  v128.store(dst + step, f32x4.sub(f32x4.add(d3, d4), f32x4.mul(four, f32x4.add(d1, d2))));
  v128.store(dst + 2 * step, madd(four, f32x4.sub(d1, d2), f32x4.sub(d4, d3)));
  v128.store(dst + 3 * step, madd(two, f32x4.sub(d3, d1), f32x4.sub(d4, d2)));
  v128.store(dst + 4 * step, f32x4.sub(f32x4.sub(d4, d2), f32x4.mul(two, f32x4.sub(d3, d1))));
  v128.store(dst + 5 * step, madd(d1, four, madd(d3, minus5, d5)));
}

/** B dv (6 -> 6): the adjoint of inputRow, for the input gradient. */
@inline function inputRowAdjoint(v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, dst: usize, step: usize): void {
  const four = f32x4.splat(4), two = f32x4.splat(2), minus5 = f32x4.splat(-5);
  const s12 = f32x4.add(v1, v2), s34 = f32x4.add(v3, v4);
  v128.store(dst, f32x4.mul(four, v0));
  v128.store(dst + step, madd(four, f32x4.add(f32x4.sub(v2, v1), v5), f32x4.mul(two, f32x4.sub(v4, v3))));
  v128.store(dst + 2 * step, f32x4.sub(madd(minus5, v0, f32x4.neg(s34)), f32x4.mul(four, s12)));
  v128.store(dst + 3 * step, madd(minus5, v5, madd(two, f32x4.sub(v3, v4), f32x4.sub(v1, v2))));
  v128.store(dst + 4 * step, f32x4.add(f32x4.add(v0, s12), s34));
  v128.store(dst + 5 * step, v5);
}

/** Aᵀ m (6 -> 4): how a tile's products become its 4 outputs. */
@inline function outputRow(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, dst: usize, step: usize): void {
  const s12 = f32x4.add(m1, m2), d12 = f32x4.sub(m1, m2), s34 = f32x4.add(m3, m4), d34 = f32x4.sub(m3, m4);
  v128.store(dst, f32x4.add(f32x4.add(m0, s12), s34));
  v128.store(dst + step, madd(f32x4.splat(2), d34, d12));
  v128.store(dst + 2 * step, madd(f32x4.splat(4), s34, s12));
  v128.store(dst + 3 * step, f32x4.add(madd(f32x4.splat(8), d34, d12), m5));
}

/** A dy (4 -> 6): the adjoint of outputRow, for the gradients. */
@inline function outputRowAdjoint(y0: v128, y1: v128, y2: v128, y3: v128, dst: usize, step: usize): void {
  const four = f32x4.splat(4);
  const e = f32x4.add(y0, y2), o = f32x4.add(y1, y3);
  const e4 = madd(four, y2, y0), o4 = f32x4.mul(f32x4.splat(2), madd(four, y3, y1));
  v128.store(dst, y0);
  v128.store(dst + step, f32x4.add(e, o));
  v128.store(dst + 2 * step, f32x4.sub(e, o));
  v128.store(dst + 3 * step, f32x4.add(e4, o4));
  v128.store(dst + 4 * step, f32x4.sub(e4, o4));
  v128.store(dst + 5 * step, y3);
}

/** G g (3 -> 6): how a filter row is transformed. */
@inline function filterRow(g0: v128, g1: v128, g2: v128, dst: usize, step: usize): void {
  const s02 = f32x4.add(g0, g2);
  const sixth = f32x4.splat(1.0 / 6), twelfth = f32x4.splat(1.0 / 12), z = f32x4.splat(1.0 / 24);
  const a = madd(z, g0, f32x4.mul(sixth, g2)), b = f32x4.mul(twelfth, g1);
  v128.store(dst, f32x4.mul(f32x4.splat(0.25), g0));
  v128.store(dst + step, f32x4.mul(f32x4.splat(-1.0 / 6), f32x4.add(s02, g1)));
  v128.store(dst + 2 * step, f32x4.mul(f32x4.splat(-1.0 / 6), f32x4.sub(s02, g1)));
  v128.store(dst + 3 * step, f32x4.add(a, b));
  v128.store(dst + 4 * step, f32x4.sub(a, b));
  v128.store(dst + 5 * step, g2);
}

/** Gᵀ du (6 -> 3): the adjoint of filterRow, for the filter gradient. */
@inline function filterRowAdjoint(u0: v128, u1: v128, u2: v128, u3: v128, u4: v128, u5: v128, dst: usize, step: usize): void {
  const sixth = f32x4.splat(1.0 / 6);
  const s12 = f32x4.add(u1, u2), s34 = f32x4.add(u3, u4);
  v128.store(dst, madd(f32x4.splat(1.0 / 24), s34, madd(f32x4.splat(-1.0 / 6), s12, f32x4.mul(f32x4.splat(0.25), u0))));
  v128.store(dst + step, madd(f32x4.splat(1.0 / 12), f32x4.sub(u3, u4), f32x4.mul(sixth, f32x4.sub(u2, u1))));
  v128.store(dst + 2 * step, madd(sixth, f32x4.sub(s34, s12), u5));
}

// The same for F(3x3, 3x3), on the points 0, 1, -1, 2 and ∞ (5-wide windows):
//   Bᵀ = [2 -1 -2 1 0; 0 -2 -1 1 0; 0 2 -3 1 0; 0 -1 0 1 0; 0 2 -1 -2 1],
//   G = [1/2 0 0; -1/2 -1/2 -1/2; -1/6 1/6 -1/6; 1/6 1/3 2/3; 0 0 1],   Aᵀ = [1 1 1 1 0; 0 1 -1 2 0; 0 1 1 4 1].

/** Bᵀ d (5 -> 5). */
@inline function inputRow3(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, dst: usize, step: usize): void {
  const two = f32x4.splat(2);
  v128.store(dst, madd(two, f32x4.sub(d0, d2), f32x4.sub(d3, d1)));
  v128.store(dst + step, madd(f32x4.splat(-2), d1, f32x4.sub(d3, d2)));
  v128.store(dst + 2 * step, madd(two, f32x4.sub(d1, d2), f32x4.sub(d3, d2)));
  v128.store(dst + 3 * step, f32x4.sub(d3, d1));
  v128.store(dst + 4 * step, madd(two, f32x4.sub(d1, d3), f32x4.sub(d4, d2)));
}

/** B v (5 -> 5): the adjoint of inputRow3. */
@inline function inputRowAdjoint3(v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, dst: usize, step: usize): void {
  const two = f32x4.splat(2);
  v128.store(dst, f32x4.add(v0, v0));
  v128.store(dst + step, madd(two, f32x4.sub(f32x4.add(v2, v4), v1), f32x4.neg(f32x4.add(v0, v3))));
  v128.store(dst + 2 * step, f32x4.neg(madd(two, v0, madd(f32x4.splat(3), v2, f32x4.add(v1, v4)))));
  v128.store(dst + 3 * step, madd(f32x4.splat(-2), v4, f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3))));
  v128.store(dst + 4 * step, v4);
}

/** Aᵀ m (5 -> 3). */
@inline function outputRow3(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, dst: usize, step: usize): void {
  const s12 = f32x4.add(m1, m2);
  v128.store(dst, f32x4.add(f32x4.add(m0, s12), m3));
  v128.store(dst + step, madd(f32x4.splat(2), m3, f32x4.sub(m1, m2)));
  v128.store(dst + 2 * step, madd(f32x4.splat(4), m3, f32x4.add(s12, m4)));
}

/** A y (3 -> 5): the adjoint of outputRow3. */
@inline function outputRowAdjoint3(y0: v128, y1: v128, y2: v128, dst: usize, step: usize): void {
  const e = f32x4.add(y0, y2);
  v128.store(dst, y0);
  v128.store(dst + step, f32x4.add(e, y1));
  v128.store(dst + 2 * step, f32x4.sub(e, y1));
  v128.store(dst + 3 * step, madd(f32x4.splat(4), y2, madd(f32x4.splat(2), y1, y0)));
  v128.store(dst + 4 * step, y2);
}

/** G g (3 -> 5). */
@inline function filterRow3(g0: v128, g1: v128, g2: v128, dst: usize, step: usize): void {
  const s02 = f32x4.add(g0, g2), sixth = f32x4.splat(1.0 / 6);
  v128.store(dst, f32x4.mul(f32x4.splat(0.5), g0));
  v128.store(dst + step, f32x4.mul(f32x4.splat(-0.5), f32x4.add(s02, g1)));
  v128.store(dst + 2 * step, f32x4.mul(sixth, f32x4.sub(g1, s02)));
  v128.store(dst + 3 * step, f32x4.mul(sixth, madd(f32x4.splat(4), g2, madd(f32x4.splat(2), g1, g0))));
  v128.store(dst + 4 * step, g2);
}

/** Gᵀ u (5 -> 3): the adjoint of filterRow3. */
@inline function filterRowAdjoint3(u0: v128, u1: v128, u2: v128, u3: v128, u4: v128, dst: usize, step: usize): void {
  const sixth = f32x4.splat(1.0 / 6), half = f32x4.mul(f32x4.splat(-0.5), u1);
  v128.store(dst, madd(f32x4.splat(0.5), u0, madd(sixth, f32x4.sub(u3, u2), half)));
  v128.store(dst + step, madd(sixth, madd(f32x4.splat(2), u3, u2), half));
  v128.store(dst + 2 * step, f32x4.add(madd(sixth, madd(f32x4.splat(4), u3, f32x4.neg(u2)), half), u4));
}

// 2-D transforms of one tile, for one vector of channels, through the buffers TMP and TMP2.

/** Loads vector (r, c) of a 6-wide grid of vectors at `src` (rows `row` bytes apart). */
@inline function at(src: usize, row: usize, r: i32, c: i32): v128 {
  return v128.load(src + <usize>r * row + (<usize>c << 4));
}

/** Adds the a x a window of vectors at `src` into dx (h x w x ci) at image b, (y0, x0), channel c: the part inside the image. */
function addWindow(src: usize, a: i32, dx: usize, b: i32, y0: i32, x0: i32, c: i32, h: i32, w: i32, ci: i32): void {
  for (let r = 0; r < a; r++) {
    const y = y0 + r;
    if (<u32>y >= <u32>h) continue;
    for (let k = 0; k < a; k++) {
      const xx = x0 + k;
      if (<u32>xx >= <u32>w) continue;
      const d = dx + (<usize>(((b * h + y) * w + xx) * ci + c) << 2);
      v128.store(d, f32x4.add(v128.load(d), v128.load(src + (<usize>(r * a + k) << 4))));
    }
  }
}

/** Entry e of the window table (windowTable): its pixel's vector at channel byte offset `ch`, or zeros outside the image. */
@inline function windowAt(s: usize, e: i32, ch: i32): v128 {
  const o = <usize>e << 2;
  return v128.load(<usize>load<u32>(s + BASES + o) + <usize>(ch & load<i32>(s + MASKS + o)));
}

/** V = Bᵀ d B of the window in the table (BASES, MASKS), at channel byte offset `ch`, into dst + ξ * step. */
function transformWindow(s: usize, ch: i32, dst: usize, step: usize): void {
  const tmp = s + TMP;
  for (let r = 0; r < 6; r++) {
    const e = r * 6;
    inputRow(windowAt(s, e, ch), windowAt(s, e + 1, ch), windowAt(s, e + 2, ch), windowAt(s, e + 3, ch), windowAt(s, e + 4, ch), windowAt(s, e + 5, ch),
      tmp + <usize>r * 96, 16);
  }
  for (let c = 0; c < 6; c++) {
    inputRow(at(tmp, 96, 0, c), at(tmp, 96, 1, c), at(tmp, 96, 2, c), at(tmp, 96, 3, c), at(tmp, 96, 4, c), at(tmp, 96, 5, c),
      dst + <usize>c * step, 6 * step);
  }
}

/** A dy Aᵀ of the 4x4 output-gradient tile at (b, oy, ox), channel byte offset `ch`, into dst + ξ * step. */
function transformGradient(dy: usize, b: i32, oy: i32, ox: i32, ch: usize, s: usize, dst: usize, step: usize): void {
  const tmp = s + TMP;
  const zero = f32x4.splat(0);
  for (let r = 0; r < 4; r++) {
    const y = oy + r;
    let g0 = zero, g1 = zero, g2 = zero, g3 = zero;
    if (y < outH) {
      const row = dy + (<usize>(((b * outH + y) * outW + ox) * outC) << 2) + ch;
      const px = <usize>outC << 2;
      g0 = v128.load(row);
      if (ox + 1 < outW) g1 = v128.load(row + px);
      if (ox + 2 < outW) g2 = v128.load(row + 2 * px);
      if (ox + 3 < outW) g3 = v128.load(row + 3 * px);
    }
    outputRowAdjoint(g0, g1, g2, g3, tmp + <usize>r * 96, 16);
  }
  for (let c = 0; c < 6; c++) {
    outputRowAdjoint(at(tmp, 96, 0, c), at(tmp, 96, 1, c), at(tmp, 96, 2, c), at(tmp, 96, 3, c), dst + <usize>c * step, 6 * step);
  }
}

/** The window table of tile t (its image's corner rows and columns may lie outside: those read zeros). */
function windowTable(x: usize, t: i32, s: usize): void {
  const per = tilesH * tilesW;
  const b = t / per, ty = (t - b * per) / tilesW, tx = t - b * per - ty * tilesW;
  const y0 = ty * tile - padTop, x0 = tx * tile - padLeft;
  for (let r = 0; r < alpha; r++) for (let c = 0; c < alpha; c++) {
    const y = y0 + r, xx = x0 + c;
    const o = <usize>(r * alpha + c) << 2;
    const inside = <u32>y < <u32>inH && <u32>xx < <u32>inW;
    store<u32>(s + BASES + o, inside ? <u32>(x + (<usize>(((b * inH + y) * inW + xx) * inC) << 2)) : <u32>(s + ZEROS));
    store<i32>(s + MASKS + o, inside ? -1 : 0);
  }
}

/** For each ξ: C_ξ (rows x cols) = A_ξ (rows x k) · B_ξ (k x cols), each row-major and a slab() after the last. */
function products(a: usize, b: usize, c: usize, rows: i32, k: i32, cols: i32): void {
  const aRow = <usize>k << 2, bRow = <usize>cols << 2;
  for (let xi = 0; xi < 36; xi++) {
    const ax = a + <usize>xi * slab(rows * k), bx = b + <usize>xi * slab(k * cols), cx = c + <usize>xi * slab(rows * cols);
    for (let j = 0; j < cols; j += 8) {
      for (let i = 0; i < rows; i += 4) {
        product(k, ax + <usize>i * aRow, aRow, 4, bx + (<usize>j << 2), bRow, cx + <usize>i * bRow + (<usize>j << 2), bRow, false);
      }
    }
  }
}

/** Four floats `step` bytes apart, as a vector. */
@inline function gather4(p: usize, step: usize): v128 {
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + step));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * step));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * step));
}

/**
 * The transformed filters u = G g Gᵀ for F(m x m) (m = 4 or 3), laid out (ξ, inC, outC) for rows
 * [start, end) of inC, or with `transposed` (ξ, outC, inC) for rows [start, end) of outC (for the
 * input gradient); ξ a slab() apart. w is (3, 3, inC, outC). Each thread writes whole rows of its own.
 */
export function winogradWeights(w: usize, u: usize, ci: i32, co: i32, transposed: bool, m: i32, start: i32, end: i32, s: usize): void {
  const tmp = s + TMP, a = m + 2, row = <usize>a << 4;
  const tap = <usize>(ci * co) << 2, across = transposed ? ci : co;
  for (let r = start; r < end; r++) {
    for (let q = 0; q < across; q += 4) {
      // Vectors run along a row of u: four filters' outC (or, transposed, four inC) at once.
      const g = w + (<usize>(transposed ? q * co + r : r * co + q) << 2);
      for (let ky = 0; ky < 3; ky++) {
        const k0 = g + <usize>(3 * ky) * tap;
        const step = <usize>co << 2;
        const g0 = transposed ? gather4(k0, step) : v128.load(k0);
        const g1 = transposed ? gather4(k0 + tap, step) : v128.load(k0 + tap);
        const g2 = transposed ? gather4(k0 + 2 * tap, step) : v128.load(k0 + 2 * tap);
        if (m == 4) filterRow(g0, g1, g2, tmp + <usize>ky * row, 16);
        else filterRow3(g0, g1, g2, tmp + <usize>ky * row, 16);
      }
      const dst = u + (<usize>(r * across + q) << 2), step = slab(ci * co);
      for (let k = 0; k < a; k++) {
        if (m == 4) filterRow(at(tmp, row, 0, k), at(tmp, row, 1, k), at(tmp, row, 2, k), dst + <usize>k * step, 6 * step);
        else filterRow3(at(tmp, row, 0, k), at(tmp, row, 1, k), at(tmp, row, 2, k), dst + <usize>k * step, 5 * step);
      }
    }
  }
}

/** out = conv(x, w) for tiles [start, end) (tile t is image t / (tilesH * tilesW)), with u from winogradWeights. */
export function winogradForward(
  x: usize, u: usize, out: usize, co: i32, _batch: i32, h: i32, w: i32, ci: i32, oh: i32, ow: i32,
  _kH: i32, _kW: i32, _strideH: i32, _strideW: i32, pt: i32, pl: i32, start: i32, end: i32, s: usize,
): void {
  setGeometry(co, h, w, ci, oh, ow, pt, pl, s, 4);
  const v = s + HEADER, m = v + 36 * slab(block * ci);
  const per = tilesH * tilesW;
  for (let t0 = start; t0 < end; t0 += block) {
    const n = min(block, end - t0), rows = (n + 3) & ~3;
    const vStep = slab(rows * ci), mStep = slab(rows * co);
    for (let i = 0; i < rows; i++) {
      if (i < n) windowTable(x, t0 + i, s);
      else for (let e = 0; e < 36; e++) { store<u32>(s + BASES + (<usize>e << 2), <u32>(s + ZEROS)); store<i32>(s + MASKS + (<usize>e << 2), 0); }
      for (let c = 0; c < ci; c += 4) transformWindow(s, c << 2, v + (<usize>(i * ci + c) << 2), vStep);
    }
    products(v, u, m, rows, ci, co);
    for (let i = 0; i < n; i++) {
      const t = t0 + i;
      const b = t / per, ty = (t - b * per) / tilesW, tx = t - b * per - ty * tilesW;
      const oy = ty * 4, ox = tx * 4;
      const hh = min(4, oh - oy), ww = min(4, ow - ox);
      const tmp = s + TMP, tmp2 = s + TMP2;
      for (let o = 0; o < co; o += 4) {
        const src = m + (<usize>(i * co + o) << 2);
        for (let r = 0; r < 6; r++) {
          const e = src + <usize>(r * 6) * mStep;
          outputRow(v128.load(e), v128.load(e + mStep), v128.load(e + 2 * mStep), v128.load(e + 3 * mStep), v128.load(e + 4 * mStep), v128.load(e + 5 * mStep),
            tmp + <usize>r * 96, 16);
        }
        for (let c = 0; c < 4; c++) outputRow(at(tmp, 96, 0, c), at(tmp, 96, 1, c), at(tmp, 96, 2, c), at(tmp, 96, 3, c), at(tmp, 96, 4, c), at(tmp, 96, 5, c), tmp2 + (<usize>c << 4), 64);
        for (let r = 0; r < hh; r++) {
          const dst = out + (<usize>(((b * oh + oy + r) * ow + ox) * co + o) << 2);
          for (let c = 0; c < ww; c++) v128.store(dst + (<usize>(c * co) << 2), v128.load(tmp2 + (<usize>(r * 4 + c) << 4)));
        }
      }
    }
  }
}

/**
 * dx = the input gradient for images [start, end) (each thread owns whole images, since windows
 * overlap), with ut from winogradWeights (transposed).
 */
export function winogradInput(
  dy: usize, ut: usize, dx: usize, co: i32, _batch: i32, h: i32, w: i32, ci: i32, oh: i32, ow: i32,
  _kH: i32, _kW: i32, _strideH: i32, _strideW: i32, pt: i32, pl: i32, start: i32, end: i32, s: usize,
): void {
  setGeometry(co, h, w, ci, oh, ow, pt, pl, s, 4);
  memory.fill(dx + (<usize>(start * h * w * ci) << 2), 0, <usize>((end - start) * h * w * ci) << 2);
  const gm = s + HEADER, dv = gm + 36 * slab(block * co);
  const per = tilesH * tilesW;
  const first = start * per, last = end * per;
  for (let t0 = first; t0 < last; t0 += block) {
    const n = min(block, last - t0), rows = (n + 3) & ~3;
    const gStep = slab(rows * co), vStep = slab(rows * ci);
    for (let i = 0; i < rows; i++) {
      const t = t0 + i;
      const b = t / per, ty = (t - b * per) / tilesW, tx = t - b * per - ty * tilesW;
      for (let o = 0; o < co; o += 4) {
        const dst = gm + (<usize>(i * co + o) << 2);
        if (i < n) transformGradient(dy, b, ty * 4, tx * 4, <usize>o << 2, s, dst, gStep);
        else for (let e = 0; e < 36; e++) v128.store(dst + <usize>e * gStep, f32x4.splat(0));
      }
    }
    products(gm, ut, dv, rows, co, ci);
    for (let i = 0; i < n; i++) {
      const t = t0 + i;
      const b = t / per, ty = (t - b * per) / tilesW, tx = t - b * per - ty * tilesW;
      const y0 = ty * 4 - pt, x0 = tx * 4 - pl;
      const tmp = s + TMP, tmp2 = s + TMP2;
      for (let c = 0; c < ci; c += 4) {
        const src = dv + (<usize>(i * ci + c) << 2);
        for (let r = 0; r < 6; r++) {
          const e = src + <usize>(r * 6) * vStep;
          inputRowAdjoint(v128.load(e), v128.load(e + vStep), v128.load(e + 2 * vStep), v128.load(e + 3 * vStep), v128.load(e + 4 * vStep), v128.load(e + 5 * vStep),
            tmp + <usize>r * 96, 16);
        }
        for (let k = 0; k < 6; k++) inputRowAdjoint(at(tmp, 96, 0, k), at(tmp, 96, 1, k), at(tmp, 96, 2, k), at(tmp, 96, 3, k), at(tmp, 96, 4, k), at(tmp, 96, 5, k), tmp2 + (<usize>k << 4), 96);
        addWindow(tmp2, 6, dx, b, y0, x0, c, h, w, ci);
      }
    }
  }
}

/**
 * Partial filter gradients in the transformed domain: part p (of `parts`, for p in [start, end))
 * sums V ⊙ (A dy Aᵀ) over its share of the tiles into partials + p * 36 * slab(inC * outC)
 * bytes, laid out (ξ, inC, outC). winogradFilterSum adds the parts and transforms back.
 */
export function winogradFilter(
  x: usize, dy: usize, partials: usize, parts: i32, co: i32, batch: i32, h: i32, w: i32, ci: i32, oh: i32, ow: i32,
  _kH: i32, _kW: i32, _strideH: i32, _strideW: i32, pt: i32, pl: i32, start: i32, end: i32, s: usize,
): void {
  setGeometry(co, h, w, ci, oh, ow, pt, pl, s, 4);
  const v = s + HEADER, gm = v + 36 * slab(block * ci);
  const per = tilesH * tilesW, tiles = batch * per;
  const share = (tiles + parts - 1) / parts;
  for (let p = start; p < end; p++) {
    const du = partials + <usize>p * 36 * slab(ci * co);
    const first = min(tiles, p * share), last = min(tiles, first + share);
    if (first == last) memory.fill(du, 0, 36 * slab(ci * co));
    for (let t0 = first; t0 < last; t0 += block) {
      const n = min(block, last - t0);
      const vStep = slab(n * ci), gStep = slab(n * co);
      for (let i = 0; i < n; i++) {
        const t = t0 + i;
        const b = t / per, ty = (t - b * per) / tilesW, tx = t - b * per - ty * tilesW;
        windowTable(x, t, s);
        for (let c = 0; c < ci; c += 4) transformWindow(s, c << 2, v + (<usize>(i * ci + c) << 2), vStep);
        for (let o = 0; o < co; o += 4) transformGradient(dy, b, ty * 4, tx * 4, <usize>o << 2, s, gm + (<usize>(i * co + o) << 2), gStep);
      }
      // du_ξ (inC x outC) (+)= V_ξᵀ (inC x n) · M_ξ (n x outC)
      const rowBytes = <usize>co << 2;
      for (let xi = 0; xi < 36; xi++) {
        const vx = v + <usize>xi * vStep, gx = gm + <usize>xi * gStep, dx = du + <usize>xi * slab(ci * co);
        for (let j = 0; j < co; j += 8) {
          for (let i = 0; i < ci; i += 4) {
            product(n, vx + (<usize>i << 2), 4, <usize>ci << 2, gx + (<usize>j << 2), rowBytes, dx + <usize>i * rowBytes + (<usize>j << 2), rowBytes, t0 > first);
          }
        }
      }
    }
  }
}

/** dw = Gᵀ (Σ_parts du) G for input channels [start, end); dw is (3, 3, inC, outC). */
export function winogradFilterSum(partials: usize, parts: i32, dw: usize, ci: i32, co: i32, start: i32, end: i32, s: usize): void {
  const tmp = s + TMP, tmp2 = s + TMP2;
  const tap = slab(ci * co), part = 36 * tap;
  for (let c = start; c < end; c++) {
    for (let o = 0; o < co; o += 4) {
      const src = partials + (<usize>(c * co + o) << 2);
      for (let xi = 0; xi < 36; xi++) {
        let sum = v128.load(src + <usize>xi * tap);
        for (let p = 1; p < parts; p++) sum = f32x4.add(sum, v128.load(src + <usize>p * part + <usize>xi * tap));
        v128.store(tmp + (<usize>xi << 4), sum);
      }
      for (let r = 0; r < 6; r++) filterRowAdjoint(at(tmp, 96, r, 0), at(tmp, 96, r, 1), at(tmp, 96, r, 2), at(tmp, 96, r, 3), at(tmp, 96, r, 4), at(tmp, 96, r, 5), tmp2 + <usize>r * 48, 16);
      for (let k = 0; k < 3; k++) {
        filterRowAdjoint(at(tmp2, 48, 0, k), at(tmp2, 48, 1, k), at(tmp2, 48, 2, k), at(tmp2, 48, 3, k), at(tmp2, 48, 4, k), at(tmp2, 48, 5, k),
          dw + (<usize>((k * ci + c) * co + o) << 2), <usize>(3 * ci * co) << 2);
      }
    }
  }
}

// F(3x3, 3x3) for small outputs (a 3x3 output is one tile, where F(4x4) would waste most of its
// 6x6 windows). The whole batch (or a group of images, see the backend) is transformed at once
// into matrices (ξ, tiles, channels), tiles in fours, ξ a slab() apart; the 25 products, each over
// every tile, are then shared between threads by ξ and 8 columns at a time (winogradProducts), so
// that a thread reads only its own ξ's filters however few the tiles. Each step is its own kernel.

/** Rows of the F(3x3) matrices for the call's tiles: the tiles, in fours. */
function rows3(batch: i32): i32 {
  return (batch * tilesH * tilesW + 3) & ~3;
}

/** V = Bᵀ d B (5x5) of the window in the table, at channel byte offset `ch`, into dst + ξ * step. */
function transformWindow3(s: usize, ch: i32, dst: usize, step: usize): void {
  const tmp = s + TMP;
  for (let r = 0; r < 5; r++) {
    const e = r * 5;
    inputRow3(windowAt(s, e, ch), windowAt(s, e + 1, ch), windowAt(s, e + 2, ch), windowAt(s, e + 3, ch), windowAt(s, e + 4, ch), tmp + <usize>r * 80, 16);
  }
  for (let c = 0; c < 5; c++) {
    inputRow3(at(tmp, 80, 0, c), at(tmp, 80, 1, c), at(tmp, 80, 2, c), at(tmp, 80, 3, c), at(tmp, 80, 4, c), dst + <usize>c * step, 5 * step);
  }
}

/** V (ξ, rows, inC) of x's windows, for rows [start, end) (rows past the last tile are zeros). */
export function winograd3Windows(
  x: usize, v: usize, co: i32, batch: i32, h: i32, w: i32, ci: i32, oh: i32, ow: i32,
  _kH: i32, _kW: i32, _strideH: i32, _strideW: i32, pt: i32, pl: i32, start: i32, end: i32, s: usize,
): void {
  setGeometry(co, h, w, ci, oh, ow, pt, pl, s, 3);
  const tiles = batch * tilesH * tilesW, step = slab(rows3(batch) * ci);
  for (let t = start; t < end; t++) {
    if (t < tiles) windowTable(x, t, s);
    else for (let e = 0; e < 25; e++) { store<u32>(s + BASES + (<usize>e << 2), <u32>(s + ZEROS)); store<i32>(s + MASKS + (<usize>e << 2), 0); }
    for (let c = 0; c < ci; c += 4) transformWindow3(s, c << 2, v + (<usize>(t * ci + c) << 2), step);
  }
}

/** A dy Aᵀ (ξ, rows, outC) of dy's 3x3 tiles, for rows [start, end) (rows past the last tile are zeros). */
export function winograd3Gradients(
  dy: usize, gm: usize, co: i32, batch: i32, h: i32, w: i32, ci: i32, oh: i32, ow: i32,
  _kH: i32, _kW: i32, _strideH: i32, _strideW: i32, pt: i32, pl: i32, start: i32, end: i32, s: usize,
): void {
  setGeometry(co, h, w, ci, oh, ow, pt, pl, s, 3);
  const per = tilesH * tilesW, tiles = batch * per, step = slab(rows3(batch) * co);
  const tmp = s + TMP, zero = f32x4.splat(0), px = <usize>co << 2;
  for (let t = start; t < end; t++) {
    const b = t / per, ty = (t - b * per) / tilesW, tx = t - b * per - ty * tilesW;
    const oy = ty * 3, ox = tx * 3;
    for (let o = 0; o < co; o += 4) {
      const dst = gm + (<usize>(t * co + o) << 2);
      for (let r = 0; r < 3; r++) {
        let g0 = zero, g1 = zero, g2 = zero;
        if (t < tiles && oy + r < oh) {
          const row = dy + (<usize>(((b * oh + oy + r) * ow + ox) * co + o) << 2);
          g0 = v128.load(row);
          if (ox + 1 < ow) g1 = v128.load(row + px);
          if (ox + 2 < ow) g2 = v128.load(row + 2 * px);
        }
        outputRowAdjoint3(g0, g1, g2, tmp + <usize>r * 80, 16);
      }
      for (let c = 0; c < 5; c++) outputRowAdjoint3(at(tmp, 80, 0, c), at(tmp, 80, 1, c), at(tmp, 80, 2, c), dst + <usize>c * step, 5 * step);
    }
  }
}

/**
 * For items [start, end) of (ξ, 8 columns): C_ξ (m x n) = A_ξ (m x k) · B_ξ (k x n), each
 * row-major and a slab() after the last; m is a multiple of 4 and n of 8.
 */
export function winogradProducts(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, start: i32, end: i32, _s: usize): void {
  const panels = n >> 3, aRow = <usize>k << 2, row = <usize>n << 2;
  for (let item = start; item < end; item++) {
    const xi = item / panels, j = <usize>(item - xi * panels) << 5;
    const ax = a + <usize>xi * slab(m * k), bx = b + <usize>xi * slab(k * n) + j, cx = c + <usize>xi * slab(m * n) + j;
    for (let i = 0; i < m; i += 4) product(k, ax + <usize>i * aRow, aRow, 4, bx, row, cx + <usize>i * row, row, false);
  }
}

/** out = Aᵀ M A for the 3x3 tiles [start, end), from M (ξ, rows, outC). */
export function winograd3Output(
  mm: usize, out: usize, co: i32, batch: i32, h: i32, w: i32, ci: i32, oh: i32, ow: i32,
  _kH: i32, _kW: i32, _strideH: i32, _strideW: i32, pt: i32, pl: i32, start: i32, end: i32, s: usize,
): void {
  setGeometry(co, h, w, ci, oh, ow, pt, pl, s, 3);
  const per = tilesH * tilesW, step = slab(rows3(batch) * co);
  const tmp = s + TMP, tmp2 = s + TMP2;
  for (let t = start; t < end; t++) {
    const b = t / per, ty = (t - b * per) / tilesW, tx = t - b * per - ty * tilesW;
    const oy = ty * 3, ox = tx * 3, hh = min(3, oh - oy), ww = min(3, ow - ox);
    for (let o = 0; o < co; o += 4) {
      const src = mm + (<usize>(t * co + o) << 2);
      for (let r = 0; r < 5; r++) {
        const e = src + <usize>(r * 5) * step;
        outputRow3(v128.load(e), v128.load(e + step), v128.load(e + 2 * step), v128.load(e + 3 * step), v128.load(e + 4 * step), tmp + <usize>r * 48, 16);
      }
      for (let c = 0; c < 3; c++) outputRow3(at(tmp, 48, 0, c), at(tmp, 48, 1, c), at(tmp, 48, 2, c), at(tmp, 48, 3, c), at(tmp, 48, 4, c), tmp2 + (<usize>c << 4), 48);
      for (let r = 0; r < hh; r++) {
        const dst = out + (<usize>(((b * oh + oy + r) * ow + ox) * co + o) << 2);
        for (let c = 0; c < ww; c++) v128.store(dst + (<usize>(c * co) << 2), v128.load(tmp2 + (<usize>(r * 3 + c) << 4)));
      }
    }
  }
}

/**
 * dx = Σ_tiles B dV Bᵀ, added over the overlapping 5x5 windows, for images [start, end) (each
 * thread owns whole images), from dV (ξ, rows, inC).
 */
export function winograd3InputSum(
  dv: usize, dx: usize, co: i32, batch: i32, h: i32, w: i32, ci: i32, oh: i32, ow: i32,
  _kH: i32, _kW: i32, _strideH: i32, _strideW: i32, pt: i32, pl: i32, start: i32, end: i32, s: usize,
): void {
  setGeometry(co, h, w, ci, oh, ow, pt, pl, s, 3);
  memory.fill(dx + (<usize>(start * h * w * ci) << 2), 0, <usize>((end - start) * h * w * ci) << 2);
  const per = tilesH * tilesW, step = slab(rows3(batch) * ci);
  const tmp = s + TMP, tmp2 = s + TMP2;
  for (let t = start * per; t < end * per; t++) {
    const b = t / per, ty = (t - b * per) / tilesW, tx = t - b * per - ty * tilesW;
    const y0 = ty * 3 - pt, x0 = tx * 3 - pl;
    for (let c = 0; c < ci; c += 4) {
      const src = dv + (<usize>(t * ci + c) << 2);
      for (let r = 0; r < 5; r++) {
        const e = src + <usize>(r * 5) * step;
        inputRowAdjoint3(v128.load(e), v128.load(e + step), v128.load(e + 2 * step), v128.load(e + 3 * step), v128.load(e + 4 * step), tmp + <usize>r * 80, 16);
      }
      for (let k = 0; k < 5; k++) inputRowAdjoint3(at(tmp, 80, 0, k), at(tmp, 80, 1, k), at(tmp, 80, 2, k), at(tmp, 80, 3, k), at(tmp, 80, 4, k), tmp2 + (<usize>k << 4), 80);
      addWindow(tmp2, 5, dx, b, y0, x0, c, h, w, ci);
    }
  }
}

/**
 * dw (+)= Gᵀ du G for the blocks of four input channels [start, end), where du_ξ = V_ξᵀ · M_ξ
 * over every row, from V (ξ, rows, inC) and M = A dy Aᵀ (ξ, rows, outC). A block's du, (ξ, 4,
 * outC), stays in the scratch: each thread turns its own channels' sums into dw at once.
 */
export function winograd3Filter(v: usize, gm: usize, dw: usize, ci: i32, co: i32, rows: i32, accumulate: bool, start: i32, end: i32, s: usize): void {
  const row = <usize>co << 2, duStep = <usize>(4 * co + 16) << 2, du = s + HEADER;
  const vStep = slab(rows * ci), gStep = slab(rows * co), taps = <usize>(3 * ci * co) << 2;
  const tmp = s + TMP, tmp2 = s + TMP2;
  for (let block = start; block < end; block++) {
    const c0 = block << 2;
    for (let xi = 0; xi < 25; xi++) {
      const a = v + <usize>xi * vStep + (<usize>c0 << 2), b = gm + <usize>xi * gStep, c = du + <usize>xi * duStep;
      for (let j = 0; j < co; j += 8) product(rows, a, 4, <usize>ci << 2, b + (<usize>j << 2), row, c + (<usize>j << 2), row, false);
    }
    for (let i = 0; i < 4; i++) {
      for (let o = 0; o < co; o += 4) {
        const src = du + <usize>i * row + (<usize>o << 2);
        for (let r = 0; r < 5; r++) {
          const e = src + <usize>(r * 5) * duStep;
          filterRowAdjoint3(v128.load(e), v128.load(e + duStep), v128.load(e + 2 * duStep), v128.load(e + 3 * duStep), v128.load(e + 4 * duStep), tmp2 + <usize>r * 48, 16);
        }
        for (let k = 0; k < 3; k++) {
          filterRowAdjoint3(at(tmp2, 48, 0, k), at(tmp2, 48, 1, k), at(tmp2, 48, 2, k), at(tmp2, 48, 3, k), at(tmp2, 48, 4, k), tmp, 16);
          const dst = dw + (<usize>((k * ci + c0 + i) * co + o) << 2);
          for (let y = 0; y < 3; y++) {
            const d = dst + <usize>y * taps, value = v128.load(tmp + (<usize>y << 4));
            v128.store(d, accumulate ? f32x4.add(v128.load(d), value) : value);
          }
        }
      }
    }
  }
}
