// Reductions (AssemblyScript) in the two layouts that matter: over the leading rows of an (R, C)
// matrix (bias gradients: sum over the batch) and over its trailing columns (softmax: max and sum
// over classes). Other axis sets use the reference kernel. `op` is a Reduce code (./opcodes.ts).

import { Reduce } from './opcodes';

/** Sets the float at `flag` to 0 if a value of x in [start, end) is not finite (x - x is 0 for finite values, NaN otherwise). */
export function allFinite(x: usize, flag: usize, start: i32, end: i32, _scratch: usize): void {
  let acc = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    acc = f32x4.add(acc, f32x4.sub(v, v));
  }
  let rest: f32 = 0;
  for (; i < end; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    rest += v - v;
  }
  const sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) + rest;
  if (sum != 0) store<f32>(flag, 0);
}

/** out[c] = reduce over r of x[r, c], for columns [start, end). */
export function reduceRows(op: i32, x: usize, out: usize, rows: i32, cols: i32, start: i32, end: i32, _scratch: usize): void {
  let c = start;
  for (; c + 4 <= end; c += 4) {
    let acc = op == Reduce.sum ? f32x4.splat(0) : f32x4.splat(-Infinity);
    let p = x + (<usize>c << 2);
    for (let r = 0; r < rows; r++, p += <usize>cols << 2) acc = op == Reduce.sum ? f32x4.add(acc, v128.load(p)) : f32x4.max(acc, v128.load(p));
    v128.store(out + (<usize>c << 2), acc);
  }
  for (; c < end; c++) {
    let acc: f32 = op == Reduce.sum ? 0 : -Infinity;
    for (let r = 0; r < rows; r++) {
      const v = load<f32>(x + (<usize>(r * cols + c) << 2));
      acc = op == Reduce.sum ? acc + v : max(acc, v);
    }
    store<f32>(out + (<usize>c << 2), acc);
  }
}

/** out[r] = reduce over c of x[r, c], for rows [start, end). */
export function reduceCols(op: i32, x: usize, out: usize, rows: i32, cols: i32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const p = x + (<usize>(r * cols) << 2);
    let acc: f32 = op == Reduce.sum ? 0 : -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = load<f32>(p + (<usize>c << 2));
      acc = op == Reduce.sum ? acc + v : max(acc, v);
    }
    store<f32>(out + (<usize>r << 2), acc);
  }
}

/**
 * partial[k, c] = reduce over the rows of block k of x[r, c], for blocks [start, end) of `blocks`
 * equal runs of rows: the first pass of a reduction over many rows of a few columns (a bias
 * gradient), which splits the rows between threads while each reads whole rows.
 */
export function reduceRowBlocks(op: i32, x: usize, partial: usize, rows: i32, cols: i32, blocks: i32, start: i32, end: i32, _scratch: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let k = start; k < end; k++) {
    const r0 = <i32>(<i64>rows * k / blocks), r1 = <i32>(<i64>rows * (k + 1) / blocks);
    const acc = partial + <usize>k * rowBytes;
    memory.copy(acc, x + <usize>r0 * rowBytes, rowBytes);
    for (let r = r0 + 1; r < r1; r++) {
      const src = x + <usize>r * rowBytes;
      let c = 0;
      for (; c + 4 <= cols; c += 4) {
        const o = <usize>c << 2;
        const a = v128.load(acc + o), v = v128.load(src + o);
        v128.store(acc + o, op == Reduce.sum ? f32x4.add(a, v) : f32x4.max(a, v));
      }
      for (; c < cols; c++) {
        const o = <usize>c << 2;
        const a = load<f32>(acc + o), v = load<f32>(src + o);
        store<f32>(acc + o, op == Reduce.sum ? a + v : max(a, v));
      }
    }
  }
}
