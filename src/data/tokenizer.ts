// Tokenizers for language models: text to integer ids and back, saved as JSON.
// - char: one id per distinct character (Unicode code point) of the text it was built from,
//   sorted by code point. Encoding a character outside that vocabulary is an error naming it and
//   its position, not a silent unknown id: a character model that maps unseen characters to one
//   id cannot write them back, and the fix (build from all the text) is the user's to make.
// - bpe: byte-level byte-pair encoding as in GPT-2: ids 0..255 are the bytes, each merge adds an
//   id for a pair of ids, so any string round-trips exactly through its UTF-8 bytes. Text is first
//   pre-split with GPT-2's regex (contractions, letter runs, digit runs, other symbols, spaces;
//   a word keeps its leading space), so merges never cross a word boundary.
//   A tokenizer read from GPT-2's or Hugging Face's files (tokenizer-files.ts) is the same class
//   with two extras those vocabularies need: the order of the 256 byte ids (GPT-2 numbers them in
//   its bytes_to_unicode order, not byte order) and special tokens such as `<|endoftext|>`, whose
//   ids follow the merges. encode() treats text as plain text (as GPT-2's encoder.py does): a
//   special token is only ever added by id (specialId), so user text cannot inject one.
// encode() gives ids as an Int32Array; encodeCompact() gives them in the smallest typed array that
// holds the vocabulary (TokenArray: a Uint8Array for a character model), as a training run keeps them.
// Not for: normalisation, or a pre-tokenizer other than GPT-2's regex.

import { check, TsgradError } from '../core/errors.js';
import { Doc, parseJson } from '../core/validate.js';

/**
 * Text to integer token ids and back, as a language model reads and writes it; saved as JSON
 * ({@link tokenizerFromJSON} reads it back).
 */
export interface Tokenizer {
  /** Which tokenizer: one id per character, or byte-level byte-pair encoding. */
  readonly kind: 'char' | 'bpe';
  /** Number of distinct ids: ids run from 0 to vocabSize - 1. */
  readonly vocabSize: number;
  /** The ids of `text`; a character tokenizer throws on a character outside its vocabulary. */
  encode(text: string): Int32Array;
  /** The text of `ids`; throws on an id outside the vocabulary. */
  decode(ids: ArrayLike<number>): string;
  /** The tokenizer as plain JSON, for a checkpoint's tokenizer.json. */
  toJSON(): TokenizerJSON;
}

/** `byteOrder` and `specialTokens` are written only when set, so tsgrad's own tokenizers save as before. */
export type TokenizerJSON =
  | {
      /** A character tokenizer. */
      kind: 'char';
      /** Its vocabulary: id i is chars[i]. */
      chars: string[];
    }
  | {
      /** A byte-pair tokenizer. */
      kind: 'bpe';
      /** Merge i joins the two ids into id 256 + i. */
      merges: [number, number][];
      /** The byte of each id 0..255, when not in byte order. */
      byteOrder?: number[];
      /** Special tokens' texts, ids after the merges. */
      specialTokens?: string[];
    };

/**
 * Token ids as a run holds them (tokenizer.encode gives Int32Array): encodeCompact gives the
 * smallest of these that fits the vocabulary, a quarter of the memory for a character model.
 */
export type TokenArray = Int32Array | Uint16Array | Uint8Array;

/**
 * Options of a {@link BpeTokenizer} read from another library's files: the byte ids' order and
 * special tokens.
 */
export interface BpeOptions {
  /** id i (0..255) is the byte byteOrder[i]; default byte order. */
  byteOrder?: readonly number[];
  /** Tokens with ids 256 + merges.length, 256 + merges.length + 1, ...; decoded as their text. */
  specialTokens?: readonly string[];
}

function checkIds(ids: ArrayLike<number>, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      throw new TsgradError(`token id ${id} at position ${i} is not in the vocabulary (0..${vocabSize - 1})`);
    }
  }
}

/**
 * One id per distinct character (Unicode code point) of the text it was built from, sorted by code
 * point. Encoding a character outside the vocabulary throws, naming it.
 */
export class CharTokenizer implements Tokenizer {
  /** Always `'char'`. */
  readonly kind = 'char';
  /** The vocabulary: id i is the character chars[i]. */
  readonly chars: readonly string[];
  // Code unit -> id + 1 (0: not in the vocabulary) for characters below U+10000 (lone surrogates
  // included, as codePointAt gives them), up to the largest in the vocabulary; a map above.
  private readonly bmp: Int32Array;
  private readonly astral = new Map<number, number>(); // code point >= U+10000 -> id

  constructor(chars: readonly string[]) {
    const points = chars.map((c) => {
      const cp = c.codePointAt(0);
      check(cp !== undefined && c.length === String.fromCodePoint(cp).length, `char tokenizer: ${JSON.stringify(c)} is not one character`);
      return cp;
    });
    this.bmp = new Int32Array(points.reduce((m, cp) => (cp <= 0xffff ? Math.max(m, cp + 1) : m), 0));
    points.forEach((cp, i) => {
      check(cp > 0xffff ? !this.astral.has(cp) : this.bmp[cp] === 0, `char tokenizer: ${JSON.stringify(chars[i])} appears twice in the vocabulary`);
      if (cp > 0xffff) this.astral.set(cp, i);
      else this.bmp[cp] = i + 1;
    });
    this.chars = [...chars];
  }

  /** The vocabulary of `text`: its distinct characters, sorted by code point. */
  static fromText(text: string): CharTokenizer {
    check(text.length > 0, 'char tokenizer: cannot build a vocabulary from empty text');
    // One pass over the code units: a table of those seen, and a set of the (rare) code points above U+FFFF.
    const seen = new Uint8Array(0x10000);
    const astral = new Set<number>();
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const cp = c >= 0xd800 && c <= 0xdbff ? text.codePointAt(i)! : c;
      if (cp > 0xffff) {
        astral.add(cp);
        i++; // the low surrogate
      } else {
        seen[c] = 1; // lone surrogates too, as Array.from(text) gives them
      }
    }
    const chars: string[] = [];
    for (let c = 0; c < seen.length; c++) if (seen[c]) chars.push(String.fromCharCode(c));
    for (const cp of [...astral].sort((a, b) => a - b)) chars.push(String.fromCodePoint(cp));
    return new CharTokenizer(chars);
  }

  /** Number of characters in the vocabulary. */
  get vocabSize(): number {
    return this.chars.length;
  }

  /** One id per character (code point) of `text`; throws on a character outside the vocabulary. */
  encode(text: string): Int32Array {
    const out = new Int32Array(text.length);
    const n = this.encodeInto(text, out);
    return n === text.length ? out : out.slice(0, n);
  }

  /** Writes the ids of `text` to `out` (at least text.length long); returns how many there are. */
  encodeInto(text: string, out: TokenArray): number {
    const { bmp } = this;
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      let id = (c < bmp.length ? bmp[c] : 0) - 1;
      if (c >= 0xd800 && c <= 0xdbff) { // a high surrogate: a code point above U+FFFF if a low one follows
        const cp = text.codePointAt(i)!;
        if (cp > 0xffff) {
          id = this.astral.get(cp) ?? -1;
          if (id >= 0) i++;
        }
      }
      if (id < 0) {
        const cp = text.codePointAt(i)!;
        throw new TsgradError(`char tokenizer: character ${JSON.stringify(String.fromCodePoint(cp))} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) at index ${i} is not in the vocabulary; build the tokenizer from all the text`);
      }
      out[n++] = id;
    }
    return n;
  }

  /** The characters of `ids`, joined; throws on an id outside the vocabulary. */
  decode(ids: ArrayLike<number>): string {
    checkIds(ids, this.vocabSize);
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.chars[ids[i]];
    return s;
  }

  /** `{ kind: 'char', chars }`, which {@link tokenizerFromJSON} reads back. */
  toJSON(): TokenizerJSON {
    return { kind: 'char', chars: [...this.chars] };
  }
}

/**
 * GPT-2's pre-tokenizer: every character falls in exactly one piece, so the pieces join back to the text.
 * JavaScript's `\s` is js-tiktoken's too; Python's `regex` (GPT-2's encoder.py) may class a few
 * rare characters differently (such as U+0085 and U+FEFF), so there the pieces could differ.
 */
const PIECES = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const MAX_VOCAB = 1 << 20;
/** The longest token a saved BPE tokenizer may make, and all its tokens' bytes together. */
const MAX_TOKEN_BYTES = 1 << 16;
const MAX_TOKENS_BYTES = 1 << 26;
const MAX_SPECIAL = 1 << 16;
const BYTE_ORDER = Array.from({ length: 256 }, (_, i) => i);
const pairKey = (a: number, b: number): number => a * MAX_VOCAB + b;
const utf8 = new TextEncoder();

/** Replaces every (a, b) in `word` by `id`, left to right, in place. */
function mergeInPlace(word: number[], a: number, b: number, id: number): void {
  let w = 0;
  for (let r = 0; r < word.length; r++) {
    if (r + 1 < word.length && word[r] === a && word[r + 1] === b) {
      word[w++] = id;
      r++;
    } else {
      word[w++] = word[r];
    }
  }
  word.length = w;
}

/**
 * Byte-level byte-pair encoding as GPT-2's: ids 0..255 are bytes, merge i makes id 256 + i, special
 * tokens follow the merges. Text is pre-split with GPT-2's regex, so any string round-trips
 * exactly. Trained by {@link trainBpe} or read from GPT-2's or Hugging Face's files.
 */
export class BpeTokenizer implements Tokenizer {
  /** Always `'bpe'`. */
  readonly kind = 'bpe';
  /** The merges in the order they are applied: merge i joins the pair of ids into id 256 + i. */
  readonly merges: readonly (readonly [number, number])[];
  /** The byte of each of the ids 0..255 (identity order unless read from GPT-2's files). */
  readonly byteOrder: readonly number[];
  /**
   * Special tokens' texts (such as `<|endoftext|>`), with ids 256 + merges.length + i; encode()
   * never makes them.
   */
  readonly specialTokens: readonly string[];
  private readonly byteIds = new Int32Array(256); // byte -> id
  private readonly ranks = new Map<number, number>(); // pairKey -> merge index
  private readonly bytes: Uint8Array[]; // id -> its bytes
  private readonly cache = new Map<string, number[]>(); // piece -> ids, for repeated words

  constructor(merges: readonly (readonly [number, number])[], { byteOrder = BYTE_ORDER, specialTokens = [] }: BpeOptions = {}) {
    check(merges.length + specialTokens.length <= MAX_VOCAB - 256, `bpe tokenizer: at most ${MAX_VOCAB - 256} merges and special tokens, got ${merges.length + specialTokens.length}`);
    check(byteOrder.length === 256 && new Set(byteOrder).size === 256 && byteOrder.every((b) => Number.isInteger(b) && b >= 0 && b < 256),
      'bpe tokenizer: byteOrder must hold each byte 0..255 once');
    check(new Set(specialTokens).size === specialTokens.length && specialTokens.every((t) => t.length > 0),
      'bpe tokenizer: special tokens must be distinct and not empty');
    byteOrder.forEach((b, id) => (this.byteIds[b] = id));
    this.bytes = byteOrder.map((b) => Uint8Array.of(b));
    merges.forEach(([a, b], i) => {
      const id = 256 + i;
      check(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < id && b < id,
        `bpe tokenizer: merge ${i} is [${a}, ${b}], but only ids 0..${id - 1} exist before it`);
      check(!this.ranks.has(pairKey(a, b)), `bpe tokenizer: merge ${i} [${a}, ${b}] repeats an earlier merge`);
      this.ranks.set(pairKey(a, b), i);
      const joined = new Uint8Array(this.bytes[a].length + this.bytes[b].length);
      joined.set(this.bytes[a]);
      joined.set(this.bytes[b], this.bytes[a].length);
      this.bytes.push(joined);
    });
    for (const t of specialTokens) this.bytes.push(utf8.encode(t));
    this.merges = merges.map(([a, b]) => [a, b] as const);
    this.byteOrder = [...byteOrder];
    this.specialTokens = [...specialTokens];
  }

  /**
   * Learns merges from `text` until the vocabulary has `vocabSize` ids (or no pair of ids is left
   * to merge). Words are counted once; each merge then rewrites only the words holding its pair and
   * updates the pair counts, and a heap with stale entries skipped finds the most frequent pair.
   * Ties go to the smallest pair (a, then b), so training is deterministic.
   */
  static train(text: string, vocabSize: number): BpeTokenizer {
    check(Number.isInteger(vocabSize) && vocabSize >= 256 && vocabSize <= MAX_VOCAB,
      `bpe vocabSize must be an integer from 256 to ${MAX_VOCAB}, got ${vocabSize}`);
    const freq = new Map<string, number>();
    for (const m of text.matchAll(PIECES)) freq.set(m[0], (freq.get(m[0]) ?? 0) + 1);
    const words: number[][] = [];
    const counts: number[] = [];
    for (const [piece, n] of freq) {
      words.push(Array.from(utf8.encode(piece)));
      counts.push(n);
    }

    const pairCount = new Map<number, number>();
    const where = new Map<number, number[]>(); // pairKey -> words that held it (maybe no longer)
    const heap = new PairHeap();
    const touched = new Set<number>();
    const addPairs = (w: number, sign: 1 | -1): void => {
      const word = words[w];
      for (let i = 0; i + 1 < word.length; i++) {
        const key = pairKey(word[i], word[i + 1]);
        pairCount.set(key, (pairCount.get(key) ?? 0) + sign * counts[w]);
        touched.add(key);
        if (sign > 0) {
          const list = where.get(key);
          if (list === undefined) where.set(key, [w]);
          else if (list[list.length - 1] !== w) list.push(w);
        }
      }
    };
    const flush = (): void => {
      for (const key of touched) {
        const c = pairCount.get(key)!;
        if (c > 0) heap.push(c, key);
        else pairCount.delete(key);
      }
      touched.clear();
    };
    for (let w = 0; w < words.length; w++) addPairs(w, 1);
    flush();

    const merges: [number, number][] = [];
    const lengths: number[] = Array(256).fill(1); // id -> its length in bytes
    let total = 256;
    const seen = new Int32Array(words.length).fill(-1); // last merge that rewrote each word
    while (256 + merges.length < vocabSize) {
      let best = -1;
      while (heap.size > 0) {
        const [c, key] = heap.pop();
        // A token longer than a saved tokenizer may hold is never made (so every trained one loads back).
        const len = lengths[Math.floor(key / MAX_VOCAB)] + lengths[key % MAX_VOCAB];
        if (pairCount.get(key) === c && len <= MAX_TOKEN_BYTES && total + len <= MAX_TOKENS_BYTES) {
          best = key;
          break;
        }
      }
      if (best < 0) break;
      const a = Math.floor(best / MAX_VOCAB);
      const b = best % MAX_VOCAB;
      const id = 256 + merges.length;
      for (const w of where.get(best)!) {
        if (seen[w] === id) continue;
        seen[w] = id;
        addPairs(w, -1);
        mergeInPlace(words[w], a, b, id);
        addPairs(w, 1);
      }
      where.delete(best);
      merges.push([a, b]);
      lengths.push(lengths[a] + lengths[b]);
      total += lengths[id];
      flush();
    }
    return new BpeTokenizer(merges);
  }

  /** 256 byte ids, plus one per merge and per special token. */
  get vocabSize(): number {
    return 256 + this.merges.length + this.specialTokens.length;
  }

  /** The id of the special token `token` (e.g. `<|endoftext|>`), to add to encode()'s ids. */
  specialId(token: string): number {
    const i = this.specialTokens.indexOf(token);
    if (i < 0) throw new TsgradError(`bpe tokenizer: no special token ${JSON.stringify(token)} (it has ${this.specialTokens.length ? this.specialTokens.map((t) => JSON.stringify(t)).join(', ') : 'none'})`);
    return 256 + this.merges.length + i;
  }

  /** The bytes of token `id`. */
  tokenBytes(id: number): Uint8Array {
    checkIds([id], this.vocabSize);
    return this.bytes[id].slice();
  }

  /** The ids of one pre-split piece: its bytes, merged lowest rank first as in training. */
  private encodePiece(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    const word = Array.from(utf8.encode(piece), (b) => this.byteIds[b]);
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(pairKey(word[i], word[i + 1]));
        if (rank !== undefined && rank < bestRank) bestRank = rank;
      }
      if (bestRank === Infinity) break;
      const [a, b] = this.merges[bestRank];
      mergeInPlace(word, a, b, 256 + bestRank);
    }
    if (this.cache.size >= 100_000) this.cache.clear(); // bound memory on endless new words
    // Pieces of 13 characters or more are not kept: V8 makes them slices of the text they came
    // from, so one of them would keep a whole corpus alive for as long as the tokenizer.
    if (piece.length < 13) this.cache.set(piece, word);
    return word;
  }

  /**
   * The ids of `text`: each pre-split piece's UTF-8 bytes, merged by rank as GPT-2 does. Special
   * tokens' text is encoded as plain text.
   */
  encode(text: string): Int32Array {
    // Pieces one at a time and ids into a growing typed array: no array of every piece or id of a long text.
    let out = new Int32Array(Math.max(16, text.length >> 2));
    let n = 0;
    for (const m of text.matchAll(PIECES)) {
      const ids = this.encodePiece(m[0]);
      if (n + ids.length > out.length) {
        const bigger = new Int32Array(Math.max(2 * out.length, n + ids.length));
        bigger.set(out);
        out = bigger;
      }
      for (const id of ids) out[n++] = id;
    }
    return out.slice(0, n);
  }

  /** The text of `ids`; a slice that cuts a character's bytes in two decodes that part as U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    checkIds(ids, this.vocabSize);
    let length = 0;
    for (let i = 0; i < ids.length; i++) length += this.bytes[ids[i]].length;
    const buf = new Uint8Array(length);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      buf.set(this.bytes[ids[i]], at);
      at += this.bytes[ids[i]].length;
    }
    return new TextDecoder().decode(buf);
  }

  /**
   * `{ kind: 'bpe', merges }` plus byteOrder and specialTokens when set, which
   * {@link tokenizerFromJSON} reads back.
   */
  toJSON(): TokenizerJSON {
    const json: TokenizerJSON = { kind: 'bpe', merges: this.merges.map(([a, b]) => [a, b]) };
    if (this.byteOrder.some((b, i) => b !== i)) json.byteOrder = [...this.byteOrder];
    if (this.specialTokens.length > 0) json.specialTokens = [...this.specialTokens];
    return json;
  }
}

/** A binary max-heap of (count, pair key), ties broken by the smaller key. */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.above(l, m)) m = l;
      if (r < last && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

/** A character tokenizer whose vocabulary is the distinct characters of `text`. */
export function charTokenizer(text: string): CharTokenizer {
  return CharTokenizer.fromText(text);
}

/** The characters of `s` as the char tokenizer and `[...s].length` count them (code points; a lone surrogate is one), without the array. */
export function countChars(s: string): number {
  let n = s.length;
  for (let i = 0; i + 1 < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** An array for `length` ids of a vocabulary of `vocabSize`: Uint8Array up to 256 ids, Uint16Array up to 65,536, else Int32Array. */
export function tokenArray(vocabSize: number, length: number): TokenArray {
  return vocabSize <= 256 ? new Uint8Array(length) : vocabSize <= 65536 ? new Uint16Array(length) : new Int32Array(length);
}

/** The ids of `text` as encode() gives them, in tokenArray's smallest array (a char tokenizer writes them there directly). */
export function encodeCompact(tokenizer: Tokenizer, text: string): TokenArray {
  if (tokenizer instanceof CharTokenizer) {
    const out = tokenArray(tokenizer.vocabSize, text.length);
    const n = tokenizer.encodeInto(text, out);
    return n === out.length ? out : out.slice(0, n);
  }
  const ids = tokenizer.encode(text);
  if (tokenizer.vocabSize > 65536) return ids;
  const out = tokenArray(tokenizer.vocabSize, ids.length);
  out.set(ids);
  return out;
}

/** A byte-level BPE tokenizer trained on `text` to `vocabSize` ids (256 bytes plus merges). */
export function trainBpe(text: string, vocabSize: number): BpeTokenizer {
  return BpeTokenizer.train(text, vocabSize);
}

/**
 * A tokenizer from its `toJSON()` form, that form as a JSON string, or a Doc of it (e.g. the
 * `tokenizer` field of a checkpoint's model.json, so that errors name that file and field).
 * Everything is checked before any table is built: sizes, that each merge refers to ids made
 * before it, repeats, and the total length of the tokens (a chain of merges of a token with itself
 * doubles its length each time, so 40 merges could ask for a terabyte).
 */
export function tokenizerFromJSON(json: TokenizerJSON | string | Doc, source = 'tokenizer JSON'): Tokenizer {
  const doc = json instanceof Doc ? json : typeof json === 'string' ? parseJson(json, source) : new Doc(json, source);
  doc.object();
  const kind = doc.at('kind').string(['char', 'bpe']);
  if (kind === 'char') {
    const items = doc.at('chars').array({ max: MAX_VOCAB });
    const seen = new Map<string, number>();
    const chars = items.map((item, i) => {
      const c = item.string();
      const cp = c.codePointAt(0);
      if (cp === undefined || c.length !== String.fromCodePoint(cp).length) item.fail(`must be one character, got ${JSON.stringify(c.slice(0, 10))}`);
      if (seen.has(c)) item.fail(`repeats ${JSON.stringify(c)}, already at index ${seen.get(c)}`);
      seen.set(c, i);
      return c;
    });
    return new CharTokenizer(chars);
  }
  const items = doc.at('merges').array({ max: MAX_VOCAB - 256 });
  const orderDoc = doc.at('byteOrder').optional();
  let byteOrder: number[] | undefined;
  if (orderDoc) {
    const order = orderDoc.array({ max: 256 });
    if (order.length !== 256) orderDoc.fail(`must list the 256 bytes, got ${order.length}`);
    const where = new Map<number, number>();
    byteOrder = order.map((d, i) => {
      const b = d.int({ min: 0, max: 255 });
      if (where.has(b)) d.fail(`repeats byte ${b}, already at index ${where.get(b)}`);
      where.set(b, i);
      return b;
    });
  }
  const specialDoc = doc.at('specialTokens').optional();
  const firstAt = new Map<string, number>();
  const specialTokens = specialDoc?.array({ max: MAX_SPECIAL }).map((d, i) => {
    const t = d.string();
    if (t.length === 0 || t.length > MAX_TOKEN_BYTES) d.fail(`must be 1 to ${MAX_TOKEN_BYTES} characters, got ${t.length}`);
    if (firstAt.has(t)) d.fail(`repeats ${JSON.stringify(t)}, already at index ${firstAt.get(t)}`);
    firstAt.set(t, i);
    return t;
  });
  if (specialTokens && items.length + specialTokens.length > MAX_VOCAB - 256) {
    specialDoc!.fail(`and merges make ${256 + items.length + specialTokens.length} ids, more than the ${MAX_VOCAB} allowed`);
  }
  const lengths: number[] = Array(256).fill(1);
  const seen = new Map<number, number>();
  let total = 256;
  const merges = items.map((item, i) => {
    const id = 256 + i;
    const pair = item.array({ max: 2 });
    if (pair.length !== 2) item.fail(`must be a pair [id, id], got ${pair.length} ids`);
    const [a, b] = pair.map((p) => p.int({ min: 0, max: id - 1 }));
    const key = pairKey(a, b);
    if (seen.has(key)) item.fail(`[${a}, ${b}] repeats merge ${seen.get(key)}`);
    seen.set(key, i);
    lengths.push(lengths[a] + lengths[b]);
    total += lengths[id];
    if (lengths[id] > MAX_TOKEN_BYTES || total > MAX_TOKENS_BYTES) {
      item.fail(`makes a token of ${lengths[id]} bytes (${total} in all); tsgrad allows ${MAX_TOKEN_BYTES} per token and ${MAX_TOKENS_BYTES} in all`);
    }
    return [a, b] as [number, number];
  });
  return new BpeTokenizer(merges, { byteOrder, specialTokens });
}
