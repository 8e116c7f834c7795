/** Structure utilities (src/layers/tree.ts): trainables, fmap, f32/f64, destructure, state/loadState, freeze/thaw. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Chain, Dense, ShapeError, Tensor, destructure, f32, f64, fmap, freeze, gradient, isFrozen, layer, loadState, mul,
  nonTrainable, params, relu, seed, state, sum, tensor, thaw, trainables, zeros, tanh, flattenState,
} from '../../src/index.js';
import { checkGradient } from '../_helpers/gradcheck.js';

const WithState = layer(class WithState {
  static [nonTrainable]: readonly string[] = ['running'];
  scale = tensor([2, 3], { dtype: 'float32' });
  running = zeros([2], { dtype: 'float32' });
  stride = [1, 1];
  forward(x: Tensor) { return mul(x, this.scale); }
});

test('trainables: every parameter once, in field order; state and configuration left out', () => {
  const d = Dense(2, 2);
  const m = Chain(d, WithState(), d);
  const ts = trainables(m);
  assert.is(ts.length, 3);
  assert.is(ts[0], d.weight);
  assert.is(ts[1], d.bias);
  assert.is(ts[2], m.layers[1].scale);
  assert.is(params(m).size, 3, 'params(model) agrees');
});

test('fmap rebuilds layers of the same class, keeping ties; f64/f32 convert', () => {
  seed(1);
  const d = Dense(3, 3, relu);
  const m = Chain(d, d);
  const m64 = f64(m);
  assert.is(typeof m64, 'function');
  assert.ok(m64.layers[0] === m64.layers[1], 'the tie is kept');
  assert.is(m64.layers[0].weight.dtype, 'float64');
  assert.is(m64.layers[0].σ, relu);
  assert.is(m.layers[0].weight.dtype, 'float32', 'the original is unchanged');
  const x = tensor([[1, -2, 3]]);
  const y64 = m64(x).data, y32 = m(x.astype('float32')).data;
  y64.forEach((v: number, i: number) => assert.ok(Math.abs(v - y32[i]) < 1e-5));
  assert.is(f32(m64).layers[0].weight.dtype, 'float32');
  const paths: string[] = [];
  fmap((t, p) => { paths.push(p); return t; }, m);
  assert.equal(paths, ['layers.0.weight', 'layers.0.bias']);
});

test('destructure: a flat vector and a differentiable rebuild', () => {
  seed(2);
  const m = f64(Chain(Dense(2, 3, tanh), Dense(3, 1)));
  const [flat, rebuild] = destructure(m);
  assert.equal(flat.shape, [2 * 3 + 3 + 3 + 1]);
  const x = tensor([[0.5, -1], [2, 0.25]]);
  const same = rebuild(flat);
  assert.equal(same(x).toArray(), m(x).toArray());
  checkGradient((v: Tensor) => sum(rebuild(v)(x)), [flat], { label: 'destructure' });
  assert.throws(() => rebuild(zeros([3])), (e: Error) => e instanceof ShapeError && e.message === 'destructure: rebuild expects a vector of 13 parameters, got shape [3]');
});

test('state/loadState: a plain tree of copies; every mismatch named by path; nothing written on failure', () => {
  const m = Chain(Dense(2, 2), WithState());
  const s = state(m) as any;
  assert.equal(Object.keys(s), ['layers']);
  assert.ok(Array.isArray(s.layers));
  assert.equal(Object.keys(s.layers[1]).sort(), ['running', 'scale']);
  assert.equal([...flattenState(s).keys()], ['layers.0.weight', 'layers.0.bias', 'layers.1.scale', 'layers.1.running']);
  assert.ok(s.layers[0].weight !== m.layers[0].weight, 'copies, not the live tensors');
  const before = m.layers[0].weight.toArray();
  const m2 = Chain(Dense(2, 2), WithState());
  loadState(m2, s);
  assert.equal(m2.layers[0].weight.toArray(), before);

  const bad = state(m) as any;
  bad.layers[1].scale = zeros([3], { dtype: 'float32' });
  const w = m2.layers[0].weight.toArray();
  bad.layers[0].weight = zeros([2, 2], { dtype: 'float32' });
  assert.throws(() => loadState(m2, bad), (e: Error) => e instanceof ShapeError && e.message === 'loadState: layers.1.scale has shape [2] in the model, [3] in the state');
  assert.equal(m2.layers[0].weight.toArray(), w, 'nothing was written');
  const missing = state(m) as any;
  delete missing.layers[1].running;
  assert.throws(() => loadState(m2, missing), (e: Error) => e instanceof RangeError && e.message === 'loadState: the state has no entry for layers.1.running');
  const extra = state(m) as any;
  extra.layers[0].gamma = zeros([2], { dtype: 'float32' });
  assert.throws(() => loadState(m2, extra), (e: Error) => e instanceof RangeError && e.message === 'loadState: the state has an entry the model lacks: layers.0.gamma');
  const wrongType = state(m) as any;
  wrongType.layers[0].bias = wrongType.layers[0].bias.astype('float64');
  assert.throws(() => loadState(m2, wrongType), (e: Error) => e instanceof TypeError && e.message === 'loadState: layers.0.bias is float32 in the model, float64 in the state');
});

test('freeze/thaw: a frozen layer gets no gradient and is not a parameter', () => {
  const a = Dense(2, 2), b = Dense(2, 1);
  const m = Chain(a, b);
  freeze(a);
  assert.ok(isFrozen(a));
  assert.equal(trainables(m), [b.weight, b.bias]);
  const x = tensor([[1, 2]], { dtype: 'float32' });
  const [g] = gradient((mm: typeof m) => sum(mm(x)), m) as any[];
  assert.is(g.layers[0].weight, null);
  assert.ok(g.layers[1].weight instanceof Tensor);
  assert.is(params(m).size, 2);
  assert.ok(isFrozen(f64(m).layers[0]), 'copies stay frozen');
  thaw(a);
  assert.is(trainables(m).length, 4);
});

test.run();
