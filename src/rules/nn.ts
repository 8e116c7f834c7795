/**
 * Derivative rules of convolution and pooling (src/ops/nn.ts). Each backward primitive is
 * linear in its cotangent argument, and its own rule is the adjoint pairing, so second
 * derivatives stay within this set. softmax, logSoftmax and oneHot need none.
 */
import { bind } from '../backend/index.js';
import type { Conv2dParams, Pool2dParams } from '../ops/primitive.js';
import type { Rule } from './rule.js';

type NnPrim =
  | 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardFilter'
  | 'maxPool2d' | 'maxPool2dBackward' | 'maxPool2dGather' | 'avgPool2d' | 'avgPool2dBackward';

const conv = (p: Conv2dParams): Conv2dParams => ({ stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups });
const pool = (p: Pool2dParams): Pool2dParams => ({ kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation });

export const nnRules: { [P in NnPrim]: Rule<P> } = {
  conv2d: (dy, [x, w], _y, p, need) => [
    need[0] ? bind('conv2dBackwardInput', [dy, w], { ...p, xShape: x.shape.slice() }) : null,
    need[1] ? bind('conv2dBackwardFilter', [x, dy], { ...p, wShape: w.shape.slice() }) : null,
  ],
  // ⟨g, Bᵢ(δ, w)⟩ = ⟨conv(g, w), δ⟩: linear in δ and in w
  conv2dBackwardInput: (g, [delta, w], _y, p, need) => [
    need[0] ? bind('conv2d', [g, w], conv(p)) : null,
    need[1] ? bind('conv2dBackwardFilter', [g, delta], { ...conv(p), wShape: w.shape.slice() }) : null,
  ],
  // ⟨h, B_w(x, δ)⟩ = ⟨conv(x, h), δ⟩
  conv2dBackwardFilter: (h, [x, delta], _y, p, need) => [
    need[0] ? bind('conv2dBackwardInput', [delta, h], { ...conv(p), xShape: x.shape.slice() }) : null,
    need[1] ? bind('conv2d', [x, h], conv(p)) : null,
  ],
  // the maximum's position is piecewise constant in x: no gradient flows through it
  maxPool2d: (dy, [x], _y, p) => [bind('maxPool2dBackward', [x, dy], p)],
  maxPool2dBackward: (g, _in, _y, p, need) => [null, need[1] ? bind('maxPool2dGather', [_in[0], g], pool(p)) : null],
  maxPool2dGather: (g, [x], _y, p, need) => [null, need[1] ? bind('maxPool2dBackward', [x, g], p) : null],
  avgPool2d: (dy, [x], _y, p) => [bind('avgPool2dBackward', [dy], { ...p, xShape: x.shape.slice() })],
  avgPool2dBackward: (g, _in, _y, p) => [bind('avgPool2d', [g], pool(p))],
};
