/**
 * Finite-difference checks of derivatives, in float64.
 *
 * First order — `checkGradient(f, args)`: with a random cotangent u for the output (1 for a
 * scalar output, which goes through `gradient`; otherwise `pullback(f)(u)`), the AD result
 * g = back(u) must predict the change of φ(x) = ⟨u, f(x)⟩ along random directions v: the
 * central difference φ(x + hv) − φ(x − hv) against ⟨g, Δ⟩, where Δ = (x + hv) − (x − hv)
 * is the displacement actually applied (computed after rounding the perturbed inputs, so
 * the rounding of x ± hv is not an error of the comparison; with the extrapolation below,
 * the matching combination (8·Δ(h) − Δ(2h))/6). One joint direction over all
 * arguments, and one per argument when there are several (so swapped partials are caught).
 *
 * Second order — `checkSecondOrder(f, args)`: with fixed random u (output) and r (one per
 * argument), F(x) = ⟨r, ∇⟨u, f⟩(x)⟩. Then ∇F = H·r (the gradient of a projection of the
 * gradient: reverse over reverse) and ⟨r, jvp(∇⟨u, f⟩, x; Δ)⟩ = ⟨r, H·Δ⟩ (forward over
 * reverse) must both predict F(x + hv) − F(x − hv), the difference of first-order
 * gradients: a Hessian–vector product check.
 *
 * Error analysis (c(h) = φ(x + hv) − φ(x − hv), s = max(1, max|x|)):
 * - Truncation: c(h) = 2h·φ′ + (h³/3)·φ‴ + O(h⁵). The h³ term is removed by Richardson
 *   extrapolation, c_R(h) = (8·c(h) − c(2h)) / 6 = 2h·φ′ + a·h⁵ + …, and what is left is
 *   measured with a third step: c_R(2h) − 2·c_R(h) = 30·a·h⁵, so trunc ≈ |c_R(2h) − 2·c_R(h)| / 30.
 *   (Without the extrapolation, a point where φ′ = 0 but φ‴ ≠ 0 — x³ at 0, a product with
 *   several zero factors — has a difference made entirely of truncation.)
 * - Rounding: each evaluation of φ is accurate to δ ≈ κ·eps·M with M = Σ|u_j·f_j| +
 *   ‖u‖₁·max|x| (outputs and the inputs that composites form intermediates from) and
 *   κ = 64 + n: up to ~16 ulp per output for short compositions of correctly rounded-ish
 *   kernels, twice that for safety, plus n·eps·M for our own n-term sum ⟨u, ·⟩. c(h) is then
 *   good to 2δ and c_R(h) to (8·2δ + 2δ)/6 = 3δ.
 * - Step: for data of scale s, φ‴ ~ φ′/s², so the plain central difference's error
 *   (h²/6)·|φ‴| + eps·M/h is smallest near h ≈ cbrt(eps)·s. We take h = 2⁻¹⁷·s
 *   (cbrt(2⁻⁵²) = 2⁻¹⁷·³³ ≈ 6e-6) with s rounded up to a power of two; the rounding term is
 *   then ≈ eps^(2/3) ≈ 4e-11 relative, and after extrapolation truncation is far below it.
 * - Test: |c_R(h) − ⟨g, Δ⟩| ≤ 4·(trunc + 3δ), a safety factor of 4 on the estimated error.
 * - Soundness guard: a kink or jump within ±8h makes trunc as large as c_R(h) itself and would
 *   let the tolerance swallow real errors. So either trunc stays below 1e-3·|c_R(h)| + 3δ (for
 *   a smooth function with φ′ ≠ 0 it is ~1e-20 of it), or the truncation is shown to be in
 *   its asymptotic regime: the same estimate one step up (from 2h, 4h, 8h) must be ≈ 2⁵ = 32
 *   times larger (accepted: 16…64), as an h⁵ term is and a kink's (piecewise linear) is not.
 *   The second case is a smooth point where φ′ is 0 or tiny next to the h⁵ term (a product
 *   with two zero factors, x³ at 0); there the tolerance stays of the size of that term.
 *   Otherwise the check fails, saying the point is too close to a non-smooth point (the
 *   generators keep a margin from kinks instead).
 * These constants are fixed here for every check; specs do not pass tolerances.
 */
import * as assert from 'uvu/assert';
import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/convert.js';
import { add, mul } from '../../src/ops/elementwise.js';
import { sum } from '../../src/ops/reduce.js';
import { gradient, jvp, pullback } from '../../src/ad/index.js';

/** A differentiable argument: a plain number (the scalar path) or a float64 tensor. */
export type Arg = number | Tensor;
/** A function under test: its differentiable arguments, a number or tensor out. */
export type Fn = (...args: any[]) => unknown;

export const EPS = 2 ** -52;
/** h for s = 1: 2⁻¹⁷ ≈ cbrt(eps) (see the error analysis above). */
const H_UNIT = 2 ** -17;
/** Safety factor on the estimated error. */
const SAFETY = 4;
/** Largest truncation estimate, relative to the measured change, still taken as "smooth here". */
const SMOOTH = 1e-3;

// ---------------------------------------------------------------- random numbers

/** Deterministic uniform numbers in [0, 1) from a seed (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [−1, 1), each at least 1/8 away from 0 (so no direction is ~zero by chance). */
function randomVector(n: number, rand: () => number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = 0.125 + 0.875 * rand();
    a[i] = rand() < 0.5 ? -m : m;
  }
  return a;
}

// ---------------------------------------------------------------- values

/** Row-major float64 copy of a number or tensor. */
export function flat(x: unknown): Float64Array {
  if (typeof x === 'number') return Float64Array.of(x);
  if (x instanceof Tensor) return Float64Array.from(x.data);
  throw new TypeError(`gradcheck: expected a number or a Tensor, got ${describe(x)}`);
}

/** A value shaped like `like` holding `vals`. */
function rebuild(like: Arg, vals: Float64Array): Arg {
  if (typeof like === 'number') return vals[0];
  return tensor(Float64Array.from(vals), { shape: like.shape.slice() });
}

function describe(x: unknown): string {
  if (typeof x === 'number') return `number ${x}`;
  if (x instanceof Tensor) {
    const d = Array.from(x.data.slice(0, 12)).map((v) => +v.toPrecision(17));
    return `Tensor[${x.shape.join(',')}] ${x.dtype}${x.isContiguous ? '' : ' (view)'} [${d.join(', ')}${x.size > 12 ? ', …' : ''}]`;
  }
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
}

function describeArgs(args: readonly Arg[]): string {
  return args.map((a, i) => `  arg ${i}: ${describe(a)}`).join('\n');
}

function checkArgs(args: readonly Arg[], label: string): void {
  args.forEach((a, i) => {
    if (typeof a === 'number') return;
    if (!(a instanceof Tensor)) assert.unreachable(`${label}: argument ${i} is ${describe(a)}, expected a number or a Tensor`);
    if (a.dtype !== 'float64') assert.unreachable(`${label}: argument ${i} is ${a.dtype}; finite differences need float64`);
  });
}

/** The gradient of each argument must be shaped like it: number → number, Tensor → Tensor of the same shape and dtype. */
export function checkGradientShapes(args: readonly Arg[], grads: readonly unknown[], label: string): void {
  assert.is(grads.length, args.length, `${label}: one gradient per argument`);
  args.forEach((a, i) => {
    const g = grads[i];
    if (typeof a === 'number') {
      if (typeof g !== 'number') assert.unreachable(`${label}: gradient ${i} of a number is ${describe(g)}, expected a number`);
    } else {
      if (!(g instanceof Tensor)) assert.unreachable(`${label}: gradient ${i} of a Tensor is ${describe(g)}, expected a Tensor`);
      const t = g as Tensor;
      assert.equal([...t.shape], [...a.shape], `${label}: shape of gradient ${i}`);
      assert.is(t.dtype, a.dtype, `${label}: dtype of gradient ${i}`);
    }
  });
}

/** Output values of f, with a check that they are a number or a float64 tensor. */
function readOutput(y: unknown, label: string): { vals: Float64Array; scalar: boolean; like: Arg } {
  if (typeof y === 'number') return { vals: Float64Array.of(y), scalar: true, like: y };
  if (!(y instanceof Tensor)) return assert.unreachable(`${label}: f returned ${describe(y)}, expected a number or a Tensor`) as never;
  if (y.dtype !== 'float64') assert.unreachable(`${label}: f returned a ${y.dtype} tensor; finite differences need float64`);
  return { vals: flat(y), scalar: y.size === 1, like: y };
}

// ---------------------------------------------------------------- the finite-difference comparison

/** A scalar function of the arguments, evaluated without AD: its value and the magnitude M of what it sums. */
type Probe = (xs: Arg[]) => { value: number; mag: number; terms: number };

function maxAbs(args: readonly Arg[], v?: readonly Float64Array[]): number {
  let m = 0;
  args.forEach((a, i) => {
    if (v !== undefined && v[i].every((e) => e === 0)) return;
    for (const e of flat(a)) m = Math.max(m, Math.abs(e));
  });
  return m;
}

function perturb(args: readonly Arg[], v: readonly Float64Array[], t: number): Arg[] {
  return args.map((a, i) => {
    const x = flat(a);
    const out = new Float64Array(x.length);
    for (let k = 0; k < x.length; k++) out[k] = x[k] + t * v[i][k];
    return rebuild(a, out);
  });
}

/** One directional finite difference: c_R(h) ≈ 2h·φ′ (extrapolated), the displacement Δ it corresponds to, and the error budget. */
interface Difference {
  c: number;
  deltas: Float64Array[];
  h: number;
  trunc: number;
  /** The same truncation estimate from steps 2h, 4h, 8h (≈ 32·trunc where the h⁵ term dominates). */
  truncUp: number;
  /** Rounding error of one evaluation of φ. */
  delta: number;
}

function difference(probe: Probe, args: readonly Arg[], v: readonly Float64Array[], uNorm: number): Difference {
  const s = 2 ** Math.ceil(Math.log2(Math.max(1, maxAbs(args, v))));
  const h = H_UNIT * s;
  let mag = 0, terms = 1;
  /** c(t) and the displacement actually applied. */
  const at = (t: number): { c: number; deltas: Float64Array[] } => {
    const xp = perturb(args, v, t), xm = perturb(args, v, -t);
    const p = probe(xp), m = probe(xm);
    mag = Math.max(mag, p.mag, m.mag);
    terms = Math.max(terms, p.terms);
    const deltas = xp.map((a, i) => {
      const fa = flat(a), fb = flat(xm[i]);
      return fa.map((e, k) => e - fb[k]);
    });
    return { c: p.value - m.value, deltas };
  };
  const c1 = at(h), c2 = at(2 * h), c4 = at(4 * h), c8 = at(8 * h);
  const r1 = (8 * c1.c - c2.c) / 6, r2 = (8 * c2.c - c4.c) / 6, r4 = (8 * c4.c - c8.c) / 6;
  const delta = (64 + terms) * EPS * (mag + uNorm * maxAbs(args));
  // the displacement c_R(h) corresponds to: (8·Δ(h) − Δ(2h)) / 6, ≈ Δ(h) up to the rounding of x ± t·v
  const deltas = c1.deltas.map((d1, i) => d1.map((e, k) => (8 * e - c2.deltas[i][k]) / 6));
  return { c: r1, deltas, h, trunc: Math.abs(r2 - 2 * r1) / 30, truncUp: Math.abs(r4 - 2 * r2) / 30, delta };
}

function dotFlat(a: readonly Float64Array[], b: readonly Float64Array[]): number {
  let s = 0;
  a.forEach((x, i) => x.forEach((e, k) => (s += e * b[i][k])));
  return s;
}

/** Assert that `predicted` (what AD says c_R(h) is, ⟨g, Δ⟩) matches the finite difference. */
function compare(d: Difference, predicted: number, label: string, what: string, args: readonly Arg[]): void {
  const { c, h, trunc, delta } = d;
  const round = 3 * delta;
  const ratio = d.truncUp / trunc;
  const large = trunc > SMOOTH * Math.abs(c) + round;
  const context = () =>
    `${label}: ${what}\n  directional derivative: finite differences ${c / (2 * h)}, AD ${predicted / (2 * h)}` +
    `\n  (c(h) = ${c}, AD ${predicted}, |diff| ${Math.abs(c - predicted)}, truncation ≈ ${trunc}, rounding ≈ ${round}, h = ${h}` +
    `${large ? `; truncation large but growing ${ratio}× per doubling of h, taken as a smooth h⁵ term` : ''})\n${describeArgs(args)}`;
  if (!Number.isFinite(c)) assert.unreachable(`${context()}\n  the function is not finite near this point`);
  if (large && !(ratio >= 16 && ratio <= 64)) {
    assert.unreachable(`${context()}\n  finite differences are unreliable here (a kink, jump or steep region within ±8h; truncation grows ${ratio}× per doubling of h, not ~32×): keep the generator away from it`);
  }
  const tol = SAFETY * (trunc + round);
  if (!(Math.abs(c - predicted) <= tol)) assert.unreachable(`${context()}\n  tolerance ${tol}`);
}

/** Directions: one over all arguments jointly, and one per argument if there are several. */
function directions(args: readonly Arg[], rand: () => number): Float64Array[][] {
  const sizes = args.map((a) => flat(a).length);
  const dirs = [sizes.map((n) => randomVector(n, rand))];
  if (args.length > 1) {
    args.forEach((_, i) => dirs.push(sizes.map((n, j) => (j === i ? randomVector(n, rand) : new Float64Array(n)))));
  }
  return dirs;
}

// ---------------------------------------------------------------- public checks

export interface CheckOptions {
  /** Seed of the random cotangents and directions (draw it with fast-check for reproducible counterexamples). */
  seed?: number;
  /** Name of what is checked, for messages. */
  label?: string;
}

/** ⟨u, f(xs)⟩ evaluated without AD. */
function outputProbe(f: Fn, u: Float64Array, label: string): Probe {
  return (xs) => {
    const { vals } = readOutput(f(...xs), label);
    let value = 0, mag = 0;
    for (let j = 0; j < vals.length; j++) {
      value += u[j] * vals[j];
      mag += Math.abs(u[j] * vals[j]);
    }
    return { value, mag, terms: vals.length };
  };
}

/**
 * First-order check of `gradient` (scalar output) or `pullback` (any output) of `f` at
 * `args` against central finite differences. Also checks the value returned by `pullback`
 * equals `f(...args)` and that each gradient is shaped like its argument.
 */
export function checkGradient(f: Fn, args: readonly Arg[], opts: CheckOptions = {}): void {
  const label = opts.label ?? 'checkGradient';
  checkArgs(args, label);
  const rand = rng(opts.seed ?? 1);
  const out = readOutput(f(...args), label);
  let u: Float64Array;
  let grads: unknown[];
  if (out.scalar) {
    u = Float64Array.of(1);
    grads = gradient(f, ...args);
  } else {
    u = randomVector(out.vals.length, rand);
    const [y, back] = pullback(f, ...args);
    const yv = readOutput(y, label).vals;
    assert.equal(Array.from(yv), Array.from(out.vals), `${label}: pullback's value equals f(...args)`);
    grads = back(rebuild(out.like, u));
  }
  checkGradientShapes(args, grads, label);
  const g = grads.map(flat);
  const uNorm = u.reduce((s, e) => s + Math.abs(e), 0);
  const probe = outputProbe(f, u, label);
  for (const v of directions(args, rand)) {
    const d = difference(probe, args, v, uNorm);
    compare(d, dotFlat(g, d.deltas), label, out.scalar ? 'gradient' : 'pullback with a random cotangent', args);
  }
}

/**
 * Second-order check: the Hessian (of ⟨u, f⟩ for a random u) applied to vectors, computed by
 * reverse over reverse (gradient of ⟨r, ∇⟨u, f⟩⟩) and by forward over reverse (`jvp` of the
 * gradient), each against finite differences of the first-order gradient.
 */
export function checkSecondOrder(f: Fn, args: readonly Arg[], opts: CheckOptions = {}): void {
  const label = `${opts.label ?? 'checkSecondOrder'} (second order)`;
  checkArgs(args, label);
  const rand = rng((opts.seed ?? 1) ^ 0x5bd1e995);
  const out = readOutput(f(...args), label);
  const w = out.scalar ? Float64Array.of(1) : randomVector(out.vals.length, rand);
  const wArg = rebuild(out.like, w);
  /** ∇⟨w, f⟩: the first-order gradient, by `gradient` for a scalar output, `pullback` otherwise. */
  const grad = (...xs: unknown[]): unknown[] => (out.scalar ? gradient(f, ...xs) : pullback(f, ...xs)[1](wArg));
  const sizes = args.map((a) => flat(a).length);
  const r = sizes.map((n) => randomVector(n, rand));
  const rArgs = args.map((a, i) => rebuild(a, r[i]));
  /** F = ⟨r, ∇⟨w, f⟩⟩ with library operations, so it can be differentiated. */
  const F = (...xs: unknown[]): unknown => {
    let s: unknown = 0;
    grad(...xs).forEach((g, i) => {
      const term = typeof g === 'number' ? mul(rArgs[i] as number, g) : sum(mul(rArgs[i] as Tensor, g as Tensor));
      s = add(s as number, term as number);
    });
    return s;
  };
  /** F without AD on top: the plain gradient, projected in JS. */
  const probe: Probe = (xs) => {
    const gs = grad(...xs);
    checkGradientShapes(xs, gs, label);
    let value = 0, mag = 0, terms = 0;
    gs.forEach((g, i) => flat(g).forEach((e, k) => {
      value += r[i][k] * e;
      mag += Math.abs(r[i][k] * e);
      terms++;
    }));
    return { value, mag, terms };
  };
  const rNorm = r.reduce((s, a) => s + a.reduce((t, e) => t + Math.abs(e), 0), 0);

  // reverse over reverse: H·r
  const hr = gradient(F, ...args);
  checkGradientShapes(args, hr, label);
  const hrFlat = hr.map(flat);
  for (const v of directions(args, rand)) {
    const d = difference(probe, args, v, rNorm);
    compare(d, dotFlat(hrFlat, d.deltas), label, 'gradient of ⟨r, gradient⟩ (H·r)', args);
    // forward over reverse: H·Δ, one jvp per gradient component
    const tangents = args.map((a, i) => rebuild(a, d.deltas[i]));
    let pred = 0;
    args.forEach((_, k) => {
      const [, t] = jvp((...xs: unknown[]) => grad(...xs)[k], args, tangents);
      if (typeof args[k] === 'number' ? typeof t !== 'number' : !(t instanceof Tensor)) {
        assert.unreachable(`${label}: jvp of gradient ${k} returned ${describe(t)}, expected it shaped like argument ${k}`);
      }
      flat(t).forEach((e, j) => (pred += r[k][j] * e));
    });
    compare(d, pred, label, 'jvp of the gradient (H·Δ)', args);
  }
}

// ---------------------------------------------------------------- exact and closed-form comparisons

/** |actual − expected| ≤ tol for each value (actual: number, Tensor, typed array, or an array of them), where tol may depend on the expected value. */
export function assertClose(actual: unknown, expected: number | ArrayLike<number>, tol: (e: number) => number, what: string): void {
  const a = Array.isArray(actual) ? actual.flatMap((v) => Array.from(flat(v)))
    : actual instanceof Float64Array || actual instanceof Float32Array ? actual : flat(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  assert.is(a.length, e.length, `${what}: number of values`);
  for (let i = 0; i < e.length; i++) {
    const t = tol(e[i]);
    if (!(Math.abs(a[i] - e[i]) <= t)) assert.unreachable(`${what}[${i}]: got ${a[i]}, expected ${e[i]} (tolerance ${t})`);
  }
}

/** Exact equality of values (0 and −0 equal), for the documented conventions at kinks and ties. */
export function assertExact(actual: unknown, expected: number | ArrayLike<number>, what: string): void {
  assertClose(actual, expected, () => 0, what);
}

// ---------------------------------------------------------------- dtype of gradients

/** `x` as a float32 tensor (numbers stay numbers). */
export function toFloat32(x: Arg): Arg {
  return typeof x === 'number' ? x : tensor(Float32Array.from(x.data), { shape: x.shape.slice() });
}

/**
 * With float32 tensor arguments, the first- and second-order gradients (as in
 * {@link checkGradient} and {@link checkSecondOrder}) must be float32 tensors shaped like
 * the arguments, and finite where f is. Values are not compared: float32 accuracy is the
 * kernels' business, and the float64 checks cover the rules' mathematics.
 */
export function checkFloat32Gradients(f: Fn, args: readonly Arg[], opts: CheckOptions = {}): void {
  const label = `${opts.label ?? 'checkFloat32Gradients'} (float32)`;
  const xs = args.map(toFloat32);
  const y = f(...xs);
  if (!(y instanceof Tensor)) return assert.unreachable(`${label}: expected a tensor output, got ${describe(y)}`) as never;
  assert.is(y.dtype, 'float32', `${label}: output dtype`);
  const rand = rng(opts.seed ?? 1);
  const u = tensor(Float32Array.from(randomVector(y.size, rand)), { shape: y.shape.slice() });
  const grad = (...as: unknown[]): unknown[] => pullback(f, ...as)[1](u);
  const finite = (g: unknown, what: string) => {
    if (g instanceof Tensor && !g.data.every(Number.isFinite)) assert.unreachable(`${label}: ${what} is not finite: ${describe(g)}`);
  };
  const g1 = grad(...xs);
  checkGradientShapes(xs, g1, `${label}: first order`);
  g1.forEach((g, i) => finite(g, `gradient ${i}`));
  const rs = xs.map((a) => (typeof a === 'number' ? 0.5 : tensor(Float32Array.from(randomVector(a.size, rand)), { shape: a.shape.slice() })));
  const F = (...as: unknown[]): unknown => {
    let s: unknown = 0;
    grad(...as).forEach((g, i) => {
      s = add(s as number, (typeof g === 'number' ? mul(rs[i] as number, g) : sum(mul(rs[i] as Tensor, g as Tensor))) as number);
    });
    return s;
  };
  const g2 = gradient(F, ...xs);
  checkGradientShapes(xs, g2, `${label}: second order`);
  g2.forEach((g, i) => finite(g, `second-order gradient ${i}`));
}
