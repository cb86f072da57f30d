// Process-wide engine state: which backend allocates and computes, whether ops record the graph
// for autograd, and who owns tensor storage. Storage made inside a scope() is freed when the scope
// ends (unless returned); storage made outside any scope is freed when its tensor is garbage
// collected. Users never call dispose: fit, evaluate and predict run each step in a scope.

import type { Backend } from '../backend/backend.js';
import { refBackend } from '../backend/ref/index.js';
import { createWasmBackend, type WasmBackend } from '../backend/wasm/index.js';
import type { TypedArray } from '../core/dtype.js';
import { check } from '../core/errors.js';

export type BackendName = 'wasm' | 'ref';

let backend: Backend | null = null;
let wasm: WasmBackend | null = null;
let recording = true;

/**
 * The current backend; the first call picks TSGRAD_BACKEND (wasm unless it says ref). In a browser
 * (no `process`) it is ref: the wasm backend's thread pool is Node's worker_threads for now.
 */
export function getBackend(): Backend {
  const chosen = typeof process === 'undefined' ? 'ref' : (process.env.TSGRAD_BACKEND as BackendName | undefined) ?? 'wasm';
  return (backend ??= backendByName(chosen));
}

export function backendByName(name: BackendName): Backend {
  check(name === 'wasm' || name === 'ref', `unknown backend "${name}" (tsgrad has wasm and ref)`);
  return name === 'ref' ? refBackend : (wasm ??= createWasmBackend());
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

interface Owned {
  data: TypedArray;
}

interface Scope {
  backend: Backend;
  storage: Set<TypedArray>;
}

const scopes: Scope[] = [];
/** Tensors whose storage must outlive a scope with another's (a softmax output keeps its logits). */
const companions = new WeakMap<object, Owned[]>();

/** Whatever keeps `t` past a scope keeps `other` too. */
export function keepWith(t: Owned, other: Owned): void {
  const list = companions.get(t);
  if (list) list.push(other);
  else companions.set(t, [other]);
}

/** Whether `t` keeps `other` alive (see keepWith). */
export function keeps(t: Owned, other: Owned): boolean {
  return companions.get(t)?.includes(other) ?? false;
}
const collected = new FinalizationRegistry<{ backend: Backend; data: TypedArray }>(({ backend, data }) => backend.free(data));

/** Takes charge of a tensor whose storage was just allocated by the current backend. */
export function adopt(t: Owned): void {
  const s = scopes[scopes.length - 1];
  const b = getBackend();
  if (s && s.backend === b) s.storage.add(t.data);
  else collected.register(t, { backend: b, data: t.data });
}

/**
 * Runs `fn`, then frees the storage of every tensor made meanwhile except those in its result
 * (found in a tensor, or an array or object of them), which pass to the enclosing scope.
 */
export function scope<T>(fn: () => T): T {
  const s: Scope = { backend: getBackend(), storage: new Set() };
  scopes.push(s);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const kept = new Set<Owned>();
  collect(result, kept, 0);
  const keptData = new Set([...kept].map((t) => t.data));
  for (const data of s.storage) if (!keptData.has(data)) s.backend.free(data);
  for (const t of kept) if (s.storage.has(t.data)) adoptInto(t, s.backend);
  return result;
}

/** Runs `fn` outside every scope: what it makes lives until garbage collected (optimizer state). */
export function persistent<T>(fn: () => T): T {
  const saved = scopes.splice(0);
  try {
    return fn();
  } finally {
    scopes.push(...saved);
  }
}

/** Frees a tensor's storage now, if the current scope owns it (else it is left alone). */
export function release(t: Owned): void {
  const s = scopes[scopes.length - 1];
  if (s?.storage.delete(t.data)) s.backend.free(t.data);
}

function adoptInto(t: Owned, b: Backend): void {
  const outer = scopes[scopes.length - 1];
  if (outer && outer.backend === b) outer.storage.add(t.data);
  else collected.register(t, { backend: b, data: t.data });
}

function collect(v: unknown, into: Set<Owned>, depth: number): void {
  if (!v || typeof v !== 'object' || depth > 3) return;
  if (ArrayBuffer.isView((v as Owned).data)) {
    if (into.has(v as Owned)) return;
    into.add(v as Owned);
    for (const c of companions.get(v) ?? []) collect(c, into, 0);
    return;
  }
  for (const x of Array.isArray(v) ? v : Object.values(v)) collect(x, into, depth + 1);
}
