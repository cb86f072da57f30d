// Composite differentiable ops, built from the primitives, and every op as a free function with
// TensorFlow.js's name (functions.ts).

export * from './activations.js';
export * from './losses.js';
export * from './transformer.js';
export * from './arrays.js';
export * from './functions.js';
