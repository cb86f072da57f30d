// The measured runs behind the guide's chapter on making the reference CNN better
// (docs/guide/08-making-it-better.md): the reference network trained on all 60,000 MNIST training
// digits, once as `npm start` trains it and once per change (more or fewer epochs, batch size, a
// learning-rate schedule, augmentation, L2, dropout, batch normalisation, a validation split with
// early stopping), with seed 0 (the reference recipe with seeds 0 and 1 too, to show the noise
// between runs), then scored on the 10,000 test digits.
// Each finished run is appended to docs/guide/data/better.jsonl, and a run already there is not
// run again, so an interrupted session continues where it stopped. About 50 epochs in all: 10-15
// minutes on 2 cores alone.
// Run: node --import tsx scripts/guide-runs.ts [--only name,name]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  augmenter, cosineDecay, earlyStopping, layers, loadMnist, referenceCnn, regularizers, sequential, tensor, train,
  type Sequential,
} from '../src/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs/guide/data/better.jsonl');

interface Experiment {
  name: string;
  /** What changed from the reference recipe (Adam 0.001, batch 32, 5 epochs, no validation). */
  change: string;
  build?: (seed: number) => Sequential;
  epochs?: number;
  batchSize?: number;
  learningRate?: (stepsPerEpoch: number, epochs: number) => number | ReturnType<typeof cosineDecay>;
  augment?: boolean;
  /** Seeds to run (default: 0). */
  seeds?: number[];
  validation?: { split: number; patience?: number };
}

const conv = (filters: number, extra: object = {}, first = false) =>
  layers.conv2d({ filters, kernelSize: 3, ...(first ? { inputShape: [28, 28, 1] } : {}), ...extra });

const EXPERIMENTS: Experiment[] = [
  { name: 'reference', change: 'none: `npm start` (5 epochs, batch 32, Adam 0.001)', seeds: [0, 1] },
  { name: 'epochs-1', change: '1 epoch', epochs: 1 },
  { name: 'early-stopping', change: 'up to 15 epochs, 10% held out, early stopping (patience 2, best weights kept)', epochs: 15, validation: { split: 0.1, patience: 2 } },
  { name: 'batch-128', change: 'batch 128', batchSize: 128 },
  { name: 'batch-128-lr-0.004', change: 'batch 128 with 4x the learning rate (0.004)', batchSize: 128, learningRate: () => 0.004 },
  { name: 'cosine', change: 'cosine decay of the learning rate from 0.001 to 0 over the 5 epochs', learningRate: (steps, epochs) => cosineDecay({ initialLearningRate: 0.001, decaySteps: steps * epochs }) },
  { name: 'augment', change: 'augmentation: rotation 10°, zoom 10%, shift 10%', augment: true },
  {
    name: 'l2', change: 'L2 penalty 0.0005 on every kernel',
    build: (seed) => sequential([
      conv(32, { activation: 'relu', kernelRegularizer: regularizers.l2(5e-4) }, true), layers.maxPooling2d({ poolSize: 2 }),
      conv(64, { activation: 'relu', kernelRegularizer: regularizers.l2(5e-4) }), layers.maxPooling2d({ poolSize: 2 }),
      conv(64, { activation: 'relu', kernelRegularizer: regularizers.l2(5e-4) }), layers.flatten(),
      layers.dense({ units: 64, activation: 'relu', kernelRegularizer: regularizers.l2(5e-4) }),
      layers.dense({ units: 10, activation: 'softmax', kernelRegularizer: regularizers.l2(5e-4) }),
    ], { seed }),
  },
  {
    name: 'dropout', change: 'dropout 0.5 after the dense layer of 64',
    build: (seed) => sequential([
      conv(32, { activation: 'relu' }, true), layers.maxPooling2d({ poolSize: 2 }),
      conv(64, { activation: 'relu' }), layers.maxPooling2d({ poolSize: 2 }),
      conv(64, { activation: 'relu' }), layers.flatten(),
      layers.dense({ units: 64, activation: 'relu' }), layers.dropout({ rate: 0.5 }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ], { seed }),
  },
  {
    name: 'batch-norm', change: 'batch normalisation after each convolution (before its ReLU)',
    build: (seed) => sequential([
      conv(32, { useBias: false }, true), layers.batchNormalization(), layers.activation({ activation: 'relu' }), layers.maxPooling2d({ poolSize: 2 }),
      conv(64, { useBias: false }), layers.batchNormalization(), layers.activation({ activation: 'relu' }), layers.maxPooling2d({ poolSize: 2 }),
      conv(64, { useBias: false }), layers.batchNormalization(), layers.activation({ activation: 'relu' }), layers.flatten(),
      layers.dense({ units: 64, activation: 'relu' }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ], { seed }),
  },
];

const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? null : (process.argv[onlyAt + 1] ?? '').split(',');
const unknown = only?.filter((name) => !EXPERIMENTS.some((e) => e.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`guide-runs: --only takes names from ${EXPERIMENTS.map((e) => e.name).join(', ')}; got ${JSON.stringify(unknown.join(','))}`);
  process.exit(2);
}
const done = new Set(fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8').trim().split('\n').filter(Boolean).map((l) => { const r = JSON.parse(l); return `${r.name}/${r.seed}`; }) : []);
const trainSet = loadMnist();
const testSet = loadMnist({ split: 'test' });
const x = tensor(trainSet.images, trainSet.shape), y = tensor(trainSet.labels, [trainSet.count], 'int32');
const testX = tensor(testSet.images, testSet.shape), testY = tensor(testSet.labels, [testSet.count], 'int32');
const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
fs.mkdirSync(path.dirname(OUT), { recursive: true });

for (const e of EXPERIMENTS.filter((e) => !only || only.includes(e.name))) {
  for (const seed of e.seeds ?? [0]) {
    if (done.has(`${e.name}/${seed}`)) continue;
    const epochs = e.epochs ?? 5, batchSize = e.batchSize ?? 32;
    const trained = Math.round(trainSet.count * (1 - (e.validation?.split ?? 0)));
    const model = e.build ? e.build(seed) : referenceCnn({ seed });
    model.compile({ optimizer: train.adam({ learningRate: e.learningRate?.(Math.ceil(trained / batchSize), epochs) ?? 0.001 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const started = Date.now();
    const history = await model.fit(x, y, {
      epochs, batchSize, verbose: 2,
      validationSplit: e.validation?.split,
      augment: e.augment ? augmenter({ rotationRange: 10, zoomRange: 0.1, widthShiftRange: 0.1, heightShiftRange: 0.1, seed }) : undefined,
      callbacks: e.validation?.patience ? [earlyStopping({ monitor: 'val_loss', patience: e.validation.patience, restoreBestWeights: true })] : [],
    });
    const seconds = (Date.now() - started) / 1000;
    const test = model.evaluate(testX, testY);
    const record = {
      name: e.name, change: e.change, seed, epochs: history.epoch.length, batchSize, params: model.countParams(),
      testAccuracy: test.accuracy, testLoss: test.loss, history: history.history, seconds, cpu, date: new Date().toISOString(),
    };
    fs.appendFileSync(OUT, JSON.stringify(record) + '\n');
    console.log(`${e.name} seed ${seed}: test accuracy ${(100 * test.accuracy!).toFixed(2)}% after ${history.epoch.length} epochs, ${seconds.toFixed(0)} s`);
  }
}
