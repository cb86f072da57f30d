// The recurrent baseline for the GPT: an LSTM language model, Embedding -> LSTM (stacked) -> Dense
// to the vocabulary, from the Keras-style layers in src/nn, with their weights named as Keras
// names them (`lstm/kernel`). It trains on the same windows as the GPT (backpropagation through
// `block` steps) and generates one step per token from its carried state, with no context limit.
// Not for: bidirectional or stateful training.

import { check } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import type { Doc } from '../core/validate.js';
import { fraction, need, opt, readFields } from '../nn/schema.js';
import { Rng, type RngState } from '../core/rng.js';
import { Dense, Dropout } from '../nn/core.js';
import { Embedding } from '../nn/embedding.js';
import { LSTM, type LSTMState } from '../nn/recurrent.js';
import { noGrad } from '../tensor/engine.js';
import { persistent } from '../tensor/memory.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { NamedWeight } from '../nn/stack.js';
import type { LanguageModel } from '../train/lm.js';

/**
 * An LSTM language model's architecture: vocabulary, embedding width, LSTM units and layers, window
 * length, dropout.
 */
export interface LstmLmConfig {
  /** Number of token ids the model reads and predicts. */
  vocabSize: number;
  /** Embedding width. */
  embd: number;
  /** Units of each LSTM. */
  units: number;
  /** Stacked LSTMs. */
  layers: number;
  /** Length of the training windows (steps of backpropagation through time). */
  block: number;
  /** Dropout on the embeddings and between layers while training (default 0). */
  dropout?: number;
}

/** An LSTM language model's config as a file holds it, checked field by field. */
export function lstmLmConfigFromDoc(d: Doc): LstmLmConfig {
  return readFields(d, {
    vocabSize: need((x) => x.int({ min: 1, max: 2 ** 24 })), embd: need((x) => x.int({ min: 1, max: 2 ** 16 })),
    units: need((x) => x.int({ min: 1, max: 2 ** 16 })), layers: need((x) => x.int({ min: 1, max: 1024 })),
    block: need((x) => x.int({ min: 1, max: 2 ** 20 })), dropout: opt(fraction),
  }, 'an LSTM language model config') as unknown as LstmLmConfig;
}

/** The state each LSTM carries between generated tokens, as plain arrays (h and c, each (B, units)). */
export interface LstmLmCache {
  batch: number;
  states: ({ h: Float32Array; c: Float32Array } | null)[];
}

export class LstmLm implements LanguageModel<LstmLmCache> {
  readonly className = 'LSTMLM';
  /** The architecture, defaults filled in. */
  readonly config: Required<LstmLmConfig>;
  readonly weights: NamedWeight[] = [];
  /** The token embedding: (V, embd). */
  readonly embedding: Embedding;
  /** The stacked LSTMs, each returning its whole sequence. */
  readonly lstms: LSTM[];
  /** The output layer to the vocabulary's logits: kernel (units, V), bias (V). */
  readonly head: Dense;
  /** On the embeddings and on each LSTM's output; one layer, so that one stream draws every mask in turn. */
  readonly dropout: Dropout;

  constructor(config: LstmLmConfig, seed = 0) {
    for (const k of ['vocabSize', 'embd', 'units', 'layers', 'block'] as const) {
      check(Number.isInteger(config[k]) && config[k] > 0, `LSTM language model ${k} must be a positive integer, got ${config[k]}`);
    }
    const dropout = config.dropout ?? 0;
    check(dropout >= 0 && dropout < 1, `LSTM language model dropout must be in [0, 1), got ${dropout}`);
    const c = (this.config = { ...config, dropout });
    const init = new Rng(seed);
    this.embedding = new Embedding({ name: 'embedding', inputDim: c.vocabSize, outputDim: c.embd });
    this.lstms = Array.from({ length: c.layers }, (_, i) => new LSTM({ name: i === 0 ? 'lstm' : `lstm_${i}`, units: c.units, returnSequences: true }));
    this.head = new Dense({ name: 'dense', units: c.vocabSize });
    this.dropout = new Dropout({ name: 'dropout', rate: c.dropout, seed: seed + 1 });
    this.dropout.build([1, c.block, c.embd], init); // seeded by its config: draws nothing from init
    persistent(() => {
      this.embedding.build([1, c.block], init);
      this.lstms.forEach((l, i) => l.build([1, c.block, i === 0 ? c.embd : c.units], init));
      this.head.build([1, c.block, c.units], init);
    });
    for (const layer of [this.embedding, ...this.lstms, this.head]) {
      for (const w of layer.weights) this.weights.push({ name: `${layer.name}/${w.name}`, value: w.value, trainable: w.trainable });
    }
  }

  getConfig(): Required<LstmLmConfig> {
    return { ...this.config };
  }

  /** Dropout's random stream (part of a training run's state). */
  get rng(): Rng {
    return this.dropout.rng;
  }

  getRngStates(): Record<string, RngState> {
    return { dropout: this.dropout.rng.getState() };
  }

  /** Restores Dropout's random stream from {@link getRngStates}, so a resumed run draws the same masks. */
  setRngStates(states: Record<string, RngState>): void {
    this.dropout.rng.setState(states.dropout);
  }

  forward(idx: Tensor, training = false): Tensor {
    check(idx.dtype === 'int32' && idx.rank === 2, () => `LSTM language model input must be int32 token ids (B, T), got ${idx.dtype} ${formatShape(idx.shape)}`);
    return this.run(idx, training, null);
  }

  newCache(batch: number): LstmLmCache {
    return { batch, states: this.lstms.map(() => null) };
  }

  step(idx: Tensor, cache: LstmLmCache): Tensor {
    check(idx.dtype === 'int32' && idx.rank === 2 && idx.shape[0] === cache.batch, () => `LSTM step needs int32 ids (${cache.batch}, T), got ${idx.dtype} ${formatShape(idx.shape)}`);
    return noGrad(() => {
      const logits = this.run(idx, false, cache); // (B, T, V)
      const [b, t, v] = logits.shape;
      const last = new Float32Array(b * v);
      for (let r = 0; r < b; r++) last.set(logits.raw.subarray(((r + 1) * t - 1) * v, (r + 1) * t * v), r * v);
      return tensor(last, [b, v]);
    });
  }

  /** idx (B, T) -> logits (B, T, V); with a cache, starting from and updating its states. */
  private run(idx: Tensor, training: boolean, cache: LstmLmCache | null): Tensor {
    const { units } = this.config;
    const drop = (x: Tensor) => this.dropout.call(x, training);
    let x = drop(this.embedding.call(idx)); // (B, T, E)
    this.lstms.forEach((lstm, i) => {
      const saved = cache?.states[i];
      const initial: LSTMState | undefined = saved ? { h: tensor(saved.h, [cache!.batch, units]), c: tensor(saved.c, [cache!.batch, units]) } : undefined;
      const { output, state } = lstm.run(x, initial); // (B, T, units)
      if (cache) cache.states[i] = { h: state.h.raw.slice() as Float32Array, c: state.c.raw.slice() as Float32Array };
      x = drop(output);
    });
    return this.head.call(x); // (B, T, V)
  }
}
