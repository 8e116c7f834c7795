/**
 * The block fast paths of the CPU kernels against plain float64 loops written here:
 * - binary ops where one operand is constant along leading and trailing blocks of the other
 *   (a bias row `[B, F] + [F]`, a per-channel bias `[N, C, H, W] + [C, 1, 1]`), either
 *   operand the small one;
 * - reductions over the axes before and after one kept run (a bias gradient, axes 0, 2, 3
 *   of NCHW; a dense bias gradient, axis 0).
 * Random shapes and broadcast layouts, float32/float64 (mixed for binary ops), dense operands
 * at an offset into shared storage and non-contiguous (transposed) views, which take the
 * general path and must agree too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import ndarray from 'ndarray';
// the library entry first: it fixes the evaluation order of the tensor ↔ ops import cycle
import '../../../src/index.js';
import { binary, blockTuning } from '../../../src/backend/cpu/elementwise.js';
import { reduce } from '../../../src/backend/cpu/reduce.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import type { BinaryOp, CompareOp, ReduceOp } from '../../../src/ops/primitive.js';

type DT = 'float32' | 'float64';

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const rowMajor = (s: readonly number[]): number[] => {
  const st = new Array<number>(s.length);
  for (let d = s.length - 1, acc = 1; d >= 0; d--) { st[d] = acc; acc *= s[d]!; }
  return st;
};

/** Logical values (row-major order) and a tensor holding them: dense at an offset, or a transposed view. */
interface Operand { values: number[]; shape: number[]; t: Tensor; dense: boolean }

const arbOperand = (shape: number[], dt: DT, lo: number, hi: number): fc.Arbitrary<Operand> => fc.record({
  values: fc.array(fc.double({ min: lo, max: hi, noNaN: true }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) }),
  pad: fc.integer({ min: 0, max: 3 }),
  // a random permutation of the axes for the storage order (identity: dense)
  perm: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
}).map(({ values, pad, perm }) => {
  const vals = dt === 'float32' ? values.map(Math.fround) : values;
  // store the tensor permuted by `perm`, then view it back with permuted strides
  const stored = perm.map((p) => shape[p]!);
  const sst = rowMajor(stored);
  const data = dt === 'float32' ? new Float32Array(pad + vals.length) : new Float64Array(pad + vals.length);
  const stride = new Array<number>(shape.length);
  perm.forEach((p, i) => { stride[p] = sst[i]!; });
  const lst = rowMajor(shape);
  for (let i = 0; i < vals.length; i++) {
    let at = pad;
    for (let d = 0; d < shape.length; d++) at += Math.floor(i / lst[d]!) % shape[d]! * stride[d]!;
    data[at] = vals[i]!;
  }
  const dense = perm.every((p, i) => p === i || shape[p] === 1);
  return { values: vals, shape, t: new Tensor(ndarray(data, shape, stride, pad)), dense };
});

const arbShape = (maxRank: number, maxDim: number): fc.Arbitrary<number[]> =>
  fc.array(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: maxDim })), { minLength: 1, maxLength: maxRank })
    .filter((s) => sizeOf(s) <= 40_000);

/** Row-major index into `small` of the element paired with element `i` of `big` (right-aligned, 0 along small's 1s). */
function smallIndex(i: number, big: readonly number[], small: readonly number[]): number {
  const bst = rowMajor(big), sst = rowMajor(small), lead = big.length - small.length;
  let si = 0;
  for (let d = 0; d < small.length; d++) {
    if (small[d] !== 1) si += (Math.floor(i / bst[lead + d]!) % big[lead + d]!) * sst[d]!;
  }
  return si;
}

const REF: { [P in BinaryOp | CompareOp]?: (a: number, b: number) => number } = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  maximum: Math.max, minimum: Math.min, gt: (a, b) => (a > b ? 1 : 0), le: (a, b) => (a <= b ? 1 : 0),
};

/** A big shape and a small one constant along leading/trailing blocks of it (or any 1-or-equal pattern). */
const arbPair = arbShape(5, 30).chain((big) => fc.record({
  big: fc.constant(big),
  // right-aligned: drop some leading dims, then each dim 1 or equal; `blocky` forces 1s, a run, 1s
  drop: fc.integer({ min: 0, max: big.length - 1 }),
  blocky: fc.boolean(),
  mask: fc.array(fc.boolean(), { minLength: big.length, maxLength: big.length }),
  run: fc.tuple(fc.nat(), fc.nat()),
}).map(({ drop, blocky, mask, run }) => {
  const tail = big.slice(drop);
  let small: number[];
  if (blocky) {
    const [a, b] = [run[0] % (tail.length + 1), run[1] % (tail.length + 1)].sort((x, y) => x - y) as [number, number];
    small = tail.map((d, i) => (i >= a && i < b ? d : 1));
  } else small = tail.map((d, i) => (mask[i] ? d : 1));
  return { big, small };
}));

// expandedMax 0: every block goes row by row (the path of periods over 2²⁰ elements)
for (const [op, expandedMax] of [...Object.keys(REF).map((o) => [o, 1 << 20] as const), ['add', 0] as const, ['div', 0] as const] as [keyof typeof REF, number][]) {
  test(`binary ${op}: one operand broadcast along leading/trailing blocks, against a float64 loop${expandedMax === 0 ? ' (row by row)' : ''}`, () => {
    const saved = blockTuning.expandedMax;
    blockTuning.expandedMax = expandedMax;
    try {
    fc.assert(fc.property(
      arbPair.chain(({ big, small }) => fc.record({
        bigDt: fc.constantFrom<DT>('float32', 'float64'),
        smallDt: fc.constantFrom<DT>('float32', 'float64'),
        smallFirst: fc.boolean(),
      }).chain(({ bigDt, smallDt, smallFirst }) => fc.record({
        x: arbOperand(big, bigDt, -50, 50),
        y: arbOperand(small, smallDt, -20, 20),
        smallFirst: fc.constant(smallFirst),
      }))),
      ({ x, y, smallFirst }) => {
        const [a, b] = smallFirst ? [y, x] : [x, y];
        const got = binary(op, a.t, b.t);
        const f32 = got.dtype === 'float32';
        assert.is(got.dtype, a.t.dtype === 'float32' && b.t.dtype === 'float32' ? 'float32' : 'float64');
        assert.equal(got.shape, x.shape);
        const g = got.data;
        for (let i = 0; i < x.values.length; i++) {
          const si = smallIndex(i, x.shape, y.shape);
          const [av, bv] = smallFirst ? [y.values[si]!, x.values[i]!] : [x.values[i]!, y.values[si]!];
          const r = REF[op]!(av, bv);
          // f32 SIMD lanes round once, as fround of the exact double result does for + − × ÷
          const want = f32 ? Math.fround(r) : r;
          if (g[i] !== want && !(Number.isNaN(g[i]) && Number.isNaN(want))) assert.unreachable(`${op} [${a.shape}]${a.dense ? '' : ' view'} ${a.t.dtype} with [${b.shape}]${b.dense ? '' : ' view'} ${b.t.dtype} at ${i}: got ${g[i]}, want ${want}`);
        }
      },
    ), { numRuns: 150 });
    } finally {
      blockTuning.expandedMax = saved;
    }
  });
}

test('binary: the CNN bias shapes (long rows, the SIMD kernel) agree with the loop', () => {
  for (const [big, small] of [[[4, 32, 26, 26], [32, 1, 1]], [[3, 64, 11, 11], [64, 1, 1]], [[70, 300], [300]], [[2, 3, 400], [3, 1]]] as const) {
    for (const dt of ['float32', 'float64'] as const) {
      const mk = (s: readonly number[]) => {
        const d = dt === 'float32' ? new Float32Array(sizeOf(s)) : new Float64Array(sizeOf(s));
        for (let i = 0; i < d.length; i++) d[i] = Math.sin(i * 0.37 + s.length) * 10;
        return d;
      };
      const xd = mk(big), bd = mk(small);
      const got = binary('add', new Tensor(ndarray(xd, [...big])), new Tensor(ndarray(bd, [...small]))).data;
      for (let i = 0; i < xd.length; i++) {
        const k = smallIndex(i, big, small);
        const want = dt === 'float32' ? Math.fround(xd[i]! + bd[k]!) : xd[i]! + bd[k]!;
        if (got[i] !== want) assert.unreachable(`[${big}] + [${small}] ${dt} at ${i}: ${got[i]} vs ${want}`);
      }
    }
  }
});

const arbReduce = arbShape(5, 30).chain((shape) => fc.record({
  shape: fc.constant(shape),
  // a random subset, or (half the time) everything but one run of axes
  axes: fc.oneof(
    fc.subarray([...shape.keys()], { minLength: 1 }),
    fc.tuple(fc.nat(), fc.nat()).map(([p, q]) => {
      const [a, b] = [p % shape.length, q % shape.length].sort((x, y) => x - y) as [number, number];
      const axes = [...shape.keys()].filter((d) => d < a || d > b);
      return axes.length > 0 ? axes : [0];
    }),
  ),
  keepDims: fc.boolean(),
  dt: fc.constantFrom<DT>('float32', 'float64'),
}));

for (const op of ['sum', 'prod', 'max', 'min'] as ReduceOp[]) {
  test(`reduce ${op} over the blocks around a kept run, against a float64 loop`, () => {
    // products of up to 40,000 factors stay normal in float32 (0.999⁴⁰⁰⁰⁰ ≈ 4e−18, 1.001⁴⁰⁰⁰⁰ ≈ 2e17)
    const [lo, hi] = op === 'prod' ? [0.999, 1.001] : [-100, 100];
    fc.assert(fc.property(
      arbReduce.chain((c) => arbOperand(c.shape, c.dt, lo, hi).map((x) => ({ ...c, x }))),
      ({ shape, axes, keepDims, x }) => {
        const got = reduce(op, x.t, { axes, keepDims });
        const outShape = keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
        assert.equal(got.shape, outShape);
        assert.is(got.dtype, x.t.dtype);
        const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d)), kst = rowMajor(kept), st = rowMajor(shape);
        const n = sizeOf(kept);
        const acc = new Array<number>(n).fill(op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? -Infinity : Infinity);
        const abs = new Array<number>(n).fill(0);
        for (let i = 0; i < x.values.length; i++) {
          let oi = 0;
          for (let d = 0; d < shape.length; d++) oi += (axes.includes(d) ? 0 : Math.floor(i / st[d]!) % shape[d]!) * kst[d]!;
          const v = x.values[i]!;
          acc[oi] = op === 'sum' ? acc[oi]! + v : op === 'prod' ? acc[oi]! * v : op === 'max' ? Math.max(acc[oi]!, v) : Math.min(acc[oi]!, v);
          abs[oi] += Math.abs(v);
        }
        const m = x.values.length / n;
        for (let i = 0; i < n; i++) {
          const e = acc[i]!, gv = got.data[i]!;
          // float64 accumulation in another order: m·2⁻⁵² of Σ|x| (prod: relative), one float32 rounding
          const f32 = x.t.dtype === 'float32' ? 2 ** -23 * Math.abs(e) : 0;
          const tol = op === 'sum' ? 2 * m * 2 ** -52 * abs[i]! + f32 : op === 'prod' ? 2 * m * 2 ** -52 * Math.abs(e) + f32 : 0;
          if (!(Math.abs(gv - e) <= tol)) assert.unreachable(`${op} [${shape}]${x.dense ? '' : ' view'} ${x.t.dtype} axes ${axes}: [${i}] = ${gv}, want ${e}`);
        }
      },
    ), { numRuns: 150 });
  });
}

test('reduce: NaN propagates through the block max/min and the CNN bias-gradient shape sums right', () => {
  const shape = [3, 5, 7, 40];
  const d = new Float32Array(sizeOf(shape)).map((_, i) => Math.cos(i));
  d[2 * 1400 + 3 * 280 + 17] = NaN; // image 2, channel 3
  const t = new Tensor(ndarray(d, shape));
  for (const op of ['max', 'min', 'sum'] as const) {
    const got = reduce(op, t, { axes: [0, 2, 3], keepDims: false }).data;
    for (let c = 0; c < 5; c++) {
      if (c === 3) { assert.ok(Number.isNaN(got[c]), `${op} channel 3 is NaN`); continue; }
      let want = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
      for (let n = 0; n < 3; n++) for (let i = 0; i < 280; i++) {
        const v = d[n * 1400 + c * 280 + i]!;
        want = op === 'sum' ? want + v : op === 'max' ? Math.max(want, v) : Math.min(want, v);
      }
      assert.ok(Math.abs(got[c]! - want) <= (op === 'sum' ? 1e-4 : 0), `${op} channel ${c}: ${got[c]} vs ${want}`);
    }
  }
});

test.run();
