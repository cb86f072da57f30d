// Conv2D: 2-D convolution over NHWC images with a (kh, kw, in, filters) kernel, as Keras.

import type { Padding } from '../backend/geometry.js';
import { check } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { formatShape, type Shape } from '../core/shape.js';
import type { ActivationName } from '../ops/activations.js';
import { conv2d } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { InitializerName } from './initializers.js';
import { biasActivation, Layer, type BaseLayerConfig } from './layer.js';
import { regularizers, type Regularizer } from './regularizers.js';

export type Size2 = number | [number, number];

export interface Conv2DConfig extends BaseLayerConfig {
  filters: number;
  kernelSize: Size2;
  strides?: Size2;
  padding?: Padding;
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  kernelRegularizer?: Regularizer;
  biasRegularizer?: Regularizer;
}

export function pair(v: Size2): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export class Conv2D extends Layer<Conv2DConfig> {
  readonly className = 'Conv2D';
  kernel!: Tensor; // (kh, kw, in, filters)
  bias: Tensor | null = null; // (filters)

  constructor(config: Conv2DConfig) {
    check(Number.isInteger(config.filters) && config.filters > 0, `Conv2D filters must be a positive integer, got ${config.filters}`);
    regularizers(config); // fails now on a bad regularizer, not at build
    super(config);
  }

  override build(inputShape: Shape, rng: Rng): void {
    check(inputShape.length === 4, `Conv2D expects (batch, height, width, channels) inputs, got ${formatShape(inputShape)}`);
    const c = this.getConfig();
    const [kh, kw] = pair(c.kernelSize);
    this.kernel = this.addWeight('kernel', [kh, kw, inputShape[3], c.filters], c.kernelInitializer!, rng, { regularizer: c.kernelRegularizer });
    if (c.useBias) this.bias = this.addWeight('bias', [c.filters], c.biasInitializer!, rng, { regularizer: c.biasRegularizer });
    this.built = true;
  }

  call(x: Tensor): Tensor {
    const c = this.config;
    // (N, H, W, in) -> (N, OH, OW, filters)
    const y = conv2d(x, this.kernel, { strides: pair(c.strides ?? 1), padding: c.padding ?? 'valid' });
    return biasActivation(y, this.bias, c.activation);
  }

  getConfig(): Conv2DConfig {
    const c = this.config;
    return {
      ...this.base(), filters: c.filters, kernelSize: pair(c.kernelSize), strides: pair(c.strides ?? 1),
      padding: c.padding ?? 'valid', activation: c.activation ?? 'linear', useBias: c.useBias ?? true,
      kernelInitializer: c.kernelInitializer ?? 'glorotUniform', biasInitializer: c.biasInitializer ?? 'zeros',
      ...regularizers(c),
    };
  }
}
