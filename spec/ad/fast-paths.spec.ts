/**
 * The per-call fast paths of the dispatch and recording layers agree with the general paths
 * they short-cut: the 2-d matrix product (op and CPU kernel) with the batched product, the
 * recorded primitive nodes (shared `need` masks for up to three inputs, computed ones for
 * more) with finite differences at first and second order and across nested gradients,
 * `transpose` with `permute`, `slice` with an index-by-index reference, and the argument
 * walk's error paths.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import ndarray from 'ndarray';
import {
  Tensor, concat, gradient, matmul, mul, permute, reshape, sin, slice, squeeze, sum, tensor, transpose, where,
} from '../../src/index.js';
import { sumTo } from '../../src/rules/util.js';
import { arbTensorIn, valuesOf } from '../_helpers/ad-arbitraries.js';
import { checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import { unravel } from '../_helpers/reference.js';

const dim = fc.integer({ min: 1, max: 5 });

test('matmul 2-d × 2-d (fast path) equals the batched product and plain loops, in random layouts', () => {
  fc.assert(fc.property(
    fc.tuple(dim, dim, dim).chain(([m, k, n]) => fc.tuple(arbTensorIn([m, k]), arbTensorIn([k, n]))),
    ([a, b]) => {
      const [m, k] = a.shape, n = b.shape[1];
      const fast = matmul(a, b);
      // through the batch machinery: the same operands (same storage and strides) under a
      // leading batch dimension of 1, so the kernel sees the same products
      const lift = (t: Tensor) => new Tensor(ndarray(t.nd.data, [1, ...t.shape], [0, ...t.nd.stride], t.nd.offset));
      const batched = squeeze(matmul(lift(a), lift(b)), 0);
      assert.equal([...fast.shape], [m, n]);
      assert.equal(valuesOf(fast), valuesOf(batched), 'same gemm calls: bit-identical');
      const av = valuesOf(a), bv = valuesOf(b), got = valuesOf(fast);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += av[i * k + p] * bv[p * n + j];
          assert.ok(Math.abs(got[i * n + j] - s) <= 1e-12 * (1 + Math.abs(s)), `[${i},${j}] ${got[i * n + j]} vs ${s}`);
        }
      }
    },
  ), { numRuns: 60 });
  assert.throws(() => matmul(tensor([[1, 2]]), tensor([[1, 2]])), /matmul: inner dimensions differ: \[1, ?2\] × \[1, ?2\]/);
});

test('recorded primitives: gradients of 1, 2, 3 and 4 inputs with some constant, first and second order', () => {
  fc.assert(fc.property(
    arbTensorIn([2, 3]), arbTensorIn([2, 3]), arbTensorIn([2, 3]), fc.integer({ min: 0, max: 15 }),
    (a, b, c, mask) => {
      // mask picks which inputs are differentiated; the rest enter as constants (need[i] false)
      const pick = (i: number) => (mask & (1 << i)) !== 0;
      const all = [a, b, c, a];
      const args = all.filter((_, i) => pick(i));
      if (args.length === 0) return;
      const f = (...xs: Tensor[]) => {
        let at = 0;
        const v = all.map((t, i) => (pick(i) ? xs[at++] : t));
        const cond = tensor([[1, 0, 1], [0, 1, 1]], { dtype: 'float64' });
        const w = where(cond, mul(v[0], v[1]), sin(v[2])); // 3 inputs (where), 2 (mul), 1 (sin)
        return sum(mul(concat([w, v[0], v[1], v[3]], 0), concat([v[2], w, v[3], v[1]], 0))); // 4 inputs (concat)
      };
      checkGradient(f, args, { label: `mask ${mask}` });
      checkSecondOrder(f, args, { label: `mask ${mask}` });
    },
  ), { numRuns: 25 });
});

test('nested gradients: an inner tape records on constants of the outer one (mixed levels in one node)', () => {
  fc.assert(fc.property(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), (x0, y0) => {
    // d/dy [ d/dx sum(sin(x·y)·y) ] = d/dy [ cos(xy)·y² ] = −sin(xy)·x·y² + 2y·cos(xy)
    const outer = gradient((y: Tensor) => {
      const [gx] = gradient((x: Tensor) => sum(mul(sin(mul(x, y)), y)), tensor([x0], { dtype: 'float64' }));
      return sum(gx as Tensor);
    }, tensor([y0], { dtype: 'float64' }))[0] as Tensor;
    const want = -Math.sin(x0 * y0) * x0 * y0 * y0 + 2 * y0 * Math.cos(x0 * y0);
    assert.ok(Math.abs(outer.item() - want) <= 1e-12 * (1 + Math.abs(want)), `${outer.item()} vs ${want}`);
  }), { numRuns: 50 });
});

test('transpose equals permute with the last two axes swapped; permute checks its argument', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 4 }).chain((s) => arbTensorIn(s)),
    (x) => {
      const p = x.shape.map((_, i) => i);
      [p[p.length - 2], p[p.length - 1]] = [p[p.length - 1], p[p.length - 2]];
      const t = transpose(x), q = permute(x, p);
      assert.equal([...t.shape], [...q.shape]);
      assert.equal(valuesOf(t), valuesOf(q));
    },
  ), { numRuns: 40 });
  const x = tensor([[[1, 2]]]);
  assert.throws(() => permute(x, [0, 0, 1]), /permute: \[0,0,1\] is not a permutation of the 3 dimensions/);
  assert.throws(() => permute(x, [0, 1]), /permute: \[0,1\] is not a permutation/);
  assert.throws(() => permute(x, [0, 1, 3]), /permute: axis 3 is out of range for a 3-d tensor/);
  assert.is(permute(x, [0, -2, -1]), x, 'the identity is the tensor itself');
});

test('slice equals an index-by-index reference for random ranges and steps', () => {
  const bound = fc.option(fc.integer({ min: -5, max: 5 }), { nil: null });
  const range = fc.option(fc.tuple(bound, bound, fc.constantFrom(1, 2, -1, -2)), { nil: null });
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }).chain((s) => fc.tuple(arbTensorIn(s), fc.array(range, { maxLength: s.length }))),
    ([x, ranges]) => {
      const got = slice(x, ranges);
      // the indices each dimension keeps, Python's rules
      const picks = x.shape.map((n, d) => {
        const r = ranges[d];
        const st = r?.[2] ?? 1;
        const norm = (v: number | null | undefined, dflt: number) => (v === null || v === undefined ? dflt : v < 0 ? v + n : v);
        const out: number[] = [];
        if (st > 0) for (let i = Math.max(0, norm(r?.[0], 0)); i < Math.min(n, norm(r?.[1], n)); i += st) out.push(i);
        else for (let i = Math.min(n - 1, norm(r?.[0], n - 1)); i > Math.max(-1, norm(r?.[1], -1)); i += st) out.push(i);
        return out;
      });
      assert.equal([...got.shape], picks.map((p) => p.length));
      const xv = valuesOf(x), gv = valuesOf(got);
      const strides = x.shape.map((_, d) => x.shape.slice(d + 1).reduce((a, b) => a * b, 1));
      gv.forEach((v, i) => {
        const idx = unravel(i, got.shape);
        assert.is(v, xv[idx.reduce((o, k, d) => o + picks[d][k] * strides[d], 0)]);
      });
    },
  ), { numRuns: 80 });
  assert.throws(() => slice(tensor([1, 2, 3]), [[0, 2, 0]]), /slice: step must be a non-zero integer, got 0 in dimension 0/);
  assert.throws(() => slice(tensor([1, 2, 3]), [[0.5, 2]]), /slice: index 0.5 in dimension 0 is not an integer/);
});

test('sumTo over axes of length 1 (a reshape) equals summing them; other axes are summed', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }).chain((s) =>
      fc.tuple(fc.constant(s), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.integer({ min: 0, max: 2 }))
        .chain(([shape, ones, lead]) => {
          // g: `lead` extra leading axes (length 1 or 2), and length 1 or `shape[i]` where the target is 1
          const target = shape.map((d, i) => (ones[i] ? 1 : d));
          return fc.tuple(fc.constant(target), fc.array(fc.integer({ min: 1, max: 2 }), { minLength: lead, maxLength: lead }))
            .chain(([t, extra]) => arbTensorIn([...extra, ...shape]).map((g) => [g, t] as const));
        })),
    ([g, target]) => {
      const got = sumTo(g, target);
      const lead = g.ndim - target.length;
      const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (target[i - lead] === 1 && g.shape[i] !== 1));
      const want = reshape(axes.length > 0 ? sum(g, axes, { keepDims: true }) : g, target);
      assert.equal([...got.shape], [...target]);
      const u = valuesOf(got), v = valuesOf(want);
      u.forEach((x, i) => assert.ok(Math.abs(x - v[i]) <= 1e-12 * (1 + Math.abs(v[i])), `[${i}] ${x} vs ${v[i]}`));
    },
  ), { numRuns: 80 });
});

test('concat equals a reference along every axis, promotes dtypes, and checks shapes', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }).chain((s) =>
      fc.tuple(fc.integer({ min: 0, max: s.length - 1 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }))
        .chain(([axis, lens]) => fc.tuple(fc.constant(axis), fc.tuple(...lens.map((n) => arbTensorIn(s.map((d, i) => (i === axis ? n : d)))))))),
    ([axis, parts]) => {
      const got = concat(parts, axis);
      const out = parts[0].shape.slice();
      out[axis] = parts.reduce((n, p) => n + p.shape[axis], 0);
      assert.equal([...got.shape], out);
      const gv = valuesOf(got);
      gv.forEach((v, i) => {
        const idx = unravel(i, out);
        let k = idx[axis], j = 0;
        while (k >= parts[j].shape[axis]) k -= parts[j++].shape[axis];
        const at = idx.slice();
        at[axis] = k;
        assert.is(v, parts[j].get(...at));
      });
    },
  ), { numRuns: 60 });
  const mixed = concat([tensor([1, 2], { dtype: 'float32' }), tensor([3], { dtype: 'float64' })]);
  assert.is(mixed.dtype, 'float64');
  assert.equal(valuesOf(mixed), [1, 2, 3]);
  assert.throws(() => concat([tensor([[1, 2]]), tensor([[1, 2, 3]])], 0), /concat: shapes \[1, ?2\], \[1, ?3\] differ outside dimension 0/);
  assert.throws(() => concat([tensor([1]), tensor([[1]])], 0), /concat: shapes .* differ outside dimension 0/);
});

test('argument walk: error messages name the path to the offending value', () => {
  const cyclic: any = { w: tensor([1]), inner: { list: [tensor([2])] } };
  cyclic.inner.list.push(cyclic);
  assert.throws(() => gradient((m: any) => sum(m.w), cyclic), /gradient: the argument\.inner\.list\[1\] refers back to an object that contains it/);
  assert.throws(() => gradient((m: any) => sum(m.w), { w: tensor([1]), more: [1, { s: new Map() }] }),
    /gradient: the argument\.more\[1\]\.s is a Map, which cannot be differentiated/);
  const [g] = gradient((m: any) => sum(mul(m.a[0], m.b.c)), { a: [tensor([2])], b: { c: tensor([3]) }, name: 'x' }) as any[];
  assert.equal(valuesOf(g.a[0]), [3]);
  assert.equal(valuesOf(g.b.c), [2]);
  assert.is(g.name, null);
});

test.run();
