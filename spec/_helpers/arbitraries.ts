/**
 * Shared fast-check arbitraries for the tensor specs: random shapes, broadcast-compatible
 * shape tuples, random value arrays, and tensors laid out in memory in every way an
 * operation can meet them (contiguous, at an offset, transposed, strided/reversed slices,
 * broadcast with stride 0) together with their logical values computed independently.
 */
import fc from 'fast-check';
import type { DType } from '../../src/tensor/dtype.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/convert.js';
import { broadcastTo, permute, reshape, slice } from '../../src/ops/movement.js';
import { broadcastIndex, ravel, sizeOf, unravel } from './reference.js';

// uvu prints an error's message, not its cause: put the failed assertion into fast-check's report
fc.configureGlobal({ ...fc.readConfigureGlobal(), includeErrorInReport: true });

// ---------------------------------------------------------------- shapes

export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  minDim?: number;
  maxDim?: number;
}

/** A random shape: rank 0–4 and dimensions 0–4 by default (so 0-d and size-0 tensors occur). */
export function arbShape(o: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 4, minDim = 0, maxDim = 4 } = o;
  // zero-length dimensions now and then, not in a fifth of all draws
  const dim = minDim === 0 && maxDim > 0
    ? fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 15, arbitrary: fc.integer({ min: 1, max: maxDim }) })
    : fc.integer({ min: minDim, max: maxDim });
  return fc.array(dim, { minLength: minRank, maxLength: maxRank });
}

/**
 * `count` shapes that broadcast together (NumPy rules) and their broadcast result `out`.
 * Each operand drops some leading dimensions of `out` and has some of the rest set to 1.
 */
export function arbBroadcastShapes(count = 2, o: ShapeOptions = {}): fc.Arbitrary<{ shapes: number[][]; out: number[] }> {
  return arbShape(o).chain((out) => {
    const operand = fc
      .record({
        drop: fc.integer({ min: 0, max: out.length }),
        ones: fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
      })
      .map(({ drop, ones }) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
    return fc.tuple(...Array.from({ length: count }, () => operand)).map((shapes) => {
      // the true broadcast result: a dimension of `out` every operand dropped or set to 1 becomes 1
      const res = out.map((d, i) => {
        const covered = shapes.some((s) => {
          const k = i - (out.length - s.length);
          return k >= 0 && s[k] !== 1;
        });
        return covered ? d : 1;
      });
      const rank = Math.max(0, ...shapes.map((s) => s.length));
      return { shapes, out: res.slice(out.length - rank) };
    });
  });
}

// ---------------------------------------------------------------- values

export interface ValueOptions {
  /** Range of finite values; default [-10, 10]. */
  min?: number;
  max?: number;
  /** Round to this dtype (float32 values are exactly representable then). */
  dtype?: DType;
  /** Mix in NaN, ±Infinity, ±0 now and then. */
  special?: boolean;
  /** Small integers only (makes ties and exact results likely). */
  integers?: boolean;
}

/** One random value. */
export function arbValue(o: ValueOptions = {}): fc.Arbitrary<number> {
  const { min = -10, max = 10, dtype = 'float64', special = false, integers = false } = o;
  const finite = integers
    ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
    : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  const v = special
    ? fc.oneof(
        { weight: 8, arbitrary: finite },
        { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0, -0) },
      )
    : finite;
  return dtype === 'float32' ? v.map(Math.fround) : v;
}

/** Exactly `n` random values. */
export function arbValues(n: number, o: ValueOptions = {}): fc.Arbitrary<number[]> {
  return fc.array(arbValue(o), { minLength: n, maxLength: n });
}

// ---------------------------------------------------------------- tensors in every layout

/** How a tensor's elements sit in memory. */
export type Layout = 'contiguous' | 'offset' | 'transposed' | 'sliced' | 'broadcast';
export const LAYOUTS: readonly Layout[] = ['contiguous', 'offset', 'transposed', 'sliced', 'broadcast'];

/** A tensor and, independently, its logical shape, dtype and row-major values. */
export interface TensorCase {
  t: Tensor;
  shape: number[];
  dtype: DType;
  /** Row-major logical values (already rounded to the dtype). */
  values: number[];
  layout: Layout;
}

export interface TensorCaseOptions {
  /** dtype(s) to draw from; default both. */
  dtype?: DType | readonly DType[];
  /** Layouts to draw from; default all. */
  layouts?: readonly Layout[];
  /** Options for the values. */
  values?: Omit<ValueOptions, 'dtype'>;
}

/** A value at storage positions no correct view ever reads. */
const GARBAGE = 12345.5;

interface SliceDim { step: number; pre: number; post: number }
type LayoutParams =
  | { layout: 'contiguous' }
  | { layout: 'offset'; pre: number; post: number }
  | { layout: 'transposed'; perm: number[] }
  | { layout: 'sliced'; dims: SliceDim[] }
  | { layout: 'broadcast'; drop: number; ones: boolean[] };

function arbLayoutParams(shape: readonly number[], layouts: readonly Layout[]): fc.Arbitrary<LayoutParams> {
  const r = shape.length;
  return fc.constantFrom(...layouts).chain((layout): fc.Arbitrary<LayoutParams> => {
    switch (layout) {
      case 'contiguous':
        return fc.constant({ layout });
      case 'offset':
        return fc.record({ layout: fc.constant(layout), pre: fc.integer({ min: 1, max: 3 }), post: fc.integer({ min: 0, max: 3 }) });
      case 'transposed': {
        const ids = Array.from({ length: r }, (_, i) => i);
        return fc.shuffledSubarray(ids, { minLength: r, maxLength: r }).map((perm) => ({ layout, perm }));
      }
      case 'sliced':
        return fc
          .array(
            fc.record({
              step: fc.constantFrom(-3, -2, -1, 1, 2, 3),
              pre: fc.integer({ min: 0, max: 2 }),
              post: fc.integer({ min: 0, max: 2 }),
            }),
            { minLength: r, maxLength: r },
          )
          .map((dims) => ({ layout, dims }));
      case 'broadcast':
        return fc
          .record({
            drop: fc.integer({ min: 0, max: r }),
            ones: fc.array(fc.boolean(), { minLength: r, maxLength: r }),
          })
          .map(({ drop, ones }) => ({ layout, drop, ones }));
    }
  });
}

/** Source shape of a broadcast layout. */
function broadcastSource(shape: readonly number[], p: { drop: number; ones: boolean[] }): number[] {
  return shape.slice(p.drop).map((d, i) => (p.ones[i + p.drop] ? 1 : d));
}

/** Build the tensor for drawn layout parameters and raw values; logical values are computed by index arithmetic. */
function build(shape: number[], dtype: DType, p: LayoutParams, raw: number[]): TensorCase {
  const n = sizeOf(shape);
  const make = (vals: number[], s: number[]) => tensor(dtype === 'float32' ? Float32Array.from(vals) : Float64Array.from(vals), { shape: s });
  switch (p.layout) {
    case 'contiguous':
      return { t: make(raw, shape), shape, dtype, values: raw, layout: p.layout };
    case 'offset': {
      const flat = [...Array(p.pre).fill(GARBAGE), ...raw, ...Array(p.post).fill(GARBAGE)];
      const t = reshape(slice(make(flat, [flat.length]), [[p.pre, p.pre + n]]), shape);
      return { t, shape, dtype, values: raw, layout: p.layout };
    }
    case 'transposed': {
      // permute(base, perm) has shape[i] = base.shape[perm[i]]
      const baseShape = new Array<number>(shape.length);
      p.perm.forEach((b, i) => (baseShape[b] = shape[i]));
      const base = new Array<number>(n);
      for (let j = 0; j < n; j++) {
        const bi = unravel(j, baseShape);
        base[j] = raw[ravel(p.perm.map((b) => bi[b]), shape)];
      }
      return { t: permute(make(base, baseShape), p.perm), shape, dtype, values: raw, layout: p.layout };
    }
    case 'sliced': {
      const baseShape: number[] = [];
      const ranges: [number, number | null, number][] = [];
      const at: ((k: number) => number)[] = [];
      shape.forEach((len, d) => {
        const { step, pre, post } = p.dims[d];
        const a = Math.abs(step);
        if (len === 0) {
          baseShape.push(pre + post + 1);
          ranges.push([pre, pre, 1]);
          at.push(() => 0);
          return;
        }
        const span = (len - 1) * a + 1;
        baseShape.push(pre + span + post);
        if (step > 0) {
          ranges.push([pre, pre + span, step]);
          at.push((k) => pre + k * a);
        } else {
          const start = pre + span - 1;
          ranges.push([start, pre >= 1 ? pre - 1 : null, step]);
          at.push((k) => start - k * a);
        }
      });
      const base = new Array<number>(sizeOf(baseShape)).fill(GARBAGE);
      for (let j = 0; j < n; j++) {
        const idx = unravel(j, shape);
        base[ravel(idx.map((k, d) => at[d](k)), baseShape)] = raw[j];
      }
      return { t: slice(make(base, baseShape), ranges), shape, dtype, values: raw, layout: p.layout };
    }
    case 'broadcast': {
      const src = broadcastSource(shape, p);
      const values = new Array<number>(n);
      for (let j = 0; j < n; j++) values[j] = raw[broadcastIndex(unravel(j, shape), src)];
      return { t: broadcastTo(make(raw, src), shape), shape, dtype, values, layout: p.layout };
    }
  }
}

/** A tensor of the given shape in a random layout and dtype, with its logical values. */
export function arbTensorCase(shape: readonly number[], o: TensorCaseOptions = {}): fc.Arbitrary<TensorCase> {
  const dtypes: readonly DType[] = o.dtype === undefined ? ['float64', 'float32'] : typeof o.dtype === 'string' ? [o.dtype] : o.dtype;
  const s = shape.slice();
  return fc
    .tuple(fc.constantFrom(...dtypes), arbLayoutParams(s, o.layouts ?? LAYOUTS))
    .chain(([dtype, p]) => {
      const rawCount = p.layout === 'broadcast' ? sizeOf(broadcastSource(s, p)) : sizeOf(s);
      return arbValues(rawCount, { ...o.values, dtype }).map((raw) => build(s, dtype, p, raw));
    });
}

/** A tensor of a random shape (see {@link arbShape}) in a random layout. */
export function arbTensor(shape: ShapeOptions = {}, o: TensorCaseOptions = {}): fc.Arbitrary<TensorCase> {
  return arbShape(shape).chain((s) => arbTensorCase(s, o));
}

/** `count` tensors whose shapes broadcast together, and the broadcast shape. */
export function arbBroadcastTensors(
  count: number,
  shape: ShapeOptions = {},
  o: TensorCaseOptions = {},
): fc.Arbitrary<{ cases: TensorCase[]; out: number[] }> {
  return arbBroadcastShapes(count, shape).chain(({ shapes, out }) =>
    fc.tuple(...shapes.map((s) => arbTensorCase(s, o))).map((cases) => ({ cases, out })),
  );
}

/** Deterministic pseudo-random values in [-1, 1) from a seed (mulberry32), for large inputs. */
export function seededValues(n: number, seed: number, dtype: DType = 'float64'): Float32Array | Float64Array {
  let s = seed >>> 0;
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    a[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return a;
}
