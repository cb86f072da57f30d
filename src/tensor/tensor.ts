// Tensor: an n-dimensional float32 (or int32) array in backend memory, plus the graph node that
// produced it when autograd is recording. Methods are thin sugar over the primitive ops in ops.ts,
// with TensorFlow.js's names (and tsgrad's own where they differ: matmul and matMul), and the
// creators (tensor, tensor1d..tensor6d, zeros, range, randomNormal...) with TF.js's signatures.
// Not for: gradients (src/autograd) or composite maths (src/ops; their free functions are there).

import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import type { Padding } from '../backend/geometry.js';
import { type DType, type TypedArray } from '../core/dtype.js';
import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { formatShape, normalizeAxes, sizeOf, type Shape } from '../core/shape.js';
import { getBackend } from './engine.js';
import { allocStorage, type Storage } from './memory.js';
import * as ops from './ops.js';
import type { Op } from './op.js';

/**
 * The autograd record of the op that produced a tensor: the op and its inputs, which backward()
 * walks.
 */
export interface Node {
  /** The primitive op and its attributes (axes, shapes, ...), as its gradient rule reads them. */
  op: Op;
  /** The tensors the op read, in its argument order. */
  inputs: Tensor[];
  /** The scope the op ran in (engine.ts currentScope), where its gradient then runs too. */
  scope: string;
}

let nextId = 0;

/**
 * An n-dimensional array of float32 (or int32) values in backend memory, with TensorFlow.js's
 * methods. A result of ops on tensors that require gradients records the op in {@link Tensor.node},
 * so `backward()` can compute gradients. Create one with {@link tensor}, {@link zeros},
 * {@link variable} and the other creators; values are read with `dataSync()`, `data()`,
 * `arraySync()` or `item()`.
 */
export class Tensor {
  /** A number unique to this tensor in the process, in order of creation. */
  readonly id = nextId++;
  /** Leaves with requiresGrad receive `.grad` from backward(); results of ops on them record a node. */
  requiresGrad = false;
  /**
   * The gradient of the last backward() with respect to this tensor (same shape), or null before
   * one.
   */
  grad: Tensor | null = null;
  /** A variable's name (see variable()); other tensors have none. */
  name?: string;

  /** Number of values: the product of the shape's axes (1 for a scalar). */
  readonly size: number;

  constructor(
    /** Row-major values in backend memory, shared by views (reshape, variable). */
    readonly storage: Storage,
    /** Length of each axis, outermost first; `[]` for a scalar. */
    readonly shape: readonly number[],
    /** The element type: `float32`, or `int32` for indices and labels. */
    readonly dtype: DType = 'float32',
    /**
     * The op that produced this tensor while autograd was recording, or null for a leaf (or a
     * result nothing needed a gradient for).
     */
    readonly node: Node | null = null,
    /** Where this tensor's values start in the storage (a view of some rows). */
    readonly offset = 0,
  ) {
    this.size = sizeOf(shape);
  }

  /** Number of axes (0 for a scalar). */
  get rank(): number {
    return this.shape.length;
  }

  /**
   * The values for kernels and library code, checked like `dataSync()` but valid only until the next
   * tensor is made (it may be a block of the WebAssembly heap that is then reused). Users read
   * `dataSync()`, `data()`, `item()` or `arraySync()`.
   */
  get raw(): TypedArray {
    return this.view(this.storage.values());
  }

  private view(a: TypedArray): TypedArray {
    return this.offset === 0 && a.length === this.size ? a : a.subarray(this.offset, this.offset + this.size);
  }

  /**
   * The values as a row-major typed array that is yours to keep: it stays valid for as long as
   * you hold it, and writing to it changes the tensor. Reading a tensor that a tidy() freed throws.
   */
  dataSync(): TypedArray {
    return this.view(this.storage.expose());
  }

  /** The values, as TF.js's data(): a Promise, resolved at once (tsgrad computes synchronously). */
  async data(): Promise<TypedArray> {
    return this.dataSync();
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
    check(this.size === 1, () => `item() needs a tensor with one element, got shape ${formatShape(this.shape)}`);
    return this.storage.peek()[this.offset];
  }

  /** The values as nested arrays, as TF.js's arraySync (same as toArray). */
  arraySync(): unknown {
    return this.toArray();
  }

  /** The values as nested arrays, as TF.js's array(): a Promise, resolved at once (tsgrad computes synchronously). */
  async array(): Promise<unknown> {
    return this.toArray();
  }

  /**
   * TF.js's format: `Tensor\n    [[1, 2],\n     [3, 4]]` (with `verbose`, dtype, rank and shape too).
   * A freed tensor says so rather than throwing, so that logging one never fails.
   */
  toString(verbose = false): string {
    if (this.storage.place === 'freed') return `Tensor ${formatShape(this.shape)} ${this.dtype} (freed)`;
    return formatTensor(this.view(this.storage.peek()), this.shape, this.dtype, verbose);
  }

  /** Prints toString(verbose) with console.log, as TF.js's print(). */
  print(verbose = false): void {
    console.log(this.toString(verbose));
  }

  /** What console.log and util.inspect show in Node: toString(), not the storage's internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /**
   * Does nothing: tsgrad frees tensors itself (see memory.ts), so TF.js code that disposes runs
   * unchanged. tidy() is there to free a step's tensors at once.
   */
  dispose(): void {}

  /** Writes `value`'s values into this tensor (a variable's update, as TF.js's assign); records no gradient. */
  assign(value: Tensor): void {
    check(value.dtype === this.dtype && value.size === this.size && value.shape.every((d, i) => d === this.shape[i]),
      `assign needs a ${this.dtype} tensor of shape ${formatShape(this.shape)}, got ${value.dtype} ${formatShape(value.shape)}`);
    this.raw.set(value.raw);
  }

  /** A copy with its own storage (gradients flow through a float32 copy). */
  clone(): Tensor {
    return this.dtype === 'float32' ? ops.binary('mul', this, 1) : this.cast(this.dtype);
  }

  /**
   * The values as another dtype (float32 -> int32 truncates toward zero, as TF.js). Casting to
   * the same dtype is clone(); across dtypes no gradient flows (int32 has none).
   */
  cast(dtype: DType): Tensor {
    check(dtype === 'float32' || dtype === 'int32', `tsgrad has float32 and int32 tensors, not ${dtype}`);
    if (dtype === this.dtype && dtype === 'float32') return this.clone();
    const t = allocate(this.shape, dtype);
    t.raw.set(this.raw);
    return t;
  }

  /** this + b elementwise, broadcasting the shapes as NumPy does. */
  add(b: Tensor | number): Tensor { return ops.binary('add', this, b); }
  /** this - b elementwise, broadcasting. */
  sub(b: Tensor | number): Tensor { return ops.binary('sub', this, b); }
  /** this * b elementwise, broadcasting. */
  mul(b: Tensor | number): Tensor { return ops.binary('mul', this, b); }
  /** this / b elementwise, broadcasting. */
  div(b: Tensor | number): Tensor { return ops.binary('div', this, b); }
  /** max(this, b) elementwise; where they are equal the gradient goes to this (as TF.js). */
  maximum(b: Tensor | number): Tensor { return this.add(ops.binary('sub', b, this).relu()); }
  /** min(this, b) elementwise; where they are equal the gradient goes to this (as TF.js). */
  minimum(b: Tensor | number): Tensor { return this.sub(ops.binary('sub', this, b).relu()); }
  /**
   * this ** exponent. An integer number exponent multiplies (exact, any sign of base); any other
   * exponent is exp(exponent * log(this)), so a negative base gives NaN there.
   */
  pow(exponent: Tensor | number): Tensor {
    if (typeof exponent === 'number' && Number.isInteger(exponent) && Math.abs(exponent) <= 64) {
      let result: Tensor | null = null;
      for (let base: Tensor = this, n = Math.abs(exponent); n > 0; n >>= 1) {
        if (n & 1) result = result ? result.mul(base) : base;
        if (n > 1) base = base.square();
      }
      if (!result) return fill(this.shape, 1); // x ** 0 = 1, as JS (NaN ** 0 too)
      return exponent < 0 ? ops.binary('div', 1, result) : result === this ? this.clone() : result;
    }
    return this.log().mul(exponent).exp();
  }
  // Comparisons answer float32 0 and 1 (tsgrad has no bool dtype) and pass no gradient.
  /** 1 where this > b, else 0 (float32), broadcasting. */
  greater(b: Tensor | number): Tensor { return ops.binary('greater', this, b); }
  /** 1 where this == b, else 0. */
  equal(b: Tensor | number): Tensor { return ops.binary('equal', this, b); }
  /** 1 where this < b, else 0. */
  less(b: Tensor | number): Tensor { return ops.binary('greater', b, this); }
  /** 1 where this >= b, else 0. */
  greaterEqual(b: Tensor | number): Tensor { return this.greater(b).add(this.equal(b)); }
  /** 1 where this <= b, else 0. */
  lessEqual(b: Tensor | number): Tensor { return this.less(b).add(this.equal(b)); }
  /** 1 where this != b, else 0. */
  notEqual(b: Tensor | number): Tensor { return ops.binary('sub', 1, this.equal(b)); }
  /** -this elementwise. */
  neg(): Tensor { return ops.unary('neg', this); }
  /** e ** this elementwise. */
  exp(): Tensor { return ops.unary('exp', this); }
  /** Natural logarithm elementwise (-Infinity at 0, NaN below). */
  log(): Tensor { return ops.unary('log', this); }
  /** Square root elementwise (NaN below 0). */
  sqrt(): Tensor { return ops.unary('sqrt', this); }
  /** |this| elementwise; the gradient at 0 is 0. */
  abs(): Tensor { return ops.unary('abs', this); }
  /** -1, 0 or 1 elementwise by the sign of each value; passes no gradient. */
  sign(): Tensor { return ops.unary('sign', this); }
  /** max(this, 0) elementwise. */
  relu(): Tensor { return ops.unary('relu', this); }
  /** 1 / (1 + e ** -this) elementwise. */
  sigmoid(): Tensor { return ops.unary('sigmoid', this); }
  /** Hyperbolic tangent elementwise. */
  tanh(): Tensor { return ops.unary('tanh', this); }
  /** this * this elementwise. */
  square(): Tensor { return ops.binary('mul', this, this); }
  /** Sum over `axes` (default all, giving a scalar); `keepDims` keeps them as axes of size 1. */
  sum(axes?: number | number[], keepDims = false): Tensor { return ops.sum(this, axes, keepDims); }
  /** Largest value over `axes` (default all); tied maxima share the gradient equally. */
  max(axes?: number | number[], keepDims = false): Tensor { return ops.max(this, axes, keepDims); }
  /** Smallest value over `axes` (default all). */
  min(axes?: number | number[], keepDims = false): Tensor { return ops.max(this.neg(), axes, keepDims).neg(); }
  /** Mean over `axes` (default all); `keepDims` keeps them as axes of size 1. */
  mean(axes?: number | number[], keepDims = false): Tensor {
    const total = this.sum(axes, keepDims);
    return total.div(this.size / Math.max(total.size, 1));
  }
  /** Index of the largest value along `axis` (TF.js's default, the first axis), as int32. */
  argMax(axis = 0): Tensor { return ops.argMax(this, axis); }
  /** Index of the smallest value along `axis` (default the first), as int32. */
  argMin(axis = 0): Tensor { return ops.argMax(this.neg(), axis); }
  /**
   * Matrix product over the last two axes, (..., m, k) x (..., k, n) -> (..., m, n), batched over
   * the leading axes; `transA`/`transB` transpose an operand's last two axes first.
   */
  matmul(b: Tensor, opts?: { transA?: boolean; transB?: boolean }): Tensor { return ops.matmul(this, b, opts); }
  /** TF.js's name and argument order for matmul. */
  matMul(b: Tensor, transposeA = false, transposeB = false): Tensor { return ops.matmul(this, b, { transA: transposeA, transB: transposeB }); }
  /**
   * Same values with a new shape of the same size (a view, not a copy); one axis may be -1 to take
   * what remains.
   */
  reshape(shape: readonly number[]): Tensor { return ops.reshape(this, shape); }
  /** Same values, b's shape (a view). */
  reshapeAs(b: Tensor): Tensor { return ops.reshape(this, b.shape); }
  /** Same values as one axis (a view). */
  flatten(): Tensor { return ops.reshape(this, [this.size]); }
  /** Without the axes of size 1 (or only those listed, which must have size 1): a view. */
  squeeze(axis?: number | number[]): Tensor {
    const drop = axis === undefined ? this.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes(axis, this.rank);
    for (const a of drop) check(this.shape[a] === 1, () => `cannot squeeze axis ${a} of shape ${formatShape(this.shape)}: its size is not 1`);
    return ops.reshape(this, this.shape.filter((_, i) => !drop.includes(i)));
  }
  /** With a new axis of size 1 at `axis` (default 0; negative counts from the end): a view. */
  expandDims(axis = 0): Tensor {
    const a = axis < 0 ? axis + this.rank + 1 : axis;
    check(Number.isInteger(a) && a >= 0 && a <= this.rank, `expandDims axis ${axis} is outside [${-this.rank - 1}, ${this.rank}]`);
    return ops.reshape(this, [...this.shape.slice(0, a), 1, ...this.shape.slice(a)]);
  }
  /** Axes permuted by `perm` (default reversed, so a matrix is transposed). */
  transpose(perm?: readonly number[]): Tensor { return ops.transpose(this, perm); }
  /**
   * TF.js's slice: `size[i]` values from `begin[i]` along each axis i (a number means the first
   * axis; missing or -1 sizes take the rest of the axis).
   */
  slice(begin: number | readonly number[], size?: number | readonly number[]): Tensor {
    const starts = typeof begin === 'number' ? [begin] : begin;
    const sizes = typeof size === 'number' ? [size] : size ?? [];
    check(starts.length <= this.rank, () => `slice begins [${starts.join(', ')}] have more axes than shape ${formatShape(this.shape)}`);
    let y: Tensor = this;
    starts.forEach((start, a) => {
      const n = sizes[a] === undefined || sizes[a] === -1 ? this.shape[a] - start : sizes[a];
      if (start !== 0 || n !== this.shape[a]) y = ops.slice(y, a, start, n);
    });
    return y === this ? this.clone() : y;
  }
  /**
   * Slices of this along `axis` (default 0) picked by integer `indices`, in their order: the
   * result's `axis` is replaced by the indices' shape. The gradient scatters back, adding over
   * repeats.
   */
  gather(indices: Tensor | number[], axis = 0): Tensor {
    return ops.gather(this, indices instanceof Tensor ? indices : tensor(indices, undefined, 'int32'), axis);
  }
}

// TF.js's tensor format (tfjs-core's tensor_format.ts): 7 decimals at most, columns padded to
// their widest value, at most 20 entries per axis shown (the first and last 3 past that). One
// difference: an axis of length 1 above the last closes its bracket (TF.js prints `[[1, 2],]`).
const FORMAT_LIMIT = 20;
const FORMAT_EDGE = 3;

function formatTensor(values: TypedArray, shape: readonly number[], dtype: DType, verbose: boolean): string {
  const cols = shape.length ? shape[shape.length - 1] : 1;
  const pads = new Array<number>(cols).fill(0);
  if (shape.length > 1) for (let i = 0; i < values.length; i++) pads[i % cols] = Math.max(pads[i % cols], formatValue(values[i]).length);
  const lines = ['Tensor'];
  if (verbose) lines.push(`  dtype: ${dtype}`, `  rank: ${shape.length}`, `  shape: [${shape}]`, '  values:');
  lines.push(formatLines(values, shape, pads, true).map((l) => '    ' + l).join('\n'));
  return lines.join('\n');
}

function formatValue(v: number, pad = 0): string {
  return parseFloat(v.toFixed(7)).toString().padEnd(pad);
}

function formatLines(values: TypedArray, shape: readonly number[], pads: number[], isLast: boolean): string[] {
  const size = shape[0];
  if (shape.length === 0) return [values[0].toString()];
  const shown = (n: number) => (n > FORMAT_LIMIT ? [...range0(FORMAT_EDGE), -1, ...range0(FORMAT_EDGE).map((i) => n - FORMAT_EDGE + i)] : range0(n));
  if (shape.length === 1) {
    return ['[' + shown(size).map((i) => (i < 0 ? '...' : formatValue(values[i], pads[i]))).join(', ') + ']'];
  }
  const stride = sizeOf(shape.slice(1));
  const lines: string[] = [];
  for (const i of shown(size)) {
    if (i < 0) lines.push('...');
    else lines.push(...formatLines(values.subarray(i * stride, (i + 1) * stride), shape.slice(1), pads, i === size - 1));
  }
  const sep = shape.length === 2 ? ',' : '';
  const end = isLast ? '' : ',\n' + '\n'.repeat(shape.length - 2);
  // One row: TF.js prints `[[1, 2],]` here; tsgrad closes it as `[[1, 2]]`.
  if (lines.length === 1) return ['[' + lines[0] + ']' + end];
  lines[0] = '[' + (size > 0 ? lines[0] + sep : '');
  for (let i = 1; i < lines.length - 1; i++) lines[i] = ' ' + lines[i] + sep;
  lines[lines.length - 1] = ' ' + lines[lines.length - 1] + ']' + end;
  return lines;
}

function range0(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export type { BinaryOp, Padding, UnaryOp };

/** Values as TF.js takes them: a number or (nested) arrays of numbers. */
export type Nested = number | readonly Nested[];

/**
 * A tensor from a number, nested arrays or a typed array (then `shape` defaults to 1-D), as
 * tf.tensor. Nested arrays must be rectangular (a ragged one is an error saying where).
 */
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
    flat = flatten(values, shape ? null : inferred);
  }
  check(dtype === undefined || dtype === 'float32' || dtype === 'int32', `tsgrad has float32 and int32 tensors, not ${dtype}`);
  const finalShape = shape ? [...shape] : inferred;
  check(sizeOf(finalShape) === flat.length,
    `${flat.length} values do not fill a tensor of shape ${formatShape(finalShape)}`);
  const t = allocate(finalShape, dtype ?? 'float32');
  t.raw.set(flat);
  return t;
}

/** The numbers of nested arrays in order; with `shape`, checks that every array has its axis's length. */
function flatten(values: Nested, shape: number[] | null): number[] {
  const out: number[] = [];
  const walk = (v: Nested, axis: number, at: string) => {
    if (!Array.isArray(v)) {
      check(typeof v === 'number', `tensor values must be numbers, got ${typeof v} at ${at || 'the top'}`);
      check(!shape || axis === shape.length, `the nested array is ragged: ${at} is a number where an array of ${shape?.[axis]} was expected`);
      out.push(v as number);
      return;
    }
    check(!shape || (axis < shape.length && v.length === shape[axis]),
      () => `the nested array is ragged: ${at || 'the top'} has ${v.length} entries where the first at that depth has ${shape![axis] ?? 'none (a number)'}`);
    v.forEach((item, i) => walk(item, axis + 1, `${at}[${i}]`));
  };
  walk(values, 0, '');
  return out;
}

function tensorOfRank(rank: number, values: Nested | TypedArray, shape?: readonly number[], dtype?: DType): Tensor {
  const t = tensor(values, shape, dtype);
  check(t.rank === rank, () => `tensor${rank}d needs ${rank} axes, got shape ${formatShape(t.shape)}`);
  return t;
}

/** A tensor that must have 1 axis (TF.js's creator; see {@link tensor}). */
export const tensor1d = (values: Nested | TypedArray, dtype?: DType) => tensorOfRank(1, values, undefined, dtype);
/** A tensor that must have 2 axes, from nested arrays or flat values with `shape`. */
export const tensor2d = (values: Nested | TypedArray, shape?: readonly number[], dtype?: DType) => tensorOfRank(2, values, shape, dtype);
/** A tensor that must have 3 axes, from nested arrays or flat values with `shape`. */
export const tensor3d = (values: Nested | TypedArray, shape?: readonly number[], dtype?: DType) => tensorOfRank(3, values, shape, dtype);
/** A tensor that must have 4 axes, from nested arrays or flat values with `shape`. */
export const tensor4d = (values: Nested | TypedArray, shape?: readonly number[], dtype?: DType) => tensorOfRank(4, values, shape, dtype);
/** A tensor that must have 5 axes, from nested arrays or flat values with `shape`. */
export const tensor5d = (values: Nested | TypedArray, shape?: readonly number[], dtype?: DType) => tensorOfRank(5, values, shape, dtype);
/** A tensor that must have 6 axes, from nested arrays or flat values with `shape`. */
export const tensor6d = (values: Nested | TypedArray, shape?: readonly number[], dtype?: DType) => tensorOfRank(6, values, shape, dtype);

/** A tensor of shape `[]` holding one number. */
export function scalar(value: number, dtype?: DType): Tensor {
  return tensor(value, [], dtype);
}

/** A new tensor with fresh storage from the current backend, owned by the innermost tidy (see memory.ts). */
export function allocate(shape: Shape, dtype: DType = 'float32', node: Node | null = null): Tensor {
  return new Tensor(allocStorage(getBackend(), dtype, sizeOf(shape)), [...shape], dtype, node);
}

/** A tensor of `shape` with every value `value` (float32 by default). */
export function fill(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const t = allocate(shape, dtype);
  t.raw.fill(value);
  return t;
}

/** A tensor of `shape` filled with 0. */
export function zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
  return fill(shape, 0, dtype);
}

/** A tensor of `shape` filled with 1. */
export function ones(shape: Shape, dtype: DType = 'float32'): Tensor {
  return fill(shape, 1, dtype);
}

/** Zeros with x's shape and dtype. */
export const zerosLike = (x: Tensor) => zeros(x.shape, x.dtype);
/** Ones with x's shape and dtype. */
export const onesLike = (x: Tensor) => ones(x.shape, x.dtype);

/** start, start + step, ... up to but not including stop (as tf.range; one argument counts from 0). */
export function range(start: number, stop?: number, step = 1, dtype: DType = 'float32'): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  check(step !== 0 && Number.isFinite(step), `range needs a non-zero step, got ${step}`);
  const n = Math.max(Math.ceil((stop - start) / step), 0);
  const t = allocate([n], dtype);
  for (let i = 0; i < n; i++) t.raw[i] = start + i * step;
  return t;
}

/** `num` evenly spaced values from start to stop, both included (as tf.linspace). */
export function linspace(start: number, stop: number, num: number): Tensor {
  check(Number.isInteger(num) && num > 0, `linspace needs a positive count, got ${num}`);
  const t = allocate([num]);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) t.raw[i] = start + i * step;
  return t;
}

/** The identity matrix (numRows, numColumns), as tf.eye. */
export function eye(numRows: number, numColumns = numRows, dtype: DType = 'float32'): Tensor {
  const t = zeros([numRows, numColumns], dtype);
  for (let i = 0; i < Math.min(numRows, numColumns); i++) t.raw[i * numColumns + i] = 1;
  return t;
}

/**
 * The generator random creators draw from when given neither an Rng nor a seed: seeded with 0
 * when the process starts, so a program draws the same numbers every run (TF.js draws from
 * Math.random). Pass a seed (TF.js's argument) or an Rng for a stream of your own.
 */
export const defaultRng = new Rng(0);

function rngOf(seed: number | Rng | undefined): Rng {
  return seed === undefined ? defaultRng : seed instanceof Rng ? seed : new Rng(seed);
}

function random(shape: Shape, dtype: DType | undefined, draw: () => number): Tensor {
  const t = allocate(shape, dtype ?? 'float32');
  const v = t.raw;
  if (v instanceof Int32Array) for (let i = 0; i < v.length; i++) v[i] = Math.floor(draw());
  else for (let i = 0; i < v.length; i++) v[i] = draw();
  return t;
}

/**
 * Uniform values in [minval, maxval), as tf.randomUniform(shape, minval?, maxval?, dtype?, seed?);
 * int32 values are floored. tsgrad's own form takes an Rng second: randomUniform(shape, rng, low?, high?).
 */
export function randomUniform(shape: Shape, minval?: number, maxval?: number, dtype?: DType, seed?: number | Rng): Tensor;
export function randomUniform(shape: Shape, rng: Rng, low?: number, high?: number): Tensor;
export function randomUniform(shape: Shape, a?: number | Rng, b?: number, c?: number | DType, seed?: number | Rng): Tensor {
  const [rng, low, high, dtype] = randomArgs(a, b, c, seed);
  return random(shape, dtype, () => low + (high - low) * rng.uniform());
}

/**
 * Normal values, as tf.randomNormal(shape, mean?, stdDev?, dtype?, seed?). tsgrad's own form
 * takes an Rng second: randomNormal(shape, rng, mean?, std?).
 */
export function randomNormal(shape: Shape, mean?: number, stdDev?: number, dtype?: DType, seed?: number | Rng): Tensor;
export function randomNormal(shape: Shape, rng: Rng, mean?: number, std?: number): Tensor;
export function randomNormal(shape: Shape, a?: number | Rng, b?: number, c?: number | DType, seed?: number | Rng): Tensor {
  const [rng, mean, std, dtype] = randomArgs(a, b, c, seed);
  return random(shape, dtype, () => mean + std * rng.normal());
}

/** Both forms' arguments as [generator, first parameter (default 0), second (default 1), dtype]. */
function randomArgs(a?: number | Rng, b?: number, c?: number | DType, seed?: number | Rng): [Rng, number, number, DType | undefined] {
  return a instanceof Rng
    ? [a, b ?? 0, (c as number | undefined) ?? 1, undefined]
    : [rngOf(seed), a ?? 0, b ?? 1, c as DType | undefined];
}

/** Normal values, those beyond two standard deviations drawn again, as tf.truncatedNormal. */
export function truncatedNormal(shape: Shape, mean = 0, stdDev = 1, dtype?: DType, seed?: number | Rng): Tensor {
  const rng = rngOf(seed);
  return random(shape, dtype, () => {
    let z: number;
    do z = rng.normal(); while (Math.abs(z) > 2);
    return mean + stdDev * z;
  });
}

/**
 * Variables by name, for TF.js's name-keyed gradients (variableGrads, applyGradients). Weak: a
 * variable nobody holds is collected as any tensor.
 */
const variablesByName = new Map<string, WeakRef<Tensor>>();
const forgetName = new FinalizationRegistry<string>((name) => {
  if (variablesByName.get(name)?.deref() === undefined) variablesByName.delete(name);
});

/**
 * A leaf that backward() gives a `.grad` (unless `trainable` is false), as tf.variable(initialValue,
 * trainable?, name?, dtype?). It shares t's storage (in the given dtype, a copy). `name` defaults
 * to a number unique in the process; a name still held by another variable is an error.
 */
export function variable(t: Tensor, trainable?: boolean, name?: string, dtype?: DType): Tensor;
export function variable(t: Tensor): Tensor;
export function variable(t: Tensor, trainable?: unknown, name?: unknown, dtype?: unknown): Tensor {
  // Only arguments of the right types count: `xs.map(variable)` passes an index and an array.
  const cast = dtype === 'float32' || dtype === 'int32' ? dtype : t.dtype;
  const src = cast !== t.dtype ? t.cast(cast) : t;
  const v = leaf(src);
  v.requiresGrad = typeof trainable === 'boolean' ? trainable : true;
  v.name = typeof name === 'string' ? name : String(v.id);
  check(!variableNamed(v.name), `a variable named "${v.name}" exists already`);
  variablesByName.set(v.name, new WeakRef(v));
  forgetName.register(v, v.name);
  return v;
}

/** A leaf that requires a gradient, sharing t's storage, with no name (autograd's arguments). */
export function leaf(t: Tensor): Tensor {
  const v = new Tensor(t.storage, t.shape, t.dtype, null, t.offset);
  v.requiresGrad = true;
  return v;
}

/** The variable of that name, while someone holds it. */
export function variableNamed(name: string): Tensor | undefined {
  const v = variablesByName.get(name)?.deref();
  if (!v) variablesByName.delete(name);
  return v;
}

/** Examples start..end-1 of t (along the first axis) as a view of its storage: no copy, no gradient. */
export function rows(t: Tensor, start: number, end: number): Tensor {
  check(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= (t.shape[0] ?? 0),
    `rows ${start}..${end} are outside a tensor of shape ${formatShape(t.shape)}`);
  const per = t.shape[0] ? t.size / t.shape[0] : 0;
  return new Tensor(t.storage, [end - start, ...t.shape.slice(1)], t.dtype, null, t.offset + start * per);
}
