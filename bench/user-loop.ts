// A user's own loop, public API only: dense (256x256) or conv; prints RSS and heap reserved at checkpoints.
const root = process.env.ROOT ?? '/work/main';
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
for (let i = 1; i <= steps; i++) {
  const l = forward();
  backward(l);
  opt.step(params);
  loss = l.item();
  if ([100, 1000, 5000, 10000].includes(i) || i === steps) {
    const heap = (getBackend() as any).heap?.reservedBytes ?? 0;
    console.log(`${kind} step ${i}: rss ${mib(process.memoryUsage().rss)} MiB, heap reserved ${mib(heap)} MiB, loss ${loss.toFixed(5)}, ${((performance.now() - start) / i).toFixed(3)} ms/step`);
  }
}
