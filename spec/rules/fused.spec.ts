/**
 * The one-loop σ′ and tanh′ rules (src/rules/fused.ts) against the general rules they stand in
 * for, written out here with the library's operations: bit-identical in float32 and float64, for
 * operands in every layout (the loop runs for contiguous ones, the general rule for the rest),
 * through `gradient` against a plain-loop derivative, and at second order (where the general
 * rule must run, because an enclosing gradient records the first).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { Tensor, gradient, mul, sigmoid, sub, sum, tanh, tensor } from '../../src/index.js';
import { rules } from '../../src/rules/index.js';
import { sigmoidBackward, tanhBackward } from '../../src/rules/fused.js';
import { arbSmallShape, arbTensorIn, valuesOf } from '../_helpers/ad-arbitraries.js';
import { checkSecondOrder } from '../_helpers/gradcheck.js';

const arbPair = arbSmallShape({ maxRank: 3 }).chain((s) => fc.tuple(arbTensorIn(s), arbTensorIn(s), fc.constantFrom('float32', 'float64' as const)));

/** Element-by-element identity (NaN equal to NaN, 0 distinct from −0). */
function sameBits(a: Tensor, b: Tensor, label: string): void {
  assert.equal([...a.shape], [...b.shape], `${label}: shape`);
  assert.is(a.dtype, b.dtype, `${label}: dtype`);
  const u = valuesOf(a), v = valuesOf(b);
  u.forEach((x, i) => assert.ok(Object.is(x, v[i]), `${label}[${i}]: ${x} vs ${v[i]}`));
}

for (const [op, general, fused] of [
  ['sigmoid', (dy: Tensor, y: Tensor) => mul(dy, mul(y, sub(1, y))), sigmoidBackward],
  ['tanh', (dy: Tensor, y: Tensor) => mul(dy, sub(1, mul(y, y))), tanhBackward],
] as const) {
  test(`${op} rule: bit-identical to the general formula, every layout, float32 and float64`, () => {
    let ranFused = 0;
    fc.assert(fc.property(arbPair, ([x0, dy0, dtype]) => {
      const x = x0.astype(dtype), dy = dy0.astype(dtype);
      const y = op === 'sigmoid' ? sigmoid(x) : tanh(x);
      if (fused(dy, y) !== undefined) ranFused++;
      const [got] = (rules[op] as any)(dy, [x], y, {}, [true]);
      sameBits(got as Tensor, general(dy, y), op);
    }), { numRuns: 150 });
    assert.ok(ranFused > 20, `the fused loop ran in ${ranFused} of 150 cases`);
  });

  test(`${op} rule: not fused where the operands differ in layout or dtype; none wanted: null`, () => {
    const y = tensor([[0.25, 0.5], [0.75, 0.125]], { dtype: 'float32' });
    assert.is(fused(tensor([[1, 2], [3, 4]], { dtype: 'float64' }), y), undefined, 'mixed dtypes');
    assert.is(fused(tensor([1, 2, 3, 4], { dtype: 'float32' }), y), undefined, 'different shapes');
    assert.is(fused(y.T, y), undefined, 'a transposed cotangent');
    assert.equal((rules[op] as any)(y, [y], y, {}, [false]), [null]);
  });

  test(`${op}: gradient through the fused rule equals a plain-loop derivative; second order by finite differences`, () => {
    fc.assert(fc.property(arbSmallShape({ maxRank: 2 }).chain((s) => fc.tuple(arbTensorIn(s), arbTensorIn(s))), ([x, w]) => {
      const f = (t: Tensor) => sum(mul(op === 'sigmoid' ? sigmoid(t) : tanh(t), w));
      const [g] = gradient(f, x) as Tensor[];
      const xv = valuesOf(x), wv = valuesOf(w), gv = valuesOf(g);
      xv.forEach((xi, i) => {
        const s = 1 / (1 + Math.exp(-xi)), t = Math.tanh(xi);
        const want = wv[i] * (op === 'sigmoid' ? s * (1 - s) : 1 - t * t);
        assert.ok(Math.abs(gv[i] - want) <= 1e-14 * (1 + Math.abs(want)), `[${i}] ${gv[i]} vs ${want}`);
      });
      checkSecondOrder(f, [x], { label: op });
    }), { numRuns: 40 });
  });
}

test.run();
