// Row-wise kernels (AssemblyScript) over the last axis: softmax, optionally scaled and causal, and
// normalisation (layer norm without scale and shift), with their backward passes. The twin of
// ../../ref/rows.ts, which is the specification. Each thread takes whole rows.

import { exp1, exp4, hmax, hsum } from './simd';

@inline function at(p: usize, j: i32): usize {
  return p + (<usize>j << 2);
}

export function softmax(x: usize, out: usize, cols: i32, scale: f32, causalRows: i32, start: i32, end: i32, _scratch: usize): void {
  const vs = f32x4.splat(scale);
  for (let r = start; r < end; r++) {
    const px = at(x, r * cols), po = at(out, r * cols);
    const seen = causalRows ? r % causalRows + cols - causalRows + 1 : cols;
    let vm = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= seen; j += 4) vm = f32x4.max(vm, f32x4.mul(v128.load(at(px, j)), vs));
    let m = hmax(vm);
    for (; j < seen; j++) m = max(m, load<f32>(at(px, j)) * scale);
    const shift = f32x4.splat(m);
    let acc = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= seen; j += 4) {
      const e = exp4(f32x4.sub(f32x4.mul(v128.load(at(px, j)), vs), shift));
      v128.store(at(po, j), e);
      acc = f32x4.add(acc, e);
    }
    let sum = hsum(acc);
    for (; j < seen; j++) {
      const e = exp1(load<f32>(at(px, j)) * scale - m);
      store<f32>(at(po, j), e);
      sum += e;
    }
    const inv = f32x4.splat(1 / sum);
    j = 0;
    for (; j + 4 <= seen; j += 4) v128.store(at(po, j), f32x4.mul(v128.load(at(po, j)), inv));
    for (; j < seen; j++) store<f32>(at(po, j), load<f32>(at(po, j)) / sum);
    memory.fill(at(po, seen), 0, <usize>(cols - seen) << 2);
  }
}

export function softmaxGrad(g: usize, y: usize, out: usize, cols: i32, scale: f32, start: i32, end: i32, _scratch: usize): void {
  const vs = f32x4.splat(scale);
  for (let r = start; r < end; r++) {
    const pg = at(g, r * cols), py = at(y, r * cols), po = at(out, r * cols);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(at(pg, j)), v128.load(at(py, j))));
    let dot = hsum(acc);
    for (; j < cols; j++) dot += load<f32>(at(pg, j)) * load<f32>(at(py, j));
    const vd = f32x4.splat(dot);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      v128.store(at(po, j), f32x4.mul(vs, f32x4.mul(v128.load(at(py, j)), f32x4.sub(v128.load(at(pg, j)), vd))));
    }
    for (; j < cols; j++) store<f32>(at(po, j), scale * load<f32>(at(py, j)) * (load<f32>(at(pg, j)) - dot));
  }
}

export function logSoftmax(x: usize, out: usize, cols: i32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const px = at(x, r * cols), po = at(out, r * cols);
    let vm = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= cols; j += 4) vm = f32x4.max(vm, v128.load(at(px, j)));
    let m = hmax(vm);
    for (; j < cols; j++) m = max(m, load<f32>(at(px, j)));
    const vmax = f32x4.splat(m);
    let acc = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= cols; j += 4) acc = f32x4.add(acc, exp4(f32x4.sub(v128.load(at(px, j)), vmax)));
    let sum = hsum(acc);
    for (; j < cols; j++) sum += exp1(load<f32>(at(px, j)) - m);
    const logSum = Mathf.log(sum);
    const vl = f32x4.splat(logSum);
    j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(at(po, j), f32x4.sub(f32x4.sub(v128.load(at(px, j)), vmax), vl));
    for (; j < cols; j++) store<f32>(at(po, j), load<f32>(at(px, j)) - m - logSum);
  }
}

export function logSoftmaxGrad(g: usize, y: usize, out: usize, cols: i32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const pg = at(g, r * cols), py = at(y, r * cols), po = at(out, r * cols);
    const sum = rowSum(pg, cols);
    const vs = f32x4.splat(sum);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      v128.store(at(po, j), f32x4.sub(v128.load(at(pg, j)), f32x4.mul(exp4(v128.load(at(py, j))), vs)));
    }
    for (; j < cols; j++) store<f32>(at(po, j), load<f32>(at(pg, j)) - exp1(load<f32>(at(py, j))) * sum);
  }
}

/** The sum of x[p, p + cols), four lanes at a time then the tail. */
@inline function rowSum(p: usize, cols: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= cols; j += 4) acc = f32x4.add(acc, v128.load(at(p, j)));
  let s = hsum(acc);
  for (; j < cols; j++) s += load<f32>(at(p, j));
  return s;
}

/** The variance of x[p, p + cols) about `mean`. */
@inline function rowVariance(p: usize, cols: i32, mean: f32): f32 {
  const vm = f32x4.splat(mean);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const d = f32x4.sub(v128.load(at(p, j)), vm);
    acc = f32x4.add(acc, f32x4.mul(d, d));
  }
  let s = hsum(acc);
  for (; j < cols; j++) {
    const d = load<f32>(at(p, j)) - mean;
    s += d * d;
  }
  return s / <f32>cols;
}

export function normalize(x: usize, out: usize, cols: i32, epsilon: f32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const px = at(x, r * cols), po = at(out, r * cols);
    const mean = rowSum(px, cols) / <f32>cols;
    const rstd: f32 = <f32>1 / Mathf.sqrt(rowVariance(px, cols, mean) + epsilon);
    const vm = f32x4.splat(mean), vr = f32x4.splat(rstd);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(at(po, j), f32x4.mul(f32x4.sub(v128.load(at(px, j)), vm), vr));
    for (; j < cols; j++) store<f32>(at(po, j), (load<f32>(at(px, j)) - mean) * rstd);
  }
}

export function normalizeGrad(g: usize, x: usize, out: usize, cols: i32, epsilon: f32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const pg = at(g, r * cols), px = at(x, r * cols), po = at(out, r * cols);
    const mean = rowSum(px, cols) / <f32>cols;
    const rstd: f32 = <f32>1 / Mathf.sqrt(rowVariance(px, cols, mean) + epsilon);
    const vm = f32x4.splat(mean), vr = f32x4.splat(rstd);
    let sg = f32x4.splat(0), sgx = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const vg = v128.load(at(pg, j));
      sg = f32x4.add(sg, vg);
      sgx = f32x4.add(sgx, f32x4.mul(vg, f32x4.mul(f32x4.sub(v128.load(at(px, j)), vm), vr)));
    }
    let gSum = hsum(sg), gxSum = hsum(sgx);
    for (; j < cols; j++) {
      const v = load<f32>(at(pg, j));
      gSum += v;
      gxSum += v * (load<f32>(at(px, j)) - mean) * rstd;
    }
    const gMean = gSum / <f32>cols, gxMean = gxSum / <f32>cols;
    const va = f32x4.splat(gMean), vb = f32x4.splat(gxMean);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(at(px, j)), vm), vr);
      v128.store(at(po, j), f32x4.mul(vr, f32x4.sub(f32x4.sub(v128.load(at(pg, j)), va), f32x4.mul(xhat, vb))));
    }
    for (; j < cols; j++) {
      const xhat = (load<f32>(at(px, j)) - mean) * rstd;
      store<f32>(at(po, j), rstd * (load<f32>(at(pg, j)) - gMean - xhat * gxMean));
    }
  }
}
