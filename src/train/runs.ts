// Tracked runs, as experiment trackers keep them: `runs/<name>/` holds
//   config.json     what was asked for (model, flags, seed, threads), written at the start;
//   metrics.jsonl   one JSON record per epoch, and one every N steps (event "epoch" or "step");
//   checkpoints/    epoch-NNN/ folders: a full checkpoint (model, weights, optimizer moments) plus
//                   state.json (epoch, random streams, history, callbacks), for --resume; the newest
//                   and the best are kept;
//   summary.json    best validation and final test figures, times, written at the end.
// Checkpoints are written to a temporary folder and renamed into place, so a crash leaves either
// the previous checkpoint or the new one, never half of one.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import type { RngState } from '../core/rng.js';
import { writeFileAtomic, writeFolderAtomic } from '../io/files.js';
import { getBackend } from '../tensor/engine.js';
import type { Callback, History, Logs, TrainBegin } from './callbacks.js';
import { saveModel } from './persist.js';
import type { Sequential } from './sequential.js';

export interface RunState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  rng: Record<string, RngState>;
  history: History;
  trainSeconds: number;
  best: { epoch: number; monitor: string; value: number } | null;
}

export interface RunSummary {
  name: string;
  model: string;
  epochs: number;
  epochsDone: number;
  finished: boolean;
  best: RunState['best'];
  final: Logs;
  test?: { loss: number; accuracy?: number };
  trainSeconds: number;
}

const STATE = 'state.json';

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

/** Creates a run's folder with its config.json: `fields` (the settings), when, the command and the machine. */
export function startRun(dir: string, fields: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  writeJson(path.join(dir, 'config.json'), {
    ...fields, created: new Date().toISOString(), command: process.argv.slice(2),
    machine: { cpu: cpuModel(), cores: os.availableParallelism(), backend: getBackend().name, threads: process.env.TSGRAD_THREADS ?? 'all', node: process.version },
  });
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

const epochDir = (epoch: number) => `epoch-${String(epoch).padStart(3, '0')}`;

/** The checkpoint folders of a run, oldest first. */
function checkpoints(runDir: string): { epoch: number; dir: string }[] {
  const root = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root)
    .map((f) => /^epoch-(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ epoch: Number(m[1]), dir: path.join(root, m[0]) }))
    .sort((a, b) => a.epoch - b.epoch);
}

/** The newest checkpoint of a run and its state, or null when it has none yet. */
export function latestCheckpoint(runDir: string): { dir: string; state: RunState } | null {
  const last = checkpoints(runDir).at(-1);
  return last ? { dir: last.dir, state: readJson<RunState>(path.join(last.dir, STATE)) } : null;
}

/**
 * The checkpoint folder a path names: itself when it holds a model.json, else the run's best
 * checkpoint (the newest when no validation figure picked one).
 */
export function resolveCheckpoint(p: string): string {
  if (fs.existsSync(path.join(p, 'model.json')) || !fs.existsSync(path.join(p, 'checkpoints'))) return p;
  const all = checkpoints(p);
  check(all.length > 0, `${p}: the run has no checkpoint yet`);
  const best = (readJson<RunState>(path.join(all.at(-1)!.dir, STATE))).best;
  return all.find((c) => c.epoch === best?.epoch)?.dir ?? all.at(-1)!.dir;
}

export interface TrackerOptions {
  /** Write a "step" record every this many optimizer steps (0: never). */
  logEvery: number;
  /** The quantity whose best epoch's checkpoint is kept (and reported), e.g. val_accuracy. */
  monitor: string;
  /** Random streams outside the model to save with each checkpoint (augmentation). */
  rngStates?: () => Record<string, RngState>;
  /** When resuming: the state the run is continued from. */
  resumed?: RunState;
}

/**
 * The callback that keeps a run's folder: metrics.jsonl as training goes, a checkpoint after every
 * epoch (the newest and the best kept). `state` is the run's state so far.
 */
export class RunTracker implements Callback {
  state: RunState;
  private model: Sequential | null = null;
  private steps = 0;
  private epochStart = 0;
  private readonly metrics: string;

  constructor(readonly dir: string, private readonly opts: TrackerOptions) {
    this.metrics = path.join(dir, 'metrics.jsonl');
    this.state = opts.resumed ?? { epoch: 0, step: 0, rng: {}, history: { epoch: [], history: {} }, trainSeconds: 0, best: null };
    fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
    if (opts.resumed) this.truncateMetrics(opts.resumed.epoch);
  }

  setModel(model: unknown): void {
    this.model = model as Sequential;
  }

  onTrainBegin(info: TrainBegin): void {
    this.steps = info.steps;
  }

  onEpochBegin(): void {
    this.epochStart = Date.now();
  }

  onBatchEnd(batch: number, logs: Logs): void {
    const step = this.state.step + batch + 1;
    if (this.opts.logEvery > 0 && step % this.opts.logEvery === 0) {
      this.append({ event: 'step', epoch: this.state.epoch + 1, step, ...logs, lr: this.learningRate() });
    }
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const model = this.model!;
    const s = this.state;
    s.epoch = epoch + 1;
    s.step += this.steps;
    s.trainSeconds += (Date.now() - this.epochStart) / 1000;
    const record = { ...logs, lr: logs.lr ?? this.learningRate() };
    s.history.epoch.push(epoch);
    for (const [k, v] of Object.entries(record)) (s.history.history[k] ??= []).push(v);
    const value = logs[this.opts.monitor];
    const maximise = /acc/i.test(this.opts.monitor);
    if (value !== undefined && (s.best === null || (maximise ? value > s.best.value : value < s.best.value))) {
      s.best = { epoch: s.epoch, monitor: this.opts.monitor, value };
    }
    s.rng = { ...model.getRngStates(), ...this.opts.rngStates?.() };
    this.append({ event: 'epoch', epoch: s.epoch, step: s.step, ...record, seconds: (Date.now() - this.epochStart) / 1000, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) });
    this.checkpoint(model);
  }

  private learningRate(): number | undefined {
    return this.model?.optimizer?.learningRate;
  }

  private append(record: Record<string, unknown>): void {
    fs.appendFileSync(this.metrics, JSON.stringify(record) + '\n');
  }

  /** On resume: drops the records of epochs after the checkpoint (an interrupted epoch's steps). */
  private truncateMetrics(epoch: number): void {
    if (!fs.existsSync(this.metrics)) return;
    const kept = fs.readFileSync(this.metrics, 'utf8').split('\n').filter((line) => {
      if (!line) return false;
      const r = JSON.parse(line) as { event: string; epoch: number };
      return r.epoch < epoch || (r.epoch === epoch && r.event === 'epoch');
    });
    writeFileAtomic(this.metrics, kept.map((l) => l + '\n').join(''));
  }

  /** Writes checkpoints/epoch-NNN (through a temporary folder), then removes all but it and the best. */
  private checkpoint(model: Sequential): void {
    const root = path.join(this.dir, 'checkpoints');
    const name = epochDir(this.state.epoch);
    writeFolderAtomic(path.join(root, name), (tmp) => {
      saveModel(model, tmp);
      writeJson(path.join(tmp, STATE), this.state);
    });
    for (const c of checkpoints(this.dir)) {
      if (c.epoch !== this.state.epoch && c.epoch !== this.state.best?.epoch) fs.rmSync(c.dir, { recursive: true, force: true });
    }
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
  check(fs.existsSync(path.join(dir, 'config.json')), `${dir} is not a tsgrad run (no config.json)`);
  const summary = path.join(dir, 'summary.json');
  if (fs.existsSync(summary)) return readJson<RunSummary>(summary);
  // A CNN run keeps its settings under `options`; a language-model run at the top.
  type Settings = { model: string; epochs: number };
  const stored = readJson<Settings & { options?: Settings }>(path.join(dir, 'config.json'));
  const config = stored.options ?? stored;
  const latest = latestCheckpoint(dir);
  const h = latest?.state.history.history ?? {};
  return {
    name: path.basename(dir), model: config.model, epochs: config.epochs, epochsDone: latest?.state.epoch ?? 0, finished: false,
    best: latest?.state.best ?? null, final: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.at(-1)!])),
    trainSeconds: latest?.state.trainSeconds ?? 0,
  };
}
