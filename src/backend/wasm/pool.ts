// The thread pool: worker_threads that share the heap's WebAssembly.Memory. A job is one kernel
// export and its arguments over a range [0, total), cut into a few chunks, and each thread (the
// caller is thread 0) owns a run of them: thread i the i-th share of [0, total), the same share of
// every job. So consecutive kernels over the same axis (the batch, mostly) find their data in the
// cache of the core that wrote it: handing a cache line from one core to another costs far more
// than reading it from its own (on a 2-core machine here, writing 400 KB that the other core had
// touched took three times as long). A thread that has finished its own chunks takes the last
// ones of another's, so a thread the OS has paused (these machines are shared) delays a job by at
// most one chunk. Chunk bounds depend only on the job and the thread count, and each output
// element is computed by one chunk, so results never depend on timing. Jobs are announced through
// a small shared control block with Atomics, far cheaper than postMessage (its layout and the
// claiming of chunks are in worker-loop.js, which the workers run).
// The workers themselves are the platform's (node.ts: worker_threads; web.ts: Web Workers); their
// loop is worker-loop.js.

import { KERNELS, type KernelName, type Kernels, type WorkerData } from './loader.js';
import { ARGC, CHUNKS, claim, DONE, FAILED, FN, GEN, MAX_THREADS, OFFSET, RANGE, STOP } from './worker-loop.js';

export { MAX_THREADS };

/** Arguments and chunk bounds the control block holds: at most (MAX_ARGS - arguments) / 2 chunks, below 256. */
const MAX_ARGS = 240;
const SPIN = 20000;

/** Starts a worker running worker-loop.js on `data`; resolves once it is serving jobs. */
export type StartWorker = (data: WorkerData) => Promise<void>;

/**
 * Whether this thread may sleep in Atomics.wait: a browser page's main thread may not (it spins
 * instead, as Emscripten's threads do there); Node's threads and Web Workers may.
 */
function canSleep(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export class Pool {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly sleeps: boolean;
  private generation = 0;
  /** Chunks of split jobs run so far, and how many of them the workers ran (the rest, the caller). */
  readonly chunks = { total: 0, byWorkers: 0 };
  /** Resolves once every worker serves jobs (until then the threads that are up share the work). */
  readonly ready: Promise<void>;

  constructor(
    readonly threads: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    private readonly main: Kernels,
    /** One scratch block per thread (byte offsets), the calling thread's first. */
    private readonly scratch: number[],
    startWorker: StartWorker,
  ) {
    // One thread needs no shared control block (and a page that is not cross-origin isolated has none).
    const control = threads > 1 ? new SharedArrayBuffer(OFFSET + 8 * MAX_ARGS) : new ArrayBuffer(OFFSET + 8 * MAX_ARGS);
    this.ctrl = new Int32Array(control);
    this.args = new Float64Array(control, OFFSET);
    this.sleeps = threads === 1 || canSleep();
    const started = [];
    for (let i = 1; i < threads; i++) {
      started.push(startWorker({ module, memory, control: control as SharedArrayBuffer, names: KERNELS, scratch: scratch[i], index: i, threads }));
    }
    this.ready = Promise.all(started).then(() => undefined);
  }

  /**
   * Runs `fn(...args, start, end, scratch)` over [0, total) in chunks whose bounds are multiples
   * of `align` (`chunks` of them, three a thread unless told, as many as the control block holds),
   * thread i owning the i-th share of them. Small jobs (`work` below what waking the workers
   * costs) run on the caller alone.
   */
  run(fn: KernelName, args: number[], total: number, opts: { align?: number; work?: number; chunks?: number } = {}): void {
    const align = opts.align ?? 1;
    const parallel = this.threads > 1 && (opts.work ?? Infinity) >= 2e5;
    const chunks = parallel ? Math.min(opts.chunks ?? 3 * this.threads, Math.ceil(total / align), (MAX_ARGS - args.length) >> 1) : 1;
    const kernel = this.main[fn];
    if (chunks <= 1) {
      kernel(...args, 0, total, this.scratch[0]);
      return;
    }
    const per = Math.ceil(total / chunks / align) * align;
    const argc = args.length;
    // Every share of the last job is claimed to its end, so no worker can claim a chunk while
    // this one is written; the shares' words, written last, open it.
    this.args.set(args);
    for (let c = 0; c < chunks; c++) {
      this.args[argc + 2 * c] = Math.min(total, c * per);
      this.args[argc + 2 * c + 1] = Math.min(total, (c + 1) * per);
    }
    this.ctrl[FN] = KERNELS.indexOf(fn);
    this.ctrl[ARGC] = argc;
    this.ctrl[CHUNKS] = chunks;
    Atomics.store(this.ctrl, DONE, 0);
    this.generation = (this.generation + 1) & 0x7fff;
    for (let i = 0; i < this.threads; i++) {
      const next = Math.floor((i * chunks) / this.threads), end = Math.floor(((i + 1) * chunks) / this.threads);
      Atomics.store(this.ctrl, RANGE + i, (this.generation << 16) | (next << 8) | end);
    }
    Atomics.store(this.ctrl, GEN, this.generation);
    Atomics.notify(this.ctrl, GEN);
    let own = 0;
    for (let owner = 0; owner < this.threads; owner++) {
      for (let c = claim(this.ctrl, owner, 0); c >= 0; c = claim(this.ctrl, owner, 0)) {
        kernel(...args, this.args[argc + 2 * c], this.args[argc + 2 * c + 1], this.scratch[0]);
        Atomics.add(this.ctrl, DONE, 1);
        own++;
      }
    }
    this.chunks.total += chunks;
    this.chunks.byWorkers += chunks - own;
    for (let i = 0; i < SPIN && Atomics.load(this.ctrl, DONE) !== chunks; i++); // usually done by now
    for (let d = Atomics.load(this.ctrl, DONE); d !== chunks; d = Atomics.load(this.ctrl, DONE)) if (this.sleeps) Atomics.wait(this.ctrl, DONE, d);
    if (Atomics.exchange(this.ctrl, FAILED, 0)) throw new Error(`kernel ${fn} failed on a worker thread (see its message above)`);
  }

  close(): void {
    this.ctrl[FN] = STOP;
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
  }
}
