// Composite activations built from primitives: softmax, log-softmax, clip. A softmax output
// remembers its logits so that cross-entropy can use the exact log-softmax (as Keras does).

import { noGrad } from '../tensor/engine.js';
import { keepWith } from '../tensor/memory.js';
import { logSoftmaxLast, softmaxLast } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

const logitsOfSoftmax = new WeakMap<Tensor, { logits: Tensor; axis: number }>();

/** The row maxima, as a constant: shifting by them changes nothing mathematically, so no gradient flows. */
function shiftBy(x: Tensor, axis: number): Tensor {
  return noGrad(() => x.max(axis, true));
}

/**
 * exp(x) / sum(exp(x)) along `axis` (default the last), shifted by the maximum so it does not
 * overflow. The result remembers its logits, so a cross-entropy loss on it uses the exact
 * log-softmax.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  let y: Tensor;
  if (axis === -1 || axis === x.rank - 1) {
    y = softmaxLast(x); // one fused kernel
  } else {
    const e = x.sub(shiftBy(x, axis)).exp();
    y = e.div(e.sum(axis, true));
  }
  logitsOfSoftmax.set(y, { logits: x, axis });
  keepWith(y, x); // the logits must live as long as y, for the loss
  return y;
}

/** log(softmax(x)) along `axis` (default the last), computed stably without forming the softmax. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  if (axis === -1 || axis === x.rank - 1) return logSoftmaxLast(x); // one fused kernel
  const shifted = x.sub(shiftBy(x, axis));
  return shifted.sub(shifted.exp().sum(axis, true).log());
}

/** The logits a softmax output was computed from, if `probs` came straight from softmax(). */
export function logitsOf(probs: Tensor): {
  /** The tensor softmax() was applied to. */
  logits: Tensor;
  /** The axis it was applied along. */
  axis: number;
} | undefined {
  return logitsOfSoftmax.get(probs);
}

/** Limits x to [lo, hi]; the gradient is 1 inside and 0 outside. */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  return x.add(x.neg().add(lo).relu()).sub(x.sub(hi).relu());
}

/** The activations a layer config may name (`activation: 'relu'`); `linear` is the identity. */
export type ActivationName = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';

/** Applies the named activation to x (softmax over the last axis). */
export function activate(name: ActivationName, x: Tensor): Tensor {
  switch (name) {
    case 'linear': return x;
    case 'relu': return x.relu();
    case 'sigmoid': return x.sigmoid();
    case 'tanh': return x.tanh();
    case 'softmax': return softmax(x);
    default: {
      const unknown: never = name;
      throw new Error(`unknown activation ${unknown}`);
    }
  }
}
