// `tsgrad runs`: the runs kept under runs/, each kind in its own terms (an image classifier by
// epochs, accuracy and test figures; a language model by steps, tokens, validation loss and bits
// per character), and `tsgrad runs compare A B`: two runs' settings and figures side by side.
// The flags are defined in main.ts.

import fs from 'node:fs';
import path from 'node:path';
import { formatDuration } from '../train/progress.js';
import { listRuns, openRun, readRun, type RunSummary } from '../train/runs.js';

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
const fixed = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(4));

/** Rows of cells as aligned columns (the first left-aligned, the rest right-aligned). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

/** A run's summary with what tells its kind apart: counted in epochs, or in steps (a language model). */
interface Described extends RunSummary {
  unit: 'epoch' | 'step';
  /** The run's length in steps, when steps bound it. */
  totalSteps?: number;
  /** Tokens trained on, where the run says how many a step takes. */
  tokens?: number;
  bitsPerChar?: number;
}

function describe(dir: string, summary = readRun(dir)): Described {
  const run = openRun<Record<string, unknown>>(dir);
  const latest = run.latest;
  const unit = (latest ? !/epoch-\d+$/.test(latest.dir) : 'evalEvery' in run.options) ? 'step' : 'epoch';
  if (unit === 'epoch') return { ...summary, unit };
  const { batch, block, steps } = run.options;
  const perStep = latest?.state.extra?.tokensPerStep ?? (typeof batch === 'number' && typeof block === 'number' ? batch * block : undefined);
  const done = summary.steps ?? 0;
  return {
    ...summary, unit, ...(typeof steps === 'number' && { totalSteps: steps }), ...(perStep != null && { tokens: done * perStep }),
  };
}

/** 153,600 -> 153.6k; 12,345,678 -> 12.3M. */
function count(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1e4) return String(n);
  return n < 1e6 ? `${+(n / 1e3).toFixed(1)}k` : n < 1e9 ? `${+(n / 1e6).toFixed(1)}M` : `${+(n / 1e9).toFixed(2)}G`;
}

function bestCell(r: Described): string {
  if (!r.best || !r.best.monitor.startsWith('val_')) return '-';
  const at = r.unit === 'step' ? r.best.step ?? r.best.epoch : r.best.epoch;
  return `${r.best.monitor.includes('acc') ? pct(r.best.value) : fixed(r.best.value)} (${at})`;
}

function status(r: Described): string {
  if (r.unit === 'step') {
    const done = r.steps ?? 0;
    if (r.finished) return r.totalSteps !== undefined && done < r.totalSteps ? `stopped at ${done}` : 'finished';
    return r.totalSteps !== undefined ? `unfinished, ${done}/${r.totalSteps}` : `unfinished at ${done}`;
  }
  if (r.finished) return r.epochsDone < r.epochs ? `stopped at ${r.epochsDone}` : 'finished';
  return `unfinished, ${r.epochsDone}/${r.epochs}`;
}

function classifierTable(runs: Described[]): string {
  const rows = [['run', 'model', 'epochs', 'best val (epoch)', 'train acc', 'test acc', 'test loss', 'time', 'status']];
  for (const r of runs) {
    rows.push([r.name, r.model, `${r.epochsDone}`, bestCell(r), pct(r.final.accuracy), pct(r.test?.accuracy),
      r.test ? fixed(r.test.loss) : '-', formatDuration(r.trainSeconds), status(r)]);
  }
  return table(rows);
}

function languageModelTable(runs: Described[]): string {
  const rows = [['run', 'model', 'steps', 'tokens', 'val loss', 'best val loss (step)', 'bits/char', 'time', 'status']];
  for (const r of runs) {
    rows.push([r.name, r.model, `${r.steps ?? 0}`, count(r.tokens), fixed(r.final.val_loss), bestCell(r),
      r.bitsPerChar === undefined ? '-' : r.bitsPerChar.toFixed(3), formatDuration(r.trainSeconds), status(r)]);
  }
  return table(rows);
}

/** `tsgrad runs`: image classifiers in one table, language models in another. */
export function listRunsCommand(opts: { runs: string; json?: boolean }): void {
  const runs = listRuns(opts.runs).map((r) => describe(path.join(opts.runs, r.name), r));
  if (opts.json) {
    process.stdout.write(JSON.stringify(runs) + '\n');
    return;
  }
  if (runs.length === 0) {
    process.stdout.write(`No runs in ${opts.runs}/ yet: tsgrad train and tsgrad gpt train write them there.\n`);
    return;
  }
  const tables = [runs.filter((r) => r.unit === 'epoch'), runs.filter((r) => r.unit === 'step')];
  process.stdout.write([tables[0].length ? classifierTable(tables[0]) : '', tables[1].length ? languageModelTable(tables[1]) : ''].filter(Boolean).join('\n'));
}

/**
 * A run's figures at each epoch's end (or each evaluation of a run counted in steps), keyed by
 * the epoch or the step, which metrics.jsonl records; null keys when it does not (older runs).
 */
function points(dir: string, unit: Described['unit'], history: Record<string, number[]>): { at: number[] | null; history: Record<string, number[]> } {
  const n = Math.max(0, ...Object.values(history).map((v) => v.length));
  if (unit === 'epoch') return { at: Array.from({ length: n }, (_, i) => i + 1), history };
  const file = path.join(dir, 'metrics.jsonl');
  const steps = fs.existsSync(file)
    ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; step: number }).filter((r) => r.event === 'epoch').map((r) => r.step)
    : [];
  return { at: steps.length === n ? steps : null, history };
}

/** `tsgrad runs compare A B`. */
export function compareRuns(a: string, b: string, opts: { runs: string; json?: boolean }): void {
  const opened = [a, b].map((r) => openRun(r, opts.runs));
  const runs = opened.map((r) => describe(r.dir));
  const options = opened.map((r) => r.options);
  const histories = opened.map((r) => r.latest?.state.history.history ?? {});
  if (opts.json) {
    process.stdout.write(JSON.stringify({ runs, options, histories }) + '\n');
    return;
  }
  const names = runs.map((r) => r.name);
  const keys = [...new Set([...Object.keys(options[0]), ...Object.keys(options[1])])];
  const differ = keys.filter((k) => JSON.stringify(options[0][k]) !== JSON.stringify(options[1][k]));
  process.stdout.write(differ.length ? `Settings that differ:\n${table([['setting', ...names], ...differ.map((k) => [k, ...options.map((o) => JSON.stringify(o[k] ?? null))])])}\n` : 'Same settings (but for the name).\n\n');

  // One row per epoch (or per step at which either run evaluated), each metric for A then B.
  const series = opened.map((r, i) => points(r.dir, runs[i].unit, histories[i]));
  const bySteps = runs.every((r) => r.unit === 'step') && series.every((s) => s.at !== null);
  const unit = runs.every((r) => r.unit === 'epoch') ? 'epoch' : bySteps ? 'step' : 'eval';
  const at = series.map((s) => (bySteps ? s.at! : Array.from({ length: Math.max(0, ...Object.values(s.history).map((v) => v.length)) }, (_, i) => i + 1)));
  const rowKeys = [...new Set(at.flat())].sort((x, y) => x - y);
  const metrics = ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr'].filter((m) => histories.some((h) => h[m]));
  const cell = (m: string, v: number | undefined) => (v === undefined ? '-' : m.includes('acc') ? pct(v) : m === 'lr' ? v.toExponential(2) : fixed(v));
  const rows = [[unit, ...metrics.flatMap((m) => names.map((_, i) => `${m} ${i === 0 ? 'A' : 'B'}`))]];
  for (const k of rowKeys) rows.push([String(k), ...metrics.flatMap((m) => histories.map((h, i) => cell(m, h[m]?.[at[i].indexOf(k)])))]);
  if (runs.some((r) => r.test)) {
    rows.push(['test', ...metrics.flatMap((m) => runs.map((r) => (m === 'accuracy' ? pct(r.test?.accuracy) : m === 'loss' && r.test ? fixed(r.test.loss) : '')))]);
  }
  process.stdout.write(`A = ${names[0]}, B = ${names[1]}\n${table(rows)}`);
  const last = [['', ...names], ['best val', ...runs.map(bestCell)]];
  if (runs.some((r) => r.unit === 'epoch')) last.push(['test accuracy', ...runs.map((r) => pct(r.test?.accuracy))]);
  if (runs.some((r) => r.unit === 'step')) {
    last.push(['steps', ...runs.map((r) => (r.unit === 'step' ? String(r.steps ?? 0) : '-'))], ['tokens', ...runs.map((r) => count(r.tokens))],
      ['bits/char', ...runs.map((r) => (r.bitsPerChar === undefined ? '-' : r.bitsPerChar.toFixed(3)))]);
  }
  last.push(['training time', ...runs.map((r) => formatDuration(r.trainSeconds))]);
  process.stdout.write(table(last));
}
