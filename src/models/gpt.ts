// A GPT language model in the shape of nanoGPT / GPT-2: token and learned position embeddings,
// pre-norm transformer blocks (causal multi-head self-attention, GELU MLP, residuals), a final
// layer norm and an output head tied to the token embedding. Weights carry Hugging Face GPT-2's
// names and layouts (`transformer.h.0.attn.c_attn.weight` is (in, out), as GPT-2's Conv1D; nanoGPT's
// nn.Linear stores the same matrix transposed), so they move to PyTorch by name. Generation reads
// one token per step through a KV cache.
// Not for: training (src/train/lm.ts), sampling (src/train/lm-generate.ts), tokenizing
// (src/data/tokenizer.ts), or dropout on the attention weights (attention() is one fused op).

import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { split } from '../ops/arrays.js';
import { attention, gelu, layerNorm, mergeHeads, splitHeads } from '../ops/transformer.js';
import { noGrad } from '../tensor/engine.js';
import { persistent } from '../tensor/memory.js';
import { fill, randomNormal, tensor, variable, type Tensor } from '../tensor/tensor.js';
import type { LanguageModel, NamedWeight } from '../train/lm.js';

export interface GptConfig {
  vocabSize: number;
  /** Transformer blocks. */
  layers: number;
  heads: number;
  /** Embedding width C (a multiple of heads). */
  embd: number;
  /** Context length: the most positions the model sees at once. */
  block: number;
  /** Dropout on the embeddings and on each residual branch while training (default 0). */
  dropout?: number;
}

export function gptConfig(c: GptConfig): Required<GptConfig> {
  const whole = (name: string, v: number) => check(Number.isInteger(v) && v > 0, `GPT ${name} must be a positive integer, got ${v}`);
  whole('vocabSize', c.vocabSize);
  whole('layers', c.layers);
  whole('heads', c.heads);
  whole('embd', c.embd);
  whole('block', c.block);
  check(c.embd % c.heads === 0, `GPT embd ${c.embd} does not split into ${c.heads} heads`);
  const dropout = c.dropout ?? 0;
  check(dropout >= 0 && dropout < 1, `GPT dropout must be in [0, 1), got ${dropout}`);
  return { vocabSize: c.vocabSize, layers: c.layers, heads: c.heads, embd: c.embd, block: c.block, dropout };
}

interface Linear {
  weight: Tensor; // (in, out)
  bias: Tensor; // (out)
}

interface Norm {
  weight: Tensor; // (C) gamma
  bias: Tensor; // (C) beta
}

interface Block {
  ln1: Norm;
  cAttn: Linear; // (C, 3C): q, k and v side by side
  attnProj: Linear; // (C, C)
  ln2: Norm;
  cFc: Linear; // (C, 4C)
  mlpProj: Linear; // (4C, C)
}

/** Keys and values of the positions fed so far, per layer, and those positions' tokens (to re-prime). */
export interface GptCache {
  batch: number;
  length: number;
  keys: Float32Array[]; // per layer (B, H, block, d)
  values: Float32Array[];
  tokens: Int32Array; // (B, block)
}

export class Gpt implements LanguageModel<GptCache> {
  readonly className = 'GPT';
  readonly config: Required<GptConfig>;
  readonly weights: NamedWeight[] = [];
  readonly rng: Rng;
  readonly wte: Tensor; // (V, C), also the output head
  readonly wpe: Tensor; // (block, C)
  readonly h: Block[] = [];
  readonly lnF: Norm;

  /** GPT-2's initialisation: normal(0, 0.02), residual projections by 1/sqrt(2 * layers), zero biases. */
  constructor(config: GptConfig, seed = 0) {
    const c = (this.config = gptConfig(config));
    const init = new Rng(seed);
    this.rng = new Rng(seed + 1);
    const C = c.embd;
    const residualStd = 0.02 / Math.sqrt(2 * c.layers);
    const add = (name: string, make: () => Tensor): Tensor => {
      const value = persistent(() => variable(make()));
      this.weights.push({ name, value });
      return value;
    };
    const normal = (shape: number[], std = 0.02) => () => randomNormal(shape, init, 0, std);
    const linear = (name: string, nIn: number, nOut: number, std = 0.02): Linear => ({
      weight: add(`${name}.weight`, normal([nIn, nOut], std)),
      bias: add(`${name}.bias`, () => fill([nOut], 0)),
    });
    const norm = (name: string): Norm => ({ weight: add(`${name}.weight`, () => fill([C], 1)), bias: add(`${name}.bias`, () => fill([C], 0)) });
    this.wte = add('transformer.wte.weight', normal([c.vocabSize, C]));
    this.wpe = add('transformer.wpe.weight', normal([c.block, C]));
    for (let i = 0; i < c.layers; i++) {
      const p = `transformer.h.${i}`;
      this.h.push({
        ln1: norm(`${p}.ln_1`),
        cAttn: linear(`${p}.attn.c_attn`, C, 3 * C),
        attnProj: linear(`${p}.attn.c_proj`, C, C, residualStd),
        ln2: norm(`${p}.ln_2`),
        cFc: linear(`${p}.mlp.c_fc`, C, 4 * C),
        mlpProj: linear(`${p}.mlp.c_proj`, 4 * C, C, residualStd),
      });
    }
    this.lnF = norm('transformer.ln_f');
  }

  forward(idx: Tensor, training = false): Tensor {
    check(idx.dtype === 'int32' && idx.rank === 2, `GPT input must be int32 token ids (B, T), got ${idx}`);
    check(idx.shape[1] <= this.config.block, `GPT input has ${idx.shape[1]} positions, more than the block size ${this.config.block}`);
    return this.run(idx, 0, training, null);
  }

  newCache(batch: number): GptCache {
    const { layers, block, embd } = this.config;
    const size = batch * block * embd;
    return {
      batch, length: 0,
      keys: Array.from({ length: layers }, () => new Float32Array(size)),
      values: Array.from({ length: layers }, () => new Float32Array(size)),
      tokens: new Int32Array(batch * block),
    };
  }

  /**
   * One generation step: each new token costs one position's work. Position embeddings are
   * learned for `block` positions only, so when the cache is full the model re-reads the last
   * half block of tokens (plus the new ones) from scratch and carries on from there.
   */
  step(idx: Tensor, cache: GptCache): Tensor {
    const { block } = this.config;
    const [b, tn] = idx.shape;
    check(idx.dtype === 'int32' && idx.rank === 2 && b === cache.batch, `GPT step needs int32 ids (${cache.batch}, T), got ${idx}`);
    return noGrad(() => {
      let ids = idx.raw as Int32Array;
      let t = tn;
      if (cache.length + tn > block) {
        const keep = Math.min(block, Math.max(tn, block >> 1));
        const all = new Int32Array(b * keep);
        for (let r = 0; r < b; r++) {
          const joined = [...cache.tokens.subarray(r * block, r * block + cache.length), ...ids.subarray(r * tn, (r + 1) * tn)];
          all.set(joined.slice(joined.length - keep), r * keep);
        }
        cache.length = 0;
        [ids, t] = [all, keep];
      }
      for (let r = 0; r < b; r++) cache.tokens.set(ids.subarray(r * t, (r + 1) * t), r * block + cache.length);
      const logits = this.run(tensor(ids, [b, t], 'int32'), cache.length, false, cache);
      cache.length += t;
      // (B, t, V) -> the last position (B, V)
      const v = this.config.vocabSize;
      const last = new Float32Array(b * v);
      for (let r = 0; r < b; r++) last.set(logits.raw.subarray(((r + 1) * t - 1) * v, (r + 1) * t * v), r * v);
      return tensor(last, [b, v]);
    });
  }

  /** Positions start..start+T-1 of idx (B, T) -> logits (B, T, V); with a cache, attending to its keys too. */
  private run(idx: Tensor, start: number, training: boolean, cache: GptCache | null): Tensor {
    const { heads, embd: C, vocabSize: V, dropout } = this.config;
    const [B, T] = idx.shape;
    const drop = (x: Tensor) => (training && dropout > 0 ? dropoutMask(x, dropout, this.rng) : x);
    const positions = tensor(Int32Array.from({ length: T }, (_, i) => start + i), [T], 'int32');
    let x = drop(this.wte.gather(idx).add(this.wpe.gather(positions))); // (B, T, C)
    this.h.forEach((blk, layer) => {
      const a = layerNorm(x, blk.ln1.weight, blk.ln1.bias);
      const [q, k, v] = qkv(a, blk.cAttn, heads); // each (B, H, T, d)
      const [keys, values] = cache ? remember(cache, layer, k, v, start, heads) : [k, v]; // (B, H, start + T, d)
      const y = mergeHeads(attention(q, keys, values, { causal: true })); // (B, H, T, d) -> (B, T, C)
      x = x.add(drop(dense(y, blk.attnProj)));
      const m = gelu(dense(layerNorm(x, blk.ln2.weight, blk.ln2.bias), blk.cFc)); // (B, T, 4C)
      x = x.add(drop(dense(m, blk.mlpProj)));
    });
    const out = layerNorm(x, this.lnF.weight, this.lnF.bias).reshape([B * T, C]);
    return out.matmul(this.wte, { transB: true }).reshape([B, T, V]); // tied head: x @ wteᵀ
  }
}

/** x (..., in) @ weight (in, out) + bias. */
function dense(x: Tensor, l: Linear): Tensor {
  const [nIn, nOut] = l.weight.shape;
  return x.reshape([-1, nIn]).matmul(l.weight).add(l.bias).reshape([...x.shape.slice(0, -1), nOut]);
}

/**
 * The fused projection split into heads: (B, T, C) -> q, k, v each (B, H, T, d). The weight is
 * split into thirds (a C x C copy each, whose gradient is as cheap) rather than the (B, T, 3C)
 * activations, whose gradient would take three activation-sized pads.
 */
function qkv(x: Tensor, l: Linear, heads: number): [Tensor, Tensor, Tensor] {
  const weights = split(l.weight, 3, 1), biases = split(l.bias, 3, 0);
  return [0, 1, 2].map((i) => splitHeads(dense(x, { weight: weights[i], bias: biases[i] }), heads)) as [Tensor, Tensor, Tensor];
}

/** Writes k and v (B, H, T, d) of positions start.. into the cache; all positions' keys and values (B, H, start + T, d). */
function remember(cache: GptCache, layer: number, k: Tensor, v: Tensor, start: number, heads: number): [Tensor, Tensor] {
  const [B, , T, d] = k.shape;
  const block = cache.tokens.length / cache.batch;
  const upTo = start + T;
  return ([[k, cache.keys[layer]], [v, cache.values[layer]]] as const).map(([t, store]) => {
    const all = new Float32Array(B * heads * upTo * d);
    for (let row = 0; row < B * heads; row++) {
      store.set(t.raw.subarray(row * T * d, (row + 1) * T * d), (row * block + start) * d);
      all.set(store.subarray(row * block * d, (row * block + upTo) * d), row * upTo * d);
    }
    return tensor(all, [B, heads, upTo, d]);
  }) as [Tensor, Tensor];
}

/** Zeroes each element with probability `rate` and scales the rest by 1 / (1 - rate). */
export function dropoutMask(x: Tensor, rate: number, rng: Rng): Tensor {
  const mask = new Float32Array(x.size);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < rate ? 0 : keep;
  return x.mul(tensor(mask, x.shape));
}
