// A GPT language model in the shape of nanoGPT / GPT-2: token and learned position embeddings,
// pre-norm transformer blocks (causal multi-head self-attention, GELU MLP, residuals), a final
// layer norm and an output head tied to the token embedding. It is built from nn layers (Embedding,
// LayerNormalization, Dense, Dropout), each named by its GPT-2 module, and its weights carry Hugging
// Face GPT-2's names and layouts (`transformer.h.0.attn.c_attn.weight` is (in, out), as GPT-2's
// Conv1D and a Keras Dense kernel; nanoGPT's nn.Linear stores it transposed), so they move to
// PyTorch by name. Generation reads one token per step through a KV cache.
// Not for: training (src/train/lm.ts), sampling (src/train/lm-generate.ts), tokenizing
// (src/data/tokenizer.ts), or dropout on the attention weights (attention() is one fused op).

import { check } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import type { Doc } from '../core/validate.js';
import { fraction, need, opt, readFields } from '../nn/schema.js';
import { Rng, type RngState } from '../core/rng.js';
import { Dropout } from '../nn/core.js';
import { Embedding } from '../nn/embedding.js';
import type { Layer } from '../nn/layer.js';
import { LayerNormalization } from '../nn/normalization.js';
import { noGrad } from '../tensor/engine.js';
import { internal, persistent, tidy } from '../tensor/memory.js';
import { randomNormal, tensor, type Tensor } from '../tensor/tensor.js';
import type { NamedWeight } from '../nn/stack.js';
import type { LanguageModel } from '../train/lm.js';
import { DecoderBlock, GPT2_NAMES, modelPart } from './block.js';

/**
 * A GPT's architecture, as GPT-2 names its hyperparameters: vocabulary, blocks, heads, width,
 * context length and dropout.
 */
export interface GptConfig {
  /** Number of token ids the model reads and predicts. */
  vocabSize: number;
  /** Transformer blocks. */
  layers: number;
  /** Attention heads per block; they split embd. */
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

/** A GPT config as a file holds it, checked field by field (sizes bounded: the weights file must then hold them). */
export function gptConfigFromDoc(d: Doc): Required<GptConfig> {
  const c = readFields(d, {
    vocabSize: need((x) => x.int({ min: 1, max: 2 ** 24 })), layers: need((x) => x.int({ min: 1, max: 1024 })),
    heads: need((x) => x.int({ min: 1, max: 4096 })), embd: need((x) => x.int({ min: 1, max: 2 ** 16 })),
    block: need((x) => x.int({ min: 1, max: 2 ** 20 })), dropout: opt(fraction),
  }, 'a GPT config') as unknown as GptConfig;
  if (c.embd % c.heads !== 0) d.at('heads').fail(`${c.heads} does not divide embd ${c.embd}`);
  return gptConfig(c);
}

export { GPT2_NAMES } from './block.js';

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
  /** The architecture, defaults filled in. */
  readonly config: Required<GptConfig>;
  /** Every weight with its GPT-2 name, in GPT-2's order. */
  readonly weights: NamedWeight[] = [];
  /** The token embedding (V, C), tied to the output head (GPT-2's `wte`). */
  readonly wte: Embedding;
  /** The position embedding (block, C) (GPT-2's `wpe`). */
  readonly wpe: Embedding;
  /**
   * The transformer blocks: causal self-attention and MLP, each with a pre-layer-norm and a
   * residual (GPT-2's `h`).
   */
  readonly h: DecoderBlock[] = [];
  /** The final layer norm before the head, gamma and beta (C) (GPT-2's `ln_f`). */
  readonly lnF: LayerNormalization;
  /**
   * One Dropout for every place GPT-2 drops (`transformer.drop`, each block's `resid_dropout` and
   * `mlp.dropout`): the layers hold no weights, and one stream then draws every mask in turn.
   */
  readonly drop: Dropout;

  /** GPT-2's initialisation: normal(0, 0.02), residual projections by 1/sqrt(2 * layers), zero biases. */
  constructor(config: GptConfig, seed = 0) {
    const c = (this.config = gptConfig(config));
    const C = c.embd;
    const norm = (name: string) => new LayerNormalization({ name, epsilon: 1e-5 });
    this.wte = new Embedding({ name: 'transformer.wte', inputDim: c.vocabSize, outputDim: C, embeddingsInitializer: 'zeros' });
    this.wpe = new Embedding({ name: 'transformer.wpe', inputDim: c.block, outputDim: C, embeddingsInitializer: 'zeros' });
    for (let i = 0; i < c.layers; i++) this.h.push(new DecoderBlock(`transformer.h.${i}`, C));
    this.lnF = norm('transformer.ln_f');
    this.drop = new Dropout({ name: 'transformer.drop', rate: c.dropout, seed: seed + 1 });

    // Built in GPT-2's order (the order of `weights`) on inputs of C channels (4C for the MLP's projection).
    const layers: [Layer, number][] = [[this.wte, C], [this.wpe, C], ...this.h.flatMap((b) => b.layers), [this.lnF, C]];
    const init = new Rng(seed);
    persistent(() => layers.forEach(([layer, channels]) => layer.build([1, channels], init)));
    this.drop.build([1, C], init); // seeded by its config: draws nothing from init
    for (const [layer] of layers) {
      for (const w of layer.weights) this.weights.push({ name: `${layer.name}.${GPT2_NAMES[w.name]}`, value: w.value, trainable: w.trainable });
    }
    // The layers start at zero (ones for the norms' gamma); GPT-2 then draws every matrix from one
    // stream, in order, as Hugging Face's _init_weights does after building the modules.
    const residual = new Set(this.h.flatMap((b) => b.residual));
    const residualStd = 0.02 / Math.sqrt(2 * c.layers);
    tidy(() => {
      for (const { value } of this.weights) {
        if (value.rank === 2) value.raw.set(randomNormal(value.shape, init, 0, residual.has(value) ? residualStd : 0.02).raw);
      }
    });
  }

  getConfig(): Required<GptConfig> {
    return { ...this.config };
  }

  /** Dropout's random stream (part of a training run's state). */
  get rng(): Rng {
    return this.drop.rng;
  }

  getRngStates(): Record<string, RngState> {
    return { dropout: this.drop.rng.getState() };
  }

  /** Restores Dropout's random stream from {@link getRngStates}, so a resumed run draws the same masks. */
  setRngStates(states: Record<string, RngState>): void {
    this.drop.rng.setState(states.dropout);
  }

  forward(idx: Tensor, training = false): Tensor {
    check(idx.dtype === 'int32' && idx.rank === 2, () => `GPT input must be int32 token ids (B, T), got ${idx.dtype} ${formatShape(idx.shape)}`);
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
    check(idx.dtype === 'int32' && idx.rank === 2 && b === cache.batch, () => `GPT step needs int32 ids (${cache.batch}, T), got ${idx.dtype} ${formatShape(idx.shape)}`);
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
    return internal(() => {
      const { heads, embd: C, vocabSize: V } = this.config;
      const [B, T] = idx.shape;
      const drop = (x: Tensor) => this.drop.call(x, training);
      const positions = tensor(Int32Array.from({ length: T }, (_, i) => start + i), [T], 'int32');
      let x = modelPart('transformer.wte', () => drop(this.wte.call(idx).add(this.wpe.call(positions)))); // (B, T, C)
      this.h.forEach((blk, layer) => {
        x = blk.call(x, { heads, drop, ...(cache && { keysValues: (k: Tensor, v: Tensor) => remember(cache, layer, k, v, start, heads) }) });
      });
      const out = modelPart('transformer.ln_f', () => this.lnF.call(x).reshape([B * T, C]));
      return modelPart('lm_head', () => out.matmul(this.wte.embeddings, { transB: true }).reshape([B, T, V])); // tied head: x @ wteᵀ
    });
  }
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
