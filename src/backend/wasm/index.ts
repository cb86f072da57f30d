// The wasm backend: tensors live in one shared WebAssembly heap and the heavy kernels run as
// WebAssembly SIMD on every core. Ops without a wasm kernel yet use the reference kernels, which
// work on heap views just as well, so the backend is complete while it is being made fast.

import type { DType, TypedArray } from '../../core/dtype.js';
import { check } from '../../core/errors.js';
import type { AttentionArgs, Backend, BinaryOp, MatmulArgs, ReduceOp, UnaryOp } from '../backend.js';
import { sizeOf, stridesOf, type Shape } from '../../core/shape.js';
import type { ConvGeometry } from '../geometry.js';
import { guarded } from '../guards.js';
import { refKernels } from '../ref/index.js';
import { Heap } from './heap.js';
import { Binary, Pooling, Reduce, Unary } from './kernels/opcodes.js';
import { instantiate, type KernelModule, type KernelName, type Kernels } from './loader.js';
import { MAX_THREADS, Pool, type StartWorker } from './pool.js';

/** Floats of patch matrix per convolution chunk (4 MiB), where the patch matrix is stored. */
const CHUNK_FLOATS = 1 << 20;
/** Partial rows of a reduction over many rows (see reduce()). */
const ROW_BLOCKS = 12;
/** The widest input the implicit convolutions take (kernels/patches.ts ZERO_FLOATS). */
const IMPLICIT_MAX_CHANNELS = 1024;
/** The longest window whose input gradient runs in blocks of patch rows (kernels/matmul.ts convInput). */
const INPUT_GRADIENT_MAX_PATCH = 16384;
/** The longest window the direct convolutions for few channels take (kernels/conv.ts SMALL_PATCH). */
const SMALL_PATCH = 256;
/** Pooling windows per block of the filter gradient through pooling (kernels/conv.ts POOL_BLOCK). */
const POOL_BLOCK = 32;
/** Floats of partial filter gradients a Winograd convolution may hold (64 MiB). */
const WINOGRAD_MAX_PARTIALS = 1 << 24;
/** Products whose op(A) has at most this many floats (and whole 4x8 tiles) run unpacked (kernels/matmul.ts sgemmDirect). */
const DIRECT_MAX_A = 1 << 15;
/** Products of a batch smaller than this (m * k * n) run whole, one per thread, not split by rows. */
const BATCHED_MAX_WORK = 1 << 22;
// The kernels' op codes (kernels/opcodes.ts) name exactly the Backend's ops, or this does not compile.
type Same<A, B> = [A, B] extends [B, A] ? true : false;
true satisfies Same<keyof typeof Unary, UnaryOp> & Same<keyof typeof Binary, BinaryOp> & Same<keyof typeof Reduce, ReduceOp>;

/**
 * Broadcasting as rows: the longest run of trailing axes along which each operand is either
 * contiguous or broadcast throughout becomes one row of `count`; the start of every row in each
 * operand is listed (the kernel reads these tables).
 */
function broadcastRows(aShape: Shape, bShape: Shape, outShape: Shape) {
  const rank = outShape.length;
  const real = (s: Shape, i: number) => {
    const j = i - (rank - s.length);
    return j >= 0 && s[j] !== 1 ? 1 : 0;
  };
  let inner = rank;
  const da = rank ? real(aShape, rank - 1) : 1;
  const db = rank ? real(bShape, rank - 1) : 1;
  while (inner > 0 && real(aShape, inner - 1) === da && real(bShape, inner - 1) === db) inner--;
  const count = sizeOf(outShape.slice(inner)) || 1;
  const outer = sizeOf(outShape.slice(0, inner));
  /** How an operand's rows start: a fixed stride when its outer axes are all real or all broadcast, else a table. */
  const rowsOf = (s: Shape, d: number): { stride: number; table: Int32Array | null } => {
    const reals = outShape.slice(0, inner).map((_, i) => real(s, i));
    if (reals.every((r) => r === 1)) return { stride: d ? count : 1, table: null };
    if (reals.every((r) => r === 0)) return { stride: 0, table: null };
    return { stride: 0, table: table(s) };
  };
  const table = (s: Shape) => {
    const rows = new Int32Array(outer);
    const own = stridesOf(s);
    const strides = outShape.slice(0, inner).map((_, i) => {
      const j = i - (rank - s.length);
      return j >= 0 && s[j] !== 1 ? own[j] : 0;
    });
    const index = new Array<number>(inner).fill(0);
    let offset = 0;
    for (let r = 0; r < outer; r++) {
      rows[r] = offset;
      for (let ax = inner - 1; ax >= 0; ax--) {
        offset += strides[ax];
        if (++index[ax] < outShape[ax]) break;
        offset -= strides[ax] * outShape[ax];
        index[ax] = 0;
      }
    }
    return rows;
  };
  return { outer, count, da, db, a: rowsOf(aShape, da), b: rowsOf(bShape, db) };
}

function geometryArgs(g: ConvGeometry): number[] {
  return [g.batch, g.inH, g.inW, g.inC, g.outH, g.outW, g.kH, g.kW, g.strideH, g.strideW, g.padTop, g.padLeft];
}

export interface WasmBackend extends Backend {
  readonly heap: Heap;
  readonly pool: Pool;
  readonly variant: 'relaxed' | 'simd';
}

/**
 * Where the backend runs: Node (node.ts, which registers itself when imported) or a browser
 * (web.ts, registered by the browser entry once its kernels are compiled).
 */
export interface WasmPlatform {
  kernels(): KernelModule;
  /** Threads when the caller does not say (every core, or what the environment asks for). */
  defaultThreads(): number;
  startWorker: StartWorker;
}

let platform: WasmPlatform | null = null;

export function setWasmPlatform(p: WasmPlatform): void {
  platform = p;
}

export interface WasmOptions {
  /** 3x3 stride-1 convolutions by Winograd's F(4x4, 3x3) where it pays (default true); false keeps the GEMM path, for comparison. */
  winograd?: boolean;
}

export function createWasmBackend(threads?: number, options: WasmOptions = {}): WasmBackend {
  check(platform !== null, 'createWasmBackend: no platform to run on: import tsgrad (Node) or tsgrad/browser first');
  threads ??= platform.defaultThreads();
  check(Number.isSafeInteger(threads) && threads >= 1 && threads <= MAX_THREADS, `createWasmBackend: threads must be an integer from 1 to ${MAX_THREADS}, got ${threads}`);
  const { module, variant } = platform.kernels();
  const heap = new Heap();
  const kernels: Kernels = instantiate(module, heap.memory);
  const scratchBytes = (kernels.SGEMM_SCRATCH_FLOATS.value as number) * 4;
  const scratch = Array.from({ length: threads }, () => heap.allocBytes(scratchBytes));
  const pool = new Pool(threads, module, heap.memory, kernels, scratch, platform.startWorker);
  /** allFinite's flag, for the backend's life (a shared memory's views stay valid as it grows). */
  const finiteFlag = heap.alloc('float32', 1) as Float32Array;

  /** The byte offset of `data` in the heap, copying it in first when it lives elsewhere. */
  const temps: TypedArray[] = [];
  const ptr = (data: TypedArray): number => {
    if (heap.owns(data)) return data.byteOffset;
    const copy = heap.alloc(data instanceof Int32Array ? 'int32' : 'float32', data.length);
    copy.set(data);
    temps.push(copy);
    return copy.byteOffset;
  };
  /** Copies a result computed in a temporary back to `out`, and frees the temporaries. */
  const done = (...results: [TypedArray, number][]) => {
    for (const [out, at] of results) {
      if (!heap.owns(out)) out.set(new (out.constructor as Float32ArrayConstructor)(heap.memory.buffer, at, out.length));
    }
    while (temps.length) heap.release(temps.pop()!);
  };

  function matmul(a: Float32Array, b: Float32Array, out: Float32Array, g: MatmulArgs): void {
    const [pa, pb, pc] = [ptr(a), ptr(b), ptr(out)];
    const work = g.m * g.k * g.n;
    if (g.batch > 1 && work < BATCHED_MAX_WORK) {
      // Many small products (attention heads): each thread takes whole ones.
      pool.run('sgemmBatched', [pa, pb, pc, g.m, g.k, g.n, +g.transA, +g.transB, g.strideA, g.strideB], g.batch, { work: work * g.batch });
      return done([out, pc]);
    }
    for (let t = 0; t < g.batch; t++) {
      gemm(pa + 4 * t * g.strideA, pb + 4 * t * g.strideB, pc + 4 * t * g.m * g.n, g.m, g.k, g.n, g.transA, g.transB);
    }
    done([out, pc]);
  }

  /** A heap block for the duration of one kernel call. */
  const temp = (length: number): number => {
    const t = heap.alloc('float32', length);
    temps.push(t);
    return t.byteOffset;
  };

  /**
   * C (+)= op(A) · op(B) split by rows of C. When it runs on several threads, op(B) is first packed
   * once, by all of them, into a shared temporary, instead of by every chunk again.
   */
  const gemm = (a: number, b: number, c: number, m: number, k: number, n: number, transA: boolean, transB: boolean, accumulate = false) => {
    const work = m * n * k;
    if (!transB && m % 4 === 0 && n % 8 === 0 && k > 0 && m * k <= DIRECT_MAX_A) {
      pool.run('sgemmDirect', [a, b, c, m, k, n, +transA, +accumulate], m, { align: 4, work });
      return;
    }
    if (pool.threads === 1 || work < 2e5 || m < 8 || k === 0) {
      pool.run('sgemm', [a, b, c, m, k, n, +transA, +transB, +accumulate], m, { align: 4, work: 0 });
      return;
    }
    if (!accumulate && n >= 2 * m && k >= 1024) {
      // Every chunk of C's rows streams all of the packed op(B), so with few rows and a deep, wide
      // B (a weight gradient: xᵀ · dy) compute Cᵀ = op(B)ᵀ · op(A)ᵀ instead, and transpose it.
      const t = temp(m * n);
      gemm(b, a, t, n, k, m, !transB, !transA);
      pool.run('transpose', [t, c, 1, 1, 1, 1, m, n, 0, 0, 0, 0, 1, m], m, { work: m * n });
      return;
    }
    pool.run('sgemmShared', [a, packShared(b, k, n, transB), c, m, k, n, +transA, +accumulate], m, { align: 4, work });
  };

  /** op(B) (k x n) packed once, by all threads, into a temporary (see kernels/matmul.ts packBShared). */
  const packShared = (b: number, k: number, n: number, transB: boolean): number => {
    const panels = Math.ceil(n / 8);
    const packed = temp(k * panels * 8);
    pool.run('packBShared', [b, k, n, +transB, packed], panels, { work: 4 * k * n });
    return packed;
  };

  const patchOf = (g: ConvGeometry) => g.kH * g.kW * g.inC;
  /**
   * Whether the forward pass and filter gradient run as implicit GEMMs (patches packed straight
   * from the image, never stored): when a vector of channels lies within one pixel. Else im2col.
   */
  const implicit = (g: ConvGeometry) => g.inC % 4 === 0 && g.inC <= IMPLICIT_MAX_CHANNELS;
  /** Whether a layer with few input channels (not a multiple of 4) runs the direct kernels. */
  const small = (g: ConvGeometry) => g.inC % 4 !== 0 && patchOf(g) <= SMALL_PATCH;
  const pixelsOf = (g: ConvGeometry) => g.batch * g.outH * g.outW;
  /** Tiles of m x m outputs in one image. */
  const tilesOf = (g: ConvGeometry, m = 4) => Math.ceil(g.outH / m) * Math.ceil(g.outW / m);
  /**
   * Which Winograd method a convolution runs by (kernels/winograd.ts), if any: 3x3 windows, stride
   * 1, channels in eights that fit a thread's scratch, and an output big enough that a tile's
   * products (36 for a 4x4 tile, 25 for a 3x3 one) cost clearly less than its pixels' 9 each (so
   * not a 2x2 output). F(3x3) where its tiles need fewer products (a 3x3 or 6x6 output), else F(4x4).
   */
  const winogradTile = (g: ConvGeometry): 0 | 3 | 4 => {
    if (options.winograd === false || g.kH !== 3 || g.kW !== 3 || g.strideH !== 1 || g.strideW !== 1) return 0;
    if (g.inC % 8 !== 0 || g.outC % 8 !== 0 || 144 * (g.inC + g.outC) + 2048 > scratchBytes / 4) return 0;
    const m = 25 * tilesOf(g, 3) < 36 * tilesOf(g) ? 3 : 4;
    return (m * m + 4 * m + 4) * tilesOf(g, m) <= 0.4 * 9 * g.outH * g.outW ? m : 0;
  };
  /** The filters in Winograd's domain, ((m + 2)², inC, outC), or with `transposed` ((m + 2)², outC, inC), in a temporary (see kernels/winograd.ts slab). */
  const winogradWeights = (pw: number, g: ConvGeometry, transposed: boolean, m = 4) => {
    const u = temp((m + 2) ** 2 * (g.inC * g.outC + 16));
    pool.run('winogradWeights', [pw, u, g.inC, g.outC, +transposed, m], transposed ? g.outC : g.inC, { work: 150 * g.inC * g.outC }); // ~150 operations a filter pair
    return u;
  };
  /**
   * Runs `body` over groups of whole images whose F(3x3) matrices (25 per tile and channel, see
   * kernels/winograd.ts) fit a few MiB, with two temporaries for them (input and output side), and
   * the group's geometry and rows (its tiles, in fours).
   */
  const inWinogradGroups = (g: ConvGeometry, body: (first: number, gg: ConvGeometry, rows: number, a: number, b: number) => void) => {
    const per = tilesOf(g, 3), images = Math.max(1, Math.min(g.batch, Math.floor(CHUNK_FLOATS / (25 * per * (g.inC + g.outC)))));
    const rowsOf = (count: number) => Math.ceil((count * per) / 4) * 4;
    const a = temp(25 * (rowsOf(images) * g.inC + 16)), b = temp(25 * (rowsOf(images) * g.outC + 16));
    for (let first = 0; first < g.batch; first += images) {
      const count = Math.min(images, g.batch - first);
      body(first, { ...g, batch: count }, rowsOf(count), a, b);
    }
  };
  /** C_ξ = op(A_ξ) · B_ξ for the 25 ξ of F(3x3), shared by ξ and 8 columns (kernels/winograd.ts winogradProducts). */
  const winogradProducts = (a: number, b: number, c: number, m: number, k: number, n: number) =>
    pool.run('winogradProducts', [a, b, c, m, k, n], 25 * (n / 8), { work: 25 * m * k * n });
  /**
   * x (at heap offset px) with its padding written out, in a temporary when there is any, and the
   * geometry to match (no padding): the direct kernels expect every window inside the image.
   */
  const padded = (px: number, g: ConvGeometry): [number, ConvGeometry] => {
    const h = Math.max(g.padTop + g.inH, (g.outH - 1) * g.strideH + g.kH);
    const w = Math.max(g.padLeft + g.inW, (g.outW - 1) * g.strideW + g.kW);
    if (h === g.inH && w === g.inW) return [px, g];
    const at = temp(g.batch * h * w * g.inC);
    const dst = new Float32Array(heap.memory.buffer, at, g.batch * h * w * g.inC).fill(0);
    const src = new Float32Array(heap.memory.buffer, px, g.batch * g.inH * g.inW * g.inC);
    const row = g.inW * g.inC;
    for (let b = 0; b < g.batch; b++) for (let y = 0; y < g.inH; y++) {
      const from = (b * g.inH + y) * row;
      dst.set(src.subarray(from, from + row), ((b * h + y + g.padTop) * w + g.padLeft) * g.inC);
    }
    return [at, { ...g, inH: h, inW: w, padTop: 0, padLeft: 0 }];
  };
  const convArgs = (g: ConvGeometry) => [g.outC, ...geometryArgs(g)];

  /**
   * Runs `body` over groups of whole images whose patch matrix fits a few MiB, with that matrix
   * in a temporary: big batches (inference at 1000) then need little memory and stay in cache.
   */
  const inChunks = (g: ConvGeometry, body: (first: number, count: number, cols: number, rows: number) => void) => {
    const perImage = g.outH * g.outW;
    const images = Math.max(1, Math.min(g.batch, Math.floor(CHUNK_FLOATS / (perImage * patchOf(g)))));
    const cols = temp(images * perImage * patchOf(g));
    for (let first = 0; first < g.batch; first += images) {
      const count = Math.min(images, g.batch - first);
      body(first, count, cols, count * perImage);
    }
  };

  /** Patch rows of images [first, first + count) of x into `cols` (see the reference conv.ts). */
  const im2col = (px: number, g: ConvGeometry, first: number, count: number, cols: number) => {
    const image = g.inH * g.inW * g.inC;
    const rows = count * g.outH * g.outW;
    pool.run('im2col', [px + 4 * first * image, cols, count, ...geometryArgs(g).slice(1)], rows, { work: 4 * rows * patchOf(g) });
  };

  function conv2d(x: Float32Array, w: Float32Array, out: Float32Array, g: ConvGeometry): void {
    if (pixelsOf(g) === 0) return refKernels.conv2d(x, w, out, g); // no windows: nothing to split
    const [px, pw, po] = [ptr(x), ptr(w), ptr(out)];
    const tile = winogradTile(g);
    if (tile === 3) {
      const u = winogradWeights(pw, g, false, 3);
      inWinogradGroups(g, (first, gg, rows, v, m) => {
        pool.run('winograd3Windows', [px + 4 * first * g.inH * g.inW * g.inC, v, ...convArgs(gg)], rows, { work: 250 * rows * g.inC });
        winogradProducts(v, u, m, rows, g.inC, g.outC);
        pool.run('winograd3Output', [m, po + 4 * first * g.outH * g.outW * g.outC, ...convArgs(gg)], gg.batch * tilesOf(g, 3), { work: 200 * rows * g.outC });
      });
      return done([out, po]);
    }
    if (tile === 4) {
      pool.run('winogradForward', [px, winogradWeights(pw, g, false), po, ...convArgs(g)], g.batch * tilesOf(g), { work: g.batch * tilesOf(g) * 36 * g.inC * g.outC });
      return done([out, po]);
    }
    if (implicit(g)) {
      const packed = packShared(pw, patchOf(g), g.outC, false);
      pool.run('convForward', [px, packed, po, ...convArgs(g)], pixelsOf(g), { align: 4, work: pixelsOf(g) * patchOf(g) * g.outC });
      return done([out, po]);
    }
    if (small(g)) {
      const [pp, pg] = padded(px, g);
      pool.run('convSmallForward', [pp, pw, po, ...convArgs(pg)], pixelsOf(g), { align: 2, work: pixelsOf(g) * patchOf(g) * g.outC });
      return done([out, po]);
    }
    inChunks(g, (first, count, cols, rows) => {
      im2col(px, g, first, count, cols);
      gemm(cols, pw, po + 4 * first * g.outH * g.outW * g.outC, rows, patchOf(g), g.outC, false, false);
    });
    done([out, po]);
  }

  function conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: ConvGeometry): void {
    if (pixelsOf(g) === 0) return refKernels.conv2dBackpropInput(dy, w, dx, g); // no windows: nothing to split
    const [pdy, pw, pdx] = [ptr(dy), ptr(w), ptr(dx)];
    const tile = winogradTile(g);
    if (tile === 3) {
      const ut = winogradWeights(pw, g, true, 3);
      inWinogradGroups(g, (first, gg, rows, dv, gm) => {
        pool.run('winograd3Gradients', [pdy + 4 * first * g.outH * g.outW * g.outC, gm, ...convArgs(gg)], rows, { work: 150 * rows * g.outC });
        winogradProducts(gm, ut, dv, rows, g.outC, g.inC);
        // Threads own whole images, since windows overlap within an image.
        pool.run('winograd3InputSum', [dv, pdx + 4 * first * g.inH * g.inW * g.inC, ...convArgs(gg)], gg.batch, { work: 300 * rows * g.inC });
      });
      return done([dx, pdx]);
    }
    if (tile === 4) {
      // Threads own whole images, since windows overlap within an image.
      pool.run('winogradInput', [pdy, winogradWeights(pw, g, true), pdx, ...convArgs(g)], g.batch, { work: g.batch * tilesOf(g) * 36 * g.inC * g.outC, chunks: 8 * pool.threads });
      return done([dx, pdx]);
    }
    if (patchOf(g) <= INPUT_GRADIENT_MAX_PATCH) {
      // Threads own whole images, since windows overlap within an image.
      const packed = packShared(pw, g.outC, patchOf(g), true);
      pool.run('convInput', [pdy, packed, pdx, ...convArgs(g)], pixelsOf(g), { align: g.outH * g.outW, work: pixelsOf(g) * patchOf(g) * g.outC });
      return done([dx, pdx]);
    }
    const image = g.inH * g.inW * g.inC;
    inChunks(g, (first, count, cols, rows) => {
      gemm(pdy + 4 * first * g.outH * g.outW * g.outC, pw, cols, rows, g.outC, patchOf(g), false, true);
      pool.run('col2im', [cols, pdx + 4 * first * image, count, ...geometryArgs(g).slice(1)], count, { work: rows * patchOf(g) });
    });
    done([dx, pdx]);
  }

  function conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: ConvGeometry): void {
    if (pixelsOf(g) === 0) return refKernels.conv2dBackpropFilter(x, dy, dw, g); // no windows: nothing to split
    const [px, pdy, pdw] = [ptr(x), ptr(dy), ptr(dw)];
    const patch = patchOf(g);
    const tile = winogradTile(g);
    if (tile === 3) {
      // Each thread sums its input channels' products over every tile of a group, and adds the groups in turn.
      inWinogradGroups(g, (first, gg, rows, v, gm) => {
        pool.run('winograd3Windows', [px + 4 * first * g.inH * g.inW * g.inC, v, ...convArgs(gg)], rows, { work: 250 * rows * g.inC });
        pool.run('winograd3Gradients', [pdy + 4 * first * g.outH * g.outW * g.outC, gm, ...convArgs(gg)], rows, { work: 150 * rows * g.outC });
        pool.run('winograd3Filter', [v, gm, pdw, g.inC, g.outC, rows, +(first > 0)], g.inC / 4, { work: 25 * rows * g.inC * g.outC });
      });
      return done([dw, pdw]);
    }
    // Parts of the tiles sum into partial gradients of their own, added up in a fixed order. Six
    // parts share evenly among 1, 2, 3 or 6 threads and give the same sums on each. Wide layers,
    // whose partials would take over WINOGRAD_MAX_PARTIALS, use the GEMM instead.
    const tiles = g.batch * tilesOf(g), size = 36 * (g.inC * g.outC + 16);
    const parts = Math.min(Math.ceil(tiles / 32), 6 * Math.ceil(pool.threads / 6));
    if (tile === 4 && parts * size <= WINOGRAD_MAX_PARTIALS) {
      const partials = temp(parts * size);
      pool.run('winogradFilter', [px, pdy, partials, parts, ...convArgs(g)], parts, { work: tiles * size });
      pool.run('winogradFilterSum', [partials, parts, pdw, g.inC, g.outC], g.inC, { work: parts * size });
      return done([dw, pdw]);
    }
    if (implicit(g)) {
      const packed = packShared(pdy, pixelsOf(g), g.outC, false);
      pool.run('convFilter', [px, packed, pdw, ...convArgs(g)], patch, { align: 4, work: pixelsOf(g) * patch * g.outC });
      return done([dw, pdw]);
    }
    if (small(g)) {
      // Split by groups of 16 filters, each summed over every pixel by one thread.
      const [pp, pg] = padded(px, g);
      pool.run('convSmallFilter', [pp, pdy, pdw, ...convArgs(pg)], Math.ceil(g.outC / 16), { work: pixelsOf(g) * patch * g.outC });
      return done([dw, pdw]);
    }
    // dw (patch, outC) = colsᵀ · dy, split over its rows. With fewer patch rows than filters (a
    // first layer: 9 x 32) compute dwᵀ = dyᵀ · cols instead, so that the threads' shares are even.
    const flipped = patch < g.outC;
    const target = flipped ? temp(patch * g.outC) : pdw;
    inChunks(g, (first, count, cols, rows) => {
      im2col(px, g, first, count, cols);
      const pdyChunk = pdy + 4 * first * g.outH * g.outW * g.outC;
      if (flipped) gemm(pdyChunk, cols, target, g.outC, rows, patch, true, false, first > 0);
      else gemm(cols, pdyChunk, target, patch, rows, g.outC, true, false, first > 0);
    });
    if (flipped) refKernels.transpose(new Float32Array(heap.memory.buffer, target, patch * g.outC), [g.outC, patch], [1, 0], new Float32Array(heap.memory.buffer, pdw, patch * g.outC));
    done([dw, pdw]);
  }

  /** Whether pooling is the kernels' 2x2 case: 2x2 windows, stride 2, inside the image, whole vectors of channels (kernels/pool.ts max2x2). */
  const pool2x2 = (p: ConvGeometry) => p.kH === 2 && p.kW === 2 && p.strideH === 2 && p.strideW === 2 && p.padTop === 0 && p.padLeft === 0
    && p.inC % 4 === 0 && 2 * p.outH <= p.inH && 2 * p.outW <= p.inW;

  /**
   * Whether a convolution and its pooling run as one (kernels/conv.ts convPoolForward,
   * convPoolFilter): a first layer (the direct kernels) with filters in sixteens, whose sums those
   * kernels make term by term as the direct kernels do, and 2x2 pooling.
   */
  const pooledSmall = (p: ConvGeometry, g: ConvGeometry) => pixelsOf(g) > 0 && small(g) && g.outC % 16 === 0 && pool2x2(p)
    && 4 * SMALL_PATCH + POOL_BLOCK * (16 * SMALL_PATCH + 16 * g.outC) <= scratchBytes; // convPoolFilter's tables

  function conv2dMaxPool(x: Float32Array, w: Float32Array, out: Float32Array, argmax: Int32Array, p: ConvGeometry, g: ConvGeometry): void {
    if (!pooledSmall(p, g)) return refKernels.conv2dMaxPool(x, w, out, argmax, p, g);
    const [pw, po, pa] = [ptr(w), ptr(out), ptr(argmax)];
    const [pp, pg] = padded(ptr(x), g);
    const windows = p.batch * p.outH * p.outW;
    pool.run('convPoolForward', [pp, pw, po, pa, ...convArgs(pg), p.outH, p.outW], windows, { work: 4 * windows * patchOf(g) * g.outC });
    done([out, po], [argmax, pa]);
  }

  /** The filter gradient through max pooling, split by vectors of filters. */
  function conv2dPoolFilter(x: Float32Array, argmax: Int32Array, dy: Float32Array, dw: Float32Array, p: ConvGeometry, g: ConvGeometry): void {
    if (!pooledSmall(p, g)) return refKernels.conv2dPoolFilter(x, argmax, dy, dw, p, g);
    const [pa, pdy, pdw] = [ptr(argmax), ptr(dy), ptr(dw)];
    const [pp, pg] = padded(ptr(x), g);
    pool.run('convPoolFilter', [pp, pa, pdy, pdw, ...convArgs(pg), p.outH, p.outW], g.outC / 4,
      { chunks: pool.threads, work: p.batch * p.outH * p.outW * patchOf(g) * g.outC * 4 });
    done([dw, pdw]);
  }

  /** Pooling, split by image (see kernels/pool.ts). */
  const pooling = (op: Pooling, x: Float32Array, out: Float32Array, g: ConvGeometry) => {
    const [px, po] = [ptr(x), ptr(out)];
    pool.run('pool', [op, px, po, ...geometryArgs(g)], g.batch, { work: out.length * g.kH * g.kW });
    done([out, po]);
  };
  const poolingGrad = (op: Pooling, x: Float32Array | null, dy: Float32Array, dx: Float32Array, g: ConvGeometry) => {
    const [px, pdy, pdx] = [x ? ptr(x) : 0, ptr(dy), ptr(dx)];
    pool.run('poolGrad', [op, px, pdy, pdx, ...geometryArgs(g)], g.batch, { work: dx.length });
    done([dx, pdx]);
  };

  /** Transposes of float32 or int32 tensors with up to 6 axes, split by rows of the output. */
  function transpose(x: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void {
    const size = sizeOf(shape);
    if (shape.length > 6 || size === 0) return refKernels.transpose(x, shape, perm, out);
    const strides = stridesOf(shape);
    const pad = 6 - perm.length;
    const dims = [...Array<number>(pad).fill(1), ...perm.map((p) => shape[p])];
    const steps = [...Array<number>(pad).fill(0), ...perm.map((p) => strides[p])];
    const [px, po] = [ptr(x), ptr(out)];
    pool.run('transpose', [px, po, ...dims, ...steps], size / dims[5], { work: size });
    done([out, po]);
  }

  function copyRows(x: TypedArray, xOffset: number, xStride: number, out: TypedArray, outOffset: number, outStride: number, rows: number, length: number, zeroRest: boolean): void {
    // With zeroRest, each row of out holds its copy at outOffset (pad's layout: outOffset < outStride).
    if (rows === 0 || (zeroRest && (outOffset + length > outStride || out.length !== rows * outStride))) {
      return refKernels.copyRows(x, xOffset, xStride, out, outOffset, outStride, rows, length, zeroRest);
    }
    const [px, po] = [ptr(x), ptr(out)];
    pool.run('copyRows', [px, xOffset, xStride, po, outOffset, outStride, length, +zeroRest], rows, { work: rows * Math.max(length, outStride) / 4 });
    done([out, po]);
  }

  function unary(op: UnaryOp, x: Float32Array, out: Float32Array): void {
    const [px, po] = [ptr(x), ptr(out)];
    pool.run('unary', [Unary[op], px, po], x.length, { align: 16, work: x.length * 4 });
    done([out, po]);
  }

  function binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void {
    if (!(a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array) || out.length === 0) {
      refKernels.binary(op, a, aShape, b, bShape, out, outShape);
      return;
    }
    const { outer, count, da, db, a: ra, b: rb } = broadcastRows(aShape, bShape, outShape);
    const [pa, pb, po] = [ptr(a), ptr(b), ptr(out)];
    if (outer === 1) {
      // One row (same shapes, or a number and a tensor): split it by elements.
      pool.run('binaryFlat', [Binary[op], pa, pb, po, da, db], count, { align: 16, work: count });
      return done([out, po]);
    }
    const [ta, tb] = [ra.table ? ptr(ra.table) : 0, rb.table ? ptr(rb.table) : 0];
    pool.run('binary', [Binary[op], pa, pb, po, count, ta, tb, ra.stride, rb.stride, da, db], outer, { work: out.length });
    done([out, po]);
  }

  /** Reductions over leading or trailing axes run in wasm; other axis sets use the reference. */
  function reduce(op: ReduceOp, x: Float32Array, shape: Shape, axes: readonly number[], out: Float32Array): void {
    const k = axes.length;
    const leading = axes.every((a, i) => a === i);
    const trailing = axes.every((a, i) => a === shape.length - k + i);
    if (x.length === 0 || !(leading || trailing)) {
      refKernels.reduce(op, x, shape, axes, out);
      return;
    }
    const [px, po] = [ptr(x), ptr(out)];
    const code = Reduce[op];
    if (leading) {
      const [rows, cols] = [sizeOf(shape.slice(0, k)), sizeOf(shape.slice(k))];
      if (rows >= ROW_BLOCKS * 16 && cols < 256) {
        // Many rows of a few columns: each thread reduces whole rows into partial rows, a fixed
        // number of them (so the sums do not depend on the thread count), then those are reduced.
        const partial = temp(ROW_BLOCKS * cols);
        pool.run('reduceRowBlocks', [code, px, partial, rows, cols, ROW_BLOCKS], ROW_BLOCKS, { work: x.length });
        pool.run('reduceRows', [code, partial, po, ROW_BLOCKS, cols], cols, { work: 0 });
      } else {
        pool.run('reduceRows', [code, px, po, rows, cols], cols, { align: 4, work: x.length });
      }
    } else {
      const [rows, cols] = [sizeOf(shape.slice(0, shape.length - k)), sizeOf(shape.slice(shape.length - k))];
      pool.run('reduceCols', [code, px, po, rows, cols], rows, { work: x.length });
    }
    done([out, po]);
  }

  /** A row-wise kernel (kernels/rows.ts) over the rows of `cols` of x, one thread per run of rows. */
  const rowwise = (fn: KernelName, inputs: Float32Array[], out: Float32Array, cols: number, params: number[]) => {
    if (out.length === 0) return;
    const pointers = inputs.map(ptr);
    const po = ptr(out);
    pool.run(fn, [...pointers, po, cols, ...params], out.length / cols, { work: out.length * 8 });
    done([out, po]);
  };

  /**
   * Attention by (batch, head) pairs, a thread's share whole, where the kernel applies: channels per
   * head a multiple of 4, and a pair's keys, values, probabilities and score gradients fit a thread's
   * scratch (kernels/attention.ts; up to about 200 positions). Elsewhere the tensor layer composes it.
   */
  const attentionArgs = (a: AttentionArgs) => [a.batch, a.time, a.heads, a.d, a.scale, +a.causal];
  const attentionFits = (a: AttentionArgs) => {
    const tp = (a.time + 7) & ~7;
    return a.d % 4 === 0 && (2 * a.d + 2 * tp + 8) * tp <= scratchBytes / 4;
  };
  const attentionWork = (a: AttentionArgs) => a.batch * a.heads * a.time * a.time * a.d;
  function attention(qkv: Float32Array, y: Float32Array, lse: Float32Array, a: AttentionArgs): void {
    if (!attentionFits(a)) return refKernels.attention(qkv, y, lse, a);
    const [pq, py, pl] = [ptr(qkv), ptr(y), ptr(lse)];
    pool.run('attention', [pq, py, pl, ...attentionArgs(a)], a.batch * a.heads, { work: attentionWork(a) });
    done([y, py], [lse, pl]);
  }
  function attentionGrad(qkv: Float32Array, y: Float32Array, lse: Float32Array, dy: Float32Array, dqkv: Float32Array, a: AttentionArgs): void {
    if (!attentionFits(a)) return refKernels.attentionGrad(qkv, y, lse, dy, dqkv, a);
    const [pq, py, pl, pg, pd] = [ptr(qkv), ptr(y), ptr(lse), ptr(dy), ptr(dqkv)];
    pool.run('attentionGrad', [pq, py, pl, pg, pd, ...attentionArgs(a)], a.batch * a.heads, { work: 3 * attentionWork(a) });
    done([dqkv, pd]);
  }

  // The kernels without a wasm version are the reference's, on heap views.
  const unchecked: Backend = {
    ...refKernels,
    unary, binary, reduce, transpose, copyRows, attention, attentionGrad, fusedAttention: attentionFits, fusedConvPool: pooledSmall,
    softmax: (x, out, cols, scale, causalRows) => rowwise('softmax', [x], out, cols, [scale, causalRows]),
    softmaxGrad: (g, y, out, cols, scale) => rowwise('softmaxGrad', [g, y], out, cols, [scale]),
    logSoftmax: (x, out, cols) => rowwise('logSoftmax', [x], out, cols, []),
    logSoftmaxGrad: (g, y, out, cols) => rowwise('logSoftmaxGrad', [g, y], out, cols, []),
    normalize: (x, out, cols, epsilon) => rowwise('normalize', [x], out, cols, [epsilon]),
    normalizeGrad: (g, x, out, cols, epsilon) => rowwise('normalizeGrad', [g, x], out, cols, [epsilon]),
    sgdUpdate(w, g, v, lr, momentum) {
      const [pw, pg, pv] = [ptr(w), ptr(g), v ? ptr(v) : 0];
      pool.run('sgdUpdate', [pw, pg, pv, lr, momentum], w.length, { align: 16, work: w.length * 4 });
      done([w, pw], ...(v ? [[v, pv] as [Float32Array, number]] : []));
    },
    adamUpdate(w, g, m, v, alpha, beta1, beta2, epsilon) {
      const [pw, pg, pm, pv] = [ptr(w), ptr(g), ptr(m), ptr(v)];
      pool.run('adamUpdate', [pw, pg, pm, pv, alpha, beta1, beta2, epsilon], w.length, { align: 16, work: w.length * 8 });
      done([w, pw], [m, pm], [v, pv]);
    },
    allFinite(x) {
      // The kernel clears the flag (a float 1) where it meets a value that is not finite: chunks race only to write the same 0.
      const px = ptr(x);
      finiteFlag[0] = 1;
      pool.run('allFinite', [px, finiteFlag.byteOffset], x.length, { align: 16, work: x.length });
      done();
      return finiteFlag[0] === 1;
    },
    conv2d, conv2dBackpropInput, conv2dBackpropFilter, conv2dMaxPool, conv2dPoolFilter,
    maxPool: (x, out, g) => pooling(Pooling.max, x, out, g),
    avgPool: (x, out, g) => pooling(Pooling.avg, x, out, g),
    maxPoolGrad: (x, dy, dx, g) => poolingGrad(Pooling.max, x, dy, dx, g),
    avgPoolGrad: (dy, dx, g) => poolingGrad(Pooling.avg, null, dy, dx, g),
    name: 'wasm',
    managesMemory: true,
    alloc: (dtype: DType, size: number) => heap.alloc(dtype, size),
    free: (data: TypedArray) => heap.release(data),
    matmul,
  };
  return { ...guarded(unchecked), heap, pool, variant };
}
