/**
 * Recurrent cells and sequence layers (src/layers/recurrent.ts) and the stateful style
 * (src/layers/stateful.ts): values against loops written here and against TF.js's
 * tf.layers.lstm / tf.layers.gru, gradients through time by finite differences, stateful/reset
 * semantics in both styles of taking gradients, masks, unroll, flip, Bidirectional, printing
 * and errors.
 *
 * Mapping onto TF.js (Keras layout): TF.js's LSTM kernel is [in, 4·units] with gate blocks
 * i, f, c, o — the same order as ours (i, f, g, o), so kernel = weightIhᵀ,
 * recurrentKernel = weightHhᵀ and bias = biasIh + biasHh. TF.js's GRU kernel blocks are
 * z, r, h (ours r, z, n), and TF.js has only reset_after = false (it throws on resetAfter:
 * true): n = tanh(W_in·x + W_hn·(r ⊙ h) + b). PyTorch's GRU (our default) is reset_after =
 * true, n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn)), so TF.js is compared with our
 * `resetAfter: false` and PyTorch's form is checked against the loop below. TF.js's default
 * recurrent activation is hardSigmoid: the comparison sets 'sigmoid'.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Chain, Dense, Layer, ShapeError, Tensor, add, concat, fromData, gradient, layer, matmul, nonTrainable, params, seed,
  sum, tanh, mul, zeros, trainables, state, loadState, relu, stopGradient,
} from '../../src/index.js';
import { GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell, Recurrence, initialState, type LSTMState } from '../../src/layers/recurrent.js';
import { Bidirectional, flip, reset, stateful, unroll } from '../../src/layers/stateful.js';
import { f64, fmap, tensorEntries } from '../../src/layers/tree.js';
import { checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import { checkLayerGradient, close, randomTensor } from '../_helpers/layers.js';

const tf: typeof import('@tensorflow/tfjs') = await import('@tensorflow/tfjs');
tf.enableProdMode();
await tf.setBackend('cpu');

/** Seeded random values, float64 by default (most of these specs check gradients). */
const rand = (shape: number[], s: number, dtype: 'float32' | 'float64' = 'float64'): Tensor => randomTensor(shape, s, dtype);

/** Give every tensor of a model seeded random values (float64), so biases are not zero. */
function randomise<M>(model: M, s: number): M {
  let k = s;
  return fmap((t) => rand(t.shape as number[], k++ * 7919, 'float64'), f64(model));
}

// ---------------------------------------------------------------- reference loops (float64, PyTorch's equations)

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/** Row r of W (shape [rows, cols]) · v. */
function rowDot(W: Float64Array | Float32Array, cols: number, r: number, v: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < cols; j++) s += W[r * cols + j] * v[j];
  return s;
}

interface Weights { wi: Float64Array; wh: Float64Array; bi: Float64Array; bh: Float64Array; inp: number; H: number }
function weightsOf(cell: any): Weights {
  const H = cell.weightHh.shape[1], inp = cell.weightIh.shape[1];
  const z = new Float64Array(cell.weightHh.shape[0]);
  return {
    wi: Float64Array.from(cell.weightIh.data), wh: Float64Array.from(cell.weightHh.data),
    bi: cell.biasIh === false ? z : Float64Array.from(cell.biasIh.data), bh: cell.biasHh === false ? z : Float64Array.from(cell.biasHh.data), inp, H,
  };
}

/** One step of each cell for one sequence element; returns the new [h, c]. */
function lstmStep(w: Weights, x: ArrayLike<number>, h: Float64Array, c: Float64Array): [Float64Array, Float64Array] {
  const { H } = w;
  const pre = (g: number, k: number): number => rowDot(w.wi, w.inp, g * H + k, x) + w.bi[g * H + k] + rowDot(w.wh, H, g * H + k, h) + w.bh[g * H + k];
  const h2 = new Float64Array(H), c2 = new Float64Array(H);
  for (let k = 0; k < H; k++) {
    const i = sig(pre(0, k)), f = sig(pre(1, k)), g = Math.tanh(pre(2, k)), o = sig(pre(3, k));
    c2[k] = f * c[k] + i * g;
    h2[k] = o * Math.tanh(c2[k]);
  }
  return [h2, c2];
}

function gruStep(w: Weights, x: ArrayLike<number>, h: Float64Array, resetAfter: boolean): Float64Array {
  const { H } = w;
  const xi = (g: number, k: number): number => rowDot(w.wi, w.inp, g * H + k, x) + w.bi[g * H + k];
  const hh = (g: number, k: number, v: ArrayLike<number>): number => rowDot(w.wh, H, g * H + k, v) + w.bh[g * H + k];
  const r = Array.from({ length: H }, (_, k) => sig(xi(0, k) + hh(0, k, h)));
  const z = Array.from({ length: H }, (_, k) => sig(xi(1, k) + hh(1, k, h)));
  const rh = h.map((v, k) => r[k] * v);
  const out = new Float64Array(H);
  for (let k = 0; k < H; k++) {
    const n = Math.tanh(xi(2, k) + (resetAfter ? r[k] * hh(2, k, h) : hh(2, k, rh)));
    out[k] = (1 - z[k]) * n + z[k] * h[k];
  }
  return out;
}

function rnnStep(w: Weights, x: ArrayLike<number>, h: Float64Array, σ: (v: number) => number): Float64Array {
  return Float64Array.from({ length: w.H }, (_, k) => σ(rowDot(w.wi, w.inp, k, x) + w.bi[k] + rowDot(w.wh, w.H, k, h) + w.bh[k]));
}

type Step = (x: ArrayLike<number>, s: Float64Array[]) => Float64Array[];
/** Outputs [B, T, H] and final states (per state component, [B, H]) of a step function over x [B, T, in], with an optional mask [B][T]. */
function runLoop(x: Tensor, H: number, nState: number, step: Step, mask?: number[][]): { ys: Float64Array; finals: Float64Array[] } {
  const [B, T, inp] = x.shape;
  const ys = new Float64Array(B * T * H);
  const finals = Array.from({ length: nState }, () => new Float64Array(B * H));
  for (let b = 0; b < B; b++) {
    let s: Float64Array[] = Array.from({ length: nState }, () => new Float64Array(H));
    for (let t = 0; t < T; t++) {
      if (mask !== undefined && mask[b][t] === 0) continue; // padding: state kept, output 0
      const xt = x.data.subarray((b * T + t) * inp, (b * T + t + 1) * inp);
      s = step(xt, s);
      ys.set(s[0], (b * T + t) * H);
    }
    s.forEach((v, i) => finals[i].set(v, b * H));
  }
  return { ys, finals };
}

const dims = fc.record({ B: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 4 }), inp: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 1e6 }) });

test('LSTM, GRU (both reset placements) and RNN: outputs and final states against loops', () => {
  fc.assert(fc.property(dims, ({ B, T, inp, H, s }) => {
    const x = rand([B, T, inp], s);
    const lstm = randomise(LSTM(inp, H, { returnState: true }), s);
    const w = weightsOf(lstm.cell);
    const [y, st] = lstm(x) as [Tensor, LSTMState];
    const ref = runLoop(x, H, 2, (xt, [h, c]) => lstmStep(w, xt, h, c));
    close(y, ref.ys, 1e-12, 'LSTM y');
    close(st.h, ref.finals[0], 1e-12, 'LSTM h');
    close(st.c, ref.finals[1], 1e-12, 'LSTM c');
    for (const resetAfter of [true, false]) {
      const gru = randomise(GRU(inp, H, { returnState: true, resetAfter }), s + 1);
      const wg = weightsOf(gru.cell);
      const [yg, hg] = gru(x) as [Tensor, Tensor];
      const rg = runLoop(x, H, 1, (xt, [h]) => [gruStep(wg, xt, h, resetAfter)]);
      close(yg, rg.ys, 1e-12, `GRU(resetAfter=${resetAfter}) y`);
      close(hg, rg.finals[0], 1e-12, 'GRU h');
    }
    const rnn = randomise(RNN(inp, H, relu), s + 2);
    const wr = weightsOf(rnn.cell);
    close(rnn(x) as Tensor, runLoop(x, H, 1, (xt, [h]) => [rnnStep(wr, xt, h, (v) => Math.max(v, 0))]).ys, 1e-12, 'RNN(relu) y');
  }), { numRuns: 25 });
});

test('cells: one step equals the loop, batched and unbatched; initialState gives zeros of [B, out] / { h, c }', () => {
  const cell = randomise(LSTMCell(3, 2), 5);
  const w = weightsOf(cell);
  const x = rand([2, 3], 1), h = rand([2, 2], 2), c = rand([2, 2], 3);
  const [y, s] = cell(x, { h, c });
  const r0 = lstmStep(w, x.data.subarray(0, 3), Float64Array.from(h.data.subarray(0, 2)), Float64Array.from(c.data.subarray(0, 2)));
  const r1 = lstmStep(w, x.data.subarray(3, 6), Float64Array.from(h.data.subarray(2, 4)), Float64Array.from(c.data.subarray(2, 4)));
  close(y, [...r0[0], ...r1[0]], 1e-12, 'h′');
  close(s.c, [...r0[1], ...r1[1]], 1e-12, 'c′');
  assert.is(y, s.h);
  const [yu] = cell(index0(x), { h: index0(h), c: index0(c) });
  assert.equal(yu.shape, [2]);
  close(yu, r0[0], 1e-12, 'unbatched');
  const st = initialState<LSTMState>(cell, 4);
  assert.equal(st.h.shape, [4, 2]);
  assert.ok(st.c.data.every((v) => v === 0));
  assert.equal(initialState<Tensor>(GRUCell(3, 5), 2).shape, [2, 5]);
  assert.equal(initialState<Tensor>(RNNCell(3, 5)).shape, [5]);
  assert.equal(initialState<LSTMState>(LSTM(3, 5), 2).h.shape, [2, 5]);
});

const index0 = (t: Tensor): Tensor => fromData(t.data.slice(0, t.shape[1]), [t.shape[1]]);

test('initialisation: gate blocks, forget bias 1 (an option), float32 by default', () => {
  seed(3);
  const cell = LSTMCell(4, 3);
  assert.is(cell.weightIh.dtype, 'float32');
  assert.equal(cell.weightIh.shape, [12, 4]);
  assert.equal(cell.weightHh.shape, [12, 3]);
  assert.equal(Array.from((cell.biasIh as Tensor).data), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  assert.ok((cell.biasHh as Tensor).data.every((v) => v === 0));
  assert.ok((LSTMCell(4, 3, { forgetBias: 0 }).biasIh as Tensor).data.every((v) => v === 0));
  // each recurrent block is orthogonal: Wₖ·Wₖᵀ = I
  for (let g = 0; g < 4; g++) {
    const blk = fromData(Float64Array.from(cell.weightHh.data.subarray(g * 9, g * 9 + 9)), [3, 3]);
    close(matmul(blk, blk.T), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-5, `block ${g}`);
  }
  assert.is(LSTMCell(2, 2, { bias: false }).biasIh, false);
});

/** TF.js LSTM/GRU with our weights mapped onto its layout. */
function tfRun(kind: 'lstm' | 'gru', cell: any, x: Tensor): { y: Float32Array; h: Float32Array; c?: Float32Array } {
  const H = cell.weightHh.shape[1];
  const wi = cell.weightIh as Tensor, wh = cell.weightHh as Tensor;
  const bias = add(cell.biasIh as Tensor, cell.biasHh as Tensor);
  let kernel = wi.T, rec = wh.T, b = bias;
  if (kind === 'gru') {
    // ours r, z, n → TF.js z, r, h
    const blocks = (t: Tensor, axis: number): Tensor[] => [0, 1, 2].map((g) => (axis === 1 ? t.slice([null, [g * H, (g + 1) * H]]) : t.slice([[g * H, (g + 1) * H]])));
    const re = (t: Tensor, axis: number): Tensor => { const [r, z, n] = blocks(t, axis); return concat([z, r, n], axis); };
    kernel = re(kernel, 1);
    rec = re(rec, 1);
    b = re(b, 0);
  }
  const opts = { units: H, returnSequences: true, returnState: true, recurrentActivation: 'sigmoid' as const, weights: [tf.tensor(kernel.toArray() as number[][]), tf.tensor(rec.toArray() as number[][]), tf.tensor(b.toArray() as number[])] };
  const l = kind === 'lstm' ? tf.layers.lstm(opts) : tf.layers.gru({ ...opts, resetAfter: false } as never);
  const out = l.apply(tf.tensor(x.toArray() as number[][][])) as import('@tensorflow/tfjs').Tensor[];
  // TF.js LSTM returns [y, h, c]; GRU [y, h]
  return { y: out[0].dataSync() as Float32Array, h: out[1].dataSync() as Float32Array, c: kind === 'lstm' ? (out[2].dataSync() as Float32Array) : undefined };
}

test('LSTM and GRU(resetAfter=false) against tf.layers.lstm / tf.layers.gru given the same weights', () => {
  fc.assert(fc.property(dims, ({ B, T, inp, H, s }) => {
    const x = rand([B, T, inp], s, 'float32');
    const lstm = fmap((t) => rand(t.shape as number[], s + t.size, 'float32'), LSTM(inp, H, { returnState: true }));
    const [y, st] = lstm(x) as [Tensor, LSTMState];
    const ref = tfRun('lstm', lstm.cell, x);
    close(y, ref.y, 1e-5, 'LSTM y vs TF.js');
    close(st.h, ref.h, 1e-5, 'LSTM h vs TF.js');
    close(st.c, ref.c!, 1e-5, 'LSTM c vs TF.js');
    const gru = fmap((t) => rand(t.shape as number[], s + 3 * t.size, 'float32'), GRU(inp, H, { returnState: true, resetAfter: false }));
    const [yg, hg] = gru(x) as [Tensor, Tensor];
    const rg = tfRun('gru', gru.cell, x);
    close(yg, rg.y, 1e-5, 'GRU y vs TF.js');
    close(hg, rg.h, 1e-5, 'GRU h vs TF.js');
  }), { numRuns: 10 });
  assert.throws(() => tf.layers.gru({ units: 2, resetAfter: true } as never), /reset_after/);
});

// ---------------------------------------------------------------- gradients through time

test('gradients by finite differences: RNN/LSTM/GRU cells (inputs, state, parameters) and sequence layers', () => {
  const x = rand([2, 3], 11), h = rand([2, 2], 12), c = rand([2, 2], 13);
  for (const [name, cell] of [['RNNCell', RNNCell(3, 2)], ['LSTMCell', LSTMCell(3, 2)], ['GRUCell', GRUCell(3, 2)], ['GRUCell(resetAfter=false)', GRUCell(3, 2, { resetAfter: false })]] as const) {
    const m = randomise(cell, 21);
    const ps = tensorEntries(m).map((e) => e.tensor);
    const lstm = name === 'LSTMCell';
    const f = (...a: Tensor[]): Tensor => {
      const subst = new Map(ps.map((p, i) => [p, a[3 + i]]));
      const mm = fmap((t) => subst.get(t) ?? t, m) as any;
      const [y, s] = mm(a[0], lstm ? { h: a[1], c: a[2] } : a[1]);
      return lstm ? concat([y, (s as LSTMState).c], 1) : mul(y, sum(a[2]));
    };
    checkGradient(f, [x, h, c, ...ps], { label: name });
  }
  for (const l of [RNN(2, 3), LSTM(2, 3), GRU(2, 3), LSTM(2, 3, { initialState: { h: zeros([3]), c: zeros([3]) } })]) {
    checkLayerGradient(randomise(l, 31), [rand([2, 4, 2], 32)], 1, String(l));
  }
});

test('second order: the RNN cell and an RNN over three steps', () => {
  const cell = randomise(RNNCell(2, 2), 41);
  const ps = tensorEntries(cell).map((e) => e.tensor);
  const step = (x: Tensor, h: Tensor, ...w: Tensor[]): Tensor => {
    const subst = new Map(ps.map((p, i) => [p, w[i]]));
    return (fmap((t) => subst.get(t) ?? t, cell) as any)(x, h)[0];
  };
  checkSecondOrder(step, [rand([2, 2], 42), rand([2, 2], 43), ...ps], { label: 'RNNCell' });
  const rnn = randomise(RNN(2, 2), 44);
  const rps = tensorEntries(rnn).map((e) => e.tensor);
  checkSecondOrder((x: Tensor, ...w: Tensor[]) => {
    const subst = new Map(rps.map((p, i) => [p, w[i]]));
    return (fmap((t) => subst.get(t) ?? t, rnn) as any)(x);
  }, [rand([1, 3, 2], 45), ...rps], { label: 'RNN' });
});

test('a gradient through a model is shaped like it; truncation by stopGradient on the carried state', () => {
  const lstm = randomise(LSTM(2, 3, { returnState: true }), 51);
  const x1 = rand([2, 3, 2], 52), x2 = rand([2, 3, 2], 53);
  const loss = (m: any, truncate: boolean) => {
    const [, s1] = m(x1);
    const [y2] = m(x2, truncate ? stopGradient(s1) : s1);
    return sum(y2);
  };
  const [full] = gradient((m) => loss(m, false), lstm);
  const [cut] = gradient((m) => loss(m, true), lstm);
  const [second] = gradient((m) => sum(m(x2)[0]), lstm); // what the truncated loss differentiates: x2 from a constant state
  assert.equal(full.cell.weightIh.shape, [12, 2]);
  const s1 = (lstm(x1) as [Tensor, LSTMState])[1];
  const [fromS1] = gradient((m) => sum(m(x2, s1)[0]), lstm);
  close(cut.cell.weightHh, fromS1.cell.weightHh.data, 1e-12, 'truncated = from a constant state');
  assert.ok(full.cell.weightHh.data.some((v: number, i: number) => Math.abs(v - cut.cell.weightHh.data[i]) > 1e-6), 'the full gradient differs');
  void second;
});

// ---------------------------------------------------------------- masks

test('masks and lengths: padded steps keep the state, output zeros and receive no gradient', () => {
  const lstm = randomise(LSTM(2, 3, { returnState: true }), 61);
  const w = weightsOf(lstm.cell);
  const x = rand([2, 4, 2], 62);
  const mask = [[1, 1, 1, 0], [1, 0, 1, 0]];
  const [y, s] = lstm(x, undefined, { mask: fromData(Float64Array.from(mask.flat()), [2, 4]) }) as [Tensor, LSTMState];
  const ref = runLoop(x, 3, 2, (xt, [h, c]) => lstmStep(w, xt, h, c), mask);
  close(y, ref.ys, 1e-12, 'masked y');
  close(s.h, ref.finals[0], 1e-12, 'masked h');
  const [y2, s2] = lstm(x, undefined, { lengths: [3, 1] }) as [Tensor, LSTMState];
  const ref2 = runLoop(x, 3, 2, (xt, [h, c]) => lstmStep(w, xt, h, c), [[1, 1, 1, 0], [1, 0, 0, 0]]);
  close(y2, ref2.ys, 1e-12, 'lengths y');
  close(s2.c, ref2.finals[1], 1e-12, 'lengths c');
  // no gradient reaches padded inputs; real ones get one
  const [gx] = gradient((xx: Tensor) => add(sum(lstm(xx, undefined, { lengths: [3, 1] })[0]), sum((lstm(xx, undefined, { lengths: [3, 1] })[1] as LSTMState).c)), x);
  const g = (gx as Tensor).data;
  for (const [b, t] of [[0, 3], [1, 1], [1, 2], [1, 3]]) for (let k = 0; k < 2; k++) assert.is(g[(b * 4 + t) * 2 + k], 0, `padded step ${b},${t}`);
  assert.ok(g[0] !== 0 && g[(4 + 0) * 2] !== 0);
  checkGradient((xx: Tensor) => (lstm(xx, undefined, { lengths: [3, 1] }) as [Tensor, LSTMState])[0], [x], { label: 'masked LSTM' });
});

// ---------------------------------------------------------------- stateful, reset, the two gradient styles

test('stateful: m(x1); m(x2) continues the sequence; reset starts afresh; the state is not a parameter', () => {
  const lstm = randomise(LSTM(2, 3), 71);
  const x = rand([2, 5, 2], 72);
  const whole = lstm(x) as Tensor;
  const m = stateful(lstm);
  const a = m(x.slice([null, [0, 2]])) as Tensor, b = m(x.slice([null, [2, 5]])) as Tensor;
  close(concat([a, b], 1), whole.data, 1e-12, 'two chunks = one sequence');
  reset(m);
  close(m(x.slice([null, [0, 2]])) as Tensor, a.data, 0, 'after reset');
  assert.equal(trainables(m).length, trainables(lstm).length);
  assert.is(params(m).size, 4);
  assert.equal(Object.keys(gradient((mm) => sum(mm(x)), m)[0].layer.cell), ['weightIh', 'weightHh', 'biasIh', 'biasHh']);
  assert.equal(Object.keys(state(m) as object), ['layer']);
  // a cell, step by step, in a Chain; reset reaches inside
  const cell = randomise(LSTMCell(2, 3), 73);
  const chain = Chain(stateful(cell), Dense(f64(zeros([1, 3]).add(1)), false));
  const steps = [0, 1, 2].map((t) => chain(x.slice([null, [t, t + 1]]).reshape([2, 2])) as Tensor);
  const ref = lstm.cell === cell ? null : runLoop(x.slice([null, [0, 3]]), 3, 2, (xt, [h, c]) => lstmStep(weightsOf(cell), xt, h, c));
  const hsum = (t: number, bb: number) => ref!.ys.subarray((bb * 3 + t) * 3, (bb * 3 + t + 1) * 3).reduce((p, q) => p + q, 0);
  steps.forEach((y, t) => close(y, [hsum(t, 0), hsum(t, 1)], 1e-12, `step ${t}`));
  reset(chain);
  close(chain(x.slice([null, [0, 1]]).reshape([2, 2])) as Tensor, steps[0].data, 0, 'reset inside a Chain');
});

test('stateful with saveState: the state is a non-trainable field state() and loadState include', () => {
  const m = stateful(randomise(LSTMCell(2, 3), 81), { saveState: true, batch: 2 });
  const x = rand([2, 2], 82);
  m(x);
  const saved = state(m) as any;
  assert.equal(Object.keys(saved), ['layer', 'state']);
  const h1 = m.state as LSTMState;
  const y2 = Float64Array.from((m(x) as Tensor).data);
  loadState(m, saved);
  close((m.state as LSTMState).h, h1.h.data, 0, 'state restored');
  close(m(x) as Tensor, y2, 0, 'continues from the restored state');
  assert.is(trainables(m).length, 4);
  reset(m);
  assert.ok((m.state as LSTMState).h.data.every((v) => v === 0));
  assert.throws(() => stateful(Dense(2, 2), { saveState: true }), /saveState needs a cell or a sequence layer/);
});

/** The seeds' style: a layer whose forward reads and reassigns its hidden field. */
const Recurrent = layer(class Recurrent extends Layer<[Tensor], Tensor> {
  static [nonTrainable]: string[] = ['hidden'];
  Wx: Tensor; Wh: Tensor; b: Tensor; hidden: Tensor;
  constructor(inp: number, out: number, s: number) {
    super();
    this.Wx = rand([out, inp], s); this.Wh = rand([out, out], s + 1); this.b = rand([out], s + 2); this.hidden = zeros([out], { dtype: 'float64' });
  }
  forward(x: Tensor): Tensor {
    this.hidden = tanh(add(add(matmul(this.Wx, x), matmul(this.Wh, this.hidden)), this.b));
    return this.hidden;
  }
});

test('a user layer that reassigns its hidden field: stateful and unroll, gradients through time in both styles agree with finite differences', () => {
  const xs = [rand([2], 91), rand([2], 92), rand([2], 93)];
  const r = Recurrent(2, 3, 94);
  const m = stateful(r);
  const lossOf = (mm: any) => sum(mul(add(add(mm(xs[0]), mul(2, mm(xs[1]))), mul(3, mm(xs[2]))), [1, -1, 0.5]));
  // reference: the same recurrence as a pure function of the weights, checked by finite differences
  const pure = (Wx: Tensor, Wh: Tensor, b: Tensor): Tensor => {
    let h = zeros([3], { dtype: 'float64' });
    const out: Tensor[] = [];
    for (const x of xs) { h = tanh(add(add(matmul(Wx, x), matmul(Wh, h)), b)); out.push(h); }
    return sum(mul(add(add(out[0], mul(2, out[1])), mul(3, out[2])), [1, -1, 0.5]));
  };
  checkGradient(pure, [r.Wx, r.Wh, r.b], { label: 'the recurrence' });
  const [gW] = gradient((Wh: Tensor) => pure(r.Wx, Wh, r.b), r.Wh);
  // explicit style: a traced copy runs; the original's hidden advances all the same
  const [g] = gradient((mm: any) => { reset(mm); return lossOf(mm); }, m);
  close(g.layer.Wh, (gW as Tensor).data, 1e-12, 'traced-copy gradient');
  assert.is(g.layer.hidden, null, 'hidden is state: no gradient');
  const afterCopy = Float64Array.from(r.hidden.data);
  assert.ok(r.hidden.constructor === Tensor, 'untraced after the gradient');
  // implicit params: the model itself runs
  reset(m);
  assert.ok(r.hidden.data.every((v) => v === 0), 'reset restores the initial hidden');
  const gs = gradient(() => { reset(m); return lossOf(m); }, params(m));
  close(gs.get(r.Wh), (gW as Tensor).data, 1e-12, 'implicit-params gradient');
  close(r.hidden, afterCopy, 0, 'both styles leave the same state');
  assert.ok(r.hidden.constructor === Tensor, 'untraced after the gradient');
  assert.is(params(m).size, 3, 'hidden is not a param, and params() works again after a gradient');
  // unroll: the same model over three steps
  const u = unroll(Recurrent(2, 3, 94), 3);
  reset(u);
  const [gu] = gradient((mm: any) => { reset(mm); const ys = mm(xs) as Tensor[]; return sum(mul(add(add(ys[0], mul(2, ys[1])), mul(3, ys[2])), [1, -1, 0.5])); }, u);
  close(gu.model.layer.Wh, (gW as Tensor).data, 1e-12, 'unroll gradient');
  // truncated BPTT across gradient calls: a second gradient starts from the first's state, as a constant
  reset(m);
  gradient((mm: any) => sum(mm(xs[0])), m);
  const h1 = Float64Array.from(r.hidden.data);
  const [g2] = gradient((mm: any) => sum(mm(xs[1])), m);
  const expected = gradient((Wh: Tensor) => sum(tanh(add(add(matmul(r.Wx, xs[1]), matmul(Wh, fromData(h1, [3]))), r.b))), r.Wh)[0] as Tensor;
  close(g2.layer.Wh, expected.data, 1e-12, 'the carried state is a constant in the next gradient');
});

test('stateful cells under a traced copy carry the state to the original; nested gradients work', () => {
  const cell = randomise(RNNCell(2, 2), 101);
  const m = stateful(cell);
  const x = rand([1, 2], 102);
  gradient((mm: any) => sum(mm(x)), m);
  const h1 = Float64Array.from((m.current as Tensor).data);
  close(h1, (cell(x, initialState(cell, 1))[0] as Tensor).data, 1e-15, 'state advanced by the traced copy');
  assert.ok(m.current instanceof Tensor && (m.current as Tensor).constructor === Tensor);
  // second order through a stateful layer: d/ds of the gradient's norm (Hessian-vector, by FD)
  reset(m);
  const f = (W: Tensor): Tensor => {
    const mm = fmap((t) => (t === cell.weightHh ? W : t), m) as any;
    reset(mm);
    mm(x);
    return sum(mm(x));
  };
  checkSecondOrder(f, [cell.weightHh], { label: 'two stateful steps' });
});

// ---------------------------------------------------------------- unroll, flip, Bidirectional

test('unroll: a cell over n steps equals Recurrence; tensor input [B, n, in] or [n, F]; errors', () => {
  const cell = randomise(LSTMCell(2, 3), 111);
  const x = rand([2, 4, 2], 112);
  const seq = Recurrence(cell)(x) as Tensor;
  const u = unroll(cell, 4);
  close(u(x) as Tensor, seq.data, 1e-12, 'tensor of steps');
  const list = u([0, 1, 2, 3].map((t) => x.slice([null, [t, t + 1]]).reshape([2, 2]))) as Tensor[];
  close(concat(list.map((y) => y.reshape([2, 1, 3])), 1), seq.data, 1e-12, 'list of steps');
  const x2 = x.slice([[0, 1]]).reshape([4, 2]);
  close(u(x2) as Tensor, seq.slice([[0, 1]]).data, 1e-12, 'unbatched [n, F]');
  assert.throws(() => u([x2]), (e: Error) => e instanceof RangeError && e.message === 'unroll(LSTMCell(2 => 3), 4) expects 4 inputs, got 1');
  assert.throws(() => u(rand([2, 3, 2], 1)), (e: Error) => e instanceof ShapeError && e.message === 'unroll(LSTMCell(2 => 3), 4) expects 4 steps along dimension 1 ([B, 4, …] or [4, F]), got input of shape [2, 3, 2]');
  checkLayerGradient(unroll(randomise(GRUCell(2, 2), 113), 3), [rand([1, 3, 2], 114)], 1, 'unroll(GRUCell)');
});

test('flip runs over reversed time (with lengths: the valid part reversed); Bidirectional concatenates both directions', () => {
  const lstm = randomise(LSTM(2, 3, { returnState: true }), 121);
  const w = weightsOf(lstm.cell);
  const x = rand([2, 4, 2], 122);
  const rev = (t: Tensor) => t.slice([null, [null, null, -1]]);
  const [yf, sf] = flip(lstm)(x, undefined, { returnState: true }) as [Tensor, LSTMState];
  const [yr, sr] = lstm(rev(x)) as [Tensor, LSTMState];
  close(yf, rev(yr).data, 1e-12, 'flip y');
  close(sf.h, sr.h.data, 1e-12, 'flip state');
  // lengths: sequence 1 has 2 real steps; its flipped run starts at its step 1
  const [yl] = flip(lstm)(x, undefined, { lengths: [4, 2], returnState: true }) as [Tensor, LSTMState];
  const trimmed = fromData(Float64Array.from([...x.data.subarray(10, 12), ...x.data.subarray(8, 10)]), [1, 2, 2]);
  const ref = runLoop(trimmed, 3, 2, (xt, [h, c]) => lstmStep(w, xt, h, c)).ys;
  close(yl.slice([[1, 2], [0, 2]]), [...ref.subarray(3, 6), ...ref.subarray(0, 3)], 1e-12, 'flipped valid part');
  assert.ok(yl.slice([[1, 2], [2, 4]]).data.every((v) => v === 0), 'padding outputs zeros');
  const fwd = randomise(LSTM(2, 3), 123), bwd = randomise(GRU(2, 2), 124);
  const bi = Bidirectional(fwd, bwd);
  const y = bi(x) as Tensor;
  assert.equal(y.shape, [2, 4, 5]);
  close(y, concat([fwd(x) as Tensor, flip(bwd)(x) as Tensor], -1).data, 0, 'concat of the directions');
  const [, st] = bi(x, undefined, { returnState: true }) as [Tensor, { forward: LSTMState; backward: Tensor }];
  close(st.backward, (bwd(rev(x), undefined, { returnState: true }) as [Tensor, Tensor])[1].data, 1e-12, 'backward final state');
  checkLayerGradient(Bidirectional(LSTM(2, 2), flip(RNN(2, 1))), [rand([1, 3, 2], 125)], 1, 'Bidirectional');
});

// ---------------------------------------------------------------- a user's cell in Recurrence

test('Recurrence runs a user cell; stateful and unroll take it too', () => {
  const Acc = layer(class Accumulator extends Layer<[Tensor, Tensor], [Tensor, Tensor]> {
    scale = rand([2], 131);
    forward(x: Tensor, s: Tensor): [Tensor, Tensor] { const s2 = add(s, mul(x, this.scale)); return [tanh(s2), s2]; }
    initialState(batch?: number): Tensor { return zeros(batch === undefined ? [2] : [batch, 2], { dtype: 'float64' }); }
  });
  const cell = Acc();
  const x = rand([1, 3, 2], 132);
  const y = Recurrence(cell)(x) as Tensor;
  const sc = cell.scale.data, xv = x.data;
  const acc = [0, 0];
  const ref: number[] = [];
  for (let t = 0; t < 3; t++) for (let k = 0; k < 2; k++) { acc[k] += xv[t * 2 + k] * sc[k]; ref.push(Math.tanh(acc[k])); }
  close(y, ref, 1e-15, 'user cell');
  const m = stateful(cell);
  [0, 1, 2].forEach((t) => close(m(x.slice([null, [t, t + 1]]).reshape([1, 2])) as Tensor, ref.slice(2 * t, 2 * t + 2), 1e-15, `stateful step ${t}`));
  checkLayerGradient(Recurrence(cell), [x], 1, 'Recurrence(user cell)');
});

// ---------------------------------------------------------------- printing and errors

test('printing', () => {
  assert.is(String(LSTM(3, 5)), 'LSTM(3 => 5)  # 200 parameters');
  assert.is(String(GRU(3, 5, { resetAfter: false })), 'GRU(3 => 5; resetAfter=false)  # 150 parameters');
  assert.is(String(RNN(3, 5)), 'RNN(3 => 5, tanh)  # 50 parameters');
  assert.is(String(LSTMCell(2, 3)), 'LSTMCell(2 => 3)  # 84 parameters');
  assert.is(String(flip(LSTM(2, 3, { returnState: true }))), 'flip(LSTM(2 => 3; returnState=true))  # 84 parameters');
  assert.is(String(stateful(GRUCell(2, 3))), 'stateful(GRUCell(2 => 3))  # 63 parameters');
  assert.is(String(unroll(RNNCell(2, 3), 4)), 'unroll(RNNCell(2 => 3, tanh), 4)  # 21 parameters');
  assert.is(String(Bidirectional(LSTM(2, 3), LSTM(2, 3))), [
    'Bidirectional(',
    '  forward = LSTM(2 => 3),               # 84 parameters',
    '  backward = LSTM(2 => 3),              # 84 parameters',
    ')                   # Total: 8 arrays, 168 parameters, 672 bytes.',
  ].join('\n'));
  assert.is(String(Recurrence(LSTMCell(2, 3))), [
    'Recurrence(',
    '  LSTMCell(2 => 3),                     # 84 parameters',
    ')                   # Total: 4 arrays, 84 parameters, 336 bytes.',
  ].join('\n'));
});

test('errors name the layer and the shapes', () => {
  const is = (cls: Function, msg: string) => (e: Error) => e instanceof cls && e.message === msg;
  assert.throws(() => LSTM(3, 5)(zeros([2, 4, 2])), is(ShapeError, 'LSTM(3 => 5) expects input [B, T, 3] (batch first) or [T, 3], got input of shape [2, 4, 2]'));
  assert.throws(() => LSTMCell(3, 5)(zeros([2, 2, 3])), is(ShapeError, 'LSTMCell(3 => 5) expects input [B, 3] or [3], got input of shape [2, 2, 3]'));
  assert.throws(() => GRUCell(3, 5)(zeros([2, 3], { dtype: 'float32' }), zeros([3, 5], { dtype: 'float32' })), is(ShapeError, 'GRUCell(3 => 5) expects the state h of shape [2, 5] (batch 2), got [3, 5]'));
  assert.throws(() => LSTM(3, 5)(zeros([2, 4, 3]), { h: zeros([2, 5]), c: zeros([2, 4]) }), is(ShapeError, 'LSTM(3 => 5) expects the state c of shape [2, 5] (batch 2), got [2, 4]'));
  assert.throws(() => LSTM(3, 5)(zeros([2, 4, 3]), undefined, { lengths: [1, 5] }), is(RangeError, 'LSTM(3 => 5): lengths must be integers in 0…4, got 5'));
  assert.throws(() => LSTM(3, 5)(zeros([2, 4, 3]), undefined, { mask: zeros([2, 3]) }), is(ShapeError, 'LSTM(3 => 5): expects a mask of shape [2, 4], got [2, 3]'));
  assert.throws(() => LSTMCell(0, 5), is(TypeError, 'LSTMCell: the input size must be a positive integer, got number 0'));
  assert.throws(() => Recurrence(Dense(2, 2)), is(TypeError, 'Recurrence: expected a recurrent cell (a layer called as cell(x, state) → [y, state], with an initialState(batch) method), got Dense(2 => 2)'));
  assert.throws(() => unroll(RNNCell(2, 2), 0), is(TypeError, 'unroll: the number of steps must be a positive integer, got number 0'));
  assert.throws(() => initialState(Dense(2, 2), 3), /initialState: expected a recurrent cell/);
});

test.run();
