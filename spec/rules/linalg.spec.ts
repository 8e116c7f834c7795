/**
 * Derivative rule of matmul (src/rules/linalg.ts) and the composites dot and outer, against
 * finite differences at first and second order: batched products whose batch dimensions
 * broadcast, vector operands on either side, operands in random layouts (transposed and
 * strided views included). Then Hessians of tensor functions: symmetric, and equal to the
 * closed form where there is one.
 */
import { test } from 'uvu';
import fc from 'fast-check';
import {
  Tensor, tensor, hessian, gradient, matmul, dot, outer, sum, mul, sin, tanh, add, logsumexp, transpose,
} from '../../src/index.js';
import { type Arg, EPS, assertClose, checkFloat32Gradients, checkGradient, checkSecondOrder, flat } from '../_helpers/gradcheck.js';
import { REAL, arbBroadcast, arbSeed, arbSmallShape, arbTensorIn } from '../_helpers/ad-arbitraries.js';

const RUNS = 60;

function both(f: (...a: any[]) => unknown, args: Arg[], seed: number, label: string): void {
  checkGradient(f, args, { seed, label });
  checkSecondOrder(f, args, { seed, label });
}

const dim = fc.integer({ min: 1, max: 3 });

/** Operand shapes of a matmul: batch dims that broadcast (rank ≤ 2), and a 1-d operand on either side now and then. */
const arbMatmulShapes = fc
  .record({ m: dim, k: dim, n: dim, vecA: fc.boolean(), vecB: fc.boolean(), batch: arbBroadcast(2, 2) })
  .map(({ m, k, n, vecA, vecB, batch: { shapes: [sa, sb] } }) => ({
    a: vecA ? [k] : [...sa, m, k],
    b: vecB ? [k] : [...sb, k, n],
  }));

test('matmul: batched, broadcast batch dims, vector operands, random layouts; first and second order (joint Hessian is the cross term)', () => {
  const arb = arbMatmulShapes.chain(({ a, b }) => fc.tuple(arbTensorIn(a, REAL), arbTensorIn(b, REAL)));
  fc.assert(fc.property(arb, arbSeed, ([a, b], seed) => {
    const label = `matmul [${a.shape}] × [${b.shape}]`;
    both(matmul, [a, b], seed, label);
    // a nonlinear use, so the second derivative also goes through the rule of the rule in each argument alone
    checkSecondOrder((x: Tensor) => matmul(x, sin(x.ndim >= 2 ? transpose(x) : x)), [a], { seed, label: `x·sin(xᵀ), x [${a.shape}]` });
  }), { numRuns: RUNS });
});

test('dot: same shapes of any rank (0-d included), random layouts; first and second order', () => {
  const arb = arbSmallShape().chain((s) => fc.tuple(arbTensorIn(s, REAL), arbTensorIn(s, REAL)));
  fc.assert(fc.property(arb, arbSeed, ([a, b], seed) => {
    both(dot, [a, b], seed, `dot [${a.shape}]`);
    both((x: Tensor) => dot(x, sin(x)), [a], seed, `dot(x, sin x) [${a.shape}]`);
  }), { numRuns: RUNS });
});

test('outer: vectors in random layouts; first and second order', () => {
  const arb = fc.tuple(dim, dim).chain(([m, n]) => fc.tuple(arbTensorIn([m], REAL), arbTensorIn([n], REAL)));
  fc.assert(fc.property(arb, arbSeed, ([a, b], seed) => {
    both(outer, [a, b], seed, `outer [${a.shape}] [${b.shape}]`);
    both((x: Tensor) => outer(x, tanh(x)), [a], seed, `outer(x, tanh x) [${a.shape}]`);
  }), { numRuns: RUNS });
});

test('float32: matmul, dot, outer give float32 gradients at first and second order', () => {
  const arb = arbMatmulShapes.chain(({ a, b }) => fc.tuple(arbTensorIn(a, REAL), arbTensorIn(b, REAL)));
  fc.assert(fc.property(arb, arbSeed, ([a, b], seed) => {
    checkFloat32Gradients(matmul, [a, b], { seed, label: 'matmul' });
    checkFloat32Gradients((x: Tensor) => dot(x, sin(x)), [a], { seed, label: 'dot' });
    checkFloat32Gradients((x: Tensor) => outer(x.reshape([-1]), tanh(x.reshape([-1]))), [a], { seed, label: 'outer' });
  }), { numRuns: RUNS });
});

// ---------------------------------------------------------------- Hessians of tensor functions

/** Values of a square matrix from a tensor. */
function matrix(h: unknown, n: number): number[][] {
  const v = flat(h);
  return Array.from({ length: n }, (_, i) => Array.from(v.subarray(i * n, (i + 1) * n)));
}

/**
 * Symmetry tolerance: Hᵢⱼ and Hⱼᵢ come from different reverse sweeps, each a sum of O(n)
 * products of O(1) inputs; 2⁸·n·eps relative to the largest entry (or 1) covers their
 * rounding with room.
 */
function assertSymmetric(h: number[][], what: string): void {
  const n = h.length;
  const scale = Math.max(1, ...h.flat().map(Math.abs));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      assertClose(h[i][j], h[j][i], () => 256 * n * EPS * scale, `${what}: H[${i}][${j}] vs H[${j}][${i}]`);
    }
  }
}

test('hessian of xᵀAx + Σ sin x is A + Aᵀ − diag(sin x), symmetric', () => {
  const arb = dim.chain((n) => fc.tuple(arbTensorIn([n], REAL), arbTensorIn([n, n], REAL, ['contiguous', 'transposed'])));
  fc.assert(fc.property(arb, ([x, A]) => {
    const n = x.shape[0];
    const f = (v: Tensor) => add(dot(v, matmul(A, v)), sum(sin(v)));
    const H = matrix(hessian(f, x), n);
    const a = matrix(A, n), xs = flat(x);
    const expected = a.map((row, i) => row.map((e, j) => e + a[j][i] - (i === j ? Math.sin(xs[i]) : 0))).flat();
    // each entry is a sum of ~2n products of values ≤ max|A|, plus sin: 64·n·eps of that scale
    const scale = 1 + 2 * Math.max(...a.flat().map(Math.abs));
    assertClose(H.flat(), expected, () => 64 * n * EPS * scale, 'hessian vs closed form');
    assertSymmetric(H, 'xᵀAx + Σ sin x');
  }), { numRuns: RUNS });
});

test('hessians of nonlinear tensor functions are symmetric (logsumexp of a tanh layer, products of reductions)', () => {
  const arb = fc.integer({ min: 2, max: 5 }).chain((n) => fc.tuple(arbTensorIn([n], REAL), arbTensorIn([3, n], REAL, ['contiguous', 'transposed'])));
  fc.assert(fc.property(arb, ([x, W]) => {
    const n = x.shape[0];
    assertSymmetric(matrix(hessian((v: Tensor) => logsumexp(matmul(W, tanh(v))), x), n), 'logsumexp(W tanh x)');
    assertSymmetric(matrix(hessian((v: Tensor) => mul(sum(sin(v)), dot(v, v)), x), n), 'Σ sin x · xᵀx');
    // and the matrix-shaped argument: the Hessian in W of the same function, flattened
    const m = W.size;
    const hw = hessian((w: Tensor) => logsumexp(matmul(w, tanh(x))), W);
    assertSymmetric(matrix(hw, m), 'Hessian in W');
  }), { numRuns: 15 });
});

test('gradient of matmul matches the textbook formulas exactly on small integers', () => {
  // d/dA Σ(A·B) = 1·Bᵀ, d/dB = Aᵀ·1 (integers: every rounding is exact)
  const A = tensor([[1, 2, 3], [4, 5, 6]]), B = tensor([[1, -1], [2, 0], [0, 3]]);
  const [gA, gB] = gradient((a: Tensor, b: Tensor) => sum(matmul(a, b)), A, B);
  assertClose(gA, [0, 2, 3, 0, 2, 3], () => 0, 'dA');
  assertClose(gB, [5, 5, 7, 7, 9, 9], () => 0, 'dB');
});

test.run();
