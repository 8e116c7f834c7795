/**
 * The fused convolution epilogue, `relu?(conv2d(x, w) + bias)` in one kernel call
 * (conv2dBiasRelu in src/backend/cpu/conv.ts; the direct kernel's in-register bias and relu,
 * the in-place pass elsewhere): bit for bit the separate conv2d, add and relu operations on
 * every kernel variant, and within rounding of a float64 plain-loop definition, in float32
 * and float64, over stride, padding, dilation and groups, with and without bias and relu.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
// the library entry first: it fixes the evaluation order of the tensor ↔ ops import cycle
import { add, conv2d as conv2dOp, fromData, relu, reshape } from '../../../src/index.js';
import { conv2dBiasRelu, conv2dOutputShape, type Conv2dParams, type Shape4 } from '../../../src/backend/cpu/conv.js';
import { convVariants, getConvVariant, setConvVariant, type ConvVariant } from '../../../src/backend/cpu/conv-direct.js';
import { withSetting } from '../../_helpers/variants.js';
import { lcgFloat32, sizeOf } from '../../_helpers/reference.js';

const VARIANTS = convVariants();
const withVariant = <T>(v: ConvVariant | 'auto', fn: () => T): T => withSetting(getConvVariant, setConvVariant, v, fn);

type Case = { xs: Shape4; ws: Shape4; p: Conv2dParams; seed: number; bias: boolean; relu: boolean; f64: boolean };

/** Any convolution: strides, dilation, padding, groups (mostly im2col). */
const arbGeneral = fc.record({
  n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 1, max: 4 }), og: fc.integer({ min: 1, max: 5 }),
  kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }),
  sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
  dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }),
  ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
  h: fc.integer({ min: 1, max: 13 }), w: fc.integer({ min: 1, max: 13 }),
  seed: fc.integer(), bias: fc.boolean(), relu: fc.boolean(), f64: fc.boolean(),
}).map((r): Case => ({
  xs: [r.n, r.cg * r.groups, r.h, r.w], ws: [r.og * r.groups, r.cg, r.kh, r.kw],
  p: { stride: [r.sh, r.sw], padding: [r.ph, r.pw], dilation: [r.dh, r.dw], groups: r.groups },
  seed: r.seed, bias: r.bias, relu: r.relu, f64: r.f64,
})).filter((c) => conv2dOutputShape(c.xs, c.ws, c.p).slice(2).every((d) => d >= 1));

/** Convolutions the direct kernel takes (stride 1, dilation 1, kw ≤ 7, ow ≥ 8), odd channel counts. */
const arbDirect = fc.record({
  n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 5 }), og: fc.integer({ min: 1, max: 9 }),
  kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 7 }),
  ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
  eh: fc.integer({ min: 0, max: 5 }), ow: fc.integer({ min: 8, max: 27 }),
  seed: fc.integer(), bias: fc.boolean(), relu: fc.boolean(),
}).map((r): Case => ({
  xs: [r.n, r.cg * r.groups, Math.max(1, r.kh - 2 * r.ph) + r.eh, r.ow + r.kw - 1 - 2 * r.pw], ws: [r.og * r.groups, r.cg, r.kh, r.kw],
  p: { stride: [1, 1], padding: [r.ph, r.pw], dilation: [1, 1], groups: r.groups },
  seed: r.seed, bias: r.bias, relu: r.relu, f64: false,
})).filter((c) => c.xs[3] >= 1 && conv2dOutputShape(c.xs, c.ws, c.p)[2] >= 1);

function operands(c: Case): { x: Float32Array | Float64Array; w: Float32Array | Float64Array; b: Float32Array | Float64Array | null } {
  const x = lcgFloat32(sizeOf(c.xs), c.seed), w = lcgFloat32(sizeOf(c.ws), c.seed ^ 0x5bd1e995);
  const b = c.bias ? lcgFloat32(c.ws[0], c.seed ^ 0x27d4eb2f) : null;
  if (!c.f64) return { x, w, b };
  return { x: Float64Array.from(x), w: Float64Array.from(w), b: b && Float64Array.from(b) };
}

/** float64 `relu?(conv + bias)` from the definition, and the Σ|terms| that bounds its rounding. */
function reference(c: Case, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null): { y: Float64Array; mag: Float64Array } {
  const [n, ch, h, wd] = c.xs, [o, cg, kh, kw] = c.ws, p = c.p;
  const [, , oh, ow] = conv2dOutputShape(c.xs, c.ws, p);
  const og = o / p.groups;
  const y = new Float64Array(n * o * oh * ow), mag = new Float64Array(y.length);
  for (let bi = 0; bi < n; bi++)
    for (let oc = 0; oc < o; oc++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = b ? b[oc]! : 0, m = Math.abs(s);
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let t = 0; t < kw; t++) {
                const iy = i * p.stride[0] - p.padding[0] + a * p.dilation[0], ix = j * p.stride[1] - p.padding[1] + t * p.dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const v = x[((bi * ch + Math.floor(oc / og) * cg + ci) * h + iy) * wd + ix]! * w[((oc * cg + ci) * kh + a) * kw + t]!;
                s += v;
                m += Math.abs(v);
              }
          const at = ((bi * o + oc) * oh + i) * ow + j;
          y[at] = c.relu && s < 0 ? 0 : s;
          mag[at] = m;
        }
  return { y, mag };
}

/** The three separate public operations, as an unfused model layer computes them. */
function separate(c: Case, x: Float32Array | Float64Array, w: Float32Array | Float64Array, b: Float32Array | Float64Array | null): number[] {
  let y = conv2dOp(fromData(x, c.xs), fromData(w, c.ws), { stride: c.p.stride, padding: c.p.padding, dilation: c.p.dilation, groups: c.p.groups });
  if (b) y = add(y, reshape(fromData(b, [b.length]), [b.length, 1, 1]));
  if (c.relu) y = relu(y);
  return Array.from(y.data);
}

function check(c: Case): void {
  const { x, w, b } = operands(c);
  const { y: ref, mag } = reference(c, x, w, b);
  const k = c.ws[1] * c.ws[2] * c.ws[3];
  const eps = c.f64 ? 2 ** -53 : 2 ** -24;
  for (const v of VARIANTS) {
    const got = withVariant(v, () => conv2dBiasRelu(x, c.xs, w, c.ws, c.p, b, c.relu));
    assert.ok(c.f64 ? got instanceof Float64Array : got instanceof Float32Array, `${v}: dtype kept`);
    const sep = withVariant(v, () => separate(c, x, w, b));
    assert.is(got.length, ref.length);
    for (let i = 0; i < ref.length; i++) {
      // Object.is: bit for bit, NaN equal to NaN, −0 distinct from +0
      if (!Object.is(got[i]!, sep[i]!)) assert.unreachable(`${v} [${c.xs}]⊛[${c.ws}] bias ${c.bias} relu ${c.relu}: y[${i}] = ${got[i]}, separate ops ${sep[i]}`);
      // k products and k + 1 additions in the dtype, each within eps of Σ|terms|
      const tol = (2 * k + 3) * eps * mag[i]! + 1e-30;
      if (!(Math.abs(got[i]! - ref[i]!) <= tol)) assert.unreachable(`${v} [${c.xs}]⊛[${c.ws}]: y[${i}] = ${got[i]}, expected ${ref[i]} ± ${tol}`);
    }
  }
}

test('direct-kernel convolutions: fused bias and relu equal the separate ops and the definition (float32)', () => {
  fc.assert(fc.property(arbDirect, (c) => check(c)), { numRuns: 60 });
});

test('any convolution, float32 and float64: fused bias and relu equal the separate ops and the definition', () => {
  fc.assert(fc.property(arbGeneral, (c) => check(c)), { numRuns: 80 });
});

test('relu keeps NaN (never hidden as 0), on every variant', () => {
  const xs: Shape4 = [1, 1, 3, 10], ws: Shape4 = [5, 1, 3, 3];
  const p: Conv2dParams = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  const x = lcgFloat32(sizeOf(xs), 7);
  x[4] = NaN;
  // every output column whose window covers input column 4 is NaN before relu, and must stay NaN
  const w = lcgFloat32(sizeOf(ws), 8), b = lcgFloat32(5, 9);
  for (const v of VARIANTS) {
    const y = withVariant(v, () => conv2dBiasRelu(x, xs, w, ws, p, b, true));
    let negatives = 0;
    for (let o = 0; o < 5; o++) for (let j = 0; j < 8; j++) {
      assert.is(Number.isNaN(y[o * 8 + j]!), j >= 2 && j <= 4, `${v}: channel ${o} column ${j}`);
      if (y[o * 8 + j]! < 0) negatives++;
    }
    assert.is(negatives, 0, `${v}: relu output ≥ 0`);
  }
});

test.run();
