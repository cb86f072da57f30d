// Loads the compiled kernels: the relaxed-SIMD build (fused multiply-add) when this runtime
// validates it, else the plain SIMD build. Node 20 needs a V8 flag for relaxed SIMD, which must be
// set before anything is compiled; Node 22+ and Chromium have it on.

import fs from 'node:fs';
import v8 from 'node:v8';
import { TsgradError } from '../../core/errors.js';

export interface KernelModule {
  module: WebAssembly.Module;
  variant: 'relaxed' | 'simd';
}

let cached: KernelModule | null = null;

function read(name: string): Uint8Array<ArrayBuffer> {
  const url = new URL(`../../../build/kernels-${name}.wasm`, import.meta.url);
  if (!fs.existsSync(url)) {
    throw new TsgradError(`the WebAssembly kernels are not built (${url.pathname} is missing): run npm install or npm run build`);
  }
  return new Uint8Array(fs.readFileSync(url));
}

export function loadKernels(): KernelModule {
  if (cached) return cached;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  const relaxed = read('relaxed');
  const useRelaxed = process.env.TSGRAD_SIMD !== 'plain' && WebAssembly.validate(relaxed);
  const bytes = useRelaxed ? relaxed : read('simd');
  cached = { module: new WebAssembly.Module(bytes), variant: useRelaxed ? 'relaxed' : 'simd' };
  return cached;
}

type Kernel = (...args: number[]) => void;

/**
 * What the kernel module exports (pointers are byte offsets into the shared heap; each kernel's
 * last three arguments are the thread's start, end and scratch). See kernels/*.ts.
 */
export interface Kernels {
  sgemm: Kernel;
  sgemmBatched: Kernel;
  sgemmShared: Kernel;
  packBShared: Kernel;
  convForward: Kernel;
  convFilter: Kernel;
  convInput: Kernel;
  im2col: Kernel;
  col2im: Kernel;
  convSmallForward: Kernel;
  convSmallFilter: Kernel;
  winogradWeights: Kernel;
  winogradForward: Kernel;
  winogradInput: Kernel;
  winogradFilter: Kernel;
  winogradFilterSum: Kernel;
  pool: Kernel;
  poolGrad: Kernel;
  unary: Kernel;
  binary: Kernel;
  binaryFlat: Kernel;
  reduceRows: Kernel;
  reduceCols: Kernel;
  reduceRowBlocks: Kernel;
  softmax: Kernel;
  softmaxGrad: Kernel;
  logSoftmax: Kernel;
  logSoftmaxGrad: Kernel;
  normalize: Kernel;
  normalizeGrad: Kernel;
  transpose: Kernel;
  copyRows: Kernel;
  sgdUpdate: Kernel;
  adamUpdate: Kernel;
  SGEMM_SCRATCH_FLOATS: WebAssembly.Global;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
