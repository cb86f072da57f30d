// The guide's convolution chapter (docs/guide/03-convolution.md): the worked example computed by
// tsgrad, as deep-learning frameworks compute it (cross-correlation) and as the textbook formula
// with the kernel flipped gives it, then output sizes with padding and stride.
// Run: node --import tsx examples/convolution.ts

import { conv2d, tensor } from 'tsgrad';

// NHWC: one 3x3 image with one channel; a 2x2 kernel from one channel to one.
const image = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]).reshape([1, 3, 3, 1]);
const kernel = tensor([[0, 1], [2, 3]]).reshape([2, 2, 1, 1]);

// What conv2d computes: each output is the sum of the window times the kernel, unflipped.
const crossCorrelation = conv2d(image, kernel).reshape([2, 2]).toArray();
console.log('cross-correlation:', JSON.stringify(crossCorrelation));

// The convolution of the textbook formula flips the kernel in both directions first.
const flipped = tensor([[3, 2], [1, 0]]).reshape([2, 2, 1, 1]);
console.log('convolution (kernel flipped):', JSON.stringify(conv2d(image, flipped).reshape([2, 2]).toArray()));

// Output sizes: 'valid' keeps whole windows only, 'same' pads so that stride 1 keeps the size.
const mnist = tensor(new Float32Array(28 * 28), [1, 28, 28, 1]);
const filters = tensor(new Float32Array(3 * 3 * 32), [3, 3, 1, 32]);
for (const [padding, strides] of [['valid', 1], ['same', 1], ['valid', 2], ['same', 2]] as const) {
  console.log(`28x28 with a 3x3 kernel, padding ${padding}, stride ${strides}:`, conv2d(mnist, filters, { padding, strides }).shape.join('x'));
}
