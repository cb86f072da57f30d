// The browser bundle's entry (build/tsgrad.browser.js, made by scripts/build-browser.js): the
// library without what needs Node's file system, `loadModel(url)` and `fetchLanguageModel(url)`
// fetching checkpoints over HTTP, and the wasm backend on Web Workers (src/backend/wasm/web.ts).
// Importing the bundle waits (top-level await) until the kernels are compiled and the workers
// serve, so the first op is already fast; a browser without WebAssembly SIMD or shared memory
// computes on the reference backend, and backendInfo() says why. Everything else it exports is
// api.ts, which the Node entry exports too.

/**
 * tsgrad in a browser (`import * as tf from 'tsgrad/browser'`): the library without what needs
 * Node's file system, with {@link loadModel} and {@link fetchLanguageModel} fetching checkpoints
 * over HTTP, and the WebAssembly kernels on Web Workers ({@link backendInfo} says how it runs).
 * @module tsgrad/browser
 */

import { createWasmBackend, setWasmPlatform, type WasmBackend } from './backend/wasm/index.js';
import { webPlatform } from './backend/wasm/web.js';
import { getBackend, registerBackend, setBackend } from './tensor/engine.js';

export * from './api.js';
export { fetchModel as loadModel, fetchLanguageModel, type LoadedLanguageModel } from './models/load.js';
export { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
export { Gpt, type GptConfig } from './models/gpt.js';
export { LstmLm, type LstmLmConfig } from './models/lstm-lm.js';
export { generate, generateTokens, sampleToken, type GenerateOptions, type SampleOptions } from './train/lm-generate.js';
export { CharTokenizer, BpeTokenizer, tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from './data/tokenizer.js';

/**
 * What {@link backendInfo} reports: the backend the page computes on, its threads and SIMD build,
 * and why it is not faster when it is not.
 */
export interface BackendInfo {
  /** The backend: the WebAssembly kernels, or the plain-TypeScript reference. */
  name: 'wasm' | 'ref';
  /** Threads the kernels run on (the page's own and its workers). */
  threads: number;
  /** The kernel build: relaxed SIMD (fused multiply-add) or plain SIMD; null on the reference backend. */
  simd: 'relaxed' | 'simd' | null;
  /** Whether the page is cross-origin isolated (needed for more than one thread). */
  isolated: boolean;
  /** Why the page computes on one thread or on the reference backend, when it does. */
  note: string | null;
  /** Chunks of the jobs split between threads so far, and how many of them the workers ran. */
  chunks: {
    /** Chunks of work split between threads so far. */
    total: number;
    /** How many of them the Web Workers ran (the rest ran on the page's own thread). */
    byWorkers: number;
  };
}

let note: string | null = null;
try {
  const platform = await webPlatform();
  setWasmPlatform(platform);
  registerBackend('wasm', () => createWasmBackend());
  note = platform.singleThreadReason;
  await (getBackend() as WasmBackend).pool.ready;
} catch (e) {
  note = `WebAssembly kernels unavailable here (${e instanceof Error ? e.message : String(e)}): computing on the reference backend`;
  setBackend('ref');
}
// Said in a browser's console; Node (the bundle imported there, for tests) keeps its output clean.
if (note && globalThis.process?.versions?.node === undefined) console.info(`tsgrad: ${note}`);

/** The backend the page computes on, and why it is not the fastest, when it is not. */
export function backendInfo(): BackendInfo {
  const b = getBackend() as Partial<WasmBackend> & { name: string };
  const wasm = b.name === 'wasm' && b.pool !== undefined;
  return {
    name: wasm ? 'wasm' : 'ref', threads: wasm ? b.pool!.threads : 1, simd: wasm ? b.variant! : null,
    isolated: globalThis.crossOriginIsolated === true, note, chunks: wasm ? { ...b.pool!.chunks } : { total: 0, byWorkers: 0 },
  };
}
