// The transformer's ops: GELU, layer normalisation and scaled dot-product attention with an
// optional causal mask (that also fits a KV cache: fewer queries than keys; without the mask, as
// in cross-attention, any numbers of queries and keys). Each is one or two
// fused kernels (see src/tensor/ops.ts) rather than a chain of elementwise ops.

import { check } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import { getBackend } from '../tensor/engine.js';
import { attentionArgs, fusedSelfAttention, normalize, slice, softmaxLast, unary } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/** GELU, tanh approximation (GPT-2's; Keras `gelu(x, approximate=True)`). */
export function gelu(x: Tensor): Tensor {
  return unary('gelu', x);
}

/** (x - mean) / sqrt(var + epsilon) over the last axis, then scaled by gamma and shifted by beta. */
export function layerNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, epsilon = 1e-5): Tensor {
  const y = normalize(x, epsilon);
  const scaled = gamma ? y.mul(gamma) : y;
  return beta ? scaled.add(beta) : scaled;
}

/**
 * softmax(q kᵀ / sqrt(d)) v for q (..., Tq, d), k and v (..., Tk, d). With `causal`, query i
 * (the last Tq of Tk positions) sees keys j <= i + Tk - Tq only.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: { causal?: boolean } = {}): Tensor {
  const d = q.shape[q.rank - 1];
  const [tq, tk] = [q.shape[q.rank - 2], k.shape[k.rank - 2]];
  // Only a causal mask needs the queries to be the last of the keys' positions; cross-attention
  // (non-causal) takes any number of queries.
  check(k.shape[k.rank - 1] === d && v.shape[v.rank - 2] === tk && (tq <= tk || !opts.causal),
    `attention shapes do not fit: q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`);
  const scores = q.matmul(k, { transB: true });
  return softmaxLast(scores, { scale: 1 / Math.sqrt(d), causal: opts.causal ?? false }).matmul(v);
}

/**
 * Self-attention of packed qkv (B, T, 3C) (q, k and v side by side, as GPT-2's c_attn writes
 * them) in `heads` heads: (B, T, C), the heads merged. One fused kernel each way where the backend
 * has one for these sizes (no (T x T) scores kept for backward); else the same by products and a
 * softmax.
 */
export function selfAttention(qkv: Tensor, heads: number, opts: { causal?: boolean } = {}): Tensor {
  const causal = opts.causal ?? false;
  if (getBackend().fusedAttention(attentionArgs(qkv, heads, causal))) return fusedSelfAttention(qkv, heads, causal);
  const c = qkv.shape[2] / 3;
  const [q, k, v] = [0, 1, 2].map((i) => splitHeads(slice(qkv, 2, i * c, c), heads));
  return mergeHeads(attention(q, k, v, { causal }));
}

/** (B, T, H * d) -> (B, H, T, d). */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, t, c] = x.shape;
  check(c % heads === 0, `${c} channels do not split into ${heads} heads`);
  return x.reshape([b, t, heads, c / heads]).transpose([0, 2, 1, 3]);
}

/** (B, H, T, d) -> (B, T, H * d). */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, t, d] = x.shape;
  return x.transpose([0, 2, 1, 3]).reshape([b, t, h * d]);
}
