/** Shape operations: views where the layout allows (reshape of contiguous data, permute, slice, broadcastTo). */
import { bind } from '../backend/index.js';
import { contiguousData as compactCopy } from '../backend/cpu/movement.js';
import { type FloatArray, promote } from '../tensor/dtype.js';
import { type TensorLike, strongDType, toTensor } from '../tensor/convert.js';
import { ShapeError, broadcastShapes, checkShape, normalizeAxes, normalizeAxis, sameShape, shapeStr, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** @internal A row-major copy of a tensor's values. */
export function contiguousData(x: Tensor): FloatArray {
  return compactCopy(x);
}

/**
 * A tensor with the same values in a new shape; one dimension may be -1 (inferred).
 * A view of contiguous data, a copy otherwise.
 */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const t = toTensor(x, 'reshape');
  const s = shape.slice();
  let infer = -1;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === -1 && infer < 0) infer = i;
    else if (!Number.isInteger(s[i]) || s[i] < 0) throw new ShapeError(`reshape: invalid target shape ${shapeStr(shape)}`);
  }
  if (infer >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== infer));
    if (rest === 0 || t.size % rest !== 0) throw new ShapeError(`reshape: cannot reshape ${shapeStr(t.shape)} into ${shapeStr(shape)}`);
    s[infer] = t.size / rest;
  }
  if (sizeOf(s) !== t.size) {
    throw new ShapeError(`reshape: cannot reshape ${shapeStr(t.shape)} (${t.size} elements) into ${shapeStr(shape)} (${sizeOf(s)} elements)`);
  }
  if (sameShape(s, t.shape)) return t;
  return bind('reshape', [t], { shape: s });
}

/** Merge dimensions `startDim..endDim` (inclusive; all by default) into one. */
export function flatten(x: TensorLike, startDim = 0, endDim = -1): Tensor {
  const t = toTensor(x, 'flatten');
  if (t.ndim === 0) return reshape(t, [1]);
  const a = normalizeAxis('flatten', startDim, t.ndim), b = normalizeAxis('flatten', endDim, t.ndim);
  if (a > b) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const s = t.shape;
  return reshape(t, [...s.slice(0, a), sizeOf(s.slice(a, b + 1)), ...s.slice(b + 1)]);
}

/** Remove dimensions of length 1: all of them, or those named (which must have length 1). */
export function squeeze(x: TensorLike, axes?: number | readonly number[]): Tensor {
  const t = toTensor(x, 'squeeze');
  let drop: number[];
  if (axes === undefined) drop = t.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  else {
    drop = normalizeAxes('squeeze', axes, t.ndim);
    for (const a of drop) {
      if (t.shape[a] !== 1) throw new ShapeError(`squeeze: dimension ${a} of shape ${shapeStr(t.shape)} has length ${t.shape[a]}, not 1`);
    }
  }
  return reshape(t, t.shape.filter((_, i) => !drop.includes(i)));
}

/** Insert a dimension of length 1 at `axis` (which may be `ndim`, or negative). */
export function unsqueeze(x: TensorLike, axis: number): Tensor {
  const t = toTensor(x, 'unsqueeze');
  const a = normalizeAxis('unsqueeze', axis, t.ndim + 1);
  const s = t.shape.slice();
  s.splice(a, 0, 1);
  return reshape(t, s);
}

/** Reorder dimensions: `permute(x, [0, 2, 1])`. A view. */
export function permute(x: TensorLike, perm: readonly number[]): Tensor {
  const t = toTensor(x, 'permute');
  const nd = t.ndim;
  const p = new Array<number>(perm.length);
  // seen: a bit per dimension (permutations of more than 31 dimensions take the Set)
  let seen = 0, identity = true, repeated = false;
  for (let i = 0; i < perm.length; i++) {
    const a = normalizeAxis('permute', perm[i], nd);
    p[i] = a;
    if (a !== i) identity = false;
    if (nd <= 31) {
      if (seen & (1 << a)) repeated = true;
      seen |= 1 << a;
    }
  }
  if (p.length !== nd || (nd <= 31 ? repeated : new Set(p).size !== p.length)) {
    throw new ShapeError(`permute: ${JSON.stringify(perm)} is not a permutation of the ${nd} dimensions of ${shapeStr(t.shape)}`);
  }
  if (identity) return t;
  return bind('permute', [t], { perm: p });
}

/** Matrix transpose: swaps the last two dimensions (a vector or scalar is returned as is). A view. */
export function transpose(x: TensorLike): Tensor {
  const t = toTensor(x, 'transpose');
  const nd = t.ndim;
  if (nd < 2) return t;
  const p = new Array<number>(nd);
  for (let i = 0; i < nd - 2; i++) p[i] = i;
  p[nd - 2] = nd - 1;
  p[nd - 1] = nd - 2;
  return bind('permute', [t], { perm: p });
}

/** A view of `x` repeated (with stride 0) to `shape`, by NumPy's broadcasting rules. */
export function broadcastTo(x: TensorLike, shape: readonly number[]): Tensor {
  const t = toTensor(x, 'broadcastTo');
  const s = checkShape(shape, 'broadcastTo').slice();
  const b = t.ndim <= s.length ? broadcastShapes('broadcastTo', t.shape, s) : null;
  if (b === null || !sameShape(b, s)) throw new ShapeError(`broadcastTo: cannot broadcast ${shapeStr(t.shape)} to ${shapeStr(shape)}`);
  if (sameShape(t.shape, s)) return t;
  return bind('broadcastTo', [t], { shape: s });
}

/** A range along one dimension: `[start, stop, step]` with Python's meaning (negative counts from the end); `null` for all. */
export type SliceRange = readonly [start?: number | null, stop?: number | null, step?: number] | null | undefined;

/**
 * A strided view: one range per leading dimension (missing ones take everything).
 * ```ts
 * slice(x, [[1, 3], null, [null, null, -1]])   // rows 1–2, all columns, last dim reversed
 * ```
 */
export function slice(x: TensorLike, ranges: readonly SliceRange[]): Tensor {
  const t = toTensor(x, 'slice');
  if (ranges.length > t.ndim) throw new ShapeError(`slice: ${ranges.length} ranges for a tensor of shape ${shapeStr(t.shape)}`);
  const nd = t.ndim;
  const start = new Array<number>(nd), step = new Array<number>(nd), size = new Array<number>(nd);
  for (let d = 0; d < nd; d++) {
    const n = t.shape[d];
    const r = ranges[d] ?? EVERYTHING;
    const st = r[2] ?? 1;
    if (!Number.isInteger(st) || st === 0) throw new RangeError(`slice: step must be a non-zero integer, got ${st} in dimension ${d}`);
    const a = st > 0 ? clampIndex(r[0], 0, 0, n, n, d) : clampIndex(r[0], n - 1, -1, n - 1, n, d);
    const b = st > 0 ? clampIndex(r[1], n, 0, n, n, d) : clampIndex(r[1], -1, -1, n - 1, n, d);
    const len = Math.max(0, Math.ceil((b - a) / st));
    start[d] = len > 0 ? a : 0;
    step[d] = st;
    size[d] = len;
  }
  return bind('slice', [t], { start, step, size });
}

const EVERYTHING: readonly [] = [];

/** A slice bound `v` (negative: from the end of a dimension of length `n`) clamped to [lo, hi]; `dflt` when absent. */
function clampIndex(v: number | null | undefined, dflt: number, lo: number, hi: number, n: number, d: number): number {
  if (v === null || v === undefined) return dflt;
  if (!Number.isInteger(v)) throw new RangeError(`slice: index ${v} in dimension ${d} is not an integer`);
  return Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
}

/** Pick an element or sub-tensor by leading indices (negative counts from the end): `index(x, i)`, `index(x, i, j)`. */
export function index(x: TensorLike, ...idx: number[]): Tensor {
  const t = toTensor(x, 'index');
  if (idx.length > t.ndim) throw new RangeError(`index: ${idx.length} indices for a tensor of shape ${shapeStr(t.shape)}`);
  const ranges = idx.map((i, d) => {
    const n = t.shape[d];
    if (!Number.isInteger(i) || i < -n || i >= n) throw new RangeError(`index: index ${i} is out of range for dimension ${d} of shape ${shapeStr(t.shape)}`);
    const k = i < 0 ? i + n : i;
    return [k, k + 1] as const;
  });
  return reshape(slice(t, ranges), t.shape.slice(idx.length));
}

/** Join tensors along an existing dimension: `concat([a, b], 0)`. */
export function concat(xs: readonly TensorLike[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('concat: needs at least one tensor');
  // JS arrays are weakly typed: they take the tensors' dtype
  const like = strongDType(...xs);
  const n = xs.length;
  const ts = new Array<Tensor>(n);
  for (let j = 0; j < n; j++) ts[j] = toTensor(xs[j], 'concat', like);
  const first = ts[0];
  if (first.ndim === 0) throw new ShapeError('concat: cannot concatenate 0-d tensors; use stack');
  const a = normalizeAxis('concat', axis, first.ndim);
  let dtype = first.dtype;
  for (let j = 0; j < n; j++) {
    const t = ts[j];
    if (!sameOutside(t.shape, first.shape, a)) {
      throw new ShapeError(`concat: shapes ${ts.map((u) => shapeStr(u.shape)).join(', ')} differ outside dimension ${a}`);
    }
    dtype = promote(dtype, t.dtype);
  }
  if (n === 1) return first;
  for (let j = 0; j < n; j++) if (ts[j].dtype !== dtype) ts[j] = ts[j].astype(dtype);
  return bind('concat', ts, { axis: a });
}

/** Same rank and the same lengths except along `axis`. */
function sameOutside(s: readonly number[], t: readonly number[], axis: number): boolean {
  if (s.length !== t.length) return false;
  for (let i = 0; i < s.length; i++) if (i !== axis && s[i] !== t[i]) return false;
  return true;
}

/** Join tensors of one shape along a new dimension: `stack([a, b], 0)`. */
export function stack(xs: readonly TensorLike[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('stack: needs at least one tensor');
  const like = strongDType(...xs);
  const ts = xs.map((x) => toTensor(x, 'stack', like));
  for (const t of ts) {
    if (!sameShape(t.shape, ts[0].shape)) throw new ShapeError(`stack: shapes differ: ${ts.map((u) => shapeStr(u.shape)).join(', ')}`);
  }
  const a = normalizeAxis('stack', axis, ts[0].ndim + 1);
  return concat(ts.map((t) => unsqueeze(t, a)), a);
}

/** Pad each dimension with `[before, after]` elements of `value` (default 0). */
export function pad(x: TensorLike, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  const t = toTensor(x, 'pad');
  if (pads.length > t.ndim) throw new ShapeError(`pad: ${pads.length} pairs for a tensor of shape ${shapeStr(t.shape)}`);
  const p = t.shape.map((_, i): [number, number] => {
    const q = pads[i] ?? [0, 0];
    if (!q.every((v) => Number.isInteger(v) && v >= 0)) throw new RangeError(`pad: padding must be non-negative integers, got ${JSON.stringify(q)}`);
    return [q[0], q[1]];
  });
  if (p.every(([a, b]) => a === 0 && b === 0)) return t;
  return bind('pad', [t], { pads: p, value });
}

function checkIndices(op: string, idx: Tensor, n: number): void {
  const d = idx.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new RangeError(`${op}: index ${v} is out of range for a dimension of length ${n}`);
    }
  }
}

/**
 * Select along `axis` by integer indices (NumPy's `take`): the result's shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. `gather(embedding, tokens)` picks rows.
 */
export function gather(x: TensorLike, indices: TensorLike, axis = 0): Tensor {
  const t = toTensor(x, 'gather');
  const idx = toTensor(indices, 'gather');
  const a = normalizeAxis('gather', axis, t.ndim);
  checkIndices('gather', idx, t.shape[a]);
  return bind('gather', [t, idx], { axis: a });
}

/** The adjoint of {@link gather}: rows of `src` added into zeros whose `axis` has length `size`. */
export function scatterAdd(src: TensorLike, indices: TensorLike, axis: number, size: number): Tensor {
  const s = toTensor(src, 'scatterAdd');
  const idx = toTensor(indices, 'scatterAdd');
  const a = normalizeAxis('scatterAdd', axis, s.ndim - idx.ndim + 1);
  if (!idx.shape.every((d, i) => s.shape[a + i] === d)) {
    throw new ShapeError(`scatterAdd: indices of shape ${shapeStr(idx.shape)} do not match ${shapeStr(s.shape)} at dimension ${a}`);
  }
  checkIndices('scatterAdd', idx, size);
  return bind('scatterAdd', [s, idx], { axis: a, size });
}
