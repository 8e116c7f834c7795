/**
 * The optimisers' float32 wasm kernels (src/backend/cpu/update.ts, taken by the rules' fast
 * paths). Descent: several steps against x −= η·g in float64 loops. Adam: several
 * steps on random parameters and gradients of odd lengths (the four-lane tail), both through
 * `update` (step subtracted in place) and through an OptimiserChain (the step written out),
 * against Adam's formula evaluated in float64 loops here, with a float32 rounding bound.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, tensor } from '../../src/index.js';
import { Adam, ClipNorm, Descent, OptimiserChain, setup, update } from '../../src/optimise/index.js';
import { updateTuning } from '../../src/backend/cpu/update.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/** Adam by its formula in float64; returns the parameter after each step. */
function reference(x0: number[], grads: number[][], eta: number, b1: number, b2: number, eps: number): number[][] {
  const x = x0.slice(), m = x0.map(() => 0), v = x0.map(() => 0), out: number[][] = [];
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < x.length; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const mh = m[i]! / (1 - b1 ** t), vh = v[i]! / (1 - b2 ** t);
      x[i] = x[i]! - (eta * mh) / (Math.sqrt(vh) + eps);
    }
    out.push(x.slice());
  });
  return out;
}

test('Adam float32 kernel: several steps equal the float64 formula within float32 roundings', () => {
  const saved = updateTuning.minElements;
  updateTuning.minElements = 0;
  try {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 203 }), fc.integer({ min: 1, max: 1 << 30 }), fc.constantFrom(1e-3, 0.05),
      fc.constantFrom<[number, number]>([0.9, 0.999], [0.8, 0.95]), fc.constantFrom(1e-8, 1e-4), fc.boolean(),
      (n, seed, eta, [b1, b2], eps, chained) => {
        const rnd = lcg(seed);
        const x0 = Array.from({ length: n }, () => Math.fround(rnd()));
        const grads = Array.from({ length: 5 }, () => Array.from({ length: n }, () => Math.fround(rnd() * 3)));
        const model = { w: tensor(x0, { dtype: 'float32' }) };
        // inside a chain the kernel writes the step out instead of subtracting it; a huge clip leaves gradients alone
        const rule = chained ? OptimiserChain(ClipNorm(1e30), Adam(eta, [b1, b2], eps)) : Adam(eta, [b1, b2], eps);
        const opt = setup(rule, model);
        const want = reference(x0, grads, eta, b1, b2, eps);
        grads.forEach((g, k) => {
          update(opt, model, { w: tensor(g, { dtype: 'float32' }) });
          const got = model.w.data;
          assert.ok(got instanceof Float32Array);
          for (let i = 0; i < n; i++) {
            // each step moves x by at most ~eta; float32 roundings of the step and of x
            const tol = 2e-6 * (k + 1) * (Math.abs(want[k]![i]!) + eta * 10);
            if (!(Math.abs(got[i]! - want[k]![i]!) <= tol)) {
              assert.unreachable(`n=${n} chained=${chained} step ${k + 1} [${i}]: got ${got[i]}, expected ${want[k]![i]}`);
            }
          }
        });
      },
    ), { numRuns: 120 });
  } finally {
    updateTuning.minElements = saved;
  }
});

test('Adam float32 kernel: a zero gradient from the start keeps the parameters (padding lanes give no NaN)', () => {
  const saved = updateTuning.minElements;
  updateTuning.minElements = 0;
  try {
    const model = { w: tensor([1, 2, 3, 4, 5], { dtype: 'float32' }) as Tensor };
    const opt = setup(Adam(0.1), model);
    update(opt, model, { w: tensor([0, 0, 0, 0, 0], { dtype: 'float32' }) });
    assert.equal(Array.from(model.w.data), [1, 2, 3, 4, 5]);
  } finally {
    updateTuning.minElements = saved;
  }
});

test('Descent float32 kernel: several steps equal x − η·g in float64 within float32 roundings', () => {
  const saved = updateTuning.minElements;
  updateTuning.minElements = 0;
  try {
    fc.assert(fc.property(fc.integer({ min: 1, max: 203 }), fc.integer({ min: 1, max: 1 << 30 }), fc.constantFrom(0.01, 0.3), (n, seed, eta) => {
      const rnd = lcg(seed);
      const x = Array.from({ length: n }, () => Math.fround(rnd()));
      const model = { w: tensor(x, { dtype: 'float32' }) };
      const opt = setup(Descent(eta), model);
      for (let k = 1; k <= 4; k++) {
        const g = Array.from({ length: n }, () => Math.fround(rnd() * 2));
        update(opt, model, { w: tensor(g, { dtype: 'float32' }) });
        const got = model.w.data;
        for (let i = 0; i < n; i++) {
          x[i] = x[i]! - eta * g[i]!;
          const tol = 4e-7 * k * (Math.abs(x[i]!) + 2 * eta);
          if (!(Math.abs(got[i]! - x[i]!) <= tol)) assert.unreachable(`n=${n} step ${k} [${i}]: got ${got[i]}, expected ${x[i]}`);
        }
      }
    }), { numRuns: 120 });
  } finally {
    updateTuning.minElements = saved;
  }
});

test.run();
