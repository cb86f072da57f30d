// Models from checkpoints, whichever kind a checkpoint holds: the class name in its model.json
// picks the class (Sequential, the GPT, the LSTM language model), its config rebuilds the model
// and the weights are loaded by name; a compiled Sequential gets its optimizer and moments back.
// The same from a folder, over HTTP (browsers), and from a TensorFlow.js LayersModel.
// Not for: writing checkpoints (saveModel in src/io/checkpoint.ts) or reading their files (src/io).

import { check } from '../core/errors.js';
import { tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from '../data/tokenizer.js';
import { assignWeights, fetchCheckpoint, readCheckpoint, type CheckpointContents } from '../io/checkpoint.js';
import { readTfjs } from '../io/tfjs.js';
import type { LanguageModel, LmDataSource, LmTrainOptions } from '../train/lm.js';
import { latestCheckpoint, resolveCheckpoint } from '../train/runs.js';
import { Sequential, type TrainingConfig } from '../train/sequential.js';
import { Gpt, type GptConfig } from './gpt.js';
import { LstmLm, type LstmLmConfig } from './lstm-lm.js';

export type AnyModel = Sequential | Gpt | LstmLm;
/** The language models a checkpoint can hold, by the class name in its model.json. */
export const LM_CLASS_NAMES = ['GPT', 'LSTMLM'] as const;

interface ModelConfig {
  className: string;
  config: Record<string, unknown>;
  tokenizer?: TokenizerJSON;
}

/** A freshly initialised model of the class and config a checkpoint's model.json names. */
export function modelFromConfig(mc: ModelConfig): AnyModel {
  switch (mc.className) {
    case 'Sequential': return Sequential.fromConfig(mc.config as unknown as Parameters<typeof Sequential.fromConfig>[0]);
    case 'GPT': return new Gpt(mc.config as unknown as GptConfig);
    case 'LSTMLM': return new LstmLm(mc.config as unknown as LstmLmConfig);
    default: return check(false, `unknown model "${mc.className}" (tsgrad has Sequential, GPT, LSTMLM)`) as never;
  }
}

function modelFromCheckpoint(c: CheckpointContents, where: string): AnyModel {
  const mc = c.modelConfig as ModelConfig | null;
  check(mc && typeof mc.className === 'string' && typeof mc.config === 'object' && mc.config !== null,
    `${where}: model config must be {"className": ..., "config": {...}}`);
  const model = modelFromConfig(mc);
  if (model instanceof Sequential) {
    model.build();
    const tc = c.trainingConfig as TrainingConfig | null;
    if (tc) model.compileFromConfig(tc);
    if (tc && c.optimizerState) model.optimizer!.setState(c.optimizerState);
  }
  assignWeights(model.weights, c.weights, where);
  return model;
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

export interface LoadedLanguageModel {
  model: LanguageModel & AnyModel;
  tokenizer: Tokenizer;
  /** How it was trained, when it was (a run's checkpoint). */
  options?: LmTrainOptions;
  source?: LmDataSource;
}

/** A language model and its tokenizer from a checkpoint or a run, with how it was trained. */
export function loadLanguageModel(path: string): LoadedLanguageModel {
  const dir = resolveCheckpoint(path);
  return languageModel(readCheckpoint(dir), dir);
}

function languageModel(c: CheckpointContents, dir: string): LoadedLanguageModel {
  const mc = c.modelConfig as Partial<ModelConfig> | null;
  check(LM_CLASS_NAMES.includes(mc?.className as never) && mc?.tokenizer,
    `${dir}: not a language-model checkpoint (its model is ${JSON.stringify(mc?.className ?? null)}; tsgrad gpt reads ${LM_CLASS_NAMES.join(', ')})`);
  const model = modelFromCheckpoint(c, dir) as Gpt | LstmLm;
  const tokenizer = tokenizerFromJSON(mc.tokenizer);
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
  model.setRngStates(latest.state.rng);
  return { model, tokenizer: lm?.tokenizer, state: latest.state, optimizer: c.optimizerState };
}
