/** Neural-network operations: softmax family (composites), 2-d convolution, transposed convolution and pooling (NCHW), one-hot. */
import { bind } from '../backend/index.js';
import { type DType, allocate, checkDType } from '../tensor/dtype.js';
import { type TensorLike, fromData, strongDType, toTensor } from '../tensor/convert.js';
import { ShapeError, normalizeAxis, shapeStr } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, exp, sub } from './elementwise.js';
import type { Conv2dParams, Pool2dParams } from './primitive.js';
import { logsumexp, max, sum } from './reduce.js';

/** softmax along `axis` (default: the last): exp(x − max) / Σ exp(x − max). */
export function softmax(x: TensorLike, axis = -1): Tensor {
  const t = toTensor(x, 'softmax');
  const a = normalizeAxis('softmax', axis, Math.max(t.ndim, 1));
  // a 0-d tensor is a slice of one element (axis 0 or -1), as in PyTorch
  if (t.ndim === 0) return softmax(t.reshape([1]), 0).reshape([]);
  const e = exp(sub(t, max(t, a, { keepDims: true })));
  return div(e, sum(e, a, { keepDims: true }));
}

/** log(softmax(x)) along `axis`, computed as x − logsumexp(x) (no underflow to −∞ for tiny probabilities). */
export function logSoftmax(x: TensorLike, axis = -1): Tensor {
  const t = toTensor(x, 'logSoftmax');
  const a = normalizeAxis('logSoftmax', axis, Math.max(t.ndim, 1));
  if (t.ndim === 0) return logSoftmax(t.reshape([1]), 0).reshape([]);
  return sub(t, logsumexp(t, a, { keepDims: true }));
}

/** One value for both spatial dimensions, or `[height, width]`. @inline */
type Pair = number | readonly [number, number];

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  /** Step between windows; default 1. */
  stride?: Pair;
  /** Zero padding on each side of H and W, or `'same'` (output size = input size / stride, rounded up) or `'valid'` (none); default 0. */
  padding?: Pair | 'same' | 'valid';
  /** Spacing between kernel taps; default 1. */
  dilation?: Pair;
  /** Split channels into groups convolved separately; default 1. */
  groups?: number;
}

/** Options of the pooling operations. */
export interface Pool2dOptions {
  /** Step between windows; default the window size. */
  stride?: Pair;
  /** Padding on each side (−∞ for max pooling, counted as zeros for average pooling); default 0. */
  padding?: Pair;
  /** Spacing between window taps; default 1. */
  dilation?: Pair;
}

function pair(op: string, name: string, v: Pair | undefined, dflt: number, min: number): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((n) => Number.isInteger(n) && n >= min)) throw new RangeError(`${op}: ${name} must be integers ≥ ${min}, got ${JSON.stringify(v)}`);
  return p;
}

function outSize(n: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** The operands and options conv2d and convTranspose2d parse alike. */
interface ConvOperands {
  xt: Tensor;
  wt: Tensor;
  /** Whether `x` was one image (3-d), to be unbatched again. */
  single: boolean;
  groups: number;
  stride: [number, number];
  dilation: [number, number];
}

/**
 * Shared parsing of the convolutions: one dtype for both operands (a float32/float64 mix
 * promotes to float64, the kernels need one), a 3-d `x` as a batch of one, 4-d operands
 * (`layout` names them in the error), positive integer groups, stride and dilation.
 */
function convOperands(op: string, x: TensorLike, w: TensorLike, options: { stride?: Pair; dilation?: Pair; groups?: number }, layout: string): ConvOperands {
  const dt = strongDType(x, w);
  let xt = toTensor(x, op, dt);
  let wt = toTensor(w, op, dt);
  if (xt.dtype !== wt.dtype) [xt, wt] = [xt.astype('float64'), wt.astype('float64')];
  const single = xt.ndim === 3;
  if (single) xt = xt.reshape([1, ...xt.shape]);
  if (xt.ndim !== 4 || wt.ndim !== 4) {
    throw new ShapeError(`${op}: expected ${layout}, got ${shapeStr(xt.shape)} and ${shapeStr(wt.shape)}`);
  }
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  const stride = pair(op, 'stride', options.stride, 1, 1);
  const dilation = pair(op, 'dilation', options.dilation, 1, 1);
  return { xt, wt, single, groups, stride, dilation };
}

/**
 * 2-d convolution (cross-correlation, as in every DL framework) of an NCHW batch `x` with
 * filters `w` of shape [outChannels, inChannels/groups, KH, KW]. A 3-d `x` is one image.
 */
export function conv2d(x: TensorLike, w: TensorLike, options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const { xt, wt, single, groups, stride, dilation } = convOperands(op, x, w, options, 'input [N,C,H,W] and filters [O,C/groups,KH,KW]');
  const [, c, h, wd] = xt.shape;
  const [o, cg, kh, kw] = wt.shape;
  if (c !== cg * groups || o % groups !== 0) {
    throw new ShapeError(`${op}: input ${shapeStr(xt.shape)} has ${c} channels but filters ${shapeStr(wt.shape)} with groups=${groups} expect ${cg * groups} (and out channels divisible by groups)`);
  }
  let padding: [number, number];
  if (options.padding === 'valid') padding = [0, 0];
  else if (options.padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new RangeError(`${op}: padding 'same' needs stride 1`);
    const need = [dilation[0] * (kh - 1), dilation[1] * (kw - 1)];
    if (need.some((n) => n % 2 !== 0)) throw new RangeError(`${op}: padding 'same' needs an odd effective kernel size, got ${kh}×${kw} with dilation ${dilation.join('×')}`);
    padding = [need[0] / 2, need[1] / 2];
  } else padding = pair(op, 'padding', options.padding, 0, 0);
  const oh = outSize(h, kh, stride[0], padding[0], dilation[0]);
  const ow = outSize(wd, kw, stride[1], padding[1], dilation[1]);
  if (oh < 1 || ow < 1) {
    throw new ShapeError(`${op}: kernel ${kh}×${kw} (dilation ${dilation.join('×')}) does not fit input ${h}×${wd} with padding ${padding.join('×')}`);
  }
  const params: Conv2dParams = { stride, padding, dilation, groups };
  const out = bind('conv2d', [xt, wt], params);
  return single ? out.reshape(out.shape.slice(1)) : out;
}

/** Options of {@link convTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Stride of the convolution this one transposes (the upsampling factor); default 1. */
  stride?: Pair;
  /** Rows and columns cropped from each side of the full output; default 0. */
  padding?: Pair;
  /** Spacing between kernel taps; default 1. */
  dilation?: Pair;
  /** Split channels into groups convolved separately; default 1. */
  groups?: number;
  /** Extra rows and columns added at the bottom and right of the output (each less than the stride), to pick one of the input sizes a strided convolution maps to the same size; default 0. */
  outputPadding?: Pair;
}

/**
 * Transposed 2-d convolution (sometimes called deconvolution) of an NCHW batch `x`
 * `[N, Cin, H, W]` with filters `w` of shape `[Cin, Cout/groups, KH, KW]` (PyTorch's
 * `ConvTranspose2d` layout): the adjoint of {@link conv2d} with the same options, i.e. the
 * gradient of `conv2d(·, w)` with respect to its input. The output is `[N, Cout, OH, OW]` with
 * `OH = (H − 1)·stride − 2·padding + dilation·(KH − 1) + outputPadding + 1` (likewise OW).
 * A 3-d `x` is one image.
 */
export function convTranspose2d(x: TensorLike, w: TensorLike, options: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  const { xt, wt, single, groups, stride, dilation } = convOperands(op, x, w, options, 'input [N,Cin,H,W] and filters [Cin,Cout/groups,KH,KW]');
  const [n, c, h, wd] = xt.shape;
  const [ci, og, kh, kw] = wt.shape;
  if (c !== ci || ci % groups !== 0) {
    throw new ShapeError(`${op}: input ${shapeStr(xt.shape)} has ${c} channels but filters ${shapeStr(wt.shape)} with groups=${groups} expect ${ci} (a multiple of groups)`);
  }
  const padding = pair(op, 'padding', options.padding, 0, 0);
  const outPad = pair(op, 'outputPadding', options.outputPadding, 0, 0);
  if (outPad[0] >= stride[0] || outPad[1] >= stride[1]) {
    throw new RangeError(`${op}: outputPadding ${outPad.join('×')} must be less than the stride ${stride.join('×')}`);
  }
  const oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + outPad[0] + 1;
  const ow = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + outPad[1] + 1;
  if (oh < 1 || ow < 1) {
    throw new ShapeError(`${op}: padding ${padding.join('×')} crops away the whole output of input ${h}×${wd} with kernel ${kh}×${kw} (output ${oh}×${ow})`);
  }
  // conv2d of an [N, Cout, OH, OW] image with these filters has [N, Cin, H, W] output (outputPadding < stride)
  const params: Conv2dParams & { xShape: number[] } = { stride, padding, dilation, groups, xShape: [n, og * groups, oh, ow] };
  const out = bind('conv2dBackwardInput', [xt, wt], params);
  return single ? out.reshape(out.shape.slice(1)) : out;
}

function pool(op: 'maxPool2d' | 'avgPool2d', x: TensorLike, kernel: Pair, options: Pool2dOptions): Tensor {
  let t = toTensor(x, op);
  const single = t.ndim === 3;
  if (single) t = t.reshape([1, ...t.shape]);
  if (t.ndim !== 4) throw new ShapeError(`${op}: expected input [N,C,H,W] (or [C,H,W]), got ${shapeStr(t.shape)}`);
  const k = pair(op, 'kernel', kernel, 1, 1);
  const stride = pair(op, 'stride', options.stride ?? k, 1, 1);
  const padding = pair(op, 'padding', options.padding, 0, 0);
  const dilation = pair(op, 'dilation', options.dilation, 1, 1);
  if (padding[0] * 2 > k[0] || padding[1] * 2 > k[1]) {
    throw new RangeError(`${op}: padding ${padding.join('×')} must be at most half the kernel ${k.join('×')}`);
  }
  const [, , h, w] = t.shape;
  const oh = outSize(h, k[0], stride[0], padding[0], dilation[0]);
  const ow = outSize(w, k[1], stride[1], padding[1], dilation[1]);
  if (oh < 1 || ow < 1) throw new ShapeError(`${op}: window ${k.join('×')} does not fit input ${h}×${w} with padding ${padding.join('×')}`);
  const params: Pool2dParams = { kernel: k, stride, padding, dilation };
  const out = bind(op, [t], params);
  return single ? out.reshape(out.shape.slice(1)) : out;
}

/** Max pooling over `kernel`-sized windows of an NCHW batch (stride defaults to the kernel). */
export function maxPool2d(x: TensorLike, kernel: Pair, options: Pool2dOptions = {}): Tensor {
  return pool('maxPool2d', x, kernel, options);
}

/** Average pooling over `kernel`-sized windows of an NCHW batch; padded cells count as zeros (PyTorch's default). */
export function avgPool2d(x: TensorLike, kernel: Pair, options: Pool2dOptions = {}): Tensor {
  return pool('avgPool2d', x, kernel, options);
}

/**
 * One-hot encoding: integer labels of any shape → `[...labels.shape, numClasses]` with a 1 at each label.
 * ```ts
 * oneHot([2, 0], 3)   // [[0, 0, 1], [1, 0, 0]]
 * ```
 */
export function oneHot(labels: TensorLike, numClasses: number, options: { dtype?: DType } = {}): Tensor {
  const t = toTensor(labels, 'oneHot');
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  const dtype = checkDType(options.dtype ?? 'float64', 'oneHot');
  const src = t.data;
  const out = allocate(dtype, src.length * numClasses);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) throw new RangeError(`oneHot: label ${v} at position ${i} is not an integer in [0, ${numClasses})`);
    out[i * numClasses + v] = 1;
  }
  return fromData(out, [...t.shape, numClasses]);
}
