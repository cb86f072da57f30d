// `tsgrad train`: trains a model from the zoo on MNIST with its recipe (flags override it), prints
// Keras-style progress and the test figures, and keeps the run in runs/<name>/ (the library's run
// tracker, src/train/runs.ts: config, metrics, a checkpoint after every epoch, a summary).
// `--resume` continues a run from its newest checkpoint and ends where an uninterrupted run would
// have. This file turns the flags (defined in main.ts) into calls to the library.

import path from 'node:path';
import { formatProfile, profiled, type ProfiledBackend } from '../backend/profile.js';
import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { augmenter, type AugmentOptions } from '../data/augment.js';
import { loadMnist } from '../data/mnist.js';
import { resumeRun } from '../models/load.js';
import { MODEL_NAMES, RECIPES, recipeModel, recipeOptimizer, type TrainSettings } from '../models/zoo.js';
import { backendByName, setBackend, type BackendName } from '../tensor/engine.js';
import { registerNodeBackend } from './backend.js';
import { persistent } from '../tensor/memory.js';
import { allocate, tensor, type Tensor } from '../tensor/tensor.js';
import type { Callback } from '../train/callbacks.js';
import { earlyStopping, reduceLROnPlateau } from '../train/monitors.js';
import { jsonLines, progressBar } from '../train/progress.js';
import { checkNewRun, openRun, runStamp, RunTracker, startRun, writeSummary, type RunState } from '../train/runs.js';
import { Sequential } from '../train/sequential.js';
import { checkResumeFlags, newRunDir, warn, type RunPlace } from './common.js';

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
  parseAugment(o.augment); // fail now on a bad spec
  check(o.schedule === 'cosine' || o.warmupEpochs === 0, '--warmup-epochs needs --schedule cosine');
  check(!(o.reduceOnPlateau && o.schedule !== 'constant'), '--reduce-on-plateau changes the learning rate itself: use it with --schedule constant');
  const keys: (keyof TrainSettings)[] = ['model', 'epochs', 'batchSize', 'optimizer', 'lr', 'momentum', 'nesterov', 'weightDecay', 'clipnorm', 'clipvalue',
    'schedule', 'warmupEpochs', 'decayEpochs', 'decayRate', 'reduceOnPlateau', 'earlyStopping', 'validationSplit', 'l2', 'augment', 'limit', 'seed', 'logEvery'];
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as unknown as TrainSettings;
}

export async function train(opts: TrainOptions, given: (flag: string) => boolean): Promise<void> {
  const say = (line: string) => opts.json || process.stdout.write(line + '\n');
  let dir: string;
  let o: TrainSettings;
  const resuming = opts.resume !== undefined;
  if (resuming) {
    checkResumeFlags(opts, given, ['resume', 'runs', 'epochs', 'stopAfter', 'data', 'json', 'backend', 'profile'], '--epochs');
    ({ dir, options: o } = openRun<TrainSettings>(opts.resume!, opts.runs));
    if (opts.epochs !== undefined) o.epochs = opts.epochs;
  } else {
    o = runOptions(opts);
    dir = newRunDir(opts, `${o.model}-${runStamp()}`);
    checkNewRun(dir);
  }

  registerNodeBackend();
  const backend = opts.profile ? profiled(backendByName(opts.backend)) : backendByName(opts.backend);
  setBackend(backend);
  // Only the tensors are kept: the loader's arrays are dropped at once, so the data is held once.
  const [x, y] = mnistTensors({ dir: opts.data, split: 'train', limit: o.limit });
  const [testX, testY] = mnistTensors({ dir: opts.data, split: 'test' });
  const count = x.shape[0];
  const stepsPerEpoch = Math.ceil(Math.floor(count * (1 - o.validationSplit)) / o.batchSize);

  let model: Sequential;
  let resumed: RunState | undefined;
  const augmentRng = new Rng(o.seed + 2);
  if (resuming) {
    const r = resumeRun(dir, Sequential);
    check(r, `--resume: ${dir} has no checkpoint yet (it stopped in its first epoch): start it again`);
    check(r.state.epoch < o.epochs, `${dir} has already trained ${r.state.epoch} of ${o.epochs} epochs: give a larger --epochs to train on`);
    [model, resumed] = [r.model, r.state];
    if (resumed.rng.augment) augmentRng.setState(resumed.rng.augment);
  } else {
    model = recipeModel(o);
    model.compile({ optimizer: recipeOptimizer(o, stepsPerEpoch), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    startRun(dir, { model: o.model, options: o });
    if (o.schedule === 'cosine' && o.warmupEpochs >= o.epochs) {
      warn(`the learning-rate warm-up (${o.warmupEpochs} epochs) is ${o.warmupEpochs > o.epochs ? 'longer than' : 'as long as'} the run (${o.epochs} epochs): ` +
        `the rate ${o.warmupEpochs > o.epochs ? `never reaches --lr ${o.lr}` : 'reaches --lr only at the last step'}; give fewer --warmup-epochs`);
    }
  }
  const augment = parseAugment(o.augment);
  if (!opts.json && !resuming) model.summary(say);
  const lrText = `${o.lr}${o.schedule === 'constant' ? '' : ` (${o.schedule}${o.warmupEpochs ? `, ${o.warmupEpochs} warm-up` : ''})`}`;
  say(`${resuming ? `Resuming ${dir} at epoch ${resumed!.epoch + 1}` : `Training ${o.model} in ${dir}`} on ${count.toLocaleString('en-US')} MNIST images: ` +
    `${o.epochs} epochs, batch ${o.batchSize}, ${o.optimizer} lr ${lrText}, augment ${o.augment}, seed ${o.seed}`);

  const monitor = o.validationSplit > 0 ? 'val_loss' : 'loss';
  const callbacks: Callback[] = [];
  if (o.reduceOnPlateau) callbacks.push(reduceLROnPlateau({ monitor, factor: 0.5, patience: 2 }));
  if (o.earlyStopping) callbacks.push(earlyStopping({ monitor, patience: o.earlyStopping, restoreBestWeights: true }));
  callbacks.push(opts.json ? jsonLines() : progressBar());
  const stopAfter = opts.stopAfter;
  if (stopAfter) callbacks.push({ onEpochEnd: (epoch) => void (model.stopTraining ||= epoch + 1 >= stopAfter) });
  const run = new RunTracker(dir, {
    logEvery: o.logEvery, monitor: o.validationSplit > 0 ? 'val_accuracy' : 'accuracy', resumed, rngStates: () => ({ augment: augmentRng.getState() }),
  });

  const started = Date.now();
  await model.fit(x, y, {
    epochs: o.epochs, batchSize: o.batchSize, validationSplit: o.validationSplit || undefined,
    augment: augment ? augmenter({ ...augment, rng: augmentRng }) : undefined, callbacks, run, verbose: 0, // progress: the callbacks above
  });
  if (opts.profile) {
    const ms = Date.now() - started;
    const lines = formatProfile((backend as ProfiledBackend).stats(), ms);
    (opts.json ? process.stderr : process.stdout).write(`Time per kernel over ${(ms / 1000).toFixed(1)}s of training:\n${lines.join('\n')}\n`);
  }

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
