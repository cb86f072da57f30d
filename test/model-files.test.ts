// Model files from anywhere: every corrupt field of a checkpoint (model.json, the optimizer state
// and weights in weights.safetensors), of a TF.js folder and of a language model's config is one
// TsgradError line naming the file and the field, before anything is allocated, and the process
// computes correctly afterwards. The heap and the kernel guards refuse garbage sizes themselves.
// Fuzzing (fast-check) mutates valid files at random: TSGRAD_FUZZ_RUNS sets the runs per property.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { Heap } from '../src/backend/wasm/heap.js';
import { TsgradError } from '../src/core/errors.js';
import { loadSafetensors, saveSafetensors, type StoredTensor } from '../src/io/safetensors.js';
import { exportTfjs } from '../src/io/tfjs.js';
import { importTfjs, loadLanguageModel, loadModel } from '../src/models/load.js';
import * as L from '../src/nn/layers.js';
import { adam } from '../src/optim/optimizer.js';
import { getBackend } from '../src/tensor/engine.js';
import { tensor, variable } from '../src/tensor/tensor.js';
import { sequential } from '../src/train/sequential.js';
import { tempDir } from './helpers.js';

const RUNS = Number(process.env.TSGRAD_FUZZ_RUNS ?? 60);
const root = path.resolve(import.meta.dirname, '..');

/** A normal computation still gives the right numbers (the heap and the engine are sound). */
function healthy(): void {
  assert.deepEqual([...tensor([1, 2, 3, 4]).add(tensor([10, 20, 30, 40])).dataSync()], [11, 22, 33, 44]);
}

/** f throws a TsgradError of one line that is `expected` (or matches it), and the process still computes. */
function rejects(f: () => unknown, expected: string | RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof TsgradError, `not a TsgradError: ${(e as Error)?.stack}`);
    assert.ok(!e.message.includes('\n'), `more than one line: ${e.message}`);
    if (typeof expected === 'string') assert.equal(e.message, expected);
    else assert.match(e.message, expected);
    return true;
  });
  healthy();
}

// ----------------------------------------------------------------------------------------------
// Fixtures: a compiled Sequential with Adam moments, saved once and copied for each case.

const base = tempDir('model-files');
const good = path.join(base, 'good');
{
  const model = sequential([
    L.conv2d({ filters: 2, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 1] }), L.maxPooling2d({}), L.flatten(),
    L.dropout({ rate: 0.25 }), L.dense({ units: 3, activation: 'softmax' }),
  ], { seed: 1 });
  model.compile({ optimizer: adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  model.build();
  const x = tensor(new Float32Array(4 * 36).map((_, i) => (i % 7) / 7), [4, 6, 6, 1]);
  const y = tensor([0, 1, 2, 1], [4], 'int32');
  await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
  model.save(good);
}
let copies = 0;

/** A copy of a folder; model.json changed by `edit` when given. */
function copy(from: string, edit?: (j: any) => void): { dir: string; file: string; weights: string } {
  const dir = path.join(base, `case-${copies++}`);
  fs.cpSync(from, dir, { recursive: true });
  const file = path.join(dir, 'model.json');
  if (edit) {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(j);
    // 'NESTED' stands for arrays nested 100000 deep (too deep for JSON.stringify to write).
    fs.writeFileSync(file, JSON.stringify(j).replace('"NESTED"', `${'['.repeat(1e5)}6${']'.repeat(1e5)}`));
  }
  return { dir, file, weights: path.join(dir, 'weights.safetensors') };
}

/** Rewrites a checkpoint's weights file with `edit` applied to its tensors and metadata. */
function editWeights(file: string, edit: (t: Record<string, StoredTensor>, meta: Record<string, string>) => void): void {
  const { tensors, metadata } = loadSafetensors(file);
  edit(tensors, metadata);
  saveSafetensors(file, tensors, metadata);
}

const layer = (i: number) => `modelConfig.config.layers[${i}]`;

test('model.json: each corrupt layer field is one line naming the file and the field', () => {
  const cases: [(j: any) => void, (f: string) => string][] = [
    [(j) => { j.modelConfig.config.layers[0].config.inputShape = ['a', 6, 1]; },
      (f) => `${f}: ${layer(0)}.config.inputShape[0] must be an integer from 1 to 67108864, got "a"`],
    [(j) => { j.modelConfig.config.layers[0].config.inputShape = [6, -6, 1]; },
      (f) => `${f}: ${layer(0)}.config.inputShape[1] must be an integer from 1 to 67108864, got -6`],
    [(j) => { j.modelConfig.config.layers[0].config.inputShape = [6, 6, 1, 1, 1, 1, 1, 1, 1]; },
      (f) => `${f}: ${layer(0)}.config.inputShape has 9 elements, more than the 8 allowed`],
    [(j) => { j.modelConfig.config.layers[0].config.inputShape = [65536, 65536, 1]; },
      (f) => `${f}: ${layer(0)}.config.inputShape [65536, 65536, 1] has 4294967296 elements, more than the 67108864 allowed`],
    [(j) => { delete j.modelConfig.config.layers[0].config.inputShape; },
      (f) => `${f}: ${layer(0)}.config.inputShape is missing: the first layer needs the shape of one example`],
    [(j) => { j.modelConfig.config.layers[0].config.activation = 'swish'; },
      (f) => `${f}: ${layer(0)}.config.activation must be one of linear, relu, sigmoid, tanh, softmax, got "swish"`],
    [(j) => { j.modelConfig.config.layers[0].config.kernelInitializer = 'lecunUniform'; },
      (f) => `${f}: ${layer(0)}.config.kernelInitializer must be one of glorotUniform, glorotNormal, heUniform, heNormal, zeros, ones, randomUniform, orthogonal, got "lecunUniform"`],
    [(j) => { delete j.modelConfig.config.layers[4].config; },
      (f) => `${f}: ${layer(4)}.config must be an object, got nothing`],
    [(j) => { j.modelConfig.config.layers[2] = null; }, (f) => `${f}: ${layer(2)} must be an object, got null`],
    [(j) => { j.modelConfig.config.layers[0].config.inputShape = 'NESTED'; },
      (f) => `${f}: ${layer(0)}.config.inputShape[0] must be an integer from 1 to 67108864, got an array`],
    [(j) => { j.modelConfig.config.layers[4].config.units = 0; },
      (f) => `${f}: ${layer(4)}.config.units must be an integer from 1 to 16777216, got 0`],
    [(j) => { j.modelConfig.config.layers[4].config.units = '3'; },
      (f) => `${f}: ${layer(4)}.config.units must be an integer from 1 to 16777216, got "3"`],
    [(j) => { j.modelConfig.config.layers[4].config.units = 2.5; },
      (f) => `${f}: ${layer(4)}.config.units must be an integer from 1 to 16777216, got 2.5`],
    [(j) => { j.modelConfig.config.layers[0].config.filters = 0; },
      (f) => `${f}: ${layer(0)}.config.filters must be an integer from 1 to 16777216, got 0`],
    [(j) => { j.modelConfig.config.layers[0].config.kernelSize = [0, 0]; },
      (f) => `${f}: ${layer(0)}.config.kernelSize[0] must be an integer from 1 to 4096, got 0`],
    [(j) => { j.modelConfig.config.layers[0].config.kernelSize = [3, 3, 3]; },
      (f) => `${f}: ${layer(0)}.config.kernelSize has 3 elements, more than the 2 allowed`],
    [(j) => { j.modelConfig.config.layers[0].config.strides = [1, 0]; },
      (f) => `${f}: ${layer(0)}.config.strides[1] must be an integer from 1 to 4096, got 0`],
    [(j) => { j.modelConfig.config.layers[0].config.padding = 'full'; },
      (f) => `${f}: ${layer(0)}.config.padding must be one of valid, same, got "full"`],
    [(j) => { j.modelConfig.config.layers[1].config.poolSize = -2; },
      (f) => `${f}: ${layer(1)}.config.poolSize must be an integer from 1 to 4096, got -2`],
    [(j) => { j.modelConfig.config.layers[3].config.rate = 1; },
      (f) => `${f}: ${layer(3)}.config.rate must be a finite number from 0 to 1 (1 excluded), got 1`],
    [(j) => { j.modelConfig.config.layers[4].config.useBias = 'yes'; },
      (f) => `${f}: ${layer(4)}.config.useBias must be true or false, got "yes"`],
    [(j) => { j.modelConfig.config.layers[4].config.unit = 3; },
      (f) => `${f}: ${layer(4)}.config.unit is not a field of a Dense layer's config (it has name, inputShape, activityRegularizer, units, activation, useBias, kernelInitializer, biasInitializer, kernelRegularizer, biasRegularizer)`],
    [(j) => { j.modelConfig.config.layers[4].className = 'Dense3D'; },
      (f) => `${f}: ${layer(4)}.className must be one of Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout, Activation, BatchNormalization, Embedding, LayerNormalization, LSTM, got "Dense3D"`],
    [(j) => { j.modelConfig.config.layers[4].config.kernelRegularizer = { className: 'L3', config: {} }; },
      (f) => `${f}: ${layer(4)}.config.kernelRegularizer.className must be one of L1, L2, L1L2, got "L3"`],
    [(j) => { j.modelConfig.config.layers[4].config.kernelRegularizer = { className: 'L2', config: { l2: -1 } }; },
      (f) => `${f}: ${layer(4)}.config.kernelRegularizer.config.l2 must be a finite number of at least 0, got -1`],
    [(j) => { j.modelConfig.config.layers[2].config.name = 'conv2d'; },
      (f) => `${f}: ${layer(2)}.config.name "conv2d" is the name of an earlier layer too`],
    [(j) => { j.modelConfig.config.layers = []; }, (f) => `${f}: modelConfig.config.layers is empty: a model needs at least one layer`],
    [(j) => { j.modelConfig.config.layers = {}; }, (f) => `${f}: modelConfig.config.layers must be an array, got an object`],
    [(j) => { j.modelConfig.className = 'Functional'; },
      (f) => `${f}: modelConfig.className must be one of Sequential, GPT, LSTMLM, Captioner, got "Functional"`],
    [(j) => { delete j.modelConfig; }, (f) => `${f}: modelConfig must be an object, got nothing`],
    // A config whose weights the weights file cannot hold: said before allocating them (4.8 GB here).
    [(j) => { j.modelConfig.config.layers[4].config.units = 2 ** 24; },
      (f) => `${f}: modelConfig asks for more weights than its weights file holds (47 values, 0.00 GB); weight "dense/kernel" [8, 16777216] alone is 134217728 values (0.54 GB)`],
    [(j) => { j.modelConfig.config.layers[0].config.inputShape = [4, 4, 1]; },
      (f) => `${f}: optimizer slot "m/2" has 24 values, its parameter has 6`],
  ];
  for (const [edit, message] of cases) {
    const { dir, file } = copy(good, edit);
    rejects(() => loadModel(dir), message(file).replace(`${file}: optimizer`, `${dir}: optimizer`));
  }
  assert.ok(cases.length >= 30);
});

test('model.json: the format, the weights list and the training config are checked', () => {
  const cases: [(j: any) => void, (f: string) => string | RegExp][] = [
    [(j) => { j.format = 'keras'; }, (f) => `${f}: not a tsgrad checkpoint (expected "format": "tsgrad-checkpoint")`],
    [(j) => { j.formatVersion = 2; }, (f) => `${f}: formatVersion 2 is not supported (this tsgrad reads version 1)`],
    [(j) => { j.weights = 'all'; }, (f) => `${f}: weights must be an array, got "all"`],
    [(j) => { j.weights[0].shape = [3, 3, 1, 'two']; }, (f) => `${f}: weights[0].shape[3] must be an integer from 1 to 2147483647, got "two"`],
    [(j) => { j.weights[1] = j.weights[0]; }, (f) => `${f}: weights[1].name "conv2d/kernel" is listed twice`],
    [(j) => { j.weights[0].shape = [3, 3, 2, 1]; }, (f) => `${path.dirname(f)}/weights.safetensors: weight "conv2d/kernel" has shape [3, 3, 1, 2], ${f} lists [3, 3, 2, 1]`],
    [(j) => { j.weightsFile = '../../etc/passwd'; }, (f) => `${f}: weightsFile must be a file name in the checkpoint's folder, got "../../etc/passwd"`],
    [(j) => { j.trainingConfig.optimizer.className = 'Adagrad'; }, (f) => `${f}: trainingConfig.optimizer.className must be one of SGD, Adam, AdamW, RMSprop, got "Adagrad"`],
    [(j) => { j.trainingConfig.optimizer.config.learningRate = -1; }, (f) => `${f}: trainingConfig.optimizer.config.learningRate must be a finite number of at least 0, got -1`],
    [(j) => { j.trainingConfig.optimizer.config.learningRate = '0.01'; }, (f) => `${f}: trainingConfig.optimizer.config.learningRate must be a finite number of at least 0, got "0.01"`],
    [(j) => { j.trainingConfig.optimizer.config.beta1 = 1; }, (f) => `${f}: trainingConfig.optimizer.config.beta1 must be a finite number from 0 to 1 (1 excluded), got 1`],
    [(j) => { j.trainingConfig.optimizer.config.learningRate = { className: 'ExponentialDecay', config: { initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 } }; },
      (f) => `${f}: trainingConfig.optimizer.config.learningRate.config.decaySteps must be a finite number above 0, got 0`],
    [(j) => { j.trainingConfig.optimizer.config.learningRate = { className: 'PiecewiseConstantDecay', config: { boundaries: [10, 5], values: [1, 2, 3] } }; },
      (f) => `${f}: trainingConfig.optimizer.config.learningRate: piecewiseConstantDecay boundaries must increase`],
    [(j) => { j.trainingConfig.optimizer = { className: 'AdamW', config: { learningRate: 0.1, excludeFromWeightDecay: ['(bias'] } }; },
      (f) => `${f}: trainingConfig.optimizer.config.excludeFromWeightDecay[0] is not a regular expression: "(bias"`],
    [(j) => { j.trainingConfig.optimizer = { className: 'SGD', config: { learningRate: 0.1, nesterov: 'yes' } }; },
      (f) => `${f}: trainingConfig.optimizer.config.nesterov must be true or false, got "yes"`],
    [(j) => { j.trainingConfig.loss = 'hinge'; }, (f) => `${f}: trainingConfig: compile(): unknown loss "hinge" (tsgrad has sparseCategoricalCrossentropy, sparse_categorical_crossentropy, categoricalCrossentropy, categorical_crossentropy, meanSquaredError, mean_squared_error, mse, MSE)`],
    [(j) => { j.trainingConfig.metrics = [7]; }, (f) => `${f}: trainingConfig.metrics[0] must be a string, got 7`],
  ];
  for (const [edit, message] of cases) {
    const { dir, file } = copy(good, edit);
    rejects(() => loadModel(dir), message(file));
  }
});

test('weights.safetensors: optimizer slots and weights must match model.json exactly and be finite', () => {
  const cases: [(t: Record<string, StoredTensor>, m: Record<string, string>) => void, (d: string, w: string) => string][] = [
    // The Adam kernel would write past the slot's block: refused when the checkpoint is read.
    [(t) => { t['optimizer/m/0'] = { dtype: 'float32', shape: [5], data: new Float32Array(5) }; },
      (d) => `${d}: optimizer slot "m/0" has 5 values, its parameter has 18`],
    [(t) => { t['optimizer/m/9'] = { dtype: 'float32', shape: [3], data: new Float32Array(3) }; },
      (d) => `${d}: optimizer slot "m/9" is for parameter 9, but the model has 4 trainable weights`],
    [(t) => { t['optimizer/momentum/0'] = { dtype: 'float32', shape: [18], data: new Float32Array(18) }; },
      (d) => `${d}: optimizer slot "momentum/0" is not one the optimizer keeps (m/<index>, v/<index>)`],
    [(t) => { t['optimizer/v/1'] = { dtype: 'float32', shape: [1, 2], data: new Float32Array(2) }; },
      (_, w) => `${w}: optimizer slot "optimizer/v/1" must be an F32 vector`],
    [(t) => { t['optimizer/v/1'].data[0] = NaN; }, (_, w) => `${w}: optimizer slot "optimizer/v/1" holds NaN at index 0: weights must be finite numbers`],
    [(_, m) => { m.optimizer_iterations = '0x10'; }, (_, w) => `${w}: metadata optimizer_iterations must be a non-negative integer, got "0x10"`],
    [(_, m) => { delete m.optimizer_iterations; }, (_, w) => `${w}: has optimizer slots but no optimizer_iterations in its metadata`],
    [(t) => { t['dense/kernel'].data[5] = NaN; }, (_, w) => `${w}: weight "dense/kernel" holds NaN at index 5: weights must be finite numbers`],
    [(t) => { t['conv2d/bias'].data[1] = -Infinity; }, (_, w) => `${w}: weight "conv2d/bias" holds -Infinity at index 1: weights must be finite numbers`],
    [(t) => { delete t['dense/bias']; }, (_, w) => `${w}: weight "dense/bias" is missing`],
    [(t) => { t.extra = { dtype: 'float32', shape: [1], data: new Float32Array(1) }; }, (d, w) => `${w}: tensor "extra" is not a weight ${d}/model.json lists`],
    [(t) => { t['dense/bias'] = { dtype: 'int32', shape: [3], data: new Int32Array(3) }; }, (_, w) => `${w}: weight "dense/bias" must be F32`],
    [(t) => { t['dense/bias'] = { dtype: 'float32', shape: [4], data: new Float32Array(4) }; },
      (d, w) => `${w}: weight "dense/bias" has shape [4], ${d}/model.json lists [3]`],
  ];
  for (const [edit, message] of cases) {
    const { dir, weights } = copy(good);
    editWeights(weights, edit);
    rejects(() => loadModel(dir), message(dir, weights));
  }
  const { dir, weights } = copy(good);
  fs.truncateSync(weights, 300);
  rejects(() => loadModel(dir), new RegExp(`^${weights}: `));
});

test('links out of a checkpoint folder are not followed, and their bytes never quoted', () => {
  const secret = path.join(base, 'secret.txt');
  fs.writeFileSync(secret, 'TOP-SECRET-BYTES not json');
  const a = copy(good);
  fs.rmSync(a.file);
  fs.symlinkSync(secret, a.file);
  rejects(() => loadModel(a.dir), `${a.file}: is a link out of the checkpoint folder ${a.dir}; tsgrad does not follow it (copy the file in instead)`);
  const b = copy(good);
  fs.rmSync(b.weights);
  fs.symlinkSync(secret, b.weights);
  rejects(() => loadModel(b.dir), `${b.weights}: is a link out of the checkpoint folder ${b.dir}; tsgrad does not follow it (copy the file in instead)`);
  // A link inside the folder is fine.
  const c = copy(good);
  fs.renameSync(c.weights, path.join(c.dir, 'w.bin'));
  fs.symlinkSync('w.bin', c.weights);
  loadModel(c.dir);
});

const gptDir = path.join(root, 'test/fixtures/gpt-seed0');
const lstmDir = path.join(root, 'test/fixtures/lstm-seed0');

test('language-model configs: vocabulary, layers, heads dividing embd, block, dropout, tokenizer', () => {
  const g = 'modelConfig.config';
  const cases: [string, (j: any) => void, (f: string, d: string) => string][] = [
    [gptDir, (j) => { j.modelConfig.config.heads = 3; }, (f) => `${f}: ${g}.heads 3 does not divide embd 16`],
    [gptDir, (j) => { j.modelConfig.config.vocabSize = 0; }, (f) => `${f}: ${g}.vocabSize must be an integer from 1 to 16777216, got 0`],
    [gptDir, (j) => { j.modelConfig.config.block = '8'; }, (f) => `${f}: ${g}.block must be an integer from 1 to 1048576, got "8"`],
    [gptDir, (j) => { j.modelConfig.config.layers = 1e6; }, (f) => `${f}: ${g}.layers must be an integer from 1 to 1024, got 1000000`],
    [gptDir, (j) => { j.modelConfig.config.dropout = -0.1; }, (f) => `${f}: ${g}.dropout must be a finite number from 0 to 1, got -0.1`],
    [gptDir, (j) => { j.modelConfig.config.nHead = 2; }, (f) => `${f}: ${g}.nHead is not a field of a GPT config (it has vocabSize, layers, heads, embd, block, dropout)`],
    [gptDir, (j) => { j.modelConfig.config.embd = 4096; j.modelConfig.config.heads = 2; },
      (f) => `${f}: modelConfig asks for more weights than its weights file holds (6976 values, 0.00 GB); weight "transformer.h.0.attn.c_attn/kernel" [4096, 12288] alone is 50331648 values (0.20 GB)`],
    [gptDir, (j) => { j.modelConfig.config.block = 4; }, (_, d) => `${d}: weight "transformer.wpe.weight" has shape [8, 16], the model needs [4, 16]`],
    [gptDir, (j) => { j.modelConfig.tokenizer.chars.pop(); }, (_, d) => `${d}: the tokenizer has 15 tokens but the model's vocabulary is 16`],
    [gptDir, (j) => { j.modelConfig.tokenizer = 'char'; }, (f) => `${f}: modelConfig.tokenizer must be an object, got "char"`],
    [lstmDir, (j) => { j.modelConfig.config.layers = 0; }, (f) => `${f}: ${g}.layers must be an integer from 1 to 1024, got 0`],
    [lstmDir, (j) => { j.modelConfig.config.units = null; }, (f) => `${f}: ${g}.units must be an integer from 1 to 65536, got null`],
    [lstmDir, (j) => { j.modelConfig.className = 'GRULM'; }, (f) => `${f}: not a language-model checkpoint (its model is "GRULM"; tsgrad gpt reads GPT, LSTMLM)`.replace(`${f}: not`, `${path.dirname(f)}: not`)],
  ];
  for (const [from, edit, message] of cases) {
    const { dir, file } = copy(from, edit);
    rejects(() => loadLanguageModel(dir), message(file, dir));
  }
});

// ----------------------------------------------------------------------------------------------
// TF.js folders

const tfjsGood = path.join(base, 'tfjs-good');
{
  const model = sequential([L.dense({ units: 4, activation: 'relu', inputShape: [3] }), L.dense({ units: 2 })], { seed: 2 });
  model.build();
  exportTfjs(model, tfjsGood);
}
const shard = 'group1-shard1of1.bin';

test('TF.js folders: corrupt model.json fields, shards of the wrong size and NaN weights', () => {
  const layerCfg = 'modelTopology.config.layers';
  void layerCfg;
  const cases: [(j: any) => void, ((f: string) => string | RegExp)][] = [
    [(j) => { j.modelTopology.config.layers[0].config.units = 0; }, (f) => `${f}: layer "dense" (Dense): Dense units must be a positive integer, got 0`],
    [(j) => { j.weightsManifest[0].weights[0].shape = [3, 5]; }, (f) => `${f}: weight files ${shard} are truncated: they hold 104 bytes, the manifest needs 116`],
    [(j) => { j.weightsManifest[0].weights[0].dtype = 'int8'; }, (f) => `${f}: weight "dense/kernel": dtype "int8" is not supported (only float32)`],
    [(j) => { j.weightsManifest[0].paths = ['../../x.bin']; }, (f) => `${f}: weights path "../../x.bin" leads out of the model's folder`],
    [(j) => { j.modelTopology.config.layers[1].config.units = 2 ** 24; }, () => /asks for more weights than its weights manifest holds \(26 values\); weight "dense_1\/kernel" \[4, 16777216\] alone is 67108864 values$/],
    [(j) => { j.format = 'graph-model'; }, (f) => `${f}: format "graph-model" is not a LayersModel (a graph model cannot be imported)`],
  ];
  for (const [edit, message] of cases) {
    const { dir, file } = copy(tfjsGood, edit);
    let expected = message(file);
    if (typeof expected === 'string' && expected.includes('...')) expected = new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('\\.\\.\\.', '\\d+')}$`);
    rejects(() => importTfjs(dir), expected);
  }
  const truncated = copy(tfjsGood);
  fs.truncateSync(path.join(truncated.dir, shard), 40);
  rejects(() => importTfjs(truncated.dir), `${truncated.file}: weight files ${shard} are truncated: they hold 40 bytes, the manifest needs 104`);
  const nan = copy(tfjsGood);
  const bytes = fs.readFileSync(path.join(nan.dir, shard));
  bytes.writeFloatLE(NaN, 8);
  fs.writeFileSync(path.join(nan.dir, shard), bytes);
  rejects(() => importTfjs(nan.dir), `${nan.file}: weight "dense/kernel" holds NaN at index 2: weights must be finite numbers`);
  const notJson = copy(tfjsGood);
  fs.writeFileSync(notJson.file, '{"modelTopology": ');
  rejects(() => importTfjs(notJson.dir), new RegExp(`^${notJson.file}: not valid JSON \\(`));
});

// ----------------------------------------------------------------------------------------------
// The heap and the kernels refuse garbage sizes themselves, whatever a caller missed.

test('the heap and the kernel guards refuse garbage sizes before changing any state', () => {
  const heap = new Heap(512);
  const before = heap.allocBytes(100);
  for (const n of [NaN, -1, 1.5, Infinity, -Infinity, 2 ** 40, '12' as unknown as number, undefined as unknown as number]) {
    assert.throws(() => heap.allocBytes(n), TsgradError);
    assert.throws(() => heap.alloc('float32', n), TsgradError);
  }
  heap.freeBytes(NaN);
  heap.freeBytes(-64);
  heap.freeBytes(before + 1);
  // The heap is as it was: the next block follows the first, and freeing gives the space back.
  const next = heap.allocBytes(100);
  assert.equal(next, before + 128);
  assert.throws(() => heap.alloc('float32', 2 ** 30), /cannot allocate a tensor of 1073741824 elements: more than the 0.03 GiB WebAssembly heap can hold/);
  rejects(() => heap.alloc('float32', 8 * 2 ** 20 - 16384), 'out of tensor memory: a block of 31.9 MiB does not fit beside the 0.00 GiB of tensors already in the WebAssembly heap (at most 0.03 GiB)');

  const b = getBackend();
  const x = b.alloc('float32', 4) as Float32Array;
  const out = b.alloc('float32', 4) as Float32Array;
  for (const n of [NaN, -1, 0.5, 2 ** 31]) rejects(() => b.alloc('float32', n), /^cannot allocate a tensor of .* elements: the size must be a non-negative integer below 2\^31$/);
  rejects(() => b.matmul(x, x, out, { batch: 1, m: NaN, k: 2, n: 2, strideA: 0, strideB: 0 } as never), 'matmul: m must be a non-negative integer below 2^31, got NaN');
  rejects(() => b.matmul(x, x, out, { batch: 1, m: 4, k: 4, n: 4, strideA: 0, strideB: 0 } as never), 'matmul: a has 4 elements where its sizes need 16');
  rejects(() => b.binary('add', x, [2, 2], x, [NaN], out, [2, 2]), 'binary: bShape [NaN] has a dimension that is not a non-negative integer');
  rejects(() => b.adamUpdate(x, x, new Float32Array(2), x, 0.1, 0.9, 0.999, 1e-7), 'adamUpdate: m has 2 elements where w has 4');
  rejects(() => b.gather(x, 1, 4, 1, Int32Array.of(0, 9), out), 'gather: index 9 (at 1) is outside [0, 4)');
  rejects(() => b.softmax(x, out, -3, 1, 0), 'softmax: cols must be a non-negative integer below 2^31, got -3');
  rejects(() => b.copyRows(x, 0, 1, out, 0, 1, 1e9, 4, false), 'copyRows: x has 4 elements where its sizes need 1000000003');
  rejects(() => b.conv2d(x, x, out, { batch: 1, inH: 2, inW: 2, inC: 1, outH: 3, outW: 3, outC: 1, kH: 0, kW: 0, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 } as never),
    /^conv2d: the 3x3 output's windows/);
  b.free(x);
  b.free(out);
});

test('an optimizer given slots of the wrong size refuses them instead of writing past them', () => {
  const opt = adam(0.1);
  rejects(() => opt.setState({ iterations: 1, slots: { 'q/0': new Float32Array(4) } }), 'optimizer state: slot "q/0" is not one of this Adam optimizer\'s (m/<index>, v/<index>)');
  rejects(() => opt.setState({ iterations: -1, slots: {} }), 'optimizer state: iterations must be a non-negative integer, got -1');
  opt.setState({ iterations: 1, slots: { 'm/0': new Float32Array(2) } });
  const w = variable(tensor([1, 2, 3, 4]));
  w.grad = tensor([1, 1, 1, 1]);
  rejects(() => opt.step([w]), 'optimizer slot m/0 has 2 values but its parameter has 4');
});

test('layers made in code refuse zero-sized windows and unknown names', () => {
  rejects(() => L.conv2d({ filters: 2, kernelSize: 0 }), 'kernelSize must be a positive integer or a pair of them, got 0');
  rejects(() => L.maxPooling2d({ poolSize: [2, 0] }), 'poolSize must be a positive integer or a pair of them, got [2,0]');
  rejects(() => L.dense({ units: 0 }), 'Dense units must be a positive integer, got 0');
  rejects(() => L.dense({ units: 2, activation: 'gelu' as never }), 'unknown activation "gelu" (tsgrad has linear, relu, sigmoid, tanh, softmax)');
  rejects(() => L.dense({ units: 2, kernelInitializer: 'lecun' as never }), 'unknown kernelInitializer "lecun" (tsgrad has glorotUniform, glorotNormal, heUniform, heNormal, zeros, ones, randomUniform, orthogonal)');
  rejects(() => L.conv2d({ filters: 2, kernelSize: 3, padding: 'full' as never }), 'padding must be "valid" or "same", got "full"');
});

// ----------------------------------------------------------------------------------------------
// Fuzzing: random mutations of valid files end in a TsgradError or a correct load, never a hang,
// another exception or a corrupt process.

/** Every [container, key] of a JSON value, the root's children first. */
function slots(v: unknown, out: [Record<string, unknown>, string | number][] = [], depth = 0): typeof out {
  if (depth > 12 || v === null || typeof v !== 'object') return out;
  for (const k of Object.keys(v)) {
    out.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
    slots((v as Record<string, unknown>)[k], out, depth + 1);
  }
  return out;
}

const oddValue = fc.oneof(
  fc.constantFrom(0, -1, 1, 2.5, 1e9, 2 ** 31, 2 ** 53, -0, 1e308, 'x', '', 'relu', 'float32', null, true, false, [], {}, [0], [1, 1], [-1, 2]),
  fc.jsonValue({ maxDepth: 2 }),
);
const mutation = fc.record({ at: fc.nat(), kind: fc.constantFrom('replace', 'delete', 'wrap', 'double'), value: oddValue });

function mutate(json: unknown, muts: { at: number; kind: string; value: unknown }[]): unknown {
  const j = structuredClone(json);
  for (const m of muts) {
    const all = slots(j);
    if (all.length === 0) break;
    const [parent, key] = all[m.at % all.length];
    const old = parent[key as string];
    if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (m.kind === 'wrap') parent[key as string] = [old];
    else if (m.kind === 'double') parent[key as string] = typeof old === 'number' ? old * 2 + 1 : m.value;
    else parent[key as string] = m.value;
  }
  return j;
}

/** f() ends in a TsgradError of one line or returns; either way the process computes correctly after. */
function cleanOutcome(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof TsgradError)) throw e;
    assert.ok(!e.message.includes('\n'), e.message);
  }
  healthy();
}

function fuzzJson(name: string, from: string, load: (dir: string) => unknown, file = 'model.json'): void {
  test(`fuzz: mutations of a valid ${name} end in one line or a correct load (${RUNS} runs)`, () => {
    const original = JSON.parse(fs.readFileSync(path.join(from, file), 'utf8'));
    const dir = path.join(base, `fuzz-${name.replace(/\W+/g, '-')}`);
    fs.cpSync(from, dir, { recursive: true });
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
      fs.writeFileSync(path.join(dir, file), JSON.stringify(mutate(original, muts)));
      cleanOutcome(() => load(dir));
    }), { numRuns: RUNS, seed: Number(process.env.TSGRAD_FUZZ_SEED ?? 14) });
  });
}

fuzzJson('checkpoint model.json', good, (d) => loadModel(d));
fuzzJson('GPT model.json', gptDir, (d) => loadLanguageModel(d));
fuzzJson('LSTM LM model.json', lstmDir, (d) => loadLanguageModel(d));
fuzzJson('TF.js model.json', tfjsGood, (d) => importTfjs(d));

test(`fuzz: optimizer state and weights changed at random end in one line or a correct load (${RUNS} runs)`, () => {
  const dir = path.join(base, 'fuzz-state');
  fs.cpSync(good, dir, { recursive: true });
  const weights = path.join(dir, 'weights.safetensors');
  const { tensors } = loadSafetensors(path.join(good, 'weights.safetensors'));
  const names = Object.keys(tensors);
  fc.assert(fc.property(fc.nat(), fc.constantFrom('drop', 'resize', 'rename', 'poison'), fc.integer({ min: 0, max: 40 }), (pick, kind, size) => {
    const { tensors: t, metadata } = loadSafetensors(path.join(good, 'weights.safetensors'));
    const name = names[pick % names.length];
    if (kind === 'drop') delete t[name];
    else if (kind === 'resize') t[name] = { dtype: 'float32', shape: [size], data: new Float32Array(size) };
    else if (kind === 'rename') {
      t[`optimizer/${['m', 'v', 'x'][size % 3]}/${size}`] = t[name];
      delete t[name];
    } else t[name].data[size % t[name].data.length] = [NaN, Infinity, 1e30][size % 3];
    saveSafetensors(weights, t, metadata);
    cleanOutcome(() => loadModel(dir));
  }), { numRuns: RUNS * 2, seed: 14 });
});

test(`fuzz: random byte corruption of weights files ends in one line or a correct load (${RUNS} runs)`, () => {
  for (const [from, file, load] of [
    [good, 'weights.safetensors', (d: string) => loadModel(d)],
    [gptDir, 'weights.safetensors', (d: string) => loadLanguageModel(d)],
    [tfjsGood, shard, (d: string) => importTfjs(d)],
  ] as const) {
    const original = fs.readFileSync(path.join(from, file));
    const dir = path.join(base, `fuzz-bytes-${copies++}`);
    fs.cpSync(from, dir, { recursive: true });
    fc.assert(fc.property(fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }), fc.nat(), (flips, cut) => {
      const bytes = Buffer.from(original);
      // Flips land in the header half the time (where the sizes are), anywhere the rest.
      for (const f of flips) bytes[f.at % (f.at % 2 ? bytes.length : Math.min(bytes.length, 400))] = f.byte;
      fs.writeFileSync(path.join(dir, file), cut % 4 === 0 ? bytes.subarray(0, cut % bytes.length) : bytes);
      cleanOutcome(() => load(dir));
    }), { numRuns: RUNS, seed: 14 });
  }
});

// ----------------------------------------------------------------------------------------------
// The command line: one line, no stack trace, a non-zero exit and no file changed.

const bin = path.join(root, 'bin/tsgrad.js');
const built = fs.existsSync(path.join(root, 'dist'));

/** A snapshot of every file under `dir` (name -> bytes), to check that nothing changed. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile()) out.set(f, fs.readFileSync(p).toString('base64'));
  }
  return out;
}

function cli(args: string[], cwd: string, expected: RegExp): void {
  const before = snapshot(cwd);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, TSGRAD_BACKEND: undefined } });
  assert.notEqual(r.status, 0, `${args.join(' ')}: exit 0\n${r.stdout}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(' ')}: a stack trace\n${r.stderr}`);
  assert.match(r.stderr.trim(), expected);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.deepEqual(snapshot(cwd), before, `${args.join(' ')} changed a file`);
}

test('CLI: evaluate, export, import and gpt generate of corrupt model files say one line', { skip: !built && 'dist/ is not built' }, () => {
  const work = tempDir('model-files-cli');
  const bad = path.join(work, 'bad');
  fs.cpSync(copy(good, (j) => { j.modelConfig.config.layers[0].config.inputShape = ['a', 6, 1]; }).dir, bad, { recursive: true });
  const shapeMessage = /bad\/model\.json: modelConfig\.config\.layers\[0\]\.config\.inputShape\[0\] must be an integer from 1 to 67108864, got "a"$/;
  cli(['evaluate', 'bad'], work, shapeMessage);
  cli(['export', 'bad', '--format', 'tfjs', '--out', 'out-tfjs'], work, shapeMessage);
  cli(['export', 'bad', '--format', 'onnx', '--out', 'out.onnx'], work, shapeMessage);
  const nan = path.join(work, 'nan');
  fs.cpSync(good, nan, { recursive: true });
  editWeights(path.join(nan, 'weights.safetensors'), (t) => { t['dense/kernel'].data[0] = NaN; });
  cli(['evaluate', 'nan'], work, /nan\/weights\.safetensors: weight "dense\/kernel" holds NaN at index 0: weights must be finite numbers$/);
  const gpt = path.join(work, 'gpt');
  fs.cpSync(copy(gptDir, (j) => { j.modelConfig.config.heads = 5; }).dir, gpt, { recursive: true });
  cli(['gpt', 'generate', 'gpt', '--tokens', '5'], work, /gpt\/model\.json: modelConfig\.config\.heads 5 does not divide embd 16$/);
  const tf = path.join(work, 'tf');
  fs.cpSync(tfjsGood, tf, { recursive: true });
  fs.truncateSync(path.join(tf, shard), 40);
  cli(['import', 'tf', '--out', 'imported'], work, /are truncated: they hold 40 bytes, the manifest needs 104$/);
});
