// The Layer base class, kept thin as Keras's: build(inputShape) creates weights, call(x) computes,
// getConfig() returns a plain object from which the layer can be rebuilt.

import type { Rng } from '../core/rng.js';
import { activate, type ActivationName } from '../ops/activations.js';
import { isRecording } from '../tensor/engine.js';
import { persistent, release } from '../tensor/memory.js';
import { binary } from '../tensor/ops.js';
import type { Shape } from '../core/shape.js';
import { variable, type Tensor } from '../tensor/tensor.js';
import { initialize, type InitializerName } from './initializers.js';
import { checkRegularizer, type Regularizer } from './regularizers.js';

/** Options every layer accepts. */
export interface BaseLayerConfig {
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

export abstract class Layer<C extends BaseLayerConfig = BaseLayerConfig> {
  abstract readonly className: string;
  name: string;
  readonly weights: Weight[] = [];
  built = false;

  constructor(readonly config: C) {
    this.name = config.name ?? '';
    if (config.activityRegularizer) checkRegularizer(config.activityRegularizer);
  }

  /** Creates the weights for inputs of `inputShape` (batch axis first). */
  build(_inputShape: Shape, _rng: Rng): void {
    this.built = true;
  }

  abstract call(x: Tensor, training: boolean): Tensor;

  /** The full config with defaults filled in, as Keras's get_config. */
  abstract getConfig(): C;

  /** A trainable weight (a variable), or with `trainable: false` a constant the layer updates itself. */
  protected addWeight(name: string, shape: Shape, init: InitializerName, rng: Rng,
    opts: { trainable?: boolean; regularizer?: Regularizer } = {}): Tensor {
    const trainable = opts.trainable ?? true;
    // Weights are tenured: they outlive every tidy, even when a model is first built inside one.
    const value = persistent(() => (trainable ? variable(initialize(init, shape, rng)) : initialize(init, shape, rng)));
    this.weights.push({ name, value, trainable, ...(opts.regularizer ? { regularizer: opts.regularizer } : {}) });
    return value;
  }

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
