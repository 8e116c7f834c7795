/** DataLoader: batch contents against slicing by hand, shuffles, structures, views and errors. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { DataLoader } from '../../src/data/dataloader.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/convert.js';
import { seed } from '../../src/tensor/random.js';
import { ShapeError } from '../../src/tensor/shape.js';
import { assertThrows } from '../_helpers/reference.js';

/** X row i is [i, 10 i + 0.5] and Y[i] = -i, so any batch row tells which observation it is. */
function dataset(n: number) {
  const X = tensor(Array.from({ length: n }, (_, i) => [i, 10 * i + 0.5]));
  const Y = tensor(Array.from({ length: n }, (_, i) => -i), { dtype: 'float32' });
  return { X, Y };
}
const ids = (x: Tensor) => (x.toArray() as number[][]).map((r) => r[0]);

test('without shuffle: consecutive batches in order, lengths with and without partial', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), (n, batchSize, partial) => {
    const { X, Y } = dataset(n);
    const loader = DataLoader([X, Y], { batchSize, partial });
    const full = Math.floor(n / batchSize), expectedLength = partial && n % batchSize ? full + 1 : full;
    assert.is(loader.length, expectedLength);
    assert.is(loader.observations, n);
    assert.is(loader.batchSize, batchSize);
    const seen: number[] = [];
    let count = 0;
    for (const [x, y] of loader) {
      const expected = Array.from({ length: Math.min(batchSize, n - count * batchSize) }, (_, k) => count * batchSize + k);
      assert.equal(ids(x), expected);
      assert.equal(Array.from(y.data), expected.map((i) => -i));
      assert.equal((x.toArray() as number[][]).map((r) => r[1]), expected.map((i) => 10 * i + 0.5));
      assert.is(y.dtype, 'float32');
      seen.push(...expected);
      count++;
    }
    assert.is(count, expectedLength);
    assert.equal(seen, Array.from({ length: partial ? n : full * batchSize }, (_, i) => i));
  }), { numRuns: 150 });
});

test('without shuffle the batches are views: writing into one writes into the data', () => {
  const { X } = dataset(6);
  const [, second] = [...DataLoader(X, { batchSize: 4 })];
  assert.equal([...second.shape], [2, 2]);
  second.assign(tensor([[100, 100], [100, 100]]));
  assert.equal(ids(X), [0, 1, 2, 3, 100, 100]);
});

test('with shuffle: each epoch is a permutation, rows stay paired, epochs differ, batches are copies', () => {
  const { X, Y } = dataset(50);
  const loader = DataLoader({ x: X, y: Y }, { batchSize: 7, shuffle: true, rng: 1 });
  const epochs: number[][] = [];
  for (let e = 0; e < 3; e++) {
    const order: number[] = [];
    for (const batch of loader) {
      assert.equal(Object.keys(batch), ['x', 'y']);
      const xs = ids(batch.x);
      assert.equal(Array.from(batch.y.data), xs.map((i) => -i));
      assert.equal((batch.x.toArray() as number[][]).map((r) => r[1]), xs.map((i) => 10 * i + 0.5));
      order.push(...xs);
    }
    assert.equal([...order].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i), 'a permutation');
    epochs.push(order);
  }
  assert.not.equal(epochs[0], epochs[1]);
  assert.not.equal(epochs[1], epochs[2]);
  const first = [...DataLoader(X, { batchSize: 50, shuffle: true, rng: 5 })][0];
  first.assign(0);
  assert.equal(ids(X), Array.from({ length: 50 }, (_, i) => i), 'a shuffled batch is not a view');
});

test('shuffles are reproducible: the same seed option, or seed(n) for the global generator', () => {
  const { X } = dataset(30);
  const epochsOf = (loader: Iterable<Tensor>, k: number) => Array.from({ length: k }, () => [...loader].flatMap(ids));
  const a = epochsOf(DataLoader(X, { batchSize: 4, shuffle: true, rng: 42 }), 3);
  const b = epochsOf(DataLoader(X, { batchSize: 4, shuffle: true, rng: 42 }), 3);
  assert.equal(a, b);
  assert.not.equal(a, epochsOf(DataLoader(X, { batchSize: 4, shuffle: true, rng: 43 }), 3));
  seed(7);
  const g1 = epochsOf(DataLoader(X, { batchSize: 4, shuffle: true }), 2);
  seed(7);
  const g2 = epochsOf(DataLoader(X, { batchSize: 4, shuffle: true }), 2);
  assert.equal(g1, g2);
});

test('shuffles are uniform: all 6 orders of 3 observations about equally often', () => {
  const counts = new Map<string, number>();
  const loader = DataLoader(dataset(3).X, { batchSize: 3, shuffle: true, rng: 2024 });
  const trials = 6000;
  for (let t = 0; t < trials; t++) {
    const key = ids([...loader][0]).join('');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal([...counts.keys()].sort(), ['012', '021', '102', '120', '201', '210']);
  // chi-square with 5 degrees of freedom: 20.5 is the 0.999 quantile
  const chi2 = [...counts.values()].reduce((s, c) => s + (c - trials / 6) ** 2 / (trials / 6), 0);
  assert.ok(chi2 < 20.5, `chi-square ${chi2.toFixed(2)} for ${JSON.stringify([...counts])}`);
});

test('an rng function is used as the source of uniform numbers', () => {
  let calls = 0;
  const loader = DataLoader(dataset(10).X, { batchSize: 10, shuffle: true, rng: () => { calls++; return 0.999; } });
  const order = ids([...loader][0]);
  assert.is(calls, 9);
  // u just below 1 picks the last remaining position every time: the identity order
  assert.equal(order, Array.from({ length: 10 }, (_, i) => i));
});

test('one tensor, an array and an object; collate; a dataset of zero observations', () => {
  const { X, Y } = dataset(5);
  const single = [...DataLoader(Y, { batchSize: 2 })];
  assert.ok(single.every((b) => b instanceof Tensor));
  assert.equal(single.map((b) => [...b.shape]), [[2], [2], [1]]);
  const triple = [...DataLoader([X, Y, X], { batchSize: 5 })][0];
  assert.is(triple.length, 3);
  const collated = [...DataLoader({ x: X, y: Y }, { batchSize: 2, collate: ({ x, y }) => ({ n: x.shape[0], sum: Array.from(y.data).reduce((s, v) => s + v, 0) }) })];
  assert.equal(collated, [{ n: 2, sum: -1 }, { n: 2, sum: -5 }, { n: 1, sum: -4 }]);
  const empty = DataLoader(tensor([]).reshape([0, 3]), { batchSize: 4 });
  assert.is(empty.length, 0);
  assert.equal([...empty], []);
  assert.equal([...DataLoader(dataset(0).X, { batchSize: 4, shuffle: true })], []);
});

test('errors name the problem: mismatched counts (both counts), bad options, bad data', () => {
  const { X } = dataset(5);
  const short = dataset(4).Y;
  assertThrows(() => DataLoader([X, short]), ShapeError, ['DataLoader', 'element 0 has 5 observations (shape [5,2])', 'element 1 has 4 (shape [4])'], 'tuple counts');
  assertThrows(() => DataLoader({ x: X, y: short }), ShapeError, ['"x" has 5 observations', '"y" has 4'], 'object counts');
  for (const batchSize of [0, -1, 1.5, NaN]) assertThrows(() => DataLoader(X, { batchSize }), RangeError, ['batchSize must be a positive integer'], `batchSize ${batchSize}`);
  assertThrows(() => DataLoader(tensor(3)), ShapeError, ['0-d', 'first dimension'], '0-d');
  assertThrows(() => DataLoader([X, [1, 2] as unknown as Tensor]), TypeError, ['element 1 is not a Tensor'], 'non-tensor');
  assertThrows(() => DataLoader([]), TypeError, ['empty'], 'empty array');
  assertThrows(() => DataLoader({}), TypeError, ['empty'], 'empty object');
  assertThrows(() => DataLoader(null as never), TypeError, ['expected a tensor'], 'null');
  assertThrows(() => DataLoader(X, { shuffle: true, rng: 'x' as never }), TypeError, ['rng must be a seed number or a function'], 'bad rng');
  assertThrows(() => DataLoader(X, { rng: Infinity }), TypeError, ['rng must be'], 'infinite seed');
  assertThrows(() => [...DataLoader(X, { shuffle: true, rng: () => 1 })], RangeError, ['the rng function returned 1'], 'rng out of range');
  assertThrows(() => DataLoader(X, { collate: 3 as never }), TypeError, ['collate must be a function'], 'collate');
});

test.run();
