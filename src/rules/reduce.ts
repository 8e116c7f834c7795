/**
 * Derivative rules of the reductions (src/ops/reduce.ts). `mean` and `logsumexp` are
 * composites and need none.
 */
import { div, eq, mul, where } from '../ops/elementwise.js';
import { broadcastTo, reshape } from '../ops/movement.js';
import type { ArgReduceOp, ReduceOp, ReduceParams } from '../ops/primitive.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rule } from './rule.js';
import { prod, sum } from '../ops/reduce.js';

/** `t` (a reduction's output or cotangent) with the reduced axes restored as length 1, so it broadcasts against x. */
function kept(t: Tensor, x: Tensor, { axes, keepDims }: ReduceParams): Tensor {
  return keepDims ? t : reshape(t, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

const reduceRules: { [P in ReduceOp]: Rule<P> } = {
  sum: (dy, [x], _y, p) => [broadcastTo(kept(dy, x, p), x.shape)],
  prod: (dy, [x], y, p) => {
    // ∂/∂xᵢ = product of the others: y/xᵢ where xᵢ ≠ 0; at a lone zero the product of the
    // non-zeros; 0 where a slice has two zeros or more (then y = 0 and y/xᵢ = 0 elsewhere too)
    const zero = eq(x, 0);
    const zeros = sum(zero, p.axes, { keepDims: true });
    const othersAtZero = where(eq(zeros, 1), prod(where(zero, 1, x), p.axes, { keepDims: true }), 0);
    const d = where(zero, othersAtZero, div(kept(y, x, p), where(zero, 1, x)));
    return [mul(kept(dy, x, p), d)];
  },
  // ties share the gradient equally
  max: (dy, [x], y, p) => extremum(dy, x, y, p),
  min: (dy, [x], y, p) => extremum(dy, x, y, p),
};

function extremum(dy: Tensor, x: Tensor, y: Tensor, p: ReduceParams): Tensor[] {
  const hit = eq(x, kept(y, x, p));
  return [mul(hit, div(kept(dy, x, p), sum(hit, p.axes, { keepDims: true })))];
}

const argRules: { [P in ArgReduceOp]: Rule<P> } = {
  argmax: () => [null],
  argmin: () => [null],
};

export const reductionRules = { ...reduceRules, ...argRules };
