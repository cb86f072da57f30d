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

/** The options of a {@link Conv2D} layer, with Keras's names and defaults. */
export interface Conv2DConfig extends BaseLayerConfig {
  /** The number of output channels (kernels). */
  filters: number;
  /** The window's height and width, or one number for both. */
  kernelSize: Size2;
  /** The step between windows, vertical and horizontal, or one number for both (default 1). */
  strides?: Size2;
  /** `valid` (the default: whole windows only) or `same` (padded so that out = ceil(in / stride)), as Keras. */
  padding?: Padding;
  /** Applied to the convolution plus bias (default `linear`: none). */
  activation?: ActivationName;
  /** Whether to add a learnt bias per filter (default true). */
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

export function pair(v: Size2): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export class Conv2D extends Layer<Conv2DConfig> {
  readonly className = 'Conv2D';
  /** The kernels, (kh, kw, in, filters), where `in` is the input's channel count; created by build(). */
  kernel!: Tensor;
  /** The bias, (filters); null with `useBias: false`. */
  bias: Tensor | null = null;

  constructor(config: Conv2DConfig) {
    check(Number.isInteger(config.filters) && config.filters > 0, `Conv2D filters must be a positive integer, got ${config.filters}`);
    regularizers(config); // fails now on a bad regularizer, not at build
    super(config);
  }

  override build(inputShape: Shape, rng: Rng): void {
    check(inputShape.length === 4, () => `Conv2D expects (batch, height, width, channels) inputs, got ${formatShape(inputShape)}`);
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
