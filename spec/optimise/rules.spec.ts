/**
 * Every rule against an independent reference written here with plain loops over number
 * arrays (the formulas of Optimisers.jl, or of the paper where stated), for several steps,
 * through the fused kernel path and through the tensor `apply` path.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { tensor, Tensor } from '../../src/index.js';
import {
  setup, update, Descent, Momentum, Nesterov, RMSProp, Rprop, Adam, AdamW, RAdam, NAdam, AdaMax, AMSGrad, AdaBelief,
  AdaGrad, AdaDelta, Lion, WeightDecay, SignDecay, ClipGrad, ClipNorm, AccumGrad, OptimiserChain, type Rule,
} from '../../src/optimise/index.js';

/** A reference rule on plain arrays: the step for x given g, updating its own state. */
type Ref = (x: number[], g: number[]) => number[] | null;
type RefMaker = (n: number) => Ref;

const zeros = (n: number): number[] => new Array(n).fill(0);
const sgn = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0);

const refs: Record<string, [Rule, RefMaker]> = {
  Descent: [Descent(0.3), () => (_x, g) => g.map((v) => 0.3 * v)],
  Momentum: [Momentum(0.05, 0.8), (n) => {
    const v = zeros(n);
    return (_x, g) => g.map((gi, i) => (v[i] = 0.8 * v[i] + 0.05 * gi));
  }],
  Nesterov: [Nesterov(0.05, 0.7), (n) => {
    // Sutskever's form with velocity u = -v: step = η g + ρ (ρ u + η g)
    const u = zeros(n);
    return (_x, g) => g.map((gi, i) => { u[i] = 0.7 * u[i] + 0.05 * gi; return 0.05 * gi + 0.7 * u[i]; });
  }],
  RMSProp: [RMSProp(0.01, 0.85, 1e-3), (n) => {
    const s = zeros(n);
    return (_x, g) => g.map((gi, i) => { s[i] = 0.85 * s[i] + 0.15 * gi ** 2; return (0.01 * gi) / (Math.sqrt(s[i]) + 1e-3); });
  }],
  'RMSProp centred': [RMSProp({ eta: 0.01, rho: 0.85, epsilon: 1e-3, centred: true }), (n) => {
    const s = zeros(n), m = zeros(n);
    return (_x, g) => g.map((gi, i) => {
      s[i] = 0.85 * s[i] + 0.15 * gi ** 2;
      m[i] = 0.85 * m[i] + 0.15 * gi;
      return (0.01 * gi) / (Math.sqrt(s[i] - m[i] ** 2) + 1e-3);
    });
  }],
  Rprop: [Rprop(0.01, [0.5, 1.2], [1e-3, 0.05]), (n) => {
    const prev = zeros(n), eta = new Array(n).fill(0.01);
    return (_x, g) => g.map((gi, i) => {
      const p = prev[i] * gi;
      if (p > 0) eta[i] = Math.min(eta[i] * 1.2, 0.05);
      if (p < 0) eta[i] = Math.max(eta[i] * 0.5, 1e-3);
      prev[i] = p < 0 ? 0 : gi;
      return eta[i] * sgn(prev[i]);
    });
  }],
  Adam: [Adam(0.01, [0.8, 0.95], 1e-4), (n) => {
    const m = zeros(n), v = zeros(n);
    let t = 0;
    return (_x, g) => {
      t++;
      return g.map((gi, i) => {
        m[i] = 0.8 * m[i] + 0.2 * gi;
        v[i] = 0.95 * v[i] + 0.05 * gi * gi;
        const mh = m[i] / (1 - Math.pow(0.8, t)), vh = v[i] / (1 - Math.pow(0.95, t));
        return (0.01 * mh) / (Math.sqrt(vh) + 1e-4);
      });
    };
  }],
  AdamW: [AdamW({ eta: 0.01, beta: [0.8, 0.95], lambda: 0.1, epsilon: 1e-4 }), (n) => {
    // PyTorch's AdamW: decay the weights by lr·λ first, then the Adam step
    const m = zeros(n), v = zeros(n);
    let t = 0;
    return (x, g) => {
      t++;
      return g.map((gi, i) => {
        const decayed = x[i] * (1 - 0.01 * 0.1);
        m[i] = 0.8 * m[i] + 0.2 * gi;
        v[i] = 0.95 * v[i] + 0.05 * gi * gi;
        const mh = m[i] / (1 - 0.8 ** t), vh = v[i] / (1 - 0.95 ** t);
        const next = decayed - (0.01 * mh) / (Math.sqrt(vh) + 1e-4);
        return x[i] - next;
      });
    };
  }],
  'AdamW decoupled': [AdamW({ eta: 0.01, beta: [0.8, 0.95], lambda: 0.1, epsilon: 1e-4, couple: false }), (n) => {
    const m = zeros(n), v = zeros(n);
    let t = 0;
    return (x, g) => {
      t++;
      return g.map((gi, i) => {
        m[i] = 0.8 * m[i] + 0.2 * gi;
        v[i] = 0.95 * v[i] + 0.05 * gi * gi;
        return (0.01 * m[i]) / (1 - 0.8 ** t) / (Math.sqrt(v[i] / (1 - 0.95 ** t)) + 1e-4) + 0.1 * x[i];
      });
    };
  }],
  RAdam: [RAdam(0.01, [0.8, 0.9], 1e-4), (n) => {
    // ρ∞ = 2/(1-β₂) - 1 = 19; ρ₁ ≈ 1, then it grows past 4 from the third step
    const m = zeros(n), v = zeros(n);
    let t = 0;
    return (_x, g) => {
      t++;
      const rinf = 2 / (1 - 0.9) - 1, b2t = 0.9 ** t;
      const rho = rinf - (2 * t * b2t) / (1 - b2t);
      return g.map((gi, i) => {
        m[i] = 0.8 * m[i] + 0.2 * gi;
        v[i] = 0.9 * v[i] + 0.1 * gi * gi;
        const mh = m[i] / (1 - 0.8 ** t);
        if (rho <= 4) return 0.01 * mh;
        const r = Math.sqrt(((rho - 4) * (rho - 2) * rinf) / ((rinf - 4) * (rinf - 2) * rho));
        return (0.01 * r * mh) / (Math.sqrt(v[i] / (1 - b2t)) + 1e-4);
      });
    };
  }],
  NAdam: [NAdam(0.01, [0.8, 0.95], 1e-4), (n) => {
    const m = zeros(n), v = zeros(n);
    let t = 0;
    return (_x, g) => {
      t++;
      return g.map((gi, i) => {
        m[i] = 0.8 * m[i] + 0.2 * gi;
        v[i] = 0.95 * v[i] + 0.05 * gi * gi;
        const num = (0.8 * m[i]) / (1 - 0.8 ** (t + 1)) + (0.2 * gi) / (1 - 0.8 ** t);
        return (0.01 * num) / (Math.sqrt((0.95 * v[i]) / (1 - 0.95 ** t)) + 1e-4);
      });
    };
  }],
  AdaMax: [AdaMax(0.01, [0.8, 0.95], 1e-4), (n) => {
    const m = zeros(n), u = zeros(n);
    let t = 0;
    return (_x, g) => {
      t++;
      return g.map((gi, i) => {
        m[i] = 0.8 * m[i] + 0.2 * gi;
        u[i] = Math.max(0.95 * u[i], Math.abs(gi));
        return (0.01 / (1 - 0.8 ** t)) * (m[i] / (u[i] + 1e-4));
      });
    };
  }],
  AMSGrad: [AMSGrad(0.01, [0.8, 0.95], 1e-4), (n) => {
    const m = new Array(n).fill(1e-4), v = new Array(n).fill(1e-4), w = new Array(n).fill(1e-4);
    return (_x, g) => g.map((gi, i) => {
      m[i] = 0.8 * m[i] + 0.2 * gi;
      v[i] = 0.95 * v[i] + 0.05 * gi * gi;
      w[i] = Math.max(w[i], v[i]);
      return (0.01 * m[i]) / (Math.sqrt(w[i]) + 1e-4);
    });
  }],
  AdaBelief: [AdaBelief(0.01, [0.8, 0.95], 1e-6), (n) => {
    const m = zeros(n), s = zeros(n);
    let t = 0;
    return (_x, g) => {
      t++;
      return g.map((gi, i) => {
        m[i] = 0.8 * m[i] + 0.2 * gi;
        s[i] = 0.95 * s[i] + 0.05 * (gi - m[i]) ** 2 + 1e-6;
        return (0.01 * (m[i] / (1 - 0.8 ** t))) / (Math.sqrt(s[i] / (1 - 0.95 ** t)) + 1e-6);
      });
    };
  }],
  AdaGrad: [AdaGrad(0.2, 1e-3), (n) => {
    const a = new Array(n).fill(1e-3);
    return (_x, g) => g.map((gi, i) => { a[i] += gi * gi; return (0.2 * gi) / (Math.sqrt(a[i]) + 1e-3); });
  }],
  AdaDelta: [AdaDelta(0.8, 1e-3), (n) => {
    const a = zeros(n), d = zeros(n);
    return (_x, g) => g.map((gi, i) => {
      a[i] = 0.8 * a[i] + 0.2 * gi * gi;
      const s = (gi * Math.sqrt(d[i] + 1e-3)) / Math.sqrt(a[i] + 1e-3);
      d[i] = 0.8 * d[i] + 0.2 * s * s;
      return s;
    });
  }],
  Lion: [Lion(0.01, [0.8, 0.95]), (n) => {
    // the paper's Algorithm 2: interpolate with the old momentum for the sign, then update it
    const m = zeros(n);
    return (_x, g) => g.map((gi, i) => {
      const c = 0.8 * m[i] + 0.2 * gi;
      m[i] = 0.95 * m[i] + 0.05 * gi;
      return 0.01 * sgn(c);
    });
  }],
  WeightDecay: [WeightDecay(0.1), () => (x, g) => g.map((gi, i) => gi + 0.1 * x[i])],
  SignDecay: [SignDecay(0.1), () => (x, g) => g.map((gi, i) => gi + 0.1 * sgn(x[i]))],
  ClipGrad: [ClipGrad(0.5), () => (_x, g) => g.map((gi) => Math.min(0.5, Math.max(-0.5, gi)))],
  ClipNorm: [ClipNorm(1), () => (_x, g) => {
    const nrm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
    return g.map((v) => (nrm > 1 ? v / nrm : v));
  }],
  'ClipNorm p=1': [ClipNorm(1, 1), () => (_x, g) => {
    const nrm = g.reduce((s, v) => s + Math.abs(v), 0);
    return g.map((v) => (nrm > 1 ? v / nrm : v));
  }],
  'ClipNorm p=Infinity': [ClipNorm(0.5, Infinity), () => (_x, g) => {
    const nrm = Math.max(...g.map(Math.abs));
    return g.map((v) => (nrm > 0.5 ? (v * 0.5) / nrm : v));
  }],
  AccumGrad: [AccumGrad(3), (n) => {
    let acc = zeros(n), k = 0;
    return (_x, g) => {
      acc = acc.map((a, i) => a + g[i]);
      if (++k < 3) return null;
      const mean = acc.map((a) => a / 3);
      acc = zeros(n); k = 0;
      return mean;
    };
  }],
  'OptimiserChain(ClipGrad, WeightDecay, Momentum)': [OptimiserChain(ClipGrad(0.5), WeightDecay(0.1), Momentum(0.05, 0.8)), (n) => {
    const v = zeros(n);
    return (x, g) => g.map((gi, i) => {
      const c = Math.min(0.5, Math.max(-0.5, gi)) + 0.1 * x[i];
      return (v[i] = 0.8 * v[i] + 0.05 * c);
    });
  }],
  'OptimiserChain(AccumGrad, Adam)': [OptimiserChain(AccumGrad(2), Adam(0.01, [0.8, 0.95], 1e-4)), (n) => {
    const m = zeros(n), v = zeros(n), acc = zeros(n);
    let t = 0, k = 0;
    return (_x, g) => {
      g.forEach((gi, i) => { acc[i] += gi / 2; });
      if (++k < 2) return null;
      k = 0; t++;
      const out = acc.map((a, i) => {
        m[i] = 0.8 * m[i] + 0.2 * a;
        v[i] = 0.95 * v[i] + 0.05 * a * a;
        return (0.01 * m[i]) / (1 - 0.8 ** t) / (Math.sqrt(v[i] / (1 - 0.95 ** t)) + 1e-4);
      });
      acc.fill(0);
      return out;
    };
  }],
  'OptimiserChain()': [OptimiserChain(), () => (_x, g) => g],
};

const arbCase = fc.integer({ min: 1, max: 6 }).chain((n) => fc.record({
  x: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n }),
  gs: fc.array(fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n }), { minLength: 6, maxLength: 6 }),
}));

function close(got: ArrayLike<number>, want: readonly number[], what: string): void {
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= 1e-12 + 1e-10 * Math.abs(want[i]))) assert.unreachable(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
  }
}

/** The same rule with the kernel removed, so that update goes through `apply` on tensors. */
const viaApply = (r: Rule): Rule => {
  const { kernel: _k, ...rest } = r as Rule & Record<string, unknown>;
  void _k;
  return rest as unknown as Rule;
};

for (const [name, [rule, makeRef]] of Object.entries(refs)) {
  for (const path of ['kernel', 'apply'] as const) {
    test(`${name}: six steps match the reference (${path} path)`, () => {
      fc.assert(fc.property(arbCase, ({ x, gs }) => {
        const r = path === 'kernel' ? rule : viaApply(rule);
        if (path === 'kernel') assert.ok(rule.kernel !== undefined, `${name} has a kernel`);
        const model = { w: tensor(x, { dtype: 'float64' }) };
        const opt = setup(r, model);
        const ref = makeRef(x.length);
        let want = [...x];
        gs.forEach((g, k) => {
          const s = ref(want, g);
          if (s !== null) want = want.map((v, i) => v - s[i]);
          update(opt, model, { w: tensor(g, { dtype: 'float64' }) });
          close(model.w.data, want, `${name} after step ${k + 1}`);
        });
      }), { numRuns: 40 });
    });
  }
}

test('a non-contiguous parameter (a transposed view) is updated through apply and assign', () => {
  const base = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
  const model = { w: base.T };
  assert.not.ok(model.w.isContiguous);
  const opt = setup(Momentum(0.1, 0.5), model);
  const g = tensor([[1, 1], [2, 2], [3, 3]], { dtype: 'float64' });
  update(opt, model, { w: g });
  update(opt, model, { w: g });
  // v₁ = 0.1 g, v₂ = 0.5 v₁ + 0.1 g = 0.15 g; total 0.25 g, written through to base
  const want = [[1, 2, 3], [4, 5, 6]].map((row, i) => row.map((v, j) => v - 0.25 * g.get(j, i)));
  close(base.data, want.flat(), 'base after two steps');
});

test('float32 parameters: state in float32, the step computed in float64 and rounded once', () => {
  const x = [0.1, -0.7, 1.3], g = [0.3, 0.2, -0.9];
  const model = { w: tensor(x, { dtype: 'float32' }) };
  const opt = setup(Adam(0.01), model);
  update(opt, model, { w: tensor(g, { dtype: 'float32' }) });
  const st = opt.leaves()[0].state as { m: Tensor; v: Tensor; t: number };
  assert.is(st.m.dtype, 'float32');
  assert.is(st.t, 1);
  // first Adam step: m̂ = g, v̂ = g², step = η g/(|g| + ε) ≈ η sign(g)
  const xf = Float32Array.from(x), gf = Float32Array.from(g);
  const want = Array.from(xf, (v, i) => Math.fround(v - (0.01 * gf[i]) / (Math.abs(gf[i]) + 1e-8)));
  (model.w.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 2 ** -23 * Math.abs(want[i]) * 2, `element ${i}: ${v} vs ${want[i]}`));
});

test('defaults are Optimisers.jl\'s', () => {
  const h = (r: Rule) => r.hyper;
  assert.equal(h(Descent()), { eta: 0.1 });
  assert.equal(h(Momentum()), { eta: 0.01, rho: 0.9 });
  assert.equal(h(Nesterov()), { eta: 0.001, rho: 0.9 });
  assert.equal(h(RMSProp()), { eta: 0.001, rho: 0.9, epsilon: 1e-8, centred: false });
  assert.equal(h(Rprop()), { eta: 0.001, ell: [0.5, 1.2], gamma: [1e-6, 50] });
  for (const r of [Adam(), RAdam(), NAdam(), AdaMax(), AMSGrad()]) assert.equal(h(r), { eta: 0.001, beta: [0.9, 0.999], epsilon: 1e-8 }, r.name);
  assert.equal(h(AdamW()), { eta: 0.001, beta: [0.9, 0.999], lambda: 0, epsilon: 1e-8, couple: true });
  assert.equal(h(AdaBelief()), { eta: 0.001, beta: [0.9, 0.999], epsilon: 1e-16 });
  assert.equal(h(AdaGrad()), { eta: 0.1, epsilon: 1e-8 });
  assert.equal(h(AdaDelta()), { rho: 0.9, epsilon: 1e-8 });
  assert.equal(h(Lion()), { eta: 0.001, beta: [0.9, 0.999] });
  assert.equal(h(WeightDecay()), { lambda: 5e-4 });
  assert.equal(h(SignDecay()), { lambda: 1e-3 });
  assert.equal(h(ClipGrad()), { delta: 10 });
  assert.equal(h(ClipNorm()), { omega: 10, p: 2, throw: true });
  assert.equal(h(AccumGrad()), { n: 1 });
});

test('positional and named forms agree; printing', () => {
  assert.equal(Adam(0.01, [0.8, 0.9]).hyper, Adam({ eta: 0.01, beta: [0.8, 0.9] }).hyper);
  assert.is(String(Adam(0.01)), 'Adam(eta=0.01, beta=[0.9, 0.999], epsilon=1e-8)');
  assert.is(String(OptimiserChain(ClipGrad(1), Descent(0.5))), 'OptimiserChain(ClipGrad(delta=1), Descent(eta=0.5))');
});

test('invalid hyperparameters are errors naming the rule', () => {
  assert.throws(() => Adam(-1), /Adam: eta must be a finite number ≥ 0, got -1/);
  assert.throws(() => Adam({ beta: [0.9, 1] }), /Adam: both entries of beta must be in \[0, 1\), got \[0.9, 1\]/);
  assert.throws(() => Adam({ lr: 0.1 } as never), /Adam: unknown hyperparameter 'lr'; its hyperparameters are eta, beta, epsilon/);
  assert.throws(() => (Momentum as (...a: unknown[]) => Rule)(0.1, 0.9, 3), /Momentum: expected at most 2 positional arguments \(eta, rho\), got 3/);
  assert.throws(() => Adam({ beta: 0.9 } as never), /Adam: beta must be a pair of numbers, got 0.9/);
  assert.throws(() => AccumGrad(1.5), /AccumGrad: n must be a positive integer, got 1.5/);
  assert.throws(() => OptimiserChain(Adam(), 0.1 as never), /OptimiserChain: argument 2 is not a rule/);
});

test('ClipNorm refuses a non-finite norm unless throw is false', () => {
  const model = { w: tensor([1, 2], { dtype: 'float64' }) };
  assert.throws(() => update(setup(ClipNorm(1), model), model, { w: tensor([NaN, 1], { dtype: 'float64' }) }), /ClipNorm: the gradient of a tensor of 2 elements has 2-norm NaN/);
  assert.equal(model.w.toArray(), [1, 2], 'nothing written');
  const m2 = { w: tensor([1, 2], { dtype: 'float64' }) };
  update(setup(ClipNorm({ omega: 1, throw: false }), m2), m2, { w: tensor([Infinity, 0], { dtype: 'float64' }) });
  assert.ok(Number.isNaN(m2.w.get(0)), 'passed through: ∞ · (1/∞) is NaN');
});

test.run();
