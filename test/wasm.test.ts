// Every wasm kernel against the reference backend (the specification), on random shapes including
// odd and tiny sizes, with 1, 2 and 3 threads. Results must also not depend on the thread count.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Backend } from '../src/backend/backend.js';
import { windowGeometry, type ConvGeometry } from '../src/backend/geometry.js';
import { refBackend } from '../src/backend/ref/index.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { Heap } from '../src/backend/wasm/heap.js';
import { Binary, Pooling, Reduce, Unary } from '../src/backend/wasm/kernels/opcodes.js';
import { instantiate, KERNELS } from '../src/backend/wasm/loader.js';
import { claim, RANGE } from '../src/backend/wasm/worker-loop.js';
import { loadKernels } from '../src/backend/wasm/node.js';
import { TsgradError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { formatProfile, profiled } from '../src/backend/profile.js';
import { backward } from '../src/autograd/backward.js';
import { Gpt } from '../src/models/gpt.js';
import { getBackend, setBackend } from '../src/tensor/engine.js';
import { tidy } from '../src/tensor/memory.js';
import { randomNormal, tensor } from '../src/tensor/tensor.js';
import { selfAttention } from '../src/ops/transformer.js';
import { referenceCnn } from '../src/models/zoo.js';
import { assertClose } from './helpers.js';

const backends: WasmBackend[] = [1, 2, 3].map((t) => createWasmBackend(t));
after(() => backends.forEach((b) => b.pool.close()));

function random(b: Backend, n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = b.alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
}

/**
 * Runs `kernel` with the same random inputs on the reference and on each wasm backend. With
 * `scaled`, the error is measured against the largest result instead of each one: Winograd's
 * transforms (kernels/winograd.ts) round at the scale of a tile's terms, so a result that is small
 * by cancellation carries their error, about 1e-5 of the largest (the GEMM's is about 1e-6).
 */
function compare(what: string, sizes: number[], outSize: number, kernel: (b: Backend, inputs: Float32Array[], out: Float32Array) => void, tol = 1e-5, { on = backends, scaled = false } = {}) {
  const expected = new Float32Array(outSize);
  kernel(refBackend, sizes.map((n, i) => random(refBackend, n, i + 1)), expected);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const results = on.map((b) => {
    const out = b.alloc('float32', outSize) as Float32Array;
    out.fill(NaN); // kernels must write every element
    kernel(b, sizes.map((n, i) => random(b, n, i + 1)), out);
    const label = `${what} with ${b.pool.threads} threads`;
    if (!scaled) assertClose(out, expected, tol, label);
    else out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tol * (1 + scale), `${label}[${i}]: got ${v}, expected ${expected[i]}`));
    return Array.from(out);
  });
  for (const r of results.slice(1)) assert.deepEqual(r, results[0], `${what}: thread counts disagree`);
}

const gemmShapes = [[1, 1, 1], [1, 7, 1], [2, 3, 5], [5, 2, 3], [13, 17, 11], [4, 8, 8], [37, 300, 19], [130, 9, 67], [3, 257, 263], [97, 5, 1], [9, 1030, 37]]; // the last: computed as Cᵀ
for (const [m, k, n] of gemmShapes) {
  test(`sgemm ${m}x${k}x${n} in every transpose case`, () => {
    for (const transA of [false, true]) for (const transB of [false, true]) {
      compare(`sgemm ${m}x${k}x${n} ${transA} ${transB}`, [m * k, k * n], m * n, (b, [x, y], out) =>
        b.matmul(x, y, out, { batch: 1, m, k, n, transA, transB, strideA: 0, strideB: 0 }), 1e-4);
    }
  });
}

test('small products run unpacked with the packed products\' sums, bit for bit', () => {
  // m = 32 (and 576) runs unpacked (kernels/matmul.ts sgemmDirect); one more row (not in fours) runs
  // the packed SGEMM, whose first rows must be the same numbers.
  for (const [m, k, n, transA] of [[32, 576, 64, false], [576, 32, 64, true], [8, 300, 16, false]] as const) {
    for (const b of backends) {
      const product = (rows: number) => {
        const x = random(b, rows * k, 1), y = random(b, k * n, 2), out = b.alloc('float32', rows * n) as Float32Array;
        if (transA) {
          // op(A) = A stored (k, rows): the same first rows means the same first columns of A.
          const full = random(b, (m + 1) * k, 1);
          for (let p = 0; p < k; p++) for (let i = 0; i < rows; i++) x[p * rows + i] = full[p * (m + 1) + i];
        }
        b.matmul(x, y, out, { batch: 1, m: rows, k, n, transA, transB: false, strideA: 0, strideB: 0 });
        return Array.from(out.subarray(0, m * n));
      };
      assert.deepEqual(product(m), product(m + 1), `${m}x${k}x${n} transA ${transA}, ${b.pool.threads} threads`);
    }
  }
});

test('batched and broadcast sgemm', () => {
  compare('batched', [3 * 5 * 7, 3 * 7 * 2], 3 * 5 * 2, (b, [x, y], out) =>
    b.matmul(x, y, out, { batch: 3, m: 5, k: 7, n: 2, transA: false, transB: false, strideA: 35, strideB: 14 }), 1e-4);
  compare('broadcast b', [3 * 5 * 7, 7 * 2], 3 * 5 * 2, (b, [x, y], out) =>
    b.matmul(x, y, out, { batch: 3, m: 5, k: 7, n: 2, transA: false, transB: true, strideA: 35, strideB: 0 }), 1e-4);
});

const windows: { x: number[]; k: [number, number]; c: number; s: [number, number]; p: 'valid' | 'same' }[] = [
  { x: [1, 1, 1, 1], k: [1, 1], c: 1, s: [1, 1], p: 'valid' },
  { x: [2, 5, 7, 3], k: [3, 3], c: 4, s: [1, 1], p: 'valid' },
  { x: [3, 8, 8, 5], k: [3, 3], c: 7, s: [2, 2], p: 'same' },
  { x: [1, 11, 13, 2], k: [5, 2], c: 3, s: [2, 3], p: 'same' },
  { x: [4, 28, 28, 1], k: [3, 3], c: 32, s: [1, 1], p: 'valid' },
  { x: [5, 13, 13, 32], k: [3, 3], c: 64, s: [1, 1], p: 'valid' },
  { x: [40, 13, 13, 32], k: [3, 3], c: 8, s: [1, 1], p: 'valid' }, // more than one chunk of images
  { x: [3, 7, 5, 3], k: [3, 3], c: 20, s: [1, 1], p: 'same' }, // direct kernels for few channels: 16 filters + 4
  { x: [1, 12, 12, 3], k: [11, 11], c: 2, s: [1, 1], p: 'valid' }, // ... but a window too long for them
  { x: [3, 9, 7, 8], k: [3, 3], c: 12, s: [2, 1], p: 'same' }, // implicit GEMM (inC % 4 == 0) with padding
  { x: [2, 6, 5, 4], k: [3, 3], c: 5, s: [1, 1], p: 'same' },
  { x: [2, 30, 30, 8], k: [3, 3], c: 6, s: [1, 1], p: 'same' }, // input gradient blocks split an image
  { x: [2, 5, 5, 4], k: [5, 5], c: 9, s: [2, 2], p: 'same' },
  { x: [2, 4, 4, 12], k: [1, 1], c: 3, s: [1, 1], p: 'valid' },
  { x: [3, 8, 6, 8], k: [2, 2], c: 4, s: [2, 2], p: 'valid' }, // pooling windows tile the image
  { x: [2, 7, 9, 4], k: [2, 2], c: 4, s: [2, 2], p: 'valid' }, // ... all but the last row and column
  { x: [2, 5, 7, 4], k: [2, 2], c: 4, s: [2, 2], p: 'same' }, // ... and past them (padding after)
  { x: [3, 9, 7, 8], k: [3, 3], c: 16, s: [1, 1], p: 'same' }, // Winograd: padding, tiles past the edge
  { x: [1, 10, 10, 16], k: [3, 3], c: 8, s: [1, 1], p: 'valid' }, // ... one image, whole tiles
  { x: [2, 17, 15, 8], k: [3, 3], c: 24, s: [1, 1], p: 'same' },
  { x: [2, 12, 12, 256], k: [3, 3], c: 136, s: [1, 1], p: 'valid' }, // ... channels that shrink its blocks
  { x: [5, 5, 5, 64], k: [3, 3], c: 64, s: [1, 1], p: 'valid' }, // Winograd F(3x3): the reference CNN's last layer
  { x: [3, 6, 6, 8], k: [3, 3], c: 16, s: [1, 1], p: 'same' }, // ... padding, 4 tiles an image, rows not in fours
  { x: [2, 5, 5, 16], k: [3, 3], c: 8, s: [1, 1], p: 'same' }, // ... tiles past the edge
  { x: [23, 11, 11, 128], k: [3, 3], c: 128, s: [1, 1], p: 'valid' }, // ... images in more than one group
];
/** The GEMM convolutions where Winograd's would run, to keep them checked. */
const gemmOnly = [1, 2].map((t) => createWasmBackend(t, { winograd: false }));
after(() => gemmOnly.forEach((b) => b.pool.close()));
for (const w of windows) {
  const g: ConvGeometry = windowGeometry(w.x, w.k[0], w.k[1], w.c, w.s, w.p);
  const xSize = w.x.reduce((a, b) => a * b, 1);
  const ySize = g.batch * g.outH * g.outW * g.outC;
  const wSize = g.kH * g.kW * g.inC * g.outC;
  test(`conv2d and its gradients ${JSON.stringify(w)}`, () => {
    for (const on of [backends, gemmOnly]) {
      compare('conv2d', [xSize, wSize], ySize, (b, [x, f], out) => b.conv2d(x, f, out, g), 2e-5, { on, scaled: true });
      compare('conv2dBackpropInput', [ySize, wSize], xSize, (b, [dy, f], out) => b.conv2dBackpropInput(dy, f, out, g), 2e-5, { on, scaled: true });
      compare('conv2dBackpropFilter', [xSize, ySize], wSize, (b, [x, dy], out) => b.conv2dBackpropFilter(x, dy, out, g), 2e-5, { on, scaled: true });
    }
  });
  const p = windowGeometry(w.x, w.k[0], w.k[1], undefined, w.s, w.p);
  const pSize = p.batch * p.outH * p.outW * p.outC;
  test(`pooling forward and backward ${JSON.stringify(w)}`, () => {
    compare('maxPool', [xSize], pSize, (b, [x], out) => b.maxPool(x, out, p));
    compare('maxPoolGrad', [xSize, pSize], xSize, (b, [x, dy], out) => b.maxPoolGrad(x, dy, out, p));
    compare('avgPool', [xSize], pSize, (b, [x], out) => b.avgPool(x, out, p));
    compare('avgPoolGrad', [pSize], xSize, (b, [dy], out) => b.avgPoolGrad(dy, out, p));
  });
}

test('pool shares: a thread claims its own chunks in order, and the last ones of another share once it has none', () => {
  const ctrl = new Int32Array(RANGE + 3);
  const share = (gen: number, next: number, end: number) => (gen << 16) | (next << 8) | end;
  ctrl.set([share(7, 0, 3), share(7, 3, 6), share(7, 6, 6)], RANGE); // 6 chunks, 3 threads: thread 2's share is empty
  assert.deepEqual([claim(ctrl, 0, 0), claim(ctrl, 0, 0)], [0, 1]);
  assert.deepEqual([claim(ctrl, 1, 0), claim(ctrl, 1, 2)], [5, 4], 'others take the last chunks');
  assert.deepEqual([claim(ctrl, 1, 1), claim(ctrl, 1, 1), claim(ctrl, 2, 2)], [3, -1, -1]);
  assert.deepEqual([claim(ctrl, 0, 1), claim(ctrl, 0, 0)], [2, -1]);
  assert.deepEqual(Array.from(ctrl.subarray(RANGE), (w) => w >> 16), [7, 7, 7], 'claims keep the generation');
});

test('allFinite finds a NaN or an infinity wherever it is, as the reference does', () => {
  for (const n of [0, 1, 7, 16, 61, 300_001]) {
    for (const b of [refBackend, ...backends]) {
      const x = random(b, n, 3);
      assert.equal(b.allFinite(x), true, `${n} finite values (${b.name})`);
      for (const at of new Set([0, n >> 1, n - 1].filter((i) => i >= 0 && i < n))) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const saved = x[at];
          x[at] = bad;
          assert.equal(b.allFinite(x), false, `${bad} at ${at} of ${n} (${b.name})`);
          x[at] = saved;
        }
      }
      assert.equal(b.allFinite(x.fill(3.4e38)), true, 'the largest floats are finite, and so is their difference');
    }
  }
});

test('max pooling gradients go to the first of tied maxima', () => {
  for (const x of [[2, 4, 4, 4], [1, 5, 5, 4], [1, 4, 4, 3]]) {
    const p = windowGeometry(x, 2, 2, undefined, [2, 2], 'valid');
    const size = x.reduce((a, b) => a * b, 1);
    compare(`ties ${x}`, [size, p.batch * p.outH * p.outW * p.outC], size, (b, [xs, dy], out) => {
      for (let i = 0; i < xs.length; i++) xs[i] = i % 3 === 0 ? 1 : 0.5; // many equal values
      b.maxPoolGrad(xs, dy, out, p);
    });
  }
});

/**
 * conv2dMaxPool (outputs and argmax bytes) and conv2dPoolFilter against the reference, which are
 * the convolution, pooling and gradients in turn; `ties` fills x with few distinct values, so
 * that windows hold equal maxima and the first must win.
 */
const pooledConvs: ((typeof windows)[number] & { ties: boolean })[] = [
  { x: [32, 28, 28, 1], k: [3, 3], c: 32, s: [1, 1], p: 'valid', ties: false }, // the reference CNN's first layer
  { x: [3, 9, 11, 3], k: [3, 3], c: 16, s: [1, 1], p: 'valid', ties: true }, // odd sizes: a pixel row and column left out
  { x: [2, 12, 13, 1], k: [5, 5], c: 16, s: [1, 1], p: 'same', ties: false }, // padded
  { x: [2, 15, 14, 3], k: [3, 3], c: 32, s: [2, 2], p: 'valid', ties: true }, // strided
  { x: [1, 8, 8, 2], k: [2, 2], c: 16, s: [1, 1], p: 'same', ties: true },
  { x: [2, 9, 9, 4], k: [3, 3], c: 8, s: [1, 1], p: 'valid', ties: false }, // not fused (inC % 4 == 0): the reference's way
  { x: [2, 10, 10, 1], k: [3, 3], c: 12, s: [1, 1], p: 'valid', ties: false }, // not fused (filters not in sixteens)
];
for (const w of pooledConvs) {
  test(`convolution and max pooling fused, forward and filter gradient ${JSON.stringify(w)}`, () => {
    const g: ConvGeometry = windowGeometry(w.x, w.k[0], w.k[1], w.c, w.s, w.p);
    const p = windowGeometry([g.batch, g.outH, g.outW, g.outC], 2, 2, undefined, [2, 2], 'valid');
    const [xSize, wSize, pSize] = [w.x.reduce((a, b) => a * b, 1), g.kH * g.kW * g.inC * g.outC, p.batch * p.outH * p.outW * p.outC];
    const coarse = (x: Float32Array) => { if (w.ties) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i] * 2) / 2; };
    const forward = (b: Backend, x: Float32Array, f: Float32Array) => {
      coarse(x);
      const out = b.alloc('float32', pSize) as Float32Array, argmax = b.alloc('int32', Math.ceil(pSize / 4)) as Int32Array;
      b.conv2dMaxPool(x, f, out, argmax, p, g);
      return { out, argmax };
    };
    compare('conv2dMaxPool', [xSize, wSize], pSize, (b, [x, f], out) => out.set(forward(b, x, f).out));
    // The argmax bytes, as floats; and the filter gradient from them.
    compare('conv2dMaxPool argmax', [xSize, wSize], pSize, (b, [x, f], out) => {
      const { argmax } = forward(b, x, f);
      out.set(new Uint8Array(argmax.buffer, argmax.byteOffset, pSize));
    });
    compare('conv2dPoolFilter', [xSize, wSize, pSize], wSize, (b, [x, f, dy], out) => b.conv2dPoolFilter(x, forward(b, x, f).argmax, dy, out, p, g), 2e-5, { scaled: true }); // sums of thousands of terms, in another order
    assert.equal(backends[1].fusedConvPool(p, g), g.inC % 4 !== 0 && g.outC % 16 === 0, 'fused where the direct kernels run, filters in sixteens');
    // Where fused, the same numbers, bit for bit, as the convolution, pooling and gradients in turn
    // on the same backend, so that training gives the numbers it gave before the fusion.
    if (!backends[1].fusedConvPool(p, g)) return;
    for (const b of backends) {
      const [x, f, dy] = [xSize, wSize, pSize].map((n, i) => random(b, n, i + 1));
      coarse(x);
      const c = b.alloc('float32', g.batch * g.outH * g.outW * g.outC) as Float32Array, dc = b.alloc('float32', c.length) as Float32Array;
      const [pooled, apart, fusedDw] = [pSize, wSize, wSize].map((n) => b.alloc('float32', n) as Float32Array);
      b.conv2d(x, f, c, g);
      b.maxPool(c, pooled, p);
      b.maxPoolGrad(c, dy, dc, p);
      b.conv2dBackpropFilter(x, dc, apart, g);
      const { out, argmax } = forward(b, x, f);
      b.conv2dPoolFilter(x, argmax, dy, fusedDw, p, g);
      assert.deepEqual(Array.from(out), Array.from(pooled), `forward with ${b.pool.threads} threads`);
      assert.deepEqual(Array.from(fusedDw), Array.from(apart), `filter gradient with ${b.pool.threads} threads`);
    }
  });
}

test('the heap reuses freed blocks, so repeated steps keep memory flat', () => {
  const b = backends[0];
  const before = b.heap.reservedBytes;
  for (let i = 0; i < 1000; i++) b.free(b.alloc('float32', 100000));
  assert.ok(b.heap.reservedBytes - before <= 1 << 20);
});

test('the kernel table: both builds export exactly KERNELS and the op codes of kernels/opcodes.ts', async () => {
  const fs = await import('node:fs');
  loadKernels(); // sets the flag Node 20 needs for relaxed SIMD
  for (const variant of ['simd', 'relaxed']) {
    const bytes = fs.readFileSync(new URL(`../build/kernels-${variant}.wasm`, import.meta.url));
    if (!WebAssembly.validate(bytes)) continue;
    const module = new WebAssembly.Module(bytes);
    const functions = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
    assert.deepEqual([...functions].sort(), [...KERNELS].sort(), variant);
    const exports = instantiate(module, new Heap().memory) as unknown as Record<string, WebAssembly.Global>;
    for (const [kind, codes] of Object.entries({ Unary, Binary, Reduce, Pooling })) {
      const names = Object.keys(codes).filter((k) => Number.isNaN(Number(k)));
      names.forEach((name, i) => assert.equal(exports[`${kind}.${name}`].value, i, `${variant} ${kind}.${name}`));
    }
  }
  // A module from other sources is refused by name: here one exporting only the global Unary.neg = 1.
  const stale = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 6, 6, 1, 0x7f, 0, 0x41, 1, 0x0b,
    7, 13, 1, 9, ...new TextEncoder().encode('Unary.neg'), 3, 0);
  assert.throws(() => instantiate(new WebAssembly.Module(stale), new Heap().memory),
    (e: unknown) => e instanceof TsgradError && /sgemm is missing/.test(e.message) && /op code Unary\.neg differs/.test(e.message) && /npm run build/.test(e.message));
});

/** Everything the allocator keeps (private fields, read for the test). */
function heapState(h: Heap): string {
  const p = h as unknown as { top: number; free: [number, number][]; live: Map<number, number> };
  return JSON.stringify([p.top, p.free, [...p.live], h.reservedBytes]);
}

test('the heap checks every size before it changes anything', () => {
  const heap = new Heap();
  const blocks = [10, 100, 1000, 10].map((n) => heap.alloc('float32', n));
  heap.release(blocks[1]); // a hole in the free list
  const before = heapState(heap);
  for (const size of [NaN, 1.5, -1, '3' as unknown as number, 2 ** 40, Infinity, undefined as unknown as number]) {
    assert.throws(() => heap.alloc('float32', size), (e: unknown) => e instanceof TsgradError && e.message.startsWith(`cannot allocate a tensor of ${String(size)} elements: `), String(size));
    assert.throws(() => heap.allocBytes(size), TsgradError, String(size));
    assert.equal(heapState(heap), before, `after alloc(${String(size)})`);
  }
  // Normal allocations carry on where they would have: the hole first, then the top.
  const hole = heap.alloc('float32', 100);
  assert.equal(hole.byteOffset, blocks[1].byteOffset);
  assert.equal(heap.alloc('float32', 1).byteOffset, blocks[3].byteOffset + 64);
});

test('a failed memory.grow leaves the heap as it was', () => {
  const heap = new Heap(300); // 300 pages: 19.7 MB at most
  const first = heap.alloc('float32', 2 ** 20);
  const before = heapState(heap);
  assert.throws(() => heap.alloc('float32', 4 * 2 ** 20), /out of tensor memory/); // fits the maximum, but not beside `first`
  assert.equal(heapState(heap), before);
  const grow = heap.memory.grow;
  heap.memory.grow = () => { throw new RangeError('simulated'); };
  assert.throws(() => heap.alloc('float32', 3 * 2 ** 20), /out of tensor memory/); // past the 16 MiB reserved at first
  heap.memory.grow = grow;
  assert.equal(heapState(heap), before);
  assert.equal(heap.alloc('float32', 2 ** 20).byteOffset, first.byteOffset + 4 * 2 ** 20);
});

test('after rejected allocations the wasm backend still computes the right numbers', async () => {
  const b = createWasmBackend(2);
  try {
    for (const size of [NaN, 1.5, -1, '3' as unknown as number, 2 ** 40]) assert.throws(() => b.alloc('float32', size), TsgradError);
    const { setBackend, getBackend } = await import('../src/tensor/engine.js');
    const { tensor } = await import('../src/tensor/tensor.js');
    const saved = getBackend();
    setBackend(b);
    try {
      const x = tensor([1, 2, 3, 4], [2, 2]);
      const sum = x.add(tensor([10, 20], [2]));
      assert.deepEqual(Array.from(sum.dataSync()), [11, 22, 13, 24]);
      assert.deepEqual(Array.from(x.add(sum).dataSync()), [12, 24, 16, 28]); // no tensor overwrote another
    } finally {
      setBackend(saved);
    }
  } finally {
    b.pool.close();
  }
});

const unaries = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'relu', 'sigmoid', 'tanh', 'gelu'] as const;
test('unary kernels', () => {
  for (const op of unaries) {
    for (const n of [1, 3, 17, 1000]) {
      // log and sqrt of negatives are NaN in both; assertClose treats NaN as a mismatch, so use |x|.
      compare(`${op} ${n}`, [n], n, (b, [x], out) => {
        if (op === 'log' || op === 'sqrt') for (let i = 0; i < n; i++) x[i] = Math.abs(x[i]) + 0.01;
        b.unary(op, x, out);
      });
    }
  }
});

const binaries = ['add', 'sub', 'mul', 'div', 'greater', 'equal', 'reluGrad', 'addRelu', 'geluGrad'] as const;
const broadcasts: [number[], number[]][] = [
  [[7], [7]], [[3, 5], [5]], [[3, 5], [3, 1]], [[3, 1], [1, 5]], [[2, 3, 4], [3, 1]], [[2, 3, 4], []], [[], [2, 3, 4]],
  [[4, 26, 26, 32], [32]], [[2, 1, 5, 1], [1, 3, 1, 6]], [[1], [9]], [[5, 1, 1], [5, 4, 3]],
  [[250007], [250007]], [[250007], []], [[], [2, 125003]], // one long row, split between threads
];
test('binary kernels with every kind of broadcasting', () => {
  for (const op of binaries) {
    for (const [sa, sb] of broadcasts) {
      const outShape = sa.length >= sb.length ? sa.map((d, i) => Math.max(d, sb[i - (sa.length - sb.length)] ?? 1)) : sb.map((d, i) => Math.max(d, sa[i - (sb.length - sa.length)] ?? 1));
      const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
      compare(`${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, [size(sa), size(sb)], size(outShape), (b, [x, y], out) => {
        if (op === 'equal') for (let i = 0; i < y.length; i++) if (i % 2) y[i] = x[i % x.length];
        b.binary(op, x, sa, y, sb, out, outShape);
      });
    }
  }
});

test('sum and max over leading, trailing and other axes', () => {
  const shapes: [number[], number[]][] = [
    [[7], [0]], [[3, 5], [0]], [[3, 5], [1]], [[4, 6, 6, 9], [0, 1, 2]], [[4, 6, 5], [1, 2]], [[4, 6, 5], [1]], [[2, 3, 4], [0, 2]], [[6, 1], [1]],
    [[40, 7, 7, 5], [0, 1, 2]], [[300, 32], [0]], // many rows: partial sums in blocks of rows
  ];
  for (const op of ['sum', 'max'] as const) {
    for (const [shape, axes] of shapes) {
      const size = shape.reduce((p, d) => p * d, 1);
      const outSize = size / axes.reduce((p, a) => p * shape[a], 1);
      compare(`${op} ${JSON.stringify(shape)} over ${axes}`, [size], outSize, (b, [x], out) => b.reduce(op, x, shape, axes, out), 1e-5);
    }
  }
});

test('transposes of every rank up to 6, float32 and int32', () => {
  const cases: [number[], number[]][] = [
    [[7], [0]], [[3, 5], [1, 0]], [[1, 1], [1, 0]], [[2, 3, 4], [0, 2, 1]], [[2, 3, 4], [2, 0, 1]], [[4, 6, 4, 8], [0, 2, 1, 3]],
    [[2, 5, 3, 2, 4], [2, 0, 3, 1, 4]], [[2, 3, 1, 2, 3, 2], [5, 4, 3, 2, 1, 0]], [[32, 17, 4, 5], [0, 2, 1, 3]],
  ];
  for (const [shape, perm] of cases) {
    const n = shape.reduce((p, d) => p * d, 1);
    compare(`transpose ${JSON.stringify(shape)} ${JSON.stringify(perm)}`, [n], n, (b, [x], out) => b.transpose(x, shape, perm, out), 0);
    const ints = Int32Array.from({ length: n }, (_, i) => i * 7 - 3);
    const expected = new Int32Array(n);
    refBackend.transpose(ints, shape, perm, expected);
    for (const b of backends) {
      const out = new Int32Array(n);
      b.transpose(ints, shape, perm, out);
      assert.deepEqual(out, expected);
    }
  }
});

test('row copies: slices and zero-padded rows', () => {
  for (const [rows, size, start, count] of [[1, 5, 1, 3], [4096, 384, 128, 128], [7, 9, 0, 9], [3000, 40, 39, 1]]) {
    compare(`slice ${rows}x${size} [${start}, +${count})`, [rows * size], rows * count, (b, [x], out) =>
      b.copyRows(x, start, size, out, 0, count, rows, count, false), 0);
    compare(`pad ${rows}x${count} to ${size} at ${start}`, [rows * count], rows * size, (b, [x], out) =>
      b.copyRows(x, 0, count, out, start, size, rows, count, true), 0);
  }
});

test('batched products: many small ones, each whole on one thread', () => {
  for (const [batch, m, k, n] of [[128, 16, 8, 16], [5, 33, 7, 9], [2, 1, 1, 1]]) {
    for (const transB of [false, true]) {
      compare(`batched ${batch}x${m}x${k}x${n}`, [batch * m * k, batch * k * n], batch * m * n, (b, [x, y], out) =>
        b.matmul(x, y, out, { batch, m, k, n, transA: false, transB, strideA: m * k, strideB: k * n }), 1e-4);
    }
  }
});

test('fused self-attention, forward (outputs and log-sum-exp) and backward, on odd shapes, causal or not', () => {
  // [batch, time, heads, channels per head]; a width of 6 takes the reference kernel (not a multiple of 4).
  for (const [batch, time, heads, d] of [[1, 1, 1, 4], [2, 5, 3, 4], [1, 7, 2, 8], [3, 13, 1, 12], [2, 33, 2, 4], [1, 130, 2, 8], [2, 9, 2, 6]]) {
    for (const causal of [true, false]) {
      const a = { batch, time, heads, d, scale: 1 / Math.sqrt(d), causal };
      const rows = batch * time * heads;
      const label = `attention ${batch}x${time}, ${heads} heads of ${d}, causal ${causal}`;
      compare(`${label}: y`, [3 * rows * d], rows * d, (b, [qkv], y) => b.attention(qkv, y, b.alloc('float32', rows) as Float32Array, a), 1e-5);
      compare(`${label}: lse`, [3 * rows * d], rows, (b, [qkv], lse) => b.attention(qkv, b.alloc('float32', rows * d) as Float32Array, lse, a), 1e-5);
      // Backward from any y and lse (the rule is a function of them): random ones around the true scale.
      compare(`${label}: dqkv`, [3 * rows * d, rows * d, rows, rows * d], 3 * rows * d, (b, [qkv, y, lse, dy], dqkv) => b.attentionGrad(qkv, y, lse, dy, dqkv, a), 1e-4);
    }
  }
});

test('the fused attention kernel takes what fits a thread\'s scratch; longer sequences are composed, with the same numbers', () => {
  const args = (time: number, d: number) => ({ batch: 1, time, heads: 2, d, scale: 1 / Math.sqrt(d), causal: true });
  assert.equal(backends[1].fusedAttention(args(128, 32)), true, 'the GPT\'s default block');
  assert.equal(backends[1].fusedAttention(args(128, 6)), false, 'channels per head not a multiple of 4');
  assert.equal(backends[1].fusedAttention(args(2048, 32)), false, 'too long for scratch');
  const saved = getBackend();
  const qkv = () => tensor(Float32Array.from({ length: 2048 * 3 * 8 }, (_, i) => Math.sin(i)), [1, 2048, 24]);
  const run = (b: Backend) => {
    setBackend(b);
    try {
      return tidy(() => selfAttention(qkv(), 2, { causal: true }).dataSync().slice());
    } finally {
      setBackend(saved);
    }
  };
  assertClose(run(backends[1]), run(refBackend), 1e-5, 'composed on wasm vs fused on the reference');
});

test('row kernels: softmax (scaled, causal) and normalisation, forward and backward', () => {
  for (const [rows, cols] of [[1, 1], [3, 5], [7, 4], [64, 17], [2048, 128], [5, 3]]) {
    const n = rows * cols;
    for (const causalRows of [0, 1, ...(rows % 3 ? [] : [3]), ...(rows >= cols && rows % cols === 0 ? [cols] : [])]) {
      compare(`softmax ${rows}x${cols} causal ${causalRows}`, [n], n, (b, [x], out) => b.softmax(x, out, cols, 1.7, causalRows));
    }
    compare(`softmaxGrad ${rows}x${cols}`, [n, n], n, (b, [g, y], out) => b.softmaxGrad(g, y, out, cols, 0.3));
    compare(`logSoftmax ${rows}x${cols}`, [n], n, (b, [x], out) => b.logSoftmax(x, out, cols));
    compare(`logSoftmaxGrad ${rows}x${cols}`, [n, n], n, (b, [g, y], out) => b.logSoftmaxGrad(g, y, out, cols));
    compare(`normalize ${rows}x${cols}`, [n], n, (b, [x], out) => b.normalize(x, out, cols, 1e-5), 1e-4);
    compare(`normalizeGrad ${rows}x${cols}`, [n, n], n, (b, [g, x], out) => b.normalizeGrad(g, x, out, cols, 1e-3), 1e-4);
  }
});

test('optimizer updates', () => {
  for (const n of [1, 7, 1000]) {
    compare(`adam ${n}`, [n, n, n, n], n, (b, [w, g, m, v], out) => {
      for (let i = 0; i < n; i++) v[i] = Math.abs(v[i]);
      b.adamUpdate(w, g, m, v, 0.01, 0.9, 0.999, 1e-7);
      out.set(w.map((x, i) => x + m[i] + v[i]));
    });
    compare(`sgd momentum ${n}`, [n, n, n], n, (b, [w, g, v], out) => {
      b.sgdUpdate(w, g, v, 0.1, 0.9);
      out.set(w.map((x, i) => x + v[i]));
    });
    compare(`sgd ${n}`, [n, n], n, (b, [w, g], out) => {
      b.sgdUpdate(w, g, null, 0.1, 0);
      out.set(w);
    });
  }
});

test('training gives identical weights for the same seed and thread count, and close ones across thread counts', async () => {
  const { setBackend } = await import('../src/tensor/engine.js');
  const { referenceCnn } = await import('../src/models/zoo.js');
  const { loadMnist } = await import('../src/data/mnist.js');
  const { tensor } = await import('../src/tensor/tensor.js');
  const data = loadMnist({ limit: 96 });
  const train = async (b: WasmBackend) => {
    setBackend(b);
    const model = referenceCnn({ seed: 4 });
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    await model.fit(tensor(data.images, data.shape), tensor(data.labels, [data.count], 'int32'), { epochs: 1, batchSize: 32 });
    return model.weights.map((w) => Array.from(w.value.dataSync()));
  };
  const [one, two, three, twoAgain] = [await train(backends[0]), await train(backends[1]), await train(backends[2]), await train(backends[1])];
  assert.deepEqual(twoAgain, two);
  for (const other of [two, three]) other.forEach((w, i) => assertClose(w, one[i], 1e-4, `weight ${i}`));
});

test('the profiling wrapper times kernels by op and shape, with the rate of products and convolutions', () => {
  const backend = profiled(refBackend);
  const g = windowGeometry([2, 6, 6, 3], 3, 3, 4, [1, 1], 'valid');
  const x = new Float32Array(2 * 6 * 6 * 3), w = new Float32Array(9 * 3 * 4), y = new Float32Array(2 * 4 * 4 * 4);
  backend.conv2d(x, w, y, g);
  backend.conv2d(x, w, y, g);
  backend.binary('add', y, [32, 4], y, [32, 4], y, [32, 4]);
  backend.matmul(new Float32Array(6), new Float32Array(6), new Float32Array(4), { batch: 1, m: 2, k: 3, n: 2, transA: false, transB: false, strideA: 0, strideB: 0 });
  const stats = new Map(backend.stats().map((s) => [s.kernel, s]));
  assert.deepEqual([...stats.keys()].sort(), ['binary:add', 'conv2d 6x6x3 -> 4x4x4', 'matmul 2x3x2']);
  assert.equal(stats.get('conv2d 6x6x3 -> 4x4x4')!.calls, 2);
  assert.equal(stats.get('conv2d 6x6x3 -> 4x4x4')!.flops, 2 * 2 * (2 * 4 * 4 * 9 * 3 * 4));
  assert.equal(stats.get('matmul 2x3x2')!.flops, 2 * 2 * 3 * 2);
  assert.equal(stats.get('binary:add')!.flops, 0);
  const table = formatProfile(backend.stats(), 1000);
  assert.match(table[0], /kernel\s+calls\s+total ms\s+% of time\s+GFLOP\/s/);
  assert.ok(table.some((l) => l.startsWith('(outside kernels)')));
});

test('the profile also times each layer: the scope a kernel ran in, blocks of a GPT summed, backward apart', () => {
  const backend = profiled(refBackend);
  const model = new Gpt({ vocabSize: 7, layers: 2, heads: 2, embd: 8, block: 4 });
  const idx = tensor(Int32Array.from([1, 2, 3, 4, 5, 6, 0, 1]), [2, 4], 'int32');
  const saved = getBackend();
  setBackend(backend);
  try {
    tidy(() => backward(model.forward(idx, true).sum()));
  } finally {
    setBackend(saved);
  }
  const layers = new Map(backend.layers().map((s) => [s.kernel, s]));
  for (const name of ['transformer.h.*.attn', 'transformer.h.*.attn backward', 'transformer.h.*.mlp.c_fc', 'lm_head', 'transformer.wte backward']) {
    assert.ok(layers.has(name), `${name} in ${[...layers.keys()].join(', ')}`);
  }
  assert.ok(![...layers.keys()].some((k) => /\.h\.\d/.test(k)), 'blocks are summed');
  assert.equal(layers.get('transformer.h.*.attn')!.calls, 2, 'one fused attention kernel per block');
  // Causal, (2 x 4) positions, 2 heads of 4: q kᵀ and p v over half the (4 x 4) scores, two blocks.
  assert.equal(backend.stats().find((s) => s.kernel === 'attention')!.flops, 2 * (2 * 2 * 2 * 2 * 4 * 4 * 4) / 2);
  const total = backend.stats().reduce((n, s) => n + s.calls, 0);
  assert.equal([...layers.values()].reduce((n, s) => n + s.calls, 0), total, 'every kernel call is in one layer');
  assert.match(formatProfile(backend.layers(), 1000, 'layer')[0], /^layer\s+calls/);
});

test('a Sequential fit\'s profile names the batch, each layer, the loss and the optimizer', async () => {
  const backend = profiled(refBackend);
  const saved = getBackend();
  setBackend(backend);
  try {
    const model = referenceCnn({ seed: 0 });
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await model.fit(randomNormal([4, 28, 28, 1], 0, 1, 'float32', 1), tensor([1, 2, 3, 4], [4], 'int32'), { epochs: 1, batchSize: 2, verbose: 0 });
  } finally {
    setBackend(saved);
  }
  const layers = new Set(backend.layers().map((s) => s.kernel));
  for (const name of ['data', 'conv2d', 'conv2d backward', 'dense_1', 'loss', 'loss backward', 'optimizer']) assert.ok(layers.has(name), `${name} in ${[...layers].join(', ')}`);
});
