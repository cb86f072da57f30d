// The kernels a command runs on. The library's Node entry (src/index.ts) registers the wasm
// backend (WebAssembly SIMD on every core) as it loads; a command calls this instead of importing
// that entry, which loads the whole library, so that it starts fast.

import { createWasmBackend } from '../backend/wasm/node.js';
import { profileReport, profiled, type ProfiledBackend } from '../backend/profile.js';
import { backendByName, registerBackend, setBackend, type BackendName } from '../tensor/engine.js';

/** Makes the wasm backend available (created on first use, with `threads` threads; default: all cores or TSGRAD_THREADS). */
export function registerNodeBackend(threads?: number): void {
  registerBackend('wasm', () => createWasmBackend(threads));
}

/**
 * Registers and selects `--backend`, wrapped to time every kernel with `--profile`. The function
 * returned prints the profile's tables (to stderr with --json, which keeps stdout JSON) of a
 * training that took `ms`; without --profile it does nothing.
 */
export function selectBackend(flags: { backend: BackendName; profile?: boolean; json?: boolean }): (ms: number) => void {
  registerNodeBackend();
  const backend = flags.profile ? profiled(backendByName(flags.backend)) : backendByName(flags.backend);
  setBackend(backend);
  return (ms) => {
    if (flags.profile) (flags.json ? process.stderr : process.stdout).write(profileReport(backend as ProfiledBackend, ms));
  };
}
