// The wasm backend: tensors live in one shared WebAssembly heap and the heavy kernels run as
// WebAssembly SIMD on every core. Ops without a wasm kernel yet use the reference kernels, which
// work on heap views just as well, so the backend is complete while it is being made fast.

import type { DType, TypedArray } from '../../core/dtype.js';
import type { Backend, MatmulArgs } from '../backend.js';
import { refBackend } from '../ref/index.js';
import { Heap } from './heap.js';
import { instantiate, loadKernels, type Kernels } from './loader.js';
import { defaultThreads, Pool, type KernelName } from './pool.js';

const KERNELS: KernelName[] = ['sgemm'];

export interface WasmBackend extends Backend {
  readonly heap: Heap;
  readonly pool: Pool;
  readonly variant: 'relaxed' | 'simd';
}

export function createWasmBackend(threads = defaultThreads()): WasmBackend {
  const { module, variant } = loadKernels();
  const heap = new Heap();
  const kernels: Kernels = instantiate(module, heap.memory);
  const scratchBytes = (kernels.SGEMM_SCRATCH_FLOATS.value as number) * 4;
  const scratch = Array.from({ length: threads }, () => heap.allocBytes(scratchBytes));
  const pool = new Pool(threads, module, heap.memory, kernels, scratch, KERNELS);

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
  const done = (out: TypedArray, outPtr: number) => {
    if (!heap.owns(out)) out.set(new (out.constructor as Float32ArrayConstructor)(heap.memory.buffer, outPtr, out.length));
    while (temps.length) heap.release(temps.pop()!);
  };

  function matmul(a: Float32Array, b: Float32Array, out: Float32Array, g: MatmulArgs): void {
    const [pa, pb, pc] = [ptr(a), ptr(b), ptr(out)];
    for (let t = 0; t < g.batch; t++) {
      pool.run('sgemm', [pa + 4 * t * g.strideA, pb + 4 * t * g.strideB, pc + 4 * t * g.m * g.n, g.m, g.k, g.n, +g.transA, +g.transB],
        g.m, { align: 4, work: g.m * g.n * g.k });
    }
    done(out, pc);
  }

  return {
    ...refBackend,
    name: 'wasm',
    heap, pool, variant,
    alloc: (dtype: DType, size: number) => heap.alloc(dtype, size),
    free: (data: TypedArray) => heap.release(data),
    matmul,
  };
}
