/**
 * Parity of the forward-convolution variants: the direct WebAssembly SIMD kernel, on one
 * thread and split over the worker pool, against the im2col + gemm path and a float64
 * reference straight from the definition, on random float32 convolutions the kernel
 * handles (unit stride and dilation, padding, groups, kernel widths 1…7, output widths
 * from 8, ragged channel counts) — and the cases it must leave to im2col.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
// the library entry first: it fixes the evaluation order of the tensor ↔ ops import cycle
import '../../../src/index.js';
import { conv2d, conv2dOutputShape, type Conv2dParams, type Shape4 } from '../../../src/backend/cpu/conv.js';
import { convVariants, getConvVariant, setConvVariant, type ConvVariant } from '../../../src/backend/cpu/conv-direct.js';
import { runtime } from '../../../src/backend/cpu/runtime.js';
import { withSetting } from '../../_helpers/variants.js';
import { lcgFloat32, sizeOf } from '../../_helpers/reference.js';

const pool = runtime()?.pool() ?? null;
pool?.waitReady();
const workerJobs = (): number => (pool ? pool.jobCounts().reduce((x, y) => x + y, 0) : 0);
const VARIANTS = convVariants();

const random = lcgFloat32, size = sizeOf;

/** float64 convolution from the definition, with |x|·|w| sums for the error bound. */
function reference(x: Float32Array, xs: Shape4, w: Float32Array, ws: Shape4, p: Conv2dParams): { y: Float64Array; mag: Float64Array } {
  const [n, c, h, wd] = xs;
  const [o, cg, kh, kw] = ws;
  const [, , oh, ow] = conv2dOutputShape(xs, ws, p);
  const og = o / p.groups;
  const y = new Float64Array(n * o * oh * ow), mag = new Float64Array(y.length);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const c0 = Math.floor(oc / og) * cg;
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = 0, m = 0;
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let bb = 0; bb < kw; bb++) {
                const iy = i - p.padding[0] + a, ix = j - p.padding[1] + bb;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const t = x[((b * c + c0 + ci) * h + iy) * wd + ix]! * w[((oc * cg + ci) * kh + a) * kw + bb]!;
                s += t;
                m += Math.abs(t);
              }
          y[((b * o + oc) * oh + i) * ow + j] = s;
          mag[((b * o + oc) * oh + i) * ow + j] = m;
        }
    }
  void c;
  return { y, mag };
}

const withVariant = <T>(v: ConvVariant | 'auto', fn: () => T): T => withSetting(getConvVariant, setConvVariant, v, fn);

/** Convolutions the direct kernel takes: stride 1, dilation 1, kw ≤ 7, ow ≥ 8. */
const arbDirect = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 5 }),
  og: fc.integer({ min: 1, max: 9 }),
  kh: fc.integer({ min: 1, max: 5 }),
  kw: fc.integer({ min: 1, max: 7 }),
  ph: fc.integer({ min: 0, max: 2 }),
  pw: fc.integer({ min: 0, max: 3 }),
  eh: fc.integer({ min: 0, max: 6 }),
  ow: fc.integer({ min: 8, max: 30 }),
  seed: fc.integer(),
}).map((r) => {
  const h = Math.max(1, r.kh - 2 * r.ph) + r.eh;
  const w = r.ow + r.kw - 1 - 2 * r.pw;
  const p: Conv2dParams = { stride: [1, 1], padding: [r.ph, r.pw], dilation: [1, 1], groups: r.groups };
  const xs: Shape4 = [r.n, r.cg * r.groups, h, w];
  const ws: Shape4 = [r.og * r.groups, r.cg, r.kh, r.kw];
  return { xs, ws, p, seed: r.seed };
}).filter((c) => c.xs[3] >= 1 && conv2dOutputShape(c.xs, c.ws, c.p)[2] >= 1);

test('variants: im2col always, the direct ones where the runtime has the kernel', () => {
  assert.ok(VARIANTS.includes('im2col'));
  if (typeof WebAssembly === 'object') assert.ok(VARIANTS.includes('direct'));
  assert.throws(() => setConvVariant('gpu' as ConvVariant), /not available/);
  assert.is(getConvVariant(), 'auto');
});

test('every variant matches the float64 definition and im2col on random direct-kernel convolutions (float32)', () => {
  fc.assert(fc.property(arbDirect, ({ xs, ws, p, seed }) => {
    const x = random(size(xs), seed), w = random(size(ws), seed ^ 0x9e3779b9);
    const { y, mag } = reference(x, xs, w, ws, p);
    const k = ws[1] * ws[2] * ws[3];
    for (const v of VARIANTS) {
      const got = withVariant(v, () => conv2d(x, xs, w, ws, p));
      assert.is(got.length, y.length);
      assert.ok(got instanceof Float32Array, `${v}: float32 result`);
      for (let i = 0; i < y.length; i++) {
        // float32 products and sums: (k + 1) roundings of at most 2⁻²⁴ relative to Σ|terms|
        const tol = (k + 2) * 2 ** -24 * mag[i]! + 1e-30;
        if (!(Math.abs(got[i]! - y[i]!) <= tol)) assert.unreachable(`${v} [${xs}]⊛[${ws}] pad ${p.padding}: y[${i}] = ${got[i]}, expected ${y[i]} ± ${tol}`);
      }
    }
  }), { numRuns: 60 });
});

test('the threaded variant hands images to the workers', () => {
  if (!VARIANTS.includes('threaded')) return;
  const xs: Shape4 = [8, 2, 12, 12], ws: Shape4 = [6, 2, 3, 3];
  const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
  const x = random(size(xs), 1), w = random(size(ws), 2);
  const before = workerJobs();
  const a = withVariant('threaded', () => conv2d(x, xs, w, ws, p));
  assert.ok(workerJobs() > before, 'a worker ran part of the batch');
  const b = withVariant('direct', () => conv2d(x, xs, w, ws, p));
  assert.equal(Array.from(a), Array.from(b), 'same sums in the same order');
});

test('threaded: image counts that do not split evenly over the jobs equal one thread bit for bit, and the definition', () => {
  if (!VARIANTS.includes('threaded')) return;
  const p: Conv2dParams = { stride: [1, 1], padding: [0, 1], dilation: [1, 1], groups: 1 };
  for (const n of [2, 5, 7, 9, 13]) {
    const xs: Shape4 = [n, 3, 9, 10], ws: Shape4 = [5, 3, 3, 3];
    const x = random(size(xs), n), w = random(size(ws), n + 1);
    const a = withVariant('threaded', () => conv2d(x, xs, w, ws, p));
    const b = withVariant('direct', () => conv2d(x, xs, w, ws, p));
    assert.is(a.length, b.length);
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.unreachable(`n ${n}: y[${i}] = ${a[i]} threaded, ${b[i]} on one thread`);
    const { y } = reference(x, xs, w, ws, p);
    for (let i = 0; i < y.length; i++) if (!(Math.abs(a[i]! - y[i]!) <= 1e-4 * (1 + Math.abs(y[i]!)))) assert.unreachable(`n ${n}: y[${i}] = ${a[i]}, expected ${y[i]}`);
  }
});

test('outside the direct kernel (stride, dilation, wide or narrow output, float64) every variant is im2col', () => {
  const cases: { xs: Shape4; ws: Shape4; p: Conv2dParams }[] = [
    { xs: [2, 3, 12, 12], ws: [4, 3, 3, 3], p: { stride: [2, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } },
    { xs: [2, 3, 12, 14], ws: [4, 3, 3, 3], p: { stride: [1, 1], padding: [0, 0], dilation: [1, 2], groups: 1 } },
    { xs: [1, 2, 9, 20], ws: [3, 2, 3, 9], p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } },
    { xs: [1, 2, 9, 9], ws: [3, 2, 3, 3], p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } },
  ];
  for (const { xs, ws, p } of cases) {
    const x = random(size(xs), 3), w = random(size(ws), 4);
    const ref = withVariant('im2col', () => conv2d(x, xs, w, ws, p));
    for (const v of VARIANTS) assert.equal(Array.from(withVariant(v, () => conv2d(x, xs, w, ws, p))), Array.from(ref), `${v} [${xs}]⊛[${ws}]`);
    const x64 = Float64Array.from(x), w64 = Float64Array.from(w);
    const ref64 = withVariant('im2col', () => conv2d(x64, xs, w64, ws, p));
    for (const v of VARIANTS) assert.equal(Array.from(withVariant(v, () => conv2d(x64, xs, w64, ws, p))), Array.from(ref64), `${v} float64`);
  }
});

test.run();
