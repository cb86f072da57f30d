// The checks in front of every kernel (src/backend/guards.ts): on the reference backend and the
// wasm one alike, an operand shorter than its sizes imply, a size that is not a non-negative
// integer, or indices out of range throw one TsgradError naming the kernel, before anything runs.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Backend } from '../src/backend/backend.js';
import { windowGeometry, type ConvGeometry } from '../src/backend/geometry.js';
import { refBackend } from '../src/backend/ref/index.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { TsgradError } from '../src/core/errors.js';

const wasm = [1, 2].map((t) => createWasmBackend(t));
after(() => wasm.forEach((b) => b.pool.close()));
const backends: Backend[] = [refBackend, ...wasm];
const label = (b: Backend) => ('pool' in b ? `wasm ${(b as (typeof wasm)[0]).pool.threads} threads` : b.name);

/** Throws a TsgradError whose message starts with `kernel: ` and matches `pattern`. */
function rejects(run: () => void, kernel: string, pattern: RegExp, what: string): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof TsgradError, `${what}: threw ${String(e)}, not a TsgradError`);
    assert.ok(e.message.startsWith(`${kernel}: `) && pattern.test(e.message), `${what}: message "${e.message}"`);
    return true;
  }, `${what}: did not throw`);
}

const conv: ConvGeometry = windowGeometry([2, 5, 5, 3], 3, 3, 4, [1, 1], 'valid'); // x 150, w 108, y 72
const pool: ConvGeometry = windowGeometry([2, 4, 4, 4], 2, 2, undefined, [2, 2], 'valid'); // x 128, y 32
const matmulArgs = { batch: 2, m: 2, k: 3, n: 4, transA: true, transB: false, strideA: 6, strideB: 12 };
const convPool: ConvGeometry = windowGeometry([2, 3, 3, 4], 2, 2, undefined, [2, 2], 'valid'); // conv's y 72 pooled to 8 (argmax: 2 int32)
const int32 = (a: Float32Array) => a as unknown as Int32Array; // argmax bytes: the kernels read any 4-byte array's bytes
type Operands = Record<string, Float32Array>;

/**
 * Each kernel with the length every operand needs; `run` calls it on operands of those lengths.
 * `shortens` lists the operands whose shortening the kernel must notice (all of them unless told).
 */
const cases: { kernel: string; lengths: Record<string, number>; shortens?: string[]; run: (b: Backend, o: Operands) => void }[] = [
  { kernel: 'unary', lengths: { x: 6, out: 6 }, shortens: ['out'], run: (b, o) => b.unary('relu', o.x, o.out) },
  { kernel: 'binary', lengths: { a: 6, b: 3, out: 6 }, run: (b, o) => b.binary('add', o.a, [2, 3], o.b, [3], o.out, [2, 3]) },
  { kernel: 'reduce', lengths: { x: 24, out: 8 }, run: (b, o) => b.reduce('sum', o.x, [2, 3, 4], [1], o.out) },
  { kernel: 'matmul', lengths: { a: 12, b: 24, out: 16 }, run: (b, o) => b.matmul(o.a, o.b, o.out, matmulArgs) },
  { kernel: 'conv2d', lengths: { x: 150, w: 108, out: 72 }, run: (b, o) => b.conv2d(o.x, o.w, o.out, conv) },
  { kernel: 'conv2dBackpropInput', lengths: { dy: 72, w: 108, dx: 150 }, run: (b, o) => b.conv2dBackpropInput(o.dy, o.w, o.dx, conv) },
  { kernel: 'conv2dBackpropFilter', lengths: { x: 150, dy: 72, dw: 108 }, run: (b, o) => b.conv2dBackpropFilter(o.x, o.dy, o.dw, conv) },
  { kernel: 'conv2dMaxPool', lengths: { x: 150, w: 108, out: 8, argmax: 2 }, run: (b, o) => b.conv2dMaxPool(o.x, o.w, o.out, int32(o.argmax), convPool, conv) },
  { kernel: 'conv2dPoolFilter', lengths: { x: 150, argmax: 2, dy: 8, dw: 108 }, run: (b, o) => b.conv2dPoolFilter(o.x, int32(o.argmax), o.dy, o.dw, convPool, conv) },
  { kernel: 'maxPool', lengths: { x: 128, out: 32 }, run: (b, o) => b.maxPool(o.x, o.out, pool) },
  { kernel: 'maxPoolGrad', lengths: { x: 128, dy: 32, dx: 128 }, run: (b, o) => b.maxPoolGrad(o.x, o.dy, o.dx, pool) },
  { kernel: 'avgPool', lengths: { x: 128, out: 32 }, run: (b, o) => b.avgPool(o.x, o.out, pool) },
  { kernel: 'avgPoolGrad', lengths: { dy: 32, dx: 128 }, run: (b, o) => b.avgPoolGrad(o.dy, o.dx, pool) },
  { kernel: 'softmax', lengths: { x: 12, out: 12 }, run: (b, o) => b.softmax(o.x, o.out, 4, 1, 3) },
  { kernel: 'softmaxGrad', lengths: { g: 12, y: 12, out: 12 }, run: (b, o) => b.softmaxGrad(o.g, o.y, o.out, 4, 1) },
  { kernel: 'logSoftmax', lengths: { x: 12, out: 12 }, run: (b, o) => b.logSoftmax(o.x, o.out, 4) },
  { kernel: 'logSoftmaxGrad', lengths: { g: 12, y: 12, out: 12 }, run: (b, o) => b.logSoftmaxGrad(o.g, o.y, o.out, 4) },
  { kernel: 'normalize', lengths: { x: 12, out: 12 }, run: (b, o) => b.normalize(o.x, o.out, 4, 1e-5) },
  { kernel: 'normalizeGrad', lengths: { g: 12, x: 12, out: 12 }, run: (b, o) => b.normalizeGrad(o.g, o.x, o.out, 4, 1e-5) },
  // Rows of 3 from offset 1 every 4 of x, to offset 2 every 5 of out.
  { kernel: 'copyRows', lengths: { x: 12, out: 15 }, run: (b, o) => b.copyRows(o.x, 1, 4, o.out, 2, 5, 3, 3, false) },
  { kernel: 'transpose', lengths: { x: 24, out: 24 }, run: (b, o) => b.transpose(o.x, [2, 3, 4], [2, 0, 1], o.out) },
  { kernel: 'gather', lengths: { x: 12, out: 8 }, run: (b, o) => b.gather(o.x, 2, 3, 2, Int32Array.of(2, 0), o.out) },
  { kernel: 'scatterAdd', lengths: { g: 8, out: 12 }, run: (b, o) => b.scatterAdd(o.g, 2, 3, 2, Int32Array.of(2, 0), o.out) },
  // The weights set the length: a shorter one makes the others the mismatch.
  { kernel: 'sgdUpdate', lengths: { w: 5, g: 5, v: 5 }, shortens: ['g', 'v'], run: (b, o) => b.sgdUpdate(o.w, o.g, o.v, 0.1, 0.9) },
  { kernel: 'adamUpdate', lengths: { w: 5, g: 5, m: 5, v: 5 }, shortens: ['g', 'm', 'v'], run: (b, o) => b.adamUpdate(o.w, o.g, o.m, o.v, 0.1, 0.9, 0.999, 1e-7) },
];

function operands(b: Backend, lengths: Record<string, number>, short?: string): Operands {
  return Object.fromEntries(Object.entries(lengths).map(([name, n]) => [name, b.alloc('float32', name === short ? n - 1 : n) as Float32Array]));
}

test('every kernel rejects each operand one element too short, on every backend', () => {
  for (const b of backends) {
    for (const c of cases) {
      c.run(b, operands(b, c.lengths)); // the lengths given are enough
      for (const name of c.shortens ?? Object.keys(c.lengths)) {
        rejects(() => c.run(b, operands(b, c.lengths, name)), c.kernel, new RegExp(`\\b${name} has ${c.lengths[name] - 1} elements`), `${c.kernel} with ${name} short on ${label(b)}`);
      }
    }
  }
});

test('argMax rejects short operands too (its output is int32)', () => {
  for (const b of backends) {
    const x = b.alloc('float32', 6) as Float32Array;
    b.argMax(x, [2, 3], 1, b.alloc('int32', 2) as Int32Array);
    rejects(() => b.argMax(x, [2, 3], 1, b.alloc('int32', 1) as Int32Array), 'argMax', /out has 1 elements/, `argMax on ${label(b)}`);
    rejects(() => b.argMax(x.subarray(0, 5), [2, 3], 1, b.alloc('int32', 2) as Int32Array), 'argMax', /x has 5 elements/, `argMax on ${label(b)}`);
    rejects(() => b.argMax(x, [2, 3], 2, b.alloc('int32', 2) as Int32Array), 'argMax', /axis 2/, `argMax on ${label(b)}`);
  }
});

test('sizes must be non-negative integers, geometry consistent, indices in range', () => {
  const f = (b: Backend, n: number) => b.alloc('float32', n) as Float32Array;
  for (const b of backends) {
    const on = ` on ${label(b)}`;
    for (const m of [NaN, 1.5, -1, '2' as unknown as number, 2 ** 31]) {
      rejects(() => b.matmul(f(b, 100), f(b, 100), f(b, 100), { ...matmulArgs, m }), 'matmul', /^matmul: m must be a non-negative integer/, `matmul m = ${m}${on}`);
    }
    rejects(() => b.conv2d(f(b, 150), f(b, 108), f(b, 72), { ...conv, padTop: -1 }), 'conv2d', /padTop must be/, `conv2d padTop -1${on}`);
    // Windows wholly in the padding (a 1x1 window, padding 1): a max pooling gradient would write before dx.
    const outside = { ...pool, kH: 1, kW: 1, padTop: 1, padLeft: 1 };
    rejects(() => b.maxPoolGrad(f(b, 128), f(b, 32), f(b, 128), outside), 'maxPoolGrad', /do not all overlap/, `maxPoolGrad windows outside${on}`);
    rejects(() => b.conv2dPoolFilter(f(b, 150), int32(f(b, 8)), f(b, 32), f(b, 108), pool, conv), 'conv2dPoolFilter', /pooling's 2x4x4x4 input is not the convolution's 2x3x3x4 output/, `conv2dPoolFilter geometries${on}`);
    const wide = windowGeometry([2, 3, 3, 4], 3, 3, undefined, [1, 1], 'valid');
    rejects(() => b.conv2dMaxPool(f(b, 150), f(b, 108), f(b, 8), int32(f(b, 2)), { ...wide, kH: 17, kW: 16 }, conv), 'conv2dMaxPool', /more positions than a byte holds/, `conv2dMaxPool window${on}`);
    rejects(() => b.softmax(f(b, 12), f(b, 12), 4, 1, 5), 'softmax', /causalRows 5 exceeds cols 4/, `softmax causal${on}`);
    rejects(() => b.softmax(f(b, 12), f(b, 12), 5, 1, 0), 'softmax', /not whole rows of 5/, `softmax rows${on}`);
    rejects(() => b.binary('add', f(b, 6), [2, 3], f(b, 2), [2], f(b, 6), [2, 3]), 'binary', /bShape \[2\] does not broadcast to \[2, 3\]/, `binary shapes${on}`);
    rejects(() => b.reduce('sum', f(b, 6), [2, 3], [1, 0], f(b, 6)), 'reduce', /axes \[1, 0\]/, `reduce axes${on}`);
    rejects(() => b.transpose(f(b, 6), [2, 3], [0, 0], f(b, 6)), 'transpose', /not a permutation/, `transpose perm${on}`);
    rejects(() => b.copyRows(f(b, 12), -1, 4, f(b, 15), 2, 5, 3, 3, false), 'copyRows', /xOffset must be/, `copyRows offset${on}`);
    rejects(() => b.gather(f(b, 12), 2, 3, 2, Int32Array.of(0, 3), f(b, 8)), 'gather', /index 3 \(at 1\) is outside \[0, 3\)/, `gather index${on}`);
    rejects(() => b.scatterAdd(f(b, 8), 2, 3, 2, Int32Array.of(-1, 0), f(b, 12)), 'scatterAdd', /index -1/, `scatterAdd index${on}`);
    // Empty operands are fine.
    b.matmul(f(b, 0), f(b, 0), f(b, 0), { ...matmulArgs, batch: 0 });
    b.softmax(f(b, 0), f(b, 0), 4, 1, 0);
    b.conv2d(f(b, 0), f(b, 108), f(b, 0), { ...conv, batch: 0 });
  }
});

test('a rejected call changes nothing: the output keeps its values', () => {
  for (const b of backends) {
    const out = b.alloc('float32', 16) as Float32Array;
    out.fill(7);
    assert.throws(() => b.matmul(b.alloc('float32', 12) as Float32Array, b.alloc('float32', 23) as Float32Array, out, matmulArgs), TsgradError);
    assert.deepEqual(Array.from(out), new Array(16).fill(7));
  }
});

test('allocation rejects sizes that are not non-negative integers, on every backend', () => {
  for (const b of backends) {
    for (const size of [NaN, 1.5, -1, '3' as unknown as number, Infinity, 2 ** 40]) {
      assert.throws(() => b.alloc('float32', size), (e: unknown) => e instanceof TsgradError && e.message.startsWith(`cannot allocate a tensor of ${String(size)} elements: `), `alloc(${String(size)}) on ${label(b)}`);
    }
    const x = b.alloc('float32', 3) as Float32Array;
    x.set([1, 2, 3]);
    const out = b.alloc('float32', 3) as Float32Array;
    b.binary('add', x, [3], x, [3], out, [3]);
    assert.deepEqual(Array.from(out), [2, 4, 6]);
  }
});

test('createWasmBackend refuses a thread count that is not an integer from 1 to 64, before making anything', () => {
  for (const bad of [0, -1, 1.5, NaN, 65, Infinity]) {
    assert.throws(() => createWasmBackend(bad), { name: 'TsgradError', message: `createWasmBackend: threads must be an integer from 1 to 64, got ${bad}` });
  }
});
