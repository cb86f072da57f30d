// SGEMM (AssemblyScript, WebAssembly SIMD): C = op(A) · op(B), row-major, for the rows
// [rowStart, rowEnd) of C so that threads can share one product. GotoBLAS structure: B is packed
// into kc x 8 panels, A into 4 x kc panels, and a 4x8 register tile (eight f32x4 accumulators,
// which V8 keeps in registers; larger tiles spill) runs over each pair of panels.
// The twin of ../../ref/matmul.ts, which is the specification.

import { KC, MC, MR, NC, NR } from './blocking';
import { addPatchRows } from './conv';
import { packPatchColumns, packPatchRows, PATCH_SCRATCH_FLOATS, pixelTable, setGeometry } from './patches';
import { madd, storeTransposed } from './simd';

/** Floats of patch rows that convInput computes at a time (they stay in the thread's cache). */
const COLS_FLOATS: i32 = 65536;
/** Floats of scratch one call needs: packed A and B blocks, an edge tile, the patch tables, a block of patch rows. */
export const SGEMM_SCRATCH_FLOATS: i32 = MC * KC + KC * NC + MR * NR + PATCH_SCRATCH_FLOATS + COLS_FLOATS;
const PATCH_SCRATCH: usize = <usize>(MC * KC + KC * NC + MR * NR) << 2;
const COLS_SCRATCH: usize = PATCH_SCRATCH + (<usize>PATCH_SCRATCH_FLOATS << 2);

/** Where A comes from: a stored matrix, or a convolution's patch matrix (or its transpose) built as it is packed. */
const A_MATRIX = 0, A_PATCHES = 1, A_PATCHES_T = 2;

/** The depth of the k blocks: at most KC, split evenly (288 is 144 + 144, not 256 + 32), a multiple of 4. */
@inline function kBlock(k: i32): i32 {
  const blocks = (k + KC - 1) / KC;
  return ((k + blocks - 1) / blocks + 3) & ~3;
}

/** Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into 4-row panels, zero-padding past `mEnd`. */
function packA(a: usize, lda: i32, transA: bool, i0: i32, mc: i32, mEnd: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    if (transA && i0 + ir + MR <= mEnd) {
      // Stored transposed, a panel's four values for one p are adjacent: one vector load each.
      let src = a + (<usize>(p0 * lda + i0 + ir) << 2);
      let out = dst + (<usize>(ir * kc) << 2);
      for (let p = 0; p < kc; p++, out += MR << 2, src += <usize>lda << 2) v128.store(out, v128.load(src));
      continue;
    }
    if (!transA && i0 + ir + MR <= mEnd) {
      // Four rows at once: load a 4x4 block, transpose it with shuffles, store four panel columns.
      const row = a + (<usize>((i0 + ir) * lda + p0) << 2);
      const ld = <usize>lda << 2;
      let out = dst + (<usize>(ir * kc) << 2);
      let p = 0;
      for (; p + 4 <= kc; p += 4, out += 4 * MR << 2) {
        const o = <usize>p << 2;
        const r0 = v128.load(row + o), r1 = v128.load(row + ld + o);
        const r2 = v128.load(row + 2 * ld + o), r3 = v128.load(row + 3 * ld + o);
        storeTransposed(out, r0, r1, r2, r3);
      }
      for (; p < kc; p++, out += MR << 2) {
        for (let r = 0; r < MR; r++) store<f32>(out + (<usize>r << 2), load<f32>(row + <usize>r * ld + (<usize>p << 2)));
      }
      continue;
    }
    for (let r = 0; r < MR; r++) {
      const i = i0 + ir + r;
      let out = dst + (<usize>(ir * kc + r) << 2);
      if (i >= mEnd) {
        for (let p = 0; p < kc; p++, out += MR << 2) store<f32>(out, 0);
      } else if (transA) {
        let src = a + (<usize>(p0 * lda + i) << 2);
        for (let p = 0; p < kc; p++, out += MR << 2, src += <usize>lda << 2) store<f32>(out, load<f32>(src));
      } else {
        let src = a + (<usize>(i * lda + p0) << 2);
        for (let p = 0; p < kc; p++, out += MR << 2, src += 4) store<f32>(out, load<f32>(src));
      }
    }
  }
}

/** Packs rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into 8-column panels, zero-padding past n. */
function packB(b: usize, ldb: i32, transB: bool, p0: i32, kc: i32, j0: i32, nc: i32, n: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const full = j0 + jr + NR <= n;
    let out = dst + (<usize>(jr * kc) << 2);
    for (let p = 0; p < kc; p++, out += NR << 2) {
      if (!transB && full) {
        v128.store(out, v128.load(b + (<usize>((p0 + p) * ldb + j0 + jr) << 2)));
        v128.store(out, v128.load(b + (<usize>((p0 + p) * ldb + j0 + jr + 4) << 2)), 16);
        continue;
      }
      for (let c = 0; c < NR; c++) {
        const j = j0 + jr + c;
        let v: f32 = 0;
        if (j < n) v = transB ? load<f32>(b + (<usize>(j * ldb + p0 + p) << 2)) : load<f32>(b + (<usize>((p0 + p) * ldb + j) << 2));
        store<f32>(out + (<usize>c << 2), v);
      }
    }
  }
}

/** Stores (or with `accumulate` adds) a whole 4x8 tile of accumulators to C, whose rows are `ld` bytes apart. */
@inline export function storeTile(
  c: usize, ld: usize, accumulate: bool, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
): void {
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + ld)); c11 = f32x4.add(c11, v128.load(c + ld, 16));
    c20 = f32x4.add(c20, v128.load(c + 2 * ld)); c21 = f32x4.add(c21, v128.load(c + 2 * ld, 16));
    c30 = f32x4.add(c30, v128.load(c + 3 * ld)); c31 = f32x4.add(c31, v128.load(c + 3 * ld, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ld, c10); v128.store(c + ld, c11, 16);
  v128.store(c + 2 * ld, c20); v128.store(c + 2 * ld, c21, 16);
  v128.store(c + 3 * ld, c30); v128.store(c + 3 * ld, c31, 16);
}

/**
 * C (4 x 8, rows `ldc` bytes apart) (+)= A · B over `k`: row r of A starts at a + r * aRow and
 * steps by aStep, B's 8 columns start at b and step by bStep. The register tile of `tile` below,
 * reading its operands in place, for products small enough to stay in cache unpacked (sgemmDirect,
 * and Winograd's in winograd.ts).
 */
@inline export function product(k: i32, a: usize, aRow: usize, aStep: usize, b: usize, bStep: usize, c: usize, ldc: usize, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let a0 = a, a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let s = v128.load32_splat(a0);
    c00 = madd(s, b0, c00); c01 = madd(s, b1, c01);
    s = v128.load32_splat(a1);
    c10 = madd(s, b0, c10); c11 = madd(s, b1, c11);
    s = v128.load32_splat(a2);
    c20 = madd(s, b0, c20); c21 = madd(s, b1, c21);
    s = v128.load32_splat(a3);
    c30 = madd(s, b0, c30); c31 = madd(s, b1, c31);
    a0 += aStep; a1 += aStep; a2 += aStep; a3 += aStep; b += bStep;
  }
  storeTile(c, ldc, accumulate, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** One 4x8 tile: C[0..rows, 0..cols] (+)= Ap (4 x kc) · Bp (kc x 8). */
function tile(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32, accumulate: bool, t: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += MR << 2;
    bp += NR << 2;
  }
  const ld = <usize>ldc << 2;
  if (rows == MR && cols == NR) {
    storeTile(c, ld, accumulate, c00, c01, c10, c11, c20, c21, c30, c31);
    return;
  }
  // An edge tile: spill the accumulators to scratch `t` and copy the valid part.
  v128.store(t, c00); v128.store(t, c01, 16); v128.store(t, c10, 32); v128.store(t, c11, 48);
  v128.store(t, c20, 64); v128.store(t, c21, 80); v128.store(t, c30, 96); v128.store(t, c31, 112);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const dst = c + <usize>r * ld + (<usize>j << 2);
      const v = load<f32>(t + (<usize>(r * NR + j) << 2));
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

/**
 * The blocked product, for rows [rowStart, rowEnd) of C. B is packed here block by block, or, when
 * `shared` is set, read from a copy packed once for every thread by packB (no thread repacks it).
 * `from` says what A is: A_MATRIX, or a patch matrix of image batch `a` (or its transpose).
 */
function gemm(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, accumulate: bool,
  rowStart: i32, rowEnd: i32, scratch: usize, shared: usize, from: i32 = A_MATRIX,
): void {
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  const nPad = (n + NR - 1) & ~(NR - 1);
  const packedA = scratch;
  const packedB = scratch + (<usize>(MC * KC) << 2);
  const edge = packedB + (<usize>(KC * NC) << 2);
  if (k == 0) {
    if (!accumulate) for (let i = rowStart; i < rowEnd; i++) memory.fill(c + (<usize>(i * n) << 2), 0, <usize>n << 2);
    return;
  }
  const kb = kBlock(k);
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += kb) {
      const kc = min(kb, k - p0);
      let bp = packedB;
      if (shared) bp = shared + (<usize>(p0 * nPad + j0 * kc) << 2);
      else packB(b, ldb, transB, p0, kc, j0, (nc + NR - 1) & ~(NR - 1), n, packedB);
      for (let i0 = rowStart; i0 < rowEnd; i0 += MC) {
        const mc = min(MC, rowEnd - i0);
        const mcPad = (mc + MR - 1) & ~(MR - 1);
        if (from == A_PATCHES) {
          pixelTable(i0, mcPad, rowEnd);
          packPatchRows(a, mcPad, p0, kc, packedA);
        }
        else if (from == A_PATCHES_T) packPatchColumns(a, i0, mcPad, rowEnd, p0, kc, packedA);
        else packA(a, lda, transA, i0, mcPad, rowEnd, p0, kc, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          for (let ir = 0; ir < mc; ir += MR) {
            tile(kc, packedA + (<usize>(ir * kc) << 2), bp + (<usize>(jr * kc) << 2),
              c + (<usize>((i0 + ir) * n + j0 + jr) << 2), n, min(MR, mc - ir), min(NR, nc - jr), accumulate || p0 > 0, edge);
          }
        }
      }
    }
  }
}

/** With `accumulate`, C += op(A) · op(B) instead of C = op(A) · op(B). */
export function sgemm(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, accumulate: bool,
  rowStart: i32, rowEnd: i32, scratch: usize,
): void {
  gemm(a, b, c, m, k, n, transA, transB, accumulate, rowStart, rowEnd, scratch, 0);
}

/**
 * C (+)= op(A) · B for the rows [rowStart, rowEnd) of C (multiples of 4), reading A and B where
 * they are, without packing: for products so small that packing would cost about as much as the
 * arithmetic (a small network's dense layers). m is a multiple of 4 and n of 8, and B is not
 * transposed. The k blocks and their order are gemm's, so every sum is the same, term by term.
 */
export function sgemmDirect(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, accumulate: bool, rowStart: i32, rowEnd: i32, _scratch: usize,
): void {
  const kb = kBlock(k), row = <usize>n << 2;
  const aRow: usize = transA ? 4 : <usize>k << 2, aStep: usize = transA ? <usize>m << 2 : 4;
  for (let p0 = 0; p0 < k; p0 += kb) {
    const kc = min(kb, k - p0);
    const ap = a + (<usize>(transA ? p0 * m : p0) << 2), bp = b + (<usize>(p0 * n) << 2);
    for (let j = 0; j < n; j += NR) {
      for (let i = rowStart; i < rowEnd; i += MR) {
        product(kc, ap + <usize>i * aRow, aRow, aStep, bp + (<usize>j << 2), row, c + <usize>i * row + (<usize>j << 2), row, accumulate || p0 > 0);
      }
    }
  }
}

/**
 * Batches [start, end) of a batched product, C_t = op(A_t) · op(B_t), each whole on this thread:
 * for many small products (attention heads), which are too small to split by rows.
 */
export function sgemmBatched(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, strideA: i32, strideB: i32,
  start: i32, end: i32, scratch: usize,
): void {
  for (let t = start; t < end; t++) {
    gemm(a + (<usize>t * strideA << 2), b + (<usize>t * strideB << 2), c + (<usize>t * m * n << 2), m, k, n, transA, transB, false, 0, m, scratch, 0);
  }
}

/**
 * Packs 8-column panels [panelStart, panelEnd) of op(B) (k x n) for every k block into `dst`,
 * laid out as sgemmShared reads it: block p0 at p0 * nPad floats, panel j at j * 8 * kc within it.
 */
export function packBShared(b: usize, k: i32, n: i32, transB: bool, dst: usize, panelStart: i32, panelEnd: i32, _scratch: usize): void {
  const nPad = (n + NR - 1) & ~(NR - 1);
  const j0 = panelStart * NR;
  const kb = kBlock(k);
  for (let p0 = 0; p0 < k; p0 += kb) {
    const kc = min(kb, k - p0);
    packB(b, transB ? k : n, transB, p0, kc, j0, (panelEnd - panelStart) * NR, n, dst + (<usize>(p0 * nPad + j0 * kc) << 2));
  }
}

/** sgemm with op(B) already packed by packBShared. */
export function sgemmShared(
  a: usize, packed: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, accumulate: bool,
  rowStart: i32, rowEnd: i32, scratch: usize,
): void {
  gemm(a, 0, c, m, k, n, transA, false, accumulate, rowStart, rowEnd, scratch, packed);
}

// Convolutions as one SGEMM each, with the patch matrix never stored (see patches.ts; inC must be
// a multiple of 4). Geometry arguments as the other conv kernels: (batch, inH, inW, inC, outH,
// outW, kH, kW, strideH, strideW, padTop, padLeft). The B operand comes packed by packBShared.

/** out (pixels x outC) = patches(x) · w, for pixels [rowStart, rowEnd); w packed as (patch x outC). */
export function convForward(
  x: usize, packedW: usize, out: usize, outC: i32, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, rowStart: i32, rowEnd: i32, scratch: usize,
): void {
  setGeometry(inH, inW, inC, outH, outW, kW, strideH, strideW, padTop, padLeft, scratch + PATCH_SCRATCH);
  gemm(x, 0, out, batch * outH * outW, kH * kW * inC, outC, false, false, false, rowStart, rowEnd, scratch, packedW, A_PATCHES);
}

/** dw (patch x outC) = patches(x)ᵀ · dy, for patch entries [rowStart, rowEnd); dy packed as (pixels x outC). */
export function convFilter(
  x: usize, packedDy: usize, dw: usize, outC: i32, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, rowStart: i32, rowEnd: i32, scratch: usize,
): void {
  setGeometry(inH, inW, inC, outH, outW, kW, strideH, strideW, padTop, padLeft, scratch + PATCH_SCRATCH);
  gemm(x, 0, dw, kH * kW * inC, batch * outH * outW, outC, true, false, false, rowStart, rowEnd, scratch, packedDy, A_PATCHES_T);
}

/**
 * dx = col2im(dy · wᵀ) for pixels [rowStart, rowEnd), which must be whole images (each thread owns
 * the images it adds into), with w packed as (outC x patch). The patch rows are computed a block
 * at a time into scratch and added back at once, while they are in cache. (Adding each tile as it
 * is computed measured a quarter slower; a stored patch matrix for the whole batch leaves cache.)
 */
export function convInput(
  dy: usize, packedWt: usize, dx: usize, outC: i32, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, rowStart: i32, rowEnd: i32, scratch: usize,
): void {
  const patch = kH * kW * inC, perImage = outH * outW, image = inH * inW * inC;
  memory.fill(dx + (<usize>(rowStart / perImage * image) << 2), 0, <usize>((rowEnd - rowStart) / perImage * image) << 2);
  const cols = scratch + COLS_SCRATCH;
  const block = max(MR, (COLS_FLOATS / patch) & ~(MR - 1));
  for (let r0 = rowStart; r0 < rowEnd; r0 += block) {
    const r1 = min(rowEnd, r0 + block);
    // C's row r lands at cols + (r - r0) * patch.
    gemm(dy, 0, cols - (<usize>(r0 * patch) << 2), batch * perImage, outC, patch, false, false, false, r0, r1, scratch, packedWt);
    addPatchRows(cols, dx, r0, r1, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft);
  }
}
