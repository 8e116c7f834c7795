/**
 * Derivative rules of the shape primitives (src/rules/movement.ts) and their composites,
 * against finite differences at first and second order, on inputs in random layouts.
 * A shape operation L is linear, so its own Hessian is 0; the second-order checks use
 * L(x) ⊙ L(x), whose Hessian 2·Lᵀ·diag(u)·L goes through the rule of each rule.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, gradient, mul, sum, reshape, flatten, squeeze, unsqueeze, permute, transpose, broadcastTo,
  slice, index, concat, stack, pad, gather, scatterAdd, type SliceRange,
} from '../../src/index.js';
import { type Arg, assertExact, checkFloat32Gradients, checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import { REAL, arbBroadcast, arbSeed, arbSmallShape, arbTensorIn } from '../_helpers/ad-arbitraries.js';

const RUNS = 60;

/** First order on f, second order on f(x)² (elementwise). `f` may take several tensors. */
function linearOp(f: (...xs: Tensor[]) => Tensor, args: Arg[], seed: number, label: string): void {
  checkGradient(f, args, { seed, label });
  checkSecondOrder((...xs: Tensor[]) => { const y = f(...xs); return mul(y, y); }, args, { seed, label: `(${label})²` });
}

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

test('reshape (including -1 and 0-d), flatten, squeeze, unsqueeze', () => {
  const arb = arbSmallShape({ empty: true }).chain((s) => {
    const n = sizeOf(s);
    const targets: number[][] = [[n], s.slice().reverse(), [1, ...s, 1]];
    if (n > 0) targets.push([-1], [...s.slice(0, 1), -1]);
    if (s.length >= 2) targets.push([s[0] * s[1], ...s.slice(2)]);
    if (n === 1) targets.push([]);
    return fc.tuple(arbTensorIn(s, REAL), fc.constantFrom(...targets));
  });
  fc.assert(fc.property(arb, arbSeed, ([x, target], seed) => {
    linearOp((t) => reshape(t, target), [x], seed, `reshape [${x.shape}] → [${target}]`);
    linearOp((t) => flatten(t), [x], seed, `flatten [${x.shape}]`);
    linearOp((t) => squeeze(unsqueeze(t, 0)), [x], seed, `squeeze∘unsqueeze [${x.shape}]`);
    linearOp((t) => unsqueeze(t, -1), [x], seed, `unsqueeze(-1) [${x.shape}]`);
  }), { numRuns: RUNS });
});

test('permute (random permutations, negative axes), transpose', () => {
  const arb = arbSmallShape({ minRank: 1 }).chain((s) => fc.tuple(
    arbTensorIn(s, REAL),
    fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }),
    fc.boolean(),
  ));
  fc.assert(fc.property(arb, arbSeed, ([x, perm, negative], seed) => {
    const p = negative ? perm.map((a) => a - perm.length) : perm;
    linearOp((t) => permute(t, p), [x], seed, `permute [${x.shape}] by [${p}]`);
    linearOp((t) => transpose(t), [x], seed, `transpose [${x.shape}]`);
  }), { numRuns: RUNS });
});

test('broadcastTo: added and stretched dimensions are summed back', () => {
  const arb = arbBroadcast(2).chain(({ shapes: [s], out }) => fc.tuple(arbTensorIn(s, REAL), fc.constant(out)));
  fc.assert(fc.property(arb, arbSeed, ([x, out], seed) => linearOp((t) => broadcastTo(t, out), [x], seed, `broadcastTo [${x.shape}] → [${out}]`)), { numRuns: RUNS });
});

/** One slice range for a dimension of length n: Python-style start/stop (negative, out of range, null), step ±1..±3. */
const arbRange = (n: number): fc.Arbitrary<SliceRange> => fc.oneof(
  fc.constant(null),
  fc.tuple(
    fc.option(fc.integer({ min: -n - 1, max: n + 1 })),
    fc.option(fc.integer({ min: -n - 1, max: n + 1 })),
    fc.constantFrom(-3, -2, -1, 1, 2, 3),
  ).map(([a, b, st]): SliceRange => [a, b, st]),
);

test('slice: negative and >1 steps, negative and out-of-range bounds, empty results, fewer ranges than dims', () => {
  const arb = arbSmallShape({ minRank: 1, maxDim: 5 }).chain((s) => fc.tuple(
    arbTensorIn(s, REAL),
    fc.tuple(...s.map(arbRange)).chain((rs) => fc.integer({ min: 0, max: rs.length }).map((k) => rs.slice(0, Math.max(1, k)))),
  ));
  fc.assert(fc.property(arb, arbSeed, ([x, ranges], seed) => {
    linearOp((t) => slice(t, ranges), [x], seed, `slice [${x.shape}] by ${JSON.stringify(ranges)}`);
  }), { numRuns: 2 * RUNS });
});

test('index (negative indices)', () => {
  const arb = arbSmallShape({ minRank: 1 }).chain((s) => fc.tuple(
    arbTensorIn(s, REAL),
    fc.tuple(...s.map((n) => fc.integer({ min: -n, max: n - 1 }))).chain((idx) => fc.integer({ min: 1, max: idx.length }).map((k) => idx.slice(0, k))),
  ));
  fc.assert(fc.property(arb, arbSeed, ([x, idx], seed) => linearOp((t) => index(t, ...idx), [x], seed, `index [${x.shape}] at ${idx}`)), { numRuns: RUNS });
});

test('concat (2–3 tensors, negative axes, zero-length pieces) and stack', () => {
  const arb = arbSmallShape({ minRank: 1 }).chain((s) => fc.tuple(
    fc.integer({ min: 0, max: s.length - 1 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 3 }),
    fc.boolean(),
  ).chain(([axis, lens, negative]) => fc.tuple(
    fc.tuple(...lens.map((n) => arbTensorIn(s.map((d, i) => (i === axis ? n : d)), REAL))),
    fc.constant(negative ? axis - s.length : axis),
  )));
  fc.assert(fc.property(arb, arbSeed, ([xs, axis], seed) => {
    linearOp((...ts) => concat(ts, axis), xs, seed, `concat [${xs.map((x) => `[${x.shape}]`)}] along ${axis}`);
  }), { numRuns: RUNS });
  const arbStack = arbSmallShape().chain((s) => fc.tuple(
    fc.array(arbTensorIn(s, REAL), { minLength: 1, maxLength: 3 }),
    fc.integer({ min: -s.length - 1, max: s.length }),
  ));
  fc.assert(fc.property(arbStack, arbSeed, ([xs, axis], seed) => {
    linearOp((...ts) => stack(ts, axis), xs, seed, `stack ${xs.length} × [${xs[0].shape}] along ${axis}`);
  }), { numRuns: RUNS });
});

test('pad: random widths per dimension, a constant value (which gets no gradient)', () => {
  const arb = arbSmallShape({ minRank: 1, empty: true }).chain((s) => fc.tuple(
    arbTensorIn(s, REAL),
    fc.tuple(...s.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })))),
    fc.double({ min: -2, max: 2, noNaN: true }),
  ));
  fc.assert(fc.property(arb, arbSeed, ([x, pads, value], seed) => {
    linearOp((t) => pad(t, pads, value), [x], seed, `pad [${x.shape}] by ${JSON.stringify(pads)} with ${value}`);
  }), { numRuns: RUNS });
});

/** A shape, an axis of it, and indices (rank 0–2) into that axis with repeats forced in. */
const arbGather = arbSmallShape({ minRank: 1 }).chain((s) => fc.integer({ min: 0, max: s.length - 1 }).chain((axis) => fc.tuple(
  fc.constant(s),
  fc.constant(axis),
  arbSmallShape({ maxRank: 2 }).chain((is) => fc.array(fc.integer({ min: 0, max: s[axis] - 1 }), { minLength: sizeOf(is), maxLength: sizeOf(is) })
    .map((v) => {
      if (v.length >= 2) v[v.length - 1] = v[0]; // at least one repeat
      return tensor(Float64Array.from(v), { shape: is });
    })),
)));

test('gather with repeated indices (gradients add up), scatterAdd (its adjoint)', () => {
  fc.assert(fc.property(arbGather.chain(([s, axis, idx]) => fc.tuple(arbTensorIn(s, REAL), fc.constant(axis), fc.constant(idx))), arbSeed, ([x, axis, idx], seed) => {
    linearOp((t) => gather(t, idx, axis), [x], seed, `gather [${x.shape}] along ${axis} at [${Array.from(idx.data)}] (shape [${idx.shape}])`);
  }), { numRuns: RUNS });
  const arbScatter = arbGather.chain(([s, axis, idx]) => fc.tuple(
    arbTensorIn([...s.slice(0, axis), ...idx.shape, ...s.slice(axis + 1)], REAL),
    fc.constant(axis), fc.constant(idx), fc.constant(s[axis]),
  ));
  fc.assert(fc.property(arbScatter, arbSeed, ([src, axis, idx, size], seed) => {
    linearOp((t) => scatterAdd(t, idx, axis, size), [src], seed, `scatterAdd [${src.shape}] along ${axis} into ${size} at [${Array.from(idx.data)}]`);
  }), { numRuns: RUNS });
});

test('float32: shape rules give float32 gradients at first and second order', () => {
  const arb = arbSmallShape({ minRank: 1, maxDim: 4 }).chain((s) => fc.tuple(arbTensorIn(s, REAL), fc.tuple(...s.map(arbRange))));
  fc.assert(fc.property(arb, arbSeed, ([x, ranges], seed) => {
    const sq = (f: (t: Tensor) => Tensor) => (t: Tensor) => { const y = f(t); return mul(y, y); };
    checkFloat32Gradients(sq((t) => slice(t, ranges)), [x], { seed, label: 'slice' });
    checkFloat32Gradients(sq((t) => pad(t, x.shape.map(() => [1, 2] as [number, number]), 3)), [x], { seed, label: 'pad' });
    checkFloat32Gradients(sq((t) => concat([t, t], -1)), [x], { seed, label: 'concat' });
    checkFloat32Gradients(sq((t) => gather(t, tensor([0, 0]), 0)), [x], { seed, label: 'gather' });
    checkFloat32Gradients(sq((t) => permute(reshape(t, [-1, 1]), [1, 0])), [x], { seed, label: 'reshape/permute' });
    checkFloat32Gradients(sq((t) => broadcastTo(t, [2, ...t.shape])), [x], { seed, label: 'broadcastTo' });
  }), { numRuns: RUNS });
});

test('exact values: gather with repeats accumulates, reversed/strided slice puts gradients back in place, pad value gets none', () => {
  const x = tensor([10, 20, 30, 40]);
  assertExact(gradient((t: Tensor) => sum(gather(t, tensor([3, 1, 3, 3]))), x)[0], [0, 1, 0, 3], 'gather [3, 1, 3, 3]');
  const w = tensor([1, 2, 3, 4, 5, 6, 7]);
  assertExact(gradient((t: Tensor) => sum(mul(slice(t, [[-1, 0, -3]]), tensor([1, 2]))), w)[0], [0, 0, 0, 2, 0, 0, 1], 'slice [-1:0:-3] weighted [1, 2]');
  assertExact(gradient((t: Tensor) => sum(mul(slice(t, [[1, null, 2]]), tensor([1, 2, 3]))), w)[0], [0, 1, 0, 2, 0, 3, 0], 'slice [1::2] weighted [1, 2, 3]');
  assertExact(gradient((t: Tensor) => sum(slice(t, [[5, 2]])), w)[0], [0, 0, 0, 0, 0, 0, 0], 'empty slice');
  const [g] = gradient((t: Tensor) => sum(pad(t, [[1, 2]], 9)), tensor([1, 2]));
  assertExact(g, [1, 1], 'pad');
  assert.equal([...(g as Tensor).shape], [2], 'pad gradient shape');
});

test.run();
