// `tsgrad evaluate CHECKPOINT`: test loss and accuracy of a saved model on the MNIST test set;
// with --report, top-3 accuracy, per-class precision/recall/F1 and the confusion matrix.
// The flags are defined in main.ts.

import path from 'node:path';
import { loadMnist } from '../data/mnist.js';
import { loadModel } from '../models/load.js';
import { tensor } from '../tensor/tensor.js';
import { classificationReport, confusionMatrix, formatClassificationReport, formatConfusionMatrix, sparseTopKCategoricalAccuracy } from '../train/metrics.js';
import { checkpointChoice, locateRun } from '../train/runs.js';
import { Sequential } from '../train/sequential.js';
import { registerNodeBackend } from './backend.js';

export interface EvaluateOptions {
  data?: string;
  batchSize: number;
  runs: string;
  json?: boolean;
  report?: boolean;
}

export function evaluate(checkpoint: string, opts: EvaluateOptions): void {
  registerNodeBackend();
  const located = locateRun(checkpoint, opts.runs);
  // A run's figures in `tsgrad runs` are its final weights'; here they are its chosen checkpoint's.
  const choice = checkpointChoice(located);
  const model = loadModel(choice?.dir ?? located, Sequential);
  if (!model.optimizer) model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const test = loadMnist({ dir: opts.data, split: 'test' });
  const [x, y] = [tensor(test.images, test.shape), tensor(test.labels, [test.count], 'int32')];
  const r = model.evaluate(x, y, { batchSize: opts.batchSize });
  const out = (s: string) => process.stdout.write(s);
  if (choice && !opts.json) out(`Checkpoint ${choice.dir} (${choice.reason})\n`);
  if (!opts.report) {
    if (opts.json) out(JSON.stringify({ testAccuracy: r.accuracy, testLoss: r.loss, ...(choice ? { checkpoint: path.resolve(choice.dir) } : {}) }) + '\n');
    else out(`Test loss: ${r.loss.toFixed(4)} - test accuracy: ${(r.accuracy ?? NaN).toFixed(4)} on ${test.count.toLocaleString('en-US')} images\n`);
    return;
  }
  const probs = model.predict(x, { batchSize: opts.batchSize });
  const top3 = sparseTopKCategoricalAccuracy(y, probs, 3);
  const matrix = confusionMatrix(y, probs, probs.shape[1]);
  const report = classificationReport(matrix);
  if (opts.json) {
    out(JSON.stringify({ testAccuracy: r.accuracy, testLoss: r.loss, ...(choice ? { checkpoint: path.resolve(choice.dir) } : {}), top3Accuracy: top3, ...report, confusionMatrix: matrix }) + '\n');
    return;
  }
  out(`Test loss: ${r.loss.toFixed(4)} - accuracy: ${(r.accuracy ?? NaN).toFixed(4)} - top-3 accuracy: ${top3.toFixed(4)} on ${test.count.toLocaleString('en-US')} images\n\n`);
  out(formatClassificationReport(report) + '\n\nConfusion matrix (rows: true digit, columns: predicted):\n' + formatConfusionMatrix(matrix) + '\n');
}
