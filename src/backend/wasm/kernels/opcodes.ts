// The op codes of the elementwise, reduction and pooling kernels, written once, here: the
// AssemblyScript kernels switch on them and the wasm backend (../index.ts) passes them. Plain
// numeric enums with no imports, so this one file is valid AssemblyScript and TypeScript alike.
// index.ts exports them (as globals such as `Unary.relu`), so that the loader can tell a build
// made from an older list. The names are the Backend's ops (../../backend.ts), checked at compile
// time in ../index.ts.

export enum Unary { neg, exp, log, sqrt, abs, sign, relu, sigmoid, tanh, gelu }
export enum Binary { add, sub, mul, div, greater, equal, reluGrad, addRelu, geluGrad }
export enum Reduce { sum, max }
export enum Pooling { max, avg }
