// What the compiled kernels export (KERNELS and the op codes) and their instantiation on a heap,
// checked against this source. Each platform compiles them its own way: node.ts from the files in
// build/ (the relaxed-SIMD build, with fused multiply-add, where the runtime validates it, else the
// plain SIMD build), web.ts from the copies the browser bundle embeds.

import { TsgradError } from '../../core/errors.js';
import { Binary, Pooling, Reduce, Unary } from './kernels/opcodes.js';

export interface KernelModule {
  module: WebAssembly.Module;
  variant: 'relaxed' | 'simd';
}

/** What a kernel worker is given (worker-loop.js): the module, the heap, the pool's control block, KERNELS, its scratch block, its index among the pool's threads and their number. */
export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  names: readonly string[];
  scratch: number;
  index: number;
  threads: number;
}

/**
 * Every kernel the module exports (kernels/index.ts), written once: KernelName is derived from
 * it, the pool numbers jobs by position in it, and its workers receive it at start-up.
 */
export const KERNELS = [
  'sgemm', 'sgemmBatched', 'sgemmShared', 'sgemmDirect', 'packBShared', 'convForward', 'convFilter', 'convInput',
  'im2col', 'col2im', 'convSmallForward', 'convSmallFilter', 'convPoolForward', 'convPoolFilter',
  'winogradWeights', 'winogradForward', 'winogradInput', 'winogradFilter', 'winogradFilterSum',
  'winograd3Windows', 'winograd3Gradients', 'winogradProducts', 'winograd3Output', 'winograd3InputSum', 'winograd3Filter',
  'pool', 'poolGrad', 'unary', 'binary', 'binaryFlat', 'reduceRows', 'reduceCols', 'reduceRowBlocks', 'allFinite',
  'softmax', 'softmaxGrad', 'logSoftmax', 'logSoftmaxGrad', 'normalize', 'normalizeGrad',
  'transpose', 'copyRows', 'sgdUpdate', 'adamUpdate', 'attention', 'attentionGrad',
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
