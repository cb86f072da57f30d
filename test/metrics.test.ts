// Metrics: top-k accuracy (with ties as tf.math.in_top_k), the confusion matrix, per-class
// precision/recall/F1 with macro and weighted averages on a hand-made example, their text
// tables, and compile({metrics}) logging top-k through fit and evaluate.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as L from '../src/nn/layers.js';
import { tensor } from '../src/tensor/tensor.js';
import {
  classificationReport, confusionMatrix, countInTopK, formatClassificationReport, formatConfusionMatrix,
  sparseTopKCategoricalAccuracy, topKCategoricalAccuracy,
} from '../src/train/metrics.js';
import { sequential } from '../src/train/sequential.js';
import { assertClose, rand } from './helpers.js';

const scores = tensor([
  [0.1, 0.5, 0.3, 0.1],
  [0.7, 0.1, 0.1, 0.1],
  [0.4, 0.4, 0.1, 0.1],
  [0.1, 0.2, 0.3, 0.4],
]);

test('top-k accuracy counts targets among the k highest scores, ties at the boundary counting as in', () => {
  // Targets: second best; tied with two others for second; tied for first; last.
  const labels = tensor(Int32Array.from([2, 3, 1, 0]));
  assert.deepEqual([1, 2, 3, 4].map((k) => countInTopK(labels, scores, k)), [1, 3, 3, 4]);
  assert.equal(sparseTopKCategoricalAccuracy(labels, scores, 1), 0.25);
  assert.equal(sparseTopKCategoricalAccuracy(labels, scores), 1); // k = 5 >= 4 classes
  const oneHot = tensor([[0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]]);
  assert.equal(topKCategoricalAccuracy(oneHot, scores, 2), 0.75);
  assert.throws(() => topKCategoricalAccuracy(labels, scores), /one-hot targets/);
  assert.throws(() => sparseTopKCategoricalAccuracy(oneHot, scores), /class-index targets/);
  assert.throws(() => countInTopK(labels, scores, 0), /positive integer k/);
});

// Hand-made: 10 examples of 3 classes (and a fourth class nobody has or predicts).
const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
const guess = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1];

test('the confusion matrix has true classes in rows and predictions in columns', () => {
  assert.deepEqual(confusionMatrix(truth, guess), [[2, 1, 1], [1, 2, 0], [0, 1, 2]]);
  assert.deepEqual(confusionMatrix(truth, guess, 4)[3], [0, 0, 0, 0]);
  // From tensors: int32 labels against rows of scores (arg-max).
  const probs = tensor(guess.flatMap((g) => [0, 1, 2].map((c) => (c === g ? 0.8 : 0.1))), [10, 3]);
  assert.deepEqual(confusionMatrix(tensor(Int32Array.from(truth)), probs), [[2, 1, 1], [1, 2, 0], [0, 1, 2]]);
  assert.throws(() => confusionMatrix([0, 1], [0]), /2 targets but 1 predictions/);
  assert.throws(() => confusionMatrix([0, 3], [0, 1], 3), /outside the 3 classes/);
});

test('precision, recall and F1 per class, with macro and weighted averages, by hand', () => {
  const r = classificationReport(confusionMatrix(truth, guess, 4));
  // class 0: precision 2/3, recall 2/4; class 1: 2/4, 2/3; class 2: 2/3, 2/3.
  const f1 = (p: number, q: number) => (2 * p * q) / (p + q);
  const expected = [[2 / 3, 1 / 2, 4], [1 / 2, 2 / 3, 3], [2 / 3, 2 / 3, 3], [0, 0, 0]];
  expected.forEach(([p, q, support], i) => {
    assertClose([r.classes[i].precision, r.classes[i].recall, r.classes[i].f1], [p, q, support ? f1(p, q) : 0], 1e-12, `class ${i}`);
    assert.equal(r.classes[i].support, support);
  });
  assert.equal(r.accuracy, 0.6);
  // Macro: over the three classes that occur (class 3 is neither true nor predicted, as scikit-learn).
  const f = [f1(2 / 3, 1 / 2), f1(1 / 2, 2 / 3), 2 / 3];
  assertClose([r.macro.precision, r.macro.recall, r.macro.f1], [(2 / 3 + 1 / 2 + 2 / 3) / 3, (1 / 2 + 2 / 3 + 2 / 3) / 3, (f[0] + f[1] + f[2]) / 3], 1e-12, 'macro');
  assertClose([r.weighted.precision, r.weighted.recall, r.weighted.f1],
    [(4 * 2 / 3 + 3 / 2 + 2) / 10, (2 + 2 + 2) / 10, (4 * f[0] + 3 * f[1] + 3 * f[2]) / 10], 1e-12, 'weighted');
  assert.equal(r.weighted.support, 10);
});

test('the reports format as plain text tables', () => {
  const matrix = confusionMatrix(truth, guess);
  const text = formatClassificationReport(classificationReport(matrix), { labels: ['zero', 'one', 'two'], digits: 2 });
  assert.equal(text, [
    '             precision    recall  f1-score   support',
    '',
    '        zero      0.67      0.50      0.57         4',
    '         one      0.50      0.67      0.57         3',
    '         two      0.67      0.67      0.67         3',
    '',
    '    accuracy                          0.60        10',
    '   macro avg      0.61      0.61      0.60        10',
    'weighted avg      0.62      0.60      0.60        10',
    '',
  ].join('\n'));
  assert.equal(formatConfusionMatrix(matrix), [
    'true \\ predicted    0    1    2',
    '               0    2    1    1',
    '               1    1    2    0',
    '               2    0    1    2',
    '',
  ].join('\n'));
});

test('compile accepts top-k metrics; fit and evaluate log them by name', async () => {
  const x = rand([12, 3], 1);
  const y = tensor(Int32Array.from({ length: 12 }, (_, i) => i % 6));
  const model = sequential([L.dense({ units: 6, activation: 'softmax', inputShape: [3] })], { seed: 1 });
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy', 'sparseTopKCategoricalAccuracy'] });
  const before = model.predict(x);
  const h = await model.fit(x, y, { epochs: 1, batchSize: 12, shuffle: false, validationData: [x, y] });
  assert.deepEqual(Object.keys(h.history).sort(), ['accuracy', 'loss', 'sparseTopKCategoricalAccuracy', 'val_accuracy', 'val_loss', 'val_sparseTopKCategoricalAccuracy']);
  // One step on the whole batch: the logged values are those of the predictions before the update.
  assert.equal(h.history.sparseTopKCategoricalAccuracy[0], sparseTopKCategoricalAccuracy(y, before, 5));
  const r = model.evaluate(x, y);
  assert.equal(r.sparseTopKCategoricalAccuracy, sparseTopKCategoricalAccuracy(y, model.predict(x), 5));
  assert.ok(r.sparseTopKCategoricalAccuracy! >= r.accuracy!);
  assert.throws(() => model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['f1' as never] }), /unknown metric "f1"/);
});
