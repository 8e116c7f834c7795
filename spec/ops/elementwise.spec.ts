import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as F from '../../src/index.js';
import { ShapeError, Tensor, tensor, where, clamp, softplus, sigmoid, erf, mod, relu } from '../../src/index.js';
import { arbBroadcastTensors, arbShape, arbTensor, type ValueOptions } from '../_helpers/arbitraries.js';
import { EPS, assertTensor, assertThrows, assertValues, refBroadcast, roundTo } from '../_helpers/reference.js';

type DT = 'float32' | 'float64';

// ---------------------------------------------------------------- references

/**
 * erf by composite Simpson integration of 2/√π·e^{−t²} with compensated (Kahan) summation,
 * independent of the library's series/continued fraction. Truncation error ≈ h⁴/180·|f‴(x)|
 * is far below an ulp here; near 0 the Maclaurin series is used (exact to double precision).
 */
function erfSimpson(x: number): number {
  if (x !== x) return NaN;
  const k = 2 / Math.sqrt(Math.PI);
  if (Math.abs(x) < 1e-3) return k * x * (1 - (x * x) / 3 + (x * x * x * x) / 10);
  const a = Math.min(Math.abs(x), 7);
  const n = 4000;
  const h = a / n;
  let s = 0, comp = 0;
  const add = (v: number) => {
    const y = v - comp;
    const t = s + y;
    comp = t - s - y;
    s = t;
  };
  add(1);
  add(Math.exp(-a * a));
  for (let i = 1; i < n; i++) add((i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2)));
  const r = ((s * h) / 3) * k;
  return x < 0 ? -r : r;
}

/** softplus by the textbook formula, switched to its asymptote where e^x overflows the sum. */
const softplusRef = (x: number): number => (x !== x ? NaN : x > 40 ? x : Math.log1p(Math.exp(x)));

/**
 * Each unary op: reference, tolerance in ulps of the result (0 = bit-exact for float64 against
 * the same Math function; float32 results are the float64 result rounded once), value range.
 */
const UNARY: [name: string, ref: (x: number) => number, ulps: number, range?: ValueOptions][] = [
  ['neg', (x) => -x, 0],
  ['exp', Math.exp, 0],
  ['expm1', Math.expm1, 0],
  ['log', Math.log, 0, { min: -1, max: 20 }],
  ['log1p', Math.log1p, 0, { min: -2, max: 20 }],
  ['sqrt', Math.sqrt, 0, { min: -1, max: 20 }],
  ['abs', Math.abs, 0],
  ['sign', (x) => (x > 0 ? 1 : x < 0 ? -1 : x), 0],
  ['sin', Math.sin, 0],
  ['cos', Math.cos, 0],
  ['tan', Math.tan, 0],
  ['asin', Math.asin, 0, { min: -1.5, max: 1.5 }],
  ['acos', Math.acos, 0, { min: -1.5, max: 1.5 }],
  ['atan', Math.atan, 0],
  ['sinh', Math.sinh, 0],
  ['cosh', Math.cosh, 0],
  ['tanh', Math.tanh, 0],
  ['sigmoid', (x) => 1 / (1 + Math.exp(-x)), 4],
  ['relu', (x) => (x > 0 ? x : x === x ? 0 : NaN), 0],
  ['softplus', softplusRef, 4],
  ['erf', erfSimpson, 64],
];

const BINARY: [name: string, ref: (a: number, b: number) => number][] = [
  ['add', (a, b) => a + b],
  ['sub', (a, b) => a - b],
  ['mul', (a, b) => a * b],
  ['div', (a, b) => a / b],
  ['pow', (a, b) => Math.pow(a, b)],
  ['maximum', (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b)],
  ['minimum', (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b)],
  ['atan2', Math.atan2],
  ['gt', (a, b) => Number(a > b)],
  ['ge', (a, b) => Number(a >= b)],
  ['lt', (a, b) => Number(a < b)],
  ['le', (a, b) => Number(a <= b)],
  ['eq', (a, b) => Number(a === b)],
  ['ne', (a, b) => Number(a !== b)],
];

const fn = (name: string) => (F as unknown as Record<string, (...a: unknown[]) => unknown>)[name];

/** Tolerance of `ulps` units in the last place of each expected value, in the result dtype. */
const ulpTol = (expected: number[], dtype: DT, ulps: number) => (i: number) =>
  ulps * EPS[dtype] * Math.max(Math.abs(expected[i]), dtype === 'float32' ? 2 ** -126 : 2 ** -1022);

// ---------------------------------------------------------------- unary

test('unary operations match their references on every layout, dtype and shape (0-d, size 0 included)', () => {
  for (const [name, ref, ulps, range] of UNARY) {
    fc.assert(fc.property(arbTensor({ maxRank: 3 }, { values: { special: true, ...range } }), (c) => {
      const out = fn(name)(c.t) as Tensor;
      // float32: the float64 result rounded once (composites round each step: allow a few ulps)
      const expected = c.values.map((v) => roundTo(c.dtype, ref(v)));
      const tol = c.dtype === 'float32' && ulps === 0 && name !== 'softplus' ? 0 : ulpTol(expected, c.dtype, Math.max(ulps, c.dtype === 'float32' ? 4 : 0));
      assertTensor(out, { shape: c.shape, dtype: c.dtype, values: expected }, tol, `${name} (${c.layout}, ${c.dtype})`);
    }), { numRuns: 40 });
  }
});

test('unary operations of plain numbers return plain numbers with the same values', () => {
  for (const [name, ref, ulps, range] of UNARY) {
    fc.assert(fc.property(fc.double({ min: range?.min ?? -10, max: range?.max ?? 10, noNaN: true }), (v) => {
      const r = fn(name)(v);
      assert.type(r, 'number', name);
      const e = ref(v);
      assertValues([r as number], [e], ulpTol([e], 'float64', ulps), `${name}(${v})`);
    }), { numRuns: 40 });
  }
});

test('erf: table values, oddness, limits', () => {
  // Abramowitz & Stegun / DLMF values
  const table: [number, number][] = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [3, 0.9999779095030014], [0.1, 0.1124629160182849]];
  for (const [x, e] of table) {
    assertValues([erf(x), erf(-x)], [e, -e], 2 * EPS.float64, `erf(±${x})`);
  }
  assert.is(erf(0), 0);
  assert.is(erf(Infinity), 1);
  assert.is(erf(-Infinity), -1);
  assert.ok(Number.isNaN(erf(NaN)));
  fc.assert(fc.property(fc.double({ min: -8, max: 8, noNaN: true }), (x) => {
    assert.is(erf(-x), -erf(x));
    assert.ok(Math.abs(erf(x)) <= 1);
  }), { numRuns: 200 });
  // monotone
  let prev = -1;
  for (let x = -6; x <= 6; x += 0.01) {
    const v = erf(x);
    assert.ok(v >= prev, `erf not monotone at ${x}`);
    prev = v;
  }
});

test('sigmoid and softplus do not overflow for large |x|', () => {
  const big = tensor([-1000, -745, -100, 0, 100, 745, 1000]);
  const s = sigmoid(big).data;
  for (const v of s) assert.ok(v >= 0 && v <= 1, `sigmoid gave ${v}`);
  assert.is(s[3], 0.5);
  assert.is(s[6], 1);
  assertValues([s[2]], [Math.exp(-100)], 2 * EPS.float64 * Math.exp(-100), 'sigmoid(-100) keeps relative precision');
  const sp = softplus(big).data;
  assert.equal(Array.from(sp).map(Number.isFinite), new Array(7).fill(true));
  assert.is(sp[6], 1000);
  assert.is(sp[4], 100);
  assertValues([sp[2]], [Math.exp(-100)], 2 * EPS.float64 * Math.exp(-100), 'softplus(-100)');
  assert.is(sigmoid(-1000), 0);
  assert.is(softplus(1000), 1000);
  // identity: softplus(x) − softplus(−x) = x
  fc.assert(fc.property(fc.double({ min: -50, max: 50, noNaN: true }), (x) => {
    assertValues([softplus(x) - softplus(-x)], [x], 4 * EPS.float64 * (Math.abs(x) + 1), `softplus identity at ${x}`);
    assertValues([sigmoid(x) + sigmoid(-x)], [1], 2 * EPS.float64, `sigmoid symmetry at ${x}`);
  }), { numRuns: 200 });
});

test('relu keeps NaN (a NaN must not be hidden as 0)', () => {
  assert.ok(Number.isNaN(relu(tensor([NaN])).get(0)));
  assert.ok(Number.isNaN(relu(NaN)));
});

// ---------------------------------------------------------------- binary

test('binary operations and comparisons broadcast as NumPy does and match their references', () => {
  for (const [name, ref] of BINARY) {
    fc.assert(fc.property(arbBroadcastTensors(2, { maxRank: 3 }, { values: { special: true, integers: name === 'eq' || name === 'ne' ? true : undefined, min: -6, max: 6 } }), ({ cases: [a, b], out }) => {
      const r = fn(name)(a.t, b.t) as Tensor;
      const dtype: DT = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
      const e = refBroadcast([a, b], ref);
      assert.equal(e.shape, out, 'reference shape');
      const expected = e.values.map((v) => roundTo(dtype, v));
      assertTensor(r, { shape: out, dtype, values: expected }, 0, `${name}: ${a.layout} [${a.shape}] ${a.dtype}, ${b.layout} [${b.shape}] ${b.dtype}`);
    }), { numRuns: 60 });
  }
});

test('mod is floored (sign of the divisor), unlike JavaScript’s %', () => {
  // integers: exact reference ((a % b) + b) % b
  fc.assert(fc.property(arbBroadcastTensors(2, { maxRank: 2 }, { values: { integers: true, min: -20, max: 20 } }), ({ cases: [a, b] }) => {
    const r = mod(a.t, b.t);
    const dtype: DT = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
    const e = refBroadcast([a, b], (x, y) => (y === 0 ? NaN : ((x % y) + y) % y));
    assertTensor(r, { shape: e.shape, dtype, values: e.values }, 0, 'integer mod');
  }), { numRuns: 80 });
  // any doubles: the result is x − k·y for an integer k, has y's sign, and |r| < |y|
  fc.assert(fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -100, max: 100, noNaN: true }).filter((y) => y !== 0), (x, y) => {
    const r = mod(x, y);
    assert.ok(r === 0 || Math.sign(r) === Math.sign(y), `mod(${x}, ${y}) = ${r} has the sign of the divisor`);
    assert.ok(Math.abs(r) <= Math.abs(y), `|mod(${x}, ${y})| = ${Math.abs(r)} ≤ |y|`);
    const t = x % y; // exact remainder
    assert.ok(r === t || r === t + y, `mod(${x}, ${y}) = ${r} is ${t} or ${t + y}`);
    assert.is(mod(tensor([x]), tensor([y])).get(0), r, 'tensor and number agree');
  }), { numRuns: 300 });
  assert.equal(mod(tensor([-7, 7, -7, 5.5, -0.5]), tensor([3, -3, -3, 2, 2])).toArray(), [2, -2, -1, 1.5, 1.5]);
  assert.ok(Number.isNaN(mod(1, 0)));
  assert.ok(Number.isNaN(mod(Infinity, 2)));
  assert.is(mod(3, Infinity), 3);
  assert.is(mod(-3, Infinity), Infinity);
});

test('binary operations of plain numbers return plain numbers', () => {
  for (const [name, ref] of [...BINARY, ['mod', (a: number, b: number) => ((a % b) + b) % b] as const]) {
    fc.assert(fc.property(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -9, max: 9 }).filter((b) => b !== 0), (a, b) => {
      const r = fn(name)(a, b);
      assert.type(r, 'number', name);
      assertValues([r as number], [ref(a, b)], 0, `${name}(${a}, ${b})`);
    }), { numRuns: 30 });
  }
});

test('binary operations name themselves and both shapes when shapes do not broadcast', () => {
  // same rank (or a suffix), one dimension differs and neither side is 1 there
  const arbBad = fc.tuple(arbShape({ minRank: 1, maxRank: 3, minDim: 1 }), fc.nat(), fc.integer({ min: 2, max: 5 }), fc.nat({ max: 2 }))
    .map(([s, r, d, drop]) => {
      const i = r % s.length;
      const a = s.map((v, j) => (j === i ? d : v));
      const b = s.map((v, j) => (j === i ? d + 1 : v)).slice(Math.min(drop, i));
      return [a, b] as const;
    });
  fc.assert(fc.property(arbBad, fc.constantFrom(...BINARY.map((b) => b[0]), 'mod'), ([sa, sb], name) => {
    const a = F.zeros(sa), b = F.zeros(sb);
    assertThrows(() => fn(name)(a, b), ShapeError, [`${name}:`, `[${sa.join(',')}]`, `[${sb.join(',')}]`], `${name} [${sa}] [${sb}]`);
  }), { numRuns: 60 });
});

// ---------------------------------------------------------------- where, clamp

test('where(cond, a, b) broadcasts all three; any non-zero (NaN included) picks a', () => {
  fc.assert(fc.property(
    arbBroadcastTensors(3, { maxRank: 3 }, { values: { special: true, integers: true, min: -2, max: 2 } }),
    ({ cases: [c, a, b], out }) => {
      const r = where(c.t, a.t, b.t);
      const dtype: DT = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
      const e = refBroadcast([c, a, b], (cv, av, bv) => (cv !== 0 ? av : bv));
      assertTensor(r, { shape: out, dtype, values: e.values }, 0, `where ${c.layout}/${a.layout}/${b.layout}`);
    },
  ), { numRuns: 150 });
  assert.is(where(1, 2, 3), 2);
  assert.is(where(NaN, 2, 3), 2);
  assertThrows(() => where([1, 0, 1], [1, 2], 0), ShapeError, ['where', '[3]', '[2]'], 'where mismatch');
});

test('clamp(x, lo, hi) = minimum(maximum(x, lo), hi), broadcasting all three', () => {
  fc.assert(fc.property(arbBroadcastTensors(3, { maxRank: 3 }, { values: { special: true } }), ({ cases: [x, lo, hi], out }) => {
    const r = clamp(x.t, lo.t, hi.t);
    const dtype: DT = [x, lo, hi].some((c) => c.dtype === 'float64') ? 'float64' : 'float32';
    const e = refBroadcast([x, lo, hi], (v, l, h) => (v !== v || l !== l || h !== h ? NaN : Math.min(Math.max(v, l), h)));
    assertTensor(r, { shape: out, dtype, values: e.values }, 0, 'clamp');
  }), { numRuns: 150 });
  assert.is(clamp(5, 0, 2), 2);
  assert.is(clamp(-5, 0, 2), 0);
  assert.is(clamp(1, 0, 2), 1);
  assert.is(clamp(tensor([-3, 0.5, 7], { dtype: 'float32' }), 0, 1).dtype, 'float32');
});

test('float32 stays float32 through unary and binary operations with weakly typed numbers', () => {
  fc.assert(fc.property(arbTensor({ maxRank: 2 }, { dtype: 'float32' }), fc.double({ min: -4, max: 4, noNaN: true }), (c, s) => {
    const r = F.mul(s, c.t);
    assertTensor(r, { shape: c.shape, dtype: 'float32', values: c.values.map((v) => Math.fround(Math.fround(s) * v)) }, 0, 'mul(s, x32)');
    assert.is(F.exp(c.t).dtype, 'float32');
    assert.is(F.add(c.t, c.t).dtype, 'float32');
    assert.is(F.gt(c.t, 0).dtype, 'float32');
  }), { numRuns: 60 });
});

test.run();
