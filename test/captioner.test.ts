// The captioner model (src/models/captioner.ts): cross-attention's gradient against finite
// differences with more or fewer queries than keys; the KV-cached decoding step against a full
// recomputation; beam search with one beam is greedy decoding; a tiny captioner learns four
// images' captions by heart; the config round-trips, a checkpoint gives the same logits, and a
// bad config is one line; words in and out (predict, caption of a picture); the scoring; the
// validation digits held out of training.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { saveModel } from '../src/io/checkpoint.js';
import { CAPTIONER_FILTERS } from '../src/cli/common.js';
import { toCaptionInput } from '../src/data/ink.js';
import { CAPTION_VOCABULARY, Captioner, CAPTIONER_DEFAULTS, type CaptionerConfig } from '../src/models/captioner.js';
import { captionLoss, evaluateCaptioner, splitTrainingDigits, VALIDATION_DIGITS } from '../src/train/caption.js';
import { loadModel } from '../src/models/load.js';
import { referenceCnn } from '../src/models/zoo.js';
import { Conv2D } from '../src/nn/convolutional.js';
import { Adam } from '../src/optim/optimizer.js';
import { attention } from '../src/ops/transformer.js';
import { noGrad } from '../src/tensor/engine.js';
import { tensor, type Tensor } from '../src/tensor/tensor.js';
import { assertClose, gradCheck, rand, tempDir } from './helpers.js';

// PAD 0, BOS 1, EOS 2, words 3..
const tiny: CaptionerConfig = { vocabSize: 9, pad: 0, bos: 1, eos: 2, height: 12, width: 24, filters: [6], embd: 16, heads: 2, layers: 2, block: 6 };
const ids = (rows: number[][]): Tensor => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');
const images = (n: number, seed: number, c = tiny) => rand([n, c.height, c.width, 1], seed, 0, 1);

test('cross-attention: gradients match finite differences with more, and with fewer, queries than keys', () => {
  for (const [tq, tk] of [[5, 3], [2, 4]]) {
    gradCheck((q, k, v) => attention(q, k, v), [rand([2, 2, tq, 3], 1), rand([2, 2, tk, 3], 2), rand([2, 2, tk, 3], 3)]);
  }
  // A causal mask still needs the queries to be the last of the keys' positions.
  assert.throws(() => attention(rand([1, 1, 4, 2], 1), rand([1, 1, 3, 2], 2), rand([1, 1, 3, 2], 3), { causal: true }), TsgradError);
  // The whole decoder, cross-attention included, against finite differences of its features.
  const m = new Captioner({ ...tiny, layers: 1, embd: 8 }, 4);
  const tokens = ids([[1, 3, 4], [1, 5, 2]]);
  const decode = (m as unknown as { decode(t: Tensor, f: Tensor, training: boolean): Tensor }).decode.bind(m);
  gradCheck((f) => decode(tokens, f, false), [rand([2, 4, 8], 5)], { eps: 1e-2, tol: 2e-2 });
});

test('the KV-cached decoding step gives the logits of a full recomputation', () => {
  const m = new Captioner(tiny, 1);
  const x = images(2, 9);
  const tokens = [[1, 3, 4, 5, 6, 7], [1, 8, 2, 0, 3, 4]];
  noGrad(() => {
    const full = m.logits(x, ids(tokens)).dataSync(); // (2, 6, V)
    const cache = m.newCache(m.encode(x));
    const V = tiny.vocabSize;
    // A prompt of 2 tokens, then one at a time.
    const last = (t: number) => Float32Array.from({ length: 2 * V }, (_, i) => full[(Math.floor(i / V) * 6 + t) * V + (i % V)]);
    assertClose(m.step(ids(tokens.map((r) => r.slice(0, 2))), cache).dataSync(), last(1), 1e-4, 'prompt');
    for (let t = 2; t < 6; t++) assertClose(m.step(ids(tokens.map((r) => [r[t]])), cache).dataSync(), last(t), 1e-4, `position ${t}`);
    assert.throws(() => m.step(ids([[3], [3]]), cache), /cache holds 2 of at most 6/);
  });
});

test('beam search with one beam is greedy decoding; more beams find a caption at least as likely here', () => {
  const m = new Captioner({ ...tiny, block: 5 }, 2);
  const x = images(3, 11);
  const greedy = m.generate(x);
  assert.deepEqual(m.generate(x, { beam: 1 }), greedy);
  // Greedy by hand: the argmax of full recomputations, one token at a time.
  noGrad(() => {
    for (let b = 0; b < 3; b++) {
      const seq = [1];
      while (seq.length <= 5) {
        const l = m.logits(x.slice([b, 0, 0, 0], [1, 12, 24, 1]), ids([seq])).dataSync().subarray((seq.length - 1) * 9);
        const next = Array.from(l).indexOf(Math.max(...l));
        if (next === 2) break;
        seq.push(next);
      }
      assert.deepEqual(greedy[b].tokens, seq.slice(1), `image ${b}`);
    }
  });
  const beams = m.generate(x, { beam: 4 });
  beams.forEach((c, b) => assert.ok(c.logProb >= greedy[b].logProb - 1e-9, `image ${b}: beam ${c.logProb} < greedy ${greedy[b].logProb}`));
  const words = ['<pad>', '<bos>', '<eos>', 'one', 'two', 'three', 'four', 'five', 'six'];
  assert.equal(m.generate(x, { vocabulary: words })[0].text, greedy[0].tokens.map((t) => words[t]).join(' '));
  const tens = ['<pad>', '<bos>', '<eos>', 'forty', 'two', 'thousand', 'hundred', 'seven', 'one'];
  const fortyTwo = m.generate(x, { vocabulary: tens })[0];
  assert.equal(fortyTwo.text, fortyTwo.tokens.map((t) => tens[t]).join(' ').replace(/forty two/g, 'forty-two'));
  assert.throws(() => m.generate(x, { beam: 0 }), /beam must be a positive integer, got 0/);
  assert.throws(() => m.generate(images(1, 1, { ...tiny, width: 20 })), /^TsgradError: captioner images must be float32 \[B, 12, 24, 1\], got float32 \[1, 12, 20, 1\]$/);
});

test('a tiny captioner learns four images\' captions by heart', () => {
  const m = new Captioner({ ...tiny, layers: 1, embd: 32, filters: [8], vocabSize: 8 }, 0);
  const x = images(4, 21);
  const captions = [[3, 4], [5], [6, 7, 3], [4, 4, 5, 6]];
  const rows = captions.map((c) => [1, ...c, 2, ...new Array(4 - c.length).fill(0)]); // BOS, caption, EOS, PAD
  const tokens = ids(rows);
  const opt = new Adam({ learningRate: 0.01 });
  const vars = m.weights.filter((w) => w.trainable).map((w) => w.value);
  let loss = Infinity;
  for (let step = 0; step < 300 && loss > 0.01; step++) loss = opt.minimize(() => m.loss(x, tokens), true, vars)!.item();
  assert.ok(loss < 0.05, `loss ${loss}`);
  assert.deepEqual(m.generate(x).map((c) => c.tokens), captions);
  assert.deepEqual(m.generate(x, { beam: 3 }).map((c) => c.tokens), captions);
});

test('the config round-trips, a checkpoint gives the same logits, a bad config is one line', () => {
  const m = new Captioner({ ...tiny, dropout: 0.1 }, 5);
  const c = m.getConfig();
  assert.deepEqual(new Captioner(c, 9).getConfig(), c);
  const names = m.weights.map((w) => w.name);
  assert.ok(names.includes('encoder.conv.0.weight') && names.includes('decoder.h.1.crossattention.q_attn.weight') && names.includes('decoder.ln_f.bias'));
  assert.equal(new Set(names).size, names.length);
  const dir = path.join(tempDir('captioner'), 'ckpt');
  saveModel(m, dir);
  const back = loadModel(dir, Captioner);
  assert.deepEqual(back.getConfig(), c);
  const x = images(2, 3);
  const t = ids([[1, 3, 4], [1, 5, 6]]);
  noGrad(() => assert.deepEqual(back.logits(x, t).dataSync(), m.logits(x, t).dataSync()));
  assert.deepEqual(back.generate(x, { beam: 2 }), m.generate(x, { beam: 2 }));

  const oneLine = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: Error) => e instanceof TsgradError && !e.message.includes('\n') && pattern.test(e.message));
  oneLine(() => new Captioner({ ...tiny, heads: 3 }), /embd 16 does not split into 3 heads/);
  oneLine(() => new Captioner({ ...tiny, embd: 0 }), /embd must be a positive integer, got 0/);
  oneLine(() => new Captioner({ ...tiny, filters: [4, 0] }), /filters\[1\] must be a positive integer, got 0/);
  oneLine(() => new Captioner({ ...tiny, eos: 0 }), /three different ids/);
  oneLine(() => new Captioner({ ...tiny, filters: [4, 4, 4, 4] }), /too small for 4 poolings/);
  // From a file: the field is named.
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const [field, value, pattern] of [
    ['heads', 3, /modelConfig\.config\.heads:? 3 does not divide embd 16/],
    ['vocabSize', 0, /modelConfig\.config\.vocabSize must be an integer from 1/],
    ['filters', [], /modelConfig\.config\.filters:? must list at least one convolution/],
    ['bos', 9, /modelConfig\.config\.bos:? 9 is not below vocabSize 9/],
  ] as const) {
    fs.writeFileSync(file, JSON.stringify({ ...json, modelConfig: { ...json.modelConfig, config: { ...json.modelConfig.config, [field]: value } } }));
    oneLine(() => loadModel(dir), pattern);
  }
});

test('the encoder starts from a digit model\'s convolutions', () => {
  const cnn = referenceCnn({ seed: 3 });
  cnn.build();
  const convs = cnn.layers.filter((l): l is Conv2D => l instanceof Conv2D); // (3, 3, 1, 32), (3, 3, 32, 64), (3, 3, 64, 64)
  const m = new Captioner({ ...tiny, filters: [32, 64] }, 0);
  m.initEncoderFrom(convs.slice(0, 2));
  m.convs.forEach((c, i) => {
    assert.deepEqual(c.kernel.dataSync(), convs[i].kernel.dataSync());
    assert.deepEqual(c.bias!.dataSync(), convs[i].bias!.dataSync());
  });
  assert.throws(() => m.initEncoderFrom(convs), /has 2 convolutions, not 3/);
  assert.throws(() => new Captioner({ ...tiny, filters: [16] }).initEncoderFrom(convs.slice(0, 1)), /kernel 3x3x1x32 does not fit the encoder's 3x3x1x16/);
});

test('words: captions to ids and back, predict and caption give text, a picture is prepared first', () => {
  const m = new Captioner({ ...CAPTIONER_DEFAULTS, filters: [4], embd: 16, heads: 2, layers: 1 }, 3);
  const id = (w: string) => CAPTION_VOCABULARY.words.indexOf(w);
  assert.deepEqual(m.encodeCaption('three thousand fifty-one'), [1, id('three'), id('thousand'), id('fifty'), id('one'), 2]);
  assert.equal(m.decodeCaption([id('forty'), id('two')]), 'forty-two');
  assert.throws(() => m.encodeCaption('forty and two'), /"and" is not in the captioner's vocabulary/);
  assert.throws(() => m.encodeCaption('one two three four five six seven eight'), /has 8 words: the captioner reads at most 7 after BOS/);
  const x = rand([3, 28, 112, 1], 7, 0, 1);
  const texts = m.predict(x);
  assert.deepEqual(texts, m.generate(x).map((c) => c.text));
  assert.deepEqual(texts, m.generate(x).map((c) => m.decodeCaption(c.tokens)));
  const first = x.slice([0, 0, 0, 0], [1, 28, 112, 1]);
  for (const one of [first, first.reshape([28, 112]), first.reshape([28, 112, 1]), first.dataSync() as Float32Array]) assert.equal(m.caption(one), texts[0]);
  const picture = { width: 90, height: 40, rgba: new Uint8Array(4 * 90 * 40).map((_, i) => (i % 4 === 3 ? 255 : (i >> 2) % 90 > 30 && (i >> 2) % 90 < 40 ? 0 : 255)) };
  assert.equal(m.caption(picture, { beam: 2 }), m.predict(tensor(toCaptionInput(picture), [1, 28, 112, 1]), { beam: 2 })[0]);
  assert.throws(() => m.caption(rand([2, 28, 112, 1], 1)), /caption: one image of 28 x 112, got float32 \[2, 28, 112, 1\]: for a batch, use predict/);
  assert.throws(() => m.caption(new Float32Array(10)), /an image of 10 values is not 28 x 112/);
  // Without words a captioner gives ids only.
  const bare = new Captioner(tiny);
  assert.throws(() => bare.predict(images(1, 1)), /has no words in its config/);
  assert.equal(bare.generate(images(1, 1))[0].text, undefined);
  assert.throws(() => new Captioner({ ...tiny, words: ['a', 'b'] }), /words must list a string for each of the 9 ids, got 2/);
  // The words are part of the config: saved and loaded.
  const dir = path.join(tempDir('captioner-words'), 'ckpt');
  saveModel(m, dir);
  assert.deepEqual(loadModel(dir, Captioner).predict(x), texts);
  // The CLI's default filters are the model's (main.ts cannot import the model without loading the engine).
  assert.deepEqual([...CAPTIONER_FILTERS], CAPTIONER_DEFAULTS.filters);
});

test('scoring: exact match, digits right by edit distance, by length, and the wrong ones', () => {
  const m = new Captioner({ ...CAPTIONER_DEFAULTS, filters: [4], embd: 16, heads: 2, layers: 1 });
  const captions = ['seven', 'forty-two', 'four hundred seven', 'three thousand fifty-one', 'twelve'];
  const written = ['seven', 'forty-three', 'four hundred seventy', 'three thousand fifty-one', 'twelve twelve'];
  m.predict = (images) => written.slice(0, images.shape[0]); // one batch of 5
  const s = evaluateCaptioner(m, { images: new Float32Array(5 * 28 * 112), captions, count: 5 });
  assert.equal(s.exact, 2 / 5);
  // 42 -> 43: 1 wrong of 2; 407 -> 470: distance 2 of 3; "twelve twelve" is no number: 2 of 2 wrong.
  assert.equal(s.digits, (1 + 1 + 1 + 4 + 0) / (1 + 2 + 3 + 4 + 2));
  assert.deepEqual(s.byDigits, { 1: { exact: 1, count: 1 }, 2: { exact: 0, count: 2 }, 3: { exact: 0, count: 1 }, 4: { exact: 1, count: 1 } });
  assert.deepEqual(s.wrong.map((w) => w.index), [1, 2, 4]);
  assert.equal(s.wrong[1].predicted, 'four hundred seventy');
  // The loss per token of captions of different lengths is the same in batches of 2 as all at once.
  const data = { images: rand([5, 28, 112, 1], 3, 0, 1).dataSync() as Float32Array, captions, count: 5 };
  assertClose([captionLoss(m, data, 2)], [captionLoss(m, data)], 1e-5, 'batched loss');
  const all = noGrad(() => m.loss(rand([5, 28, 112, 1], 3, 0, 1), ids(captions.map((c) => [...m.encodeCaption(c), ...new Array(8).fill(0)].slice(0, 7))), false).item());
  assertClose([captionLoss(m, data)], [all], 1e-5, 'against the loss');
});

test('training digits and validation digits come from disjoint MNIST training images', () => {
  const count = VALIDATION_DIGITS + 200;
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const mnist = { images: new Float32Array(count * 784).map((_, i) => ((i * 7919) % 13) / 12), labels, count };
  const { train, validation } = splitTrainingDigits(mnist);
  assert.equal(train.byDigit.reduce((n, d) => n + d.length, 0), 200);
  assert.equal(validation.byDigit.reduce((n, d) => n + d.length, 0), VALIDATION_DIGITS);
  // The validation digits' pixels are the last images'.
  assert.deepEqual(validation.images.subarray(0, 784), mnist.images.subarray(200 * 784, 201 * 784));
  assert.throws(() => splitTrainingDigits({ ...mnist, count: VALIDATION_DIGITS }), /needs more than that, got 5000/);
});
