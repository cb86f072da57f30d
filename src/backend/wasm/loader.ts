// Loads the compiled kernels (the relaxed-SIMD build, with fused multiply-add, when this runtime
// validates it, else the plain SIMD build) and declares what they export: KERNELS. Node 20 needs
// a V8 flag for relaxed SIMD, which must be set before anything is compiled; Node 22+ and
// Chromium have it on.

import fs from 'node:fs';
import v8 from 'node:v8';
import { TsgradError } from '../../core/errors.js';
import { Binary, Pooling, Reduce, Unary } from './kernels/opcodes.js';

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

export function loadKernels(): KernelModule {
  if (cached) return cached;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  const relaxed = read('relaxed');
  const useRelaxed = simdFromEnvironment() !== 'plain' && WebAssembly.validate(relaxed);
  const bytes = useRelaxed ? relaxed : read('simd');
  cached = { module: new WebAssembly.Module(bytes), variant: useRelaxed ? 'relaxed' : 'simd' };
  return cached;
}

/**
 * Every kernel the module exports (kernels/index.ts), written once: KernelName is derived from
 * it, the pool numbers jobs by position in it, and its workers receive it at start-up.
 */
export const KERNELS = [
  'sgemm', 'sgemmBatched', 'sgemmShared', 'packBShared', 'convForward', 'convFilter', 'convInput',
  'im2col', 'col2im', 'convSmallForward', 'convSmallFilter',
  'winogradWeights', 'winogradForward', 'winogradInput', 'winogradFilter', 'winogradFilterSum',
  'pool', 'poolGrad', 'unary', 'binary', 'binaryFlat', 'reduceRows', 'reduceCols', 'reduceRowBlocks',
  'softmax', 'softmaxGrad', 'logSoftmax', 'logSoftmaxGrad', 'normalize', 'normalizeGrad',
  'transpose', 'copyRows', 'sgdUpdate', 'adamUpdate',
] as const;
export type KernelName = (typeof KERNELS)[number];

/**
 * What the kernel module exports: the kernels (pointers are byte offsets into the shared heap;
 * each kernel's last three arguments are the thread's start, end and scratch; see kernels/*.ts),
 * the scratch size and the op codes (kernels/opcodes.ts, as globals such as `Unary.relu`).
 */
export type Kernels = Record<KernelName, (...args: number[]) => void> & { SGEMM_SCRATCH_FLOATS: WebAssembly.Global };

/** The op code enums, by the names under which the module exports their members. */
const OP_CODES = { Unary, Binary, Reduce, Pooling };

/**
 * The kernels on `memory`, after checking that this build exports exactly KERNELS and the op
 * codes of kernels/opcodes.ts: a build from older sources must fail here, not compute nonsense.
 */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const functions = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
  const problems = [
    ...KERNELS.filter((name) => typeof exports[name] !== 'function').map((name) => `${name} is missing`),
    ...functions.filter((name) => !(KERNELS as readonly string[]).includes(name)).map((name) => `${name} is not in KERNELS`),
  ];
  for (const [kind, codes] of Object.entries(OP_CODES)) {
    for (const [name, code] of Object.entries(codes)) {
      if (typeof code !== 'number') continue; // a numeric enum maps its codes back to names too
      const global = exports[`${kind}.${name}`];
      if (!(global instanceof WebAssembly.Global) || global.value !== code) problems.push(`op code ${kind}.${name} differs`);
    }
  }
  if (problems.length) {
    throw new TsgradError(`the WebAssembly kernels do not match src/backend/wasm (${problems.join('; ')}): run npm run build`);
  }
  return exports as unknown as Kernels;
}
