// The guide's exporting chapter (docs/guide/12-saving-and-exporting.md): a briefly trained
// reference CNN exported to ONNX and run by another runtime (onnxruntime-web, a development
// dependency), whose predictions must match tsgrad's; then the same model as a TensorFlow.js
// LayersModel folder.
// Run: node --import tsx examples/export-onnx.ts

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { exportTfjs, loadMnist, referenceCnn, saveOnnx, tensor } from 'tsgrad';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-export-'));
const train = loadMnist({ limit: 256 });
const test = loadMnist({ split: 'test', limit: 100 });

const model = referenceCnn({ seed: 0 });
model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
await model.fit(tensor(train.images, train.shape), tensor(train.labels, [train.count], 'int32'), { epochs: 1, batchSize: 32, verbose: 0 });

// ONNX: one file, the graph and its weights (opset 17). The input is NHWC as in tsgrad; the
// exporter transposes around the convolutions, which ONNX computes channels first.
const file = path.join(dir, 'reference.onnx');
saveOnnx(model, file);
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(fs.readFileSync(file));
console.log(`reference.onnx: input ${session.inputNames.join(', ')}, output ${session.outputNames.join(', ')}`);

// The same 100 test digits through both runtimes.
const { output } = await session.run({ input: new ort.Tensor('float32', test.images, [test.count, 28, 28, 1]) });
const theirs = output.data as Float32Array;
const ours = model.predict(tensor(test.images, test.shape)).dataSync();
const digit = (p: ArrayLike<number>, i: number) => {
  let best = 0;
  for (let d = 1; d < 10; d++) if (p[10 * i + d] > p[10 * i + best]) best = d;
  return best;
};
let same = 0;
let largest = 0;
for (let i = 0; i < test.count; i++) if (digit(theirs, i) === digit(ours, i)) same++;
for (let i = 0; i < ours.length; i++) largest = Math.max(largest, Math.abs(theirs[i] - ours[i]));
console.log(`output shape ${output.dims.join('x')}; same digit for ${same}/${test.count} images; probabilities within 1e-4: ${largest < 1e-4}`);

// TensorFlow.js: model.json (Keras topology, training config, weights manifest) and binary shards.
const tfjsDir = path.join(dir, 'tfjs');
exportTfjs(model, tfjsDir);
const manifest = JSON.parse(fs.readFileSync(path.join(tfjsDir, 'model.json'), 'utf8'));
console.log('tfjs folder:', fs.readdirSync(tfjsDir).sort().join(', '));
console.log(`  ${manifest.format}, ${manifest.modelTopology.config.layers.length} Keras layers, ${manifest.weightsManifest[0].weights.length} weights, optimizer ${manifest.trainingConfig.optimizer_config.class_name}`);
fs.rmSync(dir, { recursive: true });
