// Tensor lifetimes (src/tensor/memory.ts): a user's own loop stays flat without tidy, tidy and
// keep work as TensorFlow.js's, nothing that can still be read is freed (penalties, softmax's
// logits, arrays handed out by dataSync()), and reading a freed tensor is a clear error.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  Adam, backward, fill, getBackend, Gpt, keep, layers, memory, noGrad, randomNormal, sparseCategoricalCrossentropy, regularizers, Rng, sequential, SGD, tensor, tidy, TsgradError, variable,
  type Tensor,
} from '../src/index.js';
import { internal, setYoungBudget } from '../src/tensor/memory.js';
import { gelu } from '../src/ops/transformer.js';
import { assertClose } from './helpers.js';

const heapBytes = () => (getBackend() as { heap?: { reservedBytes: number } }).heap?.reservedBytes ?? 0;

/** The loop: x.matmul(w).relu().mean(), backward, an optimizer step; no tidy, no dispose. */
function userLoop(steps: number, onStep: (step: number, loss: Tensor) => void): number[] {
  const rng = new Rng(1);
  const x = randomNormal([64, 256], rng);
  const w = variable(randomNormal([256, 256], rng, 0, 0.05));
  const opt = new SGD({ learningRate: 0.01 });
  const losses: number[] = [];
  for (let i = 1; i <= steps; i++) {
    const loss = x.matmul(w).relu().mean();
    backward(loss);
    opt.step([w]);
    losses.push(loss.item());
    onStep(i, loss);
  }
  return losses;
}

test('a hand-written training loop without tidy keeps the heap flat and its numbers right', () => {
  const previous = setYoungBudget(1 << 20); // move young storage out often
  try {
    const reserved: number[] = [];
    const kept: [Tensor, number][] = []; // losses of earlier steps, read at the end
    const losses = userLoop(400, (i, loss) => {
      if (i % 50 === 0) reserved.push(heapBytes());
      if (i % 37 === 0) kept.push([loss, loss.item()]);
    });
    assert.ok(memory().youngBytes <= 4 << 20, `young storage left in the heap: ${memory().youngBytes}`);
    assert.ok(reserved.at(-1)! <= reserved[0], `the heap grew from ${reserved[0]} to ${reserved.at(-1)} bytes`);
    for (const [t, v] of kept) assert.equal(t.item(), v); // moved out of the heap, still readable
    // The same steps inside tidy give the same numbers.
    const tidied = tidy(() => userLoop(400, () => {}));
    assert.deepEqual(losses, tidied);
  } finally {
    setYoungBudget(previous);
  }
});

test('a young tensor moved out of the heap computes the same when used again', () => {
  const previous = setYoungBudget(0);
  try {
    const a = tensor([1, 2, 3, 4]);
    const w = variable(tensor([0.5, 0.5, 0.5, 0.5]));
    for (let i = 0; i < 3; i++) backward(a.mul(w).sum()); // step boundaries: `a` moves out
    assert.deepEqual(Array.from(a.add(1).dataSync()), [2, 3, 4, 5]);
    assert.deepEqual(Array.from(w.grad!.dataSync()), [3, 6, 9, 12]);
  } finally {
    setYoungBudget(previous);
  }
});

test('tidy frees what it made, keeps what it returns (in arrays and objects) and what keep() names', () => {
  let inner: Tensor | null = null;
  let kept: Tensor | null = null;
  const out = tidy(() => {
    inner = tensor([1, 2, 3]).add(1);
    kept = keep(tensor([7]).mul(2));
    return { sum: inner.sum(), parts: [inner.mul(2)] };
  });
  assert.equal(out.sum.item(), 9);
  assert.deepEqual(Array.from(out.parts[0].dataSync()), [4, 6, 8]);
  assert.equal(kept!.item(), 14);
  assert.throws(() => inner!.dataSync(), (e: Error) => e instanceof TsgradError && /freed when the tidy\(\) that made it ended/.test(e.message));
  assert.throws(() => inner!.item(), TsgradError);
  // Nested: the inner result passes to the outer tidy, which frees it unless it returns it.
  let passed: Tensor | null = null;
  tidy(() => {
    passed = tidy(() => tensor([1]).add(1));
    assert.equal(passed.item(), 2);
  });
  assert.throws(() => passed!.item(), TsgradError);
  // A failing tidy frees what it made; an async function is refused.
  let failed: Tensor | null = null;
  assert.throws(() => tidy(() => {
    failed = tensor([1]).add(1);
    throw new Error('boom');
  }), /boom/);
  assert.throws(() => failed!.item(), TsgradError);
  assert.throws(() => tidy(async () => 1), /synchronous/);
});

test('an array from dataSync() stays valid after its tensor is collected and the heap reused', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const model = sequential([layers.dense({ units: 8, inputShape: [4] })]);
  model.build();
  const x = randomNormal([16, 4], new Rng(2));
  const d = model.predict(x).dataSync(); // the tensor itself is dropped at once
  const expected = Array.from(d);
  for (let round = 0; round < 3; round++) {
    gc();
    await new Promise((r) => setImmediate(r)); // finalizers run
    for (let i = 0; i < 50; i++) randomNormal([16, 8], new Rng(i)).add(1000);
  }
  assert.deepEqual(Array.from(d), expected);
});

/** The penalised loss by hand: dense(relu) with an activity penalty l2 * sum(h^2) / batch, then dense(softmax), cross-entropy. */
function lossByHand(model: ReturnType<typeof sequential>, x: Float32Array, y: Int32Array, batch: number, l2: number): number {
  const [k1, b1, k2, b2] = model.weights.map((w) => w.value.dataSync());
  const [nIn, nHidden, nOut] = [4, 6, 3];
  let total = 0;
  for (let i = 0; i < batch; i++) {
    const h = Array.from({ length: nHidden }, (_, j) => {
      let s = b1[j];
      for (let k = 0; k < nIn; k++) s += x[i * nIn + k] * k1[k * nHidden + j];
      return Math.max(s, 0);
    });
    const z = Array.from({ length: nOut }, (_, j) => h.reduce((s, v, k) => s + v * k2[k * nOut + j], b2[j]));
    const m = Math.max(...z);
    const logSum = Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) + m;
    total += logSum - z[y[i]] + l2 * h.reduce((s, v) => s + v * v, 0);
  }
  return total / batch;
}

test('evaluate() with an activity regularizer gives the true penalised loss', () => {
  const model = sequential([
    layers.dense({ units: 6, activation: 'relu', inputShape: [4], activityRegularizer: regularizers.l2(0.5) }),
    layers.dense({ units: 3, activation: 'softmax' }),
  ], { seed: 3 });
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  const x = randomNormal([8, 4], new Rng(4));
  const y = tensor([0, 1, 2, 0, 1, 2, 0, 1], [8], 'int32');
  const got = model.evaluate(x, y, { batchSize: 8 }).loss;
  assertClose([got], [lossByHand(model, x.dataSync() as Float32Array, y.dataSync() as Int32Array, 8, 0.5)], 1e-5);
});

test('a separate softmax activation layer keeps its logits for the loss', () => {
  const model = sequential([
    layers.dense({ units: 6, activation: 'relu', inputShape: [4] }),
    layers.dense({ units: 3 }),
    layers.activation({ activation: 'softmax' }),
  ], { seed: 5 });
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  const x = randomNormal([40, 4], new Rng(6));
  const y = tensor(Array.from({ length: 40 }, (_, i) => i % 3), [40], 'int32');
  const expected = lossByHand(model, x.dataSync() as Float32Array, y.dataSync() as Int32Array, 40, 0);
  assertClose([model.evaluate(x, y, { batchSize: 8 }).loss], [expected], 1e-5); // five batches: storage is reused between them
  // Inference in a user's tidy, then other tensors of the logits' size, then the loss from the probabilities.
  const pred = noGrad(() => tidy(() => model.call(x, false)));
  for (let i = 0; i < 20; i++) fill(pred.shape, 7);
  assertClose([sparseCategoricalCrossentropy(y, pred).item()], [expected], 1e-5);
});

test('memory() counts young storage only: weights, a GPT\'s initialisation and tidy temporaries are not young', () => {
  const before = memory().youngBytes;
  sequential([layers.dense({ units: 8, inputShape: [4] })]).build();
  new Gpt({ vocabSize: 11, layers: 1, heads: 2, embd: 8, block: 4 });
  tidy(() => {
    tensor([1, 2, 3]).add(1);
  });
  const heap = getBackend().managesMemory;
  assert.equal(memory().youngBytes, before);
  const t = tensor([1, 2, 3, 4]);
  assert.equal(memory().youngBytes, before + (heap ? 16 : 0));
  t.dataSync(); // moved out to JavaScript memory
  assert.equal(memory().youngBytes, before);
});

// With 16 filters the first layer and its pooling run fused on wasm too (conv2dMaxPool, which keeps an argmax for backward).
for (const filters of [4, 16]) test(`a hand-written loop over a Sequential conv model (its call, a loss, backward, Adam) keeps the heap flat (${filters} filters)`, () => {
  const previous = setYoungBudget(1 << 20);
  try {
    const model = sequential([
      layers.conv2d({ filters, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
      layers.maxPooling2d({}),
      layers.flatten(),
      layers.dense({ units: 3, activation: 'softmax' }),
    ], { seed: 1 });
    model.build();
    const opt = new Adam({ learningRate: 0.01 });
    const x = randomNormal([16, 8, 8, 1], new Rng(7));
    const y = tensor(Array.from({ length: 16 }, (_, i) => i % 3), [16], 'int32');
    const reserved: number[] = [];
    const losses: number[] = [];
    for (let i = 1; i <= 300; i++) {
      const loss = sparseCategoricalCrossentropy(y, model.call(x, true));
      backward(loss);
      opt.step(model.trainableWeights);
      losses.push(loss.item());
      if (i % 50 === 0) reserved.push(heapBytes());
    }
    assert.ok(reserved.at(-1)! <= reserved[0], `the heap grew from ${reserved[0]} to ${reserved.at(-1)} bytes`);
    assert.ok(memory().youngBytes <= 4 << 20, `young storage left in the heap: ${memory().youngBytes}`);
    assert.ok(losses.at(-1)! < losses[0] / 2, `it learns: ${losses[0]} -> ${losses.at(-1)}`);
  } finally {
    setYoungBudget(previous);
  }
});

test('internal(): values backward does not read are freed on return, the rest once backward has used them', () => {
  const rng = new Rng(3);
  const x = variable(randomNormal([8, 16], rng));
  const w = variable(randomNormal([16, 16], rng));
  const b = variable(randomNormal([16], rng));
  const grads = (scoped: boolean) => tidy(() => {
    let product!: Tensor, activated!: Tensor;
    const body = () => {
      product = x.matmul(w); // read by no backward rule: add's gradient needs no values
      activated = gelu(product.add(b)); // gelu's backward reads its input, the sum
      return activated.matmul(w);
    };
    const y = scoped ? internal(body) : body();
    if (scoped) {
      assert.throws(() => product.dataSync(), /freed inside the layer that made it/);
      assert.ok(activated.dataSync().length > 0, 'a value backward reads lives on');
    }
    backward(y.square().sum());
    if (scoped) assert.throws(() => activated.dataSync(), /freed by backward\(\)/);
    return [x, w, b].map((v) => { const g = v.grad!.dataSync().slice(); v.grad = null; return g; });
  });
  const [plain, scoped] = [grads(false), grads(true)];
  scoped.forEach((g, i) => assert.deepEqual(g, plain[i]));
});

test('a GPT training step holds only what backward reads, and backward frees it as it goes', () => {
  const model = new Gpt({ vocabSize: 11, layers: 2, heads: 2, embd: 16, block: 8 });
  const idx = tensor(Int32Array.from({ length: 4 * 8 }, (_, i) => i % 11), [4, 8], 'int32');
  tidy(() => {
    const base = memory().scopeBytes;
    const logits = model.forward(idx, true);
    const loss = sparseCategoricalCrossentropy(idx.reshape([-1]), logits.reshape([-1, 11]), true);
    const afterForward = memory().scopeBytes - base;
    // Per block and position, with C = 16 and 4C = 64 channels, the values backward reads: the
    // stream and each layer normalisation's input and output (5 x C), q, k and v (3C), the
    // attention's probabilities (2 heads x 8 keys), its merged output (C), the MLP's input to and
    // output of GELU (2 x 4C); then the final norm and the head. Generous by a third, far below
    // everything the forward pass makes (~19 x C + 2 x 16 + 3 x 4C per block and position).
    const perBlock = 4 * (5 * 16 + 3 * 16 + 2 * 8 + 16 + 2 * 64);
    assert.ok(afterForward < (4 / 3) * (2 * 32 * perBlock + 32 * 4 * (3 * 16 + 2 * 11)), `${afterForward} bytes held after forward`);
    backward(loss);
    const gradients = model.weights.reduce((n, w) => n + 4 * w.value.size, 0);
    const afterBackward = memory().scopeBytes - base - gradients;
    assert.ok(afterBackward < 32 * 4 * 4 * 11, `${afterBackward} bytes held after backward: the logits and their loss, not the activations`);
    for (const w of model.weights) w.value.grad = null;
  });
});
