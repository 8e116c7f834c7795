/**
 * The primitive operations: the small set every backend implements and (in `src/rules/`)
 * every derivative rule covers. Everything else in `src/ops/` is a composite of these.
 */
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

export const UNARY = [
  'neg', 'exp', 'expm1', 'log', 'log1p', 'sqrt', 'abs', 'sign', 'sin', 'cos', 'tan',
  'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'sigmoid', 'relu', 'erf',
] as const;
export const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'atan2', 'mod'] as const;
export const COMPARE = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const;
export const REDUCE = ['sum', 'prod', 'max', 'min'] as const;
export const ARG_REDUCE = ['argmax', 'argmin'] as const;

/** Elementwise primitives of one argument. @inline */
export type UnaryOp = (typeof UNARY)[number];
/** Elementwise primitives of two broadcast arguments. @inline */
export type BinaryOp = (typeof BINARY)[number];
/** Comparisons returning 0/1 masks. @inline */
export type CompareOp = (typeof COMPARE)[number];
/** Reductions over chosen axes. @inline */
export type ReduceOp = (typeof REDUCE)[number];
/** Index-of-extreme reductions. @inline */
export type ArgReduceOp = (typeof ARG_REDUCE)[number];

/** Primitives without parameters take an empty object. @inline */
type NoParams = Record<string, never>;

/** Reduction over sorted, unique, non-negative axes. @inline */
export interface ReduceParams { axes: number[]; keepDims: boolean }
/** Index of the extreme value along one axis, or over the flattened tensor (`axis: null`). @inline */
export interface ArgReduceParams { axis: number | null; keepDims: boolean }
/** Per-dimension `start`, `step` and resulting `size` of a strided slice (already resolved and checked). @inline */
export interface SliceParams { start: number[]; step: number[]; size: number[] }
/** Parameters of 2-d convolution over NCHW input and [O, C/groups, KH, KW] filters. @inline */
export interface Conv2dParams { stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number }
/** Parameters of 2-d pooling over NCHW input. @inline */
export interface Pool2dParams { kernel: [number, number]; stride: [number, number]; padding: [number, number]; dilation: [number, number] }

/** Parameters of each primitive; the keys are the primitives. */
export type PrimitiveParams =
  & { [P in UnaryOp | BinaryOp | CompareOp]: NoParams }
  & { [P in ReduceOp]: ReduceParams }
  & { [P in ArgReduceOp]: ArgReduceParams }
  & {
    /** `where(cond, a, b)`: a where cond ≠ 0, else b (broadcasting). */
    where: NoParams;
    cast: { dtype: DType };
    /** Batched matrix product of [..., m, k] and [..., k, n] (batch dims broadcast). */
    matmul: NoParams;
    reshape: { shape: number[] };
    permute: { perm: number[] };
    broadcastTo: { shape: number[] };
    slice: SliceParams;
    concat: { axis: number };
    pad: { pads: [number, number][]; value: number };
    /** `gather(x, indices)` along `axis`: NumPy's `take`. */
    gather: { axis: number };
    /** Adjoint of gather: adds rows of `src` into a zero tensor whose `axis` has length `size`. */
    scatterAdd: { axis: number; size: number };
    conv2d: Conv2dParams;
    conv2dBackwardInput: Conv2dParams & { xShape: number[] };
    conv2dBackwardFilter: Conv2dParams & { wShape: number[] };
    maxPool2d: Pool2dParams;
    /** Inputs [x, dy]: routes dy to the position of each window's maximum in x. */
    maxPool2dBackward: Pool2dParams;
    /** Inputs [x, v]: each window's value of v at the position of x's maximum (adjoint of maxPool2dBackward). */
    maxPool2dGather: Pool2dParams;
    avgPool2d: Pool2dParams;
    avgPool2dBackward: Pool2dParams & { xShape: number[] };
  };

/** The name of a primitive operation. */
export type Primitive = keyof PrimitiveParams;

/** A backend's implementation of one primitive. */
export type Kernel<P extends Primitive> = (inputs: Tensor[], params: PrimitiveParams[P]) => Tensor;

/** A complete set of kernels: `tsc` fails if a backend misses a primitive. */
export type KernelTable = { [P in Primitive]: Kernel<P> };
