// The one training loop. A run is a sequence of optimizer steps grouped into epochs (Keras's
// steps_per_epoch): a pass over the data set for fit, the steps between two evaluations for a
// language model. Each step runs in its own tidy, so its temporaries are freed when it ends; each
// epoch ends with validation, the epoch-end callbacks and, with a run tracker, a checkpoint.
// Callbacks (callbacks.ts) see one event stream: train begin, epoch begin, batch end, epoch end,
// checkpoint, train end. fit (sequential.ts), trainLm (lm.ts) and the captioner are
// configurations of it: what a step's loss is, how many steps an epoch has, what validation
// measures, and when the run ends (epochs, steps or seconds).
// Not for: rendering progress (progress.ts), keeping a run's folder (runs.ts), optimizers (src/optim).

import { backward } from '../autograd/backward.js';
import { check } from '../core/errors.js';
import type { NamedWeight } from '../nn/model.js';
import type { Optimizer } from '../optim/optimizer.js';
import { tidy } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Callback, CallbackModel, History, Logs, StepInfo } from './callbacks.js';
import type { RunTracker } from './runs.js';

/** A step's loss, as a configuration computes it inside the step's tidy, before backward. */
export interface StepLoss {
  /** The scalar to minimise (regularization penalties included). */
  loss: Tensor;
  /** Examples (or tokens) it is the mean over: the weight of its loss in the epoch's mean. */
  size: number;
  /** Per metric, how many of them count as right: the epoch's mean is the sum over `size`. */
  counts?: Logs;
}

export interface TrainLoop {
  /** What callbacks see and change (Keras's callback.model). */
  model: CallbackModel;
  optimizer: Optimizer;
  /** The weights the optimizer updates. */
  params: NamedWeight[];
  /** An epoch ends when the run's step count reaches a multiple of this (or the run ends). */
  stepsPerEpoch: number;
  /** The run ends after this many epochs, steps or seconds of training, whichever comes first. */
  epochs?: number;
  steps?: number;
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
  callbacks?: Callback[];
  /** Keeps the run's folder: metrics, a checkpoint at each epoch's end; a resumed run starts from its state. */
  run?: RunTracker;
  samples?: number;
  validationSamples?: number;
}

export interface TrainResult {
  history: History;
  /** Steps and seconds of training in the whole run. */
  step: number;
  seconds: number;
  /** Whether the run reached its end (rather than being stopped through stopTraining). */
  finished: boolean;
}

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
    do {
      if (loop.learningRate) optimizer.learningRate = loop.learningRate(step, seconds());
      const lr = optimizer.learningRate;
      const t0 = performance.now();
      const { loss, size, counts } = tidy(() => {
        const s = loop.loss(step - epoch * perEpoch);
        const value = s.loss.item();
        check(Number.isFinite(value), `the loss became ${value} at step ${step + 1}: try a smaller learning rate`);
        backward(s.loss);
        optimizer.step(params, names);
        return { loss: value, size: s.size, counts: s.counts ?? {} };
      });
      stepSeconds += (performance.now() - t0) / 1000;
      samples += size;
      step++;
      lossSum += loss * size;
      seen += size;
      for (const [k, v] of Object.entries(counts)) sums[k] = (sums[k] ?? 0) + v;
      logs = means(lossSum, sums, seen);
      last = info(loss, lr);
      await emit('onBatchEnd', step - 1 - epoch * perEpoch, logs, last);
      // Let timers, signals and I/O through (progress redraws, Ctrl-C, servers) without slowing the loop.
      if (performance.now() - lastYield > 50) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
    } while (step % perEpoch !== 0 && !ended() && !model.stopTraining);
    for (const [k, v] of Object.entries(loop.validate?.() ?? {})) logs[`val_${k}`] = v;
    await emit('onEpochEnd', epoch, logs, { ...last, seconds: seconds() });
    // After the callbacks, which may add to the logs (the learning-rate ones add lr), as Keras's History.
    history.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (history.history[k] ??= []).push(v);
    if (loop.run) await emit('onCheckpoint', loop.run.checkpoint());
  }
  await emit('onTrainEnd', logs);
  return { history, step, seconds: seconds(), finished: ended() };
}

function means(lossSum: number, sums: Logs, seen: number): Logs {
  const logs: Logs = { loss: lossSum / seen };
  for (const [k, v] of Object.entries(sums)) logs[k] = v / seen;
  return logs;
}
