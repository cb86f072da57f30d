// Automatic differentiation: backward(), grad() and noGrad().

export { backward, grad } from './backward.js';
export { noGrad } from '../tensor/engine.js';
