// Training language models (the GPT and the LSTM baseline) on a token stream, as a configuration
// of the one trainer (trainer.ts): random windows of block + 1 tokens, AdamW with weight decay on
// matrices only, a linear warm-up then a cosine decay to a tenth of the peak rate (optim's
// cosineDecay), global gradient clipping, and epochs of `evalEvery` steps, each ending with the
// validation loss on fixed windows and, in a run folder (runs.ts), a checkpoint (the model with
// its tokenizer, the optimizer's moments, the random streams) from which a run resumes bit for
// bit. Also: evaluation over a whole text (loss, perplexity, bits per character).
// A run is bounded by steps or by minutes (budget.ts).
// Not for: the models (src/models), sampling (lm-generate.ts), progress (progress.ts).

import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { countChars, type TokenArray, type Tokenizer } from '../data/tokenizer.js';
import { saveModel } from '../io/checkpoint.js';
import type { Model } from '../nn/model.js';
import { sparseCategoricalCrossentropy } from '../ops/losses.js';
import { inScope, noGrad } from '../tensor/engine.js';
import { tidy } from '../tensor/memory.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { budgetedAdamW, type BudgetOptions, type RunFields } from './budget.js';
import { RunTracker } from './runs.js';
import { onNanOption, trainLoop, type TrainResult } from './trainer.js';

/**
 * What training, evaluation and generation need from a language model, besides the model
 * contract. `Cache` is whatever the model carries from one generated token to the next (GPT: keys
 * and values; LSTM: its state).
 */
export interface LanguageModel<Cache = unknown> extends Model {
  /** The sizes training and generation read from the model's config. */
  readonly config: {
    /** Number of token ids the model reads and predicts. */
    vocabSize: number;
    /** Context length: the most tokens the model reads at once. */
    block: number;
  };
  /** idx (B, T) int32 -> logits (B, T, V). */
  forward(idx: Tensor, training?: boolean): Tensor;
  /** An empty cache for generating `batch` sequences. */
  newCache(batch: number): Cache;
  /** Feeds idx (B, Tn) after what the cache has seen; the logits (B, V) of the last position. No gradient. */
  step(idx: Tensor, cache: Cache): Tensor;
}

/** Mean cross-entropy in nats per token of logits (B, T, V) against the next tokens (B, T). */
export function lmLoss(logits: Tensor, targets: Tensor): Tensor {
  const v = logits.shape[logits.rank - 1];
  return inScope('loss', () => sparseCategoricalCrossentropy(targets.reshape([-1]), logits.reshape([-1, v]), true));
}

/** Options of {@link trainLm}: the budgeted AdamW training's, plus the validation batches. */
export interface LmTrainOptions extends BudgetOptions {
  /** Fixed validation batches (of `batch` windows each), the same at every evaluation. */
  evalBatches: number;
}

/** Where the text came from, kept with a checkpoint so that evaluation finds the same validation text. */
export interface LmDataSource {
  /** A text file, or null for the Brown corpus. */
  text: string | null;
  /** Fraction of the text, from its end, held out for validation. */
  validationFraction: number;
}

export interface LmRun extends RunFields {
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** Token ids, read in place: encodeCompact's Uint8Array or Uint16Array holds a corpus in a quarter or half of an Int32Array. */
  train: TokenArray;
  validation: TokenArray;
  /** Where the text came from, kept in the checkpoints for `tsgrad gpt eval` (absent: not recorded). */
  source?: LmDataSource;
  options: LmTrainOptions;
}

/**
 * Windows of block + 1 tokens at `starts`: inputs (count, block) and next tokens (count, block),
 * copied from the token array (of whichever integer type) into the int32 tensors the model takes.
 */
export function windows(tokens: TokenArray, starts: ArrayLike<number>, block: number): [Tensor, Tensor] {
  const n = starts.length;
  const x = new Int32Array(n * block), y = new Int32Array(n * block);
  for (let i = 0; i < n; i++) {
    x.set(tokens.subarray(starts[i], starts[i] + block), i * block);
    y.set(tokens.subarray(starts[i] + 1, starts[i] + block + 1), i * block);
  }
  return [tensor(x, [n, block], 'int32'), tensor(y, [n, block], 'int32')];
}

function randomStarts(rng: Rng, count: number, tokens: number, block: number): Int32Array {
  return Int32Array.from({ length: count }, () => rng.int(tokens - block));
}

export function checkTokens(what: string, tokens: number, block: number): void {
  check(tokens > block, `the ${what} text has ${tokens} tokens, but a window needs block + 1 = ${block + 1}: give more text or a smaller --block`);
}

/**
 * Trains a language model on a token stream: random windows of block + 1 tokens, AdamW with warm-up
 * and cosine decay, an evaluation (and, in a run folder, a checkpoint) every `evalEvery` steps,
 * until the steps or minutes run out. Resumes bit for bit from a run's checkpoint.
 */
export async function trainLm(run: LmRun): Promise<TrainResult> {
  const { model, options: o } = run;
  const { block } = model.config;
  checkTokens('training', run.train.length, block);
  checkTokens('validation', run.validation.length, block);
  const resumed = run.resumed?.state;
  const windowRng = new Rng(o.seed + 2);
  if (resumed) {
    windowRng.setState(resumed.rng.windows);
    model.setRngStates(resumed.rng);
  }
  const { optimizer, seconds, learningRate, extra } = budgetedAdamW(o, run.resumed);
  const evalStarts = randomStarts(new Rng(o.seed + 3), o.evalBatches * o.batch, run.validation.length, block);
  const handle = {
    stopTraining: false, optimizer, weights: model.weights,
    save: (dir: string) => saveModel(model, dir, { optimizer, tokenizer: run.tokenizer.toJSON(), training: { options: o, ...(run.source && { source: run.source }) } }),
    getRngStates: () => ({ ...model.getRngStates(), windows: windowRng.getState() }),
  };
  return trainLoop({
    model: handle, optimizer, params: model.weights.filter((w) => w.trainable), stepsPerEpoch: o.evalEvery, steps: o.steps, seconds,
    learningRate, callbacks: run.callbacks, onNan: onNanOption(run.onNan),
    run: run.dir == null ? undefined : new RunTracker(run.dir, {
      monitor: 'val_loss', resumed, logEvery: o.logEvery, config: run.runConfig ?? { model: model.className, options: o },
      // tokensPerStep: what `tsgrad runs` counts a run's tokens with.
      extra: () => ({ ...extra(), tokensPerStep: o.batch * block }),
    }),
    loss: () => {
      const [x, y] = windows(run.train, randomStarts(windowRng, o.batch, run.train.length, block), block);
      return { loss: lmLoss(model.forward(x, true), y), size: o.batch * block };
    },
    validate: () => {
      let total = 0;
      noGrad(() => {
        for (let b = 0; b < o.evalBatches; b++) {
          total += tidy(() => {
            const [x, y] = windows(run.validation, evalStarts.subarray(b * o.batch, (b + 1) * o.batch), block);
            return lmLoss(model.forward(x, false), y).item();
          });
        }
      });
      return { loss: total / o.evalBatches };
    },
  });
}

export interface LmTextScore {
  /** Mean nats per token, its exponential (perplexity), and bits per character of the text. */
  loss: number;
  perplexity: number;
  bitsPerChar: number;
  tokens: number;
  chars: number;
}

/**
 * The model's loss over a whole token stream, read in consecutive windows of `block` tokens
 * (each predicting the next; the first token is context only), as training measures it.
 * Bits per character divide the total by the characters of the predicted text, so they compare
 * across tokenizers.
 */
export function evaluateLm(model: LanguageModel, tokenizer: Tokenizer, tokens: TokenArray, batch = 32): LmTextScore {
  const { block } = model.config;
  check(tokens.length >= 2, `the validation text has ${tokens.length} tokens: it needs at least 2`);
  let nats = 0;
  const predicted = tokens.length - 1;
  noGrad(() => {
    for (let start = 0; start < predicted;) {
      // Full windows in batches, then the last, shorter one.
      const full = Math.min(batch, Math.floor((predicted - start) / block));
      const [n, len] = full > 0 ? [full, block] : [1, predicted - start];
      const starts = Int32Array.from({ length: n }, (_, i) => start + i * len);
      nats += tidy(() => {
        const [x, y] = windows(tokens, starts, len);
        return lmLoss(model.forward(x, false), y).item();
      }) * n * len;
      start += n * len;
    }
  });
  const chars = countChars(tokenizer.decode(tokens.subarray(1)));
  const loss = nats / predicted;
  return { loss, perplexity: Math.exp(loss), bitsPerChar: nats / (chars * Math.LN2), tokens: predicted, chars };
}
