// Cutting tensors apart and putting them together along an axis, as tf.split, tf.concat, tf.unstack
// and tf.stack.

import { check } from '../core/errors.js';
import { normalizeAxes } from '../core/shape.js';
import { pad, slice } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/** Pieces of x along `axis`: `count` equal ones, or one of each listed size. */
export function split(x: Tensor, sizes: number | number[], axis = 0): Tensor[] {
  const [a] = normalizeAxes(axis, x.rank);
  const length = x.shape[a];
  check(typeof sizes !== 'number' || (Number.isInteger(sizes) && sizes > 0 && length % sizes === 0),
    `axis ${a} of length ${length} does not split into ${sizes} equal pieces`);
  const list = typeof sizes === 'number' ? new Array<number>(sizes).fill(length / sizes) : sizes;
  check(list.reduce((s, n) => s + n, 0) === length, `split sizes [${list.join(', ')}] do not add up to axis ${a}'s ${length}`);
  let start = 0;
  return list.map((n) => slice(x, a, (start += n) - n, n));
}

/** The tensors joined along `axis`; all other axes must match. */
export function concat(xs: Tensor[], axis = 0): Tensor {
  check(xs.length > 0, 'concat needs at least one tensor');
  const [a] = normalizeAxes(axis, xs[0].rank);
  const total = xs.reduce((s, t) => s + t.shape[a], 0);
  let before = 0;
  const parts = xs.map((t) => {
    check(t.rank === xs[0].rank && t.shape.every((d, i) => i === a || d === xs[0].shape[i]),
      `concat needs tensors that match except along axis ${a}`);
    const padded = pad(t, a, before, total - before - t.shape[a]);
    before += t.shape[a];
    return padded;
  });
  return parts.reduce((s, p) => s.add(p));
}

/**
 * The slices of x along `axis`, that axis removed. Split by halving, so that the gradient (a pad
 * per slice) costs n log n, not n squared, for a long axis (an LSTM's time steps).
 */
export function unstack(x: Tensor, axis = 0): Tensor[] {
  const n = x.shape[axis];
  if (n === 1) return [x.reshape([...x.shape.slice(0, axis), ...x.shape.slice(axis + 1)])];
  const half = Math.ceil(n / 2);
  return [...unstack(slice(x, axis, 0, half), axis), ...unstack(slice(x, axis, half, n - half), axis)];
}

/** Tensors of one shape stacked along a new axis `axis`, joined by halves (as unstack). */
export function stack(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 1) return xs[0].reshape([...xs[0].shape.slice(0, axis), 1, ...xs[0].shape.slice(axis)]);
  const half = Math.ceil(xs.length / 2);
  return concat([stack(xs.slice(0, half), axis), stack(xs.slice(half), axis)], axis);
}
