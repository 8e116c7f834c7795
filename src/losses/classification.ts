/**
 * Classification losses. Layout is batch-first: class scores or probabilities lie along the
 * last dimension (`[batch, classes]`, or `[batch, …, classes]`), chosen with `dims`.
 *
 * The categorical losses (crossentropy, logitCrossentropy, kldivergence, focalLoss) first sum
 * over the class dimension(s), as Flux does, so `agg: 'none'` returns one loss per sample:
 * ŷ's shape without the `dims` axes (`[batch]` for `[batch, classes]`); `'mean'` is then the
 * mean over samples. The binary losses are elementwise: `'none'` returns ŷ's shape.
 */
import type { TensorLike } from '../tensor/convert.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../tensor/shape.js';
import { add, div, log, mul, neg, pow, softplus, sub } from '../ops/elementwise.js';
import { logsumexp, sum } from '../ops/reduce.js';
import {
  type AggOptions, type DimsOptions, type EpsOptions,
  aggregate, classAxes, defaultEps, lossArgs, numberOption, xlogy,
} from './common.js';
import { fusedLogitCrossentropy } from './fused.js';

/** The rank the losses of ŷ and y have (one side may be 0-d). */
const rankOf = (a: Tensor, b: Tensor) => Math.max(a.ndim, b.ndim);

/**
 * Cross-entropy of predicted probabilities ŷ (rows summing to 1, e.g. softmax outputs)
 * against target probabilities y (one-hot or smoothed): −Σ y·log(ŷ + ε) over `dims` per
 * sample, then `agg` over samples. Prefer {@link logitCrossentropy} on logits: it is
 * numerically stable where this form loses precision for tiny probabilities.
 */
export function crossentropy(yhat: TensorLike, y: TensorLike, options: DimsOptions & EpsOptions = {}): Tensor {
  const op = 'crossentropy';
  const [a, b] = lossArgs(op, yhat, y);
  const axes = classAxes(op, options.dims, rankOf(a, b));
  const eps = numberOption(op, 'eps', options.eps, defaultEps(a.dtype), 0);
  return aggregate(op, neg(sum(xlogy(b, add(a, eps)), axes)), options.agg);
}

/**
 * Cross-entropy of logits ŷ (unnormalised scores) against target probabilities y:
 * −Σ y·logSoftmax(ŷ) over `dims` per sample, then `agg` over samples. Equal to
 * `crossentropy(softmax(ŷ), y)` but computed through log-sum-exp, so logits of any size
 * (±1e4 included) give finite values and gradients.
 */
export function logitCrossentropy(yhat: TensorLike, y: TensorLike, options: DimsOptions = {}): Tensor {
  const op = 'logitCrossentropy';
  const [a, b] = lossArgs(op, yhat, y);
  const axes = classAxes(op, options.dims, rankOf(a, b));
  const agg = options.agg;
  if ((agg === undefined || agg === 'mean' || agg === 'sum' || agg === 'none') && a.ndim >= 1 && b.ndim === a.ndim &&
    axes.length === 1 && axes[0] === a.ndim - 1 && a.device === undefined && b.device === undefined) {
    // the common case (class scores along the last axis): one fused pass, same values and derivatives
    return fusedLogitCrossentropy(a, b, agg ?? 'mean');
  }
  const logProbs = sub(a, logsumexp(a, axes, { keepDims: true }));
  return aggregate(op, neg(sum(mul(b, logProbs), axes)), options.agg);
}

/**
 * Binary cross-entropy of predicted probabilities ŷ ∈ [0, 1] against targets y ∈ [0, 1],
 * elementwise: −y·log(ŷ + ε) − (1 − y)·log(1 − ŷ + ε) (a term whose factor y or 1 − y is 0
 * counts as 0). Prefer {@link logitBinaryCrossentropy} on logits.
 */
export function binaryCrossentropy(yhat: TensorLike, y: TensorLike, options: AggOptions & EpsOptions = {}): Tensor {
  const op = 'binaryCrossentropy';
  const [a, b] = lossArgs(op, yhat, y);
  const eps = numberOption(op, 'eps', options.eps, defaultEps(a.dtype), 0);
  const loss = neg(add(xlogy(b, add(a, eps)), xlogy(sub(1, b), add(sub(1, a), eps))));
  return aggregate(op, loss, options.agg);
}

/**
 * Binary cross-entropy of logits ŷ against targets y ∈ [0, 1], elementwise:
 * (1 − y)·ŷ + softplus(−ŷ), which equals `binaryCrossentropy(sigmoid(ŷ), y)` but never
 * forms sigmoid(ŷ) or its logarithm, so logits of any size give finite values and gradients.
 */
export function logitBinaryCrossentropy(yhat: TensorLike, y: TensorLike, options: AggOptions = {}): Tensor {
  const op = 'logitBinaryCrossentropy';
  const [a, b] = lossArgs(op, yhat, y);
  return aggregate(op, add(mul(sub(1, b), a), softplus(neg(a))), options.agg);
}

/**
 * Kullback–Leibler divergence KL(y ‖ ŷ) of target distribution y from predicted ŷ (both
 * probabilities along `dims`): Σ y·log(y) − y·log(ŷ + ε) over `dims` per sample, then `agg`
 * over samples (0·log 0 counts as 0). Zero when ŷ = y (up to ε).
 */
export function kldivergence(yhat: TensorLike, y: TensorLike, options: DimsOptions & EpsOptions = {}): Tensor {
  const op = 'kldivergence';
  const [a, b] = lossArgs(op, yhat, y);
  const axes = classAxes(op, options.dims, rankOf(a, b));
  const eps = numberOption(op, 'eps', options.eps, defaultEps(a.dtype), 0);
  return aggregate(op, sum(sub(xlogy(b, b), xlogy(b, add(a, eps))), axes), options.agg);
}

/** Options of the focal losses. */
export interface FocalOptions extends EpsOptions {
  /** Focusing exponent γ ≥ 0: the weight (1 − p)^γ of a term with predicted probability p of its true class; default 2 (γ = 0 gives cross-entropy). */
  gamma?: number;
}

/** (1 − p)^γ, with γ = 0 giving exactly 1 (pow's derivative there would be 0·(1 − p)⁻¹, NaN at p = 1). */
function focalWeight(p: Tensor, gamma: number): Tensor | number {
  return gamma === 0 ? 1 : pow(sub(1, p), gamma);
}

/**
 * Focal loss (Lin et al., 2017) of predicted probabilities ŷ against one-hot targets y:
 * −Σ α·y·(1 − ŷ)^γ·log(ŷ + ε) over `dims` per sample, then `agg` over samples. Well-classified
 * examples (ŷ near 1 at the true class) are down-weighted. `alpha` (optional, default 1) is a
 * number or per-class weights that broadcast along the class dimension (e.g. shape `[C]`).
 * As in Flux, ε is added only inside the logarithm's argument, not in the weight's base.
 */
export function focalLoss(yhat: TensorLike, y: TensorLike, options: DimsOptions & FocalOptions & { alpha?: TensorLike } = {}): Tensor {
  const op = 'focalLoss';
  const [a, b] = lossArgs(op, yhat, y);
  const axes = classAxes(op, options.dims, rankOf(a, b));
  const eps = numberOption(op, 'eps', options.eps, defaultEps(a.dtype), 0);
  const gamma = numberOption(op, 'gamma', options.gamma, 2, 0);
  if (typeof options.alpha === 'number') numberOption(op, 'alpha', options.alpha, 1, 0);
  let terms = mul(focalWeight(a, gamma), xlogy(b, add(a, eps)));
  if (options.alpha !== undefined) terms = mul(options.alpha, terms);
  return aggregate(op, neg(sum(terms, axes)), options.agg);
}

/**
 * Binary focal loss of predicted probabilities ŷ ∈ [0, 1] against targets y ∈ {0, 1},
 * elementwise: −α_t·(1 − p)^γ·log(p + ε) with p = y·ŷ + (1 − y)·(1 − ŷ) the predicted
 * probability of the true label. Without `alpha` α_t = 1; with `alpha` ∈ [0, 1] (the weight
 * of positives) α_t = α·y + (1 − α)·(1 − y). ε is added inside the logarithm only (Flux adds
 * it to ŷ, which makes log(1 − ŷ − ε) undefined at ŷ = 1 for negatives).
 */
export function binaryFocalLoss(yhat: TensorLike, y: TensorLike, options: AggOptions & FocalOptions & { alpha?: number } = {}): Tensor {
  const op = 'binaryFocalLoss';
  const [a, b] = lossArgs(op, yhat, y);
  const eps = numberOption(op, 'eps', options.eps, defaultEps(a.dtype), 0);
  const gamma = numberOption(op, 'gamma', options.gamma, 2, 0);
  const p = add(mul(b, a), mul(sub(1, b), sub(1, a)));
  let loss = neg(mul(focalWeight(p, gamma), log(add(p, eps))));
  if (options.alpha !== undefined) {
    const alpha = numberOption(op, 'alpha', options.alpha, 1, 0, 1);
    loss = mul(add(mul(alpha, b), mul(1 - alpha, sub(1, b))), loss);
  }
  return aggregate(op, loss, options.agg);
}

/** Options of {@link diceCoeffLoss}. */
export interface DiceOptions extends AggOptions {
  /** Added to numerator and denominator; default 1; must be > 0 (so all-zero inputs give 0, not 0/0). */
  smooth?: number;
  /** The dimensions each Dice coefficient sums over; default all (one coefficient for the whole input, as Flux). Use e.g. `[1, 2, 3]` for one per sample of `[N, C, H, W]`. */
  dims?: number | readonly number[];
}

/**
 * Dice coefficient loss (Milletari et al., 2016) for segmentation:
 * 1 − (2·Σ y·ŷ + s) / (Σ y² + Σ ŷ² + s), the sums over `dims` (default all). `agg: 'none'`
 * returns one loss per position of the remaining dimensions (a 0-d tensor by default); the
 * default `'mean'` averages them.
 */
export function diceCoeffLoss(yhat: TensorLike, y: TensorLike, options: DiceOptions = {}): Tensor {
  const op = 'diceCoeffLoss';
  const [a, b] = lossArgs(op, yhat, y);
  const smooth = numberOption(op, 'smooth', options.smooth, 1, 0, Infinity, true);
  const rank = rankOf(a, b);
  const axes = options.dims === undefined ? undefined : classAxes(op, options.dims, rank);
  const overlap = sum(mul(b, a), axes);
  const total = add(sum(mul(b, b), axes), sum(mul(a, a), axes));
  return aggregate(op, sub(1, div(add(mul(2, overlap), smooth), add(total, smooth))), options.agg);
}

/** Options of {@link labelSmoothing}. */
export interface LabelSmoothingOptions {
  /** The class dimension(s) whose length K is the number of classes; default `-1` (the last). */
  dims?: number | readonly number[];
  /** Binary targets (one probability each): smooth towards ½ instead of 1/K; default false. */
  binary?: boolean;
}

/**
 * Smoothed targets y·(1 − α) + α/K, where K is the number of classes along `dims` (the last
 * dimension by default), or y·(1 − α) + α/2 with `binary: true`. Pass the result as y to a
 * classification loss. α must lie in [0, 1].
 * ```ts
 * labelSmoothing([[0, 1, 0]], 0.3)   // [[0.1, 0.8, 0.1]]
 * ```
 */
export function labelSmoothing(y: TensorLike, alpha: number, options: LabelSmoothingOptions = {}): Tensor {
  const op = 'labelSmoothing';
  const [t] = lossArgs(op, y, 0);
  const a = numberOption(op, 'α', alpha, 0, 0, 1);
  let k = 2;
  if (!options.binary) {
    if (t.ndim === 0) throw new ShapeError(`${op}: needs a class dimension, got shape []; pass { binary: true } for binary targets`);
    k = classAxes(op, options.dims, t.ndim).reduce((n, ax) => n * t.shape[ax], 1);
  }
  return add(mul(t, 1 - a), a / k);
}
