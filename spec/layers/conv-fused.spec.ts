/**
 * Conv's untraced fast path (bias and relu fused into the convolution kernel, src/layers/conv.ts):
 * the same values, bit for bit, as the layer's traced path computes — conv2d, add, the
 * activation as separate operations — on random layers (float32 and float64, relu and
 * identity, with and without bias, stride, asymmetric padding, dilation, groups, single
 * images), and the traced path (a gradient) is unaffected.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, add, conv2d, fromData, gradient, identity, pad, relu, reshape, sigmoid, sum } from '../../src/index.js';
import { Conv } from '../../src/layers/conv.js';
import { seededValues } from '../_helpers/arbitraries.js';
import { checkLayerGradient } from '../_helpers/layers.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const randomTensor = (shape: number[], s: number, dtype: 'float32' | 'float64'): Tensor => fromData(seededValues(size(shape), s, dtype), shape);

type ConvLayer = ReturnType<typeof Conv>;

/** What Conv computes without the fast path: pad, conv2d, add the bias, the activation. */
function unfused(l: ConvLayer, x: Tensor): Tensor {
  const single = x.ndim === 3;
  const x4 = single ? reshape(x, [1, ...x.shape]) : x;
  const [t, b, left, r] = l.padding;
  const ph = Math.min(t, b), pw = Math.min(left, r);
  const xp = pad(x4, [[0, 0], [0, 0], [t - ph, b - ph], [left - pw, r - pw]]);
  let y = conv2d(xp, l.weight, { stride: l.stride, padding: [ph, pw], dilation: l.dilation, groups: l.groups });
  if (l.bias !== false) y = add(y, reshape(l.bias, [l.bias.shape[0]!, 1, 1]));
  y = l.σ(y) as Tensor;
  return single ? reshape(y, y.shape.slice(1)) : y;
}

/** Bit-for-bit equality (Object.is: NaN equals NaN, −0 is not +0), naming the first difference (no whole-array diff). */
function sameBits(actual: Tensor, expected: Tensor, what: string): void {
  assert.equal(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.data, e = expected.data;
  for (let i = 0; i < e.length; i++) if (!Object.is(a[i], e[i])) assert.unreachable(`${what}: y[${i}] = ${a[i]}, unfused ${e[i]}`);
}

const arbLayer = fc.record({
  n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 3 }), og: fc.integer({ min: 1, max: 5 }),
  kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 4 }),
  stride: fc.integer({ min: 1, max: 2 }), dilation: fc.integer({ min: 1, max: 2 }),
  padding: fc.constantFrom<0 | 1 | 'same' | [number, number, number, number]>(0, 1, 'same', [0, 1, 2, 0]),
  h: fc.integer({ min: 6, max: 14 }), w: fc.integer({ min: 8, max: 20 }), // ≥ the widest extent, (4 − 1)·2 + 1
  act: fc.constantFrom('relu', 'identity'), bias: fc.boolean(), f64: fc.boolean(), single: fc.boolean(), seed: fc.integer(),
}).filter((r) => r.padding !== 'same' || r.stride === 1);

test('untraced Conv (relu or identity) equals conv2d + add + activation bit for bit', () => {
  fc.assert(fc.property(arbLayer, (r) => {
    const dtype = r.f64 ? 'float64' : 'float32';
    const σ = r.act === 'relu' ? relu : identity;
    const l = Conv([r.kh, r.kw], r.cg * r.groups, r.og * r.groups, σ, {
      stride: r.stride, dilation: r.dilation, padding: r.padding, groups: r.groups, dtype,
      bias: r.bias ? randomTensor([r.og * r.groups], r.seed ^ 3, dtype) : false,
    });
    const shape = r.single ? [r.cg * r.groups, r.h, r.w] : [r.n, r.cg * r.groups, r.h, r.w];
    const x = randomTensor(shape, r.seed, dtype);
    const got = l(x);
    assert.is(got.dtype, dtype);
    sameBits(got, unfused(l, x), `${String(l)} on [${shape}]`);
  }), { numRuns: 80 });
});

test('other activations and the CNN-sized layer agree with the unfused path too', () => {
  const l = Conv([3, 3], 1, 32, relu, { bias: randomTensor([32], 5, 'float32') });
  const x = randomTensor([4, 1, 28, 28], 6, 'float32');
  sameBits(l(x), unfused(l, x), 'Conv((3, 3), 1 => 32, relu)');
  const s = Conv([3, 3], 2, 3, sigmoid);
  const xs = randomTensor([2, 2, 9, 9], 7, 'float32');
  sameBits(s(xs), unfused(s, xs), 'Conv((3, 3), 2 => 3, σ)');
});

test('inside a gradient the layer still differentiates (finite differences, float64)', () => {
  // identity (relu is not smooth where finite differences would probe it): also a fused case when untraced
  const l = Conv([3, 2], 2, 3, identity, { padding: [1, 0, 0, 1], bias: randomTensor([3], 11, 'float64'), dtype: 'float64' });
  checkLayerGradient(l, [randomTensor([2, 2, 6, 5], 12, 'float64')]);
  // and the gradient of the untraced-looking call is not empty: the weights are traced there
  const g = gradient((m: ConvLayer) => sum(m(randomTensor([1, 2, 6, 5], 13, 'float64'))), l)[0] as { weight: Tensor };
  assert.ok(g.weight.data.some((v) => v !== 0));
});

test.run();
