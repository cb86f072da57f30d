// Tensor: an n-dimensional float32 (or int32) array in backend memory, plus the graph node that
// produced it when autograd is recording. Methods are thin sugar over the primitive ops in ops.ts.
// Not for: gradients (src/autograd) or composite maths (src/ops).

import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import type { Padding } from '../backend/geometry.js';
import { copyOf, type DType, type TypedArray } from '../core/dtype.js';
import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { formatShape, sizeOf, type Shape } from '../core/shape.js';
import { getBackend } from './engine.js';
import { allocStorage, type Storage } from './memory.js';
import * as ops from './ops.js';
import type { Op } from './op.js';

export interface Node {
  op: Op;
  inputs: Tensor[];
}

let nextId = 0;

export class Tensor {
  readonly id = nextId++;
  /** Leaves with requiresGrad receive `.grad` from backward(); results of ops on them record a node. */
  requiresGrad = false;
  grad: Tensor | null = null;

  readonly size: number;

  constructor(
    /** Row-major values in backend memory, shared by views (reshape, variable). */
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly dtype: DType = 'float32',
    readonly node: Node | null = null,
    /** Where this tensor's values start in the storage (a view of some rows). */
    readonly offset = 0,
  ) {
    this.size = sizeOf(shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  /**
   * The values as a row-major typed array that is yours to keep: it stays valid for as long as
   * you hold it, and writing to it changes the tensor. Reading a tensor that a tidy() freed throws.
   */
  get data(): TypedArray {
    return this.view(this.storage.expose());
  }

  /**
   * The values for kernels and library code, checked like `data` but valid only until the next
   * tensor is made (it may be a block of the WebAssembly heap that is then reused). Users read
   * `data`, `dataSync()`, `item()` or `toArray()`.
   */
  get raw(): TypedArray {
    return this.view(this.storage.values());
  }

  private view(a: TypedArray): TypedArray {
    return this.offset === 0 && a.length === this.size ? a : a.subarray(this.offset, this.offset + this.size);
  }

  /** A copy of the values as a plain typed array. */
  dataSync(): TypedArray {
    return copyOf(this.view(this.storage.peek()));
  }

  /** The values as nested JavaScript arrays (a number for a scalar). */
  toArray(): unknown {
    const values = this.view(this.storage.peek());
    const nest = (offset: number, axis: number): unknown => {
      if (axis === this.rank) return values[offset];
      const step = sizeOf(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] }, (_, i) => nest(offset + i * step, axis + 1));
    };
    return nest(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    check(this.size === 1, `item() needs a tensor with one element, got shape ${formatShape(this.shape)}`);
    return this.storage.peek()[this.offset];
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype})`;
  }

  add(b: Tensor | number): Tensor { return ops.binary('add', this, b); }
  sub(b: Tensor | number): Tensor { return ops.binary('sub', this, b); }
  mul(b: Tensor | number): Tensor { return ops.binary('mul', this, b); }
  div(b: Tensor | number): Tensor { return ops.binary('div', this, b); }
  greater(b: Tensor | number): Tensor { return ops.binary('greater', this, b); }
  equal(b: Tensor | number): Tensor { return ops.binary('equal', this, b); }
  neg(): Tensor { return ops.unary('neg', this); }
  exp(): Tensor { return ops.unary('exp', this); }
  log(): Tensor { return ops.unary('log', this); }
  sqrt(): Tensor { return ops.unary('sqrt', this); }
  abs(): Tensor { return ops.unary('abs', this); }
  sign(): Tensor { return ops.unary('sign', this); }
  relu(): Tensor { return ops.unary('relu', this); }
  sigmoid(): Tensor { return ops.unary('sigmoid', this); }
  tanh(): Tensor { return ops.unary('tanh', this); }
  square(): Tensor { return ops.binary('mul', this, this); }
  sum(axes?: number | number[], keepDims = false): Tensor { return ops.sum(this, axes, keepDims); }
  max(axes?: number | number[], keepDims = false): Tensor { return ops.max(this, axes, keepDims); }
  mean(axes?: number | number[], keepDims = false): Tensor {
    const total = this.sum(axes, keepDims);
    return total.div(this.size / Math.max(total.size, 1));
  }
  argMax(axis = -1): Tensor { return ops.argMax(this, axis); }
  matmul(b: Tensor, opts?: { transA?: boolean; transB?: boolean }): Tensor { return ops.matmul(this, b, opts); }
  reshape(shape: readonly number[]): Tensor { return ops.reshape(this, shape); }
  transpose(perm?: readonly number[]): Tensor { return ops.transpose(this, perm); }
  gather(indices: Tensor, axis = 0): Tensor { return ops.gather(this, indices, axis); }
}

export type { BinaryOp, Padding, UnaryOp };

type Nested = number | Nested[];

/** A tensor from a number, nested arrays or a typed array (then `shape` defaults to 1-D). */
export function tensor(values: Nested | TypedArray, shape?: readonly number[], dtype?: DType): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (ArrayBuffer.isView(values)) {
    flat = values;
    inferred = [values.length];
    dtype ??= values instanceof Int32Array ? 'int32' : 'float32';
  } else {
    inferred = [];
    for (let v: Nested = values; Array.isArray(v); v = v[0]) inferred.push(v.length);
    flat = flatten(values);
  }
  const finalShape = shape ? [...shape] : inferred;
  check(sizeOf(finalShape) === flat.length,
    `${flat.length} values do not fill a tensor of shape ${formatShape(finalShape)}`);
  const t = allocate(finalShape, dtype ?? 'float32');
  t.raw.set(flat);
  return t;
}

function flatten(values: Nested): number[] {
  if (!Array.isArray(values)) return [values];
  const out: number[] = [];
  for (const v of values) out.push(...flatten(v));
  return out;
}

export function scalar(value: number): Tensor {
  return tensor(value, []);
}

/** A new tensor with fresh storage from the current backend, owned by the innermost tidy (see memory.ts). */
export function allocate(shape: Shape, dtype: DType = 'float32', node: Node | null = null): Tensor {
  return new Tensor(allocStorage(getBackend(), dtype, sizeOf(shape)), [...shape], dtype, node);
}

export function fill(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const t = allocate(shape, dtype);
  t.raw.fill(value);
  return t;
}

export function zeros(shape: Shape): Tensor {
  return fill(shape, 0);
}

export function ones(shape: Shape): Tensor {
  return fill(shape, 1);
}

export function randomUniform(shape: Shape, rng: Rng, low = 0, high = 1): Tensor {
  const t = zeros(shape);
  const v = t.raw;
  for (let i = 0; i < v.length; i++) v[i] = low + (high - low) * rng.uniform();
  return t;
}

export function randomNormal(shape: Shape, rng: Rng, mean = 0, std = 1): Tensor {
  const t = zeros(shape);
  const v = t.raw;
  for (let i = 0; i < v.length; i++) v[i] = mean + std * rng.normal();
  return t;
}

/** Marks a tensor as a trainable leaf: backward() will give it a `.grad`. It shares t's storage. */
export function variable(t: Tensor): Tensor {
  const v = new Tensor(t.storage, t.shape, t.dtype, null, t.offset);
  v.requiresGrad = true;
  return v;
}

/** Examples start..end-1 of t (along the first axis) as a view of its storage: no copy, no gradient. */
export function rows(t: Tensor, start: number, end: number): Tensor {
  check(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= (t.shape[0] ?? 0),
    `rows ${start}..${end} are outside a tensor of shape ${formatShape(t.shape)}`);
  const per = t.shape[0] ? t.size / t.shape[0] : 0;
  return new Tensor(t.storage, [end - start, ...t.shape.slice(1)], t.dtype, null, t.offset + start * per);
}
