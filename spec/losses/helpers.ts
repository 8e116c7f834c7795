/**
 * Shared pieces of the loss specs: TF.js on its cpu backend, reference losses written as
 * plain loops over rows (the last dimension is the class dimension), their aggregation, the
 * rounding bound the comparisons use, and arbitraries for (ŷ, y) pairs of equal shape.
 */
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, tensor } from '../../src/index.js';
import { EPS } from '../_helpers/gradcheck.js';
import { type Domain, arbTensorIn, valuesOf } from '../_helpers/ad-arbitraries.js';

// TF.js prints a hint about tfjs-node on first use unless in production mode
export const tf: typeof import('@tensorflow/tfjs') = await import('@tensorflow/tfjs');
tf.enableProdMode();
await tf.setBackend('cpu');

/** A reference value and the magnitude of what it was computed from (the sum of the absolute terms, ≥ the size of any intermediate). */
export interface Ref { v: number; mag: number }

/** An elementwise reference: one loss per element. */
export type ElemRef = (yhat: number, y: number) => Ref;
/** A row reference: one loss per row (the last dimension). */
export type RowRef = (yhat: number[], y: number[]) => Ref;

/** Split row-major values into rows of length c. */
export function rows(vals: readonly number[], c: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < vals.length; i += c) out.push(vals.slice(i, i + c));
  return out;
}

/** Per-element references of two tensors of equal shape (read element by element with `get`). */
export function elementwise(ref: ElemRef, yhat: Tensor, y: Tensor): Ref[] {
  const a = valuesOf(yhat), b = valuesOf(y);
  return a.map((v, i) => ref(v, b[i]));
}

/** Per-row references of two tensors of equal shape, rows along the last dimension. */
export function rowwise(ref: RowRef, yhat: Tensor, y: Tensor): Ref[] {
  const c = yhat.shape[yhat.ndim - 1];
  const b = rows(valuesOf(y), c);
  return rows(valuesOf(yhat), c).map((r, i) => ref(r, b[i]));
}

/** Sum and mean of references, with the magnitude of the sum. */
export function aggregateRefs(refs: readonly Ref[]): { sum: Ref; mean: Ref } {
  let s = 0, m = 0, abs = 0;
  for (const r of refs) {
    s += r.v;
    m += r.mag;
    abs += Math.abs(r.v);
  }
  // summing n values adds up to n roundings of the running sum (≤ Σ|v|)
  const mag = m + refs.length * abs;
  return { sum: { v: s, mag }, mean: { v: s / refs.length, mag: mag / refs.length } };
}

/**
 * Each side is a short chain (≤ 16 operations) of correctly rounded or ~1-ulp kernels on
 * intermediates no larger than `mag`: each side is within 16·eps·mag of the exact value,
 * so the two within 32·eps·mag (+ a tiny absolute term for values that are exactly 0).
 */
export function assertRef(actual: number, ref: Ref, what: string): void {
  const tol = 32 * EPS * (ref.mag + Math.abs(ref.v)) + 1e-300;
  if (!(Math.abs(actual - ref.v) <= tol)) assert.unreachable(`${what}: got ${actual}, expected ${ref.v} (tolerance ${tol})`);
}

/** Compare a tensor's values (row-major, read with `get`) against references one by one. */
export function assertRefs(actual: Tensor, refs: readonly Ref[], what: string): void {
  const vals = valuesOf(actual);
  assert.is(vals.length, refs.length, `${what}: number of values`);
  vals.forEach((v, i) => assertRef(v, refs[i], `${what}[${i}]`));
}

/** A batch-first shape [B, C] or [B, T, C] (B, T in 1..3, C in 2..4). */
export const arbLossShape: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 })).map(([b, c]) => [b, c]),
  fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 2, max: 3 })).map(([b, t, c]) => [b, t, c]),
);

/** ŷ and y of one random shape with values in the given domains, in random memory layouts. */
export function arbPair(dHat: Domain, dY: Domain, shape: fc.Arbitrary<number[]> = arbLossShape): fc.Arbitrary<[Tensor, Tensor]> {
  return shape.chain((s) => fc.tuple(arbTensorIn(s, dHat), arbTensorIn(s, dY)));
}

/** ŷ in `dHat` and one-hot targets y along the last dimension. */
export function arbOneHotPair(dHat: Domain, shape: fc.Arbitrary<number[]> = arbLossShape): fc.Arbitrary<[Tensor, Tensor]> {
  return shape.chain((s) => {
    const c = s[s.length - 1], n = s.reduce((p, d) => p * d, 1) / c;
    return fc.tuple(arbTensorIn(s, dHat), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }))
      .map(([x, labels]): [Tensor, Tensor] => {
        const y = new Float64Array(n * c);
        labels.forEach((l, i) => (y[i * c + l] = 1));
        return [x, tensor(y, { shape: s })];
      });
  });
}

/** Float32-representable values in [lo, hi] (so TF.js and fluxion see the same inputs). */
export function arbF32(n: number, lo: number, hi: number): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min: lo, max: hi, noNaN: true }).map(Math.fround), { minLength: n, maxLength: n });
}
