/**
 * A dense layer's untraced call on a few rows, `σ(x·Wᵀ + b)`, as one product and one pass
 * over the output. At batch 1 the three operations (matmul, add, activation) each cost a
 * dispatch, a result tensor and a pass; together that was as much again as the product of a
 * 128 → 64 layer. Values are the operations' own, bit for bit: the product is the same
 * `gemm` call the matmul kernel makes, the bias is added in float64 and rounded once (the
 * correctly rounded float32 sum, as the add kernel computes it), and relu is the relu
 * kernel's `v < 0 ? 0 : v`.
 *
 * @module
 */
import { Tensor } from '../../tensor/tensor.js';
import { type DType, allocate } from '../../tensor/dtype.js';
import { cpuDispatch } from '../index.js';
import { fewRowsEngine, gemm, gemmTuning } from './gemm.js';
import { denseDot, denseDotRun, type DotLayer } from './gemv.js';
import { tensorOf } from './ndview.js';

/** Can `t` be an operand of a fused untraced CPU path: untraced, on no device, of `dtype`, contiguous? */
export const fusable = (t: Tensor, dtype: DType): boolean => t._ad === undefined && t.device === undefined && t.dtype === dtype && t.isContiguous;

/**
 * `x·Wᵀ + b`, then relu when `relu`, for an untraced `x` of shape `[in]` or `[m, in]` with
 * m ≤ the few-rows limit; undefined (nothing done) when the call does not qualify, and the
 * caller runs the operations. `w` is `[out, in]`, `b` `[out]` or false; shapes are checked
 * by the caller.
 */
export function denseFewRows(x: Tensor, w: Tensor, b: Tensor | false, relu: boolean): Tensor | undefined {
  const dt = w.dtype;
  if (x.ndim > 2 || !cpuDispatch() || !fusable(x, dt) || !fusable(w, dt) || (b !== false && !fusable(b, dt))) return undefined;
  const [out, inp] = w.shape as [number, number];
  const m = x.ndim === 2 ? x.shape[0]! : 1;
  if (m > gemmTuning.fewRowsMax || m === 0) return undefined;
  const xn = x.nd, wn = w.nd;
  const y = allocate(w.dtype, m * out);
  const eng = fewRowsEngine(m, out, inp);
  const bn = b === false ? null : b.nd;
  if (eng !== null && denseDot(eng, m, out, inp, xn.data, xn.offset, wn.data, wn.offset, bn && bn.data, bn ? bn.offset : 0, relu, y)) {
    return tensorOf(y, x.ndim === 2 ? [m, out] : [out]);
  }
  gemm(m, out, inp, xn.data, xn.offset, inp, 1, wn.data, wn.offset, 1, inp, y, 0, out);
  if (b !== false) {
    const bd = b.nd.data, bo = b.nd.offset;
    for (let i = 0, p = 0; i < m; i++) {
      for (let j = 0; j < out; j++, p++) y[p] = y[p]! + bd[bo + j]!;
    }
  }
  if (relu) for (let p = 0; p < y.length; p++) if (y[p]! < 0) y[p] = 0; // on the rounded sums
  return tensorOf(y, x.ndim === 2 ? [m, out] : [out]);
}

/** A dense layer of {@link denseRunFewRows}. */
export interface DenseStep {
  readonly weight: Tensor;
  readonly bias: Tensor | false;
  readonly relu: boolean;
}

/**
 * Consecutive dense layers, each `σ(x·Wᵀ + b)` with σ relu or the identity, on an untraced `x`
 * `[in]` or `[m, in]` (m ≤ the few-rows limit): each layer exactly as {@link denseFewRows}
 * computes it (the same kernel call), with the intermediate outputs left in the kernels' memory
 * instead of becoming tensors. Undefined (nothing done) when some layer would not take that
 * kernel there; shapes must chain (the caller checks).
 */
export function denseRunFewRows(x: Tensor, steps: readonly DenseStep[]): Tensor | undefined {
  const dt = steps[0]!.weight.dtype;
  if (x.ndim > 2 || !cpuDispatch() || !fusable(x, dt)) return undefined;
  const m = x.ndim === 2 ? x.shape[0]! : 1;
  if (m > gemmTuning.fewRowsMax || m === 0) return undefined;
  const layers: DotLayer[] = [];
  let eng = null;
  for (const s of steps) {
    const { weight: w, bias: b } = s;
    if (!fusable(w, dt) || (b !== false && !fusable(b, dt))) return undefined;
    const [n, k] = w.shape as [number, number];
    const e = fewRowsEngine(m, n, k);
    if (e === null || (eng !== null && e !== eng)) return undefined;
    eng = e;
    layers.push({ n, k, w: w.nd.data, wOff: w.nd.offset, b: b === false ? null : b.nd.data, bOff: b === false ? 0 : b.nd.offset, relu: s.relu });
  }
  const out = layers[layers.length - 1]!.n;
  const y = allocate(dt, m * out);
  if (eng === null || !denseDotRun(eng, m, layers, x.nd.data, x.nd.offset, y)) return undefined;
  return tensorOf(y, x.ndim === 2 ? [m, out] : [out]);
}
