// The wasm backend's Node platform, registered when this module is imported (Node's entry,
// src/index.ts, and the CLI take createWasmBackend from here): kernels compiled from the files in
// build/, workers on worker_threads, and the environment's settings (TSGRAD_THREADS, TSGRAD_SIMD). Node 20 needs a V8 flag for
// relaxed SIMD, which must be set before anything is compiled; Node 22+ has it on.

import fs from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { TsgradError } from '../../core/errors.js';
import { parseUserNumber } from '../../core/validate.js';
import { setWasmPlatform } from './index.js';

export { createWasmBackend } from './index.js';
import type { KernelModule } from './loader.js';
import { MAX_THREADS } from './pool.js';

let cached: KernelModule | null = null;

function read(name: string): Uint8Array<ArrayBuffer> {
  const url = new URL(`../../../build/kernels-${name}.wasm`, import.meta.url);
  if (!fs.existsSync(url)) {
    throw new TsgradError(`the WebAssembly kernels are not built (${url.pathname} is missing): run npm install or npm run build`);
  }
  return new Uint8Array(fs.readFileSync(url));
}

/**
 * TSGRAD_SIMD: plain (the plain SIMD build, for comparisons), relaxed or unset (the relaxed-SIMD
 * build where this runtime has it, else plain); anything else is an error naming it.
 */
export function simdFromEnvironment(): 'plain' | 'relaxed' {
  const v = process.env.TSGRAD_SIMD;
  if (v === undefined || v === '') return 'relaxed';
  if (v !== 'plain' && v !== 'relaxed') throw new TsgradError(`TSGRAD_SIMD must be plain or relaxed (or unset), got ${JSON.stringify(v.slice(0, 40))}`);
  return v;
}

/** TSGRAD_THREADS (an integer from 1 to MAX_THREADS; unset or empty: every core), else an error naming it. */
export function defaultThreads(): number {
  const env = process.env.TSGRAD_THREADS;
  if (env === undefined || env === '') return Math.min(os.availableParallelism(), MAX_THREADS);
  return parseUserNumber(env, 'TSGRAD_THREADS', { int: true, min: 1, max: MAX_THREADS });
}

export function loadKernels(): KernelModule {
  if (cached) return cached;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  const relaxed = read('relaxed');
  const useRelaxed = simdFromEnvironment() !== 'plain' && WebAssembly.validate(relaxed);
  const bytes = useRelaxed ? relaxed : read('simd');
  cached = { module: new WebAssembly.Module(bytes), variant: useRelaxed ? 'relaxed' : 'simd' };
  return cached;
}

setWasmPlatform({
  kernels: loadKernels,
  defaultThreads,
  startWorker(workerData) {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData, execArgv: [] }); // plain JavaScript: none of the parent's loaders
    w.unref(); // idle workers must not keep the process alive
    return new Promise((resolve) => w.once('message', () => resolve()));
  },
});
