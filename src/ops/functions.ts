// The ops as free functions with TensorFlow.js's names and signatures (tf.add(a, b), tf.matMul,
// tf.oneHot, tf.where, tf.conv2d(x, filter, strides, pad) ...), each a thin wrapper over a Tensor
// method, a primitive (src/tensor/ops.ts) or a composite op of this folder. Where tsgrad had its own
// name or argument form first (matmul, clip, conv2d(x, w, {strides, padding})), both work.
// Not for: new maths (a new primitive goes in src/tensor/ops.ts with its rule and kernels).
// Differences from TF.js: comparisons answer float32 0/1 (tsgrad has no bool dtype); no dataFormat,
// dilations or batchDims arguments; pad and where are compositions (exact for finite values).

import type { DType } from '../core/dtype.js';
import { check } from '../core/errors.js';
import { broadcastShapes, formatShape, sameShape } from '../core/shape.js';
import type { Padding } from '../backend/geometry.js';
import { noGrad } from '../tensor/engine.js';
import * as prim from '../tensor/ops.js';
import { fill, ones, range, Tensor, tensor, zeros, type Nested } from '../tensor/tensor.js';
import { clip } from './activations.js';
import { concat } from './arrays.js';
import { categoricalCrossentropy, meanSquaredError as mse } from './losses.js';

type Operand = Tensor | number;
type Axes = number | number[];

/** A tensor from a Tensor or from what tf.tensor takes (a number or nested arrays). */
function asTensor(x: Tensor | Nested, dtype?: DType): Tensor {
  return x instanceof Tensor ? x : tensor(x, undefined, dtype);
}

/** A Tensor operand or a number (kept as a number so that it takes the tensor's dtype). */
function operand(x: Operand | Nested): Operand {
  return typeof x === 'number' ? x : asTensor(x);
}

function first(a: Operand | Nested, b: Operand | Nested): [Tensor, Operand] {
  const [x, y] = [operand(a), operand(b)];
  // A number first: made a tensor of the other's dtype by adding it to zeros, cheaply enough.
  return typeof x === 'number' ? [prim.binary('add', zeros(typeof y === 'number' ? [] : y.shape, typeof y === 'number' ? 'float32' : y.dtype), x), y] : [x, y];
}

// Arithmetic.
/**
 * a + b elementwise, broadcasting the shapes as NumPy does; either may be a number or nested
 * arrays.
 */
export const add = (a: Operand | Nested, b: Operand | Nested) => prim.binary('add', operand(a), operand(b));
/** a - b elementwise, broadcasting. */
export const sub = (a: Operand | Nested, b: Operand | Nested) => prim.binary('sub', operand(a), operand(b));
/** a * b elementwise, broadcasting. */
export const mul = (a: Operand | Nested, b: Operand | Nested) => prim.binary('mul', operand(a), operand(b));
/** a / b elementwise, broadcasting. */
export const div = (a: Operand | Nested, b: Operand | Nested) => prim.binary('div', operand(a), operand(b));
/** The sum of tensors of one shape, as tf.addN. */
export function addN(tensors: Tensor[]): Tensor {
  check(tensors.length > 0, 'addN needs at least one tensor');
  return tensors.length === 1 ? tensors[0].clone() : tensors.reduce((s, t) => s.add(t));
}
/** max(a, b) elementwise, broadcasting; where equal the gradient goes to a (as TF.js). */
export const maximum = (a: Operand | Nested, b: Operand | Nested) => { const [x, y] = first(a, b); return x.maximum(y); };
/** min(a, b) elementwise, broadcasting; where equal the gradient goes to a. */
export const minimum = (a: Operand | Nested, b: Operand | Nested) => { const [x, y] = first(a, b); return x.minimum(y); };
/**
 * base ** exp elementwise; an integer number exponent multiplies exactly, any other is exp(exp *
 * log(base)) (NaN for a negative base).
 */
export const pow = (base: Operand | Nested, exp: Operand | Nested) => { const [x, y] = first(base, exp); return x.pow(y); };
/** (a - b) ** 2 elementwise, broadcasting. */
export const squaredDifference = (a: Operand | Nested, b: Operand | Nested) => sub(a, b).square();
/** -x elementwise. */
export const neg = (x: Tensor | Nested) => asTensor(x).neg();
/** |x| elementwise. */
export const abs = (x: Tensor | Nested) => asTensor(x).abs();
/** -1, 0 or 1 elementwise by the sign of x; passes no gradient. */
export const sign = (x: Tensor | Nested) => asTensor(x).sign();
/** e ** x elementwise. */
export const exp = (x: Tensor | Nested) => asTensor(x).exp();
/** Natural logarithm elementwise. */
export const log = (x: Tensor | Nested) => asTensor(x).log();
/** Square root elementwise. */
export const sqrt = (x: Tensor | Nested) => asTensor(x).sqrt();
/** x * x elementwise. */
export const square = (x: Tensor | Nested) => asTensor(x).square();
/** max(x, 0) elementwise. */
export const relu = (x: Tensor | Nested) => asTensor(x).relu();
/** 1 / (1 + e ** -x) elementwise. */
export const sigmoid = (x: Tensor | Nested) => asTensor(x).sigmoid();
/** Hyperbolic tangent elementwise. */
export const tanh = (x: Tensor | Nested) => asTensor(x).tanh();
/** x limited to [min, max], as tf.clipByValue (tsgrad's clip). */
export const clipByValue = (x: Tensor | Nested, min: number, max: number) => clip(asTensor(x), min, max);

// Comparisons: float32 0 and 1.
/** 1 where a == b, else 0 (float32), broadcasting; passes no gradient. */
export const equal = (a: Operand | Nested, b: Operand | Nested) => { const [x, y] = first(a, b); return x.equal(y); };
/** 1 where a != b, else 0. */
export const notEqual = (a: Operand | Nested, b: Operand | Nested) => { const [x, y] = first(a, b); return x.notEqual(y); };
/** 1 where a > b, else 0. */
export const greater = (a: Operand | Nested, b: Operand | Nested) => { const [x, y] = first(a, b); return x.greater(y); };
/** 1 where a >= b, else 0. */
export const greaterEqual = (a: Operand | Nested, b: Operand | Nested) => { const [x, y] = first(a, b); return x.greaterEqual(y); };
/** 1 where a < b, else 0. */
export const less = (a: Operand | Nested, b: Operand | Nested) => { const [x, y] = first(a, b); return x.less(y); };
/** 1 where a <= b, else 0. */
export const lessEqual = (a: Operand | Nested, b: Operand | Nested) => { const [x, y] = first(a, b); return x.lessEqual(y); };

/**
 * a where condition is non-zero, else b (broadcast together), as tf.where. Gradients flow to the
 * side each element came from. Picks by gather, so infinities and NaNs pass through unchanged.
 */
export function where(condition: Tensor | Nested, a: Tensor | Nested, b: Tensor | Nested): Tensor {
  const [c, x, y] = [asTensor(condition), asTensor(a), asTensor(b)];
  check(x.dtype === y.dtype, `where needs a and b of one dtype, got ${x.dtype} and ${y.dtype}`);
  const shape = broadcastShapes(broadcastShapes(c.shape, x.shape), y.shape);
  const spread = (t: Tensor) => (sameShape(t.shape, shape) ? t : t.add(zeros(shape, t.dtype)));
  const picks = noGrad(() => spread(c.cast('float32'))).raw;
  const n = picks.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = picks[i] !== 0 ? i : n + i;
  return concat([spread(x).reshape([n]), spread(y).reshape([n])]).gather(tensor(idx)).reshape(shape);
}

// Reductions.
/**
 * Sum over `axis` (default all, giving a scalar); `keepDims` keeps the reduced axes with size 1.
 */
export const sum = (x: Tensor | Nested, axis?: Axes, keepDims = false) => asTensor(x).sum(axis, keepDims);
/** Mean over `axis` (default all). */
export const mean = (x: Tensor | Nested, axis?: Axes, keepDims = false) => asTensor(x).mean(axis, keepDims);
/** Largest value over `axis` (default all). */
export const max = (x: Tensor | Nested, axis?: Axes, keepDims = false) => asTensor(x).max(axis, keepDims);
/** Smallest value over `axis` (default all). */
export const min = (x: Tensor | Nested, axis?: Axes, keepDims = false) => asTensor(x).min(axis, keepDims);
/** Indices of the largest values along `axis` (default 0, as TF.js), int32. */
export const argMax = (x: Tensor | Nested, axis = 0) => asTensor(x).argMax(axis);
/** Indices of the smallest values along `axis` (default 0), int32. */
export const argMin = (x: Tensor | Nested, axis = 0) => asTensor(x).argMin(axis);
/** log(sum(exp(x))) over `axis`, shifted by the maximum so that it does not overflow. */
export function logSumExp(x: Tensor | Nested, axis?: Axes, keepDims = false): Tensor {
  const t = asTensor(x);
  const m = noGrad(() => t.max(axis, true));
  const lse = t.sub(m).exp().sum(axis, true).log().add(m);
  return keepDims ? lse : lse.reshape(t.sum(axis, false).shape);
}
/** Mean and variance over `axes`, as tf.moments. */
export function moments(x: Tensor | Nested, axes?: Axes, keepDims = false): {
  /** The mean over `axes`. */
  mean: Tensor;
  /** The (biased, divided by n) variance over `axes`. */
  variance: Tensor;
} {
  const t = asTensor(x);
  const m = t.mean(axes, true);
  return { mean: keepDims ? m : t.mean(axes, false), variance: t.sub(m).square().mean(axes, keepDims) };
}

// Matrices and shapes.
/** a @ b, as tf.matMul (tsgrad's matmul takes {transA, transB}). */
export const matMul = (a: Tensor, b: Tensor, transposeA = false, transposeB = false) => a.matMul(b, transposeA, transposeB);
/**
 * Matrix product over the last two axes, (..., m, k) x (..., k, n) -> (..., m, n), batched over
 * leading axes; `transA`/`transB` transpose an operand first.
 */
export const matmul = (a: Tensor, b: Tensor, opts?: { transA?: boolean; transB?: boolean }) => prim.matmul(a, b, opts);
/** x with its axes permuted by `perm` (default reversed). */
export const transpose = (x: Tensor, perm?: number[]) => x.transpose(perm);
/** x's values with a new shape of the same size (a view); one axis may be -1. */
export const reshape = (x: Tensor | Nested, shape: number[]) => asTensor(x).reshape(shape);
/** x without its axes of size 1 (or only those listed, which must have size 1). */
export const squeeze = (x: Tensor, axis?: Axes) => x.squeeze(axis);
/** x with a new axis of size 1 at `axis` (default 0). */
export const expandDims = (x: Tensor, axis = 0) => x.expandDims(axis);
/**
 * TF.js's slice: `size[i]` values from `begin[i]` along each axis (-1 or missing sizes take the
 * rest).
 */
export const slice = (x: Tensor, begin: number | number[], size?: number | number[]) => x.slice(begin, size);
/** Slices of x along `axis` picked by integer `indices`; the gradient scatters back. */
export const gather = (x: Tensor, indices: Tensor | number[], axis = 0) => x.gather(indices, axis);
/** A copy of x with its own storage (gradients flow through a float32 copy). */
export const clone = (x: Tensor | Nested) => asTensor(x).clone();
/**
 * x's values as `dtype` (float32 or int32, truncating toward zero); no gradient flows across
 * dtypes.
 */
export const cast = (x: Tensor | Nested, dtype: DType) => asTensor(x).cast(dtype);
/** Prints x with console.log in TF.js's format; `verbose` adds its dtype, rank and shape. */
export const print = (x: Tensor, verbose = false) => x.print(verbose);
/** Does nothing, as Tensor.dispose: tsgrad frees tensors itself. tidy() frees a step's at once. */
export function dispose(_container?: unknown): void {}

/**
 * x with paddings[i] = [before, after] values added along axis i, all `constantValue`, as tf.pad.
 * tsgrad's primitive pads one axis with zeros; a non-zero constant is added where nothing was.
 */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], constantValue = 0): Tensor {
  check(paddings.length === x.rank, () => `pad needs one [before, after] pair per axis of shape ${formatShape(x.shape)}, got ${paddings.length}`);
  const padAll = (t: Tensor) => paddings.reduce((y, [before, after], axis) => (before || after ? prim.pad(y, axis, before, after) : y), t);
  const padded = padAll(x);
  if (constantValue === 0) return padded === x ? x.clone() : padded;
  const border = noGrad(() => fill(padded.shape, 1, x.dtype).sub(padAll(ones(x.shape, x.dtype))).mul(constantValue));
  return padded.add(border);
}

/**
 * One-hot rows for int32 class indices, as tf.oneHot(indices, depth, onValue?, offValue?, dtype?):
 * shape [...indices.shape, depth], int32 by default as in TF.js.
 */
export function oneHot(indices: Tensor | Nested, depth: number, onValue = 1, offValue = 0, dtype: DType = 'int32'): Tensor {
  check(Number.isInteger(depth) && depth > 0, `oneHot needs a positive integer depth, got ${depth}`);
  const idx = asTensor(indices, 'int32');
  return noGrad(() => {
    const hot = idx.cast('int32').expandDims(-1).equal(range(0, depth, 1, 'int32'));
    return (onValue === 1 && offValue === 0 ? hot : hot.mul(onValue - offValue).add(offValue)).cast(dtype);
  });
}

// Convolution and pooling, in TF.js's positional form or tsgrad's options object.
type Pair = number | [number, number];
const batched = (x: Tensor, f: (x4: Tensor) => Tensor) => (x.rank === 3 ? f(x.expandDims(0)).squeeze(0) : f(x));

/** conv2d(x, filter, strides, pad) as TF.js (NHWC; x may be one image), or conv2d(x, filter, {strides, padding}). */
export function conv2d(x: Tensor, filter: Tensor, strides?: Pair | prim.WindowOptions, pad?: Padding): Tensor {
  const opts = typeof strides === 'object' && !Array.isArray(strides) ? strides : { strides, padding: pad };
  return batched(x, (x4) => prim.conv2d(x4, filter, opts));
}

function poolOptions(size: Pair | prim.PoolOptions | undefined, strides?: Pair, pad?: Padding): prim.PoolOptions {
  return typeof size === 'object' && !Array.isArray(size) ? size : { poolSize: size, strides: strides ?? size, padding: pad };
}

/** maxPool(x, filterSize, strides, pad) as TF.js, or maxPool(x, {poolSize, strides, padding}). */
export const maxPool = (x: Tensor, filterSize?: Pair | prim.PoolOptions, strides?: Pair, pad?: Padding) =>
  batched(x, (x4) => prim.maxPool(x4, poolOptions(filterSize, strides, pad)));
/** avgPool(x, filterSize, strides, pad) as TF.js, or avgPool(x, {poolSize, strides, padding}). */
export const avgPool = (x: Tensor, filterSize?: Pair | prim.PoolOptions, strides?: Pair, pad?: Padding) =>
  batched(x, (x4) => prim.avgPool(x4, poolOptions(filterSize, strides, pad)));

/** TF.js's tf.losses, for those tsgrad has: means over all elements (TF.js's default reduction). */
export const losses = {
  /** Mean of (predictions - labels)² over all elements; labels and predictions must have one shape. */
  meanSquaredError: (labels: Tensor, predictions: Tensor) => {
    check(sameShape(labels.shape, predictions.shape), () => `labels ${formatShape(labels.shape)} and predictions ${formatShape(predictions.shape)} must have one shape`);
    return mse(labels, predictions);
  },
  /** Cross-entropy of one-hot (or soft) labels against logits, averaged over the examples. */
  softmaxCrossEntropy: (onehotLabels: Tensor, logits: Tensor) => categoricalCrossentropy(onehotLabels, logits, true),
};

