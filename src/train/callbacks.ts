// The events of a training run, as Keras/TensorFlow.js callbacks. Progress bars, loggers and
// (later) the dashboard subscribe to these; the training loop does not know who listens.
// Keras's standard callbacks are in monitors.ts (early stopping, checkpoints, learning-rate
// control) and loggers.ts (CSV and JSON lines files).

import type { NamedWeight } from '../nn/stack.js';
import type { Optimizer } from '../optim/optimizer.js';

export type Logs = Record<string, number>;

export interface TrainBegin {
  epochs: number;
  /** Batches per epoch. */
  steps: number;
  samples: number;
  validationSamples: number;
}

/** What a callback may see and change of the model being trained (Keras's `callback.model`). */
export interface CallbackModel {
  /** Set to end fit() after the current epoch. */
  stopTraining: boolean;
  readonly optimizer: Optimizer | null;
  /** Every weight, trainable or not, in a fixed order. */
  readonly weights: NamedWeight[];
  /** Writes a checkpoint folder. */
  save(dir: string): void;
}

export interface Callback {
  /** Called by fit() before onTrainBegin with the model being trained. */
  setModel?(model: CallbackModel): void;
  onTrainBegin?(info: TrainBegin): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** `logs` holds the running means over the epoch so far. */
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
  /**
   * `logs` holds the epoch's loss and metrics, and val_ ones when there is validation data.
   * Callbacks may add to it (the learning-rate ones add `lr`); the history records it afterwards.
   */
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onTrainEnd?(logs: Logs): void | Promise<void>;
}

/** Keras's History: per-epoch values of every logged quantity. */
export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}
