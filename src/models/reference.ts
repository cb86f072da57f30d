// The reference model of the source article: the classic Keras MNIST convolutional network
// (93,322 parameters), trained with Adam (lr 0.001) on sparse categorical cross-entropy.

import { conv2d, dense, flatten, maxPooling2d } from '../nn/layers.js';
import { sequential, type Sequential } from '../train/sequential.js';

export function referenceCnn(opts: { seed?: number } = {}): Sequential {
  return sequential([
    conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    maxPooling2d({ poolSize: 2 }),
    conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    maxPooling2d({ poolSize: 2 }),
    conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    flatten(),
    dense({ units: 64, activation: 'relu' }),
    dense({ units: 10, activation: 'softmax' }),
  ], { name: 'reference_cnn', seed: opts.seed });
}
