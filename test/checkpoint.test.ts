// Checkpoints: a saved model rebuilds exactly (weights, config, optimizer state); bad ones give one clear error.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { loadMnist } from '../src/data/mnist.js';
import { loadModel } from '../src/models/load.js';
import { referenceCnn } from '../src/models/zoo.js';
import * as L from '../src/nn/layers.js';
import { tensor } from '../src/tensor/tensor.js';
import { Sequential, sequential } from '../src/train/sequential.js';
import { rand, tempDir } from './helpers.js';

const tmp = () => tempDir('io');
const userError = (re: RegExp) => (e: unknown) => e instanceof TsgradError && re.test((e as Error).message);

test('a checkpoint rebuilds the model exactly, with its optimizer state', async () => {
  const data = loadMnist({ limit: 64 });
  const x = tensor(data.images, data.shape);
  const y = tensor(data.labels, [data.count], 'int32');
  const model = referenceCnn({ seed: 3 });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(x, y, { epochs: 1, batchSize: 32 });
  const dir = tmp();
  model.save(dir);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.safetensors']);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.equal(json.format, 'tsgrad-checkpoint');
  assert.equal(json.formatVersion, 1);
  assert.equal(json.trainingConfig.optimizer.className, 'Adam');
  const loaded = loadModel(dir, Sequential);
  assert.deepEqual([...loaded.predict(x).dataSync()], [...model.predict(x).dataSync()]);
  assert.deepEqual(loaded.getConfig(), model.getConfig());
  assert.equal(loaded.optimizer!.getState().iterations, 2);
  // Training on from the loaded copy gives the same weights as training on the original.
  await model.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false });
  await loaded.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false });
  assert.deepEqual([...loaded.weights[0].value.dataSync()], [...model.weights[0].value.dataSync()]);
});

test('a model of every layer type survives a checkpoint', () => {
  const model = sequential([
    L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', inputShape: [8, 8, 1] }), L.averagePooling2d({}),
    L.maxPooling2d({ poolSize: 2 }), L.flatten(), L.dropout({ rate: 0.5 }), L.dense({ units: 4 }),
    L.activation({ activation: 'softmax' }),
  ], { seed: 2 });
  model.build();
  const dir = tmp();
  model.save(dir);
  const x = rand([3, 8, 8, 1], 4);
  assert.deepEqual([...loadModel(dir, Sequential).predict(x).dataSync()], [...model.predict(x).dataSync()]);
});

test('bad checkpoints give one clear error', () => {
  assert.throws(() => loadModel('/nonexistent/ckpt'), userError(/no such checkpoint: \/nonexistent\/ckpt/));
  const dir = tmp();
  assert.throws(() => loadModel(dir), userError(/model\.json is missing/));
  fs.writeFileSync(path.join(dir, 'model.json'), '{"format": "keras"}');
  assert.throws(() => loadModel(dir), userError(/not a tsgrad checkpoint/));
  const model = referenceCnn();
  model.build();
  model.save(dir);
  fs.truncateSync(path.join(dir, 'weights.safetensors'), 1000);
  assert.throws(() => loadModel(dir), userError(/weights\.safetensors: not a valid safetensors file/));
});
