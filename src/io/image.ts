// Turning a picture of a digit into an MNIST input, the way MNIST itself was made: grey levels,
// white ink on black, cropped to the ink, scaled to fit 20x20 keeping the aspect ratio (with
// anti-aliasing), then placed in a 28x28 field so that the ink's centre of mass is at the centre.
// A model trained on MNIST only sees digits prepared like this, so a photo or a drawing must be too.
// Not for: general image processing, image augmentation, or formats other than PNG.

import fs from 'node:fs';
import { PNG } from 'pngjs';
import { check, TsgradError } from '../core/errors.js';

/** Decoded pixels: (height, width, 4) bytes, row-major, R G B A. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Reads a PNG of any colour type and bit depth as 8-bit RGBA (pngjs converts grey and palette). */
export function decodePng(path: string): RgbaImage {
  check(fs.existsSync(path), `no such file: ${path}`);
  const bad = (why: string) => new TsgradError(`${path}: not a readable PNG image (${why})`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    throw bad((e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
  // pngjs's own messages for these two cases are cryptic, so name them before it tries.
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) throw bad('it does not start with the PNG signature');
  try {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
  } catch (e) {
    const message = (e as Error).message;
    throw bad(/on finished stream/.test(message) ? 'the file is truncated' : message);
  }
}

const FIELD = 28; // MNIST images are 28x28 ...
const BOX = 20; // ... with the digit scaled to fit 20x20 inside
const INK = 0.1; // grey level above which a pixel counts as ink when cropping

/** A picture of one digit as a (784) MNIST input: 28x28 row-major, white ink on black, in [0, 1]. */
export function toMnistInput(img: RgbaImage): Float32Array {
  const { width: w, height: h, rgba } = img;
  check(Number.isInteger(w) && Number.isInteger(h) && w >= 0 && h >= 0 && rgba.length === 4 * w * h,
    `image of ${w}x${h} pixels needs ${4 * w * h} RGBA bytes, got ${rgba.length}`);
  const out = new Float32Array(FIELD * FIELD);
  if (w === 0 || h === 0) return out;

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
  const ink = invert ? grey.map((v) => 1 - v) : grey;
  const background = invert ? 1 - border / borderCount : border / borderCount;
  const peak = ink.reduce((m, v) => Math.max(m, v), 0);
  if (peak - background < INK) return out; // a blank page: no ink at all
  for (let i = 0; i < ink.length; i++) ink[i] = Math.max(0, (ink[i] - background) / (peak - background));

  // Bounding box of the ink.
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (ink[y * w + x] > INK) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  const small = resizeArea(ink, w, x0, y0, bw, bh, tw, th); // (bh, bw) box -> (th, tw)

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

/** Area-average resampling of the box (x0, y0, bw, bh) of `src` to tw x th: every source pixel
 * contributes in proportion to how much of it each target pixel covers, so that a thin stroke is
 * averaged into a faint one instead of being skipped, as point sampling would do. */
function resizeArea(src: Float32Array, w: number, x0: number, y0: number, bw: number, bh: number, tw: number, th: number): Float32Array {
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

/** A PNG file as a (784) MNIST input in [0, 1]. */
export function loadMnistImage(path: string): Float32Array {
  return toMnistInput(decodePng(path));
}
