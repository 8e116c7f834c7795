/** Reductions over all or chosen dimensions. */
import { bind } from '../backend/index.js';
import { type TensorLike, toTensor } from '../tensor/convert.js';
import { normalizeAxes, normalizeAxis, shapeStr } from '../tensor/shape.js';
import type { Axes, Tensor } from '../tensor/tensor.js';
import { add, div, exp, log, sub, where } from './elementwise.js';
import type { ReduceOp } from './primitive.js';

/** Options for reductions. */
export interface ReduceOptions {
  /** Keep reduced dimensions with length 1, so the result broadcasts against the input. */
  keepDims?: boolean;
}

function reduction(op: ReduceOp, x: TensorLike, axes: Axes, opts: ReduceOptions | undefined): Tensor {
  const t = toTensor(x, op);
  const ax = normalizeAxes(op, axes, t.ndim);
  if ((op === 'max' || op === 'min') && ax.some((a) => t.shape[a] === 0)) {
    throw new RangeError(`${op}: cannot reduce over an empty dimension of shape ${shapeStr(t.shape)}`);
  }
  return bind(op, [t], { axes: ax, keepDims: opts?.keepDims ?? false });
}

/** Sum over `axes` (all by default). `sum(x)` is a 0-d tensor; `sum(x, 1)`, `sum(x, [0, 2], { keepDims: true })`. */
export function sum(x: TensorLike, axes?: Axes, opts?: ReduceOptions): Tensor {
  return reduction('sum', x, axes, opts);
}

/** Product over `axes` (all by default). */
export function prod(x: TensorLike, axes?: Axes, opts?: ReduceOptions): Tensor {
  return reduction('prod', x, axes, opts);
}

/** Maximum over `axes` (all by default); NaN if any element is NaN. Ties share the gradient equally. */
export function max(x: TensorLike, axes?: Axes, opts?: ReduceOptions): Tensor {
  return reduction('max', x, axes, opts);
}

/** Minimum over `axes` (all by default); NaN if any element is NaN. */
export function min(x: TensorLike, axes?: Axes, opts?: ReduceOptions): Tensor {
  return reduction('min', x, axes, opts);
}

/** Arithmetic mean over `axes` (all by default); NaN over an empty set, as 0/0. */
export function mean(x: TensorLike, axes?: Axes, opts?: ReduceOptions): Tensor {
  const t = toTensor(x, 'mean');
  const ax = normalizeAxes('mean', axes, t.ndim);
  const count = ax.reduce((n, a) => n * t.shape[a], 1);
  return div(sum(t, ax, opts), count);
}

/**
 * log Σ exp(x) over `axes`, computed stably by shifting by the maximum.
 * A slice that is all −∞ gives −∞ (not NaN).
 */
export function logsumexp(x: TensorLike, axes?: Axes, opts?: ReduceOptions): Tensor {
  const t = toTensor(x, 'logsumexp');
  const ax = normalizeAxes('logsumexp', axes, t.ndim);
  if (ax.some((a) => t.shape[a] === 0)) {
    throw new RangeError(`logsumexp: cannot reduce over an empty dimension of shape ${shapeStr(t.shape)}`);
  }
  const m = max(t, ax, { keepDims: true });
  // an infinite max would give inf − inf = NaN in the shift: shift by 0 there instead
  const shift = where(sub(m, m), 0, m);
  const s = log(sum(exp(sub(t, shift)), ax, { keepDims: true }));
  const out = add(s, shift);
  return opts?.keepDims ? out : out.reshape(out.shape.filter((_, i) => !ax.includes(i)));
}

function argReduction(op: 'argmax' | 'argmin', x: TensorLike, axis: number | undefined, opts: ReduceOptions | undefined): Tensor {
  const t = toTensor(x, op);
  const a = axis === undefined ? null : normalizeAxis(op, axis, t.ndim);
  if (a === null ? t.size === 0 : t.shape[a] === 0) {
    throw new RangeError(`${op}: cannot reduce over an empty dimension of shape ${shapeStr(t.shape)}`);
  }
  return bind(op, [t], { axis: a, keepDims: opts?.keepDims ?? false });
}

/** Index of the first maximum along `axis` (of the flattened tensor if omitted), as float64 values. A NaN counts as the maximum. */
export function argmax(x: TensorLike, axis?: number, opts?: ReduceOptions): Tensor {
  return argReduction('argmax', x, axis, opts);
}

/** Index of the first minimum along `axis` (of the flattened tensor if omitted), as float64 values. */
export function argmin(x: TensorLike, axis?: number, opts?: ReduceOptions): Tensor {
  return argReduction('argmin', x, axis, opts);
}
