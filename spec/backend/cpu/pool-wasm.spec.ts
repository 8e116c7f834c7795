/**
 * Parity of the WebAssembly SIMD max-pooling path (src/backend/cpu/pool-wasm.ts) with an
 * independent reference written here and with the JavaScript loops, bit for bit: values,
 * argmax (first maximum in row-major scan order, first NaN wins, a leading −∞ is admitted,
 * all-padding windows give −∞ and −1), the fused gradient (scatter-add of dy) and the
 * gather, float32 and float64, over random geometries wide enough for whole vectors, the
 * overhanging last vector and the border windows (padding, dilation, every stride class).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import '../../../src/index.js';
import {
  avgPool2d, maxPool2d, maxPool2dGatherAt, maxPool2dGradient, maxPool2dValues, pool2dOutputShape, poolVariants, setPoolVariant,
  type Pool2dParams, type PoolVariant,
} from '../../../src/backend/cpu/pool.js';
import type { Shape4 } from '../../../src/backend/cpu/conv.js';

type DT = 'float32' | 'float64';

/** Values from a seed: mostly small integers (ties), some uniform, and planted ±∞/NaN. */
function data(len: number, seed: number, dtype: DT, specials: number): Float32Array | Float64Array {
  const out = dtype === 'float32' ? new Float32Array(len) : new Float64Array(len);
  let s = seed >>> 0;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < len; i++) out[i] = next() < 0.5 ? Math.floor(next() * 3) - 1 : next() * 4 - 2;
  for (let q = 0; q < specials; q++) out[Math.floor(next() * len)] = [NaN, Infinity, -Infinity][q % 3]!;
  return out;
}

/** Reference: every window's in-bounds taps in row-major order; the rule stated in pool.ts's TSDoc. */
function reference(x: ArrayLike<number>, xs: Shape4, p: Pool2dParams): { out: number[]; argmax: number[] } {
  const [n, c, h, w] = xs, [, , oh, ow] = pool2dOutputShape(xs, p);
  const out: number[] = [], argmax: number[] = [];
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        let best = -Infinity, at = -1;
        for (let i = 0; i < p.kernel[0] && !Number.isNaN(best); i++) {
          for (let j = 0; j < p.kernel[1]; j++) {
            const iy = y * p.stride[0] - p.padding[0] + i * p.dilation[0], ix = xx * p.stride[1] - p.padding[1] + j * p.dilation[1];
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const t = (plane * h + iy) * w + ix, v = x[t]!;
            if (Number.isNaN(v)) { best = NaN; at = t; break; }
            if (at < 0 || v > best) { best = v; at = t; }
          }
        }
        out.push(best);
        argmax.push(at);
      }
    }
  }
  return { out, argmax };
}

const arbCase = fc.record({
  n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }),
  kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }),
  sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
  ph: fc.nat({ max: 2 }), pw: fc.nat({ max: 2 }), dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }),
  eh: fc.nat({ max: 8 }), ew: fc.nat({ max: 40 }), dtype: fc.constantFrom<DT>('float32', 'float64'),
  specials: fc.nat({ max: 4 }), seed: fc.integer(),
}).map((r) => {
  const ph = Math.min(r.ph, Math.floor(r.kh / 2)), pw = Math.min(r.pw, Math.floor(r.kw / 2)); // PyTorch's pad ≤ k/2
  const xs: Shape4 = [r.n, r.c, r.dh * (r.kh - 1) + 1 + r.eh, r.dw * (r.kw - 1) + 1 + r.ew];
  const p: Pool2dParams = { kernel: [r.kh, r.kw], stride: [r.sh, r.sw], padding: [ph, pw], dilation: [r.dh, r.dw] };
  return { xs, p, dtype: r.dtype, specials: r.specials, seed: r.seed };
});

function withVariant<T>(v: PoolVariant, f: () => T): T {
  setPoolVariant(v);
  try {
    return f();
  } finally {
    setPoolVariant('auto');
  }
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

test('the wasm pooling variant is available here (Node 20)', () => {
  assert.ok(poolVariants().includes('wasm'));
});

test('max pooling, wasm and js: values and argmax equal the reference; gradient and gather equal scatter/gather of it', () => {
  fc.assert(fc.property(arbCase, ({ xs, p, dtype, specials, seed }) => {
    const len = xs[0] * xs[1] * xs[2] * xs[3];
    const x = data(len, seed, dtype, specials);
    const ref = reference(x, xs, p);
    const dy = data(ref.out.length, seed ^ 3, dtype, 0), v = data(len, seed ^ 5, dtype, 1);
    const wantDx = new Float64Array(len);
    ref.argmax.forEach((a, i) => { if (a >= 0) wantDx[a] = (dtype === 'float32' ? Math.fround(wantDx[a]! + dy[i]!) : wantDx[a]! + dy[i]!); });
    const wantGather = ref.argmax.map((a) => (a >= 0 ? v[a]! : 0));
    for (const variant of ['js', 'wasm'] as const) {
      const where = `${variant} ${dtype} ${JSON.stringify({ xs, p, specials, seed })}`;
      const r = withVariant(variant, () => ({
        full: maxPool2d(x, xs, p), values: maxPool2dValues(x, xs, p),
        dx: maxPool2dGradient(x, dy, xs, p), gather: maxPool2dGatherAt(x, v, xs, p),
      }));
      assert.ok(same(r.full.out, ref.out), `values ${where}`);
      assert.ok(same(r.full.argmax, ref.argmax), `argmax ${where}`);
      assert.ok(same(r.values, ref.out), `values-only ${where}`);
      assert.ok(same(r.dx, wantDx), `gradient ${where}`);
      assert.ok(same(r.gather, wantGather), `gather ${where}`);
      assert.is(r.full.out.constructor, x.constructor, `dtype ${where}`);
    }
  }), { numRuns: 600 });
});

/** Reference mean: in-bounds taps summed in float64 in scan order, divided by kh·kw or the in-bounds count. */
function referenceAvg(x: ArrayLike<number>, xs: Shape4, p: Pool2dParams, includePad: boolean, dtype: DT): number[] {
  const [n, c, h, w] = xs, [, , oh, ow] = pool2dOutputShape(xs, p);
  const out: number[] = [];
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        let sum = 0, taps = 0;
        for (let i = 0; i < p.kernel[0]; i++) {
          for (let j = 0; j < p.kernel[1]; j++) {
            const iy = y * p.stride[0] - p.padding[0] + i * p.dilation[0], ix = xx * p.stride[1] - p.padding[1] + j * p.dilation[1];
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            sum += x[(plane * h + iy) * w + ix]!;
            taps++;
          }
        }
        const div = includePad ? p.kernel[0] * p.kernel[1] : taps;
        const mean = div === 0 ? 0 : sum / div;
        out.push(dtype === 'float32' ? Math.fround(mean) : mean);
      }
    }
  }
  return out;
}

test('average pooling, wasm and js: equal the reference bit for bit (both countIncludePad), specials included', () => {
  fc.assert(fc.property(arbCase, fc.boolean(), ({ xs, p, dtype, specials, seed }, includePad) => {
    const x = data(xs[0] * xs[1] * xs[2] * xs[3], seed, dtype, specials);
    const want = referenceAvg(x, xs, p, includePad, dtype);
    for (const variant of ['js', 'wasm'] as const) {
      const got = withVariant(variant, () => avgPool2d(x, xs, { ...p, countIncludePad: includePad }));
      assert.ok(same(got, want), `${variant} ${dtype} ${JSON.stringify({ xs, p, includePad, specials, seed })}`);
      assert.is(got.constructor, x.constructor);
    }
  }), { numRuns: 400 });
});

test('max pooling wasm: a conv-net shape (overlapping 3×3/2 windows, padding) equals the JS loops bit for bit', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const xs: Shape4 = [2, 5, 17, 33];
    const p: Pool2dParams = { kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1] };
    const x = data(xs[0] * xs[1] * xs[2] * xs[3], 11, dtype, 9);
    const a = withVariant('js', () => maxPool2d(x, xs, p)), b = withVariant('wasm', () => maxPool2d(x, xs, p));
    assert.ok(same(a.out, b.out) && same(a.argmax, b.argmax), dtype);
  }
});

test.run();
