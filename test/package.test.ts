// The package a consumer installs: `npm pack` of this checkout (built by scripts/build.js, which
// scripts/test.js runs first), installed offline from the npm cache into an empty project, then used
// as a user would: plain Node ESM and CommonJS that train a small model, a TypeScript file checked by
// tsc under strict flags with no @types installed, the `tsgrad` bin, and the browser entry in Node
// and in Chromium. The install is `npm ci --offline` over a lockfile made from this repository's
// own (the runtime dependencies at their locked versions), so it reads only the npm cache.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { chromiumPath, tempDir } from './helpers.js';

const ROOT = path.resolve('.');
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const work = tempDir('package');
const app = path.join(work, 'app');
let figures = '';
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The environment of a user's shell: none of the test runner's variables (TSGRAD_BACKEND, NODE_TEST_CONTEXT). */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TSGRAD_') && k !== 'NODE_TEST_CONTEXT'));

function run(cmd: string, args: string[], cwd = app) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...env, NO_COLOR: '1' } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The consumer's lockfile: tsgrad from the tarball, its runtime dependencies as this repository locked them. */
function consumerLock(tarball: string) {
  const ours = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')).packages;
  const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
  const { version, license, dependencies, bin, engines, peerDependencies, peerDependenciesMeta } = pkg;
  const resolved = `file:${path.relative(app, tarball)}`;
  const packages: Record<string, object> = {
    '': { name: 'app', version: '1.0.0', dependencies: { tsgrad: resolved } },
    'node_modules/tsgrad': { version, resolved, integrity, license, dependencies, bin, engines, peerDependencies, peerDependenciesMeta },
  };
  const todo = Object.keys(dependencies);
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    const key = `node_modules/${name}`;
    if (packages[key]) continue;
    const { dev, devOptional, peer, ...entry } = ours[key];
    packages[key] = entry;
    todo.push(...Object.keys(entry.dependencies ?? {}));
  }
  return { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

before(() => {
  fs.mkdirSync(app);
  const packed = run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  const [{ filename, size, unpackedSize, files }] = JSON.parse(packed.stdout);
  const tarball = path.join(work, filename);
  const lock = consumerLock(tarball);
  const dependencies = { tsgrad: `file:${path.relative(app, tarball)}` };
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module', dependencies }));
  fs.writeFileSync(path.join(app, 'package-lock.json'), JSON.stringify(lock));
  const start = Date.now();
  const install = run(NPM, ['ci', '--offline', '--no-audit', '--no-fund']);
  assert.doesNotMatch(install.stderr, /npm warn/i);
  const installed = spawnSync('du', ['-sk', 'node_modules'], { cwd: app, encoding: 'utf8' }).stdout.split('\t')[0];
  figures = (`package: ${(size / 1e6).toFixed(2)} MB packed, ${(unpackedSize / 1e6).toFixed(2)} MB unpacked, ${files.length} files; ` +
    `consumer install ${Date.now() - start} ms, node_modules ${(Number(installed) / 1024).toFixed(1)} MB`);
});

const TRAIN = `
  const x = tf.tensor([0, 0, 0, 1, 1, 0, 1, 1], [4, 2]);
  const y = tf.tensor([0, 1, 1, 0], [4], 'int32');
  const model = tf.sequential([tf.layers.dense({ units: 16, activation: 'tanh', inputShape: [2] }), tf.layers.dense({ units: 2, activation: 'softmax' })]);
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const h = await model.fit(x, y, { epochs: 20, batchSize: 4, verbose: 0 });
  const loss = h.history.loss;
  console.log(JSON.stringify({ backend: tf.getBackend().name, first: loss[0], last: loss[loss.length - 1] }));
`;

function trained(stdout: string) {
  const { backend, first, last } = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(backend, 'wasm');
  assert.ok(last < first, `the loss went from ${first} to ${last}`);
}

test('plain Node ESM imports tsgrad and trains a small model, with no warning', (t) => {
  t.diagnostic(figures);
  fs.writeFileSync(path.join(app, 'train.mjs'), `import * as tf from 'tsgrad';\n${TRAIN}`);
  const r = run(process.execPath, ['train.mjs']);
  assert.equal(r.stderr, '');
  trained(r.stdout);
});

test('CommonJS loads tsgrad with require() and with import()', () => {
  fs.writeFileSync(path.join(app, 'train.cjs'), `const tf = require('tsgrad');\n(async () => {${TRAIN}})();`);
  fs.writeFileSync(path.join(app, 'import.cjs'), `(async () => { const tf = await import('tsgrad');\n${TRAIN}})();`);
  for (const file of ['train.cjs', 'import.cjs']) {
    const r = run(process.execPath, [file]);
    assert.equal(r.stderr, '', file);
    trained(r.stdout);
  }
});

test('TypeScript: the installed types pass tsc --strict --noUncheckedIndexedAccess --exactOptionalPropertyTypes, no @types installed', () => {
  fs.writeFileSync(path.join(app, 'check.ts'), `import * as tf from 'tsgrad';
import { tensor as browserTensor, type Tensor as BrowserTensor } from 'tsgrad/browser';

const model = tf.sequential([tf.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }), tf.layers.dense({ units: 3, activation: 'softmax' })]);
model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const x: tf.Tensor = tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
export const history: Promise<tf.History> = model.fit(x, tf.tensor([0, 2], [2], 'int32'), { epochs: 2, batchSize: 2 });
export const first: number | undefined = Array.from(model.predict(x).dataSync())[0];
export const fromBrowser: BrowserTensor = browserTensor([1, 2]);
`);
  assert.ok(!fs.existsSync(path.join(app, 'node_modules/@types')), 'the consumer has no @types');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const flags = ['--noEmit', '--strict', '--noUncheckedIndexedAccess', '--exactOptionalPropertyTypes', '--target', 'es2022', '--lib', 'es2022'];
  for (const resolution of [['--module', 'nodenext', '--moduleResolution', 'nodenext'], ['--module', 'esnext', '--moduleResolution', 'bundler']]) {
    const r = spawnSync(process.execPath, [tsc, ...flags, ...resolution, 'check.ts'], { cwd: app, encoding: 'utf8', env });
    assert.equal(r.status, 0, `tsc ${resolution.join(' ')}:\n${r.stdout}${r.stderr}`);
  }
});

test('the tsgrad bin: --help and --version, no npm or Node warning', () => {
  const help = run(NPM, ['exec', '--offline', '--no', '--', 'tsgrad', '--help']);
  assert.match(help.stdout, /Usage: tsgrad/);
  assert.equal(help.stderr, '');
  const version = run(NPM, ['exec', '--offline', '--no', '--', 'tsgrad', '--version']);
  assert.equal(version.stdout.trim(), pkg.version);
  assert.equal(version.stderr, '');
});

test('the browser entry: resolved through exports, runs in Node and in Chromium', async () => {
  const node = run(process.execPath, ['--input-type=module', '-e', `import * as tf from 'tsgrad/browser';
    console.log(JSON.stringify(Array.from(tf.tensor([1, 2]).add(tf.tensor([3, 4])).dataSync())));`]);
  assert.equal(node.stdout.trim(), '[4,6]');
  const bundle = createRequire(path.join(app, 'index.js')).resolve('tsgrad/browser');
  assert.equal(path.relative(path.join(app, 'node_modules/tsgrad'), bundle), path.normalize(pkg.exports['./browser'].default));
  const browser = await chromium.launch({ executablePath: await chromiumPath(), args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    await page.route('http://tsgrad.test/**', (route) => {
      const file = new URL(route.request().url()).pathname === '/tsgrad.browser.js' ? bundle : null;
      return file
        ? route.fulfill({ body: fs.readFileSync(file), contentType: 'text/javascript' })
        : route.fulfill({ body: '<!doctype html><title>consumer</title>', contentType: 'text/html' });
    });
    await page.goto('http://tsgrad.test/');
    const sum = await page.evaluate(`import('./tsgrad.browser.js').then((tf) => Array.from(tf.tensor([1, 2]).add(tf.tensor([3, 4])).dataSync()))`);
    assert.deepEqual(sum, [4, 6]);
  } finally {
    await browser.close();
  }
});
