/** Batch and Seq (src/layers/batch.ts): one tensor underneath a list of data points. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Chain, Dense, ShapeError, Tensor, gradient, relu, seed, sum, tensor, fromData } from '../../src/index.js';
import { Batch, Batched, Seq, isBatched, rawbatch } from '../../src/layers/batch.js';
import { outputSize, shapes } from '../../src/layers/debug.js';
import { seededValues } from '../_helpers/arbitraries.js';

const randomTensor = (shape: number[], s: number): Tensor => fromData(seededValues(shape.reduce((a, b) => a * b, 1), s, 'float32'), shape);
const values = (x: Tensor | Batched): number[] => Array.from((x instanceof Tensor ? x : rawbatch(x)).data);

test('Batch: one stacked tensor; at, negative at, length, iteration, toArray', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }), fc.integer({ min: 0, max: 1e6 }), (n, shape, s) => {
    const points = Array.from({ length: n }, (_, i) => randomTensor(shape, s + i));
    const b = Batch(points);
    assert.ok(isBatched(b));
    assert.is(b.kind, 'Batch');
    assert.is(b.length, n);
    assert.equal(rawbatch(b).shape, [n, ...shape]);
    assert.equal(values(rawbatch(b)), points.flatMap((p) => Array.from(p.data)));
    points.forEach((p, i) => {
      assert.equal(values(b.at(i) as Tensor), Array.from(p.data));
      assert.equal(values(b.at(i - n) as Tensor), Array.from(p.data));
    });
    assert.equal([...b].map((p) => values(p)), points.map((p) => Array.from(p.data)));
    assert.is(b.toArray().length, n);
  }), { numRuns: 30 });
});

test('Seq is time first; nesting: Batch of Seqs is [B, T, F]; indexing gives the inner lists', () => {
  const seqs = [0, 1].map((k) => Seq([0, 1, 2].map((t) => [k, t, 10 * k + t, -1])));
  assert.equal(rawbatch(seqs[0]).shape, [3, 4]);
  const b = Batch(seqs);
  assert.equal(rawbatch(b).shape, [2, 3, 4]);
  assert.equal(b.levels, ['Batch', 'Seq']);
  const inner = b.at(1) as Batched;
  assert.is(inner.kind, 'Seq');
  assert.equal(values(inner.at(2) as Tensor), [1, 2, 12, -1]);
  assert.is(String(b), '2-element Batch of 3-element Seq of Tensor[4]');
});

test('printing as a list', () => {
  assert.is(String(Batch([tensor([1, 2, 3]), tensor([4, 5, 6])])), '2-element Batch of Tensor[3]');
  assert.is(String(Seq([1, 2, 3, 4, 5])), '5-element Seq of Tensor[]');
  assert.is(String(Batch([[[1, 2]], [[3, 4]], [[5, 6]]])), '3-element Batch of Tensor[1, 2]');
});

test('map: a list of the same kind of the results', () => {
  const b = Batch([tensor([1, 2]), tensor([3, 4]), tensor([5, 6])]);
  const m = b.map((p, i) => (p as Tensor).mul(i));
  assert.is(m.kind, 'Batch');
  assert.equal(values(m), [0, 0, 3, 4, 10, 12]);
  const s = b.map((p) => sum(p as Tensor));
  assert.equal(rawbatch(s).shape, [3]);
  assert.equal(values(s), [3, 7, 11]);
});

test('models take a Batch and return a Batch of the outputs; a single point works too; a reduction returns a tensor', () => {
  seed(1);
  const model = Chain(Dense(3, 4, relu), Dense(4, 2));
  const points = [0, 1, 2].map((i) => randomTensor([3], i));
  const b = Batch(points);
  const y = model(b) as Batched;
  assert.ok(isBatched(y));
  assert.is(String(y), '3-element Batch of Tensor[2]');
  points.forEach((p, i) => {
    const single = model(p) as Tensor;
    const yi = y.at(i) as Tensor;
    Array.from(single.data).forEach((v, j) => assert.ok(Math.abs(v - yi.data[j]) < 1e-6, 'the point alone gives the same output'));
  });
  const nested = Batch([Seq(points), Seq(points.slice().reverse())]);
  const yn = model(nested) as Batched;
  assert.equal(yn.levels, ['Batch', 'Seq']);
  assert.equal(rawbatch(yn).shape, [2, 3, 2]);
  const total = Chain(model, (t: Tensor) => sum(t))(b);
  assert.ok(total instanceof Tensor && total.ndim === 0, 'a loss over the batch is not wrapped');
  const [g] = gradient((m: typeof model) => sum(rawbatch(m(b) as Batched)), model) as any[];
  assert.equal(g.layers[0].weight.shape, [4, 3]);
  assert.equal(outputSize(model, [3, 3]), [3, 2]);
  assert.ok(shapes(model, b).startsWith('Chain'));
});

test('errors', () => {
  const thrown = (f: () => unknown): Error => { try { f(); } catch (e) { return e as Error; } throw new Error('expected an error'); };
  let e = thrown(() => Batch([]));
  assert.instance(e, RangeError);
  assert.is(e.message, 'Batch: needs at least one data point (an empty list has no point shape)');
  e = thrown(() => Batch([tensor([1, 2]), tensor([1, 2, 3])]));
  assert.instance(e, ShapeError);
  assert.is(e.message, 'Batch: every point must have one shape; point 0 has shape [2], point 1 has [3]');
  e = thrown(() => Seq([Seq([1]), tensor([1])]));
  assert.is(e.message, 'Seq: the points must be all tensors or all Batches/Seqs, not a mix');
  e = thrown(() => Batch([Seq([1]), Batch([1])]));
  assert.is(e.message, 'Batch: point 1 is a 1-element Batch of Tensor[], point 0 a 1-element Seq of Tensor[]; the points must be lists of one kind');
  e = thrown(() => Batch([tensor([1]), tensor([2])]).at(2));
  assert.instance(e, RangeError);
  assert.is(e.message, 'Batch.at: index 2 is out of range for a 2-element Batch');
  assert.is(thrown(() => rawbatch(3 as never)).message, 'rawbatch: expects a Batch, a Seq or a tensor, got number');
  assert.is(thrown(() => Chain(Dense(3, 2))(Batch([tensor([1, 2], { dtype: 'float32' })]))).message, 'Chain[0] → Dense(3 => 2) expects 3 input features, got input of shape [1, 2]');
});

test.run();
