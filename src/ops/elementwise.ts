/**
 * Elementwise operations. Each accepts numbers, nested arrays, typed arrays and Tensors;
 * with only numbers it returns a number. Binary operations broadcast as NumPy does.
 */
import { bind } from '../backend/index.js';
import { binaryScalar, unaryScalar } from '../backend/cpu/elementwise.js';
import { type DType, checkDType } from '../tensor/dtype.js';
import { type TensorLike, strongDType, toTensor } from '../tensor/convert.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BinaryOp, CompareOp, UnaryOp } from './primitive.js';
import { TrackedNumber, primalNumber } from '../ad/tape.js';
import { adHooks } from '../ad/hooks.js';

const NONE = {} as Record<string, never>;

/** An elementwise function of one argument: a number for a number, a Tensor otherwise. */
export interface UnaryFn {
  (x: number): number;
  (x: TensorLike): Tensor;
}
/** An elementwise function of two broadcast arguments: a number for two numbers, a Tensor otherwise. */
export interface BinaryFn {
  (a: number, b: number): number;
  (a: TensorLike, b: TensorLike): Tensor;
}

type Num = number | TrackedNumber;
const isNum = (x: unknown): x is Num => typeof x === 'number' || x instanceof TrackedNumber;

function unaryOp(op: UnaryOp): UnaryFn {
  const scalar = unaryScalar[op];
  const fn = ((x: TensorLike | TrackedNumber): Tensor | Num => {
    if (typeof x === 'number') return scalar(x);
    if (x instanceof TrackedNumber) return adHooks.unary!(op, fn as (x: Num) => Num, x);
    return bind(op, [toTensor(x, op)], NONE);
  });
  return fn as UnaryFn;
}

function binaryOp(op: BinaryOp | CompareOp): BinaryFn {
  const scalar = binaryScalar[op];
  const fn = (a: TensorLike | TrackedNumber, b: TensorLike | TrackedNumber): Tensor | Num => {
    if (typeof a === 'number' && typeof b === 'number') return scalar(a, b);
    if (isNum(a) && isNum(b)) return adHooks.binary!(op, fn as (a: Num, b: Num) => Num, a, b);
    const dt = strongDType(a as TensorLike, b as TensorLike);
    return bind(op, [toTensor(a as TensorLike, op, dt), toTensor(b as TensorLike, op, dt)], NONE);
  };
  return fn as BinaryFn;
}

/** −x */
export const neg = unaryOp('neg');
/** eˣ */
export const exp = unaryOp('exp');
/** eˣ − 1, accurate near 0 */
export const expm1 = unaryOp('expm1');
/** Natural logarithm */
export const log = unaryOp('log');
/** log(1 + x), accurate near 0 */
export const log1p = unaryOp('log1p');
/** Square root */
export const sqrt = unaryOp('sqrt');
/** |x|; its derivative at 0 is taken as 0 */
export const abs = unaryOp('abs');
/** −1, 0 or 1 (NaN for NaN) */
export const sign = unaryOp('sign');
/** Sine */
export const sin = unaryOp('sin');
/** Cosine */
export const cos = unaryOp('cos');
/** Tangent */
export const tan = unaryOp('tan');
/** Arcsine */
export const asin = unaryOp('asin');
/** Arccosine */
export const acos = unaryOp('acos');
/** Arctangent */
export const atan = unaryOp('atan');
/** Hyperbolic sine */
export const sinh = unaryOp('sinh');
/** Hyperbolic cosine */
export const cosh = unaryOp('cosh');
/** Hyperbolic tangent */
export const tanh = unaryOp('tanh');
/** Logistic function 1 / (1 + e⁻ˣ), computed without overflow for any x */
export const sigmoid = unaryOp('sigmoid');
/** max(x, 0); NaN stays NaN; the derivative at 0 is taken as 0 */
export const relu = unaryOp('relu');
/** The error function, accurate to about one ulp in float64 */
export const erf = unaryOp('erf');

/** a + b */
export const add = binaryOp('add');
/** a − b */
export const sub = binaryOp('sub');
/** a · b */
export const mul = binaryOp('mul');
/** a / b */
export const div = binaryOp('div');
/** aᵇ */
export const pow = binaryOp('pow');
/** The larger of a and b (NaN if either is NaN) */
export const maximum = binaryOp('maximum');
/** The smaller of a and b (NaN if either is NaN) */
export const minimum = binaryOp('minimum');
/** atan(a / b) in the right quadrant */
export const atan2 = binaryOp('atan2');
/** Floored modulo: the result has the sign of b, as NumPy's and Julia's `mod` (JavaScript's `%` truncates) */
export const mod = binaryOp('mod');
/** 1 where a > b, else 0 */
export const gt = binaryOp('gt');
/** 1 where a ≥ b, else 0 */
export const ge = binaryOp('ge');
/** 1 where a < b, else 0 */
export const lt = binaryOp('lt');
/** 1 where a ≤ b, else 0 */
export const le = binaryOp('le');
/** 1 where a = b, else 0 */
export const eq = binaryOp('eq');
/** 1 where a ≠ b, else 0 */
export const ne = binaryOp('ne');

/** Elementwise choice: `a` where `cond` is non-zero, else `b` (all three broadcast). */
export function where(cond: number, a: number, b: number): number;
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor;
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor | number {
  if (isNum(cond) && isNum(a) && isNum(b)) return primalNumber(cond) !== 0 ? a : b;
  const dt = strongDType(a, b);
  return bind('where', [toTensor(cond, 'where', dt), toTensor(a, 'where', dt), toTensor(b, 'where', dt)], NONE);
}

/** Limit x to [lo, hi]: `minimum(maximum(x, lo), hi)`. */
export function clamp(x: number, lo: number, hi: number): number;
export function clamp(x: TensorLike, lo: TensorLike, hi: TensorLike): Tensor;
export function clamp(x: TensorLike, lo: TensorLike, hi: TensorLike): Tensor | number {
  return minimum(maximum(x, lo), hi);
}

/** log(1 + eˣ), without overflow: relu(x) + log1p(e^−|x|). */
export function softplus(x: number): number;
export function softplus(x: TensorLike): Tensor;
export function softplus(x: TensorLike): Tensor | number {
  return add(relu(x), log1p(exp(neg(abs(x)))));
}

/** The tensor converted to another dtype (the same tensor if it already has it). */
export function astype(x: TensorLike, dtype: DType): Tensor {
  checkDType(dtype, 'astype');
  const t = toTensor(x, 'astype', dtype);
  return t.dtype === dtype ? t : bind('cast', [t], { dtype });
}
