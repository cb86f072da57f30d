// Benchmark peer for `tsgrad bench --compare`: the character GPT (4 layers, 4 heads, embedding 128,
// block 128, batch 32, vocabulary 85) in @jax-js/jax on its wasm backend (one thread in Node), the
// same model as bench/pytorch_gpt.py: pre-norm blocks with a fused qkv projection, causal attention,
// MLP with GELU (tanh), learned positions, final LayerNorm, head tied to the token embedding; AdamW
// (lr 1e-3, weight decay 0.1 on matrices), clipping at global norm 1. The whole step (loss, grad,
// clipping, AdamW) is one jit, awaited each step. Attention is written out (q kᵀ, mask, softmax, @ v):
// jax-js's nn.dotProductAttention goes through np.einsum, which calls Iterator.prototype.map and so
// throws on Node 20. Tokens are random ids (speed does not depend on the text); not a quality benchmark.
// Prints one JSON line on stdout (training tokens/s); log on stderr.
// Usage: node --import tsx bench/jax_gpt.ts [steps=10] [warmup=2]
import { readFileSync } from "node:fs";
import { init, jit, numpy as np, nn, tree, valueAndGrad } from "@jax-js/jax";

const steps = Number(process.argv[2] ?? 10);
const warmup = Number(process.argv[3] ?? 2);
const [VOCAB, LAYERS, HEADS, C, T, B] = [85, 4, 4, 128, 128, 32];
const log = (...a: unknown[]) => console.error("[jax_gpt]", ...a);
await init("wasm");

type Params = { [k: string]: np.Array };
let seed = 42; // GPT-2's init, N(0, 0.02) matrices (Box-Muller over a small deterministic PRNG), zero biases
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
const normal = (shape: number[]) => np.array(Float32Array.from({ length: shape.reduce((a, b) => a * b) },
  () => 0.02 * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand()))).reshape(shape);
function initParams(): Params {
  const p: Params = { wte: normal([VOCAB, C]), wpe: normal([T, C]), ln_f_g: np.ones([C]), ln_f_b: np.zeros([C]) };
  for (let l = 0; l < LAYERS; l++) {
    Object.assign(p, {
      [`h${l}_ln1_g`]: np.ones([C]), [`h${l}_ln1_b`]: np.zeros([C]),
      [`h${l}_attn_w`]: normal([C, 3 * C]), [`h${l}_attn_b`]: np.zeros([3 * C]), // cAttn: C -> 3C (q, k, v)
      [`h${l}_proj_w`]: normal([C, C]), [`h${l}_proj_b`]: np.zeros([C]),
      [`h${l}_ln2_g`]: np.ones([C]), [`h${l}_ln2_b`]: np.zeros([C]),
      [`h${l}_fc_w`]: normal([C, 4 * C]), [`h${l}_fc_b`]: np.zeros([4 * C]),
      [`h${l}_mlp_w`]: normal([4 * C, C]), [`h${l}_mlp_b`]: np.zeros([C]),
    });
  }
  return p;
}

// Every argument is consumed: a value used twice is passed once as `.ref`.
function layerNorm(x: np.Array, g: np.Array, b: np.Array) {
  const centered = x.ref.sub(x.mean(-1, { keepdims: true }));
  const variance = np.square(centered.ref).mean(-1, { keepdims: true });
  return centered.div(np.sqrt(variance.add(1e-5))).mul(g).add(b);
}
const linear = (x: np.Array, w: np.Array, b: np.Array) => np.matmul(x, w).add(b);

/** (B, T, C) -> (B, T, C): causal self-attention; maskBias (T, T) is 0 on and below the diagonal, -1e9 above. */
function attention(x: np.Array, w: np.Array, b: np.Array, pw: np.Array, pb: np.Array, maskBias: np.Array) {
  const qkv = linear(x, w, b).reshape([B, T, 3, HEADS, C / HEADS]).transpose([2, 0, 3, 1, 4]); // (3, B, nh, T, hs)
  const [q, k, v] = [qkv.ref.slice(0), qkv.ref.slice(1), qkv.slice(2)];
  const scores = np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(C / HEADS)).add(maskBias); // (B, nh, T, T)
  const y = np.matmul(nn.softmax(scores, -1), v).transpose([0, 2, 1, 3]).reshape([B, T, C]); // (B, nh, T, hs) -> (B, T, C)
  return linear(y, pw, pb);
}

function lossFn(p: Params, tokens: np.Array, targets: np.Array, maskBias: np.Array) {
  // Embedding as one-hot @ wte (a gather's gradient is a scatter-add; this is the dense equivalent).
  let x = np.matmul(nn.oneHot(tokens, VOCAB), p.wte.ref).add(p.wpe); // (B, T, C)
  for (let l = 0; l < LAYERS; l++) {
    const h = (k: string) => p[`h${l}_${k}`];
    x = x.ref.add(attention(layerNorm(x, h("ln1_g"), h("ln1_b")), h("attn_w"), h("attn_b"), h("proj_w"), h("proj_b"), maskBias.ref));
    const hidden = nn.gelu(linear(layerNorm(x.ref, h("ln2_g"), h("ln2_b")), h("fc_w"), h("fc_b")), { approximate: true });
    x = x.add(linear(hidden, h("mlp_w"), h("mlp_b")));
  }
  maskBias.dispose();
  const logits = np.matmul(layerNorm(x, p.ln_f_g, p.ln_f_b), p.wte.transpose()); // (B, T, V), head tied to wte
  return np.mean(np.sum(nn.logSoftmax(logits, -1).mul(nn.oneHot(targets, VOCAB)), -1)).mul(-1);
}

const [LR, WD, B1, B2, EPS] = [1e-3, 0.1, 0.9, 0.999, 1e-8];
// PyTorch's AdamW: p *= 1 - lr*wd (matrices only); p -= stepSize * m / (sqrt(v) / sqrt(bc2) + eps), with
// stepSize = lr / bc1. stepSize and sqrt(bc2) come in as arrays so that jit does not retrace.
const trainStep = jit((p: Params, m: Params, v: Params, tokens: np.Array, targets: np.Array, maskBias: np.Array,
  stepSize: np.Array, sqrtBc2: np.Array) => {
  const [loss, g] = valueAndGrad(lossFn)(tree.ref(p), tokens, targets, maskBias);
  const keys = Object.keys(g);
  let sq = np.zeros([]);
  for (const k of keys) sq = sq.add(np.square(g[k].ref).sum());
  const scale = np.minimum(np.reciprocal(np.sqrt(sq).add(1e-6)), 1); // min(1, maxNorm / (global norm + 1e-6))
  const m2: Params = {}, v2: Params = {}, p2: Params = {};
  for (const k of keys) {
    const gk = g[k].mul(scale.ref);
    m2[k] = m[k].mul(B1).add(gk.ref.mul(1 - B1));
    v2[k] = v[k].mul(B2).add(np.square(gk).mul(1 - B2));
    const upd = m2[k].ref.div(np.sqrt(v2[k].ref).div(sqrtBc2.ref).add(EPS)).mul(stepSize.ref);
    p2[k] = (p[k].ndim >= 2 ? p[k].mul(1 - LR * WD) : p[k]).sub(upd);
  }
  [scale, stepSize, sqrtBc2].forEach((a) => a.dispose());
  return [p2, m2, v2, loss] as [Params, Params, Params, np.Array];
});

function batch() { // random token ids, (B, T) inputs and their (B, T) next-token targets
  const ids = Int32Array.from({ length: B * (T + 1) }, () => Math.floor(rand() * VOCAB));
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    x.set(ids.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    y.set(ids.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  return [np.array(x, { dtype: np.int32 }).reshape([B, T]), np.array(y, { dtype: np.int32 }).reshape([B, T])];
}

const mask = new Float32Array(T * T);
for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
let p = initParams();
let m = tree.map((a: np.Array) => np.zerosLike(a), tree.ref(p)) as Params;
let v = tree.map((a: np.Array) => np.zerosLike(a), tree.ref(p)) as Params;
let start = 0, loss = NaN;
for (let i = 0; i < warmup + steps; i++) {
  const t0 = performance.now(), t = i + 1;
  if (i === warmup) start = t0;
  const [tokens, targets] = batch();
  let l: np.Array;
  [p, m, v, l] = trainStep(p, m, v, tokens, targets, np.array(mask).reshape([T, T]),
    np.array(LR / (1 - B1 ** t)), np.array(Math.sqrt(1 - B2 ** t)));
  loss = (await l.data())[0]; // waits for the step; keeps memory flat
  log(`step ${i}${i < warmup ? " (warm-up)" : ""} loss ${loss.toFixed(4)} ${(performance.now() - t0).toFixed(0)} ms`);
  if (!Number.isFinite(loss)) throw new Error(`loss is ${loss} at step ${i}`);
}
const seconds = (performance.now() - start) / 1000;
tree.dispose([p, m, v]);
const version = JSON.parse(readFileSync(new URL("../node_modules/@jax-js/jax/package.json", import.meta.url), "utf8")).version;
console.log(JSON.stringify({
  tokensPerSecond: (B * T * steps) / seconds, stepMs: (1000 * seconds) / steps, loss, version: `@jax-js/jax ${version}`,
  notes: `wasm backend, 1 thread; jit(loss+grad+clip+AdamW), awaited each step; attention written out; embedding as one-hot matmul; ${steps} timed steps after ${warmup}`,
}));
