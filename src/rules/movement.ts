/** Derivative rules of the shape primitives (src/ops/movement.ts). */
import { zeros } from '../tensor/create.js';
import {
  gather, pad, permute, reshape, scatterAdd, slice, unsqueeze, type SliceRange,
} from '../ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rule } from './rule.js';
import { sumTo } from './util.js';

type MovementPrim = 'reshape' | 'permute' | 'broadcastTo' | 'slice' | 'concat' | 'pad' | 'gather' | 'scatterAdd';

export const movementRules: { [P in MovementPrim]: Rule<P> } = {
  reshape: (dy, [x]) => [reshape(dy, x.shape)],
  permute: (dy, _x, _y, { perm }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [permute(dy, inv)];
  },
  broadcastTo: (dy, [x]) => [sumTo(dy, x.shape)],
  slice: (dy, [x], _y, p) => [unslice(dy, x, p.start, p.step, p.size)],
  concat: (dy, xs, _y, { axis }, need) => {
    let at = 0;
    return xs.map((x, i) => {
      const n = x.shape[axis];
      const r: SliceRange[] = x.shape.map(() => null);
      r[axis] = [at, at + n];
      at += n;
      return need[i] ? slice(dy, r) : null;
    });
  },
  pad: (dy, [x], _y, { pads }) => [slice(dy, pads.map(([before], d) => [before, before + x.shape[d]] as const))],
  gather: (dy, [x, idx], _y, { axis }) => [scatterAdd(dy, idx, axis, x.shape[axis]), null],
  scatterAdd: (dy, [, idx], _y, { axis }) => [gather(dy, idx, axis), null],
};

/**
 * The adjoint of a strided slice: `dy` placed back at the sliced positions of zeros shaped
 * like `x`. Built from differentiable shape operations (reverse, interleave zeros, pad), one
 * dimension at a time, so it can be differentiated again.
 */
function unslice(dy: Tensor, x: Tensor, start: number[], step: number[], size: number[]): Tensor {
  if (size.some((s) => s === 0)) return zeros(x.shape, { dtype: dy.dtype });
  let g = dy;
  for (let d = 0; d < x.ndim; d++) {
    const n = x.shape[d];
    let a = start[d], s = step[d];
    const len = size[d];
    if (s < 0) {
      // reversed selection: flip it so indices ascend from the last one picked
      const r: SliceRange[] = g.shape.map(() => null);
      r[d] = [null, null, -1];
      g = slice(g, r);
      a += (len - 1) * s;
      s = -s;
    }
    if (s > 1 && len > 1) {
      // interleave s−1 zeros after each element, then drop the trailing ones
      const shape = g.shape.slice();
      const gaps = Array.from({ length: g.ndim + 1 }, (_, i): [number, number] => (i === d + 1 ? [0, s - 1] : [0, 0]));
      const padded = pad(unsqueeze(g, d + 1), gaps);
      shape[d] = len * s;
      const r: SliceRange[] = shape.map(() => null);
      r[d] = [0, (len - 1) * s + 1];
      g = slice(reshape(padded, shape), r);
    }
    const span = s > 1 && len > 1 ? (len - 1) * s + 1 : len;
    if (a !== 0 || a + span !== n) {
      const pads = g.shape.map((): [number, number] => [0, 0]);
      pads[d] = [a, n - a - span];
      g = pad(g, pads);
    }
  }
  return g;
}
