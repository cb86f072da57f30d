// The browser bundle in a real browser: Debian's chromium, driven by playwright-core, loads
// build output of scripts/build-browser.js and a checkpoint over HTTP with loadModel(url), and
// predicts what Node predicts. Node's fetchModel reads the same checkpoint over HTTP too.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { buildBrowser } from '../scripts/build-browser.js';
import { loadMnist } from '../src/data/mnist.js';
import { referenceCnn } from '../src/models/zoo.js';
import { tensor } from '../src/tensor/tensor.js';
import { fetchModel, loadModel } from '../src/models/load.js';
import { Sequential } from '../src/train/sequential.js';
import { assertClose, tempDir } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const site = tempDir('browser');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };
let server: http.Server;
let base = '';
let browser: Browser;

const images = loadMnist({ split: 'test', limit: 8 });
const x = () => tensor(images.images, images.shape);

before(async () => {
  await buildBrowser(path.join(site, 'tsgrad.browser.js'));
  const model = referenceCnn({ seed: 5 });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(x(), tensor(images.labels, [images.count], 'int32'), { epochs: 1, batchSize: 4 }); // weights and Adam moments that are not the initial ones
  model.save(path.join(site, 'model'));
  fs.writeFileSync(path.join(site, 'input.json'), JSON.stringify(Array.from(images.images)));
  fs.writeFileSync(path.join(site, 'index.html'), `<!doctype html><script type="module">
    window.addEventListener('error', (e) => (window.failure = String(e.message)));
    window.addEventListener('unhandledrejection', (e) => (window.failure = String(e.reason)));
    import { loadModel, tensor, getBackend } from './tsgrad.browser.js';
    const input = await (await fetch('./input.json')).json();
    const model = await loadModel('./model/');
    const y = model.predict(tensor(new Float32Array(input), [${images.count}, 28, 28, 1]));
    window.result = { values: Array.from(y.data), backend: getBackend().name, optimizer: model.optimizer?.getConfig().className };
  </script>`);
  server = http.createServer((req, res) => {
    const file = path.join(site, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(site) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) for the browser tests`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('the browser bundle loads a checkpoint over HTTP and predicts what Node predicts', async () => {
  const expected = loadModel(path.join(site, 'model'), Sequential).predict(x());
  const page = await browser.newPage();
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => (window as unknown as { result?: unknown; failure?: unknown }).result ?? (window as unknown as { failure?: unknown }).failure, null, { timeout: 60_000 });
  const { result, failure } = await page.evaluate(() => {
    const w = window as unknown as { result?: { values: number[]; backend: string; optimizer?: string }; failure?: string };
    return { result: w.result, failure: w.failure };
  });
  assert.equal(failure, undefined, `the page failed: ${failure}`);
  assert.equal(result!.backend, 'ref');
  assert.equal(result!.optimizer, 'Adam'); // the training config came along
  assertClose(result!.values, expected.data, 1e-4, 'browser predictions');
});

test('fetchModel reads the same checkpoint over HTTP in Node, and names what is missing', async () => {
  const local = loadModel(path.join(site, 'model'), Sequential);
  const remote = await fetchModel(`${base}/model/`, Sequential);
  assert.deepEqual(Array.from(remote.predict(x()).data), Array.from(local.predict(x()).data));
  assert.deepEqual(remote.optimizer!.getState(), local.optimizer!.getState());
  await assert.rejects(fetchModel(`${base}/nothing/`), /\/nothing\/model\.json: HTTP 404/);
});
