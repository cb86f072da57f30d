// Metrics computed from predictions and targets outside the graph (no gradients needed).

import type { Tensor } from '../tensor/tensor.js';

export type MetricName = 'accuracy';

/**
 * Number of rows whose arg-max matches the target: an int32 class index (sparse labels) or the
 * arg-max of a one-hot row (dense labels).
 */
export function countCorrect(yTrue: Tensor, yPred: Tensor): number {
  const classes = yPred.shape[yPred.rank - 1];
  const rows = yPred.size / classes;
  const p = yPred.data;
  const t = yTrue.data;
  const sparse = yTrue.size === rows;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const target = sparse ? t[r] : argMaxRow(t, r * classes, classes);
    if (argMaxRow(p, r * classes, classes) === target) correct++;
  }
  return correct;
}

function argMaxRow(a: ArrayLike<number>, start: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[start + j] > a[start + best]) best = j;
  return best;
}
