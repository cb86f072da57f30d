// The browser bundle's entry (build/tsgrad.browser.js, made by scripts/build-browser.js): the
// library without what needs Node's file system, and `loadModel(url)` fetching a checkpoint over
// HTTP. It computes with the reference backend until the wasm backend has a Web Worker pool.

export { Tensor, tensor, scalar, zeros, ones, fill, randomUniform, randomNormal, variable } from './tensor/tensor.js';
export { getBackend, setBackend, noGrad } from './tensor/engine.js';
export { tidy, keep, memory, type MemoryInfo } from './tensor/memory.js';
export { backward, grad } from './autograd/index.js';
export * from './ops/index.js';
export { Rng } from './core/rng.js';
export { TsgradError } from './core/errors.js';
export * as layers from './nn/layers.js';
export { Sequential, sequential } from './train/sequential.js';
export { fetchModel as loadModel } from './models/load.js';
export { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
