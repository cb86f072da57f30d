// The thread pool: worker_threads that share the heap's WebAssembly.Memory. A job is one kernel
// export and its arguments, with a range of rows (or batches) for each thread; the main thread runs
// share 0 itself, so n threads means n - 1 workers. Jobs are announced through a small shared
// control block with Atomics, which is far cheaper than postMessage per kernel call.

import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Kernels } from './loader.js';

/** Control block: [generation, pending, function index, argument count, ...], then float64 arguments at byte 64. */
const GEN = 0, PENDING = 1, FN = 2, ARGC = 3, STOP = -1;
const MAX_ARGS = 64;

export type KernelName = Exclude<keyof Kernels, 'SGEMM_SCRATCH_FLOATS'>;

export function defaultThreads(): number {
  const env = process.env.TSGRAD_THREADS;
  const n = env === undefined ? os.availableParallelism() : Number(env);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 64) : os.availableParallelism();
}

export class Pool {
  private readonly workers: Worker[] = [];
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly names: KernelName[];

  constructor(
    readonly threads: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    private readonly main: Kernels,
    /** One scratch block per thread (byte offsets), thread 0's first. */
    readonly scratch: number[],
    names: KernelName[],
  ) {
    this.names = names;
    const control = new SharedArrayBuffer(64 + 8 * MAX_ARGS);
    this.ctrl = new Int32Array(control);
    this.args = new Float64Array(control, 64);
    for (let i = 1; i < threads; i++) {
      const w = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: { module, memory, control, names, index: i, startGen: 0 },
      });
      w.unref(); // idle workers must not keep the process alive
      this.workers.push(w);
    }
  }

  /**
   * Runs `fn(...args, start, end, scratch)` on every thread, each over its part of [0, total):
   * contiguous parts, boundaries on multiples of `align`. Small jobs (`work` below ~ the cost of
   * waking the workers) run on the calling thread alone.
   */
  run(fn: KernelName, args: number[], total: number, opts: { align?: number; work?: number } = {}): void {
    const align = opts.align ?? 1;
    const parts = Math.min(this.threads, Math.ceil(total / align), (opts.work ?? Infinity) >= 2e5 ? Infinity : 1);
    if (parts <= 1 || this.workers.length === 0) {
      (this.main[fn] as (...a: number[]) => void)(...args, 0, total, this.scratch[0]);
      return;
    }
    const per = Math.ceil(total / parts / align) * align;
    const argc = args.length;
    this.args.set(args);
    for (let t = 0; t < this.threads; t++) {
      const start = Math.min(total, t * per);
      this.args[argc + 3 * t] = start;
      this.args[argc + 3 * t + 1] = Math.min(total, start + per);
      this.args[argc + 3 * t + 2] = this.scratch[t];
    }
    this.ctrl[FN] = this.names.indexOf(fn);
    this.ctrl[ARGC] = argc;
    Atomics.store(this.ctrl, PENDING, this.workers.length);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    (this.main[fn] as (...a: number[]) => void)(...args, 0, Math.min(total, per), this.scratch[0]);
    for (let i = 0; i < 20000 && Atomics.load(this.ctrl, PENDING) !== 0; i++); // usually done by now
    for (let p = Atomics.load(this.ctrl, PENDING); p !== 0; p = Atomics.load(this.ctrl, PENDING)) {
      Atomics.wait(this.ctrl, PENDING, p);
    }
  }

  close(): void {
    this.ctrl[FN] = STOP;
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
  }
}
