// What both entry points export (Node's src/index.ts and the browser's src/browser.ts), so that
// they cannot drift: tensors and their creators, the ops as free functions with TensorFlow.js's
// names, autograd, memory scopes, layers, optimizers (`train`, as tf.train) and Sequential models.
// Each entry adds its own: Node's the wasm backend, files, data sets and the model zoo; the
// browser's loadModel over HTTP.

export {
  Tensor, tensor, tensor1d, tensor2d, tensor3d, tensor4d, tensor5d, tensor6d, scalar, zeros, ones, fill, zerosLike, onesLike,
  range, linspace, eye, randomUniform, randomNormal, truncatedNormal, variable, type Nested,
} from './tensor/tensor.js';
export type { DType, TypedArray } from './core/dtype.js';
export type { Shape } from './core/shape.js';
export { getBackend, setBackend, noGrad, type BackendName } from './tensor/engine.js';
export { tidy, keep, memory, type MemoryInfo } from './tensor/memory.js';
export { backward, grad, grads, valueAndGrad, valueAndGrads, variableGrads } from './autograd/index.js';
export * from './ops/index.js';
export { Rng } from './core/rng.js';
export { TsgradError } from './core/errors.js';
export * as layers from './nn/layers.js';
export * as regularizers from './nn/regularizers.js';
export { Layer } from './nn/layer.js';
export * as train from './optim/optimizer.js';
export { SGD, Adam, AdamW, RMSprop, sgd, adam, adamW, rmsprop, optimizerFromConfig } from './optim/optimizer.js';
export type { Optimizer, OptimizerConfig, SGDConfig, AdamConfig, AdamWConfig, RMSpropConfig } from './optim/optimizer.js';
export * as schedules from './optim/schedules.js';
export { piecewiseConstantDecay, exponentialDecay, cosineDecay, scheduleFromConfig } from './optim/schedules.js';
export type { LearningRateSchedule, ScheduleConfig } from './optim/schedules.js';
export type { Model, NamedWeight } from './nn/model.js';
export { Sequential, sequential, type CompileArgs, type FitArgs, type EvaluateResult } from './train/sequential.js';
export * as metrics from './train/metrics.js';
export { numberToWords, wordsToNumber, captionWords, joinCaptionWords, CAPTION_WORDS } from './data/numbers.js';
export { captionDataset, captionSample, captionDigits, CAPTION_HEIGHT, CAPTION_WIDTH, type CaptionDataset, type CaptionSample, type CaptionDigits } from './data/captions.js';
export { Captioner, CAPTIONER_DEFAULTS, CAPTION_VOCABULARY, captionerConfig, type CaptionerConfig, type Caption, type DecodeOptions } from './models/captioner.js';
export { referenceCnn, lenet5, strongCnn } from './models/zoo.js';
export { toMnistInput, toCaptionInput, type RgbaImage } from './data/ink.js';
