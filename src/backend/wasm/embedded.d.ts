// The virtual module the browser bundle provides (scripts/build-browser.js): both kernel builds in
// base64 and the Web Worker's source (worker-web.js bundled).
declare module 'tsgrad:embedded' {
  export const RELAXED_KERNELS: string;
  export const SIMD_KERNELS: string;
  export const WORKER_SOURCE: string;
}
