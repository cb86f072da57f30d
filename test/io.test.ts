// Files: safetensors (strict reader), checkpoints (exact rebuild), PNG digits made MNIST-like.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { TsgradError } from '../src/core/errors.js';
import { loadMnist } from '../src/data/mnist.js';
import { loadMnistImage, toMnistInput } from '../src/io/image.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from '../src/io/safetensors.js';
import { referenceCnn } from '../src/models/reference.js';
import * as L from '../src/nn/layers.js';
import { tensor } from '../src/tensor/tensor.js';
import { loadModel } from '../src/train/persist.js';
import { sequential } from '../src/train/sequential.js';
import { rand } from './helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-io-'));
const userError = (re: RegExp) => (e: unknown) => e instanceof TsgradError && re.test((e as Error).message);

test('safetensors round trip with metadata, a scalar and an empty tensor', () => {
  const tensors = {
    w: { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
    s: { dtype: 'float32' as const, shape: [], data: Float32Array.of(7) },
    e: { dtype: 'float32' as const, shape: [0, 3], data: new Float32Array(0) },
    i: { dtype: 'int32' as const, shape: [2], data: Int32Array.of(-1, 5) },
  };
  const file = path.join(tmp(), 'x.safetensors');
  saveSafetensors(file, tensors, { note: 'hi' });
  const back = loadSafetensors(file);
  assert.deepEqual(back.metadata, { note: 'hi' });
  for (const [k, t] of Object.entries(tensors)) {
    assert.deepEqual(back.tensors[k].shape, t.shape);
    assert.deepEqual([...back.tensors[k].data], [...t.data]);
    assert.equal(back.tensors[k].dtype, t.dtype);
  }
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.safetensors']); // no temporary left
});

test('safetensors layout is the standard one', () => {
  const bytes = encodeSafetensors({ a: { dtype: 'float32', shape: [1], data: Float32Array.of(1) } });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
  assert.deepEqual(header, { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
  assert.deepEqual([...bytes.subarray(8 + n)], [0, 0, 0x80, 0x3f]);
  // A file as Python's safetensors writes it: compact JSON, keys sorted.
  const json = Buffer.from('{"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const data = Buffer.concat([Buffer.from(Int32Array.of(42).buffer), Buffer.from(Float32Array.of(0.5, -2).buffer)]);
  const read = decodeSafetensors(new Uint8Array(Buffer.concat([len, json, data])), 'py.safetensors');
  assert.deepEqual([...read.tensors.a.data], [42]);
  assert.deepEqual([...read.tensors.b.data], [0.5, -2]);
});

test('corrupt safetensors files give one clear error naming the file', () => {
  const build = (header: unknown, dataBytes: number, lenOverride?: number) => {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(lenOverride ?? json.length));
    return new Uint8Array(Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  };
  const bad = (bytes: Uint8Array, re: RegExp) => assert.throws(() => decodeSafetensors(bytes, 'm.safetensors'), userError(new RegExp(`m\\.safetensors: .*${re.source}`)));
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  bad(new Uint8Array(4), /shorter than the 8-byte header/);
  bad(build(ok, 8, 10_000), /header length 10000 runs past the end/);
  bad(build(ok, 8, 2 ** 40), /too large/);
  bad(new Uint8Array(Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{x}')])), /not valid JSON/);
  bad(build([1, 2], 0), /not a JSON object/);
  bad(build({ a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, 4), /dtype "F16"/);
  bad(build({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /bad shape/);
  bad(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 16] } }, 8), /outside the 8 bytes/);
  bad(build({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8), /outside/);
  bad(build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /needs 12 bytes/);
  bad(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /overlaps/);
  bad(build({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /belong to no tensor/);
  bad(build({ a: { shape: [1], data_offsets: [0, 4] } }, 4), /dtype/);
  assert.throws(() => loadSafetensors('/nonexistent.safetensors'), userError(/no such file/));
});

test('a checkpoint rebuilds the model exactly, with its optimizer state', async () => {
  const data = loadMnist({ limit: 64 });
  const x = tensor(data.images, data.shape);
  const y = tensor(data.labels, [data.count], 'int32');
  const model = referenceCnn({ seed: 3 });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(x, y, { epochs: 1, batchSize: 32 });
  const dir = tmp();
  model.save(dir);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.safetensors']);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.equal(json.format, 'tsgrad-checkpoint');
  assert.equal(json.formatVersion, 1);
  assert.equal(json.trainingConfig.optimizer.className, 'Adam');
  const loaded = loadModel(dir);
  assert.deepEqual([...loaded.predict(x).data], [...model.predict(x).data]);
  assert.deepEqual(loaded.getConfig(), model.getConfig());
  assert.equal(loaded.optimizer!.getState().iterations, 2);
  // Training on from the loaded copy gives the same weights as training on the original.
  await model.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false });
  await loaded.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false });
  assert.deepEqual([...loaded.weights[0].value.data], [...model.weights[0].value.data]);
});

test('a model of every layer type survives a checkpoint', () => {
  const model = sequential([
    L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', inputShape: [8, 8, 1] }), L.averagePooling2d({}),
    L.maxPooling2d({ poolSize: 2 }), L.flatten(), L.dropout({ rate: 0.5 }), L.dense({ units: 4 }),
    L.activation({ activation: 'softmax' }),
  ], { seed: 2 });
  model.build();
  const dir = tmp();
  model.save(dir);
  const x = rand([3, 8, 8, 1], 4);
  assert.deepEqual([...loadModel(dir).predict(x).data], [...model.predict(x).data]);
});

test('bad checkpoints give one clear error', () => {
  assert.throws(() => loadModel('/nonexistent/ckpt'), userError(/no such checkpoint: \/nonexistent\/ckpt/));
  const dir = tmp();
  assert.throws(() => loadModel(dir), userError(/model\.json is missing/));
  fs.writeFileSync(path.join(dir, 'model.json'), '{"format": "keras"}');
  assert.throws(() => loadModel(dir), userError(/not a tsgrad checkpoint/));
  const model = referenceCnn();
  model.build();
  model.save(dir);
  fs.truncateSync(path.join(dir, 'weights.safetensors'), 1000);
  assert.throws(() => loadModel(dir), userError(/weights\.safetensors: not a valid safetensors file/));
});

function writePng(file: string, w: number, h: number, pixel: (x: number, y: number) => [number, number, number, number], colorType: 0 | 2 | 6 = 6) {
  const png = new PNG({ width: w, height: h, colorType, inputColorType: 6, inputHasAlpha: true } as never);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(pixel(x, y), 4 * (y * w + x));
  fs.writeFileSync(file, PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true } as never));
}

/** A ring of ink (a zero), off-centre on a 100x60 page. */
const ring = (x: number, y: number) => Math.abs(Math.hypot((x - 30) / 0.7, y - 28) - 18) < 4;

function bounds(img: Float32Array) {
  let x0 = 28, x1 = -1, y0 = 28, y1 = -1, mass = 0, mx = 0, my = 0;
  img.forEach((v, i) => {
    const [x, y] = [i % 28, Math.floor(i / 28)];
    if (v > 0.1) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    mass += v; mx += v * x; my += v * y;
  });
  return { w: x1 - x0 + 1, h: y1 - y0 + 1, cx: mx / mass, cy: my / mass };
}

test('a PNG of any size and polarity becomes an MNIST-style digit', () => {
  const dir = tmp();
  writePng(path.join(dir, 'dark.png'), 100, 60, (x, y) => (ring(x, y) ? [20, 20, 20, 255] : [250, 250, 250, 255]));
  writePng(path.join(dir, 'light.png'), 100, 60, (x, y) => (ring(x, y) ? [255, 255, 255, 255] : [0, 0, 0, 255]), 0);
  writePng(path.join(dir, 'rgb.png'), 100, 60, (x, y) => (ring(x, y) ? [0, 0, 200, 255] : [255, 255, 255, 255]), 2);
  writePng(path.join(dir, 'alpha.png'), 100, 60, (x, y) => (ring(x, y) ? [0, 0, 0, 255] : [0, 0, 0, 0]));
  const dark = loadMnistImage(path.join(dir, 'dark.png'));
  assert.equal(dark.length, 784);
  assert.ok(dark.every((v) => v >= 0 && v <= 1));
  const b = bounds(dark);
  assert.ok(Math.max(b.w, b.h) <= 20 && Math.max(b.w, b.h) >= 19, `ink box ${b.w}x${b.h}`);
  assert.ok(Math.abs(b.cx - 14) <= 1 && Math.abs(b.cy - 14) <= 1, `centre of mass ${b.cx}, ${b.cy}`);
  assert.equal(dark[0], 0);
  for (const other of ['light.png', 'rgb.png', 'alpha.png']) {
    const o = loadMnistImage(path.join(dir, other));
    const diff = o.reduce((s, v, i) => s + Math.abs(v - dark[i]), 0) / 784;
    assert.ok(diff < 0.03, `${other} differs by ${diff}`);
  }
  assert.ok(toMnistInput({ width: 5, height: 5, rgba: new Uint8Array(100).fill(255) }).every((v) => v === 0));
});

test('unreadable PNGs give one clear error', () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'x.png'), 'not an image');
  assert.throws(() => loadMnistImage(path.join(dir, 'x.png')), userError(/x\.png: not a readable PNG image/));
  writePng(path.join(dir, 'ok.png'), 40, 40, () => [0, 0, 0, 255]);
  const bytes = fs.readFileSync(path.join(dir, 'ok.png'));
  fs.writeFileSync(path.join(dir, 'cut.png'), bytes.subarray(0, bytes.length - 30));
  assert.throws(() => loadMnistImage(path.join(dir, 'cut.png')), userError(/cut\.png: not a readable PNG image/));
  assert.throws(() => loadMnistImage(path.join(dir, 'missing.png')), userError(/no such file/));
});
