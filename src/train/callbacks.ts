// The events of a training run, as Keras/TensorFlow.js callbacks, the same for every model the
// trainer trains (trainer.ts): fit, a language model, the captioner. Progress renderers, loggers,
// the run tracker and (later) the dashboard subscribe to these; the trainer does not know who
// listens. Keras's standard callbacks are in monitors.ts (early stopping, checkpoints,
// learning-rate control) and loggers.ts (CSV and JSON lines files).

import type { RngState } from '../core/rng.js';
import type { NamedWeight } from '../nn/model.js';
import type { Optimizer } from '../optim/optimizer.js';

/**
 * Figures by name (`loss`, `accuracy`, `val_loss`, `lr`, ...), as callbacks receive and the history
 * records them.
 */
export type Logs = Record<string, number>;

/** What callbacks are told when training begins: how long the run is and how many examples it sees. */
export interface TrainBegin {
  /** Epochs the run ends after (Infinity when steps or seconds bound it). */
  epochs: number;
  /** Steps per epoch: batches of the data set, or a language model's steps between evaluations. */
  steps: number;
  /** Training examples per epoch (0 when the trainer does not count them). */
  samples: number;
  /** Validation examples evaluated at each epoch's end (0 for none). */
  validationSamples: number;
  /** Set for a run counted in steps (a language model): the steps it ends after... */
  totalSteps?: number;
  /** ...or the seconds of training it ends after. */
  seconds?: number;
}

/** Whether a run is counted in steps (a language model's) rather than in epochs of a data set. */
export const countsSteps = (info: TrainBegin) => info.totalSteps !== undefined || info.seconds !== undefined;

/** Where the run is, with each batch's and epoch's end. */
export interface StepInfo {
  /** Optimizer steps taken in the whole run. */
  step: number;
  /** This step's own loss (the logs hold the epoch's running mean). */
  loss: number;
  /** The learning rate this step used. */
  lr: number;
  /** Seconds of training in the whole run (evaluations and checkpoints included). */
  seconds: number;
  /** Examples (tokens, for a language model) trained on per second of steps, in this session. */
  samplesPerSec: number;
  /** Seconds left, estimated from this session's pace (or what a time budget leaves). */
  eta: number;
}

/** What a callback may see and change of the model being trained (Keras's `callback.model`). */
export interface CallbackModel {
  /** Set to end training: fit() and the trainer stop after the current step, with a last epoch end. */
  stopTraining: boolean;
  /** The optimizer, so learning-rate callbacks can read and set its rate; null before compile. */
  readonly optimizer: Optimizer | null;
  /** Every weight, trainable or not, in a fixed order. */
  readonly weights: NamedWeight[];
  /** Writes a checkpoint folder that loadModel reads back. */
  save(dir: string): void;
  /** The random streams training draws from (shuffling, dropout, ...), saved for exact resume. */
  getRngStates(): Record<string, RngState>;
}

/**
 * Keras-style training callbacks: each optional method is called at that event of the run, and may
 * be async (the trainer waits). Write one as an object literal with the methods you need.
 */
export interface Callback {
  /** Called by the trainer before onTrainBegin with the model being trained. */
  setModel?(model: CallbackModel): void;
  /** Called once before the first step, with the run's length and sizes. */
  onTrainBegin?(info: TrainBegin): void | Promise<void>;
  /** Called before each epoch's first step, with the epoch counted from 0. */
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** `batch` counts from 0 within the epoch; `logs` holds the running means over the epoch so far. */
  onBatchEnd?(batch: number, logs: Logs, info: StepInfo): void | Promise<void>;
  /**
   * `logs` holds the epoch's loss and metrics, and val_ ones when there is validation data.
   * Callbacks may add to it (the learning-rate ones add `lr`); the history records it afterwards.
   */
  onEpochEnd?(epoch: number, logs: Logs, info: StepInfo): void | Promise<void>;
  /** A run's checkpoint folder has been written (by the RunTracker, after onEpochEnd). */
  onCheckpoint?(dir: string): void | Promise<void>;
  /** Called once when training ends (or is stopped), with the last epoch's logs. */
  onTrainEnd?(logs: Logs): void | Promise<void>;
}

/** Keras's History: per-epoch values of every logged quantity. */
export interface History {
  /** The epochs recorded, counted from 0. */
  epoch: number[];
  /** Each logged quantity's value at each of those epochs. */
  history: Record<string, number[]>;
}
