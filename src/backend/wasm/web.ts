// The wasm backend's browser platform (registered by the browser entry, src/browser.ts): the
// kernels the bundle embeds (scripts/build-browser.js puts both builds and the worker's source in
// the virtual modules below), compiled asynchronously (a page's main thread may not compile
// large modules synchronously), and Web Workers on the shared heap. A page that is not
// cross-origin isolated cannot share memory with workers: it computes on one thread, and says so.

import { RELAXED_KERNELS, SIMD_KERNELS, WORKER_SOURCE } from 'tsgrad:embedded';
import type { WasmPlatform } from './index.js';
import { MAX_THREADS } from './pool.js';

export interface WebPlatform extends WasmPlatform {
  /** Why the page computes on one thread, when it does. */
  readonly singleThreadReason: string | null;
}

const decode = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

export async function webPlatform(): Promise<WebPlatform> {
  const relaxed = decode(RELAXED_KERNELS);
  const variant = WebAssembly.validate(relaxed) ? 'relaxed' : 'simd';
  const module = await WebAssembly.compile(variant === 'relaxed' ? relaxed : decode(SIMD_KERNELS));
  const isolated = globalThis.crossOriginIsolated === true;
  const cores = Math.min(globalThis.navigator?.hardwareConcurrency || 1, MAX_THREADS);
  const threads = isolated ? cores : 1;
  let workerUrl: string | null = null;
  return {
    kernels: () => ({ module, variant }),
    defaultThreads: () => threads,
    singleThreadReason: isolated ? (cores > 1 ? null : 'this device has one core')
      : 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so workers cannot share its memory',
    startWorker(data) {
      workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
      const worker = new Worker(workerUrl, { name: 'tsgrad kernels' });
      const ready = new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (e) => reject(new Error(`a tsgrad kernel worker failed to start: ${e.message}`));
      });
      worker.postMessage(data);
      return ready;
    },
  };
}
