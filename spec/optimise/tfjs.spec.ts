/**
 * The rules against TensorFlow.js's optimisers (cpu backend, float32) where the definitions
 * coincide, for several steps on random data. Where they differ the test sets the
 * hyperparameters so they coincide (epsilon 0 for RMSProp), or bounds the difference
 * (AdaGrad's initial accumulator and epsilon placement). TF.js's AdaDelta divides by the
 * accumulator from before the current gradient, so it is not compared.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { tensor } from '../../src/index.js';
import { setup, update, Descent, Momentum, Nesterov, RMSProp, Adam, AdaMax, AdaGrad, AdaDelta, type Rule } from '../../src/optimise/index.js';

const tf: typeof import('@tensorflow/tfjs') = await import('@tensorflow/tfjs');
await tf.setBackend('cpu');

type TfOptimizer = import('@tensorflow/tfjs').Optimizer;

function compare(name: string, rule: () => Rule, tfOpt: () => TfOptimizer, tol: number): void {
  test(`${name} matches TF.js over five steps`, () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8 }).chain((n) => fc.record({
        x: fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n }),
        // gradients away from 0 so that epsilon conventions stay negligible
        gs: fc.array(fc.array(fc.float({ min: Math.fround(0.1), max: 2, noNaN: true }).chain((v) => fc.constantFrom(v, -v)), { minLength: n, maxLength: n }), { minLength: 5, maxLength: 5 }),
      })),
      ({ x, gs }) => {
        const model = { w: tensor(x, { dtype: 'float32' }) };
        const opt = setup(rule(), model);
        const v = tf.variable(tf.tensor1d(x, 'float32'));
        const o = tfOpt();
        for (const [k, g] of gs.entries()) {
          update(opt, model, { w: tensor(g, { dtype: 'float32' }) });
          o.applyGradients({ [v.name]: tf.tensor1d(g, 'float32') } as never);
          const want = v.dataSync();
          model.w.data.forEach((got, i) => {
            const d = Math.abs(got - want[i]);
            if (!(d <= tol * (1 + Math.abs(want[i])))) assert.unreachable(`${name} step ${k + 1} element ${i}: ${got} vs TF.js ${want[i]}`);
          });
        }
        v.dispose();
        o.dispose();
      },
    ), { numRuns: 25 });
  });
}

// float32 rounding of a few chained operations per step
const F32 = 2e-6;

compare('Descent / tf.train.sgd', () => Descent(0.1), () => tf.train.sgd(0.1), F32);
compare('Momentum / tf.train.momentum', () => Momentum(0.05, 0.9), () => tf.train.momentum(0.05, 0.9), F32);
compare('Nesterov / tf.train.momentum(useNesterov)', () => Nesterov(0.05, 0.9), () => tf.train.momentum(0.05, 0.9, true), F32);
compare('RMSProp (epsilon 0) / tf.train.rmsprop', () => RMSProp(0.01, 0.9, 0), () => tf.train.rmsprop(0.01, 0.9, 0, 0), 1e-5);
compare('RMSProp centred (epsilon 0) / tf.train.rmsprop(centered)', () => RMSProp({ eta: 0.01, rho: 0.9, epsilon: 0, centred: true }), () => tf.train.rmsprop(0.01, 0.9, 0, 0, true), 1e-4);
compare('Adam / tf.train.adam', () => Adam(0.01, [0.9, 0.999], 1e-7), () => tf.train.adam(0.01, 0.9, 0.999, 1e-7), 1e-5);
compare('AdaMax / tf.train.adamax', () => AdaMax(0.01, [0.9, 0.999], 1e-7), () => tf.train.adamax(0.01, 0.9, 0.999, 1e-7), 1e-5);
// TF.js: sum₀ = initialAccumulatorValue, step = lr·g/√(sum + 1e-7); ours: sum₀ = ε, step = lr·g/(√sum + ε).
// With ε = 1e-7 in both and |g| ≥ 0.1 the steps agree to about 1e-6 relative.
compare('AdaGrad / tf.train.adagrad (initial accumulator = epsilon)', () => AdaGrad(0.1, 1e-7), () => tf.train.adagrad(0.1, 1e-7), 1e-5);

test('TF.js adadelta differs from AdaDelta (it divides by the previous accumulator)', () => {
  const model = { w: tensor([1, -1], { dtype: 'float32' }) };
  const opt = setup(AdaDelta(0.9, 1e-6), model);
  const v = tf.variable(tf.tensor1d([1, -1], 'float32'));
  const o = tf.train.adadelta(1, 0.9, 1e-6);
  for (let k = 0; k < 3; k++) {
    update(opt, model, { w: tensor([0.5, 2], { dtype: 'float32' }) });
    o.applyGradients({ [v.name]: tf.tensor1d([0.5, 2], 'float32') } as never);
  }
  const ours = Array.from(model.w.data), theirs = Array.from(v.dataSync());
  assert.ok(Math.abs(ours[0] - theirs[0]) > 1e-3, `expected a visible difference, got ${ours} vs ${theirs}`);
});

test.run();
