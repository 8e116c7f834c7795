/**
 * The values-only 2×2 / stride-2 max-pooling kernel (`maxv_f32_2x2s2`, used by
 * maxPool2dValues for float32 on the wasm path): bit for bit the reference scan (first
 * maximum in row-major order, so −0 before +0 stays −0 and the reverse stays +0; first NaN
 * wins), with the planes it flags for NaN/±∞ redone by the exact kernel without disturbing
 * the next plane's outputs. Odd and narrow widths (the overhanging last vector), batch 1,
 * plane counts not a multiple of 4, and parameters that route around it (padding, other
 * strides, float64) are compared as well.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import '../../../src/index.js';
import { maxPool2dValues, pool2dOutputShape, poolVariants, setPoolVariant, type Pool2dParams } from '../../../src/backend/cpu/pool.js';
import type { Shape4 } from '../../../src/backend/cpu/conv.js';

const P2: Pool2dParams = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };

/** The rule of pool.ts's TSDoc as a plain loop over in-bounds taps. */
function reference(x: ArrayLike<number>, xs: Shape4, p: Pool2dParams): number[] {
  const [n, c, h, w] = xs, [, , oh, ow] = pool2dOutputShape(xs, p);
  const out: number[] = [];
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        let best = -Infinity, first = true;
        scan: for (let i = 0; i < p.kernel[0]; i++) {
          for (let j = 0; j < p.kernel[1]; j++) {
            const iy = y * p.stride[0] - p.padding[0] + i * p.dilation[0], ix = xx * p.stride[1] - p.padding[1] + j * p.dilation[1];
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const v = x[(plane * h + iy) * w + ix]!;
            if (Number.isNaN(v)) { best = NaN; break scan; }
            if (first || v > best) best = v;
            first = false;
          }
        }
        out.push(best);
      }
    }
  }
  return out;
}

/** Mostly ±0 and small integers (ties of every kind), some uniform values, planted specials. */
function data(len: number, seed: number, specials: number, pick: readonly number[]): Float32Array {
  const out = new Float32Array(len);
  let s = seed >>> 0;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < len; i++) {
    const r = next();
    out[i] = r < 0.3 ? (next() < 0.5 ? -0 : 0) : r < 0.7 ? Math.floor(next() * 3) - 1 : next() * 4 - 2;
  }
  for (let q = 0; q < specials; q++) out[Math.floor(next() * len)] = pick[q % pick.length]!;
  return out;
}

function same(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.unreachable(`${what}: output ${i} is ${Object.is(got[i], -0) ? '-0' : got[i]}, want ${Object.is(want[i], -0) ? '-0' : want[i]}`);
  }
}

const arb = fc.record({
  n: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 7 }),
  h: fc.integer({ min: 2, max: 13 }), w: fc.integer({ min: 2, max: 21 }),
  seed: fc.nat(), specials: fc.nat({ max: 6 }),
  pick: fc.constantFrom([NaN], [Infinity, -Infinity], [NaN, Infinity, -Infinity], [-Infinity]),
});

test('the wasm pooling variant is available here (Node 20)', () => {
  assert.ok(poolVariants().includes('wasm'));
});

test('2×2/2 values, float32 wasm: equal the reference bit for bit (±0 ties, NaN in any tap, ±∞), and the JS loop', () => {
  fc.assert(fc.property(arb, ({ n, c, h, w, seed, specials, pick }) => {
    const xs: Shape4 = [n, c, h, w];
    const x = data(n * c * h * w, seed, specials, pick);
    const want = reference(x, xs, P2);
    setPoolVariant('wasm');
    try {
      same(maxPool2dValues(x, xs, P2), want, `wasm ${xs}`);
    } finally {
      setPoolVariant('auto');
    }
    setPoolVariant('js');
    try {
      same(maxPool2dValues(x, xs, P2), want, `js ${xs}`);
    } finally {
      setPoolVariant('auto');
    }
  }), { numRuns: 300 });
});

test('2×2/2 values: a NaN plane redone exactly leaves the next plane\'s first outputs alone', () => {
  // width 10 → 5 outputs per row: the last vector of a row overhangs by 3 lanes
  const xs: Shape4 = [1, 4, 6, 10];
  for (const at of [0, 1, 10, 11, 59]) {
    for (const special of [NaN, Infinity]) {
      const x = data(240, at + 7, 0, []);
      for (let plane = 0; plane < 3; plane++) x[plane * 60 + at] = special; // planes 0..2 flagged, plane 3 not
      const got = maxPool2dValues(x, xs, P2);
      same(got, reference(x, xs, P2), `special ${special} at ${at}`);
      assert.ok(got.subarray(0, 15).some((v) => Object.is(v, special)), 'the planted value reached plane 0\'s outputs');
    }
  }
});

test('2×2/2 values: the conv-net shape and shapes that route around the kernel equal the reference', () => {
  const cases: [Shape4, Pool2dParams, 'float32' | 'float64'][] = [
    [[2, 32, 26, 26], P2, 'float32'],
    [[1, 3, 11, 11], P2, 'float32'],
    [[1, 5, 9, 9], P2, 'float64'],
    [[1, 5, 9, 9], { ...P2, padding: [1, 1] }, 'float32'],
    [[1, 5, 9, 12], { ...P2, stride: [1, 2] }, 'float32'],
    [[1, 5, 9, 12], { ...P2, stride: [2, 1] }, 'float32'],
    [[1, 5, 9, 12], { ...P2, dilation: [1, 2] }, 'float32'],
    [[1, 5, 9, 12], { ...P2, kernel: [2, 3] }, 'float32'],
  ];
  for (const [xs, p, dtype] of cases) {
    const f = data(xs[0] * xs[1] * xs[2] * xs[3], xs[3] * 31 + xs[2], 9, [NaN, Infinity, -Infinity]);
    const x = dtype === 'float32' ? f : Float64Array.from(f);
    same(maxPool2dValues(x, xs, p), reference(x, xs, p), `${xs} ${JSON.stringify(p)} ${dtype}`);
  }
});

test.run();
