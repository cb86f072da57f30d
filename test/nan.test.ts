// Numerical faults: a NaN or Inf in a loss (training or validation), a gradient or the weights
// stops training before any checkpoint of that epoch is written, with one line naming the step and
// the last good checkpoint; onNan 'skip' drops such a step's update and counts it. From code (fit,
// trainLm) and from both CLIs (`--lr 1e6`, `--on-nan skip`).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { charTokenizer } from '../src/data/tokenizer.js';
import { Gpt } from '../src/models/gpt.js';
import { dense } from '../src/nn/layers.js';
import { trainLm } from '../src/train/lm.js';
import { RunTracker } from '../src/train/runs.js';
import { sequential } from '../src/train/sequential.js';
import { rand, tempDir } from './helpers.js';
import { tensor, type Tensor } from '../src/tensor/tensor.js';

const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('nan');

function tsgrad(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function classifier(lr: number) {
  const model = sequential([dense({ units: 8, activation: 'relu', inputShape: [4] }), dense({ units: 3, activation: 'softmax' })], { seed: 1 });
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  model.optimizer!.learningRate = lr;
  return model;
}
const labels = tensor(Int32Array.from({ length: 32 }, (_, i) => i % 3), [32], 'int32');

test('fit: a diverging learning rate stops with one line naming the step, before any checkpoint', async () => {
  const dir = path.join(tempDir('nan-fit'), 'run');
  const model = classifier(1e30);
  const run = new RunTracker(dir, { monitor: 'loss', config: { model: 'test', options: {} } });
  await assert.rejects(model.fit(rand([32, 4], 3, 0, 10), labels, { epochs: 3, batchSize: 8, run }), (e: Error) => {
    assert.ok(e instanceof TsgradError, e.stack);
    assert.match(e.message, /^the (loss became (NaN|Infinity)|gradient of .* holds NaN or Inf .*) at step \d+: training stopped before writing a checkpoint \(the last good one: none was written yet\); try a smaller learning rate$/);
    return true;
  });
  assert.ok(!fs.existsSync(path.join(dir, 'checkpoints')));
  await assert.rejects(model.fit(rand([8, 4], 3), labels.slice([0], [8]), { onNan: 'maybe' as never }), /onNan must be 'stop' or 'skip', got "maybe"/);
});

test('fit: an Inf input stops the run; with onNan skip that batch is dropped and counted', async () => {
  const x = rand([32, 4], 5);
  x.dataSync()[9 * 4] = Infinity; // example 9: the second batch of 8
  const stopped = classifier(0.1);
  await assert.rejects(stopped.fit(x, labels, { epochs: 1, batchSize: 8, shuffle: false }), /^TsgradError: the (loss became NaN|gradient of .*) at step 2: /);
  const skipping = classifier(0.1);
  const before = skipping.weights.map((w) => Float32Array.from(w.value.dataSync()));
  const history = await skipping.fit(x, labels, { epochs: 2, batchSize: 8, shuffle: false, onNan: 'skip' });
  assert.deepEqual(history.history.skipped, [1, 1]);
  assert.ok(history.history.loss.every(Number.isFinite));
  assert.ok(skipping.weights.every((w) => w.value.dataSync().every(Number.isFinite)));
  assert.ok(skipping.weights.some((w, i) => !w.value.dataSync().every((v, j) => v === before[i][j])), 'the other steps trained');
});

/** A GPT whose validation (training = false) answers NaN once `poisoned` is set. */
class FlakyGpt extends Gpt {
  poisoned = false;
  override forward(idx: Tensor, training = false): Tensor {
    const logits = super.forward(idx, training);
    return training || !this.poisoned ? logits : logits.mul(tensor([NaN]));
  }
}

test('trainLm: a NaN validation loss stops before the checkpoint, and the last good checkpoint is untouched', async () => {
  const text = 'It was the best of times, it was the worst of times. '.repeat(20);
  const tok = charTokenizer(text);
  const ids = tok.encode(text);
  const model = new FlakyGpt({ vocabSize: tok.vocabSize, layers: 1, heads: 2, embd: 16, block: 16, dropout: 0 }, 0);
  const dir = path.join(tempDir('nan-lm'), 'run');
  const options = { batch: 4, steps: 9, lr: 3e-3, warmup: 1, weightDecay: 0.1, clip: 1, evalEvery: 3, evalBatches: 1, seed: 0 };
  const good = path.join(dir, 'checkpoints', 'step-0000003');
  let saved: Buffer | null = null;
  const poison = { onCheckpoint: () => { saved = fs.readFileSync(path.join(good, 'weights.safetensors')); model.poisoned = true; } };
  await assert.rejects(trainLm({ model, tokenizer: tok, train: ids, validation: ids, options, dir, callbacks: [poison] }),
    new TsgradError(`the validation loss became NaN at step 6: training stopped before writing a checkpoint (the last good one: ${good}); try a smaller learning rate`));
  assert.deepEqual(fs.readdirSync(path.join(dir, 'checkpoints')), ['step-0000003']);
  assert.ok(fs.readFileSync(path.join(good, 'weights.safetensors')).equals(saved!));
  const records = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(records.map((r) => r.step), [3], 'nothing of the failed evaluation is recorded');
});

test('the CLIs: --lr 1e6 ends with one line and exit 1, no stack, no checkpoint, and the name can be used again', () => {
  const text = path.join(work, 'tale.txt');
  fs.writeFileSync(text, 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(40));
  const gpt = ['gpt', 'train', '--text', text, '--layers', '1', '--heads', '2', '--embd', '16', '--block', '16', '--batch-size', '4', '--warmup-steps', '1',
    '--eval-batches', '1', '--steps', '6', '--eval-every', '3', '--out', 'lm'];
  const cnn = ['train', '--limit', '256', '--epochs', '2', '--out', 'cnn'];
  for (const args of [cnn, gpt]) {
    const bad = tsgrad(...args, '--lr', '1e6');
    assert.equal(bad.code, 1, bad.err);
    assert.match(bad.err, /^tsgrad: the (loss became (NaN|Infinity)|gradient of .* holds NaN or Inf .*|weights .* hold NaN or Inf|validation loss became NaN) at step \d+: training stopped before writing a checkpoint \(the last good one: none was written yet\); try a smaller learning rate\n$/);
    const run = args.at(-1)!;
    assert.ok(!fs.existsSync(path.join(work, run, 'checkpoints')) || fs.readdirSync(path.join(work, run, 'checkpoints')).length === 0);
    // No dead end: the same name starts again.
    const again = tsgrad(...args, '--json');
    assert.equal(again.code, 0, again.err);
  }
  // --on-nan skip counts what it drops in the summary (here: a learning rate that makes every step diverge still stops, once an epoch has nothing left).
  const skip = tsgrad(...cnn.slice(0, -1), 'cnn-skip', '--lr', '1e6', '--on-nan', 'skip');
  assert.equal(skip.code, 1, skip.err);
  assert.match(skip.err, /^tsgrad: (every step of epoch \d+ had a NaN or Inf loss or gradient \(\d+ skipped\)|the (weights .* hold NaN or Inf|validation .* became NaN|loss became .*)) at step \d+: /);
});
