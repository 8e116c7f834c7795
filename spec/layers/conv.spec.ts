/** The convolution, pooling and resampling layers (src/layers/conv.ts) against loops, TensorFlow.js and finite differences. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Chain, Dense, Flatten, ShapeError, Tensor, conv2d, fromData, gradient, identity, relu, seed, sum, tanh, tensor } from '../../src/index.js';
import {
  AdaptiveMaxPool, AdaptiveMeanPool, Conv, ConvTranspose, DepthwiseConv, GlobalMaxPool, GlobalMeanPool, MaxPool, MeanPool, Upsample,
} from '../../src/layers/conv.js';
import { convTranspose2d } from '../../src/ops/nn.js';
import { pullback } from '../../src/ad/index.js';
import { checkLayerGradient, checkLayerSecondOrder } from '../_helpers/layers.js';
import { seededValues } from '../_helpers/arbitraries.js';

const tf: typeof import('@tensorflow/tfjs') = await import('@tensorflow/tfjs');
type TfTensor = import('@tensorflow/tfjs').Tensor;
tf.enableProdMode();
await tf.setBackend('cpu');

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const randomTensor = (shape: number[], s: number, dtype: 'float32' | 'float64' = 'float32'): Tensor => fromData(seededValues(size(shape), s, dtype), shape);

/**
 * Values 2/n apart in a random order: max pooling is non-smooth where two candidates tie, so
 * the finite-difference checks of the max layers keep every pair of values far (≫ the ±8h the
 * differences probe) from a tie.
 */
function distinctTensor(shape: number[], s: number): Tensor {
  const n = size(shape), r = seededValues(n, s, 'float64');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => r[a] - r[b]);
  const v = new Float64Array(n);
  order.forEach((i, rank) => (v[i] = ((rank + 0.5) / n) * 2 - 1));
  return fromData(v, shape);
}

function close(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const a = actual instanceof Tensor ? actual.data : actual;
  assert.is(a.length, expected.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const e = expected[i];
    if (!(Math.abs(a[i] - e) <= tol * (1 + Math.abs(e)))) assert.unreachable(`${what}[${i}]: ${a[i]} vs ${e}`);
  }
}

const throwsExactly = (f: () => unknown, cls: new (...a: any[]) => Error, message: string) =>
  assert.throws(f, (e: Error) => {
    if (!(e instanceof cls) || e.message !== message) assert.unreachable(`expected ${cls.name} "${message}", got ${e.constructor.name} "${e.message}"`);
    return true;
  });

// ---------------------------------------------------------------- independent loop implementations (float64)

interface ConvGeom { stride: [number, number]; pad: [number, number, number, number]; dilation: [number, number]; groups: number }

/** Cross-correlation by its definition: y[n,o,i,j] = b[o] + Σ x[n, g·Cg + c, i·s − top + ki·d, j·s − left + kj·d]·w[o,c,ki,kj]. */
function convLoop(x: Tensor, w: Tensor, b: Tensor | false, g: ConvGeom): { data: Float64Array; shape: number[] } {
  const [N, , H, W] = x.shape, [O, Cg, KH, KW] = w.shape;
  const C = x.shape[1];
  const OH = Math.floor((H + g.pad[0] + g.pad[1] - g.dilation[0] * (KH - 1) - 1) / g.stride[0]) + 1;
  const OW = Math.floor((W + g.pad[2] + g.pad[3] - g.dilation[1] * (KW - 1) - 1) / g.stride[1]) + 1;
  const y = new Float64Array(N * O * OH * OW);
  const og = O / g.groups;
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let s = b === false ? 0 : b.data[o];
    const grp = Math.floor(o / og);
    for (let c = 0; c < Cg; c++) for (let ki = 0; ki < KH; ki++) for (let kj = 0; kj < KW; kj++) {
      const r = i * g.stride[0] - g.pad[0] + ki * g.dilation[0], q = j * g.stride[1] - g.pad[2] + kj * g.dilation[1];
      if (r < 0 || r >= H || q < 0 || q >= W) continue;
      s += x.data[((n * C + grp * Cg + c) * H + r) * W + q] * w.data[((o * Cg + c) * KH + ki) * KW + kj];
    }
    y[((n * O + o) * OH + i) * OW + j] = s;
  }
  return { data: y, shape: [N, O, OH, OW] };
}

/** Transposed convolution as a scatter: each input pixel adds x·w[ci, ·, ki, kj] at (i·s − p + ki·d, j·s − p + kj·d). */
function convTransposeLoop(x: Tensor, w: Tensor, b: Tensor | false, g: { stride: number[]; padding: number[]; dilation: number[]; groups: number; outPad: number[] }) {
  const [N, Cin, H, W] = x.shape, [, og, KH, KW] = w.shape;
  const O = og * g.groups, cg = Cin / g.groups;
  const OH = (H - 1) * g.stride[0] - 2 * g.padding[0] + g.dilation[0] * (KH - 1) + g.outPad[0] + 1;
  const OW = (W - 1) * g.stride[1] - 2 * g.padding[1] + g.dilation[1] * (KW - 1) + g.outPad[1] + 1;
  const y = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let k = 0; k < OH * OW; k++) y[(n * O + o) * OH * OW + k] = b === false ? 0 : b.data[o];
  for (let n = 0; n < N; n++) for (let ci = 0; ci < Cin; ci++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    const v = x.data[((n * Cin + ci) * H + i) * W + j], grp = Math.floor(ci / cg);
    for (let ol = 0; ol < og; ol++) for (let ki = 0; ki < KH; ki++) for (let kj = 0; kj < KW; kj++) {
      const r = i * g.stride[0] - g.padding[0] + ki * g.dilation[0], q = j * g.stride[1] - g.padding[1] + kj * g.dilation[1];
      if (r < 0 || r >= OH || q < 0 || q >= OW) continue;
      y[((n * O + grp * og + ol) * OH + r) * OW + q] += v * w.data[((ci * og + ol) * KH + ki) * KW + kj];
    }
  }
  return { data: y, shape: [N, O, OH, OW] };
}

/** Pooling by definition: max ignores padded cells; mean divides every window's sum by the window's area. */
function poolLoop(x: Tensor, kind: 'max' | 'mean', k: number[], s: number[], p: number[]) {
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1, OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const y = new Float64Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let acc = kind === 'max' ? -Infinity : 0;
    for (let a = 0; a < k[0]; a++) for (let bb = 0; bb < k[1]; bb++) {
      const r = i * s[0] - p[0] + a, q = j * s[1] - p[1] + bb;
      if (r < 0 || r >= H || q < 0 || q >= W) continue;
      const v = x.data[(nc * H + r) * W + q];
      acc = kind === 'max' ? Math.max(acc, v) : acc + v;
    }
    y[(nc * OH + i) * OW + j] = kind === 'max' ? acc : acc / (k[0] * k[1]);
  }
  return { data: y, shape: [N, C, OH, OW] };
}

/** Adaptive pooling by definition: cell (i, j) over rows floor(i·H/oh) … ceil((i+1)·H/oh) − 1 (and the like columns). */
function adaptiveLoop(x: Tensor, kind: 'max' | 'mean', oh: number, ow: number): Float64Array {
  const [N, C, H, W] = x.shape;
  const y = new Float64Array(N * C * oh * ow);
  for (let nc = 0; nc < N * C; nc++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const r0 = Math.floor((i * H) / oh), r1 = Math.ceil(((i + 1) * H) / oh);
    const c0 = Math.floor((j * W) / ow), c1 = Math.ceil(((j + 1) * W) / ow);
    let acc = kind === 'max' ? -Infinity : 0;
    for (let r = r0; r < r1; r++) for (let q = c0; q < c1; q++) {
      const v = x.data[(nc * H + r) * W + q];
      acc = kind === 'max' ? Math.max(acc, v) : acc + v;
    }
    y[(nc * oh + i) * ow + j] = kind === 'max' ? acc : acc / ((r1 - r0) * (c1 - c0));
  }
  return y;
}

/** Bilinear interpolation with aligned corners, pixel by pixel. */
function bilinearLoop(x: Tensor, OH: number, OW: number): Float64Array {
  const [N, C, H, W] = x.shape;
  const y = new Float64Array(N * C * OH * OW);
  const src = (i: number, n: number, len: number) => (n === 1 ? 0 : (i * (len - 1)) / (n - 1));
  for (let nc = 0; nc < N * C; nc++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    const u = src(i, OH, H), v = src(j, OW, W);
    const r0 = Math.floor(u), q0 = Math.floor(v), r1 = Math.min(r0 + 1, H - 1), q1 = Math.min(q0 + 1, W - 1);
    const fu = u - r0, fv = v - q0;
    const at = (r: number, q: number) => x.data[(nc * H + r) * W + q];
    y[(nc * OH + i) * OW + j] = (1 - fu) * ((1 - fv) * at(r0, q0) + fv * at(r0, q1)) + fu * ((1 - fv) * at(r1, q0) + fv * at(r1, q1));
  }
  return y;
}

// ---------------------------------------------------------------- TF.js (NHWC) helpers

const toNhwc = (x: Tensor): TfTensor => tf.tensor4d(Float32Array.from(x.data), x.shape as [number, number, number, number]).transpose([0, 2, 3, 1]);
const fromNhwc = (y: TfTensor): Float32Array => y.transpose([0, 3, 1, 2]).dataSync() as Float32Array;
const tf1d = (b: Tensor | false, n: number) => (b === false ? tf.zeros([n]) : tf.tensor1d(Float32Array.from(b.data)));

// ---------------------------------------------------------------- Conv

type PadSpec = number | [number, number] | [number, number, number, number] | 'same' | 'valid';
const arbPadding: fc.Arbitrary<PadSpec> = fc.oneof(
  fc.integer({ min: 0, max: 2 }),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  fc.constant('same' as const),
  fc.constant('valid' as const),
);

/** A random convolution configuration and an input that fits it. */
const arbConv = fc.record({
  batch: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 3 }), cgIn: fc.integer({ min: 1, max: 2 }), cgOut: fc.integer({ min: 1, max: 2 }),
  k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: arbPadding, extra: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), s: fc.integer({ min: 0, max: 1e6 }),
});

function makeConv(c: typeof arbConv extends fc.Arbitrary<infer T> ? T : never, σ = identity, dtype: 'float32' | 'float64' = 'float32') {
  seed(c.s);
  const inp = c.cgIn * c.groups, out = c.cgOut * c.groups;
  const layerC = Conv(c.k, inp, out, σ, { stride: c.stride, dilation: c.dilation, padding: c.padding, groups: c.groups, dtype });
  (layerC.bias as Tensor).assign(randomTensor([out], c.s + 1, dtype));
  // at least the kernel's extent, so the input fits whatever the padding
  const eff = [c.dilation[0] * (c.k[0] - 1) + 1, c.dilation[1] * (c.k[1] - 1) + 1];
  const x = randomTensor([c.batch, inp, eff[0] + c.extra[0], eff[1] + c.extra[1]], c.s + 2, dtype);
  return { layerC, x, inp, out };
}

test('Conv: values against the loop for random kernels, strides, paddings, dilations and groups; against tf.layers.conv2d', () => {
  fc.assert(fc.property(arbConv, (c) => {
    const { layerC, x, out } = makeConv(c);
    const y = layerC(x);
    const ref = convLoop(x, layerC.weight, layerC.bias, { stride: c.stride, pad: layerC.padding, dilation: c.dilation, groups: c.groups });
    assert.equal(y.shape, ref.shape, 'output shape');
    close(y, ref.data, 1e-5, 'Conv vs loop');
    if (c.padding === 'same') {
      // 'same': output ceil(input / stride), whatever the stride
      assert.equal(y.shape.slice(2), [Math.ceil(x.shape[2] / c.stride[0]), Math.ceil(x.shape[3] / c.stride[1])], "'same' output size");
    }
    // TF.js: no groups, and no stride > 1 together with dilation > 1
    if (c.groups !== 1 || ((c.stride[0] > 1 || c.stride[1] > 1) && (c.dilation[0] > 1 || c.dilation[1] > 1))) return;
    const useSame = c.padding === 'same' && c.stride[0] === 1 && c.stride[1] === 1;
    const [t, b, l, r] = layerC.padding;
    const xTf = useSame ? toNhwc(x) : tf.pad(toNhwc(x), [[0, 0], [t, b], [l, r], [0, 0]]);
    const convTf = tf.layers.conv2d({ filters: out, kernelSize: c.k, strides: c.stride, dilationRate: c.dilation, padding: useSame ? 'same' : 'valid' });
    convTf.build(xTf.shape);
    const [O, C, KH, KW] = layerC.weight.shape;
    convTf.setWeights([tf.tensor4d(Float32Array.from(layerC.weight.data), [O, C, KH, KW]).transpose([2, 3, 1, 0]), tf1d(layerC.bias, out)]);
    close(y, fromNhwc(convTf.apply(xTf) as TfTensor), 1e-5, `Conv vs TF.js${useSame ? " ('same')" : ''}`);
  }), { numRuns: 60 });
});

test("Conv: padding 'same' at stride 1 against TF.js 'same', including even kernels (the odd row and column at the bottom and right)", () => {
  fc.assert(fc.property(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })), fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })), fc.integer({ min: 0, max: 1e6 }), (k, dilation, hw, s) => {
      seed(s);
      const c = Conv(k, 2, 3, identity, { padding: 'same', dilation });
      (c.bias as Tensor).assign(randomTensor([3], s + 1));
      const x = randomTensor([1, 2, hw[0], hw[1]], s + 2);
      const y = c(x);
      assert.equal(y.shape, [1, 3, hw[0], hw[1]], "'same' keeps the size");
      const convTf = tf.layers.conv2d({ filters: 3, kernelSize: k, dilationRate: dilation, padding: 'same' });
      const xTf = toNhwc(x);
      convTf.build(xTf.shape);
      convTf.setWeights([tf.tensor4d(Float32Array.from(c.weight.data), [3, 2, k[0], k[1]]).transpose([2, 3, 1, 0]), tf1d(c.bias, 3)]);
      close(y, fromNhwc(convTf.apply(xTf) as TfTensor), 1e-5, "'same' vs TF.js");
    }), { numRuns: 40 });
});

test('Conv: a single image [C, H, W] gives the first image of the batch; activation; no bias; arrays as input', () => {
  seed(3);
  const c = Conv([2, 3], 2, 3, relu, { padding: [1, 0] });
  const x = randomTensor([2, 2, 4, 5], 4);
  const y = c(x);
  const one = c(fromData(x.data.slice(0, 2 * 4 * 5), [2, 4, 5]));
  assert.equal(one.shape, y.shape.slice(1));
  close(one, y.data.subarray(0, size(one.shape)), 0, 'unbatched = first image');
  assert.ok(y.data.every((v) => v >= 0), 'relu applied');
  const nb = Conv(2, 1, 1, identity, { bias: false, init: (s, o) => fromData(Float32Array.from({ length: size(s) }, () => 1), [...s]) });
  assert.is(nb.bias, false);
  // a 2×2 window of ones: sums of 2×2 blocks
  assert.equal(nb([[[[1, 2, 3], [4, 5, 6]]]]).toArray(), [[[[12, 16]]]]);
  assert.is(nb.weight.dtype, 'float32');
});

test('Conv: gradients of input, weight and bias by finite differences (random shapes, strides, paddings, dilations, groups)', () => {
  fc.assert(fc.property(arbConv, (c) => {
    const { layerC, x } = makeConv(c, tanh);
    checkLayerGradient(layerC, [x.astype('float64')], c.s, `Conv ${String(layerC)}`);
  }), { numRuns: 25 });
  fc.assert(fc.property(arbConv, (c) => {
    const { layerC, x } = makeConv({ ...c, batch: 1 }, tanh);
    checkLayerSecondOrder(layerC, [x.astype('float64')], c.s, `Conv ${String(layerC)}`);
  }), { numRuns: 4 });
});

test('Conv: default init is glorotUniform with fans of [out, in/groups, kh, kw]', () => {
  seed(11);
  const c = Conv([3, 2], 4, 6, identity, { groups: 2 });
  assert.equal(c.weight.shape, [6, 2, 3, 2]);
  // fanIn = 2·3·2 = 12, fanOut = 6·3·2 = 36: limit √(6/48)
  const limit = Math.sqrt(6 / 48);
  const w = Array.from(c.weight.data);
  assert.ok(w.every((v) => Math.abs(v) <= limit), 'within the Glorot limit');
  assert.ok(Math.max(...w.map(Math.abs)) > 0.8 * limit, 'uses the range (not a smaller fan)');
  assert.ok((c.bias as Tensor).data.every((v) => v === 0), 'bias zeros');
  seed(11);
  close(Conv([3, 2], 4, 6, identity, { groups: 2 }).weight, c.weight.data, 0, 'reproducible after seed');
});

// ---------------------------------------------------------------- DepthwiseConv

test('DepthwiseConv: a Conv with groups = in; values against the loop and tf.layers.depthwiseConv2d', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 1e6 }),
    (inp, mult, k, stride, s) => {
      seed(s);
      const d = DepthwiseConv(k, inp, inp * mult, identity, { stride });
      (d.bias as Tensor).assign(randomTensor([inp * mult], s + 1));
      assert.is(d.groups, inp);
      const x = randomTensor([2, inp, k + 2, k + 3], s + 2);
      const y = d(x);
      close(y, convLoop(x, d.weight, d.bias, { stride: [stride, stride], pad: [0, 0, 0, 0], dilation: [1, 1], groups: inp }).data, 1e-5, 'vs loop');
      const dw = tf.layers.depthwiseConv2d({ kernelSize: k, depthMultiplier: mult, strides: stride, padding: 'valid' });
      const xTf = toNhwc(x);
      dw.build(xTf.shape);
      // ours [c·mult + m, 1, kh, kw] → TF's [kh, kw, c, m]
      const kern = tf.tensor4d(Float32Array.from(d.weight.data), [inp, mult, k, k]).transpose([2, 3, 0, 1]);
      dw.setWeights([kern, tf1d(d.bias, inp * mult)]);
      close(y, fromNhwc(dw.apply(xTf) as TfTensor), 1e-5, 'vs TF.js');
    }), { numRuns: 20 });
  assert.is(String(DepthwiseConv(3, 3, 6, relu)), 'Conv((3, 3), 3 => 6, groups=3, relu)  # 60 parameters');
  throwsExactly(() => DepthwiseConv(3, 3, 4), TypeError, 'DepthwiseConv: out (4) must be a multiple of in (3)');
  throwsExactly(() => DepthwiseConv(3, 2, 4, identity, { groups: 1 } as any), TypeError, 'DepthwiseConv: groups is always the number of input channels; use Conv for other groupings');
});

// ---------------------------------------------------------------- ConvTranspose

const arbConvT = fc.record({
  batch: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cgIn: fc.integer({ min: 1, max: 2 }), cgOut: fc.integer({ min: 1, max: 2 }),
  k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
  outPadFrac: fc.tuple(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true })),
  hw: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })), s: fc.integer({ min: 0, max: 1e6 }),
});

function makeConvT(c: typeof arbConvT extends fc.Arbitrary<infer T> ? T : never, σ = identity, dtype: 'float32' | 'float64' = 'float32') {
  seed(c.s);
  const inp = c.cgIn * c.groups, out = c.cgOut * c.groups;
  const outPad: [number, number] = [Math.floor(c.outPadFrac[0] * c.stride[0]), Math.floor(c.outPadFrac[1] * c.stride[1])];
  const t = ConvTranspose(c.k, inp, out, σ, { stride: c.stride, dilation: c.dilation, padding: c.padding, groups: c.groups, outputPadding: outPad, dtype });
  (t.bias as Tensor).assign(randomTensor([out], c.s + 1, dtype));
  // at least 1 + 2·padding rows and columns, so the cropped output is not empty
  const x = randomTensor([c.batch, inp, c.hw[0] + 2 * c.padding[0], c.hw[1] + 2 * c.padding[1]], c.s + 2, dtype);
  return { t, x, inp, out, outPad };
}

test('ConvTranspose: values and the size formula against the scatter loop; against tf.layers.conv2dTranspose (cropped by the padding)', () => {
  fc.assert(fc.property(arbConvT, (c) => {
    const { t, x, out, outPad } = makeConvT(c);
    const y = t(x);
    const ref = convTransposeLoop(x, t.weight, t.bias, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, outPad });
    assert.equal(y.shape, ref.shape, 'output shape = (H − 1)·s − 2p + d·(k − 1) + outputPadding + 1');
    assert.equal(t.outputSize(x.shape[2], x.shape[3]), ref.shape.slice(2));
    close(y, ref.data, 1e-5, 'ConvTranspose vs loop');
    // a Conv with the same options maps the output size back to the input size
    const back = conv2d(zerosLike4([...y.shape]), t.weight, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
    assert.equal(back.shape.slice(2), x.shape.slice(2), 'Conv inverts the size formula');
    if (c.groups !== 1 || c.dilation[0] !== 1 || c.dilation[1] !== 1) return;
    const ct = tf.layers.conv2dTranspose({ filters: out, kernelSize: c.k, strides: c.stride, padding: 'valid' });
    const xTf = toNhwc(x);
    ct.build(xTf.shape);
    // ours [in, out, kh, kw] → TF's [kh, kw, out, in]
    ct.setWeights([tf.tensor4d(Float32Array.from(t.weight.data), t.weight.shape as [number, number, number, number]).transpose([2, 3, 1, 0]), tf.zeros([out])]);
    const full = (ct.apply(xTf) as TfTensor).transpose([0, 3, 1, 2]);
    const [B, , FH, FW] = full.shape;
    const fullData = full.dataSync();
    const [, , OH, OW] = y.shape;
    const expected = new Float64Array(size(y.shape));
    // crop `padding` from each side of the full output; outputPadding rows beyond it get only the bias
    for (let n = 0; n < B; n++) for (let o = 0; o < out; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
      const r = i + c.padding[0], q = j + c.padding[1];
      const v = r < FH && q < FW ? fullData[((n * out + o) * FH + r) * FW + q] : 0;
      expected[((n * out + o) * OH + i) * OW + j] = v + (t.bias as Tensor).data[o];
    }
    close(y, expected, 1e-5, 'ConvTranspose vs TF.js');
  }), { numRuns: 60 });
});

function zerosLike4(shape: number[]): Tensor {
  return fromData(new Float32Array(size(shape)), shape);
}

test('convTranspose2d is the gradient of conv2d with respect to its input (the adjoint)', () => {
  fc.assert(fc.property(arbConvT, (c) => {
    const { t, x, outPad } = makeConvT(c, identity, 'float64');
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    const y = convTranspose2d(x, t.weight, { ...opts, outputPadding: outPad });
    // ⟨conv2d(z, w), x⟩ as a function of z has gradient convTranspose2d(x, w)
    const z = randomTensor([...y.shape], c.s + 5, 'float64');
    const [, back] = pullback((zz: Tensor) => conv2d(zz, t.weight, opts), z);
    close(y, (back(x)[0] as Tensor).data, 1e-12, 'transposed convolution = input gradient of conv2d');
  }), { numRuns: 30 });
});

test('convTranspose2d: a single image, and errors naming the shapes', () => {
  const x = randomTensor([2, 3, 3], 1, 'float64'), w = randomTensor([2, 4, 2, 2], 2, 'float64');
  const one = convTranspose2d(x, w, { stride: 2 });
  assert.equal(one.shape, [4, 6, 6]);
  close(one, convTranspose2d(x.reshape([1, 2, 3, 3]), w, { stride: 2 }).data, 0, 'unbatched = batch of one');
  throwsExactly(() => convTranspose2d(randomTensor([1, 3, 2, 2], 1), w), ShapeError, 'convTranspose2d: input [1,3,2,2] has 3 channels but filters [2,4,2,2] with groups=1 expect 2 (a multiple of groups)');
  throwsExactly(() => convTranspose2d(x, w, { stride: 2, outputPadding: [0, 2] }), RangeError, 'convTranspose2d: outputPadding 0×2 must be less than the stride 2×2');
  throwsExactly(() => convTranspose2d(x, w, { padding: 2 }), ShapeError, 'convTranspose2d: padding 2×2 crops away the whole output of input 3×3 with kernel 2×2 (output 0×0)');
  throwsExactly(() => convTranspose2d(randomTensor([2, 3], 1), w), ShapeError, 'convTranspose2d: expected input [N,Cin,H,W] and filters [Cin,Cout/groups,KH,KW], got [2,3] and [2,4,2,2]');
});

test('ConvTranspose: gradients of input, weight and bias by finite differences', () => {
  fc.assert(fc.property(arbConvT, (c) => {
    const { t, x } = makeConvT(c, tanh);
    checkLayerGradient(t, [x.astype('float64')], c.s, `ConvTranspose ${String(t)}`);
  }), { numRuns: 25 });
  fc.assert(fc.property(arbConvT, (c) => {
    const { t, x } = makeConvT({ ...c, batch: 1 }, tanh);
    checkLayerSecondOrder(t, [x.astype('float64')], c.s, `ConvTranspose ${String(t)}`);
  }), { numRuns: 4 });
});

// ---------------------------------------------------------------- pooling

const arbPool = fc.record({
  k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  stride: fc.option(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })), { nil: undefined }),
  padFrac: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
  extra: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), s: fc.integer({ min: 0, max: 1e6 }),
});

test('MaxPool, MeanPool: values against the loop and tf.layers.maxPooling2d / averagePooling2d (unpadded); gradients', () => {
  fc.assert(fc.property(arbPool, fc.boolean(), (p, isMax) => {
    const padding: [number, number] = [Math.floor((p.padFrac[0] * p.k[0]) / 2), Math.floor((p.padFrac[1] * p.k[1]) / 2)];
    const l = (isMax ? MaxPool : MeanPool)(p.k, { stride: p.stride, padding });
    const x = randomTensor([2, 2, p.k[0] + p.extra[0], p.k[1] + p.extra[1]], p.s);
    const y = l(x);
    const stride = p.stride ?? p.k;
    const ref = poolLoop(x, isMax ? 'max' : 'mean', p.k, stride, padding);
    assert.equal(y.shape, ref.shape, 'output shape');
    close(y, ref.data, 1e-6, `${String(l)} vs loop`);
    if (padding[0] === 0 && padding[1] === 0) {
      const cfg = { poolSize: p.k, strides: stride, padding: 'valid' as const };
      const lt = isMax ? tf.layers.maxPooling2d(cfg) : tf.layers.averagePooling2d(cfg);
      close(y, fromNhwc(lt.apply(toNhwc(x)) as TfTensor), 1e-6, `${String(l)} vs TF.js`);
    }
    checkLayerGradient(l, [isMax ? distinctTensor([...x.shape], p.s) : x.astype('float64')], p.s, String(l));
  }), { numRuns: 40 });
});

test('GlobalMaxPool, GlobalMeanPool: [B, C, H, W] → [B, C, 1, 1], against tf.layers.globalMax/AveragePooling2d; gradients', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1e6 }),
    (b, c, h, w, s) => {
      const x = randomTensor([b, c, h, w], s);
      const gmax = GlobalMaxPool(), gmean = GlobalMeanPool();
      const ymax = gmax(x), ymean = gmean(x);
      assert.equal(ymax.shape, [b, c, 1, 1]);
      assert.equal(ymean.shape, [b, c, 1, 1]);
      close(ymax, poolLoop(x, 'max', [h, w], [h, w], [0, 0]).data, 0, 'GlobalMaxPool vs loop');
      close(ymean, poolLoop(x, 'mean', [h, w], [h, w], [0, 0]).data, 1e-6, 'GlobalMeanPool vs loop');
      close(ymax, (tf.layers.globalMaxPooling2d({}).apply(toNhwc(x)) as TfTensor).dataSync(), 0, 'GlobalMaxPool vs TF.js');
      close(ymean, (tf.layers.globalAveragePooling2d({}).apply(toNhwc(x)) as TfTensor).dataSync(), 1e-6, 'GlobalMeanPool vs TF.js');
      checkLayerGradient(gmax, [distinctTensor([b, c, h, w], s)], s, 'GlobalMaxPool');
      checkLayerGradient(gmean, [x.astype('float64')], s, 'GlobalMeanPool');
      assert.equal(gmean(fromData(x.data.slice(0, c * h * w), [c, h, w])).shape, [c, 1, 1], 'a single image');
    }), { numRuns: 25 });
});

test('AdaptiveMeanPool, AdaptiveMaxPool: values against the window definition for any input size; gradients', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1e6 }),
    (h, w, oh, ow, s) => {
      const x = randomTensor([2, 2, h, w], s);
      const mean = AdaptiveMeanPool([oh, ow]), mx = AdaptiveMaxPool([oh, ow]);
      const ym = mean(x), yx = mx(x);
      assert.equal(ym.shape, [2, 2, oh, ow]);
      assert.equal(yx.shape, [2, 2, oh, ow]);
      close(ym, adaptiveLoop(x, 'mean', oh, ow), 1e-6, 'AdaptiveMeanPool vs loop');
      close(yx, adaptiveLoop(x, 'max', oh, ow), 0, 'AdaptiveMaxPool vs loop');
      if (h % oh === 0 && w % ow === 0) {
        // divisible sizes: Flux's non-overlapping windows, i.e. MeanPool((H/oh, W/ow))
        close(ym, MeanPool([h / oh, w / ow])(x).data, 1e-6, 'AdaptiveMeanPool = MeanPool when divisible');
      }
      checkLayerGradient(mean, [x.astype('float64')], s, String(mean));
      checkLayerGradient(mx, [distinctTensor([2, 2, h, w], s)], s, String(mx));
    }), { numRuns: 30 });
});

// ---------------------------------------------------------------- Upsample

test('Upsample nearest: pixel repetition, against the loop and tf.layers.upSampling2d; gradient', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }),
    (sh, sw, h, w, bySize, s) => {
      const x = randomTensor([2, 3, h, w], s);
      const u = bySize ? Upsample({ size: [h * sh, w * sw] }) : Upsample({ scale: [sh, sw] });
      const y = u(x);
      assert.equal(y.shape, [2, 3, h * sh, w * sw]);
      const ref = new Float64Array(size(y.shape));
      for (let nc = 0; nc < 6; nc++) for (let i = 0; i < h * sh; i++) for (let j = 0; j < w * sw; j++) {
        ref[(nc * h * sh + i) * w * sw + j] = x.data[(nc * h + Math.floor(i / sh)) * w + Math.floor(j / sw)];
      }
      close(y, ref, 0, 'nearest vs loop');
      close(y, fromNhwc(tf.layers.upSampling2d({ size: [sh, sw] }).apply(toNhwc(x)) as TfTensor), 0, 'nearest vs TF.js');
      checkLayerGradient(u, [x.astype('float64')], s, String(u));
    }), { numRuns: 25 });
});

test('Upsample bilinear (aligned corners): against the loop and tf.image.resizeBilinear(alignCorners = true); gradient', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 1e6 }),
    (h, w, oh, ow, s) => {
      const x = randomTensor([2, 2, h, w], s);
      const u = Upsample({ mode: 'bilinear', size: [oh, ow] });
      const y = u(x);
      assert.equal(y.shape, [2, 2, oh, ow]);
      close(y, bilinearLoop(x, oh, ow), 1e-6, 'bilinear vs loop');
      close(y, fromNhwc(tf.image.resizeBilinear(toNhwc(x) as import('@tensorflow/tfjs').Tensor4D, [oh, ow], true)), 1e-5, 'bilinear vs TF.js');
      checkLayerGradient(u, [x.astype('float64')], s, String(u));
    }), { numRuns: 25 });
  const corners = Upsample({ mode: 'bilinear', scale: 2 })(tensor([[[[1, 2], [3, 4]]]], { dtype: 'float32' }));
  assert.equal(corners.shape, [1, 1, 4, 4]);
  // corners coincide; the middle is interpolated at 1/3 and 2/3
  close(corners, [1, 4 / 3, 5 / 3, 2, 5 / 3, 2, 7 / 3, 8 / 3, 7 / 3, 8 / 3, 3, 10 / 3, 3, 10 / 3, 11 / 3, 4], 1e-6, 'aligned corners');
  assert.equal(Upsample({ mode: 'bilinear', scale: 1.5 })(randomTensor([1, 1, 3, 5], 1)).shape, [1, 1, 4, 7], 'floor(H·scale)');
});

// ---------------------------------------------------------------- models, printing, errors

test('in a Chain: gradient with respect to the model is shaped like it', () => {
  seed(2);
  const m = Chain(Conv(3, 1, 4, tanh, { padding: 'same' }), MaxPool(2), ConvTranspose(2, 4, 2, tanh, { stride: 2 }), MeanPool(2), Flatten(), Dense(8, 3));
  const x = randomTensor([2, 1, 4, 4], 7);
  assert.equal(m(x).shape, [2, 3]);
  const [g] = gradient((mm: typeof m) => sum(mm(x)), m) as any[];
  assert.equal(g.layers[0].weight.shape, [4, 1, 3, 3]);
  assert.equal(g.layers[2].weight.shape, [4, 2, 2, 2]);
  assert.equal(g.layers[2].bias.shape, [2]);
  checkLayerGradient(Chain(Conv(2, 1, 2, tanh), AdaptiveMeanPool(2), ConvTranspose(2, 2, 1, identity, { stride: 2, padding: 1 }), Upsample(2)), [randomTensor([1, 1, 5, 5], 3, 'float64')], 3, 'Chain of conv layers');
});

test('printing as Flux does', () => {
  seed(1);
  assert.is(String(Conv([3, 3], 1, 32, relu)), 'Conv((3, 3), 1 => 32, relu)  # 320 parameters');
  assert.is(String(Conv([3, 3], 32, 64, identity, { padding: 1, stride: 2 })), 'Conv((3, 3), 32 => 64, pad=1, stride=2)  # 18_496 parameters');
  assert.is(String(Conv([2, 3], 2, 4, tanh, { padding: [1, 2], dilation: [2, 1], groups: 2, bias: false })), 'Conv((2, 3), 2 => 4, pad=(1, 2), dilation=(2, 1), groups=2, bias=false, tanh)  # 24 parameters');
  assert.is(String(Conv(2, 1, 1, identity, { padding: 'same' })), 'Conv((2, 2), 1 => 1, pad=(0, 1, 0, 1))  # 5 parameters');
  assert.is(String(Conv(3, 1, 1, identity, { padding: 'valid' })), 'Conv((3, 3), 1 => 1)  # 10 parameters');
  assert.is(String(ConvTranspose([2, 2], 8, 4)), 'ConvTranspose((2, 2), 8 => 4)  # 132 parameters');
  assert.is(String(ConvTranspose(3, 4, 2, relu, { stride: 2, padding: 1, outputPadding: 1 })), 'ConvTranspose((3, 3), 4 => 2, pad=1, outpad=1, stride=2, relu)  # 74 parameters');
  assert.is(String(MaxPool([2, 2])), 'MaxPool((2, 2))');
  assert.is(String(MaxPool(3, { padding: 1, stride: 2 })), 'MaxPool((3, 3), pad=1, stride=2)');
  assert.is(String(MeanPool([2, 3], { stride: [1, 2] })), 'MeanPool((2, 3), stride=(1, 2))');
  assert.is(String(GlobalMeanPool()), 'GlobalMeanPool()');
  assert.is(String(GlobalMaxPool()), 'GlobalMaxPool()');
  assert.is(String(AdaptiveMeanPool([5, 5])), 'AdaptiveMeanPool((5, 5))');
  assert.is(String(AdaptiveMaxPool(3)), 'AdaptiveMaxPool((3, 3))');
  assert.is(String(Upsample({ scale: 2 })), 'Upsample(:nearest, scale = (2, 2))');
  assert.is(String(Upsample(2)), 'Upsample(:nearest, scale = (2, 2))');
  assert.is(String(Upsample({ mode: 'bilinear', size: [8, 6] })), 'Upsample(:bilinear, size = (8, 6))');
  assert.is(String(Chain(Conv(3, 1, 2, relu), MaxPool(2))), [
    'Chain(',
    '  Conv((3, 3), 1 => 2, relu),           # 20 parameters',
    '  MaxPool((2, 2)),',
    ')                   # Total: 2 arrays, 20 parameters, 80 bytes.',
  ].join('\n'));
});

test('errors: channels, rank and a kernel larger than the padded input name the layer and the shapes', () => {
  seed(1);
  const x = (...s: number[]) => randomTensor(s, 1);
  throwsExactly(() => Conv([3, 3], 1, 32)(x(5, 3, 28, 28)), ShapeError, 'Conv((3, 3), 1 => 32) expects input [B, 1, H, W] (NCHW) or [1, H, W], got input of shape [5, 3, 28, 28]');
  throwsExactly(() => Conv(3, 2, 4, relu)(x(3, 5, 5)), ShapeError, 'Conv((3, 3), 2 => 4, relu) expects input [B, 2, H, W] (NCHW) or [2, H, W], got input of shape [3, 5, 5]');
  throwsExactly(() => Conv(3, 2, 4)(x(2, 5)), ShapeError, 'Conv((3, 3), 2 => 4) expects input [B, 2, H, W] (NCHW) or [2, H, W], got input of shape [2, 5]');
  throwsExactly(() => Conv(5, 1, 2)(x(1, 1, 3, 6)), ShapeError, "Conv((5, 5), 1 => 2) expects input with H×W at least 5×5 after padding (the kernel's extent), got input of shape [1, 1, 3, 6] (3×6 after padding)");
  throwsExactly(() => Conv(3, 1, 2, identity, { dilation: 2, padding: 1 })(x(1, 1, 2, 9)), ShapeError, "Conv((3, 3), 1 => 2, pad=1, dilation=2) expects input with H×W at least 5×5 after padding (the kernel's extent), got input of shape [1, 1, 2, 9] (4×11 after padding)");
  throwsExactly(() => ConvTranspose(2, 8, 4)(x(1, 4, 3, 3)), ShapeError, 'ConvTranspose((2, 2), 8 => 4) expects input [B, 8, H, W] (NCHW) or [8, H, W], got input of shape [1, 4, 3, 3]');
  throwsExactly(() => ConvTranspose(1, 1, 1, identity, { padding: 1 })(x(1, 1, 2, 2)), ShapeError, 'ConvTranspose((1, 1), 1 => 1, pad=1) crops (padding 1×1) the whole output of input of shape [1, 1, 2, 2] (output 0×0)');
  throwsExactly(() => MaxPool(2)(x(1, 3, 1, 4)), ShapeError, "MaxPool((2, 2)) expects input with H×W at least 2×2 after padding (the kernel's extent), got input of shape [1, 3, 1, 4] (1×4 after padding)");
  throwsExactly(() => MeanPool(2)(x(3, 4)), ShapeError, 'MeanPool((2, 2)) expects input [B, C, H, W] (NCHW) or [C, H, W], got input of shape [3, 4]');
  throwsExactly(() => GlobalMeanPool()(x(3, 4)), ShapeError, 'GlobalMeanPool() expects input [B, C, H, W] (NCHW) or [C, H, W], got input of shape [3, 4]');
  throwsExactly(() => Upsample({ size: [5, 4] })(x(1, 1, 2, 2)), ShapeError, "Upsample(:nearest, size = (5, 4)) needs an output size that is a multiple of the input's, got input of shape [1, 1, 2, 2] for output 5×4");
  // inside a model, the path is prefixed
  throwsExactly(() => Chain(Conv(3, 1, 2), MaxPool(4))(x(1, 1, 5, 5)), ShapeError, "Chain[1] → MaxPool((4, 4)) expects input with H×W at least 4×4 after padding (the kernel's extent), got input of shape [1, 2, 3, 3] (3×3 after padding)");
  // constructor arguments
  throwsExactly(() => Conv(3, 3, 4, identity, { groups: 2 }), TypeError, 'Conv: in (3) and out (4) must be multiples of groups (2)');
  throwsExactly(() => Conv(0, 1, 1), TypeError, 'Conv: the kernel size must be an integer ≥ 1 or a pair of them, got number 0');
  throwsExactly(() => Conv(3, 1, 1, identity, { padding: 'full' as any }), TypeError, "Conv: padding must be a number, a pair, four numbers, 'same' or 'valid', got the string 'full'");
  throwsExactly(() => ConvTranspose(3, 1, 1, identity, { stride: 2, outputPadding: 2 }), TypeError, 'ConvTranspose: outputPadding (2, 2) must be less than the stride (2, 2)');
  throwsExactly(() => MaxPool(2, { padding: 2 }), TypeError, 'MaxPool: padding (2, 2) must be at most half the window (2, 2)');
  throwsExactly(() => Upsample({ scale: 1.5 }), TypeError, 'Upsample: scale (for nearest) must be an integer ≥ 1 or a pair of them, got number 1.5');
  throwsExactly(() => Upsample({}), TypeError, 'Upsample: give exactly one of scale and size');
  throwsExactly(() => Conv(3, 1, 1, identity, { init: (s) => fromData(new Float32Array(9), [3, 3]) }), ShapeError, 'Conv: the initialiser must return a tensor of shape [1, 1, 3, 3], got a tensor of shape [3, 3]');
});

test.run();
