/**
 * Independent reference machinery for the tensor specs: index arithmetic, naive
 * broadcasting, and closeness assertions. Nothing here calls the code under test
 * except to read results out of a Tensor.
 */
import * as assert from 'uvu/assert';
import { Tensor } from '../../src/tensor/tensor.js';

/** Machine epsilon of each dtype (unit roundoff is half of it). */
export const EPS = { float32: 2 ** -23, float64: 2 ** -52 } as const;

/** Smallest subnormal of each dtype: the absolute error one underflowing operation may add. */
export const TINY = { float32: 2 ** -149, float64: 2 ** -1074 } as const;

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Multi-index of flat row-major position `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** Flat row-major position of a multi-index in `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let p = 0;
  for (let d = 0; d < shape.length; d++) p = p * shape[d] + idx[d];
  return p;
}

/** NumPy's broadcast of several shapes, or null if they do not broadcast. */
export function broadcastShape(...shapes: (readonly number[])[]): number[] | null {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = i - (n - s.length);
      const v = k < 0 ? 1 : s[k];
      if (v === 1) continue;
      if (d !== 1 && d !== v) return null;
      d = v;
    }
    out.push(d);
  }
  return out;
}

/** Flat position in an operand of shape `src` of output multi-index `idx` (right-aligned broadcasting). */
export function broadcastIndex(idx: readonly number[], src: readonly number[]): number {
  const off = idx.length - src.length;
  let p = 0;
  for (let d = 0; d < src.length; d++) p = p * src[d] + (src[d] === 1 ? 0 : idx[d + off]);
  return p;
}

/** Naive elementwise map over broadcast operands (values given row-major). */
export function refBroadcast(
  operands: { shape: readonly number[]; values: readonly number[] }[],
  f: (...xs: number[]) => number,
): { shape: number[]; values: number[] } {
  const shape = broadcastShape(...operands.map((o) => o.shape));
  if (shape === null) throw new Error('refBroadcast: shapes do not broadcast');
  const n = sizeOf(shape);
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    values[i] = f(...operands.map((o) => o.values[broadcastIndex(idx, o.shape)]));
  }
  return { shape, values };
}

/** Read a tensor's values by walking `get` over every multi-index (independent of `data`). */
export function valuesByGet(t: Tensor): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.size; i++) out.push(t.get(...unravel(i, t.shape)));
  return out;
}

/** Equality that treats NaN as equal to NaN and distinguishes nothing else (0 === -0). */
export function sameNumber(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/**
 * Assert `actual` equals `expected` elementwise within `tol(i)` (absolute). NaN must meet NaN,
 * an infinity must meet the same infinity.
 */
export function assertValues(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number | ((i: number) => number),
  what: string,
): void {
  assert.is(actual.length, expected.length, `${what}: number of values`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (sameNumber(a, e)) continue;
    const t = typeof tol === 'number' ? tol : tol(i);
    if (!Number.isFinite(e) || !Number.isFinite(a) || !(Math.abs(a - e) <= t)) {
      assert.unreachable(`${what}[${i}]: got ${a}, expected ${e} (tolerance ${t})`);
    }
  }
}

/** Relative-plus-absolute tolerance helper: |a − e| ≤ rtol·|e| + atol. */
export function relTol(expected: ArrayLike<number>, rtol: number, atol = 0): (i: number) => number {
  return (i) => rtol * Math.abs(expected[i]) + atol;
}

/** Assert shape, dtype and values of a tensor. */
export function assertTensor(
  t: unknown,
  expected: { shape: readonly number[]; values: ArrayLike<number>; dtype?: 'float32' | 'float64' },
  tol: number | ((i: number) => number),
  what: string,
): asserts t is Tensor {
  assert.instance(t, Tensor, `${what}: a Tensor`);
  const x = t as Tensor;
  assert.equal([...x.shape], [...expected.shape], `${what}: shape`);
  if (expected.dtype) assert.is(x.dtype, expected.dtype, `${what}: dtype`);
  assertValues(x.data, expected.values, tol, what);
}

/** Assert that `f` throws an error of class `cls` whose message contains every fragment. */
export function assertThrows(f: () => unknown, cls: new (...a: never[]) => Error, fragments: readonly (string | RegExp)[], what: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  if (err === undefined) assert.unreachable(`${what}: expected an error, nothing was thrown`);
  assert.instance(err, cls, `${what}: error class (got ${(err as Error)?.name}: ${(err as Error)?.message})`);
  const msg = (err as Error).message;
  for (const frag of fragments) {
    const ok = typeof frag === 'string' ? msg.includes(frag) : frag.test(msg);
    if (!ok) assert.unreachable(`${what}: message ${JSON.stringify(msg)} lacks ${String(frag)}`);
  }
}

/** Round a value to the dtype (identity for float64). */
export function roundTo(dtype: 'float32' | 'float64', v: number): number {
  return dtype === 'float32' ? Math.fround(v) : v;
}

/** Nested JS arrays of a row-major value list (a number for shape []). */
export function nest(values: readonly number[], shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  let pos = 0;
  const build = (d: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? values[pos++] : build(d + 1));
    return out;
  };
  return build(0);
}

/** `n` float32 values in [−1, 1) from a seeded linear congruential generator (kernel specs' inputs). */
export function lcgFloat32(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}
