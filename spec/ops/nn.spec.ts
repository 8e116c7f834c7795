import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  ShapeError, tensor, ones, zeros, softmax, logSoftmax, oneHot, conv2d, maxPool2d, avgPool2d, transpose, permute, exp, sum,
  type Conv2dOptions, type Pool2dOptions,
} from '../../src/index.js';
import { arbShape, arbTensorCase, type TensorCase } from '../_helpers/arbitraries.js';
import { EPS, TINY, assertTensor, assertThrows, assertValues, ravel, sizeOf, unravel } from '../_helpers/reference.js';

type DT = 'float32' | 'float64';

// ---------------------------------------------------------------- softmax, logSoftmax

/** Visit each 1-d slice along `axis`: the flat positions of its elements. */
function slicesAlong(shape: readonly number[], axis: number): number[][] {
  const out: number[][] = [];
  const rest = shape.map((d, i) => (i === axis ? 1 : d));
  for (let q = 0; q < sizeOf(rest); q++) {
    const idx = unravel(q, rest);
    out.push(Array.from({ length: shape[axis] }, (_, k) => ravel(idx.map((v, i) => (i === axis ? k : v)), shape)));
  }
  return out;
}

function refSoftmax(c: TensorCase, axis: number, log: boolean): { values: number[]; tol: number[] } {
  const values = new Array<number>(c.values.length), tol = new Array<number>(c.values.length);
  const e = EPS[c.dtype] * 8;
  for (const pos of slicesAlong(c.shape, axis)) {
    const v = pos.map((p) => c.values[p]);
    const m = Math.max(...v);
    let s = 0;
    for (const x of v) s += Math.exp(x - m);
    const ls = Math.log(s);
    pos.forEach((p, k) => {
      const r = log ? v[k] - m - ls : Math.exp(v[k] - m) / s;
      values[p] = r;
      // each rounding step is relative to the terms involved
      tol[p] = log ? e * (Math.abs(v[k]) + Math.abs(m) + Math.abs(ls) + 1) * (pos.length + 2) : e * (pos.length + 2) * (r + TINY[c.dtype]) + TINY[c.dtype];
    });
  }
  return { values, tol };
}

const arbSoftmaxCase = arbShape({ minRank: 1, maxRank: 4, minDim: 1 }).chain((s) => fc.tuple(
  arbTensorCase(s, { values: { min: -30, max: 30 } }),
  fc.integer({ min: -s.length, max: s.length - 1 }),
));

test('softmax along any axis matches exp(x − max)/Σ and sums to 1; logSoftmax matches x − logΣexp', () => {
  fc.assert(fc.property(arbSoftmaxCase, ([c, axisArg]) => {
    const axis = axisArg < 0 ? axisArg + c.shape.length : axisArg;
    const s = refSoftmax(c, axis, false);
    assertTensor(softmax(c.t, axisArg), { shape: c.shape, dtype: c.dtype, values: s.values }, (i) => s.tol[i], `softmax(${c.layout} [${c.shape}] ${c.dtype}, ${axisArg})`);
    const l = refSoftmax(c, axis, true);
    assertTensor(logSoftmax(c.t, axisArg), { shape: c.shape, dtype: c.dtype, values: l.values }, (i) => l.tol[i], `logSoftmax(${c.layout} [${c.shape}], ${axisArg})`);
    const total = sum(softmax(c.t, axisArg), axis).data;
    for (const v of total) assert.ok(Math.abs(v - 1) <= (c.shape[axis] + 4) * EPS[c.dtype], `slice sums to ${v}`);
  }), { numRuns: 200 });
});

test('softmax defaults to the last axis and is invariant to shifting a slice', () => {
  fc.assert(fc.property(arbShape({ minRank: 1, maxRank: 3, minDim: 1 }).chain((s) => arbTensorCase(s, { dtype: 'float64' })), fc.integer({ min: -500, max: 500 }), (c, shift) => {
    const a = softmax(c.t).data;
    const b = softmax(c.t, -1).data;
    assertValues(a, b, 0, 'default axis');
    const shifted = softmax(tensor(c.values.map((v) => v + shift), { shape: c.shape })).data;
    assertValues(shifted, a, (i) => 1e-12 * (1 + Math.abs(shift)) * Math.max(a[i], 1e-300) + 1e-15, 'shift invariance');
  }), { numRuns: 100 });
});

test('softmax and logSoftmax stay finite for huge gaps; −∞ entries get exactly 0 (or −∞)', () => {
  assertTensor(softmax([1000, 0]), { shape: [2], values: [1, 0] }, 0, 'no overflow');
  assertTensor(logSoftmax([0, -1000]), { shape: [2], values: [0, -1000] }, 1e-12, 'no underflow to −∞');
  assertTensor(softmax([-Infinity, 0, -Infinity]), { shape: [3], values: [0, 1, 0] }, 0, '−∞ entries');
  assertTensor(logSoftmax([-Infinity, 0]), { shape: [2], values: [-Infinity, 0] }, 0, '−∞ in logSoftmax');
  assertTensor(softmax(tensor([1, 2, 3], { dtype: 'float32' })), { shape: [3], dtype: 'float32', values: [0.09003057, 0.24472847, 0.66524096] }, 1e-7, 'float32');
  // exp(logSoftmax) = softmax
  const x = tensor([[0.5, -2, 7], [3, 3, 3]]);
  assertValues(exp(logSoftmax(x, 0)).data, softmax(x, 0).data, 1e-15, 'exp ∘ logSoftmax');
});

test('softmax of a 0-d tensor is 1 (its only slice); logSoftmax is 0', () => {
  assertTensor(softmax(tensor(3)), { shape: [], values: [1] }, 0, 'softmax 0-d');
  assertTensor(softmax(tensor(3), 0), { shape: [], values: [1] }, 0, 'softmax 0-d axis 0');
  assertTensor(logSoftmax(tensor(-7)), { shape: [], values: [0] }, 0, 'logSoftmax 0-d');
  assertThrows(() => softmax(tensor(3), 1), RangeError, ['softmax', 'axis 1'], '0-d axis 1');
});

test('softmax on an empty slice set is empty; axis out of range is rejected', () => {
  assertTensor(softmax(zeros([0, 3])), { shape: [0, 3], values: [] }, 0, 'empty');
  assertThrows(() => softmax(ones([2, 3]), 2), RangeError, ['softmax', 'axis 2', 'out of range'], 'axis');
  assertThrows(() => logSoftmax(ones([2, 3]), -3), RangeError, ['logSoftmax', 'axis -3'], 'axis');
});

// ---------------------------------------------------------------- oneHot

test('oneHot: labels of any shape and layout → [...shape, numClasses] with a single 1', () => {
  fc.assert(fc.property(
    fc.tuple(arbShape({ maxRank: 3 }), fc.integer({ min: 1, max: 6 }), fc.constantFrom<DT | undefined>(undefined, 'float32', 'float64'))
      .chain(([s, k, dt]) => fc.tuple(arbTensorCase(s, { values: { integers: true, min: 0, max: k - 1 } }), fc.constant(k), fc.constant(dt))),
    ([c, k, dtype]) => {
      const values = c.values.flatMap((v) => Array.from({ length: k }, (_, j) => (j === v ? 1 : 0)));
      const r = oneHot(c.t, k, dtype ? { dtype } : {});
      assertTensor(r, { shape: [...c.shape, k], dtype: dtype ?? 'float64', values }, 0, `oneHot(${c.layout} [${c.shape}], ${k})`);
    },
  ), { numRuns: 150 });
  assertTensor(oneHot([2, 0], 3), { shape: [2, 3], values: [0, 0, 1, 1, 0, 0] }, 0, 'doc example');
  assertTensor(oneHot(1, 2), { shape: [2], values: [0, 1] }, 0, 'a number');
});

test('oneHot rejects labels outside [0, numClasses), fractional labels and bad class counts', () => {
  assertThrows(() => oneHot([0, 3], 3), RangeError, ['oneHot', 'label 3', 'position 1', '[0, 3)'], 'too large');
  assertThrows(() => oneHot([-1], 3), RangeError, ['oneHot', 'label -1'], 'negative');
  assertThrows(() => oneHot([0.5], 3), RangeError, ['oneHot', 'label 0.5'], 'fractional');
  assertThrows(() => oneHot([NaN], 3), RangeError, ['oneHot', 'label NaN'], 'NaN');
  assertThrows(() => oneHot([0], 0), RangeError, ['oneHot', 'numClasses', '0'], 'zero classes');
  assertThrows(() => oneHot([0], 2.5), RangeError, ['oneHot', 'numClasses'], 'fractional classes');
  assertThrows(() => oneHot([0], 2, { dtype: 'int8' as DT }), TypeError, ['oneHot', 'unknown dtype'], 'dtype');
});

// ---------------------------------------------------------------- conv2d

type Pair = [number, number];
const norm = (v: number | readonly number[] | undefined, d: number): Pair => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Convolution straight from the definition (cross-correlation, zero padding, groups), in float64. */
function refConv(x: TensorCase, w: TensorCase, s: Pair, p: Pair, d: Pair, groups: number) {
  const [n, c, h, wd] = x.shape, [o, cg, kh, kw] = w.shape;
  const oh = Math.floor((h + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0]) + 1;
  const ow = Math.floor((wd + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1]) + 1;
  const og = o / groups;
  const values: number[] = [], tol: number[] = [];
  const dtype: DT = x.dtype === 'float64' || w.dtype === 'float64' ? 'float64' : 'float32';
  for (let b = 0; b < n; b++) for (let oc = 0; oc < o; oc++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let acc = 0, mag = 0, terms = 0;
    const g = Math.floor(oc / og);
    for (let ci = 0; ci < cg; ci++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const iy = y * s[0] - p[0] + i * d[0], ix = xx * s[1] - p[1] + j * d[1];
      if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
      const t = x.values[ravel([b, g * cg + ci, iy, ix], [n, c, h, wd])] * w.values[ravel([oc, ci, i, j], w.shape)];
      acc += t; mag += Math.abs(t); terms++;
    }
    values.push(acc);
    tol.push((terms + 2) * EPS[dtype] * mag + (terms + 1) * TINY[dtype]);
  }
  return { shape: [n, o, oh, ow], values, tol, dtype };
}

interface ConvCase { x: TensorCase; w: TensorCase; opts: Conv2dOptions; s: Pair; p: Pair; d: Pair; groups: number; single: boolean }

const arbConv: fc.Arbitrary<ConvCase> = fc.record({
  n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 2 }), og: fc.integer({ min: 1, max: 2 }),
  kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), eh: fc.integer({ min: 0, max: 3 }), ew: fc.integer({ min: 0, max: 3 }),
  stride: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 2 }), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))),
  dilation: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 2 }), fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }))),
  padding: fc.oneof(fc.constant(undefined), fc.constant('valid' as const), fc.constant('same' as const), fc.integer({ min: 0, max: 2 }), fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))),
  single: fc.boolean(),
}).chain((r) => {
  let s = norm(r.stride, 1);
  const d = norm(r.dilation, 1);
  let padding = r.padding;
  let kh = r.kh, kw = r.kw;
  if (padding === 'same') {
    s = [1, 1];
    // 'same' needs an odd effective kernel: make the kernel odd
    if ((d[0] * (kh - 1)) % 2) kh += 1;
    if ((d[1] * (kw - 1)) % 2) kw += 1;
  }
  const p: Pair = padding === 'same' ? [(d[0] * (kh - 1)) / 2, (d[1] * (kw - 1)) / 2] : padding === 'valid' ? [0, 0] : norm(padding, 0);
  const h = Math.max(1, d[0] * (kh - 1) + 1 - 2 * p[0]) + r.eh, w = Math.max(1, d[1] * (kw - 1) + 1 - 2 * p[1]) + r.ew;
  const n = r.single ? 1 : r.n;
  const opts: Conv2dOptions = {};
  if (r.stride !== undefined && padding !== 'same') opts.stride = r.stride;
  if (padding === 'same' && r.stride !== undefined) opts.stride = 1;
  if (r.dilation !== undefined) opts.dilation = r.dilation;
  if (padding !== undefined) opts.padding = padding;
  if (r.groups !== 1) opts.groups = r.groups;
  return fc.tuple(
    arbTensorCase([n, r.cg * r.groups, h, w], { layouts: ['contiguous', 'transposed', 'sliced', 'broadcast'] }),
    arbTensorCase([r.og * r.groups, r.cg, kh, kw], { layouts: ['contiguous', 'transposed', 'sliced'] }),
  ).map(([x, wt]) => ({ x, w: wt, opts, s, p, d, groups: r.groups, single: r.single }));
});

test('conv2d options at the op level (stride, padding number/pair/same/valid, dilation, groups, 3-d input) on any layout and dtype', () => {
  fc.assert(fc.property(arbConv, (k) => {
    const e = refConv(k.x, k.w, k.s, k.p, k.d, k.groups);
    const xin = k.single ? k.x.t.reshape(k.x.shape.slice(1)) : k.x.t;
    const r = conv2d(xin, k.w.t, k.opts);
    const shape = k.single ? e.shape.slice(1) : e.shape;
    assertTensor(r, { shape, dtype: e.dtype, values: e.values }, (i) => e.tol[i],
      `conv2d(${k.x.layout} [${k.x.shape}] ${k.x.dtype}, ${k.w.layout} [${k.w.shape}] ${k.w.dtype}, ${JSON.stringify(k.opts)})`);
  }), { numRuns: 250 });
});

test("conv2d padding 'same' keeps H and W; weak filters adopt the input's float32", () => {
  const x = ones([1, 1, 5, 4], { dtype: 'float32' });
  const y = conv2d(x, ones([2, 1, 3, 3]).astype('float32'), { padding: 'same' });
  assert.equal([...y.shape], [1, 2, 5, 4]);
  assert.is(y.dtype, 'float32');
  assert.is(y.get(0, 0, 2, 1), 9);
  assert.is(y.get(0, 1, 0, 0), 4);
  assert.is(conv2d(x, [[[[1]]]]).dtype, 'float32');
});

test('conv2d errors name the operation and the shapes', () => {
  assertThrows(() => conv2d(ones([1, 2, 4, 4]), ones([1, 3, 2, 2])), ShapeError, ['conv2d', '[1,2,4,4]', '[1,3,2,2]', 'channels'], 'channels');
  assertThrows(() => conv2d(ones([1, 4, 4, 4]), ones([3, 2, 2, 2]), { groups: 2 }), ShapeError, ['conv2d', 'groups=2'], 'out channels not divisible by groups');
  assertThrows(() => conv2d(ones([4, 4]), ones([1, 1, 2, 2])), ShapeError, ['conv2d', '[N,C,H,W]', '[4,4]'], 'rank of x');
  assertThrows(() => conv2d(ones([1, 1, 4, 4]), ones([1, 2, 2])), ShapeError, ['conv2d', '[1,2,2]'], 'rank of w');
  assertThrows(() => conv2d(ones([1, 1, 2, 2]), ones([1, 1, 3, 3])), ShapeError, ['conv2d', '3×3', '2×2'], 'kernel too large');
  assertThrows(() => conv2d(ones([1, 1, 4, 4]), ones([1, 1, 2, 2]), { stride: 0 }), RangeError, ['conv2d', 'stride'], 'stride 0');
  assertThrows(() => conv2d(ones([1, 1, 4, 4]), ones([1, 1, 2, 2]), { dilation: [1, 0] }), RangeError, ['conv2d', 'dilation'], 'dilation 0');
  assertThrows(() => conv2d(ones([1, 1, 4, 4]), ones([1, 1, 2, 2]), { padding: -1 }), RangeError, ['conv2d', 'padding'], 'negative padding');
  assertThrows(() => conv2d(ones([1, 1, 4, 4]), ones([1, 1, 2, 2]), { padding: 'same' }), RangeError, ['conv2d', "'same'", '2×2'], 'same with an even kernel');
  assertThrows(() => conv2d(ones([1, 1, 4, 4]), ones([1, 1, 3, 3]), { padding: 'same', stride: 2 }), RangeError, ['conv2d', "'same'", 'stride'], 'same with stride 2');
  assertThrows(() => conv2d(ones([1, 1, 4, 4]), ones([1, 1, 1, 1]), { groups: 0 }), RangeError, ['conv2d', 'groups'], 'groups 0');
});

test('conv2d mixes float32 and float64 by promoting to float64', () => {
  const r = conv2d(ones([1, 1, 3, 3], { dtype: 'float32' }), tensor([[[[0.1, 0.2], [0.3, 0.4]]]]));
  assert.is(r.dtype, 'float64');
  assertValues(r.data, [1, 1, 1, 1], 1e-15, 'promoted values');
});

// ---------------------------------------------------------------- pooling

/** Pooling from the definition: max with −∞ padding, average with zero padding and divisor kh·kw. */
function refPool(kind: 'max' | 'avg', x: TensorCase, k: Pair, s: Pair, p: Pair, d: Pair) {
  const [n, c, h, w] = x.shape;
  const oh = Math.floor((h + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0]) + 1;
  const ow = Math.floor((w + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1]) + 1;
  const values: number[] = [], tol: number[] = [];
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let m = -Infinity, acc = 0, mag = 0, nan = false;
    for (let i = 0; i < k[0]; i++) for (let j = 0; j < k[1]; j++) {
      const iy = y * s[0] - p[0] + i * d[0], ix = xx * s[1] - p[1] + j * d[1];
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const v = x.values[ravel([b, ch, iy, ix], x.shape)];
      if (v !== v) nan = true;
      if (v > m) m = v;
      acc += v; mag += Math.abs(v);
    }
    if (kind === 'max') { values.push(nan ? NaN : m); tol.push(0); }
    else { values.push(acc / (k[0] * k[1])); tol.push(((k[0] * k[1] + 2) * EPS[x.dtype] * mag) / (k[0] * k[1]) + TINY[x.dtype]); }
  }
  return { shape: [n, c, oh, ow], values, tol };
}

const arbPool = fc.record({
  n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }),
  kernel: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))),
  stride: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 3 }), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))),
  dilation: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 2 }), fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }))),
  pad: fc.tuple(fc.nat({ max: 1 }), fc.nat({ max: 1 })), eh: fc.nat({ max: 4 }), ew: fc.nat({ max: 4 }), single: fc.boolean(),
}).chain((r) => {
  const k = norm(r.kernel, 1), s = norm(r.stride ?? r.kernel, 1), d = norm(r.dilation, 1);
  const p: Pair = [Math.min(r.pad[0], Math.floor(k[0] / 2)), Math.min(r.pad[1], Math.floor(k[1] / 2))];
  const h = Math.max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]) + r.eh, w = Math.max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1]) + r.ew;
  const opts: Pool2dOptions = {};
  if (r.stride !== undefined) opts.stride = r.stride;
  if (r.dilation !== undefined) opts.dilation = r.dilation;
  if (p[0] || p[1]) opts.padding = p[0] === p[1] ? p[0] : p;
  return arbTensorCase([r.single ? 1 : r.n, r.c, h, w], { values: { special: true }, layouts: ['contiguous', 'transposed', 'sliced', 'broadcast'] })
    .map((x) => ({ x, kernel: r.kernel, opts, k, s, p, d, single: r.single }));
});

test('maxPool2d and avgPool2d options at the op level (kernel, default stride = kernel, padding, dilation, 3-d input)', () => {
  fc.assert(fc.property(arbPool, (c) => {
    for (const kind of ['max', 'avg'] as const) {
      const e = refPool(kind, c.x, c.k, c.s, c.p, c.d);
      const xin = c.single ? c.x.t.reshape(c.x.shape.slice(1)) : c.x.t;
      const r = (kind === 'max' ? maxPool2d : avgPool2d)(xin, c.kernel, c.opts);
      assertTensor(r, { shape: c.single ? e.shape.slice(1) : e.shape, dtype: c.x.dtype, values: e.values }, (i) => e.tol[i],
        `${kind}Pool2d(${c.x.layout} [${c.x.shape}] ${c.x.dtype}, ${JSON.stringify(c.kernel)}, ${JSON.stringify(c.opts)})`);
    }
  }), { numRuns: 250 });
});

test('pooling errors name the operation', () => {
  for (const [name, f] of [['maxPool2d', maxPool2d], ['avgPool2d', avgPool2d]] as const) {
    assertThrows(() => f(ones([1, 1, 4, 4]), 2, { padding: 2 }), RangeError, [name, 'padding', 'half the kernel'], `${name} padding`);
    assertThrows(() => f(ones([1, 1, 2, 2]), 3), ShapeError, [name, '3×3', '2×2'], `${name} window too large`);
    assertThrows(() => f(ones([4, 4]), 2), ShapeError, [name, '[4,4]'], `${name} rank`);
    assertThrows(() => f(ones([1, 1, 4, 4]), 0), RangeError, [name, 'kernel'], `${name} kernel 0`);
    assertThrows(() => f(ones([1, 1, 4, 4]), 2, { stride: [1, 0] }), RangeError, [name, 'stride'], `${name} stride 0`);
  }
});

test('conv2d and pooling accept non-contiguous NCHW views built from NHWC data', () => {
  // an NHWC tensor permuted to NCHW: a strided view, as a data pipeline would produce it
  const nhwc = tensor(Array.from({ length: 2 * 3 * 3 * 2 }, (_, i) => (i % 7) - 3), { shape: [2, 3, 3, 2] });
  const nchw = permute(nhwc, [0, 3, 1, 2]);
  const dense = tensor(Array.from(nchw.data), { shape: [2, 2, 3, 3] });
  const w = transpose(tensor(Array.from({ length: 16 }, (_, i) => i / 8 - 1), { shape: [2, 2, 2, 2] }));
  assertValues(conv2d(nchw, w).data, conv2d(dense, tensor(Array.from(w.data), { shape: [2, 2, 2, 2] })).data, 1e-14, 'conv2d of a view');
  assertValues(maxPool2d(nchw, 2, { stride: 1 }).data, maxPool2d(dense, 2, { stride: 1 }).data, 0, 'maxPool2d of a view');
});

test.run();
