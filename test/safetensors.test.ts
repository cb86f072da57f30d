// safetensors: round trips, the exact byte layout, files as Python's `safetensors` writes them,
// and one clear error naming the file for every kind of corrupt file the strict reader refuses.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors, type StoredTensor } from '../src/io/safetensors.js';
import { tempDir } from './helpers.js';

const tmp = () => tempDir('safetensors');
/** For assert.throws: a TsgradError of one line matching `re`. */
const userError = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TsgradError, `expected a TsgradError, got ${e}`);
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
};

/** A file from raw parts: header length field (default: the JSON's length), JSON text, data. */
function file(json: string, data: Uint8Array | number = 0, headerLength?: bigint): Uint8Array {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLength ?? BigInt(Buffer.byteLength(json)));
  return new Uint8Array(Buffer.concat([len, Buffer.from(json), typeof data === 'number' ? Buffer.alloc(data) : data]));
}

const bytesOf = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

test('round trip of several tensors, a scalar and an empty tensor, with metadata', () => {
  const tensors: Record<string, StoredTensor> = {
    'dense/kernel': { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 4, 1e-30, -0) },
    scalar: { dtype: 'float32', shape: [], data: Float32Array.of(7.25) },
    empty: { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
    labels: { dtype: 'int32', shape: [3], data: Int32Array.of(-1, 5, 2 ** 31 - 1) },
    // A view into a larger buffer: only its own bytes must be written.
    view: { dtype: 'float32', shape: [2], data: Float32Array.of(9, 10, 11, 12).subarray(1, 3) },
  };
  const dir = tmp();
  const where = path.join(dir, 'x.safetensors');
  saveSafetensors(where, tensors, { format: 'pt', note: 'héllo' });
  assert.deepEqual(fs.readdirSync(dir), ['x.safetensors']); // no temporary file left behind
  const back = loadSafetensors(where);
  assert.deepEqual(back.metadata, { format: 'pt', note: 'héllo' });
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
  for (const [k, t] of Object.entries(tensors)) {
    const b = back.tensors[k];
    assert.equal(b.dtype, t.dtype, k);
    assert.deepEqual(b.shape, t.shape, k);
    assert.equal(b.data.constructor, t.data.constructor, k);
    assert.deepEqual([...b.data], [...t.data], k);
  }
  assert.ok(Object.is(back.tensors['dense/kernel'].data[5], -0));
  // No metadata given: none written, and an empty record read back.
  assert.deepEqual(decodeSafetensors(encodeSafetensors({}), 'e').metadata, {});
  assert.deepEqual(decodeSafetensors(file('{"__metadata__":null}'), 'e'), { tensors: {}, metadata: {} });
  // Saving again replaces the file.
  saveSafetensors(where, { scalar: tensors.scalar });
  assert.deepEqual(Object.keys(loadSafetensors(where).tensors), ['scalar']);
});

test('the byte layout is exactly the standard one', () => {
  const bytes = encodeSafetensors({ a: { dtype: 'float32', shape: [1], data: Float32Array.of(1) } });
  const json = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'; // 54 bytes, padded to 56
  const expected = [56, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(json + '  '), 0x00, 0x00, 0x80, 0x3f];
  assert.deepEqual([...bytes], expected);

  // With metadata and several tensors: header padded to 8, data contiguous in header order.
  const two = encodeSafetensors({
    b: { dtype: 'int32', shape: [2], data: Int32Array.of(1, 256) },
    a: { dtype: 'float32', shape: [], data: Float32Array.of(-2) },
  }, { k: 'v' });
  const n = Number(new DataView(two.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const text = Buffer.from(two.subarray(8, 8 + n)).toString();
  assert.match(text, /^\{.*\} *$/);
  assert.deepEqual(JSON.parse(text), {
    __metadata__: { k: 'v' },
    b: { dtype: 'I32', shape: [2], data_offsets: [0, 8] },
    a: { dtype: 'F32', shape: [], data_offsets: [8, 12] },
  });
  assert.deepEqual([...two.subarray(8 + n)], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0xc0]);
});

test('reads a file built exactly as Python safetensors writes it', () => {
  // safetensors.numpy.save_file({"b": f32[2], "a": i32 scalar}, metadata={"format": "np"}):
  // compact JSON, "__metadata__" first, tensors by dtype size then name, data in that order, padded to 8.
  const a = Int32Array.of(42), b = Float32Array.of(0.5, -2);
  let json = '{"__metadata__":{"format":"np"},"a":{"dtype":"I32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const read = decodeSafetensors(file(json, Buffer.concat([bytesOf(a), bytesOf(b)])), 'py.safetensors');
  assert.deepEqual(read.metadata, { format: 'np' });
  assert.deepEqual(read.tensors.a, { dtype: 'int32', shape: [], data: a });
  assert.deepEqual(read.tensors.b, { dtype: 'float32', shape: [2], data: b });

  // An unpadded header puts the data at an odd offset: the reader must still copy it out aligned.
  const odd = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  assert.equal((8 + odd.length) % 4 !== 0, true);
  const x = decodeSafetensors(file(odd, bytesOf(Float32Array.of(3, 4))), 'odd.safetensors').tensors.x;
  assert.deepEqual([...x.data], [3, 4]);
  assert.equal(x.data.byteOffset, 0);
});

test('every kind of corrupt file gives one TsgradError naming the file', () => {
  const bad = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(() => decodeSafetensors(bytes, 'm.safetensors'), userError(new RegExp(`^m\\.safetensors: not a valid safetensors file: .*${re.source}`)));
  const entry = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
  const of = (header: unknown, data: number, headerLength?: bigint) => file(JSON.stringify(header), data, headerLength);
  const ok = { a: entry('F32', [2], [0, 8]) };
  assert.doesNotThrow(() => decodeSafetensors(of(ok, 8), 'm.safetensors'));

  // The length field.
  bad(new Uint8Array(0), /only 0 bytes, shorter than the 8-byte header length/);
  bad(new Uint8Array(7), /only 7 bytes/);
  bad(of(ok, 8, 10_000n), /header length 10000 runs past the end of the file/);
  bad(of(ok, 8, 2n ** 40n), /header length 1099511627776 is too large/);
  bad(of(ok, 8, 2n ** 64n - 1n), /too large/);
  // The header as a whole.
  bad(file('{x}'), /header: not valid JSON \(Expected property name/);
  bad(file('{"a":'), /header: not valid JSON/);
  bad(file('{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}}', 4), /header: not valid JSON \(Unexpected token 'N'/);
  bad(file('['.repeat(100_000) + ']'.repeat(100_000)), /header: must be an object, got an array$/);
  const badUtf8 = file('{"a":"?"}');
  badUtf8[8 + 6] = 0xff; // the "?" becomes a byte that UTF-8 never uses
  bad(badUtf8, /header is not valid UTF-8$/);
  bad(of([1, 2], 0), /header: must be an object, got an array$/);
  bad(of(null, 0), /header: must be an object, got null$/);
  bad(of({ __metadata__: { n: 1 } }, 0), /__metadata__\.n must be a string, got 1$/);
  bad(of({ __metadata__: ['x'] }, 0), /__metadata__ must be an object, got an array$/);
  // One entry.
  bad(of({ a: 3 }, 0), /tensor "a": must be an object, got 3$/);
  bad(of({ a: { shape: [2], data_offsets: [0, 8] } }, 8), /tensor "a": dtype must be a string, got nothing$/);
  bad(of({ a: { dtype: 'F32', data_offsets: [0, 8] } }, 8), /tensor "a": shape must be an array, got nothing$/);
  bad(of({ a: { dtype: 'F32', shape: [2] } }, 8), /tensor "a": data_offsets must be an array, got nothing$/);
  bad(of({ a: entry('F16', [2], [0, 4]) }, 4), /tensor "a" has dtype "F16"; tsgrad reads F32 and I32$/);
  bad(of({ a: entry('toString', [2], [0, 8]) }, 8), /dtype "toString"/);
  bad(of({ a: entry(32, [2], [0, 8]) }, 8), /tensor "a": dtype must be a string, got 32$/);
  bad(of({ a: entry('F32', 2, [0, 8]) }, 8), /tensor "a": shape must be an array, got 2$/);
  bad(of({ a: entry('F32', [-2], [0, 8]) }, 8), /tensor "a": shape\[0\] must be an integer from 0 to 2147483647, got -2$/);
  bad(of({ a: entry('F32', [2.5], [0, 8]) }, 8), /shape\[0\] must be an integer from 0 to 2147483647, got 2.5$/);
  bad(of({ a: entry('F32', ['2'], [0, 8]) }, 8), /shape\[0\] must be an integer from 0 to 2147483647, got "2"$/);
  bad(of({ a: entry('F32', Array(17).fill(1), [0, 4]) }, 4), /tensor "a": shape has 17 elements, more than the 16 allowed$/);
  bad(of({ a: entry('F32', [2 ** 40, 2 ** 40], [0, 4]) }, 4), /shape\[0\] must be an integer from 0 to 2147483647, got 1099511627776$/);
  bad(of({ a: entry('F32', [65536, 65536], [0, 4]) }, 4), /shape \[65536, 65536\] has 4294967296 elements, more than the 2147483647 allowed$/);
  bad(of({ a: entry('F32', [2], [0]) }, 8), /tensor "a": data_offsets must be two offsets \[begin, end\], got 1$/);
  bad(of({ a: entry('F32', [2], [0, 8.5]) }, 8), /data_offsets\[1\] must be an integer of at least 0, got 8.5$/);
  bad(of({ a: entry('F32', [2], [0, 1e300]) }, 8), /data_offsets\[1\] must be an integer of at least 0, got 1e\+300$/);
  bad(of({ a: entry('F32', [2], [0, 8, 16]) }, 8), /data_offsets has 3 elements, more than the 2 allowed$/);
  bad(of({ a: entry('F32', [2], [-8, 0]) }, 8), /data_offsets\[0\] must be an integer of at least 0, got -8$/);
  bad(of({ a: entry('F32', [2], '0,8') }, 8), /data_offsets must be an array, got "0,8"$/);
  bad(of({ a: entry('F32', [2], [8, 0]) }, 8), /data_offsets \[8, 0\] outside the 8 bytes of data/);
  bad(of({ a: entry('F32', [2], [0, 16]) }, 8), /data_offsets \[0, 16\] outside the 8 bytes of data/);
  bad(of({ a: entry('F32', [3], [0, 8]) }, 8), /tensor "a" of shape \[3\] needs 12 bytes, its range holds 8/);
  bad(of({ a: entry('I32', [2, 0], [0, 8]) }, 8), /needs 0 bytes/);
  // The ranges together.
  bad(of({ a: entry('F32', [2], [0, 8]), b: entry('F32', [1], [4, 8]) }, 8), /tensor "b" overlaps tensor "a"/);
  bad(of({ a: entry('F32', [2], [0, 8]), b: entry('F32', [0], [4, 4]) }, 8), /overlaps/);
  bad(of({ a: entry('F32', [1], [4, 8]) }, 8), /bytes 0 to 4 of the data belong to no tensor/);
  bad(of({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, 12), /bytes 4 to 8 .* no tensor/);
  bad(of(ok, 12), /bytes 8 to 12 of the data belong to no tensor/);

  // Through the file system: the path is the name in the error.
  const dir = tmp();
  const cut = path.join(dir, 'cut.safetensors');
  saveSafetensors(cut, { w: { dtype: 'float32', shape: [4], data: new Float32Array(4) } });
  fs.truncateSync(cut, fs.statSync(cut).size - 2);
  assert.throws(() => loadSafetensors(cut), userError(new RegExp(`^${cut.replace(/[.\\/]/g, '\\$&')}: not a valid safetensors file: .*outside`)));
  assert.throws(() => loadSafetensors(path.join(dir, 'missing.safetensors')), userError(/^.*missing\.safetensors: no such safetensors file$/));
  assert.throws(() => loadSafetensors(dir), userError(/: is a folder, not a safetensors file$/));
});

test('odd names are kept as names', () => {
  const t = { dtype: 'float32' as const, shape: [1], data: Float32Array.of(1) };
  const back = decodeSafetensors(encodeSafetensors({ __proto__x: t, 'a.b/c d': t, 'ünï': t }), 'n').tensors;
  assert.deepEqual(Object.keys(back), ['__proto__x', 'a.b/c d', 'ünï']);
  const proto = decodeSafetensors(file('{"__proto__":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', 4), 'p').tensors;
  assert.ok(Object.hasOwn(proto, '__proto__'));
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
});

test('the writer refuses tensors whose data does not match their shape or dtype', () => {
  const write = (t: StoredTensor) => () => encodeSafetensors({ t });
  assert.throws(write({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }), userError(/tensor "t": shape \[2, 2\]/));
  assert.throws(write({ dtype: 'int32', shape: [2], data: new Float32Array(2) }), userError(/dtype int32/));
  assert.throws(() => encodeSafetensors({ __metadata__: { dtype: 'float32', shape: [], data: new Float32Array(1) } }), userError(/__metadata__/));
  // A failed write leaves no file, not even a temporary one.
  const dir = tmp();
  assert.throws(() => saveSafetensors(path.join(dir, 'w.safetensors'), { t: { dtype: 'float32', shape: [2], data: new Float32Array(1) } }), TsgradError);
  assert.throws(() => saveSafetensors(path.join(dir, 'no/such/dir/w.safetensors'), {}), userError(/^cannot write .*w\.safetensors/));
  assert.deepEqual(fs.readdirSync(dir), []);
});
