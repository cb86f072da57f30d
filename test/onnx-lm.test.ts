// ONNX export of the language models checked by an independent runtime: onnxruntime runs the
// exported graph and its logits must match tsgrad's forward() within 1e-4 on 100 windows of
// held-out Brown text, in runs of several batch sizes and lengths (the axes are dynamic, time up to
// the block), for a character GPT, a BPE GPT and the LSTM language model, each trained a few steps;
// and `tsgrad export RUN --format onnx` on `gpt train` runs, with its one-line refusals.
// The CLI parts run bin/tsgrad.js, so dist/ must be built first (scripts/test.js does).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadBrown, splitText } from '../src/data/text.js';
import { charTokenizer, trainBpe, type Tokenizer } from '../src/data/tokenizer.js';
import { exportLmOnnx } from '../src/io/onnx-lm.js';
import { Gpt } from '../src/models/gpt.js';
import { loadModel } from '../src/models/load.js';
import { LstmLm } from '../src/models/lstm-lm.js';
import { noGrad } from '../src/tensor/engine.js';
import { tidy } from '../src/tensor/memory.js';
import { tensor } from '../src/tensor/tensor.js';
import { trainLm, type LanguageModel } from '../src/train/lm.js';
import { onnxSession, tempDir } from './helpers.js';

const TOL = 1e-4;
const { train, validation } = splitText(loadBrown(), 0.1);
const trainText = train.slice(0, 60_000);
const heldOut = validation.slice(0, 30_000);
const chars = charTokenizer(train + validation);

type Lm = Gpt | LstmLm;

/** A few AdamW steps on the training text, so that no weight is at its initial value. */
async function trained<M extends Lm>(model: M, tokenizer: Tokenizer, steps = 6): Promise<M> {
  const ids = tokenizer.encode(trainText);
  await trainLm({
    model, tokenizer, train: ids, validation: ids.subarray(0, 4 * model.config.block), dir: null,
    options: { batch: 8, steps, lr: 1e-2, warmup: 2, weightDecay: 0.1, clip: 1, evalEvery: steps, evalBatches: 1, seed: 0 },
  });
  return model;
}

/** tsgrad's logits (B, T, V) for ids (B, T). */
const logitsOf = (model: LanguageModel, ids: Int32Array, b: number, t: number) =>
  noGrad(() => tidy(() => model.forward(tensor(ids, [b, t], 'int32')).dataSync().slice() as Float32Array));

/** onnxruntime's logits for the exported bytes against tsgrad's, on `shapes` (batch, time) of held-out windows; returns the largest difference. */
async function agree(t: TestContext, model: Lm, bytes: Uint8Array, tokens: Int32Array, shapes: [number, number][], what: string): Promise<number> {
  const { ort, session } = await onnxSession(bytes);
  const V = model.config.vocabSize;
  let max = 0, windows = 0;
  for (const [b, time] of shapes) {
    const ids = new Int32Array(b * time);
    for (let r = 0; r < b; r++, windows++) {
      const start = (windows * 7919) % (tokens.length - time); // spread over the held-out text
      ids.set(tokens.subarray(start, start + time), r * time);
    }
    const { logits } = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [b, time]) });
    assert.deepEqual(logits.dims, [b, time, V], `${what}: logits shape`);
    const actual = logits.data as Float32Array, expected = logitsOf(model, ids, b, time);
    for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  }
  t.diagnostic(`${what}: ${windows} windows, max |onnxruntime - tsgrad| = ${max.toExponential(2)}`);
  assert.ok(max <= TOL, `${what}: max |onnxruntime - tsgrad| = ${max}`);
  return max;
}

/** 100 windows: one at time = block, then larger batches at block and at shorter lengths. */
const hundred = (block: number): [number, number][] => [[1, block], [7, 5], [32, block], [40, Math.ceil(block / 2)], [20, block - 1]];

test('a character GPT: onnxruntime gives tsgrad\'s logits on 100 held-out windows; past the block it refuses', async (t) => {
  const model = await trained(new Gpt({ vocabSize: chars.vocabSize, layers: 2, heads: 4, embd: 32, block: 32 }, 1), chars);
  const bytes = exportLmOnnx(model);
  await agree(t, model, bytes, chars.encode(heldOut), hundred(32), 'char GPT');
  const { ort, session } = await onnxSession(bytes);
  // (The runtime's own error log is quieted: the failure is the expected outcome.)
  await assert.rejects(session.run({ input_ids: new ort.Tensor('int64', new BigInt64Array(33), [1, 33]) }, { logSeverityLevel: 4 }), /indices element out of data bounds/);
});

test('a BPE GPT: the same on 100 held-out windows', async (t) => {
  const bpe = trainBpe(trainText.slice(0, 20_000), 320);
  const model = await trained(new Gpt({ vocabSize: bpe.vocabSize, layers: 2, heads: 2, embd: 32, block: 24 }, 2), bpe);
  await agree(t, model, exportLmOnnx(model), bpe.encode(heldOut), hundred(24), 'BPE GPT');
});

test('the LSTM language model (two stacked LSTMs): ONNX\'s LSTM op gives tsgrad\'s logits on 100 held-out windows', async (t) => {
  const model = await trained(new LstmLm({ vocabSize: chars.vocabSize, embd: 24, units: 32, layers: 2, block: 32 }, 3), chars);
  await agree(t, model, exportLmOnnx(model), chars.encode(heldOut), hundred(32), 'LSTM LM');
});

test('tsgrad export RUN --format onnx on gpt train runs (GPT and LSTM); one-line refusals', async (t) => {
  const work = tempDir('onnx-lm');
  const bin = path.resolve('bin/tsgrad.js');
  const tsgrad = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const text = path.join(work, 'text.txt');
  fs.writeFileSync(text, heldOut.slice(0, 8000));
  const tiny = ['--text', text, '--embd', '16', '--block', '16', '--batch-size', '4', '--warmup-steps', '1', '--eval-batches', '1', '--steps', '2', '--eval-every', '2'];
  for (const [arch, flags] of [['gpt', ['--layers', '1', '--heads', '2']], ['lstm', []]] as const) {
    const run = path.join(work, arch), out = path.join(work, `${arch}.onnx`);
    const r = tsgrad('gpt', 'train', ...tiny, ...flags, '--arch', arch, '--out', run);
    assert.equal(r.code, 0, r.err);
    const e = tsgrad('export', run, '--format', 'onnx', '--out', out);
    assert.equal(e.code, 0, e.err);
    assert.equal(e.out, `Wrote an ONNX model to ${out}\n`);
    const model = loadModel(run) as Lm;
    const tokens = Int32Array.from({ length: 2000 }, (_, i) => (i * 31 + (i >> 3)) % model.config.vocabSize);
    await agree(t, model, new Uint8Array(fs.readFileSync(out)), tokens, [[3, 16], [2, 5]], `CLI ${arch}`);

    // An existing --out without --force: one line, nothing replaced; with --force, replaced.
    const before = fs.readFileSync(out);
    fs.writeFileSync(out, 'not yet');
    const again = tsgrad('export', run, '--format', 'onnx', '--out', out);
    assert.equal(again.code, 1);
    assert.equal(again.err, `tsgrad: --out ${out} already exists: give --force to replace it\n`);
    assert.equal(fs.readFileSync(out, 'utf8'), 'not yet');
    assert.equal(tsgrad('export', run, '--format', 'onnx', '--out', out, '--force').code, 0);
    assert.ok(fs.readFileSync(out).equals(before));
  }
  // TF.js takes Sequential models only: one line, nothing written.
  const tfjs = tsgrad('export', path.join(work, 'gpt'), '--format', 'tfjs', '--out', path.join(work, 'tfjs'));
  assert.equal(tfjs.code, 1);
  assert.match(tfjs.err, /^tsgrad: .*gpt\S* holds a GPT model: TensorFlow\.js export takes Sequential models only \(export a language model with --format onnx\)\n$/);
  assert.ok(!fs.existsSync(path.join(work, 'tfjs')));
});
