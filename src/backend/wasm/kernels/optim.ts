// Optimizer updates (AssemblyScript), in place, four weights at a time, for elements
// [start, end). The twin of ../../ref/optim.ts, which is the specification.

export function sgdUpdate(w: usize, g: usize, v: usize, lr: f32, momentum: f32, start: i32, end: i32, _scratch: usize): void {
  for (let i = start; i < end; i++) {
    const o = <usize>i << 2;
    if (v == 0) {
      store<f32>(w + o, load<f32>(w + o) - lr * load<f32>(g + o));
    } else {
      const vi = momentum * load<f32>(v + o) - lr * load<f32>(g + o);
      store<f32>(v + o, vi);
      store<f32>(w + o, load<f32>(w + o) + vi);
    }
  }
}

export function adamUpdate(
  w: usize, g: usize, m: usize, v: usize, alpha: f32, beta1: f32, beta2: f32, epsilon: f32, start: i32, end: i32, _scratch: usize,
): void {
  let i = start;
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(1 - beta1);
  const b2 = f32x4.splat(beta2), c2 = f32x4.splat(1 - beta2);
  const a = f32x4.splat(alpha), eps = f32x4.splat(epsilon);
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, gi));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(f32x4.mul(c2, gi), gi));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.div(f32x4.mul(a, mi), f32x4.add(f32x4.sqrt(vi), eps))));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = beta1 * load<f32>(m + o) + (1 - beta1) * gi;
    const vi = beta2 * load<f32>(v + o) + (1 - beta2) * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(w + o, load<f32>(w + o) - (alpha * mi) / (Mathf.sqrt(vi) + epsilon));
  }
}
