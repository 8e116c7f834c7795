import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  ShapeError, tensor, zeros, ones, fill, rand, randn, arange, eye, zerosLike, onesLike, fillLike, randLike, randnLike, seed,
  type DType, type Tensor,
} from '../../src/index.js';
import { rng } from '../../src/tensor/random.js';
import { arbShape } from '../_helpers/arbitraries.js';
import { assertThrows, assertValues, sizeOf } from '../_helpers/reference.js';

const arbDType = fc.constantFrom<DType>('float32', 'float64');

function assertFilled(t: Tensor, shape: number[], dtype: DType, value: number, what: string): void {
  assert.equal([...t.shape], shape, `${what}: shape`);
  assert.is(t.dtype, dtype, `${what}: dtype`);
  assert.instance(t.data, dtype === 'float32' ? Float32Array : Float64Array, `${what}: storage`);
  assertValues(t.data, new Array(sizeOf(shape)).fill(dtype === 'float32' ? Math.fround(value) : value), 0, what);
}

test('zeros, ones and fill: every element, any shape (0-d and size 0 included), either dtype', () => {
  fc.assert(fc.property(arbShape(), arbDType, fc.double(), (shape, dtype, v) => {
    assertFilled(zeros(shape, { dtype }), shape, dtype, 0, 'zeros');
    assertFilled(ones(shape, { dtype }), shape, dtype, 1, 'ones');
    assertFilled(fill(shape, v, { dtype }), shape, dtype, v, 'fill');
  }), { numRuns: 150 });
  assert.is(zeros([2]).dtype, 'float64', 'default dtype');
  assert.is(ones([2]).dtype, 'float64', 'default dtype');
  assert.is(fill([2], 3).dtype, 'float64', 'default dtype');
});

test('the shape array passed in is not captured: mutating it later changes nothing', () => {
  const s = [2, 3];
  const t = zeros(s);
  s[0] = 5;
  assert.equal([...t.shape], [2, 3]);
});

test('arange matches a naive loop, for positive, negative and fractional steps', () => {
  const arbNum = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.double({ min: -20, max: 20, noNaN: true }));
  const arbStep = fc.oneof(fc.integer({ min: -5, max: 5 }).filter((s) => s !== 0), fc.constantFrom(0.25, -0.5, 0.1, 1.5));
  fc.assert(fc.property(arbNum, arbNum, arbStep, arbDType, (start, stop, step, dtype) => {
    const expected: number[] = [];
    for (let i = 0; step > 0 ? start + i * step < stop : start + i * step > stop; i++) expected.push(start + i * step);
    const t = arange(start, stop, step, { dtype });
    assert.is(t.dtype, dtype);
    assert.equal([...t.shape], [expected.length]);
    assertValues(t.data, expected.map((v) => (dtype === 'float32' ? Math.fround(v) : v)), 0, 'arange');
  }), { numRuns: 300 });
  assert.equal(arange(4).toArray(), [0, 1, 2, 3]);
  assert.equal(arange(2, 5).toArray(), [2, 3, 4]);
  assert.equal(arange(5, 2).toArray(), []);
  assert.equal(arange(0).toArray(), []);
});

test('arange and eye take the options object in place of omitted arguments', () => {
  const a = arange(3, { dtype: 'float32' });
  assert.is(a.dtype, 'float32');
  assert.equal(a.toArray(), [0, 1, 2]);
  const b = arange(1, 3, { dtype: 'float32' });
  assert.is(b.dtype, 'float32');
  assert.equal(b.toArray(), [1, 2]);
  assert.is(arange(0, 1, 0.5, { dtype: 'float32' }).dtype, 'float32');
  const e = eye(2, { dtype: 'float32' });
  assert.is(e.dtype, 'float32');
  assert.equal(e.toArray(), [[1, 0], [0, 1]]);
  assert.is(eye(2, 3, { dtype: 'float32' }).dtype, 'float32');
});

test('arange rejects a zero step and non-finite bounds', () => {
  assertThrows(() => arange(0, 5, 0), RangeError, ['arange', 'step'], 'zero step');
  assertThrows(() => arange(0, Infinity), TypeError, ['arange', 'stop'], 'infinite stop');
  assertThrows(() => arange(NaN), TypeError, ['arange'], 'NaN');
});

test('eye(n) and eye(n, m) match the definition', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), arbDType, (n, m, dtype) => {
    const t = eye(n, m, { dtype });
    assert.equal([...t.shape], [n, m]);
    assert.is(t.dtype, dtype);
    const expected: number[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) expected.push(i === j ? 1 : 0);
    assertValues(t.data, expected, 0, 'eye');
    assert.equal([...eye(n).shape], [n, n]);
  }), { numRuns: 60 });
});

test('like-variants copy shape and dtype from x, unless a dtype is given', () => {
  fc.assert(fc.property(arbShape({ maxRank: 3 }), arbDType, (shape, dtype) => {
    const x = zeros(shape, { dtype });
    const other: DType = dtype === 'float32' ? 'float64' : 'float32';
    assertFilled(zerosLike(x), shape, dtype, 0, 'zerosLike');
    assertFilled(onesLike(x), shape, dtype, 1, 'onesLike');
    assertFilled(fillLike(x, 0.1), shape, dtype, 0.1, 'fillLike');
    assertFilled(onesLike(x, { dtype: other }), shape, other, 1, 'onesLike dtype');
    for (const r of [randLike(x), randnLike(x)]) {
      assert.equal([...r.shape], shape);
      assert.is(r.dtype, dtype);
    }
    assert.is(randLike(x, { dtype: other }).dtype, other);
  }), { numRuns: 40 });
});

test('creation functions reject bad shapes, unknown dtypes and non-numeric fill values', () => {
  for (const [name, f] of [
    ['zeros', (s: number[], o?: object) => zeros(s, o)], ['ones', (s: number[], o?: object) => ones(s, o)],
    ['fill', (s: number[], o?: object) => fill(s, 1, o)], ['rand', (s: number[], o?: object) => rand(s, o)],
    ['randn', (s: number[], o?: object) => randn(s, o)],
  ] as const) {
    assertThrows(() => f([2, -1]), ShapeError, [name, 'invalid shape', '[2,-1]'], `${name} negative`);
    assertThrows(() => f([2.5]), ShapeError, [name, 'invalid shape'], `${name} fractional`);
    assertThrows(() => f([NaN]), ShapeError, [name, 'invalid shape'], `${name} NaN`);
    assertThrows(() => f(3 as unknown as number[]), TypeError, [name, 'shape must be an array'], `${name} number`);
    assertThrows(() => f([2], { dtype: 'int32' }), TypeError, [name, 'unknown dtype', '"int32"'], `${name} dtype`);
  }
  assertThrows(() => fill([2], '1' as unknown as number), TypeError, ['fill', 'number'], 'fill string');
  assertThrows(() => eye(-1), ShapeError, ['eye', 'invalid shape'], 'eye negative');
  assertThrows(() => arange(3, { dtype: 'int8' as DType }), TypeError, ['arange', 'unknown dtype'], 'arange dtype');
});

// ---------------------------------------------------------------- random values

test('rand: uniform in [0, 1) with the expected moments; float64 values use more than 32 bits', () => {
  seed(20240601);
  const n = 20000;
  for (const dtype of ['float64', 'float32'] as const) {
    const d = rand([n], { dtype }).data;
    let s = 0, s2 = 0, lowBits = 0;
    const bins = new Array(10).fill(0);
    for (const v of d) {
      assert.ok(v >= 0 && v < 1, `${dtype} value ${v} outside [0, 1)`);
      s += v;
      s2 += v * v;
      bins[Math.floor(v * 10)]++;
      if ((v * 2 ** 32) % 1 !== 0) lowBits++;
    }
    const mean = s / n, variance = s2 / n - mean * mean;
    // standard errors: mean 0.29/√n ≈ 0.002; five of them
    assert.ok(Math.abs(mean - 0.5) < 0.011, `${dtype} mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 0.005, `${dtype} variance ${variance}`);
    // each decile holds n/10 ± 5·√(n·0.09)
    for (const b of bins) assert.ok(Math.abs(b - n / 10) < 5 * Math.sqrt(n * 0.09), `${dtype} bins ${bins}`);
    if (dtype === 'float64') assert.ok(lowBits > n / 2, 'float64 uniforms carry bits below 2^-32');
  }
});

test('rand in float32 never rounds up to 1, even for the largest draw', () => {
  const orig = rng.nextUint32;
  try {
    rng.nextUint32 = () => 0xffffffff;
    const t = rand([4], { dtype: 'float32' });
    for (const v of t.data) assert.ok(v < 1, `float32 rand gave ${v}`);
    const u = rand([4]);
    for (const v of u.data) assert.ok(v < 1, `float64 rand gave ${v}`);
  } finally {
    rng.nextUint32 = orig;
  }
});

test('randn: standard normal moments and tail frequencies', () => {
  seed(7);
  const n = 20001; // odd: the Box–Muller spare is exercised
  for (const dtype of ['float64', 'float32'] as const) {
    const d = randn([n], { dtype }).data;
    let s = 0, s2 = 0, s4 = 0, beyond2 = 0;
    for (const v of d) {
      assert.ok(Number.isFinite(v));
      s += v; s2 += v * v; s4 += v ** 4;
      if (Math.abs(v) > 2) beyond2++;
    }
    const mean = s / n, variance = s2 / n - mean * mean, kurt = s4 / n;
    assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `${dtype} mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / n), `${dtype} variance ${variance}`);
    assert.ok(Math.abs(kurt - 3) < 5 * Math.sqrt(96 / n), `${dtype} fourth moment ${kurt}`);
    // P(|Z| > 2) = 0.0455
    const p = 0.0455;
    assert.ok(Math.abs(beyond2 - n * p) < 5 * Math.sqrt(n * p * (1 - p)), `${dtype} tail count ${beyond2}`);
  }
});

test('rand and randn of size 0 and 0-d', () => {
  assert.equal([...rand([]).shape], []);
  assert.ok(rand([]).item() >= 0);
  assert.equal([...randn([0, 3]).shape], [0, 3]);
  assert.is(randn([0, 3]).size, 0);
});

test('tensor() of creation results round-trips', () => {
  const x = rand([3, 2]);
  assert.equal(tensor(x.toArray()).toArray(), x.toArray());
});

test.run();
