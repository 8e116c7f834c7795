import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { seed, rand, randn, randLike, randnLike, zeros } from '../../src/index.js';
import { assertThrows } from '../_helpers/reference.js';

/** One mixed sequence of draws, as a program would make them. */
function draws(): number[][] {
  return [
    rand([3]), randn([3]), rand([2, 2], { dtype: 'float32' }), randn([1]), randLike(zeros([2])),
    randnLike(zeros([3], { dtype: 'float32' })),
  ].map((t) => Array.from(t.data));
}

test('seed(n) makes every later draw repeat exactly', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
    seed(n);
    const a = draws();
    seed(n);
    const b = draws();
    assert.equal(a, b);
  }), { numRuns: 50 });
});

test('seed resets the Box–Muller spare: an odd number of normals before reseeding does not leak', () => {
  seed(3);
  const first = Array.from(randn([5]).data);
  seed(3);
  randn([1]); // leaves a spare normal behind
  seed(3);
  assert.equal(Array.from(randn([5]).data), first);
});

test('different seeds give different streams; an unseeded continuation differs from the start', () => {
  seed(1);
  const a = Array.from(rand([8]).data);
  const a2 = Array.from(rand([8]).data);
  seed(2);
  const b = Array.from(rand([8]).data);
  assert.not.equal(a, b);
  assert.not.equal(a, a2);
  // neighbouring seeds are not shifted copies of each other
  for (const v of a) assert.not.ok(b.includes(v));
});

test('seed rejects non-finite input', () => {
  for (const v of [NaN, Infinity, -Infinity]) assertThrows(() => seed(v), TypeError, ['seed', String(v)], String(v));
});

test('draws are serially uncorrelated (lag-1 correlation near 0)', () => {
  seed(99);
  const d = rand([20000]).data;
  let sxy = 0, sx = 0, sxx = 0;
  for (let i = 0; i + 1 < d.length; i++) {
    sx += d[i]; sxx += d[i] * d[i]; sxy += d[i] * d[i + 1];
  }
  const n = d.length - 1;
  const mean = sx / n, v = sxx / n - mean * mean;
  const r = (sxy / n - mean * mean) / v;
  assert.ok(Math.abs(r) < 5 / Math.sqrt(n), `lag-1 correlation ${r}`);
});

test.run();
