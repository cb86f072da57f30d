// The captioner's data: numbers in words (a table of known cases, the round trip over 0..9999, the
// vocabulary), the image generator (determinism, training digits only for training and test digits
// only for testing, checked by index; shapes, range, ink where the digits are, speed), and
// `tsgrad caption data` (the files it writes; bad flags and an existing --out in one line).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { CAPTION_HEIGHT, CAPTION_WIDTH, captionDataset, captionDigits, captionSample } from '../src/data/captions.js';
import { loadMnist, type MnistSplit } from '../src/data/mnist.js';
import { CAPTION_WORDS, captionWords, joinCaptionWords, numberToWords, wordsToNumber } from '../src/data/numbers.js';
import { decodePng } from '../src/io/image.js';
import { tempDir, writeSmallMnist } from './helpers.js';


const TABLE: [number, string][] = [
  [0, 'zero'], [1, 'one'], [7, 'seven'], [9, 'nine'], [10, 'ten'], [11, 'eleven'], [12, 'twelve'], [13, 'thirteen'],
  [15, 'fifteen'], [19, 'nineteen'], [20, 'twenty'], [21, 'twenty-one'], [30, 'thirty'], [42, 'forty-two'],
  [58, 'fifty-eight'], [70, 'seventy'], [99, 'ninety-nine'], [100, 'one hundred'], [101, 'one hundred one'],
  [110, 'one hundred ten'], [115, 'one hundred fifteen'], [120, 'one hundred twenty'], [407, 'four hundred seven'],
  [512, 'five hundred twelve'], [999, 'nine hundred ninety-nine'], [1000, 'one thousand'], [1001, 'one thousand one'],
  [1010, 'one thousand ten'], [1019, 'one thousand nineteen'], [1100, 'one thousand one hundred'],
  [1234, 'one thousand two hundred thirty-four'], [2000, 'two thousand'], [2020, 'two thousand twenty'],
  [3051, 'three thousand fifty-one'], [4004, 'four thousand four'], [5600, 'five thousand six hundred'],
  [6090, 'six thousand ninety'], [7007, 'seven thousand seven'], [8018, 'eight thousand eighteen'],
  [8888, 'eight thousand eight hundred eighty-eight'], [9090, 'nine thousand ninety'],
  [9900, 'nine thousand nine hundred'], [9999, 'nine thousand nine hundred ninety-nine'],
];

test('numberToWords matches a table of known US English numbers; wordsToNumber inverts it', () => {
  assert.ok(TABLE.length >= 40);
  for (const [n, words] of TABLE) {
    assert.equal(numberToWords(n), words, String(n));
    assert.equal(wordsToNumber(words), n, words);
  }
});

test('every number 0..9999 round-trips through words and through tokens of the 30-word vocabulary', () => {
  assert.equal(CAPTION_WORDS.length, 30);
  assert.equal(new Set(CAPTION_WORDS).size, 30);
  const seen = new Set<string>();
  for (let n = 0; n <= 9999; n++) {
    const caption = numberToWords(n);
    assert.ok(!caption.includes(' and '));
    assert.equal(wordsToNumber(caption), n);
    const tokens = captionWords(caption);
    for (const t of tokens) assert.ok(CAPTION_WORDS.includes(t), t);
    tokens.forEach((t) => seen.add(t));
    assert.equal(joinCaptionWords(tokens), caption);
    assert.equal(wordsToNumber(tokens), n);
  }
  assert.equal(seen.size, 30, 'every word of the vocabulary is used');
});

test('wordsToNumber is null for anything but a caption; numberToWords refuses numbers outside 0..9999', () => {
  for (const bad of ['', 'forty two', 'one hundred and seven', 'zero zero', 'zero one', 'ten thousand', 'hundred', 'one hundred zero',
    'twenty-ten', 'fourteen hundred', 'one thousand thousand', 'two-forty', 'Seven', ' seven', 'seven ', 'eleventy', 'one hundred one hundred']) {
    assert.equal(wordsToNumber(bad), null, JSON.stringify(bad));
  }
  assert.equal(wordsToNumber(['forty', 'two']), 42);
  assert.equal(wordsToNumber(['two', 'forty']), null);
  for (const bad of [-1, 10000, 1.5, NaN]) assert.throws(() => numberToWords(bad), /integer from 0 to 9999/);
});

let splits: { train: MnistSplit; test: MnistSplit } | undefined;
/** Both MNIST splits, loaded once, when a test first needs them. */
const mnist = () => (splits ??= { train: loadMnist({ split: 'train' }), test: loadMnist({ split: 'test' }) });

test('the same seed gives the same images and captions; another seed gives others', () => {
  const a = captionDataset({ split: 'train', count: 50, seed: 5, mnist: mnist().train });
  const b = captionDataset({ split: 'train', count: 50, seed: 5, mnist: mnist().train });
  const c = captionDataset({ split: 'train', count: 50, seed: 6, mnist: mnist().train });
  assert.deepEqual(a.images, b.images);
  assert.deepEqual(a.captions, b.captions);
  assert.deepEqual(a.digits, b.digits);
  assert.notDeepEqual(a.captions, c.captions);
  assert.deepEqual(a.shape, [50, CAPTION_HEIGHT, CAPTION_WIDTH, 1]);
});

test('training images use only MNIST training digits and test images only test digits (by index), each of the right digit', () => {
  const count = 3000;
  const trainSet = captionDataset({ split: 'train', count, seed: 1, mnist: mnist().train });
  const testSet = captionDataset({ split: 'test', count, seed: 1, mnist: mnist().test });
  // MNIST's own numbering of all 70,000 images: the training images first, then the test images.
  const global = (split: 'train' | 'test', i: number) => (split === 'train' ? i : mnist().train.count + i);
  const used = { train: new Set<number>(), test: new Set<number>() };
  for (const [set, split] of [[trainSet, mnist().train], [testSet, mnist().test]] as const) {
    for (let i = 0; i < count; i++) {
      const digits = set.digits[i];
      assert.equal(digits.map((d) => split.labels[d]).join(''), String(set.numbers[i]), 'each source image shows its digit');
      for (const d of digits) {
        assert.ok(Number.isInteger(d) && d >= 0 && d < split.count);
        used[set.split].add(global(set.split, d));
      }
    }
  }
  for (const g of used.train) assert.ok(g < mnist().train.count && !used.test.has(g));
  for (const g of used.test) assert.ok(g >= mnist().train.count && !used.train.has(g));
  assert.ok(used.train.size > 3000 && used.test.size > 3000);
});

test('numbers: digit counts uniform in 1..4, no leading zeros, captions are numberToWords', () => {
  const set = captionDataset({ split: 'test', count: 4000, seed: 2, mnist: mnist().test });
  const byLength = [0, 0, 0, 0];
  for (let i = 0; i < set.count; i++) {
    const n = set.numbers[i];
    byLength[String(n).length - 1]++;
    assert.equal(set.captions[i], numberToWords(n));
    assert.equal(set.digits[i].length, String(n).length);
  }
  for (const c of byLength) assert.ok(c > 850 && c < 1150, `digit counts ${byLength}`);
});

test('images: 28x112 in [0, 1], black background, ink inside each digit\'s box, and thousands per second', () => {
  const digits = captionDigits(mnist().train, 'train');
  const rng = new Rng(3);
  let wide = 0;
  for (let k = 0; k < 500; k++) {
    const s = captionSample(rng, digits);
    assert.equal(s.image.length, CAPTION_HEIGHT * CAPTION_WIDTH);
    let max = 0, inked = 0;
    for (const v of s.image) {
      assert.ok(v >= 0 && v <= 1);
      max = Math.max(max, v);
      if (v > 0.5) inked++;
    }
    assert.ok(max > 0.5 && inked < s.image.length / 2, 'white ink on black');
    assert.equal(s.boxes.length, String(s.number).length);
    for (const b of s.boxes) {
      assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.width <= CAPTION_WIDTH && b.y + b.height <= CAPTION_HEIGHT);
      let ink = 0;
      for (let y = b.y; y < b.y + b.height; y++) for (let x = b.x; x < b.x + b.width; x++) ink += s.image[y * CAPTION_WIDTH + x];
      assert.ok(ink > 3, `ink in the box of a digit of ${s.number}`);
    }
    // Columns outside every box are empty.
    for (let x = 0; x < CAPTION_WIDTH; x++) {
      if (s.boxes.some((b) => x >= b.x && x < b.x + b.width)) continue;
      for (let y = 0; y < CAPTION_HEIGHT; y++) assert.equal(s.image[y * CAPTION_WIDTH + x], 0);
    }
    if (s.boxes.at(-1)!.x + s.boxes.at(-1)!.width - s.boxes[0].x > 70) wide++;
  }
  assert.ok(wide > 10, 'some numbers spread wide');
});

test('captionDigits refuses a split missing a digit, in one line', () => {
  const ones = { images: new Float32Array(784 * 3), labels: [1, 1, 2], count: 3 };
  assert.throws(() => captionDigits(ones, 'train'), /no image of the digit 0/);
});

const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('caption-data');
const mnistDir = path.join(work, 'mnist');
writeSmallMnist(mnistDir, 200, 200);

function tsgrad(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'caption', 'data', ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('tsgrad caption data writes PNGs (dark on white) and captions.jsonl; the same seed writes the same files', () => {
  const r = tsgrad('--out', 'set', '--count', '12', '--split', 'test', '--seed', '9', '--data', mnistDir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Wrote 12 images/);
  const lines = fs.readFileSync(path.join(work, 'set', 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 12);
  const expected = captionDataset({ split: 'test', count: 12, seed: 9, mnist: loadMnist({ dir: mnistDir, split: 'test' }) });
  lines.forEach((l, i) => {
    assert.deepEqual(l, { file: `${String(i).padStart(6, '0')}.png`, caption: expected.captions[i], number: expected.numbers[i], split: 'test', digits: expected.digits[i] });
    const img = decodePng(path.join(work, 'set', l.file));
    assert.equal(img.width, CAPTION_WIDTH);
    assert.equal(img.height, CAPTION_HEIGHT);
    for (let p = 0; p < img.width * img.height; p++) {
      const want: number = 255 - Math.round(255 * expected.images[i * img.width * img.height + p]);
      assert.equal(img.rgba[p * 4], want);
    }
  });
  // An existing folder: refused without --force, replaced with it.
  const again = tsgrad('--out', 'set', '--count', '3', '--data', mnistDir);
  assert.equal(again.code, 1);
  assert.equal(again.err, 'tsgrad: --out set already exists: give --force to replace it\n');
  assert.equal(fs.readdirSync(path.join(work, 'set')).length, 13, 'nothing changed');
  assert.equal(tsgrad('--out', 'set', '--count', '3', '--data', mnistDir, '--force').code, 0);
  assert.equal(fs.readdirSync(path.join(work, 'set')).length, 4);
  // A folder that is not ours is never replaced.
  fs.mkdirSync(path.join(work, 'mine'));
  fs.writeFileSync(path.join(work, 'mine', 'notes.txt'), 'keep');
  const other = tsgrad('--out', 'mine', '--count', '3', '--data', mnistDir, '--force');
  assert.equal(other.code, 1);
  assert.match(other.err, /^tsgrad: --out mine exists and is not a folder of captioned images/);
  assert.equal(fs.readFileSync(path.join(work, 'mine', 'notes.txt'), 'utf8'), 'keep');
});

test('tsgrad caption data: bad flags are one line with exit 2, a bad data folder one line with exit 1, nothing written', () => {
  for (const [args, message] of [
    [['--count', '0'], /--count must be an integer from 1 to 1000000, got "0"/],
    [['--count', '0x10'], /--count must be an integer/],
    [['--count', '2.5'], /--count must be an integer/],
    [['--count', '3', '--seed', '-1'], /--seed must be an integer from 0/],
    [['--count', '3', '--split', 'val'], /--split/],
    [[], /--count/],
  ] as [string[], RegExp][]) {
    const r = tsgrad('--out', 'bad', '--data', mnistDir, ...args);
    assert.equal(r.code, 2, `${args}: ${r.err}`);
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.ok(!fs.existsSync(path.join(work, 'bad')));
  }
  const inside = tsgrad('--out', path.join(mnistDir, 'set'), '--count', '3', '--data', mnistDir);
  assert.equal(inside.code, 1);
  assert.match(inside.err, /^tsgrad: --out .* is inside the input .*: write somewhere else\n$/);
  assert.ok(!fs.existsSync(path.join(mnistDir, 'set')));
  const help = tsgrad('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /--out <dir>[\s\S]*--count <n>[\s\S]*--split <split>[\s\S]*--seed <n>/);
  const r = tsgrad('--out', 'bad', '--count', '3', '--data', path.join(work, 'nowhere'));
  assert.equal(r.code, 1);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /nowhere/);
  assert.ok(!fs.existsSync(path.join(work, 'bad')));
});
