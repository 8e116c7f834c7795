/**
 * A tour of fluxion's automatic differentiation, with the function API (no operator
 * transform). Each step prints the expression (after `>`) and its value, like a REPL
 * session; `spec/examples/autodiff.check.ts` recomputes every printed value by hand.
 */
import { gradient, add, mul, pow, sub, sum, tensor, params } from 'fluxion';

const f = (x: number) => add(mul(3, pow(x, 2)), add(mul(2, x), 1)); // 3x² + 2x + 1
console.log(gradient(f, 1));                                        // [ 8 ]
const df = (x: number) => gradient(f, x)[0];
console.log(gradient(df, 1));                                       // [ 6 ]

const g = (x: any, y: any) => sum(pow(sub(x, y), 2));
console.log(gradient(g, [2, 1], [2, 0]));                           // [ [ 0, 2 ], [ -0, -2 ] ]

const x = tensor([2, 1]), y = tensor([2, 0]);
const gs = gradient(() => g(x, y), params(x, y));
console.log(gs.get(x).toArray());                                   // [ 0, 2 ]
console.log();

// The tour. (Imports are hoisted; this one stands apart so the block above is exactly the README's.)
import {
  Tensor, withGradient, jacobian, hessian, jvp, pullback, customGradient, stopGradient,
  matmul, tanh, sin, exp, log, div, relu, logSoftmax, oneHot, randn, seed, nonTrainable,
} from 'fluxion';

function show(code: string, value: unknown): void {
  const text = value instanceof Tensor ? String(value) : JSON.stringify(value, (_k, v) => (v instanceof Tensor ? v.toArray() : v));
  console.log(`> ${code}\n${text}\n`);
}

function section(title: string): void {
  console.log(`# ${title}\n`);
}

section('Derivatives of any order');
show('gradient(sin, 0.5)', gradient(sin, 0.5));
const d2 = (v: number) => gradient((u: number) => gradient(tanh, u)[0], v)[0];
show('gradient(d2tanh, 0.5)', gradient(d2, 0.5)); // the third derivative of tanh
// no perturbation confusion: d/dx [x · d/dy (x + y)] = 1
show('gradient(x => x * gradient(y => x + y, 1)[0], 7)', gradient((u: number) => mul(u, gradient((v: number) => add(u, v), 1)[0]), 7));

section('Plain control flow is differentiated as it runs');
const horner = (coeffs: number[]) => (v: number) => coeffs.reduce((acc: number, c) => add(mul(acc, v), c), 0);
show('gradient(horner([2, -3, 0, 5]), 2)', gradient(horner([2, -3, 0, 5]), 2));
const collatzish = (v: number) => { let s = v; for (let i = 0; i < 3; i++) s = i % 2 === 0 ? mul(s, s) : add(s, 1); return s; };
show('gradient(collatzish, 1.5)', gradient(collatzish, 1.5));

section('Gradients shaped like the arguments');
const W = tensor([[1, 2], [3, 4]]);
show('gradient(w => sum(matmul(w, [1, -1])), W)', gradient((w: Tensor) => sum(matmul(w, [1, -1])), W)[0]);
show('gradient(v => sum(mul(v, v)), new Float32Array([1, 2, 3]))', Array.from(gradient((v: Float32Array) => sum(mul(v, v)), new Float32Array([1, 2, 3]))[0]));

class Affine {
  static [nonTrainable] = ['name'];
  constructor(public W: Tensor, public b: Tensor, public name: string) {}
  apply(v: Tensor): Tensor { return add(matmul(this.W, v), this.b); }
}
const layer = new Affine(tensor([[1, 0, 2], [0, 1, -1]]), tensor([0.5, -0.5]), 'fc1');
const input = tensor([1, 2, 3]);
show('gradient(m => sum(relu(m.apply(input))), layer)', gradient((m: Affine) => sum(relu(m.apply(input))), layer)[0]);

section('A training loop with implicit params');
seed(0);
const X = randn([32, 3]);
const wTrue = tensor([2, -1, 0.5]);
const Y = matmul(X, wTrue);
const w = tensor([0, 0, 0]);
const mse = () => div(sum(pow(sub(matmul(X, w), Y), 2)), 32);
const ps = params(w);
for (let step = 0; step < 200; step++) w.assign(sub(w, mul(0.1, gradient(mse, ps).get(w))));
show('w.toArray().map(v => +v.toFixed(6))', (w.toArray() as number[]).map((v) => +v.toFixed(6)));

section('Value, aux and gradient together');
const logits = tensor([[2, 1, 0], [0, 3, 1]]);
const labels = oneHot([0, 1], 3);
const ce = (z: Tensor) => ({ loss: div(mul(-1, sum(mul(logSoftmax(z), labels))), 2), batch: 2 });
const r = withGradient(ce, logits);
show('withGradient(ce, logits).value', r.value);
show('withGradient(ce, logits).grad[0]', r.grad[0]);

section('Jacobians, Hessians, JVPs, pullbacks');
show('jacobian(v => mul(v, sum(v)), tensor([1, 2]))[0]', jacobian((v: Tensor) => mul(v, sum(v)), tensor([1, 2]))[0]);
show('hessian(v => sum(pow(v, 3)), tensor([1, -2]))', hessian((v: Tensor) => sum(pow(v, 3)), tensor([1, -2])));
show('jvp(v => exp(v), [tensor([0, 1])], [tensor([1, 2])])[1]', jvp((v: Tensor) => exp(v), [tensor([0, 1])], [tensor([1, 2])])[1]);
const [val, back] = pullback((a: number, b: number) => mul(a, log(b)), 3, 2);
show('pullback((a, b) => a * log(b), 3, 2): value, back(1)', [val, back(1)]);

section('Custom rules and stopping gradients');
const clippedIdentity = customGradient(
  (v: number) => v,
  (v: number) => [v, (dy: number) => [Math.max(-1, Math.min(1, dy))]],
);
show('gradient(v => mul(5, clippedIdentity(v)), 2)', gradient((v: number) => mul(5, clippedIdentity(v)), 2));
show('gradient(v => mul(v, stopGradient(v)), 3)', gradient((v: number) => mul(v, stopGradient(v)), 3));
