import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, ShapeError, tensor, add, mul, sub, div, where, clamp, matmul, maximum, pow, concat, stack, dot, outer, conv2d,
  astype, fromData,
} from '../../src/index.js';
import { arbShape, arbValues } from '../_helpers/arbitraries.js';
import { assertThrows, assertValues, nest, sizeOf } from '../_helpers/reference.js';

// ---------------------------------------------------------------- construction

test('tensor(number) is a 0-d float64 tensor (or the chosen dtype)', () => {
  fc.assert(fc.property(fc.double({ noNaN: false }), (v) => {
    const t = tensor(v);
    assert.equal([...t.shape], []);
    assert.is(t.dtype, 'float64');
    assert.is(t.size, 1);
    assert.is(t.ndim, 0);
    assert.ok(Object.is(t.item(), v));
    const f = tensor(v, { dtype: 'float32' });
    assert.is(f.dtype, 'float32');
    assert.ok(Object.is(f.item(), Math.fround(v)));
  }), { numRuns: 200 });
});

test('tensor(nested arrays) infers the shape, keeps the values, float64 by default', () => {
  fc.assert(fc.property(
    arbShape({ minRank: 1, maxRank: 4, minDim: 1 }).chain((s) => fc.tuple(fc.constant(s), arbValues(sizeOf(s), { special: true }))),
    ([shape, values]) => {
      const nested = nest(values, shape) as number[];
      const t = tensor(nested);
      assert.equal([...t.shape], shape);
      assert.is(t.dtype, 'float64');
      assert.instance(t.data, Float64Array);
      assertValues(t.data, values, 0, 'data');
      assert.equal(t.toArray(), nested);
      const f = tensor(nested, { dtype: 'float32' });
      assert.is(f.dtype, 'float32');
      assert.instance(f.data, Float32Array);
      assertValues(f.data, values.map(Math.fround), 0, 'float32 data');
    },
  ), { numRuns: 150 });
});

test('tensor of empty nested arrays has a zero dimension', () => {
  assert.equal([...tensor([]).shape], [0]);
  assert.equal([...tensor([[], [], []]).shape], [3, 0]);
  assert.is(tensor([[], []]).size, 0);
});

test('flat data with a shape option is reshaped; the sizes must agree', () => {
  fc.assert(fc.property(
    arbShape({ maxRank: 4 }).chain((s) => fc.tuple(fc.constant(s), arbValues(sizeOf(s)))),
    ([shape, values]) => {
      const t = tensor(values, { shape });
      assert.equal([...t.shape], shape);
      assertValues(t.data, values, 0, 'data');
      const u = tensor(Float64Array.from(values), { shape });
      assert.equal([...u.shape], shape);
      assertValues(u.data, values, 0, 'typed data');
    },
  ), { numRuns: 100 });
  assertThrows(() => tensor([1, 2, 3, 4, 5], { shape: [2, 3] }), ShapeError, ['tensor', '[5]', '[2,3]'], 'size mismatch');
  assertThrows(() => tensor([1, 2], { shape: [-1, 2] as number[] }), ShapeError, ['tensor', 'invalid shape'], 'negative dim');
  assertThrows(() => tensor([1, 2], { shape: [1.5, 2] }), ShapeError, ['tensor', 'invalid shape'], 'fractional dim');
});

test('typed arrays: Float32Array → float32 and Float64Array → float64, without copying', () => {
  const f32 = new Float32Array([1, 2, 3, 4]);
  const a = tensor(f32, { shape: [2, 2] });
  assert.is(a.dtype, 'float32');
  f32[3] = 40;
  assert.is(a.get(1, 1), 40, 'storage shared');
  const f64 = new Float64Array([0.1, 0.2]);
  const b = tensor(f64);
  assert.is(b.dtype, 'float64');
  f64[0] = 7;
  assert.is(b.get(0), 7, 'storage shared');
  const w = fromData(f64, [2, 1]);
  assert.equal([...w.shape], [2, 1]);
  f64[1] = 8;
  assert.is(w.get(1, 0), 8, 'fromData shares storage');
});

test('typed arrays of another type are copied and converted', () => {
  const f64 = new Float64Array([0.1, 1 / 3]);
  const a = tensor(f64, { dtype: 'float32' });
  assert.is(a.dtype, 'float32');
  assertValues(a.data, [Math.fround(0.1), Math.fround(1 / 3)], 0, 'rounded');
  f64[0] = 5;
  assert.is(a.get(0), Math.fround(0.1), 'copy, not a view');
  const b = tensor(new Float32Array([1.5, 2.5]), { dtype: 'float64' });
  assert.is(b.dtype, 'float64');
  assertValues(b.data, [1.5, 2.5], 0, 'widened');
  for (const arr of [new Int32Array([-3, 4]), new Uint8Array([3, 4]), new Int16Array([-3, 4])]) {
    const t = tensor(arr);
    assert.is(t.dtype, 'float64', arr.constructor.name);
    assertValues(t.data, Array.from(arr), 0, arr.constructor.name);
  }
});

test('tensor(Tensor) returns it, or converts it when another dtype is asked for', () => {
  const x = tensor([[1, 2], [3, 4]]);
  assert.is(tensor(x), x);
  assert.is(tensor(x, { dtype: 'float64' }), x);
  const y = tensor(x, { dtype: 'float32' });
  assert.is(y.dtype, 'float32');
  assert.equal(y.toArray(), [[1, 2], [3, 4]]);
  const z = astype(tensor([0.1]), 'float32');
  assert.is(z.get(0), Math.fround(0.1));
  assert.is(astype(z, 'float32'), z);
});

// ---------------------------------------------------------------- errors

test('ragged nested arrays are rejected, naming where', () => {
  assertThrows(() => tensor([[1, 2], [3]]), ShapeError, ['tensor', 'ragged', '[1]', 'length 1', '2'], 'short row');
  assertThrows(() => tensor([[1, 2], 3] as unknown as number[][]), ShapeError, ['tensor', 'ragged', '[1]'], 'number for row');
  assertThrows(() => tensor([[[1], [2]], [[3], [4, 5]]]), ShapeError, ['tensor', 'ragged', '[1][1]'], 'deep');
  assertThrows(() => tensor([[1, 2], [[3], 4]] as unknown as number[][]), TypeError, ['tensor', '[1][0]', 'expected a number'], 'too deep');
});

test('non-numeric data is rejected with a clear message', () => {
  const bad: [unknown, string][] = [
    [[1, 'a'], '[1]'], [[1, null], '[1]'], [[1, undefined], '[1]'], [[true, 1], '[0]'], [[[1, {}]], '[0][1]'],
    [[1, 2n], '[1]'],
  ];
  for (const [data, where_] of bad) {
    assertThrows(() => tensor(data as number[]), TypeError, ['tensor', where_, 'expected a number'], JSON.stringify(String(data)));
  }
  for (const data of ['abc', null, undefined, {}, true, () => 1]) {
    assertThrows(() => tensor(data as unknown as number), TypeError, ['tensor', 'cannot make a tensor'], String(data));
  }
  assertThrows(() => tensor(new BigInt64Array(2) as unknown as Float64Array), TypeError, ['tensor', 'BigInt'], 'BigInt64Array');
  // operations reject non-numeric arguments too
  assertThrows(() => add('x' as unknown as number, 1), TypeError, ['add'], 'add(string)');
  assertThrows(() => add([1, 'x'] as unknown as number[], tensor([1, 2])), TypeError, ['add', '[1]'], 'add(mixed array)');
  assertThrows(() => add([[1, 2], [3]], 1), ShapeError, ['add', 'ragged'], 'add(ragged)');
});

test('an unknown dtype is rejected, naming it', () => {
  for (const dt of ['int32', 'float16', 'Float32', '', 'f64']) {
    assertThrows(() => tensor([1], { dtype: dt as 'float32' }), TypeError, ['tensor', 'unknown dtype', JSON.stringify(dt)], dt);
    assertThrows(() => astype([1], dt as 'float32'), TypeError, ['astype', 'unknown dtype'], dt);
  }
});

// ---------------------------------------------------------------- dtype rules

const f32 = (v: number[] | number[][]) => tensor(v, { dtype: 'float32' });

test('JS numbers and arrays are weakly typed: they adopt the tensor operand’s dtype', () => {
  const x = f32([1.5, 2.5]);
  const cases: [string, () => Tensor][] = [
    ['mul(2, x32)', () => mul(2, x)], ['mul(x32, 2)', () => mul(x, 2)], ['add([1,2], x32)', () => add([1, 2], x)],
    ['sub(x32, [[1],[2]])', () => sub(x, [[1], [2]])], ['div(0.1, x32)', () => div(0.1, x)], ['pow(x32, 0.5)', () => pow(x, 0.5)],
    ['maximum(x32, 2)', () => maximum(x, 2)], ['where([1,0], x32, 0)', () => where([1, 0], x, 0)],
    ['clamp(x32, 0, 2)', () => clamp(x, 0, 2)], ['x32.add(1)', () => x.add(1)],
    ['matmul([[1,2]], x32)', () => matmul([[1, 2]], x)], ['dot([1,2], x32)', () => dot([1, 2], x)],
    ['outer(x32, [1,2,3])', () => outer(x, [1, 2, 3])], ['add(Float32Array, [1,2])', () => add(new Float32Array([1, 2]), [1, 2])],
    ['conv2d(x32, weak filters)', () => conv2d(tensor([[[[1, 2], [3, 4]]]], { dtype: 'float32' }), [[[[1]]]])],
  ];
  for (const [name, f] of cases) assert.is(f().dtype, 'float32', name);
  // and the weak operand is rounded to float32 before the operation: 0.1 in float32 · 1.5
  assert.is(mul(0.1, f32([1.5])).get(0), Math.fround(Math.fround(0.1) * 1.5));
});

test('mixing float32 and float64 tensors promotes to float64; numbers alone give float64', () => {
  const x = f32([1.5, 2.5]);
  const y = tensor([1, 2]);
  const cases: [string, () => Tensor][] = [
    ['add', () => add(x, y)], ['add rev', () => add(y, x)], ['mul', () => mul(x, y)], ['where', () => where([1, 0], x, y)],
    ['matmul', () => matmul(x.reshape([1, 2]), y)], ['dot', () => dot(x, y)], ['concat', () => concat([x, y])],
    ['concat rev', () => concat([y, x])], ['stack', () => stack([x, y])], ['Float64Array with x32', () => add(new Float64Array([1, 2]), x)],
    ['arrays only', () => add([1, 2], [3, 4])], ['number and array', () => mul(2, [3, 4])],
  ];
  for (const [name, f] of cases) assert.is(f().dtype, 'float64', name);
  // promotion is exact: the float32 operand's value is used as is
  assert.is(add(f32([0.1]), tensor([0])).get(0), Math.fround(0.1));
  // float32 with float32 stays float32
  assert.is(add(x, x).dtype, 'float32');
  assert.is(matmul(x.reshape([2, 1]), x.reshape([1, 2])).dtype, 'float32');
});

test('functions of plain numbers return plain numbers', () => {
  assert.type(add(1, 2), 'number');
  assert.is(add(1, 2), 3);
  assert.is(where(0, 1, 2), 2);
  assert.is(clamp(5, 0, 2), 2);
  assert.ok(tensor(1) instanceof Tensor);
  assert.ok(add(tensor(1), 2) instanceof Tensor);
  assert.ok(add([1], 2) instanceof Tensor);
});

test.run();
