import ndarray from 'ndarray';
import { type DType, allocate, checkDType } from './dtype.js';
import { checkShape } from './shape.js';
import { rng } from './random.js';
import { Tensor } from './tensor.js';

/** Options for the creation functions. */
export interface CreateOptions {
  /** Element type; default `'float64'`. */
  dtype?: DType;
}

function make(op: string, shape: readonly number[], options: CreateOptions | undefined, fillWith?: (i: number) => number): Tensor {
  const s = checkShape(shape, op).slice();
  const dtype = checkDType(options?.dtype ?? 'float64', op);
  let n = 1;
  for (const d of s) n *= d;
  const data = allocate(dtype, n);
  if (fillWith) for (let i = 0; i < n; i++) data[i] = fillWith(i);
  return new Tensor(ndarray(data, s));
}

/** A tensor of zeros. `zeros([2, 3])`. */
export function zeros(shape: readonly number[], options?: CreateOptions): Tensor {
  return make('zeros', shape, options);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], options?: CreateOptions): Tensor {
  return fill(shape, 1, options);
}

/** A tensor with every element equal to `value`. */
export function fill(shape: readonly number[], value: number, options?: CreateOptions): Tensor {
  if (typeof value !== 'number') throw new TypeError(`fill: value must be a number, got ${typeof value}`);
  const t = make('fill', shape, options);
  (t.nd.data as Float64Array).fill(value);
  return t;
}

/** Uniform random values in [0, 1), from the generator seeded by {@link seed}. */
export function rand(shape: readonly number[], options?: CreateOptions): Tensor {
  return make('rand', shape, options, () => rng.uniform());
}

/** Standard normal random values, from the generator seeded by {@link seed}. */
export function randn(shape: readonly number[], options?: CreateOptions): Tensor {
  return make('randn', shape, options, () => rng.normal());
}

/**
 * Evenly spaced values in [start, stop): `arange(5)`, `arange(1, 4)`, `arange(0, 1, 0.25)`.
 */
export function arange(start: number, stop?: number, step = 1, options?: CreateOptions): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  for (const [name, v] of [['start', start], ['stop', stop], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`arange: ${name} must be a finite number, got ${String(v)}`);
  }
  if (step === 0) throw new RangeError('arange: step must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  return make('arange', [n], options, (i) => start + i * step);
}

/** The identity matrix `n×n` (or `n×m`). */
export function eye(n: number, m: number = n, options?: CreateOptions): Tensor {
  return make('eye', [n, m], options, (i) => (i % m === Math.floor(i / m) ? 1 : 0));
}

/** Zeros with the shape and dtype of `x`. */
export function zerosLike(x: Tensor, options?: CreateOptions): Tensor {
  return zeros(x.shape, { dtype: options?.dtype ?? x.dtype });
}

/** Ones with the shape and dtype of `x`. */
export function onesLike(x: Tensor, options?: CreateOptions): Tensor {
  return ones(x.shape, { dtype: options?.dtype ?? x.dtype });
}

/** `value` everywhere, with the shape and dtype of `x`. */
export function fillLike(x: Tensor, value: number, options?: CreateOptions): Tensor {
  return fill(x.shape, value, { dtype: options?.dtype ?? x.dtype });
}

/** Uniform random values with the shape and dtype of `x`. */
export function randLike(x: Tensor, options?: CreateOptions): Tensor {
  return rand(x.shape, { dtype: options?.dtype ?? x.dtype });
}

/** Normal random values with the shape and dtype of `x`. */
export function randnLike(x: Tensor, options?: CreateOptions): Tensor {
  return randn(x.shape, { dtype: options?.dtype ?? x.dtype });
}
