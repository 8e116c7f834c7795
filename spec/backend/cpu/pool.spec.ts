import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward, maxPool2dGather, maxPool2dValues, pool2dOutputShape,
  type AvgPool2dParams, type Pool2dParams,
} from '../../../src/backend/cpu/pool.js';
import type { Shape4 } from '../../../src/backend/cpu/conv.js';
import type { FloatArray } from '../../../src/tensor/dtype.js';
import { seededValues } from '../../_helpers/arbitraries.js';

// ---------------------------------------------------------------- helpers

/** Deterministic data from a seed, so fast-check shrinks shapes, not megabytes of numbers. */
const randomArray = (size: number, seed: number, f32 = false): FloatArray => seededValues(size, seed, f32 ? 'float32' : 'float64');

/** A random permutation of 0…size−1 as floats: distinct values ≥ 1 apart, so max pooling is locally linear. */
function distinctArray(size: number, seed: number): Float64Array {
  const r = randomArray(size, seed);
  const order = Array.from({ length: size }, (_, i) => i).sort((a, b) => r[a]! - r[b]!);
  const a = new Float64Array(size);
  order.forEach((v, i) => { a[v] = i; });
  return a;
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const ok = Object.is(actual[i], e) || Math.abs(actual[i]! - e) <= tol * (1 + Math.abs(e));
    if (!ok) assert.unreachable(`${what}[${i}]: got ${actual[i]}, expected ${e}`);
  }
}

function assertScalarClose(actual: number, expected: number, tol: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tol * (1 + Math.abs(expected)))) {
    assert.unreachable(`${what}: got ${actual}, expected ${expected}`);
  }
}

// ---------------------------------------------------------------- naive reference

/** Visit every window: output index and the flat input indices of its in-bounds taps, in row-major order. */
function forEachWindow(xs: Shape4, p: Pool2dParams, f: (yi: number, taps: number[]) => void): void {
  const [n, c, h, w] = xs;
  const [, , oh, ow] = pool2dOutputShape(xs, p);
  for (let plane = 0; plane < n * c; plane++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++) {
        const taps: number[] = [];
        for (let i = 0; i < p.kernel[0]; i++)
          for (let j = 0; j < p.kernel[1]; j++) {
            const iy = y * p.stride[0] - p.padding[0] + i * p.dilation[0];
            const ix = x * p.stride[1] - p.padding[1] + j * p.dilation[1];
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) taps.push((plane * h + iy) * w + ix);
          }
        f((plane * oh + y) * ow + x, taps);
      }
}

function refMaxPool(x: ArrayLike<number>, xs: Shape4, p: Pool2dParams): { out: Float64Array; argmax: Int32Array } {
  const len = size(pool2dOutputShape(xs, p));
  const out = new Float64Array(len);
  const argmax = new Int32Array(len);
  forEachWindow(xs, p, (yi, taps) => {
    let best = -Infinity, at = -1;
    for (const t of taps) {
      if (Number.isNaN(x[t]!)) { best = NaN; at = t; break; }
      if (at < 0 || x[t]! > best) { best = x[t]!; at = t; } // first of equal values wins
    }
    out[yi] = best;
    argmax[yi] = at;
  });
  return { out, argmax };
}

function refAvgPool(x: ArrayLike<number>, xs: Shape4, p: AvgPool2dParams): Float64Array {
  const out = new Float64Array(size(pool2dOutputShape(xs, p)));
  forEachWindow(xs, p, (yi, taps) => {
    const div = (p.countIncludePad ?? true) ? p.kernel[0] * p.kernel[1] : taps.length;
    out[yi] = div === 0 ? 0 : taps.reduce((s, t) => s + x[t]!, 0) / div;
  });
  return out;
}

// ---------------------------------------------------------------- generators

interface Case { xs: Shape4; ys: Shape4; p: AvgPool2dParams; seed: number }

/** Small random poolings with a non-empty output; padding up to 2 may exceed kernel/2 (all-padding windows). */
const arbCase: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    eh: fc.integer({ min: 0, max: 5 }),
    ew: fc.integer({ min: 0, max: 5 }),
    countIncludePad: fc.boolean(),
    seed: fc.integer(),
  })
  .map((r) => {
    const h = Math.max(1, r.dh * (r.kh - 1) + 1 - 2 * r.ph) + r.eh;
    const w = Math.max(1, r.dw * (r.kw - 1) + 1 - 2 * r.pw) + r.ew;
    const p: AvgPool2dParams = {
      kernel: [r.kh, r.kw], stride: [r.sh, r.sw], padding: [r.ph, r.pw], dilation: [r.dh, r.dw],
      countIncludePad: r.countIncludePad,
    };
    const xs: Shape4 = [r.n, r.c, h, w];
    return { xs, ys: pool2dOutputShape(xs, p), p, seed: r.seed };
  });

// ---------------------------------------------------------------- shape

test('pool2dOutputShape follows the floor formula', () => {
  const p = (k: number, s: number, pad = 0, d = 1): Pool2dParams =>
    ({ kernel: [k, k], stride: [s, s], padding: [pad, pad], dilation: [d, d] });
  assert.equal(pool2dOutputShape([64, 32, 26, 26], p(2, 2)), [64, 32, 13, 13]);
  assert.equal(pool2dOutputShape([1, 3, 7, 7], p(3, 2, 1)), [1, 3, 4, 4]);
  assert.equal(pool2dOutputShape([1, 1, 9, 9], p(3, 1, 0, 2)), [1, 1, 5, 5]);
  assert.equal(pool2dOutputShape([1, 1, 5, 5], p(2, 2)), [1, 1, 2, 2]);
  assert.ok(pool2dOutputShape([1, 1, 2, 2], p(5, 1))[2] <= 0);
});

// ---------------------------------------------------------------- max pooling

test('maxPool2d matches the reference (values and argmax), float64 and float32', () => {
  fc.assert(fc.property(arbCase, (c) => {
    const x = randomArray(size(c.xs), c.seed);
    const ref = refMaxPool(x, c.xs, c.p);
    const got = maxPool2d(x, c.xs, c.p);
    assertClose(got.out, ref.out, 0, 'out');
    assert.equal(Array.from(got.argmax), Array.from(ref.argmax));
    const x32 = Float32Array.from(x);
    const got32 = maxPool2d(x32, c.xs, c.p);
    assert.instance(got32.out, Float32Array);
    assert.equal(Array.from(got32.argmax), Array.from(ref.argmax));
  }), { numRuns: 150 });
});

test('maxPool2dValues equals the values of maxPool2d (fast path for non-overlapping windows and the general path), NaN included', () => {
  const same = (a: FloatArray, b: FloatArray) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
  fc.assert(fc.property(arbCase, fc.boolean(), fc.boolean(), (c, tile, withNaN) => {
    // half the cases force the fast path's geometry: stride = kernel, no padding or dilation
    const p = tile ? { ...c.p, stride: c.p.kernel, padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number] } : c.p;
    const [oh, ow] = pool2dOutputShape(c.xs, p).slice(2);
    fc.pre(oh! > 0 && ow! > 0);
    const x = randomArray(size(c.xs), c.seed);
    if (withNaN) x[Math.abs(c.seed) % x.length] = NaN;
    for (const arr of [x, Float32Array.from(x)]) {
      const got = maxPool2dValues(arr, c.xs, p);
      const ref = refMaxPool(x, c.xs, p).out;
      assert.ok(same(got, arr instanceof Float32Array ? Float32Array.from(ref) : ref), 'values differ from the reference');
      assert.is(got.constructor, arr.constructor);
    }
  }), { numRuns: 200 });
});

test('maxPool2d ties go to the first element of the window in row-major order', () => {
  // few distinct values, so windows tie constantly
  fc.assert(fc.property(arbCase, (c) => {
    const x = randomArray(size(c.xs), c.seed).map((v) => Math.round(v * 1.5));
    const ref = refMaxPool(x, c.xs, c.p);
    assert.equal(Array.from(maxPool2d(x, c.xs, c.p).argmax), Array.from(ref.argmax));
  }), { numRuns: 100 });
  const p: Pool2dParams = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };
  const x = Float64Array.from([
    1, 1, 0, 3,
    1, 1, 3, 3,
  ]);
  const { out, argmax } = maxPool2d(x, [1, 1, 2, 4], p);
  assert.equal(Array.from(out), [1, 3]);
  assert.equal(Array.from(argmax), [0, 3]);
});

test('maxPool2d: padding is -Infinity; an all-padding window gives -Infinity and argmax -1', () => {
  const p: Pool2dParams = { kernel: [2, 2], stride: [1, 1], padding: [1, 1], dilation: [1, 1] };
  const x = Float64Array.from([-5, -6, -7, -8]); // all negative: zero padding would win, -Infinity must not
  const { out, argmax } = maxPool2d(x, [1, 1, 2, 2], p);
  assert.equal(Array.from(out), [-5, -5, -6, -5, -5, -6, -7, -7, -8]);
  assert.equal(Array.from(argmax), [0, 0, 1, 0, 0, 1, 2, 2, 3]);
  // kernel 1 with padding 1: the corner windows see only padding
  const q: Pool2dParams = { kernel: [1, 1], stride: [2, 2], padding: [1, 1], dilation: [1, 1] };
  const r = maxPool2d(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 1, 3, 3], q);
  const I = -Infinity;
  assert.equal(Array.from(r.out), [I, I, I, I, 5, I, I, I, I]);
  assert.equal(Array.from(r.argmax), [-1, -1, -1, -1, 4, -1, -1, -1, -1]);
  const dy = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(Array.from(maxPool2dBackward(dy, r.argmax, [1, 1, 3, 3])), [0, 0, 0, 0, 5, 0, 0, 0, 0]);
});

test('maxPool2d propagates NaN (the first NaN in the window is selected)', () => {
  const p: Pool2dParams = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };
  const x = Float64Array.from([1, NaN, 2, 3, NaN, 9, 4, 5]);
  const { out, argmax } = maxPool2d(x, [1, 1, 2, 4], p);
  assert.ok(Number.isNaN(out[0]));
  assert.is(out[1], 5);
  assert.equal(Array.from(argmax), [1, 7]);
  const lead = maxPool2d(Float64Array.from([NaN, 7, NaN, 1]), [1, 1, 2, 2], p);
  assert.equal(Array.from(lead.argmax), [0]);
});

test('maxPool2dBackward: adjoint of the gather, and finite differences away from ties', () => {
  fc.assert(fc.property(arbCase, (c) => {
    const x = distinctArray(size(c.xs), c.seed);
    const { argmax } = maxPool2d(x, c.xs, c.p);
    const dy = randomArray(size(c.ys), c.seed ^ 3);
    const v = randomArray(size(c.xs), c.seed ^ 5);
    const dx = maxPool2dBackward(dy, argmax, c.xs);
    assert.is(dx.length, size(c.xs));
    // <gather(v), dy> = <v, backward(dy)>
    assertScalarClose(dot(maxPool2dGather(v, argmax), dy), dot(v, dx), 1e-12, 'adjoint');
    // loss(x) = <maxPool(x), dy> ignoring −∞ windows; directional derivative along v
    const loss = (xx: FloatArray): number => {
      const { out } = maxPool2d(xx, c.xs, c.p);
      let s = 0;
      for (let i = 0; i < out.length; i++) if (Number.isFinite(out[i])) s += out[i]! * dy[i]!;
      return s;
    };
    const eps = 1e-3;
    const fd = (loss(x.map((a, i) => a + eps * v[i]!)) - loss(x.map((a, i) => a - eps * v[i]!))) / (2 * eps);
    assertScalarClose(dot(v, dx), fd, 1e-8, 'finite difference');
  }), { numRuns: 100 });
});

// ---------------------------------------------------------------- average pooling

test('avgPool2d matches the reference for both countIncludePad settings', () => {
  fc.assert(fc.property(arbCase, (c) => {
    const x = randomArray(size(c.xs), c.seed);
    assertClose(avgPool2d(x, c.xs, c.p), refAvgPool(x, c.xs, c.p), 1e-12, 'out');
    const y32 = avgPool2d(Float32Array.from(x), c.xs, c.p);
    assert.instance(y32, Float32Array);
    assertClose(y32, refAvgPool(x, c.xs, c.p), 1e-6, 'out f32');
  }), { numRuns: 150 });
});

test('avgPool2d default counts padding (divisor kh·kw, like PyTorch)', () => {
  const x = Float64Array.from([4, 4, 4, 4]);
  const base = { kernel: [2, 2], stride: [1, 1], padding: [1, 1], dilation: [1, 1] } as const;
  assert.equal(Array.from(avgPool2d(x, [1, 1, 2, 2], base)), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
  assert.equal(Array.from(avgPool2d(x, [1, 1, 2, 2], { ...base, countIncludePad: false })), [4, 4, 4, 4, 4, 4, 4, 4, 4]);
  // all-padding window with countIncludePad false: 0, not NaN
  const q = { kernel: [1, 1], stride: [2, 2], padding: [1, 1], dilation: [1, 1], countIncludePad: false } as const;
  assert.equal(Array.from(avgPool2d(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 1, 3, 3], q)), [0, 0, 0, 0, 5, 0, 0, 0, 0]);
});

test('avgPool2dBackward is the adjoint of avgPool2d and matches finite differences', () => {
  fc.assert(fc.property(arbCase, (c) => {
    const x = randomArray(size(c.xs), c.seed);
    const dy = randomArray(size(c.ys), c.seed ^ 3);
    const dx = avgPool2dBackward(dy, c.ys, c.xs, c.p);
    assert.is(dx.length, size(c.xs));
    const lhs = dot(avgPool2d(x, c.xs, c.p), dy);
    assertScalarClose(dot(x, dx), lhs, 1e-12, 'adjoint');
    const v = randomArray(size(c.xs), c.seed ^ 5);
    const eps = 1e-3;
    const loss = (xx: FloatArray): number => dot(avgPool2d(xx, c.xs, c.p), dy);
    const fd = (loss(x.map((a, i) => a + eps * v[i]!)) - loss(x.map((a, i) => a - eps * v[i]!))) / (2 * eps);
    assertScalarClose(dot(v, dx), fd, 1e-8, 'finite difference');
    assert.instance(avgPool2dBackward(Float32Array.from(dy), c.ys, c.xs, c.p), Float32Array);
  }), { numRuns: 100 });
});

test.run();
