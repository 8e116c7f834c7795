/** Element types a {@link Tensor} can hold. */
export type DType = 'float32' | 'float64';

/** The typed array that backs each dtype. */
export type FloatArray = Float32Array | Float64Array;

/** Typed array constructor for a dtype. */
export function arrayType(dtype: DType): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === 'float32' ? Float32Array : Float64Array;
}

/** Allocate a zero-filled typed array of `size` elements. */
export function allocate(dtype: DType, size: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
}

/** The dtype of a typed array. */
export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float32Array ? 'float32' : 'float64';
}

/** Check a user-supplied dtype, naming the operation on failure. */
export function checkDType(dtype: unknown, op: string): DType {
  if (dtype === 'float32' || dtype === 'float64') return dtype;
  throw new TypeError(`${op}: unknown dtype ${JSON.stringify(dtype)}; expected 'float32' or 'float64'`);
}

/** The wider of two dtypes: float64 wins, so mixing never loses precision silently. */
export function promote(a: DType, b: DType): DType {
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}
