// Reference optimizer updates, in place on flat arrays (the fused kernels of src/optim).

/** SGD with momentum (Keras): v = momentum * v - lr * g; w += v. Plain SGD when momentum is 0. */
export function sgdUpdate(w: Float32Array, g: Float32Array, v: Float32Array | null, lr: number, momentum: number): void {
  if (!v) {
    for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
    return;
  }
  for (let i = 0; i < w.length; i++) {
    v[i] = momentum * v[i] - lr * g[i];
    w[i] += v[i];
  }
}

/** Adam (Keras): moments m, v; `alpha` is the bias-corrected step size of this iteration. */
export function adamUpdate(
  w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, alpha: number, beta1: number, beta2: number, epsilon: number,
): void {
  for (let i = 0; i < w.length; i++) {
    m[i] = beta1 * m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    w[i] -= (alpha * m[i]) / (Math.sqrt(v[i]) + epsilon);
  }
}
