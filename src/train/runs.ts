// Tracked runs, as experiment trackers keep them, one layout for every kind of model:
// `runs/<name>/` holds
//   config.json     what was asked for (model, settings, seed, threads), written at the start;
//   metrics.jsonl   a record at each epoch's end (event "epoch"; for a language model, each
//                   evaluation) and one every N steps (event "step");
//   checkpoints/    epoch-NNN/ (a run counted in epochs) or step-NNNNNNN/ (a run counted in steps):
//                   a checkpoint (model.json, weights.safetensors with the optimizer's moments) plus
//                   state.json (epoch, step, random streams, history), for an exact resume; the
//                   newest and the best are kept;
//   summary.json    best validation figure and where, final and test figures, times; at the end.
// Checkpoints are written to a temporary folder and renamed into place, so a crash leaves either
// the previous checkpoint or the new one, never half of one. Runs written before this layout stay
// readable: a language-model run's single checkpoint/ folder, whose state.json held its history
// as a list of evaluations.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import type { RngState } from '../core/rng.js';
import { writeFileAtomic, writeFolderAtomic } from '../io/files.js';
import { getBackend } from '../tensor/engine.js';
import { countsSteps, type Callback, type CallbackModel, type History, type Logs, type StepInfo, type TrainBegin } from './callbacks.js';

export interface RunState {
  /** Epochs completed (evaluations, in a run counted in steps). */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** Seconds of training so far, evaluations and checkpoints included. */
  trainSeconds: number;
  rng: Record<string, RngState>;
  history: History;
  best: { epoch: number; step?: number; monitor: string; value: number } | null;
  /** What a configuration of the trainer keeps besides (a time budget's warm-up end, in seconds). */
  extra?: Record<string, number | null>;
}

export interface RunSummary {
  name: string;
  model: string;
  epochs: number;
  epochsDone: number;
  steps?: number;
  finished: boolean;
  best: RunState['best'];
  final: Logs;
  test?: { loss: number; accuracy?: number };
  trainSeconds: number;
}

const STATE = 'state.json';
const LEGACY_CHECKPOINT = 'checkpoint';

/** The date-and-time stamp in a run's default name, e.g. 2026-11-29T05-36-22. */
export function runStamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

/**
 * The CPU's name, with its family and model number and whether it has AVX-512 where Linux tells
 * (machines all called "AMD EPYC" range from Zen 2 to Zen 4, which PyTorch's speed depends on).
 */
export function cpuModel(): string {
  const name = os.cpus()[0]?.model?.trim() || 'unknown CPU';
  let info = '';
  try {
    info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return name;
  }
  const field = (key: string) => new RegExp(`^${key}\\s*:\\s*(\\S+)`, 'm').exec(info)?.[1];
  const [family, model] = [field('cpu family'), field('model')];
  if (!family || !model) return name;
  return `${name} (family ${family}, model ${model}${/^flags\s*:.*\bavx512f\b/m.test(info) ? ', AVX-512' : ''})`;
}

/**
 * Creates a run's folder with its config.json: `model` (the model's name), `options` (the
 * settings, all a resume needs), when, the command and the machine. An existing run is an error.
 */
export function startRun(dir: string, fields: { model: string; options: object }): void {
  checkNewRun(dir);
  fs.mkdirSync(dir, { recursive: true });
  writeJson(path.join(dir, 'config.json'), {
    ...fields, created: new Date().toISOString(), command: process.argv.slice(2),
    machine: { cpu: cpuModel(), cores: os.availableParallelism(), backend: getBackend().name, threads: process.env.TSGRAD_THREADS ?? 'all', node: process.version },
  });
}

/** Fails unless `dir` is free for a new run (absent or empty). */
export function checkNewRun(dir: string): void {
  check(!fs.existsSync(dir) || fs.readdirSync(dir).length === 0, `run ${dir} already exists: pick another name, or continue it with --resume ${dir}`);
}

/** The run folder `run` names (a path to one, or a name under `root`), its settings and its newest checkpoint. */
export function openRun<Options = Record<string, unknown>>(run: string, root = 'runs') {
  const dir = fs.existsSync(path.join(run, 'config.json')) || path.isAbsolute(run) ? run : path.join(root, run);
  check(fs.existsSync(path.join(dir, 'config.json')), `${run} is not a run (no config.json there or under ${root})`);
  const config = readJson<{ model?: string; options: Options & { model?: string } }>(path.join(dir, 'config.json'));
  return { dir, model: config.model ?? config.options.model!, options: config.options, latest: latestCheckpoint(dir) };
}

/**
 * A run or checkpoint named on a command line: `p` itself when it exists, else the run of that
 * name under `root`, else `p` as it is (for the reader to name what is missing).
 */
export function locateRun(p: string, root = 'runs'): string {
  if (fs.existsSync(p) || path.isAbsolute(p)) return p;
  const named = path.join(root, p);
  return fs.existsSync(named) ? named : p;
}

export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new TsgradError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `not valid JSON (${(e as Error).message})`}`);
  }
}

interface Checkpoint {
  dir: string;
  unit: 'epoch' | 'step';
  /** Epochs or steps done when it was written. */
  at: number;
}

/** The checkpoint folders of a run, oldest first: checkpoints/epoch-NNN or step-NNNNNNN, and a language-model run's old checkpoint/. */
function checkpoints(runDir: string): Checkpoint[] {
  const root = path.join(runDir, 'checkpoints');
  const found: Checkpoint[] = fs.existsSync(root) ? fs.readdirSync(root)
    .map((f) => /^(epoch|step)-(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ dir: path.join(root, m[0]), unit: m[1] as Checkpoint['unit'], at: Number(m[2]) })) : [];
  const legacy = path.join(runDir, LEGACY_CHECKPOINT);
  if (fs.existsSync(path.join(legacy, STATE))) found.push({ dir: legacy, unit: 'step', at: readState(legacy).step });
  return found.sort((a, b) => a.at - b.at);
}

/** A checkpoint's state.json; a language-model run's older form (history as a list of evaluations) is converted. */
function readState(dir: string): RunState {
  const s = readJson<RunState & Partial<LegacyLmState>>(path.join(dir, STATE));
  if (!Array.isArray(s.history)) return s;
  const h = s.history as LegacyLmState['history'];
  const best = h.reduce<LegacyLmState['history'][number] | null>((a, b) => (a && a.valLoss <= b.valLoss ? a : b), null);
  return {
    epoch: h.length, step: s.step, trainSeconds: s.elapsed!, rng: s.rng,
    history: { epoch: h.map((_, i) => i), history: { loss: h.map((r) => r.loss), val_loss: h.map((r) => r.valLoss), lr: h.map((r) => r.lr) } },
    best: best && { epoch: h.indexOf(best) + 1, step: best.step, monitor: 'val_loss', value: best.valLoss },
    extra: { warmupEnd: s.warmupEnd ?? null },
  };
}

interface LegacyLmState {
  elapsed: number;
  warmupEnd: number | null;
  history: { step: number; loss: number; valLoss: number; lr: number }[];
}

/** The newest checkpoint of a run and its state, or null when it has none yet. */
export function latestCheckpoint(runDir: string): { dir: string; state: RunState } | null {
  const last = checkpoints(runDir).at(-1);
  return last ? { dir: last.dir, state: readState(last.dir) } : null;
}

/**
 * The checkpoint folder a path names: itself when it holds a model.json, else the run's best
 * checkpoint (the newest when no validation figure picked one). Anything else is returned as it
 * is, for the reader to name what is missing.
 */
export function resolveCheckpoint(p: string): string {
  if (fs.existsSync(path.join(p, 'model.json'))) return p;
  const all = checkpoints(p);
  if (all.length === 0) {
    check(!fs.existsSync(path.join(p, 'config.json')), `${p}: the run has no checkpoint yet`);
    return p;
  }
  const best = readState(all.at(-1)!.dir).best;
  return all.find((c) => best && c.at === (c.unit === 'epoch' ? best.epoch : best.step))?.dir ?? all.at(-1)!.dir;
}

export interface TrackerOptions {
  /** The quantity whose best epoch's checkpoint is kept (and reported), e.g. val_accuracy or val_loss. */
  monitor: string;
  /** Write a "step" record every this many optimizer steps (0 or absent: never). */
  logEvery?: number;
  /** Random streams outside the model to save with each checkpoint (augmentation). */
  rngStates?: () => Record<string, RngState>;
  /** What else the trainer's configuration keeps across a resume (see RunState.extra). */
  extra?: () => Record<string, number | null>;
  /** When resuming: the state the run continues from (its newest checkpoint's). */
  resumed?: RunState;
  /** For a new run whose folder has no config.json yet: what to write there (see startRun). */
  config?: { model: string; options: object };
}

/**
 * Keeps a run's folder as training goes (the trainer's `run`): metrics.jsonl, and at each epoch's
 * end a checkpoint (the newest and the best kept). `state` is the run's state so far.
 */
export class RunTracker implements Callback {
  state: RunState;
  private model: CallbackModel | null = null;
  private bySteps = false;
  private epochStart = 0;
  private readonly metrics: string;

  constructor(readonly dir: string, private readonly opts: TrackerOptions) {
    this.metrics = path.join(dir, 'metrics.jsonl');
    this.state = opts.resumed ?? { epoch: 0, step: 0, trainSeconds: 0, rng: {}, history: { epoch: [], history: {} }, best: null };
    if (opts.resumed) this.truncateMetrics(opts.resumed.step);
    else if (opts.config && !fs.existsSync(path.join(dir, 'config.json'))) startRun(dir, opts.config);
  }

  setModel(model: CallbackModel): void {
    this.model = model;
  }

  onTrainBegin(info: TrainBegin): void {
    this.bySteps = countsSteps(info);
  }

  onEpochBegin(): void {
    this.epochStart = Date.now();
  }

  onBatchEnd(_batch: number, logs: Logs, info: StepInfo): void {
    const every = this.opts.logEvery ?? 0;
    if (every > 0 && info.step % every === 0) this.append({ event: 'step', epoch: this.state.epoch + 1, step: info.step, ...logs, lr: info.lr });
  }

  onEpochEnd(epoch: number, logs: Logs, info: StepInfo): void {
    const s = this.state;
    s.epoch++;
    s.step = info.step;
    s.trainSeconds = info.seconds;
    const record = { ...logs, lr: logs.lr ?? info.lr };
    s.history.epoch.push(epoch);
    for (const [k, v] of Object.entries(record)) (s.history.history[k] ??= []).push(v);
    const value = logs[this.opts.monitor];
    const maximise = /acc/i.test(this.opts.monitor);
    if (value !== undefined && (s.best === null || (maximise ? value > s.best.value : value < s.best.value))) {
      s.best = { epoch: s.epoch, step: s.step, monitor: this.opts.monitor, value };
    }
    s.rng = { ...this.model!.getRngStates(), ...this.opts.rngStates?.() };
    if (this.opts.extra) s.extra = this.opts.extra();
    this.append({
      event: 'epoch', epoch: s.epoch, step: s.step, ...record, seconds: (Date.now() - this.epochStart) / 1000,
      elapsed: info.seconds, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    });
  }

  /** Writes checkpoints/<epoch-NNN|step-NNNNNNN> through a temporary folder, then removes all but it and the best; returns its path. */
  checkpoint(): string {
    const s = this.state;
    const dir = path.join(this.dir, 'checkpoints', this.bySteps ? `step-${String(s.step).padStart(7, '0')}` : `epoch-${String(s.epoch).padStart(3, '0')}`);
    writeFolderAtomic(dir, (tmp) => {
      this.model!.save(tmp);
      writeJson(path.join(tmp, STATE), s);
    });
    const best = s.best && (this.bySteps ? s.best.step : s.best.epoch);
    for (const c of checkpoints(this.dir)) {
      if (c.dir !== dir && c.at !== best) fs.rmSync(c.dir, { recursive: true, force: true });
    }
    return dir;
  }

  private append(record: Record<string, unknown>): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.appendFileSync(this.metrics, JSON.stringify(record) + '\n');
  }

  /** On resume: drops the records after the checkpoint's step (an interrupted epoch's). */
  private truncateMetrics(step: number): void {
    if (!fs.existsSync(this.metrics)) return;
    const kept = fs.readFileSync(this.metrics, 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as { step: number }).step <= step);
    writeFileAtomic(this.metrics, kept.map((l) => l + '\n').join(''));
  }
}

/** Every run under `root` that has a config.json, newest first, with its summary or progress so far. */
export function listRuns(root: string): RunSummary[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root)
    .filter((name) => fs.existsSync(path.join(root, name, 'config.json')))
    .map((name) => readRun(path.join(root, name)))
    .sort((a, b) => (a.name < b.name ? 1 : -1));
}

/** A run's summary.json, or for an unfinished run the same figures from its newest checkpoint. */
export function readRun(dir: string): RunSummary {
  const file = path.join(dir, 'summary.json');
  return fs.existsSync(file) ? readJson<RunSummary>(file) : summarize(dir, { finished: false });
}

/** Writes a run's summary.json once it is over: its figures from the newest checkpoint, and `fields` (test figures...). */
export function writeSummary(dir: string, fields: { finished: boolean } & Record<string, unknown>): RunSummary {
  const summary = summarize(dir, fields);
  writeJson(path.join(dir, 'summary.json'), summary);
  return summary;
}

function summarize(dir: string, fields: { finished: boolean } & Record<string, unknown>): RunSummary {
  const run = openRun<{ epochs?: number }>(dir);
  const s = run.latest?.state;
  const h = s?.history.history ?? {};
  return {
    name: path.basename(dir), model: run.model, epochs: run.options.epochs ?? s?.epoch ?? 0, epochsDone: s?.epoch ?? 0, steps: s?.step ?? 0,
    best: s?.best ?? null, final: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.at(-1)!])), trainSeconds: s?.trainSeconds ?? 0, ...fields,
  };
}
