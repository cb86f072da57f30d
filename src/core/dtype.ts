// The two element types tsgrad stores: float32 for values, int32 for labels and indices.

export type DType = 'float32' | 'int32';
export type TypedArray = Float32Array | Int32Array;

export function allocArray(dtype: DType, size: number): TypedArray {
  return dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
}
