// Composite differentiable ops, built from the primitives.

export * from './activations.js';
export * from './losses.js';
export * from './transformer.js';
export * from './arrays.js';
export { conv2d, maxPool, avgPool, matmul, gather, transpose, reshape, sum, max, argMax } from '../tensor/ops.js';
