// run: node --import tsx --import fluxion/register examples/regression.ts   (needs the operator transform)
/**
 * The seed tutorial: linear regression fitted by hand. Data come from a known linear map plus
 * a little noise; `gradient(() => loss(x, y), params(W, b))` gives the gradients of the
 * implicit params, and `W -= 0.1 * gs.get(W)` steps downhill (in place: the operator transform
 * rewrites compound assignments on tensors). The same fit is then done with
 * `update(Descent(0.1), params(W, b), gs)`. `spec/examples/regression.check.ts` regenerates the
 * data, solves the least-squares problem itself, and compares.
 */
import { gradient, params, update, Descent, tensor, zeros, matmul, sum, mean, type Tensor } from 'fluxion';

/**
 * A small seeded generator (a 32-bit linear congruential one), so the check can regenerate
 * exactly the same data: uniform numbers in [-1, 1).
 */
function uniform(seedValue: number): () => number {
  let state = seedValue >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (2 * state) / 2 ** 32 - 1;
  };
}

const N = 200, inputs = 5, outputs = 2;
const next = uniform(2024);
const table = (rows: number, cols: number, scale = 1) =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => scale * next()));
const trueW = table(inputs, outputs, 2), trueB = table(1, outputs, 2)[0]!;
const xs = table(N, inputs);
const ys = xs.map((row) => trueB.map((bj, j) => bj + row.reduce((s, xi, i) => s + xi * trueW[i]![j]!, 0) + 0.05 * next()));
console.log(`true W: ${JSON.stringify(trueW)}`);
console.log(`true b: ${JSON.stringify(trueB)}`);

const x = tensor(xs), y = tensor(ys);             // [200, 5] inputs, [200, 2] targets (float64)
const W = zeros([inputs, outputs]), b = zeros([outputs]);
const predict = (x: Tensor) => matmul(x, W) + b;
const loss = (x: Tensor, y: Tensor) => mean(sum((predict(x) - y) ** 2, 1));   // squared error per sample, averaged

console.log(`step 0: loss ${loss(x, y).item()}`);
for (let step = 1; step <= 200; step++) {
  const gs = gradient(() => loss(x, y), params(W, b));
  W -= 0.1 * gs.get(W);
  b -= 0.1 * gs.get(b);
  if (step % 20 === 0) console.log(`step ${step}: loss ${loss(x, y).item()}`);
}
console.log(`recovered W: ${JSON.stringify(W.toArray())}`);
console.log(`recovered b: ${JSON.stringify(b.toArray())}`);

// The same fit with an optimiser rule: update applies Descent's x -= 0.1·dx to every param.
{
  const W = zeros([inputs, outputs]), b = zeros([outputs]);
  const loss = (x: Tensor, y: Tensor) => mean(sum((matmul(x, W) + b - y) ** 2, 1));
  for (let step = 1; step <= 200; step++) {
    const gs = gradient(() => loss(x, y), params(W, b));
    update(Descent(0.1), params(W, b), gs);
  }
  console.log(`with update(Descent(0.1), params(W, b), gs): loss ${loss(x, y).item()}`);
  console.log(`  W: ${JSON.stringify(W.toArray())}`);
  console.log(`  b: ${JSON.stringify(b.toArray())}`);
}
