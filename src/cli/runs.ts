// `tsgrad runs`: the runs kept under runs/, each kind in its own terms (an image classifier by
// epochs, accuracy and test figures; a language model by steps, tokens, validation loss and bits
// per character; a captioner by steps, images and exact-match accuracy), and `tsgrad runs compare A B`: two runs' settings and figures side by side.
// The flags are defined in main.ts. A run may be in progress, killed, or damaged: its files are
// checked (core/validate's Doc) before they are used, and a run that cannot be read is listed
// with one line saying why, never a crash.

import fs from 'node:fs';
import path from 'node:path';
import { TsgradError } from '../core/errors.js';
import type { Doc } from '../core/validate.js';
import { readJsonFile } from '../core/files.js';
import { formatDuration } from '../train/progress.js';
import { openRun, readRun, type RunSummary } from '../train/runs.js';

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
  /** Tokens (or, for the captioner, images) trained on, where the run says how many a step takes. */
  tokens?: number;
  images?: number;
  bitsPerChar?: number;
}

function describe(dir: string, read = readRun(dir)): Described {
  const summary = { ...read, name: path.basename(dir) }; // the folder's name, the one commands take, even for a run moved or copied
  const run = openRun<Record<string, unknown>>(dir);
  const latest = run.latest;
  const unit = (latest ? !/epoch-\d+$/.test(latest.dir) : 'evalEvery' in run.options) ? 'step' : 'epoch';
  if (unit === 'epoch') return { ...summary, unit };
  const { batch, block, steps } = run.options;
  const done = summary.steps ?? 0;
  const totalSteps = typeof steps === 'number' ? { totalSteps: steps } : {};
  if (summary.model === 'captioner') {
    const images = latest?.state.extra?.imagesPerStep ?? (typeof batch === 'number' ? batch : null);
    return { ...summary, unit, ...totalSteps, ...(images != null && { images: done * images }) };
  }
  const perStep = latest?.state.extra?.tokensPerStep ?? (typeof batch === 'number' && typeof block === 'number' ? batch * block : undefined);
  return { ...summary, unit, ...totalSteps, ...(perStep != null && { tokens: done * perStep }) };
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
  // The one place the two figures can differ: say which weights each is.
  return table(rows) + 'test acc and loss: the final weights (tsgrad evaluate RUN reads the best checkpoint)\n';
}

function languageModelTable(runs: Described[]): string {
  const rows = [['run', 'model', 'steps', 'tokens', 'val loss', 'best val loss (step)', 'bits/char', 'time', 'status']];
  for (const r of runs) {
    rows.push([r.name, r.model, `${r.steps ?? 0}`, count(r.tokens), fixed(r.final.val_loss), bestCell(r),
      r.bitsPerChar === undefined ? '-' : r.bitsPerChar.toFixed(3), formatDuration(r.trainSeconds), status(r)]);
  }
  return table(rows);
}

function captionerTable(runs: Described[]): string {
  const rows = [['run', 'model', 'steps', 'images', 'val acc', 'best val acc (step)', 'test acc', 'time', 'status']];
  for (const r of runs) {
    rows.push([r.name, r.model, `${r.steps ?? 0}`, count(r.images), pct(r.final.val_accuracy), bestCell(r), pct(r.test?.accuracy), formatDuration(r.trainSeconds), status(r)]);
  }
  return table(rows) + 'test acc: the best checkpoint, exact matches (tsgrad caption eval RUN)\n';
}

const isObject = (d: Doc) => typeof d.value === 'object' && d.value !== null && !Array.isArray(d.value);

/** Checks a run's history as state.json keeps it: figures by name, each a list of numbers (or an older language-model run's list of evaluations). */
function checkHistory(h: Doc): void {
  if (Array.isArray(h.value)) return void h.array().forEach((e) => ['step', 'loss', 'valLoss', 'lr'].forEach((k) => e.at(k).number()));
  h.object();
  h.at('epoch').array();
  for (const k of Object.keys(h.at('history').object())) h.at('history').at(k).array().forEach((v) => v.number());
}

function checkBest(b: Doc): void {
  if (!b.present) return;
  b.object();
  b.at('epoch').int({ min: 0 });
  b.at('step').optional()?.int({ min: 0 });
  b.at('monitor').string();
  b.at('value').number();
}

/** The newest checkpoint folder of a run, as train/runs.ts finds it (the highest epoch-NNN or step-NNNNNNN, or an old checkpoint/). */
function newestCheckpoint(dir: string): string | undefined {
  const root = path.join(dir, 'checkpoints');
  const named = fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()
    ? fs.readdirSync(root).filter((f) => /^(epoch|step)-\d+$/.test(f)).sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1])) : [];
  if (named.length) return path.join(root, named.at(-1)!);
  return fs.existsSync(path.join(dir, 'checkpoint', 'state.json')) ? path.join(dir, 'checkpoint') : undefined;
}

/**
 * Checks the files of a run that `tsgrad runs` reads (config.json, summary.json, the newest
 * checkpoint's state.json) before anything is read from them; throws one line naming the file
 * and what is wrong with it.
 */
function checkRunFiles(dir: string): void {
  const config = readJsonFile(path.join(dir, 'config.json'));
  config.object();
  config.at('options').object();
  if (!config.at('model').optional()?.string()) config.at('options').at('model').string();
  const summary = path.join(dir, 'summary.json');
  if (fs.existsSync(summary)) {
    const s = readJsonFile(summary);
    s.object();
    s.at('model').string();
    s.at('epochs').number({ min: 0 });
    s.at('epochsDone').number({ min: 0 });
    s.at('steps').optional()?.number({ min: 0 });
    s.at('finished').boolean();
    s.at('trainSeconds').number({ min: 0 });
    checkBest(s.at('best'));
    for (const k of Object.keys(s.at('final').object())) s.at('final').at(k).number();
    const test = s.at('test').optional();
    if (test) {
      test.at('loss').number();
      test.at('accuracy').optional()?.number();
    }
  }
  const latest = newestCheckpoint(dir);
  if (latest) {
    const state = readJsonFile(path.join(latest, 'state.json'));
    state.object();
    state.at('step').int({ min: 0 });
    if (!Array.isArray(state.at('history').value)) {
      state.at('epoch').int({ min: 0 });
      state.at('trainSeconds').number({ min: 0 });
      checkBest(state.at('best'));
      const extra = state.at('extra').optional();
      if (extra) for (const k of Object.keys(extra.object())) if (extra.at(k).present) extra.at(k).number();
    }
    checkHistory(state.at('history'));
    if (!isObject(state.at('rng'))) state.at('rng').object();
  }
}

/** A run folder described, or the one line that says why it cannot be read (a run killed or damaged). */
function inspect(dir: string): { run: Described } | { problem: string } {
  try {
    checkRunFiles(dir);
    return { run: describe(dir) };
  } catch (e) {
    if (!(e instanceof TsgradError)) throw e;
    // The files' messages name the file by its path; within the run, its name is enough.
    return { problem: e.message.split(dir + path.sep).join('') };
  }
}

/** The runs under `root` (folders with a config.json), newest name first, each described or with its problem. */
function runsUnder(root: string): { name: string; run?: Described; problem?: string }[] {
  const stat = fs.statSync(root, { throwIfNoEntry: false });
  if (!stat) return [];
  if (!stat.isDirectory()) throw new TsgradError(`--runs ${root} is a file, not a folder of runs`);
  return fs.readdirSync(root)
    .filter((name) => fs.existsSync(path.join(root, name, 'config.json')))
    .sort((a, b) => (a < b ? 1 : -1))
    .map((name) => ({ name, ...inspect(path.join(root, name)) }));
}

/** `tsgrad runs`: image classifiers in one table, language models in another, then the runs that cannot be read, one line each. */
export function listRunsCommand(opts: { runs: string; json?: boolean }): void {
  const all = runsUnder(opts.runs);
  const runs = all.flatMap((r) => (r.run ? [r.run] : []));
  const broken = all.filter((r) => r.problem !== undefined);
  if (opts.json) {
    process.stdout.write(JSON.stringify(all.map((r) => r.run ?? { name: r.name, unreadable: r.problem })) + '\n');
    return;
  }
  if (all.length === 0) {
    process.stdout.write(`No runs in ${opts.runs}/ yet: tsgrad train and tsgrad gpt train write them there.\n`);
    return;
  }
  const captioners = runs.filter((r) => r.model === 'captioner');
  const others = runs.filter((r) => r.model !== 'captioner');
  const tables: [Described[], (runs: Described[]) => string][] = [
    [others.filter((r) => r.unit === 'epoch'), classifierTable], [others.filter((r) => r.unit === 'step'), languageModelTable], [captioners, captionerTable],
  ];
  const notes = broken.length ? `Runs that cannot be read (killed while writing, or damaged):\n${broken.map((r) => `  ${r.name}: ${r.problem}\n`).join('')}` : '';
  process.stdout.write([...tables.map(([list, show]) => (list.length ? show(list) : '')), notes].filter(Boolean).join('\n'));
}

/**
 * A run's figures at each epoch's end (or each evaluation of a run counted in steps), keyed by
 * the epoch or the step, which metrics.jsonl records; null keys when it does not (older runs).
 */
function points(dir: string, unit: Described['unit'], history: Record<string, number[]>): { at: number[] | null; history: Record<string, number[]> } {
  const n = Math.max(0, ...Object.values(history).map((v) => v.length));
  if (unit === 'epoch') return { at: Array.from({ length: n }, (_, i) => i + 1), history };
  return { at: evaluationSteps(dir, n), history };
}

/**
 * The steps of metrics.jsonl's "epoch" records, if it has exactly `n` of them; null when it does
 * not, or is missing or damaged (a line torn by a kill, garbage): the figures are then shown by
 * evaluation, not by step.
 */
function evaluationSteps(dir: string, n: number): number[] | null {
  const file = path.join(dir, 'metrics.jsonl');
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) return null;
  const steps: number[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      return null;
    }
    const { event, step } = (r ?? {}) as { event?: unknown; step?: unknown };
    if (event !== 'epoch') continue;
    if (!Number.isSafeInteger(step)) return null;
    steps.push(step as number);
  }
  return steps.length === n ? steps : null;
}

/** `tsgrad runs compare A B`. */
export function compareRuns(a: string, b: string, opts: { runs: string; json?: boolean }): void {
  // Where openRun looks, checked first: its files are read only once they are known to be sound.
  const runs = [a, b].map((r) => {
    const dir = fs.existsSync(path.join(r, 'config.json')) || path.isAbsolute(r) ? r : path.join(opts.runs, r);
    if (!fs.existsSync(path.join(dir, 'config.json'))) return openRun(r, opts.runs) as never; // its error names what is missing
    const seen = inspect(dir);
    if ('problem' in seen) throw new TsgradError(`run ${r} cannot be read: ${seen.problem}`);
    return seen.run;
  });
  const opened = [a, b].map((r) => openRun(r, opts.runs));
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
