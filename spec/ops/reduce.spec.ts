import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sum, mean, prod, max, min, argmax, argmin, logsumexp, tensor, zeros, type Tensor } from '../../src/index.js';
import { arbShape, arbTensorCase, type TensorCase, type ValueOptions } from '../_helpers/arbitraries.js';
import { EPS, TINY, assertTensor, assertThrows, sizeOf, unravel } from '../_helpers/reference.js';

type DT = 'float32' | 'float64';

// ---------------------------------------------------------------- naive references

/** Group the input values by output element for a reduction over sorted `axes`. */
function groups(shape: readonly number[], values: readonly number[], axes: readonly number[], keepDims: boolean): { outShape: number[]; groups: number[][] } {
  const outShape = shape.flatMap((d, i) => (axes.includes(i) ? (keepDims ? [1] : []) : [d]));
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const keptShape = kept.map((i) => shape[i]);
  const gs: number[][] = Array.from({ length: sizeOf(keptShape) }, () => []);
  for (let i = 0; i < values.length; i++) {
    const idx = unravel(i, shape);
    let p = 0;
    for (const k of kept) p = p * shape[k] + idx[k];
    gs[p].push(values[i]);
  }
  return { outShape, groups: gs };
}

const hasNaN = (g: number[]) => g.some((v) => v !== v);
const REF = {
  sum: (g: number[]) => g.reduce((a, b) => a + b, 0),
  prod: (g: number[]) => g.reduce((a, b) => a * b, 1),
  max: (g: number[]) => (hasNaN(g) ? NaN : g.reduce((a, b) => (b > a ? b : a), -Infinity)),
  min: (g: number[]) => (hasNaN(g) ? NaN : g.reduce((a, b) => (b < a ? b : a), Infinity)),
  mean: (g: number[]) => g.reduce((a, b) => a + b, 0) / g.length,
  logsumexp: (g: number[]) => {
    if (hasNaN(g)) return NaN;
    const m = g.reduce((a, b) => (b > a ? b : a), -Infinity);
    if (m === Infinity || m === -Infinity) return m;
    let s = 0;
    for (const v of g) s += Math.exp(v - m);
    return m + Math.log(s);
  },
} as const;

/**
 * Error bound of each reduction of group g in the result dtype: summation n·ε·Σ|x|
 * (any order), products (n+1)·ε·Π|x|, logsumexp a few ulps of its terms.
 */
function tolerance(op: keyof typeof REF, g: number[], dtype: DT): number {
  if (op === 'max' || op === 'min') return 0;
  // plus rounding the result to the dtype, and underflow below its smallest subnormal
  const r = REF[op](g);
  return bound(op, g, dtype) + EPS[dtype] * (Number.isFinite(r) ? Math.abs(r) : 0) + TINY[dtype];
}

function bound(op: keyof typeof REF, g: number[], dtype: DT): number {
  const e = EPS[dtype], n = g.length;
  const sabs = g.reduce((a, b) => a + Math.abs(b), 0);
  switch (op) {
    case 'sum': return (n + 1) * e * sabs;
    case 'mean': return ((n + 2) * e * sabs) / Math.max(n, 1);
    case 'prod': return (n + 1) * e * g.reduce((a, b) => a * Math.abs(b), 1);
    case 'max': case 'min': return 0;
    case 'logsumexp': {
      const m = REF.max(g);
      return (n + 8) * e * (Math.abs(m) + Math.abs(REF.logsumexp(g) - m) + 1);
    }
  }
}

/** A tensor, and an axes argument in one of its forms: undefined, one axis, a list (negative aliases included). */
const arbReduceCase = (values: ValueOptions, shape = arbShape({ maxRank: 4 })) =>
  shape.chain((s) => fc.tuple(
    arbTensorCase(s, { values }),
    fc.subarray(s.map((_, i) => i)),
    fc.constantFrom<'undefined' | 'number' | 'list'>('undefined', 'number', 'list'),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    fc.boolean(),
  )).map(([c, sub, form, negs, keepDims]) => {
    const alias = (a: number) => (negs[a] ? a - c.shape.length : a);
    let axes: number[];
    let arg: number | number[] | undefined;
    if (form === 'undefined' || c.shape.length === 0) { axes = c.shape.map((_, i) => i); arg = undefined; }
    else if (form === 'number') { axes = [sub[0] ?? 0]; arg = alias(axes[0]); }
    else { axes = sub; arg = [...sub].reverse().map(alias); }
    return { c, axes, arg, keepDims };
  });

function checkReduction(op: keyof typeof REF, c: TensorCase, axes: number[], arg: number | number[] | undefined, keepDims: boolean): void {
  const fnOf = { sum, prod, max, min, mean, logsumexp }[op];
  const r = fnOf(c.t, arg, { keepDims });
  const { outShape, groups: gs } = groups(c.shape, c.values, axes, keepDims);
  const expected = gs.map((g) => REF[op](g));
  const tol = gs.map((g) => tolerance(op, g, c.dtype));
  assertTensor(r, { shape: outShape, dtype: c.dtype, values: expected }, (i) => tol[i], `${op}(${c.layout} [${c.shape}] ${c.dtype}, ${JSON.stringify(arg)}, keepDims ${keepDims})`);
}

// ---------------------------------------------------------------- values

test('sum, mean, max, min over all or chosen axes, with keepDims, on every layout', () => {
  for (const op of ['sum', 'mean', 'max', 'min'] as const) {
    fc.assert(fc.property(arbReduceCase({ special: op === 'max' || op === 'min' }), ({ c, axes, arg, keepDims }) => {
      if ((op === 'max' || op === 'min') && axes.some((a) => c.shape[a] === 0)) return; // an error, tested below
      checkReduction(op, c, axes, arg, keepDims);
    }), { numRuns: 150 });
  }
});

test('prod over all or chosen axes', () => {
  fc.assert(fc.property(arbReduceCase({ min: -1.5, max: 1.5 }, arbShape({ maxRank: 3 })), ({ c, axes, arg, keepDims }) => {
    checkReduction('prod', c, axes, arg, keepDims);
  }), { numRuns: 200 });
});

test('logsumexp matches log Σ exp, stably, with keepDims', () => {
  fc.assert(fc.property(arbReduceCase({ min: -50, max: 50 }), ({ c, axes, arg, keepDims }) => {
    if (axes.some((a) => c.shape[a] === 0)) return;
    checkReduction('logsumexp', c, axes, arg, keepDims);
  }), { numRuns: 200 });
  // far beyond exp's range the shift by the maximum keeps it finite
  const big = logsumexp(tensor([1000, 1000, 999]));
  assert.ok(Math.abs(big.item() - (1000 + Math.log(2 + Math.exp(-1)))) < 1e-12, `got ${big.item()}`);
  const small = logsumexp(tensor([-1000, -1000]));
  assert.ok(Math.abs(small.item() - (-1000 + Math.LN2)) < 1e-12, `got ${small.item()}`);
});

test('logsumexp: a slice of −∞ gives −∞ (not NaN); +∞ gives +∞; NaN gives NaN', () => {
  const r = logsumexp(tensor([[-Infinity, -Infinity], [0, -Infinity], [Infinity, 1], [NaN, 1], [Infinity, -Infinity]]), 1);
  const d = r.data;
  assert.is(d[0], -Infinity);
  assert.is(d[1], 0);
  assert.is(d[2], Infinity);
  assert.ok(Number.isNaN(d[3]));
  assert.is(d[4], Infinity);
  // with special values in random places the reference decides
  fc.assert(fc.property(arbReduceCase({ special: true }, arbShape({ maxRank: 3, minDim: 1 })), ({ c, axes, arg, keepDims }) => {
    checkReduction('logsumexp', c, axes, arg, keepDims);
  }), { numRuns: 150 });
});

test('max and min propagate NaN wherever it sits in the slice', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.nat(), fc.constantFrom<DT>('float32', 'float64'), (n, k, dtype) => {
    const v = Array.from({ length: n }, (_, i) => i - 4);
    v[k % n] = NaN;
    const t = tensor(v, { dtype });
    assert.ok(Number.isNaN(max(t).item()), `max of ${v}`);
    assert.ok(Number.isNaN(min(t).item()), `min of ${v}`);
    // along an axis of a 2-d view (the kernel's strided path)
    const m = tensor([v, v.map(() => 1)], { dtype }).T;
    assert.ok(Number.isNaN(max(m, 1).get(k % n)), 'strided max along rows');
    assert.ok(Number.isNaN(min(m, 1).get(k % n)), 'strided min along rows');
    assert.ok(Number.isNaN(max(m, 0).get(0)), 'strided max along columns');
    assert.ok(Number.isNaN(min(m, 0).get(0)), 'strided min along columns');
    assert.is(max(m, 0).get(1), 1);
  }), { numRuns: 60 });
  // NaN in sum and prod propagates arithmetically
  assert.ok(Number.isNaN(sum(tensor([1, NaN])).item()));
  assert.ok(Number.isNaN(prod(tensor([0, NaN])).item()));
});

test('empty reductions: sum 0, prod 1, mean NaN; max/min/argmax/argmin/logsumexp refuse', () => {
  const e = zeros([2, 0, 3]);
  assertTensor(sum(e, 1), { shape: [2, 3], values: new Array(6).fill(0) }, 0, 'sum');
  assertTensor(prod(e, 1), { shape: [2, 3], values: new Array(6).fill(1) }, 0, 'prod');
  assertTensor(mean(e, 1), { shape: [2, 3], values: new Array(6).fill(NaN) }, 0, 'mean');
  assertTensor(sum(e), { shape: [], values: [0] }, 0, 'sum all');
  // reducing the non-empty axes of an empty tensor is fine and empty
  assertTensor(max(e, 2), { shape: [2, 0], values: [] }, 0, 'max over a non-empty axis');
  for (const [name, f] of [
    ['max', () => max(e, 1)], ['min', () => min(e)], ['argmax', () => argmax(e, 1)], ['argmin', () => argmin(e)],
    ['logsumexp', () => logsumexp(e, [0, 1])],
  ] as const) {
    assertThrows(f, RangeError, [name, 'empty', '[2,0,3]'], name);
  }
});

// ---------------------------------------------------------------- argmax / argmin

/** Reference: index of the first extreme (first NaN if any) along `axis`, or of the flattened tensor. */
function refArg(op: 'argmax' | 'argmin', g: number[]): number {
  const nan = g.findIndex((v) => v !== v);
  if (nan >= 0) return nan;
  let best = 0;
  for (let i = 1; i < g.length; i++) if (op === 'argmax' ? g[i] > g[best] : g[i] < g[best]) best = i;
  return best;
}

test('argmax and argmin: first extreme along an axis or of the flattened tensor; NaN counts as extreme; float64 indices', () => {
  for (const op of ['argmax', 'argmin'] as const) {
    const f = op === 'argmax' ? argmax : argmin;
    fc.assert(fc.property(
      arbShape({ maxRank: 4, minDim: 1 }).chain((s) => fc.tuple(
        arbTensorCase(s, { values: { integers: true, min: -3, max: 3, special: true } }),
        fc.option(fc.integer({ min: -Math.max(s.length, 1), max: Math.max(s.length, 1) - 1 }), { nil: undefined }),
        fc.boolean(),
      )),
      ([c, axisArg, keepDims]) => {
        const axis = c.shape.length === 0 ? undefined : axisArg;
        const r = f(c.t, axis, { keepDims });
        let shape: number[], values: number[];
        if (axis === undefined) {
          shape = keepDims ? c.shape.map(() => 1) : [];
          values = [refArg(op, c.values)];
        } else {
          const a = axis < 0 ? axis + c.shape.length : axis;
          const { outShape, groups: gs } = groups(c.shape, c.values, [a], keepDims);
          shape = outShape;
          values = gs.map((g) => refArg(op, g));
        }
        assertTensor(r, { shape, dtype: 'float64', values }, 0, `${op}(${c.layout} [${c.shape}], ${axis}, ${keepDims}) of ${JSON.stringify(c.values)}`);
      },
    ), { numRuns: 200 });
  }
});

// ---------------------------------------------------------------- axes and errors

test('axes out of range, repeated or fractional are rejected, naming the operation', () => {
  const x = zeros([2, 3]);
  for (const [name, f] of [['sum', sum], ['mean', mean], ['prod', prod], ['max', max], ['min', min], ['logsumexp', logsumexp]] as const) {
    const g = f as (t: Tensor, a?: number | number[]) => Tensor;
    assertThrows(() => g(x, 2), RangeError, [name, 'axis 2', 'out of range', '2-d'], `${name} 2`);
    assertThrows(() => g(x, -3), RangeError, [name, 'axis -3', 'out of range'], `${name} -3`);
    assertThrows(() => g(x, [0, -2]), RangeError, [name, 'axis 0', 'twice'], `${name} repeated`);
    assertThrows(() => g(x, 0.5), RangeError, [name, '0.5'], `${name} fractional`);
    assertThrows(() => g(tensor(1), 0), RangeError, [name, 'axis 0', '0-d'], `${name} on 0-d`);
  }
  for (const [name, f] of [['argmax', argmax], ['argmin', argmin]] as const) {
    assertThrows(() => f(x, 2), RangeError, [name, 'axis 2', 'out of range'], name);
    assertThrows(() => f(x, -3), RangeError, [name, 'axis -3'], name);
  }
});

test('reductions accept numbers and nested arrays; a full reduction is 0-d', () => {
  assertTensor(sum([[1, 2], [3, 4]]), { shape: [], values: [10] }, 0, 'sum nested');
  assertTensor(sum(5), { shape: [], values: [5] }, 0, 'sum number');
  assertTensor(mean([[1, 2], [3, 5]], 0), { shape: [2], values: [2, 3.5] }, 0, 'mean axis 0');
  assertTensor(max([[1, 7], [3, 5]], 1, { keepDims: true }), { shape: [2, 1], values: [7, 5] }, 0, 'max keepDims');
  assertTensor(argmax([[1, 7], [9, 5]]), { shape: [], values: [2] }, 0, 'argmax flattened');
  assertTensor(sum(tensor([1, 2], { dtype: 'float32' })), { shape: [], dtype: 'float32', values: [3] }, 0, 'sum keeps float32');
  assertTensor(mean(tensor([1, 2], { dtype: 'float32' })), { shape: [], dtype: 'float32', values: [1.5] }, 0, 'mean keeps float32');
});

test('float32 sums of many elements stay accurate (accumulation not in float32 alone)', () => {
  // 1e6 · 0.1f: naive float32 accumulation drifts by ~1%
  const n = 1_000_000;
  const x = tensor(new Float32Array(n).fill(0.1));
  const exact = n * Math.fround(0.1);
  assert.ok(Math.abs(sum(x).item() - exact) <= 1e-6 * exact, `sum ${sum(x).item()} vs ${exact}`);
  // the same through the strided (non-innermost axis) path
  const m = x.reshape([1000, 1000]);
  const cols = sum(m, 0).data;
  for (const v of cols) assert.ok(Math.abs(v - 1000 * Math.fround(0.1)) <= 1e-4, `column sum ${v}`);
});

test.run();
