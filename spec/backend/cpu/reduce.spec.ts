/**
 * Parity of the reduction kernel variants: the WebAssembly SIMD sum/max/min (over all
 * elements, and over the last axis, row by row) against the JavaScript loops, on random
 * lengths, offsets and values with ±0, ±∞, NaN and subnormals. max/min must agree exactly
 * (NaN propagates; +0 and −0 count as equal); sums accumulate in float64 in both, in a different order, so they
 * agree to the rounding of the accumulation (and one float32 rounding of the result).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import ndarray from 'ndarray';
// the library entry first: it fixes the evaluation order of the tensor ↔ ops import cycle
import '../../../src/index.js';
import { reduce } from '../../../src/backend/cpu/reduce.js';
import { getReduceVariant, setReduceVariant, simdOps, vectorTuning, vectorVariants, type VectorVariant } from '../../../src/backend/cpu/vector.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { withSetting } from '../../_helpers/variants.js';

type DT = 'float32' | 'float64';
const FAST = vectorVariants().filter((v) => v !== 'js');

function arbValue(dt: DT, special: boolean): fc.Arbitrary<number> {
  const parts: fc.WeightedArbitrary<number>[] = [
    { weight: 4, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) },
    { weight: 2, arbitrary: fc.double({ min: -1e-30, max: 1e-30, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -0, 5e-324, 1.4e-45, 3.4e38, -3.4e38) },
  ];
  if (dt === 'float32') parts.push({ weight: 1, arbitrary: fc.float({ noNaN: !special, noDefaultInfinity: !special }) });
  if (special) parts.push({ weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity) });
  return fc.oneof(...parts);
}

const arbCase = (dt: DT) => fc.record({
  rows: fc.integer({ min: 1, max: 4 }),
  cols: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 20000 })),
  pad: fc.integer({ min: 0, max: 5 }),
  special: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
}).chain((c) => fc.array(arbValue(dt, c.special), { minLength: 1, maxLength: 48 }).map((vals) => {
  const n = c.rows * c.cols + c.pad;
  const data = dt === 'float32' ? new Float32Array(n) : new Float64Array(n);
  let s = c.seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = vals[s % vals.length]!;
  }
  return { ...c, data };
}));

const withVariant = <T>(v: VectorVariant | 'auto', fn: () => T): T => withSetting(getReduceVariant, setReduceVariant, v, fn);

/** Sum of |x| over each reduced row, for the accumulation-error bound. */
function absSums(data: ArrayLike<number>, pad: number, rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.abs(data[pad + r * cols + j]!);
    out.push(s);
  }
  return out;
}

function check(op: string, dt: DT, got: Tensor, want: Tensor, abs: number[], cols: number, what: string): void {
  assert.equal(got.shape, want.shape, `${what}: shape`);
  const g = got.data, w = want.data;
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!, e = w[i]!;
    // 0 === −0: which signed zero a loop's max/min keeps depends on the order it meets them
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    if (op !== 'sum' || !Number.isFinite(e)) assert.unreachable(`${what}[${i}]: got ${a}, the JavaScript loop gives ${e}`);
    // both sum in float64 (different order): n·2⁻⁵² of Σ|x|, plus one rounding to float32
    const tol = 2 * cols * 2 ** -52 * abs[i % abs.length]! + (dt === 'float32' ? 2 ** -23 * Math.abs(e) : 0);
    if (!(Math.abs(a - e) <= tol)) assert.unreachable(`${what}[${i}]: got ${a}, the JavaScript loop gives ${e} (tolerance ${tol})`);
  }
}

test('setReduceVariant rejects unknown variants', () => {
  assert.throws(() => setReduceVariant('gpu' as VectorVariant), /not available/);
  assert.is(getReduceVariant(), 'auto');
});

for (const dt of ['float32', 'float64'] as const) {
  test(`SIMD sum/max/min agree with the JavaScript loops, over everything and along the last axis (${dt})`, () => {
    for (const op of simdOps.reduce) {
      fc.assert(fc.property(arbCase(dt), ({ rows, cols, pad, data }) => {
        const x = new Tensor(ndarray(data, [rows, cols], undefined, pad));
        const abs = absSums(data, pad, rows, cols);
        const total = [abs.reduce((p, q) => p + q, 0)];
        for (const [axes, bound, len] of [[[0, 1], total, rows * cols], [[1], abs, cols]] as const) {
          const p = { axes: [...axes], keepDims: false };
          const want = withVariant('js', () => reduce(op, x, p));
          for (const v of FAST) check(op, dt, withVariant(v, () => reduce(op, x, p)), want, [...bound], len, `${op} ${dt} [${rows},${cols}] axes ${axes} ${v}`);
        }
      }), { numRuns: 30 });
    }
  });
}

test('a sum that cancels exactly stays exact, whatever the chunk size', () => {
  const n = 50_001;
  const x = new Float32Array(n);
  for (let i = 0; i < n - 1; i += 2) { x[i] = 1e7 + i; x[i + 1] = -(1e7 + i); }
  x[n - 1] = 0.25;
  const t = new Tensor(ndarray(x, [n]));
  const saved = vectorTuning.chunk;
  try {
    for (const chunk of [16, 1000, 8192, 65536]) {
      vectorTuning.chunk = chunk;
      for (const v of FAST) assert.is(withVariant(v, () => reduce('sum', t, { axes: [0], keepDims: false })).item(), 0.25, `chunk ${chunk} ${v}`);
    }
  } finally {
    vectorTuning.chunk = saved;
  }
});

test.run();
