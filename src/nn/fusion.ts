// Layers that run together as one step, declared here and nowhere else: the layer stack asks
// fusedCall() at each layer whether it and the next run as one. Each fusion gives exactly the
// numbers of the two layers in turn (tested), only faster.
// Not for: kernel-level fusion (bias + ReLU in one pass is biasActivation, in layer.ts; a
// convolution and its pooling in one kernel is the op conv2dMaxPool, in tensor/ops.ts).

import type { ActivationName } from '../ops/activations.js';
import { conv2dMaxPool } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv2D, pair } from './convolutional.js';
import { biasActivation, type Layer } from './layer.js';
import { MaxPooling2D } from './pooling.js';

/** Activations that commute with a max (elementwise and non-decreasing). */
const NON_DECREASING: ActivationName[] = ['linear', 'relu', 'sigmoid', 'tanh'];

/**
 * `layer` then `next` on x as one step, or null when they do not fuse. A convolution followed by
 * max pooling pools first: the per-channel bias and a non-decreasing activation commute with a
 * max, so they run on the pooled (4x smaller) tensor. Rounding is monotone too, so the numbers
 * are the same exactly. The convolution and the pooling are one op (conv2dMaxPool), which for a
 * first layer never stores the convolution's output. Activity regularizers see each layer's own
 * output, so they prevent it.
 */
export function fusedCall(layer: Layer, next: Layer | undefined, x: Tensor): Tensor | null {
  if (!(layer instanceof Conv2D && next instanceof MaxPooling2D)) return null;
  const c = layer.config;
  if (c.activityRegularizer || next.config.activityRegularizer || !NON_DECREASING.includes(c.activation ?? 'linear')) return null;
  const conv = { strides: pair(c.strides ?? 1), padding: c.padding ?? 'valid' };
  return biasActivation(conv2dMaxPool(x, layer.kernel, conv, next.options()), layer.bias, c.activation);
}
