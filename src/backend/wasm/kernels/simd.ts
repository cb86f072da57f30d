// Helpers shared by the kernels (AssemblyScript). `ASC_FEATURE_RELAXED_SIMD` is fixed at compile
// time, so the relaxed build uses fused multiply-add and the plain build a multiply then an add.

@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
