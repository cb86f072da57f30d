// Generation from a language model: sampling a token from logits (temperature, top-k, top-p) and
// continuing a prompt one model step per token (the model's cache keeps what it has read), seeded
// and streamed through a callback. Not for: training (lm.ts) or decoding ids to text (a tokenizer).

import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { tidy } from '../tensor/memory.js';
import { tensor } from '../tensor/tensor.js';
import type { LanguageModel } from './lm.js';

/**
 * How the next token is drawn from a language model's logits: temperature, top-k and top-p
 * (nucleus) filtering.
 */
export interface SampleOptions {
  /** Divides the logits; 0 picks the most likely token (greedy). Default 1. */
  temperature?: number;
  /** Samples among the k most likely tokens only (0 or undefined: all). */
  topK?: number;
  /** Samples from the smallest set of most likely tokens whose probabilities reach p (1: all). */
  topP?: number;
}

/** A token id drawn from logits (V) with temperature, top-k and top-p (nucleus) filtering. */
export function sampleToken(logits: ArrayLike<number>, opts: SampleOptions, rng: Rng): number {
  const temperature = opts.temperature ?? 1;
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
  if (temperature === 0) return best;
  // Candidates, most likely first (ties by id, so sampling is deterministic).
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = opts.topK && opts.topK > 0 ? Math.min(opts.topK, n) : n;
  const probs = order.slice(0, k).map((i) => Math.exp((logits[i] - logits[best]) / temperature));
  const total = probs.reduce((s, p) => s + p, 0);
  let kept = probs.length;
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    let cumulative = 0;
    for (kept = 0; kept < probs.length && cumulative < topP * total;) cumulative += probs[kept++];
  }
  const mass = probs.slice(0, kept).reduce((s, p) => s + p, 0);
  let u = rng.uniform() * mass;
  for (let i = 0; i < kept; i++) {
    u -= probs[i];
    if (u < 0) return order[i];
  }
  return order[kept - 1];
}

/** Options of {@link generate}: how many tokens, how they are drawn, and a callback for streaming. */
export interface GenerateOptions extends SampleOptions {
  /** How many tokens to generate. */
  tokens: number;
  /** Seed of the sampling's random stream, so the same seed writes the same text (default 0). */
  seed?: number;
  /** Called with each new token id as soon as it is drawn (for streaming). */
  onToken?: (id: number) => void;
}

/** Continues `prompt` (at least one token) by opts.tokens tokens, one model step each; returns the new ids. */
export function generate<C>(model: LanguageModel<C>, prompt: ArrayLike<number>, opts: GenerateOptions): Int32Array {
  const out: number[] = [];
  for (const id of generateTokens(model, prompt, opts)) {
    out.push(id);
    opts.onToken?.(id);
  }
  return Int32Array.from(out);
}

/**
 * The tokens of generate(), one at a time as they are drawn: a page can let the browser draw
 * between them (`for (const id of generateTokens(...)) { show(id); await nextFrame(); }`).
 * Options are checked at the first next().
 */
export function* generateTokens<C>(model: LanguageModel<C>, prompt: ArrayLike<number>, opts: Omit<GenerateOptions, 'onToken'>): Generator<number, void, undefined> {
  check(prompt.length > 0, 'generation needs a prompt of at least one token');
  check(Number.isInteger(opts.tokens) && opts.tokens >= 0, `tokens must be a non-negative integer, got ${opts.tokens}`);
  const t = opts.temperature ?? 1;
  check(Number.isFinite(t) && t >= 0, `temperature must be a number >= 0, got ${t}`);
  check(opts.topK === undefined || (Number.isInteger(opts.topK) && opts.topK >= 0), `top-k must be a non-negative integer, got ${opts.topK}`);
  check(opts.topP === undefined || (opts.topP > 0 && opts.topP <= 1), `top-p must be in (0, 1], got ${opts.topP}`);
  const rng = new Rng(opts.seed ?? 0);
  const cache = model.newCache(1);
  let next = Int32Array.from(prompt);
  for (let i = 0; i < opts.tokens; i++) {
    const ids = next;
    const id = tidy(() => sampleToken(model.step(tensor(ids, [1, ids.length], 'int32'), cache).raw as Float32Array, opts, rng));
    yield id;
    next = Int32Array.of(id);
  }
}
