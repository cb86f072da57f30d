// The language models as nn layers: the GPT is built from Embedding, LayerNormalization, Dense and
// Dropout with GPT-2's weight names and order, and both language models keep what the code before
// that change gave: seed-0 weights (names, shapes, order, values), logits in inference, the first
// dropout masks and KV-cache steps, and checkpoints. The fixtures in test/fixtures were written by
// make-lm-fixtures.ts on that code (bit-exact then on both backends; compared here with a tolerance
// so that a faster kernel with other rounding still passes).
// The two layer features the models need are tested here too: Dense.callUnits (the GPT's q, k, v)
// and Dropout's one draw per element (the masks the models' dropout stream gives).
// Not for: training, generation or the checkpoint format (gpt.test.ts, checkpoint.test.ts).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { charTokenizer } from '../src/data/tokenizer.js';
import { backward } from '../src/autograd/index.js';
import { TsgradError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { assignWeights, readCheckpoint } from '../src/io/checkpoint.js';
import { Gpt } from '../src/models/gpt.js';
import { LstmLm } from '../src/models/lstm-lm.js';
import { Dense, Dropout } from '../src/nn/core.js';
import { Embedding } from '../src/nn/embedding.js';
import { LayerNormalization } from '../src/nn/normalization.js';
import { concat } from '../src/ops/arrays.js';
import { getBackend, noGrad } from '../src/tensor/engine.js';
import { tensor } from '../src/tensor/tensor.js';
import { assertClose, rand } from './helpers.js';

test('Dense.callUnits gives those units of call(x) from the kernel\'s columns, gradients included; not for a softmax', () => {
  const d = new Dense({ units: 6, activation: 'tanh' });
  d.build([2, 3, 4], new Rng(1));
  d.bias!.raw.set(rand([6], 2).dataSync());
  const x = rand([2, 3, 4], 3), r = rand([2, 3, 6], 4);
  const full = d.call(x);
  const parts = [0, 2, 4].map((start) => d.callUnits(x, start, 2)); // each (2, 3, 2)
  assertClose(concat(parts, 2).dataSync(), full.dataSync(), 1e-6, 'outputs');
  backward(full, r);
  const expected = [d.kernel.grad!.dataSync(), d.bias!.grad!.dataSync()];
  d.kernel.grad = d.bias!.grad = null;
  backward(concat(parts, 2), r);
  assertClose(d.kernel.grad!.dataSync(), expected[0], 1e-6, 'kernel gradient');
  assertClose(d.bias!.grad!.dataSync(), expected[1], 1e-6, 'bias gradient');
  const softmax = new Dense({ units: 4, activation: 'softmax' });
  softmax.build([1, 3], new Rng(0));
  assert.throws(() => softmax.callUnits(rand([1, 3], 5), 0, 2), TsgradError);
});

test('Dropout draws one uniform per element in order: 0 where it is below the rate, x / (1 - rate) elsewhere', () => {
  const layer = new Dropout({ rate: 0.25, seed: 9 });
  layer.build([1, 50], new Rng(0));
  const x = rand([4, 50], 6);
  const y = layer.call(x, true).dataSync();
  const draws = new Rng(9);
  x.dataSync().forEach((v, i) => assert.equal(y[i], Math.fround(v * (draws.uniform() < 0.25 ? 0 : Math.fround(1 / 0.75))), `element ${i}`));
  assert.deepEqual(layer.rng.getState(), draws.getState());
});

test('the GPT is built from nn layers, whose weights are its GPT-2-named weights in GPT-2\'s order', () => {
  const m = new Gpt({ vocabSize: 50, layers: 1, heads: 2, embd: 8, block: 4, dropout: 0.1 }, 0);
  assert.deepEqual(m.weights.map((w) => w.name), [
    'transformer.wte.weight', 'transformer.wpe.weight',
    'transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.0.attn.c_attn.bias',
    'transformer.h.0.attn.c_proj.weight', 'transformer.h.0.attn.c_proj.bias', 'transformer.h.0.ln_2.weight', 'transformer.h.0.ln_2.bias',
    'transformer.h.0.mlp.c_fc.weight', 'transformer.h.0.mlp.c_fc.bias', 'transformer.h.0.mlp.c_proj.weight', 'transformer.h.0.mlp.c_proj.bias',
    'transformer.ln_f.weight', 'transformer.ln_f.bias',
  ]);
  const [b] = m.h;
  assert.ok(m.wte instanceof Embedding && m.wpe instanceof Embedding && m.lnF instanceof LayerNormalization && m.drop instanceof Dropout);
  assert.ok([b.cAttn, b.attnProj, b.cFc, b.mlpProj].every((l) => l instanceof Dense) && [b.ln1, b.ln2].every((l) => l instanceof LayerNormalization));
  assert.equal(b.ln1.getConfig().epsilon, 1e-5);
  const layerWeights = [m.wte, m.wpe, b.ln1, b.cAttn, b.attnProj, b.ln2, b.cFc, b.mlpProj, m.lnF].flatMap((l) => l.weights.map((w) => w.value));
  assert.deepEqual(m.weights.map((w) => w.value), layerWeights);
  assert.ok(m.weights.every((w) => w.value.requiresGrad && w.trainable));
  // Dropout's one stream is the model's random state: restoring it repeats the masks.
  const x = tensor(Int32Array.of(1, 2, 3, 4), [1, 4], 'int32');
  const saved = m.getRngStates();
  const first = m.forward(x, true).dataSync();
  assert.notDeepEqual(m.getRngStates(), saved);
  m.setRngStates(saved);
  assert.deepEqual(m.forward(x, true).dataSync(), first);
  assert.deepEqual(m.getConfig(), { vocabSize: 50, layers: 1, heads: 2, embd: 8, block: 4, dropout: 0.1 });
});

const fixtures = JSON.parse(fs.readFileSync(new URL('./fixtures/lm-logits.json', import.meta.url), 'utf8'));
const tok = charTokenizer(fixtures.text);
/** The two models of make-lm-fixtures.ts, with a seed (the fixtures' is 0). */
const models = {
  gpt: (seed: number) => new Gpt({ vocabSize: tok.vocabSize, layers: 2, heads: 2, embd: 16, block: 8, dropout: 0.1 }, seed),
  lstm: (seed: number) => new LstmLm({ vocabSize: tok.vocabSize, embd: 12, units: 16, layers: 2, block: 8, dropout: 0.1 }, seed),
};
const checkpointDir = (name: string) => fileURLToPath(new URL(`./fixtures/${name}-seed0`, import.meta.url));

/** What make-lm-fixtures.ts recorded: logits in inference, in training (the first dropout masks), and two KV-cache steps. */
function assertFixtureLogits(model: Gpt | LstmLm, name: keyof typeof models): void {
  const expected = fixtures[name][getBackend().name];
  assert.ok(expected, `no ${name} fixture logits for the ${getBackend().name} backend`);
  const I = Int32Array.from(fixtures.ids as number[]);
  noGrad(() => {
    assertClose(model.forward(tensor(I, [2, 8], 'int32'), false).dataSync(), expected.inference, 1e-5, `${name} inference`);
    assertClose(model.forward(tensor(I, [2, 8], 'int32'), true).dataSync(), expected.training, 1e-5, `${name} training (dropout)`);
    const cache = model.newCache(2) as never;
    const first = model.step(tensor(Int32Array.of(...I.slice(0, 5), ...I.slice(8, 13)), [2, 5], 'int32'), cache).dataSync();
    assertClose(first, expected.steps[0], 1e-5, `${name} first KV step`);
    assertClose(model.step(tensor(Int32Array.of(I[5], I[13]), [2, 1], 'int32'), cache).dataSync(), expected.steps[1], 1e-5, `${name} second KV step`);
  });
}

for (const name of ['gpt', 'lstm'] as const) {
  test(`${name}: seed 0 gives the weights (names, shapes, order, values) and logits of the code before the GPT was built from nn layers`, () => {
    const m = models[name](0);
    const old = readCheckpoint(checkpointDir(name)).weights;
    assert.deepEqual(m.weights.map((w) => `${w.name} ${w.value.shape.join('x')}`), old.map((w) => `${w.name} ${w.shape.join('x')}`));
    m.weights.forEach((w, i) => assert.deepEqual(w.value.dataSync(), old[i].data, w.name));
    assertFixtureLogits(m, name);
  });

  test(`${name}: a checkpoint written before the GPT was built from nn layers loads by name and computes the same`, () => {
    const c = readCheckpoint(checkpointDir(name));
    assert.deepEqual(c.modelConfig, { className: name === 'gpt' ? 'GPT' : 'LSTMLM', config: models[name](0).getConfig(), tokenizer: tok.toJSON() });
    const m = models[name](5); // other weights until the checkpoint's are assigned
    assignWeights(m.weights, c.weights, checkpointDir(name));
    m.setRngStates(models[name](0).getRngStates()); // dropout's stream is a run's state, not the checkpoint's
    assertFixtureLogits(m, name);
  });
}
