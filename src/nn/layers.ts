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

export type AnyLayer =
  | Dense | Conv2D | MaxPooling2D | AveragePooling2D | GlobalAveragePooling2D | Flatten | Dropout | Activation | BatchNormalization
  | Embedding | LayerNormalization | LSTM;

export type LayerConfig =
  | { className: 'Dense'; config: DenseConfig }
  | { className: 'Conv2D'; config: Conv2DConfig }
  | { className: 'MaxPooling2D'; config: Pooling2DConfig }
  | { className: 'AveragePooling2D'; config: Pooling2DConfig }
  | { className: 'GlobalAveragePooling2D'; config: GlobalPooling2DConfig }
  | { className: 'Flatten'; config: FlattenConfig }
  | { className: 'Dropout'; config: DropoutConfig }
  | { className: 'Activation'; config: ActivationConfig }
  | { className: 'BatchNormalization'; config: BatchNormalizationConfig }
  | { className: 'Embedding'; config: EmbeddingConfig }
  | { className: 'LayerNormalization'; config: LayerNormalizationConfig }
  | { className: 'LSTM'; config: LSTMConfig };

export const LAYER_CLASS_NAMES = [
  'Dense', 'Conv2D', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'Flatten', 'Dropout', 'Activation', 'BatchNormalization',
  'Embedding', 'LayerNormalization', 'LSTM',
] as const;

export function serializeLayer(layer: AnyLayer): LayerConfig {
  return { className: layer.className, config: layer.getConfig() } as LayerConfig;
}

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

export const dense = (config: DenseConfig) => new Dense(config);
export const conv2d = (config: Conv2DConfig) => new Conv2D(config);
export const maxPooling2d = (config: Pooling2DConfig = {}) => new MaxPooling2D(config);
export const averagePooling2d = (config: Pooling2DConfig = {}) => new AveragePooling2D(config);
export const globalAveragePooling2d = (config: GlobalPooling2DConfig = {}) => new GlobalAveragePooling2D(config);
export const flatten = (config: FlattenConfig = {}) => new Flatten(config);
export const dropout = (config: DropoutConfig) => new Dropout(config);
export const activation = (config: ActivationConfig) => new Activation(config);
export const batchNormalization = (config: BatchNormalizationConfig = {}) => new BatchNormalization(config);
export const embedding = (config: EmbeddingConfig) => new Embedding(config);
export const layerNormalization = (config: LayerNormalizationConfig = {}) => new LayerNormalization(config);
export const lstm = (config: LSTMConfig) => new LSTM(config);
