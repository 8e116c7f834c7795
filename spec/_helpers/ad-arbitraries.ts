/**
 * fast-check arbitraries for the derivative-rule specs (spec/rules/): values inside an
 * operation's domain and a margin away from its kinks, small random shapes, and float64
 * tensors laid out in memory in several ways (contiguous, transposed, strided with negative
 * and >1 steps, at an offset, broadcast with stride 0). Storage no correct view reads holds
 * NaN, so a wrong read shows up as a NaN derivative.
 */
import fc from 'fast-check';
import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/convert.js';
import { broadcastTo, permute, reshape, slice } from '../../src/ops/movement.js';
import { arbBroadcastShapes } from './arbitraries.js';

// ---------------------------------------------------------------- values

/** An interval of values, minus a margin around each kink. */
export interface Domain {
  min: number;
  max: number;
  /** Points where the function is not smooth (or not defined), to stay `margin` away from. */
  kinks?: readonly number[];
  margin?: number;
}

export const REAL: Domain = { min: -3, max: 3 };
/** Non-zero reals, at least 0.1 from 0 (abs, sign, relu, divisors). */
export const NONZERO: Domain = { min: -3, max: 3, kinks: [0], margin: 0.1 };
/** Positive reals away from 0 (log, sqrt, pow bases). */
export const POSITIVE: Domain = { min: 0.1, max: 4 };

/** The sub-intervals of a domain once the margins around its kinks are removed. */
function pieces(d: Domain): [number, number][] {
  let out: [number, number][] = [[d.min, d.max]];
  const m = d.margin ?? 0;
  for (const k of d.kinks ?? []) {
    out = out.flatMap(([a, b]): [number, number][] => {
      if (k + m <= a || k - m >= b) return [[a, b]];
      const r: [number, number][] = [];
      if (k - m > a) r.push([a, k - m]);
      if (k + m < b) r.push([k + m, b]);
      return r;
    });
  }
  return out;
}

/** One value in the domain (uniform over the allowed pieces, with fast-check's bias to their ends). */
export function arbIn(d: Domain): fc.Arbitrary<number> {
  const ps = pieces(d);
  const total = ps.reduce((s, [a, b]) => s + (b - a), 0);
  return fc.double({ min: 0, max: total, noNaN: true }).map((t) => {
    for (const [a, b] of ps) {
      if (t <= b - a) return a + t;
      t -= b - a;
    }
    return ps[ps.length - 1][1];
  });
}

/** n values in the domain. */
export function arbValuesIn(n: number, d: Domain): fc.Arbitrary<number[]> {
  return fc.array(arbIn(d), { minLength: n, maxLength: n });
}

/**
 * n values at least `gap` apart (a shuffled ladder with jitter below gap/4), so maxima and
 * minima are unique and stay unique within ±8h.
 */
export function arbDistinct(n: number, gap = 0.5): fc.Arbitrary<number[]> {
  const ids = Array.from({ length: n }, (_, i) => i);
  return fc
    .tuple(fc.shuffledSubarray(ids, { minLength: n, maxLength: n }), fc.array(fc.double({ min: 0, max: gap / 4, noNaN: true }), { minLength: n, maxLength: n }))
    .map(([perm, jit]) => perm.map((p, i) => (p - n / 2) * gap + jit[i]));
}

/** A seed for the random cotangents and directions of one gradient check. */
export const arbSeed = fc.integer({ min: 0, max: 0x7fffffff });

// ---------------------------------------------------------------- shapes

export interface ShapeOpts {
  minRank?: number;
  maxRank?: number;
  maxDim?: number;
  /** Allow zero-length dimensions now and then. */
  empty?: boolean;
}

/** A small shape (rank 0–3, dims 1–3 by default). */
export function arbSmallShape(o: ShapeOpts = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 3, maxDim = 3, empty = false } = o;
  const dim = empty
    ? fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 12, arbitrary: fc.integer({ min: 1, max: maxDim }) })
    : fc.integer({ min: 1, max: maxDim });
  return fc.array(dim, { minLength: minRank, maxLength: maxRank });
}

/** `count` shapes broadcasting together (dims 1–3, rank ≤ 3), and their broadcast shape. */
export function arbBroadcast(count: number, maxRank = 3): fc.Arbitrary<{ shapes: number[][]; out: number[] }> {
  return arbBroadcastShapes(count, { minRank: 0, maxRank, minDim: 1, maxDim: 3 });
}

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: readonly number[]): number {
  let p = 0;
  for (let d = 0; d < shape.length; d++) p = p * shape[d] + idx[d];
  return p;
}

// ---------------------------------------------------------------- tensors in several layouts

export type Layout = 'contiguous' | 'transposed' | 'strided' | 'offset' | 'broadcast';
export const ALL_LAYOUTS: readonly Layout[] = ['contiguous', 'transposed', 'strided', 'offset', 'broadcast'];

type LayoutPlan =
  | { layout: 'contiguous' }
  | { layout: 'transposed'; perm: number[] }
  | { layout: 'strided'; steps: number[]; pre: number[] }
  | { layout: 'offset'; pre: number }
  | { layout: 'broadcast'; drop: number; ones: boolean[] };

function arbPlan(shape: readonly number[], layouts: readonly Layout[]): fc.Arbitrary<LayoutPlan> {
  const r = shape.length;
  return fc.constantFrom(...layouts).chain((layout): fc.Arbitrary<LayoutPlan> => {
    switch (layout) {
      case 'contiguous':
        return fc.constant({ layout });
      case 'transposed':
        return fc.shuffledSubarray(Array.from({ length: r }, (_, i) => i), { minLength: r, maxLength: r }).map((perm) => ({ layout, perm }));
      case 'strided':
        return fc.record({
          layout: fc.constant(layout),
          steps: fc.array(fc.constantFrom(-2, -1, 1, 2), { minLength: r, maxLength: r }),
          pre: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: r, maxLength: r }),
        });
      case 'offset':
        return fc.record({ layout: fc.constant(layout), pre: fc.integer({ min: 1, max: 3 }) });
      case 'broadcast':
        return fc.record({
          layout: fc.constant(layout),
          drop: fc.integer({ min: 0, max: r }),
          ones: fc.array(fc.boolean(), { minLength: r, maxLength: r }),
        });
    }
  });
}

const source = (shape: readonly number[], p: { drop: number; ones: boolean[] }): number[] =>
  shape.slice(p.drop).map((d, i) => (p.ones[i + p.drop] ? 1 : d));

const f64 = (vals: readonly number[], shape: readonly number[]): Tensor => tensor(Float64Array.from(vals), { shape: shape.slice() });

/** Build the tensor of logical row-major values `vals` (of the plan's source shape) in the planned layout. */
function build(shape: number[], plan: LayoutPlan, vals: number[]): Tensor {
  const n = sizeOf(shape);
  if (n === 0 && plan.layout !== 'broadcast') return f64(vals, shape);
  switch (plan.layout) {
    case 'contiguous':
      return f64(vals, shape);
    case 'transposed': {
      // permute(base, perm)[i…] = base[…]: base.shape[perm[i]] = shape[i]
      const baseShape = new Array<number>(shape.length);
      plan.perm.forEach((b, i) => (baseShape[b] = shape[i]));
      const base = new Array<number>(n);
      for (let j = 0; j < n; j++) {
        const bi = unravel(j, baseShape);
        base[j] = vals[ravel(plan.perm.map((b) => bi[b]), shape)];
      }
      return permute(f64(base, baseShape), plan.perm);
    }
    case 'strided': {
      const baseShape = shape.map((len, d) => plan.pre[d] + Math.max(1, (len - 1) * Math.abs(plan.steps[d]) + 1) + 1);
      const base = new Array<number>(sizeOf(baseShape)).fill(NaN);
      const pos = (k: number, d: number) => {
        const st = plan.steps[d], len = shape[d];
        return st > 0 ? plan.pre[d] + k * st : plan.pre[d] + (len - 1) * -st + k * st;
      };
      for (let j = 0; j < n; j++) base[ravel(unravel(j, shape).map(pos), baseShape)] = vals[j];
      const ranges = shape.map((len, d): [number, number | null, number] => {
        const st = plan.steps[d];
        const first = pos(0, d);
        if (st > 0) return [first, first + (len - 1) * st + 1, st];
        const stop = first + (len - 1) * st - 1;
        return [first, stop < 0 ? null : stop, st];
      });
      return slice(f64(base, baseShape), ranges);
    }
    case 'offset': {
      const flatVals = [...Array(plan.pre).fill(NaN), ...vals, NaN];
      return reshape(slice(f64(flatVals, [flatVals.length]), [[plan.pre, plan.pre + n]]), shape);
    }
    case 'broadcast':
      return broadcastTo(f64(vals, source(shape, plan)), shape);
  }
}

/** A float64 tensor of the given shape with values in `d`, in a random layout. */
export function arbTensorIn(shape: readonly number[], d: Domain = REAL, layouts: readonly Layout[] = ALL_LAYOUTS): fc.Arbitrary<Tensor> {
  return arbTensorFrom(shape, (n) => arbValuesIn(n, d), layouts);
}

/** A float64 tensor of the given shape whose (source) values come from `vals(n)`, in a random layout. */
export function arbTensorFrom(shape: readonly number[], vals: (n: number) => fc.Arbitrary<number[]>, layouts: readonly Layout[] = ALL_LAYOUTS): fc.Arbitrary<Tensor> {
  const s = shape.slice();
  return arbPlan(s, layouts).chain((plan) => {
    const count = plan.layout === 'broadcast' ? sizeOf(source(s, plan)) : sizeOf(s);
    return vals(count).map((v) => build(s, plan, v));
  });
}

/** A tensor of a random small shape with values in `d`. */
export function arbTensorShaped(d: Domain = REAL, o: ShapeOpts = {}, layouts: readonly Layout[] = ALL_LAYOUTS): fc.Arbitrary<Tensor> {
  return arbSmallShape(o).chain((s) => arbTensorIn(s, d, layouts));
}

/** Logical row-major values of a tensor, read element by element with `get` (independent of its `data`). */
export function valuesOf(t: Tensor): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.size; i++) out.push(t.get(...unravel(i, t.shape)));
  return out;
}
