// Bad input to every `tsgrad` command, as a hostile or careless user types it: number flags
// (hex, empty, out of range, not finite), choices, unknown flags and commands, missing arguments,
// environment variables, paths that are files where folders are expected (and the reverse),
// outputs that would overwrite a command's own input or an existing file, and damaged run
// folders. Each case asserts the one line on stderr, the exit code (2: usage, 1: other), that no
// stack trace is printed and that no file in the working folder changed. One small checkpoint
// and one tiny language model are trained once and shared; most cases fail in validation.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir, writeSmallMnist } from './helpers.js';

const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('bad-input');

/** The environment of a user's shell: none of tsgrad's variables unless a case sets them. */
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TSGRAD_') && k !== 'NODE_TEST_CONTEXT'));

function tsgrad(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', env: { ...baseEnv, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every file under `dir`: its size, modification time and a hash of its bytes; folders too. */
function snapshot(dir: string): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        seen.set(p, 'folder');
        walk(p);
      } else {
        const s = fs.statSync(p);
        seen.set(p, `${s.size} ${s.mtimeMs} ${createHash('sha1').update(fs.readFileSync(p)).digest('hex')}`);
      }
    }
  };
  walk(dir);
  return seen;
}


// Shared inputs, made once: a data folder, a trained run, its TF.js export, a tiny language
// model, a text file, a stray file and an unrelated folder.
const data = path.join(work, 'mnist');
writeSmallMnist(data);
const ck = path.join(work, 'ck');
const lm = path.join(work, 'lm');
const tfjs = path.join(work, 'tfjs');
const text = path.join(work, 'text.txt');
fs.writeFileSync(text, 'the quick brown fox jumps over the lazy dog.\n'.repeat(60));
const file = path.join(work, 'a-file.txt');
fs.writeFileSync(file, 'not a folder\n');
const unrelated = path.join(work, 'documents');
fs.mkdirSync(unrelated);
fs.writeFileSync(path.join(unrelated, 'letter.txt'), 'keep me\n');
const results = path.join(work, 'results.json');
fs.writeFileSync(results, '{}\n');
const runs = path.join(work, 'runs');

test('setup: a small trained checkpoint, its TF.js export and a tiny language model', () => {
  for (const args of [
    ['train', '--data', data, '--limit', '64', '--epochs', '1', '--batch-size', '32', '--out', ck, '--json'],
    ['export', ck, '--format', 'tfjs', '--out', tfjs],
    ['gpt', 'train', '--text', text, '--steps', '2', '--layers', '1', '--embd', '16', '--heads', '2', '--block', '16', '--batch-size', '4',
      '--eval-every', '2', '--eval-batches', '1', '--warmup-steps', '0', '--out', lm, '--json'],
  ]) {
    const r = tsgrad(args);
    assert.equal(r.code, 0, `tsgrad ${args.join(' ')}: ${r.err}`);
  }
  fs.mkdirSync(runs);
  fs.cpSync(ck, path.join(runs, 'good'), { recursive: true });
  fs.cpSync(ck, path.join(runs, 'torn-config'), { recursive: true });
  fs.writeFileSync(path.join(runs, 'torn-config', 'config.json'), '{"model": "refer');
});

type Case = [args: string[], expected: string | RegExp, code: 1 | 2, env?: Record<string, string>];

/** Runs each case: exit code, nothing on stdout, one line on stderr as expected, no stack trace, no file changed. */
function check(cases: Case[]): void {
  for (const [args, expected, code, env] of cases) {
    const what = `${env ? `${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} ` : ''}tsgrad ${args.join(' ')}`;
    const before = snapshot(work);
    const r = tsgrad(args, env);
    assert.equal(r.code, code, `${what} exited ${r.code}, not ${code}: ${r.err}`);
    assert.equal(r.out, '', `${what} printed to stdout: ${r.out}`);
    assert.doesNotMatch(r.err, /\n\s+at /, `${what} printed a stack trace:\n${r.err}`);
    assert.ok(r.err.endsWith('\n') && !r.err.slice(0, -1).includes('\n'), `${what} printed more than one line:\n${r.err}`);
    const line = r.err.slice(0, -1);
    if (typeof expected === 'string') assert.equal(line, expected, what);
    else assert.match(line, expected, what);
    assert.deepEqual(snapshot(work), before, `${what} changed a file`);
  }
}

const q = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('train: number flags are plain decimal, finite and in range (exit 2)', () => {
  check([
    [['train', '--lr', '0x10'], 'tsgrad: --lr must be a number greater than 0, got "0x10"', 2],
    [['train', '--lr', '0'], 'tsgrad: --lr must be a number greater than 0, got "0"', 2],
    [['train', '--lr', '-1'], 'tsgrad: --lr must be a number greater than 0, got "-1"', 2],
    [['train', '--lr', 'Infinity'], 'tsgrad: --lr must be a number greater than 0, got "Infinity"', 2],
    [['train', '--lr', '1e400'], 'tsgrad: --lr must be a number greater than 0, got "1e400"', 2],
    [['train', '--lr', ''], 'tsgrad: --lr must be a number greater than 0, got ""', 2],
    [['train', '--lr', ' 0.1'], 'tsgrad: --lr must be a number greater than 0, got " 0.1"', 2],
    [['train', '--batch', '1000000000'], 'tsgrad: --batch must be an integer from 1 to 65536, got "1000000000"', 2],
    [['train', '--batch-size', '2.5'], 'tsgrad: --batch-size must be an integer from 1 to 65536, got "2.5"', 2],
    [['train', '--batch-size', '0'], 'tsgrad: --batch-size must be an integer from 1 to 65536, got "0"', 2],
    [['train', '--epochs', 'five'], 'tsgrad: --epochs must be an integer from 1 to 10000, got "five"', 2],
    [['train', '--epochs', '0'], 'tsgrad: --epochs must be an integer from 1 to 10000, got "0"', 2],
    [['train', '--momentum', '1'], 'tsgrad: --momentum must be a number at least 0 and less than 1, got "1"', 2],
    [['train', '--momentum', '-0.1'], 'tsgrad: --momentum must be a number at least 0 and less than 1, got "-0.1"', 2],
    [['train', '--validation-split', '1'], 'tsgrad: --validation-split must be a number at least 0 and less than 1, got "1"', 2],
    [['train', '--decay-rate', '2'], 'tsgrad: --decay-rate must be a number greater than 0 and at most 1, got "2"', 2],
    [['train', '--seed', '-1'], 'tsgrad: --seed must be an integer from 0 to 4294967295, got "-1"', 2],
    [['train', '--seed', '4294967296'], 'tsgrad: --seed must be an integer from 0 to 4294967295, got "4294967296"', 2],
    [['train', '--limit', '0'], 'tsgrad: --limit must be an integer from 1 to 1000000000, got "0"', 2],
    [['train', '--log-every', '-1'], 'tsgrad: --log-every must be an integer from 0 to 1000000000, got "-1"', 2],
    [['train', '--weight-decay', 'NaN'], 'tsgrad: --weight-decay must be a number of at least 0, got "NaN"', 2],
    [['train', '--clipnorm', '0'], 'tsgrad: --clipnorm must be a number greater than 0, got "0"', 2],
    [['train', '--warmup-epochs', '1.5'], 'tsgrad: --warmup-epochs must be an integer from 0 to 10000, got "1.5"', 2],
  ]);
});

test('train: choices, unknown flags and settings that do not go together', () => {
  check([
    [['train', '--optimizer', 'adagrad'], "tsgrad: option '--optimizer <name>' argument 'adagrad' is invalid. Allowed choices are adam, adamw, rmsprop, sgd.", 2],
    [['train', '--on-nan', 'maybe'], "tsgrad: option '--on-nan <action>' argument 'maybe' is invalid. Allowed choices are stop, skip.", 2],
    [['train', '--backend', 'gpu'], "tsgrad: option '--backend <name>' argument 'gpu' is invalid. Allowed choices are wasm, ref.", 2],
    [['train', '--bogus'], "tsgrad: unknown option '--bogus'", 2],
    [['train', '--epoch', '3'], "tsgrad: unknown option '--epoch' (did you mean --epochs?)", 2],
    [['train', '--lr'], "tsgrad: option '--lr <rate>' argument missing", 2],
    [['train', '--warmup-epochs', '1'], 'tsgrad: --warmup-epochs needs --schedule cosine', 1],
    [['train', '--out', ck], /^tsgrad: run .*ck already exists: pick another name, or continue it with --resume .*ck$/, 1],
    [['train', '--resume', 'nothing', '--runs', runs], /^tsgrad: nothing is not a run \(no config\.json there or under .*runs\)$/, 1],
    [['train', '--data', path.join(work, 'nowhere')], /^tsgrad: no such data folder: .*nowhere/, 1],
  ]);
});

test('environment variables are validated, one line naming each (exit 2), for every command', () => {
  check([
    [['train', '--data', data, '--out', 'x'], 'tsgrad: TSGRAD_BACKEND must be wasm or ref (or unset), got "bogus"', 2, { TSGRAD_BACKEND: 'bogus' }],
    [['gpt', 'train', '--text', text, '--out', 'x'], 'tsgrad: TSGRAD_BACKEND must be wasm or ref (or unset), got "gpu"', 2, { TSGRAD_BACKEND: 'gpu' }],
    [['evaluate', ck], 'tsgrad: TSGRAD_BACKEND must be wasm or ref (or unset), got "WASM"', 2, { TSGRAD_BACKEND: 'WASM' }],
    [['train', '--data', data, '--out', 'x'], 'tsgrad: TSGRAD_THREADS must be an integer from 1 to 64, got "0"', 2, { TSGRAD_THREADS: '0' }],
    [['train', '--data', data, '--out', 'x'], 'tsgrad: TSGRAD_THREADS must be an integer from 1 to 64, got "abc"', 2, { TSGRAD_THREADS: 'abc' }],
    [['train', '--data', data, '--out', 'x'], 'tsgrad: TSGRAD_THREADS must be an integer from 1 to 64, got "1000"', 2, { TSGRAD_THREADS: '1000' }],
    [['predict', ck, file], 'tsgrad: TSGRAD_THREADS must be an integer from 1 to 64, got "0x4"', 2, { TSGRAD_THREADS: '0x4' }],
    [['evaluate', ck], 'tsgrad: TSGRAD_THREADS must be an integer from 1 to 64, got "2.5"', 2, { TSGRAD_THREADS: '2.5' }],
    [['evaluate', ck], 'tsgrad: TSGRAD_SIMD must be plain or relaxed (or unset), got "fast"', 2, { TSGRAD_SIMD: 'fast' }],
    [['runs', '--runs', runs], /^tsgrad: TSGRAD_DEBUG_MEMORY must be 1, true or yes \(on\), or 0, false, no or unset \(off\), got "maybe"$/, 2, { TSGRAD_DEBUG_MEMORY: 'maybe' }],
  ]);
});

test('gpt train: flags and files', () => {
  check([
    [['gpt', 'train', '--lr', '0x10'], 'tsgrad: --lr must be a number greater than 0, got "0x10"', 2],
    [['gpt', 'train', '--dropout', '1'], 'tsgrad: --dropout must be a number at least 0 and less than 1, got "1"', 2],
    [['gpt', 'train', '--vocab', '100'], 'tsgrad: --vocab must be an integer from 256 to 65536, got "100"', 2],
    [['gpt', 'train', '--block', '0'], 'tsgrad: --block must be an integer from 1 to 16384, got "0"', 2],
    [['gpt', 'train', '--heads', '0'], 'tsgrad: --heads must be an integer from 1 to 256, got "0"', 2],
    [['gpt', 'train', '--batch-size', '1000000000'], 'tsgrad: --batch-size must be an integer from 1 to 65536, got "1000000000"', 2],
    [['gpt', 'train', '--minutes', '0'], 'tsgrad: --minutes must be a number greater than 0 and at most 525600, got "0"', 2],
    [['gpt', 'train', '--steps', '1.5'], 'tsgrad: --steps must be an integer from 1 to 1000000000, got "1.5"', 2],
    [['gpt', 'train', '--warmup', '-5'], 'tsgrad: --warmup must be an integer from 0 to 1000000000, got "-5"', 2],
    [['gpt', 'train', '--tokenizer', 'words'], "tsgrad: option '--tokenizer <kind>' argument 'words' is invalid. Allowed choices are char, bpe.", 2],
    [['gpt', 'train', '--on-nan', 'never'], "tsgrad: option '--on-nan <action>' argument 'never' is invalid. Allowed choices are stop, skip.", 2],
    [['gpt', 'train', '--text', path.join(work, 'none.txt'), '--steps', '1', '--out', 'x'], /none\.txt/, 1],
    [['gpt', 'train', '--text', data, '--steps', '1', '--out', 'x'], /mnist/, 1],
  ]);
});

test('gpt generate and gpt eval: flags and checkpoints', () => {
  check([
    [['gpt', 'generate', lm, '--tokens', '-1'], 'tsgrad: --tokens must be an integer from 0 to 1000000, got "-1"', 2],
    [['gpt', 'generate', lm, '--temperature', '-0.5'], 'tsgrad: --temperature must be a number from 0 to 100, got "-0.5"', 2],
    [['gpt', 'generate', lm, '--top-p', '0'], 'tsgrad: --top-p must be a number greater than 0 and at most 1, got "0"', 2],
    [['gpt', 'generate', lm, '--top-p', '1.5'], 'tsgrad: --top-p must be a number greater than 0 and at most 1, got "1.5"', 2],
    [['gpt', 'generate', lm, '--top-k', '0'], 'tsgrad: --top-k must be an integer from 1 to 65536, got "0"', 2],
    [['gpt', 'generate', lm, '--seed', '1.5'], 'tsgrad: --seed must be an integer from 0 to 4294967295, got "1.5"', 2],
    [['gpt', 'generate'], "tsgrad: missing required argument 'checkpoint'", 2],
    [['gpt', 'generate', path.join(work, 'no-lm')], /no-lm/, 1],
    [['gpt', 'generate', file], /a-file\.txt/, 1],
    [['gpt', 'eval', lm, '--batch-size', '0'], 'tsgrad: --batch-size must be an integer from 1 to 65536, got "0"', 2],
    [['gpt', 'eval', lm, '--text', path.join(work, 'none.txt')], /none\.txt/, 1],
    [['gpt', 'eval', path.join(work, 'no-lm')], /no-lm/, 1],
    [['gpt', 'fly'], "tsgrad: unknown command 'fly'", 2],
  ]);
});

test('evaluate and predict: flags, checkpoints and images', () => {
  fs.writeFileSync(path.join(work, 'junk.png'), 'not a png');
  check([
    [['evaluate', ck, '--batch-size', '0x10'], 'tsgrad: --batch-size must be an integer from 1 to 65536, got "0x10"', 2],
    [['evaluate'], "tsgrad: missing required argument 'checkpoint'", 2],
    [['evaluate', path.join(work, 'no-ckpt')], /^tsgrad: no such checkpoint: .*no-ckpt$/, 1],
    [['evaluate', file], /a-file\.txt/, 1],
    [['evaluate', data], /not a tsgrad checkpoint: model\.json is missing/, 1],
    [['evaluate', ck, '--data', path.join(work, 'nowhere')], /^tsgrad: no such data folder: .*nowhere/, 1],
    [['predict', ck], "tsgrad: missing required argument 'images'", 2],
    [['predict', ck, path.join(work, 'junk.png')], /junk\.png: not a readable PNG image/, 1],
    [['predict', ck, path.join(work, 'none.png')], /^tsgrad: no such file: .*none\.png/, 1],
    [['predict', ck, unrelated], /documents/, 1],
    [['predict', path.join(work, 'no-ckpt'), path.join(work, 'junk.png')], /^tsgrad: no such checkpoint: .*no-ckpt$/, 1],
  ]);
});

test('export never writes over or inside its input, nor over an existing file without --force', () => {
  const epoch = path.join(ck, 'checkpoints', 'epoch-001');
  check([
    [['export', ck, '--format', 'tfjs', '--out', ck], `tsgrad: --out ${ck} is the input ${ck}: write somewhere else`, 1],
    [['export', ck, '--format', 'tfjs', '--out', ck, '--force'], `tsgrad: --out ${ck} is the input ${ck}: write somewhere else`, 1],
    [['export', ck, '--format', 'onnx', '--out', path.join(ck, 'model.onnx')], `tsgrad: --out ${path.join(ck, 'model.onnx')} is inside the input ${ck}: write somewhere else`, 1],
    [['export', epoch, '--format', 'tfjs', '--out', ck, '--force'], `tsgrad: --out ${ck} holds the input ${epoch}: write somewhere else`, 1],
    [['export', 'ck', '--format', 'tfjs', '--out', './ck/'], /^tsgrad: --out \.\/ck\/ is the input ck: write somewhere else$/, 1],
    [['export', ck, '--format', 'tfjs', '--out', tfjs], `tsgrad: --out ${tfjs} already exists: give --force to replace it`, 1],
    [['export', ck, '--format', 'tfjs', '--out', unrelated, '--force'], `tsgrad: --out ${unrelated} exists and is not a TensorFlow.js model folder: not replacing it, even with --force`, 1],
    [['export', ck, '--format', 'onnx', '--out', unrelated], `tsgrad: --out ${unrelated} is a folder, not a file`, 1],
    [['export', ck, '--format', 'tfjs', '--out', file], `tsgrad: --out ${file} is a file, not a folder`, 1],
    [['export', ck, '--format', 'onnx', '--out', results], `tsgrad: --out ${results} already exists: give --force to replace it`, 1],
    [['export', ck, '--format', 'onnx', '--out', path.join(file, 'm.onnx')], `tsgrad: --out ${path.join(file, 'm.onnx')}: ${file} is a file, not a folder`, 1],
    [['export', ck, '--out', 'x'], "tsgrad: required option '--format <name>' not specified", 2],
    [['export', ck, '--format', 'keras', '--out', 'x'], "tsgrad: option '--format <name>' argument 'keras' is invalid. Allowed choices are tfjs, onnx, pytorch.", 2],
    [['export', ck, '--format', 'onnx'], "tsgrad: required option '--out <path>' not specified", 2],
    [['export', path.join(work, 'no-ckpt'), '--format', 'onnx', '--out', 'x.onnx'], /^tsgrad: no such checkpoint: .*no-ckpt$/, 1],
  ]);
});

test('import never writes over its own folder or an existing checkpoint without --force', () => {
  const badTfjs = path.join(work, 'bad-tfjs');
  fs.mkdirSync(badTfjs);
  fs.writeFileSync(path.join(badTfjs, 'model.json'), '{"format": "layers-model", "modelTopology": 3}');
  check([
    [['import', tfjs, '--out', tfjs], `tsgrad: --out ${tfjs} is the input ${tfjs}: write somewhere else`, 1],
    [['import', path.join(tfjs, 'model.json'), '--out', tfjs, '--force'], `tsgrad: --out ${tfjs} is the input ${tfjs}: write somewhere else`, 1],
    [['import', tfjs, '--out', path.join(tfjs, 'ck')], `tsgrad: --out ${path.join(tfjs, 'ck')} is inside the input ${tfjs}: write somewhere else`, 1],
    [['import', tfjs, '--out', ck], `tsgrad: --out ${ck} already exists: give --force to replace it`, 1],
    [['import', tfjs, '--out', unrelated, '--force'], `tsgrad: --out ${unrelated} exists and is not a checkpoint folder: not replacing it, even with --force`, 1],
    [['import', tfjs, '--out', file], `tsgrad: --out ${file} is a file, not a folder`, 1],
    [['import', path.join(work, 'nowhere'), '--out', 'x'], /nowhere/, 1],
    [['import', file, '--out', 'x'], `tsgrad: --out x is inside the input ${work}: write somewhere else`, 1], // a file's folder is the model's
    [['import', badTfjs, '--out', 'x'], /^tsgrad: .*bad-tfjs.*model\.json/, 1],
    [['import', tfjs], "tsgrad: required option '--out <dir>' not specified", 2],
  ]);
});

test('runs and runs compare: folders that are files, missing and damaged runs', () => {
  check([
    [['runs', '--runs', file], `tsgrad: --runs ${file} is a file, not a folder of runs`, 1],
    [['train', '--data', data, '--limit', '64', '--epochs', '1', '--runs', file, '--name', 'z'], `tsgrad: cannot make the run folder ${path.join(file, 'z')} (ENOTDIR): is a part of its path a file?`, 1],
    [['runs', 'compare', 'good', 'nothing', '--runs', runs], /^tsgrad: nothing is not a run \(no config\.json there or under .*runs\)$/, 1],
    [['runs', 'compare', 'good', 'torn-config', '--runs', runs], /^tsgrad: run torn-config cannot be read: config\.json: not valid JSON \(.*\)$/, 1],
    [['runs', 'compare', 'good'], "tsgrad: missing required argument 'b'", 2],
    [['runs', '--json', 'extra'], /^tsgrad: (too many arguments|unknown command 'extra')/, 2],
  ]);
});

test('bench: flags and --out, checked before any measuring', () => {
  check([
    [['bench', '--rounds', '0'], 'tsgrad: --rounds must be an integer from 1 to 100, got "0"', 2],
    [['bench', '--batches', '1e9'], 'tsgrad: --batches must be an integer from 1 to 100000, got "1e9"', 2],
    [['bench', '--gpt-steps', '-3'], 'tsgrad: --gpt-steps must be an integer from 1 to 100000, got "-3"', 2],
    [['bench', '--only', 'foo'], "tsgrad: option '--only <parts>' argument 'foo' is invalid. expected some of sgemm, cnn, gpt (comma-separated), got \"foo\"", 2],
    [['bench', '--only', 'sgemm', '--out', results], `tsgrad: --out ${results} already exists: give --force to replace it`, 1],
    [['bench', '--only', 'sgemm', '--out', unrelated, '--force'], `tsgrad: --out ${unrelated} is a folder, not a file`, 1],
  ]);
});

test('the command itself: unknown commands, --debug shows the stack', () => {
  check([
    [['fly'], "tsgrad: unknown command 'fly'", 2],
    [['runs', 'comapre', 'a', 'b'], /^tsgrad: (too many arguments|unknown command 'comapre')/, 2],
  ]);
  const r = tsgrad(['train', '--lr', '0x10', '--debug']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^tsgrad: --lr must be a number greater than 0, got "0x10"\n/);
  assert.match(r.err, /\n\s+at /, '--debug shows the stack');
});

test('tsgrad runs lists what it can read and names, one line each, the runs it cannot', () => {
  const root = path.join(work, 'damaged-runs');
  fs.mkdirSync(root);
  fs.cpSync(ck, path.join(root, 'a-good'), { recursive: true });
  const broken: Record<string, (dir: string) => void> = {
    'b-torn-config': (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"model": "ref'),
    'c-config-array': (d) => fs.writeFileSync(path.join(d, 'config.json'), '[]'),
    'd-torn-summary': (d) => fs.writeFileSync(path.join(d, 'summary.json'), '{"name": '),
    'e-summary-garbage': (d) => fs.writeFileSync(path.join(d, 'summary.json'), '{"model": 3}'),
    'f-state-garbage': (d) => {
      fs.rmSync(path.join(d, 'summary.json'));
      fs.writeFileSync(path.join(d, 'checkpoints', 'epoch-001', 'state.json'), '{}');
    },
    'g-config-folder': (d) => {
      fs.rmSync(path.join(d, 'config.json'));
      fs.mkdirSync(path.join(d, 'config.json'));
    },
  };
  for (const [name, damage] of Object.entries(broken)) {
    fs.cpSync(ck, path.join(root, name), { recursive: true });
    damage(path.join(root, name));
  }
  // In progress or killed: no summary yet, a torn last line in metrics.jsonl, a temporary checkpoint folder.
  const running = path.join(root, 'h-running');
  fs.cpSync(ck, running, { recursive: true });
  fs.rmSync(path.join(running, 'summary.json'));
  fs.appendFileSync(path.join(running, 'metrics.jsonl'), '{"event": "ep');
  fs.mkdirSync(path.join(running, 'checkpoints', 'epoch-002.tmp-999'));
  // Started, killed before its first checkpoint.
  const early = path.join(root, 'i-early');
  fs.mkdirSync(early);
  fs.copyFileSync(path.join(ck, 'config.json'), path.join(early, 'config.json'));
  fs.cpSync(lm, path.join(root, 'j-lm'), { recursive: true });
  fs.rmSync(path.join(root, 'j-lm', 'summary.json'));

  const before = snapshot(work);
  const r = tsgrad(['runs', '--runs', root]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  for (const name of ['a-good', 'h-running', 'i-early', 'j-lm']) assert.match(r.out, new RegExp(`^${name} .*(finished|unfinished)`, 'm'), name);
  assert.match(r.out, /^h-running .*unfinished, 1\/1$/m);
  const expected: Record<string, RegExp> = {
    'b-torn-config': /^config\.json: not valid JSON \(.*\)$/,
    'c-config-array': /^config\.json: must be an object, got an array$/,
    'd-torn-summary': /^summary\.json: not valid JSON \(.*\)$/,
    'e-summary-garbage': /^summary\.json: model must be a string, got 3$/,
    'f-state-garbage': /^checkpoints\/epoch-001\/state\.json: step must be an integer of at least 0, got nothing$/,
    'g-config-folder': /^config\.json: is a folder, not a JSON file$/,
  };
  for (const [name, re] of Object.entries(expected)) {
    const line = r.out.split('\n').find((l) => l.startsWith(`  ${name}: `));
    assert.ok(line, `${name} is not listed as unreadable:\n${r.out}`);
    assert.match(line.slice(`  ${name}: `.length), re, name);
  }
  const json = tsgrad(['runs', '--runs', root, '--json']);
  assert.equal(json.code, 0, json.err);
  const listed = JSON.parse(json.out) as { name: string; unreadable?: string }[];
  assert.deepEqual(listed.filter((x) => x.unreadable).map((x) => x.name).sort(), Object.keys(broken));
  assert.deepEqual(snapshot(work), before, 'tsgrad runs changed a file');

  const c = tsgrad(['runs', 'compare', 'a-good', 'h-running', '--runs', root]);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /A = a-good, B = h-running/);
  const lmc = tsgrad(['runs', 'compare', 'j-lm', 'j-lm', '--runs', root]);
  assert.equal(lmc.code, 0, lmc.err);
});

test(`${q('--force')} replaces what a command wrote before, and only that`, () => {
  const out = path.join(work, 'forced');
  for (const i of [0, 1]) {
    const r = tsgrad(['import', tfjs, '--out', out, ...(i ? ['--force'] : [])]);
    assert.equal(r.code, 0, r.err);
  }
  assert.deepEqual(fs.readdirSync(work).filter((f) => f.startsWith('forced')), ['forced']); // no temporaries left
  const onnx = path.join(work, 'm.onnx');
  assert.equal(tsgrad(['export', ck, '--format', 'onnx', '--out', onnx]).code, 0);
  assert.equal(tsgrad(['export', ck, '--format', 'onnx', '--out', onnx, '--force']).code, 0);
});
