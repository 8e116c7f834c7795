/** The tape (src/ad/tape.ts): memory is released when gradient returns; sweeps are reusable. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import { add, gradient, mul, pow, pullback, sum, tensor, exp, log } from '../../src/index.js';
import { tracingDepth } from '../../src/ad/tape.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const f = (x: any) => add(mul(3, pow(x, 2)), add(mul(2, x), 1));

test('1e5 gradient calls do not grow the heap', () => {
  for (let i = 0; i < 1000; i++) gradient(f, i);
  gc();
  const before = process.memoryUsage().heapUsed;
  let s = 0;
  for (let i = 0; i < 1e5; i++) s += gradient(f, i * 1e-3)[0];
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  // 16 bytes retained per call would already be 1.6 MB
  assert.ok(grown < 512 * 1024, `heap grew by ${grown} bytes`);
  assert.ok(Number.isFinite(s));
});

test('tensor gradients in a loop do not grow the heap either', () => {
  const x = tensor([1, 2, 3]);
  const g = (v: any) => sum(log(add(exp(v), 1)));
  // warm up first: compiled code and type feedback settle in the first few thousand calls
  for (let i = 0; i < 5000; i++) gradient(g, x);
  gc();
  const before = process.memoryUsage().heapUsed;
  const calls = 20000;
  for (let i = 0; i < calls; i++) gradient(g, x);
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  // a retained tape would hold ~1 KB per call; 16 bytes per call would already fail
  assert.ok(grown < calls * 16, `heap grew by ${grown} bytes over ${calls} calls`);
});

test('no tape stays open after gradient returns or throws', () => {
  gradient(f, 1);
  assert.is(tracingDepth(), 0);
  assert.throws(() => gradient(() => { throw new Error('boom'); }, 1), /boom/);
  assert.is(tracingDepth(), 0);
  gradient((x: any) => gradient(f, x)[0], 1);
  assert.is(tracingDepth(), 0);
});

test('a 0 cotangent times an infinite partial gives NaN (IEEE), an unreached one contributes nothing', () => {
  // d/dx [0 · log x] at 0: log'(0) = ∞ and 0 · ∞ = NaN, as in every IEEE-following AD system
  assert.ok(Number.isNaN(gradient((x: any) => mul(0, log(x)), 0)[0]));
  // log x is computed but unused: it must not poison the gradient
  assert.equal(gradient((x: any) => { log(x); return mul(x, 2); }, 0), [2]);
});

test('a pullback can be swept repeatedly and after other gradients reuse pooled tapes', () => {
  const [, back] = pullback((x: any) => mul(x, x), 3);
  for (let i = 0; i < 50; i++) gradient(f, i);
  assert.equal(back(1), [6]);
  assert.equal(back(2), [12]);
});

test.run();
