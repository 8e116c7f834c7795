/** onehot, onehotbatch, onecold: against loops written here. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { onehot, onehotbatch, onecold } from '../../src/data/onehot.js';
import { tensor } from '../../src/tensor/convert.js';
import { ShapeError } from '../../src/tensor/shape.js';
import { assertThrows } from '../_helpers/reference.js';

const arbClasses = fc.uniqueArray(fc.oneof(fc.integer({ min: -5, max: 20 }), fc.string({ maxLength: 2 })), { minLength: 1, maxLength: 8 });

test('onehotbatch: row i has a single 1 at the position of label i (any class values)', () => {
  fc.assert(fc.property(arbClasses.chain((classes) => fc.tuple(fc.constant(classes), fc.array(fc.constantFrom(...classes), { maxLength: 10 }))), ([classes, labels]) => {
    const y = onehotbatch(labels, classes);
    assert.equal([...y.shape], [labels.length, classes.length]);
    assert.is(y.dtype, 'float64');
    const rows = y.toArray() as number[][];
    labels.forEach((l, i) => classes.forEach((c, j) => assert.is(rows[i][j], c === l ? 1 : 0)));
    assert.equal(onecold(y, classes), labels);
    labels.forEach((l) => assert.equal(onecold(onehot(l, classes), classes), [l]));
  }), { numRuns: 200 });
});

test('onehot of one label, dtype option, iterable classes, tensor labels', () => {
  assert.equal(onehot('b', ['a', 'b', 'c']).toArray(), [0, 1, 0]);
  assert.is(onehot(2, [0, 1, 2], { dtype: 'float32' }).dtype, 'float32');
  assert.equal(onehotbatch(new Set([3, 1]), new Set([1, 2, 3])).toArray(), [[0, 0, 1], [1, 0, 0]]);
  const y = onehotbatch(tensor([9, 0, 9], { dtype: 'float32' }), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { dtype: 'float32' });
  assert.is(y.dtype, 'float32');
  assert.equal(onecold(y), [9, 0, 9]);
  assert.equal([...onehotbatch([], [1, 2]).shape], [0, 2]);
  // NaN is a label like any other (SameValueZero), and -0 is 0
  assert.equal(onehotbatch([NaN, -0], [0, NaN]).toArray(), [[0, 1], [1, 0]]);
});

test('onecold: the first largest entry along the last dimension, against a loop', () => {
  const arb = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 5 })).chain(([a, b, c]) =>
    fc.array(fc.integer({ min: -3, max: 3 }), { minLength: a * b * c, maxLength: a * b * c }).map((v) => ({ shape: [a, b, c], v })));
  fc.assert(fc.property(arb, ({ shape, v }) => {
    const C = shape[2];
    const expected: number[] = [];
    for (let r = 0; r < v.length / C; r++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (v[r * C + c] > v[r * C + best]) best = c;
      expected.push(best);
    }
    const y = tensor(v).reshape(shape);
    assert.equal(onecold(y), expected);
    const names = Array.from({ length: C }, (_, i) => `class${i}`);
    assert.equal(onecold(y, names), expected.map((i) => names[i]));
    // a view (transposed twice is still the same values) reads the same
    assert.equal(onecold(y.permute([1, 0, 2]).permute([1, 0, 2])), expected);
  }), { numRuns: 200 });
  assert.equal(onecold(tensor([-Infinity, -Infinity])), [0]);
  assert.equal(onecold(tensor([0.1, 0.7, 0.2]), ['a', 'b', 'c']), ['b']);
});

test('errors: unknown labels, repeated or empty classes, mismatched lengths, NaN scores', () => {
  assertThrows(() => onehot(7, [0, 1, 2]), RangeError, ['onehot', 'label 7 is not among the classes [0, 1, 2]'], 'onehot unknown');
  assertThrows(() => onehotbatch([0, 'x', 1], [0, 1]), RangeError, ['onehotbatch', 'label "x" at position 1 is not among the classes [0, 1]'], 'batch unknown');
  assertThrows(() => onehotbatch([1], Array.from({ length: 20 }, (_, i) => i + 2)), RangeError, ['… (20 in all)'], 'long class list');
  assertThrows(() => onehotbatch([0], [0, 1, 0]), RangeError, ['class 0 appears twice', 'positions 0 and 2'], 'repeated class');
  assertThrows(() => onehot(0, []), RangeError, ['the list of classes is empty'], 'empty classes');
  assertThrows(() => onehotbatch('ab' as unknown as string[], ['a', 'b']), TypeError, ['labels must be an array'], 'string labels');
  assertThrows(() => onehotbatch(tensor([[1]]), [1]), ShapeError, ['1-d tensor of labels', '[1,1]'], '2-d tensor labels');
  assertThrows(() => onecold(tensor([[1, 2]]), [1, 2, 3]), ShapeError, ['onecold', '3 classes for vectors of length 2', '[1,2]'], 'class count');
  assertThrows(() => onecold(tensor(3)), ShapeError, ['at least one dimension'], '0-d');
  assertThrows(() => onecold(tensor([[1, 2], [NaN, 0]])), RangeError, ['row 1', 'contains NaN'], 'NaN');
  assertThrows(() => onecold([1, 2] as never), TypeError, ['expected a tensor'], 'array');
});

test.run();
