/**
 * One-hot encoding of labels drawn from a list of classes, and its inverse, as in Flux:
 * the classes may be any values (digits, strings, …), compared with `SameValueZero` (like `Map`).
 */
import ndarray from 'ndarray';
import { Tensor } from '../tensor/tensor.js';
import { type DType, allocate, checkDType } from '../tensor/dtype.js';
import { ShapeError, shapeStr } from '../tensor/shape.js';

/** Options of {@link onehot} and {@link onehotbatch}. */
export interface OnehotOptions {
  /** Element type of the result; default float64, like the other creation functions. */
  dtype?: DType;
}

/** Label → position in `classes`, refusing repeated classes. */
function classIndex<L>(classes: Iterable<L>, op: string): { index: Map<L, number>; list: L[] } {
  if (classes === null || typeof (classes as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`${op}: classes must be an array (or other iterable) of labels`);
  }
  const list = [...classes];
  if (list.length === 0) throw new RangeError(`${op}: the list of classes is empty`);
  const index = new Map<L, number>();
  list.forEach((c, i) => {
    if (index.has(c)) throw new RangeError(`${op}: class ${show(c)} appears twice in the classes (positions ${index.get(c)} and ${i})`);
    index.set(c, i);
  });
  return { index, list };
}

function show(x: unknown): string {
  return typeof x === 'string' ? JSON.stringify(x) : String(x);
}

function listClasses(list: readonly unknown[]): string {
  const shown = list.slice(0, 12).map(show).join(', ');
  return `[${shown}${list.length > 12 ? `, … (${list.length} in all)` : ''}]`;
}

function positionOf<L>(label: L, where: string, index: Map<L, number>, list: L[], op: string): number {
  const k = index.get(label);
  if (k === undefined) throw new RangeError(`${op}: label ${show(label)}${where} is not among the classes ${listClasses(list)}`);
  return k;
}

/**
 * The one-hot vector of `label` among `labels`: a 1-d tensor of length `labels.length` with a 1
 * at the label's position. An unknown label is an error.
 * ```ts
 * onehot('b', ['a', 'b', 'c'])   // [0, 1, 0]
 * ```
 */
export function onehot<L>(label: L, labels: Iterable<L>, options: OnehotOptions = {}): Tensor {
  const op = 'onehot';
  const dtype = checkDType(options.dtype ?? 'float64', op);
  const { index, list } = classIndex(labels, op);
  const out = allocate(dtype, list.length);
  out[positionOf(label, '', index, list, op)] = 1;
  return new Tensor(ndarray(out, [list.length]));
}

/**
 * One-hot rows of a batch of labels: shape `[N, C]` for `N` labels and `C` classes (observations
 * along the first dimension, as everywhere in fluxion). `labels` may be an array, any iterable,
 * or a 1-d tensor of numbers. A label not among the classes is an error naming it and its position.
 * ```ts
 * onehotbatch([2, 0, 9], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])   // 3×10
 * ```
 */
export function onehotbatch<L>(labels: Iterable<L> | Tensor, classes: Iterable<L>, options: OnehotOptions = {}): Tensor {
  const op = 'onehotbatch';
  const dtype = checkDType(options.dtype ?? 'float64', op);
  let values: L[];
  if (labels instanceof Tensor) {
    if (labels.ndim !== 1) throw new ShapeError(`${op}: expected a 1-d tensor of labels, got shape ${shapeStr(labels.shape)}`);
    values = Array.from(labels.data) as L[];
  } else if (labels !== null && typeof (labels as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] === 'function' && typeof labels !== 'string') {
    values = [...labels];
  } else {
    throw new TypeError(`${op}: labels must be an array (or other iterable) or a 1-d tensor`);
  }
  const { index, list } = classIndex(classes, op);
  const C = list.length;
  const out = allocate(dtype, values.length * C);
  for (let i = 0; i < values.length; i++) out[i * C + positionOf(values[i], ` at position ${i}`, index, list, op)] = 1;
  return new Tensor(ndarray(out, [values.length, C]));
}

/**
 * The inverse of {@link onehot}/{@link onehotbatch}: for each vector along the last dimension of
 * `y` (one-hot rows, probabilities or scores), the class at its largest entry (the first one on
 * ties). Returns one label per row, in row-major order of the leading dimensions — an array of
 * one element for a 1-d `y`. Without `classes`, the labels are the positions `0 … C-1`.
 * A NaN in a row is an error (it has no largest entry).
 * ```ts
 * onecold(model(x), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])   // predicted digits
 * ```
 */
export function onecold(y: Tensor): number[];
export function onecold<L>(y: Tensor, classes: Iterable<L>): L[];
export function onecold<L>(y: Tensor, classes?: Iterable<L>): (L | number)[] {
  const op = 'onecold';
  if (!(y instanceof Tensor)) throw new TypeError(`${op}: expected a tensor`);
  if (y.ndim === 0) throw new ShapeError(`${op}: expected a tensor with at least one dimension, got shape ${shapeStr(y.shape)}`);
  const C = y.shape[y.ndim - 1];
  if (C === 0) throw new ShapeError(`${op}: the last dimension of shape ${shapeStr(y.shape)} is empty`);
  let list: L[] | undefined;
  if (classes !== undefined) {
    list = classIndex(classes, op).list;
    if (list.length !== C) throw new ShapeError(`${op}: ${list.length} classes for vectors of length ${C} (shape ${shapeStr(y.shape)})`);
  }
  const data = y.data;
  const rows = y.size / C;
  const out = new Array<L | number>(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = -Infinity;
    for (let c = 0, p = r * C; c < C; c++, p++) {
      const v = data[p];
      if (Number.isNaN(v)) throw new RangeError(`${op}: row ${r} of the tensor of shape ${shapeStr(y.shape)} contains NaN`);
      if (v > bestValue || c === 0) {
        best = c;
        bestValue = v;
      }
    }
    out[r] = list === undefined ? best : list[best];
  }
  return out;
}
