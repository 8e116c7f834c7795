/**
 * One-loop forms of derivative rules, for the case where nothing can record them: every
 * operand a plain CPU tensor (no gradient in flight traces it, no device holds it) while the
 * CPU kernels run every operation. The rules are written with the library's operations so
 * that an enclosing gradient can differentiate them; when there is none, the two or three
 * small operations of, e.g., σ′ cost more in dispatch than in arithmetic.
 *
 * Each loop performs the same IEEE operations in the same order as the general rule and
 * rounds to the dtype after each one, as the kernels store their results, so its output is
 * bit-identical to the general path's (spec/rules/fused.spec.ts compares them).
 */
import { cpuDispatch } from '../backend/index.js';
import { tensorOf } from '../backend/cpu/ndview.js';
import { allocate } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Plain CPU tensors of one dtype and shape, each laid out row-major without gaps. */
function fusable(a: Tensor, b: Tensor): boolean {
  return a._ad === undefined && b._ad === undefined && a.device === undefined && b.device === undefined
    && a.dtype === b.dtype && sameShape(a.shape, b.shape) && a.isContiguous && b.isContiguous && cpuDispatch();
}

/**
 * `dy · (y · (1 − y))`, the cotangent of σ given its output `y` (the general rule computes
 * `mul(dy, mul(y, sub(1, y)))`); undefined where the fused loop does not apply.
 */
export function sigmoidBackward(dy: Tensor, y: Tensor): Tensor | undefined {
  if (!fusable(dy, y)) return undefined;
  const n = y.size, out = allocate(y.dtype, n);
  const g = dy.nd.data, go = dy.nd.offset, v = y.nd.data, vo = y.nd.offset;
  if (y.dtype === 'float32') {
    const r = Math.fround;
    for (let i = 0; i < n; i++) {
      const yi = v[vo + i]!;
      out[i] = g[go + i]! * r(yi * r(1 - yi));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const yi = v[vo + i]!;
      out[i] = g[go + i]! * (yi * (1 - yi));
    }
  }
  return tensorOf(out, y.shape);
}

/** `dy · (1 − y · y)`, the cotangent of tanh given its output `y` (general rule: `mul(dy, sub(1, mul(y, y)))`). */
export function tanhBackward(dy: Tensor, y: Tensor): Tensor | undefined {
  if (!fusable(dy, y)) return undefined;
  const n = y.size, out = allocate(y.dtype, n);
  const g = dy.nd.data, go = dy.nd.offset, v = y.nd.data, vo = y.nd.offset;
  if (y.dtype === 'float32') {
    const r = Math.fround;
    for (let i = 0; i < n; i++) {
      const yi = v[vo + i]!;
      out[i] = g[go + i]! * r(1 - r(yi * yi));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const yi = v[vo + i]!;
      out[i] = g[go + i]! * (1 - yi * yi);
    }
  }
  return tensorOf(out, y.shape);
}
