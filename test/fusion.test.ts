// Fused layers (src/nn/fusion.ts) give the numbers of their layers run one by one: the outputs
// exactly, the weights' gradients up to the order of float32 sums (the bias gradient sums fewer terms).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward } from '../src/autograd/index.js';
import { fusedCall } from '../src/nn/fusion.js';
import * as L from '../src/nn/layers.js';
import { LayerStack } from '../src/nn/stack.js';
import { noGrad } from '../src/tensor/engine.js';
import { assertClose, rand } from './helpers.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { Rng } from '../src/core/rng.js';

const cases = [
  { activation: 'relu', padding: 'valid', strides: 1, pool: 2 },
  { activation: 'sigmoid', padding: 'same', strides: 1, pool: 3 },
  { activation: 'linear', padding: 'valid', strides: 2, pool: 2 },
  { activation: 'tanh', padding: 'same', strides: 1, pool: 2 },
] as const;

for (const c of cases) {
  test(`conv2d (${c.activation}, ${c.padding}, stride ${c.strides}) then ${c.pool}x${c.pool} max pooling fuses, with the same numbers`, () => {
    const stack = new LayerStack([
      L.conv2d({ filters: 8, kernelSize: 3, activation: c.activation, padding: c.padding, strides: c.strides, inputShape: [9, 11, 4] }),
      L.maxPooling2d({ poolSize: c.pool, padding: 'same' }),
    ]);
    stack.build(1);
    const [conv, pool] = stack.layers;
    const x = rand([3, 9, 11, 4], 2);
    assert.ok(noGrad(() => fusedCall(conv, pool, x)), 'the pair fuses');
    const fused = stack.call(x, true);
    const apart = pool.call(conv.call(x, true), true);
    assert.deepEqual(Array.from(fused.dataSync()), Array.from(apart.dataSync()));
    const r = rand([...fused.shape], 3);
    const grads = (y: typeof fused) => {
      backward(y.mul(r).sum());
      const g = stack.trainableWeights.map((w) => w.grad!.dataSync());
      for (const w of stack.trainableWeights) w.grad = null;
      return g;
    };
    const [a, b] = [grads(fused), grads(apart)];
    a.forEach((g, i) => assertClose(g, b[i], 1e-5, `gradient ${i}`));
    assert.deepEqual(Array.from(noGrad(() => stack.call(x)).dataSync()), Array.from(apart.dataSync()));
  });
}

// A first layer (its input needs no gradient) runs as one op, conv2dMaxPool: on wasm, one kernel
// each way where the direct convolutions run (few input channels, 2x2 pooling), else the two ops.
// (On wasm its kernels give the numbers of the convolution and pooling kernels they replace, bit for
// bit: wasm.test.ts.)
const firstLayers = [
  { input: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'valid', pool: {} }, // the reference CNN's
  { input: [9, 11, 3], filters: 16, kernelSize: 3, padding: 'same', pool: {} },
  { input: [9, 11, 3], filters: 12, kernelSize: 3, padding: 'same', pool: {} }, // not fused on wasm (filters not in sixteens)
  { input: [10, 9, 1], filters: 8, kernelSize: 5, padding: 'valid', pool: { poolSize: 3, strides: 2 } }, // not fused on wasm
] as const;
for (const c of firstLayers) {
  test(`a first layer's convolution and max pooling run as one op with the numbers of the two layers ${JSON.stringify(c)}`, () => {
    const stack = new LayerStack([
      L.conv2d({ filters: c.filters, kernelSize: c.kernelSize, activation: 'relu', padding: c.padding, inputShape: [...c.input] }),
      L.maxPooling2d(c.pool),
    ]);
    stack.build(1);
    const [conv, pool] = stack.layers;
    const x = rand([4, ...c.input], 5);
    const fused = stack.call(x, true);
    const apart = pool.call(conv.call(x, true), true);
    assert.deepEqual(Array.from(fused.dataSync()), Array.from(apart.dataSync()));
    const r = rand([...fused.shape], 6);
    const grads = (y: typeof fused, wrt: Tensor[]) => {
      backward(y.mul(r).sum());
      const g = wrt.map((w) => w.grad!.dataSync());
      for (const w of wrt) w.grad = null;
      return g;
    };
    const [a, b] = [grads(fused, stack.trainableWeights), grads(apart, stack.trainableWeights)];
    a.forEach((g, i) => assertClose(g, b[i], 1e-5, `gradient ${i}`));
    // Asked for the input's gradient only after the forward pass, backward computes it too.
    const again = stack.call(x, true);
    x.requiresGrad = true;
    const [dx] = grads(again, [x]);
    const [expected] = grads(pool.call(conv.call(x, true), true), [x]);
    assertClose(dx, expected, 1e-5, 'input gradient');
  });
}

test('layers do not fuse when an activity regularizer must see the convolution\'s own output, or the activation does not commute with a max', () => {
  const pool = L.maxPooling2d({});
  const x = rand([1, 6, 6, 2], 4);
  for (const conv of [
    L.conv2d({ filters: 2, kernelSize: 3, activityRegularizer: { className: 'L2', config: { l2: 0.1 } } }),
    L.conv2d({ filters: 2, kernelSize: 3, activation: 'softmax' }),
  ]) {
    conv.build([1, 6, 6, 2], new Rng(0));
    assert.equal(fusedCall(conv, pool, x), null);
  }
});
