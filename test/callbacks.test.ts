// Keras's standard callbacks in real fit() runs: the monitored quantity is scripted by a callback
// listed before them (it overwrites the epoch's val_loss), so the epochs where they act are exact
// whatever the backend computes. Also the CSV and JSON lines logs, byte for byte.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadModel } from '../src/models/load.js';
import * as L from '../src/nn/layers.js';
import { SGD } from '../src/optim/optimizer.js';
import { exponentialDecay } from '../src/optim/schedules.js';
import { tensor } from '../src/tensor/tensor.js';
import type { Callback } from '../src/train/callbacks.js';
import { csvLogger, jsonLinesLogger } from '../src/train/loggers.js';
import { earlyStopping, formatPath, learningRateScheduler, modelCheckpoint, reduceLROnPlateau } from '../src/train/monitors.js';
import { formatLogs } from '../src/train/progress.js';
import { Sequential, sequential } from '../src/train/sequential.js';
import { rand, tempDir } from './helpers.js';

const tmp = () => tempDir('callbacks');
const x = rand([8, 3], 1);
const y = tensor(new Int32Array([0, 1, 2, 0, 1, 2, 0, 1]));

function model(optimizer = new SGD({ learningRate: 0.1 })) {
  const m = sequential([L.dense({ units: 4, activation: 'relu', inputShape: [3] }), L.dense({ units: 3, activation: 'softmax' })], { seed: 3 });
  m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

/** Sets logs[key] to values[epoch] at each epoch's end. */
const script = (values: number[], key = 'val_loss'): Callback => ({ onEpochEnd: (epoch, logs) => { logs[key] = values[epoch]; } });

/** Copies of every weight at the end of each epoch. */
function snapshots(m: ReturnType<typeof model>) {
  const at: Float32Array[][] = [];
  return { at, callback: { onEpochEnd: () => { at.push(m.weights.map((w) => (w.value.dataSync() as Float32Array).slice())); } } satisfies Callback };
}

const weightsOf = (m: ReturnType<typeof model>) => m.weights.map((w) => [...w.value.dataSync()]);

test('earlyStopping stops after patience epochs without improvement and restores the best weights', async () => {
  const m = model();
  const snap = snapshots(m);
  const stop = earlyStopping({ patience: 2, restoreBestWeights: true });
  const h = await m.fit(x, y, { epochs: 10, batchSize: 4, callbacks: [script([1, 0.8, 0.9, 0.85, 0.1]), snap.callback, stop] });
  assert.deepEqual(h.epoch, [0, 1, 2, 3]);
  assert.equal(stop.stoppedEpoch, 3);
  assert.equal(stop.bestEpoch, 1);
  assert.deepEqual(weightsOf(m), snap.at[1].map((w) => [...w]));
  assert.notDeepEqual(snap.at[3].map((w) => [...w]), snap.at[1].map((w) => [...w]));
  // Without restoring, the last epoch's weights stay.
  const n = model();
  const last = snapshots(n);
  await n.fit(x, y, { epochs: 10, batchSize: 4, callbacks: [script([1, 0.8, 0.9, 0.85]), last.callback, earlyStopping({ patience: 2 })] });
  assert.deepEqual(weightsOf(n), last.at[3].map((w) => [...w]));
});

test('earlyStopping: minDelta, max mode for accuracy, and a baseline that must be beaten', async () => {
  const epochs = async (values: number[], c: Parameters<typeof earlyStopping>[0], key = 'val_loss') =>
    (await model().fit(x, y, { epochs: 10, batchSize: 8, callbacks: [script(values, key), earlyStopping(c)] })).epoch.length;
  // 0.95 is less than 0.1 better than 1: no improvement, so patience 1 stops at epoch 1.
  assert.equal(await epochs([1, 0.95, 0.5], { patience: 1, minDelta: 0.1 }), 2);
  assert.equal(await epochs([1, 0.95, 0.5, 0.6], { patience: 1 }), 4);
  // "acc" in the name: higher is better.
  assert.equal(await epochs([0.5, 0.6, 0.7, 0.65, 0.64], { monitor: 'val_accuracy', patience: 2 }, 'val_accuracy'), 5);
  assert.equal(await epochs([0.5, 0.4, 0.3], { monitor: 'val_accuracy', patience: 1 }, 'val_accuracy'), 2);
  // Equal is not better.
  assert.equal(await epochs([0.5, 0.6, 0.6, 0.6, 0.6, 0.6], { monitor: 'val_accuracy', patience: 2 }, 'val_accuracy'), 4);
  // Improvements that stay under the baseline do not restart the patience count.
  assert.equal(await epochs([0.5, 0.6, 0.55, 0.55, 0.55], { monitor: 'val_accuracy', patience: 2 }, 'val_accuracy'), 4);
  assert.equal(await epochs([0.5, 0.6, 0.55, 0.55, 0.55], { monitor: 'val_accuracy', patience: 2, baseline: 0.9 }, 'val_accuracy'), 3);
});

test('reduceLROnPlateau cuts the rate after patience epochs, waits out its cooldown and stops at minLr', async () => {
  const m = model(new SGD({ learningRate: 1 }));
  const rates: number[] = [];
  const h = await m.fit(x, y, {
    epochs: 10, batchSize: 8,
    callbacks: [
      { onEpochBegin: () => { rates.push(m.optimizer!.learningRate); } },
      script([1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5]),
      reduceLROnPlateau({ patience: 2, factor: 0.5, cooldown: 1, minLr: 0.2 }),
    ],
  });
  // Logged lr is the rate each epoch trained with, as the rates seen at its start.
  assert.deepEqual(h.history.lr, [1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2]);
  assert.deepEqual(rates, h.history.lr);
});

test('learningRateScheduler sets each epoch\'s rate from (epoch, lr) and logs it', async () => {
  const m = model(new SGD({ learningRate: 0.1 }));
  const seen: number[] = [];
  const h = await m.fit(x, y, {
    epochs: 4, batchSize: 4,
    callbacks: [learningRateScheduler((epoch, lr) => (epoch < 2 ? lr : lr / 2)), { onBatchEnd: () => { seen.push(m.optimizer!.learningRate); } }],
  });
  assert.deepEqual(h.history.lr, [0.1, 0.1, 0.05, 0.025]);
  assert.deepEqual(seen, [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
  const scheduled = model(new SGD({ learningRate: exponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 }) }));
  await assert.rejects(scheduled.fit(x, y, { callbacks: [learningRateScheduler((_, lr) => lr)] }), /schedule/);
});

test('modelCheckpoint saves every epoch, or only on improvement, under formatted names', async () => {
  const dir = tmp();
  const m = model();
  const snap = snapshots(m);
  const best = modelCheckpoint({ filepath: path.join(dir, 'best'), saveBestOnly: true });
  const named = modelCheckpoint({ filepath: path.join(dir, 'e{epoch:02d}-{val_loss:.2f}'), saveBestOnly: true });
  const every = modelCheckpoint({ filepath: path.join(dir, 'all', '{epoch}') });
  await m.fit(x, y, { epochs: 5, batchSize: 4, callbacks: [script([1, 0.9, 0.95, 0.5, 0.7]), snap.callback, best, named, every] });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['all', 'best', 'e01-1.00', 'e02-0.90', 'e04-0.50']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'all')).sort(), ['1', '2', '3', '4', '5']);
  assert.equal(best.saved.length, 3);
  assert.deepEqual(weightsOf(loadModel(path.join(dir, 'best'), Sequential)), snap.at[3].map((w) => [...w]));
  assert.deepEqual(weightsOf(loadModel(path.join(dir, 'all', '3'), Sequential)), snap.at[2].map((w) => [...w]));
  fs.rmSync(dir, { recursive: true });
  assert.equal(formatPath('{epoch:3d}|{loss}|{acc:.1f}', 6, { loss: 0.25, acc: 0.96 }), '  7|0.25|1.0');
  assert.throws(() => formatPath('{val_loss}', 0, { loss: 1 }), /not logged/);
});

test('csvLogger writes Keras\'s CSV (sorted keys, NA for missing values) and appends without a second header', () => {
  const file = path.join(tmp(), 'log.csv');
  const run = (logger: Callback, rows: Record<string, number>[]) => {
    logger.onTrainBegin!({ epochs: rows.length, steps: 1, samples: 1, validationSamples: 0 });
    rows.forEach((logs, e) => logger.onEpochEnd!(e, logs, { step: e + 1, loss: 0, lr: 0, seconds: 0, samplesPerSec: 0, eta: 0 }));
  };
  run(csvLogger(file), [{ loss: 0.5, accuracy: 0.25, val_loss: 0.75 }, { loss: 0.125, val_loss: 1e-7, accuracy: 1 }, { loss: 0.25, accuracy: 0.5 }]);
  run(csvLogger(file, { append: true }), [{ val_loss: 3, loss: 0.0625, accuracy: 0.75 }]);
  assert.equal(fs.readFileSync(file, 'utf8'),
    'epoch,accuracy,loss,val_loss\n0,0.25,0.5,0.75\n1,1,0.125,1e-7\n2,0.5,0.25,NA\n0,0.75,0.0625,3\n');
  run(csvLogger(file, { separator: ';' }), [{ loss: 2 }]);
  assert.equal(fs.readFileSync(file, 'utf8'), 'epoch;loss\n0;2\n');
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('in fit(), the CSV and JSON lines logs hold exactly the history, lr included', async () => {
  const dir = tmp();
  const [csv, jsonl] = [path.join(dir, 'log.csv'), path.join(dir, 'log.jsonl')];
  const m = model();
  const h = await m.fit(x, y, {
    epochs: 3, batchSize: 4, validationData: [x, y],
    callbacks: [learningRateScheduler((epoch) => 0.1 / (epoch + 1)), csvLogger(csv), jsonLinesLogger(jsonl)],
  });
  const keys = ['accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss'];
  assert.deepEqual(Object.keys(h.history).sort(), keys);
  const expectedCsv = ['epoch,' + keys.join(','), ...h.epoch.map((e) => [e, ...keys.map((k) => h.history[k][e])].join(','))].join('\n') + '\n';
  assert.equal(fs.readFileSync(csv, 'utf8'), expectedCsv);
  const lines = fs.readFileSync(jsonl, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, h.epoch.map((e) => ({ epoch: e, ...Object.fromEntries(Object.keys(h.history).map((k) => [k, h.history[k][e]])) })));
  fs.rmSync(dir, { recursive: true });
});

test('the progress line shows small values such as learning rates in Keras\'s exponent form', () => {
  assert.equal(formatLogs({ loss: 0.12345, lr: 1e-4, accuracy: 0 }), ' - loss: 0.1235 - lr: 1.0000e-04 - accuracy: 0.0000');
});
