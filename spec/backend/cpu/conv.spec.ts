import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  conv2d, conv2dBackwardFilter, conv2dBackwardInput, conv2dOutputShape, convTuning,
  type Conv2dParams, type Shape4,
} from '../../../src/backend/cpu/conv.js';
import type { FloatArray } from '../../../src/tensor/dtype.js';
import { seededValues } from '../../_helpers/arbitraries.js';

// ---------------------------------------------------------------- helpers

/** Deterministic data from a seed, so fast-check shrinks shapes, not megabytes of numbers. */
const randomArray = (size: number, seed: number, f32 = false): FloatArray => seededValues(size, seed, f32 ? 'float32' : 'float64');

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
    if (!(Math.abs(actual[i]! - e) <= tol * (1 + Math.abs(e)))) {
      assert.unreachable(`${what}[${i}]: got ${actual[i]}, expected ${e}`);
    }
  }
}

function assertScalarClose(actual: number, expected: number, tol: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tol * (1 + Math.abs(expected)))) {
    assert.unreachable(`${what}: got ${actual}, expected ${expected}`);
  }
}

// ---------------------------------------------------------------- naive float64 reference

/**
 * Visit every (output, input, weight) index triple of the convolution, straight
 * from the definition. All three kernels' references are built on it.
 */
function forEachTap(xs: Shape4, ws: Shape4, p: Conv2dParams, f: (yi: number, xi: number, wi: number) => void): void {
  const [n, c, h, w] = xs;
  const [o, cg, kh, kw] = ws;
  const [, , oh, ow] = conv2dOutputShape(xs, ws, p);
  const og = o / p.groups;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const c0 = Math.floor(oc / og) * cg;
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++)
          for (let ci = 0; ci < cg; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const iy = y * p.stride[0] - p.padding[0] + i * p.dilation[0];
                const ix = x * p.stride[1] - p.padding[1] + j * p.dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                f(((b * o + oc) * oh + y) * ow + x, ((b * c + c0 + ci) * h + iy) * w + ix, ((oc * cg + ci) * kh + i) * kw + j);
              }
    }
}

function refConv(x: ArrayLike<number>, xs: Shape4, w: ArrayLike<number>, ws: Shape4, p: Conv2dParams): Float64Array {
  const y = new Float64Array(size(conv2dOutputShape(xs, ws, p)));
  forEachTap(xs, ws, p, (yi, xi, wi) => { y[yi] += x[xi]! * w[wi]!; });
  return y;
}

function refBackwardInput(dy: ArrayLike<number>, w: ArrayLike<number>, ws: Shape4, xs: Shape4, p: Conv2dParams): Float64Array {
  const dx = new Float64Array(size(xs));
  forEachTap(xs, ws, p, (yi, xi, wi) => { dx[xi] += dy[yi]! * w[wi]!; });
  return dx;
}

function refBackwardFilter(x: ArrayLike<number>, xs: Shape4, dy: ArrayLike<number>, ws: Shape4, p: Conv2dParams): Float64Array {
  const dw = new Float64Array(size(ws));
  forEachTap(xs, ws, p, (yi, xi, wi) => { dw[wi] += dy[yi]! * x[xi]!; });
  return dw;
}

// ---------------------------------------------------------------- generators

interface Case { xs: Shape4; ws: Shape4; ys: Shape4; p: Conv2dParams; seed: number }

/** Small random convolutions whose output is never empty. */
const arbCase: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cg: fc.integer({ min: 1, max: 3 }),
    og: fc.integer({ min: 1, max: 3 }),
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
    seed: fc.integer(),
  })
  .map((r) => {
    const h = Math.max(1, r.dh * (r.kh - 1) + 1 - 2 * r.ph) + r.eh;
    const w = Math.max(1, r.dw * (r.kw - 1) + 1 - 2 * r.pw) + r.ew;
    const p: Conv2dParams = { stride: [r.sh, r.sw], padding: [r.ph, r.pw], dilation: [r.dh, r.dw], groups: r.groups };
    const xs: Shape4 = [r.n, r.cg * r.groups, h, w];
    const ws: Shape4 = [r.og * r.groups, r.cg, r.kh, r.kw];
    return { xs, ws, ys: conv2dOutputShape(xs, ws, p), p, seed: r.seed };
  });

/** 1×1, unit-stride, unpadded convolutions: the no-im2col path. */
const arbPointwise: fc.Arbitrary<Case> = arbCase.map((c) => {
  const p: Conv2dParams = { ...c.p, stride: [1, 1], padding: [0, 0] };
  const ws: Shape4 = [c.ws[0], c.ws[1], 1, 1];
  return { ...c, ws, p, ys: conv2dOutputShape(c.xs, ws, p) };
});

function data(c: Case, f32 = false): { x: FloatArray; w: FloatArray; dy: FloatArray } {
  return {
    x: randomArray(size(c.xs), c.seed, f32),
    w: randomArray(size(c.ws), c.seed ^ 0x5bd1e995, f32),
    dy: randomArray(size(c.ys), c.seed ^ 0x1b873593, f32),
  };
}

/** Run `body` under each tuning that selects a different code path, restoring the defaults after. */
const tunings: Array<[string, Partial<typeof convTuning>]> = [
  ['default (batch folded)', {}],
  ['per-image gemm', { foldMaxOhw: 0 }],
  ['folded in uneven chunks', { colBudget: 1 }],
];
const defaults = { ...convTuning };
function withTuning(t: Partial<typeof convTuning>, body: () => void): void {
  Object.assign(convTuning, t);
  try {
    body();
  } finally {
    Object.assign(convTuning, defaults);
  }
}

// ---------------------------------------------------------------- output shape

test('conv2dOutputShape follows the floor formula', () => {
  const p = (s: number, pad: number, d: number, g = 1): Conv2dParams =>
    ({ stride: [s, s], padding: [pad, pad], dilation: [d, d], groups: g });
  assert.equal(conv2dOutputShape([64, 1, 28, 28], [32, 1, 3, 3], p(1, 0, 1)), [64, 32, 26, 26]);
  assert.equal(conv2dOutputShape([1, 3, 224, 224], [64, 3, 7, 7], p(2, 3, 1)), [1, 64, 112, 112]);
  assert.equal(conv2dOutputShape([2, 4, 7, 9], [6, 2, 3, 3], p(1, 0, 2, 2)), [2, 6, 3, 5]);
  assert.equal(conv2dOutputShape([1, 1, 5, 5], [1, 1, 2, 2], p(2, 0, 1)), [1, 1, 2, 2]);
  // Kernel larger than the padded input: non-positive, left for the op layer to reject.
  assert.ok(conv2dOutputShape([1, 1, 2, 2], [1, 1, 5, 5], p(1, 0, 1))[2] <= 0);
});

// ---------------------------------------------------------------- against the reference

for (const [name, tuning] of tunings) {
  test(`conv2d and both backward kernels match the naive reference, float64 — ${name}`, () => {
    withTuning(tuning, () => {
      fc.assert(fc.property(arbCase, (c) => {
        const { x, w, dy } = data(c);
        assertClose(conv2d(x, c.xs, w, c.ws, c.p), refConv(x, c.xs, w, c.ws, c.p), 1e-12, 'y');
        assertClose(conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p), refBackwardInput(dy, w, c.ws, c.xs, c.p), 1e-12, 'dx');
        assertClose(conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p), refBackwardFilter(x, c.xs, dy, c.ws, c.p), 1e-12, 'dw');
      }), { numRuns: 60 });
    });
  });
}

test('pointwise (1×1) convolutions, which skip im2col, match the reference', () => {
  fc.assert(fc.property(arbPointwise, (c) => {
    const { x, w, dy } = data(c);
    assertClose(conv2d(x, c.xs, w, c.ws, c.p), refConv(x, c.xs, w, c.ws, c.p), 1e-12, 'y');
    assertClose(conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p), refBackwardInput(dy, w, c.ws, c.xs, c.p), 1e-12, 'dx');
    assertClose(conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p), refBackwardFilter(x, c.xs, dy, c.ws, c.p), 1e-12, 'dw');
  }), { numRuns: 60 });
});

test('float32 inputs give float32 outputs close to the float64 reference', () => {
  fc.assert(fc.property(arbCase, (c) => {
    const { x, w, dy } = data(c, true);
    const y = conv2d(x, c.xs, w, c.ws, c.p);
    const dx = conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p);
    const dw = conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p);
    assert.instance(y, Float32Array);
    assert.instance(dx, Float32Array);
    assert.instance(dw, Float32Array);
    assertClose(y, refConv(x, c.xs, w, c.ws, c.p), 1e-5, 'y');
    assertClose(dx, refBackwardInput(dy, w, c.ws, c.xs, c.p), 1e-5, 'dx');
    assertClose(dw, refBackwardFilter(x, c.xs, dy, c.ws, c.p), 1e-5, 'dw');
  }), { numRuns: 40 });
});

test('a batch larger than one chunk, with channels and padding, matches the reference', () => {
  const c: Case = {
    xs: [5, 4, 9, 8], ws: [6, 2, 3, 2], ys: [0, 0, 0, 0],
    p: { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }, seed: 7,
  };
  c.ys = conv2dOutputShape(c.xs, c.ws, c.p);
  const { x, w, dy } = data(c);
  withTuning({ colBudget: 2 * 12 * size(c.ys.slice(2)) }, () => {
    assertClose(conv2d(x, c.xs, w, c.ws, c.p), refConv(x, c.xs, w, c.ws, c.p), 1e-12, 'y');
    assertClose(conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p), refBackwardInput(dy, w, c.ws, c.xs, c.p), 1e-12, 'dx');
    assertClose(conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p), refBackwardFilter(x, c.xs, dy, c.ws, c.p), 1e-12, 'dw');
  });
});

// ---------------------------------------------------------------- adjoint identity and finite differences

test('adjoint identity: <conv(x,w), dy> = <x, backwardInput(dy,w)> = <w, backwardFilter(x,dy)>', () => {
  fc.assert(fc.property(arbCase, (c) => {
    const { x, w, dy } = data(c);
    const lhs = dot(conv2d(x, c.xs, w, c.ws, c.p), dy);
    assertScalarClose(dot(x, conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p)), lhs, 1e-12, '<x, dx>');
    assertScalarClose(dot(w, conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p)), lhs, 1e-12, '<w, dw>');
  }), { numRuns: 100 });
});

test('backward kernels agree with central finite differences of <conv(x,w), dy>', () => {
  fc.assert(fc.property(arbCase, fc.integer(), (c, seed) => {
    const { x, w, dy } = data(c);
    const loss = (xx: FloatArray, ww: FloatArray): number => dot(conv2d(xx, c.xs, ww, c.ws, c.p), dy);
    const eps = 1e-3;
    const shift = (a: FloatArray, v: FloatArray, s: number): Float64Array => a.map((ai, i) => ai + s * v[i]!) as Float64Array;
    // directional derivative along a random v, for x and for w
    const vx = randomArray(x.length, seed);
    const fdx = (loss(shift(x, vx, eps), w) - loss(shift(x, vx, -eps), w)) / (2 * eps);
    assertScalarClose(dot(vx, conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p)), fdx, 1e-8, 'd/dx');
    const vw = randomArray(w.length, seed ^ 1);
    const fdw = (loss(x, shift(w, vw, eps)) - loss(x, shift(w, vw, -eps))) / (2 * eps);
    assertScalarClose(dot(vw, conv2dBackwardFilter(x, c.xs, dy, c.ys, c.ws, c.p)), fdw, 1e-8, 'd/dw');
  }), { numRuns: 60 });
});

test('element-wise finite differences on one padded, strided, grouped case', () => {
  const xs: Shape4 = [2, 4, 5, 6];
  const ws: Shape4 = [4, 2, 3, 2];
  const p: Conv2dParams = { stride: [2, 1], padding: [1, 1], dilation: [1, 2], groups: 2 };
  const ys = conv2dOutputShape(xs, ws, p);
  const x = randomArray(size(xs), 1), w = randomArray(size(ws), 2), dy = randomArray(size(ys), 3);
  const loss = (xx: FloatArray, ww: FloatArray): number => dot(conv2d(xx, xs, ww, ws, p), dy);
  const eps = 1e-4;
  const fd = (a: FloatArray, i: number, f: (b: FloatArray) => number): number => {
    const b = a.slice();
    b[i] = a[i]! + eps;
    const up = f(b);
    b[i] = a[i]! - eps;
    return (up - f(b)) / (2 * eps);
  };
  const dx = conv2dBackwardInput(dy, ys, w, ws, xs, p);
  for (let i = 0; i < x.length; i++) assertScalarClose(dx[i]!, fd(x, i, (b) => loss(b, w)), 1e-8, `dx[${i}]`);
  const dw = conv2dBackwardFilter(x, xs, dy, ys, ws, p);
  for (let i = 0; i < w.length; i++) assertScalarClose(dw[i]!, fd(w, i, (b) => loss(x, b)), 1e-8, `dw[${i}]`);
});

test('second-order closure: the backward kernels are differentiated by each other', () => {
  // <backwardInput(dy, w), v> = <conv2d(v, w), dy> = <w, backwardFilter(v, dy)>
  fc.assert(fc.property(arbCase, fc.integer(), (c, seed) => {
    const { w, dy } = data(c);
    const v = randomArray(size(c.xs), seed);
    const lhs = dot(conv2dBackwardInput(dy, c.ys, w, c.ws, c.xs, c.p), v);
    assertScalarClose(dot(conv2d(v, c.xs, w, c.ws, c.p), dy), lhs, 1e-12, 'VJP wrt dy');
    assertScalarClose(dot(w, conv2dBackwardFilter(v, c.xs, dy, c.ys, c.ws, c.p)), lhs, 1e-12, 'VJP wrt w');
  }), { numRuns: 40 });
});

test.run();
