// Reference multi-head self-attention over packed q, k, v (see Backend.attention), forward and
// backward, one query row at a time. The specification the wasm kernel (kernels/attention.ts) is
// tested against.

import type { AttentionArgs } from '../backend.js';

/** Offsets of query/key/value `part` (0, 1, 2) of position t, head h, batch b in qkv; and of (b, t, h) in y. */
function layout({ time, heads, d }: AttentionArgs) {
  const c = heads * d;
  return {
    at: (b: number, t: number, part: number, h: number) => ((b * time + t) * 3 + part) * c + h * d,
    out: (b: number, t: number, h: number) => (b * time + t) * c + h * d,
    seen: (i: number, causal: boolean) => (causal ? i + 1 : time),
  };
}

export function attention(qkv: Float32Array, y: Float32Array, lse: Float32Array, a: AttentionArgs): void {
  const { batch, time, heads, d, scale, causal } = a;
  const { at, out, seen } = layout(a);
  const p = new Float64Array(time);
  for (let b = 0; b < batch; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < time; i++) {
    const n = seen(i, causal), q = at(b, i, 0, h);
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0, k = at(b, j, 1, h); c < d; c++) s += qkv[q + c] * qkv[k + c];
      p[j] = scale * s;
      max = Math.max(max, p[j]);
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += p[j] = Math.exp(p[j] - max);
    const o = out(b, i, h);
    for (let c = 0; c < d; c++) {
      let v = 0;
      for (let j = 0; j < n; j++) v += p[j] * qkv[at(b, j, 2, h) + c];
      y[o + c] = v / sum;
    }
    lse[(b * heads + h) * time + i] = max + Math.log(sum);
  }
}

/**
 * With p = softmax(s) recomputed from lse: dv_j = Σ_i p_ij dy_i, dp_ij = dy_i · v_j,
 * ds_ij = p_ij (dp_ij - dy_i · y_i), dq_i = scale Σ_j ds_ij k_j, dk_j = scale Σ_i ds_ij q_i.
 */
export function attentionGrad(qkv: Float32Array, y: Float32Array, lse: Float32Array, dy: Float32Array, dqkv: Float32Array, a: AttentionArgs): void {
  const { batch, time, heads, d, scale, causal } = a;
  const { at, out, seen } = layout(a);
  dqkv.fill(0);
  for (let b = 0; b < batch; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < time; i++) {
    const n = seen(i, causal), q = at(b, i, 0, h), o = out(b, i, h), l = lse[(b * heads + h) * time + i];
    let dot = 0;
    for (let c = 0; c < d; c++) dot += dy[o + c] * y[o + c];
    for (let j = 0; j < n; j++) {
      const k = at(b, j, 1, h), v = at(b, j, 2, h);
      let s = 0, dp = 0;
      for (let c = 0; c < d; c++) {
        s += qkv[q + c] * qkv[k + c];
        dp += dy[o + c] * qkv[v + c];
      }
      const p = Math.exp(scale * s - l);
      const ds = scale * p * (dp - dot);
      for (let c = 0; c < d; c++) {
        dqkv[q + c] += ds * qkv[k + c];
        dqkv[k + c] += ds * qkv[q + c];
        dqkv[v + c] += p * dy[o + c];
      }
    }
  }
}
