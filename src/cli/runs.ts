// `tsgrad runs`: the runs kept under runs/ with their best validation and test figures, and
// `tsgrad runs compare A B`: two runs' settings and per-epoch figures side by side.

import { Command } from 'commander';
import { formatDuration } from '../train/progress.js';
import { listRuns, openRun, readRun, type RunSummary } from '../train/runs.js';
import { action } from './common.js';

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);

/** Rows of cells as aligned columns (the first left-aligned, the rest right-aligned). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

function bestCell(r: RunSummary): string {
  if (!r.best || !r.best.monitor.startsWith('val_')) return '-';
  return `${r.best.monitor.includes('acc') ? pct(r.best.value) : r.best.value.toFixed(4)} (${r.best.epoch})`;
}

function status(r: RunSummary): string {
  if (r.finished) return r.epochsDone < r.epochs ? `stopped at ${r.epochsDone}` : 'finished';
  return `unfinished, ${r.epochsDone}/${r.epochs}`;
}

function list(opts: { runs: string; json?: boolean }): void {
  const runs = listRuns(opts.runs);
  if (opts.json) {
    process.stdout.write(JSON.stringify(runs) + '\n');
    return;
  }
  if (runs.length === 0) {
    process.stdout.write(`No runs in ${opts.runs}/ yet: tsgrad train writes one there.\n`);
    return;
  }
  const rows = [['run', 'model', 'epochs', 'best val (epoch)', 'train acc', 'test acc', 'test loss', 'time', 'status']];
  for (const r of runs) {
    rows.push([r.name, r.model, `${r.epochsDone}`, bestCell(r), pct(r.final.accuracy), pct(r.test?.accuracy),
      r.test ? r.test.loss.toFixed(4) : '-', formatDuration(r.trainSeconds), status(r)]);
  }
  process.stdout.write(table(rows));
}

function compare(a: string, b: string, opts: { runs: string; json?: boolean }): void {
  const opened = [a, b].map((r) => openRun(r, opts.runs));
  const runs = opened.map((r) => readRun(r.dir));
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
  const metrics = ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr'].filter((m) => histories.some((h) => h[m]));
  const epochs = Math.max(...histories.map((h) => h.loss?.length ?? 0));
  const header = ['epoch', ...metrics.flatMap((m) => names.map((n, i) => `${m} ${i === 0 ? 'A' : 'B'}`))];
  const rows = [header];
  const cell = (m: string, v: number | undefined) => (v === undefined ? '-' : m.includes('acc') ? pct(v) : m === 'lr' ? v.toExponential(2) : v.toFixed(4));
  for (let e = 0; e < epochs; e++) rows.push([String(e + 1), ...metrics.flatMap((m) => histories.map((h) => cell(m, h[m]?.[e])))]);
  rows.push(['test', ...metrics.flatMap((m) => runs.map((r) => (m === 'accuracy' ? pct(r.test?.accuracy) : m === 'loss' && r.test ? r.test.loss.toFixed(4) : '')))]);
  process.stdout.write(`A = ${names[0]}, B = ${names[1]}\n${table(rows)}`);
  process.stdout.write(table([['', ...names], ['best val (epoch)', ...runs.map(bestCell)], ['test accuracy', ...runs.map((r) => pct(r.test?.accuracy))], ['training time', ...runs.map((r) => formatDuration(r.trainSeconds))]]));
}

export function runsCommand(): Command {
  const cmd = new Command('runs')
    .description('list the runs kept by tsgrad train, with their best validation and test figures')
    .option('--runs <dir>', 'folder that holds the runs', 'runs')
    .option('--json', 'print the runs as JSON')
    .action(action((opts: { runs: string; json?: boolean }) => list(opts)));
  cmd.command('compare')
    .description('show two runs side by side: the settings that differ, and their figures epoch by epoch')
    .argument('<a>', 'a run name (under --runs) or folder')
    .argument('<b>', 'another run')
    .option('--runs <dir>', 'folder that holds the runs', 'runs')
    .option('--json', 'print both runs as JSON')
    .action(action((a: string, b: string, opts: { runs: string; json?: boolean }) => compare(a, b, opts)));
  return cmd;
}
