/** Linear algebra: matrix products. Conventions: a matrix W of shape [out, in] maps x of shape [in] by matmul(W, x). */
import { bind } from '../backend/index.js';
import { type TensorLike, strongDType, toTensor } from '../tensor/convert.js';
import { ShapeError, shapeStr } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { mul } from './elementwise.js';
import { reshape, squeeze, unsqueeze } from './movement.js';

const NONE = {} as Record<string, never>;

/**
 * Matrix product with NumPy's rules: 2-d × 2-d is the matrix product; a 1-d left operand is a
 * row vector and a 1-d right operand a column vector (the added dimension is removed again);
 * leading dimensions are batch dimensions and broadcast.
 * ```ts
 * matmul(W, x)        // [out, in] × [in] → [out]
 * matmul(X, W.T)      // [batch, in] × [in, out] → [batch, out]
 * ```
 */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  const dt = strongDType(a, b);
  let x = toTensor(a, 'matmul', dt);
  let y = toTensor(b, 'matmul', dt);
  if (x.ndim === 0 || y.ndim === 0) {
    throw new ShapeError(`matmul: operands must have at least 1 dimension, got ${shapeStr(x.shape)} × ${shapeStr(y.shape)}`);
  }
  const xs = x.shape, ys = y.shape;
  if (xs.length === 2 && ys.length === 2) {
    // matrix × matrix, the common case: no batch dimensions to check, nothing to add or remove
    if (xs[1] !== ys[0]) throw new ShapeError(`matmul: inner dimensions differ: ${shapeStr(xs)} × ${shapeStr(ys)}`);
    return bind('matmul', [x, y], NONE);
  }
  const k1 = xs[xs.length - 1];
  const k2 = ys.length === 1 ? ys[0] : ys[ys.length - 2];
  if (k1 !== k2) throw new ShapeError(`matmul: inner dimensions differ: ${shapeStr(xs)} × ${shapeStr(ys)}`);
  const bx = xs.slice(0, -2), by = ys.slice(0, -2);
  for (let i = 1; i <= Math.min(bx.length, by.length); i++) {
    const p = bx[bx.length - i], q = by[by.length - i];
    if (p !== q && p !== 1 && q !== 1) {
      throw new ShapeError(`matmul: batch dimensions do not broadcast: ${shapeStr(xs)} × ${shapeStr(ys)}`);
    }
  }
  const vecLeft = x.ndim === 1, vecRight = y.ndim === 1;
  if (vecLeft) x = unsqueeze(x, 0);
  if (vecRight) y = unsqueeze(y, 1);
  let out = bind('matmul', [x, y], NONE);
  if (vecRight) out = squeeze(out, -1);
  if (vecLeft) out = squeeze(out, vecRight ? -1 : -2);
  return out;
}

/** Inner product Σ aᵢbᵢ of two tensors of the same shape, as a 0-d tensor. */
export function dot(a: TensorLike, b: TensorLike): Tensor {
  const dt = strongDType(a, b);
  const x = toTensor(a, 'dot', dt), y = toTensor(b, 'dot', dt);
  if (x.size !== y.size || x.ndim !== y.ndim || x.shape.some((d, i) => d !== y.shape[i])) {
    throw new ShapeError(`dot: shapes differ: ${shapeStr(x.shape)} · ${shapeStr(y.shape)}`);
  }
  return reshape(matmul(reshape(x, [1, x.size]), reshape(y, [y.size, 1])), []);
}

/** Outer product of two vectors: out[i, j] = a[i] · b[j]. */
export function outer(a: TensorLike, b: TensorLike): Tensor {
  const dt = strongDType(a, b);
  const x = toTensor(a, 'outer', dt), y = toTensor(b, 'outer', dt);
  if (x.ndim !== 1 || y.ndim !== 1) throw new ShapeError(`outer: expected two vectors, got ${shapeStr(x.shape)} and ${shapeStr(y.shape)}`);
  return mul(unsqueeze(x, 1), unsqueeze(y, 0));
}
