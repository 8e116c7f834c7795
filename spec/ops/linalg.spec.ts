import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ShapeError, matmul, dot, outer, tensor, zeros, ones, transpose, type Tensor } from '../../src/index.js';
import { arbBroadcastShapes, arbTensorCase, type TensorCase } from '../_helpers/arbitraries.js';
import { EPS, TINY, assertTensor, assertThrows, broadcastIndex, sizeOf, unravel } from '../_helpers/reference.js';

type DT = 'float32' | 'float64';

/**
 * NumPy matmul by definition on row-major values: a is [...ba, m, k] (or [k]), b is [...bb, k, n]
 * (or [k]); batch dims broadcast; a vector operand's added dimension is dropped from the result.
 * Returns values and the error bound (k+2)·ε·Σ|a||b| of each output.
 */
function refMatmul(a: TensorCase, b: TensorCase, dtype: DT): { shape: number[]; values: number[]; tol: number[] } {
  const va = a.shape.length === 1, vb = b.shape.length === 1;
  const as = va ? [1, a.shape[0]] : a.shape, bs = vb ? [b.shape[0], 1] : b.shape;
  const [m, k] = as.slice(-2), n = bs[bs.length - 1];
  const ba = as.slice(0, -2), bb = bs.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = ba[i - (rank - ba.length)] ?? 1, y = bb[i - (rank - bb.length)] ?? 1;
    batch.push(x === 1 ? y : x);
  }
  const values: number[] = [], tol: number[] = [];
  for (let q = 0; q < sizeOf(batch); q++) {
    const bi = unravel(q, batch);
    const oa = broadcastIndex(bi, ba) * m * k, ob = broadcastIndex(bi, bb) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, sa = 0;
        for (let p = 0; p < k; p++) {
          const x = a.values[oa + i * k + p], y = b.values[ob + p * n + j];
          s += x * y;
          sa += Math.abs(x * y);
        }
        values.push(s);
        // plus underflow: each product and sum may lose up to one subnormal unit
        tol.push((k + 2) * EPS[dtype] * sa + EPS[dtype] * Math.abs(s) + (k + 1) * TINY[dtype]);
      }
    }
  }
  const shape = [...batch, ...(va ? [] : [m]), ...(vb ? [] : [n])];
  return { shape, values, tol };
}

/** Random matmul operands: vector or (batched) matrix each, batch dims broadcasting, any layout and dtype. */
const arbMatmul = (maxDim: number) => fc
  .record({
    batch: arbBroadcastShapes(2, { maxRank: 2, maxDim: 3 }),
    m: fc.integer({ min: 0, max: maxDim }),
    k: fc.integer({ min: 0, max: maxDim }),
    n: fc.integer({ min: 0, max: maxDim }),
    vecA: fc.boolean(),
    vecB: fc.boolean(),
  })
  .chain(({ batch, m, k, n, vecA, vecB }) => {
    const sa = vecA ? [k] : [...batch.shapes[0], m, k];
    const sb = vecB ? [k] : [...batch.shapes[1], k, n];
    return fc.tuple(arbTensorCase(sa), arbTensorCase(sb));
  });

function checkMatmul(a: TensorCase, b: TensorCase): void {
  const dtype: DT = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
  const r = matmul(a.t, b.t);
  const e = refMatmul(a, b, dtype);
  assertTensor(r, { shape: e.shape, dtype, values: e.values }, (i) => e.tol[i],
    `matmul(${a.layout} [${a.shape}] ${a.dtype}, ${b.layout} [${b.shape}] ${b.dtype})`);
}

test('matmul: vectors, matrices and broadcast batches, any layout (transposed, strided, broadcast operands)', () => {
  fc.assert(fc.property(arbMatmul(5), ([a, b]) => checkMatmul(a, b)), { numRuns: 400 });
});

test('matmul: sizes past the small-problem kernel (WebAssembly and threaded dispatch)', () => {
  fc.assert(fc.property(arbMatmul(40), ([a, b]) => checkMatmul(a, b)), { numRuns: 40 });
});

test('matmul conventions: W [out, in] maps x [in] to [out]; X [batch, in] · Wᵀ is [batch, out]', () => {
  const W = tensor([[1, 2, 3], [4, 5, 6]]);
  assertTensor(matmul(W, [1, 0, -1]), { shape: [2], values: [-2, -2] }, 0, 'W x');
  const X = tensor([[1, 1, 1], [0, 1, 0]]);
  assertTensor(matmul(X, W.T), { shape: [2, 2], values: [6, 15, 2, 5] }, 0, 'X Wᵀ');
  assertTensor(matmul([1, 2], [3, 4]), { shape: [], values: [11] }, 0, 'vector · vector is 0-d');
  assertTensor(matmul([1, 2], [[1, 2, 3], [4, 5, 6]]), { shape: [3], values: [9, 12, 15] }, 0, 'row vector');
  assertTensor(matmul(ones([2, 3, 4]), ones([4])), { shape: [2, 3], values: new Array(6).fill(4) }, 0, 'batched matrix · vector');
  assertTensor(matmul(ones([4]), ones([2, 4, 3])), { shape: [2, 3], values: new Array(6).fill(4) }, 0, 'vector · batched matrix');
  assertTensor(matmul(zeros([2, 0]), zeros([0, 3])), { shape: [2, 3], values: new Array(6).fill(0) }, 0, 'k = 0 gives zeros');
});

test('matmul errors name the operation and both shapes', () => {
  assertThrows(() => matmul(ones([1, 3]), ones([1, 2])), ShapeError, ['matmul: inner dimensions differ: [1,3] × [1,2]'], 'inner');
  assertThrows(() => matmul(ones([3]), ones([2])), ShapeError, ['matmul', '[3]', '[2]'], 'vectors');
  assertThrows(() => matmul(ones([2, 2, 3]), ones([3, 3, 2])), ShapeError, ['matmul', '[2,2,3]', '[3,3,2]'], 'batch dims');
  assertThrows(() => matmul(tensor(2), ones([2])), ShapeError, ['matmul', '[]', '[2]'], '0-d');
  assertThrows(() => matmul(2, 3), ShapeError, ['matmul'], 'numbers');
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), (m, k, n, d) => {
    const a = ones([m, k]), b = ones([k + d, n]);
    assertThrows(() => matmul(a, b), ShapeError, [`matmul: inner dimensions differ: [${m},${k}] × [${k + d},${n}]`], 'random inner');
  }), { numRuns: 30 });
});

// ---------------------------------------------------------------- dot, outer, transpose

test('dot is Σ aᵢbᵢ over two tensors of one shape (any rank, any layout), as a 0-d tensor', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).chain((s) => fc.tuple(arbTensorCase(s), arbTensorCase(s))),
    ([a, b]) => {
      const dtype: DT = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
      let s = 0, sa = 0;
      a.values.forEach((v, i) => { s += v * b.values[i]; sa += Math.abs(v * b.values[i]); });
      const tol = (a.values.length + 2) * EPS[dtype] * sa + (a.values.length + 1) * TINY[dtype];
      assertTensor(dot(a.t, b.t), { shape: [], dtype, values: [s] }, tol, `dot ${a.layout}/${b.layout} [${a.shape}]`);
    },
  ), { numRuns: 150 });
  assertThrows(() => dot([1, 2, 3], [4, 5]), ShapeError, ['dot', '[3]', '[2]'], 'length');
  assertThrows(() => dot(ones([2, 3]), ones([3, 2])), ShapeError, ['dot', '[2,3]', '[3,2]'], 'same size, other shape');
});

test('outer(a, b)[i, j] = a[i]·b[j]', () => {
  fc.assert(fc.property(
    fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })).chain(([m, n]) => fc.tuple(arbTensorCase([m]), arbTensorCase([n]))),
    ([a, b]) => {
      const dtype: DT = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
      const values = a.values.flatMap((x) => b.values.map((y) => (dtype === 'float32' ? Math.fround(x * y) : x * y)));
      assertTensor(outer(a.t, b.t), { shape: [a.shape[0], b.shape[0]], dtype, values }, 0, 'outer');
    },
  ), { numRuns: 100 });
  assertThrows(() => outer(ones([2, 2]), ones([2])), ShapeError, ['outer', '[2,2]', '[2]'], 'matrix');
});

test('transpose swaps the last two dimensions; (AB)ᵀ = BᵀAᵀ', () => {
  fc.assert(fc.property(
    fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })).chain(([m, k, n]) =>
      fc.tuple(arbTensorCase([m, k], { dtype: 'float64', values: { integers: true } }), arbTensorCase([k, n], { dtype: 'float64', values: { integers: true } }))),
    ([a, b]) => {
      const lhs: Tensor = transpose(matmul(a.t, b.t));
      const rhs = matmul(transpose(b.t), transpose(a.t));
      assert.equal(lhs.toArray(), rhs.toArray()); // integers: exact
    },
  ), { numRuns: 60 });
});

test.run();
