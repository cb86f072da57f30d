// Training language models (the GPT and the LSTM baseline) on a token stream: random windows of
// block + 1 tokens, AdamW with weight decay on matrices only, a linear warm-up then a cosine decay
// to a tenth of the peak rate, global gradient clipping, validation loss on fixed windows, and a
// checkpoint folder (model.json with the architecture and the tokenizer, weights.safetensors with
// the optimizer's moments, state.json with the step, random streams and time) written atomically,
// from which a run resumes bit for bit. Also: evaluation over a whole text (loss, perplexity, bits
// per character) and the progress renderers. Not for: the models (src/models) or sampling
// (lm-generate.ts).
//
// A run is bounded by steps or by minutes. With a time budget the schedule cannot know its step
// count, so the cosine runs on the fraction of the budget used instead of the fraction of steps
// (the warm-up still counts steps), and the run ends when the budget is spent. Only a run bounded
// by steps resumes bit for bit (timings differ from run to run).

import fs from 'node:fs';
import path from 'node:path';
import { backward } from '../autograd/backward.js';
import { check, TsgradError } from '../core/errors.js';
import { Rng, type RngState } from '../core/rng.js';
import type { Tokenizer, TokenizerJSON } from '../data/tokenizer.js';
import { tokenizerFromJSON } from '../data/tokenizer.js';
import { readCheckpoint, writeCheckpoint, type NamedArray } from '../io/checkpoint.js';
import { writeFileAtomic, writeFolderAtomic } from '../io/files.js';
import { sparseCategoricalCrossentropy } from '../ops/losses.js';
import { AdamW, type OptimizerState } from '../optim/optimizer.js';
import { noGrad } from '../tensor/engine.js';
import { tidy } from '../tensor/memory.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { formatDuration } from './progress.js';

export interface NamedWeight {
  name: string;
  value: Tensor;
}

/**
 * What training, evaluation and generation need from a language model. `Cache` is whatever the
 * model carries from one generated token to the next (GPT: keys and values; LSTM: its state).
 */
export interface LanguageModel<Cache = unknown> {
  /** The class name stored in a checkpoint's model.json. */
  readonly className: string;
  readonly config: { vocabSize: number; block: number };
  /** Every trainable weight, in a fixed order, with its checkpoint name. */
  readonly weights: NamedWeight[];
  /** Dropout's random stream (part of a training run's state). */
  readonly rng: Rng;
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
  return sparseCategoricalCrossentropy(targets.reshape([-1]), logits.reshape([-1, v]), true);
}

export interface LmTrainOptions {
  /** Windows per step. */
  batch: number;
  /** The run's length: steps, or else minutes of wall time (see the header). */
  steps?: number;
  minutes?: number;
  /** Peak learning rate, reached after the warm-up. */
  lr: number;
  /** Steps of linear warm-up. */
  warmup: number;
  /** The cosine's floor as a fraction of lr (default 0.1). */
  minLrFraction?: number;
  /** AdamW's decoupled weight decay, on matrices (rank >= 2) only. */
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  /** Gradients are scaled together down to this global L2 norm. */
  clip: number;
  /** Validation loss (and a checkpoint) every this many steps, and at the end. */
  evalEvery: number;
  /** Fixed validation batches (of `batch` windows each), the same at every evaluation. */
  evalBatches: number;
  seed: number;
}

export interface LmRunState {
  /** Optimizer steps taken. */
  step: number;
  /** Seconds of wall time trained so far (evaluations and checkpoints included). */
  elapsed: number;
  /** `elapsed` when the warm-up ended (the time budget's cosine starts there). */
  warmupEnd: number | null;
  rng: { windows: RngState; dropout: RngState };
  /** One record per evaluation. */
  history: { step: number; loss: number; valLoss: number; lr: number; elapsed: number }[];
  finished: boolean;
}

export interface StepInfo {
  step: number;
  /** The run's steps, when it is bounded by steps. */
  steps?: number;
  /** The time budget in seconds, when it is bounded by time. */
  budget?: number;
  /** This step's loss, and an exponential average of recent ones. */
  loss: number;
  smoothLoss: number;
  lr: number;
  tokensPerSec: number;
  elapsed: number;
  /** Seconds left (estimated from the recent pace when bounded by steps). */
  eta: number;
}

export interface EvalInfo {
  step: number;
  /** Mean training loss since the previous evaluation. */
  loss: number;
  valLoss: number;
  lr: number;
  elapsed: number;
  tokensPerSec: number;
}

export interface LmCallbacks {
  onStep?(s: StepInfo): void;
  onEval?(e: EvalInfo): void;
}

/** Where the text came from, kept with a checkpoint so that evaluation finds the same validation text. */
export interface LmDataSource {
  /** A text file, or null for the Brown corpus. */
  text: string | null;
  validationFraction: number;
}

export interface LmRun {
  model: LanguageModel;
  tokenizer: Tokenizer;
  train: Int32Array;
  validation: Int32Array;
  source: LmDataSource;
  options: LmTrainOptions;
  /** The run folder: checkpoint/ and metrics.jsonl are kept there (null: nothing is written). */
  dir: string | null;
  /** Continue from a checkpoint's state and optimizer moments (the model holds its weights). */
  resumed?: { state: LmRunState; optimizer: OptimizerState };
  callbacks?: LmCallbacks;
  /** Asked after every step: true ends the run there (with a checkpoint), unfinished. */
  shouldStop?: (step: number) => boolean;
}

export const CHECKPOINT_DIR = 'checkpoint';
const STATE_FILE = 'state.json';
const METRICS_FILE = 'metrics.jsonl';

/** The rate at `step`: linear warm-up, then a cosine from lr down to lr * minLrFraction over `progress` 0..1. */
export function lmLearningRate(o: LmTrainOptions, step: number, progress: number): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const floor = o.minLrFraction ?? 0.1;
  const p = Math.min(Math.max(progress, 0), 1);
  return o.lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** `count` windows of block + 1 tokens at random starts: inputs (count, block) and next tokens (count, block). */
function windows(tokens: Int32Array, starts: ArrayLike<number>, block: number): [Tensor, Tensor] {
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

/** AdamW as language-model training uses it: decay on matrices only, global clipping, beta2 0.99 by default. */
export function lmOptimizer(o: Pick<LmTrainOptions, 'lr' | 'weightDecay' | 'clip' | 'beta1' | 'beta2'>): AdamW {
  return new AdamW({
    learningRate: o.lr, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.99, epsilon: 1e-8, weightDecay: o.weightDecay, globalClipnorm: o.clip,
  });
}

/** One training step, in its own scope: a batch of windows (x, y), forward, loss, backward, update; the loss. */
export function lmStep(model: LanguageModel, optimizer: AdamW, batch: () => [Tensor, Tensor]): number {
  return tidy(() => {
    const [x, y] = batch();
    const loss = lmLoss(model.forward(x, true), y);
    backward(loss);
    optimizer.step(model.weights.map((w) => w.value), model.weights.map((w) => w.name));
    return loss.item();
  });
}

export async function trainLm(run: LmRun): Promise<LmRunState> {
  const { model, options: o, callbacks: cb = {} } = run;
  const { block } = model.config;
  check((o.steps === undefined) !== (o.minutes === undefined), 'give the run a length: steps or minutes, not both');
  checkTokens('training', run.train.length, block);
  checkTokens('validation', run.validation.length, block);
  const state: LmRunState = run.resumed?.state ?? {
    step: 0, elapsed: 0, warmupEnd: null, history: [], finished: false,
    rng: { windows: new Rng(o.seed + 2).getState(), dropout: model.rng.getState() },
  };
  const windowRng = new Rng();
  windowRng.setState(state.rng.windows);
  model.rng.setState(state.rng.dropout);
  const optimizer = lmOptimizer(o);
  if (run.resumed) optimizer.setState(run.resumed.optimizer);
  // The same validation windows at every evaluation (and in every run with this seed), so figures compare.
  const evalStarts = randomStarts(new Rng(o.seed + 3), o.evalBatches * o.batch, run.validation.length, block);
  const budget = o.minutes === undefined ? undefined : o.minutes * 60;
  if (run.dir) truncateMetrics(path.join(run.dir, METRICS_FILE), state.step);

  const validate = () => {
    let total = 0;
    noGrad(() => {
      for (let b = 0; b < o.evalBatches; b++) {
        total += tidy(() => {
          const [x, y] = windows(run.validation, evalStarts.subarray(b * o.batch, (b + 1) * o.batch), block);
          return lmLoss(model.forward(x, false), y).item();
        });
      }
    });
    return total / o.evalBatches;
  };
  const record = (r: Record<string, unknown>) => run.dir && fs.appendFileSync(path.join(run.dir, METRICS_FILE), JSON.stringify(r) + '\n');
  const save = () => {
    state.rng = { windows: windowRng.getState(), dropout: model.rng.getState() };
    if (run.dir) saveLmCheckpoint(path.join(run.dir, CHECKPOINT_DIR), { model, tokenizer: run.tokenizer, optimizer: optimizer.getState(), state, options: o, source: run.source });
  };
  const finished = () => (o.steps !== undefined ? state.step >= o.steps : state.elapsed >= budget!);
  const progress = () => {
    if (o.steps !== undefined) return (state.step - o.warmup) / Math.max(1, o.steps - o.warmup);
    const start = o.warmup === 0 ? 0 : state.warmupEnd;
    return start === null ? 0 : (state.elapsed - start) / Math.max(1e-9, budget! - start);
  };

  let sessionStart = performance.now();
  const elapsedAtStart = state.elapsed;
  let trainTime = 0, trainTokens = 0, smooth = NaN, sinceEval = 0, sinceEvalSum = 0;
  let lastYield = performance.now();
  while (!finished()) {
    const lr = lmLearningRate(o, state.step, progress());
    optimizer.learningRate = lr;
    const t0 = performance.now();
    const loss = lmStep(model, optimizer, () => windows(run.train, randomStarts(windowRng, o.batch, run.train.length, block), block));
    check(Number.isFinite(loss), `the loss became ${loss} at step ${state.step + 1}: try a smaller --lr`);
    const now = performance.now();
    trainTime += (now - t0) / 1000;
    trainTokens += o.batch * block;
    state.step++;
    state.elapsed = elapsedAtStart + (now - sessionStart) / 1000;
    if (state.step === o.warmup) state.warmupEnd = state.elapsed;
    smooth = Number.isNaN(smooth) ? loss : 0.9 * smooth + 0.1 * loss;
    sinceEval++;
    sinceEvalSum += loss;
    const tokensPerSec = trainTokens / trainTime;
    const eta = o.steps !== undefined
      ? ((state.elapsed - elapsedAtStart) / (state.step - (run.resumed?.state.step ?? 0))) * (o.steps - state.step)
      : Math.max(0, budget! - state.elapsed);
    cb.onStep?.({ step: state.step, steps: o.steps, budget, loss, smoothLoss: smooth, lr, tokensPerSec, elapsed: state.elapsed, eta });
    const stop = run.shouldStop?.(state.step) ?? false;
    if (state.step % o.evalEvery === 0 || finished() || stop) {
      const valLoss = validate();
      const e = { step: state.step, loss: sinceEvalSum / sinceEval, valLoss, lr, elapsed: state.elapsed, tokensPerSec };
      state.history.push({ step: e.step, loss: e.loss, valLoss, lr, elapsed: e.elapsed });
      state.finished = finished();
      record({ event: 'eval', ...e, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) });
      cb.onEval?.(e);
      save();
      sinceEval = sinceEvalSum = 0;
      // Evaluating and saving count against a time budget, not against the training speed.
      if (stop) break;
    }
    if (now - lastYield > 50) {
      // Let signals, timers and output through (Ctrl-C, progress redraws).
      await new Promise((r) => setImmediate(r));
      lastYield = performance.now();
    }
  }
  return state;
}

/** On resume: drops the metric records after the checkpoint's step (an interrupted stretch). */
function truncateMetrics(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const kept = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as { step: number }).step <= step);
  writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
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
export function evaluateLm(model: LanguageModel, tokenizer: Tokenizer, tokens: Int32Array, batch = 32): LmTextScore {
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
  const chars = [...tokenizer.decode(tokens.subarray(1))].length;
  const loss = nats / predicted;
  return { loss, perplexity: Math.exp(loss), bitsPerChar: nats / (chars * Math.LN2), tokens: predicted, chars };
}

export interface LmModelConfig {
  className: string;
  config: Record<string, unknown>;
  tokenizer: TokenizerJSON;
}

export interface LmCheckpoint {
  modelConfig: LmModelConfig;
  tokenizer: Tokenizer;
  weights: NamedArray[];
  optimizer?: OptimizerState;
  state?: LmRunState;
  options?: LmTrainOptions;
  source?: LmDataSource;
}

/** Writes a checkpoint folder through a temporary folder renamed into place: never half of one. */
export function saveLmCheckpoint(dir: string, c: {
  model: LanguageModel; tokenizer: Tokenizer; optimizer?: OptimizerState; state?: LmRunState; options?: LmTrainOptions; source?: LmDataSource;
}): void {
  writeFolderAtomic(dir, (tmp) => {
    writeCheckpoint(tmp, {
      modelConfig: { className: c.model.className, config: c.model.config, tokenizer: c.tokenizer.toJSON() } satisfies LmModelConfig,
      trainingConfig: c.options ? { options: c.options, source: c.source ?? null } : null,
      weights: c.model.weights.map((w) => ({ name: w.name, shape: [...w.value.shape], data: w.value.raw as Float32Array })),
      optimizerState: c.optimizer,
    });
    if (c.state) writeFileAtomic(path.join(tmp, STATE_FILE), JSON.stringify(c.state, null, 2) + '\n');
  });
}

/** The checkpoint folder a path names: itself when it holds model.json, else a run's checkpoint/. */
export function resolveLmCheckpoint(p: string): string {
  check(fs.existsSync(p), `no such checkpoint: ${p}`);
  if (fs.existsSync(path.join(p, 'model.json'))) return p;
  const inRun = path.join(p, CHECKPOINT_DIR);
  check(fs.existsSync(path.join(inRun, 'model.json')), `${p} is not a language-model checkpoint or run (no model.json, no ${CHECKPOINT_DIR}/model.json)`);
  return inRun;
}

/** Reads a checkpoint written by saveLmCheckpoint, checking that it holds a language model. */
export function readLmCheckpoint(p: string, classNames: readonly string[]): LmCheckpoint {
  const dir = resolveLmCheckpoint(p);
  const c = readCheckpoint(dir);
  const mc = c.modelConfig as Partial<LmModelConfig> | null;
  check(mc && typeof mc === 'object' && classNames.includes(mc.className as string) && typeof mc.config === 'object' && mc.tokenizer,
    `${dir}: not a language-model checkpoint (its model is ${JSON.stringify((mc as { className?: unknown })?.className ?? null)}; tsgrad gpt reads ${classNames.join(', ')})`);
  let state: LmRunState | undefined;
  const stateFile = path.join(dir, STATE_FILE);
  if (fs.existsSync(stateFile)) {
    try {
      state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as LmRunState;
    } catch (e) {
      throw new TsgradError(`${stateFile}: not valid JSON (${(e as Error).message})`);
    }
  }
  const training = c.trainingConfig as { options?: LmTrainOptions; source?: LmDataSource } | null;
  return {
    modelConfig: mc as LmModelConfig,
    tokenizer: tokenizerFromJSON(mc.tokenizer!),
    weights: c.weights,
    optimizer: c.optimizerState,
    state,
    options: training?.options,
    source: training?.source ?? undefined,
  };
}

interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
}

const fixed = (v: number) => v.toFixed(4);

function position(s: { step: number; steps?: number; budget?: number; elapsed: number }): string {
  return s.steps !== undefined ? `step ${s.step}/${s.steps}` : `step ${s.step} - ${formatDuration(s.elapsed)}/${formatDuration(s.budget!)}`;
}

/**
 * Progress for people: on a terminal one line redrawn in place (step, loss, tokens/s, ETA) and a
 * line kept for each validation; otherwise only the validation lines.
 */
export function lmProgress(out: Output = process.stdout, opts: { interval?: number } = {}): LmCallbacks {
  const interactive = Boolean(out.isTTY);
  const interval = opts.interval ?? 200;
  let lastDraw = 0;
  return {
    onStep(s) {
      const now = Date.now();
      if (!interactive || now - lastDraw < interval) return;
      lastDraw = now;
      out.write(`\r${position(s)} - loss: ${fixed(s.smoothLoss)} - lr: ${s.lr.toExponential(2)} - ${Math.round(s.tokensPerSec)} tok/s - ETA: ${formatDuration(s.eta)}\x1b[K`);
    },
    onEval(e) {
      out.write(`${interactive ? '\r' : ''}step ${e.step} - ${formatDuration(e.elapsed)} - loss: ${fixed(e.loss)} - val_loss: ${fixed(e.valLoss)} - lr: ${e.lr.toExponential(2)} - ${Math.round(e.tokensPerSec)} tok/s${interactive ? '\x1b[K' : ''}\n`);
    },
  };
}

/** JSON lines for machines: a "step" object every `every` steps and an "eval" object per validation. */
export function lmJsonLines(out: Output = process.stdout, every = 10): LmCallbacks {
  return {
    onStep(s) {
      if (s.step % every === 0) out.write(JSON.stringify({ event: 'step', ...s }) + '\n');
    },
    onEval(e) {
      out.write(JSON.stringify({ event: 'eval', ...e, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) }) + '\n');
    },
  };
}
