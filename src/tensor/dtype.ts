/** Element types a {@link Tensor} can hold. */
export type DType = 'float32' | 'float64';

/** The typed array that backs each dtype. */
export type FloatArray = Float32Array | Float64Array;

/** Typed array constructor for a dtype. */
export function arrayType(dtype: DType): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === 'float32' ? Float32Array : Float64Array;
}

/*
 * Small arrays come from shared slabs. V8 keeps a typed array of at most 64 bytes inside the
 * JS heap (cheap), but a larger one gets its own off-heap backing store: measured ~1–2 µs per
 * `new Float32Array(32)` on the 2-core dev box (Node 20), a third of the cost of a tiny
 * elementwise op, against ~0.1 µs for a view into a 16 KiB slab. The price is retention: a
 * slab lives while any array carved from it does, so one long-lived small tensor can pin up
 * to SLAB_BYTES. Sizes are capped at SLAB_MAX_BYTES so that the pinning stays bounded (≤ 16×
 * for the largest arrays served, and only for tensors that outlive their slab-mates).
 */
const SLAB_BYTES = 16384;
const SLAB_MAX_BYTES = 1024;
const ON_HEAP_MAX_BYTES = 64;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function slabArray(dtype: DType, size: number, bytes: number): FloatArray {
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += (bytes + 15) & ~15; // 16-byte aligned, as a fresh ArrayBuffer is
  return dtype === 'float32' ? new Float32Array(slab, at, size) : new Float64Array(slab, at, size);
}

/**
 * Allocate a zero-filled typed array of `size` elements. Arrays of 65 bytes to 1 KiB are
 * views into a shared buffer (so never rely on `.buffer` being the array's own: use
 * `byteOffset`/`byteLength`, as for any view).
 */
export function allocate(dtype: DType, size: number): FloatArray {
  const bytes = dtype === 'float32' ? size * 4 : size * 8;
  if (bytes > ON_HEAP_MAX_BYTES && bytes <= SLAB_MAX_BYTES) return slabArray(dtype, size, bytes);
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
