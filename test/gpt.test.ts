// The GPT language model, its training loop and generation: a tiny model learns a short text by
// heart; the KV cache gives the logits of a full recomputation; sampling follows its options and
// its seed; checkpoints round-trip and a resumed run ends with the same bytes as an uninterrupted one.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { charTokenizer } from '../src/data/tokenizer.js';
import { Gpt } from '../src/models/gpt.js';
import { loadLanguageModel } from '../src/models/lm.js';
import { LstmLm } from '../src/models/lstm-lm.js';
import { noGrad } from '../src/tensor/engine.js';
import { tensor } from '../src/tensor/tensor.js';
import { evaluateLm, lmLearningRate, saveLmCheckpoint, trainLm, type LmTrainOptions } from '../src/train/lm.js';
import { generate, sampleToken } from '../src/train/lm-generate.js';
import { assertClose } from './helpers.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. ';
const tok = charTokenizer(TEXT);
const tiny = { vocabSize: tok.vocabSize, layers: 2, heads: 2, embd: 32, block: 16 };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-gpt-'));

function options(o: Partial<LmTrainOptions> = {}): LmTrainOptions {
  return { batch: 8, steps: 20, lr: 1e-2, warmup: 5, weightDecay: 0.1, clip: 1, evalEvery: 10, evalBatches: 1, seed: 0, ...o };
}

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
    const d = m.weights.find((w) => w.name === name)!.value.data;
    return Math.sqrt(Array.from(d).reduce((s, v) => s + v * v, 0) / d.length);
  };
  assert.ok(Math.abs(std('transformer.h.0.mlp.c_fc.weight') - 0.02) < 0.002);
  assert.ok(Math.abs(std('transformer.h.0.mlp.c_proj.weight') - 0.01) < 0.001); // 0.02 / sqrt(2 * 2 layers)
  assert.equal(std('transformer.h.0.attn.c_attn.bias'), 0);
});

test('a tiny model learns a short text by heart', async () => {
  const ids = tok.encode(TEXT.repeat(8));
  const m = new Gpt(tiny, 0);
  const state = await trainLm({
    model: m, tokenizer: tok, train: ids, validation: ids, source: { text: null, validationFraction: 0.1 }, dir: null,
    options: options({ steps: 150, lr: 1e-2, warmup: 10, weightDecay: 0, evalEvery: 150 }),
  });
  assert.ok(state.history.at(-1)!.valLoss < 0.1, `loss ${state.history.at(-1)!.valLoss}`);
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
      const last = full.data.subarray((window.length - 1) * tok.vocabSize);
      assertClose(cached.data, last, 1e-4, `position ${t}`);
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
});

test('the learning rate warms up linearly, then falls on a cosine to a tenth', () => {
  const o = options({ lr: 1, warmup: 10, steps: 110 });
  assert.equal(lmLearningRate(o, 0, 0), 0.1);
  assert.equal(lmLearningRate(o, 9, 0), 1);
  assert.equal(lmLearningRate(o, 10, 0), 1);
  assert.ok(Math.abs(lmLearningRate(o, 60, 0.5) - 0.55) < 1e-12);
  assert.ok(Math.abs(lmLearningRate(o, 110, 1) - 0.1) < 1e-12);
});

test('a time budget ends the run when spent, the cosine following the time used', async () => {
  const ids = tok.encode(TEXT.repeat(4));
  const m = new Gpt({ ...tiny, layers: 1 }, 0);
  const state = await trainLm({
    model: m, tokenizer: tok, train: ids, validation: ids, source: { text: null, validationFraction: 0.1 }, dir: null,
    options: options({ steps: undefined, minutes: 0.01, warmup: 0, evalEvery: 1000 }),
  });
  assert.ok(state.finished && state.elapsed >= 0.6 && state.elapsed < 5, `${state.elapsed}s`);
  assert.equal(state.history.length, 1);
  assert.ok(state.history[0].lr < 0.2 * 1e-2, `final rate ${state.history[0].lr}`);
});

test('a checkpoint round-trips, and a resumed run ends with the bytes of an uninterrupted one', async () => {
  const text = 'It was the best of times, it was the worst of times.\n'.repeat(20);
  const t = charTokenizer(text);
  const ids = t.encode(text);
  const config = { vocabSize: t.vocabSize, layers: 1, heads: 2, embd: 16, block: 12, dropout: 0.1 };
  const run = (dir: string, stop?: number) => trainLm({
    model: new Gpt(config, 4), tokenizer: t, train: ids.slice(0, 800), validation: ids.slice(800), source: { text: null, validationFraction: 0.1 },
    dir, options: options({ steps: 12, evalEvery: 4 }), shouldStop: stop ? (s) => s >= stop : undefined,
  });
  const whole = path.join(work, 'whole'), part = path.join(work, 'part');
  fs.mkdirSync(whole);
  fs.mkdirSync(part);
  await run(whole);
  const stopped = await run(part, 6);
  assert.equal(stopped.step, 6);
  assert.equal(stopped.finished, false);
  const { model, checkpoint } = loadLanguageModel(part);
  assert.equal(checkpoint.state!.step, 6);
  await trainLm({
    model, tokenizer: checkpoint.tokenizer, train: ids.slice(0, 800), validation: ids.slice(800), source: checkpoint.source!,
    dir: part, options: checkpoint.options!, resumed: { state: checkpoint.state!, optimizer: checkpoint.optimizer! },
  });
  const bytes = (d: string) => fs.readFileSync(path.join(d, 'checkpoint', 'weights.safetensors'));
  assert.ok(bytes(whole).equals(bytes(part)), 'weights or optimizer moments differ');
  const state = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'checkpoint', 'state.json'), 'utf8'));
  const [a, b] = [state(whole), state(part)];
  // The interrupted run also evaluated where it stopped (step 6).
  const losses = (h: { step: number; valLoss: number }[]) => h.filter((r) => r.step % 4 === 0).map((r) => r.valLoss);
  assert.deepEqual(losses(b.history), losses(a.history));
  assert.deepEqual(b.history.map((r: { step: number }) => r.step), [4, 6, 8, 12]);
  assert.deepEqual(b.rng, a.rng);
  const metrics = fs.readFileSync(path.join(part, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(metrics, [4, 6, 8, 12]);

  // Saved and loaded: the same logits, the same tokenizer.
  const again = loadLanguageModel(path.join(whole, 'checkpoint'));
  const x = tensor(ids.slice(0, 12), [1, 12], 'int32');
  const fresh = loadLanguageModel(whole).model;
  assert.deepEqual(again.model.forward(x).data, fresh.forward(x).data);
  assert.deepEqual(again.checkpoint.tokenizer.toJSON(), t.toJSON());
  const score = evaluateLm(again.model, t, ids.slice(800));
  assert.ok(score.loss > 0 && Math.abs(score.bitsPerChar - score.loss / Math.LN2) < 1e-9 && score.chars === score.tokens);
  saveLmCheckpoint(path.join(work, 'bare'), { model: again.model, tokenizer: t });
  assert.deepEqual(loadLanguageModel(path.join(work, 'bare')).model.forward(x).data, fresh.forward(x).data);
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
    const full = m.forward(tensor(ids.slice(0, 30), [1, 30], 'int32')).data;
    const cache = m.newCache(1);
    assertClose(m.step(tensor(ids.slice(0, 20), [1, 20], 'int32'), cache).data, full.subarray(19 * V, 20 * V), 1e-4);
    for (let t = 20; t < 30; t++) assertClose(m.step(tensor(ids.slice(t, t + 1), [1, 1], 'int32'), cache).data, full.subarray(t * V, (t + 1) * V), 1e-4, `step ${t}`);
  });
  const data = tok.encode(TEXT.repeat(8));
  const state = await trainLm({
    model: m, tokenizer: tok, train: data, validation: data, source: { text: null, validationFraction: 0.1 }, dir: null,
    options: options({ steps: 200, lr: 3e-2, warmup: 5, weightDecay: 0, evalEvery: 200 }),
  });
  assert.ok(state.history.at(-1)!.valLoss < 0.3, `loss ${state.history.at(-1)!.valLoss}`);
  const dir = path.join(work, 'lstm');
  saveLmCheckpoint(dir, { model: m, tokenizer: tok });
  const loaded = loadLanguageModel(dir).model;
  assert.ok(loaded instanceof LstmLm);
  assert.deepEqual(generate(loaded, tok.encode('the'), { tokens: 10, seed: 1 }), generate(m, tok.encode('the'), { tokens: 10, seed: 1 }));
});
