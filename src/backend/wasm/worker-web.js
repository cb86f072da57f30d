// A browser's kernel worker (a Web Worker; started by web.ts from this file bundled as a string):
// the loop of worker-loop.js on the data of the pool's first message.
import { runKernels } from './worker-loop.js';

self.onmessage = (e) => runKernels(e.data, () => self.postMessage('ready'));
