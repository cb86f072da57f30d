// Saving and loading whole models: a Sequential and its training state to a checkpoint folder
// and back, rebuilt exactly (same layers, names, weights, optimizer and its moments).

import { check } from '../core/errors.js';
import { assignWeights, fetchCheckpoint, readCheckpoint, writeCheckpoint, type CheckpointContents } from '../io/checkpoint.js';
import { stackLayersFromConfig, type StackConfig } from '../nn/stack.js';
import { optimizerFromConfig } from '../optim/optimizer.js';
import { Sequential, type TrainingConfig } from './sequential.js';

export interface ModelConfig {
  className: 'Sequential';
  config: StackConfig & { seed: number };
}

export function modelConfig(model: Sequential): ModelConfig {
  return { className: 'Sequential', config: { ...model.getConfig(), seed: model.seed } };
}

/** Writes `dir/model.json` and `dir/weights.safetensors`. */
export function saveModel(model: Sequential, dir: string): void {
  model.build();
  writeCheckpoint(dir, {
    modelConfig: modelConfig(model),
    trainingConfig: model.trainingConfig,
    weights: model.weights.map((w) => ({ name: w.name, shape: [...w.value.shape], data: w.value.raw as Float32Array })),
    optimizerState: model.optimizer?.getState(),
  });
}

/** Rebuilds a model from a checkpoint folder (or its model.json), compiled if it was when saved. */
export function loadModel(dir: string): Sequential {
  return modelFromCheckpoint(readCheckpoint(dir), dir);
}

/**
 * loadModel over HTTP, for browsers (where the bundle's `loadModel` is this) and servers: `url`
 * is a checkpoint folder's address or its model.json's.
 */
export async function fetchModel(url: string): Promise<Sequential> {
  return modelFromCheckpoint(await fetchCheckpoint(url), url);
}

function modelFromCheckpoint(c: CheckpointContents, dir: string): Sequential {
  const mc = c.modelConfig as ModelConfig;
  check(mc?.className === 'Sequential' && typeof mc.config === 'object',
    `${dir}: model config must be {"className": "Sequential", "config": {...}}`);
  const model = new Sequential(stackLayersFromConfig(mc.config), { name: mc.config.name, seed: mc.config.seed });
  model.build();
  assignWeights(model.weights, c.weights, dir);
  const tc = c.trainingConfig as TrainingConfig | null;
  if (tc) {
    model.compile({ optimizer: optimizerFromConfig(tc.optimizer), loss: tc.loss, metrics: tc.metrics });
    if (c.optimizerState) model.optimizer!.setState(c.optimizerState);
  }
  return model;
}
