/**
 * Slots through which the tensor layer reaches the AD layer without importing it (the AD
 * layer subclasses Tensor, so a static import from the tensor layer would be a cycle that
 * breaks at load). `ad/trace` fills them when it loads; until then nothing is traced.
 */
import type { BinaryOp, CompareOp, Primitive, PrimitiveParams, UnaryOp } from '../ops/primitive.js';
import type { TrackedNumber } from './tape.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

type Num = number | TrackedNumber;

export interface AdHooks {
  /** A unary operation on a traced number. */
  unary(op: UnaryOp, fn: (x: Num) => Num, x: TrackedNumber): Num;
  /** A binary operation on numbers at least one of which is traced. */
  binary(op: BinaryOp | CompareOp, fn: (a: Num, b: Num) => Num, a: Num, b: Num): Num;
  /** Run a primitive whose inputs include traced tensors or registered params. */
  bind<P extends Primitive>(prim: P, inputs: Tensor[], params: PrimitiveParams[P]): Tensor;
  /** A traced number, or nested arrays holding traced numbers, as a traced tensor; undefined if `x` holds none. */
  toTensor(x: unknown, like: DType | undefined): Tensor | undefined;
  /** The traced tensor standing for an array or typed array registered as an implicit param, if any. */
  arrayParam(x: object, like: DType | undefined): Tensor | undefined;
}

export const adHooks: Partial<AdHooks> & { arrayParams: number } = {
  /** Number of arrays registered as params by gradients in flight (skip the lookup when 0). */
  arrayParams: 0,
};
