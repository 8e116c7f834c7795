/** Helpers shared by the rule families. */
import { mul, neg } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { reshape } from '../ops/movement.js';
import { sameShape, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** dy · d, skipping the product for the constant partials ±1. */
export function scale(dy: Tensor, d: number | Tensor): Tensor {
  if (d === 1) return dy;
  if (d === -1) return neg(dy);
  return mul(dy, d);
}

/** Undo broadcasting: sum `g` over the dimensions that broadcasting added or stretched to reach `shape`. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  // summing over axes of length 1 changes nothing (batch 1 against a bias): only the shape differs
  let trivial = true;
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) {
      axes.push(i);
      if (g.shape[i] !== 1) trivial = false;
    }
  }
  return reshape(axes.length > 0 && !trivial ? sum(g, axes, { keepDims: true }) : g, shape);
}
