// The guide's pooling chapter (docs/guide/04-pooling.md): 2x2 max pooling of the 4x4 ramp 1..16
// with stride 2 (the usual) and stride 1, computed by tsgrad.
// Run: node --import tsx examples/pooling.ts

import { maxPool, tensor } from 'tsgrad';

const ramp = tensor(Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]); // rows 1..4, 5..8, 9..12, 13..16
console.log('stride 2:', JSON.stringify(maxPool(ramp, { poolSize: 2, strides: 2 }).reshape([2, 2]).toArray()));
console.log('stride 1:', JSON.stringify(maxPool(ramp, { poolSize: 2, strides: 1 }).reshape([3, 3]).toArray()));
