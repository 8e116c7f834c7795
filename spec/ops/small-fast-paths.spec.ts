/**
 * The small-tensor fast paths of the CPU elementwise kernels (src/backend/cpu/elementwise.ts)
 * and the slab allocator behind `allocate` (src/tensor/dtype.ts), checked against independent
 * references: the bias-row path (one operand repeated whole along leading dimensions) in both
 * operand orders, every layout the arbitraries make (so dense and strided operands both take
 * their own route), both dtypes and mixed dtypes, rows short (JS loop) and ≥ 256 (SIMD kernel).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as F from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { allocate } from '../../src/tensor/dtype.js';
import { arbTensorCase } from '../_helpers/arbitraries.js';
import { assertTensor, refBroadcast, roundTo } from '../_helpers/reference.js';

type DT = 'float32' | 'float64';

const BINARY: [string, (a: number, b: number) => number][] = [
  ['add', (a, b) => a + b], ['sub', (a, b) => a - b], ['mul', (a, b) => a * b], ['div', (a, b) => a / b],
  ['maximum', (a, b) => (a !== a || b !== b ? NaN : Math.max(a, b))], ['gt', (a, b) => (a > b ? 1 : 0)],
];

/** A shape and a "bias" shape: its last k dimensions, possibly with leading 1s (never more dims than the shape). */
const arbBiasShapes = (maxDim: number): fc.Arbitrary<{ big: number[]; small: number[] }> =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 1, maxLength: 3 }).chain((big) =>
    fc.record({ k: fc.integer({ min: 0, max: big.length }), ones: fc.integer({ min: 0, max: 2 }) }).map(({ k, ones }) => {
      const tail = big.slice(big.length - k);
      const lead = Math.min(ones, big.length - k);
      return { big, small: [...new Array<number>(lead).fill(1), ...tail] };
    }));

function checkPair(name: string, ref: (a: number, b: number) => number, a: { t: Tensor; shape: number[]; values: number[]; dtype: DT; layout: string }, b: typeof a): void {
  const r = (F as unknown as Record<string, (x: Tensor, y: Tensor) => Tensor>)[name](a.t, b.t);
  const dtype: DT = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
  const e = refBroadcast([a, b], ref);
  assertTensor(r, { shape: e.shape, dtype, values: e.values.map((v) => roundTo(dtype, v)) }, 0,
    `${name}: ${a.layout} [${a.shape}] ${a.dtype}, ${b.layout} [${b.shape}] ${b.dtype}`);
}

test('a bias row repeated along leading dimensions (either operand) matches the broadcasting reference', () => {
  for (const [name, ref] of BINARY) {
    fc.assert(fc.property(
      arbBiasShapes(5).chain(({ big, small }) => fc.tuple(arbTensorCase(big), arbTensorCase(small), fc.boolean())),
      ([big, small, swap]) => (swap ? checkPair(name, ref, small, big) : checkPair(name, ref, big, small)),
    ), { numRuns: 80 });
  }
});

test('bias rows of 256 elements and more (the SIMD kernel per row) match the reference', () => {
  fc.assert(fc.property(
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 250, max: 300 }), fc.boolean())
      .chain(([rows, m, swap]) => fc.tuple(arbTensorCase([rows, m], { layouts: ['contiguous', 'offset'] }), arbTensorCase([m], { layouts: ['contiguous', 'offset'] }), fc.constant(swap))),
    ([big, small, swap]) => {
      for (const [name, ref] of BINARY) (swap ? checkPair(name, ref, small, big) : checkPair(name, ref, big, small));
    },
  ), { numRuns: 25 });
});

test('scalars and 0-d tensors against small tensors of every layout match the reference', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 })
      .chain((s) => fc.tuple(arbTensorCase(s), arbTensorCase([]), arbTensorCase([1]), fc.boolean())),
    ([x, s0, s1, swap]) => {
      for (const [name, ref] of BINARY) {
        for (const s of [s0, s1]) (swap ? checkPair(name, ref, s, x) : checkPair(name, ref, x, s));
      }
    },
  ), { numRuns: 60 });
});

test('unary maps of every layout match Math (dense operands and strided views alike)', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 3 }).chain((s) => arbTensorCase(s)),
    (x) => {
      for (const [name, ref] of [['tanh', Math.tanh], ['exp', Math.exp], ['neg', (v: number) => -v]] as const) {
        const r = (F as unknown as Record<string, (t: Tensor) => Tensor>)[name](x.t);
        assertTensor(r, { shape: x.shape, dtype: x.dtype, values: x.values.map((v) => roundTo(x.dtype, ref(v))) }, 0, `${name}: ${x.layout} [${x.shape}] ${x.dtype}`);
      }
    },
  ), { numRuns: 100 });
});

test('allocate: zero-filled, aligned for its dtype, and never aliasing another array (slab-carved sizes included)', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.constantFrom<DT>('float32', 'float64'), fc.integer({ min: 0, max: 400 })), { minLength: 1, maxLength: 120 }),
    (reqs) => {
      const arrays = reqs.map(([dt, n]) => allocate(dt, n));
      arrays.forEach((a, i) => {
        const [dt, n] = reqs[i]!;
        assert.is(a.length, n, 'length');
        assert.ok(dt === 'float32' ? a instanceof Float32Array : a instanceof Float64Array, 'type');
        assert.is(a.byteOffset % 16, 0, 'aligned to 16 bytes');
        for (let j = 0; j < n; j++) assert.is(a[j], 0, 'zero-filled');
      });
      // write a distinct pattern into each, then check none was overwritten by another
      arrays.forEach((a, i) => a.fill(i + 1));
      arrays.forEach((a, i) => { for (let j = 0; j < a.length; j++) assert.is(a[j], i + 1, `array ${i} kept its values`); });
    },
  ), { numRuns: 60 });
});

test('small op results keep their values while many more small tensors are made', () => {
  const x = F.tensor(Array.from({ length: 40 }, (_, i) => i / 7), { dtype: 'float32' });
  const kept = Array.from({ length: 50 }, (_, k) => F.add(x, k));
  for (let i = 0; i < 2000; i++) F.mul(x, i); // churns through many slabs
  kept.forEach((t, k) => assertTensor(t, { shape: [40], dtype: 'float32', values: Array.from({ length: 40 }, (_, i) => Math.fround(Math.fround(i / 7) + k)) }, 0, `kept ${k}`));
});

test.run();
