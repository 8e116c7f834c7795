/**
 * Parity of the convolution gradients on every variant (im2col + gemm + col2im; the direct
 * WebAssembly SIMD filter-gradient kernel on one thread and over the worker pool; the input
 * gradient as a forward convolution of padded dy with flipped filters) against float64
 * plain-loop references written from the definitions, on random float32 shapes, strides,
 * padding, dilation and groups — each variant takes what it handles and leaves the rest to
 * im2col, so every case checks whatever runs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
// the library entry first: it fixes the evaluation order of the tensor ↔ ops import cycle
import '../../../src/index.js';
import {
  conv2dBackwardFilter, conv2dBackwardInput, conv2dOutputShape, type Conv2dParams, type Shape4,
} from '../../../src/backend/cpu/conv.js';
import { convVariants, getConvVariant, setConvVariant, type ConvVariant } from '../../../src/backend/cpu/conv-direct.js';
import { runtime } from '../../../src/backend/cpu/runtime.js';
import { withSetting } from '../../_helpers/variants.js';
import { lcgFloat32, sizeOf } from '../../_helpers/reference.js';

const pool = runtime()?.pool() ?? null;
pool?.waitReady();
const workerJobs = (): number => (pool ? pool.jobCounts().reduce((x, y) => x + y, 0) : 0);
const VARIANTS = convVariants();

const random = lcgFloat32, size = sizeOf;

interface Case { xs: Shape4; ws: Shape4; ys: Shape4; p: Conv2dParams; seed: number }

/**
 * Visit every (image, out channel, output position, in channel of the group, tap) whose input
 * coordinate lies inside the image, with the flat indices of x, w and y.
 */
function eachTerm(c: Case, visit: (xi: number, wi: number, yi: number) => void): void {
  const [n, ch, h, wd] = c.xs;
  const [o, cg, kh, kw] = c.ws;
  const [, , oh, ow] = c.ys;
  const og = o / c.p.groups;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const c0 = Math.floor(oc / og) * cg;
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++)
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let e = 0; e < kw; e++) {
                const iy = i * c.p.stride[0] - c.p.padding[0] + a * c.p.dilation[0];
                const ix = j * c.p.stride[1] - c.p.padding[1] + e * c.p.dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                visit(((b * ch + c0 + ci) * h + iy) * wd + ix, ((oc * cg + ci) * kh + a) * kw + e, ((b * o + oc) * oh + i) * ow + j);
              }
    }
}

/** float64 dW = Σ dy·x and dx = Σ dy·w from the definition, with Σ|terms| and term counts for the error bounds. */
function references(c: Case, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const dw = new Float64Array(w.length), dwMag = new Float64Array(w.length), dwCount = new Float64Array(w.length);
  const dx = new Float64Array(x.length), dxMag = new Float64Array(x.length), dxCount = new Float64Array(x.length);
  eachTerm(c, (xi, wi, yi) => {
    const tw = dy[yi]! * x[xi]!, tx = dy[yi]! * w[wi]!;
    dw[wi] += tw; dwMag[wi] += Math.abs(tw); dwCount[wi]++;
    dx[xi] += tx; dxMag[xi] += Math.abs(tx); dxCount[xi]++;
  });
  return { dw, dwMag, dwCount, dx, dxMag, dxCount };
}

const withVariant = <T>(v: ConvVariant | 'auto', fn: () => T): T => withSetting(getConvVariant, setConvVariant, v, fn);

/** Random convolutions: strides 1–2, dilation 1–2, padding up to 2, groups 1–3, kernels 1×1 to 4×5. */
const arbCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 1, max: 4 }),
  og: fc.integer({ min: 1, max: 9 }),
  kh: fc.integer({ min: 1, max: 4 }),
  kw: fc.integer({ min: 1, max: 5 }),
  sh: fc.integer({ min: 1, max: 2 }),
  sw: fc.integer({ min: 1, max: 2 }),
  dh: fc.integer({ min: 1, max: 2 }),
  dw: fc.integer({ min: 1, max: 2 }),
  ph: fc.integer({ min: 0, max: 2 }),
  pw: fc.integer({ min: 0, max: 2 }),
  h: fc.integer({ min: 1, max: 14 }),
  w: fc.integer({ min: 1, max: 21 }),
  seed: fc.integer(),
}).map((r): Case => {
  const p: Conv2dParams = { stride: [r.sh, r.sw], padding: [r.ph, r.pw], dilation: [r.dh, r.dw], groups: r.groups };
  const xs: Shape4 = [r.n, r.cg * r.groups, r.h, r.w];
  const ws: Shape4 = [r.og * r.groups, r.cg, r.kh, r.kw];
  return { xs, ws, ys: conv2dOutputShape(xs, ws, p), p, seed: r.seed };
}).filter((c) => c.ys[2] >= 1 && c.ys[3] >= 1);

/** float32 products and sums: (terms + 2) roundings of at most 2⁻²⁴ relative to Σ|terms|. */
function near(got: Float32Array | Float64Array, want: Float64Array, mag: Float64Array, count: Float64Array, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const tol = (count[i]! + 2) * 2 ** -24 * mag[i]! + 1e-30;
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) assert.unreachable(`${what}[${i}] = ${got[i]}, expected ${want[i]} ± ${tol}`);
  }
}

test('every variant\'s filter and input gradients match the float64 definitions (float32, random geometry)', () => {
  fc.assert(fc.property(arbCase, (c) => {
    const x = random(size(c.xs), c.seed), w = random(size(c.ws), c.seed ^ 0x9e3779b9), dy = random(size(c.ys), c.seed ^ 0x51ed27);
    const ref = references(c, x, w, dy);
    const label = `[${c.xs}]⊛[${c.ws}] stride ${c.p.stride} pad ${c.p.padding} dil ${c.p.dilation} groups ${c.p.groups}`;
    for (const v of [...VARIANTS, 'auto'] as const) {
      const dw = withVariant(v, () => conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p));
      assert.ok(dw instanceof Float32Array, `${v}: float32 filter gradient`);
      near(dw, ref.dw, ref.dwMag, ref.dwCount, `${v} dW ${label}`);
      const dx = withVariant(v, () => conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p));
      assert.ok(dx instanceof Float32Array, `${v}: float32 input gradient`);
      near(dx, ref.dx, ref.dxMag, ref.dxCount, `${v} dx ${label}`);
    }
  }), { numRuns: 80 });
});

test('the CNN\'s layer shapes (wide rows, lane tails of 2 and 3, 64-image batches) match the definitions on every variant', () => {
  const unit: Conv2dParams = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  const cases: Case[] = [
    { xs: [8, 1, 28, 28], ws: [32, 1, 3, 3], ys: [8, 32, 26, 26], p: unit, seed: 5 },
    { xs: [6, 32, 13, 13], ws: [64, 32, 3, 3], ys: [6, 64, 11, 11], p: unit, seed: 6 },
    { xs: [2, 6, 13, 13], ws: [10, 6, 3, 3], ys: [2, 10, 13, 13], p: { ...unit, padding: [1, 1] }, seed: 7 },
  ];
  for (const c of cases) {
    const x = random(size(c.xs), c.seed), w = random(size(c.ws), c.seed + 1), dy = random(size(c.ys), c.seed + 2);
    const ref = references(c, x, w, dy);
    for (const v of [...VARIANTS, 'auto'] as const) {
      near(withVariant(v, () => conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p)), ref.dw, ref.dwMag, ref.dwCount, `${v} dW [${c.xs}]⊛[${c.ws}]`);
      near(withVariant(v, () => conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p)), ref.dx, ref.dxMag, ref.dxCount, `${v} dx [${c.xs}]⊛[${c.ws}]`);
    }
  }
});

test('float64 gradients are the same on every variant (the direct kernels are float32-only)', () => {
  const c: Case = { xs: [2, 4, 9, 11], ws: [6, 2, 3, 3], ys: [2, 6, 9, 11], p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2 }, seed: 9 };
  const x = Float64Array.from(random(size(c.xs), 1)), w = Float64Array.from(random(size(c.ws), 2)), dy = Float64Array.from(random(size(c.ys), 3));
  const dw0 = withVariant('im2col', () => conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p));
  const dx0 = withVariant('im2col', () => conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p));
  for (const v of VARIANTS) {
    assert.equal(Array.from(withVariant(v, () => conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p))), Array.from(dw0), `${v} dW`);
    assert.equal(Array.from(withVariant(v, () => conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p))), Array.from(dx0), `${v} dx`);
  }
});

test('the threaded filter gradient hands channel blocks to the workers and sums as one thread does', () => {
  if (!VARIANTS.includes('threaded')) return;
  const c: Case = { xs: [4, 3, 12, 12], ws: [16, 3, 3, 3], ys: [4, 16, 10, 10], p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }, seed: 11 };
  const x = random(size(c.xs), 1), dy = random(size(c.ys), 2);
  const before = workerJobs();
  const a = withVariant('threaded', () => conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p));
  assert.ok(workerJobs() > before, 'a worker ran part of it');
  const b = withVariant('direct', () => conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p));
  assert.equal(Array.from(a), Array.from(b), 'same sums in the same order');
});

test.run();
