/** customGradient, stopGradient, ignoreGradient (src/ad/custom.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  add, customGradient, exp, gradient, ignoreGradient, log, mul, stopGradient, sub, sum, tanh, tensor, Tensor,
  div, isTracked,
} from '../../src/index.js';

test('a custom rule is used instead of tracing through the function', () => {
  let ruleCalls = 0;
  // a deliberately "wrong" rule (derivative 10) proves the rule, not the tracer, is used
  const f = customGradient((x: any) => mul(x, x), (x: any) => { ruleCalls++; return [mul(x, x), (dy: any) => [mul(dy, 10)]]; });
  assert.equal(gradient(f, 3), [10]);
  assert.is(ruleCalls, 1);
  assert.is(f(4), 16); // without a gradient in flight, the plain function runs
  assert.is(ruleCalls, 1);
});

test('a numerically stable custom rule: log1pexp with derivative σ(x), on tensors', () => {
  const log1pexp = customGradient(
    (x: Tensor) => log(add(exp(x), 1)),
    (x: Tensor) => {
      const y = log(add(exp(x), 1));
      return [y, (dy: Tensor) => [mul(dy, div(1, add(exp(mul(x, -1)), 1)))]];
    },
  );
  const g = gradient((x: Tensor) => sum(log1pexp(x)), tensor([-1, 0, 2]))[0] as Tensor;
  [-1, 0, 2].forEach((v, i) => assert.ok(Math.abs(g.get(i) - 1 / (1 + Math.exp(-v))) < 1e-15));
});

test('the custom pullback is itself differentiable (second derivative through a custom rule)', () => {
  const mytanh = customGradient(
    (x: any) => tanh(x),
    (x: any) => { const y = tanh(x); return [y, (dy: any) => [mul(dy, sub(1, mul(y, y)))]]; },
  );
  const x = 0.4, t = Math.tanh(x);
  const d2 = gradient((v: any) => gradient(mytanh, v)[0], x)[0];
  assert.ok(Math.abs(d2 - -2 * t * (1 - t * t)) < 1e-14, `${d2}`);
});

test('the pullback must return one cotangent per argument', () => {
  const bad = customGradient((a: any, b: any) => mul(a, b), (a: any, b: any) => [mul(a, b), () => [1]]);
  assert.throws(() => gradient(bad, 2, 3), /returned 1 cotangents for 2 arguments/);
});

test('stopGradient: the value passes, the derivative does not', () => {
  assert.equal(gradient((x: any) => mul(x, stopGradient(x)), 3), [3]);
  const g = gradient((x: Tensor) => sum(mul(x, stopGradient(x))), tensor([1, 2]))[0] as Tensor;
  assert.equal(g.toArray(), [1, 2]);
  assert.is(isTracked(stopGradient(tensor([1]))), false);
});

test('ignoreGradient: everything inside acts as a constant', () => {
  assert.equal(gradient((x: any) => add(mul(x, 2), ignoreGradient(() => mul(x, x))), 5), [2]);
});

test.run();
