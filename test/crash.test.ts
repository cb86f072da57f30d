// Crash safety of runs: `tsgrad gpt train` and `tsgrad train` killed with SIGKILL at every named
// point of the run tracker (TSGRAD_CRASH_AT, read only by src/train/runs.ts: before config.json,
// after a step's record, inside a metrics line, after an epoch's record, inside a checkpoint's
// folder, between the swap's two renames, while old checkpoints are removed, before the summary)
// and at seeded random moments, then resumed (or started again under their name): the final
// weights are an uninterrupted run's, byte for byte, metrics.jsonl holds its records (none lost,
// none twice), no temporary is left. Also: a swap interrupted between its renames is recovered,
// and Ctrl-C (SIGINT) stops cleanly with a checkpoint to resume from.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { tempDir, writeSmallMnist } from './helpers.js';

const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('crash');

function tsgrad(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

const textFile = path.join(work, 'tale.txt');
fs.writeFileSync(textFile, 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(40));
const GPT = ['gpt', 'train', '--text', textFile, '--layers', '1', '--heads', '2', '--embd', '16', '--block', '16', '--batch-size', '4',
  '--warmup-steps', '2', '--eval-batches', '1', '--steps', '9', '--eval-every', '3', '--log-every', '1', '--json'];

const data = path.join(work, 'mnist');
writeSmallMnist(data, 64, 20);
// Dropout, augmentation, a warm-up and validation: every random stream a resume must restore.
const CNN = ['train', '--data', data, '--model', 'strong', '--epochs', '3', '--batch-size', '16', '--validation-split', '0.25', '--log-every', '1', '--json'];

const weights = (run: string) => {
  const root = path.join(work, run, 'checkpoints');
  const last = fs.readdirSync(root).sort().at(-1)!;
  return fs.readFileSync(path.join(root, last, 'weights.safetensors'));
};
/** metrics.jsonl without what depends on the clock or the machine. */
const metrics = (run: string) => fs.readFileSync(path.join(work, run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
  const { seconds, elapsed, rssMiB, tokensPerSec, samplesPerSec, ...rest } = JSON.parse(l);
  return rest;
});
/** Every temporary or moved-aside file left anywhere in a run. */
const leftovers = (run: string) => (fs.readdirSync(path.join(work, run), { recursive: true }) as string[]).filter((f) => /\.(tmp|old)-\d+/.test(f));

/** Resumes `run` until it finishes (a run killed before its config.json existed is started again instead). */
function finish(run: string, args: string[]) {
  const resume = args[0] === 'gpt' ? ['gpt', 'train', '--resume', run, '--json'] : ['train', '--resume', run, '--data', data, '--json'];
  const hasConfig = fs.existsSync(path.join(work, run, 'config.json'));
  const r = tsgrad(hasConfig ? resume : [...args, '--out', run]);
  assert.equal(r.code, 0, `${run}: ${r.err}`);
  assert.equal(JSON.parse(r.out.trim().split('\n').at(-1)!).event, 'done', r.out);
  return r;
}

/** The uninterrupted runs everything is compared with, made once whichever test needs them first. */
function assertSameAsWhole(run: string, whole: 'gpt-whole' | 'cnn-whole') {
  if (!fs.existsSync(path.join(work, whole, 'summary.json'))) assert.equal(tsgrad([...(whole === 'gpt-whole' ? GPT : CNN), '--out', whole]).code, 0);
  assert.ok(weights(run).equals(weights(whole)), `${run}: the weights differ from an uninterrupted run's`);
  assert.deepEqual(metrics(run), metrics(whole), `${run}: metrics.jsonl differs`);
  assert.deepEqual(leftovers(run), [], `${run}: temporaries left`);
  assert.ok(fs.existsSync(path.join(work, run, 'summary.json')));
}

const GPT_POINTS = ['start', 'step:1', 'step:5', 'metrics-torn:4', 'epoch:2', 'checkpoint-fill:2', 'checkpoint-swap:2', 'checkpoint-prune:2', 'summary'];

test('gpt train killed at every crash point, then resumed: the uninterrupted run, byte for byte, with all its metrics', () => {
  for (const point of GPT_POINTS) {
    const run = `gpt-${point.replace(':', '-')}`;
    const killed = tsgrad([...GPT, '--out', run], { TSGRAD_CRASH_AT: point });
    assert.equal(killed.signal, 'SIGKILL', `${point}: ${killed.err}`);
    finish(run, GPT);
    assertSameAsWhole(run, 'gpt-whole');
  }
});

test('a run killed before its first checkpoint starts again under its name, or resumes from scratch', () => {
  for (const how of ['restart', 'resume']) {
    const run = `gpt-early-${how}`;
    assert.equal(tsgrad([...GPT, '--out', run], { TSGRAD_CRASH_AT: 'step:2' }).signal, 'SIGKILL');
    assert.ok(!fs.existsSync(path.join(work, run, 'checkpoints')) || fs.readdirSync(path.join(work, run, 'checkpoints')).every((f) => f.includes('.tmp-')));
    const r = how === 'restart' ? tsgrad([...GPT, '--out', run]) : tsgrad(['gpt', 'train', '--resume', run, '--json']);
    assert.equal(r.code, 0, r.err);
    assertSameAsWhole(run, 'gpt-whole');
  }
  // A run with a checkpoint is never started over.
  const again = tsgrad([...GPT, '--out', 'gpt-whole']);
  assert.equal(again.code, 1);
  assert.equal(again.err, 'tsgrad: run gpt-whole already exists: pick another name, or continue it with --resume gpt-whole\n');
});

test('a swap interrupted between its two renames: the checkpoint moved aside is found and put back, the half-written one removed', () => {
  const run = 'gpt-swap';
  const part = tsgrad([...GPT, '--out', run, '--stop-after', '6']);
  assert.equal(part.code, 0, part.err);
  // A process that has ended: its pid names the temporaries of a killed writer.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const root = path.join(work, run, 'checkpoints');
  fs.renameSync(path.join(root, 'step-0000006'), path.join(root, `step-0000006.old-${dead}`));
  fs.mkdirSync(path.join(root, `step-0000006.tmp-${dead}`));
  fs.writeFileSync(path.join(root, `step-0000006.tmp-${dead}`, 'model.json'), '{"half');
  fs.writeFileSync(path.join(work, run, `metrics.jsonl.tmp-${dead}`), 'torn');
  const r = tsgrad(['gpt', 'train', '--resume', run, '--json']);
  assert.equal(r.code, 0, r.err);
  const evals = r.out.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.event === 'eval').map((l) => l.step);
  assert.deepEqual(evals, [9], 'resumed from the checkpoint moved aside (step 6), not the one before');
  assertSameAsWhole(run, 'gpt-whole');
});

test('tsgrad train killed at crash points and at random moments, then resumed: the uninterrupted run, byte for byte', async () => {
  for (const point of ['step:2', 'epoch:1', 'metrics-torn:5', 'checkpoint-swap:2', 'summary']) {
    const run = `cnn-${point.replace(':', '-')}`;
    assert.equal(tsgrad([...CNN, '--out', run], { TSGRAD_CRASH_AT: point }).signal, 'SIGKILL', point);
    finish(run, CNN);
    assertSameAsWhole(run, 'cnn-whole');
  }
  // Random kills (seeded): each run is killed up to twice, wherever it happens to be, then resumed.
  const rng = new Rng(14);
  for (const [i, args] of [[0, CNN], [1, GPT], [2, GPT]] as const) {
    const run = `random-${i}`;
    for (let kill = 0; kill < 2 && !fs.existsSync(path.join(work, run, 'summary.json')); kill++) {
      const resuming = fs.existsSync(path.join(work, run, 'config.json'));
      const argv = resuming ? (args[0] === 'gpt' ? ['gpt', 'train', '--resume', run, '--json'] : ['train', '--resume', run, '--data', data, '--json']) : [...args, '--out', run];
      const child = spawn(process.execPath, [BIN, ...argv], { cwd: work, stdio: 'ignore' });
      const delay = 250 + rng.int(args[0] === 'gpt' ? 500 : 1500);
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      await new Promise((resolve) => child.on('exit', resolve));
      clearTimeout(timer);
    }
    // A kill may come after the run's end: then there is nothing to finish.
    if (!fs.existsSync(path.join(work, run, 'summary.json'))) finish(run, args);
    assertSameAsWhole(run, args[0] === 'gpt' ? 'gpt-whole' : 'cnn-whole');
  }
});

test('Ctrl-C (SIGINT) stops cleanly with a checkpoint; --resume continues from it', async () => {
  for (const [run, args, resumeArgs] of [
    ['sigint-gpt', [...GPT.filter((a, i) => GPT[i - 1] !== '--steps' && a !== '--steps'), '--steps', '100000'], ['gpt', 'train', '--resume', 'sigint-gpt', '--json']],
    ['sigint-cnn', [...CNN.filter((a, i) => CNN[i - 1] !== '--epochs' && a !== '--epochs'), '--epochs', '1000'], ['train', '--resume', 'sigint-cnn', '--data', data, '--json']],
  ] as const) {
    const child = spawn(process.execPath, [BIN, ...args, '--out', run], { cwd: work });
    let out = '', err = '', interrupted = false;
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (!interrupted && out.includes('"event":"e')) interrupted = child.kill('SIGINT'); // once (a second Ctrl-C quits at once), after a first eval / epoch line
    });
    const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, err);
    assert.match(err, /Stopping/);
    assert.doesNotMatch(err, /^ {4}at /m);
    assert.deepEqual(leftovers(run), []);
    const summary = JSON.parse(fs.readFileSync(path.join(work, run, 'summary.json'), 'utf8'));
    const stoppedAt = run === 'sigint-gpt' ? summary.steps : summary.epochsDone;
    assert.ok(stoppedAt >= 1, JSON.stringify(summary));
    const checkpoints = fs.readdirSync(path.join(work, run, 'checkpoints'));
    assert.ok(checkpoints.includes(run === 'sigint-gpt' ? `step-${String(stoppedAt).padStart(7, '0')}` : `epoch-${String(stoppedAt).padStart(3, '0')}`), checkpoints.join());
    // Continue it a little: from the checkpoint the interrupt wrote.
    const more = run === 'sigint-gpt' ? ['--steps', String(stoppedAt + 2)] : ['--epochs', String(stoppedAt + 1)];
    const r = tsgrad([...resumeArgs, ...more]);
    assert.equal(r.code, 0, r.err);
  }
});
