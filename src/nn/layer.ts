// The Layer base class, kept thin as Keras's: build(inputShape) creates weights, call(x) computes,
// getConfig() returns a plain object from which the layer can be rebuilt.

import type { Rng } from '../core/rng.js';
import { activate, type ActivationName } from '../ops/activations.js';
import { isRecording } from '../tensor/engine.js';
import { persistent, release } from '../tensor/memory.js';
import { binary } from '../tensor/ops.js';
import type { Shape } from '../core/shape.js';
import { variable, type Tensor } from '../tensor/tensor.js';
import { check, TsgradError } from '../core/errors.js';
import { sizeOf } from '../core/shape.js';
import { initialize, INITIALIZER_NAMES, type InitializerName } from './initializers.js';
import { checkRegularizer, type Regularizer } from './regularizers.js';

/** Options every layer accepts. */
export interface BaseLayerConfig {
  /**
   * The layer's name, unique within its model; weights are saved as `<name>/<weight>`. Without one
   * the model names the layer after its class, numbered within the model (`dense`, `dense_1`, ...).
   */
  name?: string;
  /** The shape of one example (no batch axis); needed on the first layer of a model. */
  inputShape?: number[];
  /** A penalty on the layer's output, divided by the batch size, added to the loss (as Keras). */
  activityRegularizer?: Regularizer;
}

export interface Weight {
  /** `kernel`, `bias`, ...: unique within the layer. */
  name: string;
  value: Tensor;
  /** Updated by the optimizer; false for state such as batch norm's moving statistics. */
  trainable: boolean;
  /** A penalty on the weight added to the training loss. */
  regularizer?: Regularizer;
}

/**
 * The base of every layer, kept thin as Keras's: `build(inputShape, rng)` creates the weights,
 * `call(x, training)` computes, `getConfig()` returns the plain config that rebuilds the layer. A
 * custom layer subclasses it.
 */
export abstract class Layer<C extends BaseLayerConfig = BaseLayerConfig> {
  /** The layer's type as Keras names it (`Dense`, `Conv2D`, ...), written in model.json. */
  abstract readonly className: string;
  /**
   * The layer's name, unique within its model (given by the model when the config has none);
   * weights are saved as `<name>/<weight>`.
   */
  name: string;
  /** The layer's weights in creation order, empty until build(). */
  readonly weights: Weight[] = [];
  /** Whether build() has created the weights. */
  built = false;

  constructor(
    /** The options the layer was made with, as given (getConfig() fills in the defaults). */
    readonly config: C,
  ) {
    checkCommonFields(config);
    this.name = config.name ?? '';
    if (config.activityRegularizer) checkRegularizer(config.activityRegularizer);
  }

  /** Creates the weights for inputs of `inputShape` (batch axis first). */
  build(_inputShape: Shape, _rng: Rng): void {
    this.built = true;
  }

  /**
   * The layer's forward computation on a batch x (batch axis first); `training` turns on dropout
   * and batch statistics.
   */
  abstract call(x: Tensor, training: boolean): Tensor;

  /** The full config with defaults filled in, as Keras's get_config. */
  abstract getConfig(): C;

  /** A trainable weight (a variable), or with `trainable: false` a constant the layer updates itself. */
  protected addWeight(name: string, shape: Shape, init: InitializerName, rng: Rng,
    opts: { trainable?: boolean; regularizer?: Regularizer } = {}): Tensor {
    const trainable = opts.trainable ?? true;
    if (budget) {
      budget.left -= sizeOf(shape);
      if (budget.left < 0) throw new TsgradError(budget.message(`${this.name}/${name}`, shape));
    }
    // Weights are tenured: they outlive every tidy, even when a model is first built inside one.
    const value = persistent(() => (trainable ? variable(initialize(init, shape, rng)) : initialize(init, shape, rng)));
    this.weights.push({ name, value, trainable, ...(opts.regularizer ? { regularizer: opts.regularizer } : {}) });
    return value;
  }

  /** The options every layer shares (name, inputShape, activityRegularizer), for a subclass's getConfig(). */
  protected base(): BaseLayerConfig {
    const c = this.config;
    return {
      name: this.name, ...(c.inputShape ? { inputShape: [...c.inputShape] } : {}),
      ...(c.activityRegularizer ? { activityRegularizer: checkRegularizer(c.activityRegularizer) } : {}),
    };
  }
}

/** activation(y + bias) for a fresh y, with bias and ReLU as one pass (addRelu) when both are there. */
export function biasActivation(y: Tensor, bias: Tensor | null, activation: ActivationName = 'linear'): Tensor {
  if (bias && activation === 'relu') return then(y, (t) => binary('addRelu', t, bias));
  const z = bias ? then(y, (t) => t.add(bias)) : y;
  return then(z, (t) => activate(activation, t));
}

/**
 * f(t) for a temporary `t` the caller made and nobody else holds: during inference (nothing
 * recorded for backward) t's storage is freed at once, unless f(t) shares or keeps it, so a
 * layer's peak memory is two activations.
 */
export function then(t: Tensor, f: (t: Tensor) => Tensor): Tensor {
  const y = f(t);
  if (!isRecording()) release(t, y);
  return y;
}

/** Every activation a layer config may name (the compiler checks that the list is complete). */
export const ACTIVATION_NAMES = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'] as const satisfies readonly ActivationName[];
const complete: Exclude<ActivationName, (typeof ACTIVATION_NAMES)[number]> extends never ? true : never = true;
void complete;

/**
 * The fields several layers share, checked when a layer is made in code (a file's config is checked
 * field by field before, by nn/schema.ts): known activation, initializer and padding names, and
 * window sizes, strides and input shapes of positive integers, so no kernel ever sees a zero-sized
 * or fractional window.
 */
function checkCommonFields(config: object): void {
  check(typeof config === 'object' && config !== null, `a layer config must be an object, got ${String(config)}`);
  const c = config as Record<string, unknown>;
  for (const [key, v] of Object.entries(c)) {
    if (v === undefined) continue;
    if (key === 'activation' || key === 'recurrentActivation') {
      check(ACTIVATION_NAMES.includes(v as never), () => `unknown ${key} ${JSON.stringify(v)} (tsgrad has ${ACTIVATION_NAMES.join(', ')})`);
    } else if (key.endsWith('Initializer')) {
      check(INITIALIZER_NAMES.includes(v as never), () => `unknown ${key} ${JSON.stringify(v)} (tsgrad has ${INITIALIZER_NAMES.join(', ')})`);
    } else if (key === 'padding') {
      check(v === 'valid' || v === 'same', () => `padding must be "valid" or "same", got ${JSON.stringify(v)}`);
    } else if (key === 'kernelSize' || key === 'strides' || key === 'poolSize') {
      const ok = (d: unknown) => Number.isSafeInteger(d) && (d as number) > 0;
      check(ok(v) || (Array.isArray(v) && v.length === 2 && v.every(ok)), () => `${key} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
    } else if (key === 'inputShape') {
      check(Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d > 0), () => `inputShape must be a list of positive integers, got ${JSON.stringify(v)}`);
    }
  }
}

/** What weights may still be created while a model is rebuilt from a file (see withWeightBudget). */
let budget: { left: number; message: (weight: string, shape: Shape) => string } | null = null;

/**
 * fn() with at most `elements` weight elements created in all: a config read from a file cannot
 * make tsgrad allocate more than the weights file holds. Past it, a TsgradError from
 * `message(weight, shape)` (the weight that went over) before that weight is allocated.
 */
export function withWeightBudget<T>(elements: number, message: (weight: string, shape: Shape) => string, fn: () => T): T {
  const saved = budget;
  budget = { left: elements, message };
  try {
    return fn();
  } finally {
    budget = saved;
  }
}
