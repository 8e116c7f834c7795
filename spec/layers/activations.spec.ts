/**
 * Activation functions (src/layers/activations.ts): values against formulas written here
 * with plain Math.* and against TF.js (cpu backend); derivatives by finite differences in
 * float64 at first and second order (fast-check, away from the kinks); the conventions at
 * the kinks as exact values; stability at ±1e4 in float32 and float64; names and types.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  relu, relu6, leakyRelu, elu, selu, gelu, geluErf, swish, silu, mish, hardSigmoid, hardTanh, softsign,
  sigmoid, σ, tanh, softplus, softmax, logSoftmax,
} from '../../src/layers/activations.js';
import * as ops from '../../src/index.js';
import { Tensor, tensor, gradient, sum } from '../../src/index.js';
import { EPS, assertExact, checkFloat32Gradients, checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import { type Domain, type ShapeOpts, arbSeed, arbSmallShape, arbTensorFrom, valuesOf } from '../_helpers/ad-arbitraries.js';

// TF.js prints a hint about tfjs-node on first use unless in production mode
const tf: typeof import('@tensorflow/tfjs') = await import('@tensorflow/tfjs');
tf.enableProdMode();
await tf.setBackend('cpu');

type F1 = (x: any) => any;

/*
 * Values spread uniformly over a domain. (The shared arbIn maps fc.double over [0, width],
 * which fast-check draws mostly near 0, so on a wide domain nearly every value was its
 * minimum.) A value within the margin of a kink is moved to the margin.
 */
function arbIn(d: Domain): fc.Arbitrary<number> {
  const m = d.margin ?? 0;
  return fc.integer({ min: 0, max: 2 ** 30 }).map((k) => {
    let x = d.min + ((d.max - d.min) * k) / 2 ** 30;
    for (const c of d.kinks ?? []) if (Math.abs(x - c) < m) x = x < c ? c - m : c + m;
    return x;
  });
}
const arbTensorShaped = (d: Domain, o: ShapeOpts = {}): fc.Arbitrary<Tensor> =>
  arbSmallShape(o).chain((s) => arbTensorFrom(s, (n) => fc.array(arbIn(d), { minLength: n, maxLength: n })));
/** 2001 evenly spaced points of a domain, its ends included. */
const grid = (d: Domain): number[] => Array.from({ length: 2001 }, (_, i) => d.min + ((d.max - d.min) * i) / 2000);

// ---------------------------------------------------------------- independent formulas

/** The standard SELU constants (Klambauer et al. 2017), written out independently of the source. */
const SELU_A = 1.6732632423543772848170429916717;
const SELU_L = 1.0507009873554804934193349852946;

/**
 * Reference values with plain Math.*, and the absolute rounding error to allow at x. Each
 * reference is a short chain of correctly rounded or ~1-ulp Math functions, and so is the
 * composite under test: each side is within a few ulps of the intermediates' size. For the
 * products x·g(x) that size is |x| (not |y|: for x ≪ 0, 1 + tanh(…) cancels), so the bound
 * is 16·eps·max(1, |x|): 8 roundings of at most one ulp each side.
 */
const tol = (x: number) => 16 * EPS * Math.max(1, Math.abs(x));
const REF: [string, F1, (x: number) => number, Domain][] = [
  ['relu6', relu6, (x) => Math.min(Math.max(x, 0), 6), { min: -4, max: 10 }],
  ['leakyRelu', leakyRelu, (x) => (x > 0 ? x : 0.01 * x), { min: -10, max: 10 }],
  ['leakyRelu(·, 0.2)', (x) => leakyRelu(x, 0.2), (x) => (x > 0 ? x : 0.2 * x), { min: -10, max: 10 }],
  ['elu', elu, (x) => (x > 0 ? x : Math.expm1(x)), { min: -30, max: 30 }],
  ['elu(·, 0.5)', (x) => elu(x, 0.5), (x) => (x > 0 ? x : 0.5 * Math.expm1(x)), { min: -30, max: 30 }],
  ['selu', selu, (x) => SELU_L * (x > 0 ? x : SELU_A * Math.expm1(x)), { min: -30, max: 30 }],
  ['gelu', gelu, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))), { min: -12, max: 12 }],
  ['swish', swish, (x) => x / (1 + Math.exp(-x)), { min: -40, max: 40 }],
  ['mish', mish, (x) => x * Math.tanh(Math.log1p(Math.exp(x))), { min: -40, max: 40 }],
  ['hardSigmoid', hardSigmoid, (x) => Math.max(0, Math.min(1, (x + 3) / 6)), { min: -6, max: 6 }],
  ['hardTanh', hardTanh, (x) => Math.max(-1, Math.min(1, x)), { min: -3, max: 3 }],
  ['softsign', softsign, (x) => x / (1 + Math.abs(x)), { min: -50, max: 50 }],
];

/**
 * erf by its Maclaurin series, Σ (−1)ⁿ z^(2n+1) / (n!(2n+1)) · 2/√π, for |z| ≤ 3, with the
 * rounding bound of the sum: each term is rounded a few times (≤ 4 eps relative) and the
 * running sum once per term, so |error| ≤ 8·eps·Σ|terms| (Σ|terms| ≈ 170 at z = 3).
 */
function erfSeries(z: number): { value: number; err: number } {
  let term = z, s = 0, abs = 0;
  for (let n = 0; n < 80; n++) {
    const t = term / (2 * n + 1);
    s += t;
    abs += Math.abs(t);
    term *= (-z * z) / (n + 1);
  }
  const c = 2 / Math.sqrt(Math.PI);
  return { value: c * s, err: 8 * EPS * c * abs };
}

const assertNear = (actual: number, expected: number, t: number, what: string) => {
  if (!(Math.abs(actual - expected) <= t)) assert.unreachable(`${what}: got ${actual}, expected ${expected} (tolerance ${t})`);
};

for (const [name, f, ref, dom] of REF) {
  test(`${name}: values against the formula (numbers, and float64 tensors of random shape and layout)`, () => {
    for (const x of grid(dom)) assertNear(f(x), ref(x), tol(x), `${name}(${x})`);
    fc.assert(fc.property(arbIn(dom), (x) => {
      const y = f(x);
      assert.type(y, 'number', `${name}(${x}) is a number`);
      if (name === "gelu") console.error("DBG", x, y, ref(x));
      assertNear(y, ref(x), tol(x), `${name}(${x})`);
    }), { numRuns: 300 });
    fc.assert(fc.property(arbTensorShaped(dom, { empty: true }), (x) => {
      const y = f(x) as Tensor;
      assert.ok(y instanceof Tensor);
      assert.equal([...y.shape], [...x.shape]);
      assert.is(y.dtype, 'float64');
      const ys = valuesOf(y);
      valuesOf(x).forEach((v, i) => assertNear(ys[i], ref(v), tol(v), `${name} on a tensor at ${v}`));
    }), { numRuns: 60 });
  });
}

test('geluErf: values against x·Φ(x) with an erf series (|x| ≤ 4), and its limits', () => {
  for (const x of grid({ min: -4, max: 4 })) {
    const e = erfSeries(x / Math.SQRT2);
    assertNear(geluErf(x), 0.5 * x * (1 + e.value), 0.5 * Math.abs(x) * e.err + tol(x), `geluErf(${x})`);
  }
  fc.assert(fc.property(arbIn({ min: -4, max: 4 }), (x) => {
    const e = erfSeries(x / Math.SQRT2);
    const expected = 0.5 * x * (1 + e.value);
    // the series' own bound, carried through ½·x·(1 + ·), plus a few roundings on each side
    assertNear(geluErf(x), expected, 0.5 * Math.abs(x) * e.err + tol(x), `geluErf(${x})`);
  }), { numRuns: 300 });
  assert.is(geluErf(40), 40);
  assert.ok(Math.abs(geluErf(-40)) === 0, 'geluErf(−40) is ±0 (Φ(−40) < 1e-300)');
});

test('the same values for numbers, float64 and float32 tensors, nested arrays and typed arrays', () => {
  const xs = [-7.5, -3, -1, -0.25, 0, 0.5, 1, 3, 6, 8.25];
  for (const [name, f] of [...REF, ['geluErf', geluErf] as [string, F1]]) {
    const fromNumbers = xs.map((x) => f(x) as number);
    const t64 = f(tensor(xs)) as Tensor;
    assertExact(t64, fromNumbers, `${name}: float64 tensor vs numbers`);
    assertExact(f(xs), fromNumbers, `${name}: nested array`);
    assertExact(f(Float64Array.from(xs)), fromNumbers, `${name}: Float64Array`);
    const t32 = f(tensor(xs, { dtype: 'float32' })) as Tensor;
    assert.is(t32.dtype, 'float32', `${name}: float32 stays float32`);
    // float32 composites round at every step: within 16 float32 ulps of the float64 value
    Array.from(t32.data).forEach((v, i) => assertNear(v, fromNumbers[i], 16 * 2 ** -24 * Math.max(1, Math.abs(xs[i])), `${name} float32 at ${xs[i]}`));
    const m = f(tensor([xs.slice(0, 5), xs.slice(5)])) as Tensor;
    assert.equal([...m.shape], [2, 5], `${name}: shape kept`);
  }
});

test('NaN stays NaN', () => {
  for (const [name, f] of [...REF, ['geluErf', geluErf] as [string, F1]]) {
    assert.ok(Number.isNaN(f(NaN)), `${name}(NaN) on a number`);
    assert.ok(Number.isNaN((f(tensor([NaN])) as Tensor).data[0]), `${name}(NaN) on a tensor`);
  }
});

// ---------------------------------------------------------------- TF.js

/**
 * TF.js computes in float32. Both sides are evaluated on the same float32 inputs (ours in
 * float64). TF.js's kernels and composites take at most ~8 float32 roundings, each ≤ 2⁻²⁴
 * of an intermediate no larger than max(1, |x|) times a factor ≤ 2 on [−6, 6], so
 * 32·2⁻²⁴·max(1, |x|) bounds the difference.
 */
const TF_INPUTS = Array.from(new Float32Array([
  -6, -5.5, -4, -3, -2.5, -2, -1.5, -1, -0.75, -0.5, -0.1, -1e-3, 0, 1e-3, 0.1, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5.5, 6,
  ...Array.from({ length: 60 }, (_, i) => -6 + 12 * ((i * 0.6180339887) % 1)),
]));
const tfTol = (x: number) => 32 * 2 ** -24 * Math.max(1, Math.abs(x));
const layerActivation = (id: string) => (x: import('@tensorflow/tfjs').Tensor) =>
  tf.layers.activation({ activation: id as never }).apply(x) as import('@tensorflow/tfjs').Tensor;
const TF: [string, F1, (x: import('@tensorflow/tfjs').Tensor) => import('@tensorflow/tfjs').Tensor][] = [
  ['relu', relu, (x) => tf.relu(x)],
  ['relu6', relu6, (x) => tf.relu6(x)],
  ['leakyRelu', leakyRelu, (x) => tf.leakyRelu(x, 0.01)],
  ['leakyRelu(·, 0.3)', (x) => leakyRelu(x, 0.3), (x) => tf.leakyRelu(x, 0.3)],
  ['elu', elu, (x) => tf.elu(x)],
  ['selu', selu, (x) => tf.selu(x)],
  ['sigmoid', sigmoid, (x) => tf.sigmoid(x)],
  ['tanh', tanh, (x) => tf.tanh(x)],
  ['softplus', softplus, (x) => tf.softplus(x)],
  ['gelu (TF.js gelu_new, the tanh form)', gelu, layerActivation('gelu_new')],
  ['geluErf (TF.js gelu)', geluErf, layerActivation('gelu')],
  ['swish', swish, layerActivation('swish')],
  ['mish', mish, layerActivation('mish')],
  ['softsign', softsign, layerActivation('softsign')],
];

for (const [name, f, tff] of TF) {
  test(`${name}: agrees with TF.js (cpu backend)`, () => {
    const expected = tff(tf.tensor1d(TF_INPUTS)).dataSync();
    const ours = f(tensor(TF_INPUTS)) as Tensor;
    TF_INPUTS.forEach((x, i) => assertNear(ours.data[i], expected[i], tfTol(x), `${name}(${x}) vs TF.js`));
  });
}

test('hardSigmoid: not TF.js\'s (Keras\'s 0.2·x + 0.5); the two differ, as documented', () => {
  const keras = tf.layers.activation({ activation: 'hardSigmoid' }).apply(tf.tensor1d([1])) as import('@tensorflow/tfjs').Tensor;
  assertNear(keras.dataSync()[0], 0.7, 1e-7, 'TF.js hardSigmoid(1)');
  assert.is(hardSigmoid(1), 4 / 6);
});

test('softmax and logSoftmax: the operations themselves, agreeing with TF.js on a batch', () => {
  assert.is(softmax, ops.softmax);
  assert.is(logSoftmax, ops.logSoftmax);
  const rows = [TF_INPUTS.slice(0, 12), TF_INPUTS.slice(12, 24)];
  const s = softmax(tensor(rows)), ls = logSoftmax(tensor(rows));
  const ts = tf.softmax(tf.tensor2d(rows)).dataSync(), tls = tf.logSoftmax(tf.tensor2d(rows)).dataSync();
  Array.from(s.data).forEach((v, i) => assertNear(v, ts[i], 32 * 2 ** -24, `softmax[${i}]`));
  Array.from(ls.data).forEach((v, i) => assertNear(v, tls[i], tfTol(tls[i]), `logSoftmax[${i}]`));
});

// ---------------------------------------------------------------- derivatives

const NEAR0: Domain = { min: -4, max: 4, kinks: [0], margin: 0.05 };
/** name, f, domain (margins of 0.05 ≫ 8h ≈ 6e-5 from each kink), smooth (second derivative continuous). */
const GRAD: [string, F1, Domain][] = [
  ['relu6', relu6, { min: -3, max: 9, kinks: [0, 6], margin: 0.05 }],
  ['leakyRelu', leakyRelu, NEAR0],
  ['elu', elu, NEAR0],
  ['elu(·, 1.7)', (x) => elu(x, 1.7), NEAR0],
  ['selu', selu, NEAR0],
  ['gelu', gelu, { min: -6, max: 6 }],
  ['geluErf', geluErf, { min: -6, max: 6 }],
  ['swish', swish, { min: -8, max: 8 }],
  ['mish', mish, { min: -8, max: 8 }],
  ['hardSigmoid', hardSigmoid, { min: -6, max: 6, kinks: [-3, 3], margin: 0.05 }],
  ['hardTanh', hardTanh, { min: -3, max: 3, kinks: [-1, 1], margin: 0.05 }],
  ['softsign', softsign, NEAR0],
];

for (const [name, f, dom] of GRAD) {
  test(`${name}: first and second derivatives by finite differences (tensors and numbers)`, () => {
    fc.assert(fc.property(arbTensorShaped(dom, { empty: true }), arbSeed, (x, seed) => {
      checkGradient(f, [x], { seed, label: name });
      checkSecondOrder(f, [x], { seed, label: name });
    }), { numRuns: 40 });
    fc.assert(fc.property(arbIn(dom), arbSeed, (x, seed) => {
      checkGradient(f, [x], { seed, label: `${name} (number)` });
      checkSecondOrder(f, [x], { seed, label: `${name} (number)` });
    }), { numRuns: 80 });
  });
}

test('leakyRelu and elu: derivatives in the parameter too (a traced slope or α)', () => {
  fc.assert(fc.property(arbTensorShaped(NEAR0, { minRank: 1 }), arbIn({ min: 0.01, max: 2 }), arbSeed, (x, a, seed) => {
    checkGradient((t: Tensor, s: number) => leakyRelu(t, s), [x, a], { seed, label: 'leakyRelu(x, a)' });
    checkSecondOrder((t: Tensor, s: number) => elu(t, s), [x, a], { seed, label: 'elu(x, α)' });
  }), { numRuns: 40 });
});

test('float32 tensors: gradients are float32, finite, at first and second order', () => {
  const arb = fc.constantFrom(...GRAD).chain(([name, f, dom]) => fc.tuple(fc.constant(name), fc.constant(f), arbTensorShaped(dom, { maxRank: 2 })));
  fc.assert(fc.property(arb, arbSeed, ([name, f, x], seed) => checkFloat32Gradients(f, [x], { seed, label: name })), { numRuns: 60 });
});

test('conventions at the kinks: the derivative of the outer piece, exactly', () => {
  const d = (f: F1) => (x: number) => gradient(f, x)[0] as number;
  const d2 = (f: F1) => (x: number) => gradient((u: number) => gradient(f, u)[0], x)[0] as number;
  const cases: [string, number, number][] = [
    ['relu6', 0, 0], ['relu6', 6, 0], ['relu6', 3, 1], ['relu6', -1, 0], ['relu6', 7, 0],
    ['leakyRelu', 0, 0.01], ['leakyRelu', 1, 1], ['leakyRelu', -1, 0.01],
    ['elu', 0, 1], ['elu(·, 2)', 0, 2], ['selu', 0, SELU_L * SELU_A],
    ['hardSigmoid', -3, 0], ['hardSigmoid', 3, 0], ['hardSigmoid', 0, 1 / 6],
    ['hardTanh', -1, 0], ['hardTanh', 1, 0], ['hardTanh', 0, 1],
    ['softsign', 0, 1],
  ];
  const fns: Record<string, F1> = { relu6, leakyRelu, elu, 'elu(·, 2)': (x) => elu(x, 2), selu, hardSigmoid, hardTanh, softsign };
  for (const [name, x, expected] of cases) {
    assertExact(d(fns[name])(x), expected, `${name}'(${x}) on a number`);
    const [g] = gradient((t: Tensor) => sum(fns[name](t)), tensor([x, x]));
    assertExact(g, [expected, expected], `${name}'(${x}) on a tensor`);
  }
  // softsign″ jumps from 2 to −2 at 0; abs′(0) = 0 makes it 0 there
  assertExact(d2(softsign)(0), 0, "softsign''(0)");
  assertNear(d2(softsign)(0.5), -2 / 1.5 ** 3, 4 * EPS, "softsign''(0.5)");
  // elu with α = 1 is C¹ but not C²: elu″ is e^x = 1 from the left piece at 0
  assertExact(d2(elu)(0), 1, "elu''(0)");
});

// ---------------------------------------------------------------- large inputs

/** Values and first and second derivatives at 1e4 and at −1e4 (where not given, the second derivative is 0). */
const LIMITS: [string, F1, [number, number, number?], [number, number, number?]][] = [
  ['relu6', relu6, [6, 0], [0, 0]],
  ['leakyRelu', leakyRelu, [1e4, 1], [-100, 0.01]],
  ['elu', elu, [1e4, 1], [-1, 0]],
  ['selu', selu, [SELU_L * 1e4, SELU_L], [-SELU_L * SELU_A, 0]],
  ['gelu', gelu, [1e4, 1], [0, 0]],
  ['geluErf', geluErf, [1e4, 1], [0, 0]],
  ['swish', swish, [1e4, 1], [0, 0]],
  ['mish', mish, [1e4, 1], [0, 0]],
  ['softplus', softplus, [1e4, 1], [0, 0]],
  ['sigmoid', sigmoid, [1, 0], [0, 0]],
  ['tanh', tanh, [1, 0], [-1, 0]],
  ['hardSigmoid', hardSigmoid, [1, 0], [0, 0]],
  ['hardTanh', hardTanh, [1, 0], [-1, 0]],
  ['softsign', softsign, [1e4 / (1 + 1e4), 1 / (1 + 1e4) ** 2, -2 / (1 + 1e4) ** 3], [-1e4 / (1 + 1e4), 1 / (1 + 1e4) ** 2, 2 / (1 + 1e4) ** 3]],
];

test('stability at x = ±1e4: finite values and first and second derivatives, in float64 and float32', () => {
  for (const [name, f, [vp, dp, d2p = 0], [vm, dm, d2m = 0]] of LIMITS) {
    for (const dtype of ['float64', 'float32'] as const) {
      const x = tensor([1e4, -1e4], { dtype });
      const u = 2 ** -24 * (dtype === 'float32' ? 1 : 2 ** -29); // one ulp at 1 in that dtype
      const y = f(x) as Tensor;
      assertNear(y.data[0], vp, 2 * u * Math.max(1, Math.abs(vp)), `${name}(1e4) ${dtype}`);
      assertNear(y.data[1], vm, 2 * u * Math.max(1, Math.abs(vm)), `${name}(−1e4) ${dtype}`);
      const g = (t: Tensor) => gradient((s: Tensor) => sum(f(s)), t)[0] as Tensor;
      const g1 = g(x);
      assertNear(g1.data[0], dp, 4 * u, `${name}'(1e4) ${dtype}`);
      assertNear(g1.data[1], dm, 4 * u, `${name}'(−1e4) ${dtype}`);
      const g2 = gradient((s: Tensor) => sum(g(s)), x)[0] as Tensor;
      assertNear(g2.data[0], d2p, 4 * u, `${name}'' at 1e4 ${dtype}`);
      assertNear(g2.data[1], d2m, 4 * u, `${name}'' at −1e4 ${dtype}`);
    }
    // plain numbers (the scalar tape)
    for (const x of [1e4, -1e4]) {
      assert.ok(Number.isFinite(f(x)), `${name}(${x})`);
      assert.ok(Number.isFinite(gradient(f, x)[0] as number), `${name}'(${x})`);
      assert.ok(Number.isFinite(gradient((u: number) => gradient(f, u)[0], x)[0] as number), `${name}''(${x})`);
    }
  }
});

// ---------------------------------------------------------------- identity

test('names for printing; aliases and re-exports are the same functions', () => {
  const named: [F1, string][] = [
    [relu, 'relu'], [relu6, 'relu6'], [leakyRelu, 'leakyRelu'], [elu, 'elu'], [selu, 'selu'], [gelu, 'gelu'],
    [geluErf, 'geluErf'], [swish, 'swish'], [mish, 'mish'], [hardSigmoid, 'hardSigmoid'], [hardTanh, 'hardTanh'],
    [softsign, 'softsign'], [sigmoid, 'sigmoid'], [tanh, 'tanh'], [softplus, 'softplus'], [softmax, 'softmax'], [logSoftmax, 'logSoftmax'],
  ];
  for (const [f, name] of named) assert.is(f.name, name);
  assert.is(σ, sigmoid);
  assert.is(silu, swish);
  assert.is(relu, ops.relu);
  assert.is(sigmoid, ops.sigmoid);
  assert.is(tanh, ops.tanh);
  assert.is(softplus, ops.softplus);
});

test('bad input and parameters: errors name the activation', () => {
  assert.throws(() => relu6('x' as never), /relu6/);
  assert.throws(() => gelu({} as never), /gelu/);
  assert.throws(() => leakyRelu(1, 'a' as never), (e: Error) => e instanceof TypeError && /leakyRelu: the slope a must be a number/.test(e.message));
  assert.throws(() => elu(tensor([1]), null as never), (e: Error) => e instanceof TypeError && /elu: alpha must be a number/.test(e.message));
});

test.run();
