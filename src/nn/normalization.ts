// The normalisation layers, as Keras, both over the last (channels) axis.
// BatchNormalization: batch statistics while training, moving averages of them in inference.
// Built from differentiable primitives, so autograd gives the backward pass; the moving statistics
// are non-trainable weights the layer updates itself.
// LayerNormalization: each example's own statistics over its last axis, the same in training and
// inference (ops/transformer.ts's layerNorm).
// Not for: other axes (channels-first), virtual batches, renormalisation or synchronised statistics.

import { check } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { formatShape, type Shape } from '../core/shape.js';
import { layerNorm } from '../ops/transformer.js';
import { binary } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { InitializerName } from './initializers.js';
import { Layer, type BaseLayerConfig } from './layer.js';
import { checkRegularizer, type Regularizer } from './regularizers.js';

/** What both normalisations take: the axis, epsilon, and the learnt scale and offset after normalising. */
export interface AffineNormalizationConfig extends BaseLayerConfig {
  /** Only -1 (the last axis) is supported. */
  axis?: number;
  /** Added to the variance before its square root, for stability (default 1e-3, as Keras). */
  epsilon?: number;
  /** Adds the learnt offset beta. */
  center?: boolean;
  /** Multiplies by the learnt scale gamma. */
  scale?: boolean;
  /** How beta starts (default `zeros`). */
  betaInitializer?: InitializerName;
  /** How gamma starts (default `ones`). */
  gammaInitializer?: InitializerName;
  /** A penalty on beta added to the training loss. */
  betaRegularizer?: Regularizer;
  /** A penalty on gamma added to the training loss. */
  gammaRegularizer?: Regularizer;
}

/** A normalisation over the last axis followed by gamma and beta per channel (Keras's order: gamma, then beta). */
abstract class AffineNormalization<C extends AffineNormalizationConfig> extends Layer<C> {
  /** The learnt scale, (C) for C channels (the input's last axis); null with `scale: false` or before build(). */
  gamma: Tensor | null = null;
  /** The learnt offset, (C); null with `center: false` or before build(). */
  beta: Tensor | null = null;

  constructor(config: C, name: string) {
    check((config.axis ?? -1) === -1, `${name} supports only axis -1 (the last axis), got ${JSON.stringify(config.axis)}`);
    check((config.epsilon ?? 1e-3) > 0, `${name} epsilon must be positive, got ${config.epsilon}`);
    super(config);
  }

  /** Creates gamma and beta for inputs of `inputShape`; returns the channel shape. */
  protected buildAffine(inputShape: Shape, rng: Rng, what: string): number[] {
    check(inputShape.length >= 2, () => `${this.className} needs inputs with a batch axis and ${what}, got ${formatShape(inputShape)}`);
    const c = this.affineConfig();
    const channels = [inputShape[inputShape.length - 1]];
    if (c.scale) this.gamma = this.addWeight('gamma', channels, c.gammaInitializer!, rng, { regularizer: c.gammaRegularizer });
    if (c.center) this.beta = this.addWeight('beta', channels, c.betaInitializer!, rng, { regularizer: c.betaRegularizer });
    return channels;
  }

  /** The shared part of getConfig(), with Keras's defaults. */
  protected affineConfig(): AffineNormalizationConfig {
    const c = this.config;
    return {
      ...this.base(), axis: -1, epsilon: c.epsilon ?? 1e-3, center: c.center ?? true, scale: c.scale ?? true,
      betaInitializer: c.betaInitializer ?? 'zeros', gammaInitializer: c.gammaInitializer ?? 'ones',
      ...(c.betaRegularizer ? { betaRegularizer: checkRegularizer(c.betaRegularizer) } : {}),
      ...(c.gammaRegularizer ? { gammaRegularizer: checkRegularizer(c.gammaRegularizer) } : {}),
    };
  }
}

/** The options of a {@link BatchNormalization} layer, with Keras's names and defaults. */
export interface BatchNormalizationConfig extends AffineNormalizationConfig {
  /** How much of the moving statistics each training step keeps, in [0, 1] (default 0.99). */
  momentum?: number;
  /** How the moving mean starts (default `zeros`). */
  movingMeanInitializer?: InitializerName;
  /** How the moving variance starts (default `ones`). */
  movingVarianceInitializer?: InitializerName;
}

/**
 * y = gamma * (x - mean) / sqrt(variance + epsilon) + beta per channel, where mean and variance
 * are the batch's (biased) statistics over every axis but the last while training, and the moving
 * ones otherwise. Each training call updates moving = moving * momentum + batch * (1 - momentum).
 */
export class BatchNormalization extends AffineNormalization<BatchNormalizationConfig> {
  readonly className = 'BatchNormalization';
  /** The moving average of the batch means, (C): a non-trainable weight (`moving_mean`) used in inference. */
  movingMean!: Tensor;
  /** The moving average of the batch variances, (C): a non-trainable weight (`moving_variance`) used in inference. */
  movingVariance!: Tensor;

  constructor(config: BatchNormalizationConfig = {}) {
    const m = config.momentum ?? 0.99;
    check(m >= 0 && m <= 1, `BatchNormalization momentum must be in [0, 1], got ${m}`);
    super(config, 'BatchNormalization');
    this.getConfig(); // checks the regularizers now, not at build
  }

  override build(inputShape: Shape, rng: Rng): void {
    const channels = this.buildAffine(inputShape, rng, 'a channel axis');
    const c = this.getConfig();
    this.movingMean = this.addWeight('moving_mean', channels, c.movingMeanInitializer!, rng, { trainable: false });
    this.movingVariance = this.addWeight('moving_variance', channels, c.movingVarianceInitializer!, rng, { trainable: false });
    this.built = true;
  }

  call(x: Tensor, training: boolean): Tensor {
    if (!training) {
      // x * scale + shift, with the moving statistics folded into per-channel (C) factors.
      const scale = this.scaleFor(this.movingVariance);
      const shift = this.movingMean.mul(scale).neg();
      return x.mul(scale).add(this.beta ? shift.add(this.beta) : shift);
    }
    const axes = [...Array(x.rank - 1).keys()];
    const count = x.size / x.shape[x.rank - 1];
    const mean = x.sum(axes).div(count); // (..., C) -> (C)
    const centred = x.sub(mean); // (..., C)
    const variance = centred.square().sum(axes).div(count); // (C), biased as Keras
    this.updateMoving(mean, variance);
    const y = centred.mul(this.scaleFor(variance));
    return this.beta ? y.add(this.beta) : y;
  }

  /** gamma / sqrt(variance + epsilon), per channel. */
  private scaleFor(variance: Tensor): Tensor {
    const invStd = binary('div', 1, variance.add(this.config.epsilon ?? 1e-3).sqrt());
    return this.gamma ? invStd.mul(this.gamma) : invStd;
  }

  /** moving = moving * momentum + batch * (1 - momentum), in place, outside the graph. */
  private updateMoving(mean: Tensor, variance: Tensor): void {
    const m = this.config.momentum ?? 0.99;
    for (const [moving, batch] of [[this.movingMean, mean], [this.movingVariance, variance]]) {
      const [w, b] = [moving.raw, batch.raw];
      for (let i = 0; i < w.length; i++) w[i] = w[i] * m + b[i] * (1 - m);
    }
  }

  getConfig(): BatchNormalizationConfig {
    const c = this.config;
    return {
      ...this.affineConfig(), momentum: c.momentum ?? 0.99,
      movingMeanInitializer: c.movingMeanInitializer ?? 'zeros', movingVarianceInitializer: c.movingVarianceInitializer ?? 'ones',
    };
  }
}

/** The options of a {@link LayerNormalization} layer: those both normalisations take. */
export type LayerNormalizationConfig = AffineNormalizationConfig;

/** y = gamma * (x - mean) / sqrt(variance + epsilon) + beta, with mean and (biased) variance over the last axis of each example. */
export class LayerNormalization extends AffineNormalization<LayerNormalizationConfig> {
  readonly className = 'LayerNormalization';

  constructor(config: LayerNormalizationConfig = {}) {
    super(config, 'LayerNormalization');
    this.getConfig(); // checks the regularizers now, not at build
  }

  override build(inputShape: Shape, rng: Rng): void {
    this.buildAffine(inputShape, rng, 'a feature axis');
    this.built = true;
  }

  call(x: Tensor): Tensor {
    return layerNorm(x, this.gamma, this.beta, this.config.epsilon ?? 1e-3); // (..., C) -> (..., C)
  }

  getConfig(): LayerNormalizationConfig {
    return this.affineConfig();
  }
}
