/**
 * The fused untraced LSTM step (`LSTMCell` called outside a gradient on plain CPU tensors:
 * src/backend/cpu/cell.ts, src/backend/cpu/wasm/cell-kernel.ts). Its two products sum in
 * another order than the separate matmuls, and its σ and tanh (float32, WebAssembly) are
 * its own polynomials, so it is compared with the traced general path within the rounding
 * error bound of the products (below), and with an independent float64 loop; with the
 * products fixed (zero weights: z is the bias exactly) its σ and tanh must match the
 * JavaScript gate loop (Math.exp, Math.tanh) to an ulp or two, over special values too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { LSTMCell, Tensor, pullback, seed, tensor, zeros } from '../../src/index.js';
import { ShapeError } from '../../src/tensor/shape.js';
import { cellTuning, lstmGates } from '../../src/backend/cpu/cell.js';

type DT = 'float32' | 'float64';
const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/** Runs `fn` with the products forced to `products`, restoring the setting. */
function withProducts<T>(products: 'auto' | 'js', fn: () => T): T {
  const before = cellTuning.products;
  cellTuning.products = products;
  try {
    return fn();
  } finally {
    cellTuning.products = before;
  }
}

const rows = (t: Tensor): number[][] => (t.ndim === 1 ? [t.toArray() as number[]] : (t.toArray() as number[][]));

/**
 * The step by its equations in float64, and per element the bound `A` on the products'
 * magnitude: max over the four gates of Σ|wx·x| + Σ|wh·h| + |bias|.
 */
function reference(cell: any, x: number[][], h: number[][], c: number[][]): { h: number[][]; c: number[][]; mag: number[][] } {
  const wi = cell.weightIh.toArray() as number[][], wh = cell.weightHh.toArray() as number[][];
  const bi = cell.biasIh === false ? undefined : (cell.biasIh.toArray() as number[]);
  const bh = cell.biasHh === false ? undefined : (cell.biasHh.toArray() as number[]);
  const H = h[0]!.length;
  const out = { h: [] as number[][], c: [] as number[][], mag: [] as number[][] };
  x.forEach((xr, b) => {
    const z: number[] = [], a: number[] = [];
    for (let g = 0; g < 4 * H; g++) {
      let s = 0, m = 0;
      for (let k = 0; k < xr.length; k++) { s += wi[g]![k]! * xr[k]!; m += Math.abs(wi[g]![k]! * xr[k]!); }
      for (let k = 0; k < H; k++) { s += wh[g]![k]! * h[b]![k]!; m += Math.abs(wh[g]![k]! * h[b]![k]!); }
      const bias = (bi?.[g] ?? 0) + (bh?.[g] ?? 0);
      z.push(s + bias);
      a.push(m + Math.abs(bias));
    }
    const c2 = Array.from({ length: H }, (_, j) => sig(z[H + j]!) * c[b]![j]! + sig(z[j]!) * Math.tanh(z[2 * H + j]!));
    out.c.push(c2);
    out.h.push(c2.map((v, j) => sig(z[3 * H + j]!) * Math.tanh(v)));
    out.mag.push(Array.from({ length: H }, (_, j) => Math.max(a[j]!, a[H + j]!, a[2 * H + j]!, a[3 * H + j]!)));
  });
  return out;
}

test('LSTMCell outside a gradient (fused step, wasm and JavaScript products) agrees with the traced path within the products’ error bound, and with a float64 loop', () => {
  fc.assert(fc.property(
    fc.record({
      dtype: fc.constantFrom<DT>('float32', 'float64'),
      inp: fc.integer({ min: 1, max: 40 }),
      hid: fc.integer({ min: 1, max: 40 }),
      batch: fc.integer({ min: 0, max: 5 }), // 0: unbatched
      bias: fc.boolean(),
      products: fc.constantFrom<'auto' | 'js'>('auto', 'js'),
      s: fc.integer({ min: 1, max: 1000 }),
      scale: fc.constantFrom(0.5, 3),
    }),
    ({ dtype, inp, hid, batch, bias, products, s, scale }) => {
      seed(s);
      const cell = LSTMCell(inp, hid, { dtype, bias }) as any;
      if (bias) {
        // non-zero biases in both, so their sum is exercised
        cell.biasIh = tensor(Array.from({ length: 4 * hid }, (_, i) => 0.3 * Math.cos(i + s)), { dtype });
        cell.biasHh = tensor(Array.from({ length: 4 * hid }, (_, i) => 0.2 * Math.sin(2 * i - s)), { dtype });
      }
      const B = batch === 0 ? 1 : batch;
      const rnd = (n: number, off: number) => Array.from({ length: n }, (_, i) => scale * Math.sin(s * 7.1 + (i + off) * 1.3));
      const mk = (n: number, off: number) => Array.from({ length: B }, (_, b) => rnd(n, off + 50 * b));
      const xs = mk(inp, 0), hs = mk(hid, 11), cs = mk(hid, 23);
      const t = (v: number[][]) => (batch === 0 ? tensor(v[0]!, { dtype }) : tensor(v, { dtype }));
      const x = t(xs), state = { h: t(hs), c: t(cs) };
      const [y, s2] = withProducts(products, () => cell(x, state)) as [Tensor, { h: Tensor; c: Tensor }];
      const [[yT, sT]] = pullback((m: any) => m(x, state), cell) as [[Tensor, { h: Tensor; c: Tensor }], unknown];
      assert.equal(y.shape, yT.shape);
      assert.equal(s2.c.shape, sT.c.shape);
      assert.is(y.dtype, dtype);
      assert.is(s2.c.dtype, dtype);
      assert.ok(s2.h === y, 'state h is the output');
      // Each path's z is within (n + 2)·u·A of the exact one (n-term sums, the bias adds), so
      // they differ by twice that; σ′ ≤ ¼ and tanh′ ≤ 1 carry it into c′ (|c|/4 + ¼ + 1) and h′
      // (¼ + the c′ bound), plus a few roundings of the gate arithmetic (8u each side).
      const u = dtype === 'float32' ? 2 ** -24 : 2 ** -53;
      const n = inp + hid;
      const round = dtype === 'float32' ? Math.fround : (v: number) => v;
      const ref = reference(cell, xs.map((r) => r.map(round)), hs.map((r) => r.map(round)), cs.map((r) => r.map(round)));
      const [fy, fc2, ty, tc] = [rows(y), rows(s2.c), rows(yT), rows(sT.c)];
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < hid; j++) {
          const dz = 2 * (n + 2) * u * ref.mag[b]![j]!, c0 = Math.abs(cs[b]![j]!);
          const tolC = dz * (c0 / 4 + 1.25) + 16 * u * (1 + c0), tolH = dz / 4 + tolC + 16 * u;
          const at = `[${b}][${j}] (${dtype}, ${products}, in ${inp}, hidden ${hid}, batch ${batch}, bias ${bias})`;
          assert.ok(Math.abs(fc2[b]![j]! - tc[b]![j]!) <= tolC, `c′${at}: fused ${fc2[b]![j]} vs traced ${tc[b]![j]} (bound ${tolC})`);
          assert.ok(Math.abs(fy[b]![j]! - ty[b]![j]!) <= tolH, `h′${at}: fused ${fy[b]![j]} vs traced ${ty[b]![j]} (bound ${tolH})`);
          const tol64 = dtype === 'float32' ? 4e-5 : 1e-12;
          assert.ok(Math.abs(fy[b]![j]! - ref.h[b]![j]!) <= tol64 * (1 + Math.abs(ref.h[b]![j]!)), `h′${at}: ${fy[b]![j]} vs float64 loop ${ref.h[b]![j]}`);
          assert.ok(Math.abs(fc2[b]![j]! - ref.c[b]![j]!) <= tol64 * (1 + Math.abs(ref.c[b]![j]!)), `c′${at}: ${fc2[b]![j]} vs float64 loop ${ref.c[b]![j]}`);
        }
      }
    },
  ), { numRuns: 150 });
});

/** ulps between two float32 values (0 for equal, including both NaN). */
function ulps32(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  const i = new Int32Array(new Float32Array([a, b]).buffer);
  const key = (v: number) => (v < 0 ? -(v & 0x7fffffff) : v);
  return Math.abs(key(i[0]!) - key(i[1]!));
}

test('fused float32 gates (σ, tanh in WebAssembly): within 2 ulps of the JavaScript gate loop, over special and boundary values', () => {
  // zero weights make z the bias exactly on both paths; the gate loop (lstmGates, Math.exp
  // and Math.tanh, the unfused kernels' arithmetic) is then the reference for σ and tanh
  const specials = [0, -0, 1e-30, -1e-30, 1e-40, 2 ** -12, 0.0625, 0.0624999, 0.0625001, -0.0625, 0.3, -0.7, 1, -1, 2.5, -4, 8.3, -9.1, 15, -17,
    20, -40, 88, -88, 89, -104, 110, -120, 1e10, -1e10, Infinity, -Infinity, NaN, 3.4e38, -3.4e38];
  const values = [...specials, ...Array.from({ length: 400 }, (_, i) => 12 * Math.sin(i * 12.9898) * Math.abs(Math.cos(i * 0.37)) ** 3)];
  const H = values.length; // one value per position, used for all four gates at some offset
  const cell = LSTMCell(1, H, { dtype: 'float32' }) as any;
  cell.weightIh = zeros([4 * H, 1], { dtype: 'float32' });
  cell.weightHh = zeros([4 * H, H], { dtype: 'float32' });
  const z = new Float32Array(4 * H);
  for (let q = 0; q < 4; q++) for (let j = 0; j < H; j++) z[q * H + j] = values[(j + 37 * q) % H]!;
  cell.biasIh = tensor(z);
  cell.biasHh = zeros([4 * H], { dtype: 'float32' });
  const c = new Float32Array(H).map((_, j) => Math.fround(values[(j + 101) % H]! / 4));
  const x = tensor([[0.5]], { dtype: 'float32' });
  const state = { h: zeros([1, H], { dtype: 'float32' }), c: tensor([Array.from(c)], { dtype: 'float32' }) };
  const [y, s2] = cell(x, state) as [Tensor, { h: Tensor; c: Tensor }];
  const [hRef, cRef] = lstmGates(z, 0, 4 * H, H, c, 0, 1, H, true);
  const hy = y.data, cy = s2.c.data;
  for (let j = 0; j < H; j++) {
    const dc = ulps32(cy[j]!, cRef[j]!), dh = ulps32(hy[j]!, hRef[j]!);
    // a one-ulp difference of σ(i) or tanh(g) moves the rounded product by at most one more;
    // where σ(f)·c and σ(i)·tanh(g) cancel, ulps of c′ are not the measure: there the
    // difference is bounded by two ulps of the terms' size (|c| + 1)
    const scale = 2 ** -22 * (Math.abs(c[j]!) + 1);
    assert.ok(dc <= 2 || Math.abs(cy[j]! - cRef[j]!) <= scale, `c′ for z = ${[0, 1, 2].map((q) => z[q * H + j]).join(', ')}: ${cy[j]} vs ${cRef[j]} (${dc} ulps)`);
    assert.ok(dh <= 3 || Math.abs(hy[j]! - hRef[j]!) <= scale, `h′ for z_o = ${z[3 * H + j]}, c′ = ${cRef[j]}: ${hy[j]} vs ${hRef[j]} (${dh} ulps)`);
  }
  // NaN in a gate gives NaN, never a number
  for (let j = 0; j < H; j++) {
    if ([0, 1, 2].some((q) => Number.isNaN(z[q * H + j]!)) || Number.isNaN(c[j]!)) assert.ok(Number.isNaN(cy[j]!), `c′ at ${j} is NaN`);
  }
});

test('fused step: bad state shapes and types give the same errors as before, naming the cell and the shapes', () => {
  const cell = LSTMCell(3, 4) as any;
  const x = zeros([2, 3], { dtype: 'float32' });
  assert.throws(() => cell(x, { h: zeros([2, 5], { dtype: 'float32' }), c: zeros([2, 4], { dtype: 'float32' }) }),
    (e: unknown) => e instanceof ShapeError && /LSTMCell\(3 => 4\) expects the state h of shape \[2, 4\] \(batch 2\), got \[2, 5\]/.test((e as Error).message));
  assert.throws(() => cell(x, { h: zeros([2, 4], { dtype: 'float32' }), c: zeros([4], { dtype: 'float32' }) }),
    (e: unknown) => e instanceof ShapeError && /state c of shape \[2, 4\] \(batch 2\), got \[4\]/.test((e as Error).message));
  assert.throws(() => cell(x, { h: zeros([2, 4]), c: 3 }), (e: unknown) => e instanceof TypeError && /LSTMCell\(3 => 4\) expects the state c to be a tensor, got/.test((e as Error).message));
  assert.throws(() => cell(x, 5), (e: unknown) => e instanceof TypeError && /LSTMCell\(3 => 4\) expects a state, got/.test((e as Error).message));
  assert.throws(() => cell(zeros([2, 2], { dtype: 'float32' })), (e: unknown) => e instanceof ShapeError && /expects input \[B, 3\] or \[3\], got input of shape \[2, 2\]/.test((e as Error).message));
  // a float64 state with float32 weights leaves the fused path (dtypes differ) and promotes as before
  const [y] = cell(x, { h: zeros([2, 4], { dtype: 'float64' }), c: zeros([2, 4], { dtype: 'float64' }) }) as [Tensor];
  const [yT] = pullback((m: any) => m(x, { h: zeros([2, 4], { dtype: 'float64' }), c: zeros([2, 4], { dtype: 'float64' }) })[0], cell) as [Tensor, unknown];
  assert.is(y.dtype, yT.dtype);
  assert.equal(Array.from(y.data), Array.from(yT.data));
});

test.run();
