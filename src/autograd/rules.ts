// The backward rule (vector-Jacobian product) of every primitive op, in one exhaustive switch:
// given the op's inputs, its output y and the gradient g of the loss with respect to y, return
// the gradient with respect to each input (null where none flows, e.g. integer indices, or where
// `needs` says no one asked: the expensive rules skip those, e.g. a first convolution's input).

import { TsgradError } from '../core/errors.js';
import { reducedShape, sameShape, type Shape } from '../core/shape.js';
import type { Op } from '../tensor/op.js';
import * as ops from '../tensor/ops.js';
import { ones, type Tensor } from '../tensor/tensor.js';

export function vjp(op: Op, inputs: Tensor[], y: Tensor, g: Tensor, needs: boolean[]): (Tensor | null)[] {
  const [a, b] = inputs;
  const [needA, needB] = needs;
  switch (op.kind) {
    case 'neg': return [g.neg()];
    case 'exp': return [g.mul(y)];
    case 'log': return [g.div(a)];
    case 'sqrt': return [g.div(y.mul(2))];
    case 'abs': return [g.mul(a.sign())];
    case 'sign': return [null];
    case 'relu': return [ops.binary('reluGrad', g, a)];
    case 'sigmoid': return [g.mul(y.mul(y.neg().add(1)))];
    case 'tanh': return [g.mul(y.mul(y).neg().add(1))];
    case 'gelu': return [ops.binary('geluGrad', g, a)];
    case 'add': return [unbroadcast(g, a.shape), unbroadcast(g, b.shape)];
    case 'sub': return [unbroadcast(g, a.shape), unbroadcast(g.neg(), b.shape)];
    case 'mul': return [unbroadcast(g.mul(b), a.shape), unbroadcast(g.mul(a), b.shape)];
    case 'div': return [unbroadcast(g.div(b), a.shape), unbroadcast(g.mul(a).div(b.mul(b)).neg(), b.shape)];
    // ReLU's backward is linear in g and flat in x (almost everywhere).
    case 'reluGrad': return [unbroadcast(ops.binary('reluGrad', g, b), a.shape), null];
    case 'geluGrad': return [unbroadcast(ops.binary('geluGrad', g, b), a.shape), needB ? secondOrder('GELU') : null];
    case 'addRelu': {
      const gz = ops.binary('reluGrad', g, y); // y > 0 exactly where a + b > 0
      return [unbroadcast(gz, a.shape), unbroadcast(gz, b.shape)];
    }
    case 'greater':
    case 'equal':
    case 'argMax':
      return inputs.map(() => null);
    case 'sum': return [expand(g, a.shape, op.axes)];
    case 'max': {
      // Ties share the gradient equally, so the rule is symmetric in equal inputs.
      const mask = a.equal(expand(y, a.shape, op.axes));
      return [expand(g, a.shape, op.axes).mul(mask).div(expand(mask.sum(op.axes), a.shape, op.axes))];
    }
    case 'softmax': return [ops.softmaxGrad(g, y, op.scale)];
    case 'softmaxGrad': return secondOrder('softmax');
    case 'logSoftmax': return [ops.logSoftmaxGrad(g, y)];
    case 'logSoftmaxGrad': return secondOrder('log-softmax');
    case 'normalize': return [ops.normalizeGrad(g, a, op.epsilon)];
    case 'normalizeGrad': return secondOrder('layer normalization');
    case 'attention': return [ops.selfAttentionGrad(g, a, y, op)];
    case 'attentionGrad': return secondOrder('attention');
    case 'matmul': return matmulVjp(a, b, g, op.transA, op.transB, needs);
    case 'conv2d': return [needA ? ops.conv2dBackpropInput(g, b, op.g) : null, needB ? ops.conv2dBackpropFilter(a, g, op.g) : null];
    // The two convolution gradients are linear in each argument; their own gradients close the set.
    case 'conv2dBackpropInput': return [ops.conv2dWith(g, b, op.g), ops.conv2dBackpropFilter(g, a, op.g)];
    case 'conv2dBackpropFilter': return [ops.conv2dBackpropInput(b, g, op.g), ops.conv2dWith(a, g, op.g)];
    case 'conv2dMaxPool': return ops.conv2dMaxPoolGrad(a, b, g, op, needs);
    case 'maxPool': return [ops.maxPoolGrad(a, g, op.g)];
    case 'maxPoolGrad': return secondOrder('max pooling');
    case 'avgPool': return [ops.avgPoolGrad(g, op.g)];
    case 'avgPoolGrad': return [ops.avgPoolWith(g, op.g)];
    case 'reshape': return [g.reshape(a.shape)];
    case 'transpose': {
      const inverse = new Array<number>(op.perm.length);
      op.perm.forEach((p, i) => (inverse[p] = i));
      return [g.transpose(inverse)];
    }
    case 'slice': return [ops.pad(g, op.axis, op.start, a.shape[op.axis] - op.start - g.shape[op.axis])];
    case 'pad': return [ops.slice(g, op.axis, op.before, a.shape[op.axis])];
    case 'gather': return [ops.scatterAdd(g, b, op.axis, a.shape[op.axis]), null];
    case 'scatterAdd': return [ops.gather(g, b, op.axis), null];
    default: {
      const unhandled: never = op;
      throw new Error(`no backward rule for ${JSON.stringify(unhandled)}`);
    }
  }
}

function secondOrder(what: string): never {
  throw new TsgradError(`second derivatives of ${what} are not supported`);
}

/** Sums g over the axes along which an operand of `shape` was broadcast. */
function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  return g.sum(axes).reshape(shape);
}

/** Broadcasts g, which lacks the reduced `axes` of `shape`, back to `shape`. */
function expand(g: Tensor, shape: Shape, axes: readonly number[]): Tensor {
  return g.reshape(reducedShape(shape, axes, true)).mul(ones(shape));
}

function matmulVjp(a: Tensor, b: Tensor, g: Tensor, transA: boolean, transB: boolean, [needA, needB]: boolean[]): (Tensor | null)[] {
  // With C = op(A) op(B): dA = g op(B)ᵀ and dB = op(A)ᵀ g, written for the stored layouts.
  const da = () => (transA ? ops.matmul(b, g, { transA: transB, transB: true }) : ops.matmul(g, b, { transB: !transB }));
  const db = () => (transB ? ops.matmul(g, a, { transA: true, transB: transA }) : ops.matmul(a, g, { transA: !transA }));
  // A matrix shared by every batch gets the sum of the per-batch gradients.
  const fold = (d: Tensor, like: Tensor) => (d.rank > like.rank ? d.sum([...Array(d.rank - 2).keys()]) : d);
  return [needA ? fold(da(), a) : null, needB ? fold(db(), b) : null];
}
