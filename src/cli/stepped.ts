// What `tsgrad gpt train` and `tsgrad caption train` share, both runs counted in steps and bounded
// by steps or minutes: where a run stands before it trains (new, resumed, restarted because it
// stopped before its first checkpoint, or trained but never summarised), and training with Ctrl-C
// (stop after this step and checkpoint; a second Ctrl-C quits at once) and --stop-after.
// Not for: the runs' files (train/runs.ts), the flags (main.ts).

import fs from 'node:fs';
import path from 'node:path';
import { check } from '../core/errors.js';
import type { Doc } from '../core/validate.js';
import type { Callback, CallbackModel } from '../train/callbacks.js';
import { checkNewRun, openRun, readRun, runStamp } from '../train/runs.js';
import type { TrainResult } from '../train/trainer.js';
import { checkResumeFlags, plural, newRunDir, warn, type RunPlace } from './common.js';

/** The flags every step-counted training command has. */
export interface SteppedFlags extends RunPlace {
  steps?: number;
  minutes?: number;
  resume?: string;
  stopAfter?: number;
  json?: boolean;
  /** Print the time per kernel and per layer after training. */
  profile?: boolean;
}

export interface SteppedRun<O> {
  dir: string;
  options: O;
  /** The newest checkpoint of a resumed run (null: none yet). */
  latest: ReturnType<typeof openRun>['latest'];
  resuming: boolean;
  /** Resumed, but it stopped before its first checkpoint: it starts again from its settings. */
  fromScratch: boolean;
  /** Its training is done but its summary was never written (killed in between): only the end is left. */
  finishing: boolean;
  /** How the run starts, for its first line: "Training in DIR", "Resuming DIR at step N"... */
  doing: string;
}

/**
 * Where a run stands: with --resume, its config.json's settings (read and checked by `read`) with
 * a new --steps or --minutes if given; else a new run of `fresh`'s settings, in --out or
 * <runs>/<name or prefix-date-time>. `resumable`: the flags --resume allows.
 */
export function openSteppedRun<O extends { steps?: number; minutes?: number }>(flags: SteppedFlags, given: (flag: string) => boolean, o: {
  resumable: readonly string[]; prefix: (options: O) => string; fresh: () => O; read: (run: { dir: string; model: string; options: O }, doc: Doc) => O;
}): SteppedRun<O> {
  check(flags.steps === undefined || flags.minutes === undefined, '--steps and --minutes both bound the run: give one of them');
  let dir: string, options: O, latest: SteppedRun<O>['latest'] = null;
  const resuming = flags.resume !== undefined;
  if (resuming) {
    checkResumeFlags(flags, given, ['resume', 'runs', 'steps', 'minutes', 'stopAfter', 'json', ...o.resumable], '--steps or --minutes');
    const run = openRun<O>(flags.resume!, flags.runs);
    ({ dir, latest } = run);
    options = o.read(run, run.optionsDoc);
    if (flags.steps !== undefined) [options.steps, options.minutes] = [flags.steps, undefined];
    if (flags.minutes !== undefined) [options.steps, options.minutes] = [undefined, flags.minutes];
  } else {
    options = o.fresh();
    dir = newRunDir(flags, `${o.prefix(options)}-${runStamp()}`);
    checkNewRun(dir);
  }
  const fromScratch = resuming && latest === null;
  const trained = latest !== null && (options.steps !== undefined ? latest.state.step >= options.steps : latest.state.trainSeconds >= options.minutes! * 60);
  const finishing = trained && !(fs.existsSync(path.join(dir, 'summary.json')) && readRun(dir).finished);
  check(!trained || finishing, `${dir} has already trained ${plural(latest?.state.step ?? 0, 'step')}: give a larger ${options.steps !== undefined ? '--steps' : '--minutes'} to train on`);
  const doing = fromScratch ? `Restarting ${dir} from its first step (it stopped before its first checkpoint)`
    : finishing ? `Finishing ${dir} (its ${plural(latest!.state.step, 'step')} ${latest!.state.step === 1 ? 'is' : 'are'} trained)`
    : resuming ? `Resuming ${dir} at step ${latest!.state.step + 1}` : `Training in ${dir}`;
  return { dir, options, latest, resuming, fromScratch, finishing, doing };
}

/**
 * Runs `train` (given the callback that stops it) with Ctrl-C stopping after the current step (the
 * trainer then checkpoints; a second Ctrl-C quits at once) and --stop-after N stopping after step N.
 */
export async function trainInterruptibly(stopAfter: number | undefined, train: (stop: Callback) => Promise<TrainResult>): Promise<TrainResult> {
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\nStopping after this step and saving a checkpoint (Ctrl-C again to quit at once)\n');
  };
  let handle: CallbackModel;
  const stop: Callback = {
    setModel: (m) => void (handle = m),
    onBatchEnd: (_batch, _logs, s) => void (handle.stopTraining ||= interrupted || s.step >= (stopAfter ?? Infinity)),
  };
  process.on('SIGINT', onSigint);
  try {
    return await train(stop);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** A warm-up as long as a run bounded by steps: the rate never reaches its peak. */
export function warnLongWarmup(o: { steps?: number; warmup: number; lr: number }): void {
  if (o.steps === undefined || o.warmup < o.steps) return;
  warn(`the learning-rate warm-up (${plural(o.warmup, 'step')}) is ${o.warmup > o.steps ? 'longer than' : 'as long as'} the run (${plural(o.steps, 'step')}): ` +
    `the rate ${o.warmup > o.steps ? `never reaches --lr ${o.lr}` : 'reaches --lr only at the last step'}; give fewer --warmup-steps`);
}

/** A run bounded by minutes that ended inside its warm-up. */
export function warnEndedInWarmup(o: { minutes?: number; warmup: number }, result: { finished: boolean; step: number }): void {
  if (o.minutes !== undefined && result.finished && result.step <= o.warmup) {
    warn(`the run ended after ${plural(result.step, 'step')}, inside its learning-rate warm-up (${plural(o.warmup, 'step')}): give more --minutes or fewer --warmup-steps`);
  }
}

/** Checks the settings every step-counted run's config.json has (train/budget.ts's BudgetOptions), field by field. */
export function checkBudgetFields(doc: Doc): void {
  const int = (k: string, min = 0) => doc.at(k).int({ min, max: 2 ** 31 - 1 });
  const num = (k: string, min = 0) => doc.at(k).number({ min });
  [int('batch', 1), num('lr'), int('warmup'), num('weightDecay'), num('clip'), int('evalEvery', 1), int('seed')];
  for (const k of ['beta1', 'beta2', 'minLrFraction']) doc.at(k).optional()?.number({ min: 0, max: 1 });
  if (doc.at('logEvery').present) int('logEvery');
  if (doc.at('steps').present) int('steps', 1);
  if (doc.at('minutes').present) num('minutes');
  if (!doc.at('steps').present && !doc.at('minutes').present) doc.fail('must have steps or minutes');
}
