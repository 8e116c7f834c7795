/**
 * Fast construction of `ndarray` views for kernel outputs.
 *
 * `ndarray(data, shape, …)` sniffs the array type (`Object.prototype.toString`, a Buffer
 * check) and fills default strides on every call: ~300 ns, most of the cost of a tiny
 * elementwise op. The view classes it compiles are cached per (dtype, rank) and take their
 * shape and strides as separate arguments, so after fetching a class once (from a view of an
 * empty array) a view costs one `new`. Ranks above 6 fall back to `ndarray()`.
 *
 * @module
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import type { FloatArray } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';

type ViewCtor = new (data: FloatArray, ...dims: number[]) => NdArray<FloatArray>;

const MAX_RANK = 6;
const ctors: [ViewCtor[], ViewCtor[]] = [[], []];

function ctorFor(f64: 0 | 1, d: number): ViewCtor {
  let c = ctors[f64][d];
  if (c === undefined) {
    const empty = f64 ? new Float64Array(0) : new Float32Array(0);
    c = (ndarray(empty, new Array<number>(d).fill(0)) as unknown as { constructor: ViewCtor }).constructor;
    ctors[f64][d] = c;
  }
  return c;
}

/**
 * A view of `data` with `shape`, `stride` (row-major by default) and `offset` (0 by default),
 * identical to what `ndarray(data, shape, stride, offset)` returns.
 */
export function ndView(data: FloatArray, shape: readonly number[], stride?: readonly number[], offset = 0): NdArray<FloatArray> {
  const d = shape.length;
  if (d > MAX_RANK) return ndarray(data, shape as number[], stride as number[] | undefined, offset);
  const C = ctorFor(data instanceof Float64Array ? 1 : 0, d);
  if (stride === undefined) {
    switch (d) {
      case 0: return new C(data, offset);
      case 1: return new C(data, shape[0]!, 1, offset);
      case 2: return new C(data, shape[0]!, shape[1]!, shape[1]!, 1, offset);
      case 3: {
        const s1 = shape[2]!, s0 = shape[1]! * s1;
        return new C(data, shape[0]!, shape[1]!, shape[2]!, s0, s1, 1, offset);
      }
      case 4: {
        const s2 = shape[3]!, s1 = shape[2]! * s2, s0 = shape[1]! * s1;
        return new C(data, shape[0]!, shape[1]!, shape[2]!, shape[3]!, s0, s1, s2, 1, offset);
      }
      default: {
        const st = new Array<number>(d);
        for (let i = d - 1, acc = 1; i >= 0; i--) { st[i] = acc; acc *= shape[i]!; }
        return new C(data, ...shape, ...st, offset);
      }
    }
  }
  switch (d) {
    case 0: return new C(data, offset);
    case 1: return new C(data, shape[0]!, stride[0]!, offset);
    case 2: return new C(data, shape[0]!, shape[1]!, stride[0]!, stride[1]!, offset);
    default: return new C(data, ...shape, ...stride, offset);
  }
}

/** A tensor over row-major `data` of `shape` (no copy). */
export function tensorOf(data: FloatArray, shape: readonly number[]): Tensor {
  return new Tensor(ndView(data, shape));
}

