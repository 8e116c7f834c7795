/**
 * The user API of src/ad/pullback.ts: known answers (derived by hand, not read off the
 * code), argument/gradient shapes, nesting without perturbation confusion, jacobian,
 * hessian, jvp, withGradient, and error messages.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  add, cos, exp, gradient, hessian, jacobian, jvp, log, matmul, mul, pow, pullback, sigmoid, sin, sub,
  sum, tanh, tensor, Tensor, withGradient, div, gt, index, transpose, softplus,
} from '../../src/index.js';

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const assertClose = (a: number, b: number, tol = 1e-12, msg = '') =>
  assert.ok(close(a, b, tol), `${msg} got ${a}, expected ${b}`);

const f = (x: any) => add(mul(3, pow(x, 2)), add(mul(2, x), 1));

test('gradient of 3x² + 2x + 1 is 6x + 2, and its derivative is 6, to any order', () => {
  fc.assert(fc.property(fc.double({ min: -100, max: 100, noNaN: true }), (x) => {
    assertClose(gradient(f, x)[0], 6 * x + 2);
    assertClose(gradient((v: any) => gradient(f, v)[0], x)[0], 6);
    assert.is(gradient((v: any) => gradient((w: any) => gradient(f, w)[0], v)[0], x)[0], 0);
  }), { numRuns: 50 });
  assert.equal(gradient(f, 1), [8]);
});

test('several arguments, nested arrays: gradient shaped like each argument', () => {
  const g = gradient((x: any, y: any) => sum(pow(sub(x, y), 2)), [2, 1], [2, 0]);
  assert.equal(g, [[0, 2], [-0, -2]]);
  const h = gradient((m: any) => sum(mul(tensor(m), tensor(m))), [[1, 2], [3, 4]])[0];
  assert.equal(h, [[2, 4], [6, 8]]);
});

test('typed arrays come back as the same typed array type; tensors as tensors of the same shape and dtype', () => {
  const g32 = gradient((x: any) => sum(mul(x, x)), new Float32Array([1, 2, 3]))[0];
  assert.ok(g32 instanceof Float32Array);
  assert.equal(Array.from(g32), [2, 4, 6]);
  const g64 = gradient((x: any) => sum(exp(x)), new Float64Array([0, 1]))[0];
  assert.ok(g64 instanceof Float64Array);
  assertClose(g64[1], Math.E);
  const t = tensor([[1, 2], [3, 4]], { dtype: 'float32' });
  const gt = gradient((x: any) => sum(sin(x)), t)[0] as Tensor;
  assert.ok(gt instanceof Tensor);
  assert.equal(gt.shape, [2, 2]);
  assert.is(gt.dtype, 'float32');
  assertClose(gt.get(1, 0), Math.fround(Math.cos(3)), 1e-6);
});

test('a typed-array argument reads element by element inside f (w[i], length, for…of)', () => {
  const w = new Float64Array([1, 2, 3]), v = new Float64Array([4, 5, 6]);
  const dotLoop = (a: any, b: any) => { let s: any = 0; for (let i = 0; i < a.length; i++) s = add(s, mul(a[i], b[i])); return s; };
  const [ga, gb] = gradient(dotLoop, w, v);
  assert.ok(ga instanceof Float64Array && gb instanceof Float64Array);
  assert.equal(Array.from(ga), [4, 5, 6]);
  assert.equal(Array.from(gb), [1, 2, 3]);
  let n = 0;
  const g32 = gradient((a: any) => { let s: any = 0; for (const e of a) { s = add(s, mul(e, e)); n++; } return s; }, new Float32Array([0.5, -1]))[0];
  assert.ok(g32 instanceof Float32Array);
  assert.equal(Array.from(g32), [1, -2]);
  assert.is(n, 2);
});

test('unused arguments get zeros (number 0, zero tensors), not undefined', () => {
  const [a, b, c] = gradient((x: any, _y: any, _z: any) => mul(x, 2), 1, 5, tensor([1, 2]));
  assert.is(a, 2);
  assert.is(b, 0);
  assert.equal((c as Tensor).toArray(), [0, 0]);
  assert.equal(gradient(() => 3, 1), [0]);
});

test('perturbation confusion: d/dx [x · d/dy (x + y)] = 1, and the nested-x variant', () => {
  assert.equal(gradient((x: any) => mul(x, gradient((y: any) => add(x, y), 1)[0]), 1), [1]);
  // d/dx [x · d/dy (x·y)] at y = 2: inner derivative is x, so d/dx x² = 2x
  fc.assert(fc.property(fc.double({ min: -10, max: 10, noNaN: true }), (x) => {
    assertClose(gradient((u: any) => mul(u, gradient((y: any) => mul(u, y), 2)[0]), x)[0], 2 * x);
  }), { numRuns: 30 });
});

test('higher derivatives of sin, exp, log, tanh, sigmoid, pow match closed forms', () => {
  const nth = (fn: (x: any) => any, n: number) => {
    let d = fn;
    for (let k = 0; k < n; k++) { const g = d; d = (x: any) => gradient(g, x)[0]; }
    return d;
  };
  fc.assert(fc.property(fc.double({ min: 0.1, max: 2, noNaN: true }), (x) => {
    assertClose(nth(sin, 3)(x), -Math.cos(x), 1e-12, 'sin‴');
    assertClose(nth(sin, 4)(x), Math.sin(x), 1e-12, 'sin⁗');
    assertClose(nth(exp, 4)(x), Math.exp(x), 1e-12, 'exp⁗');
    assertClose(nth(log, 3)(x), 2 / x ** 3, 1e-12, 'log‴');
    assertClose(nth(log, 4)(x), -6 / x ** 4, 1e-12, 'log⁗');
    const t = Math.tanh(x);
    assertClose(nth(tanh, 3)(x), (1 - t * t) * (6 * t * t - 2), 1e-10, 'tanh‴');
    assertClose(nth(tanh, 4)(x), (1 - t * t) * (16 * t - 24 * t ** 3), 1e-10, 'tanh⁗');
    const s = 1 / (1 + Math.exp(-x));
    assertClose(nth(sigmoid, 3)(x), s * (1 - s) * (1 - 6 * s + 6 * s * s), 1e-10, 'σ‴');
    assertClose(nth((v: any) => pow(v, 5), 4)(x), 120 * x, 1e-11, '(x⁵)⁗');
    assertClose(nth((v: any) => pow(2.5, v), 3)(x), 2.5 ** x * Math.log(2.5) ** 3, 1e-11, '(2.5ˣ)‴');
  }), { numRuns: 25 });
});

test('second derivatives work on tensors too (where TF.js fails on tanh/sigmoid/exp)', () => {
  const x = tensor([0.3, -0.7, 1.1]);
  for (const [fn, d2] of [
    [tanh, (v: number) => { const t = Math.tanh(v); return -2 * t * (1 - t * t); }],
    [sigmoid, (v: number) => { const s = 1 / (1 + Math.exp(-v)); return s * (1 - s) * (1 - 2 * s); }],
    [exp, Math.exp],
  ] as const) {
    const H = hessian((v: any) => sum(fn(v)), x) as Tensor;
    assert.equal(H.shape, [3, 3]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      assertClose(H.get(i, j), i === j ? d2(x.get(i)) : 0, 1e-12);
    }
  }
});

test('hessian is symmetric and matches the analytic Hessian of a quadratic form xᵀAx', () => {
  fc.assert(fc.property(fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 9, maxLength: 9 }),
    fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 3, maxLength: 3 }), (a, xs) => {
      const A = tensor(a, { shape: [3, 3] });
      const H = hessian((x: any) => sum(mul(x, matmul(A, x))), tensor(xs)) as Tensor;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        assertClose(H.get(i, j), A.get(i, j) + A.get(j, i), 1e-12);
        assertClose(H.get(i, j), H.get(j, i), 1e-12);
      }
    }), { numRuns: 20 });
});

test('jacobian: shape [...y, ...x]; numbers give numbers', () => {
  const J = jacobian((x: any) => mul(x, tensor([1, 2, 3])), tensor([4, 5, 6]))[0] as Tensor;
  assert.equal(J.shape, [3, 3]);
  assert.equal(J.toArray(), [[1, 0, 0], [0, 2, 0], [0, 0, 3]]);
  assert.is(jacobian((x: any) => mul(x, x), 3)[0], 6);
  const W = tensor([[1, 2, 3], [4, 5, 6]]);
  const JW = jacobian((x: any) => matmul(W, x), tensor([1, 1, 1]))[0] as Tensor;
  assert.equal(JW.toArray(), W.toArray());
});

test('jacobian of a function returning an array of numbers, with respect to a number array', () => {
  const J = jacobian((v: any) => [mul(v[0], v[1]), add(v[0], mul(2, v[1]))], [3, 5])[0] as Tensor;
  assert.equal(J.toArray(), [[5, 3], [1, 2]]);
});

test('jvp equals the Jacobian times the tangent', () => {
  fc.assert(fc.property(fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 }),
    fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 }), (xs, ts) => {
      const fn = (x: any) => mul(sin(x), sum(x));
      const [y, t] = jvp(fn, [tensor(xs)], [tensor(ts)]);
      const J = jacobian(fn, tensor(xs))[0] as Tensor;
      const Jt = matmul(J, tensor(ts));
      assert.equal((y as Tensor).toArray(), (fn(tensor(xs)) as Tensor).toArray());
      ((t as Tensor).toArray() as number[]).forEach((v, i) => assertClose(v, Jt.get(i), 1e-12));
    }), { numRuns: 20 });
  const [y, t] = jvp((x: any) => mul(x, x), [3], [2]);
  assert.is(y, 9);
  assert.is(t, 12);
});

test('pullback: back may be called many times, with any cotangent; vjp = back', () => {
  const [y, back] = pullback((x: any) => mul(x, tensor([1, 2, 3])), 2);
  assert.equal((y as Tensor).toArray(), [2, 4, 6]);
  assert.equal(back(tensor([1, 1, 1])), [6]);
  assert.equal(back(tensor([0, 0, 1])), [3]);
  assert.equal(back([1, 0, 0]), [1]);
  assert.throws(() => back(tensor([1, 1])), /cotangent.*shape \[2\].*\[3\]/);
});

test('withGradient returns the value and aux untouched, for { loss, ...aux } and [loss, aux]', () => {
  const r = withGradient((x: any) => ({ loss: mul(x, x), label: 'sq', twice: mul(2, x) }), 3);
  assert.equal(r.grad, [6]);
  assert.is((r.value as any).loss, 9);
  assert.is((r.value as any).label, 'sq');
  assert.is((r.value as any).twice, 6);
  assert.is(typeof (r.value as any).twice, 'number');
  const p = withGradient((x: any) => [sum(mul(x, x)), { n: 1 }], tensor([1, 2]));
  assert.equal((p.grad[0] as Tensor).toArray(), [2, 4]);
  assert.equal((p.value as any)[1], { n: 1 });
});

test('control flow: loops, branches, recursion, closures, early returns, array methods', () => {
  const horner = (cs: number[]) => (x: any) => cs.reduce((acc: any, c) => add(mul(acc, x), c), 0);
  const cs = [3, -1, 2, 5];
  const dp = (x: number) => 3 * 3 * x * x + -1 * 2 * x + 2;
  fc.assert(fc.property(fc.double({ min: -5, max: 5, noNaN: true }), (x) => {
    assertClose(gradient(horner(cs), x)[0], dp(x), 1e-12);
  }), { numRuns: 30 });
  const powRec = (x: any, n: number): any => (n === 0 ? 1 : mul(x, powRec(x, n - 1)));
  assertClose(gradient((x: any) => powRec(x, 5), 1.5)[0], 5 * 1.5 ** 4);
  const piecewise = (x: any) => { if (gt(x, 0) === 0) return mul(x, -1); return mul(x, x); };
  assert.equal(gradient(piecewise, -2), [-1]);
  assert.equal(gradient(piecewise, 3), [6]);
  const loop = (x: any) => { let s: any = 0; for (let i = 1; i <= 4; i++) s = add(s, div(x, i)); return s; };
  assertClose(gradient(loop, 7)[0], 1 + 1 / 2 + 1 / 3 + 1 / 4);
  const mapped = (xs: any) => [1, 2, 3].map((k, i) => mul(k, index(xs, i))).reduce((a: any, b: any) => add(a, b) as any);
  assert.equal((gradient(mapped, tensor([5, 5, 5]))[0] as Tensor).toArray(), [1, 2, 3]);
});

test('the output read back with item(), get() and toArray() stays differentiable', () => {
  const g = gradient((x: any) => { const [a, b] = x.toArray(); return mul(a, b); }, tensor([3, 4]))[0] as Tensor;
  assert.equal(g.toArray(), [4, 3]);
  const h = gradient((x: any) => mul(x.get(1, 0), sum(x).item()), tensor([[1, 2], [3, 4]]))[0] as Tensor;
  // d/dx [x₁₀ · Σx] = Σx·e₁₀ + x₁₀·1
  assert.equal(h.toArray(), [[3, 3], [13, 3]]);
});

test('numbers and tensors mix: a traced number used inside tensor operations', () => {
  const g = gradient((s: any) => sum(mul(s, tensor([1, 2, 3]))), 2)[0];
  assert.is(g, 6);
  const h = gradient((s: any) => sum(pow(tensor([1, 2]), s)), 1)[0];
  assertClose(h as number, 2 * Math.log(2));
  const k = gradient((xs: any) => mul(xs[0], xs[1]), [3, 4])[0];
  assert.equal(k, [4, 3]);
});

test('errors: non-scalar output, non-function, Map arguments, circular references', () => {
  assert.throws(() => gradient((x: any) => mul(x, tensor([1, 2])), 1), /must return a scalar.*\[2\].*pullback or jacobian/);
  assert.throws(() => gradient(5 as any, 1), /expected a function/);
  assert.throws(() => gradient((m: any) => m, new Map()), /Map.*cannot be differentiated/);
  const o: any = { w: tensor([1]) };
  o.self = o;
  assert.throws(() => gradient((m: any) => sum(m.w), o), /circular reference/);
});

test('traced numbers refuse plain JS arithmetic with a message naming the fix', () => {
  assert.throws(() => gradient((x: any) => x * 2, 1), /traced number.*fluxion\/register/);
  assert.throws(() => gradient((x: any) => +x, 1), /fluxion\/plugin/);
  // printing and templates are fine
  gradient((x: any) => { assert.is(`${x}`, '1.5'); assert.is(String(x), '1.5'); assert.is(JSON.stringify({ x }), '{"x":1.5}'); return x; }, 1.5);
});

test('values that escape a gradient act as constants afterwards', () => {
  let kept: any;
  gradient((x: any) => { kept = mul(x, 3); return kept; }, 2);
  assert.is(add(kept, 1), 7);
  assert.equal(gradient((y: any) => mul(kept, y), 1), [6]);
});

test('matrix gradients: d/dW sum(W x) = 1 xᵀ and d/dx = Wᵀ 1', () => {
  fc.assert(fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 6, maxLength: 6 }),
    fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 3, maxLength: 3 }), (w, xs) => {
      const W = tensor(w, { shape: [2, 3] }), x = tensor(xs);
      const [gW, gx] = gradient((a: any, b: any) => sum(matmul(a, b)), W, x) as Tensor[];
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) assert.is(gW.get(i, j), x.get(j));
      const WT = transpose(W);
      for (let j = 0; j < 3; j++) assertClose(gx.get(j), WT.get(j, 0) + WT.get(j, 1));
    }), { numRuns: 20 });
});

test('cos derivative sign and the composition rule on a random chain', () => {
  fc.assert(fc.property(fc.double({ min: -3, max: 3, noNaN: true }), (x) => {
    // d/dx cos(sin(x)) = −sin(sin x)·cos x
    assertClose(gradient((v: any) => cos(sin(v)), x)[0], -Math.sin(Math.sin(x)) * Math.cos(x), 1e-12);
  }), { numRuns: 30 });
});

test('softplus is smooth at 0: derivative σ(0) = ½ and second derivative ¼ (no kink conventions leak in)', () => {
  assert.equal(gradient(softplus, 0), [0.5]);
  assert.equal(gradient((x: any) => gradient(softplus, x)[0], 0), [0.25]);
  assert.equal((gradient((x: any) => sum(softplus(x)), tensor([0, -0]))[0] as Tensor).toArray(), [0.5, 0.5]);
  // large arguments: no overflow in value or derivative
  assert.equal([softplus(1000), softplus(-1000)], [1000, 0]);
  assert.equal([gradient(softplus, 1000)[0], gradient(softplus, -1000)[0]], [1, 0]);
});

test.run();
