// The dashboard of a training command (`tsgrad train --dashboard`): the same server as `tsgrad
// serve`, run in a worker thread, so that a heavy request (an analysis over the test set, a long
// generation) never stalls training, and training's synchronous kernels never stall the pages.
// The trainer does not know about it: the server only reads the run folder the trainer writes.
// The worker never keeps the process alive, and a failure in it is reported, never fatal to training.
// Not for: the server itself (server.ts); the worker's side is worker.ts.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TsgradError } from '../core/errors.js';
import type { RunningServer, ServerOptions } from './server.js';

/** The message the worker sends once: where it listens, or why it cannot. */
export type DashboardReady = { url: string } | { error: string };

/**
 * Starts the server in a worker thread and resolves once it listens (or rejects with its one-line
 * reason, e.g. the port in use). `onError` hears of a worker that dies later.
 */
export async function startDashboard(o: ServerOptions & { onError: (message: string) => void }): Promise<RunningServer> {
  const { onError, ...options } = o;
  const entry = new URL(`./worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
  // Compiled (dist/): the worker's file as it is. Under tsx (src/): Node 20's workers do not
  // inherit tsx's loader, so the worker registers it before importing its TypeScript.
  const code = entry.endsWith('.ts')
    ? `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`
    : `import(${JSON.stringify(entry)})`;
  const worker = new Worker(code, { eval: true, workerData: options });
  let ready = false;
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('message', (m: DashboardReady) => ('url' in m ? resolve(m.url) : reject(new TsgradError(m.error))));
    worker.on('error', (e) => (ready ? onError(e.message) : reject(new TsgradError(`the dashboard could not start: ${e.message}`))));
    worker.once('exit', (code) => (ready ? code !== 0 && code !== 1 && onError(`its worker stopped (exit code ${code})`) : reject(new TsgradError(`the dashboard could not start (exit code ${code})`))));
  });
  ready = true;
  worker.unref();
  return { url, close: async () => void (await worker.terminate()) };
}
