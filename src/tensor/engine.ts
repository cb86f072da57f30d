// Process-wide engine state: which backend allocates and computes, and whether ops record the
// graph for autograd. The tensor layer imports no backend but the reference one: an entry point
// registers the others (Node's src/index.ts the wasm backend with its worker_threads pool).
// Who owns tensor storage is memory.ts's business.

import type { Backend } from '../backend/backend.js';
import { refBackend } from '../backend/ref/index.js';
import { check, TsgradError } from '../core/errors.js';

/**
 * A backend by name: `wasm` (the fast kernels, WebAssembly; the default where the entry point
 * registers it) or `ref` (the plain-TypeScript reference, the specification the others are tested against).
 */
export type BackendName = 'wasm' | 'ref';

const factories: Partial<Record<BackendName, () => Backend>> = { ref: () => refBackend };
const made: Partial<Record<BackendName, Backend>> = {};
let backend: Backend | null = null;
let recording = true;
let scope = '';

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
  return (backend = backendByName(backendFromEnvironment() ?? (factories.wasm ? 'wasm' : 'ref')));
}

/** TSGRAD_BACKEND where there is a `process`: wasm, ref, or unset (or empty); anything else is an error naming it. */
export function backendFromEnvironment(): BackendName | undefined {
  const asked = typeof process === 'undefined' ? undefined : process.env.TSGRAD_BACKEND;
  if (!asked) return undefined;
  check(asked === 'wasm' || asked === 'ref', `TSGRAD_BACKEND must be wasm or ref (or unset), got ${JSON.stringify(asked)}`);
  return asked;
}

/**
 * An on/off environment variable: unset, empty, 0, false or no is off; 1, true or yes is on (any
 * case); anything else is an error naming it, rather than silently off.
 */
export function environmentSwitch(name: string): boolean {
  const v = typeof process === 'undefined' ? undefined : process.env[name];
  if (v === undefined || /^(|0|false|no)$/i.test(v)) return false;
  if (/^(1|true|yes)$/i.test(v)) return true;
  throw new TsgradError(`${name} must be 1, true or yes (on), or 0, false, no or unset (off), got ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`);
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

/**
 * The part of a model that is computing (a layer's name, `loss`, `optimizer`), for profiles: ops
 * record it in their graph node, and backward runs each node's gradient in the node's scope again.
 */
export function currentScope(): string {
  return scope;
}

/** Runs `fn` with `name` as the current scope (see currentScope). */
export function inScope<T>(name: string, fn: () => T): T {
  const saved = scope;
  scope = name;
  try {
    return fn();
  } finally {
    scope = saved;
  }
}
