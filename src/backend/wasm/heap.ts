// The WebAssembly heap: one shared WebAssembly.Memory that holds every tensor of the wasm backend,
// so kernels (on any thread) work in place. Allocation is by exact-size free lists: a training
// step frees and re-allocates the same sizes every step, so memory stays flat without coalescing.
// Not for: deciding lifetimes (the tensor layer's scopes do that).

import type { DType, TypedArray } from '../../core/dtype.js';

const PAGE = 65536;
const ALIGN = 64; // a cache line: SIMD loads never straddle one at a block start
/** The first 64 KiB stay unused so that a null pointer is never a tensor. */
const BASE = PAGE;

export class Heap {
  readonly memory: WebAssembly.Memory;
  private top = BASE;
  private readonly free = new Map<number, number[]>();
  /** Live blocks: byte offset -> block size. */
  private readonly live = new Map<number, number>();
  /** Every buffer object memory.buffer has returned (a new one after each grow). */
  private readonly buffers = new Set<ArrayBufferLike>();
  private f32 = new Float32Array(0);
  private i32 = new Int32Array(0);

  constructor(maxPages = 32768) {
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: maxPages, shared: true });
    this.refresh();
  }

  /** Bytes the heap has handed out and not had back. */
  get liveBytes(): number {
    let n = 0;
    for (const b of this.live.values()) n += b;
    return n;
  }

  get reservedBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** A block of at least `bytes`, aligned; its byte offset. */
  allocBytes(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const list = this.free.get(size);
    let offset = list?.pop();
    if (offset === undefined) {
      offset = this.top;
      this.top += size;
      if (this.top > this.memory.buffer.byteLength) {
        this.memory.grow(Math.ceil((this.top - this.memory.buffer.byteLength) / PAGE));
        this.refresh();
      }
    }
    this.live.set(offset, size);
    return offset;
  }

  freeBytes(offset: number): void {
    const size = this.live.get(offset);
    if (size === undefined) return; // not a block of ours (a view, or freed already)
    this.live.delete(offset);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(offset);
  }

  alloc(dtype: DType, length: number): TypedArray {
    const offset = this.allocBytes(length * 4);
    return dtype === 'float32' ? this.f32.subarray(offset >> 2, (offset >> 2) + length) : this.i32.subarray(offset >> 2, (offset >> 2) + length);
  }

  /** Frees the block a typed array from alloc() occupies; anything else is ignored. */
  release(data: TypedArray): void {
    if (this.owns(data) && this.live.get(data.byteOffset) === Math.max(ALIGN, Math.ceil((data.length * 4) / ALIGN) * ALIGN)) this.freeBytes(data.byteOffset);
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
