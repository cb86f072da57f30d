// The kernels a command runs on. The library's Node entry (src/index.ts) registers the wasm
// backend (WebAssembly SIMD on every core) as it loads; a command calls this instead of importing
// that entry, which loads the whole library, so that it starts fast.

import { createWasmBackend } from '../backend/wasm/node.js';
import { registerBackend } from '../tensor/engine.js';

/** Makes the wasm backend available (created on first use, with `threads` threads; default: all cores or TSGRAD_THREADS). */
export function registerNodeBackend(threads?: number): void {
  registerBackend('wasm', () => createWasmBackend(threads));
}
