// Tensor: an n-dimensional float32 (or int32) array in backend memory, plus the graph node that
// produced it when autograd is recording. Methods are thin sugar over the primitive ops in ops.ts.
// Not for: gradients (src/autograd) or composite maths (src/ops).

import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import type { Padding } from '../backend/geometry.js';
import type { DType, TypedArray } from '../core/dtype.js';
import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { formatShape, sizeOf, type Shape } from '../core/shape.js';
import { adopt, getBackend } from './engine.js';
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

  constructor(
    /** Row-major storage owned by the current backend. */
    public data: TypedArray,
    readonly shape: readonly number[],
    readonly dtype: DType = 'float32',
    readonly node: Node | null = null,
    /** The tensor whose storage this one views (reshape, variable), kept alive with it. */
    readonly base: Tensor | null = null,
  ) {}

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** A copy of the values as a plain typed array. */
  dataSync(): TypedArray {
    return this.data.slice();
  }

  /** The values as nested JavaScript arrays (a number for a scalar). */
  toArray(): unknown {
    const nest = (offset: number, axis: number): unknown => {
      if (axis === this.rank) return this.data[offset];
      const step = sizeOf(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] }, (_, i) => nest(offset + i * step, axis + 1));
    };
    return nest(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    check(this.size === 1, `item() needs a tensor with one element, got shape ${formatShape(this.shape)}`);
    return this.data[0];
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
  t.data.set(flat);
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

/** A new tensor with fresh storage from the current backend, owned by the current scope. */
export function allocate(shape: Shape, dtype: DType = 'float32', node: Node | null = null): Tensor {
  const t = new Tensor(getBackend().alloc(dtype, sizeOf(shape)), [...shape], dtype, node);
  adopt(t);
  return t;
}

export function fill(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const t = allocate(shape, dtype);
  t.data.fill(value);
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
  for (let i = 0; i < t.size; i++) t.data[i] = low + (high - low) * rng.uniform();
  return t;
}

export function randomNormal(shape: Shape, rng: Rng, mean = 0, std = 1): Tensor {
  const t = zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = mean + std * rng.normal();
  return t;
}

/** Marks a tensor as a trainable leaf: backward() will give it a `.grad`. */
export function variable(t: Tensor): Tensor {
  const v = new Tensor(t.data, t.shape, t.dtype, null, t);
  v.requiresGrad = true;
  return v;
}
