// Who owns tensor storage, and when it is freed. Storage lives in the backend's memory (the wasm
// heap, which JavaScript's garbage collector cannot see) or in JavaScript memory (the reference
// backend, and storage moved out of the heap). Every block of storage is in exactly one of:
//   scope     made inside tidy(): freed when that tidy ends, unless returned from it or kept;
//   young     made outside every tidy (a user's own loop): the heap cannot wait for the garbage
//             collector, so at step boundaries (backward, an optimizer's step), once enough young
//             storage has piled up, what is older than the last step is moved out of the heap into
//             JavaScript memory. The collector sees that memory and frees what nobody can still
//             read; nothing that can be read is ever lost;
//   tenured   long-lived (weights, optimizer moments, data sets, anything used again after being
//             moved out): freed when the garbage collector finds its typed array unreachable;
//   js        in JavaScript memory: the collector's business.
// A freed storage has no array; reading its tensor throws a TsgradError that says who freed it.
// `dataSync()` hands the user a typed array that stays valid as long as it is held: a tenured block's
// own (the collector keeps it while the array is reachable), else the storage moved to JS memory.
// Not for: choosing the backend (engine.ts) or the allocator itself (src/backend).

import type { Backend } from '../backend/backend.js';
import { copyOf, type DType, type TypedArray } from '../core/dtype.js';
import { check, TsgradError } from '../core/errors.js';
import { environmentSwitch } from './engine.js';

type Place = 'scope' | 'young' | 'tenured' | 'js' | 'freed';

const MiB = 2 ** 20;
/** TSGRAD_DEBUG_MEMORY=1: freed heap storage is filled with NaN, and young storage moves out at every step. */
const DEBUG = environmentSwitch('TSGRAD_DEBUG_MEMORY');
/** Young storage moves out of the heap at a step boundary once there is more than this... */
let youngBudget = DEBUG ? 0 : 16 * MiB;
/** ...and at any allocation once there is more than this (a loop with no step boundaries). */
const YOUNG_LIMIT = DEBUG ? 16 * MiB : 64 * MiB;
/** The bits of a float32 quiet NaN, written over freed storage in debug mode (int32 tensors read 2143289344). */
const NAN_BITS = 0x7fc00000;

interface Scope {
  storages: Storage[];
}

export class Storage {
  private array: TypedArray | null;
  place: Place;
  /** The step (see stepBoundary) in which young storage was made. */
  epoch = 0;
  /** Why it was freed, for the error of a later read. */
  private freedBy = '';

  /** Whether the array is a block of the backend's memory (else JavaScript's). */
  inHeap: boolean;
  /** A recorded op's backward reads these values (see tensor/ops.ts SAVES). */
  saved = false;
  /**
   * Made inside an internal() scope and not returned from it: no one but backward can read it, so
   * backward frees it once it has used it (autograd/backward.ts).
   */
  internal = false;
  /** Moved out of the heap as young storage: used again, it comes back as tenured. */
  private spilled = false;

  constructor(array: TypedArray, readonly backend: Backend, place: Place, public owner: Scope | null) {
    this.array = array;
    this.place = place;
    this.inHeap = backend.managesMemory;
  }

  get bytes(): number {
    return this.array ? this.array.byteLength : 0;
  }

  /** The values, for reading now: valid until the next allocation. */
  peek(): TypedArray {
    if (!this.array) throw new TsgradError(`this tensor was freed ${this.freedBy}; return it from the tidy() or keep() it to use it afterwards`);
    return this.array;
  }

  /** The values for a kernel: young storage moved out of the heap and used again comes back, tenured. */
  values(): TypedArray {
    if (this.spilled) {
      this.spilled = false;
      this.tenure();
    }
    return this.peek();
  }

  /** The values as an array the caller may hold for as long as it likes (see the header). */
  expose(): TypedArray {
    this.peek();
    this.spilled = false;
    if (this.inHeap && (this.place === 'scope' || this.place === 'young')) this.moveOut();
    return this.array!;
  }

  /** Moves the values into JavaScript memory and frees the heap block. */
  moveOut(): void {
    if (this.place === 'young') {
      youngBytes -= this.bytes;
      this.place = 'js';
      this.spilled = true;
    }
    const copy = copyOf(this.array!);
    freeBlock(this.backend, this.array!);
    this.array = copy;
    this.inHeap = false;
  }

  /** Makes the storage long-lived: back into the heap if it was moved out, then freed by the collector. */
  tenure(): void {
    if (this.place === 'tenured' || this.place === 'freed' || !this.backend.managesMemory) return;
    if (this.place === 'young') youngBytes -= this.bytes;
    if (!this.inHeap) {
      const a = this.array!;
      const block = this.backend.alloc(a instanceof Int32Array ? 'int32' : 'float32', a.length);
      block.set(a);
      this.array = block;
      this.inHeap = true;
    }
    this.place = 'tenured';
    collected.register(this.array!, { backend: this.backend, block: this.array!.subarray(0) }, this);
  }

  /** Frees the storage now; `why` completes "this tensor was freed ...". */
  free(why: string): void {
    if (this.place === 'freed') return;
    if (this.place === 'young') youngBytes -= this.bytes;
    if (this.place === 'tenured') collected.unregister(this);
    if (this.inHeap) freeBlock(this.backend, this.array!);
    this.array = null;
    this.place = 'freed';
    this.freedBy = why;
  }
}

function freeBlock(backend: Backend, block: TypedArray): void {
  if (DEBUG) new Int32Array(block.buffer, block.byteOffset, block.length).fill(NAN_BITS);
  backend.free(block);
}

/** Tenured blocks, freed when their array (held by the storage, or by a user through `dataSync()`) is collected. */
const collected = new FinalizationRegistry<{ backend: Backend; block: TypedArray }>(({ backend, block }) => freeBlock(backend, block));

const scopes: Scope[] = [];
let young: Storage[] = [];
/** The list's length at which entries no longer young (freed, moved out, tenured) are dropped from it. */
let youngCompactAt = 1024;
let youngBytes = 0;
let epoch = 0;
/** Depth of persistent() calls: what they allocate is tenured. */
let tenuring = 0;

/** Storage for a new tensor, from `backend`, owned by the innermost tidy (or young, or tenured). */
export function allocStorage(backend: Backend, dtype: DType, size: number): Storage {
  const scope = tenuring ? null : scopes[scopes.length - 1] ?? null;
  if (!scope && !tenuring && youngBytes > YOUNG_LIMIT) moveOutYoung(epoch + 1);
  const array = backend.alloc(dtype, size);
  const s = new Storage(array, backend, scope ? 'scope' : 'js', scope); // settle() places it
  if (scope) scope.storages.push(s);
  else settle(s);
  return s;
}

/** Places storage that no tidy owns any more: tenured under persistent(), else young. */
function settle(s: Storage): void {
  if (!s.inHeap) {
    s.place = 'js';
    return;
  }
  if (tenuring) return s.tenure();
  s.place = 'young';
  s.epoch = epoch;
  young.push(s);
  youngBytes += s.bytes;
  if (young.length > youngCompactAt) {
    young = young.filter((y) => y.place === 'young');
    youngCompactAt = Math.max(1024, 2 * young.length);
  }
}

/** Moves young storage made before step `before` out of the heap (see the header). */
function moveOutYoung(before: number): void {
  const kept: Storage[] = [];
  for (const s of young) {
    if (s.place !== 'young') continue;
    if (s.epoch < before) s.moveOut();
    else kept.push(s);
  }
  young = kept;
}

/**
 * Marks the end of a training step (backward and an optimizer's step call it). Young storage made
 * before the previous boundary moves out of the heap once it passes the budget.
 */
export function stepBoundary(): void {
  epoch++;
  if (youngBytes > youngBudget) moveOutYoung(epoch - 1);
}

/** Sets the step-boundary budget of young storage in bytes (for tests); returns the previous one. */
export function setYoungBudget(bytes: number): number {
  const previous = youngBudget;
  youngBudget = bytes;
  return previous;
}

interface Owned {
  storage: Storage;
}

const isOwned = (v: unknown): v is Owned => typeof v === 'object' && v !== null && (v as Owned).storage instanceof Storage;

/** Tensors whose storage must outlive a scope with another's (a softmax output keeps its logits). */
const companions = new WeakMap<object, Owned[]>();

/** Whatever keeps `t` past a tidy keeps `other` too. */
export function keepWith(t: Owned, other: Owned): void {
  const list = companions.get(t);
  if (list) list.push(other);
  else companions.set(t, [other]);
}

/**
 * Runs `fn`, then frees the storage of every tensor made meanwhile except those in its result (a
 * tensor, or arrays and objects of them) and those kept, which pass to the enclosing tidy (or,
 * outside every tidy, are young). TensorFlow.js's tidy; `fn` must not be async.
 */
export function tidy<T>(fn: () => T): T {
  return scoped(fn, false);
}

function scoped<T>(fn: () => T, internal: boolean): T {
  const s: Scope = { storages: [] };
  scopes.push(s);
  let result: T;
  try {
    result = fn();
    check(!(result instanceof Promise), 'tidy() takes a synchronous function: it cannot tell when an async one is done with its tensors');
  } catch (e) {
    scopes.pop();
    end(s, new Set(), 'when the tidy() that made it failed');
    throw e;
  }
  scopes.pop();
  const kept = new Set<Storage>();
  collect(result, kept, 0);
  end(s, kept, internal ? 'inside the layer that made it, once no one could read it' : 'when the tidy() that made it ended', internal);
  return result;
}

function end(s: Scope, kept: Set<Storage>, why: string, internal = false): void {
  for (const st of s.storages) {
    if (st.place !== 'scope' || st.owner !== s) continue; // kept, or freed already
    if (kept.has(st)) handOver(st);
    else if (internal && st.saved) {
      // A value backward will read: it lives on, but only backward can reach it now.
      st.internal = true;
      handOver(st);
    } else st.free(why);
  }
}

/**
 * tidy() for a library's own steps of a computation (a layer's product and bias, attention's
 * scores): `fn`'s tensors that are not in its result are out of everyone's reach when it returns.
 * Those a recorded op's backward will read stay (backward frees each once it has used it, and the
 * enclosing tidy frees what backward never reaches); the others are freed at once. So a training
 * step holds, at its peak, only the values backward needs, as PyTorch's saved tensors.
 */
export function internal<T>(fn: () => T): T {
  return scoped(fn, true);
}

/** Passes scope storage to the enclosing tidy, or out of every tidy. */
function handOver(st: Storage): void {
  const outer = scopes[scopes.length - 1];
  st.owner = outer ?? null;
  if (outer) outer.storages.push(st);
  else settle(st);
}

/** Lets `t` outlive every tidy around it (TensorFlow.js's keep); returns t. */
export function keep<T extends Owned>(t: T): T {
  const seen = new Set<Storage>();
  collect(t, seen, 0);
  for (const st of seen) {
    if (st.place !== 'scope') continue;
    st.owner = null;
    settle(st);
  }
  return t;
}

/**
 * Tenures `t`'s storage if it is young: for data a loop reads at every step (fit's x and y), which
 * the young sweeps would otherwise copy out of the heap and back in. Returns t.
 */
export function longLived<T extends Owned>(t: T): T {
  if (t.storage.place === 'young') t.storage.tenure();
  return t;
}

/** Runs `fn` so that what it allocates is tenured: weights, optimizer moments, data sets. */
export function persistent<T>(fn: () => T): T {
  tenuring++;
  try {
    return fn();
  } finally {
    tenuring--;
  }
}

/**
 * Frees `t` now if it is a temporary the caller made and nobody else can read: storage of the
 * innermost tidy or young, not shared with `result` and not kept alive by it (companions).
 */
export function release(t: Owned, result?: Owned): void {
  const st = t.storage;
  if (result && (result.storage === st || (companions.has(result) && keeps(result, t)))) return;
  if ((st.place === 'scope' && st.owner === scopes[scopes.length - 1]) || st.place === 'young') st.free('after use, as a temporary');
}

function keeps(t: Owned, other: Owned): boolean {
  const seen = new Set<Storage>();
  collect(t, seen, 0);
  return seen.has(other.storage);
}

function collect(v: unknown, into: Set<Storage>, depth: number): void {
  if (!v || typeof v !== 'object' || depth > 3) return;
  if (isOwned(v)) {
    if (into.has(v.storage) && !companions.has(v)) return;
    into.add(v.storage);
    for (const c of companions.get(v) ?? []) if (!into.has(c.storage)) collect(c, into, 0);
    return;
  }
  for (const x of Array.isArray(v) ? v : Object.values(v)) collect(x, into, depth + 1);
}

/**
 * What {@link memory} reports of the tensor layer's backend memory: bytes held by running tidy()
 * scopes and young storage in the heap.
 */
export interface MemoryInfo {
  /** Bytes of storage owned by tidy() scopes that are running. */
  scopeBytes: number;
  /** Bytes of young storage still in the heap (see the header). */
  youngBytes: number;
  /** Young blocks in the heap. */
  youngTensors: number;
}

/** What the tensor layer holds in backend memory (the backend's own totals are on it). */
export function memory(): MemoryInfo {
  let scopeBytes = 0;
  for (const s of scopes) for (const st of s.storages) if (st.place === 'scope' && st.inHeap) scopeBytes += st.bytes;
  return { scopeBytes, youngBytes, youngTensors: young.filter((s) => s.place === 'young').length };
}
