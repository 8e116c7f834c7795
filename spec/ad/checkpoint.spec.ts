/**
 * checkpoint(f) (src/ad/checkpoint.ts): the same values and derivatives as f at first and second
 * order (against the plain function and finite differences), nesting, implicit params, random
 * draws replayed, the closure error, and the memory it saves on a 1,000-step LSTM.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  Tensor, add, fromData, gradient, hessian, mul, params, pullback, rand, seed, sin, sum, tanh, exp, withGradient, zeros, matmul,
} from '../../src/index.js';
import { checkpoint } from '../../src/ad/checkpoint.js';
import { LSTMCell, initialState, type LSTMState } from '../../src/layers/recurrent.js';
import { f64 } from '../../src/layers/tree.js';
import { checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import { seededValues } from '../_helpers/arbitraries.js';

const randT = (shape: number[], s: number): Tensor => fromData(seededValues(shape.reduce((a, b) => a * b, 1), s), shape);

const same = (a: Tensor, b: Tensor, what: string): void => {
  assert.equal(a.shape, b.shape, `${what}: shape`);
  a.data.forEach((v, i) => assert.ok(Object.is(v, b.data[i]) || Math.abs(v - b.data[i]) <= 1e-14 * (1 + Math.abs(b.data[i])), `${what}[${i}]: ${v} vs ${b.data[i]}`));
};

/** A small smooth function of two tensors with a shared intermediate and two outputs. */
const inner = (x: Tensor, w: Tensor): [Tensor, { s: Tensor }] => {
  const z = tanh(matmul(w, x));
  return [mul(z, sin(x)), { s: exp(mul(z, 0.5)) }];
};

test('values and gradients equal those of the function, and finite differences', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 4 }), (s, n) => {
    const x = randT([n], s), w = randT([n, n], s + 1);
    const ck = checkpoint(inner);
    const loss = (f: typeof inner) => (a: Tensor, b: Tensor) => { const [y, o] = f(a, b); return add(sum(y), sum(mul(o.s, o.s))); };
    same(loss(ck)(x, w), loss(inner)(x, w), 'value');
    const [gx, gw] = gradient(loss(ck), x, w) as Tensor[];
    const [hx, hw] = gradient(loss(inner), x, w) as Tensor[];
    same(gx, hx, 'dx');
    same(gw, hw, 'dw');
    checkGradient((a: Tensor, b: Tensor) => { const [y, o] = ck(a, b); return add(y, o.s); }, [x, w], { seed: s, label: 'checkpoint(inner)' });
  }), { numRuns: 20 });
});

test('only the outputs that receive a cotangent contribute; an unused output is fine', () => {
  const x = randT([3], 2), w = randT([3, 3], 3);
  const ck = checkpoint(inner);
  same(gradient((a: Tensor) => sum(ck(a, w)[1].s), x)[0] as Tensor, gradient((a: Tensor) => sum(inner(a, w)[1].s), x)[0] as Tensor, 'second output only');
  const [y, back] = pullback((a: Tensor) => ck(a, w)[0], x);
  same(back(zeros([3], { dtype: 'float64' }).add(1))[0] as Tensor, gradient((a: Tensor) => sum(inner(a, w)[0]), x)[0] as Tensor, 'pullback, called twice');
  same(back(zeros([3], { dtype: 'float64' }).add(1))[0] as Tensor, gradient((a: Tensor) => sum(inner(a, w)[0]), x)[0] as Tensor, 'pullback, second call');
  same(y, inner(x, w)[0], 'pullback value');
});

test('second order: Hessians through checkpoint, by finite differences and against the plain function', () => {
  const x = randT([3], 5), w = randT([3, 3], 6);
  const ck = checkpoint(inner);
  checkSecondOrder((a: Tensor, b: Tensor) => { const [y, o] = ck(a, b); return add(sum(y), sum(o.s)); }, [x, w], { label: 'checkpoint, 2nd order' });
  same(hessian((a: Tensor) => sum(ck(a, w)[0]), x), hessian((a: Tensor) => sum(inner(a, w)[0]), x), 'hessian');
  // scalar nesting: d/dx of x·(d/dy checkpointed(x, y)); the outer x is captured by the inner function (a lower level: allowed)
  const g = checkpoint((a: number, b: number) => mul(sin(mul(a, b)), b));
  const d = (v: number) => gradient((a: number) => mul(a, gradient((b: number) => g(a, b), 0.7)[0] as number), v)[0] as number;
  // f(a) = a·∂/∂b[sin(ab)·b] at b = 0.7 = a·(a·b·cos(ab) + sin(ab)); f′ by hand
  const b = 0.7;
  const expected = (a: number) => 2 * a * b * Math.cos(a * b) - a * a * b * b * Math.sin(a * b) + Math.sin(a * b) + a * b * Math.cos(a * b);
  for (const v of [0.3, -1.2, 2]) assert.ok(Math.abs(d(v) - expected(v)) < 1e-12, `nested at ${v}: ${d(v)} vs ${expected(v)}`);
});

test('layers and states as arguments: a checkpointed LSTM segment, traced copies and implicit params', () => {
  const cell = f64(LSTMCell(2, 3));
  const xs = [0, 1, 2, 3].map((t) => randT([2, 2], 10 + t));
  const plain = (c: any, steps: Tensor[], s: LSTMState): LSTMState => { for (const x of steps) s = c(x, s)[1]; return s; };
  const segment = checkpoint(plain);
  const run = (seg: typeof plain) => (c: any) => {
    let s = initialState<LSTMState>(c, 2);
    s = seg(c, xs.slice(0, 2), s);
    s = seg(c, xs.slice(2), s);
    return sum(mul(s.h, s.c));
  };
  const [g1] = gradient(run(segment), cell);
  const [g2] = gradient(run(plain), cell);
  for (const k of ['weightIh', 'weightHh', 'biasIh', 'biasHh']) same(g1[k], g2[k], k);
  const gs = gradient(() => run(segment)(cell), params(cell));
  same(gs.get(cell.weightHh), g2.weightHh, 'implicit params');
});

test('random draws are replayed in the recomputation (dropout masks match)', () => {
  const x = randT([5], 20);
  const noisy = checkpoint((a: Tensor) => mul(a, rand([5], { dtype: 'float64' })));
  seed(7);
  const { value, grad } = withGradient((a: Tensor) => sum(noisy(a)), x);
  seed(7);
  const r = rand([5], { dtype: 'float64' });
  same(grad[0] as Tensor, r, 'gradient = the mask drawn in the forward');
  assert.ok(Math.abs((value as Tensor).item() - sum(mul(x, r)).item()) < 1e-14);
  assert.not.equal(Array.from(rand([5]).data), Array.from(r.data)); // the generator moved on as usual
});

test('a closure over a value being differentiated is refused with an explanation', () => {
  const w = randT([3], 30);
  assert.throws(
    () => gradient((v: Tensor) => sum(checkpoint((x: Tensor) => mul(x, v))(randT([3], 31).add(v))), w),
    (e: Error) => e instanceof TypeError && e.message.startsWith('checkpoint: the function used a value being differentiated that was not passed to it as an argument'),
  );
  assert.throws(() => checkpoint(3 as never), (e: Error) => e instanceof TypeError && e.message === 'checkpoint: expected a function, got number');
  // nothing traced: f simply runs
  same(checkpoint((x: Tensor) => mul(x, 2))(w), mul(w, 2), 'untraced call');
});

// ---------------------------------------------------------------- memory

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers; };

/** Bytes the tape holds at the end of the forward of a T-step LSTM (float32), with or without checkpointed segments. */
function tapeBytes(T: number, segmentLength: number | undefined): { bytes: number; loss: number; grad: Tensor } {
  seed(1);
  const cell = LSTMCell(16, 64);
  const xs = Array.from({ length: T }, () => rand([4, 16], { dtype: 'float32' }));
  const plain = (c: any, steps: Tensor[], s: LSTMState): LSTMState => { for (const x of steps) s = c(x, s)[1]; return s; };
  const seg = segmentLength === undefined ? plain : checkpoint(plain);
  const k = segmentLength ?? T;
  let bytes = 0;
  const base = heap();
  const { value, grad } = withGradient((c: any) => {
    let s = initialState<LSTMState>(c, 4);
    for (let t = 0; t < T; t += k) s = seg(c, xs.slice(t, t + k), s);
    bytes = heap() - base;
    return sum(s.h);
  }, cell);
  return { bytes, loss: (value as Tensor).item(), grad: grad[0].weightHh };
}

test('memory: a 1,000-step LSTM keeps a fraction of the tape with checkpointed segments of 32 steps, same gradient', () => {
  const T = 1000;
  const full = tapeBytes(T, undefined);
  const ck = tapeBytes(T, 32);
  const perStep = (b: number) => (b / T / 1024).toFixed(1);
  console.log(`  tape memory, LSTM 16 → 64, batch 4, ${T} steps, float32: ${perStep(full.bytes)} KiB/step without checkpoint, ${perStep(ck.bytes)} KiB/step with checkpoint every 32 steps (${(ck.bytes / full.bytes * 100).toFixed(0)}%)`);
  assert.ok(ck.bytes < full.bytes / 4, `checkpointed ${ck.bytes} B vs ${full.bytes} B`);
  assert.is(ck.loss, full.loss, 'the forward is the same computation');
  // the parameter cotangents are summed in another order (per segment), so float32 rounding differs slightly
  ck.grad.data.forEach((v, i) => assert.ok(Math.abs(v - full.grad.data[i]) <= 1e-5 * (1 + Math.abs(full.grad.data[i])), `dWhh[${i}]: ${v} vs ${full.grad.data[i]}`));
});

test.run();
