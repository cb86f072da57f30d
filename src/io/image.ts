// PNG files: decoding them (checked, bounded) and a picture of a digit as an MNIST input (data/ink.ts).
// Not for: general image processing, image augmentation, or formats other than PNG.

import fs from 'node:fs';
import zlib from 'node:zlib';
import { PNG } from 'pngjs';
import { check, TsgradError } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import { toMnistInput, type RgbaImage } from '../data/ink.js';

export type { RgbaImage } from '../data/ink.js';
export { toMnistInput } from '../data/ink.js';

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

/** A PNG file as a (784) MNIST input in [0, 1]. */
export function loadMnistImage(path: string): Float32Array {
  return toMnistInput(decodePng(path));
}
