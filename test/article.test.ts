// The source article's worked examples.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ops from '../src/tensor/ops.js';
import { tensor } from '../src/tensor/tensor.js';

test('3x3 input cross-correlated with a 2x2 kernel', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]).reshape([1, 3, 3, 1]);
  const k = tensor([[0, 1], [2, 3]]).reshape([2, 2, 1, 1]);
  assert.deepEqual(ops.conv2d(x, k).reshape([2, 2]).toArray(), [[25, 31], [43, 49]]);
});

test('2x2 max pooling with stride 2 of the 4x4 ramp 1..16', () => {
  const x = tensor(Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);
  assert.deepEqual(ops.maxPool(x, { poolSize: 2, strides: 2 }).reshape([2, 2]).toArray(), [[6, 8], [14, 16]]);
});
