// The guide's reference-CNN chapter (docs/guide/07-reference-cnn.md), second half: the network
// compiled, scored before training, trained for one epoch on the first 1,000 training digits,
// scored again on 1,000 test digits, and asked about one of them. `npm start` trains the same
// network on all 60,000 digits for 5 epochs. Its numbers come out of training: on the reference
// backend (TSGRAD_BACKEND=ref), whose rounding differs, they differ a little too.
// Run: node --import tsx examples/train-cnn.ts

import { loadMnist, referenceCnn, tensor, train } from 'tsgrad';

const model = referenceCnn({ seed: 0 }); // the network of examples/reference-cnn.ts, seeded
model.compile({
  optimizer: train.adam({ learningRate: 0.001 }),
  loss: 'sparseCategoricalCrossentropy', // labels are class numbers 0-9, not one-hot rows
  metrics: ['accuracy'],
});

const digits = loadMnist({ limit: 1000 }); // pixels scaled to [0, 1], shape [1000, 28, 28, 1]
const x = tensor(digits.images, digits.shape);
const y = tensor(digits.labels, [digits.count], 'int32');
const tests = loadMnist({ split: 'test', limit: 1000 });
const testX = tensor(tests.images, tests.shape);
const testY = tensor(tests.labels, [tests.count], 'int32');
const score = (r: { loss: number; accuracy?: number }) => `loss ${r.loss.toFixed(2)}, accuracy ${(100 * r.accuracy!).toFixed(1)}%`;

console.log(`before training, on the test digits: ${score(model.evaluate(testX, testY))}`);
const history = await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
console.log(`training, ${Math.ceil(digits.count / 32)} steps of 32: loss ${history.history.loss[0].toFixed(2)}, accuracy ${(100 * history.history.accuracy[0]).toFixed(1)}%`);
console.log(`after one epoch, on the test digits: ${score(model.evaluate(testX, testY))}`);

const p = model.predict(testX.slice([0, 0, 0, 0], [1, 28, 28, 1])).dataSync();
const best = [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, 3);
console.log(`test digit 0 is a ${tests.labels[0]}; the model says ${best.map((d) => `${d} (${(100 * p[d]).toFixed(0)}%)`).join(', ')}`);
