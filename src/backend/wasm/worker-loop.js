// A kernel worker's loop (plain JavaScript, so that Node's worker_threads need no TypeScript loader
// and the browser bundle embeds it as it is): instantiates the kernels on the shared heap, says it
// is ready, then claims and runs chunks of the jobs the pool announces until told to stop. See
// pool.ts for the protocol and the control block's layout; node.ts and web.ts start the workers.

const WORD = 0, DONE = 1, FN = 2, ARGC = 3, CHUNKS = 4, FAILED = 5, STOP = -1;
// Kernels of one training step follow each other within microseconds: spin a little before
// sleeping, since a futex wake-up costs more than most of them take.
const SPIN = 20000;

/** Serves the pool's jobs; `ready()` is called once the kernels are instantiated. */
export function runKernels({ module, memory, control, names, scratch }, ready) {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = names.map((name) => exports[name]); // the pool's KERNELS, in its order
  const ctrl = new Int32Array(control);
  const args = new Float64Array(control, 64);
  const call = []; // a chunk's arguments, reused: the loop allocates nothing
  ready();
  for (;;) {
    const word = Atomics.load(ctrl, WORD);
    if (ctrl[FN] === STOP) break;
    if ((word & 0xffff) >= ctrl[CHUNKS]) {
      let i = 0;
      while (i++ < SPIN && Atomics.load(ctrl, WORD) === word);
      if (i > SPIN) Atomics.wait(ctrl, WORD, word);
      continue;
    }
    if (Atomics.compareExchange(ctrl, WORD, word, word + 1) !== word) continue; // someone else took it
    const chunk = word & 0xffff;
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
