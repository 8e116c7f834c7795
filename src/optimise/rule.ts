/**
 * What an optimisation rule is, in Optimisers.jl's design: a small immutable value holding
 * hyperparameters, with `init(x)` making the per-tensor state and `apply(state, x, dx)`
 * returning the (possibly mutated) state and the step to subtract from `x`. The state lives
 * outside the rule, in the tree that `setup` builds, so one rule value serves every tensor.
 */
import { Tensor } from '../tensor/tensor.js';
import { fromData } from '../tensor/convert.js';
import { allocate, type FloatArray } from '../tensor/dtype.js';
import { parameterArray, residentAddress } from '../backend/cpu/resident.js';

/** A hyperparameter's value: a number, a pair such as Adam's `beta`, or a flag. */
export type HyperValue = number | readonly [number, number] | boolean;

/** Hyperparameters of a rule, by name (`{ eta: 0.001, beta: [0.9, 0.999], epsilon: 1e-8 }`). */
export type Hyperparameters = { readonly [name: string]: HyperValue };

/**
 * An optimisation rule. Any object of this shape works with `setup`, `update` and `train`:
 * ```ts
 * const SignSGD = (eta = 0.01): Rule<null> => ({
 *   name: 'SignSGD', hyper: { eta },
 *   init: () => null,
 *   apply: (state, x, dx) => [state, mul(sign(dx), eta)],
 *   with: (h) => SignSGD((h.eta as number | undefined) ?? eta),
 * });
 * ```
 * ({@link defineRule} builds such rules from defaults and an `apply`, with `with` for free.)
 */
export interface Rule<S = any> {
  /** Name used in printing and error messages (`Adam`). */
  readonly name: string;
  /** The hyperparameters; their names are what `adjust` accepts. */
  readonly hyper: Hyperparameters;
  /** The state for one tensor `x` (moments, counters; `null` when the rule keeps none). */
  init(x: Tensor): S;
  /**
   * One step for the tensor `x` with gradient `dx`: the new state (it may be `state`, mutated)
   * and the step that `update` subtracts from `x`, or `null` for no change this time.
   */
  apply(state: S, x: Tensor, dx: Tensor): [S, Tensor | null];
  /** A copy of the rule with some hyperparameters changed (used by `adjust`). */
  with?(changes: Hyperparameters): Rule<S>;
  /**
   * Optional fast path over the raw values: mutate `state` in place and either write the
   * step into `out` (which may be the same array as `dx`), or, when `out` is `null`,
   * subtract it from `x` directly. Returns false when there is no step this time. `update`
   * uses it for contiguous CPU tensors, so state update and parameter update share one loop.
   */
  kernel?(state: S, x: FloatArray, dx: FloatArray, out: FloatArray | null): boolean;
}

/** Is `x` a {@link Rule}? */
export function isRule(x: unknown): x is Rule {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Partial<Rule>;
  return typeof r.name === 'string' && typeof r.init === 'function' && typeof r.apply === 'function' && typeof r.hyper === 'object';
}

/** `Adam(eta=0.001, beta=[0.9, 0.999], epsilon=1e-8)`. */
export function showRule(r: Rule): string {
  const parts = (r as { rules?: unknown }).rules;
  if (Array.isArray(parts)) return `${r.name}(${parts.map((p: Rule) => showRule(p)).join(', ')})`;
  const show = (v: HyperValue): string => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v));
  return `${r.name}(${Object.entries(r.hyper).map(([k, v]) => `${k}=${show(v)}`).join(', ')})`;
}

/** How {@link defineRule} describes a rule: defaults, validation, state and step. */
export interface RuleDefinition<H extends Hyperparameters, S> {
  /** The rule's name. */
  readonly name: string;
  /** Every hyperparameter with its default value; these names are the only ones accepted. */
  readonly defaults: H;
  /** Names in the order of the positional form (`Adam(0.01, [0.9, 0.99])`); default: none. */
  readonly order?: readonly (keyof H & string)[];
  /** Throw a clear error for invalid hyperparameters. */
  readonly check?: (h: H) => void;
  /** The state for one tensor. */
  readonly init: (h: H, x: Tensor) => S;
  /** The step (see {@link Rule.apply}), with the hyperparameters first. */
  readonly apply?: (h: H, state: S, x: Tensor, dx: Tensor) => [S, Tensor | null];
  /** The fast path (see {@link Rule.kernel}), with the hyperparameters first. */
  readonly kernel?: (h: H, state: S, x: FloatArray, dx: FloatArray, out: FloatArray | null) => boolean;
}

/**
 * A rule constructor: positional hyperparameters in the rule's order, or one object of
 * named ones; omitted ones take their defaults.
 */
export interface RuleFactory<H extends Hyperparameters, P extends unknown[] = []> {
  (...positional: P): Rule;
  (named: Partial<H>): Rule;
}

/**
 * Make a rule constructor from defaults and a step, so that named and positional forms,
 * validation, printing and `adjust` come for free. A rule needs `apply` (on tensors) or
 * `kernel` (on typed arrays; `apply` is then derived from it).
 * ```ts
 * const SignSGD = defineRule({
 *   name: 'SignSGD', defaults: { eta: 0.01 }, order: ['eta'],
 *   init: () => null,
 *   apply: ({ eta }, state, x, dx) => [state, mul(sign(dx), eta)],
 * });
 * setup(SignSGD(0.1), model);
 * ```
 */
export function defineRule<H extends Hyperparameters, S, P extends unknown[] = []>(def: RuleDefinition<H, S>): RuleFactory<H, P> {
  const { name, defaults, order = [], check, init, apply, kernel } = def;
  if (apply === undefined && kernel === undefined) throw new TypeError(`defineRule: ${name} needs an apply or a kernel`);
  const known = Object.keys(defaults);
  const make = (h: H): Rule<S> => {
    for (const k of Object.keys(h)) {
      if (!known.includes(k)) throw new TypeError(`${name}: unknown hyperparameter '${k}'; its hyperparameters are ${known.join(', ')}`);
      checkKind(name, k, h[k], defaults[k]);
    }
    check?.(h);
    const hyper = Object.freeze({ ...h }) as H;
    const rule: Rule<S> = {
      name,
      hyper,
      init: (x) => init(hyper, x),
      apply: apply !== undefined
        ? (s, x, dx) => apply(hyper, s, x, dx)
        : (s, x, dx) => {
          const out = allocate(x.dtype, x.size);
          const has = kernel!(hyper, s, x.data, dx.data, out);
          return [s, has ? fromData(out, x.shape) : null];
        },
      with: (changes) => make({ ...hyper, ...changes } as H),
      toString: () => showRule(rule),
    } as Rule<S>;
    if (kernel !== undefined && apply === undefined) rule.kernel = (s, x, dx, out) => kernel(hyper, s, x, dx, out);
    return Object.freeze(rule);
  };
  return ((...args: unknown[]) => {
    const named = args.length === 1 && typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0]);
    const given: Record<string, unknown> = {};
    if (named) Object.assign(given, args[0]);
    else {
      if (args.length > order.length) throw new TypeError(`${name}: expected at most ${order.length} positional arguments (${order.join(', ')}), got ${args.length}`);
      args.forEach((a, i) => { if (a !== undefined) given[order[i]] = a; });
    }
    for (const k of Object.keys(given)) if (given[k] === undefined) delete given[k];
    return make({ ...defaults, ...given } as H);
  }) as RuleFactory<H, P>;
}

function checkKind(name: string, key: string, v: unknown, like: HyperValue): void {
  const ok = Array.isArray(like)
    ? Array.isArray(v) && v.length === 2 && v.every((e) => typeof e === 'number' && !Number.isNaN(e))
    : typeof v === typeof like && !(typeof v === 'number' && Number.isNaN(v));
  if (!ok) {
    const want = Array.isArray(like) ? 'a pair of numbers' : `a ${typeof like}`;
    throw new TypeError(`${name}: ${key} must be ${want}, got ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`);
  }
}

// --- validation helpers for the library's rules ---

/** Throw unless `v ≥ 0` (and finite). */
export function nonNegative(rule: string, key: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${rule}: ${key} must be a finite number ≥ 0, got ${v}`);
}

/** Throw unless `0 ≤ v < 1`. */
export function unitInterval(rule: string, key: string, v: number): void {
  if (!(v >= 0 && v < 1)) throw new RangeError(`${rule}: ${key} must be in [0, 1), got ${v}`);
}

/** Throw unless both entries of a pair are in [0, 1). */
export function betaPair(rule: string, key: string, v: readonly [number, number]): void {
  if (!(v[0] >= 0 && v[0] < 1 && v[1] >= 0 && v[1] < 1)) throw new RangeError(`${rule}: both entries of ${key} must be in [0, 1), got [${v.join(', ')}]`);
}

/** A tensor like `x` filled with `value` (state initialisers). */
export function filledLike(x: Tensor, value: number): Tensor {
  // the state of a resident parameter is resident too: the update kernels then work in place
  const d = x.device === undefined && residentAddress(x.nd.data) >= 0 ? parameterArray(x.dtype, x.size) : allocate(x.dtype, x.size);
  if (value !== 0) d.fill(value);
  return fromData(d, x.shape);
}
