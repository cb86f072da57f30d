// The guide's activations chapter (docs/guide/05-activations.md): ReLU, sigmoid, tanh and GELU at
// a few points, with their derivatives from tsgrad's autograd.
// Run: node --import tsx examples/activations.ts

import { gelu, grad, tensor, type Tensor } from 'tsgrad';

const xs = tensor([-2, -0.5, 0.5, 2]);
const round = (t: Tensor) => JSON.stringify([...t.dataSync()].map((v) => +v.toFixed(4)));
const activations: [string, (x: Tensor) => Tensor][] = [
  ['relu', (x) => x.relu()], ['sigmoid', (x) => x.sigmoid()], ['tanh', (x) => x.tanh()], ['gelu', (x) => gelu(x)],
];
console.log(`x:       ${round(xs)}`);
for (const [name, f] of activations) {
  console.log(`${name.padEnd(8)} ${round(f(xs))}, derivative ${round(grad((x) => f(x).sum())(xs))}`);
}
