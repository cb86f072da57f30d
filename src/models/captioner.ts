// The captioner: an image of a handwritten number in, its words out. A CNN encoder (3x3 'same'
// convolutions with ReLU, each followed by 2x2 max pooling) turns a (B, H, W, 1) image into a
// sequence of S = W / 2^n visual feature vectors, one per column of the last feature map, projected
// to the decoder's width C, plus a learned position embedding and a layer norm. The decoder is the
// GPT's (token and position embeddings, its blocks (block.ts), ln_f, a head tied to the token
// embedding), each block with its cross-attention sub-layer (queries from the text, keys and values
// from the visual features, no mask), named as Hugging Face's GPT-2 names it with
// `add_cross_attention` (`ln_cross_attn`, `crossattention.q_attn`, `crossattention.c_attn`,
// `crossattention.c_proj`). Decoding is greedy or beam search, through a
// key/value cache for the self-attention; the cross-attention's keys and values are computed once
// per image.
// Not for: the data (src/data), the training loop or the CLI; nor for dropout on attention weights.

import { check } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import type { Doc } from '../core/validate.js';
import { fraction, need, opt, readFields } from '../nn/schema.js';
import { Rng, type RngState } from '../core/rng.js';
import { Dense, Dropout } from '../nn/core.js';
import { Conv2D } from '../nn/convolutional.js';
import { Embedding } from '../nn/embedding.js';
import { then, type Layer } from '../nn/layer.js';
import type { Model } from '../nn/model.js';
import { LayerNormalization } from '../nn/normalization.js';
import { MaxPooling2D } from '../nn/pooling.js';
import type { NamedWeight } from '../nn/stack.js';
import { logSoftmax } from '../ops/activations.js';
import { concat } from '../ops/arrays.js';
import { toCaptionInput, type RgbaImage } from '../data/ink.js';
import { CAPTION_WORDS, captionWords, joinCaptionWords } from '../data/numbers.js';
import { noGrad } from '../tensor/engine.js';
import { persistent, tidy } from '../tensor/memory.js';
import { randomNormal, tensor, type Tensor } from '../tensor/tensor.js';
import { DecoderBlock, GPT2_NAMES } from './block.js';

/**
 * The captioner's architecture: vocabulary and special ids, image size, encoder convolutions and
 * the decoder's width, heads, layers and block. {@link CAPTIONER_DEFAULTS} is the one the CLI
 * trains.
 */
export interface CaptionerConfig {
  /** Words in the vocabulary, BOS, EOS and PAD included. */
  vocabSize: number;
  /** Ids of the start, end and padding tokens (three different ids below vocabSize). */
  bos: number;
  /** Id of the end token, which the decoder writes to end a caption. */
  eos: number;
  /** Id of the padding token, which fills short captions in a batch and is never a target. */
  pad: number;
  /** Image height and width (one channel). */
  height: number;
  /** Image width in pixels; the visual sequence has one position per column of the last feature map. */
  width: number;
  /** Filters of each encoder convolution (3x3, 'same', ReLU, then 2x2 max pooling). */
  filters: number[];
  /** Width C of the visual features and of the decoder (a multiple of heads). */
  embd: number;
  /** Attention heads in each decoder block (self- and cross-attention); they split embd. */
  heads: number;
  /** Decoder blocks. */
  layers: number;
  /** Longest token sequence the decoder reads: BOS and the caption (EOS is predicted, never read). */
  block: number;
  /** Dropout on the embeddings, the visual features and each residual branch while training (default 0). */
  dropout?: number;
  /** The token of each id (vocabSize of them): with it, the model writes captions as text. */
  words?: string[];
}

/** The captioner's word vocabulary: PAD, BOS, EOS, then the 30 words of numbers (CAPTION_WORDS). */
export const CAPTION_VOCABULARY = {
  /** The word of each id: the three special tokens, then the words numbers are written with. */
  words: ['<pad>', '<bos>', '<eos>', ...CAPTION_WORDS],
  /** Id of the padding token. */
  pad: 0,
  /** Id of the start token the decoder reads first. */
  bos: 1,
  /** Id of the end token the decoder writes last. */
  eos: 2,
} as const;

/**
 * The captioner `tsgrad caption train` trains, for numbers of 1 to 4 digits in 28 x 112 images
 * (captions.ts) over CAPTION_VOCABULARY. The longest caption, "seven thousand seven hundred
 * seventy-seven", is 6 tokens, so BOS and 6 words fit a block of 8 with one to spare. Three
 * convolutions see 22 pixels around each of the 14 columns, most of a digit; two saw 10.
 */
export const CAPTIONER_DEFAULTS: Required<CaptionerConfig> = {
  vocabSize: CAPTION_VOCABULARY.words.length, pad: CAPTION_VOCABULARY.pad, bos: CAPTION_VOCABULARY.bos, eos: CAPTION_VOCABULARY.eos,
  words: [...CAPTION_VOCABULARY.words], height: 28, width: 112, filters: [16, 32, 64], embd: 128, heads: 4, layers: 2, block: 8, dropout: 0,
};

const MAX_CONVS = 8;

/**
 * Checks a captioner config (positive sizes, distinct special ids below vocabSize, embd divisible
 * by heads, images big enough for the poolings) and fills in its defaults; throws naming the first
 * bad field.
 */
export function captionerConfig(c: CaptionerConfig): Required<CaptionerConfig> {
  const whole = (name: string, v: number) => check(Number.isSafeInteger(v) && v > 0, `captioner ${name} must be a positive integer, got ${v}`);
  for (const k of ['vocabSize', 'height', 'width', 'embd', 'heads', 'layers', 'block'] as const) whole(k, c[k]);
  check(Array.isArray(c.filters) && c.filters.length >= 1 && c.filters.length <= MAX_CONVS,
    `captioner filters must list 1 to ${MAX_CONVS} convolutions, got ${JSON.stringify(c.filters)}`);
  c.filters.forEach((f, i) => whole(`filters[${i}]`, f));
  for (const k of ['bos', 'eos', 'pad'] as const) {
    check(Number.isSafeInteger(c[k]) && c[k] >= 0 && c[k] < c.vocabSize, `captioner ${k} must be a token id from 0 to ${c.vocabSize - 1}, got ${c[k]}`);
  }
  check(new Set([c.bos, c.eos, c.pad]).size === 3, `captioner bos, eos and pad must be three different ids, got ${c.bos}, ${c.eos}, ${c.pad}`);
  check(c.embd % c.heads === 0, `captioner embd ${c.embd} does not split into ${c.heads} heads`);
  const shrink = 2 ** c.filters.length;
  check(c.height >= shrink && c.width >= shrink, `captioner images of ${c.height} x ${c.width} are too small for ${c.filters.length} poolings (at least ${shrink} x ${shrink})`);
  const dropout = c.dropout ?? 0;
  check(dropout >= 0 && dropout < 1, `captioner dropout must be in [0, 1), got ${dropout}`);
  const words = c.words ?? [];
  check(Array.isArray(words) && (words.length === 0 || words.length === c.vocabSize) && words.every((w) => typeof w === 'string'),
    () => `captioner words must list a string for each of the ${c.vocabSize} ids, got ${Array.isArray(words) ? `${words.length}` : typeof words}`);
  return {
    vocabSize: c.vocabSize, bos: c.bos, eos: c.eos, pad: c.pad, height: c.height, width: c.width, filters: [...c.filters],
    embd: c.embd, heads: c.heads, layers: c.layers, block: c.block, dropout, words: [...words],
  };
}

/** A captioner config as a file holds it, checked field by field (sizes bounded: the weights file must then hold them). */
export function captionerConfigFromDoc(d: Doc): Required<CaptionerConfig> {
  const id = need((x) => x.int({ min: 0, max: 2 ** 24 - 1 }));
  const c = readFields(d, {
    vocabSize: need((x) => x.int({ min: 1, max: 2 ** 24 })), bos: id, eos: id, pad: id,
    height: need((x) => x.int({ min: 1, max: 2 ** 14 })), width: need((x) => x.int({ min: 1, max: 2 ** 14 })),
    filters: need((x) => x.array({ max: MAX_CONVS }).map((f) => f.int({ min: 1, max: 2 ** 14 }))),
    embd: need((x) => x.int({ min: 1, max: 2 ** 16 })), heads: need((x) => x.int({ min: 1, max: 4096 })),
    layers: need((x) => x.int({ min: 1, max: 1024 })), block: need((x) => x.int({ min: 1, max: 2 ** 16 })), dropout: opt(fraction),
    words: opt((x) => x.array({ max: 2 ** 24 }).map((w) => w.string())),
  }, 'a captioner config') as unknown as CaptionerConfig;
  if (c.words && c.words.length !== 0 && c.words.length !== c.vocabSize) d.at('words').fail(`lists ${c.words.length} words for vocabSize ${c.vocabSize}`);
  if (c.words?.length === 0) delete c.words;
  if (c.filters.length === 0) d.at('filters').fail('must list at least one convolution');
  if (c.embd % c.heads !== 0) d.at('heads').fail(`${c.heads} does not divide embd ${c.embd}`);
  for (const k of ['bos', 'eos', 'pad'] as const) if (c[k] >= c.vocabSize) d.at(k).fail(`${c[k]} is not below vocabSize ${c.vocabSize}`);
  return captionerConfig(c);
}



/**
 * What decoding carries from one token to the next, for `batch` sequences: the self-attention's
 * keys and values so far and the cross-attention's (fixed), per layer, each (batch, H, T, d).
 */
export interface CaptionerCache {
  batch: number;
  length: number;
  keys: (Tensor | null)[];
  values: (Tensor | null)[];
  crossKeys: Tensor[];
  crossValues: Tensor[];
}

/**
 * How {@link Captioner.generate} writes captions: greedy or beam search, how long, with which words.
 */
export interface DecodeOptions {
  /** Beams (default 1: greedy). */
  beam?: number;
  /** Most tokens to write, EOS excluded (default and at most: block). */
  maxTokens?: number;
  /** Words by id (default: the config's words): with them, each result has its text too. */
  vocabulary?: readonly string[];
}

/** One caption the captioner wrote for an image: its ids, its log-probability and its text. */
export interface Caption {
  /** The caption's token ids, without BOS and EOS. */
  tokens: number[];
  /** Its log-probability under the model (EOS included when it was written). */
  logProb: number;
  /** The words as a caption ("forty-two": see joinCaptionWords), when the model or the options have words. */
  text?: string;
}

/**
 * An image-to-text model: a CNN encoder turns a (B, H, W, 1) image into a sequence of visual
 * features, and a GPT-style decoder with cross-attention writes the caption, greedily or by beam
 * search. Weights are named as Hugging Face's GPT-2 with `add_cross_attention`.
 */
export class Captioner implements Model {
  readonly className = 'Captioner';
  /** The architecture, defaults filled in. */
  readonly config: Required<CaptionerConfig>;
  /** Every weight under its checkpoint name: the encoder's, then the decoder's in GPT-2's order. */
  readonly weights: NamedWeight[] = [];
  /** Visual positions: columns of the last feature map. */
  readonly sequence: number;
  /**
   * The encoder's 3x3 'same' convolutions with ReLU, each followed by the 2x2 max pooling; kernel
   * (3, 3, in, filters), bias (filters).
   */
  readonly convs: Conv2D[] = [];
  /** The 2x2 max pooling after each convolution. */
  readonly pool: MaxPooling2D;
  /**
   * Projects one column of the last feature map to a visual vector: kernel (H' * F, C), bias (C).
   */
  readonly encProj: Dense;
  /** The visual features' learned position embedding: embeddings (S, C). */
  readonly encWpe: Embedding;
  /** Layer norm of the visual features: gamma, beta (C). */
  readonly encLn: LayerNormalization;
  /** The token embedding (V, C), tied to the output head. */
  readonly wte: Embedding;
  /** The decoder's position embedding (block, C). */
  readonly wpe: Embedding;
  /** The decoder blocks: self-attention, cross-attention to the visual features, MLP. */
  readonly h: DecoderBlock[] = [];
  /** The decoder's final layer norm (GPT-2's `ln_f`): gamma, beta (C). */
  readonly lnF: LayerNormalization;
  /** One Dropout for every place the model drops (as the GPT's): one stream draws every mask in turn. */
  readonly drop: Dropout;

  /** The encoder as Keras initialises it (Glorot uniform); the decoder as GPT-2 (normal(0, 0.02), residual projections by 1/sqrt(2 * layers)). */
  constructor(config: CaptionerConfig, seed = 0) {
    const c = (this.config = captionerConfig(config));
    const C = c.embd;
    const n = c.filters.length;
    const [fh, fw] = [c.height >> n, c.width >> n]; // each 'same' convolution keeps the size, each pooling halves it (rounding down)
    this.sequence = fw;
    const norm = (name: string) => new LayerNormalization({ name, epsilon: 1e-5 });
    c.filters.forEach((filters, i) => this.convs.push(new Conv2D({ name: `encoder.conv.${i}`, filters, kernelSize: 3, padding: 'same', activation: 'relu' })));
    this.pool = new MaxPooling2D({ name: 'encoder.pool', poolSize: 2 });
    this.encProj = new Dense({ name: 'encoder.proj', units: C });
    this.encWpe = new Embedding({ name: 'encoder.wpe', inputDim: fw, outputDim: C, embeddingsInitializer: 'zeros' });
    this.encLn = norm('encoder.ln');
    this.wte = new Embedding({ name: 'decoder.wte', inputDim: c.vocabSize, outputDim: C, embeddingsInitializer: 'zeros' });
    this.wpe = new Embedding({ name: 'decoder.wpe', inputDim: c.block, outputDim: C, embeddingsInitializer: 'zeros' });
    for (let i = 0; i < c.layers; i++) this.h.push(new DecoderBlock(`decoder.h.${i}`, C, { cross: true }));
    this.lnF = norm('decoder.ln_f');
    this.drop = new Dropout({ name: 'drop', rate: c.dropout, seed: seed + 1 });

    const layers: [Layer, number[]][] = [];
    let channels = 1;
    this.convs.forEach((conv, i) => {
      layers.push([conv, [1, c.height >> i, c.width >> i, channels]]);
      channels = c.filters[i];
    });
    layers.push([this.encProj, [1, fh * channels]], [this.encWpe, [1, C]], [this.encLn, [1, C]], [this.wte, [1, C]], [this.wpe, [1, C]]);
    for (const [layer, channels] of [...this.h.flatMap((b) => b.layers), [this.lnF, C] as const]) layers.push([layer, [1, channels]]);
    const init = new Rng(seed);
    persistent(() => layers.forEach(([layer, shape]) => layer.build(shape, init)));
    this.drop.build([1, C], init); // seeded by its config: draws nothing from init
    for (const [layer] of layers) {
      for (const w of layer.weights) this.weights.push({ name: `${layer.name}.${GPT2_NAMES[w.name]}`, value: w.value, trainable: w.trainable });
    }
    // The embeddings and the decoder's matrices, drawn in order from the same stream (as the GPT's).
    const residual = new Set(this.h.flatMap((b) => b.residual));
    const residualStd = 0.02 / Math.sqrt(2 * c.layers);
    const drawn = new Set([this.encWpe.embeddings, this.wte.embeddings, this.wpe.embeddings, ...this.h.flatMap((b) => b.kernels)]);
    tidy(() => {
      for (const { value } of this.weights) {
        if (drawn.has(value)) value.raw.set(randomNormal(value.shape, init, 0, residual.has(value) ? residualStd : 0.02).raw);
      }
    });
  }

  getConfig(): Required<CaptionerConfig> {
    return { ...this.config, filters: [...this.config.filters], words: [...this.config.words] };
  }

  /** BOS, the caption's words' ids, EOS: what training reads ("forty-two" is "forty", "two"; see numbers.ts). */
  encodeCaption(caption: string): number[] {
    const ids = (this.wordIds ??= new Map(this.vocabulary().map((w, i) => [w, i])));
    const words = captionWords(caption);
    check(words.length + 1 <= this.config.block, () => `caption "${caption}" has ${words.length} words: the captioner reads at most ${this.config.block - 1} after BOS`);
    const known = words.map((w) => ids.get(w));
    const unknown = known.indexOf(undefined);
    check(unknown < 0, () => `caption "${caption}": "${words[unknown]}" is not in the captioner's vocabulary`);
    return [this.config.bos, ...(known as number[]), this.config.eos];
  }

  /** Token ids (no BOS or EOS) as text. */
  decodeCaption(tokens: readonly number[]): string {
    const words = this.vocabulary();
    return joinCaptionWords(tokens.map((t) => words[t]));
  }

  private wordIds?: Map<string, number>;

  private vocabulary(): string[] {
    check(this.config.words.length > 0, 'this captioner has no words in its config: it can only give token ids (Caption.tokens)');
    return this.config.words;
  }

  /** Dropout's random stream (part of a training run's state). */
  get rng(): Rng {
    return this.drop.rng;
  }

  getRngStates(): Record<string, RngState> {
    return { dropout: this.drop.rng.getState() };
  }

  /**
   * Restores Dropout's random stream from {@link getRngStates}, so a resumed run draws the same
   * masks.
   */
  setRngStates(states: Record<string, RngState>): void {
    this.drop.rng.setState(states.dropout);
  }

  /**
   * Starts the encoder from a trained digit model: its first convolutions' kernels and biases
   * (e.g. the reference CNN's Conv2D layers, in order), each of the shape this encoder's has.
   * Padding may differ ('valid' there, 'same' here): the kernels mean the same.
   */
  initEncoderFrom(convs: readonly Conv2D[]): void {
    check(convs.length <= this.convs.length, `the captioner's encoder has ${this.convs.length} convolutions, not ${convs.length}`);
    convs.forEach((from, i) => {
      const to = this.convs[i];
      check(from.kernel.shape.join() === to.kernel.shape.join() && !!from.bias === !!to.bias,
        `convolution ${i}: kernel ${from.kernel.shape.join('x')} does not fit the encoder's ${to.kernel.shape.join('x')}`);
      to.kernel.raw.set(from.kernel.raw);
      if (from.bias) to.bias!.raw.set(from.bias.raw);
    });
  }

  /** The model contract's forward: images (B, H, W, 1) -> visual features (B, S, C). */
  forward(images: Tensor, training = false): Tensor {
    return this.encode(images, training);
  }

  /** images (B, H, W, 1) in [0, 1] -> visual features (B, S, C). */
  encode(images: Tensor, training = false): Tensor {
    const { height, width } = this.config;
    const [B, H, W, ch] = images.shape;
    check(images.dtype === 'float32' && images.rank === 4 && H === height && W === width && ch === 1,
      () => `captioner images must be float32 [B, ${height}, ${width}, 1], got ${images.dtype} ${formatShape(images.shape)}`);
    let x = images;
    for (const conv of this.convs) x = then(conv.call(x), (y) => this.pool.call(y)); // (B, H, W, in) -> (B, H/2, W/2, filters); in inference the full-size map is freed at once
    const [, fh, fw, f] = x.shape;
    x = x.transpose([0, 2, 1, 3]).reshape([B, fw, fh * f]); // columns as the sequence: (B, H', W', F) -> (B, S, H' * F)
    const positions = tensor(Int32Array.from({ length: fw }, (_, i) => i), [fw], 'int32');
    const features = this.encProj.call(x).add(this.encWpe.call(positions)); // (B, S, C)
    return this.drop.call(this.encLn.call(features), training);
  }

  /** images (B, H, W, 1) and tokens (B, T) (BOS first) -> logits (B, T, V) of each next token. */
  logits(images: Tensor, tokens: Tensor, training = false): Tensor {
    this.checkTokens(tokens);
    return this.decode(tokens, this.encode(images, training), training);
  }

  /**
   * Mean cross-entropy (nats) of each next token of `tokens` (B, T): BOS, the caption, EOS, then PAD
   * to the batch's length. Positions whose target is PAD count for nothing.
   */
  loss(images: Tensor, tokens: Tensor, training = true): Tensor {
    this.checkTokens(tokens, 1);
    const [B, T] = tokens.shape;
    const ids = tokens.raw as Int32Array;
    const input = tensor(Int32Array.from({ length: B * (T - 1) }, (_, i) => ids[Math.floor(i / (T - 1)) * T + (i % (T - 1))]), [B, T - 1], 'int32');
    const V = this.config.vocabSize;
    const picked: number[] = []; // flat indices of log p(target) in the (B * (T - 1), V) log-probabilities
    for (let r = 0; r < B; r++) {
      for (let t = 0; t < T - 1; t++) {
        const target = ids[r * T + t + 1];
        if (target !== this.config.pad) picked.push((r * (T - 1) + t) * V + target);
      }
    }
    check(picked.length > 0, 'captioner loss: every target is PAD');
    const logp = logSoftmax(this.logits(images, input, training)).reshape([-1]);
    return logp.gather(tensor(Int32Array.from(picked))).mean().neg();
  }

  /** An empty cache for decoding the images whose visual features are given (B, S, C). */
  newCache(features: Tensor): CaptionerCache {
    const { heads } = this.config;
    const cross = this.h.map((b) => b.memoryOf(features, heads)); // (B, S, C) -> (B, H, S, d)
    return {
      batch: features.shape[0], length: 0, keys: this.h.map(() => null), values: this.h.map(() => null),
      crossKeys: cross.map(([k]) => k), crossValues: cross.map(([, v]) => v),
    };
  }

  /** Feeds tokens (B, T) after what the cache has seen; the logits (B, V) of the last position. No gradient. */
  step(tokens: Tensor, cache: CaptionerCache): Tensor {
    this.checkTokens(tokens);
    const [B, T] = tokens.shape;
    check(B === cache.batch && cache.length + T <= this.config.block,
      `captioner step: ${B} sequences after ${cache.length} tokens, ${T} more: the cache holds ${cache.batch} of at most ${this.config.block}`);
    return noGrad(() => {
      const logits = this.decode(tokens, null, false, cache); // (B, T, V)
      cache.length += T;
      const V = this.config.vocabSize;
      return logits.slice([0, T - 1, 0], [B, 1, V]).reshape([B, V]);
    });
  }

  /** The captions of images (B, H, W, 1) in [0, 1], white ink on black, as text (greedy, or beam search with opts.beam). */
  predict(images: Tensor, opts: Omit<DecodeOptions, 'vocabulary'> = {}): string[] {
    this.vocabulary();
    return this.generate(images, opts).map((c) => c.text!);
  }

  /**
   * The caption of one picture, as text: a decoded picture of any size and colour (RgbaImage:
   * width, height, RGBA bytes), prepared as toCaptionInput prepares it, or an image already the
   * model's size, white on black in [0, 1] (H x W values, or a tensor of shape (H, W), (H, W, 1) or (1, H, W, 1)).
   */
  caption(image: RgbaImage | Float32Array | Tensor, opts: Omit<DecodeOptions, 'vocabulary'> = {}): string {
    const { height: H, width: W } = this.config;
    const one = (values: Float32Array | Tensor) => this.predict(tensor(values instanceof Float32Array ? values : values.dataSync() as Float32Array, [1, H, W, 1]), opts)[0];
    if (image instanceof Float32Array) {
      check(image.length === H * W, () => `caption: an image of ${image.length} values is not ${H} x ${W}: give a picture (RgbaImage) to be prepared, or an image of the model's size`);
      return tidy(() => one(image));
    }
    if ('rgba' in image) return tidy(() => one(toCaptionInput(image, H, W)));
    const s = image.shape;
    check(image.dtype === 'float32' && [[H, W], [H, W, 1], [1, H, W, 1]].some((shape) => shape.join() === s.join()),
      () => `caption: one image of ${H} x ${W}, got ${image.dtype} ${formatShape(s)}: for a batch, use predict`);
    return tidy(() => one(image));
  }

  /**
   * Captions for images (B, H, W, 1): greedy, or beam search with `beam` beams (the most likely
   * sequence found, by total log-probability), with their tokens and log-probabilities. Ends at
   * EOS or after maxTokens tokens.
   */
  generate(images: Tensor, opts: DecodeOptions = {}): Caption[] {
    const beam = opts.beam ?? 1;
    const { block, bos, eos, pad, vocabSize: V } = this.config;
    const maxTokens = opts.maxTokens ?? block;
    check(Number.isSafeInteger(beam) && beam >= 1, `beam must be a positive integer, got ${beam}`);
    check(Number.isSafeInteger(maxTokens) && maxTokens >= 1 && maxTokens <= block, `maxTokens must be an integer from 1 to ${block}, got ${maxTokens}`);
    const B = images.shape[0];
    const K = beam;
    const found = noGrad(() => tidy(() => {
      // Each image's features repeated for its K beams: (B, S, C) -> (B * K, S, C).
      const features = this.encode(images);
      const rows = Int32Array.from({ length: B * K }, (_, i) => Math.floor(i / K));
      const cache = this.newCache(K === 1 ? features : features.gather(tensor(rows, [B * K], 'int32'), 0));
      // Beam r of image b is row b * K + r. At the start only beam 0 is live (the others would repeat it).
      let seqs: number[][] = Array.from({ length: B * K }, () => []);
      let scores = Float64Array.from({ length: B * K }, (_, i) => (i % K === 0 ? 0 : -Infinity));
      let done = new Uint8Array(B * K);
      let next = new Int32Array(B * K).fill(bos);
      for (let t = 0; t < maxTokens && !done.every((d) => d); t++) {
        const logp = logSoftmax(this.step(tensor(next, [B * K, 1], 'int32'), cache)).dataSync() as Float32Array; // (B * K, V)
        const nSeqs: number[][] = [], nScores = new Float64Array(B * K), nDone = new Uint8Array(B * K), parents = new Int32Array(B * K);
        for (let b = 0; b < B; b++) {
          // Candidates: a finished beam carries on unchanged; a live one extends by each token.
          const cands: { score: number; parent: number; token: number }[] = [];
          for (let r = b * K; r < (b + 1) * K; r++) {
            if (scores[r] === -Infinity) continue;
            if (done[r]) { cands.push({ score: scores[r], parent: r, token: -1 }); continue; }
            const top = topK(logp.subarray(r * V, (r + 1) * V), K);
            for (const tok of top) cands.push({ score: scores[r] + logp[r * V + tok], parent: r, token: tok });
          }
          cands.sort((x, y) => y.score - x.score || x.parent - y.parent || x.token - y.token); // stable: K = 1 is greedy, ties to the lower id
          for (let j = 0; j < K; j++) {
            const row = b * K + j;
            const cand = cands[j];
            if (!cand) { nSeqs.push([]); nScores[row] = -Infinity; nDone[row] = 1; parents[row] = b * K; continue; }
            parents[row] = cand.parent;
            nScores[row] = cand.score;
            nDone[row] = done[cand.parent] || cand.token === eos ? 1 : 0;
            nSeqs.push(cand.token === -1 || cand.token === eos ? seqs[cand.parent] : [...seqs[cand.parent], cand.token]);
            next[row] = nDone[row] ? pad : cand.token;
          }
        }
        if (K > 1) reorder(cache, parents);
        [seqs, scores, done] = [nSeqs, nScores, nDone];
      }
      return Array.from({ length: B }, (_, b) => ({ tokens: seqs[b * K], logProb: scores[b * K] }));
    }));
    const words = opts.vocabulary ?? (this.config.words.length ? this.config.words : null);
    return found.map((c) => (words ? { ...c, text: joinCaptionWords(c.tokens.map((t) => words[t])) } : c));
  }

  private checkTokens(tokens: Tensor, more = 0): void {
    check(tokens.dtype === 'int32' && tokens.rank === 2 && tokens.shape[1] >= 1 && tokens.shape[1] <= this.config.block + more,
      () => `captioner tokens must be int32 ids [B, T] with T from 1 to ${this.config.block + more}, got ${tokens.dtype} ${formatShape(tokens.shape)}`);
  }

  /** Tokens (B, T) at positions cache.length.. -> logits (B, T, V), attending to features (B, S, C) or the cache's. */
  private decode(tokens: Tensor, features: Tensor | null, training: boolean, cache: CaptionerCache | null = null): Tensor {
    const { heads, embd: C, vocabSize: V } = this.config;
    const [B, T] = tokens.shape;
    const start = cache?.length ?? 0;
    const drop = (x: Tensor) => this.drop.call(x, training);
    const positions = tensor(Int32Array.from({ length: T }, (_, i) => start + i), [T], 'int32');
    let x = drop(this.wte.call(tokens).add(this.wpe.call(positions))); // (B, T, C)
    this.h.forEach((blk, layer) => {
      // The self-attention's keys and values so far (B, H, start + T, d), kept in the cache; the image's (B, H, S, d).
      const keysValues = cache && ((k: Tensor, v: Tensor): [Tensor, Tensor] => {
        if (cache.keys[layer]) [k, v] = [concat([cache.keys[layer]!, k], 2), concat([cache.values[layer]!, v], 2)];
        [cache.keys[layer], cache.values[layer]] = [k, v];
        return [k, v];
      });
      const memory: [Tensor, Tensor] = cache ? [cache.crossKeys[layer], cache.crossValues[layer]] : blk.memoryOf(features!, heads);
      x = blk.call(x, { heads, drop, memory, ...(keysValues && { keysValues }) });
    });
    const out = this.lnF.call(x).reshape([B * T, C]);
    return out.matmul(this.wte.embeddings, { transB: true }).reshape([B, T, V]); // tied head: x @ wteᵀ
  }
}

/** The ids of the k largest values, largest first, ties to the lower id. */
function topK(values: Float32Array, k: number): number[] {
  const ids = Array.from(values.keys());
  if (k === 1) return [ids.reduce((best, i) => (values[i] > values[best] ? i : best), 0)];
  return ids.sort((a, b) => values[b] - values[a] || a - b).slice(0, k);
}

/** Row r of the cache's self-attention keys and values becomes the old row parents[r] (beams that survived). */
function reorder(cache: CaptionerCache, parents: Int32Array): void {
  const idx = tensor(parents, [parents.length], 'int32');
  for (let l = 0; l < cache.keys.length; l++) {
    cache.keys[l] = cache.keys[l]!.gather(idx, 0);
    cache.values[l] = cache.values[l]!.gather(idx, 0);
  }
}
