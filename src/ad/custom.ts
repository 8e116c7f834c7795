/** Custom derivative rules and ways to stop differentiation. */
import { type Tape, TrackedNumber, liveNumber, primalNumber, trackNumber, withTapesPaused } from './tape.js';
import { TrackedTensor, primalTensor, resolveTensor } from './tracked.js';
import { Tensor } from '../tensor/tensor.js';

/** @internal The live traced form of a direct argument, or undefined if it is not traced. */
export function liveOf(x: unknown): TrackedNumber | TrackedTensor | undefined {
  if (x instanceof TrackedNumber) {
    const l = liveNumber(x);
    return typeof l === 'number' ? undefined : l;
  }
  if (x instanceof Tensor && x._ad !== undefined) {
    const l = resolveTensor(x);
    return l instanceof TrackedTensor ? l : undefined;
  }
  return undefined;
}

/** @internal The arguments of a hand-written node, as {@link nodeInputs} reads them. */
export interface NodeInputs<T> {
  /** The innermost tape that traces an argument; undefined when none does. */
  top: Tape | undefined;
  /**
   * What the node's own computation gets: each argument traced by `top` one level below it
   * (its primal), others as they are (still traced by enclosing gradients, if any); with no
   * `top`, numbers whose tracing has ended are plain numbers.
   */
  primals: T[];
  /** The id of each argument on `top`, −1 for those it does not trace. */
  ids: number[];
}

/**
 * @internal How a node with a hand-written derivative ({@link customGradient}, checkpoint's
 * multiOutput) reads its arguments: which tape records it and what it computes with.
 */
export function nodeInputs<T>(args: readonly T[]): NodeInputs<T> {
  const live = args.map(liveOf);
  let top: Tape | undefined;
  for (const l of live) if (l !== undefined && (top === undefined || l.tape.level > top.level)) top = l.tape;
  if (top === undefined) {
    const primals = args.map((a, i) => (live[i] === undefined && a instanceof TrackedNumber ? (primalNumber(a) as T) : a));
    return { top, primals, ids: args.map(() => -1) };
  }
  const primals = args.map((a, i) => {
    const l = live[i];
    if (l === undefined || l.tape !== top) return (l ?? a) as T;
    return (l instanceof TrackedNumber ? l.value : l.primal) as T;
  });
  return { top, primals, ids: live.map((l) => (l !== undefined && l.tape === top ? l.id : -1)) };
}

/**
 * A function with a hand-written derivative, in ChainRules' `rrule` shape: `rule(...args)`
 * returns `[y, pullback]`, where `pullback(dy)` returns one cotangent per argument (null for
 * none). The rule receives plain values (or values traced by enclosing gradients) and
 * should compute the pullback with fluxion's operations, so it can be differentiated again.
 * Arguments that are neither numbers nor tensors are passed through as constants.
 * ```ts
 * const softclip = customGradient(
 *   (x) => tanh(x),
 *   (x) => { const y = tanh(x); return [y, (dy) => [mul(dy, sub(1, mul(y, y)))]]; },
 * );
 * ```
 */
export function customGradient<A extends unknown[], Y extends number | Tensor>(
  f: (...args: A) => Y,
  rule: (...args: A) => [Y, (dy: Y) => readonly unknown[]],
): (...args: A) => Y {
  return (...args: A): Y => {
    const { top, primals, ids } = nodeInputs(args);
    if (top === undefined) return f(...(primals as A));
    const [y, pb] = rule(...(primals as A));
    const id = top.general(ids, (dy) => {
      const cts = pb(dy as Y);
      if (cts.length !== args.length) throw new TypeError(`customGradient: the pullback returned ${cts.length} cotangents for ${args.length} arguments`);
      return cts;
    });
    if (y instanceof Tensor) return new TrackedTensor(y, top, id) as unknown as Y;
    if (typeof y === 'number' || y instanceof TrackedNumber) return trackNumber(y, top, id) as unknown as Y;
    throw new TypeError('customGradient: the rule must return [y, pullback] with y a number or a Tensor');
  };
}

/** The value of `x` with no derivative flowing through it (numbers, tensors, and arrays/objects of them). */
export function stopGradient<T>(x: T): T {
  if (x instanceof TrackedNumber) return primalNumber(x) as T;
  if (x instanceof Tensor) return (x._ad === undefined ? x : new Tensor(primalTensor(x).nd)) as T;
  if (Array.isArray(x)) return x.map(stopGradient) as T;
  if (typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, stopGradient(v)])) as T;
  }
  return x;
}

/** Run `fn` without recording: everything traced so far acts as a constant inside. */
export function ignoreGradient<T>(fn: () => T): T {
  return withTapesPaused(fn);
}
