// Learning-rate schedules: pure functions of the optimizer's step count (0 for the first update),
// with Keras's names, arguments and formulas, and configs that round-trip. An optimizer given a
// schedule as its learningRate evaluates it at every step. Epoch-level changes (a function of the
// epoch, or on a plateau) are callbacks in src/train/monitors.ts, not schedules.

import { check } from '../core/errors.js';
import type { Doc } from '../core/validate.js';
import { bool, need, opt, positive, readFields, within, type Field } from '../nn/schema.js';

/** Options of {@link piecewiseConstantDecay}: constant rates between step boundaries. */
export interface PiecewiseConstantDecayConfig {
  /** Increasing step numbers where the rate changes. */
  boundaries: number[];
  /** One more value than boundaries: values[i] for boundaries[i-1] < step <= boundaries[i]. */
  values: number[];
}

/** Options of {@link exponentialDecay}: rate = initialLearningRate * decayRate ** (step / decaySteps). */
export interface ExponentialDecayConfig {
  /** The rate at step 0. */
  initialLearningRate: number;
  /** Steps over which the rate is multiplied by decayRate once. */
  decaySteps: number;
  /** The factor applied every decaySteps (below 1 to decay). */
  decayRate: number;
  /** Decay in whole intervals of decaySteps (a step decay) instead of continuously. */
  staircase?: boolean;
}

/** Options of {@link cosineDecay}: an optional linear warm-up, then a half cosine down to a floor. */
export interface CosineDecayConfig {
  /** The rate at step 0: where warmup starts, or where the decay starts without warmup. */
  initialLearningRate: number;
  /** Steps of the cosine decay, after the warmup. */
  decaySteps: number;
  /** The floor, as a fraction of the decay's starting rate. */
  alpha?: number;
  /** With warmup: the rate reached linearly at warmupSteps, where the decay starts. */
  warmupTarget?: number | null;
  /** Steps of linear warm-up before the decay (default 0). */
  warmupSteps?: number;
}

/**
 * A schedule as stored in a checkpoint (inside the optimizer's config): its Keras class name and
 * options. {@link scheduleFromConfig} rebuilds it.
 */
export type ScheduleConfig =
  | {
      /** Which schedule, as Keras names it. */
      className: 'PiecewiseConstantDecay';
      /** Its options. */
      config: PiecewiseConstantDecayConfig;
    }
  | {
      /** Which schedule, as Keras names it. */
      className: 'ExponentialDecay';
      /** Its options. */
      config: ExponentialDecayConfig;
    }
  | {
      /** Which schedule, as Keras names it. */
      className: 'CosineDecay';
      /** Its options. */
      config: CosineDecayConfig;
    };

/** Called with the step number (as Keras's `schedule(step)`), and serializable. */
export interface LearningRateSchedule {
  (step: number): number;
  /** The schedule's class name and options, for a checkpoint. */
  getConfig(): ScheduleConfig;
}

function schedule(config: ScheduleConfig, rate: (step: number) => number): LearningRateSchedule {
  return Object.assign(rate, { getConfig: () => structuredClone(config) });
}

function nonNegative(name: string, v: number): number {
  check(Number.isFinite(v) && v >= 0, `${name} must be a non-negative number, got ${v}`);
  return v;
}

function positiveSteps(name: string, v: number): number {
  check(Number.isFinite(v) && v > 0, `${name} must be a positive number of steps, got ${v}`);
  return v;
}

/** Keras PiecewiseConstantDecay: a constant rate between boundaries (step decay at chosen steps). */
export function piecewiseConstantDecay(c: PiecewiseConstantDecayConfig): LearningRateSchedule {
  const { boundaries, values } = c;
  check(Array.isArray(boundaries) && Array.isArray(values) && values.length === boundaries.length + 1,
    `piecewiseConstantDecay needs one more value than boundaries, got ${values?.length} values and ${boundaries?.length} boundaries`);
  check(boundaries.every((b, i) => i === 0 || b > boundaries[i - 1]), 'piecewiseConstantDecay boundaries must increase');
  values.forEach((v) => nonNegative('a learning rate', v));
  return schedule({ className: 'PiecewiseConstantDecay', config: { boundaries: [...boundaries], values: [...values] } }, (step) => {
    const i = boundaries.findIndex((b) => step <= b);
    return values[i < 0 ? boundaries.length : i];
  });
}

/** Keras ExponentialDecay: initial * decayRate^(step / decaySteps), the exponent floored if staircase. */
export function exponentialDecay(c: ExponentialDecayConfig): LearningRateSchedule {
  const config = {
    initialLearningRate: nonNegative('initialLearningRate', c.initialLearningRate),
    decaySteps: positiveSteps('decaySteps', c.decaySteps),
    decayRate: nonNegative('decayRate', c.decayRate),
    staircase: c.staircase ?? false,
  };
  return schedule({ className: 'ExponentialDecay', config }, (step) => {
    const p = step / config.decaySteps;
    return config.initialLearningRate * config.decayRate ** (config.staircase ? Math.floor(p) : p);
  });
}

/**
 * Keras CosineDecay: optionally a linear warmup from initialLearningRate to warmupTarget over
 * warmupSteps, then from that rate (r) a half cosine over decaySteps down to alpha * r, held after.
 */
export function cosineDecay(c: CosineDecayConfig): LearningRateSchedule {
  const config = {
    initialLearningRate: nonNegative('initialLearningRate', c.initialLearningRate),
    decaySteps: positiveSteps('decaySteps', c.decaySteps),
    alpha: nonNegative('alpha', c.alpha ?? 0),
    warmupTarget: c.warmupTarget ?? null,
    warmupSteps: nonNegative('warmupSteps', c.warmupSteps ?? 0),
  };
  const { initialLearningRate: initial, decaySteps, alpha, warmupTarget, warmupSteps } = config;
  const decay = (step: number, from: number) => from * ((1 - alpha) * 0.5 * (1 + Math.cos(Math.PI * (step / decaySteps))) + alpha);
  return schedule({ className: 'CosineDecay', config }, (step) => {
    if (warmupTarget === null) return decay(Math.min(step, decaySteps), initial);
    const s = Math.min(step, decaySteps + warmupSteps);
    if (s < warmupSteps) return (warmupTarget - initial) * (s / warmupSteps) + initial;
    return decay(s - warmupSteps, warmupTarget);
  });
}

/** Rebuilds a schedule from the config its getConfig() returned; throws on an unknown class name. */
export function scheduleFromConfig(c: ScheduleConfig): LearningRateSchedule {
  switch (c.className) {
    case 'PiecewiseConstantDecay': return piecewiseConstantDecay(c.config);
    case 'ExponentialDecay': return exponentialDecay(c.config);
    case 'CosineDecay': return cosineDecay(c.config);
    default: {
      const unknown: never = c;
      return check(false, `unknown learning-rate schedule ${JSON.stringify((unknown as { className?: unknown }).className)}`) as never;
    }
  }
}

const MAX_BOUNDARIES = 10000;
const rate = (d: Doc) => d.number({ min: 0 });
const steps = (d: Doc) => d.int({ min: 0 });
const SCHEDULE_FIELDS: Record<ScheduleConfig['className'], Record<string, Field>> = {
  PiecewiseConstantDecay: {
    boundaries: need((d) => d.array({ max: MAX_BOUNDARIES }).map(steps)),
    values: need((d) => d.array({ max: MAX_BOUNDARIES + 1 }).map(rate)),
  },
  ExponentialDecay: { initialLearningRate: need(rate), decaySteps: need(positive()), decayRate: need(rate), staircase: opt(bool) },
  CosineDecay: {
    initialLearningRate: need(rate), decaySteps: need(positive()), alpha: opt(rate), warmupTarget: opt(rate), warmupSteps: opt(steps),
  },
};

/** A schedule's `{className, config}` read from a file, checked field by field. */
export function scheduleFromDoc(d: Doc): LearningRateSchedule {
  d.object();
  const className = d.at('className').string(Object.keys(SCHEDULE_FIELDS)) as ScheduleConfig['className'];
  const config = readFields(d.at('config'), SCHEDULE_FIELDS[className], `a ${className} schedule`);
  return within(d, () => scheduleFromConfig({ className, config } as unknown as ScheduleConfig));
}
