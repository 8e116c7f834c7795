/** CPU kernels for elementwise primitives: tight typed-array loops over collapsed rows. */
import { type DType, type FloatArray, allocate, dtypeOf, promote } from '../../tensor/dtype.js';
import { broadcastShapes, sameShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../../ops/primitive.js';
import { broadcastStrides, forEachRow, rowMajor } from './strided.js';
import { erf } from './special.js';
import { tryBinary, tryUnary } from './vector.js';
import { tensorOf } from './ndview.js';

function unaryRow(op: UnaryOp, n: number, x: FloatArray, xi: number, sx: number, o: FloatArray, oi: number): void {
  const end = oi + n;
  switch (op) {
    case 'neg': for (; oi < end; oi++, xi += sx) o[oi] = -x[xi]; break;
    case 'exp': for (; oi < end; oi++, xi += sx) o[oi] = Math.exp(x[xi]); break;
    case 'expm1': for (; oi < end; oi++, xi += sx) o[oi] = Math.expm1(x[xi]); break;
    case 'log': for (; oi < end; oi++, xi += sx) o[oi] = Math.log(x[xi]); break;
    case 'log1p': for (; oi < end; oi++, xi += sx) o[oi] = Math.log1p(x[xi]); break;
    case 'sqrt': for (; oi < end; oi++, xi += sx) o[oi] = Math.sqrt(x[xi]); break;
    case 'abs': for (; oi < end; oi++, xi += sx) o[oi] = Math.abs(x[xi]); break;
    case 'sign': for (; oi < end; oi++, xi += sx) o[oi] = Math.sign(x[xi]); break;
    case 'sin': for (; oi < end; oi++, xi += sx) o[oi] = Math.sin(x[xi]); break;
    case 'cos': for (; oi < end; oi++, xi += sx) o[oi] = Math.cos(x[xi]); break;
    case 'tan': for (; oi < end; oi++, xi += sx) o[oi] = Math.tan(x[xi]); break;
    case 'asin': for (; oi < end; oi++, xi += sx) o[oi] = Math.asin(x[xi]); break;
    case 'acos': for (; oi < end; oi++, xi += sx) o[oi] = Math.acos(x[xi]); break;
    case 'atan': for (; oi < end; oi++, xi += sx) o[oi] = Math.atan(x[xi]); break;
    case 'sinh': for (; oi < end; oi++, xi += sx) o[oi] = Math.sinh(x[xi]); break;
    case 'cosh': for (; oi < end; oi++, xi += sx) o[oi] = Math.cosh(x[xi]); break;
    case 'tanh': for (; oi < end; oi++, xi += sx) o[oi] = Math.tanh(x[xi]); break;
    case 'sigmoid':
      for (; oi < end; oi++, xi += sx) {
        const v = x[xi];
        // split by sign so exp never overflows
        if (v >= 0) o[oi] = 1 / (1 + Math.exp(-v));
        else { const e = Math.exp(v); o[oi] = e / (1 + e); }
      }
      break;
    // `v < 0 ? 0 : v` keeps NaN as NaN (a NaN input must not be hidden as 0)
    case 'relu': for (; oi < end; oi++, xi += sx) { const v = x[xi]; o[oi] = v < 0 ? 0 : v; } break;
    case 'erf': for (; oi < end; oi++, xi += sx) o[oi] = erf(x[xi]); break;
    default: throw new Error(`unary kernel: unknown op ${op as string}`);
  }
}

/** Scalar version of each unary primitive, for plain-number arguments. */
export const unaryScalar: { [P in UnaryOp]: (x: number) => number } = {
  neg: (x) => -x, exp: Math.exp, expm1: Math.expm1, log: Math.log, log1p: Math.log1p, sqrt: Math.sqrt,
  abs: Math.abs, sign: Math.sign, sin: Math.sin, cos: Math.cos, tan: Math.tan, asin: Math.asin,
  acos: Math.acos, atan: Math.atan, sinh: Math.sinh, cosh: Math.cosh, tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => (x < 0 ? 0 : x), erf,
};

/** Floored modulo (sign of the divisor), as NumPy's `mod` and Julia's `mod`. Exact: `%` is exact. */
export function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

function binaryRow(
  op: BinaryOp | CompareOp, n: number,
  a: FloatArray, ai: number, sa: number, b: FloatArray, bi: number, sb: number, o: FloatArray, oi: number,
): void {
  const end = oi + n;
  switch (op) {
    case 'add': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] + b[bi]; break;
    case 'sub': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] - b[bi]; break;
    case 'mul': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] * b[bi]; break;
    case 'div': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] / b[bi]; break;
    case 'pow': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] ** b[bi]; break;
    case 'maximum': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = Math.max(a[ai], b[bi]); break;
    case 'minimum': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = Math.min(a[ai], b[bi]); break;
    case 'atan2': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = Math.atan2(a[ai], b[bi]); break;
    case 'mod': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = floorMod(a[ai], b[bi]); break;
    case 'gt': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] > b[bi] ? 1 : 0; break;
    case 'ge': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] >= b[bi] ? 1 : 0; break;
    case 'lt': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] < b[bi] ? 1 : 0; break;
    case 'le': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] <= b[bi] ? 1 : 0; break;
    case 'eq': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] === b[bi] ? 1 : 0; break;
    case 'ne': for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai] !== b[bi] ? 1 : 0; break;
    default: throw new Error(`binary kernel: unknown op ${op as string}`);
  }
}

/** Scalar version of each binary primitive, for plain-number arguments. */
export const binaryScalar: { [P in BinaryOp | CompareOp]: (a: number, b: number) => number } = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b, pow: (a, b) => a ** b,
  maximum: Math.max, minimum: Math.min, atan2: Math.atan2, mod: floorMod,
  gt: (a, b) => (a > b ? 1 : 0), ge: (a, b) => (a >= b ? 1 : 0), lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0), eq: (a, b) => (a === b ? 1 : 0), ne: (a, b) => (a !== b ? 1 : 0),
};

/** A fresh row-major output tensor over `data` (the shape array is the tensor's own). */
const outTensor = (data: FloatArray, shape: readonly number[]): Tensor => tensorOf(data, shape);

/**
 * Unit-stride layout of a tensor with default (row-major) strides, or −1. Cheaper than
 * `isContiguous` for the common case, which every small op asks about.
 */
function denseOffset(t: Tensor): number {
  const nd = t.nd, st = nd.stride, sh = nd.shape;
  let expected = 1;
  for (let i = sh.length - 1; i >= 0; i--) {
    const n = sh[i]!;
    if (n !== 1 && st[i] !== expected) return -1;
    expected *= n;
  }
  return nd.offset;
}

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const nd = x.nd, n = x.size;
  const o = allocate(x.dtype, n);
  const xo = denseOffset(x);
  if (xo >= 0) {
    if (!tryUnary(op, nd.data, xo, o, 0, n)) unaryRow(op, n, nd.data, xo, 1, o, 0);
  }
  else forEachRow(x.shape, [rowMajor(x.shape), nd.stride], [0, nd.offset], (len, [oi, xi], [, sx]) => unaryRow(op, len, nd.data, xi, sx, o, oi));
  return outTensor(o, x.shape.slice());
}

/**
 * Does `small` broadcast against `big` only along leading and trailing blocks — its shape
 * (right-aligned) 1s, then `big`'s own dimensions, then 1s? Then with `big` read as
 * `[outer, kept, inner]` blocks, element (r, k, i) pairs with small's element k: a bias row
 * (`inner` 1, `[B, F] + [F]`) or a per-channel bias (`[N, C, H, W] + [C, 1, 1]`, inner H·W).
 * Returns `[outer, kept, inner]`, or null.
 */
function blockBroadcast(big: readonly number[], small: readonly number[]): [number, number, number] | null {
  if (small.length > big.length) return null;
  const lead = big.length - small.length;
  let d = small.length - 1, inner = 1, kept = 1, outer = 1;
  for (; d >= 0 && small[d] === 1; d--) inner *= big[lead + d]!;
  for (; d >= 0 && small[d] !== 1; d--) {
    if (small[d] !== big[lead + d]) return null;
    kept *= small[d]!;
  }
  for (; d >= 0; d--) {
    if (small[d] !== 1) return null;
    outer *= big[lead + d]!;
  }
  for (let i = 0; i < lead; i++) outer *= big[i]!;
  return [outer, kept, inner];
}

/** Elements of the expanded small operand in {@link blockRows}: enough to amortise a SIMD call. */
const EXPANDED_TARGET = 1 << 16;

/**
 * Tuning of the per-channel broadcast path. Mutable so specs can reach both branches;
 * results never depend on it.
 * @internal
 */
export const blockTuning = {
  /** Longest period (kept·inner elements) that is expanded; longer ones go row by row (their rows are long). */
  expandedMax: 1 << 20,
};

/**
 * o = a op b over `[outer, kept, inner]` blocks of the big operand, the small one (`a` when
 * `aSmall`) read at index k. The small operand is laid out over one period (kept·inner
 * elements) of the big one and repeated to ~64K elements, so the op runs as a few long
 * dense calls: one SIMD call per row of `inner` cost ~2 µs each, 5 ms for the 2,048 rows of
 * a [64, 32, 26, 26] + [32, 1, 1] bias against ~1.5 ms for a dense op of that size.
 */
function blockRows(
  op: BinaryOp | CompareOp, outer: number, kept: number, inner: number, aSmall: boolean,
  a: FloatArray, ao: number, b: FloatArray, bo: number, o: FloatArray,
): void {
  const period = kept * inner, total = outer * period;
  const small = aSmall ? a : b, so = aSmall ? ao : bo;
  if (period > blockTuning.expandedMax) {
    for (let oi = 0; oi < total; oi += inner) {
      const k = so + (oi / inner) % kept;
      if (aSmall) {
        if (!(inner >= 256 && tryBinary(op, a, k, 0, b, bo + oi, 1, o, oi, inner))) binaryRow(op, inner, a, k, 0, b, bo + oi, 1, o, oi);
      } else if (!(inner >= 256 && tryBinary(op, a, ao + oi, 1, b, k, 0, o, oi, inner))) binaryRow(op, inner, a, ao + oi, 1, b, k, 0, o, oi);
    }
    return;
  }
  const reps = Math.max(1, Math.min(outer, Math.floor(EXPANDED_TARGET / period)));
  const block = reps * period;
  const ex = allocate(dtypeOf(small), block);
  if (inner === 1) ex.set(small.subarray(so, so + kept));
  else for (let k = 0; k < kept; k++) ex.fill(small[so + k]!, k * inner, (k + 1) * inner);
  for (let r = 1; r < reps; r++) ex.copyWithin(r * period, 0, period);
  for (let oi = 0; oi < total; oi += block) {
    const n = Math.min(block, total - oi);
    if (aSmall) {
      if (!tryBinary(op, ex, 0, 1, b, bo + oi, 1, o, oi, n)) binaryRow(op, n, ex, 0, 1, b, bo + oi, 1, o, oi);
    } else if (!tryBinary(op, a, ao + oi, 1, ex, 0, 1, o, oi, n)) binaryRow(op, n, a, ao + oi, 1, ex, 0, 1, o, oi);
  }
}

export function binary(op: BinaryOp | CompareOp, a: Tensor, b: Tensor): Tensor {
  const na = a.nd, nb = b.nd;
  const dtype = a.dtype === b.dtype ? a.dtype : promote(a.dtype, b.dtype);
  // fast paths for dense operands: same shape, one scalar, or one repeated whole (a bias row)
  const ao = denseOffset(a), bo = ao < 0 ? -1 : denseOffset(b);
  if (bo >= 0) {
    const as = a.shape, bs = b.shape;
    if (sameShape(as, bs)) {
      const o = allocate(dtype, a.size);
      if (!tryBinary(op, na.data, ao, 1, nb.data, bo, 1, o, 0, a.size)) binaryRow(op, a.size, na.data, ao, 1, nb.data, bo, 1, o, 0);
      return outTensor(o, as.slice());
    }
    if (b.size === 1 && a.ndim >= b.ndim) {
      const o = allocate(dtype, a.size);
      if (!tryBinary(op, na.data, ao, 1, nb.data, bo, 0, o, 0, a.size)) binaryRow(op, a.size, na.data, ao, 1, nb.data, bo, 0, o, 0);
      return outTensor(o, as.slice());
    }
    if (a.size === 1 && b.ndim >= a.ndim) {
      const o = allocate(dtype, b.size);
      if (!tryBinary(op, na.data, ao, 0, nb.data, bo, 1, o, 0, b.size)) binaryRow(op, b.size, na.data, ao, 0, nb.data, bo, 1, o, 0);
      return outTensor(o, bs.slice());
    }
    // one operand constant along leading and trailing blocks of the other: a bias row or a per-channel bias
    const bBlocks = b.size > 0 ? blockBroadcast(as, bs) : null;
    if (bBlocks !== null) {
      const o = allocate(dtype, a.size);
      blockRows(op, bBlocks[0], bBlocks[1], bBlocks[2], false, na.data, ao, nb.data, bo, o);
      return outTensor(o, as.slice());
    }
    const aBlocks = a.size > 0 ? blockBroadcast(bs, as) : null;
    if (aBlocks !== null) {
      const o = allocate(dtype, b.size);
      blockRows(op, aBlocks[0], aBlocks[1], aBlocks[2], true, na.data, ao, nb.data, bo, o);
      return outTensor(o, bs.slice());
    }
  }
  const shape = broadcastShapes(op, a.shape, b.shape);
  let size = 1;
  for (const d of shape) size *= d;
  const o = allocate(dtype, size);
  forEachRow(shape, [rowMajor(shape), broadcastStrides(a, shape), broadcastStrides(b, shape)], [0, na.offset, nb.offset],
    (n, [oi, ai, bi], [, sa, sb]) => {
      // long rows of a broadcast (bias rows, per-row scales) can still take the SIMD kernel
      if ((sa === 0 || sa === 1) && (sb === 0 || sb === 1) && tryBinary(op, na.data, ai, sa, nb.data, bi, sb, o, oi, n)) return;
      binaryRow(op, n, na.data, ai, sa, nb.data, bi, sb, o, oi);
    });
  return outTensor(o, shape);
}

export function where(c: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes('where', broadcastShapes('where', c.shape, a.shape), b.shape);
  let size = 1;
  for (const d of shape) size *= d;
  const o = allocate(promote(a.dtype, b.dtype), size), out = outTensor(o, shape);
  const nc = c.nd, na = a.nd, nb = b.nd;
  const cd = nc.data, ad = na.data, bd = nb.data;
  forEachRow(shape, [rowMajor(shape), broadcastStrides(c, shape), broadcastStrides(a, shape), broadcastStrides(b, shape)],
    [0, nc.offset, na.offset, nb.offset], (n, [oi, ci, ai, bi], [, sc, sa, sb]) => {
      for (let i = 0; i < n; i++, ci += sc, ai += sa, bi += sb) o[oi + i] = cd[ci] !== 0 ? ad[ai] : bd[bi];
    });
  return out;
}

export function cast(x: Tensor, dtype: DType): Tensor {
  const nd = x.nd;
  const o = allocate(dtype, x.size), out = outTensor(o, x.shape.slice());
  forEachRow(x.shape, [rowMajor(x.shape), nd.stride], [0, nd.offset], (n, [oi, xi], [, sx]) => {
    const src = nd.data;
    for (let i = 0; i < n; i++, xi += sx) o[oi + i] = src[xi];
  });
  return out;
}
