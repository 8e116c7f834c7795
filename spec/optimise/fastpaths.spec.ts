/**
 * The update's fast paths: gradients that arrive as transposed views (as a Dense weight's
 * does) are read in place or through a reused scratch array, and train's finiteness check
 * scans them without a copy. Each is compared with the plain path on the same values.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, mul, slice, sqrt, sum, tensor, transpose } from '../../src/index.js';
import { Adam, Descent, Momentum, NonFiniteError, setup, train, update, type Rule } from '../../src/optimise/index.js';

type DT = 'float32' | 'float64';

/** A [rows, cols] gradient as a transposed view (strides [1, rows]), optionally of a row slice of a taller matrix. */
function transposedView(values: number[][], dtype: DT, extraRows: number): Tensor {
  const rows = values.length, cols = values[0].length;
  // storage [cols + extraRows, rows]: row r + extraRows holds column r of `values`
  const storage = Array.from({ length: cols + extraRows }, (_, r) => Array.from({ length: rows }, (_, i) => (r < extraRows ? 1e30 : values[i][r - extraRows])));
  const big = tensor(storage, { dtype });
  return transpose(slice(big, [[extraRows, extraRows + cols]]));
}

const arbGrad = fc.record({
  rows: fc.integer({ min: 1, max: 70 }),
  cols: fc.integer({ min: 1, max: 70 }),
  extraRows: fc.integer({ min: 0, max: 3 }),
  dtype: fc.constantFrom<DT>('float32', 'float64'),
  rule: fc.constantFrom<[string, () => Rule]>(['Descent', () => Descent(0.1)], ['Momentum', () => Momentum(0.1, 0.9)], ['Adam', () => Adam(0.01)]),
  seed: fc.integer({ min: 1, max: 1000 }),
});

test('a transposed-view gradient updates exactly as the same values given contiguously, step after step', () => {
  fc.assert(fc.property(arbGrad, ({ rows, cols, extraRows, dtype, rule: [, make], seed }) => {
    let s = seed;
    const next = (): number => { s = (s * 16807) % 2147483647; return s / 2147483647 - 0.5; };
    const x0 = Array.from({ length: rows }, () => Array.from({ length: cols }, next));
    const viewModel = { w: tensor(x0, { dtype }) }, plainModel = { w: tensor(x0, { dtype }) };
    const viewOpt = setup(make(), viewModel), plainOpt = setup(make(), plainModel);
    for (let k = 0; k < 3; k++) {
      const gv = Array.from({ length: rows }, () => Array.from({ length: cols }, next));
      const view = transposedView(gv, dtype, extraRows);
      if (rows > 1 && cols > 1) assert.not.ok(view.isContiguous, 'the gradient is a view');
      const before = Array.from(view.data);
      update(viewOpt, viewModel, { w: view });
      update(plainOpt, plainModel, { w: tensor(gv, { dtype }) });
      assert.equal(Array.from(viewModel.w.data), Array.from(plainModel.w.data), `step ${k + 1}`);
      assert.equal(Array.from(view.data), before, 'the gradient is left as it was');
    }
  }), { numRuns: 60 });
});

test('train finds an infinite element of a transposed-view gradient, wherever it is, and keeps the last good values', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2, max: 40 }), fc.nat(), fc.constantFrom<DT>('float32', 'float64'),
    async (rows, cols, pick, dtype) => {
      const at = pick % (rows * cols);
      // √ has an infinite derivative at 0: one zero weight gives a finite loss and one infinite gradient element
      const w = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i * cols + j === at ? 0 : 1 + i + j)));
      const model = { w: tensor(w, { dtype }) };
      const loss = (m: typeof model): Tensor => sum(sqrt(transpose(m.w)));
      const before = Array.from(model.w.data);
      let error: unknown;
      try {
        await train(loss, model, [[]], setup(Descent(0.1), model), { progress: false });
      } catch (e) { error = e; }
      assert.instance(error, NonFiniteError);
      const e = error as NonFiniteError;
      assert.is(e.quantity, 'gradient');
      assert.is(e.path, 'w');
      assert.match(e.message, /holds Infinity/);
      assert.equal(Array.from(model.w.data), before);
    },
  ), { numRuns: 40 });
});

test('large finite gradients are not mistaken for non-finite ones', async () => {
  const model = { w: tensor([[1, 2, 3], [4, 5, 6]].map((r) => r.map((v) => v * 1e-10)), { dtype: 'float32' }) };
  // a finite loss (about 6e29) whose gradient elements are all 3e38, close to float32's largest finite value
  const loss = (m: typeof model): Tensor => sum(mul(transpose(m.w), 3e38));
  const history = await train(loss, model, [[], []], setup(Descent(0), model), { progress: false });
  assert.is(history.loss.length, 2);
  assert.ok(Number.isFinite(history.loss[1]));
});

test.run();
