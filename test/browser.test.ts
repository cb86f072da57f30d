// The browser bundle in a real browser (Debian's chromium or the one @sparticuz/chromium ships; see
// chromiumPath), driven by playwright-core, loads
// build output of scripts/build-browser.js and a checkpoint over HTTP with loadModel(url), and
// predicts what Node predicts. Node's fetchModel reads the same checkpoint over HTTP too.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
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
import { assertClose, chromiumPath, tempDir } from './helpers.js';

const site = tempDir('browser');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };
let server: http.Server;
let base = '';
let browser: Browser | undefined;
/** The README's browser example, as written. */
const README_HTML = /```html\n([\s\S]*?)```/.exec(fs.readFileSync('README.md', 'utf8'))![1];

const images = loadMnist({ split: 'test', limit: 8 });
const x = () => tensor(images.images, images.shape);

before(async () => {
  await buildBrowser(path.join(site, 'tsgrad.browser.js'));
  for (const name of ['simd', 'relaxed']) fs.copyFileSync(`build/kernels-${name}.wasm`, path.join(site, `kernels-${name}.wasm`));
  const model = referenceCnn({ seed: 5 });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(x(), tensor(images.labels, [images.count], 'int32'), { epochs: 1, batchSize: 4 }); // weights and Adam moments that are not the initial ones
  model.save(path.join(site, 'model'));
  model.save(path.join(site, 'my-model'));
  fs.writeFileSync(path.join(site, 'readme.html'), README_HTML);
  fs.writeFileSync(path.join(site, 'input.json'), JSON.stringify(Array.from(images.images)));
  fs.writeFileSync(path.join(site, 'index.html'), `<!doctype html><script type="module">
    window.addEventListener('error', (e) => (window.failure = String(e.message)));
    window.addEventListener('unhandledrejection', (e) => (window.failure = String(e.reason)));
    import { loadModel, tensor, backendInfo } from './tsgrad.browser.js';
    const input = await (await fetch('./input.json')).json();
    const model = await loadModel('./model/');
    const y = model.predict(tensor(new Float32Array(input), [${images.count}, 28, 28, 1]));
    window.result = { values: Array.from(y.dataSync()), backend: backendInfo(), optimizer: model.optimizer?.getConfig().className };
  </script>`);
  // Under /plain/ the same files without the headers that make a page cross-origin isolated.
  server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    const isolated = !pathname.startsWith('/plain/');
    const file = path.join(site, isolated ? pathname : pathname.slice('/plain'.length));
    if (!file.startsWith(site) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      ...(isolated && {
        'cross-origin-opener-policy': 'same-origin', // cross-origin isolated: SharedArrayBuffer, so wasm threads
        'cross-origin-embedder-policy': 'require-corp',
      }),
    }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

/** The browser, started by the first test that needs it (so a Node-only test never depends on it). */
async function launch(): Promise<Browser> {
  browser ??= await chromium.launch({
    executablePath: await chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return browser;
}

after(async () => {
  await browser?.close();
  server?.close();
});

test('the browser bundle loads a checkpoint over HTTP and predicts what Node predicts', async () => {
  const expected = loadModel(path.join(site, 'model'), Sequential).predict(x());
  const page = await (await launch()).newPage();
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => (window as unknown as { result?: unknown; failure?: unknown }).result ?? (window as unknown as { failure?: unknown }).failure, null, { timeout: 60_000 });
  const { result, failure } = await page.evaluate(() => {
    const w = window as unknown as { result?: { values: number[]; backend: unknown; optimizer?: string }; failure?: string };
    return { result: w.result, failure: w.failure };
  });
  assert.equal(failure, undefined, `the page failed: ${failure}`);
  const { chunks, ...backend } = result!.backend as { chunks: unknown };
  assert.deepEqual(backend, { name: 'wasm', threads: Math.min(2, os.availableParallelism()), simd: 'relaxed', isolated: true, note: null });
  assert.equal(result!.optimizer, 'Adam'); // the training config came along
  assertClose(result!.values, expected.dataSync(), 1e-4, 'browser predictions');
});

/** Runs `body` (a module script's source, which sets window.result) in a fresh page at `at`; its result, or the page's failure. */
async function inPage(at: string, body: string): Promise<unknown> {
  fs.writeFileSync(path.join(site, 'probe.html'), `<!doctype html><script type="module">
    window.addEventListener('error', (e) => (window.failure = String(e.message)));
    window.addEventListener('unhandledrejection', (e) => (window.failure = String(e.reason)));
    ${body}
  </script>`);
  const page = await (await launch()).newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${base}${at}probe.html`);
  await page.waitForFunction('window.result ?? window.failure', null, { timeout: 60_000 });
  const { result, failure } = (await page.evaluate('({ result: window.result, failure: window.failure })')) as { result: unknown; failure?: string };
  assert.equal(failure, undefined, `the page failed: ${failure}`);
  assert.deepEqual(errors, []);
  await page.close();
  return result;
}

/** A product and a convolution step big enough to be split between threads, on the wasm backend and then on the reference one. */
const SPLIT_WORK = `
    import { randomUniform, matMul, conv2d, grad, setBackend, backendInfo, tidy } from './tsgrad.browser.js';
    const run = () => tidy(() => {
      const a = randomUniform([300, 200], -1, 1, 'float32', 1), b = randomUniform([200, 250], -1, 1, 'float32', 2);
      const x = randomUniform([16, 20, 20, 8], -1, 1, 'float32', 3), w = randomUniform([3, 3, 8, 32], -1, 1, 'float32', 4);
      const dw = grad((w) => conv2d(x, w, 1, 'same').square().sum())(w);
      return [Array.from(matMul(a, b).dataSync()), Array.from(dw.dataSync())];
    });
    const wasm = run();
    const info = backendInfo();
    setBackend('ref');
    window.result = { wasm, ref: run(), info };`;

test('in a cross-origin isolated page the kernels run on Web Workers too, and compute what the reference backend computes', async () => {
  const { wasm, ref, info } = await inPage('/', SPLIT_WORK) as { wasm: number[][]; ref: number[][]; info: { threads: number; isolated: boolean; chunks: { total: number; byWorkers: number } } };
  assert.equal(info.isolated, true);
  assert.equal(info.threads, Math.min(2, os.availableParallelism()));
  if (info.threads > 1) assert.ok(info.chunks.byWorkers > 0, `workers ran none of ${info.chunks.total} chunks`);
  assertClose(wasm[0], ref[0], 1e-4, 'matMul');
  assertClose(wasm[1], ref[1], 1e-3, 'conv2d filter gradient');
});

test('a page that is not cross-origin isolated computes on one thread, and says why', async () => {
  const { wasm, ref, info } = await inPage('/plain/', SPLIT_WORK) as { wasm: number[][]; ref: number[][]; info: { name: string; threads: number; isolated: boolean; note: string } };
  assert.deepEqual([info.name, info.threads, info.isolated], ['wasm', 1, false]);
  assert.match(info.note, /not cross-origin isolated \(serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp\)/);
  assertClose(wasm[0], ref[0], 1e-4, 'matMul');
  assertClose(wasm[1], ref[1], 1e-3, 'conv2d filter gradient');
});

test('fetchModel reads the same checkpoint over HTTP in Node, and names what is missing', async () => {
  const local = loadModel(path.join(site, 'model'), Sequential);
  const remote = await fetchModel(`${base}/model/`, Sequential);
  assert.deepEqual(Array.from(remote.predict(x()).dataSync()), Array.from(local.predict(x()).dataSync()));
  assert.deepEqual(remote.optimizer!.getState(), local.optimizer!.getState());
  await assert.rejects(fetchModel(`${base}/nothing/`), /\/nothing\/model\.json: HTTP 404/);
});

test('the browser runs the kernels\' WebAssembly: SIMD, relaxed SIMD and threads on a shared memory', async () => {
  const page = await (await launch()).newPage();
  await page.goto(`${base}/index.html`);
  // A string, not a function: tsx would wrap a function's inner arrows in a helper the page lacks.
  const features = await page.evaluate(`(async () => {
    const valid = async (name) => WebAssembly.validate(await (await fetch('./kernels-' + name + '.wasm')).arrayBuffer());
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    return { simd: await valid('simd'), relaxed: await valid('relaxed'), isolated: crossOriginIsolated, shared: shared.buffer instanceof SharedArrayBuffer };
  })()`);
  assert.deepEqual(features, { simd: true, relaxed: true, isolated: true, shared: true });
});

test("the README's browser example runs as written", async () => {
  const page = await (await launch()).newPage();
  const outcome = new Promise<string>((resolve) => {
    page.on('console', (m) => resolve(m.text()));
    page.on('pageerror', (e) => resolve(`error: ${e.message}`));
  });
  await page.goto(`${base}/readme.html`);
  assert.match(await outcome, /^digit \d$/);
});
