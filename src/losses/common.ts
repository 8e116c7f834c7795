/**
 * What every loss shares: argument conversion with a strict shape check, the `agg` option,
 * option validation, and the `xlogy` helper of the probability-form losses.
 */
import { type TensorLike, strongDType, toTensor } from '../tensor/convert.js';
import type { DType } from '../tensor/dtype.js';
import { ShapeError, normalizeAxes, shapeStr } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { eq, log, mul, where } from '../ops/elementwise.js';
import { mean, sum } from '../ops/reduce.js';

/**
 * How a loss reduces its per-element (or per-sample) values to what it returns:
 * `'mean'` (the default) and `'sum'` give a 0-d tensor, `'none'` returns the unreduced
 * tensor (each loss documents its shape), and a function receives that unreduced tensor
 * and returns whatever it computes from it (for example a weighted mean).
 */
export type Aggregation = 'mean' | 'sum' | 'none' | ((losses: Tensor) => Tensor);

/** The option every loss takes. */
export interface AggOptions {
  /** How to reduce the unreduced losses; default `'mean'`. See {@link Aggregation}. */
  agg?: Aggregation;
}

/** Options of the losses that reduce over a class dimension first. */
export interface DimsOptions extends AggOptions {
  /** The class dimension(s) summed over for each sample; default `-1` (the last: `[batch, classes]`). */
  dims?: number | readonly number[];
}

/** Options of the losses that add `eps` inside a logarithm. */
export interface EpsOptions {
  /** Added to probabilities inside logarithms so that a probability of 0 gives a finite loss; default the dtype's machine epsilon (2⁻²³ for float32, 2⁻⁵² for float64), as Flux's `epseltype`. */
  eps?: number;
}

/** ŷ and y as tensors of one dtype and the same shape (a number or 0-d tensor on either side is allowed and broadcasts). */
export function lossArgs(op: string, yhat: TensorLike, y: TensorLike): [Tensor, Tensor] {
  const dt = strongDType(yhat, y);
  const a = toTensor(yhat, op, dt), b = toTensor(y, op, dt);
  if (a.ndim !== 0 && b.ndim !== 0) {
    const same = a.ndim === b.ndim && a.shape.every((d, i) => d === b.shape[i]);
    // broadcasting would silently turn [B,1] against [B] into a [B,B] loss
    if (!same) throw new ShapeError(`${op}: ŷ has shape ${shapeStr(a.shape)} but y has shape ${shapeStr(b.shape)}; they must be equal`);
  }
  return [a, b];
}

/** The default `eps` for a dtype: its machine epsilon. */
export function defaultEps(dtype: DType): number {
  return dtype === 'float32' ? 2 ** -23 : 2 ** -52;
}

/** Reduce unreduced losses as `agg` says. */
export function aggregate(op: string, losses: Tensor, agg: Aggregation | undefined): Tensor {
  if (agg === undefined || agg === 'mean') return mean(losses);
  if (agg === 'sum') return sum(losses);
  if (agg === 'none') return losses;
  if (typeof agg === 'function') return agg(losses);
  throw new RangeError(`${op}: agg must be 'mean', 'sum', 'none' or a function, got ${JSON.stringify(agg)}`);
}

/** The class axes `dims` names in a tensor of rank `ndim` (sorted, checked). */
export function classAxes(op: string, dims: number | readonly number[] | undefined, ndim: number): number[] {
  if (ndim === 0) throw new ShapeError(`${op}: needs at least 1 dimension (the classes), got shape []`);
  return normalizeAxes(op, dims ?? -1, ndim);
}

/** A number option, checked: finite and within [lo, hi] (open at an end where `open` says so). */
export function numberOption(op: string, name: string, value: unknown, dflt: number, lo: number, hi = Infinity, openLo = false): number {
  if (value === undefined) return dflt;
  const ok = typeof value === 'number' && Number.isFinite(value) && (openLo ? value > lo : value >= lo) && value <= hi;
  if (!ok) {
    const range = hi === Infinity ? `${openLo ? '>' : '≥'} ${lo}` : `in ${openLo ? '(' : '['}${lo}, ${hi}]`;
    throw new RangeError(`${op}: ${name} must be a finite number ${range}, got ${typeof value === 'number' ? value : JSON.stringify(value)}`);
  }
  return value;
}

/**
 * x·log(y), taken as 0 where x = y = 0. Only there is y replaced by 1 inside the logarithm
 * (so its derivatives are 0 rather than 0·∞ = NaN); elsewhere the plain product keeps the
 * derivative log(y) in x, also at x = 0 (a target probability of exactly 0).
 */
export function xlogy(x: TensorLike, y: TensorLike): Tensor {
  const bothZero = mul(eq(x, 0), eq(y, 0));
  return mul(x, log(where(bothZero, 1, y)));
}
