/** CPU kernels for elementwise primitives: tight typed-array loops over collapsed rows. */
import { type DType, type FloatArray, allocate, promote } from '../../tensor/dtype.js';
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

function output(dtype: DType, shape: readonly number[], size: number): [FloatArray, Tensor] {
  const data = allocate(dtype, size);
  return [data, tensorOf(data, shape)];
}

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const nd = x.nd;
  const [o, out] = output(x.dtype, x.shape.slice(), x.size);
  if (x.isContiguous) {
    if (!tryUnary(op, nd.data, nd.offset, o, 0, x.size)) unaryRow(op, x.size, nd.data, nd.offset, 1, o, 0);
  }
  else forEachRow(x.shape, [rowMajor(x.shape), nd.stride], [0, nd.offset], (n, [oi, xi], [, sx]) => unaryRow(op, n, nd.data, xi, sx, o, oi));
  return out;
}

export function binary(op: BinaryOp | CompareOp, a: Tensor, b: Tensor): Tensor {
  const na = a.nd, nb = b.nd;
  const dtype = promote(a.dtype, b.dtype);
  // fast paths: same-shape contiguous operands, or one scalar
  if (a.isContiguous && b.isContiguous) {
    if (sameShape(a.shape, b.shape)) {
      const [o, out] = output(dtype, a.shape.slice(), a.size);
      if (!tryBinary(op, na.data, na.offset, 1, nb.data, nb.offset, 1, o, 0, a.size)) {
        binaryRow(op, a.size, na.data, na.offset, 1, nb.data, nb.offset, 1, o, 0);
      }
      return out;
    }
    if (b.size === 1 && a.ndim >= b.ndim) {
      const [o, out] = output(dtype, a.shape.slice(), a.size);
      if (!tryBinary(op, na.data, na.offset, 1, nb.data, nb.offset, 0, o, 0, a.size)) {
        binaryRow(op, a.size, na.data, na.offset, 1, nb.data, nb.offset, 0, o, 0);
      }
      return out;
    }
    if (a.size === 1 && b.ndim >= a.ndim) {
      const [o, out] = output(dtype, b.shape.slice(), b.size);
      if (!tryBinary(op, na.data, na.offset, 0, nb.data, nb.offset, 1, o, 0, b.size)) {
        binaryRow(op, b.size, na.data, na.offset, 0, nb.data, nb.offset, 1, o, 0);
      }
      return out;
    }
  }
  const shape = broadcastShapes(op, a.shape, b.shape);
  let size = 1;
  for (const d of shape) size *= d;
  const [o, out] = output(dtype, shape, size);
  forEachRow(shape, [rowMajor(shape), broadcastStrides(a, shape), broadcastStrides(b, shape)], [0, na.offset, nb.offset],
    (n, [oi, ai, bi], [, sa, sb]) => {
      // long rows of a broadcast (bias rows, per-row scales) can still take the SIMD kernel
      if ((sa === 0 || sa === 1) && (sb === 0 || sb === 1) && tryBinary(op, na.data, ai, sa, nb.data, bi, sb, o, oi, n)) return;
      binaryRow(op, n, na.data, ai, sa, nb.data, bi, sb, o, oi);
    });
  return out;
}

export function where(c: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes('where', broadcastShapes('where', c.shape, a.shape), b.shape);
  let size = 1;
  for (const d of shape) size *= d;
  const [o, out] = output(promote(a.dtype, b.dtype), shape, size);
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
  const [o, out] = output(dtype, x.shape.slice(), x.size);
  forEachRow(x.shape, [rowMajor(x.shape), nd.stride], [0, nd.offset], (n, [oi, xi], [, sx]) => {
    const src = nd.data;
    for (let i = 0; i < n; i++, xi += sx) o[oi + i] = src[xi];
  });
  return out;
}
