// The reference CNN's speed in a real browser against Node on the same machine, side by side:
// training at batch 32 and inference at batch 1000 (src/train/speed.ts, as `tsgrad bench` times
// them), in headless Chromium (the one the tests use: CHROMIUM, /usr/bin/chromium or
// @sparticuz/chromium) on the browser bundle's wasm backend, cross-origin isolated so that its
// Web Workers share the heap, and in this Node process, alternating, `--rounds` rounds (default 3).
// Prints each round and the medians as JSON lines.
//   node --import tsx bench/browser.ts [--rounds 3] [--batches 150]

import * as esbuild from 'esbuild';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { libraryPlugins } from '../scripts/build-browser.js';
import { getBackend, loadMnist, tensor } from '../src/index.js';
import { cpuModel } from '../src/train/runs.js';
import { inferRate, trainRate } from '../src/train/speed.js';
import { chromiumPath } from '../test/helpers.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, batches: { type: 'string', default: '150' } } });
const rounds = Number(values.rounds), batches = Number(values.batches);

const site = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-bench-browser-'));
await esbuild.build({
  entryPoints: [new URL('./browser-page.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'browser',
  target: 'es2022', outfile: path.join(site, 'page.js'), plugins: await libraryPlugins(), logLevel: 'warning',
});
fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><script type="module" src="./page.js"></script>');
const train = loadMnist({ limit: 8192 });
const test = loadMnist({ split: 'test' });
const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
fs.writeFileSync(path.join(site, 'train-images.bin'), bytes(train.images));
fs.writeFileSync(path.join(site, 'train-labels.bin'), bytes(Int32Array.from(train.labels)));
fs.writeFileSync(path.join(site, 'test-images.bin'), bytes(test.images));

const server = http.createServer((req, res) => {
  const file = path.join(site, path.basename(new URL(req.url!, 'http://x').pathname) || 'index.html');
  if (!fs.existsSync(file)) return void res.writeHead(404).end();
  res.writeHead(200, {
    'content-type': file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream',
    'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
  }).end(fs.readFileSync(file));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({
  executablePath: await chromiumPath(),
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
await page.waitForFunction('window.measure', null, { timeout: 120_000 });
const version = browser.version();
console.log(JSON.stringify({ cpu: cpuModel(), node: process.version, chromium: version, browserBackend: await page.evaluate('window.backend'), nodeThreads: (getBackend() as unknown as { pool: { threads: number } }).pool.threads }));

const x = tensor(train.images, train.shape), y = tensor(Int32Array.from(train.labels), [train.count], 'int32');
const testX = tensor(test.images, test.shape);
const results: Record<'node' | 'browser', { train32: number; infer1000: number }[]> = { node: [], browser: [] };
for (let r = 1; r <= rounds; r++) {
  results.node.push({ train32: await trainRate(x, y, 32, batches), infer1000: inferRate(testX) });
  results.browser.push(await page.evaluate(`window.measure(${batches})`));
  console.log(JSON.stringify({ round: r, node: results.node.at(-1), browser: results.browser.at(-1) }));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
const summary = Object.fromEntries((['train32', 'infer1000'] as const).map((k) => {
  const [n, b] = [median(results.node.map((v) => v[k])), median(results.browser.map((v) => v[k]))];
  return [k, { node: Math.round(n), browser: Math.round(b), ratio: +(b / n).toFixed(2) }];
}));
console.log(JSON.stringify({ medians: summary }));
await browser.close();
server.close();
fs.rmSync(site, { recursive: true, force: true });
