/** Schedules against their formulas written out here, composition, use by hand with adjust, errors. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Dense } from '../../src/index.js';
import { stepDecay, exponentialDecay, cosineAnnealing, warmup, sequence, setup, adjust, Adam } from '../../src/optimise/index.js';

const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
const step = fc.integer({ min: 0, max: 5000 });

test('stepDecay: init · decay^⌊t/every⌋', () => {
  const s = stepDecay({ init: 0.1, decay: 0.5, every: 100 });
  assert.equal([s(0), s(99), s(100), s(250)], [0.1, 0.1, 0.05, 0.025]);
  fc.assert(fc.property(step, (t) => { let v = 0.1; for (let k = 100; k <= t; k += 100) v *= 0.5; near(s(t), v, `t=${t}`); }));
});

test('exponentialDecay: init · decay^t, floored at min', () => {
  const s = exponentialDecay({ init: 1, decay: 0.99, min: 0.1 });
  fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), (t) => { let v = 1; for (let k = 0; k < t; k++) v *= 0.99; near(s(t), Math.max(v, 0.1), `t=${t}`); }));
  near(s(1000), 0.1, 'floor');
});

test('cosineAnnealing: half a cosine from max to min, then min (or restarts)', () => {
  const s = cosineAnnealing({ max: 1, min: 0.2, period: 10 });
  near(s(0), 1, 't=0'); near(s(5), 0.6, 'midpoint'); near(s(10), 0.2, 'end'); near(s(17), 0.2, 'after');
  const r = cosineAnnealing({ max: 1, min: 0.2, period: 10, restart: true });
  near(r(10), 1, 'restart'); near(r(15), 0.6, 'restart midpoint');
  fc.assert(fc.property(fc.integer({ min: 0, max: 10 }), (t) => near(s(t), 0.2 + 0.8 * (0.5 + 0.5 * Math.cos((Math.PI * t) / 10)), `t=${t}`)));
});

test('warmup and sequence compose schedules', () => {
  const w = warmup(4, stepDecay({ init: 0.8, decay: 0.5, every: 2 }));
  assert.equal([0, 1, 2, 3, 4, 5, 6, 7].map(w), [0.2, 0.4, 0.6000000000000001, 0.8, 0.8, 0.8, 0.4, 0.4]);
  near(warmup(2, 0.3)(0), 0.15, 'constant');
  const q = sequence([0.1, 3], [exponentialDecay({ init: 1, decay: 0.5 }), 2], 0.01);
  assert.equal([0, 1, 2, 3, 4, 5, 100].map(q), [0.1, 0.1, 0.1, 1, 0.5, 0.01, 0.01]);
});

test('by hand: adjust(opt, { eta: schedule(t) })', () => {
  const opt = setup(Adam(), Dense(2, 1));
  const s = cosineAnnealing({ max: 1e-3, period: 100 });
  adjust(opt, { eta: s(50) });
  near(opt.leaves()[0].rule.hyper.eta as number, 5e-4, 'eta');
});

test('errors', () => {
  assert.throws(() => stepDecay({ init: 0.1, decay: 0.5, every: 0 }), /stepDecay: every must be a positive integer, got 0/);
  assert.throws(() => cosineAnnealing({ max: 1, period: 2.5 }), /cosineAnnealing: period must be a positive integer, got 2.5/);
  assert.throws(() => exponentialDecay({ init: 1, decay: 0.9 })(-1), /exponentialDecay: the step must be an integer ≥ 0, got -1/);
  assert.throws(() => warmup(3, 'x' as never), /warmup: expected a schedule \(a function of the step\) or a number, got string/);
  assert.throws(() => sequence(0.1 as never, 0.2), /sequence: part 1 must be \[schedule, steps\]/);
});

test.run();
