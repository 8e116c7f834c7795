/**
 * Resident storage (src/backend/cpu/resident.ts): parameters in the runtime's shared wasm
 * memory, read by the kernels in place.
 *
 * - Products with a resident operand give bit-for-bit the results of the same product on an
 *   ordinary copy (same kernels, same order of summation; only the staging differs), on every
 *   path: few-rows dot and axpy forms, the packed driver on one thread and on the pool.
 * - Writes through `.data` are seen by the next call (nothing is cached).
 * - Blocks are freed when no array over them is reachable, and not before: a `subarray` keeps
 *   its block alive; a reused block comes back zeroed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Dense, glorotUniform, tensor } from '../../../src/index.js';
import { gemm, gemmTuning, gemmVariants, setGemmVariant } from '../../../src/backend/cpu/gemm.js';
import { RESIDENT_MIN_BYTES, residentAddress, residentArray, residentStats } from '../../../src/backend/cpu/resident.js';
import { runtime } from '../../../src/backend/cpu/runtime.js';
import { adamF32, descentF32, updateTuning } from '../../../src/backend/cpu/update.js';
import { lcgFloat32 } from '../../_helpers/reference.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const SHARED = runtime()?.engine.shared === true;
type DT = 'float32' | 'float64';

/** `len` values from seed `seed` as an ordinary array and as a resident copy. */
function pair(len: number, seed: number, dtype: DT): [Float32Array | Float64Array, Float32Array | Float64Array] {
  const src = lcgFloat32(len, seed);
  const plain = dtype === 'float32' ? Float32Array.from(src) : Float64Array.from(src);
  const res = residentArray(dtype, Math.max(len, RESIDENT_MIN_BYTES / 4));
  if (res === null) throw new Error('no resident array although the memory is shared');
  res.set(plain);
  return [plain, res.subarray(0, len)];
}

test('resident: arrays live in the shared memory where it exists, small ones never', () => {
  if (!SHARED) {
    console.log('  (no shared wasm memory in this runtime: resident storage is off, every array is ordinary)');
    assert.is(residentArray('float32', 4096), null);
    return;
  }
  const a = residentArray('float32', 4096)!;
  assert.ok(a instanceof Float32Array);
  assert.ok(residentAddress(a) >= 0);
  assert.ok(a.every((x) => x === 0));
  assert.is(residentArray('float32', RESIDENT_MIN_BYTES / 4 - 1), null);
  assert.is(residentAddress(new Float32Array(4096)), -1);
  const w = glorotUniform([128, 784]);
  assert.ok(residentAddress(w.data) >= 0, 'initialisers allocate parameters resident');
});

test('resident: products read resident operands in place with the same results, every path', () => {
  if (!SHARED || !gemmVariants().includes('wasm')) {
    console.log('  (no shared wasm memory: nothing resident to multiply)');
    return;
  }
  const threaded = gemmVariants().includes('threaded');
  fc.assert(fc.property(
    fc.record({
      m: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 40 })),
      n: fc.integer({ min: 1, max: 90 }), k: fc.integer({ min: 1, max: 200 }),
      dtype: fc.constantFrom<DT>('float32', 'float64'), bT: fc.boolean(), aResident: fc.boolean(),
      off: fc.nat({ max: 5 }), accumulate: fc.boolean(), seed: fc.integer(),
      path: fc.constantFrom('few-rows', 'packed', 'threaded'),
    }),
    (p) => {
      const { m, n, k, dtype, off } = p;
      const [aPlain, aRes] = pair(off + m * k, p.seed, dtype);
      const [bPlain, bRes] = pair(off + n * k, p.seed ^ 0x2545f491, dtype);
      const [bRs, bCs] = p.bT ? [1, k] : [n, 1];
      const c0 = Float64Array.from(lcgFloat32(m * n, p.seed ^ 99));
      const out = (): Float32Array | Float64Array => (dtype === 'float32' ? Float32Array.from(c0) : Float64Array.from(c0));
      const cPlain = out(), cRes = out();
      const saved = gemmTuning.fewRowsMax;
      if (p.path !== 'few-rows') gemmTuning.fewRowsMax = 0;
      setGemmVariant(p.path === 'threaded' && threaded ? 'threaded' : 'wasm');
      try {
        gemm(m, n, k, aPlain, off, k, 1, bPlain, off, bRs, bCs, cPlain, 0, n, p.accumulate);
        gemm(m, n, k, p.aResident ? aRes : aPlain, off, k, 1, bRes, off, bRs, bCs, cRes, 0, n, p.accumulate);
      } finally {
        gemmTuning.fewRowsMax = saved;
        setGemmVariant('auto');
      }
      for (let i = 0; i < m * n; i++) {
        if (!Object.is(cPlain[i], cRes[i])) assert.unreachable(`C[${i}]: ${cRes[i]} with resident operands vs ${cPlain[i]} (${JSON.stringify(p)})`);
      }
    },
  ), { numRuns: 150 });
});

test('resident: optimiser updates in place equal the staged updates bit for bit', () => {
  if (!SHARED) {
    console.log('  (no shared wasm memory: updates are staged only)');
    return;
  }
  const saved = updateTuning.minElements;
  updateTuning.minElements = 0;
  try {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3000 }), fc.nat(), fc.integer({ min: 1, max: 5 }), (n, seed, steps) => {
      const fresh = (s: number): Float32Array => Float32Array.from(lcgFloat32(n, s));
      const res = (a: Float32Array): Float32Array => {
        const r = residentArray('float32', Math.max(n, RESIDENT_MIN_BYTES / 4))!.subarray(0, n) as Float32Array;
        r.set(a);
        return r;
      };
      const x = fresh(seed), m = new Float32Array(n), v = new Float32Array(n);
      const xr = res(x), mr = res(m), vr = res(v), dx = res(x), ex = fresh(seed);
      for (let t = 1; t <= steps; t++) {
        const g = fresh(seed + t);
        const h = { b1: 0.9, b2: 0.999, c1: 1 / (1 - 0.9 ** t), c2: 1 / (1 - 0.999 ** t), epsilon: 1e-8, eta: 1e-2 };
        assert.ok(adamF32(h, x, g, m, v, null) && adamF32(h, xr, g, mr, vr, null));
        assert.ok(descentF32(0.05, ex, g) && descentF32(0.05, dx, g));
      }
      for (const [a, b, what] of [[x, xr, 'x'], [m, mr, 'm'], [v, vr, 'v'], [ex, dx, 'descent x']] as const) {
        for (let i = 0; i < n; i++) if (!Object.is(a[i], b[i])) assert.unreachable(`${what}[${i}] resident ${b[i]} vs staged ${a[i]} (n=${n}, seed=${seed})`);
      }
    }), { numRuns: 60 });
  } finally {
    updateTuning.minElements = saved;
  }
});

test('resident: a write through .data is seen by the next call', () => {
  const d = Dense(784, 128);
  const x = tensor(Array.from({ length: 784 }, (_, i) => (i % 7) / 7), { dtype: 'float32' }).reshape([1, 784]);
  const w = d.weight.data; // held across calls, as a hand-written optimiser would
  const before = (d(x) as ReturnType<typeof tensor>).data[5]!;
  w[5 * 784 + 3] += 1; // output 5 gains x[3] = 3/7
  const after = (d(x) as ReturnType<typeof tensor>).data[5]!;
  assert.ok(Math.abs(after - before - 3 / 7) < 1e-5, `${after} − ${before} should be 3/7`);
});

test('resident: a block is freed once no array over it is reachable, not while a subarray is', async () => {
  if (!SHARED) {
    console.log('  (no shared wasm memory: no resident blocks to free)');
    return;
  }
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10)); // finalizers run as tasks after a collection
    }
  };
  await settle();
  const start = residentStats().blocks;
  let a: Float32Array | null = residentArray('float32', 8192) as Float32Array;
  let view: Float32Array | null = a.subarray(100, 200);
  view[0] = 42;
  a = null;
  await settle();
  assert.is(residentStats().blocks, start + 1, 'the subarray keeps its block');
  assert.is(view[0], 42);
  const other = residentArray('float32', 8192)!;
  other.fill(7);
  assert.is(view[0], 42, 'a live block is not handed out again');
  view = null;
  await settle();
  assert.is(residentStats().blocks, start + 1, 'only the second block is left');
  const again = residentArray('float32', 8192)!;
  assert.ok(again.every((v) => v === 0), 'a reused block comes back zeroed');
  assert.ok(residentAddress(other) >= 0 && residentAddress(again) >= 0);
});

test.run();
