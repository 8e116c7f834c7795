/**
 * Reused workspaces of the convolution paths (im2col column matrices, layout copies,
 * Winograd's staged input and transformed tiles), per dtype and slot, grown on demand. The
 * kernels are synchronous and overwrite every element they read, and a fresh multi-megabyte
 * array costs its page faults again on every call (a new 2.2M-element Float32Array, written
 * once: ~5 ms on the dev box against ~1 ms for the writes alone).
 *
 * @module
 */
import { type DType, type FloatArray, allocate } from '../../tensor/dtype.js';

const pools: Record<DType, FloatArray[]> = { float32: [], float64: [] };

/**
 * Workspace `slot` (one per array live at once in a call) of at least `length` elements of
 * `dtype`; a new one is kept for the next call only if it has at most `keepUpTo` elements.
 */
export function scratch(dtype: DType, slot: number, length: number, keepUpTo: number): FloatArray {
  const pool = pools[dtype];
  const have = pool[slot];
  if (have !== undefined && have.length >= length) return have;
  const a = allocate(dtype, length);
  if (length <= keepUpTo) pool[slot] = a;
  return a;
}
