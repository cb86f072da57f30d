// The checks in front of every kernel: each size is an integer in [0, 2^31) and each operand at
// least as long as the sizes imply, or a TsgradError names the kernel and the mismatch. A wasm
// kernel handed too short an array would read and write other tensors' memory instead. `guarded`
// wraps a backend's kernels with them, the reference's and the wasm backend's alike, so that both
// fail the same way. They run on every kernel call: they compare a few numbers and allocate nothing
// (messages are built only on failure).
// Not for: user-facing shape errors; the tensor layer reports those in the user's terms first.

import { TsgradError } from '../core/errors.js';
import { formatShape, type Shape } from '../core/shape.js';
import type { AttentionArgs, Backend } from './backend.js';
import type { ConvGeometry } from './geometry.js';

/** An integer in [0, 2^31): what the kernels (int32 inside wasm) take as a size, stride or offset. */
export const isSize = (n: number): boolean => (n | 0) === n && n >= 0;

function fail(kernel: string, message: string): never {
  throw new TsgradError(`${kernel}: ${message}`);
}

/** Checks that the sizes named in `names` (space-separated, in order) are sizes (see isSize). */
function sizes(kernel: string, names: string, s0: number, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0): void {
  if (isSize(s0) && isSize(s1) && isSize(s2) && isSize(s3) && isSize(s4) && isSize(s5) && isSize(s6)) return;
  const values = [s0, s1, s2, s3, s4, s5, s6];
  const i = values.findIndex((v) => !isSize(v));
  fail(kernel, `${names.split(' ')[i]} must be a non-negative integer below 2^31, got ${String(values[i])}`);
}

/** Checks that `data` holds at least `need` elements. */
function fits(kernel: string, name: string, data: ArrayLike<number>, need: number): void {
  if (!(data.length >= need)) fail(kernel, `${name} has ${data.length} elements where its sizes need ${need}`);
}

/** Checks that `data` has as many elements as `other` (named `otherName`). */
function same(kernel: string, name: string, data: ArrayLike<number>, otherName: string, other: ArrayLike<number>): void {
  if (data.length !== other.length) fail(kernel, `${name} has ${data.length} elements where ${otherName} has ${other.length}`);
}

/** The number of elements of `shape`, after checking that its dimensions are sizes. */
function elements(kernel: string, name: string, shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    if (!isSize(shape[i])) fail(kernel, `${name} ${formatShape(shape)} has a dimension that is not a non-negative integer`);
    n *= shape[i];
  }
  return n;
}

/** Checks that `shape` broadcasts to `outShape` (aligned at the right, each dimension 1 or equal). */
function broadcasts(kernel: string, name: string, shape: Shape, outShape: Shape): void {
  const lead = outShape.length - shape.length;
  let ok = lead >= 0;
  for (let i = 0; ok && i < shape.length; i++) ok = shape[i] === 1 || shape[i] === outShape[lead + i];
  if (!ok) fail(kernel, `${name} ${formatShape(shape)} does not broadcast to ${formatShape(outShape)}`);
}

/** Elements of `batch` matrices of `size` elements, `stride` apart (0 repeats one matrix). */
const span = (batch: number, stride: number, size: number) => (batch === 0 ? 0 : (batch - 1) * stride + size);

/**
 * Window geometry: sizes, and every window overlaps the image (the first one ends past the
 * padding, the last one starts inside), as windowGeometry's always do. Some kernels take a
 * window's first pixel as its maximum, so a window wholly in the padding would write outside dx.
 */
function geometry(kernel: string, g: ConvGeometry): void {
  sizes(kernel, 'batch inH inW inC outH outW outC', g.batch, g.inH, g.inW, g.inC, g.outH, g.outW, g.outC);
  sizes(kernel, 'kH kW strideH strideW padTop padLeft', g.kH, g.kW, g.strideH, g.strideW, g.padTop, g.padLeft);
  if ((g.outH > 0 && !(g.inH > 0 && g.padTop < g.kH && (g.outH - 1) * g.strideH - g.padTop < g.inH))
    || (g.outW > 0 && !(g.inW > 0 && g.padLeft < g.kW && (g.outW - 1) * g.strideW - g.padLeft < g.inW))) {
    fail(kernel, `the ${g.outH}x${g.outW} output's windows (${g.kH}x${g.kW}, strides ${g.strideH}x${g.strideW}, padding ${g.padTop}, ${g.padLeft}) do not all overlap the ${g.inH}x${g.inW} input`);
  }
}
/** Checks a convolution (g) and the max pooling (p) of its output, windows of at most 256 pixels (argmax bytes). */
function pooledConvolution(kernel: string, p: ConvGeometry, g: ConvGeometry): void {
  geometry(kernel, g);
  geometry(kernel, p);
  if (p.batch !== g.batch || p.inH !== g.outH || p.inW !== g.outW || p.inC !== g.outC) {
    fail(kernel, `the pooling's ${p.batch}x${p.inH}x${p.inW}x${p.inC} input is not the convolution's ${g.batch}x${g.outH}x${g.outW}x${g.outC} output`);
  }
  if (p.kH * p.kW > 256) fail(kernel, `a ${p.kH}x${p.kW} pooling window has more positions than a byte holds`);
}

const image = (g: ConvGeometry) => g.batch * g.inH * g.inW * g.inC;
const convOut = (g: ConvGeometry) => g.batch * g.outH * g.outW * g.outC;
const filter = (g: ConvGeometry) => g.kH * g.kW * g.inC * g.outC;
/** Pooling keeps the channels: its output has inC of them. */
const poolOut = (g: ConvGeometry) => g.batch * g.outH * g.outW * g.inC;

/** Row-wise kernels: `out` is whole rows of `cols`; a causal mask's `causalRows` queries see at most cols keys. */
function rows(kernel: string, out: Float32Array, cols: number, causalRows = 0): void {
  sizes(kernel, 'cols causalRows', cols, causalRows);
  if (out.length % cols !== 0 && out.length !== 0) fail(kernel, `out has ${out.length} elements, not whole rows of ${cols}`);
  if (causalRows > cols) fail(kernel, `causalRows ${causalRows} exceeds cols ${cols}`);
}

/** attention and its gradient: qkv (batch, time, 3, heads, d), y (batch, time, heads, d) and lse (batch, heads, time). */
function attentionSizes(kernel: string, a: AttentionArgs, qkv: Float32Array, y: Float32Array, lse: Float32Array): void {
  sizes(kernel, 'batch time heads d', a.batch, a.time, a.heads, a.d, a.batch * a.time * a.heads * a.d * 3);
  const rows = a.batch * a.time * a.heads;
  fits(kernel, 'qkv', qkv, 3 * rows * a.d);
  fits(kernel, 'y', y, rows * a.d);
  fits(kernel, 'lse', lse, rows);
}

/** gather and scatterAdd: indices into an axis of `size`. */
function indicesIn(kernel: string, indices: Int32Array, size: number): void {
  for (let j = 0; j < indices.length; j++) {
    if (!(indices[j] >= 0 && indices[j] < size)) fail(kernel, `index ${indices[j]} (at ${j}) is outside [0, ${size})`);
  }
}

/** `inner` with the checks above in front of each of its kernels. */
export function guarded(inner: Backend): Backend {
  return {
    name: inner.name,
    managesMemory: inner.managesMemory,
    alloc(dtype, size) {
      if (!isSize(size)) throw new TsgradError(`cannot allocate a tensor of ${String(size)} elements: the size must be a non-negative integer below 2^31`);
      return inner.alloc(dtype, size);
    },
    free: (data) => inner.free(data),
    unary(op, x, out) {
      fits('unary', 'out', out, x.length);
      inner.unary(op, x, out);
    },
    binary(op, a, aShape, b, bShape, out, outShape) {
      fits('binary', 'a', a, elements('binary', 'aShape', aShape));
      fits('binary', 'b', b, elements('binary', 'bShape', bShape));
      fits('binary', 'out', out, elements('binary', 'outShape', outShape));
      broadcasts('binary', 'aShape', aShape, outShape);
      broadcasts('binary', 'bShape', bShape, outShape);
      inner.binary(op, a, aShape, b, bShape, out, outShape);
    },
    reduce(op, x, shape, axes, out) {
      fits('reduce', 'x', x, elements('reduce', 'shape', shape));
      // One pass: axes must be increasing axes of shape; the others are kept.
      let kept = 1, j = 0;
      for (let i = 0; i < shape.length; i++) {
        if (j < axes.length && axes[j] === i) j++;
        else kept *= shape[i];
      }
      if (j !== axes.length) fail('reduce', `axes [${axes.join(', ')}] are not increasing axes of ${formatShape(shape)}`);
      fits('reduce', 'out', out, kept);
      inner.reduce(op, x, shape, axes, out);
    },
    argMax(x, shape, axis, out) {
      const size = elements('argMax', 'shape', shape);
      if (!(isSize(axis) && axis < shape.length)) fail('argMax', `axis ${axis} is not an axis of ${formatShape(shape)}`);
      fits('argMax', 'x', x, size);
      let kept = 1;
      for (let i = 0; i < shape.length; i++) if (i !== axis) kept *= shape[i];
      fits('argMax', 'out', out, kept);
      inner.argMax(x, shape, axis, out);
    },
    allFinite: (x) => inner.allFinite(x),
    matmul(a, b, out, g) {
      sizes('matmul', 'batch m k n strideA strideB', g.batch, g.m, g.k, g.n, g.strideA, g.strideB);
      fits('matmul', 'a', a, span(g.batch, g.strideA, g.m * g.k));
      fits('matmul', 'b', b, span(g.batch, g.strideB, g.k * g.n));
      fits('matmul', 'out', out, g.batch * g.m * g.n);
      inner.matmul(a, b, out, g);
    },
    conv2d(x, w, out, g) {
      geometry('conv2d', g);
      fits('conv2d', 'x', x, image(g));
      fits('conv2d', 'w', w, filter(g));
      fits('conv2d', 'out', out, convOut(g));
      inner.conv2d(x, w, out, g);
    },
    conv2dBackpropInput(dy, w, dx, g) {
      geometry('conv2dBackpropInput', g);
      fits('conv2dBackpropInput', 'dy', dy, convOut(g));
      fits('conv2dBackpropInput', 'w', w, filter(g));
      fits('conv2dBackpropInput', 'dx', dx, image(g));
      inner.conv2dBackpropInput(dy, w, dx, g);
    },
    conv2dBackpropFilter(x, dy, dw, g) {
      geometry('conv2dBackpropFilter', g);
      fits('conv2dBackpropFilter', 'x', x, image(g));
      fits('conv2dBackpropFilter', 'dy', dy, convOut(g));
      fits('conv2dBackpropFilter', 'dw', dw, filter(g));
      inner.conv2dBackpropFilter(x, dy, dw, g);
    },
    conv2dMaxPool(x, w, out, argmax, p, g) {
      pooledConvolution('conv2dMaxPool', p, g);
      fits('conv2dMaxPool', 'x', x, image(g));
      fits('conv2dMaxPool', 'w', w, filter(g));
      fits('conv2dMaxPool', 'out', out, poolOut(p));
      fits('conv2dMaxPool', 'argmax', argmax, Math.ceil(poolOut(p) / 4));
      inner.conv2dMaxPool(x, w, out, argmax, p, g);
    },
    conv2dPoolFilter(x, argmax, dy, dw, p, g) {
      pooledConvolution('conv2dPoolFilter', p, g);
      fits('conv2dPoolFilter', 'x', x, image(g));
      fits('conv2dPoolFilter', 'argmax', argmax, Math.ceil(poolOut(p) / 4));
      fits('conv2dPoolFilter', 'dy', dy, poolOut(p));
      fits('conv2dPoolFilter', 'dw', dw, filter(g));
      inner.conv2dPoolFilter(x, argmax, dy, dw, p, g);
    },
    maxPool(x, out, g) {
      geometry('maxPool', g);
      fits('maxPool', 'x', x, image(g));
      fits('maxPool', 'out', out, poolOut(g));
      inner.maxPool(x, out, g);
    },
    maxPoolGrad(x, dy, dx, g) {
      geometry('maxPoolGrad', g);
      fits('maxPoolGrad', 'x', x, image(g));
      fits('maxPoolGrad', 'dy', dy, poolOut(g));
      fits('maxPoolGrad', 'dx', dx, image(g));
      inner.maxPoolGrad(x, dy, dx, g);
    },
    avgPool(x, out, g) {
      geometry('avgPool', g);
      fits('avgPool', 'x', x, image(g));
      fits('avgPool', 'out', out, poolOut(g));
      inner.avgPool(x, out, g);
    },
    avgPoolGrad(dy, dx, g) {
      geometry('avgPoolGrad', g);
      fits('avgPoolGrad', 'dy', dy, poolOut(g));
      fits('avgPoolGrad', 'dx', dx, image(g));
      inner.avgPoolGrad(dy, dx, g);
    },
    softmax(x, out, cols, scale, causalRows) {
      rows('softmax', out, cols, causalRows);
      same('softmax', 'x', x, 'out', out);
      inner.softmax(x, out, cols, scale, causalRows);
    },
    softmaxGrad(g, y, out, cols, scale) {
      rows('softmaxGrad', out, cols);
      same('softmaxGrad', 'g', g, 'out', out);
      same('softmaxGrad', 'y', y, 'out', out);
      inner.softmaxGrad(g, y, out, cols, scale);
    },
    logSoftmax(x, out, cols) {
      rows('logSoftmax', out, cols);
      same('logSoftmax', 'x', x, 'out', out);
      inner.logSoftmax(x, out, cols);
    },
    logSoftmaxGrad(g, y, out, cols) {
      rows('logSoftmaxGrad', out, cols);
      same('logSoftmaxGrad', 'g', g, 'out', out);
      same('logSoftmaxGrad', 'y', y, 'out', out);
      inner.logSoftmaxGrad(g, y, out, cols);
    },
    attention(qkv, y, lse, a) {
      attentionSizes('attention', a, qkv, y, lse);
      inner.attention(qkv, y, lse, a);
    },
    fusedAttention: (a) => inner.fusedAttention(a),
    fusedConvPool: (p, g) => inner.fusedConvPool(p, g),
    attentionGrad(qkv, y, lse, dy, dqkv, a) {
      attentionSizes('attentionGrad', a, qkv, y, lse);
      fits('attentionGrad', 'dy', dy, y.length);
      fits('attentionGrad', 'dqkv', dqkv, qkv.length);
      inner.attentionGrad(qkv, y, lse, dy, dqkv, a);
    },
    normalize(x, out, cols, epsilon) {
      rows('normalize', out, cols);
      same('normalize', 'x', x, 'out', out);
      inner.normalize(x, out, cols, epsilon);
    },
    normalizeGrad(g, x, out, cols, epsilon) {
      rows('normalizeGrad', out, cols);
      same('normalizeGrad', 'g', g, 'out', out);
      same('normalizeGrad', 'x', x, 'out', out);
      inner.normalizeGrad(g, x, out, cols, epsilon);
    },
    copyRows(x, xOffset, xStride, out, outOffset, outStride, rowCount, length, zeroRest) {
      sizes('copyRows', 'xOffset xStride outOffset outStride rows length', xOffset, xStride, outOffset, outStride, rowCount, length);
      if (rowCount > 0) {
        fits('copyRows', 'x', x, xOffset + (rowCount - 1) * xStride + length);
        fits('copyRows', 'out', out, outOffset + (rowCount - 1) * outStride + length);
      }
      inner.copyRows(x, xOffset, xStride, out, outOffset, outStride, rowCount, length, zeroRest);
    },
    transpose(x, shape, perm, out) {
      const size = elements('transpose', 'shape', shape);
      let ok = perm.length === shape.length;
      for (let i = 0; ok && i < perm.length; i++) ok = isSize(perm[i]) && perm[i] < perm.length && perm.indexOf(perm[i]) === i;
      if (!ok) fail('transpose', `[${perm.join(', ')}] is not a permutation of the axes of ${formatShape(shape)}`);
      fits('transpose', 'x', x, size);
      fits('transpose', 'out', out, size);
      inner.transpose(x, shape, perm, out);
    },
    gather(x, outer, size, innerSize, indices, out) {
      sizes('gather', 'outer size inner', outer, size, innerSize);
      fits('gather', 'x', x, outer * size * innerSize);
      fits('gather', 'out', out, outer * indices.length * innerSize);
      indicesIn('gather', indices, size);
      inner.gather(x, outer, size, innerSize, indices, out);
    },
    scatterAdd(g, outer, size, innerSize, indices, out) {
      sizes('scatterAdd', 'outer size inner', outer, size, innerSize);
      fits('scatterAdd', 'g', g, outer * indices.length * innerSize);
      fits('scatterAdd', 'out', out, outer * size * innerSize);
      indicesIn('scatterAdd', indices, size);
      inner.scatterAdd(g, outer, size, innerSize, indices, out);
    },
    sgdUpdate(w, g, v, lr, momentum) {
      same('sgdUpdate', 'g', g, 'w', w);
      if (v) same('sgdUpdate', 'v', v, 'w', w);
      inner.sgdUpdate(w, g, v, lr, momentum);
    },
    adamUpdate(w, g, m, v, alpha, beta1, beta2, epsilon) {
      same('adamUpdate', 'g', g, 'w', w);
      same('adamUpdate', 'm', m, 'w', w);
      same('adamUpdate', 'v', v, 'w', w);
      inner.adamUpdate(w, g, m, v, alpha, beta1, beta2, epsilon);
    },
  };
}
