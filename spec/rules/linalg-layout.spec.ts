/**
 * The matmul rule's layout choice (src/rules/linalg.ts): when an operand is a transposed view
 * (`matmul(x, transpose(W))`, as Dense does), the gradient of the underlying W comes back
 * contiguous, and equals xᵀ·dy transposed, computed here by plain float64 loops — for odd
 * sizes, both operands transposed or not, float32 and float64.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, tensor, matmul, transpose, pullback } from '../../src/index.js';
import { valuesOf } from '../_helpers/ad-arbitraries.js';

/** C = A·B for row-major A [m,k], B [k,n] in float64 loops. */
function mm(a: number[], b: number[], m: number, k: number, n: number): number[] {
  const c = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
    c[i * n + j] = s;
  }
  return c;
}
const tr = (a: number[], r: number, c: number): number[] => Array.from({ length: r * c }, (_, i) => a[(i % r) * c + Math.floor(i / r)]!);

test('matmul rule: gradients of transposed-view operands are contiguous and equal the loop products', () => {
  const arb = fc.record({
    m: fc.integer({ min: 1, max: 37 }), k: fc.integer({ min: 1, max: 37 }), n: fc.integer({ min: 1, max: 37 }),
    ta: fc.boolean(), tb: fc.boolean(), dtype: fc.constantFrom('float32' as const, 'float64' as const),
  });
  fc.assert(fc.property(arb, ({ m, k, n, ta, tb, dtype }) => {
    const av = Array.from({ length: m * k }, (_, i) => Math.sin(i + 1));
    const bv = Array.from({ length: k * n }, (_, i) => Math.cos(2 * i + 1));
    const dyv = Array.from({ length: m * n }, (_, i) => Math.sin(3 * i + 2));
    // stored operands: A itself [m,k], or Aᵀ [k,m] used through transpose(); likewise B
    const A = ta ? tensor(tr(av, m, k), { dtype, shape: [k, m] }) : tensor(av, { dtype, shape: [m, k] });
    const B = tb ? tensor(tr(bv, k, n), { dtype, shape: [n, k] }) : tensor(bv, { dtype, shape: [k, n] });
    const f = (x: Tensor, w: Tensor) => matmul(ta ? transpose(x) : x, tb ? transpose(w) : w);
    const [, back] = pullback(f, A, B);
    const [gA, gB] = back(tensor(dyv, { dtype, shape: [m, n] })) as [Tensor, Tensor];
    // dA = dy·Bᵀ [m,k]; dB = Aᵀ·dy [k,n]; stored-operand gradients are their transposes where transposed
    const dA = mm(dyv, tr(valuesOf(tensor(bv, { dtype, shape: [k, n] })), k, n), m, n, k);
    const dB = mm(tr(valuesOf(tensor(av, { dtype, shape: [m, k] })), m, k), dyv.map((v) => valuesOf(tensor([v], { dtype }))[0]!), k, m, n);
    const wantA = ta ? tr(dA, m, k) : dA, wantB = tb ? tr(dB, k, n) : dB;
    const tol = dtype === 'float32' ? 1e-4 : 1e-12;
    const label = `${m}×${k}×${n} ta=${ta} tb=${tb} ${dtype}`;
    for (const [g, want, what] of [[gA, wantA, 'A'], [gB, wantB, 'B']] as const) {
      assert.is(g.dtype, dtype, `${label}: dtype of ∂${what}`);
      const got = valuesOf(g);
      got.forEach((v, i) => {
        if (Math.abs(v - want[i]!) > tol * (1 + Math.abs(want[i]!))) assert.unreachable(`${label}: ∂${what}[${i}] = ${v}, expected ${want[i]}`);
      });
    }
    // a transposed-view operand of 2+ rows and columns hands back a contiguous gradient
    if (tb && k > 1 && n > 1) assert.ok(gB.isContiguous, `${label}: ∂B is contiguous`);
    if (ta && m > 1 && k > 1) assert.ok(gA.isContiguous, `${label}: ∂A is contiguous`);
  }), { numRuns: 150 });
});

test.run();
