// The events of a training run, as Keras/TensorFlow.js callbacks. Progress bars, loggers and
// (later) the dashboard subscribe to these; the training loop does not know who listens.

export type Logs = Record<string, number>;

export interface TrainBegin {
  epochs: number;
  /** Batches per epoch. */
  steps: number;
  samples: number;
  validationSamples: number;
}

export interface Callback {
  onTrainBegin?(info: TrainBegin): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** `logs` holds the running means over the epoch so far. */
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
  /** `logs` holds the epoch's loss and metrics, and val_ ones when there is validation data. */
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onTrainEnd?(logs: Logs): void | Promise<void>;
}

/** Keras's History: per-epoch values of every logged quantity. */
export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}
