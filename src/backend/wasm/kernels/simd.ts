// Helpers shared by the kernels (AssemblyScript). `ASC_FEATURE_RELAXED_SIMD` is fixed at compile
// time, so the relaxed build uses fused multiply-add and the plain build a multiply then an add.

@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * Stores rows r0..r3 of a 4x4 block transposed, as four vectors at out: out[j] = (r0[j], r1[j],
 * r2[j], r3[j]). How A's 4-row panels are packed from rows that are four separate runs.
 */
@inline export function storeTransposed(out: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(out, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(out, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
  v128.store(out, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
  v128.store(out, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
}

/**
 * e^x, four at a time (Cephes' expf: x = n ln 2 + r, a degree-6 polynomial in r, 2^n from the
 * exponent bits), within about 2 ulp. Inputs are clamped to [-87.3, 88], so the result is finite.
 * n is rounded by adding 1.5 * 2^23, which leaves it in the low bits of the sum.
 */
@inline export function exp4(x: v128): v128 {
  const c = f32x4.min(f32x4.max(x, f32x4.splat(-87.33654)), f32x4.splat(88.0));
  const magic = f32x4.splat(12582912.0);
  const t = f32x4.add(f32x4.mul(c, f32x4.splat(1.44269504)), magic);
  const n = f32x4.sub(t, magic);
  const r = madd(n, f32x4.splat(2.12194440e-4), madd(n, f32x4.splat(-0.693359375), c));
  let p = madd(f32x4.splat(1.9875691500e-4), r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  p = madd(p, f32x4.mul(r, r), f32x4.add(r, f32x4.splat(1)));
  return f32x4.mul(p, i32x4.shl(i32x4.add(t, i32x4.splat(127 - 0x4B400000)), 23));
}

/** exp4 of one number (for the tails of rows, so that every element gets the same function). */
@inline export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

/** The sum of the four lanes. */
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** The largest of the four lanes. */
@inline export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}
