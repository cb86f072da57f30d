// IDX files, the format MNIST ships in: 2 zero bytes, a type code, the number of dimensions,
// big-endian uint32 sizes, then the data. Raw or gzip-compressed. Every failure is one TsgradError
// naming the file, because a bad download is the commonest way a first run goes wrong.
// Not for: knowing what the arrays mean (images, labels); that is mnist.ts.

import fs from 'node:fs';
import zlib from 'node:zlib';
import { check, TsgradError } from '../core/errors.js';
import { readInputFile } from '../core/files.js';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface Idx {
  dims: number[];
  /** The type's name: ubyte, byte, short, int, float or double. */
  type: string;
  data: IdxData;
}

// Single bytes are a view of the file's bytes (no copy: the MNIST training images are 47 MB);
// wider types are big-endian on disk, so they go through a DataView rather than a typed-array view
// (which would use the machine's little-endian order).
type Reader = (v: DataView, at: number, n: number) => IdxData;
const TYPES: Record<number, { name: string; size: number; read: Reader }> = {
  0x08: { name: 'ubyte', size: 1, read: (v, at, n) => new Uint8Array(v.buffer, v.byteOffset + at, n) },
  0x09: { name: 'byte', size: 1, read: (v, at, n) => new Int8Array(v.buffer, v.byteOffset + at, n) },
  0x0b: { name: 'short', size: 2, read: (v, at, n) => Int16Array.from({ length: n }, (_, i) => v.getInt16(at + 2 * i)) },
  0x0c: { name: 'int', size: 4, read: (v, at, n) => Int32Array.from({ length: n }, (_, i) => v.getInt32(at + 4 * i)) },
  0x0d: { name: 'float', size: 4, read: (v, at, n) => Float32Array.from({ length: n }, (_, i) => v.getFloat32(at + 4 * i)) },
  0x0e: { name: 'double', size: 8, read: (v, at, n) => Float64Array.from({ length: n }, (_, i) => v.getFloat64(at + 8 * i)) },
};

/** The largest IDX file, raw or after gunzip, tsgrad reads (2 GiB; MNIST's largest is 47 MB). */
export const MAX_IDX_BYTES = 2 ** 31;
/** Deflate's best ratio is about 1032:1, so a gzip file cannot honestly hold more than this per byte. */
const MAX_GZIP_RATIO = 1032;
const GZIP_PREFIX = 4096;

/**
 * The header at the start of `bytes` of an IDX file of `total` bytes in all (after any gunzip),
 * checked against the file's length.
 */
function header(bytes: Uint8Array, total: number, name: string) {
  const { dims, type, headerLength, count, expected } = readHeader(bytes, name);
  const found = total - headerLength;
  check(found >= expected, `${name}: truncated IDX file: header says ${expected} bytes of data, found ${found}`);
  check(found === expected,
    `${name}: ${found - expected} unexpected bytes after the IDX data (header says ${expected} bytes of data, found ${found})`);
  return { dims, type, headerLength, count };
}

/** The header alone: magic, type, dimensions and the data size they give (at most MAX_IDX_BYTES). */
function readHeader(bytes: Uint8Array, name: string) {
  check(bytes.length >= 4, `${name}: too short for an IDX header (${bytes.length} bytes)`);
  check(bytes[0] === 0 && bytes[1] === 0,
    `${name}: wrong magic number 0x${Buffer.from(bytes.subarray(0, 4)).toString('hex')}; not an IDX file`);
  const type = TYPES[bytes[2]];
  check(type, `${name}: unknown IDX data type 0x${bytes[2].toString(16).padStart(2, '0')}`);
  const rank = bytes[3];
  const headerLength = 4 + 4 * rank;
  check(bytes.length >= headerLength,
    `${name}: truncated IDX header (${rank} dimensions need ${headerLength} bytes, found ${bytes.length})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((p, d) => p * d, 1);
  const expected = count * type.size;
  // Products of up to 255 sizes of 32 bits overflow doubles: name the sizes, not "Infinity".
  check(expected <= MAX_IDX_BYTES,
    `${name}: IDX header says ${dims.join(' x ')} ${type.name} values, more than the ${MAX_IDX_BYTES} bytes tsgrad reads`);
  return { dims, type, headerLength, count, expected };
}

/**
 * Gunzips an IDX file without trusting it: first only the start (at most a few MB out), for the
 * header; then the whole, stopped one byte past the size that header gives, so a gzip bomb is
 * refused after inflating no more than its header claims (and no more than deflate could honestly
 * hold in a file of this size).
 */
function gunzipIdx(gz: Uint8Array, name: string): Uint8Array {
  const inflate = (input: Uint8Array, options: zlib.ZlibOptions): Buffer => {
    try {
      return zlib.gunzipSync(input, options);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' && options.maxOutputLength !== undefined) {
        throw new TsgradError(`${name}: gzip data inflates to more than the ${options.maxOutputLength - 1} bytes its IDX header gives`);
      }
      throw new TsgradError(`${name}: corrupt gzip data (${(e as Error).message.split('\n')[0]})`);
    }
  };
  // A small file is inflated whole (at most ~4 MB out); of a larger one first a prefix, with
  // Z_SYNC_FLUSH so that it inflates to what it holds instead of failing as truncated.
  if (gz.length <= GZIP_PREFIX) return inflate(gz, {});
  const start = inflate(gz.subarray(0, GZIP_PREFIX), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const { headerLength, expected } = readHeader(start, name);
  const total = headerLength + expected;
  check(total <= MAX_GZIP_RATIO * gz.length + 1024,
    `${name}: IDX header says ${total} bytes, more than ${gz.length} bytes of gzip data can hold; the file is corrupt`);
  return inflate(gz, { maxOutputLength: total + 1 });
}

/** Decodes an IDX file's bytes (raw or gzipped); `name` is only used in error messages. */
export function parseIdx(input: Uint8Array, name: string): Idx {
  // An IDX file starts with two zero bytes, so the gzip magic 1f 8b cannot be mistaken for one.
  const bytes = input[0] === 0x1f && input[1] === 0x8b ? gunzipIdx(input, name) : input;
  const { dims, type, headerLength, count } = header(bytes, bytes.length, name);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { dims, type: type.name, data: type.read(view, headerLength, count) };
}

/** Reads and decodes the IDX file at `path` (raw or gzipped). */
export function readIdx(path: string): Idx {
  return parseIdx(readInputFile(path, MAX_IDX_BYTES, 'IDX file'), path);
}

/**
 * Reads a raw (not gzipped) IDX file of unsigned bytes in blocks of 1 MiB, so that a large one is
 * never whole in memory: `plan(dims)` says how many data bytes to read and takes each block with
 * its offset. False (nothing read) when the file is gzipped or of another type: use readIdx.
 */
export function streamIdxBytes(path: string, plan: (dims: number[]) => { length: number; take: (block: Uint8Array, offset: number) => void }): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return false; // readIdx names the problem
  }
  try {
    const start = new Uint8Array(4 + 4 * 255);
    const got = fs.readSync(fd, start, 0, start.length, 0);
    if (got < 4 || start[0] !== 0 || start[1] !== 0 || start[2] !== 0x08) return false;
    const { dims, headerLength } = header(start.subarray(0, got), fs.fstatSync(fd).size, path);
    const { length, take } = plan(dims);
    const block = new Uint8Array(Math.min(1 << 20, Math.max(length, 1)));
    for (let offset = 0; offset < length;) {
      const n = fs.readSync(fd, block, 0, Math.min(block.length, length - offset), headerLength + offset);
      check(n > 0, `${path}: the file ended early`);
      take(block.subarray(0, n), offset);
      offset += n;
    }
    return true;
  } finally {
    fs.closeSync(fd);
  }
}
