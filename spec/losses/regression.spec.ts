/**
 * Regression and margin losses (src/losses/regression.ts): values for every `agg` against
 * plain-loop references; against TF.js (tf.losses.meanSquaredError, absoluteDifference,
 * huberLoss, hingeLoss with its {0, 1} labels, and tf.metrics' per-sample means through a
 * function `agg`); gradients in ŷ and y by finite differences (second order for the smooth
 * ones), away from the kinks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, mean, mse, mae, msle, huberLoss, poissonLoss, hingeLoss, squaredHingeLoss,
} from '../../src/index.js';
import { checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import { type Domain, POSITIVE, REAL, arbSeed, valuesOf } from '../_helpers/ad-arbitraries.js';
import { type ElemRef, type Ref, aggregateRefs, arbF32, arbPair, assertRef, assertRefs, elementwise, tf } from './helpers.js';

const RUNS = 30;
type Loss = (yhat: any, y: any, o?: any) => Tensor;

/** The reference of each loss at one element (the magnitude is the sum of the absolute terms). */
const sq = (d: number): Ref => ({ v: d * d, mag: d * d });
const REFS: { name: string; f: Loss; ref: (o: any) => ElemRef; dHat: Domain; dY: Domain; opts?: fc.Arbitrary<any> }[] = [
  { name: 'mse', f: mse, ref: () => (a, b) => sq(a - b), dHat: REAL, dY: REAL },
  { name: 'mae', f: mae, ref: () => (a, b) => ({ v: Math.abs(a - b), mag: Math.abs(a) + Math.abs(b) }), dHat: REAL, dY: REAL },
  {
    name: 'msle', f: msle, dHat: POSITIVE, dY: POSITIVE, opts: fc.record({ eps: fc.constantFrom(0, 1e-3, 0.5) }),
    ref: (o) => (a, b) => {
      const d = Math.log(a + o.eps) - Math.log(b + o.eps);
      return { v: d * d, mag: (Math.abs(Math.log(a + o.eps)) + Math.abs(Math.log(b + o.eps))) ** 2 };
    },
  },
  {
    name: 'huberLoss', f: huberLoss, dHat: REAL, dY: REAL, opts: fc.record({ delta: fc.double({ min: 0.25, max: 2, noNaN: true }) }),
    ref: (o) => (a, b) => {
      const e = Math.abs(a - b);
      const v = e < o.delta ? 0.5 * e * e : o.delta * e - 0.5 * o.delta * o.delta;
      return { v, mag: (1 + o.delta) * (e + 1) * (e + o.delta) };
    },
  },
  {
    name: 'poissonLoss', f: poissonLoss, dHat: POSITIVE, dY: { min: 0, max: 4 },
    ref: () => (a, b) => ({ v: a - (b === 0 ? 0 : b * Math.log(a)), mag: a + Math.abs(b * Math.log(a)) }),
  },
  { name: 'hingeLoss', f: hingeLoss, dHat: REAL, dY: REAL, ref: () => (a, b) => ({ v: Math.max(0, 1 - a * b), mag: 1 + Math.abs(a * b) }) },
  {
    name: 'squaredHingeLoss', f: squaredHingeLoss, dHat: REAL, dY: REAL,
    ref: () => (a, b) => ({ v: Math.max(0, 1 - a * b) ** 2, mag: (1 + Math.abs(a * b)) ** 2 }),
  },
];

for (const { name, f, ref, dHat, dY, opts } of REFS) {
  test(`${name}: agg 'none' (ŷ's shape), 'sum', 'mean' (default) and a function, against plain loops`, () => {
    fc.assert(fc.property(arbPair(dHat, dY), opts ?? fc.constant({}), ([yhat, y], o) => {
      const refs = elementwise(ref(o), yhat, y);
      const none = f(yhat, y, { ...o, agg: 'none' });
      assert.equal([...none.shape], [...yhat.shape], `${name}: shape of agg 'none'`);
      assertRefs(none, refs, `${name} none`);
      const { sum, mean: m } = aggregateRefs(refs);
      assertRef(f(yhat, y, { ...o, agg: 'sum' }).item(), sum, `${name} sum`);
      assertRef(f(yhat, y, o).item(), m, `${name} mean (default)`);
      assertRef(f(yhat, y, { ...o, agg: 'mean' }).item(), m, `${name} mean`);
      // a function receives exactly the unreduced tensor
      let seen: Tensor | undefined;
      const out = f(yhat, y, { ...o, agg: (t: Tensor) => ((seen = t), mean(t, 0)) });
      assert.ok(seen !== undefined, `${name}: agg function called`);
      assertRefs(seen!, refs, `${name} agg function's argument`);
      assert.equal([...out.shape], yhat.shape.slice(1), `${name}: result of agg function returned as is`);
    }), { numRuns: RUNS });
  });
}

test('TensorLike arguments: numbers and nested arrays, weakly typed (float32 ŷ stays float32)', () => {
  assert.is(mse(3, 1).item(), 4);
  assert.is(mae([[1, -2]], [[0, 0]]).item(), 1.5);
  const y32 = tensor([1, 2], { dtype: 'float32' });
  assert.is(mse(y32, [1, 4]).dtype, 'float32');
  assert.is(mse([1, 4], y32).dtype, 'float32');
  // a number target broadcasts (as a scalar; only unequal non-scalar shapes are refused)
  assert.is(mse([1, 3], 1).item(), 2);
});

// ---------------------------------------------------------------- TF.js

type TfT = import('@tensorflow/tfjs').Tensor;
const R = () => tf.Reduction;

test('against TF.js tf.losses (mean, sum and no reduction) and tf.metrics (per-sample means via a function agg)', () => {
  const arb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }))
    .chain(([b, c]) => fc.tuple(fc.constant([b, c]), arbF32(b * c, -3, 3), arbF32(b * c, -3, 3), fc.double({ min: 0.25, max: 2, noNaN: true }).map(Math.fround)));
  fc.assert(fc.property(arb, ([shape, p, l, delta]) => {
    const n = p.length;
    const yhat = tensor(p, { shape }), y = tensor(l, { shape });
    const tp = tf.tensor2d(p, shape as [number, number]), tl = tf.tensor2d(l, shape as [number, number]);
    // TF computes in float32: each of its ≤ 8 roundings per element and n in its sum is ≤ 2⁻²⁴ relative to magnitudes ≤ 9·(1 + δ)²
    const tol = (k: number) => 8 * (k + 8) * 2 ** -24 * 9 * (1 + delta) ** 2;
    const cases: [string, TfT, Tensor, number][] = [
      ['meanSquaredError', tf.losses.meanSquaredError(tl, tp), mse(yhat, y), n],
      ['meanSquaredError SUM', tf.losses.meanSquaredError(tl, tp, undefined, R().SUM), mse(yhat, y, { agg: 'sum' }), n],
      ['meanSquaredError NONE', tf.losses.meanSquaredError(tl, tp, undefined, R().NONE), mse(yhat, y, { agg: 'none' }), 1],
      ['absoluteDifference', tf.losses.absoluteDifference(tl, tp), mae(yhat, y), n],
      ['absoluteDifference NONE', tf.losses.absoluteDifference(tl, tp, undefined, R().NONE), mae(yhat, y, { agg: 'none' }), 1],
      ['huberLoss', tf.losses.huberLoss(tl, tp, undefined, delta), huberLoss(yhat, y, { delta }), n],
      ['huberLoss SUM', tf.losses.huberLoss(tl, tp, undefined, delta, R().SUM), huberLoss(yhat, y, { delta, agg: 'sum' }), n],
      ['huberLoss NONE', tf.losses.huberLoss(tl, tp, undefined, delta, R().NONE), huberLoss(yhat, y, { delta, agg: 'none' }), 1],
      ['metrics.meanSquaredError', tf.metrics.meanSquaredError(tl, tp), mse(yhat, y, { agg: (t: Tensor) => mean(t, -1) }), shape[1]],
      ['metrics.meanAbsoluteError', tf.metrics.meanAbsoluteError(tl, tp), mae(yhat, y, { agg: (t: Tensor) => mean(t, -1) }), shape[1]],
    ];
    for (const [what, expected, actual, k] of cases) {
      const e = Array.from(expected.dataSync());
      const a = Array.from(actual.data);
      assert.is(a.length, e.length, `${what}: number of values`);
      const s = what.includes('SUM') ? n : 1;
      a.forEach((v, i) => assert.ok(Math.abs(v - e[i]) <= s * tol(k), `${what}[${i}]: fluxion ${v}, TF.js ${e[i]}`));
    }
    // hinge: TF.js takes labels in {0, 1} and maps them to {−1, 1} itself
    const signs = l.map((v) => (v < 0 ? -1 : 1));
    const t01 = tf.tensor2d(signs.map((s) => (s + 1) / 2), shape as [number, number]);
    const ours = hingeLoss(yhat, tensor(signs, { shape }), { agg: 'none' }).data;
    const theirs = tf.losses.hingeLoss(t01, tp, undefined, R().NONE).dataSync();
    ours.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]) <= tol(1), `hingeLoss[${i}]: fluxion ${v}, TF.js ${theirs[i]}`));
  }), { numRuns: RUNS });
});

// ---------------------------------------------------------------- gradients

/** Targets within 0.001 of ±1 and ŷ at least 0.1 from ±1, so ŷ·y stays away from the hinge at 1. */
const SIGNS: Domain = { min: -1, max: 1, kinks: [0], margin: 0.999 };
const HINGE_HAT: Domain = { min: -3, max: 3, kinks: [-1, 1], margin: 0.1 };

test('gradients in ŷ and y, first and second order (mse, msle, poissonLoss, squaredHingeLoss) and first order (mae, hingeLoss)', () => {
  const cases: [string, Loss, Domain, Domain, boolean][] = [
    ['mse', mse, REAL, REAL, true],
    ['msle', msle, POSITIVE, POSITIVE, true],
    ['poissonLoss', poissonLoss, POSITIVE, { min: 0, max: 4 }, true],
    ['squaredHingeLoss', squaredHingeLoss, HINGE_HAT, SIGNS, true],
    ['hingeLoss', hingeLoss, HINGE_HAT, SIGNS, false],
  ];
  for (const [name, f, dHat, dY, second] of cases) {
    fc.assert(fc.property(arbPair(dHat, dY), arbSeed, fc.constantFrom<any>('mean', 'sum', 'none'), ([yhat, y], seed, agg) => {
      const g = (a: Tensor, b: Tensor) => f(a, b, { agg });
      const label = `${name} [${yhat.shape}] agg ${agg}`;
      checkGradient(g, [yhat, y], { seed, label });
      if (second) checkSecondOrder(g, [yhat, y], { seed, label });
    }), { numRuns: RUNS });
  }
});

/** y = ŷ + offset, with offsets from `dOff` (to keep ŷ − y away from a loss's kinks). */
const arbOffsetPair = (dOff: Domain) => arbPair(REAL, dOff).map(([a, off]): [Tensor, Tensor] => {
  const av = valuesOf(a), ov = valuesOf(off);
  return [a, tensor(av.map((v, i) => v + ov[i]), { shape: a.shape.slice() })];
});

test('mae gradients (first order), |ŷ − y| ≥ 0.1', () => {
  fc.assert(fc.property(arbOffsetPair({ min: -2, max: 2, kinks: [0], margin: 0.1 }), arbSeed, ([yhat, y], seed) => {
    checkGradient((a: Tensor, b: Tensor) => mae(a, b), [yhat, y], { seed, label: `mae [${yhat.shape}]` });
  }), { numRuns: RUNS });
});

test('huberLoss gradients, first and second order, |ŷ − y| at least 0.1 from δ', () => {
  const arb = fc.double({ min: 0.5, max: 2, noNaN: true }).chain((delta) =>
    fc.tuple(fc.constant(delta), arbOffsetPair({ min: -3, max: 3, kinks: [-delta, delta], margin: 0.1 })));
  fc.assert(fc.property(arb, arbSeed, ([delta, [yhat, y]], seed) => {
    const g = (a: Tensor, b: Tensor) => huberLoss(a, b, { delta, agg: 'sum' });
    const label = `huberLoss δ=${delta} [${yhat.shape}]`;
    checkGradient(g, [yhat, y], { seed, label });
    checkSecondOrder(g, [yhat, y], { seed, label });
  }), { numRuns: RUNS });
});

test.run();
