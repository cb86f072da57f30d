// The core layers: Dense, Flatten, Activation, Dropout.

import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Shape } from '../core/shape.js';
import { activate, type ActivationName } from '../ops/activations.js';
import { slice } from '../tensor/ops.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { InitializerName } from './initializers.js';
import { biasActivation, Layer, type BaseLayerConfig } from './layer.js';
import { regularizers, type Regularizer } from './regularizers.js';

/** The options of a {@link Dense} layer, with Keras's names and defaults. */
export interface DenseConfig extends BaseLayerConfig {
  /** The number of outputs: the size of the output's last axis. */
  units: number;
  /** Applied to x @ kernel + bias (default `linear`: none). */
  activation?: ActivationName;
  /** Whether to add a learnt bias (default true). */
  useBias?: boolean;
  /** How the kernel starts (default `glorotUniform`). */
  kernelInitializer?: InitializerName;
  /** How the bias starts (default `zeros`). */
  biasInitializer?: InitializerName;
  /** A penalty on the kernel added to the training loss. */
  kernelRegularizer?: Regularizer;
  /** A penalty on the bias added to the training loss. */
  biasRegularizer?: Regularizer;
}

/** y = activation(x @ kernel + bias) on the last axis. */
export class Dense extends Layer<DenseConfig> {
  readonly className = 'Dense';
  /** The weights, (in, units), where `in` is the size of the input's last axis; created by build(). */
  kernel!: Tensor;
  /** The bias, (units); null with `useBias: false`. */
  bias: Tensor | null = null;

  constructor(config: DenseConfig) {
    check(Number.isInteger(config.units) && config.units > 0, `Dense units must be a positive integer, got ${config.units}`);
    regularizers(config); // fails now on a bad regularizer, not at build
    super(config);
  }

  override build(inputShape: Shape, rng: Rng): void {
    const c = this.getConfig();
    this.kernel = this.addWeight('kernel', [inputShape[inputShape.length - 1], c.units], c.kernelInitializer!, rng, { regularizer: c.kernelRegularizer });
    if (c.useBias) this.bias = this.addWeight('bias', [c.units], c.biasInitializer!, rng, { regularizer: c.biasRegularizer });
    this.built = true;
  }

  call(x: Tensor): Tensor {
    return this.project(x, this.kernel, this.bias);
  }

  /**
   * Units start..start+count-1 of call(x), computed from those columns of the kernel alone. For a
   * layer whose output is used in parts (the GPT's q, k and v): slicing the kernel costs a copy of
   * it and, backwards, a kernel-sized pad, where slicing the output would cost activation-sized ones.
   */
  callUnits(x: Tensor, start: number, count: number): Tensor {
    check(this.config.activation !== 'softmax', `layer "${this.name}" (Dense): a softmax's outputs cannot be computed in parts`);
    return this.project(x, slice(this.kernel, 1, start, count), this.bias && slice(this.bias, 0, start, count));
  }

  /** activation(x @ kernel + bias) for x (..., in), kernel (in, out) and bias (out). */
  private project(x: Tensor, kernel: Tensor, bias: Tensor | null): Tensor {
    // (..., in) -> (N, in) @ (in, out) -> (..., out)
    // The activation comes last, on the final shape: a softmax output must be the very tensor
    // returned, so that cross-entropy finds its logits.
    const y = x.reshape([-1, x.shape[x.rank - 1]]).matmul(kernel).reshape([...x.shape.slice(0, -1), kernel.shape[1]]);
    return biasActivation(y, bias, this.config.activation);
  }

  getConfig(): DenseConfig {
    const c = this.config;
    return {
      ...this.base(), units: c.units, activation: c.activation ?? 'linear', useBias: c.useBias ?? true,
      kernelInitializer: c.kernelInitializer ?? 'glorotUniform', biasInitializer: c.biasInitializer ?? 'zeros',
      ...regularizers(c),
    };
  }
}

/** The options of a {@link Flatten} layer: only those every layer takes. */
export type FlattenConfig = BaseLayerConfig;

/** (N, ...) -> (N, product of the rest). */
export class Flatten extends Layer<FlattenConfig> {
  readonly className = 'Flatten';

  call(x: Tensor): Tensor {
    return x.reshape([x.shape[0], -1]);
  }

  getConfig(): FlattenConfig {
    return this.base();
  }
}

/** The options of an {@link Activation} layer. */
export interface ActivationConfig extends BaseLayerConfig {
  /** The function applied to each element. */
  activation: ActivationName;
}

/** Applies an activation function to each element; the shape is unchanged. */
export class Activation extends Layer<ActivationConfig> {
  readonly className = 'Activation';

  call(x: Tensor): Tensor {
    return activate(this.config.activation, x);
  }

  getConfig(): ActivationConfig {
    return { ...this.base(), activation: this.config.activation };
  }
}

/** The options of a {@link Dropout} layer. */
export interface DropoutConfig extends BaseLayerConfig {
  /** The fraction of inputs zeroed while training, in [0, 1). */
  rate: number;
  /** Fixes this layer's masks independently of the model seed. */
  seed?: number;
}

/** While training, zeroes each input with probability `rate` and scales the rest by 1/(1-rate). */
export class Dropout extends Layer<DropoutConfig> {
  readonly className = 'Dropout';
  /** Draws the dropout masks; its state is part of a run's state (see Sequential.getRngStates). */
  rng = new Rng(0);

  constructor(config: DropoutConfig) {
    check(config.rate >= 0 && config.rate < 1, `Dropout rate must be in [0, 1), got ${config.rate}`);
    super(config);
  }

  override build(_inputShape: Shape, rng: Rng): void {
    this.rng = this.config.seed === undefined ? rng.fork() : new Rng(this.config.seed);
    this.built = true;
  }

  call(x: Tensor, training: boolean): Tensor {
    const rate = this.config.rate;
    if (!training || rate === 0) return x;
    // One draw per element, in order; the mask holds 0 or 1/(1-rate), so one product applies it.
    const mask = new Float32Array(x.size);
    const scale = 1 / (1 - rate);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.uniform() < rate ? 0 : scale;
    return x.mul(tensor(mask, x.shape));
  }

  getConfig(): DropoutConfig {
    return { ...this.base(), rate: this.config.rate, ...(this.config.seed !== undefined ? { seed: this.config.seed } : {}) };
  }
}
