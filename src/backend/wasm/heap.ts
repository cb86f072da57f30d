// The WebAssembly heap: one shared WebAssembly.Memory that holds every tensor of the wasm backend,
// so kernels (on any thread) work in place. Free blocks are kept sorted by address and merged
// with their neighbours; allocation takes the smallest block that fits (best fit). A training
// step frees and re-allocates the same sizes every step, so memory stays flat, and blocks freed by
// one phase (training at batch 128) serve another (inference at batch 1000).
// Not for: deciding lifetimes (the tensor layer's scopes do that).

import type { DType, TypedArray } from '../../core/dtype.js';
import { TsgradError } from '../../core/errors.js';

const PAGE = 65536;
const ALIGN = 64; // a cache line: SIMD loads never straddle one at a block start
/** The first 64 KiB stay unused so that a null pointer is never a tensor. */
const BASE = PAGE;

/** The bytes a block of `bytes` takes: whole cache lines, at least one. */
const blockSize = (bytes: number) => Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2);

/** Throws unless `n` items of `unit` bytes (4: tensor elements, 1: bytes) can ever fit in `max` bytes. */
function checkAllocation(n: number, unit: number, max: number): void {
  if (Number.isInteger(n) && n >= 0 && n * unit <= max) return;
  const what = unit === 1 ? `${String(n)} bytes` : `a tensor of ${String(n)} elements`;
  const why = Number.isInteger(n) && n >= 0 ? `more than the ${gib(max)} GiB WebAssembly heap can hold` : 'the size must be a non-negative integer';
  throw new TsgradError(`cannot allocate ${what}: ${why}`);
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  private top = BASE;
  /** Free blocks below `top`, sorted by offset: [offset, size] pairs. */
  private readonly free: [number, number][] = [];
  /** Live blocks: byte offset -> block size. */
  private readonly live = new Map<number, number>();
  /** Every buffer object memory.buffer has returned (a new one after each grow). */
  private readonly buffers = new Set<ArrayBufferLike>();
  private f32 = new Float32Array(0);
  private i32 = new Int32Array(0);

  constructor(private readonly maxPages = 32768) {
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: maxPages, shared: true });
    this.refresh();
  }

  get reservedBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** The most the memory can ever grow to, in bytes. */
  get maxBytes(): number {
    return this.maxPages * PAGE;
  }

  /**
   * A block of at least `bytes`, aligned; its byte offset. `bytes` is checked first, and nothing
   * changes until nothing more can fail, so a failed allocation leaves the heap as it was.
   */
  allocBytes(bytes: number): number {
    checkAllocation(bytes, 1, this.maxBytes - BASE);
    const size = blockSize(bytes);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const s = this.free[i][1];
      if (s >= size && (best < 0 || s < this.free[best][1])) best = i;
    }
    const offset = best >= 0 ? this.free[best][0] : this.top;
    if (best < 0 && offset + size > this.memory.buffer.byteLength) {
      try {
        this.memory.grow(Math.ceil((offset + size - this.memory.buffer.byteLength) / PAGE));
      } catch {
        // Say what was asked and what the heap holds: the cause may be a batch, a model or a file.
        throw new TsgradError(`out of tensor memory: a block of ${(size / 2 ** 20).toFixed(1)} MiB does not fit beside the ` +
          `${gib(this.top - BASE)} GiB of tensors already in the WebAssembly heap (at most ${gib(this.maxBytes)} GiB)`);
      }
      this.refresh();
    }
    // Only now does the state change: the block is live, and taken from the free list or the top.
    this.live.set(offset, size);
    if (best < 0) this.top = offset + size;
    else if (this.free[best][1] === size) this.free.splice(best, 1);
    else this.free[best] = [offset + size, this.free[best][1] - size];
    return offset;
  }

  freeBytes(offset: number): void {
    const size = this.live.get(offset);
    if (size === undefined) return; // not a block of ours (a view, or freed already)
    this.live.delete(offset);
    // Insert in address order, merging with the neighbours it touches.
    let lo = 0, hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid][0] < offset) lo = mid + 1;
      else hi = mid;
    }
    let block: [number, number] = [offset, size];
    const prev = this.free[lo - 1];
    if (prev && prev[0] + prev[1] === offset) {
      block = [prev[0], prev[1] + size];
      this.free.splice(--lo, 1);
    }
    const next = this.free[lo];
    if (next && block[0] + block[1] === next[0]) {
      block[1] += next[1];
      this.free.splice(lo, 1);
    }
    if (block[0] + block[1] === this.top) this.top = block[0]; // give the end back to the bump region
    else this.free.splice(lo, 0, block);
  }

  /** Storage for `length` elements of `dtype` (4 bytes each), checked before anything changes. */
  alloc(dtype: DType, length: number): TypedArray {
    checkAllocation(length, 4, this.maxBytes - BASE);
    const offset = this.allocBytes(length * 4);
    return dtype === 'float32' ? this.f32.subarray(offset >> 2, (offset >> 2) + length) : this.i32.subarray(offset >> 2, (offset >> 2) + length);
  }

  /** Frees the block a typed array from alloc() occupies; anything else is ignored. */
  release(data: TypedArray): void {
    if (this.owns(data) && this.live.get(data.byteOffset) === blockSize(data.length * 4)) this.freeBytes(data.byteOffset);
  }

  /** Whether `data` lies in this heap (kernels can take its byte offset as a pointer). */
  owns(data: TypedArray): boolean {
    return this.buffers.has(data.buffer);
  }

  private refresh(): void {
    // A shared memory's buffer is never detached by grow(); new views just see more of it.
    this.buffers.add(this.memory.buffer);
    this.f32 = new Float32Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
  }
}
