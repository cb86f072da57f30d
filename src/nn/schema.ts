// The schema of a layer stack's config as a file holds it (a checkpoint's model.json): every
// layer's class and every field of its config checked with core/validate.ts's Doc, each failure one
// line naming the file and the field (`model.json: modelConfig.config.layers[2].config.units must
// be an integer from 1 to 16777216, got 0`), before any layer is made or any memory allocated.
// Unknown fields are errors too, so a misspelt option is never silently dropped.
// Not for: configs built in code (the layers' constructors check those) or TF.js's Keras JSON
// (io/tfjs.ts translates it, with its own checks).

import { TsgradError } from '../core/errors.js';
import type { Doc } from '../core/validate.js';
import { INITIALIZER_NAMES } from './initializers.js';
import { ACTIVATION_NAMES } from './layer.js';
import { LAYER_CLASS_NAMES, type LayerConfig } from './layers.js';
import type { Regularizer } from './regularizers.js';
import type { StackConfig } from './stack.js';

/** Limits on what a file may ask for; the weights file then has to hold what they imply. */
const MAX_UNITS = 2 ** 24;
const MAX_WINDOW = 4096;
/** Elements of one example (the input shape): 64 Mi floats. */
const MAX_EXAMPLE = 2 ** 26;
const MAX_LAYERS = 10000;

export type Read = (d: Doc) => unknown;
export interface Field {
  read: Read;
  required?: boolean;
}

export const opt = (read: Read): Field => ({ read });
export const need = (read: Read): Field => ({ read, required: true });

/** A finite number above 0 (and at most `max`). */
export const positive = (max?: number): Read => (d) => {
  const v = d.number({ min: 0, max });
  if (v === 0) d.fail(`must be a finite number above 0, got 0`);
  return v;
};

/**
 * f() with any TsgradError it throws (a constructor's own check) said as one line naming d's
 * file and field: `model.json: trainingConfig.optimizer: learning rate must be ...`.
 */
export function within<T>(d: Doc, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TsgradError && !e.message.startsWith(`${d.source}: `)) throw new TsgradError(`${d.source}: ${d.path ? `${d.path}: ` : ''}${e.message}`);
    throw e;
  }
}

const units: Read = (d) => d.int({ min: 1, max: MAX_UNITS });
export const bool: Read = (d) => d.boolean();
const activation: Read = (d) => d.string(ACTIVATION_NAMES);
const initializer: Read = (d) => d.string(INITIALIZER_NAMES);
const padding: Read = (d) => d.string(['valid', 'same']);
export const fraction: Read = (d) => {
  const v = d.number({ min: 0, max: 1 });
  if (v === 1) d.fail('must be a finite number from 0 to 1 (1 excluded), got 1');
  return v;
};
/** A window size or stride: an integer, or a pair of them. */
const size2: Read = (d) => {
  if (!Array.isArray(d.value)) return d.int({ min: 1, max: MAX_WINDOW });
  const pair = d.array({ max: 2 });
  if (pair.length !== 2) d.fail(`must be an integer or a pair of integers, got ${pair.length} elements`);
  return pair.map((x) => x.int({ min: 1, max: MAX_WINDOW }));
};

/** {className: 'L1' | 'L2' | 'L1L2', config: {l1?, l2?}} with non-negative finite factors. */
export const regularizer = (d: Doc): Regularizer => {
  const className = d.at('className').string(['L1', 'L2', 'L1L2']);
  const c = d.at('config');
  c.object();
  const factor = (k: 'l1' | 'l2', required: boolean) => (required || c.at(k).present ? c.at(k).number({ min: 0 }) : 0.01);
  for (const k of Object.keys(c.value as object)) if (!(k === 'l1' || k === 'l2')) c.at(k).fail('is not a field of a regularizer (it has l1, l2)');
  switch (className) {
    case 'L1': return { className, config: { l1: factor('l1', true) } };
    case 'L2': return { className, config: { l2: factor('l2', true) } };
    default: return { className: 'L1L2', config: { l1: factor('l1', false), l2: factor('l2', false) } };
  }
};

const BASE: Record<string, Field> = {
  name: opt((d) => {
    const s = d.string();
    if (s.length === 0 || s.length > 256) d.fail(`must be a name of 1 to 256 characters, got ${s.length}`);
    return s;
  }),
  inputShape: opt((d) => d.shape({ maxRank: 8, maxSize: MAX_EXAMPLE })),
  activityRegularizer: opt(regularizer),
};
const KERNEL: Record<string, Field> = {
  activation: opt(activation), useBias: opt(bool), kernelInitializer: opt(initializer), biasInitializer: opt(initializer),
  kernelRegularizer: opt(regularizer), biasRegularizer: opt(regularizer),
};
const POOLING: Record<string, Field> = { poolSize: opt(size2), strides: opt(size2), padding: opt(padding) };
const AFFINE: Record<string, Field> = {
  axis: opt((d) => d.int({ min: -1, max: -1 })), epsilon: opt((d) => {
    const v = d.number({ min: 0, max: 1 });
    if (v === 0) d.fail('must be a finite number above 0 and at most 1, got 0');
    return v;
  }),
  center: opt(bool), scale: opt(bool), betaInitializer: opt(initializer), gammaInitializer: opt(initializer),
  betaRegularizer: opt(regularizer), gammaRegularizer: opt(regularizer),
};

/** The fields of each layer's config, besides name, inputShape and activityRegularizer. */
const LAYER_FIELDS: Record<(typeof LAYER_CLASS_NAMES)[number], Record<string, Field>> = {
  Dense: { units: need(units), ...KERNEL },
  Conv2D: { filters: need(units), kernelSize: need(size2), strides: opt(size2), padding: opt(padding), ...KERNEL },
  MaxPooling2D: POOLING,
  AveragePooling2D: POOLING,
  GlobalAveragePooling2D: { keepdims: opt(bool) },
  Flatten: {},
  Dropout: { rate: need(fraction), seed: opt((d) => d.int({ min: 0 })) },
  Activation: { activation: need(activation) },
  BatchNormalization: {
    ...AFFINE, momentum: opt((d) => d.number({ min: 0, max: 1 })),
    movingMeanInitializer: opt(initializer), movingVarianceInitializer: opt(initializer),
  },
  LayerNormalization: AFFINE,
  Embedding: {
    inputDim: need(units), outputDim: need(units), embeddingsInitializer: opt(initializer),
    embeddingsRegularizer: opt(regularizer), inputLength: opt(units),
  },
  LSTM: {
    units: need(units), activation: opt(activation), recurrentActivation: opt(activation), useBias: opt(bool),
    unitForgetBias: opt(bool), kernelInitializer: opt(initializer), recurrentInitializer: opt(initializer),
    biasInitializer: opt(initializer), kernelRegularizer: opt(regularizer), recurrentRegularizer: opt(regularizer),
    biasRegularizer: opt(regularizer), returnSequences: opt(bool), goBackwards: opt(bool),
  },
};

/**
 * The fields of an object Doc read by `fields`: required ones must be there, optional ones may be
 * absent or null (left out of the result), and no other field is allowed. `what` names the object.
 */
export function readFields(d: Doc, fields: Record<string, Field>, what: string): Record<string, unknown> {
  const value = d.object();
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) d.at(key).fail(`is not a field of ${what} (it has ${Object.keys(fields).join(', ') || 'none'})`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(fields)) {
    const child = d.at(key);
    if (f.required || child.present) out[key] = f.read(child);
  }
  return out;
}

/** One layer's `{className, config}`, checked field by field. */
export function layerConfigFromDoc(d: Doc): LayerConfig {
  d.object();
  const className = d.at('className').string(LAYER_CLASS_NAMES) as (typeof LAYER_CLASS_NAMES)[number];
  const config = readFields(d.at('config'), { ...BASE, ...LAYER_FIELDS[className] }, `a ${className} layer's config`);
  for (const key of Object.keys(d.value as object)) {
    if (key !== 'className' && key !== 'config') d.at(key).fail('is not a field of a layer (it has className, config)');
  }
  return { className, config } as LayerConfig;
}

/** A layer stack's config (Sequential's: name, layers, seed), checked before any layer is made. */
export function stackConfigFromDoc(d: Doc): StackConfig & { seed?: number } {
  const c = readFields(d, {
    name: opt((x) => x.string()),
    layers: need((x) => x.array({ max: MAX_LAYERS })),
    seed: opt((x) => x.int({ min: 0 })),
  }, 'a Sequential config');
  const docs = c.layers as Doc[];
  if (docs.length === 0) d.at('layers').fail('is empty: a model needs at least one layer');
  const layers = docs.map(layerConfigFromDoc);
  if (!layers[0].config.inputShape) docs[0].at('config').at('inputShape').fail('is missing: the first layer needs the shape of one example');
  const names = new Set<string>();
  layers.forEach((l, i) => {
    const name = l.config.name;
    if (name === undefined) return;
    if (names.has(name)) docs[i].at('config').at('name').fail(`${JSON.stringify(name)} is the name of an earlier layer too`);
    names.add(name);
  });
  return { name: (c.name as string | undefined) ?? 'sequential', layers, ...(c.seed !== undefined ? { seed: c.seed as number } : {}) };
}
