// The two element types tsgrad stores: float32 for values, int32 for labels and indices.

/** A tensor's element type: float32 for values, int32 for labels and indices. */
export type DType = 'float32' | 'int32';
/** The typed array a tensor's values come in: Float32Array for float32, Int32Array for int32. */
export type TypedArray = Float32Array | Int32Array;

export function allocArray(dtype: DType, size: number): TypedArray {
  return dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
}

/**
 * A copy in ordinary JavaScript memory. Not `slice()`: from a view of shared memory (the wasm
 * heap) Node 20's slice copies at about 0.3 GB/s, the constructor at about 17 GB/s (4 MiB, measured).
 */
export function copyOf<T extends TypedArray>(a: T): T {
  return (a instanceof Int32Array ? new Int32Array(a) : new Float32Array(a)) as T;
}
