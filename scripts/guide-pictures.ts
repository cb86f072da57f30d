// The guide's pictures (docs/guide/images/), every number in them computed by tsgrad:
//   filters.png          the 32 first-layer 3x3 filters of the reference CNN after one epoch on
//                        MNIST (blue negative, white zero, red positive; each scaled to its own
//                        largest weight), numbered 0-31 in reading order;
//   feature-maps.png     a test digit, and the first convolution's 32 maps for it after ReLU
//                        (26x26), then the same maps max-pooled (13x13), in the filters' order,
//                        each map on its own scale (black zero, bright its maximum);
//   training-curves.png  loss and accuracy per epoch, training and validation, of a 5-epoch run of
//                        the reference CNN (its metrics.jsonl), or of a run folder given with --run;
//   attention.png        the causal attention weights of every head of a small character-level GPT
//                        (2 blocks, 4 heads) trained for 600 steps on the Brown corpus, for one
//                        sentence: one row of heatmaps per block, queries down, keys across.
// Seeded throughout, so a run draws the same pictures on the same machine. About 2-4 minutes on
// 2 cores (3 min 21 s measured with the cores shared): the CNN's 5 epochs take 70-150 s (one epoch
// with --run), the GPT's 600 steps 45-70 s.
// Not for: anything the library needs; the drawing (a canvas, a 5x7 pixel font, a palette PNG
// writer) is here only because the pictures need it.
// Run: node --import tsx scripts/guide-pictures.ts [--run RUN_DIR] [--only cnn|gpt]
//   e.g. node bin/tsgrad.js train --validation-split 0.1 --runs /tmp/x, then --run /tmp/x/<name>

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import {
  charTokenizer, Gpt, layers, loadBrown, loadMnist, noGrad, referenceCnn, RunTracker, selfAttention, softmax, splitHeads, tensor, tidy,
  train, trainLm,
} from '../src/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs/guide/images');
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runArg = arg('--run'), only = arg('--only');
/** A bad flag or run folder: one line, exit 2, no picture written. */
function fail(message: string): never {
  console.error(`guide-pictures: ${message}`);
  process.exit(2);
}
if (process.argv.includes('--only') && only !== 'cnn' && only !== 'gpt') fail(`--only takes cnn or gpt, got ${JSON.stringify(only ?? '')}`);
if (process.argv.includes('--run') && !(runArg && fs.existsSync(path.join(runArg, 'metrics.jsonl')))) fail(`--run takes a run folder with a metrics.jsonl, got ${JSON.stringify(runArg ?? '')}`);
const SEED = 0;
const TEST_DIGIT = 0; // the first test image, a 7: a horizontal stroke and a slanted one

// ---- Drawing: an RGB canvas, a 5x7 font, colour maps, and a PNG writer ------------------------

type Rgb = readonly [number, number, number];
const WHITE: Rgb = [255, 255, 255], BLACK: Rgb = [0, 0, 0], GREY: Rgb = [150, 150, 150], LIGHT: Rgb = [228, 228, 228];

// Rows top to bottom, '#' lit. Lower case is drawn in capitals; a space in a label is '_'.
const FONT: Record<string, string> = {
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.', '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####', '3': '####. ....# ....# .###. ....# ....# ####.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.', '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.', '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.', '9': '.###. #...# #...# .#### ....# ...#. .##..',
  '.': '..... ..... ..... ..... ..... .##.. .##..', ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  '-': '..... ..... ..... .###. ..... ..... .....', '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '_': '..... ..... ..... ..... ..... ..... #####', ' ': '..... ..... ..... ..... ..... ..... .....',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....', '%': '##..# ##..# ...#. ..#.. .#... #..## #..##',
  A: '.###. #...# #...# ##### #...# #...# #...#', B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.', D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####', F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####', H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.', J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#', L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#', N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.', P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#', R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.', T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.', V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.', X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..', Z: '##### ....# ...#. ..#.. .#... #.... #####',
};
const GLYPH_W = 6; // 5 columns and a space

class Canvas {
  readonly rgb: Uint8Array;
  constructor(readonly width: number, readonly height: number, background: Rgb = WHITE) {
    this.rgb = new Uint8Array(3 * width * height);
    this.rect(0, 0, width, height, background);
  }

  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = Math.max(0, y); j < Math.min(this.height, y + h); j++) {
      for (let i = Math.max(0, x); i < Math.min(this.width, x + w); i++) this.rgb.set(c, 3 * (j * this.width + i));
    }
  }

  /** A w x h grid of values (row-major) at (x, y), each value a scale x scale square (nearest-neighbour upscaling). */
  image(x: number, y: number, values: ArrayLike<number>, w: number, h: number, scale: number, colour: (v: number) => Rgb): void {
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) this.rect(x + c * scale, y + r * scale, scale, scale, colour(values[r * w + c]));
  }

  /** A one-pixel frame around the box (x, y, w, h). */
  frame(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.rect(x - 1, y - 1, w + 2, 1, c);
    this.rect(x - 1, y + h, w + 2, 1, c);
    this.rect(x - 1, y, 1, h, c);
    this.rect(x + w, y, 1, h, c);
  }

  /** A straight line with a square pen of `thickness` pixels (Bresenham). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    [x0, y0, x1, y1] = [x0, y0, x1, y1].map(Math.round);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const lo = -Math.floor((thickness - 1) / 2);
    for (let err = dx + dy; ;) {
      this.rect(x0 + lo, y0 + lo, thickness, thickness, c);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) [err, x0] = [err + dy, x0 + sx];
      if (e2 <= dx) [err, y0] = [err + dx, y0 + sy];
    }
  }

  /** Text in the 5x7 font with its top left at (x, y); returns its width. */
  text(x: number, y: number, s: string, c: Rgb = BLACK, scale = 1): number {
    [...s.toUpperCase()].forEach((ch, k) => {
      const rows = (FONT[ch] ?? FONT[' ']).split(' ');
      rows.forEach((row, r) => [...row].forEach((p, col) => p === '#' && this.rect(x + (k * GLYPH_W + col) * scale, y + r * scale, scale, scale, c)));
    });
    return textWidth(s, scale);
  }
}
const textWidth = (s: string, scale = 1) => (s.length * GLYPH_W - 1) * scale;

/** A colour map from [0, 1], quantised to `levels` colours so that the PNG keeps a palette. */
function colourMap(stops: Rgb[], levels = 64): (t: number) => Rgb {
  const table = Array.from({ length: levels }, (_, i) => {
    const u = (i / (levels - 1)) * (stops.length - 1), k = Math.min(stops.length - 2, Math.floor(u)), f = u - k;
    return stops[k].map((a, ch) => Math.round(a + (stops[k + 1][ch] - a) * f)) as unknown as Rgb;
  });
  return (t) => table[Math.round(Math.min(1, Math.max(0, t)) * (levels - 1))];
}
const BLUES = colourMap([[33, 102, 172], WHITE]), REDS = colourMap([WHITE, [178, 24, 43]]);
/** Blue for negative, white for zero, red for positive: v in [-1, 1]. */
const diverging = (v: number): Rgb => (v < 0 ? BLUES(1 + v) : REDS(v));
const heat = colourMap([BLACK, [120, 28, 109], [237, 105, 37], [252, 255, 164]]); // dark to bright, like magma
const ink = colourMap([BLACK, WHITE]);
const attentionColour = colourMap([WHITE, [107, 174, 214], [8, 48, 107]]);

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
  return out;
}

/** Writes the canvas as an 8-bit palette PNG (it has at most 256 colours), else as RGB. */
function writePng(name: string, canvas: Canvas): void {
  const { width, height, rgb } = canvas;
  const index = new Map<number, number>();
  for (let i = 0; i < rgb.length && index.size <= 256; i += 3) {
    const key = (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2];
    if (!index.has(key)) index.set(key, index.size);
  }
  const palette = index.size <= 256;
  const bytesPerPixel = palette ? 1 : 3;
  const raw = Buffer.alloc(height * (1 + width * bytesPerPixel)); // each row: filter type 0, then the pixels
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * bytesPerPixel) + 1;
    for (let x = 0; x < width; x++) {
      const p = 3 * (y * width + x);
      if (palette) raw[row + x] = index.get((rgb[p] << 16) | (rgb[p + 1] << 8) | rgb[p + 2])!;
      else raw.set(rgb.subarray(p, p + 3), row + 3 * x);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, palette ? 3 : 2, 0, 0, 0], 8); // bit depth 8; colour type palette or RGB
  const plte = Buffer.from([...index.keys()].flatMap((k) => [k >> 16, (k >> 8) & 255, k & 255]));
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), ...(palette ? [chunk('PLTE', plte)] : []),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0)),
  ]);
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, name), png);
  console.log(`wrote docs/guide/images/${name} (${width}x${height}, ${(png.length / 1024).toFixed(1)} KB)`);
}

/** Lays out `count` cells of cellW x cellH in rows of `perRow`, each under its number: the cell's top left. */
function numberedGrid(canvas: Canvas, x0: number, y0: number, count: number, perRow: number, cellW: number, cellH: number, gap: number,
  draw: (i: number, x: number, y: number) => void): void {
  for (let i = 0; i < count; i++) {
    const x = x0 + (i % perRow) * (cellW + gap), y = y0 + Math.floor(i / perRow) * (cellH + gap + 9);
    canvas.text(x + (cellW - textWidth(String(i))) / 2, y, String(i), GREY);
    draw(i, x, y + 9);
  }
}
const gridHeight = (rows: number, cellH: number, gap: number) => rows * (cellH + 9) + (rows - 1) * gap;

// ---- 1 and 2: the first layer's filters and feature maps --------------------------------------

/** filters.png from the first layer's kernel (3, 3, 1, 32). */
function drawFilters(kernel: Float32Array): void {
  const [k, n, scale, gap, margin] = [3, 32, 22, 10, 10];
  const cell = k * scale;
  const canvas = new Canvas(2 * margin + 8 * cell + 7 * gap, 2 * margin + gridHeight(4, cell, gap));
  numberedGrid(canvas, margin, margin, n, 8, cell, cell, gap, (f, x, y) => {
    const w = Array.from({ length: k * k }, (_, i) => kernel[i * n + f]); // (kh, kw, 1, filters): filter f's 3x3
    const top = Math.max(...w.map(Math.abs));
    canvas.image(x, y, w.map((v) => v / top), k, k, scale, diverging);
    canvas.frame(x, y, cell, cell, GREY);
  });
  writePng('filters.png', canvas);
}

/** feature-maps.png: the digit, then its 32 maps after conv + ReLU (26x26) and after pooling (13x13). */
function drawFeatureMaps(digit: Float32Array, maps: Float32Array, pooled: Float32Array): void {
  const [n, gap, margin, cell] = [32, 8, 10, 78]; // 26 x 3 = 13 x 6 = 78 pixels
  const digitScale = 4, left = margin + 28 * digitScale + 24;
  const gridH = gridHeight(4, cell, gap);
  const canvas = new Canvas(left + 8 * cell + 7 * gap + margin, 2 * margin + 2 * (20 + gridH) + 20);
  canvas.text(margin, margin, 'input', BLACK, 2);
  canvas.image(margin, margin + 20, digit, 28, 28, digitScale, ink);
  const channel = (values: Float32Array, side: number, f: number) => Array.from({ length: side * side }, (_, i) => values[i * n + f]); // (side, side, 32): channel f
  // Each map on its own scale (its maximum, which pooling keeps), so that a weak map shows its shape too.
  const tops = Array.from({ length: n }, (_, f) => Math.max(...channel(maps, 26, f)) || 1);
  const section = (y: number, label: string, values: Float32Array, side: number) => {
    canvas.text(left, y, label, BLACK, 2);
    numberedGrid(canvas, left, y + 20, n, 8, cell, cell, gap, (f, x, yy) => {
      canvas.image(x, yy, channel(values, side, f).map((v) => v / tops[f]), side, side, cell / side, heat);
    });
  };
  section(margin, 'conv 3x3 + relu: 26x26', maps, 26);
  section(margin + 20 + gridH + 20, 'max pooled 2x2: 13x13', pooled, 13);
  writePng('feature-maps.png', canvas);
}

// ---- 3: training curves ------------------------------------------------------------------------

interface EpochRecord { epoch: number; loss: number; accuracy: number; val_loss: number; val_accuracy: number }

function readEpochs(dir: string): EpochRecord[] {
  const records = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EpochRecord & { event: string }).filter((r) => r.event === 'epoch');
  if (!records.length || records.some((r) => r.val_loss === undefined || r.accuracy === undefined)) {
    fail(`${dir}/metrics.jsonl has no epochs with loss, accuracy and validation figures: train with --validation-split`);
  }
  return records;
}

/** Round ticks covering [lo, hi]: about `count` of them, at 1, 2 or 5 times a power of ten. */
function niceTicks(lo: number, hi: number, count = 5): { ticks: number[]; lo: number; hi: number; decimals: number } {
  const raw = (hi - lo) / count, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const [a, b] = [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
  const ticks = Array.from({ length: Math.round((b - a) / step) + 1 }, (_, i) => a + i * step);
  return { ticks, lo: a, hi: b, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

const TRAIN_COLOUR: Rgb = [31, 119, 180], VALIDATION_COLOUR: Rgb = [230, 85, 13];

/** One chart: axes, ticks, grid lines, the two series as lines with square markers, a title. */
function chart(canvas: Canvas, x0: number, y0: number, w: number, h: number, title: string, epochs: number[], series: [number[], Rgb][],
  range: [number, number], format: (v: number, decimals: number) => string): void {
  const S = 2; // font scale
  const { ticks, lo, hi, decimals } = niceTicks(range[0], range[1]);
  const [first, last] = [epochs[0], epochs[epochs.length - 1]];
  const px = (e: number) => x0 + ((e - first + 0.25) / (last - first + 0.5)) * w;
  const py = (v: number) => y0 + h - ((v - lo) / (hi - lo)) * h;
  for (const t of ticks) {
    canvas.rect(x0, Math.round(py(t)), w, 1, LIGHT);
    canvas.rect(x0 - 6, Math.round(py(t)), 6, 1, BLACK);
    const label = format(t, decimals);
    canvas.text(x0 - 10 - textWidth(label, S), Math.round(py(t)) - 7, label, BLACK, S);
  }
  for (const e of epochs) {
    canvas.rect(Math.round(px(e)), y0 + h, 1, 6, BLACK);
    canvas.text(Math.round(px(e)) - textWidth(String(e), S) / 2, y0 + h + 10, String(e), BLACK, S);
  }
  canvas.rect(x0, y0, 1, h + 1, BLACK); // the y axis
  canvas.rect(x0, y0 + h, w, 1, BLACK); // the x axis
  canvas.text(x0 + (w - textWidth('epoch', S)) / 2, y0 + h + 32, 'epoch', BLACK, S);
  canvas.text(x0 + (w - textWidth(title, S)) / 2, y0 - 26, title, BLACK, S);
  for (const [values, colour] of series) {
    values.forEach((v, i) => {
      if (i > 0) canvas.line(px(epochs[i - 1]), py(values[i - 1]), px(epochs[i]), py(v), colour, 3);
      canvas.rect(Math.round(px(epochs[i])) - 3, Math.round(py(v)) - 3, 7, 7, colour);
    });
  }
}

function drawTrainingCurves(records: EpochRecord[]): void {
  const epochs = records.map((r) => r.epoch);
  const pick = (k: keyof EpochRecord) => records.map((r) => r[k]);
  const [w, h, left, top, between] = [380, 260, 90, 50, 130];
  const canvas = new Canvas(left + 2 * w + between + 20, top + h + 90);
  const losses = [...pick('loss'), ...pick('val_loss')], accuracies = [...pick('accuracy'), ...pick('val_accuracy')].map((a) => 100 * a);
  chart(canvas, left, top, w, h, 'loss', epochs, [[pick('loss'), TRAIN_COLOUR], [pick('val_loss'), VALIDATION_COLOUR]],
    [0, Math.max(...losses)], (v, d) => v.toFixed(d));
  chart(canvas, left + w + between, top, w, h, 'accuracy %', epochs,
    [[pick('accuracy').map((a) => 100 * a), TRAIN_COLOUR], [pick('val_accuracy').map((a) => 100 * a), VALIDATION_COLOUR]],
    [Math.min(...accuracies) - 0.02 * (100 - Math.min(...accuracies)), 100], (v, d) => v.toFixed(d));
  // The legend, under the charts.
  let x = left;
  for (const [label, colour] of [['training', TRAIN_COLOUR], ['validation', VALIDATION_COLOUR]] as const) {
    const y = top + h + 70;
    canvas.line(x, y + 6, x + 30, y + 6, colour, 3);
    canvas.rect(x + 12, y + 3, 7, 7, colour);
    x += 40 + canvas.text(x + 40, y, label, BLACK, 2) + 30;
  }
  writePng('training-curves.png', canvas);
}

// ---- The CNN run: 1, 2 and 3 ------------------------------------------------------------------

async function cnnPictures(): Promise<void> {
  const given = runArg === undefined ? null : readEpochs(runArg); // read first: a run without validation fails before training
  const trainSet = loadMnist({ split: 'train' }), testSet = loadMnist({ split: 'test', limit: TEST_DIGIT + 1 });
  const x = tensor(trainSet.images, trainSet.shape), y = tensor(trainSet.labels, [trainSet.count], 'int32');
  const model = referenceCnn({ seed: SEED });
  model.compile({ optimizer: train.adam(0.001), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const digit = testSet.images.slice(TEST_DIGIT * 784, (TEST_DIGIT + 1) * 784);
  const afterFirstEpoch = {
    onEpochEnd(epoch: number) {
      if (epoch !== 0) return;
      const conv = model.layers[0] as ReturnType<typeof layers.conv2d>;
      drawFilters(Float32Array.from(conv.kernel.dataSync()));
      noGrad(() => tidy(() => {
        const maps = conv.call(tensor(digit, [1, 28, 28, 1])); // (1, 26, 26, 32), ReLU included
        const pooled = model.layers[1].call(maps, false); // (1, 13, 13, 32)
        drawFeatureMaps(digit, Float32Array.from(maps.dataSync()), Float32Array.from(pooled.dataSync()));
      }));
    },
  };
  // As `tsgrad train --validation-split 0.1` trains: the last 6,000 training digits validate.
  const runDir = runArg ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'guide-pictures-')), 'reference');
  const run = runArg ? undefined : new RunTracker(runDir, { monitor: 'val_loss', config: { model: 'reference', options: { epochs: 5, batchSize: 32, validationSplit: 0.1, seed: SEED } } });
  const started = Date.now();
  await model.fit(x, y, { epochs: runArg ? 1 : 5, batchSize: 32, validationSplit: 0.1, callbacks: [afterFirstEpoch], run, verbose: 2 });
  console.log(`reference CNN trained in ${((Date.now() - started) / 1000).toFixed(0)} s${run ? `; its run folder: ${runDir}` : ''}`);
  drawTrainingCurves(given ?? readEpochs(runDir));
}

// ---- 4: attention patterns of a small GPT -----------------------------------------------------

const SENTENCE = 'The man said that he would go.';
const GPT_SHAPE = { layers: 2, heads: 4, embd: 64, block: 64 };
const GPT_STEPS = 600;

/**
 * The attention weights (layers x heads, each T x T) of `model` on `ids`, from its weights: each
 * block's ln_1, then c_attn's q and k thirds split into heads, softmax(q kᵀ / sqrt(d)) with the
 * causal mask. The blocks themselves carry the residual stream from one layer to the next.
 * Checked against the model's own fused attention: weights times v must give its output.
 */
function attentionWeights(model: Gpt, ids: Int32Array): Float32Array[][] {
  const { heads, embd: C } = model.config;
  const T = ids.length, d = C / heads;
  const mask = tensor(Float32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0)), [T, T]); // key j > query i: hidden
  return noGrad(() => tidy(() => {
    const positions = tensor(Int32Array.from({ length: T }, (_, i) => i), [T], 'int32');
    let x = model.wte.call(tensor(ids, [1, T], 'int32')).add(model.wpe.call(positions)); // (1, T, C)
    return model.h.map((block) => {
      const a = block.ln1.call(x);
      const [q, k, v] = [0, 1, 2].map((i) => splitHeads(block.cAttn.callUnits(a, i * C, C), heads)); // (1, T, C) -> (1, H, T, d)
      const weights = softmax(q.matmul(k, { transB: true }).mul(1 / Math.sqrt(d)).add(mask)); // (1, H, T, T)
      const ours = weights.matmul(v).transpose([0, 2, 1, 3]).reshape([1, T, C]);
      const fused = selfAttention(block.cAttn.call(a), heads, { causal: true });
      const gap = Math.max(...Array.from(ours.sub(fused).abs().dataSync(), Math.abs));
      if (!(gap < 1e-4)) throw new Error(`the attention computed here differs from the model's by ${gap}`);
      x = block.call(x, { heads, drop: (t) => t });
      const w = weights.dataSync();
      return Array.from({ length: heads }, (_, h) => Float32Array.from(w.subarray(h * T * T, (h + 1) * T * T)));
    });
  }));
}

async function gptPictures(): Promise<void> {
  const text = loadBrown();
  const split = Math.floor(text.length * 0.9);
  const tokenizer = charTokenizer(text);
  const model = new Gpt({ vocabSize: tokenizer.vocabSize, ...GPT_SHAPE }, SEED);
  const started = Date.now();
  await trainLm({
    model, tokenizer, train: tokenizer.encode(text.slice(0, split)), validation: tokenizer.encode(text.slice(split)),
    options: { batch: 32, steps: GPT_STEPS, lr: 6e-3, warmup: 100, weightDecay: 0.1, clip: 1, evalEvery: GPT_STEPS, evalBatches: 4, seed: SEED },
    callbacks: [{ onEpochEnd: (_e, logs) => console.log(`GPT: ${GPT_STEPS} steps, validation loss ${logs.val_loss.toFixed(3)} nats per character`) }],
  });
  console.log(`GPT trained in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const ids = tokenizer.encode(SENTENCE);
  const weights = attentionWeights(model, ids);
  drawAttention(weights, SENTENCE);
}

/** attention.png: one row per block, one heatmap per head; queries down the left, keys across the top. */
function drawAttention(weights: Float32Array[][], sentence: string): void {
  const T = sentence.length, cell = 8, side = T * cell, gap = 24, margin = 12, label = 10;
  const chars = [...sentence].map((c) => (c === ' ' ? '_' : c));
  const panelW = label + side, panelH = 12 + label + side;
  const canvas = new Canvas(2 * margin + weights[0].length * panelW + (weights[0].length - 1) * gap, 2 * margin + weights.length * panelH + (weights.length - 1) * gap);
  weights.forEach((layer, l) => layer.forEach((w, h) => {
    const x = margin + h * (panelW + gap), y = margin + l * (panelH + gap);
    canvas.text(x + label, y, `layer ${l + 1} head ${h + 1}`);
    const top = y + 12 + label, left = x + label;
    chars.forEach((c, i) => {
      canvas.text(left + i * cell + 1, top - label + 1, c, GREY); // keys
      canvas.text(x + 1, top + i * cell + 1, c, GREY); // queries
    });
    canvas.image(left, top, w, T, T, cell, attentionColour);
    canvas.frame(left, top, side, side, GREY);
  }));
  writePng('attention.png', canvas);
}

if (only !== 'gpt') await cnnPictures();
if (only !== 'cnn') await gptPictures();
