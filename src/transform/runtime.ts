/**
 * Runtime of the operator transform: what rewritten user code calls when an operand of an
 * arithmetic operator, a comparison, a truthiness test or a `Math` function may not be a
 * plain number.
 *
 * The rule every helper follows: **on operands that are not objects, the helper does exactly
 * what the native operator does** (numbers, strings, booleans, `null`, `undefined`, BigInt).
 * That is what lets the rewrite keep native operators wherever it can prove (or check) that no
 * operand is an object. Objects that hold numbers — Tensors, traced numbers, typed arrays,
 * nested number arrays — go to fluxion's elementwise operations (broadcasting, recorded on the
 * tape when traced); every other object keeps its JavaScript meaning.
 *
 * @module
 */
import * as ew from '../ops/elementwise.js';
import { Tensor } from '../tensor/tensor.js';
import { fromData, tensor } from '../tensor/convert.js';
import { checkMutable, isTracked, primal } from '../ad/index.js';
import { tracingState } from '../ad/tape.js';

type Bin = (a: never, b: never) => unknown;
const lib = ew as unknown as Record<string, (...xs: unknown[]) => unknown>;

// ---------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------

/** True while a gradient is being computed: rewritten functions then run their traced body. */
export function tracing(): boolean {
  return tracingState.depth !== 0;
}

/** The live tracing state: rewritten code reads `state.depth` at function entry. */
export const state = tracingState;

const isTypedNumbers = (x: object): boolean =>
  ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);

/** A typed array of numbers (not BigInt): its elements are numbers. */
export const numbers = (x: unknown): boolean => typeof x === 'object' && x !== null && isTypedNumbers(x);

/** A traced scalar: a traced value whose primal is a number. */
function isTracedScalar(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !(x instanceof Tensor) && isTracked(x);
}

/** An array whose first leaf is a number, a traced number or a Tensor. */
function isNumberArray(x: unknown[]): boolean {
  let v: unknown = x;
  while (Array.isArray(v)) {
    if (v.length === 0) return false;
    v = v[0];
  }
  return typeof v === 'number' || v instanceof Tensor || isTracedScalar(v);
}

/** Objects that arithmetic treats as numbers: Tensors, traced values, typed arrays, number arrays. */
export function isNumeric(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  if (x instanceof Tensor) return true;
  if (Array.isArray(x)) return isNumberArray(x);
  return isTypedNumbers(x) || isTracked(x);
}

/** The operand as an elementwise operation accepts it: primitives converted as `Number()` does. */
function arg(x: unknown): unknown {
  if (typeof x === 'object' && x !== null) return x;
  return typeof x === 'bigint' ? x : Number(x);
}

/** Text of a value inside string concatenation: traced values show their primal. */
function text(x: unknown): unknown {
  return isTracked(x) ? String(primal(x)) : x;
}

// ---------------------------------------------------------------------------------------
// Binary arithmetic
// ---------------------------------------------------------------------------------------

/** `a + b`: elementwise for numeric objects; string concatenation when either side is a string. */
export function add(a: any, b: any): any {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'string' || typeof b === 'string') return (text(a) as any) + (text(b) as any);
  if (isNumeric(a) || isNumeric(b)) return lib.add(arg(a), arg(b));
  return a + b;
}

function arith(name: string, native: (a: any, b: any) => any): (a: any, b: any) => any {
  const f = lib[name];
  return (a, b) => {
    if ((typeof a !== 'object' || a === null) && (typeof b !== 'object' || b === null)) return native(a, b);
    if (isNumeric(a) || isNumeric(b)) return f(arg(a), arg(b));
    return native(a, b);
  };
}

/** `a - b` */
export const sub = arith('sub', (a, b) => a - b);
/** `a * b` */
export const mul = arith('mul', (a, b) => a * b);
/** `a / b` */
export const div = arith('div', (a, b) => a / b);
/** `a ** b` */
export const pow = arith('pow', (a, b) => a ** b);

/**
 * `a % b`: JavaScript's truncated remainder (the sign of `a`), also on tensors:
 * `sign(a) · mod(|a|, |b|)` (fluxion's `mod` is the floored modulo).
 */
export function rem(a: any, b: any): any {
  if ((typeof a !== 'object' || a === null) && (typeof b !== 'object' || b === null)) return a % b;
  if (isNumeric(a) || isNumeric(b)) {
    const x = arg(a), y = arg(b);
    return lib.mul(lib.sign(x), lib.mod(lib.abs(x), lib.abs(y)));
  }
  return a % b;
}

// ---------------------------------------------------------------------------------------
// Unary operators
// ---------------------------------------------------------------------------------------

/** `-a` */
export function neg(a: any): any {
  if (typeof a !== 'object' || a === null) return -a;
  return isNumeric(a) ? lib.neg(a) : -a;
}

/** `+a`: numeric objects stay what they are (a Tensor for arrays); anything else converts to a number. */
export function pos(a: any): any {
  if (typeof a !== 'object' || a === null) return +a;
  if (a instanceof Tensor || isTracked(a)) return a;
  return isNumeric(a) ? tensor(a as number[]) : +a;
}

// ---------------------------------------------------------------------------------------
// Bitwise operators: not differentiable; a traced number takes part with its value.
// ---------------------------------------------------------------------------------------

function bitArg(x: any, op: string): any {
  if (typeof x !== 'object' || x === null) return x;
  if (isTracedScalar(x)) return primal(x);
  if (isNumeric(x)) throw new TypeError(`fluxion: the bitwise operator \`${op}\` is not defined on tensors or arrays`);
  return x;
}
export const bor = (a: any, b: any): any => bitArg(a, '|') | bitArg(b, '|');
export const band = (a: any, b: any): any => bitArg(a, '&') & bitArg(b, '&');
export const bxor = (a: any, b: any): any => bitArg(a, '^') ^ bitArg(b, '^');
export const shl = (a: any, b: any): any => bitArg(a, '<<') << bitArg(b, '<<');
export const shr = (a: any, b: any): any => bitArg(a, '>>') >> bitArg(b, '>>');
export const ushr = (a: any, b: any): any => bitArg(a, '>>>') >>> bitArg(b, '>>>');
export const bnot = (a: any): any => ~bitArg(a, '~');

// ---------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------

/** Tensors made by a comparison: their truth value is ambiguous unless they hold one element. */
const comparisons = new WeakSet<object>();

/** Tensors and arrays compare elementwise (a Tensor of 0/1); traced numbers compare their values. */
function compare(name: string, native: (a: any, b: any) => boolean): (a: any, b: any) => any {
  const f = lib[name];
  return (a, b) => {
    if ((typeof a !== 'object' || a === null) && (typeof b !== 'object' || b === null)) return native(a, b);
    const ta = isNumeric(a) && !isTracedScalar(a), tb = isNumeric(b) && !isTracedScalar(b);
    if (ta || tb) {
      const r = f(arg(isTracedScalar(a) ? primal(a) : a), arg(isTracedScalar(b) ? primal(b) : b)) as object;
      comparisons.add(r);
      return r;
    }
    return native(isTracedScalar(a) ? primal(a) : a, isTracedScalar(b) ? primal(b) : b);
  };
}
export const lt = compare('lt', (a, b) => a < b);
export const le = compare('le', (a, b) => a <= b);
export const gt = compare('gt', (a, b) => a > b);
export const ge = compare('ge', (a, b) => a >= b);

/** `a === b`: a traced number equals the number it stands for; other objects compare by identity. */
export function seq(a: any, b: any): boolean {
  if (isTracedScalar(a)) a = primal(a);
  if (isTracedScalar(b)) b = primal(b);
  return a === b;
}
/** `a !== b` */
export const sne = (a: any, b: any): boolean => !seq(a, b);
/** `a == b` */
export function leq(a: any, b: any): boolean {
  if (isTracedScalar(a)) a = primal(a);
  if (isTracedScalar(b)) b = primal(b);
  return a == b; // eslint-disable-line eqeqeq
}
/** `a != b` */
export const lne = (a: any, b: any): boolean => !leq(a, b);

// ---------------------------------------------------------------------------------------
// Truthiness
// ---------------------------------------------------------------------------------------

/**
 * The truth value the rewrite uses for `if`, `?:`, `!`, `&&`, `||`, loops and `Boolean()`:
 * a traced number is true when its value is (not 0, not NaN); a Tensor made by a comparison
 * is true when its one element is non-zero, and ambiguous (an error) when it holds several;
 * every other value as in JavaScript (so `if (bias)` still means "is there a bias").
 */
export function truthy(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return !!x;
  if (comparisons.has(x)) {
    const t = x as Tensor;
    if (t.size !== 1) {
      throw new TypeError(
        `fluxion: the truth value of a comparison of tensors with ${t.size} elements (shape [${t.shape.join(', ')}]) is ambiguous; ` +
        'use where(cond, a, b) to choose elementwise, or reduce it first (e.g. sum(x > 0) > 0)',
      );
    }
    return (primal(t) as Tensor).item() !== 0;
  }
  if (isTracedScalar(x)) {
    const v = primal(x) as unknown as number;
    return v !== 0 && v === v;
  }
  return true;
}

/** `switch` discriminants and similar: a traced number stands for its value. */
export function value(x: unknown): unknown {
  return isTracedScalar(x) ? primal(x) : x;
}

/** `typeof x`: a traced number is a `'number'` (it stands where a number was passed). */
export function typeOf(x: unknown): string {
  return isTracedScalar(x) ? 'number' : typeof x;
}

// ---------------------------------------------------------------------------------------
// Compound assignment: tensors, typed arrays and number arrays are updated in place.
// ---------------------------------------------------------------------------------------

const assignNames: Record<string, string> = {
  add: '+=', sub: '-=', mul: '*=', div: '/=', rem: '%=', pow: '**=',
  bor: '|=', band: '&=', bxor: '^=', shl: '<<=', shr: '>>=', ushr: '>>>=',
};

function writeArray(target: unknown[], r: Tensor, op: string): void {
  const shape: number[] = [];
  let v: unknown = target;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  if (shape.length !== r.shape.length || shape.some((n, i) => n !== r.shape[i])) {
    throw new RangeError(`fluxion: \`${op}\` on an array of shape [${shape.join(', ')}] gives shape [${r.shape.join(', ')}]; an in-place update cannot change the shape`);
  }
  const data = r.data;
  let pos = 0;
  const fill = (a: unknown[], d: number): void => {
    for (let i = 0; i < a.length; i++) {
      if (d === shape.length - 1) a[i] = data[pos++];
      else fill(a[i] as unknown[], d + 1);
    }
  };
  fill(target, 0);
}

/**
 * `target op= value`. Returns what the target should hold afterwards: for a Tensor, typed
 * array or number array, the same object, updated in place (checked against gradients in
 * flight); otherwise the new value. `binding` names a `const` variable being assigned (a
 * number or traced value held in a `const` cannot be rebound, as in JavaScript).
 */
export function update(name: string, target: any, val: any, binding?: string): any {
  const op = assignNames[name] ?? name;
  const f = (ops as Record<string, Bin>)[name] as (a: unknown, b: unknown) => unknown;
  if (typeof target === 'object' && target !== null) {
    if (target instanceof Tensor && !isTracked(target)) {
      checkMutable(target, op);
      const r = f(target, val);
      if (isTracked(r)) {
        if (binding !== undefined) {
          throw new TypeError(
            `fluxion: \`${binding} ${op} …\` would store a value being differentiated into the tensor \`${binding}\` in place; ` +
            `declare it with \`let\` so that it can be rebound, or compute a new tensor`,
          );
        }
        return r;
      }
      (target as Tensor & { assign(v: unknown): Tensor }).assign(r);
      return target;
    }
    if ((Array.isArray(target) && isNumberArray(target)) || isTypedNumbers(target)) {
      checkMutable(target, op);
      const r = f(target, val);
      if (isTracked(r)) {
        if (binding !== undefined) throw new TypeError(`fluxion: \`${binding} ${op} …\` would store a value being differentiated into an array in place; declare it with \`let\``);
        return r;
      }
      const t = r as Tensor;
      if (Array.isArray(target)) writeArray(target, t, op);
      else {
        const ta = target as Float64Array;
        if (t.size !== ta.length || t.shape.length !== 1) {
          throw new RangeError(`fluxion: \`${op}\` on a typed array of length ${ta.length} gives shape [${t.shape.join(', ')}]; an in-place update cannot change the shape`);
        }
        ta.set(t.data);
      }
      return target;
    }
    if (binding !== undefined && isTracked(target)) {
      throw new TypeError(
        `fluxion: cannot update \`${binding}\` with \`${op}\`: it holds a value being differentiated, which is immutable, ` +
        'and it is a `const`; declare it with `let`',
      );
    }
  }
  if (binding !== undefined) throw new TypeError('Assignment to constant variable.');
  return f(target, val);
}

/** `x++` / `x--` / `++x` / `--x` on a value that is not a plain number: returns `[newValue, expressionValue]`. */
export function step(target: any, delta: 1 | -1, prefix: boolean, binding?: string): [any, any] {
  if (typeof target !== 'object' || target === null) {
    let t = target;
    const old = typeof t === 'bigint' ? t : +t;
    if (delta === 1) t++;
    else t--;
    if (binding !== undefined) throw new TypeError('Assignment to constant variable.');
    return [t, prefix ? t : old];
  }
  const old = target instanceof Tensor && !isTracked(target) ? lib.add(target, 0) : target;
  const now = update(delta === 1 ? 'add' : 'sub', target, 1, binding);
  return [now, prefix ? now : old];
}

// ---------------------------------------------------------------------------------------
// Math, Number, JSON, arrays
// ---------------------------------------------------------------------------------------

const NM = Math;

/** Elementwise map of a function without a derivative (floor, round, …): the result is not traced. */
function constantMap(f: (x: number) => number, x: unknown): unknown {
  if (typeof x !== 'object' || x === null) return f(x as number);
  if (isTracedScalar(x)) return f(primal(x) as unknown as number);
  if (isNumeric(x)) {
    const t = primal(x instanceof Tensor ? x : tensor(x as number[])) as Tensor;
    const src = t.data;
    const out = new Float64Array(src.length);
    for (let i = 0; i < out.length; i++) out[i] = f(src[i]);
    return fromData(t.dtype === 'float32' ? Float32Array.from(out) : out, t.shape);
  }
  return f(x as unknown as number);
}

function unary(name: string, native: (x: number) => number): (x: any) => any {
  const f = lib[name];
  return (x) => (typeof x !== 'object' || x === null ? native(x) : isNumeric(x) ? f(x) : native(x));
}

function numericArgs(xs: unknown[]): boolean {
  for (const x of xs) if (isNumeric(x)) return true;
  return false;
}

/** Differentiable `Math` functions; the rest act on values (their derivative is zero). */
const mathFns = {
  abs: unary('abs', NM.abs), sign: unary('sign', NM.sign),
  sin: unary('sin', NM.sin), cos: unary('cos', NM.cos), tan: unary('tan', NM.tan),
  asin: unary('asin', NM.asin), acos: unary('acos', NM.acos), atan: unary('atan', NM.atan),
  sinh: unary('sinh', NM.sinh), cosh: unary('cosh', NM.cosh), tanh: unary('tanh', NM.tanh),
  exp: unary('exp', NM.exp), expm1: unary('expm1', NM.expm1),
  log: unary('log', NM.log), log1p: unary('log1p', NM.log1p), sqrt: unary('sqrt', NM.sqrt),
  log2: (x: any): any => (isNumeric(x) ? lib.div(lib.log(x), NM.LN2) : NM.log2(x)),
  log10: (x: any): any => (isNumeric(x) ? lib.div(lib.log(x), NM.LN10) : NM.log10(x)),
  cbrt: (x: any): any => (isNumeric(x) ? lib.mul(lib.sign(x), lib.pow(lib.abs(x), 1 / 3)) : NM.cbrt(x)),
  asinh: (x: any): any => {
    if (!isNumeric(x)) return NM.asinh(x);
    const a = lib.abs(x);
    return lib.mul(lib.sign(x), lib.log(lib.add(a, lib.sqrt(lib.add(lib.mul(a, a), 1)))));
  },
  acosh: (x: any): any => (isNumeric(x) ? lib.log(lib.add(x, lib.sqrt(lib.sub(lib.mul(x, x), 1)))) : NM.acosh(x)),
  atanh: (x: any): any => (isNumeric(x) ? lib.mul(0.5, lib.sub(lib.log1p(x), lib.log1p(lib.neg(x)))) : NM.atanh(x)),
  pow: (a: any, b: any): any => pow(a, b),
  atan2: (a: any, b: any): any => (isNumeric(a) || isNumeric(b) ? lib.atan2(arg(a), arg(b)) : NM.atan2(a, b)),
  hypot: (...xs: any[]): any => {
    if (!numericArgs(xs)) return NM.hypot(...xs);
    let s: unknown = 0;
    for (const x of xs) s = lib.add(s, lib.mul(arg(x), arg(x)));
    return lib.sqrt(s);
  },
  max: (...xs: any[]): any => {
    if (!numericArgs(xs)) return NM.max(...xs);
    return xs.reduce((m: unknown, x) => lib.maximum(m, arg(x)), -Infinity);
  },
  min: (...xs: any[]): any => {
    if (!numericArgs(xs)) return NM.min(...xs);
    return xs.reduce((m: unknown, x) => lib.minimum(m, arg(x)), Infinity);
  },
  floor: (x: any): any => constantMap(NM.floor, x),
  ceil: (x: any): any => constantMap(NM.ceil, x),
  round: (x: any): any => constantMap(NM.round, x),
  trunc: (x: any): any => constantMap(NM.trunc, x),
  fround: (x: any): any => constantMap(NM.fround, x),
  clz32: (x: any): any => NM.clz32(value(x) as number),
  imul: (a: any, b: any): any => NM.imul(value(a) as number, value(b) as number),
  random: (): number => NM.random(),
};

/**
 * The `Math` object user code sees where it uses `Math` as a value (`const { exp } = Math`,
 * `Math[name]`): the constants, and every function accepting traced values and tensors.
 */
export const MathObject: typeof Math = Object.freeze(Object.assign(
  Object.create(null) as object,
  Object.fromEntries(Object.getOwnPropertyNames(NM).map((k) => [k, (NM as unknown as Record<string, unknown>)[k]])),
  mathFns,
  { [Symbol.toStringTag]: 'Math' },
)) as unknown as typeof Math;

/** `Math.<name>(...)` on arguments that are not all plain values. */
export const math = mathFns as unknown as Record<string, (...xs: any[]) => any>;

/** `Number(x)`: a traced number is already a number (its derivative is kept). */
export function toNumber(...xs: unknown[]): unknown {
  if (xs.length === 0) return 0;
  return isTracedScalar(xs[0]) ? xs[0] : Number(xs[0]);
}
/** `Boolean(x)` */
export const toBoolean = (...xs: unknown[]): boolean => truthy(xs[0]);
/** `Number.isFinite`, `Number.isNaN`, `Number.isInteger`, `Number.isSafeInteger`, `isFinite`, `isNaN` on a traced number test its value. */
export const numberIsFinite = (x: unknown): boolean => Number.isFinite(value(x));
export const numberIsNaN = (x: unknown): boolean => Number.isNaN(value(x));
export const numberIsInteger = (x: unknown): boolean => Number.isInteger(value(x));
export const numberIsSafeInteger = (x: unknown): boolean => Number.isSafeInteger(value(x));
export const globalIsFinite = (x: unknown): boolean => isFinite(value(x) as number);
export const globalIsNaN = (x: unknown): boolean => isNaN(value(x) as number);

/** `JSON.stringify`: traced numbers are written as their values. */
export function jsonStringify(v: unknown, replacer?: unknown, space?: string | number): string {
  const user = typeof replacer === 'function' ? (replacer as (this: unknown, k: string, x: unknown) => unknown) : undefined;
  const keys = Array.isArray(replacer) ? replacer : undefined;
  const walk = function (this: unknown, k: string, x: unknown): unknown {
    const y = user ? user.call(this, k, x) : x;
    return isTracedScalar(y) ? primal(y) : y;
  };
  const first = isTracedScalar(v) ? primal(v) : v;
  if (keys !== undefined) return JSON.stringify(first, keys as (string | number)[], space);
  return JSON.stringify(first, walk, space);
}

/** `xs.includes(v)`, `xs.indexOf(v)`, `xs.lastIndexOf(v)`: array elements that are traced numbers compare by value. */
export function method(recv: any, name: 'includes' | 'indexOf' | 'lastIndexOf', ...args: any[]): any {
  if (!Array.isArray(recv) || !(args.length > 0 && (typeof args[0] === 'number' || isTracedScalar(args[0])))) {
    return recv[name](...args);
  }
  const v = value(args[0]) as number;
  const n = recv.length;
  const eq = (x: unknown): boolean => {
    const y = value(x);
    return name === 'includes' ? y === v || (y !== y && v !== v) : y === v;
  };
  if (name === 'lastIndexOf') {
    let from = args.length > 1 ? Math.trunc(Number(value(args[1]))) : n - 1;
    if (from < 0) from += n;
    for (let i = Math.min(from, n - 1); i >= 0; i--) if (i in recv && eq(recv[i])) return i;
    return -1;
  }
  let from = args.length > 1 ? Math.trunc(Number(value(args[1]))) || 0 : 0;
  if (from < 0) from = Math.max(0, from + n);
  for (let i = from; i < n; i++) if ((name === 'includes' || i in recv) && eq(recv[i])) return name === 'includes' ? true : i;
  return name === 'includes' ? false : -1;
}

const ops = { add, sub, mul, div, rem, pow, bor, band, bxor, shl, shr, ushr };

/** A logical assignment (`||=`, `&&=`) that would rebind a `const`. */
export function constAssign(): never {
  throw new TypeError('Assignment to constant variable.');
}
