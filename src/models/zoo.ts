// The model zoo behind `tsgrad train --model`: each entry builds a model and carries the training
// recipe it is meant to be trained with (the CLI's defaults, which flags override); a run's
// settings (a recipe with its overrides) build the model and the optimizer it trains with.
//   reference  the source article's Keras MNIST network (93,322 parameters), Adam 0.001, 5 epochs.
//   lenet5     LeCun et al. 1998, as usually ported to 28x28 inputs: tanh, average pooling.
//   strong     the best recipe here: two conv blocks with batch normalisation, dropout, image
//              augmentation and a cosine learning-rate schedule with warm-up.

import type { AugmentOptions } from '../data/augment.js';
import { activation, averagePooling2d, batchNormalization, conv2d, dense, dropout, flatten, maxPooling2d } from '../nn/layers.js';
import { Adam, AdamW, RMSprop, SGD, type Optimizer } from '../optim/optimizer.js';
import { cosineDecay, exponentialDecay, type LearningRateSchedule } from '../optim/schedules.js';
import { Sequential, sequential } from '../train/sequential.js';

export const MODEL_NAMES = ['reference', 'lenet5', 'strong'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
export type OptimizerName = 'adam' | 'adamw' | 'rmsprop' | 'sgd';
export type ScheduleName = 'constant' | 'step' | 'exponential' | 'cosine';

export interface Recipe {
  build(seed: number): Sequential;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  schedule: ScheduleName;
  /** Epochs of linear warm-up from 0 (with the cosine schedule). */
  warmupEpochs: number;
  augment: AugmentOptions | null;
}

/** The article's network: the classic Keras MNIST CNN (93,322 parameters). */
export function referenceCnn(opts: { seed?: number } = {}): Sequential {
  return sequential([
    conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    maxPooling2d({ poolSize: 2 }),
    conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    maxPooling2d({ poolSize: 2 }),
    conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    flatten(),
    dense({ units: 64, activation: 'relu' }),
    dense({ units: 10, activation: 'softmax' }),
  ], { name: 'reference_cnn', seed: opts.seed });
}

/** LeNet-5 (61,706 parameters): 'same' padding in the first layer stands in for the original 32x32 input. */
export function lenet5(opts: { seed?: number } = {}): Sequential {
  return sequential([
    conv2d({ filters: 6, kernelSize: 5, padding: 'same', activation: 'tanh', inputShape: [28, 28, 1] }),
    averagePooling2d({ poolSize: 2 }),
    conv2d({ filters: 16, kernelSize: 5, activation: 'tanh' }),
    averagePooling2d({ poolSize: 2 }),
    flatten(),
    dense({ units: 120, activation: 'tanh' }),
    dense({ units: 84, activation: 'tanh' }),
    dense({ units: 10, activation: 'softmax' }),
  ], { name: 'lenet5', seed: opts.seed });
}

/** Conv (no bias: batch normalisation's offset replaces it), batch normalisation, ReLU. */
const convBnRelu = (filters: number, first = false) => [
  conv2d({ filters, kernelSize: 3, useBias: false, ...(first ? { inputShape: [28, 28, 1] } : {}) }),
  batchNormalization(),
  activation({ activation: 'relu' }),
];

/** Two blocks of two 3x3 convolutions with batch normalisation, then a dense layer with dropout. */
export function strongCnn(opts: { seed?: number } = {}): Sequential {
  return sequential([
    ...convBnRelu(32, true), ...convBnRelu(32), maxPooling2d({ poolSize: 2 }),
    ...convBnRelu(64), ...convBnRelu(64), maxPooling2d({ poolSize: 2 }),
    flatten(),
    dense({ units: 256, useBias: false }), batchNormalization(), activation({ activation: 'relu' }), dropout({ rate: 0.4 }),
    dense({ units: 10, activation: 'softmax' }),
  ], { name: 'strong_cnn', seed: opts.seed });
}

export const RECIPES: Record<ModelName, Recipe> = {
  reference: {
    build: (seed) => referenceCnn({ seed }),
    epochs: 5, batchSize: 32, optimizer: 'adam', learningRate: 0.001, schedule: 'constant', warmupEpochs: 0, augment: null,
  },
  lenet5: {
    build: (seed) => lenet5({ seed }),
    epochs: 10, batchSize: 32, optimizer: 'adam', learningRate: 0.001, schedule: 'constant', warmupEpochs: 0, augment: null,
  },
  strong: {
    build: (seed) => strongCnn({ seed }),
    epochs: 12, batchSize: 64, optimizer: 'adam', learningRate: 0.003, schedule: 'cosine', warmupEpochs: 1,
    augment: { rotationRange: 10, zoomRange: 0.1, widthShiftRange: 0.1, heightShiftRange: 0.1 },
  },
};

/** A run's settings: a recipe with the overrides given (`tsgrad train` keeps them in config.json). */
export interface TrainSettings {
  model: ModelName;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  clipnorm?: number;
  clipvalue?: number;
  schedule: ScheduleName;
  warmupEpochs: number;
  decayEpochs: number;
  decayRate: number;
  reduceOnPlateau: boolean;
  earlyStopping?: number;
  validationSplit: number;
  l2: number;
  /** "none", or e.g. "rotation=10,zoom=0.1,shift=0.1" (the CLI parses it). */
  augment: string;
  limit?: number;
  seed: number;
  logEvery: number;
}

/** The settings' model, with an L2 penalty on every kernel when asked. */
export function recipeModel(o: TrainSettings): Sequential {
  const model = RECIPES[o.model].build(o.seed);
  if (o.l2 === 0) return model;
  const config = model.getConfig();
  for (const layer of config.layers) {
    if (layer.className === 'Dense' || layer.className === 'Conv2D') layer.config.kernelRegularizer = { className: 'L2', config: { l2: o.l2 } };
  }
  return Sequential.fromConfig(config);
}

/** The settings' optimizer and learning-rate schedule (epochs turned into steps). */
export function recipeOptimizer(o: TrainSettings, stepsPerEpoch: number): Optimizer {
  const base = { learningRate: schedule(o, stepsPerEpoch), clipnorm: o.clipnorm, clipvalue: o.clipvalue };
  switch (o.optimizer) {
    case 'adam': return new Adam(base);
    case 'adamw': return new AdamW({ ...base, weightDecay: o.weightDecay });
    case 'rmsprop': return new RMSprop({ ...base, momentum: o.momentum });
    case 'sgd': return new SGD({ ...base, momentum: o.momentum, nesterov: o.nesterov });
  }
}

function schedule(o: TrainSettings, stepsPerEpoch: number): number | LearningRateSchedule {
  const epochsToSteps = (e: number) => Math.max(1, Math.round(e * stepsPerEpoch));
  switch (o.schedule) {
    case 'constant': return o.lr;
    case 'step':
    case 'exponential':
      return exponentialDecay({ initialLearningRate: o.lr, decaySteps: epochsToSteps(o.decayEpochs), decayRate: o.decayRate, staircase: o.schedule === 'step' });
    case 'cosine':
      return o.warmupEpochs > 0
        ? cosineDecay({ initialLearningRate: 0, warmupTarget: o.lr, warmupSteps: epochsToSteps(o.warmupEpochs), decaySteps: epochsToSteps(o.epochs - o.warmupEpochs) })
        : cosineDecay({ initialLearningRate: o.lr, decaySteps: epochsToSteps(o.epochs) });
  }
}
