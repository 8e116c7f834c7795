/**
 * Normalisation and regularisation layers: `BatchNorm`, `LayerNorm`, `GroupNorm`,
 * `InstanceNorm`, `Dropout`, `AlphaDropout`, and the train/test switches `trainMode`,
 * `testMode`, `autoMode`. Images are NCHW (channels at axis 1); dense data is `[B, C]` (for
 * BatchNorm) or features last (for LayerNorm).
 *
 * Every forward is composed of differentiable operations (mean, sub, mul, div, sqrt, rand,
 * ge, …), so gradients of any order come for free. Variances are means of squared deviations
 * from the mean, never E[x²] − E[x]² (which cancels catastrophically when |mean| ≫ std).
 *
 * Train/test: layers whose behaviour differs have a field `active: boolean | undefined`.
 * `undefined` is automatic, as in Flux: active while a gradient is being taken
 * (`tracingDepth() > 0`), inactive otherwise.
 */
import { Tensor } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/convert.js';
import { ShapeError } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import { ones, rand, zeros } from '../tensor/create.js';
import { add, ge, mul, sqrt, sub, div } from '../ops/elementwise.js';
import { mean } from '../ops/reduce.js';
import { reshape } from '../ops/movement.js';
import { isLayerLike } from '../ad/structure.js';
import { tracingDepth } from '../ad/tape.js';
import { primal } from '../ad/tracked.js';
import { Layer, describeValue, labelOf, layer, layerLabel, nonTrainable } from './layer.js';
import { type Activation, asInput, identity } from './basic.js';

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;
const activationText = (σ: unknown): string => (σ === identity ? '' : `, ${typeof σ === 'function' ? σ.name || 'σ' : String(σ)}`);
/** `; affine=false, active=true`: the options that differ from the defaults, Flux-style. */
const optionText = (opts: [string, unknown, unknown][]): string => {
  const shown = opts.filter(([, v, dflt]) => v !== dflt).map(([k, v]) => `${k}=${String(v)}`);
  return shown.length === 0 ? '' : `; ${shown.join(', ')}`;
};

/** Is a layer with an `active` field in train mode now? */
function isActive(l: { active: boolean | undefined }): boolean {
  return l.active ?? tracingDepth() > 0;
}

function checkCount(op: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TypeError(`${op}: the ${what} must be a positive integer, got ${describeValue(v)}`);
  return v;
}

function checkEps(op: string, eps: unknown): number {
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`${op}: eps must be a finite number ≥ 0, got ${describeValue(eps)}`);
  return eps;
}

function checkMomentum(op: string, m: unknown): number {
  if (typeof m !== 'number' || !(m >= 0 && m <= 1)) throw new RangeError(`${op}: momentum must be a number in [0, 1], got ${describeValue(m)}`);
  return m;
}

function checkActivation(op: string, σ: unknown): Activation {
  if (typeof σ !== 'function') throw new TypeError(`${op}: the activation must be a function, got ${describeValue(σ)}`);
  return σ as Activation;
}

/**
 * The input in the dtype of the layer's tensors (converted with a one-time warning, as in
 * basic.ts); a layer with no tensors (not affine, no running statistics) takes any float input as is.
 */
function layerInput(self: { scale: Tensor | false; runningMean?: Tensor | false }, x: unknown): Tensor {
  const t = self.scale !== false ? self.scale : self.runningMean;
  return t instanceof Tensor ? asInput(self, x, t.dtype) : plainInput(self, x);
}

/** Axes 0…n−1 except those in `keep`. */
const axesExcept = (n: number, keep: readonly number[]): number[] => Array.from({ length: n }, (_, i) => i).filter((i) => !keep.includes(i));

/** `(x − μ) / √(σ² + ε)` with the statistics over `axes` (kept as length-1 dims); also returns μ and σ² (biased). */
function standardise(x: Tensor, axes: number[], eps: number): { y: Tensor; mu: Tensor; variance: Tensor } {
  const mu = mean(x, axes, { keepDims: true });
  const d = sub(x, mu);
  const variance = mean(mul(d, d), axes, { keepDims: true });
  return { y: div(d, sqrt(add(variance, eps))), mu, variance };
}

/** `σ(x ⊙ γ + β)` with γ, β of shape [C] broadcast along axis 1 of an input of `ndim` dims. */
function channelAffine(y: Tensor, scale: Tensor | false, bias: Tensor | false, ndim: number): Tensor {
  const at = [scale instanceof Tensor ? scale.shape[0] : 0, ...Array<number>(Math.max(0, ndim - 2)).fill(1)];
  if (scale !== false) y = mul(y, reshape(scale, at));
  if (bias !== false) y = add(y, reshape(bias, at));
  return y;
}

/**
 * running ← (1 − m)·running + m·batch, on the plain values: the update is bookkeeping, not
 * part of what is differentiated. `running` is a state field (listed under `nonTrainable`),
 * so a gradient in flight neither traces nor guards it, and `assign` is allowed even while
 * the batch statistics themselves are being differentiated.
 */
function updateRunning(running: Tensor, batch: Tensor, momentum: number): void {
  const b = reshape(primal(batch), running.shape as number[]);
  running.assign(add(mul(running, 1 - momentum), mul(b, momentum)));
}

// ---------------------------------------------------------------- BatchNorm and InstanceNorm: running statistics

/**
 * What {@link BatchNorm} and {@link InstanceNorm} share: γ and β per channel, running
 * statistics (state), the activation and the train/test switch; `normaliseChannels` is their forward.
 */
abstract class ChannelNorm extends Layer<[TensorLike], Tensor> {
  /** @internal The running statistics are state: saved, never trained. */
  static [nonTrainable]: string[] = ['runningMean', 'runningVar'];
  /** Number of channels. */
  channels: number;
  /** γ, `[C]` (ones), or `false` when not affine. */
  scale: Tensor | false;
  /** β, `[C]` (zeros), or `false` when not affine. */
  bias: Tensor | false;
  /** Running mean, `[C]` (state), or `false` without `trackStats`. */
  runningMean: Tensor | false;
  /** Running (unbiased) variance, `[C]` (state), or `false` without `trackStats`. */
  runningVar: Tensor | false;
  /** The activation. */
  σ: Activation;
  /** Weight of the newest batch in the running statistics. */
  momentum: number;
  /** Added to the variance. */
  eps: number;
  /** Train mode (true), test mode (false) or automatic (undefined: train mode while a gradient is taken). */
  active: boolean | undefined;

  constructor(op: string, channels: number, σ: Activation, opts: BatchNormOptions, defaults: { affine: boolean; trackStats: boolean }) {
    super();
    this.channels = checkCount(op, 'number of channels', channels);
    this.σ = checkActivation(op, σ);
    this.momentum = checkMomentum(op, opts.momentum ?? 0.1);
    this.eps = checkEps(op, opts.eps ?? 1e-5);
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.affine ?? defaults.affine;
    this.scale = affine ? ones([channels], { dtype }) : false;
    this.bias = affine ? zeros([channels], { dtype }) : false;
    const track = opts.trackStats ?? defaults.trackStats;
    this.runningMean = track ? zeros([channels], { dtype }) : false;
    this.runningVar = track ? ones([channels], { dtype }) : false;
    this.active = undefined;
  }
}

/**
 * `σ(γ·(x − μ)/√(σ² + ε) + β)` per channel (axis 1), μ and σ² over `axes` (`count` values
 * each). In train mode, or without running statistics, they are those of `x`, and in train
 * mode the running statistics are updated (the variance unbiased; with `perSample`, the
 * statistics of each sample averaged over the batch); in test mode the running ones are used.
 * `tooFew` ends the error for `count < 2`.
 */
function normaliseChannels(self: ChannelNorm, x: Tensor, axes: number[], count: number, perSample: boolean, tooFew: string): Tensor {
  const { runningMean, runningVar } = self;
  let y: Tensor;
  if (isActive(self) || runningMean === false || runningVar === false) {
    if (count < 2) throw new ShapeError(`${labelOf(self)} needs more than one value ${tooFew}, got input of shape ${shapeText(x.shape)}`);
    const s = standardise(x, axes, self.eps);
    y = s.y;
    if (isActive(self) && runningMean !== false && runningVar !== false) {
      const overBatch = (t: Tensor): Tensor => (perSample ? mean(t, 0) : t);
      updateRunning(runningMean, overBatch(s.mu), self.momentum);
      updateRunning(runningVar, overBatch(mul(s.variance, count / (count - 1))), self.momentum);
    }
  } else {
    const bcast = [self.channels, ...Array<number>(x.ndim - 2).fill(1)];
    y = div(sub(x, reshape(runningMean, bcast)), sqrt(add(reshape(runningVar, bcast), self.eps)));
  }
  return self.σ(channelAffine(y, self.scale, self.bias, x.ndim));
}

// ---------------------------------------------------------------- BatchNorm

/** Options of {@link BatchNorm}. */
export interface BatchNormOptions {
  /** Weight of the newest batch in the running statistics (PyTorch's convention); default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root; default 1e-5. */
  eps?: number;
  /** Learn a scale γ (ones) and shift β (zeros) per channel; default true. */
  affine?: boolean;
  /** Keep running statistics for test mode; default true. Without them the batch statistics are used in both modes. */
  trackStats?: boolean;
  /** Parameter dtype; default `'float32'`. */
  dtype?: DType;
}

/**
 * Batch normalisation (Ioffe & Szegedy 2015) over the channel dimension, axis 1 of `[B, C]`,
 * `[B, C, L]` or NCHW `[B, C, H, W]` input: each channel is normalised with the mean and
 * variance over all other axes, then scaled by `scale` (γ) and shifted by `bias` (β):
 * `σ(γ·(x − μ)/√(σ² + ε) + β)`.
 *
 * In train mode the statistics are those of the batch (the biased variance, dividing by n),
 * and the running statistics are updated as `running = (1 − momentum)·running + momentum·batch`,
 * where the running variance takes the *unbiased* batch variance (dividing by n − 1), as
 * PyTorch and Flux do. In test mode the running statistics are used. The running statistics
 * `runningMean` and `runningVar` are state: saved by `state`, never trained.
 * ```ts
 * const bn = BatchNorm(64, relu);   // BatchNorm(64, relu)  # 128 parameters, plus 128 non-trainable
 * ```
 */
export const BatchNorm = layer(class BatchNorm extends ChannelNorm {
  constructor(channels: number, σ: Activation = identity, opts: BatchNormOptions = {}) {
    super('BatchNorm', channels, σ, opts, { affine: true, trackStats: true });
  }

  forward(input: TensorLike): Tensor {
    const x = layerInput(this, input);
    const C = this.channels;
    if (x.ndim < 2 || x.shape[1] !== C) {
      throw new ShapeError(`${labelOf(this)} expects input [B, ${C}, …] (${C} channels at axis 1), got input of shape ${shapeText(x.shape)}`);
    }
    return normaliseChannels(this, x, axesExcept(x.ndim, [1]), x.size / C, false, 'per channel to compute batch statistics');
  }

  /** @internal */
  [layerLabel](): string {
    return `BatchNorm(${this.channels}${activationText(this.σ)}${optionText([
      ['affine', this.scale !== false, true], ['trackStats', this.runningMean !== false, true], ['active', this.active, undefined],
    ])})`;
  }
});
/** A {@link BatchNorm} layer. */
export type BatchNorm = InstanceType<typeof BatchNorm>;

// ---------------------------------------------------------------- InstanceNorm

/** Options of {@link InstanceNorm}. */
export interface InstanceNormOptions extends BatchNormOptions {}

/**
 * Instance normalisation (Ulyanov et al. 2016): each channel of each sample of an NCHW (or
 * `[B, C, L]`) input is normalised over its spatial axes. By default not affine and without
 * running statistics (Flux's and PyTorch's defaults). With `trackStats`, the running statistics
 * take the per-sample statistics averaged over the batch (the variance unbiased, over the
 * spatial size), and test mode uses them.
 */
export const InstanceNorm = layer(class InstanceNorm extends ChannelNorm {
  constructor(channels: number, σ: Activation = identity, opts: InstanceNormOptions = {}) {
    super('InstanceNorm', channels, σ, opts, { affine: false, trackStats: false });
  }

  forward(input: TensorLike): Tensor {
    const x = layerInput(this, input);
    const C = this.channels;
    if (x.ndim < 3 || x.shape[1] !== C) {
      throw new ShapeError(`${labelOf(this)} expects input [B, ${C}, …spatial] (${C} channels at axis 1, at least one spatial axis), got input of shape ${shapeText(x.shape)}`);
    }
    return normaliseChannels(this, x, axesExcept(x.ndim, [0, 1]), x.size / (C * x.shape[0]), true, 'per channel and sample to compute statistics');
  }

  /** @internal */
  [layerLabel](): string {
    return `InstanceNorm(${this.channels}${activationText(this.σ)}${optionText([
      ['affine', this.scale !== false, false], ['trackStats', this.runningMean !== false, false], ['active', this.active, undefined],
    ])})`;
  }
});
/** An {@link InstanceNorm} layer. */
export type InstanceNorm = InstanceType<typeof InstanceNorm>;

// ---------------------------------------------------------------- GroupNorm and LayerNorm

/** Options of {@link GroupNorm} and {@link LayerNorm}. */
export interface NormOptions {
  /** Added to the variance; default 1e-5. */
  eps?: number;
  /** Learn a scale (ones) and shift (zeros); default true. */
  affine?: boolean;
  /** Parameter dtype; default `'float32'`. */
  dtype?: DType;
}

/**
 * Group normalisation (Wu & He 2018): the channels of an NCHW (or `[B, C]`, `[B, C, L]`) input
 * are split into `groups` consecutive groups, and each group of each sample is normalised over
 * its channels and spatial positions; then a per-channel scale and shift. `groups = 1` is a
 * layer norm over (C, H, W); `groups = C` an instance norm. The same in train and test mode.
 */
export const GroupNorm = layer(class GroupNorm extends Layer<[TensorLike], Tensor> {
  /** Number of channels. */
  channels: number;
  /** Number of groups (divides `channels`). */
  groups: number;
  /** γ, `[C]` (ones), or `false`. */
  scale: Tensor | false;
  /** β, `[C]` (zeros), or `false`. */
  bias: Tensor | false;
  /** The activation. */
  σ: Activation;
  /** Added to the variance. */
  eps: number;

  constructor(channels: number, groups: number, σ: Activation = identity, opts: NormOptions = {}) {
    super();
    this.channels = checkCount('GroupNorm', 'number of channels', channels);
    this.groups = checkCount('GroupNorm', 'number of groups', groups);
    if (channels % groups !== 0) throw new RangeError(`GroupNorm: the number of groups must divide the number of channels, got ${channels} channels and ${groups} groups`);
    this.σ = checkActivation('GroupNorm', σ);
    this.eps = checkEps('GroupNorm', opts.eps ?? 1e-5);
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.affine ?? true;
    this.scale = affine ? ones([channels], { dtype }) : false;
    this.bias = affine ? zeros([channels], { dtype }) : false;
  }

  forward(input: TensorLike): Tensor {
    const x = layerInput(this, input);
    const C = this.channels, G = this.groups;
    if (x.ndim < 2 || x.shape[1] !== C) {
      throw new ShapeError(`${labelOf(this)} expects input [B, ${C}, …] (${C} channels at axis 1), got input of shape ${shapeText(x.shape)}`);
    }
    if ((x.size / x.shape[0]) / G < 2) {
      throw new ShapeError(`${labelOf(this)} needs more than one value per group and sample to compute statistics, got input of shape ${shapeText(x.shape)}`);
    }
    const [B, , ...spatial] = x.shape;
    const grouped = reshape(x, [B, G, C / G, ...spatial]);
    const { y } = standardise(grouped, axesExcept(grouped.ndim, [0, 1]), this.eps);
    return this.σ(channelAffine(reshape(y, x.shape as number[]), this.scale, this.bias, x.ndim));
  }

  /** @internal */
  [layerLabel](): string {
    return `GroupNorm(${this.channels}, ${this.groups}${activationText(this.σ)}${optionText([['affine', this.scale !== false, true]])})`;
  }
});
/** A {@link GroupNorm} layer. */
export type GroupNorm = InstanceType<typeof GroupNorm>;

/**
 * Layer normalisation (Ba et al. 2016) over the last dimensions, features last:
 * `LayerNorm(128)` normalises each `[…, 128]` row, `LayerNorm([4, 5])` each trailing 4×5 block,
 * with the mean and (biased) variance of those elements; then an elementwise scale and shift of
 * that shape. The same in train and test mode.
 */
export const LayerNorm = layer(class LayerNorm extends Layer<[TensorLike], Tensor> {
  /** The normalised trailing shape. */
  shape: number[];
  /** Scale of shape {@link shape} (ones), or `false`. */
  scale: Tensor | false;
  /** Shift of shape {@link shape} (zeros), or `false`. */
  bias: Tensor | false;
  /** The activation. */
  σ: Activation;
  /** Added to the variance. */
  eps: number;

  constructor(shape: number | readonly number[], σ: Activation = identity, opts: NormOptions = {}) {
    super();
    const dims = typeof shape === 'number' ? [shape] : Array.isArray(shape) ? [...shape] : undefined;
    if (dims === undefined || dims.length === 0) throw new TypeError(`LayerNorm: the shape must be a positive integer or a non-empty array of them, got ${describeValue(shape)}`);
    dims.forEach((d, i) => checkCount('LayerNorm', `size of dimension ${i}`, d));
    this.shape = dims;
    this.σ = checkActivation('LayerNorm', σ);
    this.eps = checkEps('LayerNorm', opts.eps ?? 1e-5);
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.affine ?? true;
    this.scale = affine ? ones(dims, { dtype }) : false;
    this.bias = affine ? zeros(dims, { dtype }) : false;
  }

  forward(input: TensorLike): Tensor {
    const x = layerInput(this, input);
    const s = this.shape, k = s.length;
    if (x.ndim < k || s.some((d, i) => x.shape[x.ndim - k + i] !== d)) {
      throw new ShapeError(`${labelOf(this)} expects input of shape [..., ${s.join(', ')}], got input of shape ${shapeText(x.shape)}`);
    }
    const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    let { y } = standardise(x, axes, this.eps);
    if (this.scale !== false) y = mul(y, this.scale);
    if (this.bias !== false) y = add(y, this.bias);
    return this.σ(y);
  }

  /** @internal */
  [layerLabel](): string {
    const s = this.shape.length === 1 ? String(this.shape[0]) : `(${this.shape.join(', ')})`;
    return `LayerNorm(${s}${activationText(this.σ)}${optionText([['affine', this.scale !== false, true]])})`;
  }
});
/** A {@link LayerNorm} layer. */
export type LayerNorm = InstanceType<typeof LayerNorm>;

// ---------------------------------------------------------------- Dropout

function checkProbability(op: string, p: unknown, allowOne: boolean): number {
  if (typeof p !== 'number' || !(p >= 0 && (allowOne ? p <= 1 : p < 1))) {
    throw new RangeError(`${op}: the probability must be a number in [0, ${allowOne ? '1]' : '1)'}, got ${describeValue(p)}`);
  }
  return p;
}

/** A plain input for a layer without parameters: tensors pass unchanged (no dtype conversion). */
function plainInput(self: object, x: unknown): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number' || Array.isArray(x) || ArrayBuffer.isView(x)) return toTensor(x as TensorLike, self.constructor.name);
  throw new TypeError(`${labelOf(self)} expects a tensor, got ${describeValue(x)}`);
}

/**
 * 1 where an element is kept (probability 1 − p), 0 where dropped: a uniform draw u ∈ [0, 1)
 * is kept when u ≥ p. `dims` lists the axes along which the mask varies (all by default);
 * along the others one draw is shared (e.g. `dims: [0, 1]` on NCHW drops whole channels).
 */
function keepMask(x: Tensor, p: number, dims: number[] | undefined, op: string): Tensor {
  let shape = x.shape as number[];
  if (dims !== undefined) {
    const norm = dims.map((d) => (d < 0 ? d + x.ndim : d));
    if (norm.some((d) => !(d >= 0 && d < x.ndim))) throw new ShapeError(`${op}: dims [${dims.join(', ')}] out of range for input of shape ${shapeText(x.shape)}`);
    shape = x.shape.map((n, i) => (norm.includes(i) ? n : 1));
  }
  return ge(rand(shape, { dtype: x.dtype }), p);
}

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Axes along which the mask varies (negative counts from the end); default all. */
  dims?: number | readonly number[];
}

/**
 * Inverted dropout (Srivastava et al. 2014): in train mode each element is zeroed with
 * probability `p` and the kept ones are scaled by 1/(1 − p), so the expectation is unchanged
 * and test mode is exactly the identity. Masks come from fluxion's generator (`seed(n)`
 * reproduces them); the gradient flows through the same mask as the forward pass.
 */
export const Dropout = layer(class Dropout extends Layer<[TensorLike], Tensor> {
  /** Probability of dropping an element. */
  p: number;
  /** Axes along which the mask varies, or undefined for all. */
  dims: number[] | undefined;
  /** Train mode (true), test mode (false) or automatic (undefined). */
  active: boolean | undefined;

  constructor(p: number, opts: DropoutOptions = {}) {
    super();
    this.p = checkProbability('Dropout', p, true);
    const dims = opts.dims === undefined ? undefined : typeof opts.dims === 'number' ? [opts.dims] : Array.isArray(opts.dims) ? [...opts.dims] : null;
    if (dims === null || dims?.some((d) => !Number.isInteger(d))) throw new TypeError(`Dropout: dims must be an integer or an array of integers, got ${describeValue(opts.dims)}`);
    this.dims = dims;
    this.active = undefined;
  }

  forward(input: TensorLike): Tensor {
    const x = plainInput(this, input);
    if (!isActive(this) || this.p === 0) return x;
    const keep = keepMask(x, this.p, this.dims, labelOf(this));
    // p = 1 drops everything: scale 0 rather than 1/0 (which would make 0·∞ = NaN)
    return mul(x, mul(keep, this.p === 1 ? 0 : 1 / (1 - this.p)));
  }

  /** @internal */
  [layerLabel](): string {
    return `Dropout(${this.p}${optionText([['dims', this.dims === undefined ? undefined : `[${this.dims.join(', ')}]`, undefined], ['active', this.active, undefined]])})`;
  }
});
/** A {@link Dropout} layer. */
export type Dropout = InstanceType<typeof Dropout>;

/** SELU's λ and α (Klambauer et al. 2017). */
const SELU_SCALE = 1.0507009873554804934193349852946, SELU_ALPHA = 1.6732632423543772848170429916717;
/** α′ = −λα = lim selu(x) as x → −∞: the value dropped units take. */
const ALPHA_PRIME = -SELU_SCALE * SELU_ALPHA;

/**
 * Alpha dropout (Klambauer et al. 2017), for self-normalising (selu) networks: dropped units
 * are set to selu's negative saturation α′ = −λα instead of 0, then an affine map a·z + b
 * restores mean 0 and variance 1.
 *
 * Derivation, for inputs of mean 0 and variance 1 and a keep mask m ~ Bernoulli(q), q = 1 − p:
 * z = m·x + (1 − m)·α′ has E[z] = (1 − q)·α′ = p·α′ and
 * E[z²] = q·E[x²] + (1 − q)·α′² = q + p·α′², so Var[z] = q + p·α′² − p²·α′² = q·(1 + p·α′²).
 * Hence a = 1/√(q·(1 + p·α′²)) (unit variance) and b = −a·p·α′ (zero mean). p = 1 would need
 * a = ∞, so p must be < 1.
 */
export const AlphaDropout = layer(class AlphaDropout extends Layer<[TensorLike], Tensor> {
  /** Probability of dropping an element. */
  p: number;
  /** Train mode (true), test mode (false) or automatic (undefined). */
  active: boolean | undefined;

  constructor(p: number) {
    super();
    this.p = checkProbability('AlphaDropout', p, false);
    this.active = undefined;
  }

  forward(input: TensorLike): Tensor {
    const x = plainInput(this, input);
    if (!isActive(this) || this.p === 0) return x;
    const p = this.p, q = 1 - p;
    const a = 1 / Math.sqrt(q * (1 + p * ALPHA_PRIME * ALPHA_PRIME)), b = -a * p * ALPHA_PRIME;
    const keep = keepMask(x, p, undefined, labelOf(this));
    // a·(m·x + (1 − m)·α′) + b = (a·m)·x + (a·α′·(1 − m) + b)
    return add(mul(x, mul(keep, a)), add(mul(sub(1, keep), a * ALPHA_PRIME), b));
  }

  /** @internal */
  [layerLabel](): string {
    return `AlphaDropout(${this.p}${optionText([['active', this.active, undefined]])})`;
  }
});
/** An {@link AlphaDropout} layer. */
export type AlphaDropout = InstanceType<typeof AlphaDropout>;

// ---------------------------------------------------------------- train / test

/** Set `active` on every layer of `model` that has such a field (layers, arrays, plain objects, fields of custom layers). */
function setActive<M>(model: M, value: boolean | undefined): M {
  const seen = new Set<object>();
  const walk = (x: unknown): void => {
    if (x instanceof Tensor || ArrayBuffer.isView(x)) return;
    if ((typeof x !== 'object' || x === null) && !isLayerLike(x)) return;
    if (seen.has(x as object)) return;
    seen.add(x as object);
    if (Array.isArray(x)) return x.forEach(walk);
    const obj = x as Record<string, unknown>;
    if (isLayerLike(x) && Object.prototype.hasOwnProperty.call(obj, 'active')) obj.active = value;
    for (const k of Object.keys(obj)) if (k !== 'active') walk(obj[k]);
  };
  walk(model);
  return model;
}

/** Put every `Dropout`, `BatchNorm`, … of `model` in train mode (batch statistics, random masks), whether or not a gradient is taken. Returns `model`. */
export function trainMode<M>(model: M): M {
  return setActive(model, true);
}

/** Put every `Dropout`, `BatchNorm`, … of `model` in test mode (running statistics, no dropout), even while a gradient is taken. Returns `model`. */
export function testMode<M>(model: M): M {
  return setActive(model, false);
}

/** Back to automatic mode (train mode exactly while a gradient is taken), Flux's default. Returns `model`. */
export function autoMode<M>(model: M): M {
  return setActive(model, undefined);
}
