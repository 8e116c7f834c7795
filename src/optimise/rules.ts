/**
 * The optimisation rules, with Optimisers.jl's definitions and defaults (the differences are
 * stated where they exist). Every rule works on one tensor at a time; its state is an object
 * of tensors shaped like that tensor, plus step counters, mutated in place by `update`.
 *
 * Each rule's `kernel` is one loop over the values that updates the state and either writes
 * the step (inside an `OptimiserChain`) or subtracts it from the parameter directly.
 * The loops compute in float64 and round once when storing into a float32 state or parameter;
 * Descent and Adam on float32 run four-wide wasm kernels instead, which round in float32.
 */
import type { Tensor } from '../tensor/tensor.js';
import { adamF32, descentF32 } from '../backend/cpu/update.js';
import { betaPair, defineRule, filledLike, nonNegative, unitInterval } from './rule.js';

/** Two coefficients, such as Adam's `beta`. */
export type Pair = readonly [number, number];

/** State of rules that keep one moving average (Momentum, Nesterov). */
export interface VelocityState { velocity: Tensor }
/** State of the Adam family: first and second moments and the number of steps taken. */
export interface MomentState { m: Tensor; v: Tensor; t: number }

const zerosOf = (x: Tensor): Tensor => filledLike(x, 0);

/**
 * Gradient descent: `x -= eta * dx`. Default `eta = 0.1`.
 * ```ts
 * Descent(0.01); Descent({ eta: 0.01 });
 * ```
 */
export const Descent = defineRule<{ eta: number }, null, [eta?: number]>({
  name: 'Descent', defaults: { eta: 0.1 }, order: ['eta'],
  check: (h) => nonNegative('Descent', 'eta', h.eta),
  init: () => null,
  kernel: ({ eta }, _s, x, dx, out) => {
    const n = x.length;
    if (out === null && x instanceof Float32Array && dx instanceof Float32Array && descentF32(eta, x, dx)) return true;
    if (out === null) for (let i = 0; i < n; i++) x[i] -= eta * dx[i];
    else for (let i = 0; i < n; i++) out[i] = eta * dx[i];
    return true;
  },
});

/**
 * Momentum: `v = rho * v + eta * dx; x -= v`. Defaults `eta = 0.01`, `rho = 0.9`.
 * (TF.js's `momentum(lr, m)` keeps `v / lr`; the steps are the same at a fixed rate.)
 */
export const Momentum = defineRule<{ eta: number; rho: number }, VelocityState, [eta?: number, rho?: number]>({
  name: 'Momentum', defaults: { eta: 0.01, rho: 0.9 }, order: ['eta', 'rho'],
  check: (h) => { nonNegative('Momentum', 'eta', h.eta); unitInterval('Momentum', 'rho', h.rho); },
  init: (_h, x) => ({ velocity: zerosOf(x) }),
  kernel: ({ eta, rho }, s, x, dx, out) => {
    const v = s.velocity.data, n = x.length;
    for (let i = 0; i < n; i++) {
      const vi = rho * v[i] + eta * dx[i];
      v[i] = vi;
      if (out === null) x[i] -= vi; else out[i] = vi;
    }
    return true;
  },
});

/**
 * Nesterov momentum: step `-rho² v + (1 + rho) eta dx`, then `v = rho v - eta dx`.
 * Defaults `eta = 0.001`, `rho = 0.9` (the same steps as TF.js's `momentum(lr, m, true)`).
 */
export const Nesterov = defineRule<{ eta: number; rho: number }, VelocityState, [eta?: number, rho?: number]>({
  name: 'Nesterov', defaults: { eta: 0.001, rho: 0.9 }, order: ['eta', 'rho'],
  check: (h) => { nonNegative('Nesterov', 'eta', h.eta); unitInterval('Nesterov', 'rho', h.rho); },
  init: (_h, x) => ({ velocity: zerosOf(x) }),
  kernel: ({ eta, rho }, s, x, dx, out) => {
    const v = s.velocity.data, n = x.length, a = rho * rho, b = (1 + rho) * eta;
    for (let i = 0; i < n; i++) {
      const g = dx[i], vi = v[i];
      const step = b * g - a * vi;
      v[i] = rho * vi - eta * g;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link RMSProp}: the mean square of the gradient, and its mean when centred. */
export interface RMSPropState { meanSquare: Tensor; meanGrad: Tensor | null }

/**
 * RMSProp: `s = rho s + (1 - rho) dx²; step = eta dx / (√(s - m²) + epsilon)` with `m` the
 * mean gradient when `centred` (else 0). Defaults `eta = 0.001`, `rho = 0.9`,
 * `epsilon = 1e-8`, `centred = false`. TF.js puts epsilon inside the square root (and
 * subtracts it in the centred form); with `epsilon = 0` the two agree.
 */
export const RMSProp = defineRule<{ eta: number; rho: number; epsilon: number; centred: boolean }, RMSPropState,
  [eta?: number, rho?: number, epsilon?: number, centred?: boolean]>({
  name: 'RMSProp', defaults: { eta: 0.001, rho: 0.9, epsilon: 1e-8, centred: false }, order: ['eta', 'rho', 'epsilon', 'centred'],
  check: (h) => { nonNegative('RMSProp', 'eta', h.eta); unitInterval('RMSProp', 'rho', h.rho); nonNegative('RMSProp', 'epsilon', h.epsilon); },
  init: (h, x) => ({ meanSquare: zerosOf(x), meanGrad: h.centred ? zerosOf(x) : null }),
  kernel: ({ eta, rho, epsilon }, s, x, dx, out) => {
    const q = s.meanSquare.data, l = s.meanGrad?.data, n = x.length, c = 1 - rho;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const qi = rho * q[i] + c * g * g;
      q[i] = qi;
      let den = qi;
      if (l !== undefined) {
        const li = rho * l[i] + c * g;
        l[i] = li;
        den = qi - li * li;
      }
      const step = (eta * g) / (Math.sqrt(den) + epsilon);
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link Rprop}: the previous gradient (0 after a sign change) and each element's step size. */
export interface RpropState { previous: Tensor; stepSize: Tensor }

/**
 * Rprop: each element's step size grows by `ell[1]` while the gradient keeps its sign and
 * shrinks by `ell[0]` when it flips, within `gamma`; the step is `stepSize * sign(dx)`.
 * Defaults `eta = 0.001` (the initial step size), `ell = [0.5, 1.2]`, `gamma = [1e-6, 50]`.
 */
export const Rprop = defineRule<{ eta: number; ell: Pair; gamma: Pair }, RpropState, [eta?: number, ell?: Pair, gamma?: Pair]>({
  name: 'Rprop', defaults: { eta: 0.001, ell: [0.5, 1.2], gamma: [1e-6, 50] }, order: ['eta', 'ell', 'gamma'],
  check: (h) => {
    nonNegative('Rprop', 'eta', h.eta);
    if (!(h.ell[0] > 0 && h.ell[0] <= 1 && h.ell[1] >= 1)) throw new RangeError(`Rprop: ell must be [decrease ≤ 1, increase ≥ 1], got [${h.ell.join(', ')}]`);
    if (!(h.gamma[0] >= 0 && h.gamma[0] <= h.gamma[1])) throw new RangeError(`Rprop: gamma must be [min, max] with 0 ≤ min ≤ max, got [${h.gamma.join(', ')}]`);
  },
  init: (h, x) => ({ previous: zerosOf(x), stepSize: filledLike(x, h.eta) }),
  kernel: ({ ell, gamma }, s, x, dx, out) => {
    const p = s.previous.data, e = s.stepSize.data, n = x.length;
    const [down, up] = ell, [lo, hi] = gamma;
    for (let i = 0; i < n; i++) {
      const g = dx[i], sgn = p[i] * g;
      let ei = e[i];
      if (sgn > 0) ei = Math.min(ei * up, hi);
      else if (sgn < 0) ei = Math.max(ei * down, lo);
      e[i] = ei;
      const gi = sgn < 0 ? 0 : g;
      p[i] = gi;
      const step = gi > 0 ? ei : gi < 0 ? -ei : 0;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** The hyperparameters the Adam family shares. */
export type AdamHyper = { eta: number; beta: Pair; epsilon: number };
const adamDefaults: AdamHyper = { eta: 0.001, beta: [0.9, 0.999], epsilon: 1e-8 };
const adamOrder = ['eta', 'beta', 'epsilon'] as const;
const adamCheck = (name: string) => (h: AdamHyper): void => {
  nonNegative(name, 'eta', h.eta);
  betaPair(name, 'beta', h.beta);
  nonNegative(name, 'epsilon', h.epsilon);
};
const momentsOf = (x: Tensor): MomentState => ({ m: zerosOf(x), v: zerosOf(x), t: 0 });

/**
 * Adam: `m = β₁m + (1-β₁)dx; v = β₂v + (1-β₂)dx²; step = eta · m̂ / (√v̂ + epsilon)` with the
 * bias corrections `m̂ = m / (1-β₁ᵗ)`, `v̂ = v / (1-β₂ᵗ)`. Defaults `eta = 0.001`,
 * `beta = [0.9, 0.999]`, `epsilon = 1e-8` (TF.js's `adam` is the same rule; its default
 * epsilon is 1e-7).
 */
export const Adam = defineRule<AdamHyper, MomentState, [eta?: number, beta?: Pair, epsilon?: number]>({
  name: 'Adam', defaults: adamDefaults, order: adamOrder, check: adamCheck('Adam'),
  init: (_h, x) => momentsOf(x),
  kernel: ({ eta, beta: [b1, b2], epsilon }, s, x, dx, out) => {
    const m = s.m.data, v = s.v.data, n = x.length, t = ++s.t;
    const c1 = 1 / (1 - b1 ** t), c2 = 1 / (1 - b2 ** t), d1 = 1 - b1, d2 = 1 - b2;
    // float32: the four-wide wasm kernel (the same formula, rounded in float32)
    if (x instanceof Float32Array && dx instanceof Float32Array && m instanceof Float32Array && v instanceof Float32Array &&
      (out === null || out instanceof Float32Array) && adamF32({ b1, b2, c1, c2, epsilon, eta }, x, dx, m, v, out)) return true;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const mi = b1 * m[i] + d1 * g, vi = b2 * v[i] + d2 * g * g;
      m[i] = mi; v[i] = vi;
      const step = ((mi * c1) / (Math.sqrt(vi * c2) + epsilon)) * eta;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/**
 * AdamW, PyTorch's rule: `x -= eta · (adam + lambda · x)` where `adam` is Adam's step at
 * rate 1, so the decay is scaled by the learning rate (Optimisers.jl's default `couple =
 * true`, the same rule). With `couple = false` the decay is not scaled:
 * `x -= eta · adam + lambda · x` (closer to the paper). Defaults `eta = 0.001`,
 * `beta = [0.9, 0.999]`, `lambda = 0` (Optimisers.jl's; PyTorch's default `weight_decay`
 * is 0.01), `epsilon = 1e-8`.
 */
export const AdamW = defineRule<AdamHyper & { lambda: number; couple: boolean }, MomentState,
  [eta?: number, beta?: Pair, lambda?: number, epsilon?: number]>({
  name: 'AdamW', defaults: { eta: 0.001, beta: [0.9, 0.999], lambda: 0, epsilon: 1e-8, couple: true }, order: ['eta', 'beta', 'lambda', 'epsilon'],
  check: (h) => { adamCheck('AdamW')(h); nonNegative('AdamW', 'lambda', h.lambda); },
  init: (_h, x) => momentsOf(x),
  kernel: ({ eta, beta: [b1, b2], epsilon, lambda, couple }, s, x, dx, out) => {
    const m = s.m.data, v = s.v.data, n = x.length, t = ++s.t;
    const c1 = 1 / (1 - b1 ** t), c2 = 1 / (1 - b2 ** t), d1 = 1 - b1, d2 = 1 - b2;
    const decay = couple ? eta * lambda : lambda;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const mi = b1 * m[i] + d1 * g, vi = b2 * v[i] + d2 * g * g;
      m[i] = mi; v[i] = vi;
      const step = eta * ((mi * c1) / (Math.sqrt(vi * c2) + epsilon)) + decay * x[i];
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/**
 * Rectified Adam: Adam's step scaled by the variance rectification `r` once the
 * approximated SMA length `ρ` exceeds 4, and plain bias-corrected momentum before that.
 * Defaults as {@link Adam}.
 */
export const RAdam = defineRule<AdamHyper, MomentState, [eta?: number, beta?: Pair, epsilon?: number]>({
  name: 'RAdam', defaults: adamDefaults, order: adamOrder, check: adamCheck('RAdam'),
  init: (_h, x) => momentsOf(x),
  kernel: ({ eta, beta: [b1, b2], epsilon }, s, x, dx, out) => {
    const m = s.m.data, v = s.v.data, n = x.length, t = ++s.t;
    const b2t = b2 ** t, c1 = 1 / (1 - b1 ** t), c2 = 1 / (1 - b2t), d1 = 1 - b1, d2 = 1 - b2;
    const rhoInf = 2 / (1 - b2) - 1;
    const rho = rhoInf - (2 * t * b2t) / (1 - b2t);
    const rectified = rho > 4;
    const r = rectified ? Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) : 0;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const mi = b1 * m[i] + d1 * g, vi = b2 * v[i] + d2 * g * g;
      m[i] = mi; v[i] = vi;
      const step = rectified ? ((mi * c1) / (Math.sqrt(vi * c2) + epsilon)) * eta * r : mi * c1 * eta;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/**
 * NAdam, Adam with Nesterov momentum, as Optimisers.jl writes it:
 * `step = eta · (β₁m / (1-β₁ᵗ⁺¹) + (1-β₁)dx / (1-β₁ᵗ)) / (√(β₂v / (1-β₂ᵗ)) + epsilon)`.
 * (Dozat's paper has no β₂ factor under the root; PyTorch adds a momentum-decay schedule.)
 * Defaults as {@link Adam}.
 */
export const NAdam = defineRule<AdamHyper, MomentState, [eta?: number, beta?: Pair, epsilon?: number]>({
  name: 'NAdam', defaults: adamDefaults, order: adamOrder, check: adamCheck('NAdam'),
  init: (_h, x) => momentsOf(x),
  kernel: ({ eta, beta: [b1, b2], epsilon }, s, x, dx, out) => {
    const m = s.m.data, v = s.v.data, n = x.length, t = ++s.t;
    const b1t = b1 ** t, d1 = 1 - b1, d2 = 1 - b2;
    const cm = b1 / (1 - b1 * b1t), cg = d1 / (1 - b1t), cv = b2 / (1 - b2 ** t);
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const mi = b1 * m[i] + d1 * g, vi = b2 * v[i] + d2 * g * g;
      m[i] = mi; v[i] = vi;
      const step = ((cm * mi + cg * g) / (Math.sqrt(vi * cv) + epsilon)) * eta;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link AdaMax}: the first moment, the weighted infinity norm and the steps taken. */
export interface AdaMaxState { m: Tensor; u: Tensor; t: number }

/**
 * AdaMax, Adam with the infinity norm: `u = max(β₂u, |dx|)`,
 * `step = eta / (1-β₁ᵗ) · m / (u + epsilon)`. Defaults as {@link Adam} (TF.js's `adamax`
 * is the same rule).
 */
export const AdaMax = defineRule<AdamHyper, AdaMaxState, [eta?: number, beta?: Pair, epsilon?: number]>({
  name: 'AdaMax', defaults: adamDefaults, order: adamOrder, check: adamCheck('AdaMax'),
  init: (_h, x) => ({ m: zerosOf(x), u: zerosOf(x), t: 0 }),
  kernel: ({ eta, beta: [b1, b2], epsilon }, s, x, dx, out) => {
    const m = s.m.data, u = s.u.data, n = x.length, t = ++s.t;
    const lr = eta / (1 - b1 ** t), d1 = 1 - b1;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const mi = b1 * m[i] + d1 * g, ui = Math.max(b2 * u[i], Math.abs(g));
      m[i] = mi; u[i] = ui;
      const step = (lr * mi) / (ui + epsilon);
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link AMSGrad}: the moments and the running maximum of the second moment. */
export interface AMSGradState { m: Tensor; v: Tensor; vmax: Tensor }

/**
 * AMSGrad: Adam's moments without bias correction, dividing by the running maximum of the
 * second moment: `step = eta · m / (√vmax + epsilon)`. The three states start at `epsilon`,
 * as in Optimisers.jl. Defaults as {@link Adam}.
 */
export const AMSGrad = defineRule<AdamHyper, AMSGradState, [eta?: number, beta?: Pair, epsilon?: number]>({
  name: 'AMSGrad', defaults: adamDefaults, order: adamOrder, check: adamCheck('AMSGrad'),
  init: (h, x) => ({ m: filledLike(x, h.epsilon), v: filledLike(x, h.epsilon), vmax: filledLike(x, h.epsilon) }),
  kernel: ({ eta, beta: [b1, b2], epsilon }, s, x, dx, out) => {
    const m = s.m.data, v = s.v.data, w = s.vmax.data, n = x.length, d1 = 1 - b1, d2 = 1 - b2;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const mi = b1 * m[i] + d1 * g, vi = b2 * v[i] + d2 * g * g;
      m[i] = mi; v[i] = vi;
      // the max is taken on the stored (rounded) v, so vmax ≥ v holds exactly in float32 too
      const wi = Math.max(w[i], v[i]);
      w[i] = wi;
      const step = (eta * mi) / (Math.sqrt(w[i]) + epsilon);
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link AdaBelief}: the first moment, the "belief" `s` (variance of dx around m) and the steps taken. */
export interface AdaBeliefState { m: Tensor; s: Tensor; t: number }

/**
 * AdaBelief: Adam with `s = β₂s + (1-β₂)(dx - m)² + epsilon` in place of the second moment.
 * Defaults `eta = 0.001`, `beta = [0.9, 0.999]`, `epsilon = 1e-16`.
 */
export const AdaBelief = defineRule<AdamHyper, AdaBeliefState, [eta?: number, beta?: Pair, epsilon?: number]>({
  name: 'AdaBelief', defaults: { ...adamDefaults, epsilon: 1e-16 }, order: adamOrder, check: adamCheck('AdaBelief'),
  init: (_h, x) => ({ m: zerosOf(x), s: zerosOf(x), t: 0 }),
  kernel: ({ eta, beta: [b1, b2], epsilon }, st, x, dx, out) => {
    const m = st.m.data, s = st.s.data, n = x.length, t = ++st.t;
    const c1 = 1 / (1 - b1 ** t), c2 = 1 / (1 - b2 ** t), d1 = 1 - b1, d2 = 1 - b2;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const mi = b1 * m[i] + d1 * g;
      m[i] = mi;
      const e = g - m[i];
      const si = b2 * s[i] + d2 * e * e + epsilon;
      s[i] = si;
      const step = (eta * mi * c1) / (Math.sqrt(si * c2) + epsilon);
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link AdaGrad}: the running sum of squared gradients (it starts at `epsilon`). */
export interface AdaGradState { sum: Tensor }

/**
 * AdaGrad: `sum += dx²; step = eta · dx / (√sum + epsilon)`, the sum starting at epsilon.
 * Defaults `eta = 0.1`, `epsilon = 1e-8`. TF.js's `adagrad` starts the sum at 0.1 and puts
 * its epsilon inside the root.
 */
export const AdaGrad = defineRule<{ eta: number; epsilon: number }, AdaGradState, [eta?: number, epsilon?: number]>({
  name: 'AdaGrad', defaults: { eta: 0.1, epsilon: 1e-8 }, order: ['eta', 'epsilon'],
  check: (h) => { nonNegative('AdaGrad', 'eta', h.eta); nonNegative('AdaGrad', 'epsilon', h.epsilon); },
  init: (h, x) => ({ sum: filledLike(x, h.epsilon) }),
  kernel: ({ eta, epsilon }, s, x, dx, out) => {
    const a = s.sum.data, n = x.length;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      a[i] += g * g;
      const step = (eta * g) / (Math.sqrt(a[i]) + epsilon);
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link AdaDelta}: the mean squares of the gradient and of the steps. */
export interface AdaDeltaState { meanSquare: Tensor; meanStep: Tensor }

/**
 * AdaDelta (no learning rate): `a = rho a + (1-rho) dx²`,
 * `step = dx · √(d + epsilon) / √(a + epsilon)`, `d = rho d + (1-rho) step²`.
 * Defaults `rho = 0.9`, `epsilon = 1e-8`. TF.js's `adadelta` divides by the accumulator
 * from before this step's gradient is added, so its steps differ.
 */
export const AdaDelta = defineRule<{ rho: number; epsilon: number }, AdaDeltaState, [rho?: number, epsilon?: number]>({
  name: 'AdaDelta', defaults: { rho: 0.9, epsilon: 1e-8 }, order: ['rho', 'epsilon'],
  check: (h) => { unitInterval('AdaDelta', 'rho', h.rho); nonNegative('AdaDelta', 'epsilon', h.epsilon); },
  init: (_h, x) => ({ meanSquare: zerosOf(x), meanStep: zerosOf(x) }),
  kernel: ({ rho, epsilon }, s, x, dx, out) => {
    const a = s.meanSquare.data, d = s.meanStep.data, n = x.length, c = 1 - rho;
    for (let i = 0; i < n; i++) {
      const g = dx[i];
      const ai = rho * a[i] + c * g * g;
      a[i] = ai;
      const step = (g * Math.sqrt(d[i] + epsilon)) / Math.sqrt(ai + epsilon);
      d[i] = rho * d[i] + c * step * step;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});

/** State of {@link Lion}: the momentum. */
export interface LionState { m: Tensor }

/**
 * Lion (Chen et al. 2023): `step = eta · sign(β₁m + (1-β₁)dx)`, then `m = β₂m + (1-β₂)dx`.
 * Defaults `eta = 0.001`, `beta = [0.9, 0.999]`. This is the paper's rule; Optimisers.jl's
 * code (v0.4) updates the momentum as `β₂dx + (1-β₂)m`, with the two weights swapped.
 */
export const Lion = defineRule<{ eta: number; beta: Pair }, LionState, [eta?: number, beta?: Pair]>({
  name: 'Lion', defaults: { eta: 0.001, beta: [0.9, 0.999] }, order: ['eta', 'beta'],
  check: (h) => { nonNegative('Lion', 'eta', h.eta); betaPair('Lion', 'beta', h.beta); },
  init: (_h, x) => ({ m: zerosOf(x) }),
  kernel: ({ eta, beta: [b1, b2] }, s, x, dx, out) => {
    const m = s.m.data, n = x.length;
    for (let i = 0; i < n; i++) {
      const g = dx[i], mi = m[i];
      const c = b1 * mi + (1 - b1) * g;
      const step = c > 0 ? eta : c < 0 ? -eta : 0;
      m[i] = b2 * mi + (1 - b2) * g;
      if (out === null) x[i] -= step; else out[i] = step;
    }
    return true;
  },
});


