/**
 * Derivative rules of the reductions (src/ops/reduce.ts). `mean` and `logsumexp` are
 * composites and need none.
 */
import { div, eq, mul } from '../ops/elementwise.js';
import { broadcastTo, pad, permute, reshape, slice, type SliceRange } from '../ops/movement.js';
import type { ArgReduceOp, ReduceOp, ReduceParams } from '../ops/primitive.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rule } from './rule.js';
import { sum } from '../ops/reduce.js';

/** `t` (a reduction's output or cotangent) with the reduced axes restored as length 1, so it broadcasts against x. */
function kept(t: Tensor, x: Tensor, { axes, keepDims }: ReduceParams): Tensor {
  return keepDims ? t : reshape(t, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

const reduceRules: { [P in ReduceOp]: Rule<P> } = {
  sum: (dy, [x], _y, p) => [broadcastTo(kept(dy, x, p), x.shape)],
  prod: (dy, [x], y, p) => {
    // ∂y/∂xᵢ = Π_{j≠i} xⱼ. Without zeros that is y/xᵢ, an identity near x, so exact at every
    // order. With zeros (where y/xᵢ fails, and where ∂²y/∂xᵢ∂xₖ at two zeros is not 0) it is
    // built from prefix and suffix products, which are exact at every order as well.
    const d = hasZero(x) ? productOfOthers(x, p.axes) : div(kept(y, x, p), x);
    return [mul(kept(dy, x, p), d)];
  },
  // ties share the gradient equally
  max: (dy, [x], y, p) => extremum(dy, x, y, p),
  min: (dy, [x], y, p) => extremum(dy, x, y, p),
};

function hasZero(x: Tensor): boolean {
  const d = x.data;
  for (let i = 0; i < d.length; i++) if (d[i] === 0) return true;
  return false;
}

/** t shifted by k along its last axis (length n), the first k places filled with 1. */
function shiftIn1(t: Tensor, k: number, n: number): Tensor {
  const r: SliceRange[] = t.shape.map(() => null);
  r[t.ndim - 1] = [0, n - k];
  const pads = t.shape.map((): [number, number] => [0, 0]);
  pads[t.ndim - 1] = [k, 0];
  return pad(slice(t, r), pads, 1);
}

/** Π_{j<i} tⱼ along the last axis: an inclusive scan by doubling (log n shifted products), shifted by one. */
function exclusivePrefix(t: Tensor, n: number): Tensor {
  let s = t;
  for (let k = 1; k < n; k *= 2) s = mul(s, shiftIn1(s, k, n));
  return shiftIn1(s, 1, n);
}

/** Π over the other elements of each reduced slice, for every element of x. */
function productOfOthers(x: Tensor, axes: number[]): Tensor {
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...keep, ...axes];
  const n = axes.reduce((m, a) => m * x.shape[a], 1);
  const t = reshape(permute(x, perm), [...keep.map((i) => x.shape[i]), n]);
  const rev: SliceRange[] = t.shape.map(() => null);
  rev[t.ndim - 1] = [null, null, -1];
  const others = mul(exclusivePrefix(t, n), slice(exclusivePrefix(slice(t, rev), n), rev));
  const inv = new Array<number>(perm.length);
  perm.forEach((a, i) => (inv[a] = i));
  return permute(reshape(others, perm.map((a) => x.shape[a])), inv);
}

function extremum(dy: Tensor, x: Tensor, y: Tensor, p: ReduceParams): Tensor[] {
  const hit = eq(x, kept(y, x, p));
  return [mul(hit, div(kept(dy, x, p), sum(hit, p.axes, { keepDims: true })))];
}

const argRules: { [P in ArgReduceOp]: Rule<P> } = {
  argmax: () => [null],
  argmin: () => [null],
};

export const reductionRules = { ...reduceRules, ...argRules };
