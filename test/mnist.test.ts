// End to end on real data: a small CNN trained on a few thousand MNIST images classifies
// held-out test images with more than 90% accuracy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadMnist } from '../src/data/mnist.js';
import * as L from '../src/nn/layers.js';
import { Adam } from '../src/optim/optimizer.js';
import { tensor } from '../src/tensor/tensor.js';
import { sequential } from '../src/train/sequential.js';

test('a small CNN learns MNIST from 5,000 images to > 90% on 1,000 held-out test images', async () => {
  const train = loadMnist({ limit: 5000 });
  const held = loadMnist({ split: 'test', limit: 1000 });
  const model = sequential([
    L.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    L.maxPooling2d({ poolSize: 2 }),
    L.flatten(),
    L.dense({ units: 32, activation: 'relu' }),
    L.dense({ units: 10, activation: 'softmax' }),
  ], { seed: 2 });
  model.compile({ optimizer: new Adam({ learningRate: 0.003 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const history = await model.fit(tensor(train.images, train.shape), tensor(train.labels, [train.count], 'int32'), { epochs: 3, batchSize: 32 });
  const result = model.evaluate(tensor(held.images, held.shape), tensor(held.labels, [held.count], 'int32'));
  assert.ok(history.history.loss[2] < history.history.loss[0]);
  assert.ok(result.accuracy! > 0.9, `held-out accuracy ${result.accuracy}`);
});
