// The captioner's data: images of a handwritten number made of 1 to 4 real MNIST digits side by
// side, captioned in US English words (numbers.ts), generated on the fly from a seed.
// A number's digit count is uniform in 1..4, then the number uniform among those with that many
// digits (0..9, 10..99, 100..999, 1000..9999: no leading zeros). Each digit is an MNIST image of
// that digit from ONE split (training images for training, test images for testing; every sample
// records its digits' indices in that split), cropped to its ink, scaled by 0.8-1.1 (slightly
// more or less in width), its strokes thickened or thinned half the time (a plus-shaped grey
// dilation or a third of an erosion), placed with a gap of -3 to +9 pixels from the previous one (so
// digits may touch or overlap, or stand far apart) and jittered up to 3 pixels vertically, on a
// canvas CAPTION_HEIGHT x CAPTION_WIDTH = 28 x 112 (four MNIST widths). When the digits and gaps do
// not fit in the width, all are scaled down together. Pixels are in [0, 1], white ink on black,
// like MNIST; overlapping ink takes the maximum, as pen strokes do.
// Not for: reading MNIST files (mnist.ts; pass its split in, so that this file runs in a browser
// too), writing PNGs (the CLI), tokenizing (numbers.ts has the words).

import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { numberToWords } from './numbers.js';

/** Height in pixels of a captioned image (one MNIST digit's). */
export const CAPTION_HEIGHT = 28;
/** Width in pixels of a captioned image: four MNIST widths. */
export const CAPTION_WIDTH = 112;
/** Most digits in one image (numbers up to 9999). */
export const MAX_CAPTION_DIGITS = 4;

const SIDE = 28;

export type CaptionSplit = 'train' | 'test';

/** One MNIST split as the generator uses it: its images, each digit's image indices, each image's ink box. */
export interface CaptionDigits {
  /** Which MNIST split the images come from. */
  split: CaptionSplit;
  /** The split's images, (count, 28, 28), values in [0, 1]. */
  images: Float32Array;
  /** Each image's digit, (count). */
  labels: ArrayLike<number>;
  /** Per digit 0..9, the indices of its images. */
  byDigit: Int32Array[];
  /**
   * Each image's ink box, (count, 4): top, left, bottom, right (exclusive) of the pixels above 0.1.
   */
  inkBoxes: Uint8Array;
}

/** Where a digit landed on the canvas. */
export interface CaptionBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One generated image of a handwritten number and its caption in words. */
export interface CaptionSample {
  /** The pixels, (28, 112), values in [0, 1], white ink on black. */
  image: Float32Array;
  /** The number drawn (0 to 9999). */
  number: number;
  /** The number in US English words, such as "forty-two". */
  caption: string;
  /** The source images' indices in the split, one per decimal digit, left to right. */
  digits: number[];
  /** Where each digit landed on the canvas, one box per digit. */
  boxes: CaptionBox[];
}

/** A batch of captioned images, as {@link captionDataset} generates it for training or testing. */
export interface CaptionDataset {
  /** The MNIST split the digits came from. */
  split: CaptionSplit;
  /** Number of samples. */
  count: number;
  /** All the pixels, (count, 28, 112, 1), values in [0, 1]. */
  images: Float32Array;
  /** The images' shape, [count, 28, 112, 1]. */
  shape: [number, number, number, number];
  /** Each sample's number, (count). */
  numbers: Int32Array;
  /** Each sample's caption in words. */
  captions: string[];
  /** Per sample, the source images' indices in the split. */
  digits: number[][];
}

/** The split `mnist` (from loadMnist, or any images and labels of that split) prepared for captionSample. */
export function captionDigits(mnist: { images: Float32Array; labels: ArrayLike<number>; count: number }, split: CaptionSplit): CaptionDigits {
  const { images, labels, count } = mnist;
  check(split === 'train' || split === 'test', `split must be train or test, got ${JSON.stringify(split)}`);
  check(Number.isInteger(count) && count > 0 && images.length >= count * SIDE * SIDE && labels.length >= count,
    `captionDigits: expected ${count} images of 28x28 and their labels`);
  const lists: number[][] = Array.from({ length: 10 }, () => []);
  const inkBoxes = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    lists[labels[i]]?.push(i);
    let top = SIDE, left = SIDE, bottom = 0, right = 0;
    const base = i * SIDE * SIDE;
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        if (images[base + y * SIDE + x] > 0.1) {
          if (y < top) top = y;
          if (y >= bottom) bottom = y + 1;
          if (x < left) left = x;
          if (x >= right) right = x + 1;
        }
      }
    }
    if (bottom === 0) (top = 0), (left = 0), (bottom = SIDE), (right = SIDE); // a blank image: the whole square
    inkBoxes.set([top, left, bottom, right], i * 4);
  }
  const missing = lists.findIndex((l) => l.length === 0);
  check(missing < 0, `the MNIST ${split} images given have no image of the digit ${missing}: captions need all ten`);
  return { split, images, labels, byDigit: lists.map((l) => Int32Array.from(l)), inkBoxes };
}

/** A number with a uniformly chosen digit count (1..4), uniform among those numbers. */
export function captionNumber(rng: Rng): number {
  const k = 1 + rng.int(MAX_CAPTION_DIGITS);
  const low = k === 1 ? 0 : 10 ** (k - 1);
  return low + rng.int(10 ** k - low);
}

// Scratch for one digit with its strokes changed, reused across calls (the generator is
// single-threaded), with a border of PAD background pixels so that sampling needs no bounds checks.
const PAD = 2;
const PADDED = SIDE + 2 * PAD;
const stroke = new Float32Array(PADDED * PADDED);

/** Copies image `index` into `stroke`, thickened (mode 1), thinned (mode 2) or as it is (0). */
function strokeDigit(images: Float32Array, index: number, mode: number): void {
  const base = index * SIDE * SIDE;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const p = base + y * SIDE + x;
      const c = images[p];
      const q = (y + PAD) * PADDED + x + PAD;
      if (mode === 0) {
        stroke[q] = c;
        continue;
      }
      // Plus-shaped neighbourhood; outside the image counts as background.
      const up = y > 0 ? images[p - SIDE] : 0, down = y < SIDE - 1 ? images[p + SIDE] : 0;
      const l = x > 0 ? images[p - 1] : 0, r = x < SIDE - 1 ? images[p + 1] : 0;
      // Full erosion wipes out MNIST's 2-3 pixel strokes; a third of it thins them.
      stroke[q] = mode === 1 ? Math.max(c, up, down, l, r) : 0.65 * c + 0.35 * Math.min(c, up, down, l, r);
    }
  }
}

/** Draws `stroke`'s box (top, left, bottom, right) scaled into `box` on the canvas, keeping the brighter ink. */
function draw(out: Float32Array, top: number, left: number, bh: number, bw: number, box: CaptionBox): void {
  const { x: x0, y: y0, width: w, height: h } = box;
  for (let ty = 0; ty < h; ty++) {
    const y = y0 + ty;
    if (y < 0 || y >= CAPTION_HEIGHT) continue;
    // Bilinear sampling at the target pixel's centre, mapped into the source box.
    const sy = top + PAD + ((ty + 0.5) * bh) / h - 0.5;
    const iy = Math.floor(sy), fy = sy - iy;
    const row = iy * PADDED;
    for (let tx = 0; tx < w; tx++) {
      const x = x0 + tx;
      if (x < 0 || x >= CAPTION_WIDTH) continue;
      const sx = left + PAD + ((tx + 0.5) * bw) / w - 0.5;
      const ix = Math.floor(sx), fx = sx - ix;
      const a = row + ix, b = a + PADDED;
      const v = (1 - fy) * ((1 - fx) * stroke[a] + fx * stroke[a + 1]) + fy * ((1 - fx) * stroke[b] + fx * stroke[b + 1]);
      const o = y * CAPTION_WIDTH + x;
      if (v > out[o]) out[o] = v > 1 ? 1 : v;
    }
  }
}

/**
 * One captioned image drawn with `rng` from `digits` (one split's MNIST images). `into`, when
 * given, receives the pixels (28 x 112; overwritten) instead of a new array.
 */
export function captionSample(rng: Rng, digits: CaptionDigits, into?: Float32Array): CaptionSample {
  const image = into ?? new Float32Array(CAPTION_HEIGHT * CAPTION_WIDTH);
  check(image.length === CAPTION_HEIGHT * CAPTION_WIDTH, `captionSample: into must hold ${CAPTION_HEIGHT}x${CAPTION_WIDTH} pixels, got ${image.length}`);
  image.fill(0);
  const number = captionNumber(rng);
  const decimal = String(number);
  const n = decimal.length;
  const sources: number[] = [], modes: number[] = [], widths: number[] = [], heights: number[] = [], gaps: number[] = [];
  for (let i = 0; i < n; i++) {
    const pool = digits.byDigit[decimal.charCodeAt(i) - 48];
    const index = pool[rng.int(pool.length)];
    const b = digits.inkBoxes.subarray(index * 4, index * 4 + 4);
    const mode = rng.uniform() < 0.5 ? 0 : 1 + rng.int(2);
    // A thickened digit grows by a pixel on each side: its box too.
    const grow = mode === 1 ? 1 : 0;
    const scale = 0.8 + 0.3 * rng.uniform();
    const aspect = 0.9 + 0.2 * rng.uniform();
    sources.push(index);
    modes.push(mode);
    heights.push(Math.min(CAPTION_HEIGHT, Math.max(4, Math.round((b[2] - b[0] + 2 * grow) * scale))));
    widths.push(Math.max(2, Math.round((b[3] - b[1] + 2 * grow) * scale * aspect)));
    gaps.push(i === 0 ? 0 : rng.int(13) - 3);
  }
  let total = widths.reduce((a, b) => a + b, 0) + gaps.reduce((a, b) => a + b, 0);
  if (total > CAPTION_WIDTH) {
    // Too wide: shrink every digit and gap by the same factor (heights too, keeping the shapes).
    const f = CAPTION_WIDTH / total;
    for (let i = 0; i < n; i++) {
      widths[i] = Math.max(2, Math.floor(widths[i] * f));
      heights[i] = Math.max(4, Math.round(heights[i] * f));
      gaps[i] = Math.trunc(gaps[i] * f);
    }
    total = widths.reduce((a, b) => a + b, 0) + gaps.reduce((a, b) => a + b, 0);
  }
  let x = rng.int(Math.max(0, CAPTION_WIDTH - total) + 1);
  const boxes: CaptionBox[] = [];
  for (let i = 0; i < n; i++) {
    x += gaps[i];
    const h = heights[i];
    const jitter = Math.round(6 * rng.uniform() - 3);
    const y = Math.min(CAPTION_HEIGHT - h, Math.max(0, Math.round((CAPTION_HEIGHT - h) / 2) + jitter));
    const box = { x: Math.max(0, Math.min(x, CAPTION_WIDTH - widths[i])), y, width: widths[i], height: h };
    const index = sources[i];
    const grow = modes[i] === 1 ? 1 : 0;
    const b = digits.inkBoxes.subarray(index * 4, index * 4 + 4);
    strokeDigit(digits.images, index, modes[i]);
    draw(image, b[0] - grow, b[1] - grow, b[2] - b[0] + 2 * grow, b[3] - b[1] + 2 * grow, box);
    boxes.push(box);
    x += widths[i];
  }
  return { image, number, caption: numberToWords(number), digits: sources, boxes };
}

/**
 * `count` captioned images from one MNIST split, the same for the same seed: pass loadMnist({ split })
 * as `mnist` (training images for 'train', test images for 'test').
 */
export function captionDataset(o: { split?: CaptionSplit; count: number; seed?: number; mnist: { images: Float32Array; labels: ArrayLike<number>; count: number } }): CaptionDataset {
  const { split = 'train', count, seed = 0 } = o;
  check(Number.isInteger(count) && count > 0 && count <= 1e7, `count must be an integer from 1 to 10000000, got ${count}`);
  check(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32, `seed must be an integer from 0 to ${2 ** 32 - 1}, got ${seed}`);
  const digits = captionDigits(o.mnist, split);
  const pixels = CAPTION_HEIGHT * CAPTION_WIDTH;
  const images = new Float32Array(count * pixels);
  const numbers = new Int32Array(count);
  const captions: string[] = [];
  const sources: number[][] = [];
  const rng = new Rng(seed);
  for (let i = 0; i < count; i++) {
    const s = captionSample(rng, digits, images.subarray(i * pixels, (i + 1) * pixels));
    numbers[i] = s.number;
    captions.push(s.caption);
    sources.push(s.digits);
  }
  return { split, count, images, shape: [count, CAPTION_HEIGHT, CAPTION_WIDTH, 1], numbers, captions, digits: sources };
}
