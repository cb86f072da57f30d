// `tsgrad export --format pytorch` and `tsgrad import` of a GPT-2 folder, as a user runs them: a
// character GPT and a BPE GPT (tiny `gpt train` runs on Brown text) go out and back with identical
// weights and identical `gpt eval` figures; bad folders each give one line naming the file and
// write nothing; and, where python3-torch is installed, the folder's own model.py computes the
// held-out loss tsgrad computes (within 1e-4), takes a few AdamW steps, saves with its own writer,
// and tsgrad imports that and agrees with PyTorch's loss.
// Spawns bin/tsgrad.js, so dist/ must be built first (scripts/test.js does).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadBrown, splitText } from '../src/data/text.js';
import { loadLanguageModel } from '../src/models/load.js';
import { tempDir } from './helpers.js';

const TOL = 1e-4;
const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('pytorch-export');
const PYTHON = '/usr/bin/python3';

function tsgrad(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const at = (p: string) => path.join(work, p);

const { train, validation } = splitText(loadBrown(), 0.1);
const trainText = train.slice(0, 60_000);
const seen = new Set(trainText); // the character model's vocabulary: held-out text keeps to it
fs.writeFileSync(at('train.txt'), trainText);
fs.writeFileSync(at('held-out.txt'), [...validation.slice(0, 8_000)].filter((c) => seen.has(c)).join(''));
const tiny = ['--text', 'train.txt', '--layers', '2', '--heads', '2', '--embd', '32', '--block', '32', '--batch-size', '8',
  '--steps', '6', '--warmup-steps', '2', '--eval-every', '6', '--eval-batches', '1', '--lr', '0.01'];

function trainRun(name: string, ...extra: string[]): void {
  const r = tsgrad('gpt', 'train', ...tiny, ...extra, '--out', name);
  assert.equal(r.code, 0, r.err);
}

function evalLoss(run: string): number {
  const r = tsgrad('gpt', 'eval', run, '--text', 'held-out.txt', '--json');
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out).valLoss;
}

trainRun('char');
trainRun('bpe', '--tokenizer', 'bpe', '--vocab', '320');

test('export to a PyTorch folder and import it back: identical weights, tokenizer and gpt eval figures', () => {
  for (const [run, files] of [
    ['char', ['README.md', 'config.json', 'model.py', 'model.safetensors', 'tokenizer.tsgrad.json']],
    ['bpe', ['README.md', 'config.json', 'merges.txt', 'model.py', 'model.safetensors', 'tokenizer.json', 'tokenizer.tsgrad.json', 'vocab.json']],
  ] as const) {
    const e = tsgrad('export', run, '--format', 'pytorch', '--out', `${run}-pt`);
    assert.equal(e.code, 0, e.err);
    assert.deepEqual(fs.readdirSync(at(`${run}-pt`)).sort(), files);
    const config = JSON.parse(fs.readFileSync(at(`${run}-pt/config.json`), 'utf8'));
    assert.deepEqual([config.model_type, config.n_layer, config.n_head, config.n_embd, config.n_positions, config.activation_function, config.layer_norm_epsilon],
      ['gpt2', 2, 2, 32, 32, 'gelu_new', 1e-5]);

    const i = tsgrad('import', `${run}-pt`, '--out', `${run}-back`);
    assert.equal(i.code, 0, i.err);
    const [a, b] = [run, `${run}-back`].map((r) => loadLanguageModel(at(r)));
    assert.deepEqual(b.model.weights.map((w) => w.name), a.model.weights.map((w) => w.name));
    a.model.weights.forEach((w, k) => assert.deepEqual(b.model.weights[k].value.raw, w.value.raw, w.name));
    assert.deepEqual(b.tokenizer.toJSON(), a.tokenizer.toJSON());
    assert.equal(evalLoss(`${run}-back`), evalLoss(run));
    const g = tsgrad('gpt', 'generate', `${run}-back`, '--prompt', 'The ', '--tokens', '10', '--seed', '1');
    assert.equal(g.code, 0, g.err);
    assert.equal(g.out, tsgrad('gpt', 'generate', run, '--prompt', 'The ', '--tokens', '10', '--seed', '1').out);
  }
  // The weights are GPT-2's, by name, with nothing added (the tied head is not stored).
  const names = loadLanguageModel(at('char')).model.weights.map((w) => w.name);
  assert.ok(names.includes('transformer.h.1.attn.c_attn.weight') && names.includes('transformer.ln_f.bias'));
});

test('bad folders: one line naming the file, nothing written; the LSTM is refused', () => {
  const spoil = (name: string, from: string, file: string, edit: (text: string) => string) => {
    fs.cpSync(at(from), at(name), { recursive: true });
    fs.writeFileSync(at(`${name}/${file}`), edit(fs.readFileSync(at(`${name}/${file}`), 'utf8')));
  };
  assert.ok(fs.existsSync(at('char-pt')) && fs.existsSync(at('bpe-pt')), 'the round trip runs first');
  spoil('no-heads', 'char-pt', 'config.json', (t) => JSON.stringify({ ...JSON.parse(t), n_head: undefined }));
  spoil('wrong-shape', 'char-pt', 'config.json', (t) => JSON.stringify({ ...JSON.parse(t), n_positions: 64 }));
  spoil('bad-merges', 'bpe-pt', 'merges.txt', (t) => t.replace(/\n.*\n/, '\nzzqx qqzz\n'));
  const cases: [string, RegExp][] = [
    ['no-heads', /no-heads\/config\.json: n_head must be an integer/],
    ['wrong-shape', /wrong-shape\/model\.safetensors: tensor "transformer\.wpe\.weight" is float32 \(32, 32\)|wrong-shape\/model\.safetensors: tensor "transformer\.wpe\.weight"/],
    ['bad-merges', /bad-merges\/merges\.txt: line 2 /],
  ];
  for (const [folder, message] of cases) {
    const r = tsgrad('import', folder, '--out', `${folder}-run`);
    assert.equal(r.code, 1, folder);
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.deepEqual(fs.readdirSync(work).filter((f) => f.startsWith(`${folder}-run`)), [], folder);
  }

  const lstm = tsgrad('gpt', 'train', ...tiny, '--arch', 'lstm', '--layers', '1', '--steps', '2', '--eval-every', '2', '--out', 'lstm');
  assert.equal(lstm.code, 0, lstm.err);
  const r = tsgrad('export', 'lstm', '--format', 'pytorch', '--out', 'lstm-pt');
  assert.equal(r.code, 1);
  assert.match(r.err, /holds a LSTMLM model: PyTorch export takes the GPT only \(export the LSTM language model with --format onnx\)/);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.ok(!fs.existsSync(at('lstm-pt')));
});

const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

test('the folder\'s own model.py in PyTorch: the same held-out loss, then a few AdamW steps that import back', { skip: hasTorch ? false : 'python3-torch is not installed' }, (t) => {
  for (const run of ['char', 'bpe']) {
    if (!fs.existsSync(at(`${run}-pt`))) assert.equal(tsgrad('export', run, '--format', 'pytorch', '--out', `${run}-pt`).code, 0);
    const { tokenizer } = loadLanguageModel(at(run));
    fs.writeFileSync(at(`${run}-ids.json`), JSON.stringify({
      heldOut: [...tokenizer.encode(fs.readFileSync(at('held-out.txt'), 'utf8'))], train: [...tokenizer.encode(trainText)],
    }));
    const script = `
import importlib.util, json, shutil, sys, torch
folder, ids_file, out = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("model", folder + "/model.py")
gpt = importlib.util.module_from_spec(spec); spec.loader.exec_module(gpt)
torch.set_num_threads(1); torch.manual_seed(0)
ids = json.load(open(ids_file))
m = gpt.load(folder)
before = gpt.val_loss(m, ids["heldOut"])
opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
t, T = torch.tensor(ids["train"]), m.config["n_positions"]
m.train()
for step in range(4):
    starts = torch.randint(0, len(t) - T - 1, (8,)).tolist()
    x = torch.stack([t[s:s + T] for s in starts]); y = torch.stack([t[s + 1:s + T + 1] for s in starts])
    _, loss = m(x, y)
    opt.zero_grad(); loss.backward(); opt.step()
after = gpt.val_loss(m, ids["heldOut"])
shutil.copytree(folder, out)
gpt.save(m, out)
print(json.dumps({"before": before, "after": after}))
`;
    const py = spawnSync(PYTHON, ['-c', script, `${run}-pt`, `${run}-ids.json`, `${run}-torch`], {
      cwd: work, encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    });
    assert.equal(py.status, 0, py.stderr);
    const { before, after } = JSON.parse(py.stdout);
    const ours = evalLoss(run);
    assert.ok(Math.abs(before - ours) < TOL, `${run}: PyTorch ${before}, tsgrad ${ours}`);
    assert.ok(Math.abs(after - before) > 1e-3, `${run}: the PyTorch steps changed the loss (${before} -> ${after})`);
    const i = tsgrad('import', `${run}-torch`, '--out', `${run}-torch-run`);
    assert.equal(i.code, 0, i.err);
    const back = evalLoss(`${run}-torch-run`);
    assert.ok(Math.abs(after - back) < TOL, `${run}: PyTorch ${after} after its steps, tsgrad ${back}`);
    t.diagnostic(`${run}: held-out loss tsgrad ${ours} vs PyTorch ${before} (diff ${Math.abs(before - ours).toExponential(2)}); ` +
      `after 4 PyTorch AdamW steps PyTorch ${after} vs tsgrad ${back} (diff ${Math.abs(after - back).toExponential(2)})`);
  }
});
