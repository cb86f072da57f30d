// The contract every model follows (Sequential, the GPT, the LSTM language model, the captioner):
// named weights, a forward pass, a config that rebuilds it, and the state of its random streams.
// So one function saves any model (saveModel, io/checkpoint.ts), one loads whichever model a
// checkpoint holds (loadModel, models/load.ts) and one trainer trains them all (train/trainer.ts).
// Not for: how a model computes, or training state (optimizers, runs).

import type { RngState } from '../core/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import type { NamedWeight } from './stack.js';

export type { NamedWeight };

/**
 * The contract every model follows (Sequential, the GPT, the LSTM language model, the captioner):
 * named weights, a forward pass, a config that rebuilds it, and the state of its random streams. So
 * one function saves any model, one loads it and one trainer trains them all.
 */
export interface Model {
  /** The class name a checkpoint's model.json stores, from which loadModel rebuilds the model. */
  readonly className: string;
  /** Every weight, trainable or not, in a fixed order, under its checkpoint name. */
  readonly weights: NamedWeight[];
  /** The plain config that rebuilds the model (model.json's `modelConfig.config`). */
  getConfig(): object;
  /** The model's output for a batch; `training` turns dropout on. */
  forward(x: Tensor, training?: boolean): Tensor;
  /** The state of every random stream the model draws from while training (dropout), for exact resume. */
  getRngStates(): Record<string, RngState>;
  /** Restores the random streams from {@link getRngStates}, so a resumed run draws the same numbers. */
  setRngStates(states: Record<string, RngState>): void;
}
