import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { type DType, type FloatArray, dtypeOf } from './dtype.js';
import { type Shape, sizeOf } from './shape.js';
import { formatTensor } from './format.js';
import * as ew from '../ops/elementwise.js';
import * as red from '../ops/reduce.js';
import * as la from '../ops/linalg.js';
import * as mv from '../ops/movement.js';
import * as nn from '../ops/nn.js';
import { type TensorLike, toTensor } from './convert.js';
import { OPERATOR_TRANSFORM_HINT, checkMutable } from '../ad/tape.js';
import { broadcastStrides, forEachRow } from '../backend/cpu/strided.js';

/** Storage of a tensor that lives on a device (a GPU buffer or texture); read back on demand. */
export interface DeviceStorage {
  /** Name of the backend that owns the storage. */
  readonly backend: string;
  /** Copy the values to a row-major typed array on the CPU. */
  read(): FloatArray;
  /** Copy the values to the CPU without blocking, where the device can (WebGPU); else as `read`. */
  readAsync?(): Promise<FloatArray>;
  /** Replace the values with those of `value` (same shape), for `assign` on a device tensor. */
  write?(value: Tensor): void;
}

/**
 * An n-dimensional array of float32 or float64 values, stored row-major in an `ndarray`.
 *
 * Tensors are immutable from the point of view of every operation: operations return new
 * tensors (views where possible: transpose, reshape of contiguous data, slices). Memory is
 * reclaimed by the garbage collector; there is nothing to dispose.
 */
export class Tensor {
  /** Lengths of the dimensions, outermost (batch) first. */
  readonly shape: Shape;
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  private _nd: NdArray<FloatArray> | undefined;
  /** @internal device storage when the values live on a GPU. */
  readonly device: DeviceStorage | undefined;
  /**
   * @internal Set while the tensor takes part in differentiation (a traced tensor, or a
   * param registered by a gradient in flight); `bind` routes such inputs to the AD layer.
   */
  _ad: object | undefined = undefined;

  /**
   * @internal Use {@link tensor} and the creation functions instead. `null` storage is for
   * subclasses that supply `nd` themselves.
   */
  constructor(storage: NdArray<FloatArray> | DeviceStorage | null, shape?: Shape, dtype?: DType) {
    if (storage === null) {
      this.device = undefined;
      this._nd = undefined;
      this.shape = shape!;
      this.dtype = dtype!;
    } else if ('read' in storage) {
      this.device = storage;
      this._nd = undefined;
      this.shape = shape!;
      this.dtype = dtype!;
    } else {
      this.device = undefined;
      this._nd = storage;
      this.shape = storage.shape;
      this.dtype = dtypeOf(storage.data);
    }
    this.size = sizeOf(this.shape);
  }

  /** @internal The CPU `ndarray` view (reads device storage back on first use). */
  get nd(): NdArray<FloatArray> {
    if (this._nd === undefined) this._nd = ndarray(this.device!.read(), this.shape as number[]);
    return this._nd;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** True when the elements are laid out row-major without gaps (possibly at an offset). */
  get isContiguous(): boolean {
    const { shape, stride } = this.nd;
    let expected = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (shape[i] !== 1 && stride[i] !== expected) return false;
      expected *= shape[i];
    }
    return true;
  }

  /**
   * The values as a row-major typed array. For a contiguous tensor this is its storage
   * (writing to it changes the tensor); otherwise a compact copy.
   */
  get data(): FloatArray {
    const nd = this.nd;
    if (this.isContiguous) {
      return nd.offset === 0 && nd.data.length === this.size ? nd.data : nd.data.subarray(nd.offset, nd.offset + this.size);
    }
    return mv.contiguousData(this);
  }

  /** The values as a row-major typed array, read from the device without blocking where it can. */
  async dataAsync(): Promise<FloatArray> {
    if (this._nd === undefined && this.device?.readAsync !== undefined) this._nd = ndarray(await this.device.readAsync(), this.shape as number[]);
    return this.data;
  }

  /** The values as nested JavaScript arrays, read from the device without blocking where it can. */
  async array(): Promise<NestedNumbers> {
    await this.dataAsync();
    return this.toArray();
  }

  /** The values as nested JavaScript arrays (a number for a 0-d tensor). */
  toArray(): NestedNumbers {
    const data = this.data;
    const shape = this.shape;
    if (shape.length === 0) return data[0];
    let pos = 0;
    const build = (d: number): NestedNumbers[] | number[] => {
      const n = shape[d];
      const out = new Array(n);
      if (d === shape.length - 1) for (let i = 0; i < n; i++) out[i] = data[pos++];
      else for (let i = 0; i < n; i++) out[i] = build(d + 1);
      return out;
    };
    return build(0);
  }

  /** The single value of a tensor with one element. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item: tensor of shape [${this.shape.join(',')}] has ${this.size} elements, expected 1`);
    const nd = this.nd;
    return nd.data[nd.offset];
  }

  /** The value at a full index (negative indices count from the end). */
  get(...idx: number[]): number {
    const nd = this.nd;
    if (idx.length !== this.shape.length) {
      throw new RangeError(`get: expected ${this.shape.length} indices for shape [${this.shape.join(',')}], got ${idx.length}`);
    }
    let off = nd.offset;
    for (let i = 0; i < idx.length; i++) {
      const n = this.shape[i];
      let k = idx[i];
      if (!Number.isInteger(k) || k < -n || k >= n) throw new RangeError(`get: index ${k} out of range for dimension ${i} of size ${n}`);
      if (k < 0) k += n;
      off += k * nd.stride[i];
    }
    return nd.data[off];
  }

  /**
   * Overwrite this tensor's values in place with `value` (broadcast to this shape, converted
   * to this dtype); views write through to the tensor they view. This is the update step of
   * a training loop (`W.assign(sub(W, mul(lr, g)))`); it is refused on a tensor that a
   * gradient in flight is differentiating.
   */
  assign(value: TensorLike): this {
    if (this._ad !== undefined && (this._ad as object) === this) {
      throw new Error('assign: cannot modify a traced tensor in place while it is being differentiated; compute a new tensor instead');
    }
    checkMutable(this, 'assign');
    const v = mv.broadcastTo(toTensor(value, 'assign', this.dtype), this.shape);
    if (v._ad !== undefined) throw new Error('assign: cannot store a value being differentiated into a tensor in place; assign after gradient returns');
    if (this.device?.write !== undefined) {
      this.device.write(v);
      this._nd = undefined;
      return this;
    }
    const dst = this.nd, src = v.nd;
    const dd = dst.data, sd = src.data;
    forEachRow(this.shape, [dst.stride, broadcastStrides(src, this.shape)], [dst.offset, src.offset], (n, [di, si], [ds, ss]) => {
      for (let i = 0; i < n; i++, di += ds, si += ss) dd[di] = sd[si];
    });
    return this;
  }

  /** Julia-style display: `2×3 Tensor<float64>:` followed by aligned rows. */
  toString(): string {
    return formatTensor(this);
  }

  /** @internal */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return formatTensor(this);
  }

  /**
   * Text contexts (template strings, `String(x)`) get the display; every numeric conversion
   * (`x * 2`, `x + b`, `+x`, `x < 0`, `Math.exp(x)`, `x == 1`) throws instead of becoming NaN.
   * JavaScript passes the hint `'default'` for both `x + 1` and `'a' + x`, so that is refused
   * too; without the operator transform, write `` `a${x}` `` for text.
   */
  [Symbol.toPrimitive](hint: string): string {
    if (hint === 'string') return formatTensor(this);
    throw new TypeError(
      `fluxion: a Tensor (shape [${this.shape.join(',')}]) reached plain JavaScript arithmetic or a comparison, ` +
      `which would turn it into NaN. ${OPERATOR_TRANSFORM_HINT}. ` +
      'For the value of a one-element tensor use `x.item()`; for text, a template string or `String(x)`',
    );
  }

  // --- methods: each is the exported function of the same name with this tensor first ---
  astype(dtype: DType): Tensor { return ew.astype(this, dtype); }
  neg(): Tensor { return ew.neg(this); }
  exp(): Tensor { return ew.exp(this); }
  expm1(): Tensor { return ew.expm1(this); }
  log(): Tensor { return ew.log(this); }
  log1p(): Tensor { return ew.log1p(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  abs(): Tensor { return ew.abs(this); }
  sign(): Tensor { return ew.sign(this); }
  sin(): Tensor { return ew.sin(this); }
  cos(): Tensor { return ew.cos(this); }
  tan(): Tensor { return ew.tan(this); }
  asin(): Tensor { return ew.asin(this); }
  acos(): Tensor { return ew.acos(this); }
  atan(): Tensor { return ew.atan(this); }
  sinh(): Tensor { return ew.sinh(this); }
  cosh(): Tensor { return ew.cosh(this); }
  tanh(): Tensor { return ew.tanh(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  relu(): Tensor { return ew.relu(this); }
  softplus(): Tensor { return ew.softplus(this); }
  erf(): Tensor { return ew.erf(this); }
  add(y: TensorLike): Tensor { return ew.add(this, y); }
  sub(y: TensorLike): Tensor { return ew.sub(this, y); }
  mul(y: TensorLike): Tensor { return ew.mul(this, y); }
  div(y: TensorLike): Tensor { return ew.div(this, y); }
  pow(y: TensorLike): Tensor { return ew.pow(this, y); }
  maximum(y: TensorLike): Tensor { return ew.maximum(this, y); }
  minimum(y: TensorLike): Tensor { return ew.minimum(this, y); }
  atan2(y: TensorLike): Tensor { return ew.atan2(this, y); }
  mod(y: TensorLike): Tensor { return ew.mod(this, y); }
  gt(y: TensorLike): Tensor { return ew.gt(this, y); }
  ge(y: TensorLike): Tensor { return ew.ge(this, y); }
  lt(y: TensorLike): Tensor { return ew.lt(this, y); }
  le(y: TensorLike): Tensor { return ew.le(this, y); }
  eq(y: TensorLike): Tensor { return ew.eq(this, y); }
  ne(y: TensorLike): Tensor { return ew.ne(this, y); }
  clamp(lo: TensorLike, hi: TensorLike): Tensor { return ew.clamp(this, lo, hi); }
  sum(axes?: Axes, opts?: red.ReduceOptions): Tensor { return red.sum(this, axes, opts); }
  mean(axes?: Axes, opts?: red.ReduceOptions): Tensor { return red.mean(this, axes, opts); }
  prod(axes?: Axes, opts?: red.ReduceOptions): Tensor { return red.prod(this, axes, opts); }
  max(axes?: Axes, opts?: red.ReduceOptions): Tensor { return red.max(this, axes, opts); }
  min(axes?: Axes, opts?: red.ReduceOptions): Tensor { return red.min(this, axes, opts); }
  argmax(axis?: number, opts?: red.ReduceOptions): Tensor { return red.argmax(this, axis, opts); }
  argmin(axis?: number, opts?: red.ReduceOptions): Tensor { return red.argmin(this, axis, opts); }
  logsumexp(axes?: Axes, opts?: red.ReduceOptions): Tensor { return red.logsumexp(this, axes, opts); }
  matmul(y: TensorLike): Tensor { return la.matmul(this, y); }
  dot(y: TensorLike): Tensor { return la.dot(this, y); }
  transpose(): Tensor { return mv.transpose(this); }
  /** The matrix transpose (last two dimensions swapped), as in `x.T`. */
  get T(): Tensor { return mv.transpose(this); }
  permute(perm: readonly number[]): Tensor { return mv.permute(this, perm); }
  reshape(shape: readonly number[]): Tensor { return mv.reshape(this, shape); }
  flatten(startDim?: number, endDim?: number): Tensor { return mv.flatten(this, startDim, endDim); }
  squeeze(axes?: number | readonly number[]): Tensor { return mv.squeeze(this, axes); }
  unsqueeze(axis: number): Tensor { return mv.unsqueeze(this, axis); }
  slice(ranges: readonly mv.SliceRange[]): Tensor { return mv.slice(this, ranges); }
  index(...idx: number[]): Tensor { return mv.index(this, ...idx); }
  broadcastTo(shape: readonly number[]): Tensor { return mv.broadcastTo(this, shape); }
  pad(pads: readonly (readonly [number, number])[], value?: number): Tensor { return mv.pad(this, pads, value); }
  gather(indices: TensorLike, axis?: number): Tensor { return mv.gather(this, indices, axis); }
  softmax(axis?: number): Tensor { return nn.softmax(this, axis); }
  logSoftmax(axis?: number): Tensor { return nn.logSoftmax(this, axis); }
}

/** Nested arrays of numbers, as accepted by {@link tensor} and returned by {@link Tensor.toArray}. */
export type NestedNumbers = number | NestedNumbers[];

/** One axis, several, or all (`undefined`). */
export type Axes = number | readonly number[] | undefined;
