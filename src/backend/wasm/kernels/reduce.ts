// Reductions (AssemblyScript) in the two layouts that matter: over the leading rows of an (R, C)
// matrix (bias gradients: sum over the batch) and over its trailing columns (softmax: max and sum
// over classes). Other axis sets use the reference kernel. Op 0 is sum, 1 is max.

/** out[c] = reduce over r of x[r, c], for columns [start, end). */
export function reduceRows(op: i32, x: usize, out: usize, rows: i32, cols: i32, start: i32, end: i32, _scratch: usize): void {
  let c = start;
  for (; c + 4 <= end; c += 4) {
    let acc = op == 0 ? f32x4.splat(0) : f32x4.splat(-Infinity);
    let p = x + (<usize>c << 2);
    for (let r = 0; r < rows; r++, p += <usize>cols << 2) acc = op == 0 ? f32x4.add(acc, v128.load(p)) : f32x4.max(acc, v128.load(p));
    v128.store(out + (<usize>c << 2), acc);
  }
  for (; c < end; c++) {
    let acc: f32 = op == 0 ? 0 : -Infinity;
    for (let r = 0; r < rows; r++) {
      const v = load<f32>(x + (<usize>(r * cols + c) << 2));
      acc = op == 0 ? acc + v : max(acc, v);
    }
    store<f32>(out + (<usize>c << 2), acc);
  }
}

/** out[r] = reduce over c of x[r, c], for rows [start, end). */
export function reduceCols(op: i32, x: usize, out: usize, rows: i32, cols: i32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const p = x + (<usize>(r * cols) << 2);
    let acc: f32 = op == 0 ? 0 : -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = load<f32>(p + (<usize>c << 2));
      acc = op == 0 ? acc + v : max(acc, v);
    }
    store<f32>(out + (<usize>r << 2), acc);
  }
}
