// The kernels module (AssemblyScript): every export is a kernel the wasm backend calls.
// Built twice by scripts/build-wasm.js: with plain SIMD and with relaxed SIMD (fused multiply-add).
// Every kernel ends with (start, end, scratch): the part of the work this thread does.

export { sgemm, sgemmBatched, sgemmShared, packBShared, convForward, convFilter, convInput, SGEMM_SCRATCH_FLOATS } from './matmul';
export { im2col, col2im, convSmallForward, convSmallFilter } from './conv';
export { pool, poolGrad } from './pool';
export { unary, binary, binaryFlat } from './elementwise';
export { reduceRows, reduceCols, reduceRowBlocks } from './reduce';
export { sgdUpdate, adamUpdate } from './optim';
export { softmax, softmaxGrad, logSoftmax, logSoftmaxGrad, normalize, normalizeGrad } from './rows';
export { transpose, copyRows } from './layout';
export { winogradWeights, winogradForward, winogradInput, winogradFilter, winogradFilterSum } from './winograd';
