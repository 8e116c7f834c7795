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
import { tracedAdd, tracedDiv, tracedMul, tracedSub } from '../ad/scalar.js';

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

/*
 * Each operation is its own function literal with the plain-number case inline: V8 keeps
 * type feedback per function literal, so ops made by one shared factory would all share
 * one megamorphic call site and scalar code would run several times slower.
 */

/** The non-number path of a unary operation: traced numbers, then tensors. */
function unarySlow(op: UnaryOp, fn: (x: Num) => Num, x: TensorLike | TrackedNumber): Tensor | Num {
  if (x instanceof TrackedNumber) return adHooks.unary!(op, fn, x);
  return bind(op, [toTensor(x as TensorLike, op)], NONE);
}

/** The non-number path of a binary operation: traced numbers, then broadcasting tensors. */
function binarySlow(op: BinaryOp | CompareOp, fn: (a: Num, b: Num) => Num, a: TensorLike | TrackedNumber, b: TensorLike | TrackedNumber): Tensor | Num {
  if (isNum(a) && isNum(b)) return adHooks.binary!(op, fn, a, b);
  const dt = strongDType(a as TensorLike, b as TensorLike);
  return bind(op, [toTensor(a as TensorLike, op, dt), toTensor(b as TensorLike, op, dt)], NONE);
}

const S = unaryScalar, B = binaryScalar;
type AnyUnary = (x: any) => any;
type AnyBinary = (a: any, b: any) => any;

/** −x */
export const neg = ((x) => (typeof x === 'number' ? -x : unarySlow('neg', neg as AnyUnary, x))) as UnaryFn;
/** eˣ */
export const exp = ((x) => (typeof x === 'number' ? Math.exp(x) : unarySlow('exp', exp as AnyUnary, x))) as UnaryFn;
/** eˣ − 1, accurate near 0 */
export const expm1 = ((x) => (typeof x === 'number' ? Math.expm1(x) : unarySlow('expm1', expm1 as AnyUnary, x))) as UnaryFn;
/** Natural logarithm */
export const log = ((x) => (typeof x === 'number' ? Math.log(x) : unarySlow('log', log as AnyUnary, x))) as UnaryFn;
/** log(1 + x), accurate near 0 */
export const log1p = ((x) => (typeof x === 'number' ? Math.log1p(x) : unarySlow('log1p', log1p as AnyUnary, x))) as UnaryFn;
/** Square root */
export const sqrt = ((x) => (typeof x === 'number' ? Math.sqrt(x) : unarySlow('sqrt', sqrt as AnyUnary, x))) as UnaryFn;
/** |x|; its derivative at 0 is taken as 0 */
export const abs = ((x) => (typeof x === 'number' ? Math.abs(x) : unarySlow('abs', abs as AnyUnary, x))) as UnaryFn;
/** −1, 0 or 1 (NaN for NaN) */
export const sign = ((x) => (typeof x === 'number' ? Math.sign(x) : unarySlow('sign', sign as AnyUnary, x))) as UnaryFn;
/** Sine */
export const sin = ((x) => (typeof x === 'number' ? Math.sin(x) : unarySlow('sin', sin as AnyUnary, x))) as UnaryFn;
/** Cosine */
export const cos = ((x) => (typeof x === 'number' ? Math.cos(x) : unarySlow('cos', cos as AnyUnary, x))) as UnaryFn;
/** Tangent */
export const tan = ((x) => (typeof x === 'number' ? Math.tan(x) : unarySlow('tan', tan as AnyUnary, x))) as UnaryFn;
/** Arcsine */
export const asin = ((x) => (typeof x === 'number' ? Math.asin(x) : unarySlow('asin', asin as AnyUnary, x))) as UnaryFn;
/** Arccosine */
export const acos = ((x) => (typeof x === 'number' ? Math.acos(x) : unarySlow('acos', acos as AnyUnary, x))) as UnaryFn;
/** Arctangent */
export const atan = ((x) => (typeof x === 'number' ? Math.atan(x) : unarySlow('atan', atan as AnyUnary, x))) as UnaryFn;
/** Hyperbolic sine */
export const sinh = ((x) => (typeof x === 'number' ? Math.sinh(x) : unarySlow('sinh', sinh as AnyUnary, x))) as UnaryFn;
/** Hyperbolic cosine */
export const cosh = ((x) => (typeof x === 'number' ? Math.cosh(x) : unarySlow('cosh', cosh as AnyUnary, x))) as UnaryFn;
/** Hyperbolic tangent */
export const tanh = ((x) => (typeof x === 'number' ? Math.tanh(x) : unarySlow('tanh', tanh as AnyUnary, x))) as UnaryFn;
/** Logistic function 1 / (1 + e⁻ˣ), computed without overflow for any x */
export const sigmoid = ((x) => (typeof x === 'number' ? S.sigmoid(x) : unarySlow('sigmoid', sigmoid as AnyUnary, x))) as UnaryFn;
/** max(x, 0); NaN stays NaN; the derivative at 0 is taken as 0 */
export const relu = ((x) => (typeof x === 'number' ? (x < 0 ? 0 : x) : unarySlow('relu', relu as AnyUnary, x))) as UnaryFn;
/** The error function, accurate to about one ulp in float64 */
export const erf = ((x) => (typeof x === 'number' ? S.erf(x) : unarySlow('erf', erf as AnyUnary, x))) as UnaryFn;

/** a + b */
export const add = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? a + b
  : isNum(a) && isNum(b) ? tracedAdd(a, b, add as AnyBinary) : binarySlow('add', add as AnyBinary, a, b))) as BinaryFn;
/** a − b */
export const sub = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b
  : isNum(a) && isNum(b) ? tracedSub(a, b, sub as AnyBinary) : binarySlow('sub', sub as AnyBinary, a, b))) as BinaryFn;
/** a · b */
export const mul = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? a * b
  : isNum(a) && isNum(b) ? tracedMul(a, b, mul as AnyBinary) : binarySlow('mul', mul as AnyBinary, a, b))) as BinaryFn;
/** a / b */
export const div = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? a / b
  : isNum(a) && isNum(b) ? tracedDiv(a, b, div as AnyBinary) : binarySlow('div', div as AnyBinary, a, b))) as BinaryFn;
/** aᵇ */
export const pow = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? a ** b : binarySlow('pow', pow as AnyBinary, a, b))) as BinaryFn;
/** The larger of a and b (NaN if either is NaN) */
export const maximum = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.max(a, b) : binarySlow('maximum', maximum as AnyBinary, a, b))) as BinaryFn;
/** The smaller of a and b (NaN if either is NaN) */
export const minimum = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.min(a, b) : binarySlow('minimum', minimum as AnyBinary, a, b))) as BinaryFn;
/** atan(a / b) in the right quadrant */
export const atan2 = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.atan2(a, b) : binarySlow('atan2', atan2 as AnyBinary, a, b))) as BinaryFn;
/** Floored modulo: the result has the sign of b, as NumPy's and Julia's `mod` (JavaScript's `%` truncates) */
export const mod = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? B.mod(a, b) : binarySlow('mod', mod as AnyBinary, a, b))) as BinaryFn;
/** 1 where a > b, else 0 */
export const gt = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? (a > b ? 1 : 0) : binarySlow('gt', gt as AnyBinary, a, b))) as BinaryFn;
/** 1 where a ≥ b, else 0 */
export const ge = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? (a >= b ? 1 : 0) : binarySlow('ge', ge as AnyBinary, a, b))) as BinaryFn;
/** 1 where a < b, else 0 */
export const lt = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? (a < b ? 1 : 0) : binarySlow('lt', lt as AnyBinary, a, b))) as BinaryFn;
/** 1 where a ≤ b, else 0 */
export const le = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? (a <= b ? 1 : 0) : binarySlow('le', le as AnyBinary, a, b))) as BinaryFn;
/** 1 where a = b, else 0 */
export const eq = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? (a === b ? 1 : 0) : binarySlow('eq', eq as AnyBinary, a, b))) as BinaryFn;
/** 1 where a ≠ b, else 0 */
export const ne = ((a, b) => (typeof a === 'number' && typeof b === 'number' ? (a !== b ? 1 : 0) : binarySlow('ne', ne as AnyBinary, a, b))) as BinaryFn;

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

/**
 * log(1 + eˣ), without overflow: the x > 0 branch is x + log1p(e⁻ˣ), the other log1p(eˣ).
 * Written with `where` rather than relu and abs, whose kink conventions would cancel the
 * derivative at 0 (it must be σ(0) = ½); each branch's exponent is ≤ 0, so neither overflows.
 */
export function softplus(x: number): number;
export function softplus(x: TensorLike): Tensor;
export function softplus(x: TensorLike): Tensor | number {
  const pos = gt(x, 0);
  return add(where(pos, x, 0), log1p(exp(where(pos, neg(x), x))));
}

/** The tensor converted to another dtype (the same tensor if it already has it). */
export function astype(x: TensorLike, dtype: DType): Tensor {
  checkDType(dtype, 'astype');
  const t = toTensor(x, 'astype', dtype);
  return t.dtype === dtype ? t : bind('cast', [t], { dtype });
}
