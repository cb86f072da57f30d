// Node's kernel worker (worker_threads; started by node.ts): the loop of worker-loop.js on the
// data the pool gave it.
import { parentPort, workerData } from 'node:worker_threads';
import { runKernels } from './worker-loop.js';

runKernels(workerData, () => parentPort.postMessage('ready'));
