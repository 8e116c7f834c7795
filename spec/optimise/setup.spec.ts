/** setup / update / adjust / freezeState / thawState and saving the optimiser state. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Chain, Dense, Tensor, gradient, layer, mse, mul, nonTrainable, params, relu, seed, sum, tensor, zeros, freeze, randn,
} from '../../src/index.js';
import {
  setup, update, adjust, freezeState, thawState, optimiserState, loadOptimiserState, StateLeaf, OptimiserState,
  Descent, Momentum, Adam, RMSProp, OptimiserChain, ClipGrad, AccumGrad, defineRule, type Rule,
} from '../../src/optimise/index.js';

const WithState = layer(class WithState {
  static [nonTrainable]: readonly string[] = ['running'];
  scale = tensor([2, 3], { dtype: 'float32' });
  running = zeros([2], { dtype: 'float32' });
  forward(x: Tensor) { return mul(x, this.scale); }
});

const snapshot = (m: unknown): number[][] => {
  const out: number[][] = [];
  const walk = (x: unknown): void => {
    if (x instanceof Tensor) out.push(Array.from(x.data));
    else if ((typeof x === 'object' && x !== null) || typeof x === 'function') Object.values(x as object).forEach(walk);
  };
  walk(m);
  return out;
};

test('setup: a leaf per trainable tensor, shaped like the model; none for state, frozen parts or layers without parameters', () => {
  const m = Chain(Dense(2, 3, relu), WithState(), (x: Tensor) => x, Dense(3, 1));
  const opt = setup(Adam(), m);
  const t = opt.tree as any;
  assert.ok(Array.isArray(t.layers) && t.layers.length === 4);
  assert.instance(t.layers[0].weight, StateLeaf);
  assert.instance(t.layers[0].bias, StateLeaf);
  assert.equal(Object.keys(t.layers[1]), ['scale'], 'running is state, not trained');
  assert.is(t.layers[2], null, 'a function has no parameters');
  assert.is(opt.leaves().length, 5);
  const st = t.layers[0].weight.state;
  assert.equal(st.m.shape, [3, 2]);
  assert.is(st.t, 0);
  freeze(m.layers[3]);
  const opt2 = setup(Adam(), m);
  assert.is((opt2.tree as any).layers[3], null, 'a frozen layer gets no state');
  assert.is(String(opt2), 'OptimiserState(Adam(eta=0.001, beta=[0.9, 0.999], epsilon=1e-8); 3 tensors)');
});

test('tied tensors share one state and take one step with the (total) gradient', () => {
  const d = Dense(2, 2);
  const m = Chain(d, d);
  const opt = setup(Descent(0.1), m);
  const t = opt.tree as any;
  assert.is(t.layers[0].weight, t.layers[1].weight, 'one leaf at both paths');
  assert.is(opt.leaves().length, 2);
  const x = tensor([[1, 2]], { dtype: 'float32' });
  const [g] = gradient((mm: typeof m) => sum(mm(x)), m);
  const before = Array.from(d.weight.data);
  update(opt, m, g);
  const gw = (g as any).layers[0].weight.data as Float32Array;
  d.weight.data.forEach((v, i) => assert.ok(Math.abs(v - (before[i] - 0.1 * gw[i])) < 1e-6, 'one step, not two'));
});

test('update writes in place and keeps the same state arrays (no allocation of state per step)', () => {
  seed(1);
  const m = Chain(Dense(3, 4, relu), Dense(4, 2));
  const w = m.layers[0].weight;
  const opt = setup(Adam(0.01), m);
  const st = (opt.tree as any).layers[0].weight.state;
  const [mArr, vArr] = [st.m.data, st.v.data];
  const x = randn([5, 3], { dtype: 'float32' }), y = randn([5, 2], { dtype: 'float32' });
  for (let k = 0; k < 3; k++) update(opt, m, gradient((mm: typeof m) => mse(mm(x), y), m)[0]);
  assert.is(m.layers[0].weight, w, 'the same tensor object');
  assert.is((opt.tree as any).layers[0].weight.state, st);
  assert.is(st.m.data, mArr);
  assert.is(st.v.data, vArr);
  assert.is(st.t, 3);
});

test('the whole gradient array is caught: you probably want grads[0]', () => {
  const m = Chain(Dense(2, 1));
  const opt = setup(Descent(), m);
  const gs = gradient((mm: typeof m) => sum(mm(tensor([[1, 2]], { dtype: 'float32' }))), m);
  assert.throws(() => update(opt, m, gs), /update: the gradient is an array of 1 \(one entry per argument of gradient\), but the model is not; you probably want grads\[0\]/);
  // an array model with its [grad] is caught too
  const arr = [tensor([1, 2], { dtype: 'float64' }), tensor([3], { dtype: 'float64' })];
  const optA = setup(Descent(), arr);
  const ga = gradient((a: Tensor[]) => sum(mul(a[0], a[0])), arr);
  assert.throws(() => update(optA, arr, ga), /you probably want grads\[0\]/);
  update(optA, arr, ga[0]);
  assert.equal(arr[0].toArray(), [0.8, 1.6]);
});

test('gradients that do not match the model: errors naming the path', () => {
  const m = Chain(Dense(2, 3), Dense(3, 1));
  const opt = setup(Descent(), m);
  const g = (over: unknown) => ({ layers: [{ weight: null, bias: null, σ: null }, over] });
  assert.throws(() => update(opt, m, g({ weight: zeros([3, 1]), bias: null, σ: null })),
    /update: the gradient at layers\.1\.weight has shape \[3, 1\], the model's tensor there has shape \[1, 3\]/);
  assert.throws(() => update(opt, m, g({ weight: 3 as never, bias: null, kernel: zeros([1]) })),
    /update: the gradient has a field 'kernel' at layers\.1 that the model lacks \(its fields: weight, bias, σ\)/);
  assert.throws(() => update(opt, m, { layers: [null] }), /update: the gradient at layers must be an array of 2 like the model's, got an array of length 1/);
  assert.throws(() => update(opt, m, { layers: [{ weight: [1, 2] }, null] }), /update: the gradient at layers\.0\.weight must be a tensor like the model's, got an array of length 2/);
  assert.throws(() => update(Descent() as never, m, g(null)), /update: expected the optimiser state from setup\(rule, model\), got the rule Descent\(eta=0.1\)/);
  assert.throws(() => setup(m as never, Descent()), /setup: the first argument must be a rule such as Adam\(1e-3\), got function \(the arguments are setup\(rule, model\)\)/);
});

test('null or missing gradients leave those tensors alone', () => {
  const m = Chain(Dense(2, 2), Dense(2, 1));
  const before = snapshot(m);
  update(setup(Momentum(), m), m, { layers: [null, { weight: null }] });
  assert.equal(snapshot(m), before);
});

test('implicit style: update(rule, params(W, b), gs), state kept per rule value; setup on params', () => {
  const W = tensor([[1, 2], [3, 4]], { dtype: 'float64' }), b = tensor([0.5, -0.5], { dtype: 'float64' });
  const ps = params(W, b);
  const x = tensor([1, 1], { dtype: 'float64' });
  const loss = () => sum(mul(W.matmul(x).add(b), W.matmul(x).add(b)));
  const gs = gradient(loss, ps);
  update(Descent(0.1), ps, gs);
  // r = Wx + b = [3.5, 6.5]; ∂/∂W = 2 r xᵀ
  const want = [[1 - 0.7, 2 - 0.7], [3 - 1.3, 4 - 1.3]];
  (W.toArray() as number[][]).forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - want[i][j]) < 1e-12, `W[${i}][${j}] = ${v}`)));
  (b.toArray() as number[]).forEach((v, i) => assert.ok(Math.abs(v - ([0.5, -0.5][i] - 0.1 * 2 * [3.5, 6.5][i])) < 1e-12));
  // momentum remembered across calls with the same rule value: v₂ = ρ v₁ + η g
  const a = tensor([1], { dtype: 'float64' });
  const pa = params(a);
  const mom = Momentum(0.1, 0.5);
  const ga = gradient(() => sum(a), pa); // gradient 1 every time
  update(mom, pa, ga);
  update(mom, pa, ga);
  assert.ok(Math.abs(a.item() - (1 - 0.1 - 0.15)) < 1e-12, `got ${a.item()}`);
  const opt = setup(Momentum(0.1, 0.5), pa);
  update(opt, pa, ga);
  update(opt, pa, ga);
  assert.ok(Math.abs(a.item() - (0.75 - 0.25)) < 1e-12);
  // typed and number arrays are params too, updated in place
  const f = new Float64Array([1, 2]), arr = [3, 4];
  const pf = params(f, arr);
  update(Descent(0.5), pf, gradient(() => sum(mul(f, arr)), pf));
  assert.equal(Array.from(f), [1 - 0.5 * 3, 2 - 0.5 * 4]);
  assert.equal(arr, [3 - 0.5 * 1, 4 - 0.5 * 2]);
  assert.throws(() => update(Descent(), ps, [W] as never), /update: with params\(\.\.\.\) the gradient must be the Grads/);
});

test('adjust: changes hyperparameters, keeps state; unknown names are errors listing the rule\'s', () => {
  const m = Chain(Dense(2, 2), Dense(2, 1));
  const opt = setup(Adam(0.01), m);
  const st = (opt.tree as any).layers[0].weight.state;
  adjust(opt, { eta: 0.5, beta: [0.8, 0.9] });
  assert.equal(opt.leaves()[0].rule.hyper, { eta: 0.5, beta: [0.8, 0.9], epsilon: 1e-8 });
  assert.is((opt.tree as any).layers[0].weight.state, st, 'the state is untouched');
  adjust(opt, 0.25);
  assert.is(opt.leaves()[3].rule.hyper.eta, 0.25);
  adjust(opt, { eta: 1 }, 'layers.1');
  assert.equal(opt.leaves().map((l) => l.rule.hyper.eta), [0.25, 0.25, 1, 1]);
  assert.throws(() => adjust(opt, { lr: 0.1 }), /adjust: Adam has no hyperparameter 'lr'; its hyperparameters are eta, beta, epsilon/);
  assert.throws(() => adjust(opt, { eta: -1 }), /Adam: eta must be a finite number ≥ 0, got -1/);
  assert.equal(opt.leaves().map((l) => l.rule.hyper.eta), [0.25, 0.25, 1, 1], 'a failed adjust changes nothing');
  assert.throws(() => adjust(opt, { eta: 1 }, 'layers.7'), /adjust: the optimiser state has no entry at layers\.7 \(entries there: layers\.0, layers\.1\)/);
  const chain = setup(OptimiserChain(ClipGrad(1), Adam()), m);
  adjust(chain, { delta: 2, eta: 0.1 });
  const r = chain.leaves()[0].rule as Rule & { rules: Rule[] };
  assert.equal([r.rules[0].hyper.delta, r.rules[1].hyper.eta], [2, 0.1]);
  assert.throws(() => adjust(chain, { rho: 1 }), /adjust: OptimiserChain has no hyperparameter 'rho'; its hyperparameters are delta, eta, beta, epsilon/);
  assert.throws(() => adjust(setup(RMSProp(), m), { centred: true }), /RMSProp's centred cannot be changed/);
  assert.equal(adjust(Adam(), 0.5).hyper.eta, 0.5, 'a rule adjusted is a new rule');
});

test('freezeState / thawState pause part of the model; moments are kept', () => {
  const m = Chain(Dense(2, 2), Dense(2, 1));
  const opt = setup(Momentum(0.1), m);
  const x = tensor([[1, -1]], { dtype: 'float32' }), y = tensor([[2]], { dtype: 'float32' });
  const step = () => update(opt, m, gradient((mm: typeof m) => mse(mm(x), y), m)[0]);
  step();
  freezeState(opt, 'layers.0');
  const [w0, w1] = [Array.from(m.layers[0].weight.data), Array.from(m.layers[1].weight.data)];
  const v0 = Array.from((opt.tree as any).layers[0].weight.state.velocity.data);
  step();
  assert.equal(Array.from(m.layers[0].weight.data), w0, 'frozen: unchanged');
  assert.not.equal(Array.from(m.layers[1].weight.data), w1, 'the rest trains');
  assert.equal(Array.from((opt.tree as any).layers[0].weight.state.velocity.data), v0, 'state untouched');
  assert.ok(opt.leaves()[0].frozen && String(opt.leaves()[0]).endsWith(', frozen)'));
  thawState(opt, ['layers', 0]);
  step();
  assert.not.equal(Array.from(m.layers[0].weight.data), w0);
  freezeState(opt);
  assert.ok(opt.leaves().every((l) => l.frozen));
  thawState(opt);
  assert.throws(() => freezeState(opt, 'layers.0.kernel'), /freezeState: the optimiser state has no entry at layers\.0\.kernel \(entries there: layers\.0\.weight, layers\.0\.bias\)/);
  assert.throws(() => freezeState(m as never, 'layers'), /freezeState: expected the optimiser state from setup/);
  // a part frozen in the model after setup gets no gradient; thawing it there without a new setup is caught
  freeze(m.layers[0]);
  const opt2 = setup(Descent(), m);
  (m.layers[0] as any)[Symbol.for('fluxion.frozen')] = false;
  assert.throws(() => update(opt2, m, gradient((mm: typeof m) => mse(mm(x), y), m)[0]), /update: the optimiser state has no entry for layers\.0\.weight \(it was frozen or absent when setup ran\)/);
});

test('optimiserState / loadOptimiserState: resume exactly, errors by path, no partial writes', () => {
  const make = () => { seed(7); return Chain(Dense(3, 4, relu), Dense(4, 2)); };
  seed(3);
  const data = Array.from({ length: 10 }, () => [randn([6, 3], { dtype: 'float32' }), randn([6, 2], { dtype: 'float32' })] as const);
  const lossAt = (m: ReturnType<typeof make>, k: number) => mse(m(data[k][0]), data[k][1]);
  const run = (m: ReturnType<typeof make>, opt: OptimiserState, from: number, to: number): number[] => {
    const ls: number[] = [];
    for (let k = from; k < to; k++) {
      ls.push(lossAt(m, k).item());
      update(opt, m, gradient((mm: typeof m) => lossAt(mm, k), m)[0]);
    }
    return ls;
  };
  const rule = OptimiserChain(AccumGrad(2), Adam(0.05));
  const a = make(), optA = setup(rule, a);
  const straight = run(a, optA, 0, 10);
  const b = make(), optB = setup(rule, b);
  run(b, optB, 0, 5);
  const savedModel = snapshot(b), saved = optimiserState(optB) as any;
  assert.equal(Object.keys(saved.layers[0].weight[1]), ['m', 'v', 't']);
  assert.is(saved.layers[0].weight[0].count, 1, 'AccumGrad mid-way');
  assert.is(saved.layers[0].weight[1].t, 2);
  // a fresh model and optimiser, loaded
  const c = make();
  const tensorsOf = (m: unknown): Tensor[] => { const o: Tensor[] = []; const w = (x: unknown) => { if (x instanceof Tensor) o.push(x); else if ((typeof x === 'object' && x) || typeof x === 'function') Object.values(x as object).forEach(w); }; w(m); return o; };
  tensorsOf(c).forEach((t, i) => t.assign(tensor(Float32Array.from(savedModel[i]), { shape: t.shape as number[] })));
  const optC = loadOptimiserState(setup(rule, c), saved);
  assert.equal(run(c, optC, 5, 10), straight.slice(5), 'the same losses after a reload as without one');
  // flattened keys (as read back from a checkpoint) with counters as one-element tensors
  const flat: Record<string, unknown> = {};
  const flatten = (x: unknown, p: string): void => {
    if (x instanceof Tensor || typeof x === 'number') flat[p] = typeof x === 'number' ? tensor([x]) : x;
    else if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) flatten(v, p ? `${p}.${k}` : k);
  };
  flatten(saved, '');
  loadOptimiserState(setup(rule, make()), flat);
  // errors
  const fresh = setup(rule, make());
  const before = optimiserState(fresh);
  const bad = { ...flat, 'layers.1.weight.1.m': zeros([3, 3]) };
  assert.throws(() => loadOptimiserState(fresh, bad), /loadOptimiserState: layers\.1\.weight\.1\.m has shape \[2, 4\] in the optimiser, \[3, 3\] in the saved state/);
  const missing = { ...flat };
  delete missing['layers.0.bias.1.v'];
  assert.throws(() => loadOptimiserState(fresh, missing), /loadOptimiserState: the saved state has no entry for layers\.0\.bias\.1\.v/);
  assert.throws(() => loadOptimiserState(fresh, { ...flat, 'layers.2.weight.m': zeros([1]) }), /the saved state has an entry this optimiser lacks: layers\.2\.weight\.m/);
  assert.equal(snapshot(optimiserState(fresh)), snapshot(before), 'nothing written by the failed loads');
  assert.equal(optimiserState(setup(Descent(), make())), {}, 'Descent keeps no state');
});

test('defineRule: a user rule with apply on tensors works with setup, update and adjust', () => {
  const SignSGD = defineRule<{ eta: number }, { steps: number }, [eta?: number]>({
    name: 'SignSGD', defaults: { eta: 0.01 }, order: ['eta'],
    init: () => ({ steps: 0 }),
    apply: ({ eta }, s, _x, dx) => { s.steps++; return [s, dx.sign().mul(eta)]; },
  });
  const model = { w: tensor([1, -2, 0.5], { dtype: 'float64' }) };
  const opt = setup(SignSGD(0.1), model);
  update(opt, model, { w: tensor([3, -1, 0], { dtype: 'float64' }) });
  assert.equal(model.w.toArray(), [0.9, -1.9, 0.5]);
  adjust(opt, 0.5);
  update(opt, model, { w: tensor([1, 1, 1], { dtype: 'float64' }) });
  assert.equal(model.w.toArray(), [0.4, -2.4, 0]);
  assert.equal(optimiserState(opt), { w: { steps: 2 } });
  assert.throws(() => adjust(opt, { rho: 1 }), /adjust: SignSGD has no hyperparameter 'rho'; its hyperparameters are eta/);
});

test.run();
