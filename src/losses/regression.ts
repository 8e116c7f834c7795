/**
 * Regression and margin losses, elementwise: `agg: 'none'` returns a tensor shaped like ŷ
 * (and y), one loss per element; `'mean'` averages over all elements, `'sum'` adds them.
 */
import type { TensorLike } from '../tensor/convert.js';
import type { Tensor } from '../tensor/tensor.js';
import { abs, add, log, lt, mul, relu, sub, where } from '../ops/elementwise.js';
import { type AggOptions, type EpsOptions, aggregate, defaultEps, lossArgs, numberOption, xlogy } from './common.js';

/**
 * Mean squared error: agg((ŷ − y)²).
 * ```ts
 * mse([1, 2], [1, 4])                  // (0 + 4) / 2 = 2
 * mse(yhat, y, { agg: 'sum' })
 * ```
 */
export function mse(yhat: TensorLike, y: TensorLike, options: AggOptions = {}): Tensor {
  const [a, b] = lossArgs('mse', yhat, y);
  const d = sub(a, b);
  return aggregate('mse', mul(d, d), options.agg);
}

/** Mean absolute error: agg(|ŷ − y|). Its derivative where ŷ = y is taken as 0. */
export function mae(yhat: TensorLike, y: TensorLike, options: AggOptions = {}): Tensor {
  const [a, b] = lossArgs('mae', yhat, y);
  return aggregate('mae', abs(sub(a, b)), options.agg);
}

/**
 * Mean squared logarithmic error, Flux's form: agg((log(ŷ + ε) − log(y + ε))²), for
 * non-negative ŷ and y (it penalises ratios, not differences). Written as a difference of
 * logarithms rather than the log of a ratio so that the ratio cannot overflow.
 */
export function msle(yhat: TensorLike, y: TensorLike, options: AggOptions & EpsOptions = {}): Tensor {
  const [a, b] = lossArgs('msle', yhat, y);
  const eps = numberOption('msle', 'eps', options.eps, defaultEps(a.dtype), 0);
  const d = sub(log(add(a, eps)), log(add(b, eps)));
  return aggregate('msle', mul(d, d), options.agg);
}

/** Options of {@link huberLoss}. */
export interface HuberOptions extends AggOptions {
  /** Where the loss turns from quadratic to linear; default 1; must be > 0. */
  delta?: number;
}

/**
 * Huber loss: ½(ŷ − y)² where |ŷ − y| < δ, else δ·(|ŷ − y| − ½δ); quadratic near the target
 * and linear (robust to outliers) far from it, with a continuous first derivative.
 */
export function huberLoss(yhat: TensorLike, y: TensorLike, options: HuberOptions = {}): Tensor {
  const [a, b] = lossArgs('huberLoss', yhat, y);
  const delta = numberOption('huberLoss', 'delta', options.delta, 1, 0, Infinity, true);
  const d = sub(a, b);
  const ad = abs(d);
  const quadratic = mul(0.5, mul(d, d));
  const linear = mul(delta, sub(ad, 0.5 * delta));
  return aggregate('huberLoss', where(lt(ad, delta), quadratic, linear), options.agg);
}

/**
 * Poisson negative log-likelihood (without the log(y!) constant): agg(ŷ − y·log(ŷ)), for
 * predicted rates ŷ > 0 and counts y ≥ 0; y·log(ŷ) is taken as 0 where y = 0.
 */
export function poissonLoss(yhat: TensorLike, y: TensorLike, options: AggOptions = {}): Tensor {
  const [a, b] = lossArgs('poissonLoss', yhat, y);
  return aggregate('poissonLoss', sub(a, xlogy(b, a)), options.agg);
}

/** Hinge loss for targets y ∈ {−1, 1}: agg(max(0, 1 − ŷ·y)). Its derivative where ŷ·y = 1 is taken as 0. */
export function hingeLoss(yhat: TensorLike, y: TensorLike, options: AggOptions = {}): Tensor {
  const [a, b] = lossArgs('hingeLoss', yhat, y);
  return aggregate('hingeLoss', relu(sub(1, mul(a, b))), options.agg);
}

/** Squared hinge loss for targets y ∈ {−1, 1}: agg(max(0, 1 − ŷ·y)²), with a continuous first derivative. */
export function squaredHingeLoss(yhat: TensorLike, y: TensorLike, options: AggOptions = {}): Tensor {
  const [a, b] = lossArgs('squaredHingeLoss', yhat, y);
  const m = relu(sub(1, mul(a, b)));
  return aggregate('squaredHingeLoss', mul(m, m), options.agg);
}
