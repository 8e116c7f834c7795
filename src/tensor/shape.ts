/** Shapes, strides, broadcasting and axis handling shared by every operation. */

/** A tensor's shape: one length per dimension, outermost (batch) first. */
export type Shape = readonly number[];

/** Error for inputs whose shapes do not fit an operation. The message names the operation and the shapes. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** `[2,3]` — the form shapes take in error messages. */
export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** Number of elements of a shape (1 for a 0-d shape). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Validate a user-supplied shape: non-negative integers only. */
export function checkShape(shape: unknown, op: string): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${op}: shape must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: invalid shape [${shape.map(String).join(',')}]: dimensions must be non-negative integers`);
    }
  }
  return shape as number[];
}

/** NumPy broadcasting of two shapes; throws naming the operation and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  if (sameShape(a, b)) return a as number[];
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else throw new ShapeError(`${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together`);
  }
  return out;
}

/** Resolve a possibly negative axis against `ndim`, or throw naming the operation. */
export function normalizeAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new RangeError(`${op}: axis ${axis} is out of range for a ${ndim}-d tensor`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Resolve an axis, a list of axes, or `undefined` (all axes) to sorted unique non-negative axes. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined | null, ndim: number): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, ndim));
  out.sort((x, y) => x - y);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new RangeError(`${op}: axis ${out[i]} given twice`);
  }
  return out;
}
