// Numbers 0..9999 in US English words, as the captioner writes them: no "and", hyphenated tens
// ("four hundred seven", "three thousand fifty-one", "nine thousand nine hundred ninety-nine"),
// the inverse, and the word vocabulary of a word-level caption tokenizer.
// Not for: other ranges, ordinals, British "and", or the tokenizer's special tokens (the model's).

import { TsgradError } from '../core/errors.js';

const UNITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine',
  'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** The largest number with a caption. */
export const MAX_CAPTION_NUMBER = 9999;

/**
 * Every word a caption can hold, in a fixed order (a word-level tokenizer's ids follow it): 30
 * words. "forty-two" is two tokens, "forty" and "two", with no token for the hyphen: below 10000 a
 * tens word is followed either by nothing or by a unit word, and that pair is always hyphenated,
 * so joinCaptionWords puts the hyphen back exactly. One token per compound would take 102 words
 * (72 of them compounds the model must learn one by one); a "-" token would carry no information
 * and lengthen every sequence.
 */
export const CAPTION_WORDS: readonly string[] = [...UNITS, ...TENS.slice(2), 'hundred', 'thousand'];

/** `n` (an integer 0..9999) in US English words. */
export function numberToWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > MAX_CAPTION_NUMBER) {
    throw new TsgradError(`numberToWords: expected an integer from 0 to ${MAX_CAPTION_NUMBER}, got ${n}`);
  }
  if (n === 0) return 'zero';
  const words: string[] = [];
  const thousands = Math.floor(n / 1000);
  const hundreds = Math.floor(n / 100) % 10;
  const rest = n % 100;
  if (thousands) words.push(UNITS[thousands], 'thousand');
  if (hundreds) words.push(UNITS[hundreds], 'hundred');
  if (rest >= 20) words.push(rest % 10 ? `${TENS[Math.floor(rest / 10)]}-${UNITS[rest % 10]}` : TENS[rest / 10]);
  else if (rest) words.push(UNITS[rest]);
  return words.join(' ');
}

/** A caption's tokens: split at spaces and hyphens ("forty-two" -> "forty", "two"). */
export function captionWords(caption: string): string[] {
  return caption.split(/[ -]/).filter((w) => w.length > 0);
}

const isTens = (w: string | undefined) => w !== undefined && TENS.indexOf(w) >= 2;
const isDigitWord = (w: string | undefined) => w !== undefined && UNITS.indexOf(w) >= 1 && UNITS.indexOf(w) <= 9;

/** Tokens back into a caption: spaces between words, a hyphen between a tens word and a unit word. */
export function joinCaptionWords(words: readonly string[]): string {
  return words.map((w, i) => (i === 0 ? w : isTens(words[i - 1]) && isDigitWord(w) ? `-${w}` : ` ${w}`)).join('');
}

const VALUE = new Map<string, number>([...UNITS.map((w, i) => [w, i] as const), ...TENS.map((w, i) => [w, i * 10] as const).slice(2)]);

/**
 * The number a caption names, or null when it is not exactly a caption numberToWords would write
 * ("forty two", "one hundred and seven", "zero zero", "ten thousand" are all null). Takes the
 * caption as a string, or its tokens (captionWords' output, e.g. a decoder's words).
 */
export function wordsToNumber(words: string | readonly string[]): number | null {
  const caption = typeof words === 'string' ? words : joinCaptionWords(words);
  const tokens = captionWords(caption);
  if (tokens.length === 0 || tokens.length > 7) return null;
  let total = 0;
  let current = 0;
  for (const w of tokens) {
    const v = VALUE.get(w);
    if (v !== undefined) current += v;
    else if (w === 'hundred') current *= 100;
    else if (w === 'thousand') (total += current * 1000), (current = 0);
    else return null;
  }
  const n = total + current;
  // The loose sum above accepts many non-captions; only the one canonical spelling counts.
  return n <= MAX_CAPTION_NUMBER && numberToWords(n) === caption ? n : null;
}
