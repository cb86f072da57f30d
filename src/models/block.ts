// The GPT-2 decoder block, shared by the GPT (gpt.ts) and the captioner (captioner.ts): pre-norm
// causal self-attention, then, in the captioner's, a cross-attention sub-layer (queries from the
// text, keys and values from another sequence, no mask; Hugging Face's GPT-2 with
// `add_cross_attention`), then a GELU MLP, each added to the residual stream. Weights are named
// as GPT-2 names them under the block's prefix (`h.0.attn.c_attn.weight`, `h.0.ln_cross_attn.bias`,
// `h.0.crossattention.q_attn.weight`...).
// Not for: embeddings, the head, caches (the models keep those), or initialisation (each model's).

import { Dense } from '../nn/core.js';
import type { Layer } from '../nn/layer.js';
import { LayerNormalization } from '../nn/normalization.js';
import { attention, gelu, mergeHeads, selfAttention, splitHeads } from '../ops/transformer.js';
import { inScope } from '../tensor/engine.js';
import { internal } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * One named part of a model's computation (`h.0.attn`): a profiling scope (tensor/engine.ts) whose
 * values only backward can read once it returns, so that those its backward does not need are
 * freed at once and the rest as soon as backward has used them (tensor/memory.ts internal).
 */
export function modelPart<T>(name: string, fn: () => T): T {
  return inScope(name, () => internal(fn));
}

/** GPT-2's name for each nn weight: its Conv1D, Embedding and LayerNorm call the matrix or scale `weight` and the offset `bias`. */
export const GPT2_NAMES: Record<string, string> = { kernel: 'weight', bias: 'bias', embeddings: 'weight', gamma: 'weight', beta: 'bias' };

interface CrossAttention {
  ln: LayerNormalization; // gamma, beta (C)
  q: Dense; // kernel (C, C): queries from the text; bias (C)
  kv: Dense; // kernel (C, 2C): keys and values from the other sequence; bias (2C)
  proj: Dense; // kernel (C, C), bias (C)
}

export interface BlockCall {
  heads: number;
  /** Dropout on each residual branch (identity when not training). */
  drop: (x: Tensor) => Tensor;
  /** The self-attention's keys and values for this call's k, v (B, H, T, d): a cache adds the earlier positions' (default: k, v). */
  keysValues?: (k: Tensor, v: Tensor) => [Tensor, Tensor];
  /** The cross-attention's keys and values (B, H, S, d), from memoryOf: required by a block with cross-attention. */
  memory?: [Tensor, Tensor];
}

export class DecoderBlock {
  readonly ln1: LayerNormalization; // gamma, beta (C)
  readonly cAttn: Dense; // kernel (C, 3C): q, k and v side by side; bias (3C)
  readonly attnProj: Dense; // kernel (C, C), bias (C)
  readonly cross: CrossAttention | null;
  readonly ln2: LayerNormalization; // gamma, beta (C)
  readonly cFc: Dense; // kernel (C, 4C), bias (4C)
  readonly mlpProj: Dense; // kernel (4C, C), bias (C)

  /** Matrices start at zero: the models draw them (GPT-2's normal(0, 0.02)). */
  constructor(readonly prefix: string, readonly embd: number, o: { cross?: boolean } = {}) {
    const C = embd;
    const norm = (name: string) => new LayerNormalization({ name: `${prefix}.${name}`, epsilon: 1e-5 });
    const dense = (name: string, units: number) => new Dense({ name: `${prefix}.${name}`, units, kernelInitializer: 'zeros' });
    this.ln1 = norm('ln_1');
    this.cAttn = dense('attn.c_attn', 3 * C);
    this.attnProj = dense('attn.c_proj', C);
    this.cross = o.cross
      ? { ln: norm('ln_cross_attn'), q: dense('crossattention.q_attn', C), kv: dense('crossattention.c_attn', 2 * C), proj: dense('crossattention.c_proj', C) }
      : null;
    this.ln2 = norm('ln_2');
    this.cFc = dense('mlp.c_fc', 4 * C);
    this.mlpProj = dense('mlp.c_proj', C);
  }

  /** The layers in GPT-2's weight order, each with the channels it is built on. */
  get layers(): [Layer, number][] {
    const C = this.embd, x = this.cross;
    return [[this.ln1, C], [this.cAttn, C], [this.attnProj, C], ...(x ? [[x.ln, C], [x.q, C], [x.kv, C], [x.proj, C]] as [Layer, number][] : []),
      [this.ln2, C], [this.cFc, C], [this.mlpProj, 4 * C]];
  }

  /** The matrices GPT-2 draws at random, in order. */
  get kernels(): Tensor[] {
    const x = this.cross;
    return [this.cAttn, this.attnProj, ...(x ? [x.q, x.kv, x.proj] : []), this.cFc, this.mlpProj].map((d) => d.kernel);
  }

  /** The projections back into the residual stream, which GPT-2 draws smaller (by 1 / sqrt(2 * layers)). */
  get residual(): Tensor[] {
    return [this.attnProj, ...(this.cross ? [this.cross.proj] : []), this.mlpProj].map((d) => d.kernel);
  }

  /** The cross-attention's keys and values of a sequence (B, S, C): each (B, H, S, d). */
  memoryOf(features: Tensor, heads: number): [Tensor, Tensor] {
    const C = this.embd;
    return [0, 1].map((i) => splitHeads(this.cross!.kv.callUnits(features, i * C, C), heads)) as [Tensor, Tensor];
  }

  /** The residual stream x (B, T, C) through the block. Each part runs in its own profiling scope (GPT-2's module names). */
  call(x: Tensor, o: BlockCall): Tensor {
    const C = this.embd, { heads, drop } = o;
    const part = <T>(name: string, fn: () => T) => modelPart(`${this.prefix}.${name}`, fn);
    // Its parts are internal; the block itself is not, since keysValues may keep k and v (the captioner's cache).
    return inScope(this.prefix, () => {
      const a = part('ln_1', () => this.ln1.call(x));
      let y: Tensor; // (B, T, C)
      if (o.keysValues) {
        // After a cache's earlier positions: the queries of the new positions against all the keys.
        const [q, k, v] = part('attn.c_attn', () => [0, 1, 2].map((i) => splitHeads(this.cAttn.callUnits(a, i * C, C), heads))); // c_attn's thirds, each (B, T, C) -> (B, H, T, d)
        const [keys, values] = o.keysValues(k, v); // (B, H, start + T, d)
        y = part('attn', () => mergeHeads(attention(q, keys, values, { causal: true }))); // (B, H, T, d) -> (B, T, C)
      } else {
        // The whole sequence (training, scoring): one product makes q, k and v, one fused kernel attends.
        const qkv = part('attn.c_attn', () => this.cAttn.call(a)); // (B, T, 3C)
        y = part('attn', () => selfAttention(qkv, heads, { causal: true }));
      }
      x = x.add(drop(part('attn.c_proj', () => this.attnProj.call(y))));
      if (this.cross) {
        const cross = this.cross;
        const cq = part('crossattention.q_attn', () => splitHeads(cross.q.call(cross.ln.call(x)), heads)); // (B, H, T, d)
        const [ck, cv] = o.memory!; // (B, H, S, d)
        const cy = part('crossattention', () => mergeHeads(attention(cq, ck, cv)));
        x = x.add(drop(part('crossattention.c_proj', () => cross.proj.call(cy))));
      }
      const h = part('mlp.c_fc', () => this.cFc.call(part('ln_2', () => this.ln2.call(x))));
      return x.add(drop(part('mlp.c_proj', () => this.mlpProj.call(part('mlp.gelu', () => gelu(h)))))); // (B, T, 4C) -> (B, T, C)
    });
  }
}
