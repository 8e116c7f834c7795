/**
 * Batches and sequences (the seeds' Batch/Seq): a list of data points that is one tensor
 * underneath. `Batch([x1, x2, x3])` of points `[F]` is a `[3, F]` tensor; `Seq([…])` of `T`
 * points `[F]` is `[T, F]` (time first); a Batch of Seqs is `[B, T, F]`. The list view gives
 * indexing, iteration, `map` and printing; models take and return Batches (a layer called with
 * a Batch runs on the raw tensor and wraps its output back).
 */
import { Tensor, type NestedNumbers } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/convert.js';
import { ShapeError } from '../tensor/shape.js';
import { index, stack } from '../ops/movement.js';
import { formatTensor } from '../tensor/format.js';
import { setLayerCallHook } from './layer.js';

/** What a list level is: a batch of independent points, or a sequence of time steps. */
export type BatchKind = 'Batch' | 'Seq';

const raw: unique symbol = Symbol('fluxion.rawbatch');

/**
 * A {@link Batch} or {@link Seq}: a list view of one tensor whose leading dimension(s) index
 * the points. Made by `Batch([...])` and `Seq([...])`.
 */
export class Batched {
  /** @internal The tensor underneath. */
  readonly [raw]: Tensor;
  /** The list levels from the outside in: `['Batch']`, `['Seq']`, `['Batch', 'Seq']` for a Batch of Seqs. */
  readonly levels: readonly BatchKind[];

  /** @internal Use {@link Batch} and {@link Seq}. */
  constructor(tensor: Tensor, levels: readonly BatchKind[]) {
    if (tensor.ndim < levels.length) throw new ShapeError(`${levels[0]}: a tensor of shape [${tensor.shape.join(', ')}] cannot hold ${levels.length} list levels`);
    this[raw] = tensor;
    this.levels = levels;
  }

  /** `'Batch'` or `'Seq'`. */
  get kind(): BatchKind {
    return this.levels[0];
  }

  /** Number of points (the length of the first dimension). */
  get length(): number {
    return this[raw].shape[0];
  }

  /** Point `i` (negative counts from the end): a tensor, or a Seq/Batch for a nested list. */
  at(i: number): Tensor | Batched {
    const n = this.length;
    if (!Number.isInteger(i) || i < -n || i >= n) throw new RangeError(`${this.kind}.at: index ${i} is out of range for a ${n}-element ${this.kind}`);
    const point = index(this[raw], i < 0 ? i + n : i);
    return this.levels.length > 1 ? new Batched(point, this.levels.slice(1)) : point;
  }

  /** The points in order. */
  *[Symbol.iterator](): Iterator<Tensor | Batched> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /** The points as an array. */
  toArray(): (Tensor | Batched)[] {
    return [...this];
  }

  /**
   * `fn` applied to every point, as a list of the same kind: the results must be tensors of
   * one shape (or lists of one structure), which are stacked again.
   */
  map(fn: (point: Tensor | Batched, i: number) => TensorLike | Batched): Batched {
    return make(this.kind, this.toArray().map((p, i) => fn(p, i)));
  }

  /** `2-element Batch of Tensor[3]`, `2-element Batch of 3-element Seq of Tensor[4]`. */
  toString(): string {
    const s = this[raw].shape;
    const parts = this.levels.map((k, i) => `${s[i]}-element ${k}`);
    return `${parts.join(' of ')} of Tensor[${s.slice(this.levels.length).join(', ')}]`;
  }

  /** @internal Node's console.log: the header and the points. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const points = this.toArray().map((p) => (p instanceof Tensor ? formatTensor(p) : String(p)).replace(/^/gm, '  '));
    return `${String(this)}:\n${points.join('\n')}`;
  }
}

function make(kind: BatchKind, xs: readonly unknown[]): Batched {
  if (!Array.isArray(xs)) throw new TypeError(`${kind}: expects an array of data points, got ${xs === null ? 'null' : typeof xs}`);
  if (xs.length === 0) throw new RangeError(`${kind}: needs at least one data point (an empty list has no point shape)`);
  if (xs.every((x) => x instanceof Batched)) {
    const first = (xs[0] as Batched).levels;
    xs.forEach((x, i) => {
      const l = (x as Batched).levels;
      if (l.length !== first.length || l.some((k, j) => k !== first[j])) throw new TypeError(`${kind}: point ${i} is a ${String(x)}, point 0 a ${String(xs[0])}; the points must be lists of one kind`);
    });
    return new Batched(stackPoints(kind, xs.map((x) => (x as Batched)[raw])), [kind, ...first]);
  }
  if (xs.some((x) => x instanceof Batched)) throw new TypeError(`${kind}: the points must be all tensors or all Batches/Seqs, not a mix`);
  return new Batched(stackPoints(kind, xs.map((x) => toTensor(x as TensorLike, kind))), [kind]);
}

function stackPoints(kind: BatchKind, ts: Tensor[]): Tensor {
  const s = ts[0].shape;
  ts.forEach((t, i) => {
    if (t.ndim !== s.length || t.shape.some((d, j) => d !== s[j])) {
      throw new ShapeError(`${kind}: every point must have one shape; point 0 has shape [${s.join(', ')}], point ${i} has [${t.shape.join(', ')}]`);
    }
  });
  return stack(ts, 0);
}

/**
 * A batch of data points stored as one tensor, stacked along a new first dimension:
 * `Batch([x1, x2])` of points `[3]` is a `[2, 3]` tensor; `Batch([Seq(…), Seq(…)])` of Seqs of
 * 3 points `[4]` is `[2, 3, 4]`. Points may be tensors, arrays or numbers of one shape.
 * ```ts
 * const b = Batch([tensor([1, 2, 3]), tensor([4, 5, 6])]);   // 2-element Batch of Tensor[3]
 * b.at(1); b.length; [...b]; rawbatch(b);                     // [4, 5, 6], 2, two tensors, [2, 3]
 * model(b);                                                   // a Batch of the outputs
 * ```
 */
export function Batch(points: readonly (TensorLike | NestedNumbers | Batched)[]): Batched {
  return make('Batch', points);
}

/** A sequence of data points stored as one tensor, time first: `Seq` of T points `[F]` is `[T, F]`. */
export function Seq(points: readonly (TensorLike | NestedNumbers | Batched)[]): Batched {
  return make('Seq', points);
}

/** The tensor underneath a Batch or Seq (a tensor is returned as is). */
export function rawbatch(xs: Batched | Tensor): Tensor {
  if (xs instanceof Batched) return xs[raw];
  if (xs instanceof Tensor) return xs;
  throw new TypeError(`rawbatch: expects a Batch, a Seq or a tensor, got ${xs === null ? 'null' : typeof xs}`);
}

/** Is `x` a {@link Batch} or a {@link Seq}? */
export function isBatched(x: unknown): x is Batched {
  return x instanceof Batched;
}

/**
 * `y` as a list shaped like `template` when its leading dimensions are the template's list
 * dimensions (a layer mapping each point); otherwise `y` itself (e.g. a loss over the batch).
 */
function rewrap(template: Batched, y: unknown): unknown {
  if (!(y instanceof Tensor)) return y;
  const lead = template[raw].shape.slice(0, template.levels.length);
  if (y.ndim < lead.length || lead.some((d, i) => y.shape[i] !== d)) return y;
  return new Batched(y, template.levels);
}

// Layers take Batches: the arguments are unwrapped to their tensors and a tensor result wrapped back.
const previousHook = setLayerCallHook((self, args, run) => {
  let template: Batched | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] instanceof Batched) {
      template = args[i] as Batched;
      args = args.map((a) => (a instanceof Batched ? a[raw] : a));
      break;
    }
  }
  const y = previousHook === undefined ? run(self, args) : previousHook(self, args, run);
  return template === undefined ? y : rewrap(template, y);
});
