/**
 * Convolution, pooling and resampling layers over NCHW images: `Conv`, `ConvTranspose`,
 * `DepthwiseConv`, `MaxPool`, `MeanPool`, `GlobalMaxPool`, `GlobalMeanPool`,
 * `AdaptiveMaxPool`, `AdaptiveMeanPool`, `Upsample`.
 *
 * Inputs are batches `[B, C, H, W]`; a single image `[C, H, W]` is accepted too and gives a
 * single image back (Flux accepts only batches; fluxion's Dense takes a single vector, and
 * the convolution ops take a single image, so the layers do the same). Filters use PyTorch's
 * layouts: `[out, in/groups, kh, kw]` for Conv, `[in, out/groups, kh, kw]` for ConvTranspose.
 */
import { Tensor } from '../tensor/tensor.js';
import type { TensorLike } from '../tensor/convert.js';
import { fromData } from '../tensor/convert.js';
import { ShapeError } from '../tensor/shape.js';
import { type DType, allocate } from '../tensor/dtype.js';
import { zeros } from '../tensor/create.js';
import { add, relu } from '../ops/elementwise.js';
import type { Conv2dParams } from '../ops/primitive.js';
import { convBiasRelu } from '../rules/conv.js';
import { cpuDispatch } from '../backend/index.js';
import { conv2dBiasReluMaxPool2x2, conv2dOutputShape, type Shape4 } from '../backend/cpu/conv.js';
import { tensorOf } from '../backend/cpu/ndview.js';
import { max, mean } from '../ops/reduce.js';
import { matmul } from '../ops/linalg.js';
import { broadcastTo, concat, pad, reshape, slice, transpose } from '../ops/movement.js';
import { avgPool2d, conv2d, convTranspose2d, maxPool2d } from '../ops/nn.js';
import { Layer, describeValue, labelOf, layer, layerLabel } from './layer.js';
import { plainInstance, registerRunFusion } from './fusion.js';
import { type Activation, asInput, identity } from './basic.js';
import { type Initializer, glorotUniform } from './init.js';

/** One value for both spatial dimensions, or `[height, width]`. */
export type SpatialPair = number | readonly [number, number];

/**
 * Zero padding of a convolution: one number for every side, `[ph, pw]` (top and bottom,
 * left and right), `[top, bottom, left, right]`, `'valid'` (none) or `'same'`: a total of
 * `dilation·(k − 1)` per dimension, split with the odd one at the bottom/right (Flux's
 * `SamePad()`), so the output is `ceil(input / stride)`.
 */
export type ConvPadding = number | readonly [number, number] | readonly [number, number, number, number] | 'same' | 'valid';

/** Options of {@link Conv}. */
export interface ConvOptions {
  /** Step between windows; default 1. */
  stride?: SpatialPair;
  /** Zero padding; default 0. See {@link ConvPadding}. */
  padding?: ConvPadding;
  /** Spacing between kernel taps; default 1. */
  dilation?: SpatialPair;
  /** Split the channels into groups convolved separately (`in` and `out` multiples of it); default 1. */
  groups?: number;
  /** `false` for no bias, or a bias tensor of shape `[out]`; default zeros. */
  bias?: boolean | Tensor;
  /** Filter initialiser, called with the filter shape; default {@link glorotUniform} (fans as in `fans`). */
  init?: Initializer;
  /** Parameter dtype; default `'float32'`. */
  dtype?: DType;
}

/** Options of {@link ConvTranspose}. */
export interface ConvTransposeOptions extends Omit<ConvOptions, 'padding'> {
  /** Rows and columns cropped from each side of the full output; default 0. */
  padding?: SpatialPair;
  /** Rows and columns added at the bottom and right (each less than the stride); default 0. */
  outputPadding?: SpatialPair;
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;
const tuple = (p: readonly number[]): string => `(${p.join(', ')})`;
/** Flux's `_maybetuple_string`: one number when all agree. */
const maybeTuple = (p: readonly number[]): string => (p.every((v) => v === p[0]) ? String(p[0]) : tuple(p));
const activationText = (σ: unknown): string => (σ === identity ? '' : `, ${typeof σ === 'function' ? σ.name || 'σ' : String(σ)}`);

function positive(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TypeError(`${op}: ${name} must be a positive integer, got ${describeValue(v)}`);
  return v;
}

function pairOf(op: string, name: string, v: unknown, dflt: number, min: number): [number, number] {
  const p = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : null;
  if (p === null || !p.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= min)) {
    throw new TypeError(`${op}: ${name} must be an integer ≥ ${min} or a pair of them, got ${Array.isArray(v) ? JSON.stringify(v) : describeValue(v)}`);
  }
  return p as [number, number];
}

function activation(op: string, σ: unknown): Activation {
  if (typeof σ !== 'function') throw new TypeError(`${op}: the activation must be a function, got ${describeValue(σ)}`);
  return σ as Activation;
}

/** `[top, bottom, left, right]` for a kernel of size k and dilation d. */
function resolvePadding(op: string, p: ConvPadding | undefined, k: [number, number], d: [number, number]): [number, number, number, number] {
  if (p === 'valid') return [0, 0, 0, 0];
  if (p === 'same') {
    const [th, tw] = [d[0] * (k[0] - 1), d[1] * (k[1] - 1)];
    return [Math.floor(th / 2), Math.ceil(th / 2), Math.floor(tw / 2), Math.ceil(tw / 2)];
  }
  if (Array.isArray(p) && p.length === 4) {
    if (!p.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)) throw new TypeError(`${op}: padding must be integers ≥ 0, got ${JSON.stringify(p)}`);
    return [p[0], p[1], p[2], p[3]];
  }
  if (typeof p === 'string') throw new TypeError(`${op}: padding must be a number, a pair, four numbers, 'same' or 'valid', got ${describeValue(p)}`);
  const [ph, pw] = pairOf(op, 'padding', p, 0, 0);
  return [ph, ph, pw, pw];
}

/** Checks an image input's rank and channels: `[B, C, H, W]`, or `[C, H, W]` made a batch of one. */
function imageInput(self: object, x: Tensor, channels: number | undefined): { x4: Tensor; single: boolean } {
  const okRank = x.ndim === 4 || x.ndim === 3;
  const c = x.shape[x.ndim - 3];
  if (!okRank || (channels !== undefined && c !== channels)) {
    const ch = channels ?? 'C';
    throw new ShapeError(`${labelOf(self)} expects input [B, ${ch}, H, W] (NCHW) or [${ch}, H, W], got input of shape ${shapeText(x.shape)}`);
  }
  return x.ndim === 3 ? { x4: reshape(x, [1, ...x.shape]), single: true } : { x4: x, single: false };
}

/** Layers without parameters keep a tensor's dtype; arrays become float32 (the layers' default). */
const poolInput = (self: object, input: TensorLike): Tensor => asInput(self, input, input instanceof Tensor ? input.dtype : 'float32');

const unbatch = (y: Tensor, single: boolean): Tensor => (single ? reshape(y, y.shape.slice(1)) : y);

/** Options shown after the sizes, in Flux's order. */
function convOptionsText(l: { padding: readonly number[]; stride: readonly number[]; dilation: readonly number[]; groups: number; bias: Tensor | false; outputPadding?: readonly number[] }): string {
  let s = '';
  const p = l.padding;
  if (p.some((v) => v !== 0)) s += `, pad=${p.length === 4 && (p[0] !== p[1] || p[2] !== p[3]) ? tuple(p) : maybeTuple(p.length === 4 ? [p[0], p[2]] : p)}`;
  if (l.outputPadding?.some((v) => v !== 0)) s += `, outpad=${maybeTuple(l.outputPadding)}`;
  if (l.stride.some((v) => v !== 1)) s += `, stride=${maybeTuple(l.stride)}`;
  if (l.dilation.some((v) => v !== 1)) s += `, dilation=${maybeTuple(l.dilation)}`;
  if (l.groups !== 1) s += `, groups=${l.groups}`;
  if (l.bias === false) s += ', bias=false';
  return s;
}

function makeBias(op: string, opt: boolean | Tensor | undefined, n: number, dtype: DType): Tensor | false {
  if (opt === false) return false;
  if (opt instanceof Tensor) {
    if (opt.ndim !== 1 || opt.shape[0] !== n) throw new ShapeError(`${op}: the bias must have shape [${n}], got ${shapeText(opt.shape)}`);
    return opt;
  }
  return zeros([n], { dtype });
}

function makeWeight(op: string, init: Initializer, shape: number[], dtype: DType): Tensor {
  const w = init(shape, { dtype });
  if (!(w instanceof Tensor) || w.shape.length !== 4 || w.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${op}: the initialiser must return a tensor of shape ${shapeText(shape)}, got ${describeValue(w)}`);
  }
  return w;
}

const addBias = (y: Tensor, b: Tensor | false): Tensor => (b === false ? y : add(y, reshape(b, [b.shape[0], 1, 1])));

// ---------------------------------------------------------------- Conv, DepthwiseConv

/**
 * 2-d convolution (cross-correlation) of NCHW images: `σ(conv(x, weight) + bias)`, with
 * `weight` of shape `[out, in/groups, kh, kw]` (PyTorch's layout) and `bias` `[out]`.
 * `[B, in, H, W]` → `[B, out, OH, OW]`, `OH = floor((H + top + bottom − dilation·(kh − 1) − 1) / stride) + 1`.
 * ```ts
 * Conv([3, 3], 1, 32, relu)                        // Conv((3, 3), 1 => 32, relu)
 * Conv(3, 32, 64, identity, { padding: 1, stride: 2 })
 * ```
 */
export const Conv = layer(class Conv extends Layer<[TensorLike], Tensor> {
  /** `[out, in/groups, kh, kw]`. */
  weight: Tensor;
  /** `[out]`, or `false` for none. */
  bias: Tensor | false;
  /** The activation. */
  σ: Activation;
  /** `[sh, sw]`. */
  stride: [number, number];
  /** `[top, bottom, left, right]`. */
  padding: [number, number, number, number];
  /** `[dh, dw]`. */
  dilation: [number, number];
  /** Number of channel groups. */
  groups: number;

  constructor(kernel: SpatialPair, inp: number, out: number, σ: Activation = identity, opts: ConvOptions = {}) {
    super();
    const k = pairOf('Conv', 'the kernel size', kernel, 1, 1);
    positive('Conv', 'the in size', inp);
    positive('Conv', 'the out size', out);
    this.groups = positive('Conv', 'groups', opts.groups ?? 1);
    if (inp % this.groups !== 0 || out % this.groups !== 0) {
      throw new TypeError(`Conv: in (${inp}) and out (${out}) must be multiples of groups (${this.groups})`);
    }
    this.stride = pairOf('Conv', 'stride', opts.stride, 1, 1);
    this.dilation = pairOf('Conv', 'dilation', opts.dilation, 1, 1);
    this.padding = resolvePadding('Conv', opts.padding, k, this.dilation);
    const dtype = opts.dtype ?? 'float32';
    this.weight = makeWeight('Conv', opts.init ?? glorotUniform, [out, inp / this.groups, k[0], k[1]], dtype);
    this.bias = makeBias('Conv', opts.bias, out, dtype);
    this.σ = activation('Conv', σ);
  }

  forward(input: TensorLike): Tensor {
    const { xp, params, single } = convInput(this, input);
    // relu and identity: bias and activation fused into the convolution (src/rules/conv.ts)
    if ((this.σ === relu || this.σ === identity) && xp.dtype === this.weight.dtype) {
      return unbatch(convBiasRelu(xp, this.weight, this.bias === false ? null : this.bias, params, this.σ === relu, xp._ad !== undefined), single);
    }
    const y = conv2d(xp, this.weight, params);
    return unbatch(this.σ(addBias(y, this.bias)), single);
  }

  /** @internal */
  [layerLabel](): string {
    const [o, cg, kh, kw] = this.weight.shape;
    return `Conv(${tuple([kh, kw])}, ${cg * this.groups} => ${o}${convOptionsText(this)}${activationText(this.σ)})`;
  }
});
/** A {@link Conv} layer. */
export type Conv = InstanceType<typeof Conv>;

/** A Conv's input as the primitive takes it (checked, batched, padded symmetrically), and the primitive's parameters. */
function convInput(self: Conv, input: TensorLike): { xp: Tensor; params: Conv2dParams; single: boolean } {
  const [, cg, kh, kw] = self.weight.shape;
  const { x4, single } = imageInput(self, asInput(self, input, self.weight.dtype), cg * self.groups);
  const [t, b, l, r] = self.padding;
  const [h, w] = [x4.shape[2] + t + b, x4.shape[3] + l + r];
  const eff = [self.dilation[0] * (kh - 1) + 1, self.dilation[1] * (kw - 1) + 1];
  if (h < eff[0] || w < eff[1]) throw kernelTooLarge(self, eff, [h, w], single ? x4.shape.slice(1) : x4.shape);
  // the primitive pads symmetrically; the odd row/column of an asymmetric padding is added first
  const [ph, pw] = [Math.min(t, b), Math.min(l, r)];
  const xp = pad(x4, [[0, 0], [0, 0], [t - ph, b - ph], [l - pw, r - pw]]);
  return { xp, params: { stride: self.stride, padding: [ph, pw], dilation: self.dilation, groups: self.groups }, single };
}

function kernelTooLarge(self: object, eff: readonly number[], padded: readonly number[], shape: readonly number[]): ShapeError {
  return new ShapeError(`${labelOf(self)} expects input with H×W at least ${eff.join('×')} after padding (the kernel's extent), got input of shape ${shapeText(shape)} (${padded.join('×')} after padding)`);
}

/** Options of {@link DepthwiseConv}: those of {@link Conv} but `groups` (always `in`). */
export type DepthwiseConvOptions = Omit<ConvOptions, 'groups'>;

/**
 * Depthwise convolution: a {@link Conv} with `groups = in`, so each input channel is
 * convolved with its own `out / in` filters (`out` a multiple of `in`). Returns a Conv, as
 * Flux's does (it prints as `Conv((3, 3), 3 => 6, groups=3)`).
 */
export function DepthwiseConv(kernel: SpatialPair, inp: number, out: number, σ: Activation = identity, opts: DepthwiseConvOptions = {}): Conv {
  positive('DepthwiseConv', 'the in size', inp);
  positive('DepthwiseConv', 'the out size', out);
  if (out % inp !== 0) throw new TypeError(`DepthwiseConv: out (${out}) must be a multiple of in (${inp})`);
  if ('groups' in opts) throw new TypeError('DepthwiseConv: groups is always the number of input channels; use Conv for other groupings');
  return Conv(kernel, inp, out, σ, { ...opts, groups: inp });
}

// ---------------------------------------------------------------- ConvTranspose

/**
 * Transposed convolution (the gradient of a convolution with respect to its input, used to
 * upsample): `[B, in, H, W]` → `[B, out, OH, OW]` with weight `[in, out/groups, kh, kw]`
 * (PyTorch's `ConvTranspose2d` layout) and
 * `OH = (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1` (likewise OW):
 * the inverse of {@link Conv}'s size formula with the same options.
 * ```ts
 * ConvTranspose([2, 2], 8, 4, relu, { stride: 2 })   // [B, 8, H, W] → [B, 4, 2H, 2W]
 * ```
 */
export const ConvTranspose = layer(class ConvTranspose extends Layer<[TensorLike], Tensor> {
  /** `[in, out/groups, kh, kw]`. */
  weight: Tensor;
  /** `[out]`, or `false` for none. */
  bias: Tensor | false;
  /** The activation. */
  σ: Activation;
  /** `[sh, sw]`. */
  stride: [number, number];
  /** `[ph, pw]`, cropped from each side. */
  padding: [number, number];
  /** `[dh, dw]`. */
  dilation: [number, number];
  /** Number of channel groups. */
  groups: number;
  /** `[oph, opw]`, added at the bottom and right. */
  outputPadding: [number, number];

  constructor(kernel: SpatialPair, inp: number, out: number, σ: Activation = identity, opts: ConvTransposeOptions = {}) {
    super();
    const k = pairOf('ConvTranspose', 'the kernel size', kernel, 1, 1);
    positive('ConvTranspose', 'the in size', inp);
    positive('ConvTranspose', 'the out size', out);
    this.groups = positive('ConvTranspose', 'groups', opts.groups ?? 1);
    if (inp % this.groups !== 0 || out % this.groups !== 0) {
      throw new TypeError(`ConvTranspose: in (${inp}) and out (${out}) must be multiples of groups (${this.groups})`);
    }
    this.stride = pairOf('ConvTranspose', 'stride', opts.stride, 1, 1);
    this.dilation = pairOf('ConvTranspose', 'dilation', opts.dilation, 1, 1);
    this.padding = pairOf('ConvTranspose', 'padding', opts.padding, 0, 0);
    this.outputPadding = pairOf('ConvTranspose', 'outputPadding', opts.outputPadding, 0, 0);
    if (this.outputPadding[0] >= this.stride[0] || this.outputPadding[1] >= this.stride[1]) {
      throw new TypeError(`ConvTranspose: outputPadding ${tuple(this.outputPadding)} must be less than the stride ${tuple(this.stride)}`);
    }
    const dtype = opts.dtype ?? 'float32';
    this.weight = makeWeight('ConvTranspose', opts.init ?? glorotUniform, [inp, out / this.groups, k[0], k[1]], dtype);
    this.bias = makeBias('ConvTranspose', opts.bias, out, dtype);
    this.σ = activation('ConvTranspose', σ);
  }

  /** The output size `[OH, OW]` for an input of spatial size `[h, w]`. */
  outputSize(h: number, w: number): [number, number] {
    const [, , kh, kw] = this.weight.shape;
    const size = (n: number, k: number, i: 0 | 1) => (n - 1) * this.stride[i] - 2 * this.padding[i] + this.dilation[i] * (k - 1) + this.outputPadding[i] + 1;
    return [size(h, kh, 0), size(w, kw, 1)];
  }

  forward(input: TensorLike): Tensor {
    const { x4, single } = imageInput(this, asInput(this, input, this.weight.dtype), this.weight.shape[0]);
    const [oh, ow] = this.outputSize(x4.shape[2], x4.shape[3]);
    if (oh < 1 || ow < 1) {
      throw new ShapeError(`${labelOf(this)} crops (padding ${this.padding.join('×')}) the whole output of input of shape ${shapeText((single ? x4.shape.slice(1) : x4.shape))} (output ${oh}×${ow})`);
    }
    const y = convTranspose2d(x4, this.weight, {
      stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups, outputPadding: this.outputPadding,
    });
    return unbatch(this.σ(addBias(y, this.bias)), single);
  }

  /** @internal */
  [layerLabel](): string {
    const [i, og, kh, kw] = this.weight.shape;
    return `ConvTranspose(${tuple([kh, kw])}, ${i} => ${og * this.groups}${convOptionsText(this)}${activationText(this.σ)})`;
  }
});
/** A {@link ConvTranspose} layer. */
export type ConvTranspose = InstanceType<typeof ConvTranspose>;

// ---------------------------------------------------------------- pooling

/** Options of {@link MaxPool} and {@link MeanPool}. */
export interface PoolOptions {
  /** Step between windows; default the window size. */
  stride?: SpatialPair;
  /** Padding on each side, at most half the window (−∞ for MaxPool; zeros that count in the mean for MeanPool); default 0. */
  padding?: SpatialPair;
}

function poolForward(self: { window: [number, number]; stride: [number, number]; padding: [number, number] }, input: TensorLike, which: 'max' | 'mean'): Tensor {
  const x = poolInput(self, input);
  const { x4, single } = imageInput(self, x, undefined);
  const [k, p] = [self.window, self.padding];
  const [h, w] = [x4.shape[2] + 2 * p[0], x4.shape[3] + 2 * p[1]];
  if (h < k[0] || w < k[1]) throw kernelTooLarge(self, k, [h, w], x.shape);
  const opts = { stride: self.stride, padding: p };
  return unbatch(which === 'max' ? maxPool2d(x4, k, opts) : avgPool2d(x4, k, opts), single);
}

function poolConfig(op: string, self: { window: [number, number]; stride: [number, number]; padding: [number, number] }, kernel: SpatialPair, opts: PoolOptions): void {
  self.window = pairOf(op, 'the window size', kernel, 1, 1);
  self.stride = pairOf(op, 'stride', opts.stride ?? self.window, 1, 1);
  self.padding = pairOf(op, 'padding', opts.padding, 0, 0);
  if (self.padding[0] * 2 > self.window[0] || self.padding[1] * 2 > self.window[1]) {
    throw new TypeError(`${op}: padding ${tuple(self.padding)} must be at most half the window ${tuple(self.window)}`);
  }
}

function poolLabel(name: string, self: { window: number[]; stride: number[]; padding: number[] }): string {
  let s = `${name}(${tuple(self.window)}`;
  if (self.padding.some((v) => v !== 0)) s += `, pad=${maybeTuple(self.padding)}`;
  if (self.stride.some((v, i) => v !== self.window[i])) s += `, stride=${maybeTuple(self.stride)}`;
  return `${s})`;
}

/**
 * Max pooling over `window`-sized windows (stride defaults to the window), padded with −∞.
 * `[B, C, H, W]` → `[B, C, OH, OW]`, `OH = floor((H + 2·padding − window) / stride) + 1`.
 */
export const MaxPool = layer(class MaxPool extends Layer<[TensorLike], Tensor> {
  /** `[kh, kw]`. */
  window!: [number, number];
  /** `[sh, sw]`. */
  stride!: [number, number];
  /** `[ph, pw]`. */
  padding!: [number, number];

  constructor(window: SpatialPair, opts: PoolOptions = {}) {
    super();
    poolConfig('MaxPool', this, window, opts);
  }

  forward(x: TensorLike): Tensor {
    return poolForward(this, x, 'max');
  }

  /** @internal */
  [layerLabel](): string {
    return poolLabel('MaxPool', this);
  }
});
/** A {@link MaxPool} layer. */
export type MaxPool = InstanceType<typeof MaxPool>;

/**
 * Mean (average) pooling over `window`-sized windows (stride defaults to the window). Padded
 * cells count as zeros in every window's mean (as Flux and PyTorch's default), so a mean is
 * always a sum divided by the window's area.
 */
export const MeanPool = layer(class MeanPool extends Layer<[TensorLike], Tensor> {
  /** `[kh, kw]`. */
  window!: [number, number];
  /** `[sh, sw]`. */
  stride!: [number, number];
  /** `[ph, pw]`. */
  padding!: [number, number];

  constructor(window: SpatialPair, opts: PoolOptions = {}) {
    super();
    poolConfig('MeanPool', this, window, opts);
  }

  forward(x: TensorLike): Tensor {
    return poolForward(this, x, 'mean');
  }

  /** @internal */
  [layerLabel](): string {
    return poolLabel('MeanPool', this);
  }
});
/** A {@link MeanPool} layer. */
export type MeanPool = InstanceType<typeof MeanPool>;


/** The maximum over each channel's whole image: `[B, C, H, W]` → `[B, C, 1, 1]` (as Flux; `[C, H, W]` → `[C, 1, 1]`). */
export const GlobalMaxPool = layer(class GlobalMaxPool extends Layer<[TensorLike], Tensor> {
  // an explicit constructor: without one, TypeScript declares this class's construct signature as `new (): this`, an error in .d.ts files (TS2526)
  constructor() {
    super();
  }

  forward(input: TensorLike): Tensor {
    const { x4, single } = imageInput(this, poolInput(this, input), undefined);
    return unbatch(max(x4, [2, 3], { keepDims: true }), single);
  }

  /** @internal */
  [layerLabel](): string {
    return 'GlobalMaxPool()';
  }
});
/** A {@link GlobalMaxPool} layer. */
export type GlobalMaxPool = InstanceType<typeof GlobalMaxPool>;

/** The mean over each channel's whole image: `[B, C, H, W]` → `[B, C, 1, 1]` (as Flux; `[C, H, W]` → `[C, 1, 1]`). */
export const GlobalMeanPool = layer(class GlobalMeanPool extends Layer<[TensorLike], Tensor> {
  // an explicit constructor: without one, TypeScript declares this class's construct signature as `new (): this`, an error in .d.ts files (TS2526)
  constructor() {
    super();
  }

  forward(input: TensorLike): Tensor {
    const { x4, single } = imageInput(this, poolInput(this, input), undefined);
    return unbatch(mean(x4, [2, 3], { keepDims: true }), single);
  }

  /** @internal */
  [layerLabel](): string {
    return 'GlobalMeanPool()';
  }
});
/** A {@link GlobalMeanPool} layer. */
export type GlobalMeanPool = InstanceType<typeof GlobalMeanPool>;

// ---------------------------------------------------------------- adaptive pooling

/**
 * The window of output cell `i` of `n` over an input of length `len` (PyTorch's adaptive
 * pooling): rows `floor(i·len/n)` up to `ceil((i + 1)·len/n)`, so the windows cover the
 * input, overlap by at most one row and differ in size by at most one.
 */
function adaptiveWindow(i: number, n: number, len: number): [number, number] {
  return [Math.floor((i * len) / n), Math.ceil(((i + 1) * len) / n)];
}

/** A constant `[rows, cols]` matrix whose row i has the given (column, weight) entries. */
function resampleMatrix(rows: number, cols: number, dtype: DType, entries: (i: number) => [number, number][]): Tensor {
  const a = allocate(dtype, rows * cols);
  for (let i = 0; i < rows; i++) for (const [j, v] of entries(i)) a[i * cols + j] += v;
  return fromData(a, [rows, cols]);
}

/** `A_h · x · A_wᵀ` on the last two dimensions: a separable linear map of every channel's image. */
function separable(x: Tensor, ah: Tensor, aw: Tensor): Tensor {
  return matmul(ah, matmul(x, transpose(aw)));
}

function outputPair(op: string, size: SpatialPair): [number, number] {
  return pairOf(op, 'the output size', size, 1, 1);
}

/**
 * Mean pooling to a fixed output size `[oh, ow]`, whatever the input's: output cell (i, j)
 * is the mean of rows `floor(i·H/oh)` … `ceil((i + 1)·H/oh) − 1` and the like columns
 * (PyTorch's adaptive windows; when `oh` divides `H` these are Flux's, non-overlapping
 * windows of `H/oh` rows). `[B, C, H, W]` → `[B, C, oh, ow]`.
 */
export const AdaptiveMeanPool = layer(class AdaptiveMeanPool extends Layer<[TensorLike], Tensor> {
  /** `[oh, ow]`. */
  outputSize: [number, number];

  constructor(outputSize: SpatialPair) {
    super();
    this.outputSize = outputPair('AdaptiveMeanPool', outputSize);
  }

  forward(input: TensorLike): Tensor {
    const { x4, single } = imageInput(this, poolInput(this, input), undefined);
    const [h, w] = [x4.shape[2], x4.shape[3]];
    const [oh, ow] = this.outputSize;
    const means = (n: number, len: number) => resampleMatrix(n, len, x4.dtype, (i) => {
      const [a, b] = adaptiveWindow(i, n, len);
      return Array.from({ length: b - a }, (_, k): [number, number] => [a + k, 1 / (b - a)]);
    });
    return unbatch(separable(x4, means(oh, h), means(ow, w)), single);
  }

  /** @internal */
  [layerLabel](): string {
    return `AdaptiveMeanPool(${tuple(this.outputSize)})`;
  }
});
/** An {@link AdaptiveMeanPool} layer. */
export type AdaptiveMeanPool = InstanceType<typeof AdaptiveMeanPool>;

/**
 * Max pooling to a fixed output size `[oh, ow]`, with the windows of {@link AdaptiveMeanPool}.
 * `[B, C, H, W]` → `[B, C, oh, ow]`.
 */
export const AdaptiveMaxPool = layer(class AdaptiveMaxPool extends Layer<[TensorLike], Tensor> {
  /** `[oh, ow]`. */
  outputSize: [number, number];

  constructor(outputSize: SpatialPair) {
    super();
    this.outputSize = outputPair('AdaptiveMaxPool', outputSize);
  }

  forward(input: TensorLike): Tensor {
    const { x4, single } = imageInput(this, poolInput(this, input), undefined);
    const [h, w] = [x4.shape[2], x4.shape[3]];
    const [oh, ow] = this.outputSize;
    if (h % oh === 0 && w % ow === 0) return unbatch(maxPool2d(x4, [h / oh, w / ow]), single);
    // a maximum over a rectangle is the maximum over rows of the maxima over columns
    const along = (t: Tensor, axis: 2 | 3, n: number) => concat(Array.from({ length: n }, (_, i) => {
      const [a, b] = adaptiveWindow(i, n, t.shape[axis]);
      return max(slice(t, axis === 2 ? [null, null, [a, b]] : [null, null, null, [a, b]]), axis, { keepDims: true });
    }), axis);
    return unbatch(along(along(x4, 2, oh), 3, ow), single);
  }

  /** @internal */
  [layerLabel](): string {
    return `AdaptiveMaxPool(${tuple(this.outputSize)})`;
  }
});
/** An {@link AdaptiveMaxPool} layer. */
export type AdaptiveMaxPool = InstanceType<typeof AdaptiveMaxPool>;

// ---------------------------------------------------------------- Upsample

/** Options of {@link Upsample}: give `scale` or `size`. */
export interface UpsampleOptions {
  /** `'nearest'` (repeat each pixel; the default) or `'bilinear'` (with aligned corners). */
  mode?: 'nearest' | 'bilinear';
  /** Factor per spatial dimension: positive integers for `'nearest'`, positive numbers for `'bilinear'` (output `floor(H·scale)`). */
  scale?: number | readonly [number, number];
  /** The output size `[OH, OW]` instead of a scale (multiples of the input's for `'nearest'`). */
  size?: SpatialPair;
}

/**
 * Upsampling of NCHW images, by a `scale` or to a `size`. `'nearest'` repeats each pixel
 * `scale` times along each dimension; `'bilinear'` interpolates linearly with aligned
 * corners (Flux's and NNlib's default, PyTorch's `align_corners=True`): output pixel i of OH
 * samples the input at `i·(H − 1)/(OH − 1)`, so the corner pixels of input and output coincide.
 * ```ts
 * Upsample({ scale: 2 })                       // Upsample(:nearest, scale = (2, 2)); also Upsample(2)
 * Upsample({ mode: 'bilinear', size: [8, 8] }) // Upsample(:bilinear, size = (8, 8))
 * ```
 */
export const Upsample = layer(class Upsample extends Layer<[TensorLike], Tensor> {
  /** The interpolation. */
  mode: 'nearest' | 'bilinear';
  /** `[sh, sw]`, or `false` when a size is given. */
  scale: [number, number] | false;
  /** `[OH, OW]`, or `false` when a scale is given. */
  size: [number, number] | false;

  constructor(opts: UpsampleOptions | number = {}) {
    super();
    const o = typeof opts === 'number' ? { scale: opts } : opts;
    this.mode = o.mode ?? 'nearest';
    if (this.mode !== 'nearest' && this.mode !== 'bilinear') throw new TypeError(`Upsample: mode must be 'nearest' or 'bilinear', got ${describeValue(this.mode)}`);
    if ((o.scale === undefined) === (o.size === undefined)) throw new TypeError('Upsample: give exactly one of scale and size');
    this.size = o.size === undefined ? false : pairOf('Upsample', 'size', o.size, 1, 1);
    if (o.scale === undefined) this.scale = false;
    else if (this.mode === 'nearest') this.scale = pairOf('Upsample', 'scale (for nearest)', o.scale, 1, 1);
    else {
      const sc = typeof o.scale === 'number' ? [o.scale, o.scale] : Array.isArray(o.scale) && o.scale.length === 2 ? [o.scale[0], o.scale[1]] : null;
      if (sc === null || !sc.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
        throw new TypeError(`Upsample: scale must be a positive number or a pair of them, got ${Array.isArray(o.scale) ? JSON.stringify(o.scale) : describeValue(o.scale)}`);
      }
      this.scale = sc as [number, number];
    }
  }

  forward(input: TensorLike): Tensor {
    const x = poolInput(this, input);
    const { x4, single } = imageInput(this, x, undefined);
    const [b, c, h, w] = x4.shape;
    const sc = this.scale;
    const [oh, ow] = sc === false ? (this.size as [number, number]) : [Math.floor(h * sc[0]), Math.floor(w * sc[1])];
    if (oh < 1 || ow < 1) throw new ShapeError(`${labelOf(this)} gives an empty output (${oh}×${ow}) for input of shape ${shapeText(x.shape)}`);
    if (this.mode === 'nearest') {
      if (oh % h !== 0 || ow % w !== 0) {
        throw new ShapeError(`${labelOf(this)} needs an output size that is a multiple of the input's, got input of shape ${shapeText(x.shape)} for output ${oh}×${ow}`);
      }
      const [sh, sw] = [oh / h, ow / w];
      const rep = broadcastTo(reshape(x4, [b, c, h, 1, w, 1]), [b, c, h, sh, w, sw]);
      return unbatch(reshape(rep, [b, c, oh, ow]), single);
    }
    const linear = (n: number, len: number) => resampleMatrix(n, len, x4.dtype, (i) => {
      const at = n === 1 ? 0 : (i * (len - 1)) / (n - 1);
      const j = Math.min(Math.floor(at), len - 1), f = at - j;
      return f === 0 ? [[j, 1]] : [[j, 1 - f], [j + 1, f]];
    });
    return unbatch(separable(x4, linear(oh, h), linear(ow, w)), single);
  }

  /** @internal */
  [layerLabel](): string {
    return `Upsample(:${this.mode}, ${this.scale !== false ? `scale = ${tuple(this.scale)}` : `size = ${tuple(this.size as number[])}`})`;
  }
});
/** An {@link Upsample} layer. */
export type Upsample = InstanceType<typeof Upsample>;

// ---------------------------------------------------------------- inference fusion

const isPlain2x2 = (p: MaxPool): boolean =>
  p.window[0] === 2 && p.window[1] === 2 && p.stride[0] === 2 && p.stride[1] === 2 && p.padding[0] === 0 && p.padding[1] === 0;

/*
 * A Conv (relu or identity) followed by MaxPool((2, 2)) in a Chain, outside any gradient: the
 * pooling reads the convolution's output where the kernel left it, and only the pooled
 * quarter is copied out (src/backend/cpu/conv-pool.ts); the values are the two layers' own.
 * On the CNN of bench/train.ts, batch 64: conv 1 => 32 and its pooling 2.02 -> 0.84 ms.
 */
registerRunFusion((entries, at, x) => {
  const first = entries[at], second = entries[at + 1];
  if (!plainInstance(first, Conv) || !plainInstance(second, MaxPool) || !isPlain2x2(second as MaxPool)) return undefined;
  const conv = first as Conv;
  const { weight, bias } = conv;
  if (!(conv.σ === relu || conv.σ === identity) || weight.dtype !== 'float32' || !cpuDispatch()) return undefined;
  if (weight.device !== undefined || (bias !== false && bias.device !== undefined)) return undefined;
  const { xp, params, single } = convInput(conv, x);
  if (xp.dtype !== 'float32' || xp.device !== undefined) return undefined;
  const xs = xp.shape as unknown as Shape4, ws = weight.shape as unknown as Shape4;
  const pooled = conv2dBiasReluMaxPool2x2(xp.data, xs, weight.data, ws, params, bias === false ? null : bias.data, conv.σ === relu);
  if (pooled === null) return undefined;
  const [n, o, oh, ow] = conv2dOutputShape(xs, ws, params);
  return { y: unbatch(tensorOf(pooled, [n, o, oh >> 1, ow >> 1]), single), count: 2 };
});
