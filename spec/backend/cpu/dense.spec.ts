/**
 * The untraced few-rows Dense call (src/backend/cpu/dense.ts) gives the values of the
 * operations it replaces, `σ(matmul(x, transpose(W)) + b)`, bit for bit: over input sizes
 * across the vector-lane edges, 1 to 10 rows (crossing the few-rows limit, where the layer
 * falls back to the operations), a 1-D input, float32 and float64, with and without bias,
 * relu and identity, and inputs holding ±0, ±∞ and NaN. Under a gradient the layer runs the
 * operations (the fast path never sees a traced tensor). Weights as the initialisers make
 * them (resident: the bias is staged as the kernel's accumulator and relu applied on the way
 * out) and as ordinary arrays, on one thread and split over the worker pool.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Dense, add, gradient, identity, matmul, relu, sum, tensor, transpose, type Tensor } from '../../../src/index.js';
import { denseFewRows } from '../../../src/backend/cpu/dense.js';
import { gemvTuning } from '../../../src/backend/cpu/gemv.js';
import { tensorOf } from '../../../src/backend/cpu/ndview.js';
import { parameterArray, residentAddress } from '../../../src/backend/cpu/resident.js';
import { runtime } from '../../../src/backend/cpu/runtime.js';
import { lcgFloat32 } from '../../_helpers/reference.js';

type DT = 'float32' | 'float64';

function valuesWith(n: number, seed: number, specials: number[]): number[] {
  const v = Array.from(lcgFloat32(n, seed), (x) => x * 4);
  specials.forEach((s, i) => { if (n > 0) v[(seed + 7 * i) % n >>> 0] = s; });
  return v;
}

test('Dense few rows: the fused untraced call equals the operations bit for bit', () => {
  fc.assert(fc.property(
    fc.record({
      m: fc.integer({ min: 0, max: 10 }), inp: fc.integer({ min: 1, max: 70 }), out: fc.integer({ min: 1, max: 40 }),
      dtype: fc.constantFrom<DT>('float32', 'float64'), bias: fc.boolean(), act: fc.constantFrom('relu', 'identity'),
      specials: fc.array(fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 1e30), { maxLength: 3 }), seed: fc.nat(),
      resident: fc.boolean(),
    }),
    (p) => {
      const { m, inp, out, dtype } = p;
      const σ = p.act === 'relu' ? relu : identity;
      const w = p.resident ? residentTensor(valuesWith(out * inp, p.seed, []), dtype, [out, inp])
        : tensor(valuesWith(out * inp, p.seed, []), { dtype }).reshape([out, inp]);
      const b = p.bias ? tensor(valuesWith(out, p.seed + 1, []), { dtype }) : false;
      const layer = Dense(w, b, σ);
      const xs = m === 0 ? tensor(valuesWith(inp, p.seed + 2, p.specials), { dtype }) : tensor(valuesWith(m * inp, p.seed + 2, p.specials), { dtype }).reshape([m, inp]);
      const got = layer(xs) as Tensor;
      const prod = matmul(xs, transpose(w));
      const want = σ(b === false ? prod : add(prod, b)) as Tensor;
      assert.equal(got.shape, want.shape);
      const g = got.data, e = want.data;
      for (let i = 0; i < e.length; i++) {
        if (!Object.is(g[i], e[i])) assert.unreachable(`y[${i}] = ${g[i]}, the operations give ${e[i]} (${JSON.stringify(p)})`);
      }
    },
  ), { numRuns: 300 });
});

/** A tensor on parameter storage, as the initialisers allocate it (resident where it can be). */
function residentTensor(values: number[], dtype: DT, shape: number[]): Tensor {
  const a = parameterArray(dtype, values.length);
  a.set(values);
  return tensorOf(a, shape);
}

test('Dense few rows: split over the worker pool, the values are the one-thread values bit for bit', () => {
  const pool = runtime()?.pool();
  if (!pool || pool.waitReady() === 0) {
    console.log('  (no worker pool in this runtime: the split is not exercised here)');
    return;
  }
  const saved = gemvTuning.threadedMinMacs;
  let split = 0;
  try {
    for (const [m, inp, out, dtype] of [[1, 784, 128, 'float32'], [3, 64, 36, 'float32'], [1, 96, 50, 'float64'], [8, 32, 16, 'float64']] as const) {
      const w = residentTensor(valuesWith(out * inp, inp, []), dtype, [out, inp]);
      assert.ok(residentAddress(w.data) >= 0, 'the weight is resident');
      const b = tensor(valuesWith(out, out, [NaN, -0]), { dtype });
      const x = tensor(valuesWith(m * inp, m + inp, [Infinity]), { dtype }).reshape([m, inp]);
      const layer = Dense(w, b, relu);
      const prod = matmul(x, transpose(w));
      const want = relu(add(prod, b)) as Tensor;
      gemvTuning.threadedMinMacs = 0;
      for (let rep = 0; rep < 50; rep++) {
        // the split runs only while a worker polls (it would wait on a sleeping one): keep it awake
        pool.wake();
        const end = performance.now() + 50;
        while (pool.pollingCount() === 0 && performance.now() < end);
        const before = pool.jobCounts().reduce((s, c) => s + c, 0);
        const got = (layer(x) as Tensor).data;
        if (pool.jobCounts().reduce((s, c) => s + c, 0) > before) split++;
        for (let i = 0; i < want.size; i++) {
          if (!Object.is(got[i], want.data[i])) assert.unreachable(`[${m}, ${inp}]→${out} ${dtype}: y[${i}] = ${got[i]}, one thread gives ${want.data[i]}`);
        }
      }
    }
  } finally {
    gemvTuning.threadedMinMacs = saved;
  }
  assert.ok(split > 0, `a worker took part in at least one call (took part in ${split} of 200)`);
});

test('Dense few rows: the fast path takes untraced calls only, and is reached by the layer', () => {
  const w = tensor([[1, 2], [3, -4]], { dtype: 'float32' }), b = tensor([0.5, -0.5], { dtype: 'float32' });
  const x = tensor([[1, 1]], { dtype: 'float32' });
  assert.ok(denseFewRows(x, w, b, true) !== undefined, 'an untraced batch-1 call qualifies');
  assert.is(denseFewRows(x.reshape([1, 1, 2]), w, b, true), undefined, '3-D inputs take the operations');
  // under a gradient: the same values, and a gradient (which the fast path could not give)
  const layer = Dense(w, b, relu);
  const [gx] = gradient((xx: Tensor) => sum(layer(xx) as Tensor), x) as [Tensor];
  assert.equal(Array.from(gx.data), [1, 2]); // only the first output is positive: d/dx of x·[1,2] + 0.5
});

test.run();
