// The kernels module (AssemblyScript): every export is a kernel the wasm backend calls.
// Built twice by scripts/build-wasm.js: with plain SIMD and with relaxed SIMD (fused multiply-add).

export { sgemm, SGEMM_SCRATCH_FLOATS } from './matmul';
