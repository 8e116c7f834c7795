/**
 * Mini-batches over tensors whose first dimension is the observation, as Flux's DataLoader
 * (which batches along the last dimension, Julia's column-major counterpart of our first).
 */
import { Tensor } from '../tensor/tensor.js';
import { ShapeError, shapeStr } from '../tensor/shape.js';
import { slice, gather } from '../ops/movement.js';
import { rng as globalRng } from '../tensor/random.js';

/** What a {@link DataLoader} batches: one tensor, an array of tensors, or an object of tensors. */
export type Batchable = Tensor | readonly Tensor[] | { readonly [name: string]: Tensor };

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions<D extends Batchable, B> {
  /** Observations per batch (default 1). */
  batchSize?: number;
  /** Visit the observations in a new random order on every iteration (default false). */
  shuffle?: boolean;
  /**
   * Source of the shuffles: a seed (the loader then has its own generator, so its sequence of
   * epochs is reproducible whatever else draws random numbers), or a function returning uniform
   * numbers in [0, 1). Default: fluxion's global generator, which `seed(n)` makes reproducible.
   */
  rng?: number | (() => number);
  /** Keep the last batch when it is smaller than `batchSize` (default true). */
  partial?: boolean;
  /** Applied to each batch before it is yielded (to reshape, convert or one-hot it). */
  collate?: (batch: D) => B;
}

/**
 * Mini-batches of a dataset, iterable with `for…of` (each new iteration is a new epoch, and
 * reshuffles when `shuffle` is on). Made by the {@link DataLoader} function.
 */
export interface DataLoader<B> extends Iterable<B> {
  /** Number of batches in one iteration. */
  readonly length: number;
  /** Number of observations in the dataset. */
  readonly observations: number;
  /** Observations per batch (the last batch may hold fewer when `partial`). */
  readonly batchSize: number;
}

/**
 * Mini-batches over `data`: a tensor, an array of tensors (`[X, Y]`) or an object of tensors
 * (`{ x, y }`) that all have the same first dimension, the observation. Each batch has the
 * structure of `data` (then passes through `collate` if given) and holds `batchSize`
 * consecutive observations — views into the data (no copy) when not shuffled, gathered copies
 * when shuffled.
 * ```ts
 * const loader = DataLoader({ x: X, y: Y }, { batchSize: 128, shuffle: true, rng: 42 });
 * for (const { x, y } of loader) { ... }     // x: [128, 784], y: [128, 10]
 * loader.length                               // batches per epoch
 * ```
 */
export function DataLoader<D extends Batchable, B = D>(data: D, options: DataLoaderOptions<D, B> = {}): DataLoader<B> {
  const op = 'DataLoader';
  const { batchSize = 1, shuffle = false, partial = true, collate } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${op}: batchSize must be a positive integer, got ${batchSize}`);
  if (collate !== undefined && typeof collate !== 'function') throw new TypeError(`${op}: collate must be a function`);
  const uniform = shuffle ? makeUniform(options.rng, op) : undefined;
  if (!shuffle && options.rng !== undefined) makeUniform(options.rng, op); // still validate it

  const { observations, take } = structure(data, op);
  const length = partial ? Math.ceil(observations / batchSize) : Math.floor(observations / batchSize);

  function* batches(): Generator<B> {
    const order = uniform === undefined ? undefined : permutation(observations, uniform, op);
    for (let k = 0; k < length; k++) {
      const start = k * batchSize, stop = Math.min(start + batchSize, observations);
      const pick = order === undefined
        ? (t: Tensor) => slice(t, [[start, stop]])
        : (t: Tensor) => gather(t, order.subarray(start, stop), 0);
      const batch = take(pick) as D;
      yield collate === undefined ? (batch as unknown as B) : collate(batch);
    }
  }
  return { length, observations, batchSize, [Symbol.iterator]: batches };
}

/** The number of observations in `data` and a way to apply one batch selection to each of its tensors. */
function structure(data: Batchable, op: string): { observations: number; take: (pick: (t: Tensor) => Tensor) => Batchable } {
  let named: [string, Tensor][];
  let rebuild: (parts: Tensor[]) => Batchable;
  if (data instanceof Tensor) {
    named = [['the data', data]];
    rebuild = (parts) => parts[0];
  } else if (Array.isArray(data)) {
    if (data.length === 0) throw new TypeError(`${op}: the array of tensors is empty`);
    named = data.map((t, i) => [`element ${i}`, t]);
    rebuild = (parts) => parts;
  } else if (typeof data === 'object' && data !== null) {
    const keys = Object.keys(data);
    if (keys.length === 0) throw new TypeError(`${op}: the object of tensors is empty`);
    named = keys.map((k) => [`"${k}"`, (data as Record<string, Tensor>)[k]]);
    rebuild = (parts) => Object.fromEntries(keys.map((k, i) => [k, parts[i]]));
  } else {
    throw new TypeError(`${op}: expected a tensor, an array of tensors or an object of tensors, got ${data === null ? 'null' : typeof data}`);
  }
  for (const [name, t] of named) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} is not a Tensor`);
    if (t.ndim === 0) throw new ShapeError(`${op}: ${name} is 0-d; the first dimension must count the observations`);
  }
  const [firstName, first] = named[0];
  for (const [name, t] of named.slice(1)) {
    if (t.shape[0] !== first.shape[0]) {
      throw new ShapeError(`${op}: ${firstName} has ${first.shape[0]} observations (shape ${shapeStr(first.shape)}) but ${name} has ${t.shape[0]} (shape ${shapeStr(t.shape)}); the first dimensions must agree`);
    }
  }
  const tensors = named.map(([, t]) => t);
  return { observations: first.shape[0], take: (pick) => rebuild(tensors.map(pick)) };
}

/** A uniform [0, 1) source from the `rng` option. */
function makeUniform(source: number | (() => number) | undefined, op: string): () => number {
  if (source === undefined) return () => globalRng.uniform();
  if (typeof source === 'function') return source;
  if (typeof source === 'number' && Number.isFinite(source)) return splitmix(source);
  throw new TypeError(`${op}: rng must be a seed number or a function returning numbers in [0, 1), got ${typeof source === 'number' ? source : typeof source}`);
}

/** A small seeded generator (splitmix32, 32 bits per draw) for loaders given a seed. */
function splitmix(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** A uniformly random permutation of 0 … n-1 (Fisher–Yates), as float64 indices for `gather`. */
function permutation(n: number, uniform: () => number, op: string): Float64Array {
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const u = uniform();
    if (!(u >= 0 && u < 1)) throw new RangeError(`${op}: the rng function returned ${u}, not a number in [0, 1)`);
    const j = Math.floor(u * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
