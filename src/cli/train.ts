// `tsgrad train`: trains a model from the zoo on MNIST with its recipe (flags override it), prints
// Keras-style progress and the test figures, and keeps the run in runs/<name>/ (the library's run
// tracker, src/train/runs.ts: config, metrics, a checkpoint after every epoch, a summary).
// `--resume` continues a run from its newest checkpoint and ends where an uninterrupted run would
// have. This file turns the flags (defined in main.ts) into calls to the library.

import fs from 'node:fs';
import path from 'node:path';
import { check } from '../core/errors.js';
import type { Doc } from '../core/validate.js';
import { Rng } from '../core/rng.js';
import { augmenter, type AugmentOptions } from '../data/augment.js';
import { loadMnist } from '../data/mnist.js';
import { resumeRun } from '../models/load.js';
import { MODEL_NAMES, RECIPES, recipeModel, recipeOptimizer, type TrainSettings } from '../models/zoo.js';
import type { BackendName } from '../tensor/engine.js';
import { selectBackend } from './backend.js';
import { persistent } from '../tensor/memory.js';
import { allocate, tensor, type Tensor } from '../tensor/tensor.js';
import type { Callback } from '../train/callbacks.js';
import { earlyStopping, reduceLROnPlateau } from '../train/monitors.js';
import { jsonLines, progressBar } from '../train/progress.js';
import { checkNewRun, openRun, readRun, runStamp, RunTracker, startRun, writeSummary, type RunState } from '../train/runs.js';
import { Sequential } from '../train/sequential.js';
import { checkResumeFlags, plural, newRunDir, warn, type RunPlace } from './common.js';

export interface TrainOptions extends Partial<TrainSettings>, RunPlace {
  resume?: string;
  stopAfter?: number;
  data?: string;
  json?: boolean;
  backend: BackendName;
  profile?: boolean;
  /** What a NaN or Inf loss or gradient does (--on-nan): stop the run (the default) or skip the step. */
  onNan?: 'stop' | 'skip';
}

/** Parses --augment: "none", or comma-separated rotation=deg, zoom=f, shift=f, elastic=alpha[, sigma=s]. */
export function parseAugment(spec: string): AugmentOptions | null {
  if (spec === 'none') return null;
  const o: AugmentOptions = {};
  for (const part of spec.split(',')) {
    const [key, raw] = part.split('=');
    const v = Number(raw);
    check(raw !== undefined && raw.trim() !== '' && Number.isFinite(v) && v >= 0, `--augment: "${part}" must be key=number (>= 0)`);
    switch (key.trim()) {
      case 'rotation': o.rotationRange = v; break;
      case 'zoom': o.zoomRange = v; break;
      case 'shift': o.widthShiftRange = o.heightShiftRange = v; break;
      case 'elastic': o.elasticAlpha = v; break;
      case 'sigma': o.elasticSigma = v; break;
      default: check(false, `--augment: unknown transform "${key}" (use rotation, zoom, shift, elastic, sigma, or none)`);
    }
  }
  return o;
}

function formatAugment(a: AugmentOptions | null): string {
  if (!a) return 'none';
  const parts = [['rotation', a.rotationRange], ['zoom', a.zoomRange], ['shift', a.widthShiftRange], ['elastic', a.elasticAlpha], ['sigma', a.elasticSigma]];
  return parts.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The run's settings: the flags given, else the model's recipe. */
function runOptions(opts: TrainOptions): TrainSettings {
  const recipe = RECIPES[opts.model ?? 'reference'];
  const o = {
    ...opts,
    epochs: opts.epochs ?? recipe.epochs,
    batchSize: opts.batchSize ?? recipe.batchSize,
    optimizer: opts.optimizer ?? recipe.optimizer,
    lr: opts.lr ?? recipe.learningRate,
    schedule: opts.schedule ?? recipe.schedule,
    warmupEpochs: opts.warmupEpochs ?? recipe.warmupEpochs,
    augment: opts.augment ?? formatAugment(recipe.augment),
  } as TrainSettings & TrainOptions;
  const keys: (keyof TrainSettings)[] = ['model', 'epochs', 'batchSize', 'optimizer', 'lr', 'momentum', 'nesterov', 'weightDecay', 'clipnorm', 'clipvalue',
    'schedule', 'warmupEpochs', 'decayEpochs', 'decayRate', 'reduceOnPlateau', 'earlyStopping', 'validationSplit', 'l2', 'augment', 'limit', 'seed', 'logEvery'];
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as unknown as TrainSettings;
}

/**
 * A run's settings as its config.json holds them, checked field by field (a damaged or foreign
 * config.json is one line naming the field).
 */
function readSettings(run: { dir: string; model: string; options: TrainSettings }, doc: Doc): TrainSettings {
  check((MODEL_NAMES as readonly string[]).includes(run.model),
    `${run.dir} is a ${run.model} run, not one of tsgrad train's (${MODEL_NAMES.join(', ')}): continue a language model with tsgrad gpt train --resume`);
  const int = (k: string, min = 0) => doc.at(k).int({ min, max: 2 ** 31 - 1 });
  const num = (k: string, min = 0) => doc.at(k).number({ min });
  const opt = (k: string) => doc.at(k).optional();
  [int('epochs', 1), int('batchSize', 1), num('lr'), num('warmupEpochs'), num('validationSplit'), num('l2'), int('seed'), int('logEvery')];
  doc.at('model').string(MODEL_NAMES);
  doc.at('optimizer').string(['adam', 'adamw', 'rmsprop', 'sgd']);
  doc.at('schedule').string(['constant', 'step', 'exponential', 'cosine']);
  doc.at('augment').string();
  for (const k of ['momentum', 'weightDecay', 'decayEpochs', 'decayRate', 'clipnorm', 'clipvalue']) opt(k)?.number({ min: 0 });
  for (const k of ['limit', 'earlyStopping']) if (opt(k)) int(k, 1);
  for (const k of ['nesterov', 'reduceOnPlateau']) opt(k)?.boolean();
  check(run.options.validationSplit < 1, `${run.dir}/config.json: options.validationSplit must be below 1, got ${run.options.validationSplit}`);
  return checkSettings(run.options);
}

/** What a run's settings must satisfy together (checked before anything is written). */
function checkSettings(o: TrainSettings): TrainSettings {
  parseAugment(o.augment); // fail now on a bad spec
  check(o.schedule === 'cosine' || o.warmupEpochs === 0, '--warmup-epochs needs --schedule cosine');
  check(!(o.reduceOnPlateau && o.schedule !== 'constant'), '--reduce-on-plateau changes the learning rate itself: use it with --schedule constant');
  if (o.schedule === 'step' || o.schedule === 'exponential') {
    // lr * rate^(epochs / decayEpochs) at the last epoch, and at the first for a rate below 1.
    const end = o.lr * o.decayRate ** (o.epochs / Math.max(o.decayEpochs, 1e-9));
    check(Number.isFinite(end) && (end > 0 || o.lr === 0), `--decay-rate ${o.decayRate} every ${o.decayEpochs} epochs takes the learning rate from ${o.lr} to ${end} ` +
      `by epoch ${o.epochs}: give a rate nearer 1 or more --decay-epochs`);
  }
  return o;
}

export async function train(opts: TrainOptions, given: (flag: string) => boolean): Promise<void> {
  const say = (line: string) => opts.json || process.stdout.write(line + '\n');
  let dir: string;
  let o: TrainSettings;
  const resuming = opts.resume !== undefined;
  let latest: ReturnType<typeof openRun>['latest'] = null;
  if (resuming) {
    checkResumeFlags(opts, given, ['resume', 'runs', 'epochs', 'stopAfter', 'data', 'json', 'backend', 'profile', 'onNan'], '--epochs');
    const run = openRun<TrainSettings>(opts.resume!, opts.runs);
    ({ dir, latest } = run);
    o = readSettings(run, run.optionsDoc);
    if (opts.epochs !== undefined) o.epochs = opts.epochs;
  } else {
    o = checkSettings(runOptions(opts));
    dir = newRunDir(opts, `${o.model}-${runStamp()}`);
    checkNewRun(dir);
  }
  // Resuming a run that has no checkpoint yet (killed or stopped in its first epoch) starts it again from its settings.
  const fromScratch = resuming && latest === null;
  const finishing = resuming && latest !== null && latest.state.epoch >= o.epochs;
  check(!finishing || !fs.existsSync(path.join(dir, 'summary.json')) || (readRun(dir).epochsDone < o.epochs),
    `${dir} has already trained ${latest?.state.epoch} of ${plural(o.epochs, 'epoch')}: give a larger --epochs to train on`);

  const reportProfile = selectBackend(opts);
  // Only the tensors are kept: the loader's arrays are dropped at once, so the data is held once.
  const [x, y] = mnistTensors({ dir: opts.data, split: 'train', limit: o.limit });
  const [testX, testY] = mnistTensors({ dir: opts.data, split: 'test' });
  const count = x.shape[0];
  const trainCount = Math.floor(count * (1 - o.validationSplit));
  check(trainCount > 0 && (o.validationSplit === 0 || trainCount < count),
    `--validation-split ${o.validationSplit} of ${count} images leaves none on one side: give more images (--limit) or another split`);
  const stepsPerEpoch = Math.ceil(trainCount / o.batchSize);

  let model: Sequential;
  let resumed: RunState | undefined;
  const augmentRng = new Rng(o.seed + 2);
  if (resuming && !fromScratch) {
    const r = resumeRun(dir, Sequential);
    check(r, `--resume: ${dir} has no checkpoint`);
    [model, resumed] = [r.model, r.state];
    if (resumed.rng.augment) augmentRng.setState(resumed.rng.augment);
  } else {
    model = recipeModel(o);
    model.compile({ optimizer: recipeOptimizer(o, stepsPerEpoch), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    // Everything is checked: only now is the run's folder made.
    if (!resuming) startRun(dir, { model: o.model, options: o });
    if (o.schedule === 'cosine' && o.warmupEpochs >= o.epochs && !resuming) {
      warn(`the learning-rate warm-up (${plural(o.warmupEpochs, 'epoch')}) is ${o.warmupEpochs > o.epochs ? 'longer than' : 'as long as'} the run (${plural(o.epochs, 'epoch')}): ` +
        `the rate ${o.warmupEpochs > o.epochs ? `never reaches --lr ${o.lr}` : 'reaches --lr only at the last step'}; give fewer --warmup-epochs`);
    }
  }
  const augment = parseAugment(o.augment);
  if (!opts.json && !resuming) model.summary(say);
  const lrText = `${o.lr}${o.schedule === 'constant' ? '' : ` (${o.schedule}${o.warmupEpochs ? `, ${o.warmupEpochs} warm-up` : ''})`}`;
  const doing = fromScratch ? `Restarting ${dir} from its first epoch (it stopped before its first checkpoint)`
    : finishing ? `Finishing ${dir}: its ${plural(resumed!.epoch, 'epoch')} ${resumed!.epoch === 1 ? 'is' : 'are'} trained, testing it`
    : resuming ? `Resuming ${dir} at epoch ${resumed!.epoch + 1}` : `Training ${o.model} in ${dir}`;
  say(`${doing} on ${count.toLocaleString('en-US')} MNIST images: ` +
    `${plural(o.epochs, 'epoch')}, batch ${o.batchSize}, ${o.optimizer} lr ${lrText}, augment ${o.augment}, seed ${o.seed}`);

  const monitor = o.validationSplit > 0 ? 'val_loss' : 'loss';
  const callbacks: Callback[] = [];
  if (o.reduceOnPlateau) callbacks.push(reduceLROnPlateau({ monitor, factor: 0.5, patience: 2 }));
  if (o.earlyStopping) callbacks.push(earlyStopping({ monitor, patience: o.earlyStopping, restoreBestWeights: true }));
  callbacks.push(opts.json ? jsonLines() : progressBar());
  const stopAfter = opts.stopAfter;
  if (stopAfter) callbacks.push({ onEpochEnd: (epoch) => void (model.stopTraining ||= epoch + 1 >= stopAfter) });
  // Ctrl-C: the epoch under way ends with its checkpoint, then the run stops (a second Ctrl-C quits at once; resume from the last checkpoint).
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nStopping at the end of this epoch, after its checkpoint (Ctrl-C again to quit at once; --resume ${dir} continues)\n`);
  };
  callbacks.push({ onEpochEnd: () => void (model.stopTraining ||= interrupted) });

  const started = Date.now();
  if (!finishing) {
    const run = new RunTracker(dir, {
      logEvery: o.logEvery, monitor: o.validationSplit > 0 ? 'val_accuracy' : 'accuracy', resumed, rngStates: () => ({ augment: augmentRng.getState() }),
    });
    process.on('SIGINT', onSigint);
    try {
      await model.fit(x, y, {
        epochs: o.epochs, batchSize: o.batchSize, validationSplit: o.validationSplit || undefined, onNan: opts.onNan,
        augment: augment ? augmenter({ ...augment, rng: augmentRng }) : undefined, callbacks, run, verbose: 0, // progress: the callbacks above
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  }
  reportProfile(Date.now() - started);

  const test = model.evaluate(testX, testY, { batchSize: 256 });
  const { trainSeconds } = writeSummary(dir, { epochs: o.epochs, finished: true, test: { loss: test.loss, accuracy: test.accuracy } });
  if (opts.json) {
    process.stdout.write(JSON.stringify({ event: 'done', testAccuracy: test.accuracy, testLoss: test.loss, run: dir, trainSeconds }) + '\n');
  } else {
    const testCount = testX.shape[0];
    const correct = Math.round(test.accuracy! * testCount);
    say(`Test loss: ${test.loss.toFixed(4)} - test accuracy: ${test.accuracy!.toFixed(4)} ` +
      `(${correct.toLocaleString('en-US')}/${testCount.toLocaleString('en-US')}) after ${trainSeconds.toFixed(0)}s of training`);
    say(`Run written to ${dir} (checkpoints in ${path.join(dir, 'checkpoints')})`);
  }
}

/** A split of MNIST as tensors, the images scaled straight into the tensor's storage. */
function mnistTensors(opts: Parameters<typeof loadMnist>[0]) {
  let x: Tensor | null = null;
  // Tenured from the start: the data set outlives every step (see tensor/memory.ts).
  return persistent(() => {
    const s = loadMnist({ ...opts, images: (length) => (x = allocate([length / (28 * 28), 28, 28, 1])).raw as Float32Array });
    return [x!, tensor(s.labels, [s.count], 'int32')] as const;
  });
}
