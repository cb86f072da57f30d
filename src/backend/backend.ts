// The Backend interface: the primitive kernels every backend implements, on flat row-major
// typed arrays that the backend itself allocated. Kernels write into `out` and never allocate
// their results, so a backend whose memory is a WebAssembly heap can run them without copies.
// Not for: autograd, shapes checking or anything user-facing; the tensor layer does that.

import type { DType, TypedArray } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';
import type { ConvGeometry } from './geometry.js';

/** gelu is the tanh approximation, x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (GPT-2's). */
export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'relu' | 'sigmoid' | 'tanh' | 'gelu';
/**
 * greater and equal give 1 or 0; reluGrad(g, x) is g where x > 0, else 0 (ReLU's backward in one
 * pass); addRelu(a, b) is relu(a + b) (a layer's bias and ReLU in one pass); geluGrad(g, x) is
 * g * gelu'(x).
 */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'greater' | 'equal' | 'reluGrad' | 'addRelu' | 'geluGrad';
export type ReduceOp = 'sum' | 'max';

export interface MatmulArgs {
  batch: number;
  m: number;
  k: number;
  n: number;
  /** a is stored (k, m) per batch instead of (m, k). */
  transA: boolean;
  /** b is stored (n, k) per batch instead of (k, n). */
  transB: boolean;
  /** Elements between consecutive batches of a and b; 0 repeats one matrix for every batch. */
  strideA: number;
  strideB: number;
}

export interface AttentionArgs {
  batch: number;
  time: number;
  heads: number;
  /** Channels per head. */
  d: number;
  scale: number;
  causal: boolean;
}

export interface Backend {
  readonly name: string;
  /** Whether storage must be given back with free() (the wasm heap); else JavaScript's collector owns it. */
  readonly managesMemory: boolean;
  alloc(dtype: DType, size: number): TypedArray;
  /** Gives storage back; the array must not be used afterwards. */
  free(data: TypedArray): void;

  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void;
  /** out has shape `outShape`; a and b broadcast to it. */
  binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** Reduces `axes` (sorted, distinct) of x; out has x's shape with those axes removed. */
  reduce(op: ReduceOp, x: Float32Array, shape: Shape, axes: readonly number[], out: Float32Array): void;
  argMax(x: Float32Array, shape: Shape, axis: number, out: Int32Array): void;
  /** Whether every value of x is finite (no NaN, no infinity). */
  allFinite(x: Float32Array): boolean;
  /** out (batch, m, n) = op(a) @ op(b). */
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, args: MatmulArgs): void;

  /** NHWC input, filter (kh, kw, inC, outC), NHWC output. */
  conv2d(x: Float32Array, w: Float32Array, out: Float32Array, g: ConvGeometry): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: ConvGeometry): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: ConvGeometry): void;
  /**
   * out = maxPool(conv2d(x, w, g), p), and for each output the window position (ky * kW + kx,
   * counted from the window's corner, padding included) of its first maximum, the pixel
   * maxPoolGrad would give its gradient: one byte each, four to an element of `argmax`
   * (little-endian), so pooling windows of at most 256 pixels.
   */
  conv2dMaxPool(x: Float32Array, w: Float32Array, out: Float32Array, argmax: Int32Array, p: ConvGeometry, g: ConvGeometry): void;
  /**
   * conv2dMaxPool's filter gradient from the gradient dy of its output and its `argmax`: the
   * filter gradient of the pooling's input gradient, without that mostly-zero gradient in between
   * (with 2x2 windows, three of its four entries are 0).
   */
  conv2dPoolFilter(x: Float32Array, argmax: Int32Array, dy: Float32Array, dw: Float32Array, p: ConvGeometry, g: ConvGeometry): void;
  /** Whether conv2dMaxPool and conv2dPoolFilter run fused at these sizes (else the tensor layer runs conv2d, then maxPool). */
  fusedConvPool(p: ConvGeometry, g: ConvGeometry): boolean;
  /** Pooling windows ignore padding (max over real pixels, average over real pixels, as Keras). */
  maxPool(x: Float32Array, out: Float32Array, g: ConvGeometry): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, g: ConvGeometry): void;
  avgPool(x: Float32Array, out: Float32Array, g: ConvGeometry): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, g: ConvGeometry): void;

  /**
   * Over each row of `cols` (the last axis): out = softmax(scale * x). With `causalRows` = tq > 0,
   * row r is query i = r % tq of the last tq positions of `cols` keys and sees keys j <= i + cols - tq
   * only; the others get 0.
   */
  softmax(x: Float32Array, out: Float32Array, cols: number, scale: number, causalRows: number): void;
  /** softmax's backward from its output y: out = scale * y * (g - sum over the row of g * y). */
  softmaxGrad(g: Float32Array, y: Float32Array, out: Float32Array, cols: number, scale: number): void;
  /** Over each row of `cols`: out = x - max - log(sum of exp(x - max)), the log of softmax. */
  logSoftmax(x: Float32Array, out: Float32Array, cols: number): void;
  /** logSoftmax's backward from its output y: out = g - exp(y) * sum over the row of g. */
  logSoftmaxGrad(g: Float32Array, y: Float32Array, out: Float32Array, cols: number): void;
  /** Over each row of `cols`: out = (x - mean) / sqrt(variance + epsilon). */
  normalize(x: Float32Array, out: Float32Array, cols: number, epsilon: number): void;
  /** normalize's backward: out = (g - mean(g) - x̂ mean(g x̂)) / sqrt(variance + epsilon), x̂ = normalize(x). */
  normalizeGrad(g: Float32Array, x: Float32Array, out: Float32Array, cols: number, epsilon: number): void;

  /**
   * Multi-head self-attention over qkv (batch, time, 3, heads, d): each position's queries, keys
   * and values side by side, as GPT-2's c_attn writes them. Per head, y = softmax(scale q kᵀ) v,
   * written (batch, time, heads, d); with `causal`, query i sees keys j <= i only. lse (batch,
   * heads, time) gets each query's log-sum-exp of its scaled scores. The (time x time) scores are
   * never stored.
   */
  attention(qkv: Float32Array, y: Float32Array, lse: Float32Array, a: AttentionArgs): void;
  /** Whether attention() runs fused at these sizes (else the tensor layer composes it from products and a softmax). */
  fusedAttention(a: AttentionArgs): boolean;
  /** attention's backward: dqkv (qkv's layout) from dy, recomputing the scores from qkv and lse. */
  attentionGrad(qkv: Float32Array, y: Float32Array, lse: Float32Array, dy: Float32Array, dqkv: Float32Array, a: AttentionArgs): void;

  /**
   * out[outOffset + r * outStride + j] = x[xOffset + r * xStride + j] for r < rows, j < length; with
   * `zeroRest`, every other element of out (rows * outStride long) becomes 0.
   */
  copyRows(x: TypedArray, xOffset: number, xStride: number, out: TypedArray, outOffset: number, outStride: number, rows: number, length: number, zeroRest: boolean): void;

  transpose(x: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void;
  /** x viewed as (outer, size, inner); out = x[:, indices, :]. Indices are in range. */
  gather(x: TypedArray, outer: number, size: number, inner: number, indices: Int32Array, out: TypedArray): void;
  /** The adjoint of gather: out (outer, size, inner) = 0, then out[:, indices[j], :] += g[:, j, :]. */
  scatterAdd(g: Float32Array, outer: number, size: number, inner: number, indices: Int32Array, out: Float32Array): void;

  /** In-place optimizer updates (see ref/optim.ts). */
  sgdUpdate(w: Float32Array, g: Float32Array, v: Float32Array | null, lr: number, momentum: number): void;
  adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, alpha: number, beta1: number, beta2: number, epsilon: number): void;
}
