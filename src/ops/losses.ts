// Losses built from primitives, with Keras's names and semantics: inputs are (yTrue, yPred),
// the result is the mean over the batch. Predictions are probabilities unless fromLogits.

import { check } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { clip, logSoftmax, logitsOf } from './activations.js';

const EPSILON = 1e-7; // Keras's backend epsilon, for clipping probabilities before log

/** log(p) along the last axis, exact from the logits whenever they are known. */
function logProbs(yPred: Tensor, fromLogits: boolean): Tensor {
  if (fromLogits) return logSoftmax(yPred);
  const known = logitsOf(yPred);
  if (known && (known.axis === -1 || known.axis === yPred.rank - 1)) return logSoftmax(known.logits);
  // Keras rescales each row to sum to 1 before clipping, so the gradient reaches every entry.
  return clip(yPred.div(yPred.sum(-1, true)), EPSILON, 1 - EPSILON).log();
}

/** yTrue: int32 class indices (N); yPred: (N, C). */
export function sparseCategoricalCrossentropy(yTrue: Tensor, yPred: Tensor, fromLogits = false): Tensor {
  check(yTrue.dtype === 'int32', `sparse categorical cross-entropy needs int32 labels, got ${yTrue.dtype}`);
  const classes = yPred.shape[yPred.rank - 1];
  const rows = yPred.size / classes;
  check(yTrue.size === rows, () => `labels of shape ${formatShape(yTrue.shape)} do not match predictions of shape ${formatShape(yPred.shape)}`);
  // Pick log p[i, label_i] from the flattened log-probabilities.
  const labels = yTrue.raw as Int32Array;
  const flat = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    check(labels[i] >= 0 && labels[i] < classes, () => `label ${labels[i]} is outside the ${classes} classes`);
    flat[i] = i * classes + labels[i];
  }
  return logProbs(yPred, fromLogits).reshape([-1]).gather(tensor(flat)).mean().neg();
}

/** yTrue: one-hot or soft targets with yPred's shape. */
export function categoricalCrossentropy(yTrue: Tensor, yPred: Tensor, fromLogits = false): Tensor {
  check(yTrue.size === yPred.size, () => `targets of shape ${formatShape(yTrue.shape)} do not match predictions of shape ${formatShape(yPred.shape)}`);
  return yTrue.mul(logProbs(yPred, fromLogits)).sum(-1).mean().neg();
}

/** Mean of (yPred - yTrue)² over all elements, as Keras's mean_squared_error. */
export function meanSquaredError(yTrue: Tensor, yPred: Tensor): Tensor {
  return yPred.sub(yTrue).square().mean();
}

/**
 * The losses compile() accepts, in tsgrad's spelling ({@link LOSS_ALIASES} maps the TF.js and Keras
 * names).
 */
export type LossName = 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy' | 'meanSquaredError';

/** The names compile() takes for each loss: tsgrad's, and the TF.js/Keras aliases it can honour. */
export const LOSS_ALIASES: Readonly<Record<string, LossName>> = {
  sparseCategoricalCrossentropy: 'sparseCategoricalCrossentropy', sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
  categoricalCrossentropy: 'categoricalCrossentropy', categorical_crossentropy: 'categoricalCrossentropy',
  meanSquaredError: 'meanSquaredError', mean_squared_error: 'meanSquaredError', mse: 'meanSquaredError', MSE: 'meanSquaredError',
};

/**
 * The loss function of a name, as (yTrue, yPred) => scalar mean loss; the cross-entropies take
 * probabilities (a softmax output).
 */
export function lossByName(name: LossName): (yTrue: Tensor, yPred: Tensor) => Tensor {
  switch (name) {
    case 'sparseCategoricalCrossentropy': return (t, p) => sparseCategoricalCrossentropy(t, p);
    case 'categoricalCrossentropy': return (t, p) => categoricalCrossentropy(t, p);
    case 'meanSquaredError': return meanSquaredError;
    default: {
      const unknown: never = name;
      throw new Error(`unknown loss ${unknown}`);
    }
  }
}
