/**
 * Checks for `examples/autodiff.ts`: every derivative is worked out here by hand (calculus,
 * not the library), and the training loop's result against the weights that made the data.
 */
import * as assert from 'uvu/assert';
import { type ExampleOutput, assertTensor, printed, transcript } from './support.js';

const near = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: printed ${a}, expected ${b}`);

export function check({ stdout }: ExampleOutput): void {
  // the README block: 3x² + 2x + 1 → 6x + 2 → 6; Σ(x − y)² → ±2(x − y)
  // console.log colours numbers when the runner forces colour: compare the plain text
  const plain = stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const head = plain.slice(0, plain.indexOf('\n# ')).trim().split('\n');
  assert.equal(head.slice(0, 4), ['[ 8 ]', '[ 6 ]', '[ [ 0, 2 ], [ -0, -2 ] ]', '[ 0, 2 ]']);

  const t = transcript(stdout);
  const json = (code: string) => JSON.parse(printed(t, code));
  near(json('gradient(sin, 0.5)')[0], Math.cos(0.5), 1e-15, "sin'");
  const th = Math.tanh(0.5);
  near(json('gradient(d2tanh, 0.5)')[0], (1 - th * th) * (6 * th * th - 2), 1e-14, "tanh'''");
  assert.equal(json('gradient(x => x * gradient(y => x + y, 1)[0], 7)'), [1]);
  // p(v) = 2v³ − 3v² + 5 → p'(v) = 6v² − 6v
  assert.equal(json('gradient(horner([2, -3, 0, 5]), 2)'), [6 * 4 - 6 * 2]);
  // s = ((v²)+1)² → ds/dv = 2(v² + 1)·2v
  assert.equal(json('gradient(collatzish, 1.5)'), [2 * (1.5 ** 2 + 1) * 2 * 1.5]);

  // d/dW Σ W·[1, −1] = rows of [1, −1]
  assertTensor(printed(t, 'gradient(w => sum(matmul(w, [1, -1])), W)'), [2, 2], 'float64', [1, -1, 1, -1]);
  assert.equal(json('gradient(v => sum(mul(v, v)), new Float32Array([1, 2, 3]))'), [2, 4, 6]);
  // relu(W·[1,2,3] + b) = relu([7.5, −1.5]): only the first row passes
  const layer = json('gradient(m => sum(relu(m.apply(input))), layer)');
  assert.equal(layer, { W: [[1, 2, 3], [0, 0, 0]], b: [1, 0], name: null });

  // least squares on noiseless data recovers the weights that generated it
  json('w.toArray().map(v => +v.toFixed(6))').forEach((v: number, i: number) => near(v, [2, -1, 0.5][i]!, 1e-6, `w[${i}]`));

  // cross-entropy of softmax: loss = −mean log p[label]; gradient = (softmax − onehot)/batch
  const Z = [[2, 1, 0], [0, 3, 1]], lab = [0, 1];
  const P = Z.map((r) => { const e = r.map(Math.exp); const s = e.reduce((a, b) => a + b); return e.map((v) => v / s); });
  const value = json('withGradient(ce, logits).value');
  near(value.loss, -(Math.log(P[0]![0]!) + Math.log(P[1]![1]!)) / 2, 1e-15, 'loss');
  assert.is(value.batch, 2);
  assertTensor(printed(t, 'withGradient(ce, logits).grad[0]'), [2, 3], 'float64',
    P.flatMap((r, i) => r.map((p, j) => (p - (j === lab[i] ? 1 : 0)) / 2)), 1e-15);

  // f(v) = v·Σv: ∂fᵢ/∂vⱼ = δᵢⱼ Σv + vᵢ
  assertTensor(printed(t, 'jacobian(v => mul(v, sum(v)), tensor([1, 2]))[0]'), [2, 2], 'float64', [3 + 1, 1, 2, 3 + 2]);
  assertTensor(printed(t, 'hessian(v => sum(pow(v, 3)), tensor([1, -2]))'), [2, 2], 'float64', [6, 0, 0, -12]);
  assertTensor(printed(t, 'jvp(v => exp(v), [tensor([0, 1])], [tensor([1, 2])])[1]'), [2], 'float64', [1, 2 * Math.E], 1e-15);
  const [val, [da, db]] = json('pullback((a, b) => a * log(b), 3, 2): value, back(1)');
  near(val, 3 * Math.log(2), 1e-15, 'value');
  near(da, Math.log(2), 1e-15, 'd/da');
  near(db, 3 / 2, 1e-15, 'd/db');
  // the custom rule clips the incoming cotangent 5 to 1
  assert.equal(json('gradient(v => mul(5, clippedIdentity(v)), 2)'), [1]);
  assert.equal(json('gradient(v => mul(v, stopGradient(v)), 3)'), [3]);
}
