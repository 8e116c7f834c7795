/** Implicit params and Grads (src/ad/params.ts), and explicit gradients over objects (src/ad/structure.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Grads, Tensor, add, gradient, matmul, mul, nonTrainable, params, sub, sum, tensor, pow, withGradient,
} from '../../src/index.js';

const x = tensor([2, 1]), y = tensor([2, 0]);
const g = (a: Tensor, b: Tensor) => sum(pow(sub(a, b), 2));

test('gradient(() => …, params(x, y)) gives Grads keyed by the tensors', () => {
  const gs = gradient(() => g(x, y), params(x, y));
  assert.ok(gs instanceof Grads);
  assert.equal(gs.get(x).toArray(), [0, 2]);
  assert.equal(gs.get(y).toArray(), [-0, -2]);
  assert.ok(gs.has(x) && gs.has(y) && !gs.has(tensor([1])));
  assert.equal(gs.keys(), [x, y]);
  const pairs = [...gs];
  assert.is(pairs[0][0], x);
  assert.equal((pairs[1][1] as Tensor).toArray(), [-0, -2]);
});

test('params may be typed arrays and number arrays; gradients come back in kind', () => {
  const w = new Float32Array([1, 2, 3]);
  const v = [[1, 2], [3, 4]];
  const gs = gradient(() => add(sum(mul(w, w)), sum(mul(tensor(v), 3))), params(w, v));
  const gw = gs.get(w);
  assert.ok(gw instanceof Float32Array);
  assert.equal(Array.from(gw), [2, 4, 6]);
  assert.equal(gs.get(v), [[3, 3], [3, 3]]);
});

test('a plain number cannot be a param: clear error', () => {
  assert.throws(() => params(1), /plain number.*no identity/);
});

test('unused params get zero gradients; params keep working across training steps', () => {
  const W = tensor([[1, 0], [0, 1]]), b = tensor([0, 0]), unused = tensor([5]);
  const ps = params(W, b, unused);
  const loss = () => sum(pow(sub(add(matmul(W, [1, 2]), b), [3, 3]), 2));
  let prev = Infinity;
  for (let step = 0; step < 50; step++) {
    const gs = gradient(loss, ps);
    assert.equal(gs.get(unused).toArray(), [0]);
    // the normal training loop: update params in place outside gradient
    W.assign(sub(W, mul(0.05, gs.get(W))));
    b.assign(sub(b, mul(0.05, gs.get(b))));
    const l = loss().item();
    assert.ok(l <= prev + 1e-12, `loss increased at step ${step}: ${l} > ${prev}`);
    prev = l;
  }
  assert.ok(prev < 1e-6, `did not converge: ${prev}`);
});

test('params(model) walks fields; gs.get(model) is shaped like the model', () => {
  const model = { layers: [{ W: tensor([[1, 2]]), b: tensor([0.5]), act: 'relu' }], scale: 3 };
  const gs = gradient(() => sum(mul(add(matmul(model.layers[0].W, [1, 1]), model.layers[0].b), model.scale)), params(model));
  const gm = gs.get(model);
  assert.equal(gm.layers[0].W.toArray(), [[3, 3]]);
  assert.equal(gm.layers[0].b.toArray(), [3]);
  assert.is(gm.layers[0].act, null);
  assert.is(gm.scale, null);
});

test('Grads.map and Grads.plus', () => {
  const ps = params(x);
  const g1 = gradient(() => sum(mul(x, x)), ps), g2 = gradient(() => sum(x), ps);
  assert.equal(g1.plus(g2).get(x).toArray(), [5, 3]);
  assert.equal(g1.map((t) => mul(t, 0.5)).get(x).toArray(), [2, 1]);
  assert.throws(() => g1.plus(gradient(() => sum(y), params(y))), /different params/);
});

test('mutating a param in place inside the differentiated function is rejected', () => {
  const W = tensor([1, 2]);
  assert.throws(() => gradient(() => { W.assign([0, 0]); return sum(W); }, params(W)), /cannot modify.*being differentiated/);
  // and the registration is gone afterwards: the same update works outside
  W.assign([3, 4]);
  assert.equal(W.toArray(), [3, 4]);
  assert.throws(() => gradient((t: Tensor) => { t.assign([0, 0]); return sum(t); }, W), /cannot modify|traced/);
});

test('nested implicit params: gradient of a gradient norm', () => {
  const w = tensor([1.5, -2]);
  const ps = params(w);
  // d/dw Σ (∂/∂w Σ w³)² = d/dw Σ 9w⁴ = 36 w³
  const outer = gradient(() => sum(pow(gradient(() => sum(pow(w, 3)), ps).get(w), 2)), ps);
  (outer.get(w).toArray() as number[]).forEach((v, i) => assert.ok(Math.abs(v - 36 * w.get(i) ** 3) < 1e-9, `${v}`));
});

test('explicit gradient over a class instance: methods work, constants are marked, numbers get gradients', () => {
  class Affine {
    static [nonTrainable] = ['stride'];
    constructor(public W: Tensor, public b: Tensor, public gain: number, public stride: number, public name: string) {}
    apply(v: Tensor) { return mul(add(matmul(this.W, v), this.b), this.gain); }
  }
  const m = new Affine(tensor([[1, 2], [3, 4]]), tensor([1, 1]), 2, 7, 'fc');
  const [gm] = gradient((model: Affine) => sum(model.apply(tensor([1, 1]))), m) as any[];
  assert.equal(gm.W.toArray(), [[2, 2], [2, 2]]);
  assert.equal(gm.b.toArray(), [2, 2]);
  assert.is(gm.gain, 3 + 7 + 2);
  assert.is(gm.stride, null);
  assert.is(gm.name, null);
  assert.is(Object.getPrototypeOf(gm), Object.prototype);
  // the model itself is untouched
  assert.equal(m.W.toArray(), [[1, 2], [3, 4]]);
});

test('withGradient with params returns value and Grads', () => {
  const r = withGradient(() => ({ loss: sum(mul(x, x)), n: 2 }), params(x));
  assert.equal(r.grad.get(x).toArray(), [4, 2]);
  assert.is((r.value as any).n, 2);
});

test.run();
