// GPT-2's tokenizer files in and out: given GPT-2's own vocab.json + merges.txt, tsgrad's byte-level
// BPE gives the same ids as an independent GPT-2 encoder (js-tiktoken's r50k_base) on Brown text,
// this repository's source code, emoji, CJK, whitespace runs, numbers and contractions; both file
// formats (GPT-2's pair and Hugging Face's tokenizer.json) round-trip, for GPT-2's vocabulary and for
// a tokenizer trained here; bad files are one line naming the file.
// GPT-2's merges are not downloadable here, so they are rebuilt from js-tiktoken's ranks (token
// bytes -> rank = GPT-2's id): the merge that makes rank r is the split of its bytes that BPE with
// the ranks below r ends at, the standard way to recover merges from tiktoken ranks.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Tiktoken } from 'js-tiktoken/lite';
import r50k from 'js-tiktoken/ranks/r50k_base';
import { TsgradError } from '../src/core/errors.js';
import { loadBrown } from '../src/data/text.js';
import { bytesToUnicode, GPT2_BYTE_ORDER, gpt2TokenizerFiles, hfTokenizerJson, readGpt2Tokenizer, readHfTokenizer } from '../src/data/tokenizer-files.js';
import { tokenizerFromJSON, trainBpe, type BpeTokenizer } from '../src/data/tokenizer.js';

const userError = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TsgradError, `expected a TsgradError, got ${e}`);
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
};

// --- GPT-2's files, rebuilt from r50k_base's ranks -------------------------------------------

const rankBytes: Buffer[] = []; // rank -> the token's bytes
for (const line of r50k.bpe_ranks.split('\n').filter(Boolean)) {
  const [, offset, ...tokens] = line.split(' ');
  tokens.forEach((t, i) => (rankBytes[Number(offset) + i] = Buffer.from(t, 'base64')));
}

/** GPT-2's merges: for each rank from 256, the two tokens BPE with the lower ranks leaves its bytes in. */
function mergesFromRanks(): [number, number][] {
  const rankOf = new Map<string, number>(rankBytes.map((b, r) => [b.toString('latin1'), r]));
  return rankBytes.slice(256).map((bytes, i) => {
    const r = 256 + i;
    const parts = Array.from(bytes, (b) => String.fromCharCode(b));
    for (;;) {
      let best = -1;
      let bestRank = r;
      for (let j = 0; j + 1 < parts.length; j++) {
        const rank = rankOf.get(parts[j] + parts[j + 1]);
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [j, rank];
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    assert.equal(parts.length, 2, `rank ${r} is not one merge of two lower ranks`);
    return [rankOf.get(parts[0])!, rankOf.get(parts[1])!];
  });
}

/** vocab.json and merges.txt as GPT-2 publishes them: bytes spelled through bytes_to_unicode. */
function gpt2Files(): { vocab: string; merges: string } {
  const chars = bytesToUnicode();
  const spell = (r: number): string => Array.from(rankBytes[r], (b) => chars[b]).join('');
  const vocab: Record<string, number> = {};
  rankBytes.forEach((_, r) => (vocab[spell(r)] = r));
  vocab['<|endoftext|>'] = 50256;
  const merges = mergesFromRanks().map(([a, b]) => `${spell(a)} ${spell(b)}`);
  return { vocab: JSON.stringify(vocab), merges: ['#version: 0.2', ...merges].join('\n') + '\n' };
}

// --- the text compared ------------------------------------------------------------------------

function sampleTexts(): { name: string; text: string }[] {
  const brown = loadBrown();
  const mid = Math.floor(brown.length / 2);
  const code = ['src/data/tokenizer.ts', 'src/data/text.ts', 'src/core/validate.ts', 'src/tensor/tensor.ts', 'scripts/test.js']
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f, 'utf8'))
    .join('\n');
  const unicode = [
    'Emoji: 😀😃😄 👍🏽 👩‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️‍🔥 🧑🏿‍🚀 ✨✨✨ 🙂🙃',
    'CJK: 今日は良い天気ですね。東京タワーに行きましょう！北京欢迎你。한국어 텍스트도 있습니다.',
    'Other scripts: Ελληνικά, русский текст, العربية, हिन्दी, עברית, ภาษาไทย, Tiếng Việt, Straße, naïve café.',
    'Whitespace:   three spaces,\ttab,\t\t\ttabs,\n\n\nnewlines,\r\nCRLF,    \n   \t  \n mixed runs at the end    ',
    '                                                                    long run\n\n\n\n\n\n\n\n\n\n',
    'Numbers: 0 1 12 123 1234 12345 123456789012345 3.14159 -2.5e-10 1,000,000 $99.99 50% 2026-12-03 08:52 ½ ² ٣ 四',
    "Contractions: don't won't I'm you're we've they'll she'd it's 'tis DON'T I'M WE'LL O'Neill rock'n'roll ''quoted''",
    'Symbols: <<>> !!! ??? ... --- === ### @@@ &&& ||| ~~~ ``` ${x} [a](b) {"k": [1, 2]} \\n \\t © ® ™ € £ ¥ → ← ∀∃∈',
  ].join('\n');
  // Deterministic mixtures of all of the above, so odd neighbours (digits after emoji, spaces before CJK) occur.
  const pool = Array.from(unicode + ' \n\t  0123456789\'', (c) => c);
  let seed = 12345;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  let mixed = '';
  while (mixed.length < 20_000) {
    const n = 1 + rand(8);
    for (let i = 0; i < n; i++) mixed += pool[rand(pool.length)];
    mixed += rand(3) === 0 ? ' ' : '';
  }
  return [
    { name: 'Brown (start)', text: brown.slice(0, 120_000) },
    { name: 'Brown (middle)', text: brown.slice(mid, mid + 120_000) },
    { name: 'source code', text: code },
    { name: 'unicode, whitespace, numbers, contractions', text: unicode.repeat(20) },
    { name: 'random mixtures', text: mixed },
  ];
}

// --- the tests --------------------------------------------------------------------------------

const files = gpt2Files();
const gpt2 = readGpt2Tokenizer(files.vocab, files.merges);
const reference = new Tiktoken(r50k);
const texts = sampleTexts();
const sample = texts.map((t) => t.text.slice(0, 5_000)).join('\n');

test("GPT-2's byte table and id order are GPT-2's", () => {
  const chars = bytesToUnicode();
  assert.equal(chars[32], 'Ġ');
  assert.equal(chars[10], 'Ċ');
  assert.equal(chars[0], 'Ā');
  assert.equal(chars[65], 'A');
  assert.equal(new Set(chars).size, 256);
  assert.deepEqual(GPT2_BYTE_ORDER, rankBytes.slice(0, 256).map((b) => b[0]), "r50k_base's first 256 ranks");
  assert.equal(gpt2.vocabSize, 50257);
  assert.equal(gpt2.specialId('<|endoftext|>'), 50256);
  assert.equal(gpt2.decode([50256]), '<|endoftext|>');
  assert.equal(gpt2.decode(gpt2.encode(' Hello world')), ' Hello world');
  assert.deepEqual([...gpt2.encode('Hello world')], [15496, 995]); // GPT-2's well-known ids
});

test("GPT-2's merges give GPT-2's ids on a few hundred KB of varied text (js-tiktoken r50k_base)", () => {
  let bytes = 0;
  let tokens = 0;
  const t0 = performance.now();
  for (const { name, text } of texts) {
    const ours = Array.from(gpt2.encode(text));
    const theirs = reference.encode(text, [], []);
    const at = ours.findIndex((id, i) => id !== theirs[i]);
    assert.ok(at < 0 && ours.length === theirs.length,
      `${name}: first difference at token ${at < 0 ? Math.min(ours.length, theirs.length) : at}: ours ${JSON.stringify(ours.slice(at, at + 5))}, r50k_base ${JSON.stringify(theirs.slice(at, at + 5))}, near ${JSON.stringify(gpt2.decode(ours.slice(Math.max(0, at - 3), at + 3)))}`);
    assert.equal(gpt2.decode(ours), text, `${name}: decode round trip`);
    assert.equal(reference.decode(ours), text);
    bytes += Buffer.byteLength(text);
    tokens += ours.length;
  }
  assert.ok(bytes > 300_000, `${bytes} bytes compared`);
  console.log(`# ${bytes} bytes, ${tokens} tokens identical to r50k_base (${((performance.now() - t0) / 1000).toFixed(1)} s for both encoders)`);
});

test("GPT-2's tokenizer round-trips through vocab.json + merges.txt, tokenizer.json and tsgrad's JSON", () => {
  const ids = [...gpt2.encode(sample)];
  const written = gpt2TokenizerFiles(gpt2);
  assert.equal(written['vocab.json'], files.vocab, 'vocab.json as read');
  assert.equal(written['merges.txt'], files.merges, 'merges.txt as read');

  const hf = hfTokenizerJson(gpt2);
  const fromHf = readHfTokenizer(hf);
  assert.deepEqual([...fromHf.encode(sample)], ids);
  assert.equal(hfTokenizerJson(fromHf), hf, 'tokenizer.json: write -> read -> write is the same file');
  assert.deepEqual(JSON.parse(hf).added_tokens.map((t: { id: number; content: string }) => [t.id, t.content]), [[50256, '<|endoftext|>']]);
  // Hugging Face's newer merges form, pairs instead of "a b" strings, reads the same.
  const pairs = JSON.parse(hf);
  pairs.model.merges = pairs.model.merges.map((m: string) => m.split(' '));
  assert.deepEqual([...readHfTokenizer(JSON.stringify(pairs)).encode(sample)], ids);

  const json = gpt2.toJSON();
  assert.ok(json.kind === 'bpe' && json.byteOrder?.length === 256 && json.specialTokens?.[0] === '<|endoftext|>');
  const back = tokenizerFromJSON(JSON.stringify(json)) as BpeTokenizer;
  assert.deepEqual([...back.encode(sample)], ids);
  assert.deepEqual(back.toJSON(), json);
  // Bytes in, as read from disk.
  const enc = new TextEncoder();
  assert.deepEqual([...readGpt2Tokenizer(enc.encode(files.vocab), enc.encode(files.merges)).encode(sample)], ids);
});

test("a tokenizer trained here round-trips through both file formats and keeps tsgrad's JSON", () => {
  const tok = trainBpe(texts[0].text.slice(0, 60_000), 700);
  const json = tok.toJSON();
  assert.deepEqual(Object.keys(json), ['kind', 'merges'], 'saved as before: no byte order, no special tokens');
  const ids = [...tok.encode(sample)];

  const pair = gpt2TokenizerFiles(tok);
  const fromPair = readGpt2Tokenizer(pair['vocab.json'], pair['merges.txt']);
  assert.deepEqual(fromPair.toJSON(), json);
  assert.deepEqual([...fromPair.encode(sample)], ids);
  assert.deepEqual(gpt2TokenizerFiles(fromPair), pair);

  const hf = hfTokenizerJson(tok);
  const fromHf = readHfTokenizer(hf);
  assert.deepEqual(fromHf.toJSON(), json);
  assert.deepEqual([...fromHf.encode(sample)], ids);
  assert.equal(hfTokenizerJson(fromHf), hf);
  assert.equal(fromHf.decode(ids), sample);
});

test('bad tokenizer files are one line naming the file', () => {
  const tok = trainBpe('the cat sat on the mat; the cat ate the rat. ', 270);
  const { 'vocab.json': vocab, 'merges.txt': merges } = gpt2TokenizerFiles(tok);
  const v = JSON.parse(vocab);
  const lines = merges.split('\n');
  const hf = JSON.parse(hfTokenizerJson(tok));
  const edit = (f: (j: typeof hf) => void): string => {
    const j = structuredClone(hf);
    f(j);
    return JSON.stringify(j);
  };

  assert.throws(() => readGpt2Tokenizer('{"a": 0,', merges), userError(/^vocab\.json: not valid JSON/));
  assert.throws(() => readGpt2Tokenizer('[]', merges), userError(/^vocab\.json: must be an object/));
  const noSpace = { ...v };
  delete noSpace['Ġ'];
  assert.throws(() => readGpt2Tokenizer(JSON.stringify(noSpace), merges), userError(/^vocab\.json: has no token (with id|for byte 32)/));
  assert.throws(() => readGpt2Tokenizer(JSON.stringify({ ...v, h: 'x' }), merges), userError(/^vocab\.json: h must be an integer/));
  const unknown = [...lines];
  unknown[3] = 'zz qq';
  assert.throws(() => readGpt2Tokenizer(vocab, unknown.join('\n')), userError(/^merges\.txt: line 4 names "zz", which is not in vocab\.json$/));
  const three = [...lines];
  three[2] = 'a b c';
  assert.throws(() => readGpt2Tokenizer(vocab, three.join('\n')), userError(/^merges\.txt: line 3 must be two tokens separated by one space/));
  const swapped = [lines[0], lines[2], lines[1], ...lines.slice(3)];
  assert.throws(() => readGpt2Tokenizer(vocab, swapped.join('\n')), userError(/^merges\.txt: line 2 makes ".*", which vocab\.json numbers 257; tsgrad needs merge 0 to make id 256$/));
  assert.throws(() => readGpt2Tokenizer('{', merges, { vocabFile: 'gpt2/vocab.json' }), userError(/^gpt2\/vocab\.json: not valid JSON/));
  assert.throws(() => readGpt2Tokenizer(Uint8Array.of(0xff, 0xfe), merges), userError(/^vocab\.json: not valid UTF-8$/));

  assert.throws(() => readHfTokenizer('{"model": '), userError(/^tokenizer\.json: not valid JSON/));
  assert.throws(() => readHfTokenizer(edit((j) => delete j.model)), userError(/^tokenizer\.json: model must be an object, got nothing$/));
  assert.throws(() => readHfTokenizer(edit((j) => delete j.model.vocab)), userError(/^tokenizer\.json: model\.vocab must be an object, got nothing$/));
  assert.throws(() => readHfTokenizer(edit((j) => (j.model.type = 'WordPiece'))), userError(/^tokenizer\.json: model\.type must be one of BPE/));
  assert.throws(() => readHfTokenizer(edit((j) => (j.model.merges[2] = 'Ġzz q'))), userError(/^tokenizer\.json: model\.merges\[2\] names "Ġzz", which is not in the vocab$/));
  assert.throws(() => readHfTokenizer(edit((j) => (j.pre_tokenizer.add_prefix_space = true))), userError(/^tokenizer\.json: pre_tokenizer\.add_prefix_space must be false/));
  assert.throws(() => readHfTokenizer(edit((j) => (j.normalizer = { type: 'NFC' }))), userError(/^tokenizer\.json: normalizer must be null/));
  assert.throws(() => readHfTokenizer(edit((j) => j.added_tokens.push({ id: 3, content: '<x>' }))), userError(/^tokenizer\.json: added_tokens\[0\] gives id 3 to "<x>"/));

  const json = tok.toJSON();
  assert.ok(json.kind === 'bpe');
  const order = Array.from({ length: 256 }, (_, i) => i);
  order[5] = 4;
  assert.throws(() => tokenizerFromJSON({ ...json, byteOrder: order }), userError(/^tokenizer JSON: byteOrder\[5\] repeats byte 4, already at index 4$/));
  assert.throws(() => tokenizerFromJSON({ ...json, specialTokens: ['<a>', '<a>'] }), userError(/^tokenizer JSON: specialTokens\[1\] repeats "<a>"/));
  assert.throws(() => gpt2.specialId('<|pad|>'), userError(/no special token "<\|pad\|>"/));
});
