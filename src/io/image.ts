// Turning a picture of a digit into an MNIST input, the way MNIST itself was made: grey levels,
// white ink on black, cropped to the ink, scaled to fit 20x20 keeping the aspect ratio (with
// anti-aliasing), then placed in a 28x28 field so that the ink's centre of mass is at the centre.
// A model trained on MNIST only sees digits prepared like this, so a photo or a drawing must be too.
// Not for: general image processing, image augmentation, or formats other than PNG.

import fs from 'node:fs';
import zlib from 'node:zlib';
import { PNG } from 'pngjs';
import { check, TsgradError } from '../core/errors.js';
import { readInputFile } from '../core/files.js';

/** Decoded pixels: (height, width, 4) bytes, row-major, R G B A. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The largest PNG file read (64 MiB: a 50-megapixel scan compresses far below that). */
export const MAX_PNG_BYTES = 64 * 2 ** 20;
/**
 * The most pixels decoded: 50 megapixels covers an A4 page scanned at 600 dpi (35 MP) and any phone
 * photo, and costs about 1 GB at the peak (RGBA bytes plus two float planes); a 10000x10000 image
 * would take twice that to find one digit.
 */
export const MAX_PIXELS = 50_000_000;
// The bit depths the PNG specification allows for each colour type.
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/**
 * The IHDR chunk that must open every PNG, checked field by field before anything is decoded:
 * the size decides how much memory decoding takes, so it is refused above MAX_PIXELS here.
 */
export function readPngHeader(bytes: Uint8Array, path: string): { width: number; height: number; bitDepth: number; colorType: number; interlace: number } {
  const bad = (why: string): never => {
    throw new TsgradError(`${path}: not a readable PNG image (${why})`);
  };
  // pngjs's own messages for these cases are cryptic, so name them before it tries.
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) bad('it does not start with the PNG signature');
  if (bytes.length < 33) bad(`the file is truncated: ${bytes.length} bytes, too short for the IHDR chunk`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (view.getUint32(8) !== 13 || type !== 'IHDR') bad(`it does not start with a 13-byte IHDR chunk (found ${JSON.stringify(type)} of ${view.getUint32(8)} bytes)`);
  const width = view.getUint32(16), height = view.getUint32(20);
  const [bitDepth, colorType, compression, filter, interlace] = bytes.subarray(24, 29);
  // The specification allows up to 2^31 - 1 per side; zero is never allowed.
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) bad(`its size ${width}x${height} is invalid`);
  if (!DEPTHS[colorType]) bad(`unknown colour type ${colorType}`);
  if (!DEPTHS[colorType].includes(bitDepth)) bad(`bit depth ${bitDepth} is not allowed for colour type ${colorType}`);
  if (compression !== 0 || filter !== 0 || interlace > 1) bad(`unknown compression ${compression}, filter ${filter} or interlace ${interlace} method`);
  check(width * height <= MAX_PIXELS,
    `${path}: the image is ${width}x${height} (${+(width * height / 1e6).toPrecision(3)} megapixels), more than the ${MAX_PIXELS / 1e6} megapixels tsgrad reads; scale it down first`);
  return { width, height, bitDepth, colorType, interlace };
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
// Adam7's passes: first column and row, then the steps between them.
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/** The bytes the IDAT stream must inflate to: each row of each pass is a filter byte and its packed samples. */
function pixelBytes(h: { width: number; height: number; bitDepth: number; colorType: number; interlace: number }): number {
  const bits = h.bitDepth * CHANNELS[h.colorType];
  const rows = (w: number, n: number) => (w > 0 && n > 0 ? n * (1 + Math.ceil((w * bits) / 8)) : 0);
  if (h.interlace === 0) return rows(h.width, h.height);
  return ADAM7.reduce((sum, [x0, y0, dx, dy]) => sum + rows(Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy)), 0);
}

/**
 * Checks that the chunks tile the file and that the IDAT data inflates to exactly the size IHDR
 * gives: pngjs fills missing rows with black and stops a bomb without saying so.
 */
function checkPixelData(bytes: Uint8Array, path: string, header: Parameters<typeof pixelBytes>[0]): void {
  const bad = (why: string) => new TsgradError(`${path}: not a readable PNG image (${why})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let at = 8, ended = false;
  while (at < bytes.length && !ended) {
    if (at + 12 > bytes.length) throw bad('the file is truncated');
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (length > bytes.length - at - 12) throw bad(`the file is truncated inside its ${JSON.stringify(type)} chunk`);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) throw bad(`the ${JSON.stringify(type)} chunk at byte ${at} is corrupt (wrong CRC)`);
    if (type === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + length));
    ended = type === 'IEND';
    at += 12 + length;
  }
  if (!ended) throw bad('the file is truncated: it has no IEND chunk');
  const expected = pixelBytes(header);
  let inflated: Buffer;
  try {
    inflated = zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw bad(`its pixel data inflates to more than the ${expected} bytes its size gives`);
    throw bad(`corrupt pixel data: ${(e as Error).message.split('\n')[0]}`);
  }
  if (inflated.length !== expected) throw bad(`its pixel data holds ${inflated.length} bytes, but ${header.width}x${header.height} needs ${expected}`);
}

// CRC-32 as PNG and gzip use it (zlib.crc32 only exists from Node 20.15).
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Reads a PNG of any colour type and bit depth as 8-bit RGBA (pngjs converts grey and palette). */
export function decodePng(path: string): RgbaImage {
  check(fs.existsSync(path), `no such file: ${path}`);
  return decodePngBytes(readInputFile(path, MAX_PNG_BYTES, 'PNG image'), path);
}

/** A PNG file's bytes as 8-bit RGBA; `path` names it in errors. */
export function decodePngBytes(bytes: Uint8Array, path: string): RgbaImage {
  const header = readPngHeader(bytes, path);
  const { width, height } = header;
  checkPixelData(bytes, path, header);
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    check(png.width === width && png.height === height && png.data.length === 4 * width * height, 'decoded size differs from IHDR');
    return { width, height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    throw new TsgradError(`${path}: not a readable PNG image (${/on finished stream|unexpected end/i.test(message) ? 'the file is truncated' : message})`);
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
  const ink = grey; // inverted in place: a large picture is not held twice
  if (invert) for (let i = 0; i < ink.length; i++) ink[i] = 1 - ink[i];
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
