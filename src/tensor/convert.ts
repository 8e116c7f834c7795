import ndarray from 'ndarray';
import { type DType, type FloatArray, allocate, checkDType } from './dtype.js';
import { ShapeError, checkShape, shapeStr, sizeOf } from './shape.js';
import { Tensor, type NestedNumbers } from './tensor.js';
import { adHooks } from '../ad/hooks.js';

/** Anything an operation accepts as a tensor: a number, nested number arrays, a typed array or a Tensor. */
export type TensorLike = Tensor | NestedNumbers | ArrayLike<number>;

/** Options for {@link tensor}. */
export interface TensorOptions {
  /** Element type; default float64 for JS numbers and arrays, the array's own type for Float32Array. */
  dtype?: DType;
  /** Shape to give flat data (a typed array or a flat list); its size must match. */
  shape?: readonly number[];
}

/** Wrap a row-major typed array as a tensor of the given shape (no copy). */
export function fromData(data: FloatArray, shape: readonly number[]): Tensor {
  return new Tensor(ndarray(data, shape as number[]));
}

const isTypedArray = (x: unknown): x is ArrayLike<number> & ArrayBufferView =>
  ArrayBuffer.isView(x) && !(x instanceof DataView);

/**
 * Make a tensor from a number, nested arrays, or a typed array.
 *
 * ```ts
 * tensor([[1, 2, 3], [4, 5, 6]]);                    // 2×3 float64
 * tensor(new Float32Array(6), { shape: [2, 3] });    // 2×3 float32, shares the array
 * tensor([1, 2], { dtype: 'float32' });
 * ```
 * A Float32Array or Float64Array of the requested dtype is used without copying.
 */
export function tensor(data: TensorLike, options: TensorOptions = {}): Tensor {
  const op = 'tensor';
  const dtype = options.dtype === undefined ? undefined : checkDType(options.dtype, op);
  let t: Tensor;
  if (data instanceof Tensor) {
    t = dtype === undefined || dtype === data.dtype ? data : data.astype(dtype);
  } else if (typeof data === 'number') {
    const d = allocate(dtype ?? 'float64', 1);
    d[0] = data;
    t = new Tensor(ndarray(d, []));
  } else if (isTypedArray(data)) {
    const want = dtype ?? (data instanceof Float32Array ? 'float32' : 'float64');
    let d: FloatArray;
    if ((want === 'float32' && data instanceof Float32Array) || (want === 'float64' && data instanceof Float64Array)) d = data;
    else {
      if (typeof (data as unknown as ArrayLike<unknown>)[0] === 'bigint') throw new TypeError(`${op}: BigInt arrays are not supported`);
      d = allocate(want, data.length);
      d.set(data);
    }
    t = new Tensor(ndarray(d, [d.length]));
  } else if (Array.isArray(data) || (typeof data === 'object' && data !== null && adHooks.toTensor?.(data, dtype) !== undefined)) {
    t = toTensor(data, op, dtype ?? 'float64');
  } else {
    throw new TypeError(`${op}: cannot make a tensor from ${describeValue(data)}`);
  }
  if (options.shape !== undefined) {
    const shape = checkShape(options.shape, op);
    if (sizeOf(shape) !== t.size) {
      throw new ShapeError(`${op}: data of shape ${shapeStr(t.shape)} (${t.size} elements) does not fit shape ${shapeStr(shape)}`);
    }
    t = t.reshape(shape);
  }
  return t;
}

/**
 * A value as error messages name it: `undefined`, `null`, `the string 'abc'`, `the number 3`,
 * `the boolean true`, `a function`, `a Map`, `a plain object`. @internal
 */
export function describeValue(x: unknown): string {
  switch (typeof x) {
    case 'undefined': return 'undefined';
    case 'string': return `the string ${quote(x)}`;
    case 'number': return `the number ${x}`;
    case 'bigint': return `the BigInt ${x}n`;
    case 'boolean': return `the boolean ${x}`;
    case 'symbol': return `the symbol ${x.description === undefined ? '' : quote(x.description)}`.trimEnd();
    case 'function': return x.name ? `the function ${x.name}` : 'a function';
    default: {
      if (x === null) return 'null';
      const proto = Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null;
      const name = proto === null || proto === Object.prototype ? undefined : proto.constructor?.name;
      if (!name) return 'a plain object';
      return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
    }
  }
}

/** A string in single quotes, cut short when long. */
function quote(s: string): string {
  const t = s.length > 40 ? `${s.slice(0, 37)}…` : s;
  return `'${t.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** The older wording, still used in the element messages of {@link fromNested} ("is string a"), which other specs match. */
function describeElement(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return `a ${(x as object).constructor?.name ?? 'object'}`;
  return `${typeof x} ${String(x)}`;
}

/** Thrown inside {@link fromNested} when an element is an object: maybe a traced number. */
const HOLDS_OBJECT = Symbol('holds an object');

/** Infer the shape of nested arrays, checking that they are rectangular and numeric. */
function fromNested(data: NestedNumbers[], dtype: DType, op: string, plainErrors = false): Tensor {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const out = allocate(dtype, sizeOf(shape));
  let pos = 0;
  const fill = (x: unknown, d: number, path: string): void => {
    if (d === shape.length) {
      if (typeof x !== 'number') {
        if (!plainErrors && typeof x === 'object' && x !== null && adHooks.toTensor !== undefined) throw HOLDS_OBJECT;
        throw new TypeError(`${op}: element at ${path || '[]'} is ${describeElement(x)}, expected a number`);
      }
      out[pos++] = x;
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) {
      const got = Array.isArray(x) ? `length ${x.length}` : describeElement(x);
      throw new ShapeError(`${op}: ragged array: element ${path || '[]'} has ${got}, expected an array of length ${shape[d]}`);
    }
    for (let i = 0; i < x.length; i++) fill(x[i], d + 1, `${path}[${i}]`);
  };
  fill(data, 0, '');
  return new Tensor(ndarray(out, shape));
}

/**
 * Convert an operation's argument to a tensor. JS numbers and arrays are "weakly typed":
 * they take `like`'s dtype, so `mul(2, x32)` stays float32.
 * @internal
 */
export function toTensor(x: TensorLike, op: string, like?: DType): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') {
    const d = allocate(like ?? 'float64', 1);
    d[0] = x;
    return new Tensor(ndarray(d, []));
  }
  // an array or typed array registered as an implicit param stands for its traced tensor
  if (adHooks.arrayParams > 0 && typeof x === 'object' && x !== null) {
    const p = adHooks.arrayParam!(x, like);
    if (p !== undefined) return p;
  }
  if (Array.isArray(x)) {
    try {
      return fromNested(x, like ?? 'float64', op);
    } catch (e) {
      // an array holding traced numbers becomes one traced tensor
      const t = e === HOLDS_OBJECT ? adHooks.toTensor!(x, like) : undefined;
      if (t !== undefined) return t;
      if (e === HOLDS_OBJECT) return fromNested(x, like ?? 'float64', op, true);
      throw e;
    }
  }
  if (isTypedArray(x)) {
    // integer typed arrays carry no float dtype: like JS numbers, they adopt the operand's
    return tensor(x, x instanceof Float32Array || x instanceof Float64Array || like === undefined ? {} : { dtype: like });
  }
  if (typeof x === 'object' && x !== null && adHooks.toTensor !== undefined) {
    const t = adHooks.toTensor(x, like);
    if (t !== undefined) return t;
  }
  throw new TypeError(`${op}: expected a number, an array, a typed array or a Tensor, got ${describeValue(x)}`);
}

/** The dtype a weakly typed argument should adopt: that of the first Tensor among `xs`. @internal */
export function strongDType(...xs: TensorLike[]): DType | undefined {
  let dt: DType | undefined;
  for (const x of xs) {
    if (x instanceof Tensor) dt = dt === undefined || dt === x.dtype ? x.dtype : 'float64';
    else if (x instanceof Float32Array) dt = dt ?? 'float32';
    else if (x instanceof Float64Array) dt = 'float64';
  }
  return dt;
}
