/**
 * Iteration over broadcast, strided operands. Dimensions that are contiguous for every
 * operand are merged, so a contiguous elementwise op or a full reduction becomes one long
 * row and the per-row callback sees tight loops.
 */
import type { NdArray } from 'ndarray';
import type { FloatArray } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { stridesOf } from '../../tensor/shape.js';

/** Strides of `t` aligned to `shape` (right-aligned, 0 where `t` is broadcast). */
export function broadcastStrides(t: Tensor | NdArray<FloatArray>, shape: readonly number[]): number[] {
  const nd = 'nd' in t ? t.nd : t;
  const n = shape.length;
  const k = nd.shape.length;
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < k; i++) {
    if (nd.shape[i] !== 1) out[n - k + i] = nd.stride[i];
  }
  return out;
}

/** Row-major strides for a shape (the tensor layer's {@link stridesOf}). */
const rowMajor = stridesOf;

/**
 * Visit every innermost row of `shape` for operands with the given strides and start offsets.
 * `row(n, offs, strides)` gets the row length, each operand's offset and each operand's stride
 * along the row. Operand 0 is usually the (contiguous) output.
 */
export function forEachRow(
  shape: readonly number[],
  strides: number[][],
  offsets: number[],
  row: (n: number, offs: number[], inner: number[]) => void,
): void {
  const k = strides.length;
  // collapse: drop size-1 dims, merge dim i into i+1 where every operand is contiguous across them
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    let merge = last >= 0;
    for (let j = 0; merge && j < k; j++) if (st[j][last] !== strides[j][d] * shape[d]) merge = false;
    if (merge) {
      dims[last] *= shape[d];
      for (let j = 0; j < k; j++) st[j][last] = strides[j][d];
    } else {
      dims.push(shape[d]);
      for (let j = 0; j < k; j++) st[j].push(strides[j][d]);
    }
  }
  for (const d of shape) if (d === 0) return;
  const offs = offsets.slice();
  if (dims.length === 0) {
    row(1, offs, strides.map(() => 0));
    return;
  }
  const r = dims.length - 1;
  const n = dims[r];
  const inner = st.map((s) => s[r]);
  if (r === 0) {
    row(n, offs, inner);
    return;
  }
  const idx = new Array<number>(r).fill(0);
  for (;;) {
    row(n, offs, inner);
    let d = r - 1;
    for (; d >= 0; d--) {
      idx[d]++;
      for (let j = 0; j < k; j++) offs[j] += st[j][d];
      if (idx[d] < dims[d]) break;
      for (let j = 0; j < k; j++) offs[j] -= st[j][d] * dims[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

/** Copy a (possibly strided, broadcast) ndarray view into a new row-major array. */
export function compact(nd: NdArray<FloatArray>, out: FloatArray): FloatArray {
  const shape = nd.shape;
  forEachRow(shape, [rowMajor(shape), nd.stride], [0, nd.offset], (n, [o, x], [, sx]) => {
    const src = nd.data;
    for (let i = 0; i < n; i++, x += sx) out[o + i] = src[x];
  });
  return out;
}

export { rowMajor };
