// Text for language models: the Brown corpus as plain English (size, no tags, spacing on real
// sentences), user text files and their errors, the train/validation split; the character and
// byte-level BPE tokenizers (exact round trips, compression on held-out text, determinism, JSON).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { TsgradError } from '../src/core/errors.js';
import { loadBrown, loadText, splitText } from '../src/data/text.js';
import { charTokenizer, tokenizerFromJSON, trainBpe, type BpeTokenizer } from '../src/data/tokenizer.js';
import { tensor } from '../src/tensor/tensor.js';
import { tempDir } from './helpers.js';

/** For assert.throws: a TsgradError of one line matching `re`. */
const userError = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TsgradError, `expected a TsgradError, got ${e}`);
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
};
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const brown = loadBrown();

function tempFile(name: string, content: string | Uint8Array): string {
  const dir = tempDir('text');
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

test('the Brown corpus loads as about 6 MB of text with no tags left', () => {
  // Measured: 5,975,796 characters (all ASCII), 1.01 million words, 74,328 lines.
  assert.ok(brown.length > 5_900_000 && brown.length < 6_050_000, `length ${brown.length}`);
  const words = brown.split(/\s+/).length;
  assert.ok(words > 1_000_000 && words < 1_020_000, `${words} words`);
  assert.doesNotMatch(brown, /[A-Za-z]\/(at|nn|nns|np|vb|vbd|in|jj|cc|rb)(-tl|-hl)?(?=\s|$)/m, 'a word/tag token is left');
  assert.doesNotMatch(brown, /``|''|\t/);
  assert.ok(brown.startsWith('The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.\n\nThe jury further said'));
  assert.ok(brown.endsWith('.\n'));
});

test('Brown spacing: punctuation, quotes, brackets, dashes and headings read as print', () => {
  const lines = new Set(brown.split('\n'));
  for (const sentence of [
    // commas, a closing quote before a comma, `Jr. .` as one full stop
    'The September-October term jury had been charged by Fulton Superior Court Judge Durwood Pye to investigate reports of possible "irregularities" in the hard-fought primary which was won by Mayor-nominate Ivan Allen Jr.',
    '"Only a relative handful of such reports was received", the jury said, "considering the widespread interest in the election, the number of voters and the size of this city".',
    // brackets
    'Barber, who is in his 13th year as a legislator, said there "are some members of our congressional delegation in Washington who would like to see it (the resolution) passed".',
    'He affected (most properly) not to understand my point.',
    // single quotes inside double quotes, a dash
    '"We\'re getting more \'pro\' letters than \'con\' on horse race betting", said Ratcliff.',
    'He promised nearly 200 Democratic county committee members at the meeting in the Puddingstone Inn: "When I come back here after the November election you\'ll think, \'You\'re my man--you\'re the kind of governor we\'re glad we elected\'".',
    '"It\'s \'See Joe, see Jim\'", he says.',
    // dollars, inches
    'Vandiver likely will mention the $100 million highway bond issue approved earlier in the session as his first priority item.',
    'Now when Henri was just 12 he was only 4\' 10" tall and weighed an astounding 72 pounds, and his greatest desire was to pack on some weight.',
  ]) {
    assert.ok(lines.has(sentence), `missing line: ${sentence}`);
  }
  // A heading stands alone between blank lines.
  assert.ok(brown.includes('\n\nMerger proposed\n\nHowever, the jury said it believes "these two offices'));
  // No space before closing punctuation or after an opening bracket anywhere (one real exception: a
  // race time written `:35.3`).
  const spaced = brown.match(/ [,;!?)]|[ (][.:] |\( /g) ?? [];
  assert.deepEqual(spaced, []);
});

test('loadText reads UTF-8 files, normalising line endings; bad files name themselves', () => {
  assert.equal(loadText(tempFile('ok.txt', 'héllo 🙂\r\nworld\r\n')), 'héllo 🙂\nworld\n');
  const missing = path.join(os.tmpdir(), 'tsgrad-no-such-file.txt');
  const bad = (file: string, why: string) => assert.throws(() => loadText(file), userError(new RegExp(`^${escape(file)}: ${escape(why)}$`)));
  assert.throws(() => loadText(missing), userError(new RegExp(`^no such text file: ${escape(missing)}$`)));
  const dir = tempDir('text');
  bad(dir, 'is a folder, not a text file');
  bad(tempFile('empty.txt', ''), 'the text file is empty');
  bad(tempFile('blank.txt', ' \n\r\n\t\n'), 'the text file holds only whitespace');
  bad(tempFile('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a])), 'not valid UTF-8 text (byte 0xe9 at offset 3)'); // "café" in Latin-1
  bad(tempFile('cut.txt', new Uint8Array([0x61, 0x62, 0xe2, 0x82])), 'not valid UTF-8 text (byte 0xe2 at offset 2)'); // a character cut short
  bad(tempFile('surrogate.txt', new Uint8Array([0x61, 0xed, 0xa0, 0x80])), 'not valid UTF-8 text (byte 0xed at offset 1)');
  bad(tempFile('overlong.txt', new Uint8Array([0xc0, 0xaf])), 'not valid UTF-8 text (byte 0xc0 at offset 0)');
  bad(tempFile('utf16.txt', Buffer.from('\ufeffhello', 'utf16le')), 'a binary file, not text (a NUL byte at offset 3; UTF-16 text must be saved as UTF-8)');
  bad(tempFile('image.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])), 'a binary file, not text (a NUL byte at offset 8; UTF-16 text must be saved as UTF-8)');
  assert.equal(loadText(tempFile('bom.txt', '\ufeffhi\n')), 'hi\n');
  assert.deepEqual([...tensor([1, 2, 3, 4]).add(tensor([10, 20, 30, 40])).dataSync()], [11, 22, 33, 44]);
});

test('splitText takes the validation part from the end, on a line boundary', () => {
  const { train, validation } = splitText(brown, 0.1);
  assert.equal(train + validation, brown);
  assert.ok(train.endsWith('\n'));
  const fraction = validation.length / brown.length;
  assert.ok(fraction > 0.0999 && fraction <= 0.1001, `validation fraction ${fraction}`);
  assert.deepEqual(splitText('ab\ncd\nef\n', 0.5), { train: 'ab\n', validation: 'cd\nef\n' });
  assert.deepEqual(splitText('abcdef\nx', 0.9), { train: 'abcdef\n', validation: 'x' });
  assert.throws(() => splitText('one line only', 0.2, { source: 'one.txt' }),
    userError(/^one\.txt: cannot split it at a line boundary for a validation fraction of 0.2: it needs more lines$/));
  // Too small for the block: each part needs block + 1 characters for a character model.
  const text = 'a line of text\n'.repeat(10);
  assert.deepEqual(splitText(text, 0.1, { minLength: 15 }), splitText(text, 0.1));
  assert.throws(() => splitText(text, 0.1, { minLength: 65, source: 'small.txt' }),
    userError(/^small\.txt: too small: its validation part has 15 characters, fewer than the 65 a window needs; give more text or a smaller block$/));
  assert.throws(() => splitText(text, 0.1, { minLength: 200, source: 'small.txt' }),
    userError(/^small\.txt: too small: its training part has 135 characters, fewer than the 200 a window needs/));
  assert.throws(() => splitText('a\nb\n', 0), TsgradError);
  assert.throws(() => splitText('a\nb\n', 1), TsgradError);
});

const TRICKY = [
  '', '\n', '\n\n\n', ' ', 'a', 'héllo wörld, naïve café', 'e\u0301 (combining accent)', '中文字符 日本語のテキスト 한국어',
  '🙂👍🏽 family: 👨‍👩‍👧 flags 🇫🇷', 'tabs\tand  double  spaces \r\n end  ', "it's can't we'll 'quoted'", '\0 nul \uFFFD \u{10FFFF}',
  'x'.repeat(1000), brown.slice(0, 2000),
];

test('char tokenizer: sorted vocabulary of code points, exact round trips, unknown characters are errors', () => {
  const tok = charTokenizer('ba🙂a\n');
  assert.equal(tok.kind, 'char');
  assert.deepEqual(tok.chars, ['\n', 'a', 'b', '🙂']);
  assert.equal(tok.vocabSize, 4);
  assert.deepEqual([...tok.encode('a🙂b\n')], [1, 3, 2, 0]);
  const all = charTokenizer(TRICKY.join(''));
  for (const s of TRICKY) assert.equal(all.decode(all.encode(s)), s);
  const full = charTokenizer(brown);
  assert.equal(full.vocabSize, 85); // measured: the corpus is plain ASCII
  const sample = brown.slice(1_000_000, 1_100_000);
  assert.equal(full.decode(full.encode(sample)), sample);
  assert.throws(() => tok.encode('ab€'), (e: unknown) => e instanceof TsgradError && e.message.includes('"€"') && e.message.includes('U+20AC') && e.message.includes('index 2'));
  assert.throws(() => tok.decode([0, 4]), (e: unknown) => e instanceof TsgradError && /token id 4 at position 1/.test(e.message));
  assert.throws(() => tok.decode([1.5]), TsgradError);
  assert.throws(() => charTokenizer(''), TsgradError);
});

// One tokenizer trained on the start of the corpus serves the BPE tests (~0.2 s).
const bpeTrain = brown.slice(0, 500_000);
const heldOut = brown.slice(-200_000);
const bpe = trainBpe(bpeTrain, 2048);

test('byte-level BPE round-trips any string exactly', () => {
  assert.equal(bpe.kind, 'bpe');
  assert.equal(bpe.vocabSize, 2048);
  for (const s of TRICKY) assert.equal(bpe.decode(bpe.encode(s)), s, JSON.stringify(s.slice(0, 40)));
  assert.equal(bpe.encode('').length, 0);
  // Merges of multi-byte characters round-trip too.
  const multi = trainBpe(TRICKY.join(' ').repeat(3), 400);
  assert.ok(multi.vocabSize > 300);
  for (const s of TRICKY) assert.equal(multi.decode(multi.encode(s)), s);
  assert.equal(bpe.decode(bpe.encode(heldOut)), heldOut);
});

test('BPE merges compress held-out English and never cross a word boundary', () => {
  // Measured on the last 200,000 characters, training on the first 500,000: 1.99 chars per token at
  // vocab 512, 2.44 at 1024, 2.80 at 2048 (3.03 at 2048 on the whole corpus, in sample).
  const ratio = (tok: BpeTokenizer) => heldOut.length / tok.encode(heldOut).length;
  assert.equal(ratio(trainBpe(bpeTrain, 256)), 1); // no merges: one byte per token
  const r1024 = ratio(trainBpe(bpeTrain, 1024));
  const r2048 = ratio(bpe);
  assert.ok(r1024 > 2.3, `vocab 1024: ${r1024} chars per token`);
  assert.ok(r2048 > 2.65 && r2048 > r1024, `vocab 2048: ${r2048} chars per token`);
  for (let id = 0; id < bpe.vocabSize; id++) {
    const piece = bpe.decode([id]);
    assert.doesNotMatch(piece, /\S\s|[a-z][.,;]/i, `token ${id} ${JSON.stringify(piece)} crosses a word boundary`);
  }
  assert.ok(bpe.encode(' the').length === 1 && bpe.encode(' jury').length <= 2);
});

test('BPE training is deterministic and agrees with a naive recount-every-merge trainer', () => {
  assert.deepEqual(trainBpe(bpeTrain, 2048).merges, bpe.merges);
  // The reference recounts every pair over every word for each merge; ties go to the smallest pair.
  const text = brown.slice(200_000, 230_000);
  const words = (text.match(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) ?? [])
    .map((w) => Array.from(new TextEncoder().encode(w)));
  const expected: [number, number][] = [];
  for (let id = 256; id < 400; id++) {
    const counts = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) counts.set(`${w[i]},${w[i + 1]}`, (counts.get(`${w[i]},${w[i + 1]}`) ?? 0) + 1);
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number);
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) [best, bestCount] = [[a, b], c];
    }
    if (!best) break;
    expected.push(best);
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === best[0] && w[i + 1] === best[1]) w.splice(i, 2, id);
    }
  }
  assert.deepEqual(trainBpe(text, 400).merges, expected);
});

test('tokenizers saved as JSON load back with identical encodings', () => {
  const char = charTokenizer(brown.slice(0, 100_000));
  for (const tok of [bpe, char]) {
    const loaded = tokenizerFromJSON(JSON.parse(JSON.stringify(tok)));
    assert.equal(loaded.kind, tok.kind);
    assert.equal(loaded.vocabSize, tok.vocabSize);
    const sample = brown.slice(50_000, 60_000);
    assert.deepEqual(loaded.encode(sample), tok.encode(sample));
    assert.deepEqual(tokenizerFromJSON(JSON.stringify(tok)).encode(sample), tok.encode(sample));
  }
});

test('bad tokenizer input is a clear error', () => {
  assert.throws(() => trainBpe('abc', 100), /vocabSize must be an integer from 256/);
  assert.throws(() => trainBpe('abc', 300.5), TsgradError);
  assert.throws(() => bpe.decode([2048]), /token id 2048 at position 0 is not in the vocabulary/);
  const bad = (json: string, re: RegExp) => assert.throws(() => tokenizerFromJSON(json, 'tok.json'), userError(re));
  bad('{"kind": "bpe", "merges": [[1, 2], [300, 5]]}', /^tok\.json: merges\[1\]\[0\] must be an integer from 0 to 256, got 300$/);
  bad('{"kind": "bpe", "merges": [[1, 2], [1, 2]]}', /^tok\.json: merges\[1\] \[1, 2\] repeats merge 0$/);
  bad('{"kind": "bpe", "merges": [[1, -2]]}', /^tok\.json: merges\[0\]\[1\] must be an integer from 0 to 255, got -2$/);
  bad('{"kind": "bpe", "merges": [[1, 2.5]]}', /^tok\.json: merges\[0\]\[1\] must be an integer from 0 to 255, got 2.5$/);
  bad('{"kind": "bpe", "merges": [[1, "2"]]}', /^tok\.json: merges\[0\]\[1\] must be an integer from 0 to 255, got "2"$/);
  bad('{"kind": "bpe", "merges": [[1]]}', /^tok\.json: merges\[0\] must be a pair \[id, id\], got 1 ids$/);
  bad('{"kind": "bpe", "merges": [[1, 2, 3]]}', /^tok\.json: merges\[0\] has 3 elements, more than the 2 allowed$/);
  bad('{"kind": "bpe", "merges": {}}', /^tok\.json: merges must be an array, got an object$/);
  bad('{"kind": "bpe"}', /^tok\.json: merges must be an array, got nothing$/);
  bad(`{"kind": "bpe", "merges": [${Array(1 << 20).fill('[1,2]').join(',')}]}`, /^tok\.json: merges has 1048576 elements, more than the 1048320 allowed$/);
  // Each merge of the last token with itself doubles its length: 17 of them would make 128 kB tokens.
  const doubling = JSON.stringify({ kind: 'bpe', merges: [[97, 97], ...Array.from({ length: 40 }, (_, i) => [256 + i, 256 + i])] });
  bad(doubling, /^tok\.json: merges\[16\] makes a token of 131072 bytes \(\d+ in all\); tsgrad allows 65536 per token and 67108864 in all$/);
  bad('{"kind": "word"}', /^tok\.json: kind must be one of char, bpe, got "word"$/);
  bad('[]', /^tok\.json: must be an object, got an array$/);
  bad('null', /^tok\.json: must be an object, got null$/);
  bad('{"kind": "char", "chars": ["a", "ab"]}', /^tok\.json: chars\[1\] must be one character, got "ab"$/);
  bad('{"kind": "char", "chars": ["a", ""]}', /^tok\.json: chars\[1\] must be one character, got ""$/);
  bad('{"kind": "char", "chars": ["a", "a"]}', /^tok\.json: chars\[1\] repeats "a", already at index 0$/);
  bad('{"kind": "char", "chars": ["a", 7]}', /^tok\.json: chars\[1\] must be a string, got 7$/);
  bad('not json', /^tok\.json: not valid JSON \(Unexpected token/);
  assert.throws(() => tokenizerFromJSON('{"kind": "bpe", "merges": [[1, 2], [300, 5]]}'), userError(/^tokenizer JSON: merges\[1\]\[0\]/));
  assert.deepEqual([...tensor([1, 2, 3, 4]).add(tensor([10, 20, 30, 40])).dataSync()], [11, 22, 33, 44]);
  // Training stops when no pair is left to merge: 'abab' gives 'ab', then 'abab'.
  assert.equal(trainBpe('abab', 1000).vocabSize, 258);
});
