// The reference backend: plain TypeScript on JavaScript typed arrays. It is the specification
// every fast kernel is tested against, so it stays short and obviously correct.

import { allocArray } from '../../core/dtype.js';
import type { Backend } from '../backend.js';
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput } from './conv.js';
import { argMax, binary, reduce, unary } from './elementwise.js';
import { copyRows, gather, scatterAdd, transpose } from './layout.js';
import { matmul } from './matmul.js';
import { adamUpdate, sgdUpdate } from './optim.js';
import { logSoftmax, logSoftmaxGrad, normalize, normalizeGrad, softmax, softmaxGrad } from './rows.js';
import { avgPool, avgPoolGrad, maxPool, maxPoolGrad } from './pool.js';

export const refBackend: Backend = {
  name: 'ref',
  alloc: allocArray,
  free: () => {}, // the JavaScript garbage collector owns typed arrays
  unary, binary, reduce, argMax, matmul,
  conv2d, conv2dBackpropInput, conv2dBackpropFilter,
  maxPool, maxPoolGrad, avgPool, avgPoolGrad,
  softmax, softmaxGrad, logSoftmax, logSoftmaxGrad, normalize, normalizeGrad,
  copyRows, transpose, gather, scatterAdd,
  sgdUpdate, adamUpdate,
};
