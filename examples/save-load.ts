// The guide's saving chapter (docs/guide/12-saving-and-exporting.md): a briefly trained reference
// CNN saved as a checkpoint folder (model.json + weights.safetensors), the two files looked at, and
// the model loaded back, compiled as it was, giving the same predictions bit for bit.
// Run: node --import tsx examples/save-load.ts

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sequential, loadMnist, loadModel, loadSafetensors, referenceCnn, tensor } from 'tsgrad';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-save-'));
const train = loadMnist({ limit: 256 });
const test = loadMnist({ split: 'test', limit: 100 });
const testX = tensor(test.images, test.shape);
const testY = tensor(test.labels, [test.count], 'int32');

const model = referenceCnn({ seed: 0 });
model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
await model.fit(tensor(train.images, train.shape), tensor(train.labels, [train.count], 'int32'), { epochs: 1, batchSize: 32, verbose: 0 });

// A checkpoint is a folder of two files.
const checkpoint = path.join(dir, 'my-model');
model.save(checkpoint);
console.log('files:', fs.readdirSync(checkpoint).sort().join(', '));

// model.json: the format, the architecture (each layer's config), how it was trained, the weights' names and shapes.
const json = JSON.parse(fs.readFileSync(path.join(checkpoint, 'model.json'), 'utf8'));
console.log('model.json:', Object.keys(json).join(', '));
console.log(`  ${json.format} version ${json.formatVersion}, ${json.modelConfig.className} of ${json.modelConfig.config.layers.length} layers`);
console.log(`  trained with ${json.trainingConfig.optimizer.className}, loss ${json.trainingConfig.loss}`);
console.log('  first weights:', json.weights.slice(0, 2).map((w: { name: string; shape: number[] }) => `${w.name} ${w.shape.join('x')}`).join(', '));

// weights.safetensors: the weights, then Adam's two moments of each under optimizer/.
const { tensors, metadata } = loadSafetensors(path.join(checkpoint, 'weights.safetensors'));
const names = Object.keys(tensors);
console.log(`weights.safetensors: ${names.length} tensors, ${names.filter((n) => n.startsWith('optimizer/')).length} of them optimizer slots; metadata`, metadata);

// Loaded back: the same layers, the same weights, compiled with the same optimizer and loss.
const again = loadModel(checkpoint, Sequential);
const before = model.predict(testX).dataSync();
const after = again.predict(testX).dataSync();
console.log(`loaded back: ${again.countParams()} parameters, identical outputs: ${before.every((v, i) => v === after[i])}`);
console.log('evaluate() gives the same loss:', model.evaluate(testX, testY).loss === again.evaluate(testX, testY).loss);
fs.rmSync(dir, { recursive: true });
