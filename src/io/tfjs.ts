// The TensorFlow.js LayersModel format, both ways: a folder with `model.json` (the Keras JSON
// topology in snake_case, plus a weights manifest) and little-endian float32 `.bin` shards.
// exportTfjs writes what `tf.loadLayersModel` reads; readTfjs reads what TF.js's `model.save`
// writes and what `tensorflowjs_converter` makes of a Keras Sequential model, as a checkpoint's
// contents (a Sequential's config, its weights under tsgrad's names, a training config), which
// importTfjs (src/models/load.ts) turns into a model as it does any checkpoint.
// The spec is tfjs-core's io/types.ts (ModelJSON, WeightsManifestConfig) and tfjs-layers' and
// Keras's get_config() of each layer.
// Every file is untrusted: a bad one gives one TsgradError naming it, never a crash or a hang.
// Not for: functional (non-Sequential) models, layers outside tsgrad's closed set, quantized or
// non-float32 weights, optimizer state (TF.js's `optimizer` weight group is skipped).
// A compiled model's loss, metrics and optimizer go into model.json's trainingConfig, from which
// tf.loadLayersModel compiles the model; what TF.js cannot hold is named in one warning line.

import fs from 'node:fs';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import { formatShape, sameShape, sizeOf } from '../core/shape.js';
import { pair, type Size2 } from '../nn/convolutional.js';
import type { InitializerName } from '../nn/initializers.js';
import { layerFromConfig, type AnyLayer, type LayerConfig } from '../nn/layers.js';
import type { Regularizer } from '../nn/regularizers.js';
import { withWeightBudget } from '../nn/layer.js';
import { LayerStack } from '../nn/stack.js';
import { parseJson } from '../core/validate.js';
import { readInputFile } from '../core/files.js';
import type { ActivationName } from '../ops/activations.js';
import { LOSS_ALIASES, type LossName } from '../ops/losses.js';
import { Adam, AdamW, RMSprop, SGD, type Optimizer, type OptimizerConfig } from '../optim/optimizer.js';
import { scheduleFromConfig } from '../optim/schedules.js';
import type { CheckpointContents, NamedArray } from './checkpoint.js';

const MODEL_FILE = 'model.json';
/** TF.js splits the weights into files of at most 4 MB (tfjs-core io DEFAULT_SHARD_SIZE_BYTES). */
const SHARD_BYTES = 4 * 1024 * 1024;

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Export

/** A compiled Sequential's trainingConfig, as far as export reads it (typed here: io/ does not import train/). */
interface Compiled {
  trainingConfig?: { optimizer: OptimizerConfig; loss: LossName; metrics: string[] } | null;
}

/**
 * Writes `dir/model.json` and `dir/group1-shard{i}of{n}.bin`, each to a temporary name first and
 * renamed, model.json last, so a reader never sees a model.json whose shards are not all there.
 * Takes a LayerStack, so any Sequential; an unbuilt model is built first. A compiled model's
 * training config is written too, so TF.js gives back a compiled model.
 */
export function exportTfjs(model: LayerStack & Compiled, dir: string): void {
  model.build();
  const training = model.trainingConfig ? tfjsTrainingConfig(model.trainingConfig) : null;
  const layers = model.layers.map((l, i) => kerasLayer(l, i === 0 ? model.inputShape : null));
  const weights = model.weights;
  const bytes = new Uint8Array(weights.reduce((n, w) => n + w.value.size * 4, 0));
  let offset = 0;
  for (const w of weights) {
    // Float32Array's bytes are in the machine's order: little-endian everywhere TF.js runs.
    const data = w.value.raw as Float32Array;
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  const count = Math.max(1, Math.ceil(bytes.length / SHARD_BYTES));
  const shards = Array.from({ length: count }, (_, i) => ({
    name: `group1-shard${i + 1}of${count}.bin`, data: bytes.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES),
  }));
  const json = {
    format: 'layers-model',
    generatedBy: 'tsgrad',
    convertedBy: 'tsgrad exportTfjs',
    modelTopology: {
      class_name: 'Sequential',
      config: { name: model.name, layers },
      keras_version: 'tsgrad',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{
      paths: shards.map((s) => s.name),
      weights: weights.map((w) => ({ name: w.name, shape: [...w.value.shape], dtype: 'float32' })),
    }],
    ...(training && { trainingConfig: training }),
  };
  writeAtomically(dir, [...shards, { name: MODEL_FILE, data: JSON.stringify(json, null, 2) + '\n' }]);
}

/**
 * A training config as TF.js's LayersModel.loadTrainingConfig reads it: `loss` and `metrics` by
 * TF.js's names (tsgrad's losses have the same camelCase names), and `optimizer_config` as
 * {class_name, config} of an optimizer tfjs-core registers, with its getConfig() keys: Adam
 * {learningRate, beta1, beta2, epsilon}, SGD {learningRate}, Momentum {learningRate, momentum,
 * useNesterov}, RMSProp {learningRate, decay, momentum, epsilon, centered}. What TF.js has no place
 * for is dropped and named in one warning line: AdamW's weight decay (TF.js has no AdamW; Adam with
 * the same rate and moments is the nearest, and loadTrainingConfig needs an optimizer, so leaving it
 * out would leave the loss and metrics out too), a schedule (its first rate is written), gradient
 * clipping, and the top-k metrics (TF.js 4's compile() does not know them). TF.js's centered
 * RMSProp puts epsilon under the square root with the other sign, which the warning says too.
 */
function tfjsTrainingConfig(t: NonNullable<Compiled['trainingConfig']>): Json {
  const notes: string[] = [];
  const c = t.optimizer.config;
  let learningRate = c.learningRate;
  if (typeof learningRate !== 'number') {
    notes.push(`the ${learningRate.className} learning-rate schedule is left out (its first rate is written)`);
    learningRate = scheduleFromConfig(learningRate)(0);
  }
  const clipping = (['clipnorm', 'globalClipnorm', 'clipvalue'] as const).filter((k) => c[k] !== undefined);
  if (clipping.length) notes.push(`gradient clipping (${clipping.join(', ')}) is left out`);
  if (t.optimizer.className === 'AdamW') notes.push(`AdamW's weight decay ${t.optimizer.config.weightDecay} is left out (TensorFlow.js has no AdamW: Adam is written)`);
  let optimizer: Json;
  switch (t.optimizer.className) {
    case 'Adam':
    case 'AdamW': {
      const a = t.optimizer.config;
      optimizer = { class_name: 'Adam', config: { learningRate, beta1: a.beta1, beta2: a.beta2, epsilon: a.epsilon } };
      break;
    }
    case 'SGD': {
      const s = t.optimizer.config;
      optimizer = s.momentum ? { class_name: 'Momentum', config: { learningRate, momentum: s.momentum, useNesterov: Boolean(s.nesterov) } }
        : { class_name: 'SGD', config: { learningRate } };
      break;
    }
    case 'RMSprop': {
      const r = t.optimizer.config;
      // Checked in test/tfjs-training.test.ts: the same step only while epsilon is negligible.
      if (r.centered) notes.push('centered RMSprop: TensorFlow.js subtracts epsilon under the square root where tsgrad adds it');
      optimizer = { class_name: 'RMSProp', config: { learningRate, decay: r.rho, momentum: r.momentum, epsilon: r.epsilon, centered: r.centered } };
      break;
    }
    default: {
      const unknown: never = t.optimizer;
      throw new Error(`no TensorFlow.js form for optimizer ${(unknown as OptimizerConfig).className}`);
    }
  }
  const metrics = t.metrics.filter((m) => m === 'accuracy' || !notes.push(`metric ${m} is left out (TensorFlow.js 4 has none)`));
  if (notes.length) process.stderr.write(`tsgrad: warning: TensorFlow.js training config: ${notes.join('; ')}\n`);
  return { loss: t.loss, metrics, optimizer_config: optimizer };
}

function writeAtomically(dir: string, files: { name: string; data: Uint8Array | string }[]): void {
  const tmp = (name: string) => path.join(dir, `${name}.tmp-${process.pid}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of files) fs.writeFileSync(tmp(f.name), f.data);
    for (const f of files) fs.renameSync(tmp(f.name), path.join(dir, f.name));
  } catch (e) {
    for (const f of files) fs.rmSync(tmp(f.name), { force: true });
    throw new TsgradError(`cannot write a TensorFlow.js model to ${dir}: ${(e as Error).message}`);
  }
}

/** One layer as Keras's {class_name, config}, with the keys and defaults tfjs-layers writes. */
function kerasLayer(layer: AnyLayer, inputShape: number[] | null): Json {
  const base: Json = {
    name: layer.name, trainable: true, dtype: 'float32',
    ...(inputShape ? { batch_input_shape: [null, ...inputShape] } : {}),
    ...(layer.config.activityRegularizer ? { activity_regularizer: kerasRegularizer(layer.config.activityRegularizer) } : {}),
  };
  const weighted = (c: { kernelInitializer?: InitializerName; biasInitializer?: InitializerName; kernelRegularizer?: Regularizer; biasRegularizer?: Regularizer }) => ({
    kernel_initializer: kerasInitializer(c.kernelInitializer!), bias_initializer: kerasInitializer(c.biasInitializer!),
    kernel_regularizer: kerasRegularizer(c.kernelRegularizer), bias_regularizer: kerasRegularizer(c.biasRegularizer),
    activity_regularizer: kerasRegularizer(layer.config.activityRegularizer), kernel_constraint: null, bias_constraint: null,
  });
  switch (layer.className) {
    case 'Dense': {
      const c = layer.getConfig();
      return { class_name: 'Dense', config: { ...base, units: c.units, activation: c.activation, use_bias: c.useBias, ...weighted(c) } };
    }
    case 'Conv2D': {
      const c = layer.getConfig();
      return {
        class_name: 'Conv2D', config: {
          ...base, filters: c.filters, kernel_size: pair(c.kernelSize), strides: pair(c.strides!), padding: c.padding,
          data_format: 'channels_last', dilation_rate: [1, 1], activation: c.activation, use_bias: c.useBias, ...weighted(c),
        },
      };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const c = layer.getConfig();
      return {
        class_name: layer.className, config: {
          ...base, pool_size: pair(c.poolSize!), strides: pair(c.strides!), padding: c.padding, data_format: 'channels_last',
        },
      };
    }
    case 'GlobalAveragePooling2D':
      // tfjs-layers 4 has no keepdims: a model with it would load and silently give (N, C).
      check(!layer.getConfig().keepdims, `layer "${layer.name}": GlobalAveragePooling2D with keepdims cannot be exported (TensorFlow.js has no keepdims)`);
      return { class_name: 'GlobalAveragePooling2D', config: { ...base, data_format: 'channels_last' } };
    case 'Flatten':
      return { class_name: 'Flatten', config: { ...base, data_format: 'channels_last' } };
    case 'Dropout': {
      const c = layer.getConfig();
      return { class_name: 'Dropout', config: { ...base, rate: c.rate, noise_shape: null, seed: c.seed ?? null } };
    }
    case 'Activation':
      return { class_name: 'Activation', config: { ...base, activation: layer.getConfig().activation } };
    case 'BatchNormalization': {
      const c = layer.getConfig();
      return {
        class_name: 'BatchNormalization', config: {
          ...base, axis: -1, momentum: c.momentum, epsilon: c.epsilon, center: c.center, scale: c.scale,
          beta_initializer: kerasInitializer(c.betaInitializer!), gamma_initializer: kerasInitializer(c.gammaInitializer!),
          moving_mean_initializer: kerasInitializer(c.movingMeanInitializer!),
          moving_variance_initializer: kerasInitializer(c.movingVarianceInitializer!),
          beta_regularizer: kerasRegularizer(c.betaRegularizer), gamma_regularizer: kerasRegularizer(c.gammaRegularizer),
          beta_constraint: null, gamma_constraint: null,
        },
      };
    }
    case 'Embedding': {
      const c = layer.getConfig();
      return {
        class_name: 'Embedding', config: {
          ...base, input_dim: c.inputDim, output_dim: c.outputDim, embeddings_initializer: kerasInitializer(c.embeddingsInitializer!),
          embeddings_regularizer: kerasRegularizer(c.embeddingsRegularizer), embeddings_constraint: null, mask_zero: false,
          input_length: c.inputLength ?? null,
        },
      };
    }
    case 'LayerNormalization': {
      const c = layer.getConfig();
      return {
        class_name: 'LayerNormalization', config: {
          ...base, axis: -1, epsilon: c.epsilon, center: c.center, scale: c.scale,
          beta_initializer: kerasInitializer(c.betaInitializer!), gamma_initializer: kerasInitializer(c.gammaInitializer!),
          beta_regularizer: kerasRegularizer(c.betaRegularizer), gamma_regularizer: kerasRegularizer(c.gammaRegularizer),
          beta_constraint: null, gamma_constraint: null,
        },
      };
    }
    case 'LSTM': {
      const c = layer.getConfig();
      return {
        class_name: 'LSTM', config: {
          ...base, units: c.units, activation: c.activation, use_bias: c.useBias, ...weighted(c),
          // Written out: TF.js's default recurrent activation is hard_sigmoid, Keras's sigmoid.
          recurrent_activation: c.recurrentActivation, unit_forget_bias: c.unitForgetBias,
          recurrent_initializer: kerasInitializer(c.recurrentInitializer!), recurrent_regularizer: kerasRegularizer(c.recurrentRegularizer),
          recurrent_constraint: null, dropout: 0, recurrent_dropout: 0, implementation: 2,
          return_sequences: c.returnSequences, return_state: false, go_backwards: c.goBackwards, stateful: false, unroll: false,
        },
      };
    }
    default: {
      const unknown: never = layer;
      throw new Error(`no TensorFlow.js form for layer ${(unknown as AnyLayer).className}`);
    }
  }
}

const INITIALIZER_CLASSES: Record<InitializerName, string> = {
  glorotUniform: 'GlorotUniform', glorotNormal: 'GlorotNormal', heUniform: 'HeUniform', heNormal: 'HeNormal', zeros: 'Zeros', ones: 'Ones',
  randomUniform: 'RandomUniform', orthogonal: 'Orthogonal',
};

function kerasInitializer(name: InitializerName): Json {
  const config = name === 'zeros' || name === 'ones' ? {}
    : name === 'randomUniform' ? { minval: -0.05, maxval: 0.05, seed: null }
    : name === 'orthogonal' ? { gain: 1, seed: null }
    : { seed: null };
  return { class_name: INITIALIZER_CLASSES[name], config };
}

/** TF.js knows only L1L2 (Keras knows it too), so L1 and L2 are written as L1L2 with a zero factor. */
function kerasRegularizer(r: Regularizer | undefined): Json | null {
  if (!r) return null;
  const c = r.config as { l1?: number; l2?: number };
  return { class_name: 'L1L2', config: { l1: c.l1 ?? 0, l2: c.l2 ?? 0 } };
}

// ---------------------------------------------------------------------------------------------
// Import

/**
 * Reads a LayersModel folder (or its model.json) as a checkpoint's contents: a Sequential's
 * config, its weights, and a training config from the file's if it has one, else Adam, sparse
 * categorical cross-entropy and accuracy (the reference model's recipe), so that the model it
 * becomes (importTfjs in src/models/load.ts) evaluates at once.
 */
export function readTfjs(pathToDirOrModelJson: string): CheckpointContents {
  const where = pathToDirOrModelJson;
  check(fs.existsSync(where), `no such TensorFlow.js model: ${where}`);
  const file = fs.statSync(where).isDirectory() ? path.join(where, MODEL_FILE) : where;
  check(fs.existsSync(file) && fs.statSync(file).isFile(), `${where} is not a TensorFlow.js model: ${MODEL_FILE} is missing`);
  const json = parseJson(readInputFile(file, 256 * 2 ** 20, 'model.json').toString('utf8'), file).value as Json;
  check(isObject(json) && isObject(json.modelTopology), `${file}: not a TensorFlow.js LayersModel (no "modelTopology" object)`);
  check(json.format === undefined || json.format === 'layers-model',
    `${file}: format ${JSON.stringify(json.format)} is not a LayersModel (a graph model cannot be imported)`);
  const topology = json.modelTopology as Json;
  // Keras models converted by tensorflowjs_converter wrap the model in model_config, next to training_config.
  const modelConfig = isObject(topology.model_config) ? topology.model_config : topology;
  // The weights first: their sizes are checked against the .bin files, so building the model
  // within what they hold (and a 4 MB allowance, so that a near miss reaches matchWeights, which
  // names the weight that differs) never allocates more than the files justify.
  const stored = readWeights(json.weightsManifest, path.dirname(file), file);
  const total = stored.reduce((n, w) => n + w.data.length, 0);
  const model = withFile(file, () => withWeightBudget(total + 2 ** 20, (weight, shape) =>
    `${file}: the model asks for more weights than its weights manifest holds (${total} values); weight "${weight}" ${formatShape(shape)} alone is ${sizeOf(shape)} values`, () => {
    const m = new LayerStack(sequentialLayers(modelConfig, file), { name: sequentialName(modelConfig) });
    m.build(); // fails on layers that do not fit together (a Conv2D after a Flatten, a window larger than its input)
    return m;
  }));
  const weights = matchWeights(model, stored, file);
  const training = json.trainingConfig ?? topology.training_config;
  // withFile: the optimizers' own checks (a beta1 of 2) do not name the file.
  const { optimizer, ...compiled } = isObject(training) ? withFile(file, () => compileArgs(training, file)) : { optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] };
  return {
    modelConfig: { className: 'Sequential', config: { ...model.getConfig(), seed: 0 } },
    trainingConfig: { optimizer: optimizer.getConfig(), ...compiled },
    weights,
  };
}

/** f(), with the file named in front of a TsgradError that does not name it yet. */
function withFile<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TsgradError && !e.message.includes(file)) throw new TsgradError(`${file}: ${e.message}`);
    throw e;
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sequentialName(c: Json): string | undefined {
  return isObject(c.config) && typeof c.config.name === 'string' ? c.config.name : undefined;
}

/** The tsgrad layers of a Keras Sequential config: {name, layers} or (older Keras) a bare list. */
function sequentialLayers(c: Json, file: string): AnyLayer[] {
  check(c.class_name === 'Sequential',
    `${file}: only Sequential models can be imported, this one is ${JSON.stringify(c.class_name)}`);
  const config = c.config;
  const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  check(Array.isArray(list) && list.length > 0, `${file}: the Sequential model has no "layers" list`);
  let inputShape = isObject(config) ? config.build_input_shape : undefined;
  let rank = 0; // of the current activations, batch axis included; 0 until the input shape is known
  const layers: AnyLayer[] = [];
  list.forEach((k: unknown, i: number) => {
    check(isObject(k) && typeof k.class_name === 'string' && isObject(k.config), `${file}: layer ${i} is not a {class_name, config} object`);
    const given = k.config.batch_input_shape ?? k.config.batch_shape ?? (isObject(k.build_config) ? k.build_config.input_shape : undefined);
    if (layers.length === 0 && given !== undefined) inputShape = given;
    if (k.class_name === 'InputLayer') {
      check(layers.length === 0, `${file}: layer ${i} is an InputLayer after other layers`);
      checkDtype(k.config.dtype, `${file}: layer "${k.config.name}" (InputLayer)`);
      return;
    }
    let shape: number[] | undefined;
    if (layers.length === 0) {
      shape = exampleShape(inputShape, `${file}: layer ${i} ${JSON.stringify(k.config.name ?? k.class_name)}`);
      rank = shape.length + 1;
    }
    const converted = tsgradLayer(k.class_name, k.config, rank, `${file}: layer "${k.config.name ?? i}" (${k.class_name})`);
    rank = converted.rank;
    if (shape) (converted.layer.config as { inputShape?: number[] }).inputShape = shape;
    layers.push(converted.layer);
  });
  check(layers.length > 0, `${file}: the model has no layers but its InputLayer`);
  return layers;
}

/** [null, 28, 28, 1] -> [28, 28, 1]: one example's shape, every size known. */
function exampleShape(batchShape: unknown, where: string): number[] {
  check(Array.isArray(batchShape) && batchShape.length >= 2,
    `${where}: no input shape (the first layer needs batch_input_shape, or an InputLayer must come first)`);
  const shape = batchShape.slice(1);
  check(shape.every((d) => Number.isInteger(d) && d > 0),
    `${where}: input shape ${JSON.stringify(batchShape)} is not supported (every size but the batch must be a positive integer)`);
  return shape as number[];
}

function checkDtype(dtype: unknown, where: string): void {
  const name = isObject(dtype) && isObject(dtype.config) ? dtype.config.name : dtype; // Keras 3: a DTypePolicy
  check(name === undefined || name === null || name === 'float32', `${where}: dtype ${JSON.stringify(name)} is not supported (only float32)`);
}

/**
 * One Keras layer config as tsgrad's, given the rank of its inputs; the rank of its outputs comes
 * back with it. Options that change what the layer computes must be ones tsgrad has; the rest
 * (trainable, constraints left null, initializers of weights that are loaded anyway) are dropped.
 */
function tsgradLayer(className: string, k: Json, rank: number, where: string): { layer: AnyLayer; rank: number } {
  const unsupported = (option: string, want: string) =>
    new TsgradError(`${where}: ${option} ${JSON.stringify(k[option])} is not supported (tsgrad supports ${want})`);
  /** Fails unless option `option` is absent, null or accepted by `ok`. */
  const only = (option: string, ok: (v: unknown) => boolean, want: string) => {
    if (k[option] !== undefined && k[option] !== null && !ok(k[option])) throw unsupported(option, want);
  };
  const is = (...values: unknown[]) => (v: unknown) => values.some((w) => JSON.stringify(w) === JSON.stringify(v));
  const channelsLast = () => only('data_format', is('channels_last'), '"channels_last"');
  const noConstraints = (...names: string[]) => names.forEach((n) => only(n, () => false, 'no constraints'));
  const size2 = (option: string, required = false): Size2 | undefined => {
    const v = k[option];
    if ((v === undefined || v === null) && !required) return undefined;
    const ok = (d: unknown) => Number.isInteger(d) && (d as number) > 0;
    if (ok(v)) return v as number;
    if (Array.isArray(v) && v.length === 2 && v.every(ok)) return [v[0], v[1]];
    throw unsupported(option, 'a positive integer or two of them');
  };
  const activation = (option = 'activation'): ActivationName | undefined => {
    only(option, is(...ACTIVATIONS), ACTIVATIONS.join(', '));
    return (k[option] ?? undefined) as ActivationName | undefined;
  };
  const padding = () => {
    only('padding', is('valid', 'same'), '"valid" and "same"');
    return (k.padding ?? undefined) as 'valid' | 'same' | undefined;
  };
  const num = (option: string) => {
    only(option, (v) => typeof v === 'number', 'a number');
    return (k[option] ?? undefined) as number | undefined;
  };
  const bool = (option: string) => {
    only(option, (v) => typeof v === 'boolean', 'true or false');
    return (k[option] ?? undefined) as boolean | undefined;
  };
  /** Keras's input_length: a number, or (Keras 3) a list of one. */
  const inputLength = () => {
    only('input_length', (v) => (Number.isInteger(v) && (v as number) > 0) || (Array.isArray(v) && v.length === 1 && Number.isInteger(v[0]) && v[0] > 0), 'a positive integer');
    const v = k.input_length ?? undefined;
    return (Array.isArray(v) ? v[0] : v) as number | undefined;
  };
  const regularizer = (option: string) => tsgradRegularizer(k[option], () => unsupported(option, 'null, L1, L2 and L1L2'));
  const initializer = (option: string) => tsgradInitializer(k[option]);
  checkDtype(k.dtype, where);
  const base = {
    ...(typeof k.name === 'string' ? { name: k.name } : {}),
    ...(regularizer('activity_regularizer') ? { activityRegularizer: regularizer('activity_regularizer') } : {}),
  };
  const weighted = () => {
    noConstraints('kernel_constraint', 'bias_constraint');
    const c = {
      activation: activation(), useBias: bool('use_bias'),
      kernelInitializer: initializer('kernel_initializer'), biasInitializer: initializer('bias_initializer'),
      kernelRegularizer: regularizer('kernel_regularizer'), biasRegularizer: regularizer('bias_regularizer'),
    };
    return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as Partial<typeof c>;
  };
  let config: LayerConfig;
  let outRank = rank;
  switch (className) {
    case 'Dense':
      config = { className: 'Dense', config: { ...base, units: k.units as number, ...weighted() } };
      break;
    case 'Conv2D':
    case 'Convolution2D':
      channelsLast();
      only('dilation_rate', is(1, [1, 1]), 'dilation rate 1');
      only('groups', is(1), '1 group');
      config = {
        className: 'Conv2D', config: {
          ...base, filters: k.filters as number, kernelSize: size2('kernel_size', true)!, ...defined({ strides: size2('strides'), padding: padding() }), ...weighted(),
        },
      };
      outRank = 4;
      break;
    case 'MaxPooling2D':
    case 'AveragePooling2D':
    case 'MaxPool2D':
    case 'AvgPool2D':
      channelsLast();
      config = {
        className: className.startsWith('Max') ? 'MaxPooling2D' : 'AveragePooling2D',
        config: { ...base, ...defined({ poolSize: size2('pool_size'), strides: size2('strides'), padding: padding() }) },
      };
      outRank = 4;
      break;
    case 'GlobalAveragePooling2D':
    case 'GlobalAvgPool2D':
      channelsLast();
      config = { className: 'GlobalAveragePooling2D', config: { ...base, keepdims: bool('keepdims') ?? false } };
      outRank = k.keepdims ? 4 : 2;
      break;
    case 'Flatten':
      channelsLast();
      config = { className: 'Flatten', config: base };
      outRank = 2;
      break;
    case 'Dropout':
      only('noise_shape', () => false, 'no noise_shape');
      only('seed', Number.isInteger, 'an integer seed');
      config = { className: 'Dropout', config: { ...base, rate: num('rate')!, ...defined({ seed: (k.seed ?? undefined) as number | undefined }) } };
      break;
    case 'Activation':
      check(k.activation !== undefined, `${where}: no activation`);
      config = { className: 'Activation', config: { ...base, activation: activation()! } };
      break;
    case 'BatchNormalization':
      // Keras writes the channel axis as -1, as its index, or as a list of one of those.
      only('axis', is(-1, [-1], rank - 1, [rank - 1]), `only the last axis (-1 or ${rank - 1})`);
      only('renorm', is(false), 'renorm false');
      only('virtual_batch_size', () => false, 'no virtual batches');
      only('adjustment', () => false, 'no adjustment');
      only('synchronized', is(false), 'synchronized false');
      noConstraints('beta_constraint', 'gamma_constraint');
      config = {
        className: 'BatchNormalization', config: {
          ...base, ...defined({
            momentum: num('momentum'), epsilon: num('epsilon'), center: bool('center'), scale: bool('scale'),
            betaInitializer: initializer('beta_initializer'), gammaInitializer: initializer('gamma_initializer'),
            movingMeanInitializer: initializer('moving_mean_initializer'), movingVarianceInitializer: initializer('moving_variance_initializer'),
            betaRegularizer: regularizer('beta_regularizer'), gammaRegularizer: regularizer('gamma_regularizer'),
          }),
        },
      };
      break;
    case 'Embedding':
      noConstraints('embeddings_constraint');
      only('mask_zero', is(false), 'mask_zero false');
      config = {
        className: 'Embedding', config: {
          ...base, inputDim: k.input_dim as number, outputDim: k.output_dim as number, ...defined({
            embeddingsInitializer: initializer('embeddings_initializer'), embeddingsRegularizer: regularizer('embeddings_regularizer'),
            inputLength: inputLength(),
          }),
        },
      };
      outRank = rank + 1;
      break;
    case 'LayerNormalization':
      only('axis', is(-1, [-1], rank - 1, [rank - 1]), `only the last axis (-1 or ${rank - 1})`);
      noConstraints('beta_constraint', 'gamma_constraint');
      config = {
        className: 'LayerNormalization', config: {
          ...base, ...defined({
            epsilon: num('epsilon'), center: bool('center'), scale: bool('scale'),
            betaInitializer: initializer('beta_initializer'), gammaInitializer: initializer('gamma_initializer'),
            betaRegularizer: regularizer('beta_regularizer'), gammaRegularizer: regularizer('gamma_regularizer'),
          }),
        },
      };
      break;
    case 'LSTM':
      noConstraints('recurrent_constraint');
      for (const option of ['dropout', 'recurrent_dropout']) only(option, is(0), '0 (no dropout)');
      for (const option of ['return_state', 'stateful', 'time_major']) only(option, is(false), 'false');
      config = {
        className: 'LSTM', config: {
          ...base, units: k.units as number, ...weighted(), ...defined({
            recurrentActivation: activation('recurrent_activation'), unitForgetBias: bool('unit_forget_bias'),
            recurrentInitializer: initializer('recurrent_initializer'), recurrentRegularizer: regularizer('recurrent_regularizer'),
            returnSequences: bool('return_sequences'), goBackwards: bool('go_backwards'),
          }),
        },
      };
      outRank = k.return_sequences ? 3 : 2;
      break;
    default:
      throw new TsgradError(`${where}: layer type ${className} is not supported (tsgrad has Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout, Activation, BatchNormalization, Embedding, LayerNormalization, LSTM, and an InputLayer first)`);
  }
  return { layer: withFile(where, () => layerFromConfig(config)), rank: outRank };
}

const ACTIVATIONS: readonly ActivationName[] = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'];

/** The entries of `o` that are set: a config without undefined values, so tsgrad's defaults apply. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Keras's L1, L2 and L1L2 (TF.js writes only L1L2, with a zero for the unused factor). */
function tsgradRegularizer(v: unknown, fail: () => TsgradError): Regularizer | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || !isObject(v.config ?? {})) throw fail();
  const c = (v.config ?? {}) as { l1?: number; l2?: number };
  switch (v.class_name) {
    case 'L1': return { className: 'L1', config: { l1: c.l1 ?? 0.01 } };
    case 'L2': return { className: 'L2', config: { l2: c.l2 ?? 0.01 } };
    case 'L1L2': {
      const [l1, l2] = [c.l1 ?? 0, c.l2 ?? 0];
      if (l1 === 0 && l2 === 0) return undefined;
      if (l1 === 0) return { className: 'L2', config: { l2 } };
      if (l2 === 0) return { className: 'L1', config: { l1 } };
      return { className: 'L1L2', config: { l1, l2 } };
    }
    default: throw fail();
  }
}

/**
 * tsgrad's name for a Keras initializer, or undefined (the default) for one tsgrad lacks: an
 * imported model's weights come from the file, so its initializers only matter if it is rebuilt.
 */
function tsgradInitializer(v: unknown): InitializerName | undefined {
  if (!isObject(v)) return undefined;
  const c = isObject(v.config) ? v.config : {};
  // tsgrad's randomUniform and orthogonal are Keras's defaults of these only.
  if (v.class_name === 'RandomUniform' && ((c.minval ?? -0.05) !== -0.05 || (c.maxval ?? 0.05) !== 0.05)) return undefined;
  if (v.class_name === 'Orthogonal' && (c.gain ?? 1) !== 1) return undefined;
  const byClass = Object.entries(INITIALIZER_CLASSES).find(([, cls]) => cls === v.class_name);
  if (byClass) return byClass[0] as InitializerName;
  if (v.class_name !== 'VarianceScaling') return undefined;
  const uniform = c.distribution === 'uniform';
  if (c.scale === 1 && c.mode === 'fan_avg') return uniform ? 'glorotUniform' : 'glorotNormal';
  if (c.scale === 2 && c.mode === 'fan_in') return uniform ? 'heUniform' : 'heNormal';
  return undefined;
}

/** Keras's or TF.js's training_config as compile() arguments. */
function compileArgs(t: Json, file: string): { optimizer: Optimizer; loss: LossName; metrics: string[] } {
  const camel = (s: string) => s.replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase());
  const loss = typeof t.loss === 'string' && Object.hasOwn(LOSS_ALIASES, t.loss) ? LOSS_ALIASES[t.loss] : undefined; // compile()'s names
  check(loss, `${file}: training_config loss ${JSON.stringify(t.loss)} is not supported (tsgrad has ${Object.keys(LOSS_ALIASES).join(', ')})`);
  const METRICS: Record<string, string> = {
    accuracy: 'accuracy', acc: 'accuracy', sparseCategoricalAccuracy: 'accuracy', categoricalAccuracy: 'accuracy',
    topKCategoricalAccuracy: 'topKCategoricalAccuracy', sparseTopKCategoricalAccuracy: 'sparseTopKCategoricalAccuracy',
  };
  const metricList = Array.isArray(t.metrics) ? t.metrics.flat() : t.metrics === undefined || t.metrics === null ? [] : [t.metrics];
  const metrics = metricList.map((m: unknown) => {
    // Keras 2.x writes either a name or a serialised metric object whose config has the name.
    const name = isObject(m) ? (isObject(m.config) ? m.config.name : m.class_name) : m;
    const metric = typeof name === 'string' ? METRICS[camel(name)] : undefined;
    check(metric, `${file}: training_config metric ${JSON.stringify(name)} is not supported (tsgrad has ${Object.keys(METRICS).join(', ')})`);
    return metric;
  });
  return { optimizer: tsgradOptimizer(t.optimizer_config, file), loss, metrics: [...new Set(metrics)] };
}

function tsgradOptimizer(o: unknown, file: string): Optimizer {
  if (!isObject(o)) return new Adam();
  const c = isObject(o.config) ? o.config : {};
  const num = (...keys: string[]) => {
    for (const key of keys) {
      if (c[key] === undefined || c[key] === null) continue;
      check(typeof c[key] === 'number', `${file}: optimizer option ${key} ${JSON.stringify(c[key])} is not supported (only a number)`);
      return c[key] as number;
    }
    return undefined;
  };
  const learningRate = num('learning_rate', 'learningRate', 'lr');
  const name = String(o.class_name).toLowerCase();
  switch (name) {
    case 'adam': return new Adam(defined({ learningRate, beta1: num('beta_1', 'beta1'), beta2: num('beta_2', 'beta2'), epsilon: num('epsilon') }));
    case 'adamw': return new AdamW(defined({ learningRate, beta1: num('beta_1', 'beta1'), beta2: num('beta_2', 'beta2'), epsilon: num('epsilon'), weightDecay: num('weight_decay', 'weightDecay') }));
    case 'sgd': return new SGD(defined({ learningRate, momentum: num('momentum'), nesterov: c.nesterov === undefined ? undefined : Boolean(c.nesterov) }));
    case 'momentum': return new SGD(defined({ learningRate, momentum: num('momentum'), nesterov: Boolean(c.use_nesterov ?? c.useNesterov) }));
    case 'rmsprop': return new RMSprop(defined({ learningRate, rho: num('rho', 'decay'), momentum: num('momentum'), epsilon: num('epsilon'), centered: c.centered === undefined ? undefined : Boolean(c.centered) }));
    default: throw new TsgradError(`${file}: optimizer ${JSON.stringify(o.class_name)} is not supported (tsgrad has Adam, AdamW, SGD, RMSprop)`);
  }
}

// ---------------------------------------------------------------------------------------------
// Weights

interface StoredWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/**
 * The model weights of a weights manifest: each group's shards are one byte stream, its weights
 * laid out in order. Every shape, dtype and byte count is checked before anything is read out.
 */
function readWeights(manifest: unknown, folder: string, file: string): StoredWeight[] {
  check(Array.isArray(manifest), `${file}: "weightsManifest" must be a list of {paths, weights} groups`);
  const out: StoredWeight[] = [];
  manifest.forEach((group: unknown, g: number) => {
    check(isObject(group) && Array.isArray(group.paths) && Array.isArray(group.weights),
      `${file}: weightsManifest[${g}] must be {paths: [...], weights: [...]}`);
    const shards = group.paths.map((p: unknown) => shardPath(p, folder, file));
    const layout = group.weights.map((spec: unknown, i: number) => {
      check(isObject(spec) && typeof spec.name === 'string', `${file}: weightsManifest[${g}].weights[${i}] has no name`);
      const what = `${file}: weight "${spec.name}"`;
      check(Array.isArray(spec.shape) && spec.shape.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 31),
        `${what}: shape ${JSON.stringify(spec.shape)} is not a list of sizes`);
      check(spec.quantization === undefined || spec.quantization === null, `${what}: quantized weights are not supported (only float32)`);
      const bytes = DTYPE_BYTES[spec.dtype as string];
      check(bytes, `${what}: dtype ${JSON.stringify(spec.dtype)} is not supported (only float32)`);
      // TF.js's own optimizer state (saved with includeOptimizer) is a group of its own: skipped.
      const optimizer = spec.group === 'optimizer';
      check(optimizer || spec.dtype === 'float32', `${what}: dtype ${JSON.stringify(spec.dtype)} is not supported (only float32)`);
      return { name: spec.name, shape: spec.shape as number[], bytes: sizeOf(spec.shape as number[]) * bytes, optimizer };
    });
    const needed = layout.reduce((n, w) => n + w.bytes, 0);
    const sizes = shards.map((s) => fs.statSync(s).size);
    const have = sizes.reduce((a, b) => a + b, 0);
    const names = shards.map((s) => path.basename(s)).join(', ') || '(no files)';
    check(have >= needed, `${file}: weight files ${names} are truncated: they hold ${have} bytes, the manifest needs ${needed}`);
    check(have === needed, `${file}: weight files ${names} hold ${have} bytes, more than the ${needed} the manifest describes`);
    const bytes = new Uint8Array(have);
    let at = 0;
    shards.forEach((s, i) => {
      const part = fs.readFileSync(s);
      check(part.length === sizes[i], `${s}: changed while being read`);
      bytes.set(part, at);
      at += part.length;
    });
    let offset = 0;
    for (const w of layout) {
      if (!w.optimizer) out.push({ name: w.name, shape: w.shape, data: new Float32Array(bytes.buffer.slice(offset, offset + w.bytes)) });
      offset += w.bytes;
    }
  });
  return out;
}

/** A shard's path: relative, inside the model's folder, a regular file. */
function shardPath(p: unknown, folder: string, file: string): string {
  check(typeof p === 'string' && p.length > 0, `${file}: a weights path is not a file name: ${JSON.stringify(p)}`);
  const resolved = path.resolve(folder, p);
  const inside = (f: string, dir: string) => {
    const rel = path.relative(dir, f);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  check(!path.isAbsolute(p) && inside(resolved, folder), `${file}: weights path ${JSON.stringify(p)} leads out of the model's folder`);
  check(fs.existsSync(resolved), `${file}: its weights file ${p} is missing`);
  check(inside(fs.realpathSync(resolved), fs.realpathSync(folder)), `${file}: weights path ${JSON.stringify(p)} leads out of the model's folder`);
  check(fs.statSync(resolved).isFile(), `${file}: its weights path ${p} is not a file`);
  return resolved;
}

/**
 * The stored weights under the model's names, matched: `conv2d/kernel` exactly, or a longer name
 * ending in `/conv2d/kernel` (Keras prefixes the model's name when models nest), with
 * TensorFlow's `:0` suffix and Keras 2's `lstm_cell` level (`lstm/lstm_cell/kernel`) ignored.
 * Every stored weight must be used and every model weight found.
 */
function matchWeights(model: LayerStack, stored: StoredWeight[], file: string): NamedArray[] {
  const byName = new Map<string, StoredWeight>();
  for (const s of stored) {
    // Keras 2 names a recurrent layer's weights after its cell too: lstm_1/lstm_cell_1/kernel:0.
    const name = s.name.replace(/:0$/, '').replace(/\/lstm_cell(_\d+)?(?=\/[^/]+$)/, '');
    check(!byName.has(name), `${file}: weight "${s.name}" appears twice in the manifest`);
    byName.set(name, s);
  }
  const used = new Set<string>();
  const matched = model.weights.map((w) => {
    let key = byName.has(w.name) ? w.name : undefined;
    if (!key) {
      const candidates = [...byName.keys()].filter((n) => n.endsWith(`/${w.name}`));
      check(candidates.length <= 1, `${file}: weight "${w.name}" is ambiguous in the manifest (${candidates.join(', ')})`);
      key = candidates[0];
    }
    check(key, `${file}: weight "${w.name}" is missing from the manifest`);
    const s = byName.get(key)!;
    check(sameShape(s.shape, w.value.shape),
      `${file}: weight "${s.name}" has shape ${formatShape(s.shape)}, the model needs ${formatShape(w.value.shape)}`);
    used.add(key);
    for (let i = 0; i < s.data.length; i++) {
      if (!Number.isFinite(s.data[i])) throw new TsgradError(`${file}: weight "${s.name}" holds ${s.data[i]} at index ${i}: weights must be finite numbers`);
    }
    return { name: w.name, shape: s.shape, data: s.data };
  });
  const extra = [...byName.keys()].filter((n) => !used.has(n));
  check(extra.length === 0, `${file}: the manifest has weights the model does not: ${extra.map((n) => `"${n}"`).join(', ')}`);
  return matched;
}
