// The guide's language-model chapter (docs/guide/10-language-model.md): the GPT that
// `tsgrad gpt train` trains by default, its parameters counted by part, then a tiny GPT trained
// for a few steps on a two-sentence text, and what it writes.
// Run: node --import tsx examples/tiny-gpt.ts

import { adamW, backward, charTokenizer, generate, Gpt, lmLoss, Rng, tensor } from 'tsgrad';

// The default of `tsgrad gpt train`: the Brown corpus's 85 characters, 4 blocks of 4 heads, width
// 128, a context of 128 characters.
const big = new Gpt({ vocabSize: 85, layers: 4, heads: 4, embd: 128, block: 128 });
const count = (prefix: string) => big.weights.filter((w) => w.name.startsWith(prefix)).reduce((n, w) => n + w.value.size, 0);
for (const part of ['transformer.wte.', 'transformer.wpe.', 'transformer.h.0.', 'transformer.ln_f.']) console.log(`${part.padEnd(18)} ${count(part)}`);
console.log(`parameters: ${count('')}`);

// A tiny GPT on a tiny text: 2 blocks of 2 heads, width 32, a context of 16 characters.
const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(20);
const tok = charTokenizer(text);
const ids = tok.encode(text);
const block = 16, batch = 8;
const model = new Gpt({ vocabSize: tok.vocabSize, layers: 2, heads: 2, embd: 32, block }, 0);
console.log(`tiny GPT: vocabulary ${tok.vocabSize}, ${model.weights.reduce((n, w) => n + w.value.size, 0)} parameters`);

const optimizer = adamW({ learningRate: 0.005, weightDecay: 0.1 });
const params = model.weights.map((w) => w.value);
const rng = new Rng(1);
const losses: string[] = [];
for (let step = 1; step <= 60; step++) {
  // A batch of random windows: x is 16 characters, y the same shifted by one (each next character).
  const x = new Int32Array(batch * block), y = new Int32Array(batch * block);
  for (let b = 0; b < batch; b++) {
    const start = rng.int(ids.length - block - 1);
    x.set(ids.subarray(start, start + block), b * block);
    y.set(ids.subarray(start + 1, start + block + 1), b * block);
  }
  const loss = lmLoss(model.forward(tensor(x, [batch, block], 'int32'), true), tensor(y, [batch, block], 'int32')); // nats per character
  backward(loss);
  if (step === 1 || step % 10 === 0) losses.push(`${step}: ${loss.item().toFixed(2)}`);
  optimizer.step(params);
}
console.log(`loss by step (ln ${tok.vocabSize} = ${Math.log(tok.vocabSize).toFixed(2)} at random): ${losses.join(', ')}`);

// Greedy continuation (temperature 0: the most likely character each time), through the KV cache.
const prompt = tok.encode('the d');
console.log(`greedy: ${JSON.stringify(tok.decode(prompt) + tok.decode(generate(model, prompt, { tokens: 26, temperature: 0 })))}`);
