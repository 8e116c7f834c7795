/**
 * Checks for `examples/tensors.ts`: every value is recomputed here with plain loops from the
 * example's inputs (the random `R` is read back from its printed form, then everything derived
 * from it is recomputed in float64).
 */
import * as assert from 'uvu/assert';
import { type ExampleOutput, assertTensor, parseTensor, printed, splitTensors, transcript } from './support.js';

/** float32 results are compared with float64 recomputations at this relative tolerance. */
const F32 = 1e-6;

function matmul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
}

export function check({ stdout }: ExampleOutput): void {
  // the quick start, printed before the first section
  const quick = splitTensors(stdout.slice(0, stdout.indexOf('\n# ')));
  assert.is(quick.length, 2, 'the quick start prints two tensors');
  const Wq = [[1, 2, 3], [4, 5, 6]], bq = [3, 1], xq = [1, 0, -1];
  assertTensor(quick[0]!, [2], 'float64', Wq.map((r, i) => Math.max(0, r.reduce((s, v, k) => s + v * xq[k]!, 0) + bq[i]!)), 0, 'relu(matmul(W, x).add(b))');
  const logits = matmul([[1, 0, -1], [0, 1, 0]], Wq[0]!.map((_, k) => Wq.map((r) => r[k]!)));
  const probs = logits.flatMap((r) => r.map((v) => Math.exp(v) / r.reduce((s, u) => s + Math.exp(u), 0)));
  assertTensor(quick[1]!, [2, 2], 'float64', probs, 1e-15, 'softmax(matmul(X, W.T))');

  const t = transcript(stdout);
  const at = (code: string) => printed(t, code);
  const tensorAt = (code: string, shape: number[], dtype: string, expected: ArrayLike<number>, tol = 0) =>
    assertTensor(at(code), shape, dtype, expected, tol, code);
  const A = [[1, 2, 3], [4, 5, 6]];

  // creation and read-out
  tensorAt('A', [2, 3], 'float64', A.flat());
  assert.equal(JSON.parse(at('[A.shape, A.dtype, A.size, A.ndim]')), [[2, 3], 'float64', 6, 2]);
  assert.is(Number(at('A.get(1, 2)')), A[1]![2]);
  assert.equal(JSON.parse(at('A.toArray()')), A);
  tensorAt("zeros([2, 2], { dtype: 'float32' })", [2, 2], 'float32', [0, 0, 0, 0]);
  tensorAt('arange(0, 1, 0.25)', [4], 'float64', [0, 0.25, 0.5, 0.75]);
  tensorAt('eye(3)', [3, 3], 'float64', [1, 0, 0, 0, 1, 0, 0, 0, 1]);

  // the seeded draw: finite float32 values, repeated exactly after reseeding
  const Rp = parseTensor(at("seed(7); R = randn([2, 4], { dtype: 'float32' })"));
  assert.equal(Rp.shape, [2, 4]);
  assert.is(Rp.dtype, 'float32');
  assert.ok(Rp.values.every(Number.isFinite), 'randn gave finite values');
  assert.ok(new Set(Rp.values).size === 8, 'randn gave 8 distinct values');
  const R = [Rp.values.slice(0, 4), Rp.values.slice(4, 8)].map((r) => r.map(Math.fround));
  tensorAt("seed(7); eq(randn([2, 4], { dtype: 'float32' }), R)", [2, 4], 'float32', new Array(8).fill(1));

  // broadcasting and dtypes
  tensorAt('add(A, [10, 20, 30])', [2, 3], 'float64', A.flatMap((r) => r.map((v, j) => v + [10, 20, 30][j]!)));
  tensorAt('mul(A, [[1], [-1]])', [2, 3], 'float64', A.flatMap((r, i) => r.map((v) => v * [1, -1][i]!)));
  assert.is(at('mul(R, 2).dtype'), 'float32');
  assert.is(at('add(R, zeros([4])).dtype'), 'float64');
  assert.is(Number(at('mul(3, 4)')), 12);
  tensorAt('A.mul(2).add(1).sum(1)', [2], 'float64', A.map((r) => r.reduce((s, v) => s + 2 * v + 1, 0)));

  // matrix products: W [out, in] maps x [in] to [out]; a batch [4, in] maps to [4, out]
  const x = [1, 0, -1];
  tensorAt('matmul(W, x)', [2], 'float64', A.map((r) => r.reduce((s, v, k) => s + v * x[k]!, 0)));
  const batch = [0, 1, 2, 3].map((i) => [0, 1, 2].map((j) => 3 * i + j));
  const WT = [0, 1, 2].map((k) => A.map((r) => r[k]!));
  tensorAt('matmul(batch, W.T)', [4, 2], 'float64', matmul(batch, WT).flat());

  // reductions
  const total = A.flat().reduce((s, v) => s + v, 0);
  tensorAt('sum(A)', [], 'float64', [total]);
  assert.is(Number(at('sum(A).item()')), total);
  tensorAt('sum(A, 0)', [3], 'float64', [0, 1, 2].map((j) => A[0]![j]! + A[1]![j]!));
  tensorAt('mean(A, 1, { keepDims: true })', [2, 1], 'float64', A.map((r) => r.reduce((s, v) => s + v, 0) / r.length));
  tensorAt('max(A, 1)', [2], 'float64', A.map((r) => Math.max(...r)));
  tensorAt('argmax(R, 1)', [2], 'float64', R.map((r) => r.indexOf(Math.max(...r))));
  const lse = R.map((r) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0)));
  tensorAt('logsumexp(R, 1)', [2], 'float32', lse, F32);

  // softmax along the last dimension
  const soft = R.flatMap((r) => {
    const z = r.reduce((s, v) => s + Math.exp(v), 0);
    return r.map((v) => Math.exp(v) / z);
  });
  tensorAt('softmax(R)', [2, 4], 'float32', soft, F32);
  tensorAt('sum(softmax(R), 1)', [2], 'float32', [1, 1], F32);

  // conv2d (cross-correlation with zero padding 1) and 2×2 max pooling of a 5×5 image
  const n = 5;
  const img = (i: number, j: number): number => (i >= 0 && j >= 0 && i < n && j < n ? i * n + j : 0);
  tensorAt('image', [1, 1, n, n], 'float64', Array.from({ length: n * n }, (_, p) => p));
  const lap = [[0, 1, 0], [1, -4, 1], [0, 1, 0]];
  const conv: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) s += lap[a]![b]! * img(i + a - 1, j + b - 1);
      conv.push(s);
    }
  }
  tensorAt('conv2d(image, laplacian, { padding: 1 })', [1, 1, n, n], 'float64', conv);
  const pooled: number[] = [];
  for (let i = 0; i + 2 <= n; i += 2) {
    for (let j = 0; j + 2 <= n; j += 2) pooled.push(Math.max(img(i, j), img(i, j + 1), img(i + 1, j), img(i + 1, j + 1)));
  }
  tensorAt('maxPool2d(image, 2)', [1, 1, 2, 2], 'float64', pooled);

  // errors name the operation and the shapes
  assert.is(at('matmul(tensor([[1, 2, 3]]), tensor([[1, 2]]))'), `ShapeError: matmul: inner dimensions differ: [${[1, 3]}] × [${[1, 2]}]`);
  assert.match(at('tensor([[1, 2], [3]])'), /^ShapeError: tensor: ragged array/);
  assert.match(at('sum(A, 2)'), /^RangeError: sum: axis 2 is out of range/);
}
