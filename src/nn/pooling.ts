// MaxPooling2D and AveragePooling2D over NHWC images, as Keras (strides default to the pool size),
// and GlobalAveragePooling2D.

import type { Padding } from '../backend/geometry.js';
import { check } from '../core/errors.js';
import { formatShape, type Shape } from '../core/shape.js';
import { avgPool, maxPool } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { pair, type Size2 } from './convolutional.js';
import { Layer, type BaseLayerConfig } from './layer.js';

/** The options of {@link MaxPooling2D} and {@link AveragePooling2D}, with Keras's names and defaults. */
export interface Pooling2DConfig extends BaseLayerConfig {
  /** The window's height and width, or one number for both (default 2). */
  poolSize?: Size2;
  /** The step between windows, vertical and horizontal, or one number for both (default: the pool size). */
  strides?: Size2;
  /** `valid` (the default: whole windows only) or `same` (padded so that out = ceil(in / stride)), as Keras. */
  padding?: Padding;
}

abstract class Pooling2D extends Layer<Pooling2DConfig> {
  /** The window options for the pooling op, with the defaults filled in. */
  options() {
    const poolSize = pair(this.config.poolSize ?? 2);
    return {
      /** The window's height and width. */
      poolSize,
      /** The step between windows, vertical and horizontal. */
      strides: pair(this.config.strides ?? poolSize),
      /** `valid` or `same`. */
      padding: this.config.padding ?? 'valid',
    };
  }

  getConfig(): Pooling2DConfig {
    return { ...this.base(), ...this.options() };
  }
}

/** (N, H, W, C) -> (N, OH, OW, C): the largest value of each window, per channel. */
export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';

  call(x: Tensor): Tensor {
    return maxPool(x, this.options());
  }
}

/** (N, H, W, C) -> (N, OH, OW, C): the mean of each window, per channel. */
export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';

  call(x: Tensor): Tensor {
    return avgPool(x, this.options());
  }
}

/** The options of a {@link GlobalAveragePooling2D} layer. */
export interface GlobalPooling2DConfig extends BaseLayerConfig {
  /** Keeps the pooled axes with size 1: (N, 1, 1, C) instead of (N, C). */
  keepdims?: boolean;
}

/** (N, H, W, C) -> (N, C): the mean of each channel over the image, as Keras (channels last). */
export class GlobalAveragePooling2D extends Layer<GlobalPooling2DConfig> {
  readonly className = 'GlobalAveragePooling2D';

  override build(inputShape: Shape): void {
    check(inputShape.length === 4, () => `GlobalAveragePooling2D expects (batch, height, width, channels) inputs, got ${formatShape(inputShape)}`);
    this.built = true;
  }

  call(x: Tensor): Tensor {
    return x.mean([1, 2], this.config.keepdims ?? false);
  }

  getConfig(): GlobalPooling2DConfig {
    return { ...this.base(), keepdims: this.config.keepdims ?? false };
  }
}
