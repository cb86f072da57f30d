// The validation toolkit every reader of outside input uses (core/validate.ts, io/files.ts): one
// line naming the source and the field, strict numbers for flags and environment variables.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Doc, parseJson, parseUserNumber } from '../src/core/validate.js';
import { readJsonFile } from '../src/core/files.js';
import { tempDir } from './helpers.js';

test('a Doc names the source and the path of a bad field', () => {
  const d = parseJson('{"layers":[{"config":{"units":"64","shape":[2,0]}}, null]}', 'model.json');
  const layer = d.at('layers').array()[0]!;
  assert.throws(() => layer.at('config').at('units').int({ min: 1 }), { name: 'TsgradError', message: 'model.json: layers[0].config.units must be an integer of at least 1, got "64"' });
  assert.throws(() => layer.at('config').at('shape').shape(), /model.json: layers\[0\].config.shape\[1\] must be an integer from 1 to/);
  assert.throws(() => d.at('layers').array()[1]!.object(), /model.json: layers\[1\] must be an object, got null/);
  assert.throws(() => d.at('missing').string(), /model.json: missing must be a string, got nothing/);
  assert.equal(d.at('missing').optional(), undefined);
  assert.throws(() => d.at('layers').array({ max: 1 }), /has 2 elements, more than the 1 allowed/);
  assert.throws(() => new Doc([4e5, 4e5], 'w').shape(), /\[400000, 400000\] has 160000000000 elements/);
  assert.throws(() => new Doc('x', 'f').string(['a', 'b']), /f: must be one of a, b, got "x"/);
  assert.throws(() => new Doc(Infinity, 'f').number(), /must be a finite number/);
  assert.deepEqual(new Doc({ a: [1, 2] }, 'f').at('a').shape(), [1, 2]);
  assert.equal(new Doc({ __proto__: 1 }, 'f').at('constructor').present, false, 'only own fields');
});

test('JSON text and files: one line for a syntax error, a missing file, a folder, a file too large', () => {
  assert.throws(() => parseJson('{"a":', 'run/config.json'), /^TsgradError: run\/config.json: not valid JSON \(/);
  const dir = tempDir('validate');
  const file = path.join(dir, 'a.json');
  fs.writeFileSync(file, '{"a": 1}');
  assert.equal(readJsonFile(file).at('a').int(), 1);
  assert.throws(() => readJsonFile(path.join(dir, 'none.json')), /none.json: no such JSON file/);
  assert.throws(() => readJsonFile(dir), /is a folder, not a JSON file/);
  assert.throws(() => readJsonFile(file, 4), /8 bytes, more than the 4 a JSON file may have/);
});

test('numbers typed by users are plain decimals, finite and in range', () => {
  assert.equal(parseUserNumber('1e-3', '--lr'), 0.001);
  assert.equal(parseUserNumber('.5', '--lr'), 0.5);
  assert.equal(parseUserNumber('32', '--batch-size', { int: true, min: 1 }), 32);
  for (const bad of ['0x10', '', ' 1', 'Infinity', 'NaN', '1_000', '1,5', '0b1', '1e999', 'abc']) {
    assert.throws(() => parseUserNumber(bad, '--lr'), { name: 'TsgradError', message: `--lr must be a number, got ${JSON.stringify(bad)}` });
  }
  assert.throws(() => parseUserNumber('1.5', 'TSGRAD_THREADS', { int: true, min: 1, max: 256 }), /TSGRAD_THREADS must be an integer from 1 to 256, got "1.5"/);
  assert.throws(() => parseUserNumber('0', 'TSGRAD_THREADS', { int: true, min: 1, max: 256 }), /from 1 to 256/);
});
