// The guide's captioner chapter (docs/guide/11-captioner.md): numbers as words and tokens, a
// generated image of MNIST digits, a tiny captioner's shapes, a few teacher-forced training steps
// on four images, greedy decoding through the key/value cache, and the default model's size.
// Run: node --import tsx examples/captioner.ts

import { adamW, backward, CAPTION_VOCABULARY, captionDataset, Captioner, CAPTIONER_DEFAULTS, loadMnist, numberToWords, tensor } from 'tsgrad';

// A tiny captioner: the default vocabulary and image size, smaller layers.
const model = new Captioner({ ...CAPTIONER_DEFAULTS, filters: [4, 8, 16], embd: 32, heads: 2, layers: 1 }, 0);

// Number -> words -> token ids: BOS, one id per word ("forty-two" is "forty" "two"), EOS.
for (const n of [7, 42, 407, 3051]) {
  const ids = model.encodeCaption(numberToWords(n));
  console.log(`${n} -> ${JSON.stringify(numberToWords(n))} -> [${ids.join(',')}] = ${ids.map((i) => CAPTION_VOCABULARY.words[i]).join(' ')}`);
}

// Generated images of 1 to 4 MNIST test digits, 28 x 112, white ink on black in [0, 1].
const n = 4;
const data = captionDataset({ split: 'test', count: n, seed: 0, mnist: loadMnist({ split: 'test' }) });
console.log(`images ${data.shape.join('x')}; numbers ${data.numbers.join(', ')}; source digits of the first: ${data.digits[0].join(', ')}`);
// The first image, every second row and column, as text.
for (let y = 0; y < 28; y += 2) {
  console.log(Array.from({ length: 56 }, (_, x) => ' .:#'[Math.min(3, Math.floor(4 * data.images[y * 112 + 2 * x]))]).join('').trimEnd());
}

// A batch of captions as tokens (B, T): each BOS, words, EOS, then PAD to the longest.
const rows = data.captions.map((c) => model.encodeCaption(c));
const T = Math.max(...rows.map((r) => r.length));
const tokens = tensor(Int32Array.from(rows.flatMap((r) => [...r, ...Array(T - r.length).fill(CAPTION_VOCABULARY.pad)])), [n, T], 'int32');
const images = tensor(data.images, data.shape);
console.log(`tokens ${tokens.shape.join('x')}; visual features ${model.encode(images).shape.join('x')}; logits of each next token ${model.logits(images, tokens.slice([0, 0], [n, T - 1])).shape.join('x')}`);

// Teacher forcing: the decoder reads the true caption (BOS and all but the last token) and is scored
// on each next token; PAD targets count for nothing.
const optimizer = adamW({ learningRate: 0.01, weightDecay: 0.01 });
const params = model.weights.map((w) => w.value);
const losses: string[] = [];
for (let step = 1; step <= 40; step++) {
  const loss = model.loss(images, tokens); // mean nats per caption token
  backward(loss);
  if (step === 1 || step % 10 === 0) losses.push(`${step}: ${loss.item().toFixed(1)}`);
  optimizer.step(params);
}
console.log(`loss by step (ln 33 = ${Math.log(33).toFixed(2)} at random): ${losses.join(', ')}`);

// Greedy decoding: BOS in, the most likely word out, fed back in, until EOS. These are the four
// images it was trained on: it has memorised them, not learnt to read.
const written = model.generate(images);
console.log('written:', written.map((c) => c.text).join(' | '));
console.log('true:   ', data.captions.join(' | '));

// The key/value cache: one token at a time gives the logits that the whole sequence gives at once.
const full = model.logits(images, tokens.slice([0, 0], [n, 3])); // (n, 3, V), teacher-forced
const cache = model.newCache(model.encode(images));
const steps = [0, 1, 2].map((t) => model.step(tokens.slice([0, t], [n, 1]), cache)); // each (n, V)
const gap = Math.max(...steps.map((s, t) => full.slice([0, t, 0], [n, 1, 33]).reshape([n, 33]).sub(s).abs().max().item()));
console.log(`cached steps agree with the full pass: ${gap < 1e-4}`);

console.log(`tiny captioner: ${model.weights.reduce((n, w) => n + w.value.size, 0)} parameters; default: ${new Captioner(CAPTIONER_DEFAULTS).weights.reduce((n, w) => n + w.value.size, 0)}`);
