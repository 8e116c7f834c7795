// run: node --import fluxion/register examples/basics.ts   (needs the operator transform; checked by spec/transform/basics.spec.ts)
/**
 * The operator tutorial: plain JavaScript arithmetic, comparisons and `Math.*` on traced
 * numbers and on tensors, switched on by `fluxion/register`. Each step prints the code (after
 * `>`) and its value as JSON; `spec/transform/basics.spec.ts` recomputes every value by hand.
 */
import { gradient, params, rand, sum, matmul, seed, type Tensor } from 'fluxion';

/** TypeScript has no operator overloading: `Tensor & number` tells it that arithmetic on these tensors is intended. */
type T = Tensor & number;

const show = (code: string, value: unknown): void => {
  const plain = (v: unknown): unknown =>
    v !== null && typeof v === 'object' && 'toArray' in v ? (v as Tensor).toArray() : Array.isArray(v) ? v.map(plain) : v;
  console.log(`> ${code}\n${JSON.stringify(plain(value))}`);
};

seed(42);
const f = (x: number) => 3 * x ** 2 + 2 * x + 1;
show('gradient(f, 1)', gradient(f, 1));                                     // [8]
show('gradient((x: number) => gradient(f, x)[0], 1)', gradient((x: number) => gradient(f, x)[0], 1)); // [6]

const W = rand([2, 5]) as T, b = rand([2]) as T;
const x = rand([5]) as T, y = rand([2]) as T;
show('W', W);
show('b', b);
show('x', x);
show('y', y);
const predict = (x: T) => (matmul(W, x) as T) + b;
const loss = (x: T, y: T) => sum((y - predict(x)) ** 2);
const gs = gradient(() => loss(x, y), params(W, b));
show('gs.get(W)', gs.get(W));
show('gs.get(b)', gs.get(b));
const alias = W;
// @ts-expect-error TypeScript forbids assigning to a const; fluxion updates the tensor in place
W -= 0.1 * (gs.get(W) as T);                      // in place, like NumPy's -=, also when W is const
show('W', W);
show('alias === W', alias === W);

const relu = (x: number) => (x > 0 ? x : 0);      // comparisons and branches on traced values
show('gradient(relu, 2)', gradient(relu, 2));
show('gradient(relu, -2)', gradient(relu, -2));
const h = (x: number) => Math.sin(x) * Math.exp(x);
show('gradient(h, 0.5)', gradient(h, 0.5));
show('[1, 2] + [10, 20]', ([1, 2] as unknown as T) + ([10, 20] as unknown as T));
show("'x = ' + f(2)", 'x = ' + f(2));
