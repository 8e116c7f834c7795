/** Batched matrix product on the CPU: a loop over broadcast batch indices around {@link gemm}. */
import ndarray from 'ndarray';
import { allocate, promote } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { gemm } from './gemm.js';
import { broadcastStrides, forEachRow, rowMajor } from './strided.js';
import { broadcastShapes } from '../../tensor/shape.js';
import { tensorOf } from './ndview.js';

/** [..., m, k] × [..., k, n] → [..., m, n]; operands have ndim ≥ 2 and matching inner dims (checked by the op). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const dtype = promote(a.dtype, b.dtype);
  if (a.dtype !== dtype) a = a.astype(dtype);
  if (b.dtype !== dtype) b = b.astype(dtype);
  const na = a.nd, nb = b.nd;
  const ra = a.ndim, rb = b.ndim;
  const sa = a.shape, sb = b.shape;
  const m = sa[ra - 2], k = sa[ra - 1], n = sb[rb - 1];
  const aRs = na.stride[ra - 2], aCs = na.stride[ra - 1];
  const bRs = nb.stride[rb - 2], bCs = nb.stride[rb - 1];
  if (ra === 2 && rb === 2) {
    // the common case, without the batch machinery (it is per-call overhead on small products)
    const out = allocate(dtype, m * n);
    gemm(m, n, k, na.data, na.offset, aRs, aCs, nb.data, nb.offset, bRs, bCs, out, 0, n);
    return tensorOf(out, [m, n]);
  }
  const batch = broadcastShapes('matmul', sa.slice(0, -2), sb.slice(0, -2));
  let count = 1;
  for (let i = 0; i < batch.length; i++) count *= batch[i];
  const out = allocate(dtype, count * m * n);
  if (batch.length === 0) gemm(m, n, k, na.data, na.offset, aRs, aCs, nb.data, nb.offset, bRs, bCs, out, 0, n);
  else {
    const ad = na.data, bd = nb.data;
    // an unnamed callback: tsx wraps named closures in a defineProperty call each time they are made
    forEachRow(batch, [rowMajor(batch).map((s) => s * m * n), leadStrides(a, batch), leadStrides(b, batch)], [0, na.offset, nb.offset],
      (cnt, [co, ao, bo], [sc, s1, s2]) => {
        for (let i = 0; i < cnt; i++, co += sc, ao += s1, bo += s2) {
          gemm(m, n, k, ad, ao, aRs, aCs, bd, bo, bRs, bCs, out, co, n);
        }
      });
  }
  return tensorOf(out, [...batch, m, n]);
}

/** Strides of `t`'s batch dimensions broadcast to `batch` (0 where broadcast). */
function leadStrides(t: Tensor, batch: readonly number[]): number[] {
  return broadcastStrides(ndarray(t.nd.data, t.shape.slice(0, -2) as number[], t.nd.stride.slice(0, -2)), batch);
}
