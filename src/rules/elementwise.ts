/**
 * Derivative rules of the elementwise primitives (src/ops/elementwise.ts).
 *
 * A unary rule is the derivative as a function of the input x and the output y; a binary
 * rule gives each partial as a function of (a, b, y). They are written with the library's
 * own operations, so they work unchanged on numbers (the scalar tape stores them as
 * partials) and on tensors (the pullback multiplies them into the cotangent), and an
 * enclosing gradient records them — which is what makes derivatives of any order work.
 *
 * Non-differentiable points, the same on every backend: relu'(0) = 0, abs'(0) = 0,
 * sign' = 0, maximum/minimum split the gradient equally on ties, comparisons carry none.
 */
import {
  add, cos, cosh, div, eq, exp, gt, log, lt, mul, neg, pow, sign, sin, sinh, sqrt, sub, where,
} from '../ops/elementwise.js';
import type { BinaryOp, CompareOp, PrimitiveParams, UnaryOp } from '../ops/primitive.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rule } from './rule.js';
import { scale, sumTo } from './util.js';
import { sigmoidBackward, tanhBackward } from './fused.js';

/** A differentiable scalar or tensor value (numbers and tensors, traced or not). */
type V = number | Tensor;
type Unary = (x: V, y: V) => V;
type Partial = (a: V, b: V, y: V) => V;

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** dy/dx of each unary primitive. */
export const unaryDerivative: { [P in UnaryOp]: Unary } = {
  neg: () => -1,
  exp: (_x, y) => y,
  expm1: (_x, y) => add(y, 1),
  log: (x) => div(1, x),
  log1p: (x) => div(1, add(x, 1)),
  sqrt: (_x, y) => div(0.5, y),
  abs: (x) => sign(x),
  sign: () => 0,
  sin: (x) => cos(x),
  cos: (x) => neg(sin(x)),
  tan: (_x, y) => add(1, mul(y, y)),
  asin: (x) => div(1, sqrt(sub(1, mul(x, x)))),
  acos: (x) => div(-1, sqrt(sub(1, mul(x, x)))),
  atan: (x) => div(1, add(1, mul(x, x))),
  sinh: (x) => cosh(x),
  cosh: (x) => sinh(x),
  tanh: (_x, y) => sub(1, mul(y, y)),
  sigmoid: (_x, y) => mul(y, sub(1, y)),
  relu: (x) => gt(x, 0),
  erf: (x) => mul(TWO_OVER_SQRT_PI, exp(neg(mul(x, x)))),
};

/** Share of the gradient that goes to `a` in maximum(a, b): 1, 0, or ½ on a tie. */
const tieShare = (win: V, tie: V): V => add(win, mul(0.5, tie));

/** ∂y/∂a and ∂y/∂b of each binary primitive. */
export const binaryPartials: { [P in BinaryOp]: readonly [Partial, Partial] } = {
  add: [() => 1, () => 1],
  sub: [() => 1, () => -1],
  mul: [(_a, b) => b, (a) => a],
  div: [(_a, b) => div(1, b), (_a, b, y) => neg(div(y, b))],
  pow: [
    // b·a^(b−1), but exactly 0 for b = 0 (where 0·0⁻¹ would give NaN at a = 0)
    (a, b) => where(eq(b, 0), 0, mul(b, pow(a, sub(b, 1)))),
    // y·log a, taken as 0 at a = 0 (the limit along a > 0 for b > 0)
    (a, _b, y) => mul(y, log(where(eq(a, 0), 1, a))),
  ],
  maximum: [(a, b) => tieShare(gt(a, b), eq(a, b)), (a, b) => tieShare(lt(a, b), eq(a, b))],
  minimum: [(a, b) => tieShare(lt(a, b), eq(a, b)), (a, b) => tieShare(gt(a, b), eq(a, b))],
  atan2: [
    (a, b) => div(b, add(mul(a, a), mul(b, b))),
    (a, b) => div(neg(a), add(mul(a, a), mul(b, b))),
  ],
  // mod(a, b) = a − b·floor(a/b), and floor(a/b) = (a − y)/b
  mod: [() => 1, (a, b, y) => div(sub(y, a), b)],
};

// (indexing rather than destructuring the inputs: these run once per recorded operation)
const unaryRule = (op: UnaryOp): Rule<UnaryOp> => {
  const derivative = unaryDerivative[op];
  return (dy, xs, y, _p, need) => [need[0] ? scale(dy, derivative(xs[0], y)) as Tensor : null];
};

/** σ and tanh: their cotangent in one loop where nothing records it (see ./fused.ts), else the general rule. */
const sigmoidRule: Rule<'sigmoid'> = (dy, xs, y, p, need) =>
  (need[0] ? [sigmoidBackward(dy, y) ?? scale(dy, unaryDerivative.sigmoid(xs[0], y)) as Tensor] : [null]);
const tanhRule: Rule<'tanh'> = (dy, xs, y, p, need) =>
  (need[0] ? [tanhBackward(dy, y) ?? scale(dy, unaryDerivative.tanh(xs[0], y)) as Tensor] : [null]);

const binaryRule = (op: BinaryOp): Rule<BinaryOp> => {
  const pa = binaryPartials[op][0], pb = binaryPartials[op][1];
  return (dy, xs, y, _p, need) => {
    const a = xs[0], b = xs[1];
    return [
      need[0] ? sumTo(scale(dy, pa(a, b, y)), a.shape) : null,
      need[1] ? sumTo(scale(dy, pb(a, b, y)), b.shape) : null,
    ];
  };
};

const noGradient: Rule<CompareOp> = () => [null, null];

type ElementwiseRules =
  & { [P in UnaryOp]: Rule<P> }
  & { [P in BinaryOp]: Rule<P> }
  & { [P in CompareOp]: Rule<P> }
  & { where: Rule<'where'>; cast: Rule<'cast'> };

const unaryOps = Object.keys(unaryDerivative) as UnaryOp[];
const binaryOps = Object.keys(binaryPartials) as BinaryOp[];

export const elementwiseRules: ElementwiseRules = {
  ...(Object.fromEntries(unaryOps.map((op) => [op, unaryRule(op)])) as { [P in UnaryOp]: Rule<P> }),
  ...(Object.fromEntries(binaryOps.map((op) => [op, binaryRule(op)])) as { [P in BinaryOp]: Rule<P> }),
  sigmoid: sigmoidRule,
  tanh: tanhRule,
  gt: noGradient, ge: noGradient, lt: noGradient, le: noGradient, eq: noGradient, ne: noGradient,
  where: (dy, [c, a, b], _y, _p, need) => [
    null,
    need[1] ? sumTo(where(c, dy, 0), a.shape) : null,
    need[2] ? sumTo(where(c, 0, dy), b.shape) : null,
  ],
  cast: (dy, [x]: Tensor[], _y, _p: PrimitiveParams['cast']) => [dy.astype(x.dtype)],
};
