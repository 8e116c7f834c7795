/**
 * Initialisers (src/layers/init.ts): fans for dense and conv layouts; sample statistics and
 * distribution shape against the theoretical ones; bounds; orthogonality; reproducibility
 * after seed(n) and with private streams; the curried form; errors.
 *
 * Statistical bounds. For n independent draws with mean μ, variance σ² and fourth central
 * moment μ₄, the sample mean has standard deviation σ/√n and v = (1/n)·Σ(x − μ)² (about the
 * known mean) has mean σ² and standard deviation √((μ₄ − σ⁴)/n). By the central limit theorem
 * (n ≥ 10⁴ here) each is within 6 of its standard deviations except with probability ≈ 2e-9,
 * so a correct initialiser passes for any seed, while a wrong scale is caught: the variance
 * bound is 6·√(μ₄/σ⁴ − 1)/√n, a few per cent of σ² at these n (the fans of the shapes below
 * differ by factors of 2 to 4). The distribution's shape is checked with the Kolmogorov–Smirnov
 * statistic at 200 points: P(√n·sup|Fₙ − F| > 2.5) ≈ 2e^(−2·2.5²) ≈ 7.5e-6.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  glorotUniform, glorotNormal, kaimingUniform, kaimingNormal, truncatedNormal, orthogonal, zeros, ones, fans,
  type Initializer,
} from '../../src/layers/init.js';
import * as create from '../../src/tensor/create.js';
import { Tensor, ShapeError, seed, rand } from '../../src/index.js';
import { rng as mulberry } from '../_helpers/gradcheck.js';

// ---------------------------------------------------------------- helpers

function moments(xs: ArrayLike<number>, mu: number): { mean: number; v: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < xs.length; i++) {
    s += xs[i];
    s2 += (xs[i] - mu) ** 2;
  }
  return { mean: s / xs.length, v: s2 / xs.length };
}

/** Mean and variance within 6 standard deviations of the estimators (see the header). */
function checkMoments(xs: ArrayLike<number>, mu: number, sigma2: number, mu4: number, what: string): void {
  const n = xs.length;
  const { mean, v } = moments(xs, mu);
  const meanBound = 6 * Math.sqrt(sigma2 / n), varBound = 6 * Math.sqrt((mu4 - sigma2 ** 2) / n);
  if (!(Math.abs(mean - mu) <= meanBound)) assert.unreachable(`${what}: mean ${mean}, expected ${mu} ± ${meanBound}`);
  if (!(Math.abs(v - sigma2) <= varBound)) assert.unreachable(`${what}: variance ${v}, expected ${sigma2} ± ${varBound}`);
}

/** Composite Simpson's rule with 2·m intervals. */
function simpson(f: (x: number) => number, a: number, b: number, m = 4000): number {
  const h = (b - a) / (2 * m);
  let s = f(a) + f(b);
  for (let i = 1; i < 2 * m; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

/** Kolmogorov–Smirnov statistic at 200 points, √n·max|Fₙ(c) − F(c)|, against the CDF F. */
function ksAtPoints(xs: ArrayLike<number>, cdf: (c: number) => number, lo: number, hi: number): number {
  const sorted = Float64Array.from(xs).sort();
  const n = sorted.length;
  let worst = 0, j = 0;
  for (let k = 1; k < 200; k++) {
    const c = lo + ((hi - lo) * k) / 200;
    while (j < n && sorted[j] <= c) j++;
    worst = Math.max(worst, Math.abs(j / n - cdf(c)));
  }
  return Math.sqrt(n) * worst;
}

const normalDensity = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

function maxAbs(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]));
  return m;
}

const f64 = { dtype: 'float64' } as const;

// ---------------------------------------------------------------- fans

test('fans: Flux\'s definitions for fluxion\'s layouts (outermost dimension = outputs)', () => {
  const cases: [number[], number, number][] = [
    [[], 1, 1],
    [[7], 1, 7],             // a vector is an n×1 matrix
    [[3, 4], 4, 3],          // Dense weight [out, in]
    [[8, 3, 5, 5], 75, 200], // conv filters [out, in/groups, kh, kw]
    [[8, 2, 3], 6, 24],      // 1-d conv [out, in, k]
    [[4, 3, 2, 2, 2], 24, 32],
  ];
  for (const [shape, fanIn, fanOut] of cases) assert.equal(fans(shape), { fanIn, fanOut }, `fans([${shape}])`);
  assert.throws(() => fans([2, -1]), (e: Error) => e instanceof ShapeError);
});

// ---------------------------------------------------------------- statistics

/** Shapes whose fans differ: Dense [out, in] and conv [out, in, kh, kw]. */
const DENSE = [120, 300], CONV = [128, 32, 3, 3];

test('glorotUniform and kaimingUniform: variance, bounds (the limit is reached but never passed), with gains', () => {
  const cases: [string, (s: number[], o: object) => Tensor, number[], number][] = [
    ['glorotUniform', glorotUniform, DENSE, Math.sqrt(6 / (300 + 120))],
    ['glorotUniform', glorotUniform, CONV, Math.sqrt(6 / (32 * 9 + 128 * 9))],
    ['glorotUniform gain 3', (s, o) => glorotUniform(s, { ...o, gain: 3 }), DENSE, 3 * Math.sqrt(6 / 420)],
    ['kaimingUniform', kaimingUniform, DENSE, Math.SQRT2 * Math.sqrt(3 / 300)],
    ['kaimingUniform', kaimingUniform, CONV, Math.SQRT2 * Math.sqrt(3 / (32 * 9))],
    ['kaimingUniform gain 1', (s, o) => kaimingUniform(s, { ...o, gain: 1 }), CONV, Math.sqrt(3 / (32 * 9))],
  ];
  seed(11);
  for (const [name, init, shape, limit] of cases) {
    for (const dtype of ['float64', 'float32'] as const) {
      const w = init(shape, { dtype });
      assert.is(w.dtype, dtype);
      assert.equal([...w.shape], shape);
      // uniform on [−l, l): σ² = l²/3, μ₄ = l⁴/5
      checkMoments(w.data, 0, limit ** 2 / 3, limit ** 4 / 5, `${name} [${shape}] ${dtype}`);
      const m = maxAbs(w.data);
      assert.ok(m <= limit, `${name}: max |w| = ${m} ≤ limit ${limit}`);
      // P(max |w| < l·(1 − 20/n)) = (1 − 20/n)ⁿ < e^(−20)
      assert.ok(m >= limit * (1 - 20 / w.size), `${name}: max |w| = ${m} reaches the limit ${limit}`);
    }
  }
});

test('glorotNormal and kaimingNormal: mean, variance and normal shape (KS), with gains', () => {
  const cases: [string, (s: number[], o: object) => Tensor, number[], number][] = [
    ['glorotNormal', glorotNormal, DENSE, Math.sqrt(2 / 420)],
    ['glorotNormal', glorotNormal, CONV, Math.sqrt(2 / (160 * 9))],
    ['glorotNormal gain 0.5', (s, o) => glorotNormal(s, { ...o, gain: 0.5 }), CONV, 0.5 * Math.sqrt(2 / (160 * 9))],
    ['kaimingNormal', kaimingNormal, DENSE, Math.SQRT2 / Math.sqrt(300)],
    ['kaimingNormal', kaimingNormal, CONV, Math.SQRT2 / Math.sqrt(32 * 9)],
    ['kaimingNormal({ gain: 1 })', kaimingNormal({ gain: 1 }), CONV, 1 / Math.sqrt(32 * 9)],
  ];
  seed(12);
  const Phi = (z: number) => (z < 0 ? simpson(normalDensity, -12, z, 400) : 1 - simpson(normalDensity, z, 12, 400));
  for (const [name, init, shape, std] of cases) {
    const w = init(shape, f64);
    checkMoments(w.data, 0, std ** 2, 3 * std ** 4, `${name} [${shape}]`);
    const ks = ksAtPoints(w.data, (c) => Phi(c / std), -4 * std, 4 * std);
    assert.ok(ks <= 2.5, `${name}: KS statistic ${ks} ≤ 2.5`);
  }
});

test('truncatedNormal: every sampling regime matches the truncated density (moments, KS, bounds)', () => {
  // [mean, std, lo, hi]: mass ≥ 0.3 (plain normals); a narrow interval around the mean; narrow and wide right
  // tails; a wide left tail (mirrored); a half-infinite interval; shifted and scaled
  const cases: [number, number, number, number][] = [
    [0, 1, -2, 2], [0, 1, -0.3, 0.45], [0, 1, -0.6, 0.1], [0, 1, 1, 1.5], [0, 1, 3, 10], [0, 1, -12, -3.5],
    [0, 1, 2.5, Infinity], [5, 2, 4, 20], [-1, 0.01, -1.05, -0.98], [0, 1, 40, 40.5],
  ];
  seed(13);
  for (const [mean, std, lo, hi] of cases) {
    const what = `truncatedNormal(mean ${mean}, std ${std}, [${lo}, ${hi}])`;
    const w = truncatedNormal([200000], { mean, std, lo, hi, dtype: 'float64' });
    // the density ∝ φ((x − μ)/σ) on [lo, hi], integrated numerically (an infinite end cut at 40σ beyond the other end)
    const a = lo, b = Number.isFinite(hi) ? hi : lo + 40 * std;
    // unnormalised, relative to its value at the end nearest the mean (so a far tail does not underflow)
    const near = a > mean ? a : b < mean ? b : mean;
    const dens = (x: number) => Math.exp(-0.5 * (((x - mean) / std) ** 2 - ((near - mean) / std) ** 2));
    const Z = simpson(dens, a, b);
    const mu = simpson((x) => x * dens(x), a, b) / Z;
    const s2 = simpson((x) => (x - mu) ** 2 * dens(x), a, b) / Z;
    const m4 = simpson((x) => (x - mu) ** 4 * dens(x), a, b) / Z;
    checkMoments(w.data, mu, s2, m4, what);
    const top = Math.min(b, mu + 12 * Math.sqrt(s2));
    const ks = ksAtPoints(w.data, (c) => simpson(dens, a, c, 400) / Z, a, top);
    assert.ok(ks <= 2.5, `${what}: KS statistic ${ks} ≤ 2.5`);
    let min = Infinity, max = -Infinity;
    for (const x of w.data) [min, max] = [Math.min(min, x), Math.max(max, x)];
    assert.ok(min >= lo && max <= hi, `${what}: values in [${min}, ${max}]`);
  }
});

test('truncatedNormal: defaults are mean 0, std 1, [−2, 2]; float32 values respect bounds that are not float32 numbers', () => {
  seed(14);
  const w = truncatedNormal([5000]);
  assert.is(w.dtype, 'float32');
  assert.ok(w.data.every((x) => x >= -2 && x <= 2));
  assert.ok(maxAbs(w.data) > 1.9, 'the defaults reach near ±2');
  // bounds a quarter float32 step inside their float32 neighbours, 1.5 steps apart: the only float32 inside is
  // f + u, while plain rounding sends the values near lo down to f and those near hi up to f + 2u
  const f = Math.fround(0.1), u = 2 ** -27; // the float32 spacing on [1/16, 1/8)
  const lo = f + 0.25 * u, hi = f + 1.75 * u;
  seed(15);
  const t = truncatedNormal([1000], { mean: 0, std: 1, lo, hi });
  for (const x of t.data) assert.ok(x >= lo && x <= hi, `float32 value ${x} in [${lo}, ${hi}]`);
  // the same draws in float64: plain rounding would have put some of them below lo
  seed(15);
  const exact = truncatedNormal([1000], { mean: 0, std: 1, lo, hi, dtype: 'float64' }).data;
  assert.ok(exact.some((x) => Math.fround(x) < lo) && exact.some((x) => Math.fround(x) > hi), 'the case exercises rounding outside both bounds');
  assert.ok(t.data.every((x) => x === f + u));
});

// ---------------------------------------------------------------- orthogonal

function gram(w: Tensor): { g: Float64Array; k: number } {
  const rows = w.shape[0], cols = w.size / rows;
  const d = w.data;
  // the smaller Gram matrix: WᵀW (cols × cols) if rows ≥ cols, else WWᵀ
  const byCols = rows >= cols, k = byCols ? cols : rows, len = byCols ? rows : cols;
  const at = (i: number, j: number) => (byCols ? d[j * cols + i] : d[i * cols + j]); // element j of vector i
  const g = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < len; t++) s += at(i, t) * at(j, t);
    g[i * k + j] = s;
  }
  return { g, k };
}

test('orthogonal: QᵀQ = gain²·I (or QQᵀ) to 1e-12 in float64, trailing dims flattened', () => {
  seed(15);
  const shapes = [[5, 3], [3, 5], [4, 4], [1, 7], [7, 1], [6, 2, 2, 2], [16, 4, 3], [40, 25]];
  for (const shape of shapes) {
    for (const gain of [1, 2.5]) {
      const w = orthogonal(shape, { gain, dtype: 'float64' });
      assert.equal([...w.shape], shape);
      const { g, k } = gram(w);
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
        const e = Math.abs(g[i * k + j] - (i === j ? gain ** 2 : 0));
        // Householder QR: orthogonal to a small multiple of n·eps ≈ 1e-14 here
        if (!(e <= 1e-12 * gain ** 2)) assert.unreachable(`orthogonal [${shape}] gain ${gain}: Gram[${i},${j}] off by ${e}`);
      }
    }
  }
  const w32 = orthogonal([20, 10]);
  assert.is(w32.dtype, 'float32');
  const { g, k } = gram(w32);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) assert.ok(Math.abs(g[i * k + j] - (i === j ? 1 : 0)) <= 1e-5);
  assert.equal([...orthogonal([0, 3]).shape], [0, 3]);
});

test('orthogonal: Haar-distributed (signs fixed by R), so W[0][0] of a 3×3 has mean 0 and mean square 1/3', () => {
  // W[0][0] is a coordinate of a uniform unit vector in R³: mean 0, E[x²] = 1/3, E[x⁴] = 1/5
  seed(16);
  const n = 3000, xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = orthogonal([3, 3], f64).data[0];
  checkMoments(xs, 0, 1 / 3, 1 / 5, 'orthogonal W[0][0]');
});

// ---------------------------------------------------------------- randomness

const ALL: [string, Initializer][] = [
  ['glorotUniform', glorotUniform], ['glorotNormal', glorotNormal], ['kaimingUniform', kaimingUniform],
  ['kaimingNormal', kaimingNormal], ['truncatedNormal', truncatedNormal], ['orthogonal', orthogonal],
];

test('reproducible after seed(n); different seeds give different weights', () => {
  const build = (n: number) => {
    seed(n);
    return ALL.map(([, init]) => Array.from(init([6, 4, 3, 3]).data));
  };
  assert.equal(build(5), build(5));
  const [a, b] = [build(5), build(6)];
  ALL.forEach(([name], i) => assert.not.equal(a[i], b[i], `${name}: seeds 5 and 6 differ`));
});

test('float32 draws are the float64 draws rounded (the same stream whatever the dtype)', () => {
  for (const [name, init] of ALL) {
    seed(21);
    const w64 = init([5, 7], f64);
    seed(21);
    const w32 = init([5, 7]);
    w32.data.forEach((v, i) => {
      // uniform limits and truncation bounds may move a rounded value one float32 step back inside
      const r = Math.fround(w64.data[i]);
      assert.ok(v === r || Math.abs(v - r) <= Math.abs(r) * 2 ** -23, `${name}[${i}]: ${v} vs ${r}`);
    });
  }
});

test('a seed number as rng: a private stream that ignores and does not advance the global one', () => {
  for (const [name, init] of ALL) {
    seed(1);
    const a = init([4, 4], { rng: 42 });
    const after = rand([3]).data;
    seed(99);
    const b = init([4, 4], { rng: 42 });
    assert.equal(Array.from(a.data), Array.from(b.data), `${name}: same private stream`);
    seed(1);
    assert.equal(Array.from(rand([3]).data), Array.from(after), `${name}: the global stream did not advance`);
    assert.not.equal(Array.from(init([4, 4], { rng: 43 }).data), Array.from(a.data), `${name}: another seed, another stream`);
  }
});

test('a function as rng; the curried form continues one stream; call options override fixed ones', () => {
  const a = glorotUniform([3, 3], { rng: mulberry(7) }), b = glorotUniform([3, 3], { rng: mulberry(7) });
  assert.equal(Array.from(a.data), Array.from(b.data));
  // a uniform function feeds the normals too (Box–Muller)
  checkMoments(kaimingNormal([200, 100], { rng: mulberry(8), gain: 1, dtype: 'float64' }).data, 0, 1 / 100, 3 / 100 ** 2, 'kaimingNormal with a function rng');
  const init = glorotUniform({ rng: 7 });
  const [w1, w2] = [init([3, 3]), init([3, 3])];
  assert.not.equal(Array.from(w1.data), Array.from(w2.data), 'two layers from one curried initialiser differ');
  const again = glorotUniform({ rng: 7 });
  assert.equal(Array.from(again([3, 3]).data), Array.from(w1.data), 'and the sequence is reproducible');
  assert.equal(Array.from(again([3, 3]).data), Array.from(w2.data));
  // a layer's own dtype and rng win over the curried options
  const fixed = kaimingNormal({ gain: 1, dtype: 'float64', rng: 3 });
  const w = fixed([4, 4], { dtype: 'float32', rng: 5 });
  assert.is(w.dtype, 'float32');
  assert.equal(Array.from(w.data), Array.from(kaimingNormal([4, 4], { gain: 1, rng: 5 }).data));
  // undefined entries do not hide fixed ones
  assert.equal(Array.from(kaimingNormal({ rng: 9 })([2, 2], { rng: undefined, dtype: undefined }).data), Array.from(kaimingNormal([2, 2], { rng: 9 }).data));
  assert.is(fixed.name, 'kaimingNormal');
  assert.is(glorotUniform.name, 'glorotUniform');
});

// ---------------------------------------------------------------- the Initializer contract

test('every initialiser (curried ones, zeros and ones included) is an Initializer: (shape, { dtype, rng }) → Tensor', () => {
  const inits: Initializer[] = [...ALL.map(([, f]) => f), zeros, ones, kaimingNormal({ gain: 1 }), truncatedNormal({ std: 0.02 }), orthogonal({ gain: 2 })];
  for (const init of inits) {
    for (const dtype of ['float32', 'float64'] as const) {
      const w = init([6, 3, 2, 2], { dtype, rng: 1 });
      assert.is(w.dtype, dtype);
      assert.equal([...w.shape], [6, 3, 2, 2]);
    }
  }
  assert.is(zeros, create.zeros);
  assert.is(ones, create.ones);
  assert.ok(ones([2, 2], { dtype: 'float32' }).data.every((x) => x === 1));
  assert.is(glorotUniform([2, 3]).dtype, 'float32', 'the default dtype is float32');
});

test('errors: bad shapes, options, dtypes and random sources', () => {
  const err = (f: () => unknown, type: Function, re: RegExp) => assert.throws(f, (e: Error) => e instanceof type && re.test(e.message));
  err(() => orthogonal([5]), ShapeError, /^orthogonal: needs a shape of at least 2 dimensions \(rows = shape\[0\], columns = the rest\), got \[5\]$/);
  err(() => orthogonal([]), ShapeError, /got \[\]$/);
  err(() => glorotUniform([2, -1]), ShapeError, /^glorotUniform: invalid shape \[2,-1\]/);
  err(() => kaimingNormal([2.5, 3]), ShapeError, /^kaimingNormal: invalid shape/);
  err(() => glorotNormal('3x3' as never), TypeError, /^glorotNormal: expected a shape \(an array of integers\) or an options object, got 3x3$/);
  err(() => glorotUniform({ gian: 2 } as never), TypeError, /^glorotUniform: unknown option 'gian'; expected one of dtype, rng, gain$/);
  err(() => kaimingUniform([2, 2], { gain: NaN }), TypeError, /^kaimingUniform: gain must be a number, got NaN$/);
  err(() => orthogonal([2, 2], { gain: Infinity }), RangeError, /^orthogonal: gain must be finite/);
  err(() => truncatedNormal([2], { std: 0 }), RangeError, /^truncatedNormal: std must be a finite positive number, got 0$/);
  err(() => truncatedNormal({ lo: 1, hi: 1 }), RangeError, /^truncatedNormal: lo must be below hi, got lo = 1, hi = 1$/);
  err(() => glorotUniform([2], { dtype: 'int32' as never }), TypeError, /^glorotUniform: unknown dtype "int32"/);
  err(() => glorotUniform([2], { rng: 'x' as never }), TypeError, /^glorotUniform: rng must be a function returning numbers in \[0, 1\) or a finite seed number, got x$/);
  err(() => kaimingUniform([2], { rng: () => 1 }), RangeError, /^kaimingUniform: rng must return numbers in \[0, 1\), got 1$/);
  err(() => glorotUniform([2], 5 as never), TypeError, /^glorotUniform: options must be an object, got 5$/);
  err(() => truncatedNormal([3], { lo: 5, hi: 6, rng: () => 0.999999 }), Error, /^truncatedNormal: a million proposals in a row were rejected/);
});

test.run();
