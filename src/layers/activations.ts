/**
 * Activation functions: plain elementwise functions, usable anywhere — on numbers (a number
 * comes back), on traced numbers inside `gradient`, and on anything tensor-like (a Tensor
 * comes back), exactly like the elementwise operations in src/ops/elementwise.ts.
 *
 * Those that fluxion already has as operations (`relu`, `sigmoid`, `tanh`, `softplus`,
 * `softmax`, `logSoftmax`) are re-exported as they are. Every other one is a composite of
 * differentiable operations (`where`, comparisons, `expm1`, `sigmoid`, `erf`, `abs`, …), so
 * derivatives of any order come from the operations' own rules.
 *
 * Two rules shape the composites:
 * - **Kinks.** Where a function is not differentiable, the derivative is the one of the
 *   outer piece, the side away from the linear middle: `relu′(0) = 0` (the README's
 *   convention), and likewise `relu6′(0) = relu6′(6) = 0`, `hardTanh′(±1) = 0`,
 *   `hardSigmoid′(±3) = 0`, `leakyRelu′(0) = a`, `elu′(0) = α`. Ties are decided by `where`
 *   on a comparison, never by `maximum`/`minimum`, which would split the gradient in half.
 * - **No overflow in unused branches.** `where(c, a, b)` sends a zero cotangent to the branch
 *   it does not pick, and zero times an infinite partial is NaN (IEEE). So an exponential
 *   is only ever applied to an input that `where` has already limited to the side where it
 *   stays finite (as `softplus` does): every function here is finite, with finite first and
 *   second derivatives, for |x| up to 1e4 and beyond, in float32 and float64.
 */
import { TrackedNumber } from '../ad/tape.js';
import { type TensorLike, toTensor } from '../tensor/convert.js';
import { Tensor } from '../tensor/tensor.js';
import {
  abs, add, div, erf, expm1, ge, gt, le, mul, relu, sigmoid, softplus, tanh, where,
} from '../ops/elementwise.js';

export { relu, sigmoid, tanh, softplus } from '../ops/elementwise.js';
export { softmax, logSoftmax } from '../ops/nn.js';

/**
 * The logistic function 1 / (1 + e⁻ˣ) under its Flux name: the same function object as
 * `sigmoid` (so it prints as `sigmoid`).
 */
export const σ = sigmoid;

/*
 * Numbers and traced numbers go through the operations as they are (so a number gives a
 * number); anything else tensor-like is converted once, here, so the error for bad input
 * names the activation and the composite does not convert the same array at every step.
 */
type Input = number | TrackedNumber | Tensor;
function input(x: TensorLike, op: string): Input {
  return typeof x === 'number' || x instanceof TrackedNumber || x instanceof Tensor ? x : toTensor(x, op);
}

// the operations' overloads are for the public types; inside, values are number | Tensor
type Any = any;

/** The slope of `leakyRelu` and the scale `α` of `elu` must be numbers (traced ones included). */
function checkParam(op: string, name: string, v: unknown): void {
  if (!(typeof v === 'number' || v instanceof TrackedNumber)) {
    throw new TypeError(`${op}: ${name} must be a number, got ${v === null ? 'null' : typeof v}`);
  }
}

/**
 * min(max(x, 0), 6). Derivative 1 on (0, 6), 0 outside, and 0 at both kinks:
 * `relu6′(0) = 0` as for `relu`, `relu6′(6) = 0` (the saturated side).
 */
export function relu6(x: number): number;
export function relu6(x: TensorLike): Tensor;
export function relu6(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'relu6');
  // NaN fails ge and passes through relu: NaN stays NaN
  return where(ge(t, 6), 6, relu(t));
}

/**
 * x for x > 0, a·x otherwise; `a` defaults to 0.01 (as in Flux). At the kink the derivative
 * is that of the x ≤ 0 piece, `leakyRelu′(0) = a` (with a = 0 this is relu's convention).
 * For another slope pass a function: `Dense(10, 5, (x) => leakyRelu(x, 0.2))`.
 */
export function leakyRelu(x: number, a?: number): number;
export function leakyRelu(x: TensorLike, a?: number): Tensor;
export function leakyRelu(x: TensorLike, a: number = 0.01): Tensor | number {
  checkParam('leakyRelu', 'the slope a', a);
  const t: Any = input(x, 'leakyRelu');
  return where(gt(t, 0), t, mul(a, t));
}

/**
 * Exponential linear unit: x for x > 0, α·(eˣ − 1) otherwise, with α = 1 by default.
 * `elu′(0) = α` (the x ≤ 0 piece; for α = 1 both pieces agree and elu is C¹ there).
 * The exponential sees only min(x, 0), selected by `where`, so it never overflows.
 */
export function elu(x: number, alpha?: number): number;
export function elu(x: TensorLike, alpha?: number): Tensor;
export function elu(x: TensorLike, alpha: number = 1): Tensor | number {
  checkParam('elu', 'alpha', alpha);
  const t: Any = input(x, 'elu');
  const pos = gt(t, 0);
  return where(pos, t, mul(alpha, expm1(where(pos, 0, t))));
}

/** α of SELU (Klambauer et al. 2017, the fixed point of the self-normalising map). */
const SELU_ALPHA = 1.6732632423543772848170429916717;
/** λ of SELU. */
const SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * Scaled exponential linear unit: λ·x for x > 0, λ·α·(eˣ − 1) otherwise, with the standard
 * constants α = 1.6732632423543772…, λ = 1.0507009873554804… (the same as TF.js, PyTorch
 * and Flux). `selu′(0) = λ·α`, the x ≤ 0 piece.
 */
export function selu(x: number): number;
export function selu(x: TensorLike): Tensor;
export function selu(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'selu');
  return mul(SELU_SCALE, elu(t, SELU_ALPHA));
}

/** 2·√(2/π) and 2·√(2/π)·0.044715: the tanh approximation of GELU written as a sigmoid. */
const GELU_C1 = 2 * Math.sqrt(2 / Math.PI);
const GELU_C3 = GELU_C1 * 0.044715;

/**
 * GELU, the tanh approximation (Flux's default `gelu`, TF.js's `gelu_new`, PyTorch's
 * `approximate='tanh'`): ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Computed as
 * x·σ(2·√(2/π)·(x + 0.044715·x³)), the same function (½(1 + tanh u) = σ(2u)), because
 * `sigmoid` never overflows and its derivatives vanish cleanly where it saturates.
 * Finite with finite derivatives while x³ is finite (|x| < 6e12 in float32). Smooth.
 */
export function gelu(x: number): number;
export function gelu(x: TensorLike): Tensor;
export function gelu(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'gelu');
  return mul(t, sigmoid(mul(t, add(GELU_C1, mul(GELU_C3, mul(t, t))))));
}

/**
 * GELU, the exact form x·Φ(x) = ½·x·(1 + erf(x/√2)) (TF.js's `gelu`, PyTorch's default).
 * For x below about −5 the value, tiny, has an absolute error of about eps·|x| (1 + erf
 * cancels); it is exactly 0 (or −0) from x ≈ −8.3 in float64. Smooth.
 */
export function geluErf(x: number): number;
export function geluErf(x: TensorLike): Tensor;
export function geluErf(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'geluErf');
  return mul(mul(0.5, t), add(1, erf(mul(t, Math.SQRT1_2))));
}

/**
 * Swish, also called SiLU: x·σ(x). `silu` is the same function object. Smooth; finite for
 * every finite x (σ does not overflow, and x·σ′(x) underflows to 0 for large |x|).
 */
export function swish(x: number): number;
export function swish(x: TensorLike): Tensor;
export function swish(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'swish');
  return mul(t, sigmoid(t));
}

/** SiLU, x·σ(x): the same function object as {@link swish} (so it prints as `swish`). */
export const silu = swish;

/** Mish: x·tanh(softplus(x)) (Misra 2019), through the overflow-free `softplus`. Smooth. */
export function mish(x: number): number;
export function mish(x: TensorLike): Tensor;
export function mish(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'mish');
  return mul(t, tanh(softplus(t)));
}

/**
 * Hard sigmoid, max(0, min(1, (x + 3)/6)) = relu6(x + 3)/6: the definition of Flux
 * (`hardσ`) and PyTorch (`Hardsigmoid`). Note: Keras and TF.js's `hardSigmoid` layer
 * activation use another one, clip(0.2·x + 0.5, 0, 1). Derivative 1/6 on (−3, 3), 0 at
 * the kinks ±3 (the saturated sides).
 */
export function hardSigmoid(x: number): number;
export function hardSigmoid(x: TensorLike): Tensor;
export function hardSigmoid(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'hardSigmoid');
  return div(relu6(add(t, 3)), 6);
}

/** max(−1, min(1, x)). Derivative 1 on (−1, 1), 0 outside and at the kinks ±1 (the saturated sides). */
export function hardTanh(x: number): number;
export function hardTanh(x: TensorLike): Tensor;
export function hardTanh(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'hardTanh');
  // NaN fails both comparisons and stays NaN
  return where(le(t, -1), -1, where(ge(t, 1), 1, t));
}

/**
 * x / (1 + |x|). Its first derivative 1/(1 + |x|)² is continuous (at 0 the term from
 * `abs′(0) = 0` is multiplied by x = 0); the second derivative jumps at 0, where the
 * convention `abs′(0) = 0` makes it 0, the mean of its one-sided limits ∓2.
 */
export function softsign(x: number): number;
export function softsign(x: TensorLike): Tensor;
export function softsign(x: TensorLike): Tensor | number {
  const t: Any = input(x, 'softsign');
  return div(t, add(1, abs(t)));
}
