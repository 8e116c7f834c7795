/**
 * A user's own layers, end to end: define them as ordinary classes, build a model from them,
 * print it, train it with an optimiser, save it and load it into a freshly built model.
 * `spec/examples/custom-layer.check.ts` checks the losses and the reload.
 */
import {
  layer, Tensor, matmul, add, transpose, tanh, zeros, glorotUniform, gradient, mse, setup, update, Adam,
  saveModel, loadModel, seed, arange, reshape, sin, mul, type Initializer, type Activation,
} from 'fluxion';

/** x·Wᵀ + b on a batch [B, in] → [B, out]. */
const Affine = layer(class Affine {
  W: Tensor;
  b: Tensor;
  constructor(inp: number, out: number, { init = glorotUniform as Initializer } = {}) {
    this.W = init([out, inp]);
    this.b = zeros([out], { dtype: 'float32' });
  }
  forward(x: Tensor) {
    return add(matmul(x, transpose(this.W)), this.b);
  }
});

/** Two Affine layers with an activation between them: sub-layers and configuration in one layer. */
const MLP = layer(class MLP {
  hidden: InstanceType<typeof Affine>;
  out: InstanceType<typeof Affine>;
  σ: Activation;
  constructor(width: number, σ: Activation = tanh) {
    this.hidden = Affine(1, width);
    this.out = Affine(width, 1);
    this.σ = σ;
  }
  forward(x: Tensor) {
    return this.out(this.σ(this.hidden(x)));
  }
});

seed(1);
const model = MLP(32);
console.log(model);

// y = sin(3x) on [-1, 1), as a batch of 256 one-feature observations
const X = reshape(arange(-1, 1, 2 / 256), [-1, 1]).astype('float32');
const Y = sin(mul(X, 3));

const steps = process.env.CI ? 400 : 2000;
const opt = setup(Adam(1e-2), model);
for (let step = 0; step <= steps; step++) {
  const [g] = gradient((m: typeof model) => mse(m(X), Y), model);
  if (step % (steps / 4) === 0) console.log(`step ${step}: loss ${mse(model(X), Y).item()}`);
  update(opt, model, g);
}

// save and load into a model built afresh (different random weights before loading)
const bytes = saveModel(model);
seed(2);
const fresh = MLP(32);
loadModel(fresh, bytes);
const same = fresh(X).data.every((v, i) => v === model(X).data[i]);
console.log(`saved ${bytes.length} bytes; the reloaded model gives identical outputs: ${same}`);
