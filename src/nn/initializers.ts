// Weight initializers with Keras's names and defaults (fan-in/fan-out as Keras computes them).

import { check } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { Shape } from '../core/shape.js';
import { defaultRng, fill, randomNormal, randomUniform, type Tensor } from '../tensor/tensor.js';

export const INITIALIZER_NAMES = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'zeros', 'ones', 'randomUniform', 'orthogonal'] as const;
export type InitializerName = (typeof INITIALIZER_NAMES)[number];

/** Dense kernels are (in, out); convolution kernels (kh, kw, in, out) count the window in both fans. */
function fans(shape: Shape): [number, number] {
  if (shape.length < 2) return [shape[0] ?? 1, shape[0] ?? 1];
  const receptive = shape.slice(0, -2).reduce((p, d) => p * d, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

/** Values for a new weight; without an Rng, from the process's default generator (seeded 0, as the random creators). */
export function initialize(name: InitializerName, shape: Shape, rng: Rng = defaultRng): Tensor {
  const [fanIn, fanOut] = fans(shape);
  switch (name) {
    case 'glorotUniform': {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return randomUniform(shape, rng, -limit, limit);
    }
    case 'glorotNormal': return truncatedNormal(shape, rng, Math.sqrt(2 / (fanIn + fanOut)));
    case 'heUniform': {
      const limit = Math.sqrt(6 / fanIn);
      return randomUniform(shape, rng, -limit, limit);
    }
    case 'heNormal': return truncatedNormal(shape, rng, Math.sqrt(2 / fanIn));
    case 'zeros': return fill(shape, 0);
    case 'ones': return fill(shape, 1);
    case 'randomUniform': return randomUniform(shape, rng, -0.05, 0.05); // Keras's defaults (embeddings)
    case 'orthogonal': return orthogonal(shape, rng);
    default: {
      const unknown: never = name;
      return check(false, `unknown initializer ${JSON.stringify(unknown)} (tsgrad has ${INITIALIZER_NAMES.join(', ')})`) as never;
    }
  }
}

/** Normal values redrawn when beyond two standard deviations; 0.8796 makes the std come out right (as Keras). */
function truncatedNormal(shape: Shape, rng: Rng, std: number): Tensor {
  const t = randomNormal(shape, rng, 0, 0);
  const scale = std / 0.87962566103423978;
  for (let i = 0; i < t.size; i++) {
    let z: number;
    do z = rng.normal(); while (Math.abs(z) > 2);
    t.raw[i] = z * scale;
  }
  return t;
}

/**
 * Keras's Orthogonal (gain 1): a normal (rows, cols) matrix, rows = the product of all axes but the
 * last, made orthonormal along its shorter side. Gram-Schmidt gives the Q of a QR decomposition
 * with a positive diagonal in R, which is what Keras's sign correction of Q gives.
 */
function orthogonal(shape: Shape, rng: Rng): Tensor {
  const cols = shape[shape.length - 1] ?? 1;
  const rows = shape.slice(0, -1).reduce((p, d) => p * d, 1);
  // Orthonormalise the n vectors of length m along the shorter side: a (n, m) row-major block.
  const [n, m] = rows < cols ? [rows, cols] : [cols, rows];
  const q = new Float64Array(n * m);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  for (let i = 0; i < n; i++) {
    const v = q.subarray(i * m, (i + 1) * m);
    for (let j = 0; j < i; j++) {
      const u = q.subarray(j * m, (j + 1) * m);
      let dot = 0;
      for (let k = 0; k < m; k++) dot += u[k] * v[k];
      for (let k = 0; k < m; k++) v[k] -= dot * u[k];
    }
    let norm = 0;
    for (let k = 0; k < m; k++) norm += v[k] * v[k];
    norm = Math.sqrt(norm);
    for (let k = 0; k < m; k++) v[k] /= norm;
  }
  const t = fill(shape, 0);
  // Vectors are rows when rows < cols, else columns of the (rows, cols) matrix.
  for (let i = 0; i < n; i++) for (let k = 0; k < m; k++) t.raw[rows < cols ? i * cols + k : k * cols + i] = q[i * m + k];
  return t;
}
