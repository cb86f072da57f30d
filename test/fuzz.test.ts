// Property-based fuzzing (fast-check) of every byte and text format tsgrad reads from users: IDX
// (raw and gzip), PNG, safetensors, tokenizer JSON and text files. For random bytes and for
// mutations of a valid file (bit flips, truncation at every length, inserted and deleted bytes,
// header fields set to huge, negative or NaN values) each parser must end quickly in a one-line
// TsgradError or a consistent parse, keep no more memory than the input justifies, and leave the
// process sound (a tensor computation right after gives the right numbers); a valid file round-trips.
// Iterations: TSGRAD_FUZZ_RUNS (default 150 per property; the whole file takes a few seconds).
// Not for: the exact messages (the formats' own tests assert those).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { TsgradError } from '../src/core/errors.js';
import { parseIdx } from '../src/data/idx.js';
import { decodeText, splitText } from '../src/data/text.js';
import { charTokenizer, tokenizerFromJSON, trainBpe } from '../src/data/tokenizer.js';
import { decodePngBytes } from '../src/io/image.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { tensor } from '../src/tensor/tensor.js';

const RUNS = Number(process.env.TSGRAD_FUZZ_RUNS ?? 150);
assert.ok(Number.isSafeInteger(RUNS) && RUNS > 0, `TSGRAD_FUZZ_RUNS must be a positive integer, got ${process.env.TSGRAD_FUZZ_RUNS}`);
/** A parse of a small input that takes longer than this is taken for a hang. */
const SLOW_MS = 2000;

/** The process is still sound: a normal computation gives the right numbers. */
function assertSound(): void {
  assert.deepEqual([...tensor([1, 2, 3, 4]).add(tensor([10, 20, 30, 40])).dataSync()], [11, 22, 33, 44]);
}

/**
 * Runs `parse` on `input`: it must throw a one-line TsgradError or return, quickly, keeping no more
 * than `budget` bytes of new memory; `check` then judges a value it returned.
 */
function outcome<T>(input: Uint8Array | string, parse: () => T, check: (value: T) => void, budget = 64 * input.length + 8e6): void {
  const before = process.memoryUsage();
  const start = performance.now();
  let value: T | undefined, error: unknown;
  try {
    value = parse();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - start;
  assert.ok(ms < SLOW_MS, `took ${ms.toFixed(0)} ms on ${input.length} bytes`);
  if (error !== undefined) {
    assert.ok(error instanceof TsgradError, `not a TsgradError: ${(error as Error)?.stack ?? error}`);
    assert.ok(!error.message.includes('\n') && error.message.length < 600, `not one short line: ${error.message}`);
  } else {
    check(value as T);
  }
  const after = process.memoryUsage();
  const grown = after.arrayBuffers - before.arrayBuffers + Math.max(0, after.heapUsed - before.heapUsed);
  assert.ok(grown < budget, `kept ${grown} bytes after reading ${input.length}`);
}

// Mutations of a valid file, applied in turn.
type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'u32'; at: number; value: number; littleEndian: boolean };

/** Values a header field is set to: huge, negative (as two's complement), zero, one, and NaN bit patterns. */
const FIELD_VALUES = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x7fc00000, 0xffc00000, 0x7f800000, 65536, 1e6];

const mutation = (headerBytes: number): fc.Arbitrary<Mutation> => fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat({ max: headerBytes }), value: fc.constantFrom(...FIELD_VALUES), littleEndian: fc.boolean() }),
);

function mutate(file: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Uint8Array.from(file);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.kind === 'flip' && b.length > 0) b[at % b.length] ^= 1 << m.bit;
    if (m.kind === 'cut') b = b.slice(0, at);
    if (m.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
    if (m.kind === 'delete') b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.count)]);
    if (m.kind === 'u32' && at + 4 <= b.length) new DataView(b.buffer).setUint32(at, m.value, m.littleEndian);
  }
  return b;
}

/** Random bytes, and 1 to 3 mutations of `valid` (whose header is its first `headerBytes` bytes). */
const mutated = (valid: Uint8Array, headerBytes: number) => fc.array(mutation(headerBytes), { minLength: 1, maxLength: 3 }).map((ms) => mutate(valid, ms));
const randomBytes = fc.uint8Array({ maxLength: 2048 });

/** Every property, on random bytes and on mutations of `valid`, then `valid` cut at every length. */
function fuzzBytes(valid: Uint8Array, headerBytes: number, run: (bytes: Uint8Array) => void): void {
  fc.assert(fc.property(randomBytes, run), { numRuns: RUNS });
  fc.assert(fc.property(mutated(valid, headerBytes), run), { numRuns: RUNS });
  for (let n = 0; n < valid.length; n++) run(valid.subarray(0, n));
  assertSound();
}

// Text-level mutations for the JSON formats: a number or token in the text replaced by an extreme.
const EXTREMES = ['-1', '1e308', '-1e308', 'NaN', '9007199254740993', '4294967296', '2.5', '"x"', 'null', '[]', '{}', 'true', '0', '[[[[[[1]]]]]]'];
const textMutation = (valid: string) => fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom(...EXTREMES)).map(([i, v]) => {
    const tokens = [...valid.matchAll(/-?\d+(\.\d+)?(e[-+]?\d+)?|"[^"]*"/g)];
    const t = tokens[i % tokens.length];
    return valid.slice(0, t.index) + v + valid.slice(t.index! + t[0].length);
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 8 })).map(([i, n]) => valid.slice(0, i % (valid.length + 1)) + valid.slice((i % (valid.length + 1)) + n)),
  fc.tuple(fc.nat(), fc.string({ maxLength: 8 })).map(([i, s]) => valid.slice(0, i % (valid.length + 1)) + s + valid.slice(i % (valid.length + 1))),
);

test('IDX, raw and gzipped: random and mutated files end in a TsgradError or a consistent parse', () => {
  const header = Buffer.alloc(12);
  header[2] = 0x08;
  header[3] = 2;
  header.writeUInt32BE(3, 4);
  header.writeUInt32BE(5, 8);
  const data = Uint8Array.from({ length: 15 }, (_, i) => 17 * i);
  const raw = new Uint8Array(Buffer.concat([header, data]));
  const gz = new Uint8Array(zlib.gzipSync(raw));
  // Inflating is allowed up to deflate's 1032:1, and zlib's chunks and their joined result are both
  // in memory at the end (not yet collected): a 4 KB bomb of zeros may show 8 MB.
  const consistent = (bytes: Uint8Array) => outcome(bytes, () => parseIdx(bytes, 'f-idx'), (idx) => {
    assert.equal(idx.data.length, idx.dims.reduce((p, d) => p * d, 1));
  }, 64 * bytes.length + 2 * 1032 * bytes.length + 8e6);
  // A valid file round-trips, raw and gzipped.
  for (const file of [raw, gz]) assert.deepEqual([...parseIdx(file, 'f').data], [...data]);
  fuzzBytes(raw, 12, consistent);
  fuzzBytes(gz, 18, consistent);
  // Gzip of mutated IDX (valid gzip, bad contents, possibly a bomb of zeros after the header).
  fc.assert(fc.property(mutated(raw, 12), fc.nat({ max: 4e6 }), (bytes, zeros) => {
    const file = new Uint8Array(zlib.gzipSync(Buffer.concat([bytes, Buffer.alloc(zeros)])));
    consistent(file);
  }), { numRuns: Math.ceil(RUNS / 5) });
  assertSound();
});

test('PNG: random and mutated files end in a TsgradError or a consistent decode', () => {
  const png = new PNG({ width: 5, height: 4 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) % 256;
  const valid = new Uint8Array(PNG.sync.write(png, { colorType: 6 }));
  const interlacedGrey = new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 6, bitDepth: 16 }));
  const back = decodePngBytes(valid, 'v.png');
  assert.deepEqual([back.width, back.height, [...back.rgba]], [5, 4, [...png.data]]);
  const consistent = (bytes: Uint8Array) => outcome(bytes, () => decodePngBytes(bytes, 'f.png'), (img) => {
    assert.ok(img.width * img.height <= 50e6);
    assert.equal(img.rgba.length, 4 * img.width * img.height);
  });
  fuzzBytes(valid, 33, consistent);
  fuzzBytes(interlacedGrey, 33, consistent);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
    // The signature followed by random chunks.
    consistent(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...valid.subarray(8, 33), ...tail]));
  }), { numRuns: RUNS });
  assertSound();
});

test('safetensors: random and mutated files end in a TsgradError or a consistent parse', () => {
  const tensors = {
    w: { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-3, 7]) },
    i: { dtype: 'int32' as const, shape: [4], data: Int32Array.from([1, -1, 2 ** 31 - 1, 0]) },
    s: { dtype: 'float32' as const, shape: [], data: Float32Array.of(42) },
  };
  const valid = encodeSafetensors(tensors, { format: 'pt' });
  const back = decodeSafetensors(valid, 'v');
  for (const [k, t] of Object.entries(tensors)) assert.deepEqual(back.tensors[k], t);
  const consistent = (bytes: Uint8Array) => outcome(bytes, () => decodeSafetensors(bytes, 'f.safetensors'), ({ tensors: ts }) => {
    let total = 0;
    for (const t of Object.values(ts)) {
      assert.equal(t.data.length, t.shape.reduce((p, d) => p * d, 1));
      total += t.data.byteLength;
    }
    assert.ok(total <= bytes.length);
  });
  const headerLength = Number(new DataView(valid.buffer).getBigUint64(0, true));
  fuzzBytes(valid, 8 + headerLength, consistent);
  // The header's fields set to extremes (huge, negative, NaN, wrong types), the length field kept right.
  const json = Buffer.from(valid.subarray(8, 8 + headerLength)).toString('utf8');
  const body = valid.subarray(8 + headerLength);
  fc.assert(fc.property(textMutation(json), (text) => {
    const h = Buffer.from(text);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    consistent(new Uint8Array(Buffer.concat([len, h, body])));
  }), { numRuns: RUNS });
  assertSound();
});

test('tokenizer JSON: random and mutated JSON ends in a TsgradError or a tokenizer that round-trips', () => {
  const sample = 'the cat sat on the mat; the hat, the bat.\n';
  const valid = [JSON.stringify(trainBpe(sample.repeat(3), 280)), JSON.stringify(charTokenizer(sample))];
  const consistent = (text: string) => outcome(text, () => tokenizerFromJSON(text, 'tok.json'), (tok) => {
    // Whatever loads encodes and decodes its own vocabulary exactly, and saves to what it read.
    const again = tokenizerFromJSON(JSON.stringify(tok), 'again');
    assert.deepEqual(again.toJSON(), tok.toJSON());
    const ids = Int32Array.from({ length: Math.min(tok.vocabSize, 300) }, (_, i) => i);
    const text2 = tok.decode(ids);
    if (tok.kind === 'char') assert.deepEqual([...tok.encode(text2)], [...ids]);
  }, 64 * text.length + 32e6);
  for (const v of valid) assert.equal(JSON.stringify(tokenizerFromJSON(v)), v);
  fc.assert(fc.property(fc.json(), consistent), { numRuns: RUNS });
  fc.assert(fc.property(fc.string({ maxLength: 200 }), consistent), { numRuns: RUNS });
  for (const v of valid) {
    fc.assert(fc.property(fc.array(textMutation(v), { minLength: 1, maxLength: 1 }).map(([t]) => t), consistent), { numRuns: RUNS });
    for (let n = 0; n < v.length; n += 7) consistent(v.slice(0, n));
  }
  assertSound();
});

test('text files: random bytes end in a TsgradError or text that splits or says why not', () => {
  const valid = new Uint8Array(Buffer.from('Héllo wörld 🙂\r\nsecond line\nthird\n'));
  assert.equal(decodeText(valid, 'v.txt'), 'Héllo wörld 🙂\nsecond line\nthird\n');
  const consistent = (bytes: Uint8Array) => outcome(bytes, () => {
    const text = decodeText(bytes, 'f.txt');
    return { text, split: splitText(text, 0.25, { minLength: 2, source: 'f.txt' }) };
  }, ({ text, split }) => {
    assert.ok(!text.includes('\r') && !text.includes('\0'));
    assert.equal(split.train + split.validation, text);
    assert.ok(split.train.endsWith('\n') && split.validation.length >= 2);
  });
  fuzzBytes(valid, 8, consistent);
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => consistent(new Uint8Array(Buffer.from(s)))), { numRuns: RUNS });
  assertSound();
});
