/** The layer machinery (src/layers/layer.ts): callable layers, the three ways to make one, errors that say where. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Chain, Dense, Layer, ShapeError, Tensor, add, gradient, isLayer, layer, matmul, mul, params, relu, seed, sigmoid, sum,
  tensor, trainables, zeros, glorotUniform, type Initializer, exp, log, tanh,
} from '../../src/index.js';

// ---- the seeds' examples, as a user would write them

const Affine = layer(class Affine {
  W: Tensor;
  b: Tensor;
  constructor(inp: number, out: number, { init = glorotUniform as Initializer } = {}) {
    this.W = init([out, inp]);
    this.b = zeros([out], { dtype: 'float32' });
  }
  forward(x: Tensor): Tensor {
    return add(matmul(this.W, x), this.b);
  }
});

const TLP = layer(class TLP {
  first = Dense(10, 21, relu);
  second = Dense(21, 15);
  forward(x: Tensor): Tensor {
    const h = this.first(x);
    return add(this.second(h), sum(h)); // reuses the intermediate value
  }
});

@layer
class Perceptron {
  weight: Tensor;
  constructor(n: number) {
    this.weight = tensor(Array.from({ length: n }, (_, i) => (i + 1) / n), { dtype: 'float32' });
  }
  forward(x: Tensor): Tensor {
    return sigmoid(sum(mul(this.weight, x)));
  }
}
interface Perceptron { (x: Tensor): Tensor }

class Residual extends Layer<[Tensor], Tensor> {
  inner = Dense(4, 4, tanh);
  forward(x: Tensor): Tensor {
    return add(x, this.inner(x));
  }
}

test('layer(class): constructed with or without new, callable, an instance of its class and of Layer', () => {
  seed(3);
  const a = Affine(10, 5);
  const b = new Affine(10, 5);
  assert.ok(a instanceof Affine && b instanceof Affine && a instanceof Layer && isLayer(a));
  assert.is(typeof a, 'function');
  assert.equal(a.W.shape, [5, 10]);
  const x = tensor(Array.from({ length: 10 }, (_, i) => i / 10), { dtype: 'float32' });
  const y = a(x);
  const ref = a.W.toArray() as number[][];
  const xs = x.toArray() as number[];
  const want = ref.map((row) => Math.fround(row.reduce((s, w, j) => s + w * xs[j], 0)));
  (y.toArray() as number[]).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `Affine output ${i}: ${v} vs ${want[i]}`));
  assert.is(a.forward(x).toString(), y.toString());
});

test('the decorator form and extending Layer make layers too', () => {
  const p = new Perceptron(3);
  assert.ok(isLayer(p));
  const v = p(tensor([1, 2, 3], { dtype: 'float32' })).item();
  assert.ok(Math.abs(v - 1 / (1 + Math.exp(-(1 / 3 + 4 / 3 + 3)))) < 1e-6);
  const r = new Residual();
  assert.ok(isLayer(r) && r instanceof Residual);
  assert.equal(r(zeros([2, 4], { dtype: 'float32' })).shape, [2, 4]);
  assert.is(trainables(r).length, 2);
});

test('gradients of a user layer are shaped like it; configuration fields get null', () => {
  seed(1);
  const m = TLP();
  const x = tensor(Array.from({ length: 10 }, (_, i) => Math.sin(i)), { dtype: 'float32' });
  const [g] = gradient((mm: typeof m) => sum(mm(x)), m) as any[];
  assert.equal(Object.keys(g).sort(), ['first', 'second']);
  assert.equal(g.first.weight.shape, [21, 10]);
  assert.equal(g.second.bias.toArray(), Array(15).fill(1));
  assert.is(g.first.σ, null);
  // implicit params see the same tensors
  const gs = gradient(() => sum(m(x)), params(m));
  assert.equal(gs.get(m.first.weight).toArray(), g.first.weight.toArray());
});

test('the seeds\' closure style stays a valid model with implicit params', () => {
  const linear = (inp: number, out: number) => {
    const W = glorotUniform([out, inp], { dtype: 'float64' }), b = zeros([out]);
    const f = (x: Tensor) => add(matmul(W, x), b);
    return Object.assign(f, { W, b });
  };
  const l1 = linear(3, 2);
  const model = Chain(l1, exp, sum);
  const x = tensor([1, 2, 3]);
  const gs = gradient(() => model(x), params(l1.W, l1.b));
  const e = (l1(x).toArray() as number[]).map(Math.exp);
  assert.equal((gs.get(l1.b).toArray() as number[]).map((v) => +v.toFixed(12)), e.map((v) => +v.toFixed(12)));
});

test('tied weights are one parameter: one entry, gradients added', () => {
  const d = Dense(3, 3);
  const m = Chain(d, d);
  assert.is(trainables(m).length, 2);
  assert.is(params(m).size, 2);
  const x = tensor([[1, 2, 3]], { dtype: 'float32' });
  const [g] = gradient((mm: typeof m) => sum(mm(x)), m) as any[];
  assert.is(g.layers[0].weight, g.layers[1].weight, 'both places hold the one gradient');
  // d/db of sum(d(d(x))) = 1 (outer bias) + Wᵀ·1 (through the inner application)
  const W = d.weight.toArray() as number[][];
  const want = [0, 1, 2].map((j) => 1 + W.reduce((s, row) => s + row[j], 0));
  (g.layers[0].bias.toArray() as number[]).forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-5));
});

test('fields may be called name or length', () => {
  const Named = layer(class Named {
    name = 'encoder';
    length = 3;
    w = tensor([2], { dtype: 'float32' });
    forward(x: Tensor) { return mul(x, this.w); }
  });
  const n = Named();
  assert.is(n.name, 'encoder');
  assert.is(n.length, 3);
  n.name = 'renamed';
  assert.is(n.name, 'renamed');
  assert.equal(n(tensor([1], { dtype: 'float32' })).toArray(), [2]);
});

test('nested derivatives go through layers', () => {
  const d = Dense(tensor([[2]]), tensor([0.5]), tanh);
  // f(x) = tanh(2x + 0.5): f'' = -8 tanh(u) (1 - tanh(u)^2)
  const f = (x: number) => d(tensor([x])).item();
  const x0 = 0.3, u = 2 * x0 + 0.5, t = Math.tanh(u);
  const d2 = gradient((x: number) => gradient(f, x)[0] as number, x0)[0] as number;
  assert.ok(Math.abs(d2 - -8 * t * (1 - t * t)) < 1e-12, `${d2}`);
});

test('layer() rejects a class without forward', () => {
  const e = messageOf(() => layer(class NoForward {} as any));
  assert.ok(e instanceof TypeError);
  assert.is(e.message, 'layer: expected a class with a forward method, got the function NoForward');
});

// ---- errors that say where

function messageOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

test('a shape error inside a custom layer names the path, the layer, what it expected and got', () => {
  const Bad = layer(class TLP {
    first = Dense(10, 20, relu);
    second = Dense(21, 15);
    forward(x: Tensor) { return this.second(this.first(x)); }
  });
  const e = messageOf(() => Bad()(zeros([5, 10], { dtype: 'float32' })));
  assert.ok(e instanceof ShapeError);
  assert.is(e.message, 'TLP.second → Dense(21 => 15) expects 21 input features, got input of shape [5, 20]');
  assert.ok(e.stack!.startsWith('ShapeError: TLP.second → Dense(21 => 15) expects'), 'the stack shows the new message');
  assert.match(e.stack!.split('\n')[1], /basic\.ts/, 'the original stack is kept: its first frame is where Dense threw');
});

test('Chain positions, named layers, nesting and plain functions appear in the path', () => {
  const x = zeros([1, 2], { dtype: 'float32' });
  assert.is(messageOf(() => Chain(Dense(2, 3), Chain(Dense(3, 3), Dense(4, 1)))(x)).message,
    'Chain[1][1] → Dense(4 => 1) expects 4 input features, got input of shape [1, 3]');
  assert.is(messageOf(() => Chain({ encoder: Dense(2, 3), head: Dense(2, 1) })(x)).message,
    'Chain.head → Dense(2 => 1) expects 2 input features, got input of shape [1, 3]');
  const e = messageOf(() => Chain(Dense(2, 3), (h: Tensor) => matmul(h, zeros([2, 2])))(x));
  assert.match(e.message, /^Chain\[1\] → \(anonymous function\): matmul: /);
  // a layer called on its own: the message is the layer's own
  assert.is(messageOf(() => Dense(3, 1)(x)).message, 'Dense(3 => 1) expects 3 input features, got input of shape [1, 2]');
});

test('errors from inside a layer keep their type and get the layer label', () => {
  const e = messageOf(() => Chain(Dense(2, 2), log, Dense(2, 2, (h: Tensor) => { throw new RangeError('custom failure'); }))(zeros([1, 2], { dtype: 'float32' })));
  assert.ok(e instanceof RangeError);
  assert.is(e.message, 'Chain[2] → Dense(2 => 2, σ): custom failure');
});

test.run();
