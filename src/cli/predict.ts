// `tsgrad predict CHECKPOINT IMAGE.png...`: the three most likely digits for each image, which is
// first made to look like an MNIST digit (see src/io/image.ts). The flags are defined in main.ts.

import { loadMnistImage } from '../io/image.js';
import { loadModel } from '../models/load.js';
import { tensor } from '../tensor/tensor.js';
import { locateRun } from '../train/runs.js';
import { Sequential } from '../train/sequential.js';
import { registerNodeBackend } from './backend.js';

/** Up to this many images run on one thread: starting the other cores' workers would take longer than the work. */
const ONE_THREAD_IMAGES = 32;

export function predict(checkpoint: string, images: string[], opts: { runs: string; json?: boolean }): void {
  registerNodeBackend(images.length <= ONE_THREAD_IMAGES && process.env.TSGRAD_THREADS === undefined ? 1 : undefined);
  const model = loadModel(locateRun(checkpoint, opts.runs), Sequential);
  const inputs = images.map(loadMnistImage); // fail on a bad file before any output
  const probs = model.predict(tensor(concat(inputs), [images.length, 28, 28, 1]));
  const classes = probs.shape[1];
  images.forEach((file, i) => {
    const row = Array.from(probs.raw.subarray(i * classes, (i + 1) * classes));
    const top = row.map((p, label) => ({ label, probability: p })).sort((a, b) => b.probability - a.probability).slice(0, 3);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ file, predictions: top }) + '\n');
    } else {
      process.stdout.write(`${file}: ${top.map((t) => `${t.label} (${(t.probability * 100).toFixed(2)}%)`).join(', ')}\n`);
    }
  });
}

function concat(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}
