/**
 * Rules that transform the gradient rather than descend on their own — decay, clipping,
 * accumulation — and {@link OptimiserChain}, which composes rules: each one's step is the
 * next one's gradient, and the last one's step is subtracted from the parameter.
 */
import type { Tensor } from '../tensor/tensor.js';
import { allocate, type FloatArray } from '../tensor/dtype.js';
import { defineRule, filledLike, isRule, nonNegative, showRule, type Hyperparameters, type HyperValue, type Rule } from './rule.js';

/**
 * L2 regularisation, first in an {@link OptimiserChain}: the gradient becomes
 * `dx + lambda · x` (as if `lambda/2 · ‖x‖²` were added to the loss). Default `lambda = 5e-4`.
 * ```ts
 * OptimiserChain(WeightDecay(1e-4), Adam(1e-3))
 * ```
 */
export const WeightDecay = defineRule<{ lambda: number }, null, [lambda?: number]>({
  name: 'WeightDecay', defaults: { lambda: 5e-4 }, order: ['lambda'],
  check: (h) => nonNegative('WeightDecay', 'lambda', h.lambda),
  init: () => null,
  kernel: ({ lambda }, _s, x, dx, out) => {
    const n = x.length;
    for (let i = 0; i < n; i++) {
      const step = dx[i] + lambda * x[i];
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/**
 * L1 regularisation, first in an {@link OptimiserChain}: the gradient becomes
 * `dx + lambda · sign(x)` (as if `lambda · ‖x‖₁` were added to the loss). Default `lambda = 1e-3`.
 */
export const SignDecay = defineRule<{ lambda: number }, null, [lambda?: number]>({
  name: 'SignDecay', defaults: { lambda: 1e-3 }, order: ['lambda'],
  check: (h) => nonNegative('SignDecay', 'lambda', h.lambda),
  init: () => null,
  kernel: ({ lambda }, _s, x, dx, out) => {
    const n = x.length;
    for (let i = 0; i < n; i++) {
      const xi = x[i];
      const step = dx[i] + (xi > 0 ? lambda : xi < 0 ? -lambda : 0);
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** Clamp every gradient element to `[-delta, delta]`. Default `delta = 10`. */
export const ClipGrad = defineRule<{ delta: number }, null, [delta?: number]>({
  name: 'ClipGrad', defaults: { delta: 10 }, order: ['delta'],
  check: (h) => nonNegative('ClipGrad', 'delta', h.delta),
  init: () => null,
  kernel: ({ delta }, _s, x, dx, out) => {
    const n = x.length;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const step = g > delta ? delta : g < -delta ? -delta : g;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

function norm(dx: FloatArray, p: number): number {
  let s = 0;
  const n = dx.length;
  if (p === 2) { for (let i = 0; i < n; i++) s += dx[i] * dx[i]; return Math.sqrt(s); }
  if (p === 1) { for (let i = 0; i < n; i++) s += Math.abs(dx[i]); return s; }
  if (p === Infinity) {
    for (let i = 0; i < n; i++) { const a = Math.abs(dx[i]); if (a > s || Number.isNaN(a)) s = a; }
    return s;
  }
  for (let i = 0; i < n; i++) s += Math.abs(dx[i]) ** p;
  return s ** (1 / p);
}

/**
 * Scale each tensor's gradient down to `p`-norm `omega` when its norm is larger (per tensor,
 * as in Optimisers.jl). A NaN or infinite norm is an error unless `throw` is false.
 * Defaults `omega = 10`, `p = 2` (any `p > 0`, or `Infinity`), `throw = true`.
 */
export const ClipNorm = defineRule<{ omega: number; p: number; throw: boolean }, null, [omega?: number, p?: number]>({
  name: 'ClipNorm', defaults: { omega: 10, p: 2, throw: true }, order: ['omega', 'p'],
  check: (h) => {
    nonNegative('ClipNorm', 'omega', h.omega);
    if (!(h.p > 0)) throw new RangeError(`ClipNorm: p must be > 0 (or Infinity), got ${h.p}`);
  },
  init: () => null,
  kernel: ({ omega, p, throw: raise }, _s, x, dx, out) => {
    const nrm = norm(dx, p);
    if (raise && !Number.isFinite(nrm)) {
      throw new RangeError(`ClipNorm: the gradient of a tensor of ${dx.length} elements has ${p}-norm ${nrm}; pass throw: false to let it through`);
    }
    const scale = Math.min(omega / nrm, 1);
    const n = x.length;
    for (let i = 0; i < n; i++) {
      const step = dx[i] * scale;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link AccumGrad}: the running mean of the gradients so far and how many there were. */
export interface AccumGradState { sum: Tensor; count: number }

/**
 * Accumulate `n` gradients and pass on their mean once every `n` steps (nothing changes in
 * between): `OptimiserChain(AccumGrad(4), Adam())` trains with an effective batch 4 times
 * larger. Default `n = 1`.
 */
export const AccumGrad = defineRule<{ n: number }, AccumGradState, [n?: number]>({
  name: 'AccumGrad', defaults: { n: 1 }, order: ['n'],
  check: (h) => { if (!Number.isInteger(h.n) || h.n < 1) throw new RangeError(`AccumGrad: n must be a positive integer, got ${h.n}`); },
  init: (_h, x) => ({ sum: filledLike(x, 0), count: 0 }),
  kernel: ({ n: every }, s, x, dx, out) => {
    const a = s.sum.data, n = x.length, w = 1 / every, first = s.count === 0;
    s.count++;
    const done = s.count === every;
    for (let i = 0; i < n; i++) {
      const ai = first ? dx[i] * w : a[i] + dx[i] * w;
      a[i] = ai;
      if (done) { if (out === null) x[i] -= a[i]; else out[i] = a[i]; }
    }
    if (done) s.count = 0;
    return done;
  },
});

/** The rules of an {@link OptimiserChain}, in order. */
export interface ChainRule extends Rule<unknown[]> {
  /** The rules, in the order they see the gradient. */
  readonly rules: readonly Rule[];
}

// one scratch array per chained tensor, reused on every step (not part of the saved state)
const scratch = new WeakMap<object, FloatArray>();

/**
 * Compose rules: each one's step is the next one's gradient, in order, and the last one's
 * step is subtracted from the parameter. `OptimiserChain()` (no rules) is `Descent(1)`.
 * `adjust` passes each hyperparameter to every rule of the chain that has it.
 * ```ts
 * OptimiserChain(ClipNorm(1), WeightDecay(1e-4), Adam(1e-3))
 * ```
 */
export function OptimiserChain(...rules: Rule[]): ChainRule {
  rules.forEach((r, i) => {
    if (!isRule(r)) throw new TypeError(`OptimiserChain: argument ${i + 1} is not a rule (expected e.g. Adam(), got ${typeof r})`);
  });
  const hyper: Record<string, HyperValue> = {};
  for (const r of rules) for (const [k, v] of Object.entries(r.hyper)) if (!(k in hyper)) hyper[k] = v;
  const chain: ChainRule = {
    name: 'OptimiserChain',
    rules: Object.freeze([...rules]),
    hyper: Object.freeze(hyper),
    init: (x) => rules.map((r) => r.init(x)),
    apply: (states, x, dx) => {
      let g: Tensor | null = dx;
      for (let i = 0; i < rules.length && g !== null; i++) {
        const [s, step]: [unknown, Tensor | null] = rules[i].apply(states[i], x, g);
        states[i] = s;
        g = step;
      }
      return [states, g];
    },
    with: (changes: Hyperparameters) => OptimiserChain(...rules.map((r) => {
      const mine = Object.fromEntries(Object.entries(changes).filter(([k]) => k in r.hyper));
      if (Object.keys(mine).length === 0) return r;
      if (r.with === undefined) throw new TypeError(`adjust: ${r.name} in the chain cannot be adjusted (it has no with method)`);
      return r.with(mine);
    })),
    toString: () => `OptimiserChain(${rules.map((r) => showRule(r)).join(', ')})`,
  } as ChainRule;
  if (rules.every((r) => r.kernel !== undefined)) {
    const last = rules.length - 1;
    (chain as { kernel?: Rule<unknown[]>['kernel'] }).kernel = (states, x, dx, out) => {
      if (last < 0) {
        for (let i = 0; i < x.length; i++) { if (out === null) x[i] -= dx[i]; else out[i] = dx[i]; }
        return true;
      }
      if (last === 0) return rules[0].kernel!(states[0], x, dx, out);
      let buf = scratch.get(states);
      if (buf === undefined || buf.length !== x.length) {
        buf = allocate(x instanceof Float32Array ? 'float32' : 'float64', x.length);
        scratch.set(states, buf);
      }
      if (!rules[0].kernel!(states[0], x, dx, buf)) return false;
      for (let i = 1; i < last; i++) if (!rules[i].kernel!(states[i], x, buf, buf)) return false;
      return rules[last].kernel!(states[last], x, buf, out);
    };
  }
  return Object.freeze(chain);
}
