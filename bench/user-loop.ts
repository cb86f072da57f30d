// A user's own training loop with the public API only (no tidy, no dispose), as issue 12 asks:
// `dense` (x (64, 256) @ w (256, 256), relu, mean) or `conv` (two small convolutions on 32 images).
// Prints RSS and the wasm heap's size at steps 100, 1,000, 5,000 and 10,000, and the time a step.
//   node --import tsx bench/user-loop.ts dense|conv [steps] [tidy]
// With `tidy` each step runs in tidy(), for comparison. ROOT=dir measures another checkout.
const root = process.env.ROOT ?? new URL('..', import.meta.url).pathname;
const t = await import(`${root}/src/index.ts`);
const { tensor, variable, backward, SGD, Rng, randomNormal, getBackend } = t;
const kind = process.argv[2] ?? 'dense';
const steps = Number(process.argv[3] ?? 10000);
const rng = new Rng(1);
const opt = new SGD({ learningRate: 0.01 });
let forward: () => any, params: any[];
if (kind === 'dense') {
  const x = randomNormal([64, 256], rng);
  const w = variable(randomNormal([256, 256], rng, 0, 0.05));
  params = [w];
  forward = () => x.matmul(w).relu().mean();
} else {
  const x = randomNormal([32, 28, 28, 1], rng);
  const k1 = variable(randomNormal([3, 3, 1, 16], rng, 0, 0.1));
  const k2 = variable(randomNormal([3, 3, 16, 32], rng, 0, 0.1));
  params = [k1, k2];
  forward = () => t.conv2d(t.maxPool(t.conv2d(x, k1).relu()), k2).relu().mean();
}
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const start = performance.now();
let loss = 0;
const step = () => {
  const l = forward();
  backward(l);
  opt.step(params);
  return l.item();
};
const tidied = process.argv[4] === 'tidy';
for (let i = 1; i <= steps; i++) {
  loss = tidied ? t.tidy(step) : step();
  if ([100, 1000, 5000, 10000].includes(i) || i === steps) {
    const heap = (getBackend() as any).heap?.reservedBytes ?? 0;
    console.log(`${kind} step ${i}: rss ${mib(process.memoryUsage().rss)} MiB, heap reserved ${mib(heap)} MiB, loss ${loss.toFixed(5)}, ${((performance.now() - start) / i).toFixed(3)} ms/step`);
  }
}
