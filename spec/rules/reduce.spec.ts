/**
 * Derivative rules of the reductions (src/rules/reduce.ts) and the reduction composites
 * (mean, logsumexp), against finite differences at first and second order over random
 * shapes, layouts, axes (negative ones too) and keepDims; prod with zeros in its slices; max
 * and min on distinct values, and their tie convention as exact values.
 */
import { test } from 'uvu';
import fc from 'fast-check';
import {
  Tensor, tensor, gradient, sum, prod, max, min, mean, logsumexp, argmax, argmin, mul, sin, add,
} from '../../src/index.js';
import { type Arg, EPS, assertClose, assertExact, checkFloat32Gradients, checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import {
  ALL_LAYOUTS, type Layout, REAL, arbDistinct, arbIn, arbSeed, arbSmallShape, arbTensorFrom, arbValuesIn,
} from '../_helpers/ad-arbitraries.js';

const RUNS = 60;

function both(f: (...a: any[]) => unknown, args: Arg[], seed: number, label: string): void {
  checkGradient(f, args, { seed, label });
  checkSecondOrder(f, args, { seed, label });
}

type Reduce = (x: Tensor, axes?: number | number[], o?: { keepDims?: boolean }) => Tensor;

/** Axes for a shape: all (undefined), one (maybe negative), or a subset (some negative). */
function arbAxes(rank: number): fc.Arbitrary<number | number[] | undefined> {
  const ids = Array.from({ length: rank }, (_, i) => i);
  const neg = (a: number, flip: boolean) => (flip ? a - rank : a);
  const options: fc.Arbitrary<number | number[] | undefined>[] = [fc.constant(undefined)];
  if (rank > 0) {
    options.push(fc.tuple(fc.constantFrom(...ids), fc.boolean()).map(([a, f]) => neg(a, f)));
    options.push(fc.tuple(fc.subarray(ids, { minLength: 1 }), fc.boolean()).map(([as, f]) => as.map((a) => neg(a, f))));
  }
  return fc.oneof(...options);
}

interface Case { x: Tensor; axes: number | number[] | undefined; keepDims: boolean }

function arbCase(values: (n: number) => fc.Arbitrary<number[]>, empty = false, layouts: readonly Layout[] = ALL_LAYOUTS): fc.Arbitrary<Case> {
  return arbSmallShape({ empty }).chain((s) => fc.record({ x: arbTensorFrom(s, values, layouts), axes: arbAxes(s.length), keepDims: fc.boolean() }));
}

/** Layouts that do not repeat values (a broadcast view repeats one zero many times). */
const UNIQUE: readonly Layout[] = ['contiguous', 'transposed', 'strided', 'offset'];

const real = (n: number) => fc.array(arbIn(REAL), { minLength: n, maxLength: n });

/**
 * First order on the reduction itself; second order on sin of it and on its square (sum,
 * mean, max, min alone are linear or piecewise linear, so their own Hessian is 0 and would
 * test little). prod is multilinear: its own Hessian is the interesting one (and sin∘prod
 * would be steep where the product is large), so it is checked bare and squared.
 */
function checkReduction(name: string, op: Reduce, c: Case, seed: number): void {
  const label = `${name}(axes ${JSON.stringify(c.axes)}, keepDims ${c.keepDims})`;
  const f = (x: Tensor) => op(x, c.axes, { keepDims: c.keepDims });
  checkGradient(f, [c.x], { seed, label });
  if (op === prod) checkSecondOrder(f, [c.x], { seed, label });
  else checkSecondOrder((x: Tensor) => sin(f(x)), [c.x], { seed, label: `sin∘${label}` });
  checkSecondOrder((x: Tensor) => mul(f(x), f(x)), [c.x], { seed, label: `(${label})²` });
}

test('sum: random shapes (0-d, empty), layouts, axes, keepDims', () => {
  fc.assert(fc.property(arbCase(real, true), arbSeed, (c, seed) => checkReduction('sum', sum, c, seed)), { numRuns: RUNS });
});

test('mean: random shapes, layouts, axes, keepDims', () => {
  fc.assert(fc.property(arbCase(real), arbSeed, (c, seed) => checkReduction('mean', mean, c, seed)), { numRuns: RUNS });
});

test('logsumexp: random shapes, layouts, axes, keepDims (ties in the max shift are harmless)', () => {
  const mixed = (n: number) => fc.array(fc.oneof(arbIn({ min: -4, max: 4 }), fc.constantFrom(-1, 0, 2)), { minLength: n, maxLength: n });
  fc.assert(fc.property(arbCase(mixed), arbSeed, (c, seed) => checkReduction('logsumexp', logsumexp, c, seed)), { numRuns: RUNS });
});

/**
 * Values with up to `k` exact zeros (prod is a polynomial, smooth through them; the rule's
 * zero path is what is tested). At most 2 for the second-order checks: with 3 zeros in one
 * slice, ⟨r, ∇(Πx)²⟩ is a homogeneous quintic in the perturbation, whose difference is all
 * h⁵ truncation — the gradcheck guard rightly refuses to judge there.
 */
const withZeros = (k: number) => (n: number) =>
  fc.tuple(arbValuesIn(n, { min: -2, max: 2, kinks: [0], margin: 0.1 }), fc.array(fc.nat(Math.max(0, n - 1)), { maxLength: k }))
    .map(([vs, zs]) => vs.map((v, i) => (zs.includes(i) ? 0 : v)));

test('prod: random shapes, layouts, axes, keepDims, without zeros', () => {
  fc.assert(fc.property(arbCase(real, true), arbSeed, (c, seed) => checkReduction('prod', prod, c, seed)), { numRuns: RUNS });
});

test('prod: slices with one or two zeros (first and second order), three (first order)', () => {
  fc.assert(fc.property(arbCase(withZeros(2), false, UNIQUE), arbSeed, (c, seed) => checkReduction('prod', prod, c, seed)), { numRuns: RUNS });
  fc.assert(fc.property(arbCase(withZeros(3), false, UNIQUE), arbSeed, (c, seed) => {
    checkGradient((x: Tensor) => prod(x, c.axes, { keepDims: c.keepDims }), [c.x], { seed, label: 'prod with up to 3 zeros' });
  }), { numRuns: RUNS });
});

test('prod of a vector with zeros: exact gradient and Hessian entries, to third order', () => {
  // ∂/∂xᵢ Πx = Π_{j≠i} xⱼ, ∂²/∂xᵢ∂xₖ = Π_{j≠i,k} xⱼ, ∂³/∂xᵢ∂xₖ∂xₗ = Π_{j≠i,k,l} xⱼ
  const x = tensor([2, 0, 3, 0]);
  assertExact(gradient((t: Tensor) => prod(t), x)[0], [0, 0, 0, 0], '∇Π at two zeros');
  const hcol = (k: number) => gradient((t: Tensor) => (gradient((u: Tensor) => prod(u), t)[0] as Tensor).get(k) as unknown as Tensor, x)[0];
  assertExact(hcol(1), [0, 0, 0, 6], 'Hessian column 1 at [2, 0, 3, 0]');
  assertExact(hcol(3), [0, 6, 0, 0], 'Hessian column 3 at [2, 0, 3, 0]');
  assertExact(hcol(0), [0, 0, 0, 0], 'Hessian column 0 at [2, 0, 3, 0]');
  const y = tensor([0, 0, 0, 5]);
  const third = gradient((t: Tensor) => {
    const h1 = gradient((u: Tensor) => (gradient((v: Tensor) => prod(v), u)[0] as Tensor).get(0) as unknown as Tensor, t)[0] as Tensor;
    return h1.get(1) as unknown as Tensor;
  }, y)[0];
  assertExact(third, [0, 0, 5, 0], '∂³Π/∂x₀∂x₁∂xₖ at [0, 0, 0, 5]');
  assertExact(gradient((t: Tensor) => prod(t), tensor([2, 0, 3]))[0], [0, 6, 0], '∇Π at one zero');
});

/** Distinct values (gaps ≥ 0.5 over the whole tensor, so within every slice): no tie within ±8h. */
const distinct = (n: number) => arbDistinct(n);

for (const [name, op] of [['max', max], ['min', min]] as const) {
  test(`${name}: distinct values, random shapes, layouts (not broadcast: that repeats values), axes, keepDims`, () => {
    const arb = arbSmallShape().chain((s) => fc.record({
      x: arbTensorFrom(s, distinct, UNIQUE),
      axes: arbAxes(s.length),
      keepDims: fc.boolean(),
    }));
    fc.assert(fc.property(arb, arbSeed, (c, seed) => checkReduction(name, op, c, seed)), { numRuns: RUNS });
  });
}

test('max/min ties share the gradient equally (exact), along axes and over all', () => {
  assertExact(gradient((t: Tensor) => max(t), tensor([1, 3, 3]))[0], [0, 0.5, 0.5], 'max over [1, 3, 3]');
  assertExact(gradient((t: Tensor) => min(t), tensor([1, 3, 1]))[0], [0.5, 0, 0.5], 'min over [1, 3, 1]');
  assertExact(gradient((t: Tensor) => max(t), tensor([2, 2, 2, 2]))[0], [0.25, 0.25, 0.25, 0.25], 'max of four equal values');
  const x = tensor([[1, 4, 4], [5, 0, 5], [7, 7, 7]]);
  assertExact(gradient((t: Tensor) => sum(max(t, 1)), x)[0], [0, 0.5, 0.5, 0.5, 0, 0.5, 1 / 3, 1 / 3, 1 / 3], 'max along axis 1');
  assertExact(gradient((t: Tensor) => sum(min(t, 0)), x)[0], [1, 0, 1, 0, 1, 0, 0, 0, 0], 'min along axis 0');
  // a weighted cotangent: ties split each row's cotangent
  assertExact(gradient((t: Tensor) => sum(mul(max(t, 1, { keepDims: true }), tensor([[1], [2], [3]]))), x)[0],
    [0, 0.5, 0.5, 1, 0, 1, 1, 1, 1], 'max along axis 1, cotangent [1, 2, 3]');
  // second order at a tie: max is piecewise linear, its Hessian is 0
  assertExact(gradient((t: Tensor) => sum(gradient((u: Tensor) => max(u), t)[0] as Tensor), tensor([1, 3, 3]))[0], [0, 0, 0], 'Hessian of max at a tie');
});

test('argmax/argmin carry no gradient; logsumexp with a −∞ entry has gradient 0 there', () => {
  const x = tensor([1, 5, 2]);
  assertExact(gradient((t: Tensor) => sum(argmax(t)), x)[0], [0, 0, 0], 'argmax');
  assertExact(gradient((t: Tensor) => sum(argmin(t)), x)[0], [0, 0, 0], 'argmin');
  assertExact(gradient((t: Tensor) => sum(mul(t, argmax(t))), x)[0], [1, 1, 1], 'x · argmax(x): only the factor x');
  const tol = (e: number) => 4 * EPS * Math.max(1, Math.abs(e));
  assertClose(gradient((t: Tensor) => logsumexp(t), tensor([0, -Infinity]))[0], [1, 0], tol, 'logsumexp at [0, −∞]');
  assertClose(gradient((t: Tensor) => logsumexp(t), tensor([Math.log(3), 0]))[0], [0.75, 0.25], tol, 'logsumexp at [log 3, 0]');
});

test('float32: every reduction rule (prod with and without zeros) gives float32 gradients at first and second order', () => {
  const ops: [string, Reduce][] = [['sum', sum], ['mean', mean], ['prod', prod], ['max', max], ['min', min], ['logsumexp', logsumexp]];
  fc.assert(fc.property(fc.constantFrom(...ops), arbCase(withZeros(2), false, UNIQUE), arbSeed, ([name, op], c, seed) => {
    checkFloat32Gradients((x: Tensor) => op(x, c.axes, { keepDims: c.keepDims }), [c.x], { seed, label: name });
  }), { numRuns: RUNS });
});

test('sums of reductions over the same tensor accumulate (sum + mean + max on one input)', () => {
  const arb = arbSmallShape({ minRank: 1 }).chain((s) => arbTensorFrom(s, distinct, ['contiguous', 'strided']));
  fc.assert(fc.property(arb, arbSeed, (x, seed) => {
    both((t: Tensor) => add(add(sum(mul(t, t)), mean(sin(t))), max(t)), [x], seed, 'sum + mean + max');
  }), { numRuns: RUNS });
});

test.run();
