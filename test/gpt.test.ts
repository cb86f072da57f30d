// The GPT language model, its training and generation: a tiny model learns a short text by heart;
// the KV cache gives the logits of a full recomputation; sampling follows its options and its
// seed; the warm-up and cosine schedule; checkpoints round-trip and a resumed run ends with the
// same bytes as an uninterrupted one; Keras's callbacks work on a GPT run as on fit(); a run
// written in the layout before the one trainer (checkpoint/) is still read and resumed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { charTokenizer } from '../src/data/tokenizer.js';
import { Gpt } from '../src/models/gpt.js';
import { saveModel } from '../src/io/checkpoint.js';
import { loadLanguageModel, loadModel, resumeRun } from '../src/models/load.js';
import { LstmLm } from '../src/models/lstm-lm.js';
import { cosineDecay } from '../src/optim/schedules.js';
import { noGrad } from '../src/tensor/engine.js';
import { tensor } from '../src/tensor/tensor.js';
import type { Callback } from '../src/train/callbacks.js';
import { evaluateLm, trainLm, type LmRun, type LmTrainOptions } from '../src/train/lm.js';
import { generate, generateTokens, sampleToken } from '../src/train/lm-generate.js';
import { csvLogger } from '../src/train/loggers.js';
import { earlyStopping, modelCheckpoint, reduceLROnPlateau } from '../src/train/monitors.js';
import { readRun } from '../src/train/runs.js';
import { assertClose, tempDir } from './helpers.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. ';
const tok = charTokenizer(TEXT);
const tiny = { vocabSize: tok.vocabSize, layers: 2, heads: 2, embd: 32, block: 16 };
const work = tempDir('gpt');

function options(o: Partial<LmTrainOptions> = {}): LmTrainOptions {
  return { batch: 8, steps: 20, lr: 1e-2, warmup: 5, weightDecay: 0.1, clip: 1, evalEvery: 10, evalBatches: 1, seed: 0, ...o };
}

/** A run of `model` on ids, nothing written unless given a dir. */
const lmRun = (model: LmRun['model'], ids: Int32Array, o: Partial<LmTrainOptions>, rest: Partial<LmRun> = {}): LmRun => ({
  model, tokenizer: tok, train: ids, validation: ids, source: { text: null, validationFraction: 0.1 }, dir: null, options: options(o), ...rest,
});
const lastValLoss = (r: { history: { history: Record<string, number[]> } }) => r.history.history.val_loss.at(-1)!;
/** The rate of every step, as callbacks see it. */
const rates = (into: number[]): Callback => ({ onBatchEnd: (_b, _l, s) => void into.push(s.lr) });

test('weights have GPT-2 names and shapes, and the initialisation nanoGPT uses', () => {
  const m = new Gpt({ vocabSize: 50, layers: 2, heads: 4, embd: 64, block: 32 }, 1);
  const shapes = Object.fromEntries(m.weights.map((w) => [w.name, w.value.shape.join('x')]));
  assert.equal(shapes['transformer.wte.weight'], '50x64');
  assert.equal(shapes['transformer.wpe.weight'], '32x64');
  assert.equal(shapes['transformer.h.1.attn.c_attn.weight'], '64x192');
  assert.equal(shapes['transformer.h.1.attn.c_proj.weight'], '64x64');
  assert.equal(shapes['transformer.h.0.mlp.c_fc.weight'], '64x256');
  assert.equal(shapes['transformer.h.0.mlp.c_proj.weight'], '256x64');
  assert.equal(shapes['transformer.ln_f.bias'], '64');
  assert.equal(m.weights.length, 2 + 2 * 12 + 2);
  const std = (name: string) => {
    const d = m.weights.find((w) => w.name === name)!.value.dataSync();
    return Math.sqrt(Array.from(d).reduce((s, v) => s + v * v, 0) / d.length);
  };
  assert.ok(Math.abs(std('transformer.h.0.mlp.c_fc.weight') - 0.02) < 0.002);
  assert.ok(Math.abs(std('transformer.h.0.mlp.c_proj.weight') - 0.01) < 0.001); // 0.02 / sqrt(2 * 2 layers)
  assert.equal(std('transformer.h.0.attn.c_attn.bias'), 0);
});

test('a tiny model learns a short text by heart', async () => {
  const ids = tok.encode(TEXT.repeat(8));
  const m = new Gpt(tiny, 0);
  const result = await trainLm(lmRun(m, ids, { steps: 150, lr: 1e-2, warmup: 10, weightDecay: 0, evalEvery: 150 }));
  assert.ok(lastValLoss(result) < 0.1, `loss ${lastValLoss(result)}`);
  // Greedy generation recites the text.
  const out = generate(m, tok.encode('the quick'), { tokens: 30, temperature: 0 });
  assert.equal(tok.decode(out), TEXT.repeat(2).slice(9, 39));
});

test('generation with the KV cache gives the logits of a full recomputation, past the block size too', () => {
  const m = new Gpt({ ...tiny, block: 8 }, 3);
  const ids = Int32Array.from({ length: 14 }, (_, i) => (i * 7) % tok.vocabSize);
  const cache = m.newCache(1);
  noGrad(() => {
    // A prompt of 3 tokens, then one token at a time.
    let cached = m.step(tensor(ids.slice(0, 3), [1, 3], 'int32'), cache);
    for (let t = 3; t <= ids.length; t++) {
      // The full recomputation sees the last `block` tokens, or after a refill the half block kept.
      const window = t <= 8 ? ids.slice(0, t) : ids.slice(t - (((t - 9) % 5) + 4), t);
      const full = m.forward(tensor(window, [1, window.length], 'int32'));
      const last = full.dataSync().subarray((window.length - 1) * tok.vocabSize);
      assertClose(cached.dataSync(), last, 1e-4, `position ${t}`);
      if (t < ids.length) cached = m.step(tensor(ids.slice(t, t + 1), [1, 1], 'int32'), cache);
    }
  });
});

test('sampling: greedy at temperature 0, top-k and top-p limit the candidates, the seed fixes the draw', () => {
  const logits = Float32Array.of(1, 3, 2, 0.5, -1);
  const rng = new Rng(0);
  assert.equal(sampleToken(logits, { temperature: 0 }, rng), 1);
  const draw = (o: object, n = 2000) => {
    const r = new Rng(5);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < n; i++) counts[sampleToken(logits, o, r)]++;
    return counts;
  };
  assert.deepEqual(draw({ topK: 1 }), [0, 2000, 0, 0, 0]);
  const top2 = draw({ topK: 2 });
  assert.ok(top2[1] > 0 && top2[2] > 0 && top2[0] + top2[3] + top2[4] === 0);
  // p(1) = 0.63, p(2) = 0.23: top-p 0.8 keeps exactly these two.
  const nucleus = draw({ topP: 0.8 });
  assert.ok(nucleus[1] > 0 && nucleus[2] > 0 && nucleus[0] + nucleus[3] + nucleus[4] === 0);
  assert.ok(Math.abs(nucleus[1] / 2000 - 0.63 / 0.86) < 0.04);
  // A low temperature sharpens, a high one flattens; the full distribution matches softmax.
  const cold = draw({ temperature: 0.3 }), hot = draw({ temperature: 3 });
  assert.ok(cold[1] > 1900 && hot[1] < 900);
  const plain = draw({}, 20000);
  const p = Array.from(logits, Math.exp), z = p.reduce((a, b) => a + b);
  plain.forEach((c, i) => assert.ok(Math.abs(c / 20000 - p[i] / z) < 0.015, `token ${i}`));
  assert.deepEqual(draw({ temperature: 1.2 }), draw({ temperature: 1.2 }));

  const m = new Gpt(tiny, 2);
  const a = generate(m, [1, 2], { tokens: 20, seed: 7 });
  assert.deepEqual(generate(m, [1, 2], { tokens: 20, seed: 7 }), a);
  assert.notDeepEqual(generate(m, [1, 2], { tokens: 20, seed: 8 }), a);
  const streamed: number[] = [];
  generate(m, [1, 2], { tokens: 20, seed: 7, onToken: (id) => streamed.push(id) });
  assert.deepEqual(Int32Array.from(streamed), a);
  // One token at a time, as a page draws them: the same tokens, drawn only when asked for.
  const tokens = generateTokens(m, [1, 2], { tokens: 20, seed: 7 });
  assert.deepEqual(tokens.next(), { value: a[0], done: false });
  assert.deepEqual(Int32Array.from([a[0], ...tokens]), a);
  assert.throws(() => generate(m, [1, 2], { tokens: -1 }), /tokens must be a non-negative integer, got -1/);
});

test('the learning rate warms up linearly to its peak at the last warm-up step, then falls on a cosine to a tenth', async () => {
  const seen: number[] = [];
  const ids = tok.encode(TEXT.repeat(2));
  await trainLm(lmRun(new Gpt({ ...tiny, layers: 1, embd: 8, heads: 1 }), ids, { batch: 1, lr: 1, warmup: 10, steps: 110, evalEvery: 110 }, { callbacks: [rates(seen)] }));
  assert.equal(seen[0], 0.1);
  assert.equal(seen[9], 1);
  assert.ok(Math.abs(seen[59] - 0.55) < 1e-12, `${seen[59]}`); // halfway down the cosine
  assert.ok(seen.every((r, i) => i < 10 || r <= seen[i - 1]));
  assert.ok(Math.abs(seen[109] - 0.1) < 1e-12, `${seen[109]}`);
});

test('a time budget ends the run when spent, the cosine following the time used', async () => {
  const seen: number[] = [];
  const result = await trainLm(lmRun(new Gpt({ ...tiny, layers: 1 }, 0), tok.encode(TEXT.repeat(4)),
    { steps: undefined, minutes: 0.01, warmup: 0, evalEvery: 1000 }, { callbacks: [rates(seen)] }));
  assert.ok(result.finished && result.seconds >= 0.6 && result.seconds < 5, `${result.seconds}s`);
  assert.equal(result.history.epoch.length, 1);
  assert.ok(seen.at(-1)! < 0.2 * 1e-2, `final rate ${seen.at(-1)}`);
});

test('a run keeps its folder; a resumed run ends with the bytes of an uninterrupted one; checkpoints round-trip', async () => {
  const text = 'It was the best of times, it was the worst of times.\n'.repeat(20);
  const t = charTokenizer(text);
  const ids = t.encode(text);
  const config = { vocabSize: t.vocabSize, layers: 1, heads: 2, embd: 16, block: 12, dropout: 0.1 };
  const stopAt = (step: number): Callback => {
    let model: { stopTraining: boolean };
    return { setModel: (m) => void (model = m), onBatchEnd: (_b, _l, s) => void (model.stopTraining ||= s.step >= step) };
  };
  const run = (dir: string, extra: Partial<LmRun> = {}) => trainLm({
    model: new Gpt(config, 4), tokenizer: t, train: ids.slice(0, 800), validation: ids.slice(800), source: { text: null, validationFraction: 0.1 },
    dir, options: options({ steps: 12, evalEvery: 4 }), ...extra,
  });
  const [whole, part] = [path.join(work, 'whole'), path.join(work, 'part')];
  await run(whole);
  const stopped = await run(part, { callbacks: [stopAt(6)] });
  assert.equal(stopped.step, 6);
  assert.equal(stopped.finished, false);
  // The newest checkpoint and the best (lowest val_loss) are kept, named by step.
  assert.ok(fs.readdirSync(path.join(part, 'checkpoints')).includes('step-0000006'));
  const r = resumeRun(part)!;
  assert.equal(r.state.step, 6);
  await run(part, { model: r.model as Gpt, resumed: { state: r.state, optimizer: r.optimizer! } });
  const newest = (d: string) => path.join(d, 'checkpoints', 'step-0000012');
  const bytes = (d: string) => fs.readFileSync(path.join(newest(d), 'weights.safetensors'));
  assert.ok(bytes(whole).equals(bytes(part)), 'weights or optimizer moments differ');
  const state = (d: string) => JSON.parse(fs.readFileSync(path.join(newest(d), 'state.json'), 'utf8'));
  const [a, b] = [state(whole), state(part)];
  assert.deepEqual(b.rng, a.rng);
  // The interrupted run also evaluated where it stopped (step 6).
  const records = (d: string) => fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(records(part).map((x) => x.step), [4, 6, 8, 12]);
  const losses = (d: string) => records(d).filter((x) => x.step % 4 === 0).map((x) => x.val_loss);
  assert.deepEqual(losses(part), losses(whole));

  // Saved and loaded: the same logits, the same tokenizer; a run folder reads as its best checkpoint.
  const again = loadLanguageModel(newest(whole));
  const x = tensor(ids.slice(0, 12), [1, 12], 'int32');
  assert.deepEqual(again.model.forward(x).dataSync(), (loadModel(newest(whole)) as Gpt).forward(x).dataSync());
  assert.deepEqual(again.tokenizer.toJSON(), t.toJSON());
  assert.equal(resumeRun(whole)!.state.best?.monitor, 'val_loss');
  assert.ok(loadLanguageModel(whole).model instanceof Gpt);
  const score = evaluateLm(again.model, t, ids.slice(800));
  assert.ok(score.loss > 0 && Math.abs(score.bitsPerChar - score.loss / Math.LN2) < 1e-9 && score.chars === score.tokens);
  saveModel(again.model, path.join(work, 'bare'), { tokenizer: t.toJSON() });
  assert.deepEqual(loadLanguageModel(path.join(work, 'bare')).model.forward(x).dataSync(), again.model.forward(x).dataSync());
});

test('Keras\'s callbacks work on a GPT run: an epoch is the stretch between evaluations', async () => {
  const dir = fs.mkdtempSync(path.join(work, 'callbacks-'));
  const ids = tok.encode(TEXT.repeat(4));
  // The monitored val_loss is scripted (a callback listed first overwrites it), so the epochs where they act are exact.
  const script = (values: number[]): Callback => ({ onEpochEnd: (epoch, logs) => void (logs.val_loss = values[epoch]) });
  const seen: number[] = [];
  const plateau = reduceLROnPlateau({ patience: 1, factor: 0.5 });
  const stop = earlyStopping({ patience: 2 });
  const result = await trainLm(lmRun(new Gpt({ ...tiny, layers: 1 }), ids, { steps: 40, evalEvery: 4, warmup: 0 }, {
    callbacks: [script([3, 2, 2.5, 2.4, 2.6, 1]), rates(seen), plateau, stop, csvLogger(path.join(dir, 'log.csv')),
      modelCheckpoint({ filepath: path.join(dir, 'best-{epoch}'), saveBestOnly: true })],
  }));
  assert.deepEqual(result.history.epoch, [0, 1, 2, 3]); // stopped after two epochs without improvement
  assert.equal(stop.stoppedEpoch, 3);
  assert.equal(result.finished, false);
  assert.deepEqual(result.history.history.val_loss, [3, 2, 2.5, 2.4]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['best-1', 'best-2', 'log.csv']);
  assert.ok(loadLanguageModel(path.join(dir, 'best-2')).model instanceof Gpt);
  const csv = fs.readFileSync(path.join(dir, 'log.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'epoch,loss,lr,val_loss');
  assert.equal(csv.length, 5);
  // The plateau halved the rate after epochs 2 and 3 (no better than epoch 1's): the schedule is scaled from then on.
  const schedule = cosineDecay({ initialLearningRate: 0, warmupTarget: 1e-2, warmupSteps: 0, decaySteps: 40, alpha: 0.1 });
  assert.equal(seen.length, 16);
  seen.forEach((r, i) => assertClose([r], [schedule(i + 1) * (i >= 12 ? 0.5 : 1)], 1e-15, `step ${i}`));
  assert.deepEqual(result.history.history.lr, [3, 7, 11, 15].map((i) => seen[i]));
});

test('a GPT run written before the one trainer (its checkpoint/ folder) is still read, listed and resumed', async () => {
  const run = path.join(work, 'old-run');
  const o = options({ steps: 8, evalEvery: 4 });
  const model = new Gpt({ ...tiny, layers: 1 }, 5);
  // The old layout: config.json, one checkpoint/ folder whose state.json lists its evaluations, summary.json.
  fs.mkdirSync(run);
  fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify({ model: 'gpt', options: { arch: 'gpt', ...o } }));
  saveModel(model, path.join(run, 'checkpoint'), { tokenizer: tok.toJSON(), training: { options: o, source: { text: null, validationFraction: 0.1 } } });
  const dropout = model.getRngStates().dropout;
  fs.writeFileSync(path.join(run, 'checkpoint', 'state.json'), JSON.stringify({
    step: 4, elapsed: 2.5, warmupEnd: 1, rng: { windows: new Rng(2).getState(), dropout }, finished: false,
    history: [{ step: 4, loss: 3.1, valLoss: 3.2, lr: 0.01, elapsed: 2.5 }],
  }));
  assert.ok(loadLanguageModel(run).model instanceof Gpt);
  assert.deepEqual(readRun(run), {
    name: 'old-run', model: 'gpt', epochs: 1, epochsDone: 1, steps: 4, finished: false,
    best: { epoch: 1, step: 4, monitor: 'val_loss', value: 3.2 }, final: { loss: 3.1, val_loss: 3.2, lr: 0.01 }, trainSeconds: 2.5,
  });
  const r = resumeRun(run)!;
  assert.deepEqual(r.state.history.history.val_loss, [3.2]);
  await trainLm({ ...lmRun(r.model as Gpt, tok.encode(TEXT.repeat(4)), o), dir: run, resumed: { state: r.state, optimizer: { iterations: 4, slots: {} } } });
  // Continued in the new layout; the old checkpoint is pruned as any other.
  assert.deepEqual(fs.readdirSync(path.join(run, 'checkpoints')).filter((d) => d.startsWith('step-')).at(-1), 'step-0000008');
  assert.equal(resumeRun(run)!.state.step, 8);
});

test('the LSTM baseline: stepping through its state gives the logits of the whole sequence, and it learns', async () => {
  const m = new LstmLm({ vocabSize: tok.vocabSize, embd: 16, units: 24, layers: 2, block: 16 }, 1);
  assert.deepEqual(m.weights.map((w) => `${w.name} ${w.value.shape.join('x')}`), [
    `embedding/embeddings ${tok.vocabSize}x16`, 'lstm/kernel 16x96', 'lstm/recurrent_kernel 24x96', 'lstm/bias 96',
    'lstm_1/kernel 24x96', 'lstm_1/recurrent_kernel 24x96', 'lstm_1/bias 96', `dense/kernel 24x${tok.vocabSize}`, `dense/bias ${tok.vocabSize}`,
  ]);
  const ids = tok.encode(TEXT);
  const V = tok.vocabSize;
  noGrad(() => {
    const full = m.forward(tensor(ids.slice(0, 30), [1, 30], 'int32')).dataSync();
    const cache = m.newCache(1);
    assertClose(m.step(tensor(ids.slice(0, 20), [1, 20], 'int32'), cache).dataSync(), full.subarray(19 * V, 20 * V), 1e-4);
    for (let t = 20; t < 30; t++) assertClose(m.step(tensor(ids.slice(t, t + 1), [1, 1], 'int32'), cache).dataSync(), full.subarray(t * V, (t + 1) * V), 1e-4, `step ${t}`);
  });
  const data = tok.encode(TEXT.repeat(8));
  const result = await trainLm(lmRun(m, data, { steps: 200, lr: 3e-2, warmup: 5, weightDecay: 0, evalEvery: 200 }));
  assert.ok(lastValLoss(result) < 0.3, `loss ${lastValLoss(result)}`);
  const dir = path.join(work, 'lstm');
  saveModel(m, dir, { tokenizer: tok.toJSON() });
  const loaded = loadLanguageModel(dir).model;
  assert.ok(loaded instanceof LstmLm);
  assert.deepEqual(generate(loaded, tok.encode('the'), { tokens: 10, seed: 1 }), generate(m, tok.encode('the'), { tokens: 10, seed: 1 }));
});
