// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
// The reader is strict, since checkpoints may come from anywhere: every field is checked and
// every failure is one TsgradError naming the file.

import fs from 'node:fs';
import { check, TsgradError } from '../core/errors.js';

export interface StoredTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

const TO_FILE = { float32: 'F32', int32: 'I32' } as const;
const FROM_FILE: Record<string, 'float32' | 'int32'> = { F32: 'float32', I32: 'int32' };
/** Headers larger than this are refused before parsing (the official reader uses 100 MB). */
const MAX_HEADER = 100_000_000;

export function encodeSafetensors(tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: TO_FILE[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    // Typed arrays are little-endian on every platform JavaScript runs on that matters here.
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, name: string): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new TsgradError(`${name}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} is too large`);
  if (n > BigInt(bytes.length - 8)) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  const headerEnd = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, Number(n)).toString('utf8'));
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) return fail('header is not a JSON object');
  const dataLength = bytes.length - headerEnd;
  const tensors: Record<string, StoredTensor> = {};
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [key, entry] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Object.values(entry).some((v) => typeof v !== 'string')) fail('__metadata__ must map strings to strings');
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') fail(`entry "${key}" is not an object`);
    const dtype = FROM_FILE[String(e.dtype)];
    if (!dtype) fail(`tensor "${key}" has dtype ${JSON.stringify(e.dtype)}; tsgrad reads F32 and I32`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor "${key}" has a bad shape ${JSON.stringify(e.shape)}`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor "${key}" has bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) fail(`tensor "${key}" has data_offsets [${begin}, ${end}] outside the ${dataLength} bytes of data`);
    const shape = e.shape as number[];
    const count = shape.reduce((p, d) => p * d, 1);
    if (count * 4 !== end - begin) fail(`tensor "${key}" of shape [${shape.join(', ')}] needs ${count * 4} bytes, its range holds ${end - begin}`);
    ranges.push([begin, end, key]);
    const copy = bytes.slice(headerEnd + begin, headerEnd + end); // aligned, owned copy
    tensors[key] = { dtype, shape, data: dtype === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer) };
  }
  // As the official reader: the ranges must tile the data exactly, with no overlap and no gap.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end, key] of ranges) {
    if (begin < covered) fail(`tensor "${key}" overlaps another tensor`);
    if (begin > covered) fail(`bytes ${covered} to ${begin} of the data belong to no tensor`);
    covered = end;
  }
  if (covered !== dataLength) fail(`bytes ${covered} to ${dataLength} of the data belong to no tensor`);
  return { tensors, metadata };
}

/** Writes atomically: a temporary file in the same folder, then a rename. */
export function saveSafetensors(path: string, tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): void {
  const tmp = `${path}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, encodeSafetensors(tensors, metadata));
  fs.renameSync(tmp, path);
}

export function loadSafetensors(path: string): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  check(fs.existsSync(path), `no such file: ${path}`);
  return decodeSafetensors(new Uint8Array(fs.readFileSync(path)), path);
}
