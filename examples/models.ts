/**
 * Models are functions with parameters: Chain, Dense, compose, a user's own layers, gradients
 * shaped like the model, printing, and errors that say where. Runs under the operator
 * transform (`node --import tsx --import fluxion/register examples/models.ts`), so `x ** 2`
 * and `h + 1` work on tensors; `spec/examples/models.check.ts` recomputes what it prints.
 */
import { Chain, Dense, compose, relu, softmax, sigmoid, exp, sum, log, rand, seed } from 'fluxion';

seed(0);
const model = Chain(Dense(784, 128, relu), Dense(128, 10), softmax);
console.log(model);
const x = rand([784], { dtype: 'float32' });
console.log(model(x).shape);                       // [ 10 ]: one input
console.log(model(rand([32, 784])).shape);         // [ 32, 10 ]: a batch
console.log(Chain(exp, sum, log)([1, 2, 3]).item()); // 3.40760…: plain functions are layers too
console.log(Chain((x: any) => x ** 2, (x: any) => x + 1)(5));   // 26
const m2 = compose(Dense(5, 2), Dense(10, 5, sigmoid));         // m2(x) = Dense(5, 2)(Dense(10, 5, sigmoid)(x))
console.log(m2);
console.log();

// A user's layer: an ordinary class, made a layer by one call.
import { layer, Tensor, matmul, zeros, glorotUniform, gradient, mean, type Initializer } from 'fluxion';

const Affine = layer(class Affine {
  W: Tensor;
  b: Tensor;
  constructor(inp: number, out: number, { init = glorotUniform as Initializer } = {}) {
    this.W = init([out, inp]);
    this.b = zeros([out], { dtype: 'float32' });
  }
  forward(x: Tensor) {
    return matmul(this.W, x) + this.b;
  }
});

const a = Affine(10, 5);                           // no `new` needed
console.log(a);
const v = rand([10], { dtype: 'float32' });
const [g] = gradient((m: typeof a) => sum(m(v)), a);
console.log(g.W.shape, g.b.toArray());             // shaped like the layer: [ 5, 10 ] [ 1, 1, 1, 1, 1 ]

const TLP = layer(class TLP {
  first = Dense(10, 21, relu);
  second = Dense(21, 15);
  forward(x: Tensor) {
    const h = this.first(x);
    return this.second(h) + mean(h);               // reuses the intermediate h
  }
});
const tlp = TLP();
console.log(tlp);
console.log();

// Errors say where: the path to the layer, what it expected and what it got.
const Broken = layer(class TLP {
  first = Dense(10, 20, relu);
  second = Dense(21, 15);
  forward(x: Tensor) { return this.second(this.first(x)); }
});
try {
  Broken()(rand([5, 10], { dtype: 'float32' }));
} catch (e) {
  console.log(String(e));
}
console.log();

// Shapes without data, and every layer call with its shapes.
import { shapes, outputSize, summary, randn, Batch, tensor, rawbatch } from 'fluxion';

console.log(outputSize(model, [1_000_000, 784]));  // [ 1000000, 10 ]: no data allocated
console.log(summary(tlp, [5, 10]));
console.log(shapes(Chain(tlp, Dense(15, 2), softmax), randn([5, 10], { dtype: 'float32' })));
console.log();

// A batch is a list of data points stored as one tensor.
const b = Batch([tensor([1, 2, 3]), tensor([4, 5, 6])]);
console.log(b);                                    // 2-element Batch of Tensor[3]
console.log(rawbatch(b).shape, b.at(-1).toArray());
console.log(Chain(Dense(3, 2, relu, { dtype: 'float64' }))(b));   // models take and return a Batch
