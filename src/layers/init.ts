/**
 * Weight initialisers. Each is an {@link Initializer}, `(shape, { dtype, rng }) → Tensor`,
 * and each one with options is also a factory of Initializers: `kaimingNormal(shape)` draws
 * a tensor, `kaimingNormal({ gain: 1 })` returns an Initializer with that gain, to hand to a
 * layer (`Dense(10, 5, relu, { init: kaimingNormal({ gain: 1 }) })`).
 *
 * Fans follow Flux's definitions for fluxion's layouts, where the outermost dimension is the
 * output (as in PyTorch; Flux's column-major arrays have it last): see {@link fans}.
 *
 * Randomness comes from fluxion's global generator (the one `seed(n)` resets, shared with
 * `rand`/`randn`), so a model built after `seed(n)` is the same every time; an `rng` option
 * gives a private stream instead.
 */
import { type DType, allocate, checkDType } from '../tensor/dtype.js';
import { fromData } from '../tensor/convert.js';
import { parameterArray } from '../backend/cpu/resident.js';
import { ShapeError, checkShape, shapeStr, sizeOf } from '../tensor/shape.js';
import { rng as globalRng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { erf } from '../ops/elementwise.js';

export { zeros, ones } from '../tensor/create.js';

/**
 * Where random numbers come from: a function returning uniform numbers in [0, 1) (such as
 * `Math.random` or a seeded generator of your own), or a seed number, which starts a private
 * xoshiro128** stream of its own (independent of, and not advancing, the global one).
 */
export type RandomSource = (() => number) | number;

/** What a layer passes to its initialiser. */
export interface InitOptions {
  /** Element type of the result; default `'float32'` (the layers' default). */
  dtype?: DType;
  /** A private random source; default: the global generator reset by `seed(n)`. */
  rng?: RandomSource;
}

/**
 * A weight initialiser: a tensor of the given shape. Layers call `init(shape, { dtype, rng })`
 * with their own dtype, so any function of this form can initialise a layer — the creation
 * functions `zeros` and `ones` are Initializers too (called on their own, without a dtype,
 * they keep their float64 default).
 */
export type Initializer = (shape: readonly number[], options?: InitOptions) => Tensor;

/**
 * An initialiser with options of type `O`: called with a shape it draws a tensor; called
 * with only options (or nothing) it returns an {@link Initializer} with those options fixed,
 * whose own options (a layer's `dtype`, `rng`) take precedence over them. A seed number given
 * as `rng` there starts one stream that successive calls continue, so two layers built from
 * `glorotUniform({ rng: 1 })` get different (but reproducible) weights.
 */
export interface ConfigurableInitializer<O extends InitOptions> {
  /** A tensor of shape `shape`. */
  (shape: readonly number[], options?: O): Tensor;
  /** An Initializer with these options fixed. */
  (options?: O): Initializer;
}

/** Options of the Glorot (Xavier) initialisers. */
export interface GlorotOptions extends InitOptions {
  /** Scale factor; default 1. */
  gain?: number;
}

/**
 * Options of the Kaiming (He) initialisers. The default gain √2 suits `relu`; use 1 for
 * linear layers and `sigmoid`, 5/3 for `tanh`, √(2/(1 + a²)) for `leakyRelu` with slope a.
 */
export interface KaimingOptions extends InitOptions {
  /** Scale factor; default √2. */
  gain?: number;
}

/** Options of {@link truncatedNormal}. */
export interface TruncatedNormalOptions extends InitOptions {
  /** Mean of the normal before truncation; default 0. */
  mean?: number;
  /** Standard deviation of the normal before truncation; default 1. */
  std?: number;
  /** Lower bound, in the values' own units (not in standard deviations); default −2. */
  lo?: number;
  /** Upper bound; default 2. */
  hi?: number;
}

/** Options of {@link orthogonal}. */
export interface OrthogonalOptions extends InitOptions {
  /** Scale factor: the rows or columns have length `gain`; default 1. */
  gain?: number;
}

// ---------------------------------------------------------------- fans

/**
 * Fan-in and fan-out of a weight of this shape, in fluxion's layouts (outermost dimension =
 * outputs):
 * - `[]`: 1 and 1; `[n]` (a vector, taken as an n×1 matrix, as Flux does): 1 and n;
 * - `[out, in]` (a Dense weight): `in` and `out`;
 * - `[out, in, k1, k2, …]` (conv filters `[out, in/groups, kh, kw]`): `in·k1·k2·…` and
 *   `out·k1·k2·…`.
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const s = checkShape(shape as number[], 'fans');
  if (s.length === 0) return { fanIn: 1, fanOut: 1 };
  if (s.length === 1) return { fanIn: 1, fanOut: s[0] };
  const receptive = sizeOf(s.slice(2));
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

// ---------------------------------------------------------------- random sources

/** Uniform and standard normal numbers. */
interface Source {
  uniform(): number;
  normal(): number;
}

type Generator = typeof globalRng;
/** A fresh generator of the global one's kind (its class is not exported; its constructor is reachable). */
const newGenerator = (seed: number): Generator => new (globalRng.constructor as new (seed: number) => Generator)(seed);

/** Box–Muller normals over a user's uniform function, whose values are checked. */
class FunctionSource implements Source {
  private spare: number | undefined;
  constructor(private readonly f: () => number, private readonly op: string) {}

  uniform(): number {
    const u = this.f();
    if (typeof u !== 'number' || !(u >= 0 && u < 1)) {
      throw new RangeError(`${this.op}: rng must return numbers in [0, 1), got ${String(u)}`);
    }
    return u;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform())); // 1 − u ∈ (0, 1]: no log(0)
    const t = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(t);
    return r * Math.cos(t);
  }
}

function sourceOf(r: RandomSource | undefined, op: string): Source {
  if (r === undefined) return globalRng;
  if (typeof r === 'function') return new FunctionSource(r, op);
  if (typeof r === 'number' && Number.isFinite(r)) return newGenerator(r);
  throw new TypeError(`${op}: rng must be a function returning numbers in [0, 1) or a finite seed number, got ${String(r)}`);
}

// ---------------------------------------------------------------- the curryable wrapper

const BASE_KEYS = ['dtype', 'rng'] as const;

/** Reject option names the initialiser does not know (a typo would otherwise be ignored silently). */
function checkKeys(op: string, o: object, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new TypeError(`${op}: unknown option '${k}'; expected one of ${allowed.join(', ')}`);
  }
}

function number(op: string, name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${op}: ${name} must be a number, got ${String(v)}`);
  return v;
}

function finitePositive(op: string, name: string, v: unknown, dflt: number): number {
  const n = number(op, name, v, dflt);
  if (!(n > 0 && Number.isFinite(n))) throw new RangeError(`${op}: ${name} must be a finite positive number, got ${n}`);
  return n;
}

/** Copy of `o` without its undefined entries, so `{ rng: undefined }` does not hide a fixed rng. */
function defined<O extends object>(o: O | undefined): Partial<O> {
  const out: Partial<O> = {};
  if (o !== undefined) for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const isOptions = (x: unknown): x is object => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Build a {@link ConfigurableInitializer} from a body that fills a row-major Float64Array of
 * the shape's size. Options are validated when given (also when currying, so a bad option
 * fails where it is written, not when the layer is built).
 */
function configurable<O extends InitOptions>(
  op: string,
  keys: readonly string[],
  validate: (o: O) => void,
  draw: (shape: number[], o: O, src: Source) => Drawn,
): ConfigurableInitializer<O> {
  const allowed = [...BASE_KEYS, ...keys];
  const check = (o: O) => {
    checkKeys(op, o, allowed);
    if (o.dtype !== undefined) checkDType(o.dtype, op);
    validate(o);
  };
  const run = (shape: readonly number[], o: O, src: Source): Tensor => {
    const s = checkShape(shape, op).slice();
    const dtype = checkDType(o.dtype ?? 'float32', op);
    const { values, bounds } = draw(s, o, src);
    // parameters live in wasm memory where they can, so kernels read them without staging
    const data = parameterArray(dtype, values.length);
    data.set(values);
    if (dtype === 'float32' && bounds !== undefined) roundInside(data as Float32Array, bounds);
    return fromData(data, s);
  };
  const init = (first?: readonly number[] | O, second?: O): Tensor | Initializer => {
    if (Array.isArray(first)) {
      if (second !== undefined && !isOptions(second)) throw new TypeError(`${op}: options must be an object, got ${String(second)}`);
      const o = defined(second) as O;
      check(o);
      return run(first, o, sourceOf(o.rng, op));
    }
    if (first !== undefined && !isOptions(first)) {
      throw new TypeError(`${op}: expected a shape (an array of integers) or an options object, got ${String(first)}`);
    }
    if (second !== undefined) throw new TypeError(`${op}: options come alone when no shape is given`);
    const fixed = defined(first as O | undefined) as O;
    check(fixed);
    // one stream for every call of this Initializer (a seed here would otherwise repeat itself)
    const fixedSource = fixed.rng === undefined ? undefined : sourceOf(fixed.rng, op);
    const curried: Initializer = (shape, options) => {
      if (options !== undefined && !isOptions(options)) throw new TypeError(`${op}: options must be an object, got ${String(options)}`);
      const own = defined(options) as O;
      check(own);
      const o = { ...fixed, ...own };
      return run(shape, o, own.rng !== undefined ? sourceOf(own.rng, op) : fixedSource ?? globalRng);
    };
    Object.defineProperty(curried, 'name', { value: op });
    return curried;
  };
  Object.defineProperty(init, 'name', { value: op });
  return init as ConfigurableInitializer<O>;
}

/** What an initialiser's body draws: row-major float64 values, and the interval they lie in, if bounded. */
interface Drawn {
  values: Float64Array;
  bounds?: readonly [number, number];
}

/**
 * Rounding to float32 can step just outside a bound the float64 value respected (a uniform
 * limit or a truncation bound that is not a float32). Such values move one float32 step
 * back inside, so the float32 tensor respects the bounds too.
 */
function roundInside(data: Float32Array, [lo, hi]: readonly [number, number]): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i] > hi) data[i] = stepFloat32(data[i], false);
    else if (data[i] < lo) data[i] = stepFloat32(data[i], true);
  }
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** The neighbouring float32 of a finite float32 `f`, above it (`up`) or below. */
function stepFloat32(f: number, up: boolean): number {
  if (f === 0) return up ? 2 ** -149 : -(2 ** -149);
  F32[0] = f;
  // the bit pattern orders magnitudes: one more is one step away from zero
  if ((f > 0) === up) U32[0] += 1;
  else U32[0] -= 1;
  return F32[0];
}

// ---------------------------------------------------------------- the initialisers

function uniformIn(n: number, limit: number, src: Source): Drawn {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * src.uniform() - 1) * limit;
  return { values: out, bounds: [-limit, limit] };
}

function normalWith(n: number, std: number, src: Source): Drawn {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = src.normal() * std;
  return { values: out };
}

const checkGain = (op: string) => (o: { gain?: number }) => {
  const g = number(op, 'gain', o.gain, 1);
  if (!Number.isFinite(g)) throw new RangeError(`${op}: gain must be finite, got ${g}`);
};

/**
 * Glorot (Xavier) uniform: uniform in [−l, l) with l = gain·√(6 / (fanIn + fanOut)), so the
 * variance is gain²·2 / (fanIn + fanOut). The layers' default. Fans as in {@link fans}.
 */
export const glorotUniform: ConfigurableInitializer<GlorotOptions> = configurable<GlorotOptions>(
  'glorotUniform', ['gain'], checkGain('glorotUniform'),
  (shape, o, src) => {
    const { fanIn, fanOut } = fans(shape);
    return uniformIn(sizeOf(shape), (o.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut)), src);
  },
);

/** Glorot (Xavier) normal: normal with mean 0 and standard deviation gain·√(2 / (fanIn + fanOut)). Fans as in {@link fans}. */
export const glorotNormal: ConfigurableInitializer<GlorotOptions> = configurable<GlorotOptions>(
  'glorotNormal', ['gain'], checkGain('glorotNormal'),
  (shape, o, src) => {
    const { fanIn, fanOut } = fans(shape);
    return normalWith(sizeOf(shape), (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), src);
  },
);

/**
 * Kaiming (He) uniform: uniform in [−l, l) with l = gain·√(3 / fanIn), so the variance is
 * gain² / fanIn; gain √2 by default (for `relu`). Fans as in {@link fans}.
 */
export const kaimingUniform: ConfigurableInitializer<KaimingOptions> = configurable<KaimingOptions>(
  'kaimingUniform', ['gain'], checkGain('kaimingUniform'),
  (shape, o, src) => uniformIn(sizeOf(shape), (o.gain ?? Math.SQRT2) * Math.sqrt(3 / fans(shape).fanIn), src),
);

/** Kaiming (He) normal: normal with mean 0 and standard deviation gain / √fanIn; gain √2 by default (for `relu`). Fans as in {@link fans}. */
export const kaimingNormal: ConfigurableInitializer<KaimingOptions> = configurable<KaimingOptions>(
  'kaimingNormal', ['gain'], checkGain('kaimingNormal'),
  (shape, o, src) => normalWith(sizeOf(shape), (o.gain ?? Math.SQRT2) / Math.sqrt(fans(shape).fanIn), src),
);

/**
 * Each proposal below is accepted with probability above 1/5, so a million rejections in a
 * row (probability < 1e-96000) means the random source is degenerate (say, a constant `rng`).
 */
function giveUpAfter(tries: number): void {
  if (tries >= 1e6) throw new Error('truncatedNormal: a million proposals in a row were rejected: is the rng option returning varied uniform numbers?');
}

/** Standard normal CDF. */
const Phi = (z: number): number => 0.5 * (1 + (erf(z * Math.SQRT1_2) as number));

/**
 * One standard normal value conditioned on [a, b] (a < b), by exact rejection sampling with
 * a proposal chosen so that the acceptance rate stays above 1/5 wherever the interval
 * lies (Robert 1995): plain normals when [a, b] holds much of the mass; otherwise, on the
 * side of 0 the interval lies on, an exponential proposal for a wide tail interval and a
 * uniform one for a narrow interval.
 */
function truncatedStandard(a: number, b: number, src: Source): number {
  if (Phi(b) - Phi(a) >= 0.3) {
    for (let tries = 0; ; tries++) {
      giveUpAfter(tries);
      const z = src.normal();
      if (z >= a && z <= b) return z;
    }
  }
  if (b <= 0) return -truncatedStandard(-b, -a, src); // mirror into the right half
  if (a < 0) {
    // narrow around 0 (mass < 0.3, so b − a < 0.8): uniform proposal, accept e^(−z²/2)
    for (let tries = 0; ; tries++) {
      giveUpAfter(tries);
      const z = a + (b - a) * src.uniform();
      if (src.uniform() <= Math.exp(-0.5 * z * z)) return z;
    }
  }
  // 0 ≤ a < b: a right-tail interval
  const rate = (a + Math.sqrt(a * a + 4)) / 2; // the exponential rate Robert shows optimal
  if (rate * (b - a) < 1) {
    // narrow: uniform proposal, accept e^((a² − z²)/2) (written as a product: no overflow for large a)
    for (let tries = 0; ; tries++) {
      giveUpAfter(tries);
      const z = a + (b - a) * src.uniform();
      if (src.uniform() <= Math.exp(-0.5 * (z - a) * (z + a))) return z;
    }
  }
  for (let tries = 0; ; tries++) {
    giveUpAfter(tries);
    const z = a - Math.log(1 - src.uniform()) / rate;
    if (z <= b && src.uniform() <= Math.exp(-0.5 * (z - rate) * (z - rate))) return z;
  }
}

/**
 * Normal with mean `mean` and standard deviation `std` (defaults 0 and 1), conditioned on
 * [lo, hi] (defaults −2 and 2, in the values' own units as in Flux; infinite bounds are
 * allowed). Exact rejection sampling, efficient for any interval; every value lies in
 * [lo, hi], in float32 too.
 */
export const truncatedNormal: ConfigurableInitializer<TruncatedNormalOptions> = configurable<TruncatedNormalOptions>(
  'truncatedNormal', ['mean', 'std', 'lo', 'hi'],
  (o) => {
    const op = 'truncatedNormal';
    const mean = number(op, 'mean', o.mean, 0);
    if (!Number.isFinite(mean)) throw new RangeError(`${op}: mean must be finite, got ${mean}`);
    finitePositive(op, 'std', o.std, 1);
    const lo = number(op, 'lo', o.lo, -2), hi = number(op, 'hi', o.hi, 2);
    if (!(lo < hi)) throw new RangeError(`${op}: lo must be below hi, got lo = ${lo}, hi = ${hi}`);
  },
  (shape, o, src) => {
    const mean = o.mean ?? 0, std = o.std ?? 1, lo = o.lo ?? -2, hi = o.hi ?? 2;
    const a = (lo - mean) / std, b = (hi - mean) / std;
    const out = new Float64Array(sizeOf(shape));
    // mean + std·z can round past a bound by an ulp: clamp (the bounds themselves are values of the distribution's support)
    for (let i = 0; i < out.length; i++) out[i] = Math.min(hi, Math.max(lo, mean + std * truncatedStandard(a, b, src)));
    return { values: out, bounds: [lo, hi] };
  },
);

/**
 * A (semi-)orthogonal matrix scaled by `gain` (Saxe et al. 2014). The shape is read as a
 * matrix of `shape[0]` rows by the product of the other dimensions (for conv filters
 * `[out, in, kh, kw]`: out × in·kh·kw; Flux flattens all but its outermost, output dimension
 * the same way). With rows ≥ columns the columns are orthonormal (WᵀW = gain²·I), otherwise
 * the rows are (WWᵀ = gain²·I). Drawn from the uniform (Haar) distribution: the Q factor of
 * a Gaussian matrix's Householder QR, with signs fixed by R's diagonal. Needs at least 2
 * dimensions. The QR costs about 2·m·n² operations for an m×n matrix: meant for layer-sized
 * weights.
 */
export const orthogonal: ConfigurableInitializer<OrthogonalOptions> = configurable<OrthogonalOptions>(
  'orthogonal', ['gain'], checkGain('orthogonal'),
  (shape, o, src) => {
    if (shape.length < 2) {
      throw new ShapeError(`orthogonal: needs a shape of at least 2 dimensions (rows = shape[0], columns = the rest), got ${shapeStr(shape)}`);
    }
    const rows = shape[0], cols = sizeOf(shape.slice(1));
    const gain = o.gain ?? 1;
    const out = new Float64Array(rows * cols);
    if (rows === 0 || cols === 0) return { values: out };
    const m = Math.max(rows, cols), n = Math.min(rows, cols);
    const a = new Float64Array(m * n);
    for (let i = 0; i < a.length; i++) a[i] = src.normal();
    const q = orthonormalColumns(a, m, n);
    // rows ≥ cols: W = gain·Q (m×n); otherwise W = gain·Qᵀ
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        if (rows >= cols) out[i * n + j] = gain * q[i * n + j];
        else out[j * m + i] = gain * q[i * n + j];
      }
    }
    return { values: out };
  },
);

/**
 * The Q of the thin QR factorisation A = QR of a row-major m×n matrix (m ≥ n, overwritten),
 * by Householder reflections, with each column multiplied by the sign of R's diagonal entry
 * (which makes Q Haar-distributed for Gaussian A, and unique). Orthogonal to about n·eps.
 */
function orthonormalColumns(a: Float64Array, m: number, n: number): Float64Array {
  const vs: Float64Array[] = [];
  const signs = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // reflect column k below the diagonal onto alpha·e_k, alpha = −sign(x₀)·‖x‖ (no cancellation in v₀)
    const v = new Float64Array(m - k);
    let norm2 = 0;
    for (let i = k; i < m; i++) {
      v[i - k] = a[i * n + k];
      norm2 += v[i - k] * v[i - k];
    }
    const norm = Math.sqrt(norm2);
    const alpha = v[0] > 0 ? -norm : norm;
    signs[k] = alpha < 0 ? -1 : 1;
    v[0] -= alpha;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i] * v[i];
    vs.push(v);
    if (vv === 0) continue; // a zero column: the reflection is the identity
    for (let j = k + 1; j < n; j++) {
      let s = 0;
      for (let i = k; i < m; i++) s += v[i - k] * a[i * n + j];
      s = (2 * s) / vv;
      for (let i = k; i < m; i++) a[i * n + j] -= s * v[i - k];
    }
  }
  // Q = H₀·H₁·…·H₋₁ applied to the first n columns of the identity, innermost first
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * n + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const v = vs[k];
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i] * v[i];
    if (vv === 0) continue;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = k; i < m; i++) s += v[i - k] * q[i * n + j];
      s = (2 * s) / vv;
      for (let i = k; i < m; i++) q[i * n + j] -= s * v[i - k];
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) q[i * n + j] *= signs[j];
  return q;
}
