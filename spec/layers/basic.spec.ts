/** The basic layers (src/layers/basic.ts) against loops, TensorFlow.js and finite differences. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Bilinear, Chain, Dense, Embedding, Flatten, Maxout, Parallel, Scale, ShapeError, SkipConnection, Tensor,
  add, compose, concat, identity, gradient, relu, seed, sum, tanh, tensor, zeros, softmax, exp, log, sigmoid,
} from '../../src/index.js';
import { checkLayerGradient, checkLayerSecondOrder, close, randomTensor } from '../_helpers/layers.js';

const tf: typeof import('@tensorflow/tfjs') = await import('@tensorflow/tfjs');
tf.enableProdMode();
await tf.setBackend('cpu');

/** y = σ(x·Wᵀ + b) by loops, in float64. */
function denseLoop(x: Tensor, W: Tensor, b: Tensor, σ: (v: number) => number): Float64Array {
  const [out, inp] = W.shape, rows = x.size / inp;
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = b.data[o];
      for (let i = 0; i < inp; i++) s += x.data[r * inp + i] * W.data[o * inp + i];
      y[r * out + o] = σ(s);
    }
  }
  return y;
}

test('Dense: values against loops and tf.layers.dense, for vectors, batches and [B, T, in]', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1e6 }),
    (inp, out, batch, s) => {
      seed(s);
      const d = Dense(inp, out, relu);
      (d.bias as Tensor).assign(randomTensor([out], s + 1));
      const x = randomTensor([batch, inp], s + 2);
      const y = d(x);
      assert.equal(y.shape, [batch, out]);
      close(y, denseLoop(x, d.weight, d.bias as Tensor, (v) => Math.max(v, 0)), 1e-5, 'Dense vs loop');
      const layerTf = tf.layers.dense({ units: out, activation: 'relu', inputShape: [inp] });
      layerTf.build([batch, inp]);
      layerTf.setWeights([tf.tensor2d(d.weight.data as Float32Array, [out, inp]).transpose(), tf.tensor1d((d.bias as Tensor).data as Float32Array)]);
      const yTf = (layerTf.apply(tf.tensor2d(x.data as Float32Array, [batch, inp])) as import('@tensorflow/tfjs').Tensor).dataSync();
      close(y, yTf, 1e-5, 'Dense vs TF.js');
      const v = d(tensor(Array.from(x.data.subarray(0, inp)), { dtype: 'float32' }));
      assert.equal(v.shape, [out]);
      close(v, y.data.subarray(0, out), 0, 'a vector gives the first row of the batch');
      const seq = d(randomTensor([2, 3, inp], s + 3));
      assert.equal(seq.shape, [2, 3, out]);
    }), { numRuns: 25 });
});

test('Dense: gradients of input, weight and bias by finite differences (first and second order)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 }),
    (inp, out, batch, s) => {
      seed(s);
      const d = Dense(inp, out, tanh);
      const x = randomTensor([batch, inp], s, 'float64');
      checkLayerGradient(d, [x], s, 'Dense');
      checkLayerSecondOrder(d, [x], s, 'Dense');
    }), { numRuns: 15 });
});

test('Dense: from tensors, without bias, dtypes, printing and errors', () => {
  const d = Dense(tensor([[1, 2], [3, 4], [5, 6]]), false);
  assert.equal(d(tensor([1, 1])).toArray(), [3, 7, 11]);
  assert.is(String(d), 'Dense(2 => 3; bias=false)  # 6 parameters');
  assert.is(d.weight.dtype, 'float64');
  const d32 = Dense(2, 3, relu);
  assert.is(d32.weight.dtype, 'float32');
  assert.is(Dense(2, 3, relu, { dtype: 'float64' }).weight.dtype, 'float64');
  // a float64 input to a float32 layer is converted (with a one-time warning)
  const warn = console.warn, seen: string[] = [];
  console.warn = (m: string) => seen.push(m);
  try {
    assert.is(d32(tensor([[1, 2]])).dtype, 'float32');
    d32(tensor([[1, 2]]));
  } finally {
    console.warn = warn;
  }
  assert.equal(seen, ["fluxion: Dense has float32 parameters and got a float64 input; converting it (convert the data once with x.astype('float32'), or the model with f64(model))"], 'warned once');
  assert.throws(() => Dense(0, 3), (e: Error) => e instanceof TypeError && e.message === 'Dense: the in size must be a positive integer, got number 0');
  assert.throws(() => Dense(2, 3)(tensor([1, 2, 3])), (e: Error) => e instanceof ShapeError && e.message === 'Dense(2 => 3) expects 2 input features, got input of shape [3]');
  assert.throws(() => Dense(2, 3)('abc' as any), (e: Error) => e instanceof TypeError && e.message === "Dense(2 => 3) expects a tensor, got the string 'abc'");
  assert.throws(() => Dense(tensor([[1, 2]]), tensor([1, 2])), (e: Error) => e instanceof ShapeError && e.message === 'Dense: the bias must have shape [1], got [2]');
});

test('Chain: plain functions are layers without parameters; iteration, slicing, named layers, compose', () => {
  const v = Chain(exp, sum, log)([1, 2, 3]) as Tensor;
  assert.ok(Math.abs(v.item() - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3))) < 1e-15);
  const a = Dense(3, 4, relu), b = Dense(4, 2);
  const c = Chain(a, b, softmax);
  assert.is(c.size, 3);
  assert.equal([...c], [a, b, softmax]);
  assert.is(c.at(-1), softmax);
  const head = c.slice(0, 2);
  assert.equal([...head], [a, b]);
  const x = randomTensor([2, 3], 7);
  close(head(x), b(a(x)).data, 0, 'slice shares the layers');
  const named = Chain({ encoder: a, head: b });
  assert.is(named.layers.encoder, a);
  close(named(x), b(a(x)).data, 0, 'named chain');
  assert.equal([...named.slice(1)], [b]);
  const m2 = compose(b, a);
  close(m2(x), b(a(x)).data, 0, 'compose(f, g)(x) = f(g(x))');
  assert.throws(() => Chain(Dense(2, 2), 3 as any), (e: Error) => e instanceof TypeError && e.message === 'Chain: entry [1] must be a layer or a function, got number 3');
});

test('Chain: gradient with respect to the model is shaped like it', () => {
  seed(5);
  const m = Chain(Dense(3, 4, tanh), Dense(4, 2), sum);
  const x = randomTensor([5, 3], 9, 'float64');
  checkLayerGradient(m, [x], 5, 'Chain');
  const [g] = gradient((mm: typeof m) => mm(x), m) as any[];
  assert.equal(g.layers[0].weight.shape, [4, 3]);
  assert.is(g.layers[2], null, 'a plain function has no gradient');
});

test('Parallel, SkipConnection and Maxout against their definitions', () => {
  seed(2);
  const f = Dense(4, 2), g = Dense(4, 3);
  const x = randomTensor([3, 4], 11);
  const cat = (p: Tensor, q: Tensor) => concat([p, q], -1);
  const p = Parallel(cat, f, g);
  close(p(x), concat([f(x), g(x)], -1).data, 0, 'Parallel on one input');
  const y = randomTensor([3, 4], 12);
  close(p(x, y), concat([f(x), g(y)], -1).data, 0, 'Parallel on one input per layer');
  assert.throws(() => p(x, y, x), (e: Error) => e.message === 'Parallel: expects 1 input or 2 inputs (one per layer), got 3');
  const s = SkipConnection(Dense(4, 4, relu), add);
  close(s(x), add(s.layer(x), x).data, 0, 'SkipConnection');
  const mo = Maxout(() => Dense(4, 3), 3);
  assert.is(mo.layers.length, 3);
  const outs = mo.layers.map((l: any) => l(x).data as Float32Array);
  close(mo(x), outs[0].map((v, i) => Math.max(v, outs[1][i], outs[2][i])), 0, 'Maxout');
  checkLayerGradient(Parallel(cat, Dense(2, 2, tanh), Dense(2, 1)), [randomTensor([2, 2], 3, 'float64')], 3, 'Parallel');
  checkLayerGradient(SkipConnection(Dense(2, 2, tanh), add), [randomTensor([2, 2], 4, 'float64')], 4, 'SkipConnection');
});

test('Bilinear: y_o = x1ᵀ W_o x2 + b_o against loops; gradients', () => {
  seed(4);
  const bl = Bilinear(3, 2, 4, identity);
  (bl.bias as Tensor).assign(randomTensor([4], 1));
  const x1 = randomTensor([5, 3], 2), x2 = randomTensor([5, 2], 3);
  const want = new Float64Array(5 * 4);
  for (let n = 0; n < 5; n++) for (let o = 0; o < 4; o++) {
    let s = (bl.bias as Tensor).data[o];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) s += x1.data[n * 3 + i] * bl.weight.data[o * 6 + i * 2 + j] * x2.data[n * 2 + j];
    want[n * 4 + o] = s;
  }
  close(bl(x1, x2), want, 1e-5, 'Bilinear');
  assert.is(String(bl), 'Bilinear((3, 2) => 4)  # 28 parameters');
  checkLayerGradient(Bilinear(2, 3, 2, tanh), [randomTensor([2, 2], 5, 'float64'), randomTensor([2, 3], 6, 'float64')], 5, 'Bilinear');
  assert.throws(() => bl(x1, x1), (e: Error) => e instanceof ShapeError && e.message === 'Bilinear((3, 2) => 4) expects inputs [..., 3] and [..., 2] with the same batch dimensions, got [5, 3] and [5, 3]');
});

test('Embedding: rows of the table, against tf.layers.embedding; gradient reaches only the rows used', () => {
  seed(8);
  const e = Embedding(6, 3);
  const idx = [[0, 5], [2, 2]];
  const y = e(idx);
  assert.equal(y.shape, [2, 2, 3]);
  const emb = tf.layers.embedding({ inputDim: 6, outputDim: 3 });
  emb.build([2, 2]);
  emb.setWeights([tf.tensor2d(e.weight.data as Float32Array, [6, 3])]);
  close(y, (emb.apply(tf.tensor2d(idx, [2, 2], 'int32')) as import('@tensorflow/tfjs').Tensor).dataSync(), 0, 'Embedding vs TF.js');
  const [g] = gradient((m: typeof e) => sum(m(idx)), e) as any[];
  assert.equal(g.weight.toArray(), [[1, 1, 1], [0, 0, 0], [2, 2, 2], [0, 0, 0], [0, 0, 0], [1, 1, 1]]);
  assert.is(String(e), 'Embedding(6 => 3)  # 18 parameters');
  assert.throws(() => e([6]), (err: Error) => err instanceof RangeError && err.message === 'Embedding(6 => 3) got index 6; indices must be integers in 0…5');
  assert.throws(() => e([1.5]), (err: Error) => err instanceof RangeError && err.message === 'Embedding(6 => 3) got index 1.5; indices must be integers in 0…5');
});

test('Flatten keeps the batch dimension; Scale is an elementwise affine map', () => {
  assert.equal(Flatten()(zeros([2, 3, 4, 5])).shape, [2, 60]);
  const s = Scale([2, 3], tanh);
  s.scale.assign(randomTensor([2, 3], 1));
  (s.bias as Tensor).assign(randomTensor([2, 3], 2));
  const x = randomTensor([4, 2, 3], 3);
  close(s(x), x.data.map((v, i) => Math.tanh(v * s.scale.data[i % 6] + (s.bias as Tensor).data[i % 6])), 1e-6, 'Scale');
  assert.is(String(s), 'Scale(2, 3, tanh)  # 12 parameters');
  checkLayerGradient(Scale(3, sigmoid), [randomTensor([2, 3], 4, 'float64')], 4, 'Scale');
  assert.throws(() => s(zeros([4, 3, 2], { dtype: 'float32' })), (e: Error) => e instanceof ShapeError && e.message === 'Scale(2, 3, tanh) expects input of shape [..., 2, 3], got [4, 3, 2]');
});

test.run();
