/**
 * Parity of the elementwise kernel variants: every WebAssembly SIMD map (and the threaded
 * variant, where the runtime has workers) must give bit-for-bit what the JavaScript loops
 * give, on random lengths (across the streaming chunk boundaries), offsets into shared
 * storage, broadcast layouts and values including ±0, ±∞, NaN, subnormals and the
 * overflow/underflow edges of exp.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import ndarray from 'ndarray';
// the library entry first: it fixes the evaluation order of the tensor ↔ ops import cycle
import '../../../src/index.js';
import { binary, unary } from '../../../src/backend/cpu/elementwise.js';
import {
  getElementwiseVariant, setElementwiseVariant, simdOps, vectorTuning, vectorVariants, type VectorVariant,
} from '../../../src/backend/cpu/vector.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { runtime } from '../../../src/backend/cpu/runtime.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../../../src/ops/primitive.js';
import { withSetting } from '../../_helpers/variants.js';

type DT = 'float32' | 'float64';
const DTYPES: DT[] = ['float32', 'float64'];
const FAST = vectorVariants().filter((v) => v !== 'js');
// let the workers start, so the threaded variant really splits work
const pool = runtime()?.pool() ?? null;
pool?.waitReady();
const workerJobs = (): number => (pool ? pool.jobCounts().reduce((x, y) => x + y, 0) : 0);

/** Values that stress every branch of the kernels (exp's reduction ranges and special lanes included). */
const EDGES = [
  0, -0, 1, -1, 0.5, -0.5, Infinity, -Infinity, NaN, 2 ** -28, -(2 ** -28), 2 ** -29, 1e-300, -1e-300,
  5e-324, 1.5e-45, 1.2e-38, 3.4e38, -3.4e38, 0.34657359027997264, 0.3465735902799727, 1.0397207708399179,
  709.782712893384, 709.7827128933841, -745.1332191019412, -745.1332191019413, -708.4, 88.72283935546875,
  88.7228, -87.33654, -103.97, -104, 100, -100, 1e10, -1e10,
];

function arbValue(dt: DT): fc.Arbitrary<number> {
  const wide = dt === 'float32' ? fc.float() : fc.double();
  return fc.oneof(
    { weight: 3, arbitrary: fc.double({ min: -800, max: 800, noNaN: true }) },
    { weight: 3, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
    { weight: 2, arbitrary: wide },
    { weight: 1, arbitrary: fc.constantFrom(...EDGES) },
  );
}

/** A 1-d float array of `n` values with `pad` extra elements in front (a tensor at an offset into shared storage). */
function arbArray(dt: DT, maxLen: number): fc.Arbitrary<{ data: Float32Array | Float64Array; pad: number; n: number }> {
  return fc.record({
    n: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: maxLen })),
    pad: fc.integer({ min: 0, max: 5 }),
    seed: fc.array(arbValue(dt), { minLength: 1, maxLength: 64 }),
  }).map(({ n, pad, seed }) => {
    const data = dt === 'float32' ? new Float32Array(n + pad) : new Float64Array(n + pad);
    // cycle the drawn values with a stride so long arrays are not periodic in 64
    for (let i = 0; i < data.length; i++) data[i] = seed[(i * 7 + (i >> 6)) % seed.length]!;
    return { data, pad, n };
  });
}

/** Storage for a tensor of `shape` at offset `pad`, filled by cycling `seed`. */
function fill(dt: DT, shape: number[], pad: number, seed: number[]): Float32Array | Float64Array {
  const n = shape.reduce((x, y) => x * y, 1) + pad;
  const data = dt === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = seed[(i * 7 + (i >> 6)) % seed.length]!;
  return data;
}

function view(data: Float32Array | Float64Array, pad: number, shape: number[]): Tensor {
  return new Tensor(ndarray(data, shape, undefined, pad));
}

const withVariant = <T>(v: VectorVariant | 'auto', fn: () => T): T => withSetting(getElementwiseVariant, setElementwiseVariant, v, fn);

function assertSame(actual: Tensor, expected: Tensor, what: string): void {
  assert.equal(actual.shape, expected.shape, `${what}: shape`);
  assert.is(actual.dtype, expected.dtype, `${what}: dtype`);
  const a = actual.data, e = expected.data;
  for (let i = 0; i < e.length; i++) {
    if (!Object.is(a[i], e[i]) && !(Number.isNaN(a[i]!) && Number.isNaN(e[i]!))) {
      assert.unreachable(`${what}[${i}]: got ${a[i]}, the JavaScript loop gives ${e[i]}`);
    }
  }
}

test('there is at least one fast variant where WebAssembly SIMD exists', () => {
  assert.ok(vectorVariants().includes('js'));
  if (typeof WebAssembly === 'object') assert.ok(FAST.includes('wasm'), 'wasm variant available');
});

test('setElementwiseVariant rejects unknown variants', () => {
  assert.throws(() => setElementwiseVariant('gpu' as VectorVariant), /not available/);
  assert.is(getElementwiseVariant(), 'auto');
});

for (const dt of DTYPES) {
  test(`unary SIMD maps equal the JavaScript loops bit for bit (${dt})`, () => {
    for (const op of simdOps.unary[dt]) {
      fc.assert(fc.property(arbArray(dt, 20000), ({ data, pad, n }) => {
        const x = view(data, pad, [n]);
        const ref = withVariant('js', () => unary(op as UnaryOp, x));
        for (const v of FAST) assertSame(withVariant(v, () => unary(op as UnaryOp, x)), ref, `${op} ${dt} n=${n} ${v}`);
      }), { numRuns: 25 });
    }
  });

  test(`binary SIMD maps equal the JavaScript loops bit for bit: same shape, scalar and row broadcasts (${dt})`, () => {
    const arb = fc.record({
      layout: fc.constantFrom('same', 'scalar-right', 'scalar-left', 'row', 'column'),
      rows: fc.integer({ min: 1, max: 5 }),
      cols: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5000 })),
      padA: fc.integer({ min: 0, max: 5 }),
      padB: fc.integer({ min: 0, max: 5 }),
      seedA: fc.array(arbValue(dt), { minLength: 1, maxLength: 64 }),
      seedB: fc.array(arbValue(dt), { minLength: 1, maxLength: 64 }),
    });
    for (const op of simdOps.binary) {
      fc.assert(fc.property(arb, ({ layout, rows, cols, padA, padB, seedA, seedB }) => {
        const shapes: Record<string, [number[], number[]]> = {
          same: [[rows, cols], [rows, cols]],
          'scalar-right': [[rows, cols], []],
          'scalar-left': [[1], [rows, cols]],
          row: [[rows, cols], [cols]],
          column: [[rows, cols], [rows, 1]],
        };
        const [sa, sb] = shapes[layout]!;
        const a = view(fill(dt, sa, padA, seedA), padA, sa), b = view(fill(dt, sb, padB, seedB), padB, sb);
        const ref = withVariant('js', () => binary(op as BinaryOp | CompareOp, a, b));
        for (const v of FAST) assertSame(withVariant(v, () => binary(op as BinaryOp | CompareOp, a, b)), ref, `${op} ${dt} ${layout} [${sa}]∘[${sb}] ${v}`);
      }), { numRuns: 12 });
    }
  });
}

test('the threaded variant hands slices to the workers', () => {
  if (!FAST.includes('threaded')) return;
  const x = view(new Float64Array(4096).map((_, i) => i / 100 - 20), 0, [4096]);
  const before = workerJobs();
  assertSame(withVariant('threaded', () => unary('exp', x)), withVariant('js', () => unary('exp', x)), 'threaded exp');
  assert.ok(workerJobs() > before, 'a worker ran part of the map');
});

test('mixed dtypes and strided operands fall back to the loops and still agree', () => {
  const a = new Float32Array(3000).map((_, i) => Math.sin(i));
  const b = new Float64Array(3000).map((_, i) => Math.cos(i));
  const x32 = view(a, 0, [3000]), x64 = view(b, 0, [3000]);
  const strided = new Tensor(ndarray(b, [1500], [2], 1));
  for (const v of FAST) {
    assertSame(withVariant(v, () => binary('add', x32, x64)), withVariant('js', () => binary('add', x32, x64)), `mixed ${v}`);
    assertSame(withVariant(v, () => unary('exp', strided)), withVariant('js', () => unary('exp', strided)), `strided ${v}`);
  }
});

test('results do not depend on the streaming chunk size', () => {
  const x = view(new Float32Array(5000).map((_, i) => (i % 97) - 48.5), 0, [5000]);
  const ref = withVariant('js', () => unary('exp', x));
  const saved = vectorTuning.chunk;
  try {
    for (const chunk of [16, 100, 1024, 4999, 65536]) {
      vectorTuning.chunk = chunk;
      for (const v of FAST) assertSame(withVariant(v, () => unary('exp', x)), ref, `chunk ${chunk} ${v}`);
    }
  } finally {
    vectorTuning.chunk = saved;
  }
});

test.run();
