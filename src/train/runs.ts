// Tracked runs, as experiment trackers keep them, one layout for every kind of model:
// `runs/<name>/` holds
//   config.json     what was asked for (model, settings, seed, threads), written at the start;
//   metrics.jsonl   a record at each epoch's end (event "epoch"; for a language model, each
//                   evaluation) and one every N steps (event "step", with the examples per second);
//   checkpoints/    epoch-NNN/ (a run counted in epochs) or step-NNNNNNN/ (a run counted in steps):
//                   a checkpoint (model.json, weights.safetensors with the optimizer's moments) plus
//                   state.json (epoch, step, random streams, history), for an exact resume; the
//                   newest and the best are kept;
//   summary.json    best validation figure and where, final and test figures, times; at the end.
// Checkpoints are written to a temporary folder and renamed into place, so a crash leaves either
// the previous checkpoint or the new one, never half of one; what a killed process left
// (temporaries, a checkpoint moved aside by an interrupted swap) is cleaned up or put back when the
// run is opened again and before each checkpoint. On resume metrics.jsonl is cut back to the
// checkpoint's step (a torn last line, from a kill inside a write, is dropped), so a resumed run's
// records are an uninterrupted run's. A run with no checkpoint yet (killed or stopped in its first
// epoch) may be started again under its name. Every run file is read through core/validate.ts:
// a damaged one is one line naming the file and the field. TSGRAD_CRASH_AT (tests only) kills the
// process at a named point: see crashPoint. Runs written before this layout stay
// readable: a language-model run's single checkpoint/ folder, whose state.json held its history
// as a list of evaluations.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import type { RngState } from '../core/rng.js';
import { Doc, parseUserNumber } from '../core/validate.js';
import { cleanTemporaries, otherLiveProcess, writeFileAtomic, writeFolderAtomic } from '../io/files.js';
import { readInputFile, readJsonFile } from '../core/files.js';
import { getBackend } from '../tensor/engine.js';
import { countsSteps, type Callback, type CallbackModel, type History, type Logs, type StepInfo, type TrainBegin } from './callbacks.js';

/** Where a run stands, as each checkpoint's state.json stores it: enough to resume exactly. */
export interface RunState {
  /** Epochs completed (evaluations, in a run counted in steps). */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** Seconds of training so far, evaluations and checkpoints included. */
  trainSeconds: number;
  /**
   * Each random stream's state (shuffling, dropout, ...), by name, so a resumed run draws the same
   * numbers.
   */
  rng: Record<string, RngState>;
  /**
   * The figures of every epoch so far (or evaluation, in a run counted in steps), as Keras's
   * History.
   */
  history: History;
  /**
   * The best value of the monitored figure so far and where it was reached, or null before the
   * first.
   */
  best: {
    /** The epoch (evaluation) it was reached at, counted from 1. */
    epoch: number;
    /** The optimizer step it was reached at. */
    step?: number;
    /** The figure monitored, such as `val_loss` or `val_acc`. */
    monitor: string;
    /** Its best value: the highest for an accuracy, else the lowest. */
    value: number;
  } | null;
  /** What a configuration of the trainer keeps besides (a time budget's warm-up end, in seconds). */
  extra?: Record<string, number | null>;
  /** Steps whose update was dropped for a NaN or Inf loss or gradient (onNan: 'skip'). */
  skipped?: number;
}

/**
 * A run's summary.json (or the same figures from its newest checkpoint while it is unfinished), as
 * `tsgrad runs` lists it.
 */
export interface RunSummary {
  /** The run's name (its folder's name). */
  name: string;
  /** The model's name (for example `reference`, `lenet5`, `gpt`). */
  model: string;
  /** Epochs asked for (the run's `epochs` option; for a run without one, the epochs completed). */
  epochs: number;
  /** Epochs completed. */
  epochsDone: number;
  /** Optimizer steps taken so far. */
  steps?: number;
  /** Whether training ran to its end (false for a run stopped or still running). */
  finished: boolean;
  /** The best value of the monitored figure and where it was reached, or null. */
  best: RunState['best'];
  /** The last epoch's figures (loss, accuracy, validation figures, learning rate, ...). */
  final: Logs;
  /** The test set's figures after training, when measured. */
  test?: {
    /** Mean loss on the test set. */
    loss: number;
    /** Fraction of test examples classified correctly, for a classifier. */
    accuracy?: number;
  };
  /** Seconds of training, evaluations and checkpoints included. */
  trainSeconds: number;
  /** Steps dropped for a NaN or Inf loss or gradient (onNan: 'skip'), when there were any. */
  skippedSteps?: number;
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
 * settings, all a resume needs), when, the command and the machine. An existing run is an error,
 * except one with no checkpoint yet, which is started again (see checkNewRun).
 */
export function startRun(dir: string, fields: { model: string; options: object }): void {
  checkNewRun(dir);
  if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new TsgradError(`cannot make the run folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is a part of its path a file?`);
  }
  crashPoint('start');
  writeJson(path.join(dir, 'config.json'), {
    ...fields, created: new Date().toISOString(), command: process.argv.slice(2),
    machine: { cpu: cpuModel(), cores: os.availableParallelism(), backend: getBackend().name, threads: process.env.TSGRAD_THREADS ?? 'all', node: process.version },
  });
}

/**
 * Fails unless `dir` is free for a new run: absent, empty, or a run that never wrote a checkpoint
 * (killed or stopped in its first epoch: nothing of it is worth keeping, so starting it again
 * under its name must work). Nothing is written.
 */
export function checkNewRun(dir: string): void {
  if (!fs.existsSync(dir)) return;
  check(fs.statSync(dir).isDirectory(), `${dir} is a file, not a run folder: pick another name`);
  cleanTemporaries(path.join(dir, 'checkpoints'));
  const restartable = checkpoints(dir).length === 0 && !fs.existsSync(path.join(dir, 'summary.json'));
  check(fs.readdirSync(dir).length === 0 || restartable, `run ${dir} already exists: pick another name, or continue it with --resume ${dir}`);
}

/** A run's config.json: the model's name and the settings, as a Doc for the command to validate. */
export interface RunConfig {
  model: string;
  options: Doc;
}

function readConfig(file: string): RunConfig {
  const doc = readJsonFile(file);
  doc.object();
  const options = doc.at('options');
  options.object();
  const model = doc.at('model').optional()?.string() ?? options.at('model').string();
  return { model, options };
}

/**
 * The run folder `run` names (a path to one, or a name under `root`), its settings and its
 * newest checkpoint. Reads only: the tracker cleans up what a killed process left.
 */
export function openRun<Options = Record<string, unknown>>(run: string, root = 'runs') {
  const dir = fs.existsSync(path.join(run, 'config.json')) || path.isAbsolute(run) ? run : path.join(root, run);
  check(fs.existsSync(path.join(dir, 'config.json')), `${run} is not a run (no config.json there or under ${root})`);
  const config = readConfig(path.join(dir, 'config.json'));
  return {
    /** The run's folder. */
    dir,
    /** The model's name, from config.json. */
    model: config.model,
    /** The settings the run was started with (config.json's `options`), all a resume needs. */
    options: config.options.value as Options & {
      /** The model's name, when the settings name it. */
      model?: string;
    },
    /** The same settings as a Doc, for a command to validate field by field. */
    optionsDoc: config.options,
    /** The newest checkpoint and its state, or null before the first. */
    latest: latestCheckpoint(dir),
  };
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

/**
 * The crash points of a run, for the crash tests: with TSGRAD_CRASH_AT=point:N (N from 1, default
 * 1) the process kills itself with SIGKILL the Nth time it reaches `point`: start (folder made,
 * config.json not yet written), step (after a step's record), metrics-torn (half a metrics line
 * written), epoch (the epoch's record written, its checkpoint not), checkpoint-fill (model saved in
 * the temporary folder, state.json not), checkpoint-swap (between the swap's two renames),
 * checkpoint-prune (the new checkpoint in place, older ones not yet removed), summary (after the
 * last checkpoint, before the summary).
 */
export function crashPoint(point: CrashPoint): void {
  const at = crashAt();
  if (!at || at.point !== point || ++crashCounts[point] !== at.count) return;
  process.kill(process.pid, 'SIGKILL');
}

const CRASH_POINTS = ['start', 'step', 'metrics-torn', 'epoch', 'checkpoint-fill', 'checkpoint-swap', 'checkpoint-prune', 'summary'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];
const crashCounts = Object.fromEntries(CRASH_POINTS.map((p) => [p, 0])) as Record<CrashPoint, number>;
let crashSpec: { point: CrashPoint; count: number } | null | undefined;

function crashAt() {
  if (crashSpec !== undefined) return crashSpec;
  const v = process.env.TSGRAD_CRASH_AT;
  if (!v) return (crashSpec = null);
  const [point, n] = v.split(':');
  check(CRASH_POINTS.includes(point as CrashPoint), `TSGRAD_CRASH_AT: "${point}" is not a crash point (${CRASH_POINTS.join(', ')})`);
  return (crashSpec = { point: point as CrashPoint, count: n === undefined ? 1 : parseUserNumber(n, 'TSGRAD_CRASH_AT\'s count', { int: true, min: 1 }) });
}

interface Checkpoint {
  dir: string;
  unit: 'epoch' | 'step';
  /** Epochs or steps done when it was written. */
  at: number;
}

/**
 * The checkpoint folders of a run, oldest first: checkpoints/epoch-NNN or step-NNNNNNN, and a
 * language-model run's old checkpoint/. A checkpoint that a killed swap left moved aside
 * (name.old-PID, nothing under its name) counts under its name's place until the tracker puts it back.
 */
function checkpoints(runDir: string): Checkpoint[] {
  const root = path.join(runDir, 'checkpoints');
  const names = fs.existsSync(root) ? fs.readdirSync(root) : [];
  const found: Checkpoint[] = names
    .map((f) => /^(epoch|step)-(\d+)(?:\.old-(\d+))?$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null && (m[3] === undefined || (!names.includes(`${m[1]}-${m[2]}`) && !otherLiveProcess(Number(m[3])))))
    .map((m) => ({ dir: path.join(root, m[0]), unit: m[1] as Checkpoint['unit'], at: Number(m[2]) }));
  const legacy = path.join(runDir, LEGACY_CHECKPOINT);
  if (fs.existsSync(path.join(legacy, STATE))) found.push({ dir: legacy, unit: 'step', at: readState(legacy).step });
  return found.sort((a, b) => a.at - b.at);
}

/** A checkpoint's state.json, validated; a language-model run's older form (history as a list of evaluations) is converted. */
function readState(dir: string): RunState {
  const doc = readJsonFile(path.join(dir, STATE));
  doc.object();
  const count = (d: Doc) => d.int({ min: 0 });
  const rng = (d: Doc) => Object.fromEntries(Object.keys(d.object()).map((k) => {
    const parts = d.at(k).array({ max: 4 });
    if (parts.length !== 4) d.at(k).fail(`must be 4 integers, got ${parts.length}`);
    return [k, parts.map((p) => p.int({ min: -(2 ** 32), max: 2 ** 32 })) as RngState];
  }));
  const numbers = (d: Doc) => d.array().map((v) => v.number());
  const h = doc.at('history');
  if (Array.isArray(h.value)) {
    const records = h.array().map((r) => ({ step: count(r.at('step')), loss: r.at('loss').number(), valLoss: r.at('valLoss').number(), lr: r.at('lr').number() }));
    const best = records.reduce<typeof records[number] | null>((a, b) => (a && a.valLoss <= b.valLoss ? a : b), null);
    return {
      epoch: records.length, step: count(doc.at('step')), trainSeconds: doc.at('elapsed').number({ min: 0 }), rng: rng(doc.at('rng')),
      history: { epoch: records.map((_, i) => i), history: { loss: records.map((r) => r.loss), val_loss: records.map((r) => r.valLoss), lr: records.map((r) => r.lr) } },
      best: best && { epoch: records.indexOf(best) + 1, step: best.step, monitor: 'val_loss', value: best.valLoss },
      extra: { warmupEnd: doc.at('warmupEnd').optional()?.number() ?? null },
    };
  }
  const extra = doc.at('extra').optional();
  const best = doc.at('best').optional();
  return {
    epoch: count(doc.at('epoch')), step: count(doc.at('step')), trainSeconds: doc.at('trainSeconds').number({ min: 0 }), rng: rng(doc.at('rng')),
    history: { epoch: h.at('epoch').array().map(count), history: Object.fromEntries(Object.keys(h.at('history').object()).map((k) => [k, numbers(h.at('history').at(k))])) },
    best: best ? { epoch: count(best.at('epoch')), ...(best.at('step').present && { step: count(best.at('step')) }), monitor: best.at('monitor').string(), value: best.at('value').number() } : null,
    ...(extra && { extra: Object.fromEntries(Object.keys(extra.object()).map((k) => [k, extra.at(k).optional()?.number() ?? null])) }),
    ...(doc.at('skipped').present && { skipped: count(doc.at('skipped')) }),
  };
}

/** The newest checkpoint of a run and its state, or null when it has none yet. */
export function latestCheckpoint(runDir: string): {
  /** The checkpoint's folder. */
  dir: string;
  /** The run's state when it was written (its state.json). */
  state: RunState;
} | null {
  const last = checkpoints(runDir).at(-1);
  return last ? { dir: last.dir, state: readState(last.dir) } : null;
}

/**
 * Which checkpoint a command reads for `p` and why: null when `p` is a checkpoint itself (or names
 * nothing, for the reader to say what is missing), else the run's best checkpoint, or its newest
 * when no figure picked one, with the reason ("the run's best by val_accuracy"), so that a figure
 * from it is not taken for the final weights' figure.
 */
export function checkpointChoice(p: string): { dir: string; reason: string } | null {
  if (fs.existsSync(path.join(p, 'model.json'))) return null;
  const all = checkpoints(p);
  if (all.length === 0) {
    check(!fs.existsSync(path.join(p, 'config.json')), `${p}: the run has no checkpoint yet`);
    return null;
  }
  const newest = all.at(-1)!;
  const best = readState(newest.dir).best;
  const chosen = (best && all.find((c) => c.at === (c.unit === 'epoch' ? best.epoch : best.step))) || null;
  if (!chosen) return { dir: newest.dir, reason: "the run's newest" };
  return { dir: chosen.dir, reason: `the run's best by ${best!.monitor}${chosen === newest ? ', and its newest' : ''}` };
}

/** The checkpoint folder a path names: itself when it holds a model.json, else the one {@link checkpointChoice} picks in the run. */
export const resolveCheckpoint = (p: string): string => checkpointChoice(p)?.dir ?? p;

/** How a {@link RunTracker} keeps its run: the monitored quantity, logging, and what a resume needs. */
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
  /** For a new run (not resumed): what to write in its config.json (see startRun, which checks the folder is free). */
  config?: {
    /** The model's name. */
    model: string;
    /** The settings, all a resume needs. */
    options: object;
  };
}

/**
 * Keeps a run's folder as training goes (the trainer's `run`): metrics.jsonl, and at each epoch's
 * end a checkpoint (the newest and the best kept). `state` is the run's state so far.
 */
export class RunTracker implements Callback {
  /** The run's state so far (epoch, step, history, best), written into each checkpoint. */
  state: RunState;
  /** The newest checkpoint written or resumed from (null before the first): what a numerical fault names. */
  lastCheckpoint: string | null;
  private model: CallbackModel | null = null;
  private bySteps = false;
  private epochStart = 0;
  private readonly metrics: string;

  constructor(
    /** The run's folder (`runs/<name>/`). */
    readonly dir: string,
    private readonly opts: TrackerOptions,
  ) {
    this.metrics = path.join(dir, 'metrics.jsonl');
    this.state = opts.resumed ?? { epoch: 0, step: 0, trainSeconds: 0, rng: {}, history: { epoch: [], history: {} }, best: null };
    // A new run: its folder must be free (or hold a run with no checkpoint, started again).
    if (!opts.resumed && opts.config) startRun(dir, opts.config);
    cleanTemporaries(dir);
    cleanTemporaries(path.join(dir, 'checkpoints'));
    this.lastCheckpoint = opts.resumed ? latestCheckpoint(dir)?.dir ?? null : null;
    // A resumed run keeps the records up to its checkpoint; one started from scratch keeps none.
    this.truncateMetrics(opts.resumed?.step ?? 0);
  }

  setModel(model: CallbackModel): void {
    this.model = model;
  }

  /** Notes whether the run is counted in steps, which names its checkpoint folders. */
  onTrainBegin(info: TrainBegin): void {
    this.bySteps = countsSteps(info);
  }

  /** Starts the epoch's clock (the seconds its metrics record). */
  onEpochBegin(): void {
    this.epochStart = Date.now();
  }

  onBatchEnd(_batch: number, logs: Logs, info: StepInfo): void {
    const every = this.opts.logEvery ?? 0;
    if (every > 0 && info.step % every === 0) {
      // samplesPerSec: examples (a language model's tokens) per second of steps so far this session, for live throughput.
      this.append({ event: 'step', epoch: this.state.epoch + 1, step: info.step, ...logs, lr: info.lr, samplesPerSec: Math.round(info.samplesPerSec) });
      crashPoint('step');
    }
  }

  onEpochEnd(epoch: number, logs: Logs, info: StepInfo): void {
    const s = this.state;
    s.epoch++;
    s.step = info.step;
    s.trainSeconds = info.seconds;
    if (logs.skipped) s.skipped = (s.skipped ?? 0) + logs.skipped;
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
    crashPoint('epoch');
  }

  /** Writes checkpoints/<epoch-NNN|step-NNNNNNN> through a temporary folder, then removes all but it and the best; returns its path. */
  checkpoint(): string {
    const s = this.state;
    const root = path.join(this.dir, 'checkpoints');
    cleanTemporaries(root);
    const dir = path.join(root, this.bySteps ? `step-${String(s.step).padStart(7, '0')}` : `epoch-${String(s.epoch).padStart(3, '0')}`);
    writeFolderAtomic(dir, (tmp) => {
      this.model!.save(tmp);
      crashPoint('checkpoint-fill');
      // Last, so that a folder with a state.json is whole.
      writeJson(path.join(tmp, STATE), s);
    }, (point) => point === 'swap' && crashPoint('checkpoint-swap'));
    this.lastCheckpoint = dir;
    crashPoint('checkpoint-prune');
    const best = s.best && (this.bySteps ? s.best.step : s.best.epoch);
    for (const c of checkpoints(this.dir)) {
      if (c.dir === dir || c.at === best) continue;
      // Renamed away first: a kill inside the removal leaves a temporary, never half a checkpoint under its name.
      const doomed = `${c.dir}.tmp-${process.pid}`;
      fs.renameSync(c.dir, doomed);
      fs.rmSync(doomed, { recursive: true, force: true });
    }
    return dir;
  }

  private append(record: Record<string, unknown>): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const line = JSON.stringify(record) + '\n';
    if (crashAt()?.point === 'metrics-torn') {
      fs.appendFileSync(this.metrics, line.slice(0, line.length >> 1));
      crashPoint('metrics-torn');
      fs.appendFileSync(this.metrics, line.slice(line.length >> 1));
      return;
    }
    fs.appendFileSync(this.metrics, line);
  }

  /** Keeps the records up to the checkpoint's step: those after it (an interrupted epoch's) are written again as training redoes them. */
  private truncateMetrics(step: number): void {
    if (!fs.existsSync(this.metrics)) return;
    const kept = readMetrics(this.metrics).filter((r) => r.step <= step);
    writeFileAtomic(this.metrics, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}

/** A metrics record: the event, where in the run, and the figures. */
export type MetricsRecord = { event: string; step: number; epoch?: number } & Record<string, unknown>;

/**
 * A run's metrics.jsonl, each line checked (a JSON object with an event and a step). A last line
 * without its line break is what a kill inside a write leaves: it is dropped. Any other bad line
 * is one error naming the file and the line.
 */
export function readMetrics(file: string): MetricsRecord[] {
  const text = readInputFile(file, 2 ** 30, 'metrics file').toString('utf8');
  const lines = text.split('\n');
  lines.pop(); // '' after the last line break, or a torn line
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new TsgradError(`${file}: line ${i + 1} is not valid JSON`);
    }
    const r = new Doc(value, `${file}: line ${i + 1}`);
    r.object();
    r.at('event').string();
    r.at('step').int({ min: 0 });
    return value as MetricsRecord;
  });
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
  return fs.existsSync(file) ? readSummary(file) : summarize(dir, { finished: false });
}

/** A summary.json, checked field by field. */
function readSummary(file: string): RunSummary {
  const doc = readJsonFile(file);
  doc.object();
  const count = (d: Doc) => d.int({ min: 0 });
  const final = doc.at('final');
  for (const k of Object.keys(final.object())) final.at(k).number();
  const best = doc.at('best').optional();
  if (best) [count(best.at('epoch')), best.at('monitor').string(), best.at('value').number(), best.at('step').optional() && count(best.at('step'))];
  const test = doc.at('test').optional();
  if (test) [test.at('loss').number(), test.at('accuracy').optional()?.number()];
  [doc.at('name').string(), doc.at('model').string(), count(doc.at('epochs')), count(doc.at('epochsDone')), doc.at('finished').boolean(), doc.at('trainSeconds').number({ min: 0 })];
  if (doc.at('steps').present) count(doc.at('steps'));
  return doc.value as RunSummary;
}

/** Writes a run's summary.json once it is over: its figures from the newest checkpoint, and `fields` (test figures...). */
export function writeSummary(dir: string, fields: { finished: boolean } & Record<string, unknown>): RunSummary {
  const summary = summarize(dir, fields);
  crashPoint('summary');
  writeJson(path.join(dir, 'summary.json'), summary);
  return summary;
}

function summarize(dir: string, fields: { finished: boolean } & Record<string, unknown>): RunSummary {
  const run = openRun(dir);
  const s = run.latest?.state;
  const h = s?.history.history ?? {};
  const epochs = run.optionsDoc.at('epochs').optional()?.int({ min: 1 });
  return {
    name: path.basename(dir), model: run.model, epochs: epochs ?? s?.epoch ?? 0, epochsDone: s?.epoch ?? 0, steps: s?.step ?? 0,
    best: s?.best ?? null, final: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.at(-1)!])), trainSeconds: s?.trainSeconds ?? 0,
    ...(s?.skipped && { skippedSteps: s.skipped }), ...fields,
  };
}
