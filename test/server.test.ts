// The local server (src/server) as the dashboard uses it: every endpoint's route and shape on
// real small runs made by the CLI (a classifier, a GPT, a captioner), the event stream (records
// after `from`, appended ones as they come, a reset when metrics.jsonl is cut back, no torn
// record), every kind of request it refuses, each followed by one it answers, its headers, and
// `tsgrad serve` / `--dashboard` as a user runs them.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { loadMnist } from '../src/data/mnist.js';
import { fetchModel, loadModel } from '../src/models/load.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { tensor } from '../src/tensor/tensor.js';
import { Sequential } from '../src/train/sequential.js';
import { tempDir, writeSmallMnist } from './helpers.js';

const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('server');
const data = path.join(work, 'mnist');
const runs = path.join(work, 'runs');
const web = path.join(work, 'web');
const textFile = path.join(work, 'text.txt');
let server: RunningServer;
let base: URL;

/** Runs the CLI to the end (asynchronously, so that several run at once). */
function tsgrad(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One request with the path sent exactly as written (fetch would normalise `/../`). */
function request(target: string, o: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer; url?: URL } = {}): Promise<Reply> {
  const at = o.url ?? base;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: at.hostname, port: at.port, path: target, method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body.toString()) });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

const post = (target: string, value: unknown) => request(target, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) });

/** A request refused with `status` and a one-line JSON error matching `pattern`; then the server still answers. */
async function refused(reply: Promise<Reply>, status: number, pattern: RegExp): Promise<void> {
  const r = await reply;
  assert.equal(r.status, status, r.body.toString());
  const { error } = r.json();
  assert.match(error, pattern);
  assert.ok(!error.includes('\n'));
  assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.equal((await request('/api/runs')).status, 200);
}

/** An event stream's events as they arrive; `until` waits for the list to satisfy a condition. */
function events(target: string, headers: Record<string, string> = {}) {
  const list: { event: string; id?: string; data: any }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  let res: http.IncomingMessage | undefined;
  const opened = new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get({ host: base.hostname, port: base.port, path: target, headers, agent: false }, (r) => {
      res = r;
      let buffer = '';
      r.on('data', (chunk) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (k: string) => block.split('\n').find((l) => l.startsWith(`${k}: `))?.slice(k.length + 2);
          if (field('event')) list.push({ event: field('event')!, id: field('id'), data: JSON.parse(field('data')!) });
        }
      });
      resolve(r);
    });
    req.on('error', reject);
  });
  return {
    list, opened,
    async until(ok: (l: typeof list) => boolean, what: string): Promise<void> {
      for (const start = Date.now(); !ok(list);) {
        if (Date.now() - start > 5000) assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(list)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => res?.destroy(),
  };
}

const record = (step: number) => JSON.stringify({ event: 'step', epoch: 1, step, loss: 1 / step }) + '\n';

/** A run folder made by hand, being written: config.json and metrics.jsonl. */
function handRun(name: string, steps: number[]): string {
  const dir = path.join(runs, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model: 'reference', options: { epochs: 1 }, created: new Date().toISOString() }));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), steps.map(record).join(''));
  return dir;
}

before(async () => {
  writeSmallMnist(data, 96, 50);
  fs.writeFileSync(textFile, Array.from({ length: 300 }, (_, i) => `the quick brown fox ${i % 7} jumps over the lazy dog`).join('\n'));
  const results = await Promise.all([
    tsgrad('train', '--data', data, '--epochs', '1', '--limit', '48', '--batch-size', '16', '--log-every', '1', '--runs', runs, '--name', 'cnn'),
    tsgrad('gpt', 'train', '--text', textFile, '--layers', '1', '--heads', '2', '--embd', '16', '--block', '16', '--batch-size', '4', '--warmup-steps', '2',
      '--eval-batches', '1', '--steps', '4', '--eval-every', '2', '--runs', runs, '--name', 'lm'),
    tsgrad('caption', 'train', '--filters', '4,8', '--embd', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--warmup-steps', '1',
      '--eval-count', '16', '--steps', '2', '--eval-every', '2', '--runs', runs, '--name', 'cap'),
  ]);
  for (const r of results) assert.equal(r.code, 0, r.err);
  fs.mkdirSync(web);
  for (const f of ['index.html', 'app.js', 'app.css', 'kernels.wasm', 'logo.png', 'icon.svg', 'app.js.map', 'data.json', 'notes.exe']) fs.writeFileSync(path.join(web, f), `content of ${f}`);
  fs.writeFileSync(path.join(work, 'secret.js'), 'outside the web folder');
  fs.symlinkSync(path.join(work, 'secret.js'), path.join(web, 'link.js'));
  fs.writeFileSync(path.join(web, '.env'), 'hidden');
  server = await startServer({ runs, port: 0, web, data });
  base = new URL(server.url);
});

after(() => server?.close());

test('binds to 127.0.0.1 by default and every response carries the isolation headers', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  for (const target of ['/', '/app.js', '/api/runs', '/api/nope', '/api/runs/cnn/events']) {
    const r = target.endsWith('events') ? await events(target).opened.then((res) => (res.destroy(), { headers: res.headers })) : await request(target);
    assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', target);
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', target);
    assert.equal(r.headers['cross-origin-resource-policy'], 'same-origin', target);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', target);
    if (target.startsWith('/api')) assert.equal(r.headers['cache-control'], 'no-store', target);
  }
});

test('serves the front end with the right content types', async () => {
  const types: Record<string, RegExp> = {
    '/': /^text\/html/, '/index.html': /^text\/html/, '/app.js': /^text\/javascript/, '/app.css': /^text\/css/, '/kernels.wasm': /^application\/wasm$/,
    '/logo.png': /^image\/png$/, '/icon.svg': /^image\/svg\+xml$/, '/app.js.map': /^application\/json/, '/data.json': /^application\/json/,
  };
  for (const [target, type] of Object.entries(types)) {
    const r = await request(target);
    assert.equal(r.status, 200, target);
    assert.match(r.headers['content-type']!, type, target);
    assert.equal(r.body.toString(), `content of ${target === '/' ? 'index.html' : target.slice(1)}`);
  }
  const head = await request('/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  await refused(request('/notes.exe'), 404, /no file \/notes\.exe/);
  await refused(request('/missing.js'), 404, /no file/);

  const bare = await startServer({ runs, port: 0, web: path.join(work, 'no-web') });
  try {
    const r = await request('/', { url: new URL(bare.url) });
    assert.equal(r.status, 503);
    assert.match(r.body.toString(), /^tsgrad: the dashboard's front end is not built \(no index\.html in .*\): run npm run build\n$/);
  } finally {
    await bare.close();
  }
});

test('GET /api/runs lists every run, newest first, in its kind, and a damaged one with its error', async () => {
  fs.mkdirSync(path.join(runs, 'broken'));
  fs.writeFileSync(path.join(runs, 'broken', 'config.json'), '{"model": ');
  try {
    const { runs: list } = (await request('/api/runs')).json();
    const byName = Object.fromEntries(list.map((r: { name: string }) => [r.name, r]));
    assert.deepEqual(Object.keys(byName).sort(), ['broken', 'cap', 'cnn', 'lm']);
    assert.match(byName.broken.error, /^config\.json: not valid JSON/);
    assert.deepEqual(['cnn', 'lm', 'cap'].map((n) => [byName[n].kind, byName[n].model, byName[n].live]), [['classifier', 'reference', false], ['gpt', 'gpt', false], ['captioner', 'captioner', false]]);
    const created = list.filter((r: { config?: object }) => r.config).map((r: { config: { created: string } }) => r.config.created);
    assert.deepEqual(created, [...created].sort().reverse());
    const cnn = (await request('/api/runs/cnn')).json();
    assert.deepEqual(cnn, byName.cnn);
    assert.equal(cnn.summary.finished, true);
    assert.equal(cnn.summary.epochsDone, 1);
    assert.equal(cnn.config.options.batchSize, 16);
    const lm = (await request('/api/runs/lm')).json();
    assert.ok(typeof lm.summary.sample === 'string' && lm.summary.sample.length > 0, 'gpt train keeps its sample');
    await refused(request('/api/runs/nope'), 404, /no run named "nope"/);
  } finally {
    fs.rmSync(path.join(runs, 'broken'), { recursive: true });
  }
});

test('GET /api/runs/:name/metrics gives the records of metrics.jsonl, never a half-written one', async () => {
  const { records, skipped } = (await request('/api/runs/cnn/metrics')).json();
  const lines = fs.readFileSync(path.join(runs, 'cnn', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(records, lines);
  assert.equal(skipped, 0);
  assert.deepEqual(records.map((r: { event: string; step: number }) => `${r.event}${r.step}`), ['step1', 'step2', 'step3', 'epoch3']);

  const dir = handRun('torn', [1, 2]);
  const line = record(3);
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), line.slice(0, 10));
  assert.deepEqual((await request('/api/runs/torn/metrics')).json().records.map((r: { step: number }) => r.step), [1, 2]);
  assert.equal((await request('/api/runs/torn')).json().live, true);
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), line.slice(10));
  assert.deepEqual((await request('/api/runs/torn/metrics')).json().records.map((r: { step: number }) => r.step), [1, 2, 3]);
});

test('events: records after `from`, appended ones as they come, a summary, and a reset when metrics.jsonl is cut back', async () => {
  const dir = handRun('live', [1, 2, 3]);
  const file = path.join(dir, 'metrics.jsonl');
  const s = events('/api/runs/live/events?from=2');
  assert.match((await s.opened).headers['content-type']!, /^text\/event-stream/);
  await s.until((l) => l.length === 1, 'the third record');
  assert.deepEqual(s.list[0], { event: 'record', id: '3', data: JSON.parse(record(3)) });
  // A line appended in two halves arrives once, whole.
  const fourth = record(4);
  fs.appendFileSync(file, fourth.slice(0, 7));
  await new Promise((r) => setTimeout(r, 150));
  fs.appendFileSync(file, fourth.slice(7) + record(5));
  await s.until((l) => l.length === 3, 'records 4 and 5');
  assert.deepEqual(s.list.map((e) => [e.event, e.id, e.data.step]), [['record', '3', 3], ['record', '4', 4], ['record', '5', 5]]);
  // A resumed run cuts metrics.jsonl back by an atomic rename.
  fs.writeFileSync(`${file}.tmp`, [1, 2].map(record).join(''));
  fs.renameSync(`${file}.tmp`, file);
  await s.until((l) => l.length === 6, 'a reset and the new file');
  assert.deepEqual(s.list.slice(3).map((e) => [e.event, e.id, e.data.step]), [['reset', '0', undefined], ['record', '1', 1], ['record', '2', 2]]);
  // A run started again under its name: a new, longer file.
  fs.writeFileSync(`${file}.tmp`, [7, 8, 9, 10, 11, 12].map(record).join(''));
  fs.renameSync(`${file}.tmp`, file);
  await s.until((l) => l.length === 13, 'a reset and the longer file');
  assert.deepEqual(s.list.slice(6).map((e) => [e.event, e.id, e.data.step]), [['reset', '0', undefined], ...[7, 8, 9, 10, 11, 12].map((step, i) => ['record', String(i + 1), step])]);
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ finished: true, epochsDone: 1 }));
  await s.until((l) => l.some((e) => e.event === 'summary'), 'the summary');
  assert.deepEqual(s.list.at(-1), { event: 'summary', id: undefined, data: { finished: true, epochsDone: 1 } });
  s.close();

  // A reconnecting EventSource resumes after its Last-Event-ID; a `from` beyond the records is a reset.
  const again = events('/api/runs/live/events?from=0', { 'Last-Event-ID': '1' });
  await again.until((l) => l.some((e) => e.event === 'summary'), 'the replay');
  assert.deepEqual(again.list.filter((e) => e.event === 'record').map((e) => e.data.step), [8, 9, 10, 11, 12]);
  again.close();
  const beyond = events('/api/runs/live/events?from=9');
  await beyond.until((l) => l.filter((e) => e.event === 'record').length === 6, 'a reset then every record');
  assert.deepEqual(beyond.list.slice(0, 3).map((e) => e.event), ['reset', 'record', 'record']);
  beyond.close();
  await refused(request('/api/runs/live/events?from=-1'), 400, /^from must be a whole number/);
  await refused(request('/api/runs/live/events', { headers: { 'Last-Event-ID': 'x' } }), 400, /^Last-Event-ID must be a whole number/);
});

test('at most 64 event streams at once; a closed one frees its place', async () => {
  const streams = Array.from({ length: 64 }, () => events('/api/runs/cnn/events'));
  await Promise.all(streams.map((s) => s.opened));
  await refused(request('/api/runs/cnn/events'), 503, /64 event streams are open already/);
  streams.forEach((s) => s.close());
  for (const start = Date.now(); ;) {
    const s = events('/api/runs/cnn/events');
    const r = await s.opened;
    s.close();
    if (r.statusCode === 200) break;
    assert.ok(Date.now() - start < 3000, 'the closed streams never freed their places');
  }
});

test('the checkpoint files load as a model over HTTP, predicting what the run\'s checkpoint predicts', async () => {
  const remote = await fetchModel(`${server.url}api/runs/cnn/checkpoint/`, Sequential);
  const local = loadModel(path.join(runs, 'cnn'), Sequential);
  const x = tensor(loadMnist({ dir: data, split: 'test', limit: 4 }).images, [4, 28, 28, 1]);
  assert.deepEqual(Array.from(remote.predict(x).dataSync()), Array.from(local.predict(x).dataSync()));
  assert.match((await request('/api/runs/cnn/checkpoint/weights.safetensors')).headers['content-type']!, /^application\/octet-stream$/);
  await refused(request('/api/runs/cnn/checkpoint/nothing.json'), 404, /checkpoint has no file "nothing\.json"/);
  handRun('fresh', []);
  await refused(request('/api/runs/fresh/checkpoint/model.json'), 404, /run "fresh" has no checkpoint yet/);
});

test('analysis of a classifier run: the figures tsgrad evaluate gives, its confusion matrix and its mistakes', async () => {
  const a = (await request('/api/runs/cnn/analysis')).json();
  const e = await tsgrad('evaluate', 'cnn', '--runs', runs, '--data', data, '--json');
  assert.equal(e.code, 0, e.err);
  const { testAccuracy } = JSON.parse(e.out);
  const labels = loadMnist({ dir: data, split: 'test' }).labels;
  assert.equal(a.count, 50);
  assert.ok(Math.abs(a.accuracy - testAccuracy) < 1e-6, `${a.accuracy} vs ${testAccuracy}`);
  assert.equal(a.confusion.length, 10);
  assert.ok(a.confusion.every((row: number[], i: number) => row.length === 10 && row.reduce((s, v) => s + v, 0) === labels.filter((l) => l === i).length));
  assert.equal(a.wrong.length, Math.round(50 * (1 - a.accuracy)));
  for (const w of a.wrong) {
    assert.equal(w.label, labels[w.index]);
    assert.notEqual(w.predicted, w.label);
    assert.ok(w.confidence > 0 && w.confidence <= 1);
  }
  assert.deepEqual(a.wrong.map((w: { confidence: number }) => w.confidence), a.wrong.map((w: { confidence: number }) => w.confidence).sort((x: number, y: number) => y - x));
  assert.deepEqual((await request('/api/runs/cnn/analysis')).json(), a);
  await refused(request('/api/runs/lm/analysis'), 404, /run "lm" is a gpt run: the analysis is for digit classifiers/);
});

test('MNIST test images as JSON and as PNG, the index checked', async () => {
  const test = loadMnist({ dir: data, split: 'test' });
  const img = (await request('/api/mnist/test/7')).json();
  assert.equal(img.index, 7);
  assert.equal(img.label, test.labels[7]);
  assert.deepEqual(img.pixels, Array.from(test.images.subarray(7 * 784, 8 * 784), (v) => Math.round(v * 255)));
  const png = await request('/api/mnist/test/7.png');
  assert.equal(png.headers['content-type'], 'image/png');
  const decoded = PNG.sync.read(png.body);
  assert.deepEqual([decoded.width, decoded.height], [28, 28]);
  assert.deepEqual(Array.from({ length: 784 }, (_, i) => decoded.data[i * 4]), img.pixels);
  await refused(request('/api/mnist/test/50'), 404, /no test image 50: the test set has 50 \(0 to 49\)/);
  for (const bad of ['-1', '1.5', 'abc', '07', '1e2']) await refused(request(`/api/mnist/test/${bad}`), 400, /image index must be a whole number from 0 to 49/);
  await refused(request('/api/mnist/test/x.png'), 400, /image index/);
  // Many at once: the same labels and bytes.
  const batch = (await request('/api/mnist/test?from=5&count=10')).json();
  assert.deepEqual([batch.from, batch.count, batch.labels], [5, 10, Array.from(test.labels.subarray(5, 15))]);
  assert.deepEqual(Array.from(Buffer.from(batch.pixels, 'base64')), Array.from(test.images.subarray(5 * 784, 15 * 784), (v) => Math.round(v * 255)));
  assert.equal((await request('/api/mnist/test?count=50')).json().count, 50);
  await refused(request('/api/mnist/test?from=45&count=10'), 400, /count must be a whole number from 1 to 5, got "10"/);
  await refused(request('/api/mnist/test?from=50&count=1'), 400, /from must be a whole number from 0 to 49, got "50"/);
  for (const bad of ['0', '-1', 'x', '']) await refused(request(`/api/mnist/test?count=${bad}`), 400, /count must be a whole number from 1 to 50/);
  await refused(request('/api/mnist/test'), 400, /count must be a whole number from 1 to 50, got "\(none\)"/);
});

test('predict: a classifier\'s probabilities, a captioner\'s caption, a language model\'s text; every field checked', async () => {
  const image = loadMnist({ dir: data, split: 'test', limit: 1 }).images;
  const p = await post('/api/runs/cnn/predict', { pixels: Array.from(image) });
  assert.equal(p.status, 200, p.body.toString());
  const { probabilities, predicted } = p.json();
  const expected = Array.from(loadModel(path.join(runs, 'cnn'), Sequential).predict(tensor(image, [1, 28, 28, 1])).dataSync());
  assert.deepEqual(probabilities, expected);
  assert.equal(predicted, expected.indexOf(Math.max(...expected)));

  const blank = await post('/api/runs/cap/predict', { pixels: new Array(28 * 112).fill(0) });
  assert.deepEqual(blank.json(), { caption: null, number: null });
  const picture = new Array(28 * 112).fill(0);
  image.forEach((v, i) => (picture[Math.floor(i / 28) * 112 + 42 + (i % 28)] = v));
  const cap = (await post('/api/runs/cap/predict', { pixels: picture })).json();
  assert.equal(typeof cap.caption, 'string');
  assert.ok(cap.number === null || Number.isInteger(cap.number));

  const lm = await post('/api/runs/lm/predict', { prompt: 'the ', tokens: 12, seed: 3 });
  assert.equal(lm.status, 200, lm.body.toString());
  assert.equal(lm.json().text.length, 12); // one character per token
  assert.deepEqual((await post('/api/runs/lm/predict', { prompt: 'the ', tokens: 12, seed: 3 })).json(), lm.json());
  assert.equal((await post('/api/runs/lm/predict', { prompt: '', tokens: 5, temperature: 0 })).json().text.length, 5);

  const cnn = '/api/runs/cnn/predict';
  await refused(post(cnn, { pixels: Array.from(image.slice(1)) }), 400, /^pixels must be an array of 784 numbers from 0 to 1 \(28x28, row by row\), got 783 values$/);
  await refused(post(cnn, { pixels: [...Array.from(image.slice(1)), 2] }), 400, /got 2 at 783$/);
  await refused(post(cnn, { pixels: 'white' }), 400, /got string$/);
  await refused(post(cnn, {}), 400, /^pixels is missing$/);
  await refused(post(cnn, { pixels: Array.from(image), extra: 1 }), 400, /^unknown field "extra" \(this run takes pixels\)$/);
  await refused(post(cnn, [1, 2]), 400, /^the body must be a JSON object with pixels$/);
  await refused(post('/api/runs/cap/predict', { pixels: Array.from(image) }), 400, /3136 numbers from 0 to 1 \(28x112/);
  const gen = '/api/runs/lm/predict';
  await refused(post(gen, { tokens: 5 }), 400, /^prompt is missing$/);
  await refused(post(gen, { prompt: 7 }), 400, /^prompt must be a string/);
  for (const tokens of [0, 501, 2.5, '5']) await refused(post(gen, { prompt: 'a', tokens }), 400, /^tokens must be a whole number from 1 to 500/);
  await refused(post(gen, { prompt: 'a', temperature: -1 }), 400, /^temperature must be a number from 0 to 100, got -1$/);
  await refused(post(gen, { prompt: 'a', seed: -3 }), 400, /^seed must be a whole number from 0 to 4294967295/);
  await refused(post(gen, { prompt: 'é€' }), 400, /^prompt: /);
  await refused(request(cnn, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"pixels": [' }), 400, /^the body is not valid JSON/);
  await refused(request(cnn, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' }), 415, /Content-Type: application\/json, got text\/plain/);
  await refused(post('/api/runs/fresh/predict', { pixels: Array.from(image) }), 404, /has no checkpoint yet/);
});

test('a body over 1 MiB is refused, declared or not, and the server goes on', async () => {
  const big = Buffer.alloc(2 ** 20 + 10, 32);
  await refused(request('/api/runs/cnn/predict', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: big }), 413, /larger than 1048576 bytes/);
  // Sent in chunks without a length: refused when it reaches the limit.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path: '/api/runs/cnn/predict', method: 'POST', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, agent: false },
      (res) => (res.resume(), resolve(res.statusCode!)));
    req.on('error', reject);
    const piece = Buffer.alloc(64 * 1024, 32);
    const write = (n: number): void => void (n > 0 ? req.write(piece, () => write(n - 1)) : req.end());
    write(40);
  }).catch(() => 413); // the server may close while the client still writes
  assert.equal(chunked, 413);
  assert.equal((await request('/api/runs')).status, 200);
});

test('path traversal in any encoding, unknown routes, other methods and absurd requests are refused; the server goes on', async () => {
  const traversals = ['/../package.json', '/%2e%2e/package.json', '/%2E%2E%2Fpackage.json', '/..%2fpackage.json', '/..%5cpackage.json', '//etc/passwd',
    '/app.js%00.png', '/api/runs/..%2f..%2fetc/metrics', '/api/runs/%2e%2e/metrics', '/api/runs/cnn/checkpoint/..%2f..%2fconfig.json', '/api/runs/cnn/checkpoint/%2e%2e'];
  for (const t of traversals) await refused(request(t), 400, /^the path (segment .* is not allowed|has an empty segment)/);
  await refused(request('/%zz'), 400, /malformed percent-encoding/);
  await refused(request('/link.js'), 404, /no file \/link\.js/); // a link out of the front end's folder
  await refused(request('/.env'), 404, /no file/);
  await refused(request(encodeURI(path.join(work, 'secret.js'))), 404, /no file/); // an absolute path is a path under the folder
  await refused(request('/api/runs/a%20b'), 400, /run name "a b" must be a folder name/);
  // A run folder that is a link to a run outside --runs is neither listed nor read.
  fs.cpSync(path.join(runs, 'cnn'), path.join(work, 'elsewhere'), { recursive: true });
  fs.symlinkSync(path.join(work, 'elsewhere'), path.join(runs, 'linked'));
  await refused(request('/api/runs/linked'), 404, /no run named "linked"/);
  await refused(request('/api/runs/linked/checkpoint/model.json'), 404, /no run named "linked"/);
  assert.ok(!(await request('/api/runs')).json().runs.some((r: { name: string }) => r.name === 'linked'));
  fs.rmSync(path.join(runs, 'linked'));
  await refused(request('http://127.0.0.1/api/runs'), 400, /must be a path/);
  await refused(request('/api/nope'), 404, /^no API route \/api\/nope$/);
  await refused(request('/api/runs/cnn/nope'), 404, /no API route/);
  const r = await request('/api/runs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(r.headers.allow, 'GET, HEAD');
  await refused(Promise.resolve(r), 405, /^POST is not allowed here \(GET, HEAD\)$/);
  await refused(request('/api/runs/cnn/predict'), 405, /^GET is not allowed here \(POST\)$/);
  await refused(request('/', { method: 'DELETE' }), 405, /DELETE is not allowed/);
  await refused(request(`/${'a'.repeat(5000)}`), 414, /more than the 2048/);
  await refused(request(`/${'a'.repeat(20000)}`), 431, /larger than 16 KiB/);
  await refused(request('/api/runs', { headers: { Host: 'evil.example:80' } }), 403, /Host "evil\.example:80" is not this server's/);
  assert.equal((await request('/api/runs', { headers: { Host: `localhost:${base.port}` } })).status, 200);
});

test('tsgrad serve prints its address and serves until Ctrl-C; a port in use is one line and exit 1', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--runs', runs, '--port', '0', '--data', data], { cwd: work });
  let out = '', err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^tsgrad dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\n$/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`serve ended: ${out}${err}`)));
  });
  const r = await request('/api/runs/cnn', { url: new URL(url) });
  assert.equal(r.json().name, 'cnn');
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.equal(err, '');

  const busy = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => busy.once('listening', resolve));
  try {
    const port = String((busy.address() as net.AddressInfo).port);
    const inUse = await tsgrad('serve', '--runs', runs, '--port', port);
    assert.equal(inUse.code, 1);
    assert.equal(inUse.out, '');
    assert.equal(inUse.err, `tsgrad: 127.0.0.1:${port} is in use (another tsgrad serve or TensorBoard?): give another port\n`);
  } finally {
    busy.close();
  }
  const bad = spawnSync(process.execPath, [BIN, 'serve', '--port', '65536'], { cwd: work, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'tsgrad: --port must be an integer from 0 to 65535, got "65536"\n');
});

test('train --dashboard serves the runs while training, then ends with it', async () => {
  // Long enough (180 steps, a few seconds) for the requests below to be answered before it ends.
  const child = spawn(process.execPath, [BIN, 'train', '--data', data, '--epochs', '60', '--runs', runs, '--name', 'watched', '--dashboard', '0', '--json'], { cwd: work });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /^tsgrad dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`train ended first: ${err}`)));
  });
  assert.equal((await request('/api/runs', { url: new URL(url) })).status, 200);
  // The worker computes too (on its own wasm backend), while the run trains.
  const analysis = await request('/api/runs/cnn/analysis', { url: new URL(url) });
  assert.equal(analysis.status, 200, analysis.body.toString());
  assert.equal(analysis.json().count, 50);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, err);
  assert.deepEqual(out.trim().split('\n').map((l) => JSON.parse(l).event), [...Array(60).fill('epoch'), 'done']); // stdout stays JSON
  assert.match(err, /The dashboard closed with the training; to keep looking: tsgrad serve --runs .*runs\n$/);
});
