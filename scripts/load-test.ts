// A bounded loopback load test of the local server (src/server), while a run is being written:
// 20,000 requests (or 60 s, whichever comes first), 32 at a time, from this process to a server in
// a child process on 127.0.0.1, mixed over the runs list, a live run's metrics and description, a
// classifier's analysis and predictions, MNIST test images, the front end's files and event
// streams. A writer process appends the live run's metrics meanwhile, each line in two halves
// (the worst case for a reader). Reports requests/s, latency p50/p99, errors (must be 0), the
// server's resident memory before, after and at its peak, and torn reads (a record that does not
// parse, or steps out of order, in an answer or an event stream: must be 0). Exits 1 on any error.
// Run with `node --import tsx scripts/load-test.ts` after `npm run build` (the CLI and server from dist/).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const REQUESTS = 20_000;
const SECONDS = 60;
const CONCURRENCY = 32;
const STREAMS = 8;

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-load-'));
const runs = path.join(work, 'runs');
const web = path.join(work, 'web');
const children: ReturnType<typeof spawn>[] = [];
process.on('exit', () => {
  for (const c of children) c.kill();
  fs.rmSync(work, { recursive: true, force: true });
});

// A finished classifier run to analyse and predict with (MNIST's first 512 images, one epoch).
console.log('making a classifier run...');
const made = spawnSync(process.execPath, [path.join(root, 'bin/tsgrad.js'), 'train', '--limit', '512', '--epochs', '1', '--runs', runs, '--name', 'cnn', '--log-every', '0', '--json'], { encoding: 'utf8' });
if (made.status !== 0) throw new Error(`tsgrad train failed: ${made.stderr}`);
fs.mkdirSync(web);
fs.writeFileSync(path.join(web, 'index.html'), `<!doctype html><title>tsgrad</title>${'<p>page</p>'.repeat(200)}`);
fs.writeFileSync(path.join(web, 'app.js'), `// app\n${'console.log(1);\n'.repeat(5000)}`);

// The live run: a record every 5 ms, each line written in two halves 2 ms apart.
const live = path.join(runs, 'live');
fs.mkdirSync(live, { recursive: true });
fs.writeFileSync(path.join(live, 'config.json'), JSON.stringify({ model: 'reference', options: { epochs: 1 }, created: new Date().toISOString() }));
const writer = spawn(process.execPath, ['-e', `
  const fs = require('fs'); const file = ${JSON.stringify(path.join(live, 'metrics.jsonl'))};
  let step = 0;
  const next = () => {
    const line = JSON.stringify({ event: 'step', epoch: 1, step: ++step, loss: 1 / step, accuracy: 0.5, lr: 0.001 }) + '\\n';
    fs.appendFileSync(file, line.slice(0, line.length >> 1));
    setTimeout(() => { fs.appendFileSync(file, line.slice(line.length >> 1)); setTimeout(next, 3); }, 2);
  };
  next();`], { stdio: 'ignore' });
children.push(writer);

// The server, in its own process so that its memory is its own.
const server = spawn(process.execPath, ['--input-type=module', '-e', `
  const { registerNodeBackend } = await import(${JSON.stringify(path.join(root, 'dist/cli/backend.js'))});
  const { startServer } = await import(${JSON.stringify(path.join(root, 'dist/server/server.js'))});
  registerNodeBackend();
  const s = await startServer({ runs: ${JSON.stringify(runs)}, web: ${JSON.stringify(web)}, port: 0 });
  console.log(s.url);`], { stdio: ['ignore', 'pipe', 'inherit'] });
children.push(server);
const url = new URL(await new Promise<string>((resolve) => server.stdout!.once('data', (d) => resolve(String(d).trim()))));
if (url.hostname !== '127.0.0.1') throw new Error(`not loopback: ${url}`);

/** The server's resident memory now and at its peak, in MiB (Linux's /proc). */
function memory(): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)![1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
let torn = 0;

function get(target: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: target, agent, method: body ? 'POST' : 'GET', headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Counts a torn read: steps must run 1, 2, 3... in a whole answer. */
function checkSteps(records: { step: number }[]): void {
  records.forEach((r, i) => void (r.step !== i + 1 && torn++));
}

/** An event stream of the live run, checking that records arrive whole and in order; returns its closer and count. */
function stream(): { close: () => void; count: () => number } {
  let seen = 0, req: http.ClientRequest | null = null;
  req = http.get({ host: url.hostname, port: url.port, path: '/api/runs/live/events?from=0' }, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
      buffer += d;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!block.startsWith('event: record')) continue;
        try {
          const r = JSON.parse(block.slice(block.indexOf('data: ') + 6));
          if (r.step !== ++seen) torn++;
        } catch {
          torn++;
        }
      }
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  return { close: () => req?.destroy(), count: () => seen };
}

const pixels = JSON.stringify({ pixels: Array.from({ length: 784 }, (_, i) => ((i % 28) > 12 && (i % 28) < 16 ? 1 : 0)) });
/** The mix, by request number: 30% runs list, 25% live metrics, 10% analysis, 15% static, 10% predict, 5% PNG, 5% run, and an event stream opened and closed every 500th. */
async function one(i: number): Promise<void> {
  const k = i % 20;
  if (i % 500 === 499) {
    const s = stream();
    await new Promise((r) => setTimeout(r, 200));
    s.close();
    return;
  }
  const target = k < 6 ? '/api/runs' : k < 11 ? '/api/runs/live/metrics' : k < 13 ? '/api/runs/cnn/analysis' : k < 14 ? '/' : k < 16 ? '/app.js'
    : k < 18 ? '/api/runs/cnn/predict' : k < 19 ? `/api/mnist/test/${i % 10000}.png` : '/api/runs/live';
  const r = await get(target, target.endsWith('predict') ? pixels : undefined);
  if (r.status !== 200) throw new Error(`${target}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  if (target.endsWith('metrics')) {
    try {
      checkSteps(JSON.parse(r.text).records);
    } catch {
      torn++;
    }
  }
}

// Warm-up: the first analysis computes over the 10,000 test images (then it is cached).
let started = performance.now();
await get('/api/runs/cnn/analysis');
const analysisMs = performance.now() - started;
await get('/api/runs/cnn/predict', pixels);
const before = memory();
const streams = Array.from({ length: STREAMS }, stream);

let next = 0, errors = 0, done = 0, peak = before.peak;
const latencies: number[] = [];
const firstErrors: string[] = [];
const deadline = performance.now() + SECONDS * 1000;
const sampler = setInterval(() => (peak = Math.max(peak, memory().peak)), 200);
started = performance.now();
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < REQUESTS && performance.now() < deadline) {
    const i = next++;
    const t = performance.now();
    try {
      await one(i);
      latencies.push(performance.now() - t);
    } catch (e) {
      errors++;
      if (firstErrors.length < 5) firstErrors.push((e as Error).message);
    }
    done++;
  }
}));
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const streamed = streams.map((s) => s.count());
streams.forEach((s) => s.close());
const finalMetrics = JSON.parse((await get('/api/runs/live/metrics')).text).records as { step: number }[];
checkSteps(finalMetrics);
await new Promise((r) => setTimeout(r, 500));
const afterMemory = memory();
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);

console.log(`requests: ${done} in ${seconds.toFixed(1)} s (${(done / seconds).toFixed(0)}/s), concurrency ${CONCURRENCY}, ${STREAMS} event streams open throughout`);
console.log(`latency: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; first analysis (10,000 test images) ${(analysisMs / 1000).toFixed(1)} s`);
console.log(`errors: ${errors}${firstErrors.length ? ` (${firstErrors.join('; ')})` : ''}`);
console.log(`server memory (RSS): ${before.rss.toFixed(0)} MiB before, ${afterMemory.rss.toFixed(0)} MiB after, peak ${Math.max(peak, afterMemory.peak).toFixed(0)} MiB`);
console.log(`live run: ${finalMetrics.length} records written meanwhile; each stream received ${Math.min(...streamed)}-${Math.max(...streamed)}; torn reads: ${torn}`);
process.exit(errors === 0 && torn === 0 ? 0 : 1);
