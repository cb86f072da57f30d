// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON header naming each tensor's dtype, shape and byte range (padded with
// spaces to a multiple of 8), then the raw little-endian data. Files written here read in Python
// and back. The reader is strict, since checkpoints may come from anywhere: every field is
// checked and every failure is one TsgradError naming the file.
// Not for: dtypes other than F32 and I32, memory-mapping, or knowing what the tensors mean
// (src/io/checkpoint.ts does that).

import { check, TsgradError } from '../core/errors.js';
import { Doc, parseJson } from '../core/validate.js';
import { writeFileAtomic } from './files.js';
import { readInputFile } from '../core/files.js';

export interface StoredTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsContents {
  tensors: Record<string, StoredTensor>;
  metadata: Record<string, string>;
}

// Both dtypes are 4 bytes; a Map, not an object, so that a dtype like "toString" is not found.
const TO_FILE = { float32: 'F32', int32: 'I32' } as const;
const FROM_FILE = new Map<unknown, 'float32' | 'int32'>([['F32', 'float32'], ['I32', 'int32']]);
const BYTES = 4;
/** Headers larger than this are refused before parsing, as the official reader does (100 MB). */
const MAX_HEADER = 100_000_000;
/** The largest file read: Node reads no file above 2 GiB at once, and tsgrad's heap is 4 GiB. */
export const MAX_FILE = 2 ** 31 - 1;
/** Dimensions per tensor (the format sets none; no model has more than a handful). */
const MAX_RANK = 16;

// Typed arrays use the platform's byte order and the format is little-endian; every platform
// Node runs tsgrad on is little-endian, so refuse loudly rather than read garbage on another.
if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error('tsgrad safetensors needs a little-endian platform');

/** A safetensors file as its pieces: the header, then each tensor's bytes as a view of its data (nothing copied). */
export function safetensorsParts(tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    check(name !== '__metadata__', 'a tensor cannot be named __metadata__ in a safetensors file');
    const count = t.shape.reduce((p, d) => p * d, 1);
    check(t.data.length === count && t.data instanceof (t.dtype === 'float32' ? Float32Array : Int32Array),
      `tensor "${name}": shape [${t.shape.join(', ')}] and dtype ${t.dtype} do not match its ${t.data.length} values of ${t.data.constructor.name}`);
    header[name] = { dtype: TO_FILE[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // so that the data starts 8-aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const head = new Uint8Array(8 + headerBytes.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  head.set(headerBytes, 8);
  return [head, ...Object.values(tensors).map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}

/**
 * The bytes of a safetensors file holding `tensors` (by name, with shape, dtype and data) and
 * optional string metadata.
 */
export function encodeSafetensors(tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): Uint8Array {
  const parts = safetensorsParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads a whole safetensors file from memory; `name` (the file's path) goes in every error. */
export function decodeSafetensors(bytes: Uint8Array, name: string): SafetensorsContents {
  const invalid = `${name}: not a valid safetensors file`;
  const fail = (why: string): never => {
    throw new TsgradError(`${invalid}: ${why}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} is too large (the limit is ${MAX_HEADER} bytes)`);
  if (n > BigInt(bytes.length - 8)) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  const headerEnd = 8 + Number(n);
  let text: string;
  try {
    // fatal: bad UTF-8 is an error, not silently replaced characters.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd));
  } catch {
    return fail('header is not valid UTF-8');
  }
  const header = parseJson(text, `${invalid}: header`);
  const fields = header.object();

  // First check every entry, then copy: a bad file costs no allocation.
  const dataLength = bytes.length - headerEnd;
  const entries: { key: string; dtype: 'float32' | 'int32'; shape: number[]; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const key of Object.keys(fields)) {
    if (key === '__metadata__') {
      const doc = new Doc(fields[key], invalid, '__metadata__');
      if (!doc.present) continue; // the official reader takes null as "no metadata"
      const entry = doc.object();
      for (const k of Object.keys(entry)) doc.at(k).string();
      metadata = entry as Record<string, string>;
      continue;
    }
    const doc = new Doc(fields[key], `${invalid}: tensor ${JSON.stringify(key)}`);
    doc.object();
    const given = doc.at('dtype').string();
    const dtype = FROM_FILE.get(given);
    if (!dtype) return fail(`tensor ${JSON.stringify(key)} has dtype ${JSON.stringify(given)}; tsgrad reads F32 and I32`);
    const shape = doc.at('shape').shape({ maxRank: MAX_RANK, min: 0 });
    const offsets = doc.at('data_offsets');
    const pair = offsets.array({ max: 2 });
    if (pair.length !== 2) offsets.fail(`must be two offsets [begin, end], got ${pair.length}`);
    const [begin, end] = pair.map((o) => o.int({ min: 0 }));
    if (begin > end || end > dataLength) fail(`tensor ${JSON.stringify(key)} has data_offsets [${begin}, ${end}] outside the ${dataLength} bytes of data`);
    const count = shape.reduce((p: number, d: number) => p * d, 1);
    if (count * BYTES !== end - begin) fail(`tensor ${JSON.stringify(key)} of shape [${shape.join(', ')}] needs ${count * BYTES} bytes, its range holds ${end - begin}`);
    entries.push({ key, dtype, shape, begin, end });
  }

  // As the official reader does: sorted by offset, the ranges must tile the data exactly, with no
  // overlap and no gap, so that every byte of the file belongs to exactly one tensor.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0, last = '';
  for (const { key, begin, end } of sorted) {
    if (begin < covered) fail(`tensor "${key}" overlaps tensor "${last}"`);
    if (begin > covered) fail(`bytes ${covered} to ${begin} of the data belong to no tensor (the format allows no gaps)`);
    covered = end;
    last = key;
  }
  if (covered !== dataLength) fail(`bytes ${covered} to ${dataLength} of the data belong to no tensor (the format allows no gaps)`);

  const tensors: Record<string, StoredTensor> = {};
  for (const { key, dtype, shape, begin, end } of entries) {
    // slice() copies into a fresh buffer, so the typed array is aligned whatever the offset was.
    const copy = bytes.slice(headerEnd + begin, headerEnd + end).buffer;
    const data = dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy);
    // defineProperty: a tensor named "__proto__" must be an entry, not a new prototype.
    Object.defineProperty(tensors, key, { value: { dtype, shape, data }, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

/**
 * Writes a safetensors file piece by piece from the tensors' own memory (a checkpoint allocates no
 * copy of the model), atomically: a temporary file in the same folder, then a rename, so that a
 * crash never leaves half a file under the real name.
 */
export function saveSafetensors(path: string, tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, safetensorsParts(tensors, metadata));
}

/**
 * Reads a safetensors file: its tensors by name and its metadata; throws naming the file when it is
 * damaged.
 */
export function loadSafetensors(path: string): SafetensorsContents {
  const bytes = readInputFile(path, MAX_FILE, 'safetensors file');
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path);
}

