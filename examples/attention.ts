// The guide's language-model chapter (docs/guide/10-language-model.md): causal self-attention on
// 4 positions, softmax(q kᵀ / sqrt(d) + mask) v computed step by step with tsgrad's ops, then by
// the library's own attention op, then with the channels split into 2 heads.
// Run: node --import tsx examples/attention.ts

import { attention, mergeHeads, randomNormal, selfAttention, softmax, splitHeads, tensor, type Tensor } from 'tsgrad';

const round = (t: Tensor, digits = 3) => JSON.stringify(t.toArray(), (_, v) => (typeof v === 'number' ? +v.toFixed(digits) : v));

// One sequence of T = 4 positions, each with a query, a key and a value of d = 2 numbers.
const q = tensor([[1, 0], [0, 1], [1, 1], [-1, 0]]);
const k = tensor([[1, 0], [0, 1], [1, 1], [0, -1]]);
const v = tensor([[1, 0], [0, 1], [1, 1], [2, 2]]);
const T = 4, d = 2;

const scores = q.matmul(k, { transB: true }).div(Math.sqrt(d)); // (T, T): query i against key j
// Causal mask: position i may look at positions j <= i only, so the scores above the diagonal
// get -1e9 and their softmax weights are 0.
const mask = tensor(Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j > i ? -1e9 : 0))));
const weights = softmax(scores.add(mask)); // each row sums to 1
console.log('weights:', round(weights));
console.log('row sums:', round(weights.sum(1)));
const out = weights.matmul(v); // (T, d): each position's weighted mean of the values it may see
console.log('output: ', round(out));
console.log('attention op:', round(attention(q, k, v, { causal: true })));

// Heads: a GPT packs q, k and v of C channels side by side (B, T, 3C) and splits each into H heads
// of C / H channels, which attend separately; their outputs are joined again.
const C = 8, H = 2;
const qkv = randomNormal([1, T, 3 * C], 0, 1, 'float32', 7); // (B, T, 3C)
const [qh, kh, vh] = [0, 1, 2].map((i) => splitHeads(qkv.slice([0, 0, i * C], [1, T, C]), H)); // each (B, H, T, C / H)
console.log('one head\'s q:', qh.shape.join('x'));
const byHand = mergeHeads(attention(qh, kh, vh, { causal: true })); // (B, H, T, C / H) -> (B, T, C)
const fused = selfAttention(qkv, H, { causal: true });
console.log('selfAttention:', fused.shape.join('x'), 'equals the heads by hand:', fused.sub(byHand).abs().max().item() < 1e-5);
