// Whole processes, launch to exit: `tsgrad gpt train --steps N` (the character GPT on the Brown
// corpus) against the same model trained the same way in PyTorch (bench/pytorch_gpt_train.py, on
// the same text written to a file first), alternating, `--rounds` rounds, medians. Each process
// runs under GNU time for its wall time and peak RSS. Each process's time is split at its first
// step: launch to first step (tsgrad: when its step-10 record arrives, less the `elapsed` it
// reports; PyTorch: its own clock, which starts after the interpreter), then the steps, the
// evaluation, the checkpoint and the sample to exit.
// Usage: node --import tsx bench/whole-gpt.ts [--steps 100] [--rounds 3] [--tsgrad bin/tsgrad.js of another checkout, to compare]

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBrown } from '../src/data/text.js';
import { cpuModel } from '../src/train/runs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const steps = arg('--steps', 100), rounds = arg('--rounds', 3);
const bin = process.argv.includes('--tsgrad') ? path.resolve(process.argv[process.argv.indexOf('--tsgrad') + 1]) : path.join(ROOT, 'bin/tsgrad.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Timed {
  wall: number;
  peakMiB: number;
  /** Seconds after launch at which each stdout line arrived, with the line. */
  lines: [number, string][];
}

/** Runs a command under GNU time; its wall seconds, peak RSS and stdout lines with their arrival times. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const report = path.join(os.tmpdir(), `whole-gpt-time-${process.pid}`);
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', report, command, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  const lines: [number, string][] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const now = (performance.now() - t0) / 1000;
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const l of parts) lines.push([now, l]);
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  return new Promise((resolve, reject) => child.on('close', (code) => {
    if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.trim().split('\n').pop()}`));
    const [wall, kib] = fs.readFileSync(report, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    fs.rmSync(report, { force: true });
    resolve({ wall, peakMiB: Math.round(kib / 1024), lines });
  }));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whole-gpt-'));
const textFile = path.join(dir, 'brown.txt');
fs.writeFileSync(textFile, loadBrown());
interface Run { wall: number; peakMiB: number; start: number; rest: number; valLoss: number }
const results: { tsgrad: Run[]; pytorch: Run[] } = { tsgrad: [], pytorch: [] };
try {
  for (let r = 0; r < rounds; r++) {
    const out = path.join(dir, `run-${r}`);
    const ours = await timed(process.execPath, [bin, 'gpt', 'train', '--steps', String(steps), '--out', out, '--json']);
    const records = ours.lines.map(([t, l]) => [t, JSON.parse(l)] as [number, Record<string, number | string>]);
    const [arrived, tenth] = records.find(([, o]) => o.event === 'step')!;
    const done = records.find(([, o]) => o.event === 'done')![1];
    // The 10th step's record arrives `elapsed` seconds after training began; steps run at one speed.
    const start = arrived - (tenth.elapsed as number);
    results.tsgrad.push({ wall: ours.wall, peakMiB: ours.peakMiB, start, rest: ours.wall - start, valLoss: done.valLoss as number });
    console.error(`round ${r + 1}: tsgrad ${JSON.stringify(results.tsgrad.at(-1))}`);
    const theirs = await timed('/usr/bin/python3', [path.join(ROOT, 'bench/pytorch_gpt_train.py'), textFile, String(steps), String(os.availableParallelism()), dir], { OPENBLAS_NUM_THREADS: '1' });
    const p = JSON.parse(theirs.lines.at(-1)![1]);
    results.pytorch.push({ wall: theirs.wall, peakMiB: theirs.peakMiB, start: p.startSeconds, rest: theirs.wall - p.startSeconds, valLoss: p.valLoss });
    console.error(`round ${r + 1}: pytorch ${JSON.stringify(results.pytorch.at(-1))}`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
const m = (who: 'tsgrad' | 'pytorch', k: keyof Run) => median(results[who].map((x) => x[k]));
console.log(`gpt train --steps ${steps}, whole processes on ${cpuModel()} (${os.availableParallelism()} cores), medians of ${rounds} alternating rounds`);
console.log('| | whole process, s | launch to first step, s | first step to exit, s | peak RSS, MiB | validation loss |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const who of ['tsgrad', 'pytorch'] as const) {
  console.log(`| ${who} | ${m(who, 'wall').toFixed(2)} | ${m(who, 'start').toFixed(2)} | ${m(who, 'rest').toFixed(2)} | ${m(who, 'peakMiB')} | ${m(who, 'valLoss').toFixed(3)} |`);
}
console.log(`tsgrad is ${(m('pytorch', 'wall') / m('tsgrad', 'wall')).toFixed(2)}x PyTorch's speed as a whole process`);
