// Pictures of handwriting as model inputs, prepared the way the training images were made, so
// that a drawing, a scan or a photo looks to a model like what it learned from:
//   toMnistInput    one digit as MNIST made them: grey levels, white ink on black, cropped to the
//                   ink, scaled to fit 20x20 keeping the aspect ratio (with anti-aliasing), then
//                   placed in a 28x28 field with the ink's centre of mass at the centre;
//   toCaptionInput  a written number as the captioner's generator draws them (captions.ts): the
//                   ink cleared of dust (small blobs apart from the writing), split into
//                   digits at the columns without ink, each digit scaled to the
//                   generator's mean height (19 of 28 rows), set 3 pixels apart and centred, all
//                   scaled down together if they do not fit the width.
// Both first find the ink: the border is taken as the paper (light paper means dark ink, which is
// inverted), and the levels are stretched so that the paper is 0 and the strongest ink 1.
// Plain arrays in and out: this file runs in browsers too (PNG files are read in src/io/image.ts).
// Not for: general image processing or augmentation (augment.ts).

import { check } from '../core/errors.js';

/** Decoded pixels: (height, width, 4) bytes, row-major, R G B A. */
export interface RgbaImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** The pixels' bytes, width * height * 4 of them: R, G, B, A per pixel, row by row. */
  rgba: Uint8Array;
}

const FIELD = 28; // MNIST images are 28x28 ...
const BOX = 20; // ... with the digit scaled to fit 20x20 inside
const INK = 0.1; // level above which a pixel counts as ink when cropping

/** A box of pixels: left, top, width, height. */
interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The ink of a picture as levels in [0, 1] (w * h, ink bright, paper 0), or null for a picture
 * without ink (blank, all one colour, or faint noise).
 */
function inkLevels(img: RgbaImage): Float32Array | null {
  const { width: w, height: h, rgba } = img;
  check(Number.isInteger(w) && Number.isInteger(h) && w >= 0 && h >= 0 && rgba.length === 4 * w * h,
    `image of ${w}x${h} pixels needs ${4 * w * h} RGBA bytes, got ${rgba.length}`);
  if (w === 0 || h === 0) return null;
  // Grey level in [0, 1], with transparent pixels composited over white paper.
  const grey = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const a = rgba[4 * i + 3] / 255;
    const luma = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
    grey[i] = (a * luma + (1 - a) * 255) / 255;
  }
  // The border is background: if it is light, the ink is dark, so invert to make the ink bright.
  // Then stretch so that the background is 0 and the strongest ink 1, as in MNIST: scans and photos
  // have grey paper and grey pencil, and a model trained on MNIST has never seen either.
  let border = 0, borderCount = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (y === 0 || x === 0 || y === h - 1 || x === w - 1) {
      border += grey[y * w + x];
      borderCount++;
    }
  }
  const invert = border / borderCount > 0.5;
  const ink = grey; // inverted in place: a large picture is not held twice
  if (invert) for (let i = 0; i < ink.length; i++) ink[i] = 1 - ink[i];
  const background = invert ? 1 - border / borderCount : border / borderCount;
  const peak = ink.reduce((m, v) => Math.max(m, v), 0);
  if (peak - background < INK) return null;
  for (let i = 0; i < ink.length; i++) ink[i] = Math.max(0, (ink[i] - background) / (peak - background));
  return ink;
}

/** The bounding box of the ink inside `within` of a w-wide picture, or null if it has none. */
function inkBox(ink: Float32Array, w: number, within: Box): Box | null {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = within.y; y < within.y + within.h; y++) for (let x = within.x; x < within.x + within.w; x++) {
    if (ink[y * w + x] > INK) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** A picture of one digit as a (784) MNIST input: 28x28 row-major, white ink on black, in [0, 1]. */
export function toMnistInput(img: RgbaImage): Float32Array {
  const out = new Float32Array(FIELD * FIELD);
  const ink = inkLevels(img);
  const box = ink && inkBox(ink, img.width, { x: 0, y: 0, w: img.width, h: img.height });
  if (!box) return out;
  const scale = BOX / Math.max(box.w, box.h);
  const tw = Math.max(1, Math.round(box.w * scale));
  const th = Math.max(1, Math.round(box.h * scale));
  const small = resizeArea(ink!, img.width, box, tw, th); // (bh, bw) box -> (th, tw)

  // Centre of mass of the scaled ink, moved to the centre of the field (shift rounded to whole
  // pixels as MNIST did, and clamped so that no ink falls off the field).
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) {
    const v = small[y * tw + x];
    mass += v; mx += v * x; my += v * y;
  }
  const left = clamp(Math.round(FIELD / 2 - mx / mass), 0, FIELD - tw);
  const top = clamp(Math.round(FIELD / 2 - my / mass), 0, FIELD - th);
  for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) {
    out[(top + y) * FIELD + left + x] = Math.min(1, small[y * tw + x]); // min: rounding can pass 1
  }
  return out;
}

// The generator's digits (captions.ts): MNIST's 20-row ink scaled by 0.8-1.1, gaps of -3 to 9 pixels.
const DIGIT_HEIGHT = 19 / 28;
const GAP = 3 / 28;
/** A blob of ink (8-connected) shorter than this fraction of the tallest digit and lighter than SPECK_MASS of the heaviest blob is dust, not writing. */
const SPECK = 0.25;
const SPECK_MASS = 0.05;

/** Clears the specks of dust from `ink` (w x h): small blobs apart from the writing (see SPECK). */
function removeSpecks(ink: Float32Array, w: number, h: number): void {
  const label = new Int32Array(w * h).fill(-1);
  const blobs: { pixels: number[]; top: number; bottom: number }[] = [];
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (label[start] >= 0 || ink[start] <= INK) continue;
    const blob = { pixels: [] as number[], top: h, bottom: -1 };
    label[start] = blobs.length;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      blob.pixels.push(p);
      const x = p % w, y = (p - x) / w;
      blob.top = Math.min(blob.top, y);
      blob.bottom = Math.max(blob.bottom, y);
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx, ny = y + dy, q = ny * w + nx;
        if (nx >= 0 && nx < w && ny >= 0 && ny < h && label[q] < 0 && ink[q] > INK) {
          label[q] = blobs.length;
          stack.push(q);
        }
      }
    }
    blobs.push(blob);
  }
  const heaviest = Math.max(...blobs.map((b) => b.pixels.length));
  const tallest = Math.max(...blobs.map((b) => b.bottom - b.top + 1));
  for (const b of blobs) {
    if (b.pixels.length < SPECK_MASS * heaviest && b.bottom - b.top + 1 < SPECK * tallest) for (const p of b.pixels) ink[p] = 0;
  }
}

/**
 * A picture of a written number (any size and colour, digits anywhere on one line, unevenly
 * spaced) as a captioner input: height x width (default 28 x 112) row-major, white ink on black,
 * in [0, 1]. Digits that touch stay together (one run of columns), scaled as one.
 */
export function toCaptionInput(img: RgbaImage, height = 28, width = 112): Float32Array {
  check(Number.isInteger(height) && Number.isInteger(width) && height >= 4 && width >= 4, `toCaptionInput: the input size must be at least 4 x 4, got ${height} x ${width}`);
  const out = new Float32Array(height * width);
  const ink = inkLevels(img);
  const w = img.width;
  if (ink) removeSpecks(ink, w, img.height);
  const all = ink && inkBox(ink, w, { x: 0, y: 0, w, h: img.height });
  if (!all) return out;
  // Digits: runs of columns with ink, each cropped to its own ink.
  const runs: Box[] = [];
  for (let x = all.x, start = -1; x <= all.x + all.w; x++) {
    let inked = false;
    for (let y = all.y; y < all.y + all.h && x < all.x + all.w && !inked; y++) inked = ink[y * w + x] > INK;
    if (inked && start < 0) start = x;
    if (!inked && start >= 0) {
      runs.push(inkBox(ink, w, { x: start, y: all.y, w: x - start, h: all.h })!);
      start = -1;
    }
  }
  const tallest = Math.max(...runs.map((r) => r.h));
  const digits = runs.filter((r) => r.h >= SPECK * tallest);
  const target = DIGIT_HEIGHT * height, gap = GAP * height;
  const widths = digits.map((r) => (r.w * target) / r.h);
  const total = widths.reduce((a, b) => a + b, 0) + gap * (digits.length - 1);
  const fit = Math.min(1, width / total);
  let x = (width - total * fit) / 2;
  for (const [i, r] of digits.entries()) {
    const tw = Math.max(1, Math.round(widths[i] * fit)), th = Math.max(1, Math.round(target * fit));
    const small = resizeArea(ink, w, r, tw, th);
    const left = clamp(Math.round(x), 0, width - tw), top = Math.round((height - th) / 2);
    for (let y = 0; y < th; y++) for (let xx = 0; xx < tw; xx++) {
      const o = (top + y) * width + left + xx;
      out[o] = Math.max(out[o], small[y * tw + xx]);
    }
    x += (widths[i] + gap) * fit;
  }
  // Thin strokes scaled down fade; MNIST's strongest ink is 1.
  const peak = out.reduce((m, v) => Math.max(m, v), 0);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, out[i] / peak);
  return out;
}

/** Area-average resampling of `box` of `src` (w wide) to tw x th: every source pixel
 * contributes in proportion to how much of it each target pixel covers, so that a thin stroke is
 * averaged into a faint one instead of being skipped, as point sampling would do. */
function resizeArea(src: Float32Array, w: number, box: Box, tw: number, th: number): Float32Array {
  const { x: x0, y: y0, w: bw, h: bh } = box;
  const out = new Float32Array(tw * th);
  const sx = bw / tw, sy = bh / th;
  for (let ty = 0; ty < th; ty++) {
    const ya = ty * sy, yb = ya + sy;
    for (let tx = 0; tx < tw; tx++) {
      const xa = tx * sx, xb = xa + sx;
      let sum = 0;
      for (let y = Math.floor(ya); y < Math.min(bh, Math.ceil(yb)); y++) {
        const wy = Math.min(yb, y + 1) - Math.max(ya, y);
        for (let x = Math.floor(xa); x < Math.min(bw, Math.ceil(xb)); x++) {
          const wx = Math.min(xb, x + 1) - Math.max(xa, x);
          sum += wx * wy * src[(y0 + y) * w + x0 + x];
        }
      }
      out[ty * tw + tx] = sum / (sx * sy);
    }
  }
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
