// The guide's backpropagation chapter (docs/guide/06-backpropagation.md): the gradient of
// softmax cross-entropy with respect to the logits is softmax(z) - onehot(label), computed here
// by tsgrad's autograd and by that formula, for one example with three classes.
// Run: node --import tsx examples/softmax-delta.ts

import { grad, softmax, sparseCategoricalCrossentropy, tensor } from 'tsgrad';

const logits = tensor([[2, 1, 0.1]]);
const label = tensor([0], [1], 'int32');
const loss = (z: typeof logits) => sparseCategoricalCrossentropy(label, z, true); // from logits
const round = (xs: ArrayLike<number>) => JSON.stringify(Array.from(xs, (v) => +v.toFixed(4)));

const p = softmax(logits).dataSync();
console.log('softmax(z):            ', round(p));
console.log('autograd dL/dz:        ', round(grad(loss)(logits).dataSync()));
console.log('softmax(z) - onehot(y):', round(Array.from(p, (v, i) => v - (i === 0 ? 1 : 0))));
