import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as F from '../../src/index.js';
import { Tensor, tensor, arange, reshape, transpose, permute, slice, broadcastTo, index, squeeze, unsqueeze, flatten } from '../../src/index.js';
import { arbTensor, arbTensorCase, LAYOUTS } from '../_helpers/arbitraries.js';
import { assertThrows, assertValues, nest, unravel, valuesByGet } from '../_helpers/reference.js';

// ---------------------------------------------------------------- read-outs

test('read-outs agree with the logical values in every memory layout', () => {
  fc.assert(fc.property(arbTensor({ maxRank: 4 }), (c) => {
    const { t, shape, values, dtype } = c;
    assert.equal([...t.shape], shape, 'shape');
    assert.is(t.dtype, dtype, 'dtype');
    assert.is(t.ndim, shape.length, 'ndim');
    assert.is(t.size, values.length, 'size');
    const d = t.data;
    assert.instance(d, dtype === 'float32' ? Float32Array : Float64Array, 'data type');
    assert.is(d.length, values.length, 'data length');
    assertValues(d, values, 0, `data (${c.layout})`);
    assert.equal(t.toArray(), nest(values, shape), `toArray (${c.layout})`);
    assertValues(valuesByGet(t), values, 0, `get (${c.layout})`);
    if (values.length === 1) assert.ok(Object.is(t.item(), values[0]) || (t.item() !== t.item() && values[0] !== values[0]), 'item');
  }), { numRuns: 300 });
});

test('get accepts negative indices counting from the end', () => {
  fc.assert(fc.property(arbTensor({ minRank: 1, minDim: 1 }), fc.nat(), (c, r) => {
    const i = r % c.values.length;
    const idx = unravel(i, c.shape);
    const neg = idx.map((k, d) => k - c.shape[d]);
    assert.is(c.t.get(...neg), c.values[i]);
  }), { numRuns: 100 });
});

test('item needs exactly one element; get needs one in-range integer index per dimension', () => {
  assert.is(tensor([[[4]]]).item(), 4);
  assert.is(tensor(2).item(), 2);
  assertThrows(() => tensor([1, 2]).item(), RangeError, ['item', '[2]', '2 elements'], 'item of 2');
  assertThrows(() => tensor([]).item(), RangeError, ['item', '[0]'], 'item of 0');
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assertThrows(() => x.get(1), RangeError, ['get', 'expected 2 indices', '[2,3]'], 'too few');
  assertThrows(() => x.get(0, 0, 0), RangeError, ['get', 'expected 2'], 'too many');
  assertThrows(() => x.get(2, 0), RangeError, ['get', 'index 2', 'dimension 0'], 'too large');
  assertThrows(() => x.get(0, -4), RangeError, ['get', 'index -4', 'dimension 1'], 'too negative');
  assertThrows(() => x.get(0, 0.5), RangeError, ['get', '0.5'], 'fractional');
  assert.is(tensor(7).get(), 7);
});

test('data of a contiguous tensor is its storage; of a view with gaps, a copy', () => {
  const buf = new Float64Array([1, 2, 3, 4, 5, 6]);
  const x = tensor(buf, { shape: [2, 3] });
  assert.is(x.data, buf, 'the very array');
  x.data[0] = 10;
  assert.is(x.get(0, 0), 10, 'writing data writes the tensor');
  // a contiguous view at an offset: data is a window onto the same storage
  const row = index(x, 1);
  const d = row.data;
  assert.equal(Array.from(d), [4, 5, 6]);
  assert.is(d.buffer, buf.buffer, 'shares the buffer');
  // a transposed view: data is a row-major copy
  const tt = transpose(x);
  assert.equal(Array.from(tt.data), [10, 4, 2, 5, 3, 6]);
  assert.is.not(tt.data.buffer, buf.buffer);
});

// ---------------------------------------------------------------- views

/** A float64 tensor over `buf` of the given shape, values 0..n-1. */
function base(shape: number[]): [Float64Array, Tensor] {
  const n = shape.reduce((a, b) => a * b, 1);
  const buf = Float64Array.from({ length: n }, (_, i) => i);
  return [buf, tensor(buf, { shape })];
}

test('transpose, permute, reshape of contiguous data, slice, index, squeeze, unsqueeze, flatten and broadcastTo are views', () => {
  const views: [string, (x: Tensor) => Tensor, (v: Tensor) => number][] = [
    // [name, make the view, read the view element that aliases storage position 5 of a [2,3,4] tensor]
    ['transpose', (x) => transpose(x), (v) => v.get(0, 1, 1)],
    ['x.T', (x) => x.T, (v) => v.get(0, 1, 1)],
    ['permute', (x) => permute(x, [2, 0, 1]), (v) => v.get(1, 0, 1)],
    ['reshape', (x) => reshape(x, [6, 4]), (v) => v.get(1, 1)],
    ['reshape -1', (x) => reshape(x, [-1]), (v) => v.get(5)],
    ['flatten', (x) => flatten(x, 1), (v) => v.get(0, 5)],
    ['slice', (x) => slice(x, [null, [1, 2]]), (v) => v.get(0, 0, 1)],
    ['negative-step slice', (x) => slice(x, [[null, null, -1], null, [null, null, -2]]), (v) => v.get(1, 1, 1)],
    ['index', (x) => index(x, 0, 1), (v) => v.get(1)],
    ['unsqueeze', (x) => unsqueeze(x, 1), (v) => v.get(0, 0, 1, 1)],
    ['squeeze', (x) => squeeze(unsqueeze(x, 0)), (v) => v.get(0, 1, 1)],
    ['broadcastTo', (x) => broadcastTo(x, [2, 2, 3, 4]), (v) => v.get(1, 0, 1, 1)],
  ];
  for (const [name, make, read] of views) {
    const [buf, x] = base([2, 3, 4]);
    const v = make(x);
    assert.is(read(v), 5, `${name}: reads position 5`);
    buf[5] = -1;
    assert.is(read(v), -1, `${name}: sees a later write to the base storage`);
  }
});

test('reshape of a non-contiguous view copies, and the values stay in row-major order', () => {
  fc.assert(fc.property(arbTensor({ minRank: 1, maxRank: 3 }, { layouts: LAYOUTS }), (c) => {
    const r = reshape(c.t, [c.values.length]);
    assertValues(r.data, c.values, 0, `reshape of ${c.layout}`);
    const back = reshape(r, c.shape);
    assert.equal(back.toArray(), nest(c.values, c.shape));
  }), { numRuns: 100 });
});

test('views of views compose (slice of a transpose of a broadcast)', () => {
  fc.assert(fc.property(arbTensorCase([3, 4]), (c) => {
    const v = slice(transpose(c.t), [[null, null, -1], [1, 3]]);
    assert.equal([...v.shape], [4, 2]);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) assert.is(v.get(i, j), c.values[(1 + j) * 4 + (3 - i)]);
  }), { numRuns: 60 });
});

// ---------------------------------------------------------------- methods

test('every Tensor method is the function of the same name with the tensor first', () => {
  const x = tensor([[0.5, -1.25, 2], [3, -0.75, 0.1]]);
  const y = tensor([[1.5, 2, -3], [0.25, 4, -0.5]]);
  const pos = tensor([[0.2, 0.4, 0.6], [0.8, 0.3, 0.9]]);
  const same = (a: Tensor, b: Tensor, name: string) => {
    assert.equal([...a.shape], [...b.shape], `${name}: shape`);
    assert.is(a.dtype, b.dtype, `${name}: dtype`);
    assertValues(a.data, b.data, 0, name);
  };
  const unary = ['neg', 'exp', 'expm1', 'log', 'log1p', 'sqrt', 'abs', 'sign', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan',
    'sinh', 'cosh', 'tanh', 'sigmoid', 'relu', 'softplus', 'erf'] as const;
  for (const name of unary) same((pos[name] as () => Tensor).call(pos), (F[name] as (t: Tensor) => Tensor)(pos), name);
  const binary = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'atan2', 'mod', 'gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const;
  for (const name of binary) same((pos[name] as (u: Tensor) => Tensor).call(pos, y), (F[name] as (a: Tensor, b: Tensor) => Tensor)(pos, y), name);
  same(x.clamp(-1, 1), F.clamp(x, -1, 1), 'clamp');
  same(x.astype('float32'), F.astype(x, 'float32'), 'astype');
  const reductions = ['sum', 'mean', 'prod', 'max', 'min', 'logsumexp'] as const;
  for (const name of reductions) {
    same(x[name](), F[name](x), name);
    same(x[name](1, { keepDims: true }), F[name](x, 1, { keepDims: true }), `${name}(1, keepDims)`);
  }
  for (const name of ['argmax', 'argmin'] as const) {
    same(x[name](), F[name](x), name);
    same(x[name](0, { keepDims: true }), F[name](x, 0, { keepDims: true }), `${name}(0)`);
  }
  same(x.matmul(y.T), F.matmul(x, y.T), 'matmul');
  same(x.dot(y), F.dot(x, y), 'dot');
  same(x.transpose(), F.transpose(x), 'transpose');
  same(x.T, F.transpose(x), 'T');
  same(x.permute([1, 0]), F.permute(x, [1, 0]), 'permute');
  same(x.reshape([3, 2]), F.reshape(x, [3, 2]), 'reshape');
  same(x.flatten(), F.flatten(x), 'flatten');
  same(x.reshape([2, 1, 3]).squeeze(), F.squeeze(x.reshape([2, 1, 3])), 'squeeze');
  same(x.unsqueeze(2), F.unsqueeze(x, 2), 'unsqueeze');
  same(x.slice([[1], [null, null, -1]]), F.slice(x, [[1], [null, null, -1]]), 'slice');
  same(x.index(1, 2), F.index(x, 1, 2), 'index');
  same(x.broadcastTo([2, 2, 3]), F.broadcastTo(x, [2, 2, 3]), 'broadcastTo');
  same(x.pad([[1, 0], [0, 2]], 7), F.pad(x, [[1, 0], [0, 2]], 7), 'pad');
  same(x.gather([2, 0], 1), F.gather(x, [2, 0], 1), 'gather');
  same(x.softmax(0), F.softmax(x, 0), 'softmax');
  same(x.logSoftmax(), F.logSoftmax(x), 'logSoftmax');
  // chained methods are the composed functions
  same(x.add(y).mul(2), F.mul(F.add(x, y), 2), 'chain');
});

test('operations never modify their inputs, whatever the layout', () => {
  fc.assert(fc.property(arbTensor({ maxRank: 3 }, { values: { special: true } }), (c) => {
    const before = valuesByGet(c.t);
    const t = c.t;
    const r = t.ndim;
    const ops: (() => unknown)[] = [
      () => F.exp(t), () => F.neg(t), () => F.relu(t), () => F.add(t, t), () => F.mul(t, 2), () => F.where(t, 1, t),
      () => F.sum(t), () => F.max(t.size ? t : F.ones([1])), () => F.softplus(t), () => F.astype(t, c.dtype === 'float32' ? 'float64' : 'float32'),
      () => F.reshape(t, [t.size]), () => F.pad(t, t.shape.map(() => [1, 1] as [number, number]), 3), () => F.concat(r ? [t, t] : [F.reshape(t, [1])]),
      () => F.slice(t, t.shape.map(() => [null, null, -1] as const)), () => (r >= 1 && t.size ? F.softmax(t) : null),
      () => (r >= 1 ? F.matmul(t, F.ones([t.shape[r - 1]])) : null), () => (r >= 1 && t.shape[0] ? F.gather(t, [0, 0]) : null),
    ];
    for (const op of ops) op();
    assertValues(valuesByGet(t), before, 0, `input changed (${c.layout})`);
  }), { numRuns: 100 });
});

test('astype converts any layout, rounding to float32 or widening exactly', () => {
  fc.assert(fc.property(arbTensor({ maxRank: 3 }, { values: { special: true } }), (c) => {
    const to: 'float32' | 'float64' = c.dtype === 'float32' ? 'float64' : 'float32';
    const r = c.t.astype(to);
    assert.is(r.dtype, to);
    assert.equal([...r.shape], c.shape);
    assertValues(r.data, to === 'float32' ? c.values.map(Math.fround) : c.values, 0, `astype ${c.layout}`);
    assert.is(tensor(c.t, { dtype: to }).dtype, to);
  }), { numRuns: 100 });
});

test('arange(6).reshape([2, 3]) lays the values out row-major', () => {
  assert.equal(arange(6).reshape([2, 3]).toArray(), [[0, 1, 2], [3, 4, 5]]);
});

test.run();
