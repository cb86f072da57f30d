// Language models by name: rebuilding the GPT or the LSTM baseline from a checkpoint's model.json
// and loading its weights. Not for: writing checkpoints (src/train/lm.ts).

import { check } from '../core/errors.js';
import { assignWeights } from '../io/checkpoint.js';
import { readLmCheckpoint, type LanguageModel, type LmCheckpoint } from '../train/lm.js';
import { Gpt, type GptConfig } from './gpt.js';
import { LstmLm, type LstmLmConfig } from './lstm-lm.js';

/** The language models a checkpoint can hold, by the class name in its model.json. */
export const LM_CLASS_NAMES = ['GPT', 'LSTMLM'] as const;

/** A model of the class and config a checkpoint names, freshly initialised from `seed`. */
export function languageModelFromConfig(mc: { className: string; config: Record<string, unknown> }, seed = 0): LanguageModel {
  switch (mc.className) {
    case 'GPT': return new Gpt(mc.config as unknown as GptConfig, seed);
    case 'LSTMLM': return new LstmLm(mc.config as unknown as LstmLmConfig, seed);
    default: return check(false, `unknown language model "${mc.className}" (tsgrad has ${LM_CLASS_NAMES.join(', ')})`) as never;
  }
}

/** The model in a checkpoint (or a run's), with its weights, and the rest of the checkpoint. */
export function loadLanguageModel(p: string): { model: LanguageModel; checkpoint: LmCheckpoint } {
  const c = readLmCheckpoint(p, LM_CLASS_NAMES);
  const model = languageModelFromConfig(c.modelConfig);
  check(c.tokenizer.vocabSize === model.config.vocabSize,
    `${p}: the tokenizer has ${c.tokenizer.vocabSize} tokens but the model's vocabulary is ${model.config.vocabSize}`);
  assignWeights(model.weights, c.weights, p);
  return { model, checkpoint: c };
}
