// MaxPooling2D and AveragePooling2D over NHWC images, as Keras (strides default to the pool size).

import type { Padding } from '../backend/geometry.js';
import { avgPool, maxPool } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { pair, type Size2 } from './convolutional.js';
import { Layer, type BaseLayerConfig } from './layer.js';

export interface Pooling2DConfig extends BaseLayerConfig {
  poolSize?: Size2;
  strides?: Size2;
  padding?: Padding;
}

abstract class Pooling2D extends Layer<Pooling2DConfig> {
  protected options() {
    const poolSize = pair(this.config.poolSize ?? 2);
    return { poolSize, strides: pair(this.config.strides ?? poolSize), padding: this.config.padding ?? 'valid' };
  }

  getConfig(): Pooling2DConfig {
    return { ...this.base(), ...this.options() };
  }
}

export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';

  call(x: Tensor): Tensor {
    return maxPool(x, this.options());
  }
}

export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';

  call(x: Tensor): Tensor {
    return avgPool(x, this.options());
  }
}
