/**
 * The user-facing derivatives. Everything is built on {@link pullback}: `gradient` is a
 * pullback seeded with 1, `jacobian` one pullback swept once per output element, `hessian`
 * the jacobian of the gradient, `jvp` the pullback of a pullback.
 */
import { add, mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { reshape, stack } from '../ops/movement.js';
import { describeValue, fromData, tensor } from '../tensor/convert.js';
import { ones, zeros } from '../tensor/create.js';
import { Tensor } from '../tensor/tensor.js';
import { Tape, TrackedNumber } from './tape.js';
import { TrackedTensor } from './tracked.js';
import { gradientOf, isFloatArray, isLayerLike, seedsOf, trackArgument, untrack } from './structure.js';
import { Grads, Params, beginParams } from './params.js';
import './trace.js';

/** Turns a cotangent of the output into one gradient per argument. */
export type Pullback = (dy?: unknown) => unknown[];

/** Run `f` on traced copies of `args`; `keep` false lets the tape go back to the pool after one sweep. */
function record(f: (...a: any[]) => unknown, args: readonly unknown[], op: string): { tape: Tape; traced: unknown[]; y: unknown } {
  checkFunction(f, op);
  checkArguments(args, op);
  const tape = Tape.begin();
  try {
    const traced = args.map((a, i) => trackArgument(a, tape, op, args.length === 1 ? 'the argument' : `argument ${i + 1}`));
    const y = f(...traced);
    return { tape, traced, y };
  } finally {
    tape.end();
  }
}

function checkFunction(f: unknown, op: string): void {
  if (typeof f !== 'function') throw new TypeError(`${op}: expected a function to differentiate, got ${describeValue(f)}`);
}

/**
 * Refuse, naming the argument, what has nothing to differentiate: no argument at all, or an
 * argument that is not a number, array, typed array, tensor or object (a model). Without this
 * the first operation inside `f` would report a confusing error of its own.
 */
function checkArguments(args: readonly unknown[], op: string): void {
  if (args.length === 0) {
    const implicit = op === 'gradient' || op === 'withGradient' ? `, or ${op}(() => loss(…), params(W, b)) for implicit parameters` : '';
    throw new TypeError(`${op}: no argument was given to differentiate with respect to; call ${op}(f, x, …) with the values${implicit}`);
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const t = typeof a;
    if (t === 'number' || (t === 'object' && a !== null) || (t === 'function' && isLayerLike(a))) continue;
    const which = args.length === 1 ? 'the argument' : `argument ${i + 1}`;
    throw new TypeError(
      `${op}: ${which} is ${describeValue(a)}, which cannot be differentiated; ` +
      'pass numbers, arrays, typed arrays, tensors, or objects (models) holding them',
    );
  }
}

function sweepToGradients(tape: Tape, args: readonly unknown[], traced: unknown[], y: unknown, dy: unknown, op: string): unknown[] {
  const adj = tape.sweep(seedsOf(y, dy, tape, op));
  return args.map((a, i) => gradientOf(a, traced[i], adj, tape));
}

/**
 * The value of `f(...args)` and its pullback: `back(dy)` maps a cotangent shaped like the
 * value to one gradient per argument, shaped like that argument. `back` may be called
 * any number of times (and differentiated again).
 * ```ts
 * const [y, back] = pullback((x) => mul(x, x), 3);   // y = 9
 * back(1);                                          // [6]
 * ```
 */
export function pullback<Y>(f: (...args: any[]) => Y, ...args: unknown[]): [Y, Pullback] {
  const { tape, traced, y } = record(f, args, 'pullback');
  const back: Pullback = (dy = 1) => sweepToGradients(tape, args, traced, y, dy, 'pullback');
  return [untrack(y, tape) as Y, back];
}

/** Alias of {@link pullback}: the vector–Jacobian product. */
export const vjp = pullback;

/** Is `y` a valid scalar output, and its seed? */
function scalarSeed(y: unknown, op: string): unknown {
  if (typeof y === 'number' || y instanceof TrackedNumber) return 1;
  if (y instanceof Tensor && y.size === 1) return ones(y.shape, { dtype: y.dtype });
  const what = y instanceof Tensor ? `a tensor of shape [${y.shape.join(',')}]` : Array.isArray(y) ? 'an array' : describeValue(y);
  throw new TypeError(`${op}: the function must return a scalar (a number or a one-element tensor), got ${what}; use pullback or jacobian for other outputs`);
}

/** Split `{ loss, ...aux }` or `[loss, aux]` into the differentiated scalar and the rest. */
function splitLoss(y: unknown): { loss: unknown; aux: unknown; form: 'plain' | 'object' | 'pair' } {
  if (Array.isArray(y) && y.length === 2 && (typeof y[0] === 'number' || y[0] instanceof TrackedNumber || y[0] instanceof Tensor)) {
    return { loss: y[0], aux: y[1], form: 'pair' };
  }
  if (typeof y === 'object' && y !== null && !(y instanceof Tensor) && !Array.isArray(y) && 'loss' in y) {
    const { loss, ...aux } = y as { loss: unknown };
    return { loss, aux, form: 'object' };
  }
  return { loss: y, aux: undefined, form: 'plain' };
}

/**
 * The gradient of a scalar function, one entry per argument, each shaped like its argument.
 * With a {@link Params} as the only argument after `f`, `f` takes no arguments and the
 * result is a {@link Grads} keyed by the params (implicit parameters, as in Flux).
 * ```ts
 * gradient((x) => add(mul(3, pow(x, 2)), add(mul(2, x), 1)), 1);   // [8]
 * gradient(() => loss(x, y), params(W, b)).get(W);
 * ```
 */
export function gradient(f: () => unknown, ps: Params): Grads;
export function gradient(f: (...args: any[]) => unknown, ...args: unknown[]): any[];
export function gradient(f: (...args: any[]) => unknown, ...args: unknown[]): unknown[] | Grads {
  if (args.length === 1) {
    if (args[0] instanceof Params) return implicitGradient(f, args[0], 'gradient').grad;
    if (typeof args[0] === 'number') return [scalarDerivative(f as (x: unknown) => unknown, args[0])];
  }
  const { tape, traced, y } = record(f, args, 'gradient');
  try {
    const seed = scalarSeed(y, 'gradient');
    return sweepToGradients(tape, args, traced, y, seed, 'gradient');
  } finally {
    tape.release();
  }
}

/** gradient(f, x) for one number: the same steps as the general path, without the argument walk (the per-call cost matters here). */
function scalarDerivative(f: (x: unknown) => unknown, x0: number): unknown {
  checkFunction(f, 'gradient');
  const tape = Tape.begin();
  let y: unknown;
  const x = new TrackedNumber(x0, tape, tape.leaf(), tape.gen);
  try {
    y = f(x);
  } finally {
    tape.end();
  }
  try {
    if (!(y instanceof TrackedNumber)) {
      const adj = tape.sweep(seedsOf(y, scalarSeed(y, 'gradient'), tape, 'gradient'));
      return adj[x.id] ?? 0;
    }
    if (y.tape !== tape) return 0;
    return tape.sweep([[y.id, 1]])[x.id] ?? 0;
  } finally {
    tape.release();
  }
}

/**
 * The value and the gradient in one pass: `{ value, grad }`. `f` may return `{ loss, ...aux }`
 * or `[loss, aux]`: the loss is differentiated and `value` is the whole result, with the aux
 * returned as computed (plain values).
 */
export function withGradient<Y>(f: () => Y, ps: Params): { value: Y; grad: Grads };
export function withGradient<Y>(f: (...args: any[]) => Y, ...args: unknown[]): { value: Y; grad: any[] };
export function withGradient(f: (...args: any[]) => unknown, ...args: unknown[]): { value: unknown; grad: unknown } {
  if (args.length === 1 && args[0] instanceof Params) return implicitGradient(f, args[0], 'withGradient');
  const { tape, traced, y } = record(f, args, 'withGradient');
  try {
    const { loss } = splitLoss(y);
    const seed = scalarSeed(loss, 'withGradient');
    const grad = sweepToGradients(tape, args, traced, loss, seed, 'withGradient');
    return { value: untrack(y, tape), grad };
  } finally {
    tape.release();
  }
}

function implicitGradient(f: () => unknown, ps: Params, op: string): { value: unknown; grad: Grads } {
  const tape = Tape.begin();
  let y: unknown;
  let leaves: () => (Tensor | undefined)[];
  try {
    leaves = beginParams(ps, tape);
    y = f();
  } finally {
    tape.end();
  }
  try {
    const { loss } = splitLoss(y);
    const adj = tape.sweep(seedsOf(loss, scalarSeed(loss, op), tape, op));
    const grads = leaves().map((leaf, i) => {
      const p = ps.leaves[i];
      const g = leaf instanceof TrackedTensor ? (adj[leaf.id] as Tensor | undefined) : undefined;
      return g ?? zeros(p.shape, { dtype: p.dtype });
    });
    return { value: untrack(y, tape), grad: new Grads(ps, grads) };
  } finally {
    tape.release();
  }
}

/** Flattened size and shape of a value for jacobians: numbers are scalars, arrays and typed arrays vectors. */
function asTensor(v: unknown, op: string): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v === 'number' || v instanceof TrackedNumber) return tensor(v as number);
  if (Array.isArray(v) || isFloatArray(v)) return tensor(v as number[]);
  throw new TypeError(`${op}: expected numbers, arrays or tensors, got ${typeof v}`);
}

/**
 * The Jacobian of `f` at `args`: for each argument, a tensor of shape `[...y.shape,
 * ...x.shape]` (a number when both are numbers). Computed with one reverse sweep per
 * output element.
 */
export function jacobian(f: (...args: any[]) => unknown, ...args: unknown[]): any[] {
  return jacobianOf(f, args, 'jacobian');
}

function jacobianOf(f: (...args: any[]) => unknown, args: readonly unknown[], op: string): any[] {
  checkFunction(f, op);
  checkArguments(args, op);
  const [y, back] = pullback(f, ...args);
  const yt = asTensor(y, 'jacobian');
  const scalarOut = typeof y === 'number' || y instanceof TrackedNumber;
  const rows: unknown[][] = [];
  for (let i = 0; i < yt.size; i++) {
    // a one-hot cotangent shaped like the output (nested arrays for an array output)
    const d = new (yt.dtype === 'float32' ? Float32Array : Float64Array)(yt.size);
    d[i] = 1;
    const seed = scalarOut ? 1 : Array.isArray(y) ? fromData(d, yt.shape).toArray() : fromData(d, yt.shape);
    rows.push(back(seed));
  }
  return args.map((a, j) => {
    if (scalarOut && (typeof a === 'number' || a instanceof TrackedNumber)) return rows[0][j];
    const xs = rows.map((r) => asTensor(r[j], 'jacobian'));
    const xShape = xs[0].shape;
    return reshape(stack(xs, 0), [...yt.shape, ...xShape]);
  });
}

/** The Hessian of a scalar function of one argument: the Jacobian of its gradient. */
export function hessian(f: (x: any) => unknown, x: unknown): any {
  checkFunction(f, 'hessian');
  return jacobianOf((v: unknown) => gradient(f, v)[0], arguments.length < 2 ? [] : [x], 'hessian')[0];
}

/**
 * Forward mode: the value of `f` at `primals` and its directional derivative along
 * `tangents` (one per primal, shaped like it). Computed as the pullback of the pullback,
 * which is linear in the cotangent, so its own gradient is J·t.
 */
export function jvp(f: (...args: any[]) => unknown, primals: readonly unknown[], tangents: readonly unknown[]): [any, any] {
  checkFunction(f, 'jvp');
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TypeError(`jvp: expected arrays of primals and tangents, jvp(f, [x], [t]); got ${describeValue(primals)} and ${describeValue(tangents)}`);
  }
  checkArguments(primals, 'jvp');
  if (tangents.length !== primals.length) throw new TypeError(`jvp: ${primals.length} primals but ${tangents.length} tangents`);
  const [y, back] = pullback(f, ...primals);
  const u0 = typeof y === 'number' ? 0 : asTensor(y, 'jvp').mul(0);
  const [, backT] = pullback((u: unknown) => {
    let s: unknown = 0;
    back(u).forEach((g, i) => {
      const term = typeof g === 'number' || g instanceof TrackedNumber
        ? mul(g as number, tangents[i] as number)
        : sum(mul(asTensor(g, 'jvp'), asTensor(tangents[i], 'jvp')));
      s = add(s as number, term as number);
    });
    return s;
  }, u0);
  const [t] = backT(1);
  return [y, Array.isArray(y) ? (t as Tensor).toArray() : t];
}
