/** Derivative rule of the matrix product (src/ops/linalg.ts); dot and outer are composites. */
import { matmul } from '../ops/linalg.js';
import { transpose } from '../ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rule } from './rule.js';
import { sumTo } from './util.js';

/**
 * Whether `t` is a 2-d transposed view of dense storage (strides [1, rows]), such as
 * `transpose(W)` in `matmul(x, transpose(W))`. Its cotangent is then computed directly in the
 * transposed layout (dyᵀ·x rather than xᵀ·dy, both strided reads for the gemm), so that the
 * transpose's own rule hands back a contiguous gradient for W instead of a transposed view
 * that every consumer (the optimiser's update, `.data`) would have to copy.
 */
function isTransposedDense(t: Tensor): boolean {
  if (t.device !== undefined || t.ndim !== 2) return false;
  const [r, c] = t.shape;
  if (r < 2 || c < 2) return false;
  const s = t.nd.stride;
  return s[0] === 1 && s[1] === r;
}

export const linalgRules: { matmul: Rule<'matmul'> } = {
  // batch dimensions may have broadcast: sum them back to each operand's shape
  matmul: (dy, xs, _y, _p, need) => matmulCotangents(dy, xs[0], xs[1], need),
};

function matmulCotangents(dy: Tensor, a: Tensor, b: Tensor, need: readonly boolean[]): (Tensor | null)[] {
  return [
    need[0]
      ? isTransposedDense(a) && b.ndim === 2 && dy.ndim === 2
        ? transpose(matmul(b, transpose(dy)))
        : sumTo(matmul(dy, transpose(b)), a.shape)
      : null,
    need[1]
      ? isTransposedDense(b) && a.ndim === 2 && dy.ndim === 2
        ? transpose(matmul(transpose(dy), a))
        : sumTo(matmul(transpose(a), dy), b.shape)
      : null,
  ];
}
