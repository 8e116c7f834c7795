/** Batched matrix product on the CPU: a loop over broadcast batch indices around {@link gemm}. */
import ndarray from 'ndarray';
import { allocate, promote } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
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
  const m = a.shape[ra - 2], k = a.shape[ra - 1], n = b.shape[rb - 1];
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const count = batch.reduce((x, y) => x * y, 1);
  const out = allocate(dtype, count * m * n);
  const [aRs, aCs] = [na.stride[ra - 2], na.stride[ra - 1]];
  const [bRs, bCs] = [nb.stride[rb - 2], nb.stride[rb - 1]];
  const mul = (ao: number, bo: number, co: number) =>
    gemm(m, n, k, na.data, ao, aRs, aCs, nb.data, bo, bRs, bCs, out, co, n);
  if (batch.length === 0) mul(na.offset, nb.offset, 0);
  else {
    const lead = (t: Tensor) => broadcastStrides(ndarray(t.nd.data, t.shape.slice(0, -2) as number[], t.nd.stride.slice(0, -2)), batch);
    forEachRow(batch, [rowMajor(batch).map((s) => s * m * n), lead(a), lead(b)], [0, na.offset, nb.offset],
      (cnt, [co, ao, bo], [sc, sa, sb]) => {
        for (let i = 0; i < cnt; i++, co += sc, ao += sa, bo += sb) mul(ao, bo, co);
      });
  }
  return tensorOf(out, [...batch, m, n]);
}
