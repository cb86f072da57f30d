// Process-wide engine state: which backend allocates and computes, and whether ops record the
// graph for autograd. The tensor layer imports no backend but the reference one: an entry point
// registers the others (Node's src/index.ts the wasm backend with its worker_threads pool).
// Who owns tensor storage is memory.ts's business.

import type { Backend } from '../backend/backend.js';
import { refBackend } from '../backend/ref/index.js';
import { check } from '../core/errors.js';

export type BackendName = 'wasm' | 'ref';

const factories: Partial<Record<BackendName, () => Backend>> = { ref: () => refBackend };
const made: Partial<Record<BackendName, Backend>> = {};
let backend: Backend | null = null;
let recording = true;

/** Makes a backend available by name; the entry points call this (Node's registers 'wasm'). */
export function registerBackend(name: BackendName, make: () => Backend): void {
  factories[name] = make;
}

/**
 * The current backend; the first call picks TSGRAD_BACKEND where there is a `process`, else the
 * wasm backend when an entry point registered it, else the reference backend.
 */
export function getBackend(): Backend {
  if (backend) return backend;
  const asked = typeof process === 'undefined' ? undefined : process.env.TSGRAD_BACKEND;
  return (backend = backendByName((asked || (factories.wasm ? 'wasm' : 'ref')) as BackendName));
}

export function backendByName(name: BackendName): Backend {
  check(name === 'wasm' || name === 'ref', `unknown backend "${name}" (tsgrad has wasm and ref)`);
  const make = factories[name];
  check(make, `the ${name} backend is not available from this entry point (import tsgrad's Node entry for wasm)`);
  return (made[name] ??= make());
}

/** Selects the backend for tensors created from now on: 'wasm' (default), 'ref', or a Backend. */
export function setBackend(b: Backend | BackendName): void {
  backend = typeof b === 'string' ? backendByName(b) : b;
}

export function isRecording(): boolean {
  return recording;
}

/** Runs `fn` without recording the graph: for inference and for optimizer updates. */
export function noGrad<T>(fn: () => T): T {
  const saved = recording;
  recording = false;
  try {
    return fn();
  } finally {
    recording = saved;
  }
}
