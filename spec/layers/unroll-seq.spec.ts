/**
 * `unroll` (src/layers/stateful.ts) over a `Seq` (src/layers/batch.ts): the time axis of a Seq
 * is its first list level, whatever the points' shape — a Seq of points [F] is [T, F], of
 * batched points [B, F] is [T, B, F] (not batch-first), a Batch of Seqs is [B, T, F]. Values
 * against a tanh-RNN loop written here and against unroll over a plain array; stateful cells
 * continuing across calls; gradients by finite differences.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Layer, RNNCell, Tensor, index, layer } from '../../src/index.js';
import { Batch, Seq, isBatched, rawbatch } from '../../src/layers/batch.js';
import { reset, stateful, unroll } from '../../src/layers/stateful.js';
import { f64, fmap } from '../../src/layers/tree.js';
import { checkLayerGradient, close, randomTensor } from '../_helpers/layers.js';

/** A float64 tanh RNN cell with seeded random weights and (non-zero) biases. */
function randomCell(inp: number, H: number, s: number): RNNCell {
  let k = s;
  return fmap((t) => randomTensor(t.shape as number[], k++ * 7919, 'float64'), f64(RNNCell(inp, H)));
}

/** h′ = tanh(W_ih·x + b_ih + W_hh·h + b_hh) for one sample, in plain loops. */
function rnnStep(cell: RNNCell, x: ArrayLike<number>, h: ArrayLike<number>): number[] {
  const wi = cell.weightIh.data, wh = cell.weightHh.data;
  const bi = cell.biasIh === false ? null : cell.biasIh.data, bh = cell.biasHh === false ? null : cell.biasHh.data;
  const H = cell.weightHh.shape[0], inp = cell.weightIh.shape[1];
  return Array.from({ length: H }, (_, r) => {
    let v = (bi?.[r] ?? 0) + (bh?.[r] ?? 0);
    for (let j = 0; j < inp; j++) v += wi[r * inp + j] * x[j];
    for (let j = 0; j < H; j++) v += wh[r * H + j] * h[j];
    return Math.tanh(v);
  });
}

/** The outputs of each step for each sample: `ys[t][b]` = h after step t; `xs[t][b]` is the input. */
function loop(cell: RNNCell, xs: number[][][], h0?: number[][]): number[][][] {
  const H = cell.weightHh.shape[0];
  let h = h0 ?? xs[0].map(() => new Array<number>(H).fill(0));
  return xs.map((xt) => (h = xt.map((x, b) => rnnStep(cell, x, h[b]))));
}

/** The rows of a [B, F] tensor (or the single row of an [F] one). */
const rows = (t: Tensor): number[][] => {
  const F = t.shape[t.ndim - 1], a = Array.from(t.data);
  return Array.from({ length: a.length / F }, (_, b) => a.slice(b * F, (b + 1) * F));
};

const dims = fc.record({ T: fc.integer({ min: 1, max: 4 }), B: fc.integer({ min: 1, max: 4 }), inp: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 0, max: 1e6 }) });

test('unroll over a Seq of points [F] and of batched points [B, F]: the loop, and the same as over the array', () => {
  fc.assert(fc.property(dims, fc.boolean(), ({ T, B, inp, H, s }, batched) => {
    const cell = randomCell(inp, H, s);
    const points = Array.from({ length: T }, (_, t) => randomTensor(batched ? [B, inp] : [inp], s + 1 + t, 'float64'));
    const u = unroll(cell, T);
    const y = u(Seq(points));
    assert.ok(isBatched(y), 'a Seq in, a Seq out');
    assert.equal(y.levels, ['Seq']);
    assert.equal(rawbatch(y).shape, batched ? [T, B, H] : [T, H]);
    const ref = loop(cell, points.map(rows));
    close(rawbatch(y), ref.flat(2), 1e-12, `unroll over Seq (batched=${batched}, T=${T}, B=${B})`);
    const ys = u(points) as Tensor[];
    ys.forEach((yt, t) => close(y.at(t) as Tensor, yt.data, 0, `step ${t}: Seq vs array`));
  }), { numRuns: 40 });
});

test('unroll over a Batch of Seqs [B, T, F]: time is the Seq level (axis 1); a Batch of Seqs comes back', () => {
  fc.assert(fc.property(dims, ({ T, B, inp, H, s }) => {
    const cell = randomCell(inp, H, s);
    const seqs = Array.from({ length: B }, (_, b) => Seq(Array.from({ length: T }, (_, t) => randomTensor([inp], s + 100 * b + t, 'float64'))));
    const y = unroll(cell, T)(Batch(seqs));
    assert.ok(isBatched(y));
    assert.equal(y.levels, ['Batch', 'Seq']);
    assert.equal(rawbatch(y).shape, [B, T, H]);
    // xs[t][b]: step t of sample b
    const xs = Array.from({ length: T }, (_, t) => seqs.map((q) => Array.from((q.at(t) as Tensor).data)));
    const ref = loop(cell, xs);
    const expected = Array.from({ length: B }, (_, b) => ref.map((yt) => yt[b])).flat(2);
    close(rawbatch(y), expected, 1e-12, 'Batch of Seqs vs loop');
    close(rawbatch(y), (unroll(cell, T)(rawbatch(Batch(seqs))) as Tensor).data, 0, 'Batch of Seqs vs the batch-first tensor');
  }), { numRuns: 30 });
});

test('a stateful cell unrolled over Seqs continues across calls as over arrays; reset starts afresh', () => {
  const T = 3, B = 2, inp = 2, H = 3;
  const points = Array.from({ length: 2 * T }, (_, t) => randomTensor([B, inp], 10 + t, 'float64'));
  const first = points.slice(0, T), second = points.slice(T);
  const bySeq = unroll(stateful(randomCell(inp, H, 7)), T);
  const byArray = unroll(stateful(randomCell(inp, H, 7)), T);
  const ref = loop(randomCell(inp, H, 7), points.map(rows));
  const y1 = bySeq(Seq(first)), y2 = bySeq(Seq(second));
  close(rawbatch(y1), ref.slice(0, T).flat(2), 1e-12, 'first call vs loop');
  close(rawbatch(y2), ref.slice(T).flat(2), 1e-12, 'second call continues the loop');
  const a1 = byArray(first) as Tensor[], a2 = byArray(second) as Tensor[];
  close(rawbatch(y2), a2.flatMap((t) => Array.from(t.data)), 0, 'second call: Seq vs array');
  close(rawbatch(y1), a1.flatMap((t) => Array.from(t.data)), 0, 'first call: Seq vs array');
  reset(bySeq);
  close(rawbatch(bySeq(Seq(first))), ref.slice(0, T).flat(2), 1e-12, 'after reset: from the initial state again');
});

test('a cell unrolled over a Seq starts from a given state', () => {
  const cell = randomCell(2, 3, 21);
  const points = [0, 1, 2].map((t) => randomTensor([4, 2], 30 + t, 'float64'));
  const h0 = randomTensor([4, 3], 40, 'float64');
  const y = unroll(cell, 3)(Seq(points), h0);
  close(rawbatch(y), loop(cell, points.map(rows), rows(h0)).flat(2), 1e-12, 'from h0');
});

// A layer taking the steps as one [T, B, F] tensor and running the unroll over them as a Seq.
const OverSeq = layer(class OverSeq extends Layer<[Tensor], Tensor> {
  constructor(public u: ReturnType<typeof unroll>, public T: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    return rawbatch(this.u(Seq(Array.from({ length: this.T }, (_, t) => index(x, t)))));
  }
});

test('gradients through unroll over a Seq (inputs and every parameter) by finite differences', () => {
  fc.assert(fc.property(dims, ({ T, B, inp, H, s }) => {
    const u = unroll(randomCell(inp, H, s), T);
    checkLayerGradient(OverSeq(u, T), [randomTensor([T, B, inp], s + 1, 'float64')], s, `unroll over Seq T=${T} B=${B}`);
  }), { numRuns: 10 });
});

test('unroll over a Seq of the wrong length: a clear error', () => {
  const u = unroll(RNNCell(2, 3), 3);
  assert.throws(() => u(Seq([randomTensor([2], 1), randomTensor([2], 2)])), (e: Error) => e instanceof RangeError && /expects 3 inputs, got 2/.test(e.message));
});

test.run();
