// The page bench/browser.ts measures: the reference CNN's speed (src/train/speed.ts, the functions
// `tsgrad bench` times in Node) on the browser bundle's wasm backend, on the MNIST arrays the
// script serves. It sets window.measure once the data is in.

import { backendInfo, tensor } from '../src/browser.js';
import { inferRate, trainRate } from '../src/train/speed.js';

const load = async (name: string) => (await fetch(`./${name}.bin`)).arrayBuffer();
const [trainImages, trainLabels, testImages] = await Promise.all(['train-images', 'train-labels', 'test-images'].map(load));
const x = tensor(new Float32Array(trainImages), [trainImages.byteLength / 3136, 28, 28, 1]);
const y = tensor(new Int32Array(trainLabels), [trainLabels.byteLength / 4], 'int32');
const test = tensor(new Float32Array(testImages), [testImages.byteLength / 3136, 28, 28, 1]);

Object.assign(window, {
  backend: backendInfo(),
  measure: async (batches: number) => ({ train32: await trainRate(x, y, 32, batches), infer1000: inferRate(test) }),
});
