// What runs counted in optimizer steps share (the language models in lm.ts, the captioner in
// caption.ts): AdamW with weight decay on matrices only and global gradient clipping, a linear
// warm-up then a cosine decay to a fraction of the peak rate (optim's cosineDecay), and a length in
// steps or in minutes of wall time.
// With a time budget the schedule cannot know its step count, so the cosine runs on the fraction of
// the budget used after the warm-up instead of the fraction of steps (the warm-up still counts
// steps), and the run ends when the budget is spent. Only a run bounded by steps resumes bit for bit
// (timings differ from run to run).
// Not for: the loop itself (trainer.ts), or what a step computes (the configurations).

import { check } from '../core/errors.js';
import { AdamW, type OptimizerState } from '../optim/optimizer.js';
import { cosineDecay } from '../optim/schedules.js';
import type { Callback } from './callbacks.js';
import type { RunState } from './runs.js';

/**
 * Options of a run counted in optimizer steps (the language models', the captioner's): AdamW with
 * warm-up and cosine decay, and a length in steps or minutes.
 */
export interface BudgetOptions {
  /** Examples (windows, images) per step. */
  batch: number;
  /** The run's length: steps, or else minutes of wall time (see the header). */
  steps?: number;
  /** The run's length in minutes of wall time, when not given in steps (exactly one of the two). */
  minutes?: number;
  /** Peak learning rate, reached at the end of the warm-up. */
  lr: number;
  /** Steps of linear warm-up. */
  warmup: number;
  /** The cosine's floor as a fraction of lr (default 0.1). */
  minLrFraction?: number;
  /** AdamW's decoupled weight decay, on matrices (rank >= 2) only. */
  weightDecay: number;
  /** AdamW's first-moment decay (default 0.9). */
  beta1?: number;
  /** AdamW's second-moment decay (default 0.99). */
  beta2?: number;
  /** Gradients are scaled together down to this global L2 norm. */
  clip: number;
  /** Validation (and a checkpoint) every this many steps, and at the end. */
  evalEvery: number;
  /** In a run folder, a "step" record in metrics.jsonl every this many steps (0 or absent: evaluations only). */
  logEvery?: number;
  /** Seed of the weight initialisation, the batches drawn and dropout. */
  seed: number;
}

/** Where a step-counted run is kept and how it continues: what trainLm and trainCaptioner take besides the model, data and options. */
export interface RunFields {
  /** The run folder (runs.ts): config.json if it has none, metrics.jsonl, the checkpoints (absent or null: nothing is written). */
  dir?: string | null;
  /** Continue from a checkpoint's run state and optimizer moments (the model holds its weights). */
  resumed?: {
    /** The run's state at the checkpoint (step, history, random streams). */
    state: RunState;
    /** The optimizer's step count and moments at the checkpoint. */
    optimizer: OptimizerState;
  };
  /** Any callbacks: progress, early stopping, a CSV log... (an epoch is `evalEvery` steps). */
  callbacks?: Callback[];
  /** What a new run's config.json records (default: the model's name and the options). */
  runConfig?: {
    /** The model's name. */
    model: string;
    /** The settings, all a resume needs. */
    options: object;
  };
  /** A NaN or Inf loss or gradient: 'stop' (the default) throws, naming the step; 'skip' drops that step's update and counts it (see trainer.ts). */
  onNan?: 'stop' | 'skip';
}

export interface Budget {
  optimizer: AdamW;
  /** The trainer's run length in seconds (undefined: bounded by steps). */
  seconds: number | undefined;
  /** The trainer's learningRate hook. */
  learningRate(step: number, seconds: number): number;
  /** What a checkpoint keeps to resume the schedule (RunState.extra). */
  extra(): Record<string, number | null>;
}

/** The optimizer and schedule of a run of `o`, continuing a resumed run's when given. */
export function budgetedAdamW(o: BudgetOptions, resumed?: { state: RunState; optimizer: OptimizerState }): Budget {
  check((o.steps === undefined) !== (o.minutes === undefined), 'give the run a length: steps or minutes, not both');
  const optimizer = new AdamW({
    learningRate: o.lr, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.99, epsilon: 1e-8, weightDecay: o.weightDecay, globalClipnorm: o.clip,
  });
  if (resumed) optimizer.setState(resumed.optimizer);
  const budget = o.minutes === undefined ? undefined : o.minutes * 60;
  // Evaluated after step + 1 steps, so that the warm-up's last step trains at the peak rate.
  const schedule = cosineDecay({
    initialLearningRate: 0, warmupTarget: o.lr, warmupSteps: o.warmup, alpha: o.minLrFraction ?? 0.1,
    decaySteps: o.steps === undefined ? 1 : Math.max(1, o.steps - o.warmup),
  });
  const extra = resumed?.state.extra;
  let warmupEnd = extra?.warmupEnd ?? null;
  // A callback that changes the rate (reduceLROnPlateau) scales the schedule from then on.
  let scale = extra?.lrScale ?? 1, lastRate: number | null = null;
  const currentScale = () => (lastRate === null ? scale : (scale * optimizer.learningRate) / lastRate);
  return {
    optimizer,
    seconds: budget,
    learningRate(step, seconds) {
      scale = currentScale();
      if (budget === undefined || step < o.warmup) return (lastRate = schedule(step + 1) * scale);
      warmupEnd ??= seconds;
      return (lastRate = schedule(o.warmup + (seconds - warmupEnd) / Math.max(1e-9, budget - warmupEnd)) * scale);
    },
    extra: () => ({ warmupEnd, lrScale: currentScale() }),
  };
}
