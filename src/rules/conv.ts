/**
 * A convolution layer's `relu?(conv2d(x, w) + b)` as one node with a hand-written
 * derivative, for Conv layers whose activation is relu or the identity.
 *
 * Forward: the CPU kernel adds the bias and applies relu as it stores the output
 * (src/backend/cpu/conv.ts `conv2dBiasRelu`), bit for bit the separate operations. Backward:
 * one pass over the cotangent masks it where the output is not positive (relu'(0) = 0, as
 * the relu rule) and sums the bias gradient per channel; then the two convolution gradients.
 * The composite records five operations and six kernel passes over the full-size
 * activation (add, relu; gt, mul, sum) where this makes two.
 *
 * Whenever a value is traced by an enclosing gradient (second derivatives, a traced
 * cotangent), or the operations do not run on the CPU kernels, it computes with differentiable
 * operations instead, so derivatives of every order stay exact.
 *
 * @module
 */
import { customGradient } from '../ad/custom.js';
import { tracingDepth } from '../ad/tape.js';
import { bind, cpuDispatch } from '../backend/index.js';
import { conv2dBiasRelu, conv2dOutputShape, type Shape4 } from '../backend/cpu/conv.js';
import { tensorOf } from '../backend/cpu/ndview.js';
import { allocate } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, gt, mul, relu as reluOp } from '../ops/elementwise.js';
import { reshape } from '../ops/movement.js';
import type { Conv2dParams } from '../ops/primitive.js';
import { sum } from '../ops/reduce.js';

const isTraced = (t: Tensor | null): boolean => t !== null && t._ad !== undefined;

/** Whether the fused kernels may compute this: CPU kernels, no device, one dtype. */
function fusable(x: Tensor, w: Tensor, b: Tensor | null): boolean {
  return cpuDispatch() && x.device === undefined && w.device === undefined && x.dtype === w.dtype
    && (b === null || (b.device === undefined && b.dtype === x.dtype));
}

/** The definition, in differentiable operations. */
function composite(x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, relu: boolean): Tensor {
  let y = bind('conv2d', [x, w], p);
  if (b !== null) y = add(y, reshape(b, [b.shape[0]!, 1, 1]));
  return relu ? reluOp(y) : y;
}

/**
 * The fused forward kernel on plain CPU tensors. Only while no gradient is open may it take
 * the Winograd path, whose rounding differs from the kernels a gradient's recomputation runs.
 */
function fusedForward(x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, relu: boolean): Tensor {
  const xs = x.shape as unknown as Shape4, ws = w.shape as unknown as Shape4;
  const inference = tracingDepth() === 0;
  return tensorOf(conv2dBiasRelu(x.data, xs, w.data, ws, p, b === null ? null : b.data, relu, inference), conv2dOutputShape(xs, ws, p));
}

/**
 * The convolution gradients of cotangent `ds` (of the pre-activation), through the primitives
 * (recorded when traced); the input's only when some gradient traces the input.
 */
function convGradients(ds: Tensor, x: Tensor, w: Tensor, p: Conv2dParams, needInput: boolean): [Tensor | null, Tensor] {
  return [
    needInput ? bind('conv2dBackwardInput', [ds, w], { ...p, xShape: x.shape.slice() }) : null,
    bind('conv2dBackwardFilter', [x, ds], { ...p, wShape: w.shape.slice() }),
  ];
}

/** The pullback in differentiable operations: the relu and add rules, then the convolution's. */
function tracedPullback(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, p: Conv2dParams, relu: boolean, needInput: boolean, dy: Tensor): (Tensor | null)[] {
  // y > 0 exactly where the pre-activation is (relu keeps NaN and −0, neither is > 0)
  const ds = relu ? mul(dy, gt(y, 0)) : dy;
  const [dx, dw] = convGradients(ds, x, w, p, needInput);
  return [dx, dw, b === null ? null : sum(ds, [0, 2, 3]), null, null, null];
}

/**
 * One pass: ds = dy·[y > 0] (a product, as the relu rule's mul: a NaN cotangent stays NaN)
 * and the bias gradient Σ ds per channel (float64 sums, rounded to the dtype once).
 */
function fusedPullback(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, p: Conv2dParams, relu: boolean, needInput: boolean, dy: Tensor): (Tensor | null)[] {
  const [n, o, oh, ow] = y.shape as [number, number, number, number];
  const plane = oh * ow;
  const dyd = dy.data, yd = y.data;
  let ds = dy;
  const sums = new Float64Array(o);
  // `+(y > 0)` rather than a branch: the signs of y are as good as random, and a mispredicted
  // branch per element made this loop 3.6x slower (10 vs 2.8 ms over 64×32×26×26); two partial
  // sums halve the chain of dependent additions
  if (relu) {
    const dsd = allocate(dy.dtype, dyd.length);
    for (let bi = 0; bi < n; bi++) {
      for (let c = 0; c < o; c++) {
        const start = (bi * o + c) * plane, end = start + plane;
        let s0 = 0, s1 = 0, i = start;
        for (; i + 1 < end; i += 2) {
          const v0 = dyd[i]! * +(yd[i]! > 0), v1 = dyd[i + 1]! * +(yd[i + 1]! > 0);
          dsd[i] = v0;
          dsd[i + 1] = v1;
          s0 += v0;
          s1 += v1;
        }
        if (i < end) {
          const v = dyd[i]! * +(yd[i]! > 0);
          dsd[i] = v;
          s0 += v;
        }
        sums[c] += s0 + s1;
      }
    }
    ds = tensorOf(dsd, y.shape.slice());
  } else if (b !== null) {
    for (let bi = 0; bi < n; bi++) {
      for (let c = 0; c < o; c++) {
        const start = (bi * o + c) * plane, end = start + plane;
        let s0 = 0, s1 = 0, i = start;
        for (; i + 1 < end; i += 2) {
          s0 += dyd[i]!;
          s1 += dyd[i + 1]!;
        }
        if (i < end) s0 += dyd[i]!;
        sums[c] += s0 + s1;
      }
    }
  }
  const [dx, dw] = convGradients(ds, x, w, p, needInput);
  if (b === null) return [dx, dw, null, null, null, null];
  const db = allocate(b.dtype, o);
  db.set(sums);
  return [dx, dw, tensorOf(db, [o]), null, null, null];
}

/**
 * `relu?(conv2d(x, w, p) + b)` (b `[O]` or null; `relu` false for the identity) with the
 * derivative above. `x` `[N, C, H, W]` and `w` `[O, C/groups, KH, KW]` already checked by the
 * layer; `p` the primitive's parameters (symmetric padding). `needInput`: whether any gradient
 * traces `x` (the rule sees only primals; without it the pullback returns no input gradient,
 * which spares the first layer's full input-gradient convolution).
 * @internal Called by the Conv layer for relu and identity activations.
 */
export const convBiasRelu: (x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, relu: boolean, needInput: boolean) => Tensor = customGradient(
  (x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, relu: boolean, _needInput: boolean) =>
    (fusable(x, w, b) ? fusedForward(x, w, b, p, relu) : composite(x, w, b, p, relu)),
  (x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, relu: boolean, needInput: boolean) => {
    if (isTraced(x) || isTraced(w) || isTraced(b) || !fusable(x, w, b)) {
      // values traced by an enclosing gradient: every step must be recorded there too
      const y = composite(x, w, b, p, relu);
      return [y, (dy: Tensor) => tracedPullback(x, w, b, y, p, relu, needInput, dy)];
    }
    const y = fusedForward(x, w, b, p, relu);
    return [y, (dy: Tensor) => (isTraced(dy) || !cpuDispatch() || dy.device !== undefined
      ? tracedPullback(x, w, b, y, p, relu, needInput, dy) : fusedPullback(x, w, b, y, p, relu, needInput, dy))];
  },
);
