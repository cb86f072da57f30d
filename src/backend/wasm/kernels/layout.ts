// Layout kernels (AssemblyScript): transposes, the twin of ../../ref/layout.ts. The output is
// walked in rows along its last axis; a row whose input elements are contiguous is one copy.

/**
 * out = x with its axes permuted, for output rows [start, end). The output has up to 6 axes, padded
 * in front with axes of 1: its shape is (d0..d5) and the input stride of each is (s0..s5).
 */
export function transpose(
  x: usize, out: usize, d0: i32, d1: i32, d2: i32, d3: i32, d4: i32, d5: i32,
  s0: i32, s1: i32, s2: i32, s3: i32, s4: i32, s5: i32, start: i32, end: i32, _scratch: usize,
): void {
  const rowBytes = <usize>d5 << 2;
  for (let r = start; r < end; r++) {
    // The output index of row r: (i0..i4) in the leading axes.
    let q = r;
    const i4 = q % d4; q /= d4;
    const i3 = q % d3; q /= d3;
    const i2 = q % d2; q /= d2;
    const i1 = q % d1; q /= d1;
    const from = x + (<usize>(q * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4) << 2);
    const to = out + <usize>r * rowBytes;
    if (s5 == 1) {
      memory.copy(to, from, rowBytes);
    } else {
      const step = <usize>s5 << 2;
      for (let j = 0; j < d5; j++) store<f32>(to + (<usize>j << 2), load<f32>(from + <usize>j * step));
    }
  }
}

/**
 * Rows [start, end): out[outOffset + r * outStride + j] = x[xOffset + r * xStride + j] for j < length
 * (in elements of 4 bytes), and with `zeroRest` the rest of out's row r becomes 0.
 */
export function copyRows(
  x: usize, xOffset: i32, xStride: i32, out: usize, outOffset: i32, outStride: i32, length: i32, zeroRest: bool,
  start: i32, end: i32, _scratch: usize,
): void {
  const bytes = <usize>length << 2;
  for (let r = start; r < end; r++) {
    const to = out + (<usize>(outOffset + r * outStride) << 2);
    memory.copy(to, x + (<usize>(xOffset + r * xStride) << 2), bytes);
    if (zeroRest) {
      // Row r of out spans [r * outStride, (r + 1) * outStride); the copy sits at outOffset in it.
      const row = out + (<usize>(r * outStride) << 2);
      memory.fill(row, 0, to - row);
      memory.fill(to + bytes, 0, row + (<usize>outStride << 2) - to - bytes);
    }
  }
}
