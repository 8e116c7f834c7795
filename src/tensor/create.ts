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
  return filled('ones', shape, 1, options);
}

/** A tensor with every element equal to `value`. */
export function fill(shape: readonly number[], value: number, options?: CreateOptions): Tensor {
  if (typeof value !== 'number') throw new TypeError(`fill: value must be a number, got ${typeof value}`);
  return filled('fill', shape, value, options);
}

function filled(op: string, shape: readonly number[], value: number, options: CreateOptions | undefined): Tensor {
  const t = make(op, shape, options);
  (t.nd.data as Float64Array).fill(value);
  return t;
}

/** Uniform random values in [0, 1), from the generator seeded by {@link seed}. */
export function rand(shape: readonly number[], options?: CreateOptions): Tensor {
  // float32 draws come from the float32 grid: a 53-bit double just below 1 would round up to 1
  const f32 = options?.dtype === 'float32';
  return make('rand', shape, options, f32 ? () => rng.uniform32() : () => rng.uniform());
}

/** Standard normal random values, from the generator seeded by {@link seed}. */
export function randn(shape: readonly number[], options?: CreateOptions): Tensor {
  return make('randn', shape, options, () => rng.normal());
}

/**
 * Evenly spaced values `start + i·step` in [start, stop): `arange(5)`, `arange(1, 4)`,
 * `arange(0, 1, 0.25)`. The options object may take the place of omitted arguments:
 * `arange(5, { dtype: 'float32' })`.
 */
export function arange(start: number, options?: CreateOptions): Tensor;
export function arange(start: number, stop: number, options?: CreateOptions): Tensor;
export function arange(start: number, stop?: number, step?: number, options?: CreateOptions): Tensor;
export function arange(start: number, ...rest: (number | CreateOptions | undefined)[]): Tensor {
  const opts = typeof rest[rest.length - 1] === 'object' ? (rest.pop() as CreateOptions) : undefined;
  let [stop, step = 1] = rest as (number | undefined)[];
  if (stop === undefined) [start, stop] = [0, start];
  for (const [name, v] of [['start', start], ['stop', stop], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`arange: ${name} must be a finite number, got ${String(v)}`);
  }
  if (step === 0) throw new RangeError('arange: step must not be zero');
  // (stop − start) / step is rounded: settle the count on the values actually produced
  const inside = (i: number) => (step > 0 ? start + i * step < stop! : start + i * step > stop!);
  let n = Math.max(0, Math.ceil((stop - start) / step));
  while (n > 0 && !inside(n - 1)) n--;
  while (inside(n)) n++;
  return make('arange', [n], opts, (i) => start + i * step);
}

/** The identity matrix `n×n` (or `n×m`): `eye(3)`, `eye(2, 3)`, `eye(3, { dtype: 'float32' })`. */
export function eye(n: number, options?: CreateOptions): Tensor;
export function eye(n: number, m?: number, options?: CreateOptions): Tensor;
export function eye(n: number, m?: number | CreateOptions, options?: CreateOptions): Tensor {
  if (typeof m === 'object') [m, options] = [undefined, m];
  const cols = m ?? n;
  return make('eye', [n, cols], options, (i) => (i % cols === Math.floor(i / cols) ? 1 : 0));
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
