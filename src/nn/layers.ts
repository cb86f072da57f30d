// Every layer type, its Keras-style serialised form ({className, config}) and the factory
// functions users call (`dense({units: 10})`, as tf.layers). The union is closed: rebuilding a
// layer from its config is one exhaustive switch.

import { check } from '../core/errors.js';
import { Activation, Dense, Dropout, Flatten, type ActivationConfig, type DenseConfig, type DropoutConfig, type FlattenConfig } from './core.js';
import { Conv2D, type Conv2DConfig } from './convolutional.js';
import { Embedding, type EmbeddingConfig } from './embedding.js';
import { BatchNormalization, LayerNormalization, type BatchNormalizationConfig, type LayerNormalizationConfig } from './normalization.js';
import { AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D, type GlobalPooling2DConfig, type Pooling2DConfig } from './pooling.js';
import { LSTM, type LSTMConfig } from './recurrent.js';

export {
  Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Embedding, Flatten, GlobalAveragePooling2D, LayerNormalization, LSTM, MaxPooling2D,
  type ActivationConfig, type BatchNormalizationConfig, type Conv2DConfig, type DenseConfig, type DropoutConfig, type EmbeddingConfig, type FlattenConfig,
  type GlobalPooling2DConfig, type LayerNormalizationConfig, type LSTMConfig, type Pooling2DConfig,
};
export type { AffineNormalizationConfig } from './normalization.js';

/** Any of tsgrad's layers: the closed set {@link layerFromConfig} can rebuild. */
export type AnyLayer =
  | Dense | Conv2D | MaxPooling2D | AveragePooling2D | GlobalAveragePooling2D | Flatten | Dropout | Activation | BatchNormalization
  | Embedding | LayerNormalization | LSTM;

/** A layer in Keras's serialised form, `{className, config}`, as model.json stores it. */
export type LayerConfig =
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'Dense';
      /** The options Dense's constructor takes. */
      config: DenseConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'Conv2D';
      /** The options Conv2D's constructor takes. */
      config: Conv2DConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'MaxPooling2D';
      /** The options MaxPooling2D's constructor takes. */
      config: Pooling2DConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'AveragePooling2D';
      /** The options AveragePooling2D's constructor takes. */
      config: Pooling2DConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'GlobalAveragePooling2D';
      /** The options GlobalAveragePooling2D's constructor takes. */
      config: GlobalPooling2DConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'Flatten';
      /** The options Flatten's constructor takes. */
      config: FlattenConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'Dropout';
      /** The options Dropout's constructor takes. */
      config: DropoutConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'Activation';
      /** The options Activation's constructor takes. */
      config: ActivationConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'BatchNormalization';
      /** The options BatchNormalization's constructor takes. */
      config: BatchNormalizationConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'Embedding';
      /** The options Embedding's constructor takes. */
      config: EmbeddingConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'LayerNormalization';
      /** The options LayerNormalization's constructor takes. */
      config: LayerNormalizationConfig;
    }
  | {
      /** The layer's class name, as Keras writes it. */
      className: 'LSTM';
      /** The options LSTM's constructor takes. */
      config: LSTMConfig;
    };

/** The class names of every layer type, as Keras names them. */
export const LAYER_CLASS_NAMES = [
  'Dense', 'Conv2D', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'Flatten', 'Dropout', 'Activation', 'BatchNormalization',
  'Embedding', 'LayerNormalization', 'LSTM',
] as const;

/** A layer in Keras's serialised form: its class name and its config. */
export function serializeLayer(layer: AnyLayer): LayerConfig {
  return { className: layer.className, config: layer.getConfig() } as LayerConfig;
}

/** Rebuilds a layer (unbuilt: no weights yet) from its serialised form; throws on an unknown class name. */
export function layerFromConfig(c: LayerConfig): AnyLayer {
  switch (c.className) {
    case 'Dense': return new Dense(c.config);
    case 'Conv2D': return new Conv2D(c.config);
    case 'MaxPooling2D': return new MaxPooling2D(c.config);
    case 'AveragePooling2D': return new AveragePooling2D(c.config);
    case 'GlobalAveragePooling2D': return new GlobalAveragePooling2D(c.config);
    case 'Flatten': return new Flatten(c.config);
    case 'Dropout': return new Dropout(c.config);
    case 'Activation': return new Activation(c.config);
    case 'BatchNormalization': return new BatchNormalization(c.config);
    case 'Embedding': return new Embedding(c.config);
    case 'LayerNormalization': return new LayerNormalization(c.config);
    case 'LSTM': return new LSTM(c.config);
    default: {
      const unknown: never = c;
      const name = (unknown as { className?: unknown }).className;
      check(false, `unknown layer type ${JSON.stringify(name)} (tsgrad has ${LAYER_CLASS_NAMES.join(', ')})`);
    }
  }
}

/**
 * A fully connected layer: y = activation(x W + b) over the last axis, with `units` outputs
 * (tf.layers.dense).
 */
export const dense = (config: DenseConfig) => new Dense(config);
/** A 2-D convolution over (B, H, W, C) inputs with `filters` kernels of `kernelSize` (tf.layers.conv2d). */
export const conv2d = (config: Conv2DConfig) => new Conv2D(config);
/** Max pooling over (B, H, W, C) windows (default 2 x 2, stride = pool size). */
export const maxPooling2d = (config: Pooling2DConfig = {}) => new MaxPooling2D(config);
/** Average pooling over (B, H, W, C) windows (default 2 x 2, stride = pool size). */
export const averagePooling2d = (config: Pooling2DConfig = {}) => new AveragePooling2D(config);
/** The mean over height and width: (B, H, W, C) -> (B, C). */
export const globalAveragePooling2d = (config: GlobalPooling2DConfig = {}) => new GlobalAveragePooling2D(config);
/** Flattens each example to one axis: (B, ...) -> (B, product of the rest). */
export const flatten = (config: FlattenConfig = {}) => new Flatten(config);
/**
 * Zeroes a fraction `rate` of the inputs while training, scaling the rest by 1 / (1 - rate); the
 * identity otherwise.
 */
export const dropout = (config: DropoutConfig) => new Dropout(config);
/** Applies an activation function (relu, softmax, ...) elementwise. */
export const activation = (config: ActivationConfig) => new Activation(config);
/**
 * Normalises each channel (the last axis) by the batch's mean and variance while training, by
 * running averages otherwise, then scales and shifts.
 */
export const batchNormalization = (config: BatchNormalizationConfig = {}) => new BatchNormalization(config);
/**
 * Looks up a learned vector of `outputDim` values for each integer id below `inputDim`: (B, T) ->
 * (B, T, outputDim).
 */
export const embedding = (config: EmbeddingConfig) => new Embedding(config);
/** Normalises each example over its last axis (mean 0, variance 1), then scales and shifts: GPT-2's `ln`. */
export const layerNormalization = (config: LayerNormalizationConfig = {}) => new LayerNormalization(config);
/**
 * A long short-term memory layer over (B, T, features) sequences: (B, units), or (B, T, units) with
 * returnSequences.
 */
export const lstm = (config: LSTMConfig) => new LSTM(config);
