// The guide's backpropagation chapter (docs/guide/06-backpropagation.md), second part: the
// gradients of a dense layer with ReLU, y = relu(x W + b), as tsgrad's autograd computes them and
// as the formulas give them by hand, for a batch of 2 examples of 3 inputs and 2 units.
// Run: node --import tsx examples/layer-gradients.ts

import { grads, tensor, type Tensor } from 'tsgrad';

const x = tensor([[1, 2, 0.5], [0, 1, 2]]);
const w = tensor([[0.2, -0.1], [0.4, 0.3], [-0.5, 0.6]]);
const b = tensor([0.1, -0.2]);
const g = tensor([[1, 0.5], [-1, 2]]); // dL/dy, the gradient arriving from the layer above
const round = (t: Tensor) => JSON.stringify(t.toArray(), (_, v) => (typeof v === 'number' ? +v.toFixed(4) : v));

const z = x.matmul(w).add(b); // the pre-activation
const [dx, dw, db] = grads((x, w, b) => x.matmul(w).add(b).relu())([x, w, b], g);
console.log('z:            ', round(z));
console.log('autograd dW:  ', round(dw), ' db:', round(db), ' dx:', round(dx));

// By hand: the ReLU passes g where z > 0 (dz = g * [z > 0]), then dW = xᵀ dz, db = the column sums
// of dz, dx = dz Wᵀ.
const dz = g.mul(z.greater(0));
console.log('formulas dW:  ', round(x.matmul(dz, { transA: true })), ' db:', round(dz.sum(0)), ' dx:', round(dz.matmul(w, { transB: true })));
