// The one training loop. A run is a sequence of optimizer steps grouped into epochs (Keras's
// steps_per_epoch): a pass over the data set for fit, the steps between two evaluations for a
// language model. Each step runs in its own tidy, so its temporaries are freed when it ends; each
// epoch ends with validation, the epoch-end callbacks and, with a run tracker, a checkpoint.
// Callbacks (callbacks.ts) see one event stream: train begin, epoch begin, batch end, epoch end,
// checkpoint, train end. fit (sequential.ts), trainLm (lm.ts) and the captioner are
// configurations of it: what a step's loss is, how many steps an epoch has, what validation
// measures, and when the run ends (epochs, steps or seconds).
// Numerical faults: a NaN or Inf in a step's loss, its gradients or learning rate, in the
// validation figures or in the weights at an epoch's end stops the run before anything of that
// epoch is checkpointed (a TsgradError naming the step and the last good checkpoint), so a
// diverged model never overwrites a good one; with onNan 'skip' a step whose loss or gradients are
// not finite is dropped instead (no update, the optimizer's moments untouched) and counted.
// Not for: rendering progress (progress.ts), keeping a run's folder (runs.ts), optimizers (src/optim).

import { backward } from '../autograd/backward.js';
import { check, TsgradError } from '../core/errors.js';
import type { NamedWeight } from '../nn/model.js';
import type { Optimizer } from '../optim/optimizer.js';
import { getBackend, inScope } from '../tensor/engine.js';
import { tidy } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Callback, CallbackModel, History, Logs, StepInfo } from './callbacks.js';
import type { RunTracker } from './runs.js';

/** Resolves in a task of its own: Node's setImmediate, or a message to itself in a browser (whose timers wait at least 4 ms). */
function nextTask(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  return new Promise((r) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => r();
    channel.port2.postMessage(null);
  });
}

/** A step's loss, as a configuration computes it inside the step's tidy, before backward. */
export interface StepLoss {
  /** The scalar to minimise (regularization penalties included). */
  loss: Tensor;
  /** Examples (or tokens) it is the mean over: the weight of its loss in the epoch's mean. */
  size: number;
  /** Per metric, how many of them count as right: the epoch's mean is the sum over `size`. */
  counts?: Logs;
}

/**
 * One training run for {@link trainLoop}: the model and optimizer, what a step's loss is, how steps
 * group into epochs, when the run ends, and who is told.
 */
export interface TrainLoop {
  /** What callbacks see and change (Keras's callback.model). */
  model: CallbackModel;
  /** Updates the weights from their gradients after each step. */
  optimizer: Optimizer;
  /** The weights the optimizer updates. */
  params: NamedWeight[];
  /** An epoch ends when the run's step count reaches a multiple of this (or the run ends). */
  stepsPerEpoch: number;
  /** The run ends after this many epochs, steps or seconds of training, whichever comes first. */
  epochs?: number;
  /** The run ends after this many optimizer steps in all (resumed steps included). */
  steps?: number;
  /** The run ends after this many seconds of training (resumed time included). */
  seconds?: number;
  /** Steps already taken (Keras's initialEpoch * stepsPerEpoch); a resumed tracker's state takes precedence. */
  initialStep?: number;
  /** Before each epoch's first step (fit shuffles here). */
  beginEpoch?(epoch: number): void;
  /** The learning rate of the next step, set on the optimizer before it (default: the optimizer's own). */
  learningRate?(step: number, seconds: number): number;
  /** The loss of the epoch's `batch`-th step (from 0). */
  loss(batch: number): StepLoss;
  /** Validation figures at each epoch's end, logged with a `val_` prefix. */
  validate?(): Logs;
  /** Told of every event of the run: train begin, epoch begin, batch end, epoch end, train end. */
  callbacks?: Callback[];
  /** Keeps the run's folder: metrics, a checkpoint at each epoch's end; a resumed run starts from its state. */
  run?: RunTracker;
  /**
   * A step whose loss or gradients hold NaN or Inf: 'stop' (the default) ends the run with a
   * TsgradError; 'skip' drops its update and counts it (the epoch's logs: `skipped`).
   */
  onNan?: 'stop' | 'skip';
  /**
   * Training examples per epoch, which callbacks are told at train begin (progress bars show it);
   * default 0.
   */
  samples?: number;
  /** Validation examples, which callbacks are told at train begin; default 0. */
  validationSamples?: number;
}

/** What a finished (or stopped) run returns: its history and where it ended. */
export interface TrainResult {
  /** The figures of every epoch (Keras's History), validation included. */
  history: History;
  /** Optimizer steps taken in the whole run, resumed ones included. */
  step: number;
  /** Seconds of training in the whole run, resumed time included. */
  seconds: number;
  /** Whether the run reached its end (rather than being stopped through stopTraining). */
  finished: boolean;
}

type StepResult = { bad: string; loss?: never } | { bad?: undefined; loss: number; size: number; counts: Logs };

/**
 * The one training loop every trainer is a configuration of: runs steps (each in its own tidy)
 * grouped into epochs, validates, calls the callbacks and checkpoints through `run` at each epoch's
 * end, until epochs, steps or seconds run out or a callback sets stopTraining. A NaN or Inf stops
 * the run before the epoch is checkpointed (or with onNan 'skip', drops the step).
 */
export async function trainLoop(loop: TrainLoop): Promise<TrainResult> {
  const { model, optimizer, stepsPerEpoch: perEpoch } = loop;
  check(Number.isInteger(perEpoch) && perEpoch > 0, `an epoch needs a positive number of steps, got ${perEpoch}`);
  const callbacks: Callback[] = [...(loop.callbacks ?? []), ...(loop.run ? [loop.run] : [])];
  const emit = async <K extends keyof Callback>(event: K, ...a: Parameters<NonNullable<Callback[K]>>) => {
    for (const c of callbacks) await (c[event] as ((...p: unknown[]) => unknown) | undefined)?.apply(c, a);
  };
  const params = loop.params.map((w) => w.value), names = loop.params.map((w) => w.name);
  const epochs = loop.epochs ?? Infinity;
  const lastStep = Math.min(loop.steps ?? Infinity, epochs * perEpoch);
  const first = loop.run?.state.step ? loop.run.state : { step: loop.initialStep ?? 0, trainSeconds: 0 };
  let step = first.step;
  const started = performance.now();
  const seconds = () => first.trainSeconds + (performance.now() - started) / 1000;
  const ended = () => step >= lastStep || (loop.seconds !== undefined && seconds() >= loop.seconds);
  let stepSeconds = 0, samples = 0, lastYield = performance.now();
  const info = (loss: number, lr: number): StepInfo => {
    const now = seconds();
    const pace = (now - first.trainSeconds) / Math.max(1, step - first.step);
    const eta = Math.min(pace * (lastStep - step), loop.seconds === undefined ? Infinity : Math.max(0, loop.seconds - now));
    return { step, loss, lr, seconds: now, samplesPerSec: samples / stepSeconds, eta };
  };

  /** Stops the run on a numerical fault at `at` (a step, from 1), naming the last good checkpoint. */
  const fault = (what: string, at: number): never => {
    const good = loop.run ? loop.run.lastCheckpoint ?? 'none was written yet' : 'none (no run folder)';
    throw new TsgradError(`${what} at step ${at}: training stopped before writing a checkpoint (the last good one: ${good}); try a smaller learning rate`);
  };
  const history: History = { epoch: [], history: {} };
  let logs: Logs = {};
  model.stopTraining = false;
  for (const c of callbacks) c.setModel?.(model);
  await emit('onTrainBegin', {
    epochs, steps: perEpoch, samples: loop.samples ?? 0, validationSamples: loop.validationSamples ?? 0,
    ...(loop.steps !== undefined && { totalSteps: loop.steps }), ...(loop.seconds !== undefined && { seconds: loop.seconds }),
  });
  for (let epoch = Math.floor(step / perEpoch); !ended() && !model.stopTraining; epoch++) {
    await emit('onEpochBegin', epoch);
    loop.beginEpoch?.(epoch);
    let lossSum = 0, seen = 0, last!: StepInfo;
    const sums: Logs = {};
    let skipped = 0;
    do {
      if (loop.learningRate) optimizer.learningRate = loop.learningRate(step, seconds());
      const lr = optimizer.learningRate;
      if (!Number.isFinite(lr)) fault(`the learning rate became ${lr}`, step + 1);
      const t0 = performance.now();
      const result = tidy((): StepResult => {
        const s = loop.loss(step - epoch * perEpoch);
        const value = s.loss.item();
        if (!Number.isFinite(value)) return { bad: `the loss became ${value}` };
        backward(s.loss);
        // Checked before any weight moves; in the optimizer's scope, so that a profile counts it there.
        const nonFinite = inScope('optimizer', () => params.findIndex((p) => p.grad !== null && !getBackend().allFinite(p.grad.raw as Float32Array)));
        if (nonFinite >= 0) {
          for (const p of params) p.grad = null;
          return { bad: `the gradient of ${names[nonFinite] ?? `weight ${nonFinite}`} holds NaN or Inf (loss ${value})` };
        }
        inScope('optimizer', () => optimizer.step(params, names));
        return { loss: value, size: s.size, counts: s.counts ?? {} };
      });
      stepSeconds += (performance.now() - t0) / 1000;
      step++;
      if (result.bad !== undefined) {
        if (loop.onNan !== 'skip') fault(result.bad, step);
        skipped++;
      } else {
        const { loss, size, counts } = result;
        samples += size;
        lossSum += loss * size;
        seen += size;
        for (const [k, v] of Object.entries(counts)) sums[k] = (sums[k] ?? 0) + v;
      }
      logs = means(lossSum, sums, seen, skipped);
      last = info(result.bad === undefined ? result.loss : NaN, lr);
      await emit('onBatchEnd', step - 1 - epoch * perEpoch, logs, last);
      // Let timers, signals and I/O through (progress redraws, Ctrl-C, servers) without slowing the loop.
      if (performance.now() - lastYield > 50) {
        await nextTask();
        lastYield = performance.now();
      }
    } while (step % perEpoch !== 0 && !ended() && !model.stopTraining);
    if (seen === 0) fault(`every step of epoch ${epoch + 1} had a NaN or Inf loss or gradient (${skipped} skipped)`, step);
    const badWeight = params.findIndex((p) => !getBackend().allFinite(p.raw as Float32Array));
    if (badWeight >= 0) fault(`the weights ${names[badWeight] ?? `weight ${badWeight}`} hold NaN or Inf`, step);
    for (const [k, v] of Object.entries(loop.validate?.() ?? {})) {
      if (!Number.isFinite(v)) fault(`the validation ${k} became ${v}`, step);
      logs[`val_${k}`] = v;
    }
    await emit('onEpochEnd', epoch, logs, { ...last, seconds: seconds() });
    // After the callbacks, which may add to the logs (the learning-rate ones add lr), as Keras's History.
    history.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (history.history[k] ??= []).push(v);
    if (loop.run) await emit('onCheckpoint', loop.run.checkpoint());
  }
  await emit('onTrainEnd', logs);
  return { history, step, seconds: seconds(), finished: ended() };
}

/** A user's onNan option, checked: 'stop' (the default) or 'skip'. */
export function onNanOption(v: unknown): 'stop' | 'skip' {
  check(v === undefined || v === 'stop' || v === 'skip', `onNan must be 'stop' or 'skip', got ${JSON.stringify(v)}`);
  return v ?? 'stop';
}

function means(lossSum: number, sums: Logs, seen: number, skipped: number): Logs {
  const logs: Logs = { loss: lossSum / seen };
  for (const [k, v] of Object.entries(sums)) logs[k] = v / seen;
  if (skipped > 0) logs.skipped = skipped;
  return logs;
}
