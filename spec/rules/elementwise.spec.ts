/**
 * Derivative rules of the elementwise primitives (src/rules/elementwise.ts), checked against
 * central finite differences (spec/_helpers/gradcheck.ts) at first and second order, on
 * tensors (recorded through `bind`, random shapes and memory layouts, broadcasting) and on
 * plain numbers (the scalar tape). Then the documented conventions at kinks and ties as
 * exact values, and 3rd/4th derivatives against closed forms derived by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, gradient, pullback, jvp,
  neg, exp, expm1, log, log1p, sqrt, abs, sign, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh,
  sigmoid, relu, erf, add, sub, mul, div, pow, maximum, minimum, atan2, mod,
  gt, ge, lt, le, eq, ne, where, clamp, softplus, astype, sum,
} from '../../src/index.js';
import { type Arg, EPS, assertClose, assertExact, checkFloat32Gradients, checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import {
  type Domain, NONZERO, POSITIVE, REAL, arbBroadcast, arbIn, arbSeed, arbTensorFrom, arbTensorIn, arbTensorShaped,
} from '../_helpers/ad-arbitraries.js';

/** Runs per property: tensor properties cost a few ms each (second order included), numbers less. */
const RUNS = { tensor: 60, number: 150 } as const;

type F1 = (x: any) => any;
type F2 = (a: any, b: any) => any;

function both(f: (...a: any[]) => unknown, args: Arg[], seed: number, label: string): void {
  checkGradient(f, args, { seed, label });
  checkSecondOrder(f, args, { seed, label });
}

// ---------------------------------------------------------------- unary primitives

const UNARY: [string, F1, Domain][] = [
  ['neg', neg, REAL],
  ['exp', exp, REAL],
  ['expm1', expm1, REAL],
  ['log', log, POSITIVE],
  ['log1p', log1p, { min: -0.9, max: 4 }],
  ['sqrt', sqrt, POSITIVE],
  ['abs', abs, NONZERO],
  ['sign', sign, NONZERO],
  ['sin', sin, REAL],
  ['cos', cos, REAL],
  ['tan', tan, { min: -1.3, max: 1.3 }],
  ['asin', asin, { min: -0.9, max: 0.9 }],
  ['acos', acos, { min: -0.9, max: 0.9 }],
  ['atan', atan, REAL],
  ['sinh', sinh, REAL],
  ['cosh', cosh, REAL],
  ['tanh', tanh, REAL],
  ['sigmoid', sigmoid, { min: -6, max: 6 }],
  ['relu', relu, NONZERO],
  ['erf', erf, REAL],
];

for (const [name, f, dom] of UNARY) {
  test(`${name}: tensors of random shape and layout, first and second order`, () => {
    fc.assert(
      fc.property(arbTensorShaped(dom, { empty: true }), arbSeed, (x, seed) => both(f, [x], seed, name)),
      { numRuns: RUNS.tensor },
    );
  });
  test(`${name}: numbers (scalar tape), first and second order`, () => {
    fc.assert(fc.property(arbIn(dom), arbSeed, (x, seed) => both(f, [x], seed, `${name} (number)`)), { numRuns: RUNS.number });
  });
}

// ---------------------------------------------------------------- binary primitives

/**
 * Values for maximum/minimum: a on the lattice 0.5k + [0, 0.2], b on 0.5k + 0.25 + [0, 0.2],
 * so |a − b| ≥ 0.05 for every broadcast pair — never a tie within ±8h.
 */
const lattice = (offset: number) => (n: number) =>
  fc.array(fc.tuple(fc.integer({ min: -6, max: 5 }), fc.double({ min: 0, max: 0.2, noNaN: true })), { minLength: n, maxLength: n })
    .map((ps) => ps.map(([k, j]) => 0.5 * k + offset + j));

/**
 * Values for mod: divisors in {±0.5, ±1, ±2} and dividends 0.5k + 0.5t with t ∈ [0.05, 0.95],
 * so a/b is never within 0.0125 of an integer for any pair: no jump within ±8h.
 */
const divisors = (n: number) => fc.array(fc.constantFrom(-2, -1, -0.5, 0.5, 1, 2), { minLength: n, maxLength: n });
const dividends = (n: number) =>
  fc.array(fc.tuple(fc.integer({ min: -6, max: 5 }), fc.double({ min: 0.05, max: 0.95, noNaN: true })), { minLength: n, maxLength: n })
    .map((ps) => ps.map(([k, t]) => 0.5 * (k + t)));

const inDomain = (d: Domain) => (n: number) => fc.array(arbIn(d), { minLength: n, maxLength: n });

/** name, op, value generator of a, of b. atan2: |a| ≥ 0.1 keeps away from the origin and the branch cut (a = 0, b < 0). */
const BINARY: [string, F2, (n: number) => fc.Arbitrary<number[]>, (n: number) => fc.Arbitrary<number[]>][] = [
  ['add', add, inDomain(REAL), inDomain(REAL)],
  ['sub', sub, inDomain(REAL), inDomain(REAL)],
  ['mul', mul, inDomain(REAL), inDomain(REAL)],
  ['div', div, inDomain(REAL), inDomain(NONZERO)],
  ['pow', pow, inDomain(POSITIVE), inDomain({ min: -2.5, max: 2.5 })],
  ['maximum', maximum, lattice(0), lattice(0.25)],
  ['minimum', minimum, lattice(0), lattice(0.25)],
  ['atan2', atan2, inDomain(NONZERO), inDomain(REAL)],
  ['mod', mod, dividends, divisors],
];

for (const [name, f, va, vb] of BINARY) {
  test(`${name}: broadcast tensors in random layouts, first and second order`, () => {
    const arb = arbBroadcast(2).chain(({ shapes: [sa, sb] }) => fc.tuple(arbTensorFrom(sa, va), arbTensorFrom(sb, vb)));
    fc.assert(fc.property(arb, arbSeed, ([a, b], seed) => both(f, [a, b], seed, name)), { numRuns: RUNS.tensor });
  });
  test(`${name}: numbers (scalar tape), first and second order`, () => {
    const arb = fc.tuple(va(1), vb(1)).map(([[a], [b]]) => [a, b] as const);
    fc.assert(fc.property(arb, arbSeed, ([a, b], seed) => both(f, [a, b], seed, `${name} (numbers)`)), { numRuns: RUNS.number });
  });
  test(`${name}: a traced number against a tensor (number → tensor crossing), first and second order`, () => {
    const arb: fc.Arbitrary<[Arg, Arg]> = fc.tuple(fc.boolean(), arbSmallShape1()).chain(([numFirst, s]) =>
      numFirst
        ? fc.tuple(va(1).map(([a]): Arg => a), arbTensorFrom(s, vb).map((t): Arg => t))
        : fc.tuple(arbTensorFrom(s, va).map((t): Arg => t), vb(1).map(([b]): Arg => b)));
    fc.assert(fc.property(arb, arbSeed, ([a, b], seed) => both(f, [a, b], seed, `${name} (number ⊕ tensor)`)), { numRuns: RUNS.tensor });
  });
}

function arbSmallShape1(): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 });
}

test('float32 tensors: every unary and binary rule gives float32 gradients shaped like the arguments, at first and second order', () => {
  const unary = fc.constantFrom(...UNARY).chain(([name, f, dom]) => fc.tuple(fc.constant(name), fc.constant(f), arbTensorShaped(dom, { maxRank: 2 })));
  fc.assert(fc.property(unary, arbSeed, ([name, f, x], seed) => checkFloat32Gradients(f, [x], { seed, label: name })), { numRuns: 60 });
  const binary = fc.constantFrom(...BINARY).chain(([name, f, va, vb]) => arbBroadcast(2, 2).chain(({ shapes: [sa, sb] }) =>
    fc.tuple(fc.constant(name), fc.constant(f), arbTensorFrom(sa, va), arbTensorFrom(sb, vb))));
  fc.assert(fc.property(binary, arbSeed, ([name, f, a, b], seed) => checkFloat32Gradients(f, [a, b], { seed, label: name })), { numRuns: 40 });
});

test('pow with a negative base and an integer exponent: derivative in the base', () => {
  const arb = fc.tuple(arbTensorShaped(NONZERO), fc.integer({ min: -3, max: 4 }));
  fc.assert(fc.property(arb, arbSeed, ([x, n], seed) => both((a: Tensor) => pow(a, n), [x], seed, `pow(x, ${n})`)), { numRuns: RUNS.tensor });
  fc.assert(fc.property(arbIn(NONZERO), fc.integer({ min: -3, max: 4 }), arbSeed, (x, n, seed) => both((a: number) => pow(a, n), [x], seed, `pow(x, ${n}) (number)`)), { numRuns: RUNS.number });
});

test('where: cond, a, b broadcast together; gradients go to the chosen side, summed back to each shape', () => {
  const arb = arbBroadcast(3).chain(({ shapes: [sc, sa, sb] }) =>
    fc.tuple(
      arbTensorFrom(sc, (n) => fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n })),
      arbTensorIn(sa, REAL),
      arbTensorIn(sb, REAL),
    ));
  fc.assert(fc.property(arb, arbSeed, ([c, a, b], seed) => {
    both((x: Tensor, y: Tensor) => mul(where(c, x, y), sin(y)), [a, b], seed, 'where');
  }), { numRuns: RUNS.tensor });
  // numbers: where picks one of them; the other gets 0
  fc.assert(fc.property(fc.constantFrom(0, 1), arbIn(REAL), arbIn(REAL), arbSeed, (c, a, b, seed) => {
    both((x: number, y: number) => mul(where(c, x, y), sin(y)), [a, b], seed, 'where (numbers)');
  }), { numRuns: RUNS.number });
});

test('composites: softplus, clamp (away from its bounds), sigmoid-free chains', () => {
  fc.assert(fc.property(arbTensorShaped({ min: -5, max: 5 }), arbSeed, (x, seed) => both(softplus, [x], seed, 'softplus')), { numRuns: RUNS.tensor });
  fc.assert(fc.property(arbIn({ min: -5, max: 5 }), arbSeed, (x, seed) => both(softplus, [x], seed, 'softplus (number)')), { numRuns: RUNS.number });
  const cl: Domain = { min: -3, max: 3, kinks: [-1, 1.5], margin: 0.05 };
  fc.assert(fc.property(arbTensorShaped(cl), arbSeed, (x, seed) => both((t: Tensor) => mul(clamp(t, -1, 1.5), t), [x], seed, 'clamp')), { numRuns: RUNS.tensor });
  fc.assert(fc.property(arbIn(cl), arbSeed, (x, seed) => both((t: number) => mul(clamp(t, -1, 1.5), t), [x], seed, 'clamp (number)')), { numRuns: RUNS.number });
});

// ---------------------------------------------------------------- conventions at kinks and ties (exact)

test('relu′(0) = 0, abs′(0) = 0, sign′ = 0: numbers and tensors, and their second derivatives', () => {
  assertExact(gradient(relu, 0)[0], 0, "relu'(0)");
  assertExact(gradient(abs, 0)[0], 0, "abs'(0)");
  assertExact(gradient(sign, 0)[0], 0, "sign'(0)");
  assertExact(gradient(sign, -2)[0], 0, "sign'(-2)");
  assertExact(gradient(relu, 2)[0], 1, "relu'(2)");
  assertExact(gradient(relu, -2)[0], 0, "relu'(-2)");
  assertExact(gradient(abs, -2)[0], -1, "abs'(-2)");
  const x = tensor([-1, 0, 0, 2]);
  assertExact(gradient((t: Tensor) => sum(relu(t)), x)[0], [0, 0, 0, 1], "relu' on [-1, 0, 0, 2]");
  assertExact(gradient((t: Tensor) => sum(abs(t)), x)[0], [-1, 0, 0, 1], "abs' on [-1, 0, 0, 2]");
  assertExact(gradient((t: Tensor) => sum(sign(t)), x)[0], [0, 0, 0, 0], "sign' on [-1, 0, 0, 2]");
  for (const [name, f] of [['relu', relu], ['abs', abs]] as const) {
    const d2 = (v: number) => gradient((u: number) => gradient(f, u)[0], v)[0];
    assertExact(d2(0), 0, `${name}''(0)`);
    assertExact(d2(1), 0, `${name}''(1)`);
  }
});

test('maximum/minimum split the gradient equally on ties; maximum(x, x) gives the whole gradient', () => {
  for (const f of [maximum, minimum]) {
    assertExact(gradient(f, 2, 2), [0.5, 0.5], `${f.name} tie (numbers)`);
    assertExact(gradient(f, 3, 2), f === maximum ? [1, 0] : [0, 1], `${f.name} (numbers)`);
    assertExact(gradient((x: number) => f(x, x), 2)[0], 1, `${f.name}(x, x)`);
    const a = tensor([1, 2, 3]), b = tensor([1, 5, 0]);
    const [ga, gb] = gradient((p: Tensor, q: Tensor) => sum(f(p, q)), a, b);
    assertExact(ga, f === maximum ? [0.5, 0, 1] : [0.5, 1, 0], `${f.name} tensor ∂a`);
    assertExact(gb, f === maximum ? [0.5, 1, 0] : [0.5, 0, 1], `${f.name} tensor ∂b`);
    // a broadcast tie: every element of a ties with the scalar b
    const [gx, gs] = gradient((p: Tensor, q: Tensor) => sum(f(p, q)), tensor([4, 4]), tensor(4));
    assertExact(gx, [0.5, 0.5], `${f.name} broadcast tie ∂a`);
    assertExact(gs, 1, `${f.name} broadcast tie ∂b (summed)`);
  }
});

test('comparisons carry no gradient; where passes none to the condition', () => {
  const xs = [-1, 0.5, 2];
  const x = tensor(xs);
  const js: [F2, (a: number, b: number) => boolean][] = [
    [gt, (a, b) => a > b], [ge, (a, b) => a >= b], [lt, (a, b) => a < b], [le, (a, b) => a <= b], [eq, (a, b) => a === b], [ne, (a, b) => a !== b],
  ];
  for (const [f, cmp] of js) {
    assertExact(gradient((t: Tensor) => sum(f(t, 0.5)), x)[0], [0, 0, 0], `${f.name} on tensors`);
    assertExact(gradient((t: number) => f(t, 0.5), 2)[0], 0, `${f.name} on numbers`);
    // a comparison's mask times x: only the mul carries gradient, d/dx Σ mask·x = mask
    assertExact(gradient((t: Tensor) => sum(mul(f(t, 0.5), t)), x)[0], xs.map((v) => (cmp(v, 0.5) ? 1 : 0)), `${f.name} mask · x`);
  }
  const [gc] = gradient((c: Tensor) => sum(where(c, tensor([1, 2, 3]), 0)), tensor([1, 0, 1]));
  assertExact(gc, [0, 0, 0], 'where: condition');
});

test('cast: the gradient comes back in the argument dtype (float64 → float32 → float64 and back)', () => {
  const x = tensor([0.5, -1.25, 3]);
  const [g] = gradient((t: Tensor) => sum(mul(astype(t, 'float32'), astype(t, 'float32'))), x);
  assert.is((g as Tensor).dtype, 'float64');
  assertExact(g, [1, -2.5, 6], 'd/dx Σ f32(x)² at exactly representable x');
  const x32 = tensor([0.5, -1.25, 3], { dtype: 'float32' });
  const [g32] = gradient((t: Tensor) => sum(mul(astype(t, 'float64'), 3)), x32);
  assert.is((g32 as Tensor).dtype, 'float32');
  assertExact(g32, [3, 3, 3], 'd/dx Σ 3·f64(x)');
});

test('pow at a zero base: 0 for exponent 0, limits along a > 0 elsewhere; x² at 0 to fourth order', () => {
  assertExact(gradient((a: number) => pow(a, 0), 0)[0], 0, 'd/da 0^0');
  assertExact(gradient((a: number) => pow(a, 2), 0)[0], 0, 'd/da a² at 0');
  assertExact(gradient((b: number) => pow(0, b), 2)[0], 0, 'd/db 0^b at b = 2');
  const d = (f: (x: number) => number) => (x: number) => gradient(f, x)[0] as number;
  const sq = (x: number) => pow(x, 2), cube = (x: number) => pow(x, 3);
  assertExact(d(d(sq))(0), 2, '(x²)″ at 0');
  assertExact(d(d(d(sq)))(0), 0, '(x²)‴ at 0');
  assertExact(d(d(d(cube)))(0), 6, '(x³)‴ at 0');
  assertExact(d(d(d(d(cube))))(0), 0, '(x³)⁗ at 0');
  const [g] = gradient((t: Tensor) => sum(pow(t, 2)), tensor([0, 1, -2]));
  assertExact(g, [0, 2, -4], 'd/dx Σ x² on tensors with a zero');
});

test('softplus′ is σ(x) everywhere, x = 0 included (no kink convention leaks in); softplus″(0) = ¼', () => {
  const tol = (e: number) => 4 * EPS * Math.max(1, Math.abs(e));
  for (const x of [-2, -1e-3, -1e-300, 0, 1e-300, 1e-3, 2]) assertClose(gradient(softplus, x)[0], 1 / (1 + Math.exp(-x)), tol, `softplus'(${x})`);
  assertClose(gradient((x: number) => gradient(softplus, x)[0], 0)[0], 0.25, tol, "softplus''(0)");
  assertClose(gradient((t: Tensor) => sum(softplus(t)), tensor([0, -0, 1]))[0], [0.5, 0.5, 1 / (1 + Math.exp(-1))], tol, "softplus' on a tensor with zeros");
});

// ---------------------------------------------------------------- higher derivatives against closed forms

/**
 * k-th derivatives derived by hand (t = tanh x, s = σ(x)):
 *   sin:  cos, −sin, −cos, sin
 *   tanh: 1 − t², −2t(1 − t²), (1 − t²)(6t² − 2), 8t(1 − t²)(2 − 3t²)
 *   σ:    s(1 − s), s(1 − s)(1 − 2s), s(1 − s)(1 − 6s + 6s²), s(1 − s)(1 − 2s)(1 − 12s + 12s²)
 *   exp:  eˣ at every order
 *   log:  1/x, −1/x², 2/x³, −6/x⁴
 *   xᵇ:   b·x^(b−1), b(b−1)·x^(b−2), b(b−1)(b−2)·x^(b−3), b(b−1)(b−2)(b−3)·x^(b−4)
 *   aˣ:   aˣ·(ln a)^k
 */
const CLOSED: [string, F1, Domain, (x: number, k: number) => number][] = [
  ['sin', sin, REAL, (x, k) => [Math.cos(x), -Math.sin(x), -Math.cos(x), Math.sin(x)][k - 1]],
  ['tanh', tanh, REAL, (x, k) => {
    const t = Math.tanh(x), p = 1 - t * t;
    return [p, -2 * t * p, p * (6 * t * t - 2), 8 * t * p * (2 - 3 * t * t)][k - 1];
  }],
  ['sigmoid', sigmoid, { min: -6, max: 6 }, (x, k) => {
    const s = 1 / (1 + Math.exp(-x)), p = s * (1 - s);
    return [p, p * (1 - 2 * s), p * (1 - 6 * s + 6 * s * s), p * (1 - 2 * s) * (1 - 12 * s + 12 * s * s)][k - 1];
  }],
  ['exp', exp, REAL, (x) => Math.exp(x)],
  ['log', log, { min: 0.2, max: 4 }, (x, k) => [1 / x, -1 / x ** 2, 2 / x ** 3, -6 / x ** 4][k - 1]],
  ...[-1.5, 0.5, 2, 3.5].map((b): [string, F1, Domain, (x: number, k: number) => number] => [
    `pow(x, ${b})`, (x: any) => pow(x, b), { min: 0.2, max: 3 },
    (x, k) => {
      let c = 1;
      for (let i = 0; i < k; i++) c *= b - i;
      return c * x ** (b - k);
    },
  ]),
  ...[0.5, 3].map((a): [string, F1, Domain, (x: number, k: number) => number] => [
    `pow(${a}, x)`, (x: any) => pow(a, x), REAL, (x, k) => a ** x * Math.log(a) ** k,
  ]),
];

/**
 * Tolerance for a k-th derivative: the nested pullbacks evaluate O(10·k) roundings on values
 * of the size of the result (or 1 where the closed form cancels to ~0), so 2⁹·k·eps relative.
 */
const closedTol = (k: number) => (e: number) => 512 * k * EPS * Math.max(1, Math.abs(e));

for (const [name, f, dom, df] of CLOSED) {
  test(`${name}: 1st–4th derivatives match the closed forms (numbers and tensors)`, () => {
    // numbers: nested gradient
    fc.assert(fc.property(arbIn(dom), (x) => {
      let d: (v: number) => number = f;
      for (let k = 1; k <= 4; k++) {
        const prev = d;
        d = (v: number) => gradient(prev, v)[0] as number;
        assertClose(d(x), df(x, k), closedTol(k), `${name}^(${k})(${x})`);
      }
    }), { numRuns: 15 });
    // tensors: for an elementwise f the Hessian is diagonal, so ∇Σ d_{k−1}(x) = d_k(x) elementwise
    fc.assert(fc.property(arbTensorShaped(dom, { minRank: 1, maxRank: 2 }), (x) => {
      const xs = Array.from(x.data);
      let d: (t: Tensor) => Tensor = f;
      for (let k = 1; k <= 4; k++) {
        const prev = d;
        d = (t: Tensor) => gradient((u: Tensor) => sum(prev(u)), t)[0] as Tensor;
        assertClose(d(x), xs.map((v) => df(v, k)), closedTol(k), `${name}^(${k}) on tensors`);
      }
    }), { numRuns: 8 });
  });
}

test('jvp and pullback agree with the closed forms of tanh″ on tensors (forward over reverse)', () => {
  fc.assert(fc.property(arbTensorShaped(REAL, { minRank: 1 }), (x) => {
    const xs = Array.from(x.data);
    const g = (t: Tensor) => gradient((u: Tensor) => sum(tanh(u)), t)[0] as Tensor;
    const [, t2] = jvp(g, [x], [tensor(xs.map(() => 1), { shape: x.shape.slice() })]);
    assertClose(t2, xs.map((v) => { const t = Math.tanh(v); return -2 * t * (1 - t * t); }), closedTol(2), 'jvp of tanh′');
    const [, back] = pullback(g, x);
    assertClose(back(tensor(xs.map(() => 1), { shape: x.shape.slice() }))[0], xs.map((v) => { const t = Math.tanh(v); return -2 * t * (1 - t * t); }), closedTol(2), 'pullback of tanh′');
  }), { numRuns: 10 });
});

test.run();
