// A kernel worker (plain JavaScript, so it needs no TypeScript loader): instantiates the kernels
// on the shared heap, then runs its share of each job the pool announces. See pool.ts for the
// control block's layout.
import { workerData } from 'node:worker_threads';

const { module, memory, control, names, index, startGen } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctrl = new Int32Array(control);
const args = new Float64Array(control, 64);
const GEN = 0, PENDING = 1, FN = 2, ARGC = 3, STOP = -1;

// Jobs are numbered by the generation counter; a worker that starts late still sees the job
// announced while it was booting, because it waits for a change from the generation at its spawn.
let seen = startGen;
// Kernels of one training step follow each other within microseconds: spin a little before
// sleeping, since a futex wake-up costs more than most of them take.
const SPIN = 20000;
for (;;) {
  for (let i = 0; i < SPIN && Atomics.load(ctrl, GEN) === seen; i++);
  Atomics.wait(ctrl, GEN, seen);
  seen = Atomics.load(ctrl, GEN);
  const fn = ctrl[FN];
  if (fn === STOP) break;
  const argc = ctrl[ARGC];
  // args: the kernel's own arguments, then per-thread [start, end, scratch] triples.
  const own = Array.from(args.subarray(0, argc));
  const t = argc + 3 * index;
  if (args[t] < args[t + 1]) exports[names[fn]](...own, args[t], args[t + 1], args[t + 2]);
  if (Atomics.sub(ctrl, PENDING, 1) === 1) Atomics.notify(ctrl, PENDING);
}
