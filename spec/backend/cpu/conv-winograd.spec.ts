/**
 * Winograd F(2×2, 3×3) convolution (src/backend/cpu/conv-winograd.ts): values against a
 * float64 loop of the definition within a derived rounding bound, non-finite values routed to
 * the direct kernels, the size and gradient gates.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';

import '../../../src/index.js';
import { Conv, Tensor, fromData, gradient, identity, relu, sum } from '../../../src/index.js';
import { conv2dBiasRelu, type Conv2dParams, type Shape4 } from '../../../src/backend/cpu/conv.js';
import { setConvVariant, getConvVariant } from '../../../src/backend/cpu/conv-direct.js';
import { winogradApplies, winogradConv3x3, winogradTuning } from '../../../src/backend/cpu/conv-winograd.js';
import { withSetting } from '../../_helpers/variants.js';
import { lcgFloat32, sizeOf } from '../../_helpers/reference.js';

interface Case { n: number; c: number; o: number; h: number; w: number; ph: number; pw: number; bias: boolean; relu: boolean; seed: number; scale: number }

const arbCase: fc.Arbitrary<Case> = fc.record({
  n: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 9 }), o: fc.integer({ min: 1, max: 9 }),
  h: fc.integer({ min: 3, max: 14 }), w: fc.integer({ min: 3, max: 14 }),
  ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
  bias: fc.boolean(), relu: fc.boolean(), seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  // magnitudes from 2⁻²⁰ to 2²⁰: the bound is relative to the operands' scale
  scale: fc.integer({ min: -20, max: 20 }),
});

function operands(k: Case): { x: Float32Array; w: Float32Array; b: Float32Array | null } {
  const x = lcgFloat32(k.n * k.c * k.h * k.w, k.seed).map((v) => v * 2 ** k.scale);
  const w = lcgFloat32(k.o * k.c * 9, k.seed + 1);
  // some exact zeros: taps that contribute nothing but still enter the transforms
  for (let i = 0; i < x.length; i += 7) x[i] = 0;
  const b = k.bias ? lcgFloat32(k.o, k.seed + 2).map((v) => v * 2 ** k.scale) : null;
  return { x, w, b };
}

const outSize = (k: Case): [number, number] => [k.h + 2 * k.ph - 2, k.w + 2 * k.pw - 2];

/** The definition in float64: b[o] + Σ_c,a,b w[o,c,a,b]·x[n,c,i−ph+a,j−pw+b] (zero outside), then relu. */
function reference(k: Case, x: Float32Array, w: Float32Array, b: Float32Array | null): Float64Array {
  const [oh, ow] = outSize(k);
  const y = new Float64Array(k.n * k.o * oh * ow);
  for (let n = 0; n < k.n; n++) for (let o = 0; o < k.o; o++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    let s = b === null ? 0 : b[o]!;
    for (let c = 0; c < k.c; c++) for (let a = 0; a < 3; a++) for (let q = 0; q < 3; q++) {
      const r = i - k.ph + a, t = j - k.pw + q;
      if (r >= 0 && r < k.h && t >= 0 && t < k.w) s += w[((o * k.c + c) * 3 + a) * 3 + q]! * x[((n * k.c + c) * k.h + r) * k.w + t]!;
    }
    y[((n * k.o + o) * oh + i) * ow + j] = k.relu ? Math.max(s, 0) : s;
  }
  return y;
}

/*
 * Error bound. Written out, output r (0 or 1 along an axis) of a tile is
 *   y_r = Σ_ξ Aᵀ[r][ξ] · Σ_c (Σ_a G[ξ][a] g_a) · (Σ_p Bᵀ[ξ][p] d_p)
 * (in 2-D the same along both axes). Exactly, every pair (a, p) other than the taps p = r + a
 * cancels; in floating point each pair carries rounding. Counting float32 operations on one
 * path from the operands to an output: filter transform G·g·Gᵀ, two additions per axis (the
 * ½ is exact) = 4; input transform Bᵀ·d·B, one addition or subtraction per axis = 2; the
 * product and the sum over C channels (any order) = C; output transform Aᵀ·m·A, two
 * additions per axis = 4; the bias addition = 1; float64 intermediates only round less. So
 * with u = 2⁻²⁴ and γ_k = k·u / (1 − k·u) (Higham, Accuracy and Stability, §3.1),
 *   |ŷ − y| ≤ γ_{C+11} · (S + |bias|),
 *   S = Σ_c Σ_{a,b ∈ 3×3} Σ_{p,q ∈ 4×4} κ_r[a][p] κ_s[b][q] |w_c,a,b| |x_c,tile(p,q)|,
 *   κ_r[a][p] = Σ_ξ |Aᵀ[r][ξ]| |G[ξ][a]| |Bᵀ[ξ][p]|,
 * the same computation on absolute values. κ is 1 on the taps (so S ≥ Σ|w||x| over the
 * taps) and at most 2 elsewhere (|x| entering through two of the ξ), so S ≤ 4 · Σ_c Σ|w_c|
 * · Σ_tile |x_c|: not a multiple of Σ|w||x| over the taps alone, because inputs of the tile
 * that no tap of this output touches still enter before they cancel. One more γ term covers
 * the float64 reference's own rounding (≤ 9C·2⁻⁵³ relative to Σ|w||x| ≤ S); relu only shrinks
 * differences.
 */
const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];
const KAPPA = [0, 1].map((r) => [0, 1, 2].map((a) => [0, 1, 2, 3].map((p) => {
  let s = 0;
  for (let xi = 0; xi < 4; xi++) s += Math.abs(AT[r]![xi]!) * Math.abs(G[xi]![a]!) * Math.abs(BT[xi]![p]!);
  return s;
})));
const gamma = (k: number): number => (k * 2 ** -24) / (1 - k * 2 ** -24);

function bound(k: Case, x: Float32Array, w: Float32Array, b: Float32Array | null): Float64Array {
  const [oh, ow] = outSize(k);
  const out = new Float64Array(k.n * k.o * oh * ow);
  const g = gamma(k.c + 12);
  for (let n = 0; n < k.n; n++) for (let o = 0; o < k.o; o++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const r = i & 1, s = j & 1, y0 = (i - r) - k.ph, x0 = (j - s) - k.pw;
    let acc = b === null ? 0 : Math.abs(b[o]!);
    for (let c = 0; c < k.c; c++) for (let a = 0; a < 3; a++) for (let q = 0; q < 3; q++) {
      const wv = Math.abs(w[((o * k.c + c) * 3 + a) * 3 + q]!);
      for (let p = 0; p < 4; p++) {
        const yy = y0 + p;
        if (yy < 0 || yy >= k.h) continue;
        for (let t = 0; t < 4; t++) {
          const xx = x0 + t;
          if (xx < 0 || xx >= k.w) continue;
          acc += KAPPA[r]![a]![p]! * KAPPA[s]![q]![t]! * wv * Math.abs(x[((n * k.c + c) * k.h + yy) * k.w + xx]!);
        }
      }
    }
    out[((n * k.o + o) * oh + i) * ow + j] = g * acc;
  }
  return out;
}

const geom = (k: Case) => {
  const [oh, ow] = outSize(k);
  return { n: k.n, c: k.c, h: k.h, w: k.w, o: k.o, oh, ow, ph: k.ph, pw: k.pw };
};

test('winograd: values within the derived rounding bound of the float64 definition (odd sizes, padding 0-2, bias, relu)', () => {
  fc.assert(fc.property(arbCase, (k) => {
    const { x, w, b } = operands(k);
    const got = winogradConv3x3(x, w, geom(k), b, k.relu);
    assert.ok(got !== null, 'finite operands give a result');
    const ref = reference(k, x, w, b), tol = bound(k, x, w, b);
    assert.is(got!.length, ref.length);
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(got![i]! - ref[i]!);
      if (!(err <= tol[i]!)) assert.unreachable(`output ${i}: ${got![i]} vs ${ref[i]} (error ${err} > bound ${tol[i]}) in ${JSON.stringify(k)}`);
    }
  }), { numRuns: 300 });
});

test('winograd: relu keeps −0 as v < 0 ? 0 : v does, and a bias shifts every output', () => {
  // w = 0: every Winograd sum is +0; bias −1 makes −1 (relu → +0), bias 2.5 passes
  const k: Case = { n: 1, c: 2, o: 2, h: 5, w: 6, ph: 1, pw: 0, bias: true, relu: true, seed: 3, scale: 0 };
  const x = lcgFloat32(sizeOf([1, 2, 5, 6]), 3), w = new Float32Array(2 * 2 * 9);
  const y = winogradConv3x3(x, w, geom(k), Float32Array.from([-1, 2.5]), true)!;
  const plane = 5 * 4;
  for (let i = 0; i < plane; i++) { assert.ok(Object.is(y[i], 0)); assert.is(y[plane + i], 2.5); }
});

// a shape the size gate admits: [2, 96, 14, 14] * [64, 96, 3, 3], padding 1 (2 · 49 tiles)
const BIG: Case = { n: 2, c: 96, o: 64, h: 14, w: 14, ph: 1, pw: 1, bias: true, relu: true, seed: 11, scale: 0 };
const params = (k: Case): Conv2dParams => ({ stride: [1, 1], padding: [k.ph, k.pw], dilation: [1, 1], groups: 1 });
const shapes = (k: Case): [Shape4, Shape4] => [[k.n, k.c, k.h, k.w], [k.o, k.c, 3, 3]];
const bitsEqual = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
const call = (k: Case, x: Float32Array, w: Float32Array, b: Float32Array | null, inference: boolean) =>
  conv2dBiasRelu(x, shapes(k)[0], w, shapes(k)[1], params(k), b, k.relu, inference);

test('non-finite inputs and weights: Winograd declines, and the gated call equals the direct kernels bit for bit', () => {
  const base = operands(BIG);
  const cases: [string, (x: Float32Array, w: Float32Array) => void][] = [
    ['+∞ in x', (x) => { x[5 * 14 + 6] = Infinity; }],
    // in one tile: the direct sums see ∞ and −∞ apart where they do not overlap; the transform mixes them (∞ − ∞ = NaN)
    ['+∞ and −∞ in one tile of x', (x) => { x[14 * 3 + 4] = Infinity; x[14 * 3 + 5] = -Infinity; }],
    ['NaN in x', (x) => { x[96 * 196 + 17] = NaN; }],
    ['+∞ in w', (_x, w) => { w[9 * 3 + 4] = Infinity; }],
  ];
  for (const [name, poison] of cases) {
    const x = base.x.slice(), w = base.w.slice();
    poison(x, w);
    assert.is(winogradConv3x3(x, w, geom(BIG), base.b, BIG.relu), null, name);
    const direct = call(BIG, x, w, base.b, false), gated = call(BIG, x, w, base.b, true);
    assert.ok(direct.some((v) => !Number.isFinite(v)), `${name}: the case has non-finite outputs`);
    assert.ok(bitsEqual(gated, direct), name);
  }
  // the ∞/−∞ tile: the definition gives ±∞ at outputs that see only one of them, NaN where both
  const x = base.x.slice();
  x[14 * 3 + 4] = Infinity; x[14 * 3 + 5] = -Infinity;
  const d = call({ ...BIG, relu: false }, x, base.w, base.b, true);
  assert.ok(d.some((v) => v === Infinity || v === -Infinity) && d.some((v) => Number.isNaN(v)));
});

test('gate: large float32 3×3 stride-1 convolutions only, no forced variant; small ones run the direct kernel bit for bit', () => {
  const { x, w, b } = operands(BIG);
  const g = { ...geom(BIG), kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, groups: 1 };
  assert.ok(winogradApplies(x, w, b, g));
  const wino = winogradConv3x3(x, w, geom(BIG), b, true)!;
  const gated = call(BIG, x, w, b, true), direct = call(BIG, x, w, b, false);
  assert.ok(bitsEqual(gated, wino), 'admitted: the Winograd result');
  assert.not.ok(bitsEqual(gated, direct), 'the two paths round differently (else this test could not tell them apart)');
  // what the gate turns away
  assert.not.ok(winogradApplies(x, w, b, { ...g, sh: 2 }), 'stride 2');
  assert.not.ok(winogradApplies(x, w, b, { ...g, dw: 2 }), 'dilation 2');
  assert.not.ok(winogradApplies(x, w, b, { ...g, groups: 2 }), 'groups');
  assert.not.ok(winogradApplies(x, w, b, { ...g, kh: 5, kw: 5 }), '5×5');
  assert.not.ok(winogradApplies(Float64Array.from(x), Float64Array.from(w), null, g), 'float64');
  assert.not.ok(winogradApplies(x, w, b, { ...g, n: 1 }), 'too few tiles (49)');
  // the SIMD kernels' gate (tile rows of 4 tiles or more; see the measurements in conv-winograd.ts)
  assert.not.ok(winogradApplies(x, w, b, { ...g, c: 3 }), 'few input channels');
  assert.ok(winogradApplies(x, w, b, { ...g, c: 4, o: 8 }), '4 channels, 14×14 outputs: 2.25x fewer multiply-adds');
  const cnn2 = { ...g, n: 64, c: 32, o: 64, h: 13, w: 13, oh: 11, ow: 11, ph: 0, pw: 0 };
  assert.ok(winogradApplies(x, w, b, cnn2), 'the CNN\'s second layer (11×11: 1.89x, 21 products per transformed value)');
  assert.not.ok(winogradApplies(x, w, b, { ...cnn2, c: 16, o: 32 }), '11×11 with 10.7 products per transformed value');
  assert.not.ok(winogradApplies(x, w, b, { ...cnn2, n: 1 }), '36 tiles');
  assert.ok(winogradApplies(x, w, b, { ...g, n: 4, oh: 12, ow: 12 }), '12×12: 2.25x fewer multiply-adds');
  assert.ok(winogradApplies(x, w, b, { ...g, n: 16, oh: 7, ow: 7 }), '7×7: 1.72x, and im2col otherwise');
  assert.not.ok(winogradApplies(x, w, b, { ...g, n: 2, oh: 7, ow: 7 }), '7×7, 32 tiles');
  assert.ok(winogradApplies(x, w, b, { ...g, c: 256, o: 256 }), 'wide layer, 98 tiles');
  // tile rows under 4 tiles: the JavaScript path's gate
  assert.ok(winogradApplies(x, w, b, { ...g, n: 16, oh: 6, ow: 6 }), '6×6 outputs, 96 channels, 144 tiles');
  assert.not.ok(winogradApplies(x, w, b, { ...g, n: 16, c: 64, oh: 6, ow: 6 }), '6×6 outputs, 64 channels');
  assert.not.ok(winogradApplies(x, w, b, { ...g, n: 16, o: 32, oh: 6, ow: 6 }), '6×6 outputs, 32 output channels');
  withSetting(getConvVariant, setConvVariant, 'direct', () => {
    assert.not.ok(winogradApplies(x, w, b, g), 'forced conv variant');
    assert.ok(bitsEqual(call(BIG, x, w, b, true), call(BIG, x, w, b, false)));
  });
  // a small layer the gate turns away: the direct kernel, bit for bit
  const small: Case = { n: 4, c: 16, o: 32, h: 13, w: 13, ph: 0, pw: 0, bias: true, relu: true, seed: 5, scale: 0 };
  const s = operands(small);
  assert.ok(bitsEqual(call(small, s.x, s.w, s.b, true), call(small, s.x, s.w, s.b, false)));
});

test('SIMD path: splitting the images into chunks changes no bit; a non-finite output in the last chunk still declines', () => {
  const k: Case = { n: 5, c: 6, o: 7, h: 13, w: 15, ph: 1, pw: 0, bias: true, relu: false, seed: 21, scale: 0 };
  const { x, w, b } = operands(k);
  const whole = winogradConv3x3(x, w, geom(k), b, false)!;
  const saved = winogradTuning.chunkBytes;
  try {
    winogradTuning.chunkBytes = 1; // one image per chunk
    assert.ok(bitsEqual(winogradConv3x3(x, w, geom(k), b, false)!, whole), 'one image per chunk');
    const poisoned = x.slice();
    poisoned[poisoned.length - 20] = NaN;
    assert.is(winogradConv3x3(poisoned, w, geom(k), b, false), null);
  } finally {
    winogradTuning.chunkBytes = saved;
  }
});

test('Conv layer: Winograd outside a gradient; inside one, the direct kernel bit for bit', () => {
  for (const σ of [relu, identity]) {
    const k: Case = { ...BIG, relu: σ === relu };
    const layer = Conv([3, 3], k.c, k.o, σ, { padding: 1 });
    const { x: xd, b } = operands(k);
    (layer.bias as Tensor).assign(fromData(b!, [k.o]));
    const x = fromData(xd, [k.n, k.c, k.h, k.w]);
    const wd = layer.weight.data as Float32Array;
    const outside = layer(x).data;
    assert.ok(bitsEqual(outside, winogradConv3x3(xd, wd, geom(k), b, k.relu)!), 'untraced call: Winograd');
    let inside: Tensor | undefined;
    gradient((m: typeof layer, xx: Tensor) => { inside = m(xx); return sum(inside); }, layer, x);
    const direct = call(k, xd, wd, b, false);
    assert.ok(bitsEqual(inside!.data, direct), 'inside gradient: the direct kernel');
    assert.not.ok(bitsEqual(inside!.data, outside), 'the paths differ, so the check above is not vacuous');
  }
});

test.run();
