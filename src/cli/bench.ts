// `tsgrad bench`: SGEMM GFLOPS, reference-CNN training and inference speed, character-GPT
// training speed, peak memory; with --compare, the same models in PyTorch, jax-js (and the CNN in
// TensorFlow.js), run in the same invocation (alternating, in child processes) so that ratios are
// measured side by side on a noisy machine. The flags are defined in main.ts.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WasmBackend } from '../backend/wasm/index.js';
import { createWasmBackend } from '../backend/wasm/node.js';
import { Rng } from '../core/rng.js';
import { writeFileAtomic } from '../io/files.js';
import { charTokenizer } from '../data/tokenizer.js';
import { loadMnist } from '../data/mnist.js';
import { Gpt } from '../models/gpt.js';
import { getBackend, setBackend } from '../tensor/engine.js';
import { tensor } from '../tensor/tensor.js';
import { trainLm } from '../train/lm.js';
import { inferRate, trainRate } from '../train/speed.js';
import { cpuModel } from '../train/runs.js';
import { registerNodeBackend } from './backend.js';
import { checkOutput } from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median GFLOPS of C = A·B over repeated calls, after a warm-up (V8 runs baseline code first). */
function sgemmGflops(b: WasmBackend, m: number, k: number, n: number): number {
  const [x, y, z] = [b.alloc('float32', m * k), b.alloc('float32', k * n), b.alloc('float32', m * n)] as Float32Array[];
  x.fill(0.5);
  y.fill(0.25);
  const args = { batch: 1, m, k, n, transA: false, transB: false, strideA: 0, strideB: 0 };
  const times: number[] = [];
  // 200 ms of warm-up (V8 tiers wasm up in the background, workers start), then 400 ms measured.
  for (let spent = 0, measured = 0; measured < 400 || times.length < 5; ) {
    const t = performance.now();
    b.matmul(x, y, z, args);
    const dt = performance.now() - t;
    if (spent >= 200) {
      times.push(dt);
      measured += dt;
    }
    spent += dt;
  }
  [x, y, z].forEach((a) => b.free(a));
  return (2 * m * k * n) / median(times) / 1e6;
}

interface Rates {
  train32: number;
  train128: number;
  infer1000: number;
}

async function ours(batches: number): Promise<Rates> {
  const train = loadMnist({ limit: 8192 });
  const test = loadMnist({ split: 'test' });
  const [x, y] = [tensor(train.images, train.shape), tensor(train.labels, [train.count], 'int32')];
  return {
    train32: await trainRate(x, y, 32, batches),
    train128: await trainRate(x, y, 128, Math.max(4, batches / 4)),
    infer1000: inferRate(tensor(test.images, test.shape)),
  };
}

/** The character GPT of issue 6's speed target; bench/pytorch_gpt.py and bench/jax_gpt.ts build the same. */
const GPT = { vocabSize: 85, layers: 4, heads: 4, embd: 128, block: 128, batch: 32 };
const GPT_TITLE = 'GPT training (char, 4x128, block 128, batch 32) tokens/s';

interface GptRate {
  tokensPerSecond: number;
}

/**
 * Training tokens/s of the GPT, trained as `tsgrad gpt train` trains it (forward, cross-entropy
 * over every position, backward, AdamW with clipping at global norm 1), timed from the end of the
 * warm-up steps to the end of the last step (before the run's one evaluation). The tokens are
 * random: speed does not depend on the text.
 */
async function gptRate(steps: number, warmup: number): Promise<GptRate> {
  const { batch: B, block: T, vocabSize: V } = GPT;
  const rng = new Rng(1);
  const ids = Int32Array.from({ length: B * T * 4 }, () => Math.floor(rng.uniform() * V));
  const times: number[] = [];
  await trainLm({
    model: new Gpt(GPT), tokenizer: charTokenizer('x'), train: ids, validation: ids.subarray(0, T + 1),
    options: { batch: B, steps: warmup + steps, lr: 1e-3, warmup: 0, weightDecay: 0.1, clip: 1, evalEvery: warmup + steps, evalBatches: 1, seed: 0 },
    callbacks: [{ onBatchEnd: () => void times.push(performance.now()) }],
  });
  return { tokensPerSecond: (B * T * steps) / ((times[warmup + steps - 1] - times[warmup - 1]) / 1000) };
}

type Peer = 'pytorch' | 'jax-js' | 'tfjs';
type PeerResult<R> = (R & { version?: string; notes?: string }) | { error: string };

/** The CNN peers' scripts and arguments. */
function cnnPeer(name: Peer, batches: number): PeerResult<Rates> {
  const scripts: Record<Peer, [string, string[]]> = {
    pytorch: ['bench/pytorch_cnn.py', [String(os.availableParallelism()), String(batches)]],
    'jax-js': ['bench/jax_cnn.ts', [String(batches)]],
    tfjs: ['bench/tfjs_cnn.ts', ['2', '1']],
  };
  return peer(name, ...scripts[name]);
}

/** The GPT peers, timed over the same steps after the same warm-up (jax-js's first step compiles). */
function gptPeer(name: 'pytorch' | 'jax-js', steps: number, warmup: number): PeerResult<GptRate> {
  return name === 'pytorch'
    ? peer(name, 'bench/pytorch_gpt.py', [String(os.availableParallelism()), String(steps), String(warmup)])
    : peer(name, 'bench/jax_gpt.ts', [String(steps), String(warmup)]);
}

/** Runs a peer's script in a child process; its last stdout line is a JSON object of rates. */
function peer<R>(name: Peer, script: string, rest: string[]): PeerResult<R> {
  // PyTorch's fastest set-up here: OpenBLAS on one thread under torch's own threads (the script sets those).
  const [bin, lead, env] = name === 'pytorch'
    ? ['/usr/bin/python3', [], { OPENBLAS_NUM_THREADS: '1' }]
    : [process.execPath, ['--import', 'tsx'], {}];
  if (!fs.existsSync(bin) || !fs.existsSync(path.join(ROOT, script))) return { error: `${bin} or ${script} is missing` };
  const args = [...lead, path.join(ROOT, script), ...rest];
  const r = spawnSync(bin, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20 * 60 * 1000 });
  const last = r.stdout?.trim().split('\n').pop();
  try {
    return JSON.parse(last ?? '');
  } catch {
    return { error: failure(r.stderr || r.error?.message || 'no output') };
  }
}

/** The line of a failed child's stderr that says what went wrong (Python's and Node's last `...Error:` line). */
function failure(stderr: string): string {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at ') && !/^Node\.js v/.test(l));
  return [...lines].reverse().find((l) => /^[\w.]*(Error|Exception)\b/.test(l)) ?? lines.pop() ?? 'failed';
}

/** What --only may name (main.ts checks the flag against the same list). */
type Part = 'sgemm' | 'cnn' | 'gpt';

type Summary<R> = Record<string, Partial<R> & { error?: string; version?: string }>;

/** Per framework, the median of each rate over the rounds that ran (or the first error). */
function summarise<R extends object>(runs: Record<string, PeerResult<R>[]>, keys: (keyof R & string)[]): Summary<R> {
  const summary: Summary<R> = {};
  for (const [name, list] of Object.entries(runs)) {
    const ok = list.filter((x): x is R & { version?: string } => !('error' in x));
    if (!ok.length) { summary[name] = { error: (list[0] as { error: string }).error } as Summary<R>[string]; continue; }
    summary[name] = Object.fromEntries(keys.map((k) => [k, median(ok.map((x) => x[k] as number).filter((v) => v != null))])) as Summary<R>[string];
    if (ok[0].version) summary[name].version = ok[0].version;
  }
  return summary;
}

export interface BenchOptions {
  compare?: boolean;
  rounds: number;
  batches: number;
  gptSteps: number;
  only?: Part[];
  out?: string;
  force?: boolean;
  json?: boolean;
}

export async function bench(opts: BenchOptions): Promise<void> {
  // A full run replaces the package's own figures; a partial one writes only where it is told.
  // Checked now, not after minutes of measuring: an existing --out is replaced only with --force.
  const out = opts.out ?? (opts.only ? undefined : path.join(ROOT, 'bench/results.json'));
  if (opts.out !== undefined) checkOutput(opts.out, { kind: 'file', force: opts.force, what: 'a file' });
  registerNodeBackend();
  const log = (s: string) => process.stderr.write(s + '\n');
  const run = (p: Part) => !opts.only || opts.only.includes(p);
  const all = getBackend() as WasmBackend;
  const gemm: Record<string, { threads1: number; threadsAll: number }> = {};
  if (run('sgemm')) {
    const one = createWasmBackend(1);
    for (const [m, k, n] of [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [3872, 288, 64]]) {
      const g = (gemm[`${m}x${k}x${n}`] = { threads1: sgemmGflops(one, m, k, n), threadsAll: sgemmGflops(all, m, k, n) });
      log(`sgemm ${m}x${k}x${n}: ${g.threads1.toFixed(1)} GFLOPS on 1 thread, ${g.threadsAll.toFixed(1)} on ${all.pool.threads}`);
    }
    one.pool.close();
  }
  setBackend(all);
  const rounds = opts.compare ? opts.rounds : 1;
  const gptWarmup = 2;
  const cnn: Record<string, PeerResult<Rates>[]> = {};
  const gpt: Record<string, PeerResult<GptRate>[]> = {};
  const peers = opts.compare ? ['pytorch', 'jax-js'] as const : [];
  for (let r = 0; r < (run('cnn') ? rounds : 0); r++) {
    (cnn.tsgrad ??= []).push(await ours(opts.batches));
    log(`round ${r + 1}: tsgrad ${JSON.stringify(cnn.tsgrad[r])}`);
    for (const p of peers) {
      (cnn[p] ??= []).push(cnnPeer(p, opts.batches));
      log(`round ${r + 1}: ${p} ${JSON.stringify(cnn[p][r])}`);
    }
  }
  if (opts.compare && run('cnn')) cnn.tfjs = [cnnPeer('tfjs', 1)]; // ~1 image/s: one timed batch is all it gets
  const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);
  const cnnRss = rss(); // the GPT runs after the CNN so that this stays the CNN's figure
  for (let r = 0; r < (run('gpt') ? rounds : 0); r++) {
    (gpt.tsgrad ??= []).push(await gptRate(opts.gptSteps, gptWarmup));
    log(`round ${r + 1}: tsgrad GPT ${JSON.stringify(gpt.tsgrad[r])}`);
    for (const p of peers) {
      (gpt[p] ??= []).push(gptPeer(p, opts.gptSteps, gptWarmup));
      log(`round ${r + 1}: ${p} GPT ${JSON.stringify(gpt[p][r])}`);
    }
  }
  const result = {
    date: new Date().toISOString(), cpu: cpuModel(), cores: os.availableParallelism(), node: process.version,
    simd: all.variant, threads: all.pool.threads, sgemmGflops: gemm,
    imagesPerSecond: summarise(cnn, ['train32', 'train128', 'infer1000']),
    gptTokensPerSecond: summarise(gpt, ['tokensPerSecond']),
    gptConfig: GPT,
    peakRssMiB: cnnRss, gptPeakRssMiB: rss(), rounds,
  };
  if (out === undefined) log('a partial run (--only): bench/results.json left as it was');
  else {
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    writeFileAtomic(out, JSON.stringify(result, null, 2) + '\n');
  }
  if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(formatTable(result) + '\n');
}

/** A peer's rate and how many times faster tsgrad is ("n/a" when either is missing). */
function ratioCell(name: string, v: number | undefined, ours: number | undefined): string {
  if (v == null || !Number.isFinite(v)) return 'n/a';
  if (name === 'tsgrad') return v.toFixed(0);
  const ratio = ours == null ? 'n/a' : (ours / v).toFixed(v < 10 ? 0 : 2);
  return `${v < 10 ? v.toFixed(2) : v.toFixed(0)} (tsgrad ${ratio}x)`;
}

function formatTable(r: { cpu?: string; cores: number; simd: string; threads: number; sgemmGflops: Record<string, { threads1: number; threadsAll: number }>; imagesPerSecond: Summary<Rates>; gptTokensPerSecond: Summary<GptRate>; peakRssMiB: number; gptPeakRssMiB: number; rounds: number }): string {
  const lines = [`tsgrad bench on ${r.cpu} (${r.cores} cores), ${r.simd} SIMD, ${r.threads} threads; medians of ${r.rounds} round(s)`];
  if (Object.keys(r.sgemmGflops).length) {
    lines.push('', '| SGEMM (m x k x n) | 1 thread GFLOPS | all threads GFLOPS |', '| --- | ---: | ---: |');
    for (const [shape, g] of Object.entries(r.sgemmGflops)) lines.push(`| ${shape} | ${g.threads1.toFixed(1)} | ${g.threadsAll.toFixed(1)} |`);
  }
  if (Object.keys(r.imagesPerSecond).length) {
    lines.push('', '| reference CNN, images/s | train, batch 32 | train, batch 128 | inference, batch 1000 |', '| --- | ---: | ---: | ---: |');
    const base = r.imagesPerSecond.tsgrad ?? {};
    for (const [name, s] of Object.entries(r.imagesPerSecond)) {
      if (s.error) { lines.push(`| ${name} | not run: ${s.error} | | |`); continue; }
      const cell = (k: keyof Rates) => ratioCell(name, s[k], base[k]);
      lines.push(`| ${name} | ${cell('train32')} | ${cell('train128')} | ${cell('infer1000')} |`);
    }
  }
  if (Object.keys(r.gptTokensPerSecond).length) {
    lines.push('', `| ${GPT_TITLE} | train |`, '| --- | ---: |');
    const base = r.gptTokensPerSecond.tsgrad?.tokensPerSecond;
    for (const [name, s] of Object.entries(r.gptTokensPerSecond)) {
      lines.push(`| ${name} | ${s.error ? `n/a: ${s.error}` : ratioCell(name, s.tokensPerSecond, base)} |`);
    }
  }
  const gptRss = Object.keys(r.gptTokensPerSecond).length ? `; ${r.gptPeakRssMiB} MiB after the GPT` : '';
  lines.push('', `Peak RSS of this process: ${r.peakRssMiB} MiB${gptRss}`);
  return lines.join('\n');
}
