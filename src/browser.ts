// The browser bundle's entry (build/tsgrad.browser.js, made by scripts/build-browser.js): the
// library without what needs Node's file system, and `loadModel(url)` fetching a checkpoint over
// HTTP. It computes with the reference backend until the wasm backend has a Web Worker pool.
// Everything else it exports is api.ts, which the Node entry exports too.

export * from './api.js';
export { fetchModel as loadModel } from './models/load.js';
export { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
