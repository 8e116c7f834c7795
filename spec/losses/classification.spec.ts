/**
 * Classification losses (src/losses/classification.ts): values for every `agg` against
 * plain-loop references (per sample over the last dimension for the categorical losses,
 * elementwise for the binary ones), other `dims` against the same losses on rearranged
 * inputs; against TF.js (tf.losses.softmaxCrossEntropy and sigmoidCrossEntropy, also with
 * their label smoothing, logLoss, tf.metrics.categoricalCrossentropy and binaryCrossentropy);
 * gradients in ŷ and y by finite differences at first and second order; finite values and
 * exact gradients and Hessian–vector products at logits of ±1e4 in float32 and float64.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, gradient, mean, mul, sum, transpose, reshape,
  crossentropy, logitCrossentropy, binaryCrossentropy, logitBinaryCrossentropy, kldivergence,
  focalLoss, binaryFocalLoss, diceCoeffLoss, labelSmoothing,
} from '../../src/index.js';
import { checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import { type Domain, REAL, arbSeed, arbTensorIn, valuesOf } from '../_helpers/ad-arbitraries.js';
import {
  type ElemRef, type Ref, type RowRef, aggregateRefs, arbF32, arbOneHotPair, arbPair, assertRef, assertRefs,
  elementwise, rows, rowwise, tf,
} from './helpers.js';

const RUNS = 25;
type Loss = (yhat: any, y: any, o?: any) => Tensor;

const PROB: Domain = { min: 0.05, max: 0.95 };
const UNIT: Domain = { min: 0, max: 1 };
const xlogy = (x: number, y: number) => (x === 0 ? 0 : x * Math.log(y));

// ---------------------------------------------------------------- references, written as loops

function lse(xs: readonly number[]): number {
  const m = Math.max(...xs);
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

const ROW_REFS: { name: string; f: Loss; ref: (o: any) => RowRef; dHat: Domain; dY: Domain; opts: fc.Arbitrary<any> }[] = [
  {
    name: 'crossentropy', f: crossentropy, dHat: PROB, dY: UNIT, opts: fc.record({ eps: fc.constantFrom(undefined, 0, 1e-3) }),
    ref: (o) => (a, b) => {
      const eps = o.eps ?? 2 ** -52;
      let v = 0, mag = 0;
      for (let c = 0; c < a.length; c++) { v -= xlogy(b[c], a[c] + eps); mag += Math.abs(xlogy(b[c], a[c] + eps)); }
      return { v, mag };
    },
  },
  {
    name: 'logitCrossentropy', f: logitCrossentropy, dHat: { min: -6, max: 6 }, dY: UNIT, opts: fc.constant({}),
    ref: () => (a, b) => {
      const l = lse(a);
      let v = 0, mag = Math.abs(l) * a.length;
      for (let c = 0; c < a.length; c++) { v -= b[c] * (a[c] - l); mag += Math.abs(b[c]) * (Math.abs(a[c]) + Math.abs(l)); }
      return { v, mag };
    },
  },
  {
    name: 'kldivergence', f: kldivergence, dHat: PROB, dY: UNIT, opts: fc.record({ eps: fc.constantFrom(undefined, 1e-3) }),
    ref: (o) => (a, b) => {
      const eps = o.eps ?? 2 ** -52;
      let v = 0, mag = 0;
      for (let c = 0; c < a.length; c++) {
        v += xlogy(b[c], b[c]) - xlogy(b[c], a[c] + eps);
        mag += Math.abs(xlogy(b[c], b[c])) + Math.abs(xlogy(b[c], a[c] + eps));
      }
      return { v, mag };
    },
  },
  {
    name: 'focalLoss', f: focalLoss, dHat: PROB, dY: UNIT,
    opts: fc.record({ gamma: fc.constantFrom(undefined, 0, 1, 2.5), eps: fc.constantFrom(undefined, 1e-3) }),
    ref: (o) => (a, b) => {
      const g = o.gamma ?? 2, eps = o.eps ?? 2 ** -52;
      let v = 0, mag = 0;
      for (let c = 0; c < a.length; c++) {
        const t = (1 - a[c]) ** g * xlogy(b[c], a[c] + eps);
        v -= t;
        mag += 4 * Math.abs(t);
      }
      return { v, mag };
    },
  },
];

const ELEM_REFS: { name: string; f: Loss; ref: (o: any) => ElemRef; dHat: Domain; dY: Domain; opts: fc.Arbitrary<any> }[] = [
  {
    name: 'binaryCrossentropy', f: binaryCrossentropy, dHat: PROB, dY: UNIT, opts: fc.record({ eps: fc.constantFrom(undefined, 0, 1e-7) }),
    ref: (o) => (a, b) => {
      const eps = o.eps ?? 2 ** -52;
      const p = xlogy(b, a + eps), q = xlogy(1 - b, 1 - a + eps);
      return { v: -p - q, mag: 2 * (Math.abs(p) + Math.abs(q)) };
    },
  },
  {
    name: 'logitBinaryCrossentropy', f: logitBinaryCrossentropy, dHat: { min: -30, max: 30 }, dY: UNIT, opts: fc.constant({}),
    ref: () => (x, y) => {
      // log(1 + e^{−x}) = max(−x, 0) + log1p(e^{−|x|})
      const sp = Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
      return { v: (1 - y) * x + sp, mag: 2 * (Math.abs(x) + sp + 1) };
    },
  },
  {
    name: 'binaryFocalLoss', f: binaryFocalLoss, dHat: PROB, dY: UNIT,
    opts: fc.record({ gamma: fc.constantFrom(undefined, 0, 1, 2.5), alpha: fc.constantFrom(undefined, 0.25, 1) }),
    ref: (o) => (a, y) => {
      const g = o.gamma ?? 2, eps = 2 ** -52;
      const p = y * a + (1 - y) * (1 - a);
      const w = o.alpha === undefined ? 1 : o.alpha * y + (1 - o.alpha) * (1 - y);
      const v = -w * (1 - p) ** g * Math.log(p + eps);
      return { v, mag: 8 * (Math.abs(v) + Math.abs(Math.log(p + eps))) };
    },
  },
];

for (const { name, f, ref, dHat, dY, opts } of ROW_REFS) {
  test(`${name}: per-sample losses over the last dimension ('none': ŷ's shape without it), 'sum', 'mean', a function`, () => {
    fc.assert(fc.property(arbPair(dHat, dY), opts, ([yhat, y], o) => {
      const refs = rowwise(ref(o), yhat, y);
      const none = f(yhat, y, { ...o, agg: 'none' });
      assert.equal([...none.shape], yhat.shape.slice(0, -1), `${name}: shape of agg 'none'`);
      assertRefs(none, refs, `${name} none`);
      const { sum: s, mean: m } = aggregateRefs(refs);
      assertRef(f(yhat, y, { ...o, agg: 'sum' }).item(), s, `${name} sum`);
      assertRef(f(yhat, y, o).item(), m, `${name} mean (default: over samples)`);
      const viaFn = f(yhat, y, { ...o, agg: (t: Tensor) => mul(2, mean(t)) });
      assertRef(viaFn.item(), { v: 2 * m.v, mag: 2 * m.mag }, `${name} agg function`);
    }), { numRuns: RUNS });
  });

  test(`${name}: dims chooses the class dimension(s): dims 0 of [C, B] and dims [1, 2] of [B, T, C]`, () => {
    fc.assert(fc.property(arbPair(dHat, dY), opts, ([yhat, y], o) => {
      const r = ref(o);
      if (yhat.ndim === 2) {
        // classes along dimension 0: the same losses as the transposed inputs along the last
        const refs = rowwise(r, yhat, y);
        assertRefs(f(transpose(yhat), transpose(y), { ...o, dims: 0, agg: 'none' }), refs, `${name} dims 0`);
      } else {
        const [b, t, c] = yhat.shape;
        const refs = rows(valuesOf(yhat), t * c).map((row, i) => r(row, rows(valuesOf(y), t * c)[i]));
        assertRefs(f(yhat, y, { ...o, dims: [1, 2], agg: 'none' }), refs, `${name} dims [1, 2]`);
        assertRefs(f(yhat, y, { ...o, dims: [-1, -2], agg: 'none' }), refs, `${name} dims [-1, -2]`);
        void b;
      }
    }), { numRuns: RUNS });
  });
}

for (const { name, f, ref, dHat, dY, opts } of ELEM_REFS) {
  test(`${name}: elementwise ('none': ŷ's shape), 'sum', 'mean', against plain loops`, () => {
    fc.assert(fc.property(arbPair(dHat, dY), opts, ([yhat, y], o) => {
      const refs = elementwise(ref(o), yhat, y);
      const none = f(yhat, y, { ...o, agg: 'none' });
      assert.equal([...none.shape], [...yhat.shape], `${name}: shape of agg 'none'`);
      assertRefs(none, refs, `${name} none`);
      const { sum: s, mean: m } = aggregateRefs(refs);
      assertRef(f(yhat, y, { ...o, agg: 'sum' }).item(), s, `${name} sum`);
      assertRef(f(yhat, y, o).item(), m, `${name} mean`);
    }), { numRuns: RUNS });
  });
}

test('focalLoss alpha: per-class weights along the class dimension (and a number)', () => {
  fc.assert(fc.property(arbPair(PROB, UNIT, fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 })).map(([b, c]) => [b, c])), ([yhat, y]) => {
    const c = yhat.shape[1];
    const alpha = Array.from({ length: c }, (_, i) => 0.5 + i / 4);
    const refs = rows(valuesOf(yhat), c).map((a, i): Ref => {
      const b = rows(valuesOf(y), c)[i];
      let v = 0, mag = 0;
      for (let k = 0; k < c; k++) { const t = alpha[k] * (1 - a[k]) ** 2 * xlogy(b[k], a[k] + 2 ** -52); v -= t; mag += 4 * Math.abs(t); }
      return { v, mag };
    });
    assertRefs(focalLoss(yhat, y, { alpha, agg: 'none' }), refs, 'focalLoss alpha [C]');
    const plain = focalLoss(yhat, y, { agg: 'none' });
    assertRefs(focalLoss(yhat, y, { alpha: 3, agg: 'none' }), valuesOf(plain).map((v) => ({ v: 3 * v, mag: 8 * Math.abs(v) })), 'focalLoss alpha 3');
  }), { numRuns: RUNS });
});

test('diceCoeffLoss: one coefficient over everything by default; per sample with dims; smooth', () => {
  fc.assert(fc.property(arbPair(REAL, UNIT), fc.constantFrom(undefined, 0.5, 2), ([yhat, y], smooth) => {
    const s = smooth ?? 1;
    const dice = (a: number[], b: number[]): Ref => {
      let ab = 0, aa = 0, bb = 0;
      for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
      const v = 1 - (2 * ab + s) / (aa + bb + s);
      // the quotient of sums of n products: relative error ~ n·eps on each sum; terms ≤ 9
      return { v, mag: 4 * a.length * (1 + Math.abs(v)) * (9 * a.length + s) / (aa + bb + s) };
    };
    const whole = dice(valuesOf(yhat), valuesOf(y));
    const none = diceCoeffLoss(yhat, y, { smooth, agg: 'none' });
    assert.equal([...none.shape], [], 'default dims: one 0-d loss');
    assertRef(none.item(), whole, 'dice whole');
    assertRef(diceCoeffLoss(yhat, y, { smooth }).item(), whole, 'dice whole, mean');
    const per = yhat.size / yhat.shape[0];
    const dims = Array.from({ length: yhat.ndim - 1 }, (_, i) => i + 1);
    const refs = rows(valuesOf(yhat), per).map((a, i) => dice(a, rows(valuesOf(y), per)[i]));
    assertRefs(diceCoeffLoss(yhat, y, { smooth, dims, agg: 'none' }), refs, 'dice per sample');
  }), { numRuns: RUNS });
});

test('labelSmoothing: y·(1 − α) + α/K over the class dimension(s), or + α/2 for binary targets', () => {
  fc.assert(fc.property(arbTensorIn([2, 3, 4], UNIT), fc.double({ min: 0, max: 1, noNaN: true }), (y, a) => {
    const v = valuesOf(y);
    const exp = (k: number) => v.map((e): Ref => ({ v: e * (1 - a) + a / k, mag: 2 }));
    assertRefs(labelSmoothing(y, a), exp(4), 'labelSmoothing default (last dim)');
    assertRefs(labelSmoothing(y, a, { dims: 1 }), exp(3), 'labelSmoothing dims 1');
    assertRefs(labelSmoothing(y, a, { dims: [1, 2] }), exp(12), 'labelSmoothing dims [1, 2]');
    assertRefs(labelSmoothing(y, a, { binary: true }), exp(2), 'labelSmoothing binary');
  }), { numRuns: RUNS });
  // rows of one-hot targets stay distributions
  const s = labelSmoothing([[0, 1, 0, 0]], 0.2);
  assertRefs(sum(s, -1), [{ v: 1, mag: 4 }], 'smoothed one-hot sums to 1');
});

// ---------------------------------------------------------------- TF.js

type TfT = import('@tensorflow/tfjs').Tensor;

test('against TF.js: softmaxCrossEntropy, sigmoidCrossEntropy (with label smoothing), logLoss, metrics.categoricalCrossentropy and binaryCrossentropy', () => {
  const arb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 5 })).chain(([b, c]) => fc.record({
    shape: fc.constant([b, c]),
    logits: arbF32(b * c, -5, 5),
    probs: arbF32(b * c, 0.02, 0.98),
    labels: fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: b, maxLength: b }),
    soft: arbF32(b * c, 0, 1),
    ls: fc.constantFrom(0, 0.1, 0.25),
  }));
  fc.assert(fc.property(arb, ({ shape, logits, probs, labels, soft, ls }) => {
    const [b, c] = shape as [number, number];
    const onehot = Array.from({ length: b * c }, (_, i) => (labels[Math.floor(i / c)] === i % c ? 1 : 0));
    // rows of probabilities normalised in float32, so TF.js's own normalisation leaves them (nearly) unchanged
    const normed = rows(probs, c).flatMap((r) => { const s = r.reduce((p, q) => p + q, 0); return r.map((v) => Math.fround(v / s)); });
    const t2 = (v: number[]) => tf.tensor2d(v, [b, c]);
    const f64 = (v: number[]) => tensor(v, { shape });
    const byRow = (t: Tensor) => mean(t, -1);
    const cases: [string, TfT, Tensor][] = [
      ['softmaxCrossEntropy', tf.losses.softmaxCrossEntropy(t2(onehot), t2(logits)), logitCrossentropy(f64(logits), f64(onehot))],
      ['softmaxCrossEntropy NONE', tf.losses.softmaxCrossEntropy(t2(onehot), t2(logits), undefined, 0, tf.Reduction.NONE),
        logitCrossentropy(f64(logits), f64(onehot), { agg: 'none' })],
      ['softmaxCrossEntropy labelSmoothing', tf.losses.softmaxCrossEntropy(t2(onehot), t2(logits), undefined, ls),
        logitCrossentropy(f64(logits), labelSmoothing(f64(onehot), ls))],
      ['sigmoidCrossEntropy', tf.losses.sigmoidCrossEntropy(t2(soft), t2(logits)), logitBinaryCrossentropy(f64(logits), f64(soft))],
      ['sigmoidCrossEntropy SUM', tf.losses.sigmoidCrossEntropy(t2(soft), t2(logits), undefined, 0, tf.Reduction.SUM),
        logitBinaryCrossentropy(f64(logits), f64(soft), { agg: 'sum' })],
      ['sigmoidCrossEntropy labelSmoothing', tf.losses.sigmoidCrossEntropy(t2(onehot), t2(logits), undefined, ls),
        logitBinaryCrossentropy(f64(logits), labelSmoothing(f64(onehot), ls, { binary: true }))],
      ['logLoss', tf.losses.logLoss(t2(soft), t2(probs)), binaryCrossentropy(f64(probs), f64(soft), { eps: 1e-7 })],
      ['logLoss NONE', tf.losses.logLoss(t2(soft), t2(probs), undefined, 1e-7, tf.Reduction.NONE),
        binaryCrossentropy(f64(probs), f64(soft), { eps: 1e-7, agg: 'none' })],
      ['metrics.categoricalCrossentropy', tf.metrics.categoricalCrossentropy(t2(onehot), t2(normed)),
        crossentropy(f64(normed), f64(onehot), { eps: 0, agg: 'none' })],
      ['metrics.binaryCrossentropy', tf.metrics.binaryCrossentropy(t2(soft), t2(probs)),
        binaryCrossentropy(f64(probs), f64(soft), { eps: 0, agg: byRow })],
    ];
    for (const [what, expected, actual] of cases) {
      const e = Array.from(expected.dataSync()), a = Array.from(actual.data);
      assert.is(a.length, e.length, `${what}: number of values`);
      // TF.js works in float32: ≤ 16 roundings of 2⁻²⁴ per term on magnitudes ≤ 16 (|logits| ≤ 5, −log(0.02) < 4),
      // c terms per sample, b·c in a sum; its normalisation of probability rows adds a few more
      const tol = 16 * (b * c + 8) * 2 ** -24 * 16;
      a.forEach((v, i) => assert.ok(Math.abs(v - e[i]) <= tol, `${what}[${i}]: fluxion ${v}, TF.js ${e[i]} (tolerance ${tol})`));
    }
  }), { numRuns: RUNS });
});

// ---------------------------------------------------------------- gradients

test('gradients in ŷ and y by finite differences, first and second order, every agg', () => {
  const cases: [string, Loss, fc.Arbitrary<[Tensor, Tensor]>, fc.Arbitrary<any>][] = [
    ['crossentropy', crossentropy, arbPair(PROB, UNIT), fc.record({ eps: fc.constantFrom(undefined, 1e-3) })],
    ['logitCrossentropy', logitCrossentropy, arbPair(REAL, UNIT), fc.constant({})],
    ['logitCrossentropy one-hot', logitCrossentropy, arbOneHotPair(REAL), fc.constant({})],
    ['binaryCrossentropy', binaryCrossentropy, arbPair(PROB, UNIT), fc.constant({})],
    ['logitBinaryCrossentropy', logitBinaryCrossentropy, arbPair(REAL, UNIT), fc.constant({})],
    ['kldivergence', kldivergence, arbPair(PROB, { min: 0.1, max: 1 }), fc.constant({})],
    ['focalLoss', focalLoss, arbPair(PROB, UNIT), fc.record({ gamma: fc.constantFrom(undefined, 0, 1, 2.5) })],
    ['binaryFocalLoss', binaryFocalLoss, arbPair(PROB, UNIT), fc.record({ gamma: fc.constantFrom(undefined, 0, 1, 2.5), alpha: fc.constantFrom(undefined, 0.25) })],
    ['diceCoeffLoss', diceCoeffLoss, arbPair(REAL, UNIT), fc.record({ smooth: fc.constantFrom(undefined, 0.5) })],
  ];
  for (const [name, f, arb, opts] of cases) {
    fc.assert(fc.property(arb, opts, arbSeed, fc.constantFrom<any>('mean', 'sum', 'none'), ([yhat, y], o, seed, agg) => {
      const g = (a: Tensor, b: Tensor) => f(a, b, { ...o, agg });
      const label = `${name} [${yhat.shape}] ${JSON.stringify(o)} agg ${agg}`;
      checkGradient(g, [yhat, y], { seed, label });
      checkSecondOrder(g, [yhat, y], { seed, label });
    }), { numRuns: RUNS });
  }
  fc.assert(fc.property(arbTensorIn([2, 3], UNIT), arbSeed, (y, seed) => {
    checkGradient((t: Tensor) => labelSmoothing(t, 0.3), [y], { seed, label: 'labelSmoothing' });
  }), { numRuns: RUNS });
});

// ---------------------------------------------------------------- stability

/** ∇⟨r, ∇f⟩ = H·r, by reverse over reverse. */
function hessianTimes(f: (x: Tensor) => Tensor, x: Tensor, r: Tensor): Tensor {
  return gradient((t: Tensor) => sum(mul(r, gradient(f, t)[0] as Tensor)), x)[0] as Tensor;
}

function assertNear(actual: Tensor, expected: number[], dtype: 'float32' | 'float64', what: string): void {
  const eps = dtype === 'float32' ? 2 ** -23 : 2 ** -52;
  assert.is(actual.dtype, dtype, `${what}: dtype`);
  const a = valuesOf(actual);
  assert.is(a.length, expected.length, `${what}: number of values`);
  a.forEach((v, i) => {
    assert.ok(Number.isFinite(v), `${what}[${i}] is finite (got ${v})`);
    // a few roundings of values of size ≤ 2e4
    assert.ok(Math.abs(v - expected[i]) <= 8 * eps * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: got ${v}, expected ${expected[i]}`);
  });
}

for (const dtype of ['float32', 'float64'] as const) {
  test(`logitCrossentropy at logits ±1e4 (${dtype}): exact losses, gradients softmax − y, Hessian–vector products`, () => {
    const x = tensor([[1e4, -1e4, 0], [-1e4, 1e4, 1e4]], { dtype });
    const y = tensor([[0, 1, 0], [1, 0, 0]], { dtype });
    // row 0: logsumexp = 1e4, loss 1e4 − (−1e4); row 1: logsumexp = 1e4 + log 2, loss 2e4 + log 2
    assertNear(logitCrossentropy(x, y, { agg: 'none' }), [2e4, 2e4 + Math.LN2], dtype, 'losses');
    assertNear(logitCrossentropy(x, y), [(4e4 + Math.LN2) / 2], dtype, 'mean');
    const f = (t: Tensor) => logitCrossentropy(t, y);
    // softmax rows [1, 0, 0] and [0, ½, ½]; the mean over 2 samples halves
    assertNear(gradient(f, x)[0] as Tensor, [0.5, -0.5, 0, -0.5, 0.25, 0.25], dtype, 'gradient');
    // (diag(p) − ppᵀ)·r / 2: zero for row 0; for row 1 with r = [4, 5, 6]: [0, (5/4 − 6/4), (6/4 − 5/4)] / 2
    const r = tensor([[1, 2, 3], [4, 5, 6]], { dtype });
    assertNear(hessianTimes(f, x, r), [0, 0, 0, 0, -0.125, 0.125], dtype, 'Hessian–vector product');
  });

  test(`logitBinaryCrossentropy at logits ±1e4 (${dtype}): exact losses, gradients σ(x) − y, Hessian–vector products`, () => {
    const x = tensor([1e4, -1e4, 1e4, -1e4, 0], { dtype });
    const y = tensor([1, 0, 0, 1, 0.5], { dtype });
    assertNear(logitBinaryCrossentropy(x, y, { agg: 'none' }), [0, 0, 1e4, 1e4, Math.LN2], dtype, 'losses');
    const f = (t: Tensor) => logitBinaryCrossentropy(t, y, { agg: 'sum' });
    assertNear(gradient(f, x)[0] as Tensor, [0, 0, 1, -1, 0], dtype, 'gradient');
    // diag(σ(x)(1 − σ(x)))·r: only the logit 0 contributes, ¼·r
    assertNear(hessianTimes(f, x, tensor([1, 2, 3, 4, 8], { dtype })), [0, 0, 0, 0, 2], dtype, 'Hessian–vector product');
  });

  test(`probability forms at exact 0 and 1 (${dtype}): finite, −log(ε) at a zero probability of the true class`, () => {
    const eps = dtype === 'float32' ? 2 ** -23 : 2 ** -52;
    const p = tensor([[1, 0], [0, 1]], { dtype }), y = tensor([[1, 0], [1, 0]], { dtype });
    assertNear(crossentropy(p, y, { agg: 'none' }), [-Math.log(1 + eps), -Math.log(eps)], dtype, 'crossentropy');
    assertNear(binaryCrossentropy(p, y, { agg: 'none' }), [-Math.log(1 + eps), -Math.log(1 + eps), -Math.log(eps), -Math.log(eps)], dtype, 'binaryCrossentropy');
    for (const [name, f] of [['crossentropy', crossentropy], ['binaryCrossentropy', binaryCrossentropy], ['kldivergence', kldivergence],
      ['focalLoss', focalLoss], ['binaryFocalLoss', binaryFocalLoss]] as [string, Loss][]) {
      const [gp, gy] = gradient((a: Tensor, b: Tensor) => f(a, b), p, y) as Tensor[];
      assert.ok(valuesOf(gp).every(Number.isFinite) && valuesOf(gy).every(Number.isFinite), `${name}: finite gradients at 0 and 1 (${valuesOf(gp)}; ${valuesOf(gy)})`);
      assert.ok(valuesOf(f(p, y, { agg: 'none' })).every(Number.isFinite), `${name}: finite values at 0 and 1`);
    }
  });
}

test('reshape-invariance: logitCrossentropy over [B, T, C] equals it over [B·T, C]', () => {
  fc.assert(fc.property(arbPair(REAL, UNIT, fc.constant([2, 3, 4])), ([x, y]) => {
    const a = logitCrossentropy(x, y, { agg: 'none' });
    const b = logitCrossentropy(reshape(x, [6, 4]), reshape(y, [6, 4]), { agg: 'none' });
    assert.equal(valuesOf(a), valuesOf(b));
  }), { numRuns: 10 });
});

test.run();
