// Test helpers: random tensors, a finite-difference gradient check, and temporary folders that are
// removed when the test process exits, passed or failed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backward } from '../src/autograd/index.js';
import { Rng } from '../src/core/rng.js';
import { loadMnist } from '../src/data/mnist.js';
import { randomUniform, tensor, variable, type Tensor } from '../src/tensor/tensor.js';

export function rand(shape: number[], seed: number, low = -1, high = 1): Tensor {
  return randomUniform(shape, new Rng(seed), low, high);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = ''): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/**
 * Checks backward() of f against central finite differences of L = sum(f(xs) * r) for a random r,
 * with L summed in float64 so the only float32 error is in f itself.
 */
export function gradCheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], { eps = 1e-2, tol = 1e-2, seed = 7 } = {}): void {
  const leaves = inputs.map((t) => (t.dtype === 'float32' ? variable(t) : t));
  const y = f(...leaves);
  const r = rand([...y.shape], seed);
  backward(y, r);
  const loss = () => {
    const out = f(...inputs).dataSync();
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * r.dataSync()[i];
    return s;
  };
  inputs.forEach((x, k) => {
    if (x.dtype !== 'float32') return;
    const analytic = leaves[k].grad?.dataSync() ?? new Float32Array(x.size);
    const numeric = new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const saved = x.dataSync()[i];
      x.dataSync()[i] = saved + eps;
      const up = loss();
      x.dataSync()[i] = saved - eps;
      const down = loss();
      x.dataSync()[i] = saved;
      numeric[i] = (up - down) / (2 * eps);
    }
    const scale = Math.max(1, ...Array.from(numeric, Math.abs));
    for (let i = 0; i < x.size; i++) {
      if (Math.abs(analytic[i] - numeric[i]) > tol * scale) {
        assert.fail(`input ${k}[${i}]: analytic ${analytic[i]} vs numeric ${numeric[i]}`);
      }
    }
  });
}

export { tensor };

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new folder under the temp directory, removed when this test process exits (even after a failure). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsgrad-${prefix}-`));
  made.push(dir);
  return dir;
}

/**
 * An onnxruntime session over ONNX bytes: onnxruntime-web, the same runtime compiled to WebAssembly,
 * on one thread (it runs in Node without the native binding's download step).
 */
export async function onnxSession(bytes: Uint8Array) {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  return { ort, session: await ort.InferenceSession.create(bytes) };
}

/**
 * A real Chromium for the browser tests: `CHROMIUM=path` if set, else Debian's /usr/bin/chromium
 * where installed, else the one @sparticuz/chromium ships inside its npm package, unpacked once
 * (about 200 MB, 1-2 s) into node_modules/.cache rather than the temp directory, and reused.
 */
export async function chromiumPath(): Promise<string> {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  if (fs.existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  const { default: chromium } = await import('@sparticuz/chromium');
  const cache = path.resolve('node_modules/.cache/tsgrad-chromium');
  fs.mkdirSync(cache, { recursive: true });
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = cache; // executablePath() unpacks into os.tmpdir()
  try {
    return await chromium.executablePath();
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
}

/** A small MNIST folder in the standard IDX files: the first `train` and `test` real images of each split. */
export function writeSmallMnist(dir: string, train = 96, test = 50): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [split, prefix, n] of [['train', 'train', train], ['test', 't10k', test]] as const) {
    const s = loadMnist({ split, limit: n });
    const images = Buffer.alloc(16 + n * 784);
    images.writeUInt32BE(0x803, 0); images.writeUInt32BE(n, 4); images.writeUInt32BE(28, 8); images.writeUInt32BE(28, 12);
    s.images.forEach((v, i) => (images[16 + i] = Math.round(v * 255)));
    const labels = Buffer.alloc(8 + n);
    labels.writeUInt32BE(0x801, 0); labels.writeUInt32BE(n, 4);
    s.labels.forEach((v, i) => (labels[8 + i] = v));
    fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte`), images);
    fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte`), labels);
  }
}
