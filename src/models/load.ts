// Models from checkpoints, whichever kind a checkpoint holds: the class name in its model.json
// picks the class (Sequential, the GPT, the LSTM language model, the captioner), its config
// rebuilds the model and the weights are loaded by name; a compiled Sequential gets its optimizer
// and moments back.
// The same from a folder, over HTTP (browsers), and from a TensorFlow.js LayersModel.
// Not for: writing checkpoints (saveModel in src/io/checkpoint.ts) or reading their files (src/io).

import { check } from '../core/errors.js';
import { formatShape, sizeOf } from '../core/shape.js';
import { Doc } from '../core/validate.js';
import { withWeightBudget } from '../nn/layer.js';
import { need, opt, readFields, stackConfigFromDoc, within } from '../nn/schema.js';
import { checkOptimizerState, optimizerFromDoc } from '../optim/optimizer.js';
import { tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from '../data/tokenizer.js';
import { assignWeights, fetchCheckpoint, readCheckpoint, type CheckpointContents } from '../io/checkpoint.js';
import { readTfjs } from '../io/tfjs.js';
import type { LanguageModel, LmDataSource, LmTrainOptions } from '../train/lm.js';
import { latestCheckpoint, resolveCheckpoint } from '../train/runs.js';
import { Sequential } from '../train/sequential.js';
import { Captioner, captionerConfigFromDoc } from './captioner.js';
import { Gpt, gptConfigFromDoc } from './gpt.js';
import { LstmLm, lstmLmConfigFromDoc } from './lstm-lm.js';

/** Any model tsgrad saves and loads: a Sequential, a GPT, an LSTM language model or a captioner. */
export type AnyModel = Sequential | Gpt | LstmLm | Captioner;
/** The language models a checkpoint can hold, by the class name in its model.json. */
export const LM_CLASS_NAMES = ['GPT', 'LSTMLM'] as const;

interface ModelConfig {
  className: string;
  config: Record<string, unknown>;
  tokenizer?: TokenizerJSON;
}

/** A freshly initialised model of the class and config a checkpoint's model.json names. */
export function modelFromConfig(mc: ModelConfig): AnyModel {
  return modelFromDoc(new Doc(mc, 'model config'));
}

const MODEL_CLASS_NAMES = ['Sequential', ...LM_CLASS_NAMES, 'Captioner'];

/** A model from `{className, config}` as a file holds it: every field checked before anything is allocated. */
function modelFromDoc(d: Doc): AnyModel {
  d.object();
  const className = d.at('className').string(MODEL_CLASS_NAMES);
  const config = d.at('config');
  switch (className) {
    case 'Sequential': {
      const c = stackConfigFromDoc(config);
      return within(config, () => Sequential.fromConfig(c));
    }
    case 'GPT': {
      const c = gptConfigFromDoc(config);
      return within(config, () => new Gpt(c));
    }
    case 'Captioner': {
      const c = captionerConfigFromDoc(config);
      return within(config, () => new Captioner(c));
    }
    default: {
      const c = lstmLmConfigFromDoc(config);
      return within(config, () => new LstmLm(c));
    }
  }
}

/** Weight values a config may ask for beyond what its weights file holds, before being refused as absurd. */
export const WEIGHT_SLACK = 2 ** 20;
const gb = (values: number) => `${(values * 4 / 1e9).toFixed(2)} GB`;

function modelFromCheckpoint(c: CheckpointContents, where: string): AnyModel {
  const md = c.docs?.model ?? new Doc(c.modelConfig, where, 'modelConfig');
  // The weights file holds every weight the config may ask for, so the config can never make
  // tsgrad allocate more than that (a model.json asking for 34 GB says so before allocating it).
  // A small allowance over it lets a near miss reach assignWeights, which names the weight that differs.
  const stored = c.weights.reduce((n, w) => n + sizeOf(w.shape), 0);
  const model = withWeightBudget(stored + WEIGHT_SLACK, (weight, shape) =>
    `${md.source}: ${md.path} asks for more weights than its weights file holds (${stored} values, ${gb(stored)}); ` +
    `weight "${weight}" ${formatShape(shape)} alone is ${sizeOf(shape)} values (${gb(sizeOf(shape))})`, () => {
    const m = modelFromDoc(md);
    if (m instanceof Sequential) within(md.at('config'), () => m.build());
    return m;
  });
  if (model instanceof Sequential) {
    const tc = c.docs?.training ?? new Doc(c.trainingConfig, where, 'trainingConfig');
    if (tc.present) compileFromDoc(model, tc);
    if (tc.present && c.optimizerState) {
      checkOptimizerState(model.optimizer, c.optimizerState, model.trainableWeights.map((w) => w.size), where);
      model.optimizer!.setState(c.optimizerState);
    }
  }
  assignWeights(model.weights, c.weights, where);
  return model;
}

/** A Sequential's training config (optimizer, loss, metrics) as a file holds it, checked, then compiled. */
function compileFromDoc(model: Sequential, d: Doc): void {
  readFields(d, {
    optimizer: need((x) => x.object()), loss: need((x) => x.string()),
    metrics: opt((x) => x.array({ max: 100 }).map((m) => m.string())),
  }, 'a training config');
  const optimizer = optimizerFromDoc(d.at('optimizer'));
  const metrics = d.at('metrics').present ? d.at('metrics').array().map((m) => m.string()) : undefined;
  within(d, () => model.compile({ optimizer, loss: d.at('loss').string() as never, metrics: metrics as never }));
}

type Class<M> = abstract new (...args: never[]) => M;

/** Narrows a loaded model to the class a caller needs, or says what the checkpoint holds instead. */
function as<M extends AnyModel>(model: AnyModel, kind: Class<M> | undefined, where: string): M {
  check(!kind || model instanceof kind, () => `${where} holds a ${model.className} model, not a ${kind!.name}`);
  return model as M;
}

/**
 * The model a checkpoint folder (or a run: its best checkpoint) holds, with its weights; with
 * `kind`, checked to be of that class: `loadModel('my-model', Sequential).predict(x)`.
 */
export function loadModel<M extends AnyModel = AnyModel>(path: string, kind?: Class<M>): M {
  const dir = resolveCheckpoint(path);
  return as(modelFromCheckpoint(readCheckpoint(dir), dir), kind, dir);
}

/**
 * loadModel over HTTP, for browsers (where the bundle's `loadModel` is this) and servers: `url`
 * is a checkpoint folder's address or its model.json's.
 */
export async function fetchModel<M extends AnyModel = AnyModel>(url: string, kind?: Class<M>): Promise<M> {
  return as(modelFromCheckpoint(await fetchCheckpoint(url), url), kind, url);
}

/**
 * A TensorFlow.js LayersModel folder (or its model.json) as a compiled Sequential with its
 * weights: compiled from the file's training config if it has one, else with Adam, sparse
 * categorical cross-entropy and accuracy, so that evaluate() works at once.
 */
export function importTfjs(pathToDirOrModelJson: string): Sequential {
  return modelFromCheckpoint(readTfjs(pathToDirOrModelJson), pathToDirOrModelJson) as Sequential;
}

/** A language model loaded from a checkpoint, with its tokenizer and how it was trained. */
export interface LoadedLanguageModel {
  /** The model (a {@link Gpt} or an {@link LstmLm}), weights loaded. */
  model: LanguageModel & AnyModel;
  /** The tokenizer it was trained with (from the checkpoint's model.json). */
  tokenizer: Tokenizer;
  /** How it was trained, when it was (a run's checkpoint). */
  options?: LmTrainOptions;
  /** Where its training text came from, so evaluation finds the same validation text. */
  source?: LmDataSource;
}

/** A language model and its tokenizer from a checkpoint or a run, with how it was trained. */
export function loadLanguageModel(path: string): LoadedLanguageModel {
  const dir = resolveCheckpoint(path);
  return languageModel(readCheckpoint(dir), dir);
}

/** A language model and its tokenizer from a checkpoint's URL (a folder with model.json and weights.safetensors). */
export async function fetchLanguageModel(url: string): Promise<LoadedLanguageModel> {
  return languageModel(await fetchCheckpoint(url), url);
}

function languageModel(c: CheckpointContents, dir: string): LoadedLanguageModel {
  const mc = c.modelConfig as Partial<ModelConfig> | null;
  check(LM_CLASS_NAMES.includes(mc?.className as never) && mc?.tokenizer,
    `${dir}: not a language-model checkpoint (its model is ${JSON.stringify(mc?.className ?? null)}; tsgrad gpt reads ${LM_CLASS_NAMES.join(', ')})`);
  const model = modelFromCheckpoint(c, dir) as Gpt | LstmLm;
  const td = (c.docs?.model ?? new Doc(c.modelConfig, dir, 'modelConfig')).at('tokenizer');
  const tokenizer = tokenizerFromJSON(td); // its errors name the file and the field
  check(tokenizer.vocabSize === model.config.vocabSize,
    `${dir}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${model.config.vocabSize}`);
  const training = c.trainingConfig as { options?: LmTrainOptions; source?: LmDataSource } | null;
  return { model, tokenizer, options: training?.options, source: training?.source ?? undefined };
}

/**
 * Where a run stands, to resume it exactly: its newest checkpoint's model (weights and random
 * streams restored; a language model's tokenizer), run state and optimizer moments. Null when
 * the run has no checkpoint yet.
 */
export function resumeRun<M extends AnyModel = AnyModel>(dir: string, kind?: Class<M>) {
  const latest = latestCheckpoint(dir);
  if (!latest) return null;
  const c = readCheckpoint(latest.dir);
  const lm = LM_CLASS_NAMES.includes((c.modelConfig as ModelConfig)?.className as never) ? languageModel(c, latest.dir) : null;
  const model = as(lm?.model ?? modelFromCheckpoint(c, latest.dir), kind, latest.dir);
  if (lm && c.optimizerState) {
    const sizes = model.weights.filter((w) => w.trainable).map((w) => w.value.size);
    checkOptimizerState(null, c.optimizerState, sizes, latest.dir);
  }
  model.setRngStates(latest.state.rng);
  return {
    /** The model, weights and random streams restored. */
    model,
    /** A language model's tokenizer (undefined for other models). */
    tokenizer: lm?.tokenizer,
    /** The run's state at the checkpoint: epoch, step, history, best. */
    state: latest.state,
    /** The optimizer's step count and moments, when the checkpoint has them. */
    optimizer: c.optimizerState,
  };
}
