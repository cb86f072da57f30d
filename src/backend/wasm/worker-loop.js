// A kernel worker's loop (plain JavaScript, so that Node's worker_threads need no TypeScript loader
// and the browser bundle embeds it as it is): instantiates the kernels on the shared heap, says it
// is ready, then claims and runs chunks of the jobs the pool announces until told to stop. See
// pool.ts for the protocol and the control block's layout; node.ts and web.ts start the workers.

// The control block (int32), written by the pool (pool.ts) and read here: [GEN] the job's
// generation (workers wait for it to change), [DONE] chunks done, [FN] the kernel's position in
// KERNELS (STOP stops the workers), [ARGC] argument count, [CHUNKS] chunk count, [FAILED] set when
// a worker's kernel threw; from [RANGE] one word per thread, RANGE + i: generation << 16 | next
// << 8 | end, the chunks [next, end) of thread i's share not yet claimed (the generation keeps a
// stale claim from succeeding). Then float64 arguments at byte OFFSET: the kernel's own, then
// [start, end) of every chunk.
export const GEN = 0, DONE = 1, FN = 2, ARGC = 3, CHUNKS = 4, FAILED = 5, RANGE = 16, STOP = -1;
/** More threads than this is a mistake (each has a worker and a scratch block in the heap). */
export const MAX_THREADS = 64;
export const OFFSET = 4 * (RANGE + MAX_THREADS);
// Kernels of one training step follow each other within microseconds: spin a little before
// sleeping, since a futex wake-up costs more than most of them take.
const SPIN = 20000;

/**
 * Claims a chunk of thread `owner`'s share for thread `self`: the owner's next one, or for
 * another thread (which has finished its own) the owner's last one; -1 when none is left.
 */
export function claim(ctrl, owner, self) {
  for (;;) {
    const word = Atomics.load(ctrl, RANGE + owner);
    const next = (word >> 8) & 0xff, end = word & 0xff;
    if (next >= end) return -1;
    const taken = owner === self ? word + 0x100 : word - 1;
    if (Atomics.compareExchange(ctrl, RANGE + owner, word, taken) === word) return owner === self ? next : end - 1;
  }
}

/** Serves the pool's jobs; `ready()` is called once the kernels are instantiated. */
export function runKernels({ module, memory, control, names, scratch, index, threads }, ready) {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = names.map((name) => exports[name]); // the pool's KERNELS, in its order
  const ctrl = new Int32Array(control);
  const args = new Float64Array(control, OFFSET);
  const call = []; // a chunk's arguments, reused: the loop allocates nothing
  ready();
  for (;;) {
    const gen = Atomics.load(ctrl, GEN);
    if (ctrl[FN] === STOP) break;
    // Its own share first, then the last chunks of the others'.
    let chunk = -1;
    for (let k = 0; k < threads && chunk < 0; k++) chunk = claim(ctrl, (index + k) % threads, index);
    if (chunk < 0) {
      let i = 0;
      while (i++ < SPIN && Atomics.load(ctrl, GEN) === gen);
      if (i > SPIN) Atomics.wait(ctrl, GEN, gen);
      continue;
    }
    const argc = ctrl[ARGC];
    call.length = argc + 3;
    for (let i = 0; i < argc; i++) call[i] = args[i];
    call[argc] = args[argc + 2 * chunk];
    call[argc + 1] = args[argc + 2 * chunk + 1];
    call[argc + 2] = scratch;
    try {
      Reflect.apply(kernels[ctrl[FN]], undefined, call);
    } catch (e) {
      // The caller must not wait forever for this chunk: flag the failure, count the chunk as done.
      Atomics.store(ctrl, FAILED, 1);
      console.error(`tsgrad worker: ${names[ctrl[FN]]} failed: ${e?.stack ?? e}`);
    }
    if (Atomics.add(ctrl, DONE, 1) + 1 === ctrl[CHUNKS]) Atomics.notify(ctrl, DONE);
  }
}
