// The guide's chapter on making the CNN better (docs/guide/08-making-it-better.md): each lever in
// code, on a small network and 512 training digits so that it runs in seconds: batch
// normalisation, dropout, an L2 penalty, augmentation, a learning rate warmed up then decayed on a
// cosine, a validation split and early stopping. Its numbers come out of training: on the
// reference backend (TSGRAD_BACKEND=ref), whose rounding differs, they differ a little too.
// Run: node --import tsx examples/better.ts

import { augmenter, cosineDecay, earlyStopping, layers, loadMnist, regularizers, sequential, tensor, train } from 'tsgrad';

const model = sequential([
  layers.conv2d({ filters: 8, kernelSize: 3, useBias: false, inputShape: [28, 28, 1] }),
  layers.batchNormalization({ momentum: 0.9 }), // each channel normalised over the batch, then scaled and shifted
  layers.activation({ activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 16, kernelSize: 3, useBias: false }),
  layers.batchNormalization({ momentum: 0.9 }),
  layers.activation({ activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.flatten(),
  layers.dense({ units: 64, activation: 'relu', kernelRegularizer: regularizers.l2(5e-4) }),
  layers.dropout({ rate: 0.5 }), // in training only: half the units zeroed at random, the rest doubled
  layers.dense({ units: 10, activation: 'softmax' }),
], { seed: 0 });

const digits = loadMnist({ limit: 512 });
const x = tensor(digits.images, digits.shape);
const y = tensor(digits.labels, [digits.count], 'int32');
const steps = 384 / 32; // a quarter of the digits is held out for validation: 384 train, in batches of 32
const learningRate = cosineDecay({ initialLearningRate: 0, warmupTarget: 0.003, warmupSteps: steps, decaySteps: 5 * steps });
console.log(`learning rate at the start of epochs 1-6: ${[0, 1, 2, 3, 4, 5].map((e) => learningRate(e * steps).toFixed(5)).join(', ')}`);

model.compile({ optimizer: train.adam({ learningRate }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const history = await model.fit(x, y, {
  epochs: 6, batchSize: 32, validationSplit: 0.25, verbose: 0,
  augment: augmenter({ rotationRange: 10, zoomRange: 0.1, widthShiftRange: 0.1, heightShiftRange: 0.1, seed: 0 }),
  callbacks: [earlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true })],
});
const list = (xs: number[]) => xs.map((v) => v.toFixed(2)).join(', ');
console.log(`loss:         ${list(history.history.loss)}`);
console.log(`val_loss:     ${list(history.history.val_loss)}`);
console.log(`val_accuracy: ${list(history.history.val_accuracy)}`);
const best = history.history.val_loss.indexOf(Math.min(...history.history.val_loss));
console.log(`trained ${history.epoch.length} epochs; the weights kept are epoch ${best + 1}'s`);

const tests = loadMnist({ split: 'test', limit: 1000 });
const score = model.evaluate(tensor(tests.images, tests.shape), tensor(tests.labels, [tests.count], 'int32'));
console.log(`test accuracy on 1,000 digits: ${(100 * score.accuracy!).toFixed(1)}%`);
