/**
 * The untraced fast paths of the recurrent cells (src/layers/recurrent.ts): the fused LSTM
 * gate loop of a step from a projected input (what the sequence layers run) and the direct
 * views of `splitLast`. Outside a gradient they must give exactly what the general path
 * (separate operations, as recorded inside a gradient) gives, and the values must match an
 * independent float64 loop of the cell's equations. (The whole fused step of a cell call,
 * whose products sum in another order, is checked in recurrent-fused.spec.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { GRUCell, LSTMCell, Tensor, pullback, seed, tensor, transpose } from '../../src/index.js';
import { splitLast } from '../../src/layers/recurrent-gates.js';

type DT = 'float32' | 'float64';
const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/** The LSTM step by the equations, in float64, from the cell's weights (an independent computation). */
function lstmRef(cell: any, x: number[][], h: number[][], c: number[][]): { h: number[][]; c: number[][] } {
  const wi = cell.weightIh.toArray() as number[][], wh = cell.weightHh.toArray() as number[][];
  const bi = cell.biasIh.toArray() as number[], bh = cell.biasHh.toArray() as number[];
  const H = h[0]!.length;
  const hs: number[][] = [], cs: number[][] = [];
  x.forEach((xr, b) => {
    const z = wi.map((row, g) => row.reduce((s, w, k) => s + w * xr[k]!, 0) + wh[g]!.reduce((s, w, k) => s + w * h[b]![k]!, 0) + bi[g]! + bh[g]!);
    const c2 = Array.from({ length: H }, (_, j) => sig(z[H + j]!) * c[b]![j]! + sig(z[j]!) * Math.tanh(z[2 * H + j]!));
    cs.push(c2);
    hs.push(c2.map((v, j) => sig(z[3 * H + j]!) * Math.tanh(v)));
  });
  return { h: hs, c: cs };
}

const exact = (a: Tensor, b: Tensor, what: string): void => {
  assert.equal(a.shape, b.shape, `${what}: shape`);
  assert.is(a.dtype, b.dtype, `${what}: dtype`);
  const x = a.data, y = b.data;
  for (let i = 0; i < x.length; i++) assert.ok(Object.is(x[i], y[i]), `${what}: element ${i}: ${x[i]} vs ${y[i]}`);
};

test('LSTMCell step outside a gradient (fused gates) equals the traced general path bit for bit, and the float64 reference', () => {
  fc.assert(fc.property(
    fc.record({
      dtype: fc.constantFrom<DT>('float32', 'float64'),
      inp: fc.integer({ min: 1, max: 6 }),
      hid: fc.constantFrom(1, 3, 8, 20, 40), // 40 with batch ≥ 2 leaves the fused range (gate size ≥ 64)
      batch: fc.constantFrom(0, 1, 2, 3), // 0: unbatched
      s: fc.integer({ min: 1, max: 1000 }),
      scale: fc.constantFrom(0.5, 3),
    }),
    ({ dtype, inp, hid, batch, s, scale }) => {
      seed(s);
      const cell = LSTMCell(inp, hid, { dtype }) as any;
      const B = batch === 0 ? 1 : batch;
      const rnd = (n: number) => Array.from({ length: n }, (_, i) => scale * Math.sin(s * 7.1 + i * 1.3));
      const rows = (n: number, off: number) => Array.from({ length: B }, (_, b) => rnd(n + off + b).slice(off + b));
      const xs = rows(inp, 0), hs = rows(hid, 3), cs = rows(hid, 5);
      const mk = (v: number[][]) => (batch === 0 ? tensor(v[0]!, { dtype }) : tensor(v, { dtype }));
      const x = mk(xs), state = { h: mk(hs), c: mk(cs) };
      const step = (m: any): [Tensor, { h: Tensor; c: Tensor }] => m.step(m.project(x), state, transpose(m.weightHh));
      const [y, s2] = step(cell);
      const [[yT, sT]] = pullback(step, cell) as [[Tensor, { h: Tensor; c: Tensor }], unknown];
      exact(y, yT, 'output');
      exact(s2.c, sT.c, 'cell state');
      exact(s2.h, y, 'state h is the output');
      const round = dtype === 'float32' ? Math.fround : (v: number) => v;
      const ref = lstmRef(cell, xs.map((r) => r.map(round)), hs.map((r) => r.map(round)), cs.map((r) => r.map(round)));
      const tol = dtype === 'float32' ? 2e-5 : 1e-12;
      const got = { h: (batch === 0 ? [y.toArray()] : y.toArray()) as number[][], c: (batch === 0 ? [s2.c.toArray()] : s2.c.toArray()) as number[][] };
      for (const k of ['h', 'c'] as const) {
        got[k].forEach((r, b) => r.forEach((v, j) => assert.ok(Math.abs(v - ref[k][b]![j]!) <= tol * (1 + Math.abs(ref[k][b]![j]!)), `${k}[${b}][${j}] = ${v}, reference ${ref[k][b]![j]}`)));
      }
    },
  ), { numRuns: 80 });
});

test('LSTMCell with a strided state (a transposed view) still gives the general path’s values', () => {
  seed(3);
  const cell = LSTMCell(2, 3, { dtype: 'float64' }) as any;
  const x = tensor([[0.1, -0.2], [0.3, 0.4], [1, 2]]);
  const hT = tensor([[0.5, 0.1, -0.3], [0.2, 0.2, 0.9], [-1, 0, 1]]);
  const state = { h: transpose(hT), c: transpose(tensor([[1, 2, 3], [-1, 0.5, 0], [0.3, 0.3, 0.3]])) };
  const [y, s2] = cell(x, state) as [Tensor, { h: Tensor; c: Tensor }];
  const [[yT, sT]] = pullback((m: any) => m(x, state), cell) as [[Tensor, { h: Tensor; c: Tensor }], unknown];
  exact(y, yT, 'output');
  exact(s2.c, sT.c, 'cell state');
});

test('splitLast outside a gradient: views equal to the recorded slices, for every layout', () => {
  fc.assert(fc.property(
    fc.record({ rows: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), size: fc.integer({ min: 1, max: 5 }), transposed: fc.boolean() }),
    ({ rows, k, size, transposed }) => {
      const n = k * size;
      const base = transposed
        ? transpose(tensor(Array.from({ length: n }, (_, j) => Array.from({ length: rows }, (_, i) => i * 100 + j))))
        : tensor(Array.from({ length: rows }, (_, i) => Array.from({ length: n }, (_, j) => i * 100 + j)));
      const parts = splitLast(base, k);
      const [traced] = pullback((t: Tensor) => splitLast(t, k), base) as [Tensor[], unknown];
      assert.is(parts.length, k);
      parts.forEach((p, j) => {
        exact(p, traced[j]!, `part ${j}`);
        assert.equal(p.toArray(), Array.from({ length: rows }, (_, i) => Array.from({ length: size }, (_, c) => i * 100 + j * size + c)), `part ${j} values`);
      });
    },
  ), { numRuns: 60 });
});

test('GRUCell (split by views outside a gradient) equals its traced general path', () => {
  for (const resetAfter of [true, false]) {
    seed(5);
    const cell = GRUCell(3, 4, { dtype: 'float32', resetAfter }) as any;
    const x = tensor([[0.2, -1, 0.5]], { dtype: 'float32' }), h = tensor([[0.1, 0.2, -0.3, 0.4]], { dtype: 'float32' });
    const [y] = cell(x, h) as [Tensor, Tensor];
    const [[yT]] = pullback((m: any) => m(x, h), cell) as [[Tensor, Tensor], unknown];
    exact(y, yT, `GRU resetAfter ${resetAfter}`);
  }
});

test.run();
