// Weight initializers with Keras's names and defaults (fan-in/fan-out as Keras computes them).

import type { Rng } from '../core/rng.js';
import type { Shape } from '../core/shape.js';
import { fill, randomNormal, randomUniform, type Tensor } from '../tensor/tensor.js';

export type InitializerName = 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'zeros' | 'ones';

/** Dense kernels are (in, out); convolution kernels (kh, kw, in, out) count the window in both fans. */
function fans(shape: Shape): [number, number] {
  if (shape.length < 2) return [shape[0] ?? 1, shape[0] ?? 1];
  const receptive = shape.slice(0, -2).reduce((p, d) => p * d, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

export function initialize(name: InitializerName, shape: Shape, rng: Rng): Tensor {
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
    default: {
      const unknown: never = name;
      throw new Error(`unknown initializer ${unknown}`);
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
    t.data[i] = z * scale;
  }
  return t;
}
