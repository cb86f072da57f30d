// `tsgrad bench`: SGEMM GFLOPS, reference-CNN training and inference speed, peak memory; with
// --compare, the same model in PyTorch, jax-js and TensorFlow.js, run in the same invocation
// (alternating, in child processes) so that ratios are measured side by side on a noisy machine.

import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWasmBackend, type WasmBackend } from '../backend/wasm/index.js';
import { loadMnist } from '../data/mnist.js';
import { referenceCnn } from '../models/zoo.js';
import { getBackend, setBackend } from '../tensor/engine.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { action, positiveInt } from './common.js';

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

/** The first n examples of t (gather along the batch axis). */
const first = (t: Tensor, n: number) => t.gather(tensor(Int32Array.from({ length: n }, (_, i) => i)));

/** Images per second training the reference CNN with fit() on (x, y), after a warm-up. */
async function trainRate(x: Tensor, y: Tensor, batch: number, batches: number): Promise<number> {
  const model = referenceCnn();
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(first(x, batch * 3), first(y, batch * 3), { epochs: 1, batchSize: batch, shuffle: false });
  const n = Math.min(x.shape[0], batch * batches);
  const [tx, ty] = [first(x, n), first(y, n)];
  const t = performance.now();
  await model.fit(tx, ty, { epochs: 1, batchSize: batch, shuffle: false });
  return n / ((performance.now() - t) / 1000);
}

function inferRate(x: Tensor): number {
  const model = referenceCnn();
  model.build();
  model.predict(first(x, 1000), { batchSize: 1000 });
  const t = performance.now();
  model.predict(x, { batchSize: 1000 });
  return x.shape[0] / ((performance.now() - t) / 1000);
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

type Peer = 'pytorch' | 'jax-js' | 'tfjs';

/** Runs a peer's script; its last stdout line is a JSON object of rates. */
function peer(name: Peer, batches: number): (Rates & { version?: string; notes?: string }) | { error: string } {
  // [program, its leading arguments, script, the script's arguments, extra environment]
  const node = [process.execPath, ['--import', 'tsx']] as const;
  const cmd: Record<Peer, [string, readonly string[], string, string[], NodeJS.ProcessEnv]> = {
    pytorch: ['/usr/bin/python3', [], 'bench/pytorch_cnn.py', [String(os.availableParallelism()), String(batches)], { OPENBLAS_NUM_THREADS: '1' }],
    'jax-js': [...node, 'bench/jax_cnn.ts', [String(batches)], {}],
    tfjs: [...node, 'bench/tfjs_cnn.ts', ['2', '1'], {}],
  };
  const [bin, lead, script, rest, env] = cmd[name];
  if (!fs.existsSync(bin) || !fs.existsSync(path.join(ROOT, script))) return { error: `${bin} or ${script} is missing` };
  const args = [...lead, path.join(ROOT, script), ...rest];
  const r = spawnSync(bin, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20 * 60 * 1000 });
  const last = r.stdout?.trim().split('\n').pop();
  try {
    return JSON.parse(last ?? '');
  } catch {
    return { error: (r.stderr || r.error?.message || 'no output').trim().split('\n').pop() ?? 'failed' };
  }
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('measure kernel and training speed; --compare runs PyTorch, jax-js and TensorFlow.js side by side')
    .option('--compare', 'also run the same model in PyTorch (python3-torch), jax-js and TensorFlow.js, alternating')
    .option('--rounds <n>', 'alternating rounds with --compare (medians are reported)', positiveInt, 3)
    .option('--batches <n>', 'timed training batches of 32 per measurement', positiveInt, 64)
    .option('--json', 'print the results as JSON instead of a table')
    .action(action(async (opts: { compare?: boolean; rounds: number; batches: number; json?: boolean }) => {
      const log = (s: string) => process.stderr.write(s + '\n');
      const all = getBackend() as WasmBackend;
      const one = createWasmBackend(1);
      const gemm: Record<string, { threads1: number; threadsAll: number }> = {};
      for (const [m, k, n] of [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [3872, 288, 64]]) {
        gemm[`${m}x${k}x${n}`] = { threads1: sgemmGflops(one, m, k, n), threadsAll: sgemmGflops(all, m, k, n) };
        log(`sgemm ${m}x${k}x${n}: ${gemm[`${m}x${k}x${n}`].threads1.toFixed(1)} GFLOPS on 1 thread, ${gemm[`${m}x${k}x${n}`].threadsAll.toFixed(1)} on ${all.pool.threads}`);
      }
      one.pool.close();
      setBackend(all);
      const rounds = opts.compare ? opts.rounds : 1;
      const runs: Record<string, (Rates | { error: string })[]> = { tsgrad: [] };
      for (let r = 0; r < rounds; r++) {
        runs.tsgrad.push(await ours(opts.batches));
        log(`round ${r + 1}: tsgrad ${JSON.stringify(runs.tsgrad[r])}`);
        if (!opts.compare) continue;
        for (const p of ['pytorch', 'jax-js'] as Peer[]) {
          (runs[p] ??= []).push(peer(p, opts.batches));
          log(`round ${r + 1}: ${p} ${JSON.stringify(runs[p][r])}`);
        }
      }
      if (opts.compare) runs.tfjs = [peer('tfjs', 1)]; // ~1 image/s: one timed batch is all it gets
      const summary: Record<string, Partial<Rates> & { error?: string; version?: string }> = {};
      for (const [name, list] of Object.entries(runs)) {
        const ok = list.filter((x): x is Rates => !('error' in x));
        if (!ok.length) { summary[name] = { error: (list[0] as { error: string }).error }; continue; }
        summary[name] = Object.fromEntries((['train32', 'train128', 'infer1000'] as const).map((k) => [k, median(ok.map((x) => x[k]).filter((v) => v != null))]));
        const v = (ok[0] as { version?: string }).version;
        if (v) summary[name].version = v;
      }
      const result = {
        date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version,
        simd: all.variant, threads: all.pool.threads, sgemmGflops: gemm, imagesPerSecond: summary,
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), rounds,
      };
      fs.mkdirSync(path.join(ROOT, 'bench'), { recursive: true });
      fs.writeFileSync(path.join(ROOT, 'bench/results.json'), JSON.stringify(result, null, 2) + '\n');
      if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
      else process.stdout.write(formatTable(result) + '\n');
    }));
}

function formatTable(r: { cpu?: string; cores: number; simd: string; threads: number; sgemmGflops: Record<string, { threads1: number; threadsAll: number }>; imagesPerSecond: Record<string, Partial<Rates> & { error?: string }>; peakRssMiB: number; rounds: number }): string {
  const lines = [`tsgrad bench on ${r.cpu} (${r.cores} cores), ${r.simd} SIMD, ${r.threads} threads; medians of ${r.rounds} round(s)`, ''];
  lines.push('| SGEMM (m x k x n) | 1 thread GFLOPS | all threads GFLOPS |', '| --- | ---: | ---: |');
  for (const [shape, g] of Object.entries(r.sgemmGflops)) lines.push(`| ${shape} | ${g.threads1.toFixed(1)} | ${g.threadsAll.toFixed(1)} |`);
  lines.push('', '| reference CNN, images/s | train, batch 32 | train, batch 128 | inference, batch 1000 |', '| --- | ---: | ---: | ---: |');
  const base = r.imagesPerSecond.tsgrad;
  for (const [name, s] of Object.entries(r.imagesPerSecond)) {
    if (s.error) { lines.push(`| ${name} | not run: ${s.error} | | |`); continue; }
    const cell = (k: keyof Rates) => {
      const v = s[k];
      if (v == null || !Number.isFinite(v)) return 'n/a';
      return name === 'tsgrad' ? v.toFixed(0) : `${v < 10 ? v.toFixed(2) : v.toFixed(0)} (tsgrad ${(base[k]! / v).toFixed(v < 10 ? 0 : 2)}x)`;
    };
    lines.push(`| ${name} | ${cell('train32')} | ${cell('train128')} | ${cell('infer1000')} |`);
  }
  lines.push('', `Peak RSS of this process: ${r.peakRssMiB} MiB`);
  return lines.join('\n');
}
