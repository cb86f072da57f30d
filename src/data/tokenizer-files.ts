// A byte-level BPE tokenizer in the files other tools use: GPT-2's `vocab.json` + `merges.txt` pair
// and Hugging Face's `tokenizer.json` (a BPE model with the ByteLevel pre-tokenizer), read and
// written. Both spell a token's bytes as printable characters through GPT-2's bytes_to_unicode table
// and number the 256 bytes in that table's order; merge r makes id 256 + r, special tokens follow.
// Given GPT-2's own files, the tokenizer read here gives GPT-2's ids (test/tokenizer-files.test.ts
// checks it against js-tiktoken's r50k_base).
// Strings or bytes in, strings out, no file I/O: this stays usable in the browser.
// Not for: vocabularies tsgrad's BpeTokenizer cannot express, which are refused with one line
// naming the file: bytes not at ids 0..255 (RoBERTa puts <s> first), a merge whose token is not id
// 256 + its line, a normalizer, a pre-tokenizer other than GPT-2's regex, BPE dropout, or
// word-suffix models.

import { TsgradError } from '../core/errors.js';
import { Doc, parseJson } from '../core/validate.js';
import { BpeTokenizer } from './tokenizer.js';

/** GPT-2's bytes_to_unicode: the printable bytes as themselves, the rest shifted to U+0100 and up. */
function gpt2Bytes(): { order: number[]; chars: string[] } {
  const order: number[] = [];
  for (let b = 0; b < 256; b++) if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) order.push(b);
  const codes = [...order];
  for (let b = 0, n = 0; b < 256; b++) {
    if (order.includes(b)) continue;
    order.push(b);
    codes.push(256 + n++);
  }
  const chars: string[] = [];
  order.forEach((b, i) => (chars[b] = String.fromCharCode(codes[i])));
  return { order, chars };
}

const GPT2 = gpt2Bytes();
/** GPT-2's ids 0..255: id i is the byte GPT2_BYTE_ORDER[i] (`!` first, then the other printable bytes). */
export const GPT2_BYTE_ORDER: readonly number[] = GPT2.order;

/** GPT-2's bytes_to_unicode table: byte -> the character that spells it in vocab.json and merges.txt. */
export function bytesToUnicode(): string[] {
  return [...GPT2.chars];
}

/** `files` as text; invalid UTF-8 is an error naming the file. */
function text(data: string | Uint8Array, file: string): string {
  if (typeof data === 'string') return data;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new TsgradError(`${file}: not valid UTF-8`);
  }
}

interface Merge {
  a: string;
  b: string;
  where: Doc; // for errors: the line or element that holds it
}

/**
 * The tokenizer of a vocabulary (token string -> id), its merges in rank order and any added
 * tokens; everything is checked before the tokenizer is built.
 */
function build(vocabDoc: Doc, merges: Merge[], added: { content: string; id: number; where: Doc }[]): BpeTokenizer {
  const vocabObj = vocabDoc.object();
  const keys = Object.keys(vocabObj);
  if (keys.length + added.length > 1 << 20) vocabDoc.fail(`has ${keys.length} tokens, more than the ${1 << 20} allowed`);
  const vocab = new Map<string, number>();
  const tokens: string[] = []; // id -> token string
  for (const key of keys) {
    const id = vocabDoc.at(key).int({ min: 0, max: (1 << 20) - 1 });
    if (tokens[id] !== undefined) vocabDoc.at(key).fail(`repeats id ${id}, already given to ${JSON.stringify(tokens[id])}`);
    vocab.set(key, id);
    tokens[id] = key;
  }
  for (const { content, id, where } of added) {
    const had = vocab.get(content);
    if (had !== undefined && had !== id) where.fail(`gives ${JSON.stringify(content)} id ${id}, but the model's vocab gives it ${had}`);
    if (had === undefined) {
      if (tokens[id] !== undefined) where.fail(`gives id ${id} to ${JSON.stringify(content)}, but the vocab gives it to ${JSON.stringify(tokens[id])}`);
      vocab.set(content, id);
      tokens[id] = content;
    }
  }
  const size = vocab.size;
  for (let id = 0; id < size; id++) if (tokens[id] === undefined) vocabDoc.fail(`has no token with id ${id} (ids must run from 0 to ${size - 1})`);

  const byteOrder: number[] = [];
  GPT2.chars.forEach((ch, b) => {
    const id = vocab.get(ch);
    if (id === undefined) vocabDoc.fail(`has no token for byte ${b} (${JSON.stringify(ch)}); a byte-level vocabulary has all 256`);
    if (id >= 256) vocabDoc.fail(`gives byte ${b} (${JSON.stringify(ch)}) id ${id}; tsgrad needs the 256 bytes at ids 0..255`);
    byteOrder[id] = b;
  });
  const vocabFile = vocabDoc.source === merges[0]?.where.source ? 'the vocab' : vocabDoc.source;
  const pairs = merges.map(({ a, b, where }, r) => {
    const id = 256 + r;
    const ids = [a, b].map((t) => {
      const tid = vocab.get(t);
      if (tid === undefined) return where.fail(`names ${JSON.stringify(t)}, which is not in ${vocabFile}`);
      if (tid >= id) where.fail(`uses ${JSON.stringify(t)} (id ${tid}) before a merge makes it`);
      return tid;
    });
    const made = vocab.get(a + b);
    if (made === undefined) return where.fail(`makes ${JSON.stringify(a + b)}, which is not in ${vocabFile}`);
    if (made !== id) where.fail(`makes ${JSON.stringify(a + b)}, which ${vocabFile} numbers ${made}; tsgrad needs merge ${r} to make id ${id}`);
    return ids as [number, number];
  });
  return new BpeTokenizer(pairs, { byteOrder, specialTokens: tokens.slice(256 + merges.length) });
}

/** Each id's spelling in vocab.json; two ids with the same bytes cannot both be written. */
function tokenStrings(tokenizer: BpeTokenizer, file: string): string[] {
  if (!(tokenizer instanceof BpeTokenizer)) throw new TsgradError(`${file}: only a byte-level BPE tokenizer can be written, not a ${(tokenizer as { kind?: string }).kind} tokenizer`);
  const nBytes = 256 + tokenizer.merges.length;
  const seen = new Map<string, number>();
  return Array.from({ length: tokenizer.vocabSize }, (_, id) => {
    const s = id < nBytes ? Array.from(tokenizer.tokenBytes(id), (b) => GPT2.chars[b]).join('') : tokenizer.specialTokens[id - nBytes];
    if (seen.has(s)) throw new TsgradError(`${file}: ids ${seen.get(s)} and ${id} are both ${JSON.stringify(s)}; the file cannot hold both`);
    seen.set(s, id);
    return s;
  });
}

const vocabObject = (strings: string[]): Record<string, number> => Object.fromEntries(strings.map((s, id) => [s, id]));
const mergeLines = (tokenizer: BpeTokenizer, strings: string[]): string[] => tokenizer.merges.map(([a, b]) => `${strings[a]} ${strings[b]}`);

/**
 * A tokenizer from GPT-2's `vocab.json` (token -> id) and `merges.txt` (`#version: 0.2`, then one
 * merge a line, `a b`, lowest rank first). Tokens in vocab.json that no merge makes (GPT-2's
 * `<|endoftext|>`) become special tokens.
 */
export function readGpt2Tokenizer(
  vocabJson: string | Uint8Array,
  mergesTxt: string | Uint8Array,
  { vocabFile = 'vocab.json', mergesFile = 'merges.txt' } = {},
): BpeTokenizer {
  const vocab = parseJson(text(vocabJson, vocabFile), vocabFile);
  const merges: Merge[] = [];
  text(mergesTxt, mergesFile).split(/\r?\n/).forEach((line, i) => {
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const where = new Doc(line, mergesFile, `line ${i + 1}`);
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') where.fail(`must be two tokens separated by one space, got ${JSON.stringify(line.slice(0, 40))}`);
    merges.push({ a: parts[0], b: parts[1], where });
  });
  return build(vocab, merges, []);
}

/** GPT-2's two files for `tokenizer`: vocab.json (one line, ids in order) and merges.txt. */
export function gpt2TokenizerFiles(tokenizer: BpeTokenizer): {
  /** The token strings and their ids, as one line of JSON. */
  'vocab.json': string;
  /** The merges in order, one pair of token strings a line after a version line. */
  'merges.txt': string;
} {
  const strings = tokenStrings(tokenizer, 'vocab.json');
  return {
    'vocab.json': JSON.stringify(vocabObject(strings)),
    'merges.txt': ['#version: 0.2', ...mergeLines(tokenizer, strings)].join('\n') + '\n',
  };
}

/** Fails unless `doc` is absent or one of `allowed`. */
function only(doc: Doc, allowed: unknown[], why: string): void {
  if (doc.present && !allowed.includes(doc.value)) doc.fail(`must be ${allowed.map((v) => JSON.stringify(v)).join(' or ')} (${why}), got ${JSON.stringify(doc.value)}`);
}

/**
 * A tokenizer from Hugging Face's `tokenizer.json`: a `BPE` model (vocab, and merges as `"a b"`
 * strings or `[a, b]` pairs) after the `ByteLevel` pre-tokenizer with GPT-2's regex and no added
 * prefix space; `added_tokens` beyond the merges become special tokens.
 */
export function readHfTokenizer(tokenizerJson: string | Uint8Array, file = 'tokenizer.json'): BpeTokenizer {
  const doc = parseJson(text(tokenizerJson, file), file);
  doc.object();
  const model = doc.at('model');
  model.object();
  model.at('type').string(['BPE']);
  only(model.at('dropout'), [null], 'tsgrad has no BPE dropout');
  only(model.at('continuing_subword_prefix'), ['', null], 'a byte-level model has none');
  only(model.at('end_of_word_suffix'), ['', null], 'a byte-level model has none');
  only(model.at('byte_fallback'), [false], 'a byte-level model needs none');
  only(model.at('ignore_merges'), [false], 'tsgrad always applies the merges');
  only(doc.at('normalizer'), [null], 'tsgrad does not normalise text');
  const pre = doc.at('pre_tokenizer');
  pre.object();
  pre.at('type').string(['ByteLevel']);
  only(pre.at('add_prefix_space'), [false], 'tsgrad does not add a space before the text');
  only(pre.at('use_regex'), [true], "tsgrad splits with GPT-2's regex");
  const merges = model.at('merges').array({ max: 1 << 20 }).map((item): Merge => {
    if (Array.isArray(item.value)) {
      const pair = item.array({ max: 2 }).map((d) => d.string());
      if (pair.length !== 2) item.fail(`must be a pair of tokens, got ${pair.length}`);
      return { a: pair[0], b: pair[1], where: item };
    }
    const parts = item.string().split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') item.fail(`must be two tokens separated by one space, got ${JSON.stringify(item.value)}`);
    return { a: parts[0], b: parts[1], where: item };
  });
  const addedDoc = doc.at('added_tokens').optional();
  const added = (addedDoc?.array({ max: 1 << 16 }) ?? []).map((d) => ({ content: d.at('content').string(), id: d.at('id').int({ min: 0, max: (1 << 20) - 1 }), where: d }));
  return build(model.at('vocab'), merges, added);
}

/** Hugging Face's `tokenizer.json` for `tokenizer`, as GPT-2's own: ByteLevel pre-tokenizer and decoder. */
export function hfTokenizerJson(tokenizer: BpeTokenizer): string {
  const strings = tokenStrings(tokenizer, 'tokenizer.json');
  const nMade = 256 + tokenizer.merges.length;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tokenizer.specialTokens.map((content, i) => ({
      id: nMade + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, vocab: vocabObject(strings), merges: mergeLines(tokenizer, strings),
    },
  };
  return JSON.stringify(json, null, 2) + '\n';
}
