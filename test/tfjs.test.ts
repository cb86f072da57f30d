// Agreement with an independent implementation: TensorFlow.js (pure-JS cpu backend) computes
// conv2d and both its gradients, pooling, dense and cross-entropy on random inputs.

import * as tf from '@tensorflow/tfjs';
import { test } from 'node:test';
import { backward } from '../src/autograd/index.js';
import { sparseCategoricalCrossentropy, categoricalCrossentropy, softmax, logSoftmax } from '../src/ops/index.js';
import * as ops from '../src/tensor/ops.js';
import { tensor, variable, type Tensor } from '../src/tensor/tensor.js';
import { assertClose, rand } from './helpers.js';

await tf.setBackend('cpu');
const TOL = 1e-4;

const toTf = (t: Tensor) => tf.tensor(Array.from(t.dataSync()), [...t.shape]);
const data = (t: tf.Tensor) => t.dataSync() as Float32Array;

/** tsgrad's value and gradients of sum(f(inputs) * r) against TensorFlow.js's. */
function agree(ours: (...xs: Tensor[]) => Tensor, theirs: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Tensor[], what: string) {
  const leaves = inputs.map(variable);
  const y = ours(...leaves);
  const r = rand([...y.shape], 99);
  backward(y, r);
  const tfInputs = inputs.map(toTf);
  const tfY = theirs(...tfInputs);
  assertClose(y.dataSync(), data(tfY), TOL, `${what} forward`);
  const tfGrads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(theirs(...xs), toTf(r))))(tfInputs);
  leaves.forEach((l, i) => assertClose(l.grad!.dataSync(), data(tfGrads[i]), TOL, `${what} gradient ${i}`));
}

const convCases: { x: number[]; k: number[]; strides: [number, number]; padding: 'valid' | 'same' }[] = [
  { x: [2, 9, 9, 3], k: [3, 3, 3, 5], strides: [1, 1], padding: 'valid' },
  { x: [3, 8, 7, 2], k: [3, 3, 2, 4], strides: [2, 2], padding: 'same' },
  { x: [1, 11, 6, 1], k: [5, 2, 1, 3], strides: [2, 1], padding: 'same' },
  { x: [2, 28, 28, 1], k: [3, 3, 1, 8], strides: [1, 1], padding: 'valid' },
  { x: [2, 13, 13, 32], k: [3, 3, 32, 64], strides: [1, 1], padding: 'valid' }, // Winograd on the wasm backend
  { x: [2, 13, 13, 16], k: [3, 3, 16, 8], strides: [1, 1], padding: 'same' }, // ... with padding
];
for (const c of convCases) {
  test(`conv2d and its gradients match TensorFlow.js ${JSON.stringify(c)}`, () => {
    agree((x, w) => ops.conv2d(x, w, { strides: c.strides, padding: c.padding }),
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.padding),
      [rand(c.x, 1), rand(c.k, 2)], 'conv2d');
  });
}

const poolCases: { x: number[]; size: [number, number]; strides: [number, number]; padding: 'valid' | 'same' }[] = [
  { x: [2, 8, 8, 3], size: [2, 2], strides: [2, 2], padding: 'valid' },
  { x: [1, 7, 9, 2], size: [3, 3], strides: [2, 2], padding: 'same' },
  { x: [2, 5, 5, 4], size: [2, 3], strides: [1, 2], padding: 'valid' },
];
for (const c of poolCases) {
  test(`max and average pooling match TensorFlow.js ${JSON.stringify(c)}`, () => {
    const opts = { poolSize: c.size, strides: c.strides, padding: c.padding };
    agree((x) => ops.maxPool(x, opts), (x) => tf.maxPool(x as tf.Tensor4D, c.size, c.strides, c.padding), [rand(c.x, 3)], 'maxPool');
    // TensorFlow.js's avgPool gradient divides by the full window even where 'same' padding made
    // its forward divide by fewer pixels, so only the valid case is compared here; the 'same'
    // case is checked against finite differences in gradcheck.test.ts.
    if (c.padding === 'valid') {
      agree((x) => ops.avgPool(x, opts), (x) => tf.avgPool(x as tf.Tensor4D, c.size, c.strides, c.padding), [rand(c.x, 4)], 'avgPool');
    } else {
      const x = rand(c.x, 4);
      assertClose(ops.avgPool(x, opts).dataSync(), data(tf.avgPool(toTf(x) as tf.Tensor4D, c.size, c.strides, c.padding)), TOL, 'avgPool same');
    }
  });
}

test('dense (matmul, bias, relu) matches TensorFlow.js', () => {
  agree((x, w, b) => x.matmul(w).add(b).relu(), (x, w, b) => tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b)),
    [rand([7, 13], 5), rand([13, 6], 6), rand([6], 7)], 'dense');
});

test('softmax and log-softmax match TensorFlow.js', () => {
  agree((x) => softmax(x), (x) => tf.softmax(x), [rand([4, 10], 8, -5, 5)], 'softmax');
  agree((x) => logSoftmax(x), (x) => tf.logSoftmax(x), [rand([4, 10], 9, -5, 5)], 'logSoftmax');
});

test('sparse and dense categorical cross-entropy match TensorFlow.js', () => {
  const labels = [3, 0, 9, 9, 4, 1];
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  const yTrue = tensor(Int32Array.from(labels));
  // From logits through softmax (the layer's path), and from plain probabilities (the clipped path).
  agree((z) => sparseCategoricalCrossentropy(yTrue, softmax(z)).reshape([1]),
    (z) => tf.losses.softmaxCrossEntropy(oneHot, z).reshape([1]), [rand([6, 10], 10, -4, 4)], 'sparse CE from logits');
  const probs = tf.softmax(toTf(rand([6, 10], 11, -2, 2)));
  const p = tensor(Array.from(data(probs)), [6, 10]);
  agree((q) => sparseCategoricalCrossentropy(yTrue, q).reshape([1]),
    (q) => tf.metrics.categoricalCrossentropy(oneHot, q).mean().reshape([1]), [p], 'sparse CE from probabilities');
  agree((q) => categoricalCrossentropy(tensor(Array.from(data(oneHot)), [6, 10]), q).reshape([1]),
    (q) => tf.metrics.categoricalCrossentropy(oneHot, q).mean().reshape([1]), [p], 'dense CE');
});
