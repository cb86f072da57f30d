// The reference backend: plain TypeScript on JavaScript typed arrays. It is the specification
// every fast kernel is tested against, so it stays short and obviously correct.

import { allocArray } from '../../core/dtype.js';
import { attention, attentionGrad } from './attention.js';
import type { Backend } from '../backend.js';
import { guarded } from '../guards.js';
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput } from './conv.js';
import { allFinite, argMax, binary, reduce, unary } from './elementwise.js';
import { copyRows, gather, scatterAdd, transpose } from './layout.js';
import { matmul } from './matmul.js';
import { adamUpdate, sgdUpdate } from './optim.js';
import { logSoftmax, logSoftmaxGrad, normalize, normalizeGrad, softmax, softmaxGrad } from './rows.js';
import { avgPool, avgPoolGrad, conv2dMaxPool, conv2dPoolFilter, maxPool, maxPoolGrad } from './pool.js';

/** The kernels as they are, for a backend that has checked its arguments already (the wasm one). */
export const refKernels: Backend = {
  name: 'ref',
  managesMemory: false,
  alloc: allocArray,
  free: () => {}, // the JavaScript garbage collector owns typed arrays
  unary, binary, reduce, argMax, allFinite, matmul,
  conv2d, conv2dBackpropInput, conv2dBackpropFilter, conv2dMaxPool, conv2dPoolFilter,
  maxPool, maxPoolGrad, avgPool, avgPoolGrad,
  softmax, softmaxGrad, logSoftmax, logSoftmaxGrad, normalize, normalizeGrad, attention, attentionGrad, fusedAttention: () => true, fusedConvPool: () => true,
  copyRows, transpose, gather, scatterAdd,
  sgdUpdate, adamUpdate,
};

/** The reference backend: the kernels behind the checks of ../guards.ts. */
export const refBackend: Backend = guarded(refKernels);
