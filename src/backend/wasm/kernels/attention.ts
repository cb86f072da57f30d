// Multi-head self-attention over packed q, k, v (AssemblyScript, WebAssembly SIMD), forward and
// backward, for the (batch, head) pairs [start, end) of this thread: the twin of
// ../../ref/attention.ts, which is the specification. A pair's keys (and, backward, values) are
// transposed into scratch, so that four keys' scores are one vector; queries go four at a time,
// so that each vector of keys loaded serves four of them. Scores and probabilities live in
// scratch rows of the block's four queries only: the (time x time) matrix is never written.
// d must be a multiple of 4, and a pair's scratch, (2d + 2tp + 8) x tp floats with tp the time rounded
// up to 8, must fit a thread's (Backend.attentionFits: otherwise the model attends with products).

import { exp4, hmax, hsum, madd } from './simd';

@inline function f(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Column c of matrix rows (time of them, `stride` floats apart, from p) into row c of t (time padded to tp with zeros). */
function transposeInto(p: usize, stride: i32, time: i32, d: i32, t: usize, tp: i32): void {
  for (let c = 0; c < d; c++) {
    const dst = f(t, c * tp);
    for (let j = 0; j < time; j++) store<f32>(f(dst, j), load<f32>(f(p, j * stride + c)));
    for (let j = time; j < tp; j++) store<f32>(f(dst, j), 0);
  }
}

/** Row r of a block of `rows` rows `stride` floats apart from p; rows past the last repeat it (their results are dropped). */
@inline function row(p: usize, r: i32, rows: i32, stride: i32): usize {
  return f(p, min(r, rows - 1) * stride);
}

/**
 * Rows r of `out` (4 rows of tp) = a_r · Bt[:, j] for keys j < n (rounded up to 8), with a_r the d
 * floats at row(a, r, rows, aStride) (queries, or gradients of outputs) and Bt (d x tp) transposed
 * keys or values. Eight keys at a time: eight independent sums keep the multiply-adds in flight.
 */
function products(a: usize, aStride: i32, rows: i32, bt: usize, tp: i32, d: i32, n: i32, out: usize): void {
  const a0 = a, a1 = row(a, 1, rows, aStride), a2 = row(a, 2, rows, aStride), a3 = row(a, 3, rows, aStride);
  for (let j = 0; j < n; j += 8) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let t0 = f32x4.splat(0), t1 = f32x4.splat(0), t2 = f32x4.splat(0), t3 = f32x4.splat(0);
    let k = f(bt, j);
    for (let c = 0; c < d; c++, k += <usize>tp << 2) {
      const k0 = v128.load(k), k1 = v128.load(k, 16);
      let x = v128.load32_splat(f(a0, c));
      s0 = madd(x, k0, s0);
      t0 = madd(x, k1, t0);
      x = v128.load32_splat(f(a1, c));
      s1 = madd(x, k0, s1);
      t1 = madd(x, k1, t1);
      x = v128.load32_splat(f(a2, c));
      s2 = madd(x, k0, s2);
      t2 = madd(x, k1, t2);
      x = v128.load32_splat(f(a3, c));
      s3 = madd(x, k0, s3);
      t3 = madd(x, k1, t3);
    }
    const o = f(out, j), ld = <usize>tp << 2;
    v128.store(o, s0); v128.store(o, t0, 16);
    v128.store(o + ld, s1); v128.store(o + ld, t1, 16);
    v128.store(o + 2 * ld, s2); v128.store(o + 2 * ld, t2, 16);
    v128.store(o + 3 * ld, s3); v128.store(o + 3 * ld, t3, 16);
  }
}

/**
 * out_r (d floats at out + r * outStride, for r < rows) = scale_r * Σ_{j < n} w[r][j] m_j, with w
 * four rows of tp weights and m_j the d floats at m + j * mStride (values or keys). Eight channels
 * at a time (eight independent sums), then four.
 */
function weighted(w: usize, tp: i32, m: usize, mStride: i32, n: i32, d: i32, out: usize, outStride: i32, rows: i32, scales: v128): void {
  const ld = <usize>tp << 2, step = <usize>mStride << 2;
  let c = 0;
  for (; c + 8 <= d; c += 8) {
    let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
    let z0 = f32x4.splat(0), z1 = f32x4.splat(0), z2 = f32x4.splat(0), z3 = f32x4.splat(0);
    let mj = f(m, c), wj = w;
    for (let j = 0; j < n; j++, mj += step, wj += 4) {
      const v0 = v128.load(mj), v1 = v128.load(mj, 16);
      let x = v128.load32_splat(wj);
      y0 = madd(x, v0, y0);
      z0 = madd(x, v1, z0);
      x = v128.load32_splat(wj + ld);
      y1 = madd(x, v0, y1);
      z1 = madd(x, v1, z1);
      x = v128.load32_splat(wj + 2 * ld);
      y2 = madd(x, v0, y2);
      z2 = madd(x, v1, z2);
      x = v128.load32_splat(wj + 3 * ld);
      y3 = madd(x, v0, y3);
      z3 = madd(x, v1, z3);
    }
    storeScaled(out, outStride, c, rows, scales, y0, y1, y2, y3);
    storeScaled(out, outStride, c + 4, rows, scales, z0, z1, z2, z3);
  }
  for (; c < d; c += 4) {
    let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
    let mj = f(m, c), wj = w;
    for (let j = 0; j < n; j++, mj += step, wj += 4) {
      const v = v128.load(mj);
      y0 = madd(v128.load32_splat(wj), v, y0);
      y1 = madd(v128.load32_splat(wj + ld), v, y1);
      y2 = madd(v128.load32_splat(wj + 2 * ld), v, y2);
      y3 = madd(v128.load32_splat(wj + 3 * ld), v, y3);
    }
    storeScaled(out, outStride, c, rows, scales, y0, y1, y2, y3);
  }
}

/** Channels c..c+3 of the `rows` output rows, each scaled by its lane of `scales`. */
@inline function storeScaled(out: usize, outStride: i32, c: i32, rows: i32, scales: v128, y0: v128, y1: v128, y2: v128, y3: v128): void {
  v128.store(f(out, c), f32x4.mul(y0, f32x4.splat(f32x4.extract_lane(scales, 0))));
  if (rows > 1) v128.store(f(out, outStride + c), f32x4.mul(y1, f32x4.splat(f32x4.extract_lane(scales, 1))));
  if (rows > 2) v128.store(f(out, 2 * outStride + c), f32x4.mul(y2, f32x4.splat(f32x4.extract_lane(scales, 2))));
  if (rows > 3) v128.store(f(out, 3 * outStride + c), f32x4.mul(y3, f32x4.splat(f32x4.extract_lane(scales, 3))));
}

/** The keys query i0 + r sees: j < seen. */
@inline function seen(i: i32, time: i32, causal: bool): i32 {
  return causal ? i + 1 : time;
}

export function attention(
  qkv: usize, y: usize, lse: usize, batch: i32, time: i32, heads: i32, d: i32, scale: f32, causal: bool,
  start: i32, end: i32, scratch: usize,
): void {
  const C = heads * d, stride = 3 * C, tp = (time + 7) & ~7;
  const kt = scratch, p = f(scratch, 2 * d * tp);
  for (let pair = start; pair < end; pair++) {
    const b = pair / heads, h = pair % heads;
    const base = f(qkv, b * time * stride + h * d); // q of position 0; k at +C, v at +2C
    transposeInto(f(base, C), stride, time, d, kt, tp);
    for (let i0 = 0; i0 < time; i0 += 4) {
      const rows = min(4, time - i0);
      const n = causal ? min(time, i0 + 4) : time;
      products(f(base, i0 * stride), stride, rows, kt, tp, d, n, p);
      let s0: f32 = 1, s1: f32 = 1, s2: f32 = 1, s3: f32 = 1;
      for (let r = 0; r < 4; r++) {
        const scores = f(p, r * tp), limit = r < rows ? seen(i0 + r, time, causal) : 0;
        // Scale, mask past the limit, then e^(s - max), summed.
        let vm = f32x4.splat(-Infinity);
        const vs = f32x4.splat(scale);
        for (let j = 0; j < limit; j += 4) {
          let s = f32x4.mul(v128.load(f(scores, j)), vs);
          if (j + 4 > limit) s = maskFrom(s, limit - j);
          v128.store(f(scores, j), s);
          vm = f32x4.max(vm, s);
        }
        const m = hmax(vm);
        let acc = f32x4.splat(0);
        const shift = f32x4.splat(m);
        for (let j = 0; j < n; j += 4) {
          let e = j < limit ? exp4(f32x4.sub(v128.load(f(scores, j)), shift)) : f32x4.splat(0);
          if (j < limit && j + 4 > limit) e = zeroFrom(e, limit - j);
          v128.store(f(scores, j), e);
          acc = f32x4.add(acc, e);
        }
        const sum = hsum(acc);
        if (r < rows) store<f32>(f(lse, (b * heads + h) * time + i0 + r), m + Mathf.log(sum));
        const inv: f32 = r < rows ? 1 / sum : 0;
        if (r == 0) s0 = inv;
        else if (r == 1) s1 = inv;
        else if (r == 2) s2 = inv;
        else s3 = inv;
      }
      weighted(p, tp, f(base, 2 * C), stride, n, d, f(y, (b * time + i0) * C + h * d), C, rows, f32x4(s0, s1, s2, s3));
    }
  }
}

/** Lanes from `from` on set to -infinity (scores past a query's last key). */
@inline function maskFrom(v: v128, from: i32): v128 {
  const lane = i32x4(0, 1, 2, 3);
  return v128.bitselect(v, f32x4.splat(-Infinity), i32x4.lt_s(lane, i32x4.splat(from)));
}

/** Lanes from `from` on set to 0. */
@inline function zeroFrom(v: v128, from: i32): v128 {
  return v128.and(v, i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(from)));
}

/** Four rows of tp (from src) into four columns of a matrix with rows tp floats apart (dst, from column i0), for keys j < n. */
function storeColumns(src: usize, tp: i32, n: i32, dst: usize, i0: i32): void {
  for (let j = 0; j < n; j += 4) {
    const r0 = v128.load(f(src, j)), r1 = v128.load(f(src, tp + j)), r2 = v128.load(f(src, 2 * tp + j)), r3 = v128.load(f(src, 3 * tp + j));
    const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
    v128.store(f(dst, j * tp + i0), i32x4.shuffle(t0, t1, 0, 1, 4, 5));
    v128.store(f(dst, (j + 1) * tp + i0), i32x4.shuffle(t0, t1, 2, 3, 6, 7));
    v128.store(f(dst, (j + 2) * tp + i0), i32x4.shuffle(t2, t3, 0, 1, 4, 5));
    v128.store(f(dst, (j + 3) * tp + i0), i32x4.shuffle(t2, t3, 2, 3, 6, 7));
  }
}

/**
 * Query blocks first: each block's probabilities and score gradients (recomputed from lse), its dq,
 * and both kept transposed; then key blocks: dv = Pᵀ dy and dk = dSᵀ q, each key's sum over the
 * queries that see it, as the forward pass sums values (`weighted`).
 */
export function attentionGrad(
  qkv: usize, y: usize, lse: usize, dy: usize, dqkv: usize, batch: i32, time: i32, heads: i32, d: i32, scale: f32, causal: bool,
  start: i32, end: i32, scratch: usize,
): void {
  const C = heads * d, stride = 3 * C, tp = (time + 7) & ~7;
  const kt = scratch, vt = f(kt, d * tp), pt = f(vt, d * tp), dst = f(pt, tp * tp), p = f(dst, tp * tp), ds = f(p, 4 * tp);
  const vs = f32x4.splat(scale), ones = f32x4.splat(1);
  for (let pair = start; pair < end; pair++) {
    const b = pair / heads, h = pair % heads;
    const base = f(qkv, b * time * stride + h * d), grad = f(dqkv, b * time * stride + h * d), dyb = f(dy, b * time * C + h * d);
    transposeInto(f(base, C), stride, time, d, kt, tp);
    transposeInto(f(base, 2 * C), stride, time, d, vt, tp);
    for (let i0 = 0; i0 < time; i0 += 4) {
      const rows = min(4, time - i0);
      const n = causal ? min(time, i0 + 4) : time;
      const q0 = f(base, i0 * stride), dy0 = f(dyb, i0 * C), y0 = f(y, (b * time + i0) * C + h * d);
      products(q0, stride, rows, kt, tp, d, n, p); // scores
      products(dy0, C, rows, vt, tp, d, n, ds); // dy · v
      for (let r = 0; r < 4; r++) {
        const pr = f(p, r * tp), dr = f(ds, r * tp);
        const limit = r < rows ? seen(i0 + r, time, causal) : 0;
        if (limit == 0) {
          memory.fill(pr, 0, <usize>((n + 3) & ~3) << 2);
          memory.fill(dr, 0, <usize>((n + 3) & ~3) << 2);
          continue;
        }
        // D = dy · y of this query.
        let acc = f32x4.splat(0);
        const dyr = f(dy0, r * C), yr = f(y0, r * C);
        for (let c = 0; c < d; c += 4) acc = madd(v128.load(f(dyr, c)), v128.load(f(yr, c)), acc);
        const dot = f32x4.splat(hsum(acc));
        const l = f32x4.splat(load<f32>(f(lse, (b * heads + h) * time + i0 + r)));
        for (let j = 0; j < n; j += 4) {
          let e = j < limit ? exp4(f32x4.sub(f32x4.mul(v128.load(f(pr, j)), vs), l)) : f32x4.splat(0);
          if (j < limit && j + 4 > limit) e = zeroFrom(e, limit - j);
          v128.store(f(pr, j), e);
          v128.store(f(dr, j), f32x4.mul(vs, f32x4.mul(e, f32x4.sub(v128.load(f(dr, j)), dot))));
        }
      }
      weighted(ds, tp, f(base, C), stride, n, d, f(grad, i0 * stride), stride, rows, ones); // dq
      storeColumns(p, tp, n, pt, i0);
      storeColumns(ds, tp, n, dst, i0);
    }
    // Key j gets from queries i >= j only when causal: the transposed rows are written there.
    for (let j0 = 0; j0 < time; j0 += 4) {
      const rows = min(4, time - j0), from = causal ? j0 : 0;
      weighted(f(pt, j0 * tp + from), tp, f(dyb, from * C), C, time - from, d, f(grad, j0 * stride + 2 * C), stride, rows, ones); // dv
      weighted(f(dst, j0 * tp + from), tp, f(base, from * stride), stride, time - from, d, f(grad, j0 * stride + C), stride, rows, ones); // dk
    }
  }
}
