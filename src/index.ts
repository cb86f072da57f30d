// The public API of tsgrad for Node, shaped like TensorFlow.js: tensors and ops at the top level,
// layers under `layers`, optimizers under `train`, models built with `sequential` (all in api.ts,
// shared with the browser's entry, browser.ts). This entry makes the wasm backend (its thread pool
// is Node's worker_threads) the default and adds what needs files: data sets, checkpoints, runs.

/**
 * tsgrad for Node (`import * as tf from 'tsgrad'`): tensors and ops at the top level, layers under
 * `layers`, optimizers under `train`, models built with `sequential`, plus what needs files (data
 * sets, checkpoints, runs) and the language models. Computes on the WebAssembly kernels.
 * @module tsgrad
 */

import { createWasmBackend } from './backend/wasm/node.js';
import { registerBackend } from './tensor/engine.js';

registerBackend('wasm', () => createWasmBackend());

export * from './api.js';
export { trainLoop, type TrainLoop, type StepLoss, type TrainResult } from './train/trainer.js';
export type { Callback, CallbackModel, History, Logs, StepInfo, TrainBegin } from './train/callbacks.js';
export {
  EarlyStopping, ModelCheckpoint, earlyStopping, modelCheckpoint, learningRateScheduler, reduceLROnPlateau,
  type EarlyStoppingConfig, type ModelCheckpointConfig, type ReduceLROnPlateauConfig, type MonitorMode,
} from './train/monitors.js';
export { csvLogger, jsonLinesLogger, type CsvLoggerConfig } from './train/loggers.js';
export { progressBar, jsonLines } from './train/progress.js';
export { RunTracker, startRun, openRun, listRuns, readRun, writeSummary, type RunState, type RunSummary, type TrackerOptions } from './train/runs.js';
export { saveModel } from './io/checkpoint.js';
export { loadModel, fetchModel, importTfjs, loadLanguageModel, resumeRun, type AnyModel } from './models/load.js';
export { loadMnist, type MnistSplit } from './data/mnist.js';
export { loadBrown, loadText, splitText } from './data/text.js';
export { CharTokenizer, BpeTokenizer, charTokenizer, trainBpe, tokenizerFromJSON, type BpeOptions, type Tokenizer, type TokenizerJSON } from './data/tokenizer.js';
export { readGpt2Tokenizer, gpt2TokenizerFiles, readHfTokenizer, hfTokenizerJson, bytesToUnicode, GPT2_BYTE_ORDER } from './data/tokenizer-files.js';
export { augmenter, type AugmentOptions } from './data/augment.js';
export { loadMnistImage, decodePng } from './io/image.js';
export { saveSafetensors, loadSafetensors } from './io/safetensors.js';
export { exportOnnx, saveOnnx } from './io/onnx.js';
export { exportTfjs } from './io/tfjs.js';
export { Gpt, type GptConfig } from './models/gpt.js';
export { LstmLm, type LstmLmConfig } from './models/lstm-lm.js';
export { trainLm, evaluateLm, lmLoss, type LanguageModel, type LmTrainOptions } from './train/lm.js';
export { trainCaptioner, evaluateCaptioner, captionLoss, splitTrainingDigits, VALIDATION_DIGITS, type CaptionRun, type CaptionScore, type CaptionTrainOptions } from './train/caption.js';
export { generate, generateTokens, sampleToken, type GenerateOptions, type SampleOptions } from './train/lm-generate.js';
