// Optimizers update trainable tensors in place from their `.grad`, with Keras's names, defaults
// and update rules: SGD (momentum, Nesterov), Adam, AdamW, RMSprop, each with Keras's gradient
// clipping (clipnorm, globalClipnorm, clipvalue) and a learning rate that may be a schedule.
// Their state (step count, slots) can be read and restored for checkpoints.
// Plain SGD, momentum SGD and Adam run as backend kernels (fused loops over each parameter); the
// rest are TypeScript loops over the same in-place views, fast enough for an update per batch.
// TensorFlow.js's forms work too: optimizer.minimize(f), applyGradients({name: grad}), and the
// factories' positional arguments (adam(0.01), sgd(0.1), momentum(0.1, 0.9)).

import { variableGrads } from '../autograd/index.js';
import { copyOf } from '../core/dtype.js';
import { check } from '../core/errors.js';
import { getBackend } from '../tensor/engine.js';
import { persistent, stepBoundary } from '../tensor/memory.js';
import { tensor, variableNamed, zeros, type Tensor } from '../tensor/tensor.js';
import type { Doc } from '../core/validate.js';
import { bool, fraction as fractionField, need, opt, positive as positiveField, readFields, within, type Field } from '../nn/schema.js';
import { scheduleFromConfig, scheduleFromDoc, type LearningRateSchedule, type ScheduleConfig } from './schedules.js';

/** Options every optimizer takes (Keras's base optimizer arguments). */
export interface BaseConfig {
  /** A number, or a schedule evaluated at the step count (0 for the first update). */
  learningRate?: number | LearningRateSchedule;
  /** Scales each parameter's gradient down to this L2 norm when it is longer. */
  clipnorm?: number;
  /** Scales all gradients together down to this joint L2 norm when it is longer. */
  globalClipnorm?: number;
  /** Clips each gradient element to [-clipvalue, clipvalue]. At most one of the three is allowed. */
  clipvalue?: number;
}

/** Options of {@link SGD}: plain SGD by default (learning rate 0.01). */
export interface SGDConfig extends BaseConfig {
  /** Momentum factor in [0, 1); 0 (the default) is plain SGD without a velocity slot. */
  momentum?: number;
  /**
   * Whether the momentum is Nesterov's (the gradient step looks ahead along the velocity); default
   * false.
   */
  nesterov?: boolean;
}

/** Options of {@link Adam} (learning rate 0.001 by default). */
export interface AdamConfig extends BaseConfig {
  /** Decay of the first-moment (mean) estimate, in [0, 1); default 0.9. */
  beta1?: number;
  /** Decay of the second-moment (uncentred variance) estimate, in [0, 1); default 0.999. */
  beta2?: number;
  /**
   * Added to the square root of the second moment so the step never divides by zero; default 1e-7.
   */
  epsilon?: number;
}

/** Options of {@link AdamW}: Adam's, plus the decoupled weight decay. */
export interface AdamWConfig extends AdamConfig {
  /**
   * Fraction of each decayed weight removed per step, multiplied by the learning rate; default
   * 0.004.
   */
  weightDecay?: number;
  /** Weights whose names match one of these regular expressions are not decayed (as Keras). */
  excludeFromWeightDecay?: string[];
}

/** Options of {@link RMSprop} (learning rate 0.001 by default). */
export interface RMSpropConfig extends BaseConfig {
  /** Decay of the running mean of squared gradients, in [0, 1); default 0.9. */
  rho?: number;
  /** Momentum factor in [0, 1) applied to the steps; default 0 (none). */
  momentum?: number;
  /** Added inside the square root of the mean square; default 1e-7. */
  epsilon?: number;
  /**
   * Whether to divide by the centred variance (mean square minus squared mean gradient); default
   * false.
   */
  centered?: boolean;
}

/** A config as stored in a checkpoint: a schedule is stored as its own config. */
type Stored<C extends BaseConfig> = Omit<C, 'learningRate'> & { learningRate: number | ScheduleConfig };

/**
 * An optimizer as stored in a checkpoint: its class name and its config, with a learning-rate
 * schedule stored as the schedule's own config. {@link optimizerFromConfig} rebuilds it.
 */
export type OptimizerConfig =
  | {
      /** Which optimizer: SGD. */
      className: 'SGD';
      /** Its options, as {@link SGD.getConfig} returns them. */
      config: Stored<SGDConfig>;
    }
  | {
      /** Which optimizer: Adam. */
      className: 'Adam';
      /** Its options, as {@link Adam.getConfig} returns them. */
      config: Stored<AdamConfig>;
    }
  | {
      /** Which optimizer: AdamW. */
      className: 'AdamW';
      /** Its options, as {@link AdamW.getConfig} returns them. */
      config: Stored<AdamWConfig>;
    }
  | {
      /** Which optimizer: RMSprop. */
      className: 'RMSprop';
      /** Its options, as {@link RMSprop.getConfig} returns them. */
      config: Stored<RMSpropConfig>;
    };

/**
 * An optimizer's step count and per-parameter slots, as {@link Optimizer.getState} returns them and
 * checkpoints store them.
 */
export interface OptimizerState {
  /** Updates applied so far (the step count Adam's bias correction and schedules read). */
  iterations: number;
  /**
   * Per-parameter moment arrays keyed `<slot>/<index>` (for example `m/0`, `v/0` for Adam's first
   * parameter).
   */
  slots: Record<string, Float32Array>;
}

/**
 * What every optimizer offers: Keras-style `step` over parameters with gradients, TF.js's
 * `minimize` and `applyGradients`, and a config and state that round-trip through checkpoints.
 */
export interface Optimizer {
  /** The rate of the next update (a schedule's value at the current step); settable unless a schedule. */
  learningRate: number;
  /**
   * Applies one update to each parameter from its `.grad`, then clears the gradients. `names`
   * (the model's weight names, parallel to params) let AdamW exclude weights by name.
   */
  step(params: Tensor[], names?: string[]): void;
  /**
   * As TF.js: one update of the variables in `varList` (default: every trainable variable f uses)
   * down the gradient of f's scalar value; returns that value when `returnCost`, else null.
   */
  minimize(f: () => Tensor, returnCost?: boolean, varList?: Tensor[]): Tensor | null;
  /** As TF.js: f's value and its gradients keyed by variable name (variableGrads). */
  computeGradients(f: () => Tensor, varList?: Tensor[]): {
    /** f's scalar value. */
    value: Tensor;
    /** The gradient of the value for each variable, keyed by variable name. */
    grads: Record<string, Tensor>;
  };
  /** As TF.js: one update from gradients keyed by variable name (or {name, tensor} pairs). */
  applyGradients(grads: Record<string, Tensor> | { name: string; tensor: Tensor }[]): void;
  /**
   * The optimizer's class name and options, for a checkpoint; {@link optimizerFromConfig} rebuilds
   * it.
   */
  getConfig(): OptimizerConfig;
  /**
   * Step count and per-parameter slots, named `<slot>/<index>`: copies, or with `views` the slots'
   * own arrays (valid until the next step; for writing a checkpoint at once without copying).
   */
  getState(opts?: { views?: boolean }): OptimizerState;
  /**
   * Restores a step count and slots from {@link getState}; slot names and indices must be this
   * optimizer's.
   */
  setState(state: OptimizerState): void;
}

function positive(name: string, v: number): number {
  check(Number.isFinite(v) && v > 0, `${name} must be a positive number, got ${v}`);
  return v;
}

function fraction(name: string, v: number): number {
  check(Number.isFinite(v) && v >= 0 && v < 1, `${name} must be in [0, 1), got ${v}`);
  return v;
}

/**
 * Per-parameter state (moments), created lazily with the parameter's size, in backend memory so
 * the update kernels work in place; it lives as long as the optimizer, not the step's scope.
 */
class Slots {
  private map = new Map<string, Tensor>();

  get(slot: string, index: number, size: number): Float32Array {
    const key = `${slot}/${index}`;
    let s = this.map.get(key);
    if (!s) this.map.set(key, (s = persistent(() => zeros([size]))));
    // A restored slot of another size would make the update read or write past its block.
    check(s.size === size, () => `optimizer slot ${key} has ${s.size} values but its parameter has ${size}`);
    return s.raw as Float32Array;
  }

  entries(copy = true): Record<string, Float32Array> {
    return Object.fromEntries([...this.map].map(([k, t]) => [k, copy ? copyOf(t.raw as Float32Array) : t.raw as Float32Array]));
  }

  load(slots: Record<string, Float32Array>): void {
    this.map = new Map(Object.entries(slots).map(([k, v]) => [k, persistent(() => tensor(v))]));
  }
}

/** One parameter in an update: its values and gradient (in-place views), position, rank and name. */
interface Param {
  w: Float32Array;
  g: Float32Array;
  index: number;
  rank: number;
  name?: string;
}

abstract class BaseOptimizer implements Optimizer {
  /** Updates applied so far; the learning-rate schedule and Adam's bias correction read it. */
  iterations = 0;
  /** Per-parameter moments, created on first use with the parameter's size. */
  protected slots = new Slots();
  private rate: number | LearningRateSchedule;
  /** Per-parameter gradient clipping norm, when set (see {@link BaseConfig.clipnorm}). */
  readonly clipnorm?: number;
  /**
   * Joint gradient clipping norm over all parameters, when set (see
   * {@link BaseConfig.globalClipnorm}).
   */
  readonly globalClipnorm?: number;
  /** Element-wise gradient clipping bound, when set (see {@link BaseConfig.clipvalue}). */
  readonly clipvalue?: number;
  abstract getConfig(): OptimizerConfig;
  /** Applies this optimizer's rule to one parameter in place, with the step's learning rate. */
  protected abstract update(p: Param, lr: number): void;

  constructor(c: BaseConfig, defaultRate: number) {
    const lr = c.learningRate ?? defaultRate;
    this.rate = typeof lr === 'function' ? lr : positive('learning rate', lr);
    const clips = (['clipnorm', 'globalClipnorm', 'clipvalue'] as const).filter((k) => c[k] !== undefined);
    check(clips.length <= 1, `only one of clipnorm, globalClipnorm and clipvalue can be set, got ${clips.join(' and ')}`);
    for (const k of clips) this[k] = positive(k, c[k]!);
  }

  get learningRate(): number {
    return typeof this.rate === 'number' ? this.rate : this.rate(this.iterations);
  }

  set learningRate(v: number) {
    check(typeof this.rate === 'number', 'this optimizer\'s learning rate is a schedule, so it cannot be set');
    this.rate = positive('learning rate', v);
  }

  /** The schedule given as learningRate, if any. */
  get schedule(): LearningRateSchedule | null {
    return typeof this.rate === 'number' ? null : this.rate;
  }

  step(params: Tensor[], names?: string[]): void {
    check(!names || names.length === params.length, 'step() needs one name per parameter');
    // As Keras: the rate is evaluated at the step count before this update.
    const lr = this.learningRate;
    const live = params.flatMap((p, index): Param[] => p.grad
      ? [{ w: p.raw as Float32Array, g: p.grad.raw as Float32Array, index, rank: p.rank, name: names?.[index] }]
      : []);
    this.clip(live.map((p) => p.g));
    this.iterations++;
    for (const p of live) this.update(p, lr);
    for (const p of params) p.grad = null;
    stepBoundary();
  }

  minimize(f: () => Tensor, returnCost = false, varList?: Tensor[]): Tensor | null {
    const { value, grads } = this.computeGradients(f, varList);
    this.applyGradients(grads);
    return returnCost ? value : null;
  }

  computeGradients(f: () => Tensor, varList?: Tensor[]): {
    /** f's scalar value. */
    value: Tensor;
    /** The gradient of the value for each variable, keyed by variable name. */
    grads: Record<string, Tensor>;
  } {
    return variableGrads(f, varList);
  }

  applyGradients(grads: Record<string, Tensor> | { name: string; tensor: Tensor }[]): void {
    const pairs = Array.isArray(grads) ? grads.map((g) => [g.name, g.tensor] as const) : Object.entries(grads);
    const params = pairs.map(([name, g]) => {
      const v = variableNamed(name);
      check(v, `applyGradients: no variable is named "${name}" (variables are named by variable(value, trainable, name))`);
      check(g.size === v.size, `applyGradients: the gradient for "${name}" has ${g.size} values, the variable ${v.size}`);
      return { v, g, saved: v.grad };
    });
    // step() reads and then clears each parameter's .grad: lend it these gradients, then put back
    // whatever backward() had left there.
    for (const p of params) p.v.grad = p.g.dtype === 'float32' && p.g.storage !== p.v.storage ? p.g.clone() : p.g;
    this.step(params.map((p) => p.v), params.map((p) => p.v.name!));
    for (const p of params) p.v.grad = p.saved;
  }

  /** Keras's clipping, in place on the gradients (which are this step's own). */
  private clip(grads: Float32Array[]): void {
    const { clipnorm, globalClipnorm, clipvalue } = this;
    if (clipnorm !== undefined) {
      for (const g of grads) {
        const norm = Math.sqrt(sumSquares(g));
        if (norm > clipnorm) scale(g, clipnorm / norm);
      }
    } else if (globalClipnorm !== undefined) {
      const norm = Math.sqrt(grads.reduce((s, g) => s + sumSquares(g), 0));
      // A non-finite norm poisons every gradient (NaN), as Keras does, rather than hiding it.
      if (!(norm <= globalClipnorm)) for (const g of grads) scale(g, Number.isFinite(norm) ? globalClipnorm / norm : NaN);
    } else if (clipvalue !== undefined) {
      for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = Math.min(Math.max(g[i], -clipvalue), clipvalue);
    }
  }

  /**
   * The options every optimizer shares (learning rate or its schedule's config, clipping), for
   * getConfig.
   */
  protected baseConfig(): Stored<BaseConfig> {
    const { clipnorm, globalClipnorm, clipvalue } = this;
    return {
      learningRate: typeof this.rate === 'number' ? this.rate : this.rate.getConfig(),
      ...(clipnorm !== undefined && { clipnorm }),
      ...(globalClipnorm !== undefined && { globalClipnorm }),
      ...(clipvalue !== undefined && { clipvalue }),
    };
  }

  getState(opts: { views?: boolean } = {}): OptimizerState {
    return { iterations: this.iterations, slots: this.slots.entries(!opts.views) };
  }

  /** The slots this optimizer keeps per parameter (`m`, `v` for Adam). */
  abstract get slotNames(): string[];

  /**
   * Restores a step count and slots from {@link getState}; slot names and indices must be this
   * optimizer's.
   */
  setState(state: OptimizerState): void {
    check(Number.isSafeInteger(state?.iterations) && state.iterations >= 0, () => `optimizer state: iterations must be a non-negative integer, got ${String(state?.iterations)}`);
    for (const [key, v] of Object.entries(state.slots ?? {})) {
      const [slot, index] = key.split('/');
      check(this.slotNames.includes(slot) && /^(0|[1-9]\d{0,8})$/.test(index ?? ''),
        () => `optimizer state: slot "${key}" is not one of this ${this.getConfig().className} optimizer's (${this.slotNames.map((n) => `${n}/<index>`).join(', ') || 'it keeps none'})`);
      check(v instanceof Float32Array, () => `optimizer state: slot "${key}" must be float32 values`);
    }
    this.iterations = state.iterations;
    this.slots.load(state.slots);
  }
}

/**
 * Checks a stored optimizer state against the parameters it will update (their sizes, in the
 * order step() takes them) before anything is restored: every slot is one `optimizer` keeps, for
 * a parameter that exists, with exactly that parameter's size; `where` names the file.
 */
export function checkOptimizerState(optimizer: Optimizer | null, state: OptimizerState, sizes: number[], where: string): void {
  const names = optimizer instanceof BaseOptimizer ? optimizer.slotNames : ['m', 'v', 'momentum', 'velocity', 'average_gradient'];
  check(Number.isSafeInteger(state.iterations) && state.iterations >= 0, `${where}: optimizer iterations must be a non-negative integer, got ${state.iterations}`);
  for (const [key, v] of Object.entries(state.slots)) {
    const m = /^([a-z_]+)\/(0|[1-9]\d{0,8})$/.exec(key);
    check(m && names.includes(m[1]), () => `${where}: optimizer slot "${key}" is not one the optimizer keeps (${names.map((n) => `${n}/<index>`).join(', ') || 'it keeps none'})`);
    const index = Number(m[2]);
    check(index < sizes.length, () => `${where}: optimizer slot "${key}" is for parameter ${index}, but the model has ${sizes.length} trainable weights`);
    check(v.length === sizes[index], () => `${where}: optimizer slot "${key}" has ${v.length} values, its parameter has ${sizes[index]}`);
  }
}

function sumSquares(g: Float32Array): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return s;
}

function scale(g: Float32Array, k: number): void {
  for (let i = 0; i < g.length; i++) g[i] *= k;
}

/**
 * w -= lr * g, or with momentum: v = momentum * v - lr * g; w += v, or with Nesterov momentum
 * w += momentum * v - lr * g after updating v (as Keras and tf.keras).
 */
export class SGD extends BaseOptimizer {
  /** Momentum factor in [0, 1); 0 is plain SGD. */
  readonly momentum: number;
  /** Whether the momentum is Nesterov's. */
  readonly nesterov: boolean;

  constructor(c: SGDConfig = {}) {
    super(c, 0.01);
    this.momentum = fraction('momentum', c.momentum ?? 0);
    this.nesterov = c.nesterov ?? false;
  }

  /** SGD's update of one parameter: the fused backend kernel, or a loop for Nesterov momentum. */
  protected update({ w, g, index }: Param, lr: number): void {
    const mu = this.momentum;
    const v = mu === 0 ? null : this.slots.get('momentum', index, w.length);
    if (!v || !this.nesterov) return getBackend().sgdUpdate(w, g, v, lr, mu);
    for (let i = 0; i < w.length; i++) {
      v[i] = mu * v[i] - lr * g[i];
      w[i] += mu * v[i] - lr * g[i];
    }
  }

  get slotNames(): string[] {
    return this.momentum === 0 ? [] : ['momentum'];
  }

  /** This optimizer's class name and options, for a checkpoint. */
  getConfig(): OptimizerConfig {
    return { className: 'SGD', config: { ...this.baseConfig(), momentum: this.momentum, nesterov: this.nesterov } };
  }
}

/** Adam with Keras's bias correction folded into the step size and epsilon outside the sqrt. */
export class Adam extends BaseOptimizer {
  /** Decay of the first-moment estimate. */
  readonly beta1: number;
  /** Decay of the second-moment estimate. */
  readonly beta2: number;
  /** Added to the square root of the second moment. */
  readonly epsilon: number;

  constructor(c: AdamConfig = {}) {
    super(c, 0.001);
    this.beta1 = fraction('beta1', c.beta1 ?? 0.9);
    this.beta2 = fraction('beta2', c.beta2 ?? 0.999);
    this.epsilon = positive('epsilon', c.epsilon ?? 1e-7);
  }

  /**
   * Adam's update of one parameter, by the fused backend kernel with the bias-corrected step size.
   */
  protected update({ w, g, index }: Param, lr: number): void {
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const m = this.slots.get('m', index, w.length);
    const v = this.slots.get('v', index, w.length);
    const t = this.iterations;
    const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    getBackend().adamUpdate(w, g, m, v, alpha, b1, b2, eps);
  }

  get slotNames(): string[] {
    return ['m', 'v'];
  }

  /** Adam's options for getConfig, which AdamW extends with its own. */
  protected adamConfig(): Stored<AdamConfig> {
    return { ...this.baseConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  /** This optimizer's class name and options, for a checkpoint. */
  getConfig(): OptimizerConfig {
    return { className: 'Adam', config: this.adamConfig() };
  }
}

/**
 * Adam with decoupled weight decay (Keras 3 / tf.keras AdamW): before the Adam step each decayed
 * weight shrinks by w -= lr * weightDecay * w, with the (scheduled) learning rate, not Adam's
 * bias-corrected step. Only weights of rank 2 or more (kernels, embeddings) are decayed: biases
 * and normalization scales and offsets never are, the usual practice since GPT-2 (Keras decays
 * every weight unless excluded by name). excludeFromWeightDecay excludes more, by weight name.
 */
export class AdamW extends Adam {
  /** Fraction of each decayed weight removed per step, times the learning rate. */
  readonly weightDecay: number;
  /** Regular expressions on weight names: matching weights are not decayed. */
  readonly excludeFromWeightDecay: string[];
  private readonly excluded: RegExp | null;

  constructor(c: AdamWConfig = {}) {
    super(c);
    this.weightDecay = c.weightDecay ?? 0.004;
    check(Number.isFinite(this.weightDecay) && this.weightDecay >= 0, `weightDecay must be a non-negative number, got ${this.weightDecay}`);
    this.excludeFromWeightDecay = [...(c.excludeFromWeightDecay ?? [])];
    this.excluded = this.excludeFromWeightDecay.length ? new RegExp(this.excludeFromWeightDecay.join('|')) : null;
  }

  /** Decays the weight (rank 2 or more, not excluded by name), then takes Adam's step. */
  protected override update(p: Param, lr: number): void {
    if (p.rank >= 2 && !(this.excluded && p.name !== undefined && this.excluded.test(p.name))) {
      const { w } = p;
      const k = lr * this.weightDecay;
      for (let i = 0; i < w.length; i++) w[i] -= w[i] * k;
    }
    super.update(p, lr);
  }

  /** This optimizer's class name and options, for a checkpoint. */
  override getConfig(): OptimizerConfig {
    return {
      className: 'AdamW',
      config: { ...this.adamConfig(), weightDecay: this.weightDecay, excludeFromWeightDecay: [...this.excludeFromWeightDecay] },
    };
  }
}

/**
 * RMSprop as Keras: ms = rho * ms + (1 - rho) * g^2 (and with centered, mg = rho * mg + (1 - rho) * g,
 * ms - mg^2 in place of ms); step = lr * g / sqrt(ms + epsilon), epsilon inside the sqrt; with
 * momentum, mom = momentum * mom + step and w -= mom, else w -= step.
 */
export class RMSprop extends BaseOptimizer {
  /** Decay of the running mean of squared gradients. */
  readonly rho: number;
  /** Momentum factor applied to the steps; 0 for none. */
  readonly momentum: number;
  /** Added inside the square root of the mean square. */
  readonly epsilon: number;
  /** Whether the mean square is centred by the running mean gradient. */
  readonly centered: boolean;

  constructor(c: RMSpropConfig = {}) {
    super(c, 0.001);
    this.rho = fraction('rho', c.rho ?? 0.9);
    this.momentum = fraction('momentum', c.momentum ?? 0);
    this.epsilon = positive('epsilon', c.epsilon ?? 1e-7);
    this.centered = c.centered ?? false;
  }

  /** RMSprop's update of one parameter, in a TypeScript loop over its values. */
  protected update({ w, g, index }: Param, lr: number): void {
    const { rho, momentum: mu, epsilon: eps } = this;
    const ms = this.slots.get('velocity', index, w.length);
    const mom = mu > 0 ? this.slots.get('momentum', index, w.length) : null;
    const mg = this.centered ? this.slots.get('average_gradient', index, w.length) : null;
    for (let i = 0; i < w.length; i++) {
      ms[i] = rho * ms[i] + (1 - rho) * g[i] * g[i];
      let denominator = ms[i] + eps;
      if (mg) {
        mg[i] = rho * mg[i] + (1 - rho) * g[i];
        denominator = ms[i] - mg[i] * mg[i] + eps;
      }
      const increment = (lr * g[i]) / Math.sqrt(denominator);
      if (mom) w[i] -= (mom[i] = mu * mom[i] + increment);
      else w[i] -= increment;
    }
  }

  get slotNames(): string[] {
    return ['velocity', ...(this.momentum > 0 ? ['momentum'] : []), ...(this.centered ? ['average_gradient'] : [])];
  }

  /** This optimizer's class name and options, for a checkpoint. */
  getConfig(): OptimizerConfig {
    return {
      className: 'RMSprop',
      config: { ...this.baseConfig(), rho: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: this.centered },
    };
  }
}

/**
 * Rebuilds an optimizer from the config {@link Optimizer.getConfig} returned (as stored in a
 * checkpoint); a learning-rate schedule is rebuilt too. Throws on an unknown class name.
 */
export function optimizerFromConfig(c: OptimizerConfig): Optimizer {
  const lr = c.config?.learningRate;
  const learningRate = typeof lr === 'object' && lr !== null ? scheduleFromConfig(lr) : lr;
  switch (c.className) {
    case 'SGD': return new SGD({ ...c.config, learningRate });
    case 'Adam': return new Adam({ ...c.config, learningRate });
    case 'AdamW': return new AdamW({ ...c.config, learningRate });
    case 'RMSprop': return new RMSprop({ ...c.config, learningRate });
    default: {
      const unknown: never = c;
      return check(false, `unknown optimizer ${JSON.stringify((unknown as { className?: unknown }).className)}`) as never;
    }
  }
}

const BASE_FIELDS: Record<string, Field> = {
  learningRate: need((d) => (typeof d.value === 'object' && d.value !== null ? scheduleFromDoc(d) : positiveField()(d))),
  clipnorm: opt(positiveField()), globalClipnorm: opt(positiveField()), clipvalue: opt(positiveField()),
};
const ADAM_FIELDS: Record<string, Field> = { ...BASE_FIELDS, beta1: opt(fractionField), beta2: opt(fractionField), epsilon: opt(positiveField(1)) };
const OPTIMIZER_FIELDS: Record<OptimizerConfig['className'], Record<string, Field>> = {
  SGD: { ...BASE_FIELDS, momentum: opt(fractionField), nesterov: opt(bool) },
  Adam: ADAM_FIELDS,
  AdamW: {
    ...ADAM_FIELDS, weightDecay: opt((d) => d.number({ min: 0 })),
    excludeFromWeightDecay: opt((d) => d.array({ max: 1000 }).map((p) => {
      const source = p.string();
      try {
        new RegExp(source);
      } catch {
        p.fail(`is not a regular expression: ${JSON.stringify(source.slice(0, 40))}`);
      }
      return source;
    })),
  },
  RMSprop: { ...BASE_FIELDS, rho: opt(fractionField), momentum: opt(fractionField), epsilon: opt(positiveField(1)), centered: opt(bool) },
};

/** An optimizer from its `{className, config}` as a file holds it, each field checked (one line naming the file and field). */
export function optimizerFromDoc(d: Doc): Optimizer {
  d.object();
  const className = d.at('className').string(Object.keys(OPTIMIZER_FIELDS)) as OptimizerConfig['className'];
  const config = readFields(d.at('config'), OPTIMIZER_FIELDS[className], `a ${className} optimizer's config`);
  const c = config as BaseConfig;
  switch (className) {
    case 'SGD': return within(d, () => new SGD(c));
    case 'Adam': return within(d, () => new Adam(c));
    case 'AdamW': return within(d, () => new AdamW(c));
    case 'RMSprop': return within(d, () => new RMSprop(c));
    default: {
      const unknown: never = className;
      return d.fail(`unknown optimizer ${String(unknown)}`);
    }
  }
}

/** A config, or TF.js's positional arguments named in order. */
function positional<C extends BaseConfig>(first: C | number | undefined, rest: unknown[], names: (keyof C)[]): C {
  if (typeof first !== 'number') return first ?? ({} as C);
  const c: Record<string, unknown> = { learningRate: first };
  rest.forEach((v, i) => { if (v !== undefined) c[names[i] as string] = v; });
  return c as C;
}

/** sgd({learningRate, momentum, nesterov, ...}) or TF.js's sgd(learningRate). */
export const sgd = (config?: SGDConfig | number) => new SGD(positional(config, [], []));
/** TF.js's momentum(learningRate, momentum, useNesterov?): SGD with momentum. */
export const momentum = (learningRate: number, momentum: number, useNesterov = false) => new SGD({ learningRate, momentum, nesterov: useNesterov });
/** adam({learningRate, beta1, beta2, epsilon, ...}) or TF.js's adam(learningRate?, beta1?, beta2?, epsilon?). */
export const adam = (config?: AdamConfig | number, beta1?: number, beta2?: number, epsilon?: number) =>
  new Adam(positional<AdamConfig>(config, [beta1, beta2, epsilon], ['beta1', 'beta2', 'epsilon']));
/** adamW({learningRate, weightDecay, ...}) or adamW(learningRate). */
export const adamW = (config?: AdamWConfig | number) => new AdamW(positional(config, [], []));
/** rmsprop({learningRate, rho, momentum, epsilon, centered, ...}) or TF.js's rmsprop(learningRate, decay?, momentum?, epsilon?, centered?). */
export const rmsprop = (config?: RMSpropConfig | number, decay?: number, momentum?: number, epsilon?: number, centered?: boolean) =>
  new RMSprop(positional<RMSpropConfig>(config, [decay, momentum, epsilon, centered], ['rho', 'momentum', 'epsilon', 'centered']));
