// Reference kernels that work row by row over the last axis: softmax (optionally causal) and
// normalisation (layer norm without its scale and shift), with their backward passes.

export function softmax(x: Float32Array, out: Float32Array, cols: number, scale: number, causalRows: number): void {
  for (let r = 0, o = 0; o < x.length; r++, o += cols) {
    const seen = causalRows ? (r % causalRows) + cols - causalRows + 1 : cols;
    let max = -Infinity;
    for (let j = 0; j < seen; j++) max = Math.max(max, scale * x[o + j]);
    let sum = 0;
    for (let j = 0; j < seen; j++) sum += out[o + j] = Math.exp(scale * x[o + j] - max);
    for (let j = 0; j < seen; j++) out[o + j] /= sum;
    out.fill(0, o + seen, o + cols);
  }
}

export function softmaxGrad(g: Float32Array, y: Float32Array, out: Float32Array, cols: number, scale: number): void {
  for (let o = 0; o < g.length; o += cols) {
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += g[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) out[o + j] = scale * y[o + j] * (g[o + j] - dot);
  }
}

export function logSoftmax(x: Float32Array, out: Float32Array, cols: number): void {
  for (let o = 0; o < x.length; o += cols) {
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[o + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - max);
    const logSum = Math.log(sum);
    for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - max - logSum;
  }
}

export function logSoftmaxGrad(g: Float32Array, y: Float32Array, out: Float32Array, cols: number): void {
  for (let o = 0; o < g.length; o += cols) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += g[o + j];
    for (let j = 0; j < cols; j++) out[o + j] = g[o + j] - Math.exp(y[o + j]) * sum;
  }
}

/** The mean and 1 / standard deviation of x[o, o + cols). */
function moments(x: Float32Array, o: number, cols: number, epsilon: number): [number, number] {
  let mean = 0;
  for (let j = 0; j < cols; j++) mean += x[o + j];
  mean /= cols;
  let variance = 0;
  for (let j = 0; j < cols; j++) variance += (x[o + j] - mean) ** 2;
  return [mean, 1 / Math.sqrt(variance / cols + epsilon)];
}

export function normalize(x: Float32Array, out: Float32Array, cols: number, epsilon: number): void {
  for (let o = 0; o < x.length; o += cols) {
    const [mean, rstd] = moments(x, o, cols, epsilon);
    for (let j = 0; j < cols; j++) out[o + j] = (x[o + j] - mean) * rstd;
  }
}

export function normalizeGrad(g: Float32Array, x: Float32Array, out: Float32Array, cols: number, epsilon: number): void {
  for (let o = 0; o < x.length; o += cols) {
    const [mean, rstd] = moments(x, o, cols, epsilon);
    let gMean = 0;
    let gxMean = 0;
    for (let j = 0; j < cols; j++) {
      gMean += g[o + j];
      gxMean += g[o + j] * (x[o + j] - mean) * rstd;
    }
    gMean /= cols;
    gxMean /= cols;
    for (let j = 0; j < cols; j++) out[o + j] = rstd * (g[o + j] - gMean - (x[o + j] - mean) * rstd * gxMean);
  }
}
