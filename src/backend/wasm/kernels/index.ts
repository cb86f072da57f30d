// The kernels module (AssemblyScript): every exported function is a kernel the wasm backend calls;
// the globals are the scratch size and the op codes. Built twice by scripts/build-wasm.js: with
// plain SIMD and with relaxed SIMD (fused multiply-add). Every kernel ends with (start, end,
// scratch): the part of the work this thread does. The backend's list of them is KERNELS in
// ../loader.ts, which checks it against these exports when it loads a build.

export { sgemm, sgemmBatched, sgemmShared, sgemmDirect, packBShared, convForward, convFilter, convInput, SGEMM_SCRATCH_FLOATS } from './matmul';
export { im2col, col2im, convSmallForward, convSmallFilter, convPoolForward, convPoolFilter } from './conv';
export { pool, poolGrad } from './pool';
export { unary, binary, binaryFlat } from './elementwise';
export { reduceRows, reduceCols, reduceRowBlocks, allFinite } from './reduce';
export { sgdUpdate, adamUpdate } from './optim';
export { softmax, softmaxGrad, logSoftmax, logSoftmaxGrad, normalize, normalizeGrad } from './rows';
export { transpose, copyRows } from './layout';
export { attention, attentionGrad } from './attention';
export { Unary, Binary, Reduce, Pooling } from './opcodes';
export {
  winogradWeights, winogradForward, winogradInput, winogradFilter, winogradFilterSum,
  winograd3Windows, winograd3Gradients, winogradProducts, winograd3Output, winograd3InputSum, winograd3Filter,
} from './winograd';
