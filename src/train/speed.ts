// The reference CNN's speed as `tsgrad bench` measures it, in code that runs in Node and in a
// browser alike (bench/browser.ts times the same functions in Chromium, side by side with Node).

import { referenceCnn } from '../models/zoo.js';
import { longLived } from '../tensor/memory.js';
import { tensor, type Tensor } from '../tensor/tensor.js';

/** The first n examples of t (gather along the batch axis). */
const first = (t: Tensor, n: number) => t.gather(tensor(Int32Array.from({ length: n }, (_, i) => i)));

/**
 * Untimed training before each training measurement, the same in every framework the bench
 * compares (bench/pytorch_cnn.py, bench/jax_cnn.ts): at least a few batches and at least this long,
 * so that what is timed is training as it runs for the rest of an epoch, not a JIT compiling.
 */
export const WARMUP_MS = 1000;

/** Images per second training the reference CNN with fit() on (x, y), `batches` batches of `batch`, after WARMUP_MS of training. */
export async function trainRate(x: Tensor, y: Tensor, batch: number, batches: number): Promise<number> {
  // The data outlives every measurement: tenured, so that no young sweep copies it out of the heap mid-fit.
  [x, y].forEach(longLived);
  const model = referenceCnn();
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const [wx, wy] = [first(x, batch * 4), first(y, batch * 4)];
  for (const start = performance.now(); performance.now() - start < WARMUP_MS; ) {
    await model.fit(wx, wy, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0 });
  }
  const n = Math.min(x.shape[0], batch * batches);
  const [tx, ty] = [first(x, n), first(y, n)];
  const t = performance.now();
  await model.fit(tx, ty, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0 });
  return n / ((performance.now() - t) / 1000);
}

/** Images per second of the reference CNN's predict at batch 1000 on x, after a warm-up batch. */
export function inferRate(x: Tensor): number {
  const model = referenceCnn();
  model.build();
  model.predict(first(x, 1000), { batchSize: 1000 });
  const t = performance.now();
  model.predict(x, { batchSize: 1000 });
  return x.shape[0] / ((performance.now() - t) / 1000);
}
