/**
 * A tour of fluxion's tensor core. `npm start` runs this file.
 *
 * First the README's quick start; then each step prints the expression (after `>`) and its
 * value, like a REPL session. `spec/examples.spec.ts` runs this file in CI and
 * `spec/examples/tensors.check.ts` recomputes the printed values independently.
 */
import { tensor, matmul, relu, softmax } from 'fluxion';

const W = tensor([[1, 2, 3], [4, 5, 6]]); // a matrix of shape [out, in] = [2, 3]
const b = tensor([3, 1]);                 // shape [out]
const x = tensor([1, 0, -1]);             // a vector of shape [in]
console.log(relu(matmul(W, x).add(b)));   // shape [out]

const X = tensor([[1, 0, -1], [0, 1, 0]]); // a batch of two inputs: shape [batch, in]
console.log(softmax(matmul(X, W.T)));      // shape [batch, out]; each row sums to 1
console.log();

// The tour. (Imports are hoisted; this one stands apart so that the quick start above
// is exactly the README's.)
import {
  zeros, arange, eye, seed, randn,
  add, mul, eq, sum, mean, max, argmax, logsumexp, conv2d, maxPool2d, Tensor,
} from 'fluxion';

/** Print `> code` and then the value: tensors in their Julia-style form, arrays as JSON. */
function show(code: string, value: unknown): void {
  const text = value instanceof Tensor || typeof value === 'string' ? String(value) : JSON.stringify(value);
  console.log(`> ${code}\n${text}\n`);
}

function section(title: string): void {
  console.log(`# ${title}\n`);
}

section('Creating and reading tensors');
// Data from JS numbers is float64; nested arrays give the shape.
const A = tensor([[1, 2, 3], [4, 5, 6]]);
show('A', A);
show('[A.shape, A.dtype, A.size, A.ndim]', [A.shape, A.dtype, A.size, A.ndim]);
show('A.get(1, 2)', A.get(1, 2));
show('A.toArray()', A.toArray());
show("zeros([2, 2], { dtype: 'float32' })", zeros([2, 2], { dtype: 'float32' }));
show('arange(0, 1, 0.25)', arange(0, 1, 0.25));
show('eye(3)', eye(3));
// The random generator is seedable, so a run can be repeated exactly.
seed(7);
const R = randn([2, 4], { dtype: 'float32' });
show("seed(7); R = randn([2, 4], { dtype: 'float32' })", R);
seed(7);
show("seed(7); eq(randn([2, 4], { dtype: 'float32' }), R)", eq(randn([2, 4], { dtype: 'float32' }), R));

section('Broadcasting (NumPy rules) and dtypes');
show('add(A, [10, 20, 30])', add(A, [10, 20, 30]));
show('mul(A, [[1], [-1]])', mul(A, [[1], [-1]]));
// A JS number adopts the tensor's dtype; float32 mixed with float64 gives float64.
show('mul(R, 2).dtype', mul(R, 2).dtype);
show('add(R, zeros([4])).dtype', add(R, zeros([4])).dtype);
// Numbers in, a number out; every operation is also a method.
show('mul(3, 4)', mul(3, 4));
show('A.mul(2).add(1).sum(1)', A.mul(2).add(1).sum(1));

section('Matrix products');
// W (from the quick start) has shape [out, in] and maps x of shape [in] to [out];
// a batch is the first dimension.
show('matmul(W, x)', matmul(W, x));
const batch = arange(12).reshape([4, 3]);
show('matmul(batch, W.T)', matmul(batch, W.T));

section('Reductions');
show('sum(A)', sum(A));
show('sum(A).item()', sum(A).item());
show('sum(A, 0)', sum(A, 0));
show('mean(A, 1, { keepDims: true })', mean(A, 1, { keepDims: true }));
show('max(A, 1)', max(A, 1));
show('argmax(R, 1)', argmax(R, 1));
show('logsumexp(R, 1)', logsumexp(R, 1));

section('Neural-network operations');
show('softmax(R)', softmax(R));
show('sum(softmax(R), 1)', sum(softmax(R), 1));
// conv2d takes NCHW input and [out, in, kh, kw] filters.
const image = arange(25).reshape([1, 1, 5, 5]);
const laplacian = tensor([[[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]]);
show('image', image);
show('conv2d(image, laplacian, { padding: 1 })', conv2d(image, laplacian, { padding: 1 }));
show('maxPool2d(image, 2)', maxPool2d(image, 2));

section('Errors name the operation and the shapes');
for (const [code, f] of [
  ['matmul(tensor([[1, 2, 3]]), tensor([[1, 2]]))', () => matmul(tensor([[1, 2, 3]]), tensor([[1, 2]]))],
  ['tensor([[1, 2], [3]])', () => tensor([[1, 2], [3]])],
  ['sum(A, 2)', () => sum(A, 2)],
] as const) {
  try {
    f();
    show(code, 'no error?');
  } catch (e) {
    show(code, String(e));
  }
}
