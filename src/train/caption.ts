// Training and scoring the captioner (models/captioner.ts) on generated images (data/captions.ts),
// as a configuration of the one trainer (trainer.ts), counted in steps like a language model
// (budget.ts: AdamW, warm-up and cosine, global clipping, a length in steps or minutes). Each step
// draws a fresh batch of images from the MNIST training digits, so no image is seen twice; each
// epoch of `evalEvery` steps ends with the loss and the exact-match accuracy on fixed validation
// images drawn from held-out training digits (the last VALIDATION_DIGITS of them; the test digits
// are for `evaluateCaptioner` only), and in a run folder a checkpoint (model, optimizer moments,
// random streams) from which a run resumes bit for bit. The best checkpoint is the one with the
// best validation accuracy.
// Not for: the model, the data, the CLI.

import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { CAPTION_HEIGHT, CAPTION_WIDTH, captionDigits, captionSample, type CaptionDataset, type CaptionDigits } from '../data/captions.js';
import { wordsToNumber } from '../data/numbers.js';
import { saveModel } from '../io/checkpoint.js';
import type { Captioner } from '../models/captioner.js';
import { noGrad } from '../tensor/engine.js';
import { tidy } from '../tensor/memory.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { budgetedAdamW, type BudgetOptions, type RunFields } from './budget.js';
import { RunTracker } from './runs.js';
import { onNanOption, trainLoop, type TrainResult } from './trainer.js';

/** MNIST training images kept out of training, from the end, to draw the validation images from. */
export const VALIDATION_DIGITS = 5000;

/** Options of {@link trainCaptioner}: the budgeted AdamW training's, plus the validation set's size. */
export interface CaptionTrainOptions extends BudgetOptions {
  /** Validation images, the same at every evaluation. */
  evalCount: number;
}

/** MNIST's training split, as loadMnist({ split: 'train' }) gives it. */
export interface MnistSplit {
  images: Float32Array;
  labels: ArrayLike<number>;
  count: number;
}

/**
 * What {@link trainCaptioner} trains: the model, the MNIST digits to draw images from, the options,
 * and where the run is kept.
 */
export interface CaptionRun extends RunFields {
  /** The captioner to train (its weights are updated in place). */
  model: Captioner;
  /** The MNIST training images: the digits of every training and validation image. */
  mnist: MnistSplit;
  /** The training options (also stored in the run's config.json). */
  options: CaptionTrainOptions;
}

/** The training digits and the held-out validation digits of MNIST's training split. */
export function splitTrainingDigits(mnist: MnistSplit): {
  /** The digits of all but the last VALIDATION_DIGITS training images. */
  train: CaptionDigits;
  /** The digits of the last VALIDATION_DIGITS training images, never trained on. */
  validation: CaptionDigits;
} {
  check(mnist.count > VALIDATION_DIGITS, `the captioner holds out ${VALIDATION_DIGITS} MNIST training images for validation: it needs more than that, got ${mnist.count}`);
  const n = mnist.count - VALIDATION_DIGITS, px = CAPTION_HEIGHT * CAPTION_HEIGHT;
  const part = (from: number, count: number) => ({
    images: mnist.images.subarray(from * px, (from + count) * px), labels: Array.prototype.slice.call(mnist.labels, from, from + count) as number[], count,
  });
  return { train: captionDigits(part(0, n), 'train'), validation: captionDigits(part(n, VALIDATION_DIGITS), 'train') };
}

/** `count` images (count, H, W, 1) and their token rows (count, T): BOS, the caption, EOS, then PAD to the longest. */
function batchOf(model: Captioner, images: Float32Array, captions: readonly string[]): [Tensor, Tensor] {
  const rows = captions.map((c) => model.encodeCaption(c));
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(model.config.pad);
  rows.forEach((r, i) => ids.set(r, i * T));
  return [tensor(images, [rows.length, CAPTION_HEIGHT, CAPTION_WIDTH, 1]), tensor(ids, [rows.length, T], 'int32')];
}

/** A batch of `count` fresh images drawn with `rng`. */
function drawBatch(model: Captioner, rng: Rng, digits: CaptionDigits, count: number): [Tensor, Tensor] {
  const px = CAPTION_HEIGHT * CAPTION_WIDTH;
  const images = new Float32Array(count * px);
  const captions = Array.from({ length: count }, (_, i) => captionSample(rng, digits, images.subarray(i * px, (i + 1) * px)).caption);
  return batchOf(model, images, captions);
}

/** Generated images and their captions, with the model's image size. */
type Captioned = Pick<CaptionDataset, 'images' | 'captions' | 'count'>;

function checkSize(model: Captioner): void {
  const { height, width } = model.config;
  check(height === CAPTION_HEIGHT && width === CAPTION_WIDTH, `the captioner reads ${height} x ${width} images, but the generated ones are ${CAPTION_HEIGHT} x ${CAPTION_WIDTH}`);
}

/** Mean loss per caption token (EOS included) of generated images, teacher-forced. */
export function captionLoss(model: Captioner, data: Captioned, batch = 256): number {
  checkSize(model);
  const px = CAPTION_HEIGHT * CAPTION_WIDTH;
  let nats = 0, tokens = 0;
  noGrad(() => {
    for (let i = 0; i < data.count; i += batch) {
      const n = Math.min(batch, data.count - i);
      const captions = data.captions.slice(i, i + n);
      tidy(() => {
        const [images, ids] = batchOf(model, data.images.slice(i * px, (i + n) * px), captions);
        const counted = (ids.raw as Int32Array).reduce((k, id, j) => k + (j % ids.shape[1] > 0 && id !== model.config.pad ? 1 : 0), 0); // the targets: all but BOS and PAD
        nats += model.loss(images, ids, false).item() * counted;
        tokens += counted;
      });
    }
  });
  return nats / tokens;
}

/** How well a captioner writes the captions of generated images, as {@link evaluateCaptioner} measures it. */
export interface CaptionScore {
  /** Images whose caption is exactly right. */
  exact: number;
  /** Digits right: 1 - (edit distance between the numbers' digits, at most the true digit count) / digits; a caption that is no number has every digit wrong. */
  digits: number;
  /** Exact match by the true number's digit count (1 to 4): [accuracy, images]. */
  byDigits: Record<number, {
    /** Fraction of these images captioned exactly right. */
    exact: number;
    /** Number of these images. */
    count: number;
  }>;
  /** Number of images scored. */
  count: number;
  /** The wrong ones, in order: the image's index, the true caption, the written one. */
  wrong: {
    /** The image's index in the data. */
    index: number;
    /** The true caption. */
    caption: string;
    /** The caption the model wrote. */
    predicted: string;
  }[];
}

/** Exact-match and per-digit accuracy of the model's captions (greedy, or beam search) of generated images. */
export function evaluateCaptioner(model: Captioner, data: Captioned, o: { batch?: number; beam?: number } = {}): CaptionScore {
  checkSize(model);
  const batch = o.batch ?? 256, px = CAPTION_HEIGHT * CAPTION_WIDTH;
  const byDigits: CaptionScore['byDigits'] = {};
  const wrong: CaptionScore['wrong'] = [];
  let exact = 0, digitsRight = 0, digits = 0;
  for (let i = 0; i < data.count; i += batch) {
    const n = Math.min(batch, data.count - i);
    const written = tidy(() => model.predict(tensor(data.images.slice(i * px, (i + n) * px), [n, CAPTION_HEIGHT, CAPTION_WIDTH, 1]), { beam: o.beam ?? 1 }));
    written.forEach((predicted, j) => {
      const caption = data.captions[i + j];
      const truth = String(wordsToNumber(caption));
      const got = wordsToNumber(predicted);
      const right = predicted === caption;
      const d = (byDigits[truth.length] ??= { exact: 0, count: 0 });
      d.count++;
      if (right) (exact++, d.exact++);
      else wrong.push({ index: i + j, caption, predicted });
      digits += truth.length;
      digitsRight += truth.length - (got === null ? truth.length : Math.min(truth.length, editDistance(truth, String(got))));
    });
  }
  for (const d of Object.values(byDigits)) d.exact /= d.count;
  return { exact: exact / data.count, digits: digitsRight / digits, byDigits, count: data.count, wrong };
}

/** Levenshtein distance: insertions, deletions and substitutions of one character each. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** Trains the captioner (see the header): validation images are drawn with options.seed + 3, training batches with seed + 2. */
export async function trainCaptioner(run: CaptionRun): Promise<TrainResult> {
  const { model, options: o } = run;
  checkSize(model);
  const { train, validation } = splitTrainingDigits(run.mnist);
  const resumed = run.resumed?.state;
  const dataRng = new Rng(o.seed + 2);
  if (resumed) {
    dataRng.setState(resumed.rng.images);
    model.setRngStates(resumed.rng);
  }
  const { optimizer, seconds, learningRate, extra } = budgetedAdamW(o, run.resumed);
  // The same validation images at every evaluation (and in every run with this seed), so figures compare.
  const valRng = new Rng(o.seed + 3), px = CAPTION_HEIGHT * CAPTION_WIDTH;
  const valImages = new Float32Array(o.evalCount * px);
  const valCaptions = Array.from({ length: o.evalCount }, (_, i) => captionSample(valRng, validation, valImages.subarray(i * px, (i + 1) * px)).caption);
  const valSet = { images: valImages, captions: valCaptions, count: o.evalCount };
  const handle = {
    stopTraining: false, optimizer, weights: model.weights,
    save: (dir: string) => saveModel(model, dir, { optimizer, training: { options: o } }),
    getRngStates: () => ({ ...model.getRngStates(), images: dataRng.getState() }),
  };
  return trainLoop({
    model: handle, optimizer, params: model.weights.filter((w) => w.trainable), stepsPerEpoch: o.evalEvery, steps: o.steps, seconds,
    learningRate, callbacks: run.callbacks, onNan: onNanOption(run.onNan),
    run: run.dir == null ? undefined : new RunTracker(run.dir, {
      monitor: 'val_accuracy', resumed, logEvery: o.logEvery, config: run.runConfig ?? { model: 'captioner', options: o },
      extra: () => ({ ...extra(), imagesPerStep: o.batch }),
    }),
    loss: () => ({ loss: model.loss(...drawBatch(model, dataRng, train, o.batch), true), size: o.batch }),
    validate: () => ({ loss: captionLoss(model, valSet), accuracy: evaluateCaptioner(model, valSet).exact }),
  });
}
