/** Normalisation and dropout layers (src/layers/normalise.ts) against loops, TensorFlow.js and finite differences. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Chain, Dense, ShapeError, Tensor, fromData, gradient, layer, loadState, mul, params, primal, pullback, randn, relu,
  seed, state, sum, tanh, tensor, trainables, selu,
} from '../../src/index.js';
import {
  AlphaDropout, BatchNorm, Dropout, GroupNorm, InstanceNorm, LayerNorm, autoMode, testMode, trainMode,
} from '../../src/layers/normalise.js';
import { checkLayerGradient, checkLayerSecondOrder, close, randomTensor } from '../_helpers/layers.js';
import { seededValues } from '../_helpers/arbitraries.js';

const tf: typeof import('@tensorflow/tfjs') = await import('@tensorflow/tfjs');
type TfTensor = import('@tensorflow/tfjs').Tensor;
tf.enableProdMode();
await tf.setBackend('cpu');

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
/** Positive values in [0.5, 1.5), e.g. variances. */
const positiveTensor = (shape: number[], s: number): Tensor =>
  fromData(Float32Array.from(seededValues(sizeOf(shape), s, 'float64'), (v) => 1 + v / 2), shape);

// ---------------------------------------------------------------- reference loops (float64, two-pass)

/** Per-group mean and biased variance of `x`, the group of flat index i being group(i). */
function groupStats(x: ArrayLike<number>, groups: number, group: (i: number) => number): { mu: Float64Array; v: Float64Array; n: Float64Array } {
  const mu = new Float64Array(groups), v = new Float64Array(groups), n = new Float64Array(groups);
  for (let i = 0; i < x.length; i++) { mu[group(i)] += x[i]; n[group(i)]++; }
  for (let g = 0; g < groups; g++) mu[g] /= n[g];
  for (let i = 0; i < x.length; i++) { const d = x[i] - mu[group(i)]; v[group(i)] += d * d; }
  for (let g = 0; g < groups; g++) v[g] /= n[g];
  return { mu, v, n };
}

/** (x − μ_g)/√(σ²_g + ε)·γ_c + β_c with the statistics given per group and γ, β indexed by param(i). */
function normalised(x: ArrayLike<number>, mu: ArrayLike<number>, v: ArrayLike<number>, eps: number, group: (i: number) => number,
  gamma?: ArrayLike<number>, beta?: ArrayLike<number>, param: (i: number) => number = () => 0): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => {
    const g = group(i), p = param(i);
    return ((x[i] - mu[g]) / Math.sqrt(v[g] + eps)) * (gamma?.[p] ?? 1) + (beta?.[p] ?? 0);
  });
}

/** Channel (axis 1) of flat index i in a row-major [B, C, ...rest] tensor. */
const channelOf = (shape: number[]) => (i: number): number => Math.floor(i / sizeOf(shape.slice(2))) % shape[1];
const sampleOf = (shape: number[]) => (i: number): number => Math.floor(i / sizeOf(shape.slice(1)));

// ---------------------------------------------------------------- BatchNorm values

const shapes = fc.oneof(
  fc.tuple(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 4 })).map(([b, c]) => [b, c]),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 3 })).map(([b, c, h, w]) => [b, c, h, w]),
);

test('BatchNorm: train and test values against loops and tf.layers.batchNormalization (call with training: true / false)', () => {
  fc.assert(fc.property(shapes, fc.integer({ min: 0, max: 1e6 }), fc.constantFrom(0.1, 0.3), fc.constantFrom(1e-5, 1e-3), (shape, s, momentum, eps) => {
    const C = shape[1], n = sizeOf(shape) / C;
    const bn = BatchNorm(C, undefined, { momentum, eps });
    (bn.scale as Tensor).assign(positiveTensor([C], s + 1));
    (bn.bias as Tensor).assign(randomTensor([C], s + 2));
    (bn.runningMean as Tensor).assign(randomTensor([C], s + 3));
    (bn.runningVar as Tensor).assign(positiveTensor([C], s + 4));
    const [g0, b0, m0, v0] = [bn.scale, bn.bias, bn.runningMean, bn.runningVar].map((t) => Float64Array.from((t as Tensor).data));
    const x = randomTensor(shape, s);
    const ch = channelOf(shape);

    // test mode: the running statistics
    const yTest = testMode(bn)(x);
    close(yTest, normalised(x.data, m0, v0, eps, ch, g0, b0, ch), 1e-5, 'test mode vs loop');
    assert.equal(Array.from((bn.runningMean as Tensor).data), Array.from(Float32Array.from(m0)), 'test mode leaves the running mean alone');

    // TF.js: its momentum weighs the *old* value (moving = m′·moving + (1 − m′)·batch), so m′ = 1 − momentum.
    // Channels last for TF.js (NCHW → NHWC and back): its cpu batchNorm kernel with axis 1 on 4-d input
    // cycles the per-channel statistics along the last axis, giving wrong values.
    const ltf = tf.layers.batchNormalization({ axis: -1, momentum: 1 - momentum, epsilon: eps });
    const image = shape.length === 4;
    const tfShape = image ? [shape[0], shape[2], shape[3], shape[1]] : shape;
    ltf.build(tfShape);
    ltf.setWeights([tf.tensor1d(Float32Array.from(g0)), tf.tensor1d(Float32Array.from(b0)), tf.tensor1d(Float32Array.from(m0)), tf.tensor1d(Float32Array.from(v0))]);
    const xtf = image ? tf.tensor(x.data as Float32Array, shape).transpose([0, 2, 3, 1]) : tf.tensor(x.data as Float32Array, shape);
    const fromTfLayout = (t: TfTensor): Float32Array => (image ? t.transpose([0, 3, 1, 2]) : t).dataSync() as Float32Array;
    close(yTest, fromTfLayout(ltf.apply(xtf, { training: false }) as TfTensor), 1e-5, 'test mode vs TF.js');

    // train mode: batch statistics, running statistics updated
    const y = trainMode(bn)(x);
    const { mu, v } = groupStats(x.data, C, ch);
    close(y, normalised(x.data, mu, v, eps, ch, g0, b0, ch), 1e-4, 'train mode vs loop');
    close(y, fromTfLayout(ltf.apply(xtf, { training: true }) as TfTensor), 1e-4, 'train mode vs TF.js');
    const [, , tfMean, tfVar] = ltf.getWeights().map((w) => Float64Array.from(w.dataSync()));
    close(bn.runningMean as Tensor, tfMean, 1e-5, 'running mean vs TF.js moving mean');
    close(bn.runningMean as Tensor, Float64Array.from(m0, (m, c) => (1 - momentum) * m + momentum * mu[c]), 1e-5, 'running mean vs loop');
    // TF.js moves its variance towards the biased batch variance, we (as PyTorch and Flux) towards the unbiased one:
    // ours − TF.js's = momentum·(σ²·n/(n − 1) − σ²) = momentum·σ²/(n − 1); recover σ² from TF.js's update and compare
    const fromTf = Float64Array.from(tfVar, (t, c) => {
      const biased = (t - (1 - momentum) * v0[c]) / momentum;
      return (1 - momentum) * v0[c] + momentum * biased * n / (n - 1);
    });
    close(bn.runningVar as Tensor, fromTf, 1e-4, 'running variance vs TF.js, corrected for its biased estimate');
    close(bn.runningVar as Tensor, Float64Array.from(v0, (r, c) => (1 - momentum) * r + momentum * v[c] * n / (n - 1)), 1e-5, 'running variance vs loop');
    // the difference is real, not within the tolerance: a biased update would fail the checks above
    for (let c = 0; c < C; c++) {
      const gap = (bn.runningVar as Tensor).data[c] - tfVar[c];
      assert.ok(Math.abs(gap - momentum * v[c] / (n - 1)) <= 1e-5 + 1e-4 * Math.abs(gap), `channel ${c}: the gap to TF.js is momentum·σ²/(n − 1)`);
    }
  }), { numRuns: 30 });
});

test('BatchNorm: running statistics after several train steps against a hand loop; then test mode uses them', () => {
  const shape = [3, 2, 2, 2], C = 2, momentum = 0.2, eps = 1e-5, n = 12;
  const bn = BatchNorm(C, undefined, { momentum, eps });
  const m = new Float64Array(C), r = new Float64Array(C).fill(1);
  trainMode(bn);
  for (let step = 0; step < 5; step++) {
    const x = randomTensor(shape, 100 + step);
    // shift and scale the batches so that the statistics move far from their initial values
    const xs = fromData(Float32Array.from(x.data, (e, i) => 3 * e + step + channelOf(shape)(i)), shape);
    bn(xs);
    const { mu, v } = groupStats(xs.data, C, channelOf(shape));
    for (let c = 0; c < C; c++) {
      m[c] = (1 - momentum) * m[c] + momentum * mu[c];
      r[c] = (1 - momentum) * r[c] + momentum * v[c] * n / (n - 1);
    }
  }
  close(bn.runningMean as Tensor, m, 1e-5, 'running mean after 5 steps');
  close(bn.runningVar as Tensor, r, 1e-5, 'running variance after 5 steps');
  const x = randomTensor(shape, 7);
  close(testMode(bn)(x), normalised(x.data, m, r, eps, channelOf(shape)), 1e-5, 'test mode with the running statistics');
});

test('BatchNorm: without trackStats the batch statistics serve in both modes; without affine no parameters', () => {
  const x = randomTensor([4, 3], 11);
  const bn = BatchNorm(3, undefined, { trackStats: false, affine: false });
  assert.is(bn.runningMean, false);
  assert.is(bn.scale, false);
  const { mu, v } = groupStats(x.data, 3, channelOf([4, 3]));
  close(testMode(bn)(x), normalised(x.data, mu, v, 1e-5, channelOf([4, 3])), 1e-5, 'test mode without running statistics');
  close(trainMode(bn)(x), normalised(x.data, mu, v, 1e-5, channelOf([4, 3])), 1e-5, 'train mode');
  assert.equal(trainables(bn), []);
});

test('BatchNorm: numerically sound variance (mean of squared deviations) for data with a large mean', () => {
  // E[x²] − E[x]² in float32 loses everything here: mean 1e4, spread 1e-1
  const base = randomTensor([64, 1], 5);
  const x = fromData(Float64Array.from(base.data, (e) => 1e4 + 0.1 * e), [64, 1]);
  const bn = trainMode(BatchNorm(1, undefined, { dtype: 'float64', eps: 0 }));
  const { mu, v } = groupStats(x.data, 1, () => 0);
  close(bn(x), normalised(x.data, mu, v, 0, () => 0), 1e-9, 'float64, large mean');
});

// ---------------------------------------------------------------- LayerNorm, GroupNorm, InstanceNorm values

test('LayerNorm: over the last dims, against loops and tf.layers.layerNormalization', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 2, max: 4 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }),
    (b, f1, f2, twoDims, s) => {
      const norm = twoDims ? [f1, f2] : [f2];
      const shape = [b, f1, f2], k = sizeOf(norm), eps = 1e-3;
      const ln = LayerNorm(twoDims ? norm : f2, undefined, { eps });
      (ln.scale as Tensor).assign(positiveTensor(norm, s + 1));
      (ln.bias as Tensor).assign(randomTensor(norm, s + 2));
      const x = randomTensor(shape, s);
      const row = (i: number) => Math.floor(i / k);
      const { mu, v } = groupStats(x.data, sizeOf(shape) / k, row);
      const y = ln(x);
      close(y, normalised(x.data, mu, v, eps, row, (ln.scale as Tensor).data, (ln.bias as Tensor).data, (i) => i % k), 1e-5, 'LayerNorm vs loop');
      const ltf = tf.layers.layerNormalization({ axis: twoDims ? [-2, -1] : -1, epsilon: eps });
      ltf.build(shape);
      ltf.setWeights([tf.tensor((ln.scale as Tensor).data as Float32Array, norm), tf.tensor((ln.bias as Tensor).data as Float32Array, norm)]);
      close(y, (ltf.apply(tf.tensor(x.data as Float32Array, shape)) as TfTensor).dataSync(), 1e-4, 'LayerNorm vs TF.js');
    }), { numRuns: 30 });
});

test('GroupNorm and InstanceNorm on NCHW against loops', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.constantFrom([4, 2], [4, 1], [4, 4], [6, 3], [3, 3]), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 3 }), fc.integer({ min: 0, max: 1e6 }),
    (B, [C, G], H, W, s) => {
      const shape = [B, C, H, W], ch = channelOf(shape), smp = sampleOf(shape);
      const x = randomTensor(shape, s);
      const gn = GroupNorm(C, G);
      (gn.scale as Tensor).assign(positiveTensor([C], s + 1));
      (gn.bias as Tensor).assign(randomTensor([C], s + 2));
      const group = (i: number) => smp(i) * G + Math.floor(ch(i) / (C / G));
      const gs = groupStats(x.data, B * G, group);
      close(gn(x), normalised(x.data, gs.mu, gs.v, 1e-5, group, (gn.scale as Tensor).data, (gn.bias as Tensor).data, ch), 1e-5, 'GroupNorm vs loop');
      const inorm = InstanceNorm(C);
      const inst = (i: number) => smp(i) * C + ch(i);
      const is = groupStats(x.data, B * C, inst);
      close(inorm(x), normalised(x.data, is.mu, is.v, 1e-5, inst), 1e-5, 'InstanceNorm vs loop');
      close(InstanceNorm(C)(x), GroupNorm(C, C, undefined, { affine: false })(x).data, 1e-6, 'InstanceNorm = GroupNorm with one channel per group');
    }), { numRuns: 30 });
});

test('InstanceNorm with trackStats: running statistics are the batch average of the per-sample statistics', () => {
  const shape = [3, 2, 2, 3], C = 2, momentum = 0.1, sp = 6;
  const inorm = InstanceNorm(C, undefined, { trackStats: true, affine: true, momentum });
  const x = randomTensor(shape, 21);
  trainMode(inorm)(x);
  const inst = (i: number) => sampleOf(shape)(i) * C + channelOf(shape)(i);
  const { mu, v } = groupStats(x.data, 3 * C, inst);
  const m = Float64Array.from({ length: C }, (_, c) => momentum * (mu[c] + mu[C + c] + mu[2 * C + c]) / 3);
  const r = Float64Array.from({ length: C }, (_, c) => (1 - momentum) + momentum * ((v[c] + v[C + c] + v[2 * C + c]) / 3) * sp / (sp - 1));
  close(inorm.runningMean as Tensor, m, 1e-6, 'running mean');
  close(inorm.runningVar as Tensor, r, 1e-6, 'running variance');
  close(testMode(inorm)(x), normalised(x.data, m, r, 1e-5, channelOf(shape)), 1e-5, 'test mode');
});

// ---------------------------------------------------------------- gradients

test('gradients by finite differences (float64): BatchNorm through the batch statistics and in test mode, GroupNorm, InstanceNorm', () => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 }), (B, C, s) => {
    const shape = [B, C, 2, 2];
    const x = randomTensor(shape, s, 'float64');
    const bn = BatchNorm(C, tanh, { eps: 1e-3 });
    (bn.scale as Tensor).assign(positiveTensor([C], s + 1));
    (bn.bias as Tensor).assign(randomTensor([C], s + 2));
    (bn.runningMean as Tensor).assign(randomTensor([C], s + 3));
    (bn.runningVar as Tensor).assign(positiveTensor([C], s + 4));
    checkLayerGradient(trainMode(bn), [x], s, 'BatchNorm (train mode)');
    checkLayerGradient(trainMode(BatchNorm(C, tanh, { eps: 1e-3 })), [randomTensor([B + 1, C], s + 5, 'float64')], s, 'BatchNorm [B, C] (train mode)');
    checkLayerGradient(testMode(bn), [x], s, 'BatchNorm (test mode)');
    const gn = GroupNorm(2 * C, C, tanh, { eps: 1e-3 });
    (gn.scale as Tensor).assign(positiveTensor([2 * C], s + 6));
    checkLayerGradient(gn, [randomTensor([B, 2 * C, 2, 1], s + 7, 'float64')], s, 'GroupNorm');
    checkLayerGradient(InstanceNorm(C, tanh, { affine: true, eps: 1e-3 }), [x], s, 'InstanceNorm');
  }), { numRuns: 10 });
});

test('LayerNorm: first and second order gradients by finite differences (float64)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 1e6 }), (B, F, s) => {
    const ln = LayerNorm(F, tanh, { eps: 1e-3 });
    (ln.scale as Tensor).assign(positiveTensor([F], s + 1));
    (ln.bias as Tensor).assign(randomTensor([F], s + 2));
    const x = randomTensor([B, F], s, 'float64');
    checkLayerGradient(ln, [x], s, 'LayerNorm');
    checkLayerSecondOrder(ln, [x], s, 'LayerNorm');
  }), { numRuns: 10 });
});

test('BatchNorm inside gradient((m) => …, model): automatic train mode, running statistics updated, gradient shaped like the model', () => {
  seed(3);
  const model = Chain(Dense(3, 2), BatchNorm(2, relu));
  const bn = model.layers[1] as BatchNorm;
  const x = randomTensor([4, 3], 9);
  const before = Float64Array.from((bn.runningMean as Tensor).data);
  const [g] = gradient((m: typeof model) => sum(mul(m(x), tensor([[1, 2]], { dtype: 'float32' }))), model);
  assert.equal(g.layers[1].scale.shape, [2]);
  assert.is(g.layers[1].runningMean, null, 'state gets no gradient');
  const h = primal(model.layers[0](x)) as Tensor;
  const { mu } = groupStats(h.data, 2, channelOf([4, 2]));
  close(bn.runningMean as Tensor, Float64Array.from(before, (b, c) => 0.9 * b + 0.1 * mu[c]), 1e-5, 'updated once, from the batch');
  // implicit params: the running statistics are not params, and updating them does not trip the in-place guard
  const ps = params(model);
  assert.is(ps.size, 4);
  gradient(() => sum(model(x)), ps);
  // outside a gradient the automatic mode is test mode: the running statistics are not touched
  const now = Float64Array.from((bn.runningMean as Tensor).data);
  model(x);
  assert.equal(Array.from((bn.runningMean as Tensor).data), Array.from(Float32Array.from(now)));
  // state() carries the running statistics, trainables() does not
  const st = state(model) as any;
  assert.equal(Array.from(st.layers[1].runningMean.data), Array.from((bn.runningMean as Tensor).data));
  assert.is(trainables(model).length, 4);
  (bn.runningMean as Tensor).assign(0);
  loadState(model, st);
  assert.equal(Array.from((bn.runningMean as Tensor).data), Array.from(st.layers[1].runningMean.data));
});

// ---------------------------------------------------------------- dropout

test('Dropout: the fraction dropped, kept values scaled by 1/(1 − p), identity in test mode', () => {
  // K dropped of n ~ Binomial(n, p). Hoeffding: P(|K/n − p| ≥ t) ≤ 2·exp(−2n·t²); with n = 100 000 and
  // t = √(ln(2·10⁹)/(2n)) ≈ 0.0103 a correct mask fails with probability ≤ 1e-9, while a mask with the
  // wrong rate (p ± 0.011 or worse, e.g. keeping with probability p) fails.
  const n = 100_000, t = Math.sqrt(Math.log(2e9) / (2 * n));
  for (const p of [0.1, 0.5, 0.8]) {
    seed(42);
    const x = fromData(Float64Array.from(seededValues(n, 3, 'float64'), (v) => v + 2), [100, 1000]);
    const d = trainMode(Dropout(p));
    const y = d(x).data;
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) dropped++;
      else assert.is(y[i], x.data[i] * (1 / (1 - p)), 'a kept value is scaled by 1/(1 − p)');
    }
    assert.ok(Math.abs(dropped / n - p) <= t, `p = ${p}: dropped ${dropped / n}`);
    assert.is(testMode(d)(x), x, 'test mode returns the input itself');
    assert.is(autoMode(d)(x), x, 'automatic mode outside a gradient is test mode');
  }
  assert.equal(Array.from(trainMode(Dropout(1))(tensor([1, -2, 3])).data), [0, 0, 0], 'p = 1 drops everything (no NaN)');
  const same = tensor([1, 2]);
  assert.is(trainMode(Dropout(0))(same), same, 'p = 0 is the identity');
});

test('Dropout: reproducible after seed(n); dims share the mask along the other axes', () => {
  const x = randomTensor([4, 5, 3, 3], 1);
  const d = trainMode(Dropout(0.5));
  seed(7);
  const a = d(x).data;
  seed(7);
  assert.equal(Array.from(d(x).data), Array.from(a), 'same seed, same mask');
  seed(8);
  assert.not.equal(Array.from(d(x).data), Array.from(a), 'another seed, another mask');
  const channels = trainMode(Dropout(0.5, { dims: [0, 1] }));
  const y = channels(x).data;
  let zeroSlices = 0;
  for (let k = 0; k < 20; k++) {
    const slice = Array.from(y.subarray(9 * k, 9 * k + 9));
    const allZero = slice.every((v) => v === 0), allKept = slice.every((v, j) => v !== 0 && Math.abs(v - 2 * x.data[9 * k + j]) < 1e-6);
    assert.ok(allZero || allKept, `slice ${k} is dropped or kept whole`);
    if (allZero) zeroSlices++;
  }
  assert.ok(zeroSlices > 0 && zeroSlices < 20, 'some channels dropped, some kept');
  assert.is(String(channels), 'Dropout(0.5; dims=[0, 1], active=true)');
});

test('Dropout and AlphaDropout: the gradient uses the mask of the forward pass (automatic mode inside gradient)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 1e6 }), fc.constantFrom(0.2, 0.5), (s, p) => {
    const x = fromData(Float64Array.from(seededValues(30, s, 'float64'), (v) => v + 2), [5, 6]);
    const w = randomTensor([5, 6], s + 1, 'float64');
    const cases: [Dropout | AlphaDropout, [number, number, number]][] = [[Dropout(p), [1 / (1 - p), 0, 0]], [AlphaDropout(p), alphaConstants(p)]];
    for (const [d, [a, b, alpha]] of cases) {
      let yOut: Tensor | undefined;
      seed(s);
      const [g] = gradient((xx: Tensor) => { yOut = d(xx); return sum(mul(yOut, w)); }, x) as Tensor[];
      const y = primal(yOut!).data;
      // recover the mask from the output: a kept value is a·x + b, a dropped one a·α′ + b (Dropout: b = α′ = 0)
      for (let i = 0; i < 30; i++) {
        const kept = Math.abs(y[i] - (a * x.data[i] + b)) < 1e-12;
        assert.ok(kept || Math.abs(y[i] - (a * alpha + b)) < 1e-12, `${String(d)}: y[${i}] is a kept or a dropped value`);
        assert.ok(Math.abs(g.data[i] - (kept ? a * w.data[i] : 0)) < 1e-12, `${String(d)}: gradient ${i} follows the mask`);
      }
    }
  }), { numRuns: 10 });
});

/** AlphaDropout's a, b and α′ = −λα, from the derivation in the source (recomputed here). */
function alphaConstants(p: number): [number, number, number] {
  const alpha = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;
  const q = 1 - p, a = 1 / Math.sqrt(q * (1 + p * alpha * alpha));
  return [a, -a * p * alpha, alpha];
}

test('AlphaDropout: keeps mean 0 and variance 1 of standard normal inputs; the fraction dropped; identity in test mode', () => {
  // α′ is where selu saturates: selu(−∞) = −λα
  assert.ok(Math.abs(selu(tensor([-50])).item() - alphaConstants(0.5)[2]) < 1e-12);
  // By the CLT the sample mean of n outputs has standard deviation σ/√n = 1/√n and the sample variance
  // √((μ₄ − σ⁴)/n), with μ₄ estimated from the same sample; within 6 of them a correct layer fails with
  // probability ≈ 2e-9, while a mistaken a or b (e.g. omitting the shift) moves the moments by far more.
  const n = 200_000;
  for (const p of [0.1, 0.3]) {
    seed(11);
    const x = randn([n], { dtype: 'float64' });
    const y = trainMode(AlphaDropout(p))(x).data;
    let m = 0;
    for (const v of y) m += v;
    m /= n;
    let v2 = 0, m4 = 0;
    for (const v of y) { const d = v - m; v2 += d * d; m4 += d ** 4; }
    v2 /= n; m4 /= n;
    assert.ok(Math.abs(m) <= 6 / Math.sqrt(n), `p = ${p}: mean ${m}`);
    assert.ok(Math.abs(v2 - 1) <= 6 * Math.sqrt((m4 - v2 * v2) / n), `p = ${p}: variance ${v2}`);
    const [a, b, alpha] = alphaConstants(p);
    const dropped = y.filter((v) => v === a * alpha + b).length;
    assert.ok(Math.abs(dropped / n - p) <= Math.sqrt(Math.log(2e9) / (2 * n)), `p = ${p}: dropped ${dropped / n}`);
    assert.is(testMode(AlphaDropout(p))(x), x);
  }
});

// ---------------------------------------------------------------- modes, printing, errors

const Block = layer(class Block {
  body = Chain(Dense(3, 4), BatchNorm(4), Dropout(0.5));
  extra = [Dropout(0.1), { deep: AlphaDropout(0.2) }];
  forward(x: Tensor) { return (this.extra[0] as Dropout)(this.body(x)); }
});

test('trainMode / testMode / autoMode walk a nested model (Chains, arrays, objects, fields of custom layers)', () => {
  seed(5);
  const model = Chain(Block(), Chain(LayerNorm(4), InstanceNorm(4)));
  const modal = () => [model.layers[0].body.layers[1], model.layers[0].body.layers[2], model.layers[0].extra[0], model.layers[0].extra[1].deep, model.layers[1].layers[1]];
  assert.is(trainMode(model), model, 'returns the model');
  assert.equal(modal().map((l: any) => l.active), [true, true, true, true, true]);
  assert.not.ok('active' in model.layers[0].body.layers[0], 'layers without the field are left alone');
  assert.not.ok('active' in model.layers[1].layers[0]);
  testMode(model);
  assert.equal(modal().map((l: any) => l.active), [false, false, false, false, false]);
  const x = randomTensor([2, 3], 4);
  // test mode holds even inside a gradient: dropout off, running statistics used and unchanged
  const bn = model.layers[0].body.layers[1] as BatchNorm;
  const [g1] = gradient((m: typeof model) => sum(m.layers[0](x)), model);
  const [g2] = gradient((m: typeof model) => sum(m.layers[0](x)), model);
  assert.equal(Array.from(g1.layers[0].body.layers[0].weight.data), Array.from(g2.layers[0].body.layers[0].weight.data), 'no random mask in test mode');
  assert.equal(Array.from((bn.runningMean as Tensor).data), [0, 0, 0, 0]);
  autoMode(model);
  assert.equal(modal().map((l: any) => l.active), [undefined, undefined, undefined, undefined, undefined]);
  gradient((m: typeof model) => sum(m.layers[0](x)), model);
  assert.ok((bn.runningMean as Tensor).data.some((v) => v !== 0), 'automatic mode: train mode inside gradient');
});

test('printing', () => {
  assert.is(String(BatchNorm(64, relu)), 'BatchNorm(64, relu)  # 128 parameters, plus 128 non-trainable');
  assert.is(String(BatchNorm(3, undefined, { affine: false })), 'BatchNorm(3; affine=false)  # 0 parameters, plus 6 non-trainable');
  assert.is(String(trainMode(BatchNorm(3, undefined, { trackStats: false }))), 'BatchNorm(3; trackStats=false, active=true)  # 6 parameters');
  assert.is(String(LayerNorm(128)), 'LayerNorm(128)  # 256 parameters');
  assert.is(String(LayerNorm([4, 5], tanh)), 'LayerNorm((4, 5), tanh)  # 40 parameters');
  assert.is(String(GroupNorm(32, 4)), 'GroupNorm(32, 4)  # 64 parameters');
  assert.is(String(InstanceNorm(3)), 'InstanceNorm(3)');
  assert.is(String(InstanceNorm(3, relu, { affine: true, trackStats: true })), 'InstanceNorm(3, relu; affine=true, trackStats=true)  # 6 parameters, plus 6 non-trainable');
  assert.is(String(Dropout(0.5)), 'Dropout(0.5)');
  assert.is(String(testMode(AlphaDropout(0.1))), 'AlphaDropout(0.1; active=false)');
  seed(1);
  assert.is(String(Chain(Dense(2, 3), BatchNorm(3, relu), Dropout(0.2))), [
    'Chain(',
    '  Dense(2 => 3),                        # 9 parameters',
    '  BatchNorm(3, relu),                   # 6 parameters, plus 6 non-trainable',
    '  Dropout(0.2),',
    ')                   # Total: 4 trainable arrays, 15 parameters, plus 2 non-trainable, 6 parameters, 84 bytes.',
  ].join('\n'));
});

test('errors name the layer and both shapes; bad arguments are refused', () => {
  const err = (f: () => unknown, type: Function, msg: string) => assert.throws(f, (e: Error) => e instanceof type && e.message === msg);
  err(() => BatchNorm(3)(randomTensor([2, 4, 5, 5], 1)), ShapeError, 'BatchNorm(3) expects input [B, 3, …] (3 channels at axis 1), got input of shape [2, 4, 5, 5]');
  err(() => Chain(Dense(2, 4), BatchNorm(3, relu))(randomTensor([5, 2], 1)), ShapeError, 'Chain[1] → BatchNorm(3, relu) expects input [B, 3, …] (3 channels at axis 1), got input of shape [5, 4]');
  err(() => trainMode(BatchNorm(2))(randomTensor([1, 2], 1)), ShapeError, 'BatchNorm(2; active=true) needs more than one value per channel to compute batch statistics, got input of shape [1, 2]');
  err(() => LayerNorm(4)(randomTensor([2, 3], 1)), ShapeError, 'LayerNorm(4) expects input of shape [..., 4], got input of shape [2, 3]');
  err(() => GroupNorm(4, 2)(randomTensor([2, 6, 2, 2], 1)), ShapeError, 'GroupNorm(4, 2) expects input [B, 4, …] (4 channels at axis 1), got input of shape [2, 6, 2, 2]');
  err(() => InstanceNorm(3)(randomTensor([2, 3], 1)), ShapeError, 'InstanceNorm(3) expects input [B, 3, …spatial] (3 channels at axis 1, at least one spatial axis), got input of shape [2, 3]');
  err(() => trainMode(Dropout(0.5, { dims: [4] }))(randomTensor([2, 3], 1)), ShapeError, 'Dropout(0.5; dims=[4], active=true): dims [4] out of range for input of shape [2, 3]');
  err(() => GroupNorm(6, 4), RangeError, 'GroupNorm: the number of groups must divide the number of channels, got 6 channels and 4 groups');
  err(() => BatchNorm(0), TypeError, 'BatchNorm: the number of channels must be a positive integer, got number 0');
  err(() => BatchNorm(2, undefined, { momentum: 1.5 }), RangeError, 'BatchNorm: momentum must be a number in [0, 1], got number 1.5');
  err(() => Dropout(1.5), RangeError, 'Dropout: the probability must be a number in [0, 1], got number 1.5');
  err(() => AlphaDropout(1), RangeError, 'AlphaDropout: the probability must be a number in [0, 1), got number 1');
  err(() => LayerNorm([]), TypeError, 'LayerNorm: the shape must be a positive integer or a non-empty array of them, got an array of length 0');
  err(() => BatchNorm(2)('x' as any), TypeError, "BatchNorm(2) expects a tensor, got the string 'x'");
});

test.run();
