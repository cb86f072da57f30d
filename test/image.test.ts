// PNG digits made MNIST-like: decoding every PNG colour type, polarity, cropping, scaling to fit
// 20x20 without losing thin strokes, centring by centre of mass, and clear errors for bad files;
// pictures of written numbers made like the captioner's training images.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PNG, type ColorType } from 'pngjs';
import { TsgradError } from '../src/core/errors.js';
import { toCaptionInput } from '../src/data/ink.js';
import { decodePng, loadMnistImage, MAX_PIXELS, toMnistInput, type RgbaImage } from '../src/io/image.js';
import { tensor } from '../src/tensor/tensor.js';
import zlib from 'node:zlib';
import { assertClose, tempDir } from './helpers.js';

const tmp = () => tempDir('image');
/** For assert.throws: a TsgradError of one line matching `re`. */
const userError = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TsgradError, `expected a TsgradError, got ${e}`);
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
};
type Rgba = [number, number, number, number];

/** An image whose pixel (x, y) is `pixel(x, y)`. */
function image(w: number, h: number, pixel: (x: number, y: number) => Rgba): RgbaImage {
  const rgba = new Uint8Array(4 * w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set(pixel(x, y), 4 * (y * w + x));
  return { width: w, height: h, rgba };
}

/** Writes `img` as a PNG of the given colour type (0 grey, 2 RGB, 6 RGBA) and bit depth. */
function writePng(file: string, img: RgbaImage, colorType: ColorType = 6, bitDepth: 8 | 16 = 8): void {
  const png = new PNG({ width: img.width, height: img.height });
  // For 16 bits pngjs wants 16-bit samples in, in the platform's byte order.
  if (bitDepth === 16) png.data = Buffer.from(Uint16Array.from(img.rgba, (v) => v * 257).buffer);
  else png.data.set(img.rgba);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true }));
}

/** How much of pixel (x, y) a shape covers, from 4x4 samples: anti-aliased edges, as a scan has. */
const coverage = (inside: (x: number, y: number) => boolean) => (x: number, y: number) => {
  let n = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) n += inside(x + (i + 0.5) / 4, y + (j + 0.5) / 4) ? 1 : 0;
  return n / 16;
};
/** A ring of ink (a zero), taller than wide and off-centre on a 100x60 page. */
const ring = coverage((x, y) => Math.abs(Math.hypot((x - 30) / 0.7, y - 28) - 18) < 4);

/** Ink box, centre of mass and total ink of a 28x28 result. */
function measure(img: Float32Array) {
  let x0 = 28, x1 = -1, y0 = 28, y1 = -1, mass = 0, mx = 0, my = 0;
  img.forEach((v, i) => {
    const x = i % 28, y = Math.floor(i / 28);
    if (v > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    mass += v; mx += v * x; my += v * y;
  });
  return { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1, cx: mx / mass, cy: my / mass, mass };
}

const meanAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

test('a dark digit on light paper becomes a white-on-black, cropped, 20x20, centred MNIST digit', () => {
  const dir = tmp();
  // Dark grey pencil on off-white paper: the ink is stretched to 1 and the paper to 0.
  const paper = 245, pencil = 20;
  const grey = (c: number) => Math.round(paper + (pencil - paper) * c);
  writePng(path.join(dir, 'dark.png'), image(100, 60, (x, y) => { const g = grey(ring(x, y)); return [g, g, g, 255]; }));
  const digit = loadMnistImage(path.join(dir, 'dark.png'));

  assert.ok(digit instanceof Float32Array);
  assert.equal(digit.length, 784);
  assert.ok(digit.every((v) => v >= 0 && v <= 1), 'values in [0, 1]');
  assert.ok(Math.max(...digit) > 0.99, 'the strongest ink is white');
  const m = measure(digit);
  // The ring is taller than wide: its height fills the 20-pixel box, its width is in proportion.
  assert.ok(m.h <= 20 && m.h >= 19, `ink box ${m.w}x${m.h}`);
  assert.ok(m.w <= 16 && m.w >= 13, `ink box ${m.w}x${m.h} keeps the aspect ratio`);
  assert.ok(Math.abs(m.cx - 14) <= 1 && Math.abs(m.cy - 14) <= 1, `centre of mass ${m.cx}, ${m.cy}`);
  // The background is black: everything outside the ink box, and the ring's hole.
  digit.forEach((v, i) => {
    const x = i % 28, y = Math.floor(i / 28);
    if (x < m.x0 || x >= m.x0 + m.w || y < m.y0 || y >= m.y0 + m.h) assert.equal(v, 0, `background at ${x}, ${y}`);
  });
  assert.ok(digit[14 * 28 + 14] < 0.05, 'the hole of the zero is background');

  // The same digit in white on black needs no inversion and gives nearly the same array.
  writePng(path.join(dir, 'light.png'), image(100, 60, (x, y) => { const g = Math.round(255 * ring(x, y)); return [g, g, g, 255]; }));
  const light = loadMnistImage(path.join(dir, 'light.png'));
  assert.ok(meanAbsDiff(light, digit) < 0.01, `white-on-black differs by ${meanAbsDiff(light, digit)}`);
});

test('grey, RGB, RGBA, transparent and 16-bit PNGs all give the same digit', () => {
  const dir = tmp();
  const ink = (x: number, y: number) => ring(x, y) > 0.5;
  const variants: [string, RgbaImage, ColorType, (8 | 16)?][] = [
    ['rgba.png', image(100, 60, (x, y) => (ink(x, y) ? [0, 0, 0, 255] : [255, 255, 255, 255])), 6],
    ['grey.png', image(100, 60, (x, y) => (ink(x, y) ? [0, 0, 0, 255] : [255, 255, 255, 255])), 0],
    ['grey16.png', image(100, 60, (x, y) => (ink(x, y) ? [0, 0, 0, 255] : [255, 255, 255, 255])), 0, 16],
    ['rgb.png', image(100, 60, (x, y) => (ink(x, y) ? [10, 20, 160] : [255, 250, 240]).concat(255) as Rgba), 2],
    // Black ink on a transparent page: transparent means paper.
    ['alpha.png', image(100, 60, (x, y) => (ink(x, y) ? [0, 0, 0, 255] : [0, 0, 0, 0])), 6],
  ];
  const results = variants.map(([name, img, colorType, depth]) => {
    writePng(path.join(dir, name), img, colorType, depth);
    const meta = PNG.sync.read(fs.readFileSync(path.join(dir, name)));
    assert.deepEqual([meta.colorType, meta.depth], [colorType, depth ?? 8], `${name} is really of its type`);
    const decoded = decodePng(path.join(dir, name));
    assert.equal(decoded.width, 100);
    assert.equal(decoded.height, 60);
    assert.equal(decoded.rgba.length, 100 * 60 * 4);
    return loadMnistImage(path.join(dir, name));
  });
  const m = measure(results[0]);
  assert.ok(m.h === 20 && Math.abs(m.cx - 14) <= 1 && Math.abs(m.cy - 14) <= 1, JSON.stringify(m));
  results.forEach((r, i) => assert.ok(meanAbsDiff(r, results[0]) < 0.01, `${variants[i][0]} differs by ${meanAbsDiff(r, results[0])}`));
});

test('scaling down averages areas, so thin strokes survive and the ink is kept', () => {
  // A 1-pixel ring 160 pixels across: an 8x reduction. Point sampling would miss most of it.
  const thin = image(200, 200, (x, y) => (Math.abs(Math.hypot(x + 0.5 - 100, y + 0.5 - 100) - 80) < 0.5 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
  const digit = toMnistInput(thin);
  const m = measure(digit);
  assert.equal(Math.max(m.w, m.h), 20);
  let inkPixels = 0;
  for (let i = 0; i < thin.width * thin.height; i++) inkPixels += thin.rgba[4 * i] === 0 ? 1 : 0;
  const expected = inkPixels * (20 * 20) / (161 * 161); // area averaging keeps the total, scaled by area
  assert.ok(Math.abs(m.mass - expected) / expected < 0.1, `total ink ${m.mass}, expected about ${expected}`);
  // The ring stays closed: every row of the box has ink on both sides of the centre.
  for (let y = m.y0; y < m.y0 + m.h; y++) {
    const row = digit.subarray(y * 28, y * 28 + 28);
    assert.ok(row.subarray(0, 14).some((v) => v > 0.05) && row.subarray(14).some((v) => v > 0.05), `row ${y} lost its stroke`);
  }
});

test('a bar keeps its aspect ratio and is centred by its centre of mass', () => {
  // A thick vertical bar (a "1") near the left edge, 10 wide and 50 tall.
  const bar = image(100, 60, (x, y) => (x >= 5 && x < 15 && y >= 5 && y < 55 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
  const m = measure(toMnistInput(bar));
  assert.deepEqual([m.w, m.h], [4, 20]);
  assert.ok(Math.abs(m.cx - 14) <= 1 && Math.abs(m.cy - 14) <= 1, `centre of mass ${m.cx}, ${m.cy}`);
  // Lopsided ink (an "L"): the centre of mass, not the box, goes to the centre, and the box
  // still fits inside the field.
  const ell = image(60, 60, (x, y) => ((x < 8 && y < 50) || (y >= 42 && y < 50 && x < 40) ? [0, 0, 0, 255] : [255, 255, 255, 255]));
  const l = measure(toMnistInput(ell));
  assert.ok(Math.abs(l.cx - 14) <= 1 && Math.abs(l.cy - 14) <= 1, `centre of mass ${l.cx}, ${l.cy}`);
  assert.ok(l.x0 + l.w / 2 > 14 + 1, 'the box is off-centre so that the mass is centred');
  assert.ok(l.x0 >= 0 && l.y0 >= 0 && l.x0 + l.w <= 28 && l.y0 + l.h <= 28);
});

test('a page without ink gives all zeros', () => {
  const white = image(100, 60, () => [255, 255, 255, 255]);
  assert.deepEqual(toMnistInput(white), new Float32Array(784));
  assert.deepEqual(toMnistInput(image(100, 60, () => [0, 0, 0, 255])), new Float32Array(784));
  assert.deepEqual(toMnistInput(image(10, 10, () => [0, 0, 0, 0])), new Float32Array(784)); // all transparent
  assert.deepEqual(toMnistInput(image(10, 10, () => [250, 250, 250, 255])), new Float32Array(784)); // faint noise is no ink
  assert.deepEqual(toMnistInput({ width: 0, height: 0, rgba: new Uint8Array(0) }), new Float32Array(784));
  const dir = tmp();
  writePng(path.join(dir, 'white.png'), white);
  assert.deepEqual(loadMnistImage(path.join(dir, 'white.png')), new Float32Array(784));
  // A single dot still gives a digit of sorts, not a crash.
  const dot = toMnistInput(image(9, 9, (x, y) => (x === 4 && y === 4 ? [0, 0, 0, 255] : [255, 255, 255, 255])));
  assert.ok(dot.every((v) => v >= 0 && v <= 1) && dot.some((v) => v > 0));
});

test('unreadable files give one TsgradError naming the file', () => {
  const dir = tmp();
  const text = path.join(dir, 'x.png');
  fs.writeFileSync(text, 'not an image');
  assert.throws(() => loadMnistImage(text), userError(new RegExp(`^${escape(text)}: not a readable PNG image \\(.+\\)$`)));
  fs.writeFileSync(text, '');
  assert.throws(() => loadMnistImage(text), userError(/x\.png: not a readable PNG image/));

  writePng(path.join(dir, 'ok.png'), image(40, 40, (x) => (x < 20 ? [0, 0, 0, 255] : [255, 255, 255, 255])));
  const bytes = fs.readFileSync(path.join(dir, 'ok.png'));
  for (const keep of [bytes.length - 12, bytes.length - 30, 40, 12]) {
    const cut = path.join(dir, `cut${keep}.png`);
    fs.writeFileSync(cut, bytes.subarray(0, keep));
    assert.throws(() => loadMnistImage(cut), userError(new RegExp(`^${escape(cut)}: not a readable PNG image \\(.+\\)$`)), `cut to ${keep} bytes`);
  }
  assert.throws(() => decodePng(dir), userError(/: is a folder, not a PNG image$/));
  const missing = path.join(dir, 'missing.png');
  assert.throws(() => loadMnistImage(missing), userError(new RegExp(`^no such file: ${escape(missing)}$`)));
  assert.throws(() => toMnistInput({ width: 3, height: 3, rgba: new Uint8Array(5) }), userError(/3x3 pixels needs 36 RGBA bytes, got 5/));
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A PNG chunk: length, type, data, CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
  return out;
}

/** A PNG whose IHDR says what is given, with `idat` (already compressed) as its only data chunk. */
function rawPng(w: number, h: number, { depth = 8, colour = 0, interlace = 0, compression = 0, idat = zlib.deflateSync(Buffer.alloc(h * (1 + w))) } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([depth, colour, compression, 0, interlace], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

test('a huge or malformed IHDR is refused from the header, before any pixel is decoded', () => {
  const dir = tmp();
  const at = (name: string, bytes: Uint8Array) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return () => decodePng(file);
  };
  // 10000x10000 would take 1.3 GB; the 100-byte file is refused before pngjs sees it.
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(at('big.png', rawPng(10000, 10000, { idat: zlib.deflateSync(Buffer.alloc(10)) })),
    userError(/big\.png: the image is 10000x10000 \(100 megapixels\), more than the 50 megapixels tsgrad reads; scale it down first$/));
  assert.throws(at('wide.png', rawPng(0x7fffffff, 1, { idat: zlib.deflateSync(Buffer.alloc(10)) })), userError(/wide\.png: the image is 2147483647x1 \(2150 megapixels\)/));
  assert.ok(process.memoryUsage().arrayBuffers - before < 16e6);
  assert.ok(MAX_PIXELS === 50_000_000);
  assert.throws(at('zero.png', rawPng(0, 5)), userError(/zero\.png: not a readable PNG image \(its size 0x5 is invalid\)$/));
  assert.throws(at('neg.png', rawPng(0x80000000, 5, { idat: zlib.deflateSync(Buffer.alloc(10)) })), userError(/neg\.png: not a readable PNG image \(its size 2147483648x5 is invalid\)$/));
  assert.throws(at('depth.png', rawPng(4, 4, { depth: 3 })), userError(/depth\.png: not a readable PNG image \(bit depth 3 is not allowed for colour type 0\)$/));
  assert.throws(at('pal16.png', rawPng(4, 4, { depth: 16, colour: 3 })), userError(/bit depth 16 is not allowed for colour type 3\)$/));
  assert.throws(at('colour.png', rawPng(4, 4, { colour: 5 })), userError(/colour\.png: not a readable PNG image \(unknown colour type 5\)$/));
  assert.throws(at('lace.png', rawPng(4, 4, { interlace: 2 })), userError(/unknown compression 0, filter 0 or interlace 2 method\)$/));
  assert.throws(at('comp.png', rawPng(4, 4, { compression: 1 })), userError(/unknown compression 1, filter 0 or interlace 0 method\)$/));
  const noIhdr = rawPng(4, 4);
  noIhdr.write('IHDX', 12, 'latin1');
  assert.throws(at('noihdr.png', noIhdr), userError(/noihdr\.png: not a readable PNG image \(it does not start with a 13-byte IHDR chunk \(found "IHDX" of 13 bytes\)\)$/));
  assert.throws(at('short.png', rawPng(4, 4).subarray(0, 20)), userError(/short\.png: not a readable PNG image \(the file is truncated: 20 bytes, too short for the IHDR chunk\)$/));
  // A valid header over too little pixel data, a bad CRC, and IDAT that is not zlib data.
  assert.throws(at('few.png', rawPng(8, 8, { idat: zlib.deflateSync(Buffer.alloc(9)) })), userError(/few\.png: not a readable PNG image \(its pixel data holds 9 bytes, but 8x8 needs 72\)$/));
  const crc = rawPng(4, 4);
  crc[29] ^= 1;
  assert.throws(at('crc.png', crc), userError(/crc\.png: not a readable PNG image \(the "IHDR" chunk at byte 8 is corrupt \(wrong CRC\)\)$/));
  assert.throws(at('idat.png', rawPng(4, 4, { idat: Buffer.from('not zlib at all') })), userError(/idat\.png: not a readable PNG image \(corrupt pixel data: incorrect header check\)$/));
  // An IDAT bomb: a 4x4 header over a megabyte of pixel rows is cut at the header's size by pngjs.
  assert.throws(at('bomb.png', rawPng(4, 4, { idat: zlib.deflateSync(Buffer.alloc(50e6)) })), userError(/bomb\.png: not a readable PNG image \(its pixel data inflates to more than the 20 bytes its size gives\)$/));
  // Nothing was left broken.
  assert.deepEqual([...tensor([1, 2, 3, 4]).add(tensor([10, 20, 30, 40])).dataSync()], [11, 22, 33, 44]);
});

test('palette, 16-bit, interlaced and 1-bit PNGs decode to the right pixels', () => {
  const dir = tmp();
  // 1-bit grey, 2x2: rows 0b10 and 0b01, each row a filter byte then its packed bits.
  const one = path.join(dir, 'one.png');
  fs.writeFileSync(one, rawPng(2, 2, { depth: 1, idat: zlib.deflateSync(Buffer.from([0, 0b10000000, 0, 0b01000000])) }));
  assert.deepEqual([...decodePng(one).rgba], [255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 255]);
  // Interlaced (Adam7) through pngjs's writer is not offered, so a 1x1 interlaced image: pass 1 holds its one pixel.
  const lace = path.join(dir, 'lace.png');
  fs.writeFileSync(lace, rawPng(1, 1, { interlace: 1, idat: zlib.deflateSync(Buffer.from([0, 200])) }));
  assert.deepEqual([...decodePng(lace).rgba], [200, 200, 200, 255]);
  // Palette: a PLTE chunk of two colours, 8-bit indices.
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr.set([8, 3, 0, 0, 0], 8);
  const pal = path.join(dir, 'pal.png');
  fs.writeFileSync(pal, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from([10, 20, 30, 40, 50, 60])), chunk('IDAT', zlib.deflateSync(Buffer.from([0, 1, 0]))), chunk('IEND', new Uint8Array(0))]));
  assert.deepEqual([...decodePng(pal).rgba], [40, 50, 60, 255, 10, 20, 30, 255]);
});

/** The column runs of ink (> 0.1) of an h x w image: [first, last] columns and the ink's rows. */
function inkRuns(img: Float32Array, h: number, w: number): { x0: number; x1: number; top: number; bottom: number }[] {
  const runs: { x0: number; x1: number; top: number; bottom: number }[] = [];
  for (let x = 0; x < w; x++) {
    const rows = Array.from({ length: h }, (_, y) => y).filter((y) => img[y * w + x] > 0.1);
    if (rows.length === 0) continue;
    const last = runs.at(-1);
    if (last && last.x1 === x - 1) Object.assign(last, { x1: x, top: Math.min(last.top, rows[0]), bottom: Math.max(last.bottom, rows.at(-1)!) });
    else runs.push({ x0: x, x1: x, top: rows[0], bottom: rows.at(-1)! });
  }
  return runs;
}

test('a written number becomes a captioner input: digits split, each 19 rows tall, 3 pixels apart, centred, specks dropped', () => {
  // Blue ink on yellow paper, 700 x 300: a "1" (a bar), a "0" (a ring) and a wide blob, of
  // different heights, uneven gaps (15 and 220 pixels), one higher than the others, and specks of dust.
  const shapes = [
    (x: number, y: number) => x >= 40 && x < 52 && y >= 80 && y < 200,
    (x: number, y: number) => Math.abs(Math.hypot((x - 107) / 40, (y - 150) / 60) - 0.85) < 0.15,
    (x: number, y: number) => x >= 370 && x < 470 && y >= 20 && y < 110 && (x + y) % 7 < 5,
    (x: number, y: number) => x >= 600 && x < 603 && y >= 250 && y < 253,
    (x: number, y: number) => x >= 100 && x < 104 && y >= 4 && y < 8, // dust above the "0": its column run must not grow to it
  ];
  const ink = (x: number, y: number) => shapes.some((s) => s(x, y));
  const dark = image(700, 300, (x, y) => (ink(x, y) ? [20, 30, 140, 255] : [250, 240, 170, 255]));
  const out = toCaptionInput(dark);
  assert.equal(out.length, 28 * 112);
  assert.equal(Math.max(...out), 1);
  const runs = inkRuns(out, 28, 112);
  assert.equal(runs.length, 3, JSON.stringify(runs));
  for (const r of runs) assert.ok(Math.abs(r.bottom - r.top + 1 - 19) <= 1 && Math.abs((r.top + r.bottom) / 2 - 13.5) <= 1, JSON.stringify(r));
  for (let i = 1; i < runs.length; i++) assert.ok(Math.abs(runs[i].x0 - runs[i - 1].x1 - 1 - 3) <= 1, `gap ${i}: ${JSON.stringify(runs)}`);
  assert.ok(Math.abs(runs[0].x0 - (111 - runs.at(-1)!.x1)) <= 1, 'centred');
  // Light ink on dark paper gives the same input.
  const light = image(700, 300, (x, y) => (ink(x, y) ? [250, 240, 170, 255] : [20, 30, 140, 255]));
  assertClose(toCaptionInput(light), out, 1e-5, 'light on dark');
  // Too many digits for the width: all are scaled down together and none is lost.
  const many = image(1200, 100, (x, y) => (x % 100 >= 20 && x % 100 < 80 && y >= 10 && y < 90 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
  const squeezed = inkRuns(toCaptionInput(many), 28, 112);
  assert.equal(squeezed.length, 12);
  assert.ok(squeezed[0].x0 >= 0 && squeezed.at(-1)!.x1 <= 111);
  // Another size; a blank page is all zeros.
  assert.equal(inkRuns(toCaptionInput(dark, 32, 128), 32, 128).length, 3);
  assert.deepEqual(toCaptionInput(image(50, 20, () => [255, 255, 255, 255])), new Float32Array(28 * 112));
  assert.throws(() => toCaptionInput(dark, 2, 112), userError(/at least 4 x 4, got 2 x 112/));
});
