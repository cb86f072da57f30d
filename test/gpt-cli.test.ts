// `tsgrad gpt` as a user runs it: a tiny train / generate / eval round on a small text file, --json,
// --resume (by folder, or by name under --runs), the old flag spellings, and one clear line with
// exit code 1 for each kind of bad input.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { charTokenizer } from '../src/data/tokenizer.js';
import { Gpt } from '../src/models/gpt.js';
import { trainLm } from '../src/train/lm.js';
import { tempDir } from './helpers.js';

const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('gpt-cli');

function tsgrad(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'gpt', ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const textFile = path.join(work, 'tale.txt');
fs.writeFileSync(textFile, 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(40));
const tiny = ['--text', textFile, '--layers', '1', '--heads', '2', '--embd', '16', '--block', '16', '--batch-size', '4', '--warmup-steps', '2', '--eval-batches', '1'];

test('train, then generate and eval from the run', () => {
  const r = tsgrad('train', ...tiny, '--steps', '6', '--eval-every', '3', '--out', 'run', '--json');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.filter((l) => l.event === 'eval').map((l) => l.step), [3, 6]);
  // Every evaluation says how much memory the process holds.
  for (const l of lines.filter((l) => l.event === 'eval')) assert.ok(Number.isInteger(l.rssMiB) && l.rssMiB > 10 && l.rssMiB < 4096, JSON.stringify(l));
  const done = lines.at(-1);
  assert.equal(done.event, 'done');
  assert.ok(done.valLoss > 0 && typeof done.sample === 'string' && done.sample.length > 0);
  // The layout of every run: the newest checkpoint (step 6) and the best are kept.
  for (const f of ['config.json', 'metrics.jsonl', 'summary.json', ...['model.json', 'weights.safetensors', 'state.json'].map((f) => `checkpoints/step-0000006/${f}`)]) {
    assert.ok(fs.existsSync(path.join(work, 'run', f)), f);
  }

  const g = tsgrad('generate', 'run', '--prompt', 'It was', '--tokens', '20', '--seed', '3');
  assert.equal(g.code, 0, g.err);
  assert.ok(g.out.startsWith('It was') && g.out.length === 'It was'.length + 20 + 1, JSON.stringify(g.out));
  assert.equal(tsgrad('generate', 'run/checkpoints/step-0000006', '--prompt', 'It was', '--tokens', '20', '--seed', '3').out, g.out);
  const greedy = tsgrad('generate', 'run', '--tokens', '10', '--temperature', '0', '--top-k', '5', '--top-p', '0.5');
  assert.equal(greedy.code, 0, greedy.err);

  const e = tsgrad('eval', 'run');
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /^Validation loss: \d+\.\d{4} nats\/token - perplexity: \d+\.\d\d - bits per character: \d+\.\d{4} \(the validation text of .*tale\.txt: [\d,]+ tokens, [\d,]+ characters\)\n$/);
  const j = JSON.parse(tsgrad('eval', 'run', '--json').out);
  assert.ok(Math.abs(j.perplexity - Math.exp(j.valLoss)) < 1e-9 && j.tokens === j.chars);
});

test('text progress, a BPE tokenizer, and --resume to the same bytes', () => {
  const r = tsgrad('train', ...tiny, '--tokenizer', 'bpe', '--vocab', '300', '--steps', '4', '--eval-every', '2', '--out', 'bpe');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /bpe tokenizer \(2\d\d tokens\)/); // the merges run out before 300 on this text
  assert.match(r.out, /^step 2 - \d+s - loss: \d\.\d{4} - val_loss: \d\.\d{4} - lr: .* tok\/s$/m);
  assert.match(r.out, /Sample \(temperature 0\.8\):/);

  const whole = tsgrad('train', ...tiny, '--steps', '6', '--eval-every', '2', '--dropout', '0.1', '--out', 'whole', '--json');
  assert.equal(whole.code, 0, whole.err);
  const part = tsgrad('train', ...tiny, '--steps', '6', '--eval-every', '2', '--dropout', '0.1', '--out', 'part', '--stop-after', '3', '--json');
  assert.equal(part.code, 0, part.err);
  assert.deepEqual(JSON.parse(part.out.trim().split('\n').at(-1)!), { event: 'stopped', step: 3, run: 'part' });
  const bad = tsgrad('train', '--resume', 'part', '--lr', '0.1');
  assert.equal(bad.code, 1);
  assert.equal(bad.err, 'tsgrad: --resume continues a run with its own settings; only --steps or --minutes may change (got --lr)\n');
  const resumed = tsgrad('train', '--resume', 'part', '--json');
  assert.equal(resumed.code, 0, resumed.err);
  const bytes = (run: string) => fs.readFileSync(path.join(work, run, 'checkpoints', 'step-0000006', 'weights.safetensors'));
  assert.ok(bytes('whole').equals(bytes('part')));
});

test('old spellings (--batch, --warmup, --clip) give the same run as the new ones', () => {
  const settings = [['--batch-size', '4', '--warmup-steps', '1', '--global-clipnorm', '0.5'], ['--batch', '4', '--warmup', '1', '--clip', '0.5']];
  const [a, b] = settings.map((flags, i) => {
    const out = `spelled-${i}`;
    const r = tsgrad('train', ...tiny, ...flags, '--steps', '2', '--eval-every', '2', '--out', out, '--json');
    assert.equal(r.code, 0, r.err);
    return out;
  });
  const options = (run: string) => JSON.parse(fs.readFileSync(path.join(work, run, 'config.json'), 'utf8')).options;
  assert.deepEqual(options(a), options(b));
  assert.deepEqual([options(a).batch, options(a).warmup, options(a).clip], [4, 1, 0.5]);
  const bytes = (run: string) => fs.readFileSync(path.join(work, run, 'checkpoints', 'step-0000002', 'weights.safetensors'));
  assert.ok(bytes(a).equals(bytes(b)));
  assert.equal(tsgrad('eval', a, '--batch', '2', '--json').out, tsgrad('eval', a, '--batch-size', '2', '--json').out);
});

test('--name under --runs, and --resume NAME, generate NAME and eval NAME find the run there', () => {
  const r = tsgrad('train', ...tiny, '--steps', '4', '--eval-every', '2', '--runs', 'lm-runs', '--name', 'story', '--log-every', '1', '--stop-after', '2', '--json');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out.trim().split('\n').at(-1)!), { event: 'stopped', step: 2, run: path.join('lm-runs', 'story') });
  const resumed = tsgrad('train', '--resume', 'story', '--runs', 'lm-runs', '--json');
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(JSON.parse(resumed.out.trim().split('\n').at(-1)!).step, 4);
  const g = tsgrad('generate', 'story', '--runs', 'lm-runs', '--tokens', '5', '--prompt', 'It');
  assert.equal(g.code, 0, g.err);
  assert.equal(g.out, tsgrad('generate', 'lm-runs/story', '--tokens', '5', '--prompt', 'It').out);
  assert.equal(tsgrad('eval', 'story', '--runs', 'lm-runs', '--json').out, tsgrad('eval', 'lm-runs/story', '--json').out);
  // A step record every --log-every steps (kept across the resume), as tsgrad train writes them.
  const records = fs.readFileSync(path.join(work, 'lm-runs', 'story', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(records.map((x) => `${x.event}${x.step}`), ['step1', 'step2', 'epoch2', 'step3', 'step4', 'epoch4']);
});

test('trainLm from code needs no bookkeeping (source, dir); gpt eval then asks which text it was trained on', async () => {
  const text = fs.readFileSync(textFile, 'utf8');
  const tokenizer = charTokenizer(text);
  const ids = tokenizer.encode(text);
  const options = { batch: 2, steps: 2, lr: 1e-3, warmup: 0, weightDecay: 0, clip: 1, evalEvery: 2, evalBatches: 1, seed: 0 };
  const model = () => new Gpt({ vocabSize: tokenizer.vocabSize, layers: 1, heads: 2, embd: 8, block: 8 }, 0);
  const result = await trainLm({ model: model(), tokenizer, train: ids, validation: ids, options });
  assert.equal(result.step, 2);
  const dir = tempDir('gpt-cli-code');
  await trainLm({ model: model(), tokenizer, train: ids, validation: ids, options, dir });
  const e = tsgrad('eval', dir);
  assert.equal(e.code, 1);
  assert.match(e.err, /^tsgrad: .* does not say which text it was trained on \(a checkpoint saved from code\): give --text FILE\n$/);
  assert.equal(tsgrad('eval', dir, '--text', textFile).code, 0);
});

test('bad input: one line naming the problem, exit code 1 (2 for a usage error), no stack trace, nothing written', () => {
  fs.writeFileSync(path.join(work, 'empty.txt'), '');
  fs.writeFileSync(path.join(work, 'short.txt'), 'Too short.\nReally.\n');
  fs.mkdirSync(path.join(work, 'notgpt'));
  fs.writeFileSync(path.join(work, 'notgpt', 'model.json'), JSON.stringify({ format: 'tsgrad-checkpoint', formatVersion: 1, modelConfig: { className: 'Sequential', config: {} }, weights: [] }));
  fs.writeFileSync(path.join(work, 'notgpt', 'weights.safetensors'), Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 123, 125]));
  const cases: [string[], RegExp][] = [
    [['train', '--text', 'missing.txt', '--steps', '1'], /^tsgrad: no such text file: .*missing\.txt\n$/],
    [['train', '--text', 'empty.txt', '--steps', '1'], /^tsgrad: .*empty\.txt: the text file is empty\n$/],
    [['train', '--text', 'short.txt', '--steps', '1'], /^tsgrad: the training text has \d+ tokens, but a window needs block \+ 1 = 129: give more text or a smaller --block\n$/],
    [['train', '--steps', '0'], /^tsgrad: --steps must be an integer from 1 to \d+, got "0"\n$/],
    [['train', '--steps', '5', '--minutes', '1'], /^tsgrad: --steps and --minutes both bound the run: give one of them\n$/],
    [['train', '--vocab', '500'], /^tsgrad: --vocab sets the BPE vocabulary size: use it with --tokenizer bpe\n$/],
    [['train', ...tiny, '--heads', '3', '--steps', '1', '--out', 'x'], /^tsgrad: GPT embd 16 does not split into 3 heads\n$/],
    [['train', '--resume', 'nowhere'], /^tsgrad: nowhere is not a run \(no config\.json there or under runs\)\n$/],
    [['train', ...tiny, '--steps', '1', '--out', 'run'], /^tsgrad: run run already exists: pick another name, or continue it with --resume run\n$/],
    [['generate', work], /^tsgrad: .* is not a tsgrad checkpoint: model\.json is missing\n$/],
    [['generate', 'notgpt'], /^tsgrad: notgpt: not a language-model checkpoint \(its model is "Sequential"; tsgrad gpt reads GPT.*\)\n$/],
    [['generate', 'run', '--prompt', 'Zebra!'], /^tsgrad: char tokenizer: character "Z" \(U\+005A\) at index 0 is not in the vocabulary; build the tokenizer from all the text\n$/],
    [['generate', 'run', '--top-p', '1.5'], /^tsgrad: --top-p must be a number greater than 0 and at most 1, got "1\.5"\n$/],
  ];
  const usage = new Set(['--steps 0', '--top-p 1.5']);
  for (const [args, expected] of cases) {
    const r = tsgrad(...args);
    assert.equal(r.code, [...usage].some((u) => args.join(' ').includes(u)) ? 2 : 1, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.doesNotMatch(r.err, /^ {4}at /m, args.join(' '));
    assert.match(r.err, expected, args.join(' '));
  }
  assert.deepEqual(fs.readdirSync(work).filter((f) => !['tale.txt', 'empty.txt', 'short.txt', 'notgpt', 'run', 'bpe', 'whole', 'part', 'spelled-0', 'spelled-1', 'lm-runs'].includes(f)), []);
});
