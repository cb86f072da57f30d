// Sequential: a LayerStack that can be compiled, trained, evaluated and used for prediction,
// with the Keras / TensorFlow.js API; a Model (nn/model.ts), so it saves, loads and trains as the
// other models do. fit() configures the one trainer (trainer.ts): it owns every temporary tensor,
// so users never dispose.

import { check, TsgradError } from '../core/errors.js';
import { Rng, type RngState } from '../core/rng.js';
import { formatShape } from '../core/shape.js';
import { saveModel } from '../io/checkpoint.js';
import type { AnyLayer } from '../nn/layers.js';
import type { Model } from '../nn/model.js';
import { LayerStack, stackLayersFromConfig, type StackConfig } from '../nn/stack.js';
import { LOSS_ALIASES, lossByName, type LossName } from '../ops/losses.js';
import { Adam, AdamW, optimizerFromConfig, RMSprop, SGD, type Optimizer, type OptimizerConfig } from '../optim/optimizer.js';
import { inScope, noGrad } from '../tensor/engine.js';
import { longLived, tidy } from '../tensor/memory.js';
import { gather } from '../tensor/ops.js';
import { allocate, rows, Tensor, tensor, type Nested } from '../tensor/tensor.js';
import type { Callback, History } from './callbacks.js';
import { isProgressRenderer, progressBar } from './progress.js';
import { countMetric, type MetricName } from './metrics.js';
import type { RunTracker } from './runs.js';
import { onNanOption, trainLoop } from './trainer.js';

/** Names compile() takes for each optimizer (any case), with Keras's defaults. */
const OPTIMIZERS = { adam: Adam, adamw: AdamW, rmsprop: RMSprop, sgd: SGD };

/** Names compile() takes for each metric: tsgrad's, and the TF.js/Keras aliases it can honour. */
const METRIC_ALIASES: Readonly<Record<string, MetricName>> = {
  accuracy: 'accuracy', acc: 'accuracy', categoricalAccuracy: 'accuracy', sparseCategoricalAccuracy: 'accuracy',
  categorical_accuracy: 'accuracy', sparse_categorical_accuracy: 'accuracy',
  topKCategoricalAccuracy: 'topKCategoricalAccuracy', top_k_categorical_accuracy: 'topKCategoricalAccuracy',
  sparseTopKCategoricalAccuracy: 'sparseTopKCategoricalAccuracy', sparse_top_k_categorical_accuracy: 'sparseTopKCategoricalAccuracy',
};

// `string & {}` keeps the names' completion in editors while taking any string, checked at run time.
/**
 * What {@link Sequential.compile} takes: the optimizer, the loss and the metrics, by object or by
 * Keras's names.
 */
export interface CompileArgs {
  /** An optimizer, or a name for one with Keras's defaults ('adam', 'adamw', 'rmsprop', 'sgd'; any case). */
  optimizer: Optimizer | keyof typeof OPTIMIZERS | (string & {});
  /** A loss name: tsgrad's or a TF.js/Keras alias ('mse', 'categorical_crossentropy', ...). */
  loss: LossName | (string & {});
  /** Metric names (or one), with TF.js/Keras aliases ('acc'); each is logged under tsgrad's name. */
  metrics?: MetricName[] | MetricName | (string & {}) | string[];
}

export interface TrainingConfig {
  optimizer: OptimizerConfig;
  loss: LossName;
  metrics: MetricName[];
}

/**
 * Options of {@link Sequential.fit}: how long and in what batches to train, validation, callbacks
 * and progress.
 */
export interface FitArgs {
  /** Passes over the training data (default 1). */
  epochs?: number;
  /** Examples per gradient step (default 32); the last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Fraction of the examples, taken from the end before shuffling, kept for validation (as Keras). */
  validationSplit?: number;
  /** Inputs and targets to evaluate after each epoch, logged as `val_loss` and `val_<metric>`. */
  validationData?: [Tensor | Nested, Tensor | Nested];
  /**
   * Whether to shuffle the training examples at each epoch's start (default true), with the model's
   * seeded stream.
   */
  shuffle?: boolean;
  /**
   * Callbacks called at the start and end of training, epochs and batches (early stopping,
   * checkpoints, loggers, ...).
   */
  callbacks?: Callback[];
  /** The epoch to start from, counting from 0 (as Keras): resuming a run that completed that many. */
  initialEpoch?: number;
  /** Applied to each training batch's inputs (never to validation data), e.g. augmenter({...}) from src/data/augment.ts. */
  augment?: (x: Tensor) => Tensor;
  /** Keeps the run's folder (metrics, checkpoints); a resumed tracker's state gives the epoch to start from. */
  run?: RunTracker;
  /** A NaN or Inf loss or gradient: 'stop' (the default) throws, naming the step; 'skip' drops that step's update and counts it (see trainer.ts). */
  onNan?: 'stop' | 'skip';
  /**
   * Progress on standard output, as Keras: 0 silent; 1 a progress bar (redrawn in place on a
   * terminal; in a file or pipe only each epoch's final line); 2 one line per epoch, no bar.
   * 'auto' (the default) is 1, except silent where there is no process.stdout (a browser), under
   * node's test runner (NODE_TEST_CONTEXT), or when `callbacks` has a renderer of its own
   * (progressBar, jsonLines). So `node train.js > log` logs one line per epoch, as Keras does.
   */
  verbose?: 0 | 1 | 2 | 'auto';
}

/** The mean loss and the mean of each compiled metric, under its name. */
export type EvaluateResult = {
  /** The mean loss over the examples. */
  loss: number;
} & Partial<Record<MetricName, number>>;

/**
 * A linear stack of layers with Keras's model API: compile, fit, evaluate, predict, save. Build one
 * with {@link sequential}.
 */
export class Sequential extends LayerStack implements Model {
  readonly className = 'Sequential';
  /** The optimizer compile() set, or null before compile. */
  optimizer: Optimizer | null = null;
  private lossName: LossName | null = null;
  private metrics: MetricName[] = [];
  /** Set by a callback to end fit() after the current epoch (as Keras). */
  stopTraining = false;
  /** The seed of the model's weight initialisation and shuffling (default 0). */
  readonly seed: number;
  /** Drives shuffling; its state is part of a run's state. */
  readonly rng: Rng;

  constructor(layers: AnyLayer[], opts: { name?: string; seed?: number } = {}) {
    super(layers, opts);
    this.seed = opts.seed ?? 0;
    this.rng = new Rng(this.seed + 1);
  }

  /** Rebuilds a model from getConfig()'s output (compile it again from its trainingConfig). */
  static fromConfig(config: StackConfig & { seed?: number }): Sequential {
    return new Sequential(stackLayersFromConfig(config), { name: config.name, seed: config.seed });
  }

  override build(seed = this.seed): void {
    super.build(seed);
  }

  override getConfig(): StackConfig & {
    /** The model's seed, so fromConfig rebuilds the same initialisation and shuffling. */
    seed: number;
  } {
    return { ...super.getConfig(), seed: this.seed };
  }

  forward(x: Tensor, training = false): Tensor {
    return this.call(x, training);
  }

  /** The state of every random stream training draws from: shuffling, and each layer's own (dropout). */
  getRngStates(): Record<string, RngState> {
    const states: Record<string, RngState> = { shuffle: this.rng.getState() };
    for (const layer of this.layers) if ('rng' in layer) states[layer.name] = layer.rng.getState();
    return states;
  }

  /**
   * Restores the random streams from {@link getRngStates}, so a resumed run shuffles and drops out
   * as an uninterrupted one.
   */
  setRngStates(states: Record<string, RngState>): void {
    this.rng.setState(states.shuffle);
    for (const layer of this.layers) if ('rng' in layer && states[layer.name]) layer.rng.setState(states[layer.name]);
  }

  /** Compiles the model as a checkpoint's training config says. */
  compileFromConfig(c: TrainingConfig): void {
    this.compile({ optimizer: optimizerFromConfig(c.optimizer), loss: c.loss, metrics: c.metrics });
  }

  /**
   * Sets the optimizer, loss and metrics for fit and evaluate. Every name is checked here, at
   * once: an unknown one is a TsgradError listing the names tsgrad knows.
   */
  compile(args: CompileArgs): void {
    const { optimizer, loss, metrics } = args ?? {};
    const problems: string[] = [];
    const known = (names: object) => Object.keys(names).join(', ');
    const opt = typeof optimizer === 'string' ? OPTIMIZERS[optimizer.toLowerCase() as keyof typeof OPTIMIZERS] : optimizer;
    if (typeof optimizer === 'string' && !opt) problems.push(`unknown optimizer "${optimizer}" (tsgrad has ${known(OPTIMIZERS)}, or pass an optimizer such as train.adam(0.001))`);
    else if (typeof optimizer !== 'string' && typeof (optimizer as Optimizer | undefined)?.step !== 'function') problems.push('optimizer must be a name or an optimizer (train.adam(), sgd(), ...)');
    const lossName = typeof loss === 'string' && Object.hasOwn(LOSS_ALIASES, loss) ? LOSS_ALIASES[loss] : undefined;
    if (!lossName) problems.push(`unknown loss ${typeof loss === 'string' ? `"${loss}"` : typeof loss === 'function' ? '(a function: tsgrad takes a loss by name)' : String(loss)} (tsgrad has ${known(LOSS_ALIASES)})`);
    const metricList = metrics === undefined ? [] : Array.isArray(metrics) ? metrics : [metrics];
    const metricNames = metricList.map((m) => (typeof m === 'string' && Object.hasOwn(METRIC_ALIASES, m) ? METRIC_ALIASES[m] : undefined));
    metricList.forEach((m, i) => {
      if (!metricNames[i]) problems.push(`unknown metric ${JSON.stringify(m)} (tsgrad has ${known(METRIC_ALIASES)})`);
    });
    check(problems.length === 0, `compile(): ${problems.join('; ')}`);
    this.build();
    this.optimizer = typeof opt === 'function' ? new opt() : (opt as Optimizer);
    this.lossName = lossName!;
    this.metrics = [...new Set(metricNames as MetricName[])];
  }

  /** The optimizer, loss and metrics compile() set, as a checkpoint stores them; null before compile. */
  get trainingConfig(): TrainingConfig | null {
    if (!this.optimizer || !this.lossName) return null;
    return { optimizer: this.optimizer.getConfig(), loss: this.lossName, metrics: this.metrics };
  }

  private compiled() {
    check(this.optimizer && this.lossName, 'compile() the model before fit() or evaluate()');
    return { optimizer: this.optimizer, loss: lossByName(this.lossName) };
  }

  /** The inputs as a tensor: nested arrays (as tf.tensor takes them) become float32. */
  private inputs(x: Tensor | Nested): Tensor {
    if (x instanceof Tensor) return x;
    check(Array.isArray(x), 'inputs must be a tensor or nested arrays of numbers');
    return tensor(x);
  }

  /**
   * The targets as a tensor shaped for the loss: nested arrays become int32 class indices for the
   * sparse loss, float32 otherwise; a vector of targets for a model with one output per example
   * gets that axis (as TF.js and Keras), rather than broadcasting against the predictions.
   */
  private targets(y: Tensor | Nested): Tensor {
    check(y instanceof Tensor || Array.isArray(y), 'targets must be a tensor or nested arrays of numbers');
    const sparse = this.lossName === 'sparseCategoricalCrossentropy';
    const t = y instanceof Tensor ? y : tensor(y, undefined, sparse ? 'int32' : 'float32');
    const out = this.outputShape;
    return !sparse && t.rank === out.length - 1 && out[out.length - 1] === 1 ? t.expandDims(-1) : t;
  }

  /**
   * Trains on x and y (tensors, or nested arrays as tf.tensor takes them) for `epochs`, as Keras's
   * fit. Progress goes to standard output as `verbose` says (see FitArgs): by default a Keras
   * progress bar, except under node's test runner or in a browser.
   */
  async fit(xs: Tensor | Nested, ys: Tensor | Nested, args: FitArgs = {}): Promise<History> {
    const { optimizer, loss } = this.compiled();
    const epochs = positiveInt('epochs', args.epochs ?? 1);
    const batchSize = positiveInt('batchSize', args.batchSize ?? 32);
    // Read at every step: tenured now, not copied out of the heap and back by the young sweeps.
    const [x, y] = [longLived(this.inputs(xs)), longLived(this.targets(ys))];
    checkPair(x, y);
    let [trainX, trainY] = [x, y];
    let validation: [Tensor, Tensor] | undefined = args.validationData && [this.inputs(args.validationData[0]), this.targets(args.validationData[1])];
    if (args.validationSplit) {
      const split = args.validationSplit;
      check(split > 0 && split < 1, `validationSplit must be in (0, 1), got ${split}`);
      const nTrain = Math.floor(x.shape[0] * (1 - split));
      check(nTrain > 0 && nTrain < x.shape[0], `validationSplit ${split} leaves no examples on one side`);
      [trainX, trainY] = [rows(x, 0, nTrain), rows(y, 0, nTrain)];
      validation = [rows(x, nTrain, x.shape[0]), rows(y, nTrain, x.shape[0])];
    }
    if (validation) checkPair(...validation);
    const n = trainX.shape[0];
    const steps = Math.ceil(n / batchSize);
    let order: Int32Array | null = null;
    const { history } = await trainLoop({
      model: this, optimizer, params: this.weights.filter((w) => w.trainable), stepsPerEpoch: steps, epochs,
      initialStep: (args.initialEpoch ?? 0) * steps, callbacks: withProgress(args.callbacks ?? [], args.verbose ?? 'auto'), run: args.run, onNan: onNanOption(args.onNan),
      samples: n, validationSamples: validation?.[0].shape[0] ?? 0,
      beginEpoch: () => (order = args.shuffle === false ? null : this.rng.permutation(n)),
      loss: (batch) => {
        const idx = batchIndices(order, batch * batchSize, Math.min(n, (batch + 1) * batchSize));
        // Scoped as the profile's rows: the batch ('data'), each layer, the loss and metrics ('loss').
        const [xb, yb] = inScope('data', () => [args.augment ? args.augment(gather(trainX, idx)) : gather(trainX, idx), gather(trainY, idx)]);
        const penalties: Tensor[] = [];
        const pred = this.call(xb, true, penalties);
        return inScope('loss', () => {
          const counts = Object.fromEntries(this.metrics.map((m) => [m, countMetric(m, yb, pred)]));
          // As Keras, the loss includes regularization.
          return { loss: penalties.reduce((a, p) => a.add(p), loss(yb, pred)), size: idx.size, counts };
        });
      },
      validate: validation && (() => this.evaluate(validation[0], validation[1], { batchSize })),
    });
    return history;
  }

  /** Mean loss (with regularization penalties, as Keras) and metrics over all examples, in batches, without recording gradients. */
  evaluate(xs: Tensor | Nested, ys: Tensor | Nested, args: { batchSize?: number } = {}): EvaluateResult {
    const { loss } = this.compiled();
    const [x, y] = [this.inputs(xs), this.targets(ys)];
    checkPair(x, y);
    const batchSize = positiveInt('batchSize', args.batchSize ?? 32);
    const n = x.shape[0];
    check(n > 0, 'evaluate() needs at least one example');
    let lossSum = 0;
    const metricSums = this.metrics.map(() => 0);
    noGrad(() => {
      for (let start = 0; start < n; start += batchSize) {
        const end = Math.min(n, start + batchSize);
        tidy(() => {
          const [xb, yb] = inScope('data', () => [rows(x, start, end), rows(y, start, end)]);
          const penalties: Tensor[] = [];
          const pred = this.call(xb, false, penalties);
          inScope('loss', () => {
            lossSum += penalties.reduce((a, p) => a + p.item(), loss(yb, pred).item()) * (end - start);
            this.metrics.forEach((m, i) => (metricSums[i] += countMetric(m, yb, pred)));
          });
        });
      }
    });
    return { loss: lossSum / n, ...Object.fromEntries(this.metrics.map((m, i) => [m, metricSums[i] / n])) };
  }

  /** Writes a checkpoint folder (model.json + weights.safetensors, with the optimizer's moments); loadModel() reads it back. */
  save(dir: string): void {
    saveModel(this, dir);
  }

  /** The model's outputs for every example (a tensor, or nested arrays as tf.tensor takes them), computed in batches. */
  predict(xs: Tensor | Nested, args: { batchSize?: number } = {}): Tensor {
    this.build();
    const x = this.inputs(xs);
    const batchSize = positiveInt('batchSize', args.batchSize ?? 32);
    const n = x.shape[0];
    const out = allocate([n, ...this.outputShape.slice(1)]);
    noGrad(() => {
      for (let start = 0; start < n; start += batchSize) {
        tidy(() => {
          const part = this.call(rows(x, start, Math.min(n, start + batchSize)), false);
          out.raw.set(part.raw, start * (out.size / n));
        });
      }
    });
    return out;
  }
}

/** The factory users call, as tf.sequential: `sequential([conv2d({...}), ...])`. */
export function sequential(layers: AnyLayer[], opts: { name?: string; seed?: number } = {}): Sequential {
  return new Sequential(layers, opts);
}

/** The callbacks with Keras's progress for `verbose` appended (last, so it sees what others add to the logs). */
function withProgress(callbacks: Callback[], verbose: FitArgs['verbose'] & {}): Callback[] {
  check(verbose === 0 || verbose === 1 || verbose === 2 || verbose === 'auto', `verbose must be 0, 1, 2 or 'auto', got ${JSON.stringify(verbose)}`);
  const stdout = typeof process === 'undefined' ? undefined : process.stdout;
  const level = verbose !== 'auto' ? verbose
    : !stdout || process.env.NODE_TEST_CONTEXT || callbacks.some(isProgressRenderer) ? 0 : 1;
  if (level === 0 || !stdout) return callbacks;
  return [...callbacks, progressBar(stdout, { lines: level === 2 })];
}

function positiveInt(name: string, v: number): number {
  check(Number.isInteger(v) && v > 0, `${name} must be a positive integer, got ${v}`);
  return v;
}

function checkPair(x: Tensor, y: Tensor): void {
  if (!(x instanceof Tensor) || !(y instanceof Tensor)) throw new TsgradError('inputs and targets must be tensors');
  check(x.shape[0] === y.shape[0],
    `inputs ${formatShape(x.shape)} and targets ${formatShape(y.shape)} have different numbers of examples`);
}

function batchIndices(order: Int32Array | null, start: number, end: number): Tensor {
  const idx = new Int32Array(end - start);
  for (let i = 0; i < idx.length; i++) idx[i] = order ? order[start + i] : start + i;
  return tensor(idx, [idx.length], 'int32');
}
