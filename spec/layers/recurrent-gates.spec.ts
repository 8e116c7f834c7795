/**
 * The LSTM gate node (src/layers/recurrent-gates.ts): one tape node for the gate arithmetic of
 * a step, with its own pullback (a loop on plain operands, the library's operations
 * otherwise). Derivatives against central finite differences in float64 (first and second
 * order, each output alone and both), and float32 gradients of a whole cell against the same
 * step written with separate operations here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { LSTMCell, Tensor, add, gradient, mul, seed, sigmoid, stack, sum, tanh, tensor, transpose } from '../../src/index.js';
import { lstmGateStep } from '../../src/layers/recurrent-gates.js';
import { checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';

const values = (n: number, s: number, scale: number): number[] => Array.from({ length: n }, (_, i) => scale * Math.sin(s * 3.7 + i * 1.9));

/** z `[B, 4H]` and c `[B, H]` (or unbatched) in float64. */
function operands(batch: number, H: number, s: number): [Tensor, Tensor] {
  const B = batch === 0 ? 1 : batch;
  const rows = (n: number, off: number, scale: number) => Array.from({ length: B }, (_, b) => values(n, s + off + 13 * b, scale));
  const mk = (v: number[][]) => (batch === 0 ? tensor(v[0]!) : tensor(v));
  return [mk(rows(4 * H, 0, 2)), mk(rows(H, 5, 1.5))];
}

const outputs = {
  both: (z: Tensor, c: Tensor) => { const [h2, c2] = lstmGateStep(z, c); return stack([h2, c2]); },
  h: (z: Tensor, c: Tensor) => lstmGateStep(z, c)[0],
  c: (z: Tensor, c: Tensor) => lstmGateStep(z, c)[1],
};

test('gate node: gradient and second order match finite differences (float64; h′ and c′ together and alone)', () => {
  fc.assert(fc.property(
    fc.record({ batch: fc.integer({ min: 0, max: 3 }), H: fc.integer({ min: 1, max: 5 }), s: fc.integer({ min: 1, max: 500 }), which: fc.constantFrom<keyof typeof outputs>('both', 'h', 'c') }),
    ({ batch, H, s, which }) => {
      const [z, c] = operands(batch, H, s);
      const label = `${which}, batch ${batch}, H ${H}`;
      checkGradient(outputs[which], [z, c], { seed: s, label });
      checkSecondOrder(outputs[which], [z, c], { seed: s, label });
    },
  ), { numRuns: 40 });
});

/** The step by separate operations (the unfused formulation), for comparison. */
function stepByOps(cell: any, x: Tensor, h: Tensor, c: Tensor): [Tensor, Tensor] {
  const z = add(add(matmulT(x, cell.weightIh), add(cell.biasIh, cell.biasHh)), matmulT(h, cell.weightHh));
  const [i, f, g, o] = splitLastByOps(z, 4);
  const c2 = add(mul(sigmoid(f), c), mul(sigmoid(i), tanh(g)));
  return [mul(sigmoid(o), tanh(c2)), c2];
}

test('LSTMCell gradient through the gate node equals the gradient of the step by separate operations (float32)', () => {
  for (const [inp, hid, batch] of [[3, 4, 2], [5, 1, 1], [2, 7, 3]] as const) {
    seed(inp * 10 + hid);
    const cell = LSTMCell(inp, hid, { dtype: 'float32' }) as any;
    cell.biasHh = tensor(values(4 * hid, 9, 0.4), { dtype: 'float32' });
    const x = tensor(Array.from({ length: batch }, (_, b) => values(inp, b, 1)), { dtype: 'float32' });
    const h = tensor(Array.from({ length: batch }, (_, b) => values(hid, 20 + b, 0.8)), { dtype: 'float32' });
    const c = tensor(Array.from({ length: batch }, (_, b) => values(hid, 40 + b, 1.2)), { dtype: 'float32' });
    const w = tensor(Array.from({ length: batch }, (_, b) => values(hid, 60 + b, 1)), { dtype: 'float32' });
    const loss = (yc: [Tensor, Tensor]) => add(sum(mul(yc[0], w)), sum(mul(yc[1], yc[1])));
    const [gNode, gx, gh, gc] = gradient((m: any, xx: Tensor, hh: Tensor, cc: Tensor) => {
      const [y, st] = m(xx, { h: hh, c: cc }) as [Tensor, { c: Tensor }];
      return loss([y, st.c]);
    }, cell, x, h, c) as any[];
    const [gOps, gx2, gh2, gc2] = gradient((m: any, xx: Tensor, hh: Tensor, cc: Tensor) => loss(stepByOps(m, xx, hh, cc)), cell, x, h, c) as any[];
    const pairs: [string, Tensor, Tensor][] = [
      ['weightIh', gNode.weightIh, gOps.weightIh], ['weightHh', gNode.weightHh, gOps.weightHh], ['biasIh', gNode.biasIh, gOps.biasIh],
      ['biasHh', gNode.biasHh, gOps.biasHh], ['x', gx, gx2], ['h', gh, gh2], ['c', gc, gc2],
    ];
    for (const [name, a, b] of pairs) {
      assert.equal(a.shape, b.shape, `${name}: shape`);
      assert.is(a.dtype, 'float32', `${name}: dtype`);
      const scale = Math.max(1, ...Array.from(b.data, Math.abs));
      // the node's pullback runs in float64 and rounds once; the operations round at each step
      a.data.forEach((v, k) => assert.ok(Math.abs(v - b.data[k]!) <= 1e-5 * scale, `${name}[${k}] (in ${inp}, hidden ${hid}, batch ${batch}): ${v} vs ${b.data[k]}`));
    }
  }
});

function matmulT(a: Tensor, w: Tensor): Tensor {
  // x·Wᵀ by broadcasting and summing (not the library's matmul), [B, k]·[G, k]ᵀ → [B, G]
  const B = a.shape[0]!, k = a.shape[1]!, G = w.shape[0]!;
  const prod = mul(a.reshape([B, 1, k]), w.reshape([1, G, k]));
  return sum(prod, 2);
}

function splitLastByOps(z: Tensor, k: number): Tensor[] {
  // the columns by a transpose and row selections, independently of splitLast's views
  const size = z.shape[1]! / k;
  const zt = transpose(z);
  return Array.from({ length: k }, (_, j) => transpose(zt.slice([[j * size, (j + 1) * size], null])));
}

test.run();
