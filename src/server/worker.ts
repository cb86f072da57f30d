// The worker thread of a training command's dashboard (dashboard.ts starts it): registers the wasm
// backend on one thread (predictions and analyses must not compete with training for the cores),
// starts the server and tells the main thread where it listens, or why it cannot.

import { parentPort, workerData } from 'node:worker_threads';
import { createWasmBackend } from '../backend/wasm/node.js';
import { registerBackend } from '../tensor/engine.js';
import type { DashboardReady } from './dashboard.js';
import { startServer, type ServerOptions } from './server.js';

registerBackend('wasm', () => createWasmBackend(1));
let ready: DashboardReady;
try {
  ready = { url: (await startServer(workerData as ServerOptions)).url };
} catch (e) {
  ready = { error: (e as Error).message };
}
parentPort!.postMessage(ready);
