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

const brown = loadBrown();

function tempFile(name: string, content: string | Uint8Array): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-text-'));
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
  assert.throws(() => loadText(missing), (e: unknown) => e instanceof TsgradError && e.message.includes(missing) && /no such/.test(e.message));
  const empty = tempFile('empty.txt', '');
  assert.throws(() => loadText(empty), (e: unknown) => e instanceof TsgradError && e.message.includes(empty) && /empty/.test(e.message));
  const binary = tempFile('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
  assert.throws(() => loadText(binary), (e: unknown) => e instanceof TsgradError && e.message.includes(binary) && /UTF-8/.test(e.message));
  assert.throws(() => loadText(os.tmpdir()), TsgradError);
});

test('splitText takes the validation part from the end, on a line boundary', () => {
  const { train, validation } = splitText(brown, 0.1);
  assert.equal(train + validation, brown);
  assert.ok(train.endsWith('\n'));
  const fraction = validation.length / brown.length;
  assert.ok(fraction > 0.0999 && fraction <= 0.1001, `validation fraction ${fraction}`);
  assert.deepEqual(splitText('ab\ncd\nef\n', 0.5), { train: 'ab\n', validation: 'cd\nef\n' });
  assert.deepEqual(splitText('abcdef\nx', 0.9), { train: 'abcdef\n', validation: 'x' });
  assert.throws(() => splitText('one line only', 0.2), TsgradError);
  assert.throws(() => splitText('a\nb\n', 0), TsgradError);
  assert.throws(() => splitText('a\nb\n', 1), TsgradError);
});
