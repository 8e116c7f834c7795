import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  ShapeError, tensor, zeros, ones, arange, reshape, flatten, squeeze, unsqueeze, permute, transpose, broadcastTo, slice, index,
  concat, stack, pad, gather, scatterAdd, type SliceRange,
} from '../../src/index.js';
import { arbShape, arbTensorCase, type TensorCase } from '../_helpers/arbitraries.js';
import { EPS, assertTensor, assertThrows, broadcastIndex, ravel, sizeOf, unravel } from '../_helpers/reference.js';

type DT = 'float32' | 'float64';
const arbCase = (o: Parameters<typeof arbShape>[0] = {}) => arbShape(o).chain((s) => arbTensorCase(s));

// ---------------------------------------------------------------- reshape family

test('reshape keeps row-major order for any target shape of the same size (with one -1 inferred)', () => {
  fc.assert(fc.property(
    arbCase({ maxRank: 4 }).chain((c) => fc.tuple(fc.constant(c), fc.constant(factorize(c.values.length)).chain((f) => fc.shuffledSubarray(f, { minLength: f.length, maxLength: f.length })), fc.nat())),
    ([c, factors, r]) => {
      const target = factors.length ? factors : c.values.length === 1 ? [] : [c.values.length];
      assertTensor(reshape(c.t, target), { shape: target, dtype: c.dtype, values: c.values }, 0, `reshape ${c.layout} → [${target}]`);
      if (target.length > 0 && c.values.length > 0) {
        const k = r % target.length;
        const withInfer = target.map((d, i) => (i === k ? -1 : d));
        assertTensor(reshape(c.t, withInfer), { shape: target, values: c.values }, 0, `reshape with -1 → [${withInfer}]`);
      }
    },
  ), { numRuns: 200 });
  assert.equal([...reshape(zeros([0, 3]), [-1, 3]).shape], [0, 3]);
  assert.equal([...reshape(zeros([4]), [2, 1, -1]).shape], [2, 1, 2]);
});

/** The prime factors of n (with some 1s mixed in), as a random-orderable target shape. */
function factorize(n: number): number[] {
  if (n === 0) return [0, 3];
  const f: number[] = [];
  for (let p = 2; n > 1; p++) while (n % p === 0) { f.push(p); n /= p; }
  return [...f, 1];
}

test('reshape errors name both shapes; only one -1 is allowed', () => {
  assertThrows(() => reshape(ones([2, 3]), [4]), ShapeError, ['reshape', '[2,3]', '[4]', '6 elements', '4 elements'], 'size');
  assertThrows(() => reshape(ones([2, 3]), [-1, -1]), ShapeError, ['reshape', '[-1,-1]'], 'two -1');
  assertThrows(() => reshape(ones([2, 3]), [-1, 4]), ShapeError, ['reshape', '[2,3]', '[-1,4]'], 'not divisible');
  assertThrows(() => reshape(ones([2, 3]), [2, -2]), ShapeError, ['reshape', '[2,-2]'], 'negative');
  assertThrows(() => reshape(ones([2, 3]), [2, 1.5]), ShapeError, ['reshape'], 'fractional');
  assertThrows(() => reshape(zeros([0]), [-1, 0]), ShapeError, ['reshape'], '-1 with a zero dimension is ambiguous');
});

test('flatten merges dimensions startDim..endDim', () => {
  fc.assert(fc.property(
    arbCase({ minRank: 1, maxRank: 4 }).chain((c) => fc.tuple(fc.constant(c), fc.nat({ max: c.shape.length - 1 }), fc.nat({ max: c.shape.length - 1 }))),
    ([c, i, j]) => {
      const [a, b] = [Math.min(i, j), Math.max(i, j)];
      const shape = [...c.shape.slice(0, a), sizeOf(c.shape.slice(a, b + 1)), ...c.shape.slice(b + 1)];
      assertTensor(flatten(c.t, a, b - c.shape.length), { shape, values: c.values }, 0, `flatten(${a}, ${b})`);
      assertTensor(flatten(c.t), { shape: [c.values.length], values: c.values }, 0, 'flatten all');
    },
  ), { numRuns: 100 });
  assertTensor(flatten(tensor(3)), { shape: [1], values: [3] }, 0, 'flatten 0-d');
  assertThrows(() => flatten(ones([2, 3, 4]), 2, 1), RangeError, ['flatten', 'startDim 2', 'endDim 1'], 'reversed');
  assertThrows(() => flatten(ones([2, 3]), 2), RangeError, ['flatten', 'axis 2'], 'out of range');
});

test('squeeze drops length-1 dimensions (all, or the named ones); unsqueeze inserts one', () => {
  fc.assert(fc.property(arbCase({ maxRank: 4, maxDim: 2 }), fc.nat(), (c, r) => {
    const all = c.shape.filter((d) => d !== 1);
    assertTensor(squeeze(c.t), { shape: all, values: c.values }, 0, 'squeeze all');
    const ones_ = c.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    if (ones_.length) {
      const ax = ones_[r % ones_.length];
      assertTensor(squeeze(c.t, ax - c.shape.length), { shape: c.shape.filter((_, i) => i !== ax), values: c.values }, 0, 'squeeze one (negative)');
      assertTensor(squeeze(c.t, ones_), { shape: all, values: c.values }, 0, 'squeeze list');
    }
    const at = r % (c.shape.length + 1);
    const us = [...c.shape.slice(0, at), 1, ...c.shape.slice(at)];
    assertTensor(unsqueeze(c.t, at), { shape: us, values: c.values }, 0, `unsqueeze(${at})`);
    assertTensor(unsqueeze(c.t, at - c.shape.length - 1), { shape: us, values: c.values }, 0, 'unsqueeze negative');
  }), { numRuns: 150 });
  assertThrows(() => squeeze(ones([2, 1]), 0), ShapeError, ['squeeze', 'dimension 0', '[2,1]', 'length 2'], 'not 1');
  assertThrows(() => squeeze(ones([2, 1]), 2), RangeError, ['squeeze', 'axis 2'], 'out of range');
  assertThrows(() => unsqueeze(ones([2]), 2), RangeError, ['unsqueeze', 'axis 2'], 'unsqueeze out of range');
  assertThrows(() => unsqueeze(ones([2]), -3), RangeError, ['unsqueeze', 'axis -3'], 'unsqueeze negative out of range');
});

// ---------------------------------------------------------------- permute, transpose, broadcastTo

test('permute(x, p)[i…] = x[i permuted back], for random permutations (negative axes allowed)', () => {
  fc.assert(fc.property(
    arbCase({ maxRank: 4 }).chain((c) => fc.tuple(
      fc.constant(c),
      fc.shuffledSubarray(c.shape.map((_, i) => i), { minLength: c.shape.length, maxLength: c.shape.length }),
      fc.array(fc.boolean(), { minLength: c.shape.length, maxLength: c.shape.length }),
    )),
    ([c, p, negs]) => {
      const shape = p.map((a) => c.shape[a]);
      const values: number[] = [];
      for (let i = 0; i < c.values.length; i++) {
        const oi = unravel(i, shape);
        const xi = new Array<number>(p.length);
        p.forEach((a, k) => (xi[a] = oi[k]));
        values.push(c.values[ravel(xi, c.shape)]);
      }
      const arg = p.map((a, k) => (negs[k] ? a - p.length : a));
      assertTensor(permute(c.t, arg), { shape, dtype: c.dtype, values }, 0, `permute(${c.layout} [${c.shape}], [${arg}])`);
    },
  ), { numRuns: 200 });
  assertThrows(() => permute(ones([2, 3]), [0, 0]), ShapeError, ['permute', '[0,0]', '[2,3]'], 'repeated');
  assertThrows(() => permute(ones([2, 3]), [0]), ShapeError, ['permute', '[0]'], 'short');
  assertThrows(() => permute(ones([2, 3]), [0, 2]), RangeError, ['permute', 'axis 2'], 'out of range');
});

test('transpose swaps the last two dimensions of batched matrices and leaves vectors alone', () => {
  fc.assert(fc.property(arbCase({ minRank: 2, maxRank: 4 }), (c) => {
    const r = c.shape.length;
    const shape = [...c.shape.slice(0, -2), c.shape[r - 1], c.shape[r - 2]];
    const values = c.values.map((_, i) => {
      const oi = unravel(i, shape);
      [oi[r - 2], oi[r - 1]] = [oi[r - 1], oi[r - 2]];
      return c.values[ravel(oi, c.shape)];
    });
    assertTensor(transpose(c.t), { shape, values }, 0, 'transpose');
  }), { numRuns: 100 });
  assertTensor(transpose([1, 2]), { shape: [2], values: [1, 2] }, 0, 'vector');
});

test('broadcastTo follows NumPy’s rules (prepend dims, stretch 1s) and refuses anything else', () => {
  fc.assert(fc.property(
    arbShape({ maxRank: 4 }).chain((out) => fc.tuple(
      fc.constant(out), fc.nat({ max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    )).chain(([out, drop, ones_]) => fc.tuple(fc.constant(out), arbTensorCase(out.slice(drop).map((d, i) => (ones_[i + drop] ? 1 : d))))),
    ([out, c]) => {
      const values = Array.from({ length: sizeOf(out) }, (_, i) => c.values[broadcastIndex(unravel(i, out), c.shape)]);
      assertTensor(broadcastTo(c.t, out), { shape: out, dtype: c.dtype, values }, 0, `broadcastTo([${c.shape}] → [${out}])`);
    },
  ), { numRuns: 200 });
  assertThrows(() => broadcastTo(ones([2]), [3]), ShapeError, ['broadcastTo', '[2]', '[3]'], 'stretch a non-1');
  assertThrows(() => broadcastTo(ones([1, 2]), [2]), ShapeError, ['broadcastTo', '[1,2]', '[2]'], 'fewer dims');
  assertThrows(() => broadcastTo(ones([2, 3]), [3, 3]), ShapeError, ['broadcastTo', '[2,3]', '[3,3]'], 'leading');
  assertThrows(() => broadcastTo(ones([1]), [-1]), ShapeError, ['broadcastTo', 'invalid shape', '[-1]'], 'negative target');
  assertThrows(() => broadcastTo(ones([1]), [2.5]), ShapeError, ['broadcastTo', 'invalid shape', '[2.5]'], 'fractional target');
  assertThrows(() => broadcastTo(ones([1]), [NaN]), ShapeError, ['broadcastTo', 'invalid shape', '[NaN]'], 'NaN target');
});

// ---------------------------------------------------------------- slice, index

/** Python's slice.indices(length) followed by range(): the selected positions, from CPython's definition. */
function pySlice(n: number, start: number | null | undefined, stop: number | null | undefined, step: number | undefined): number[] {
  const st = step ?? 1;
  const [lower, upper] = st > 0 ? [0, n] : [-1, n - 1];
  const fix = (v: number | null | undefined, dflt: number) =>
    v === null || v === undefined ? dflt : v < 0 ? Math.max(v + n, lower) : Math.min(v, upper);
  const a = fix(start, st > 0 ? lower : upper);
  const b = fix(stop, st > 0 ? upper : lower);
  const out: number[] = [];
  for (let i = a; st > 0 ? i < b : i > b; i += st) out.push(i);
  return out;
}

const arbRange: fc.Arbitrary<SliceRange> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.option(fc.integer({ min: -7, max: 7 })),
      fc.option(fc.integer({ min: -7, max: 7 })),
      fc.option(fc.constantFrom(-3, -2, -1, 1, 2, 3), { nil: undefined }),
    ).map(([a, b, s]): SliceRange => (s === undefined ? [a, b] : [a, b, s])),
  },
);

test('slice selects Python-style ranges (negative indices and steps, clamping) in every layout', () => {
  fc.assert(fc.property(
    arbCase({ maxRank: 4 }).chain((c) => fc.tuple(fc.constant(c), fc.array(arbRange, { maxLength: c.shape.length }))),
    ([c, ranges]) => {
      const picks = c.shape.map((n, d) => {
        const r = ranges[d];
        return r === null || r === undefined ? pySlice(n, null, null, 1) : pySlice(n, r[0], r[1], r[2]);
      });
      const shape = picks.map((p) => p.length);
      const values = Array.from({ length: sizeOf(shape) }, (_, i) => {
        const oi = unravel(i, shape);
        return c.values[ravel(oi.map((k, d) => picks[d][k]), c.shape)];
      });
      assertTensor(slice(c.t, ranges), { shape, dtype: c.dtype, values }, 0, `slice(${c.layout} [${c.shape}], ${JSON.stringify(ranges)})`);
    },
  ), { numRuns: 300 });
  const x = arange(5);
  assertTensor(slice(x, [[null, null, -1]]), { shape: [5], values: [4, 3, 2, 1, 0] }, 0, 'reverse');
  assertTensor(slice(x, [[-1, -6, -2]]), { shape: [3], values: [4, 2, 0] }, 0, 'negative start and stop');
  assertTensor(slice(x, [[3, 1]]), { shape: [0], values: [] }, 0, 'empty');
  assertThrows(() => slice(x, [[0, 5, 0]]), RangeError, ['slice', 'step', 'dimension 0'], 'zero step');
  assertThrows(() => slice(x, [null, null]), ShapeError, ['slice', '2 ranges', '[5]'], 'too many ranges');
  assertThrows(() => slice(x, [[0.5, 2]]), RangeError, ['slice', '0.5'], 'fractional');
});

test('index picks elements and sub-tensors by leading (possibly negative) indices', () => {
  fc.assert(fc.property(
    arbCase({ minRank: 1, maxRank: 4, minDim: 1 }).chain((c) => fc.tuple(
      fc.constant(c),
      fc.array(fc.nat(), { minLength: 1, maxLength: c.shape.length }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    )),
    ([c, raw, negs]) => {
      const idx = raw.map((r, d) => r % c.shape[d]);
      const arg = idx.map((k, d) => (negs[d] ? k - c.shape[d] : k));
      const rest = c.shape.slice(idx.length);
      const values = Array.from({ length: sizeOf(rest) }, (_, i) => c.values[ravel([...idx, ...unravel(i, rest)], c.shape)]);
      assertTensor(index(c.t, ...arg), { shape: rest, dtype: c.dtype, values }, 0, `index(${arg})`);
    },
  ), { numRuns: 150 });
  assertThrows(() => index(ones([2, 3]), 0, 3), RangeError, ['index', 'index 3', 'dimension 1', '[2,3]'], 'out of range');
  assertThrows(() => index(ones([2, 3]), -3), RangeError, ['index', 'index -3'], 'negative out of range');
  assertThrows(() => index(ones([2]), 0, 0), RangeError, ['index', '2 indices', '[2]'], 'too many');
});

// ---------------------------------------------------------------- concat, stack, pad

const arbJoin = fc.record({
  base: arbShape({ minRank: 1, maxRank: 3 }),
  count: fc.integer({ min: 1, max: 4 }),
  axis: fc.nat(),
  lens: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
}).chain(({ base, count, axis, lens }) => {
  const a = axis % base.length;
  const shapes = Array.from({ length: count }, (_, i) => base.map((d, j) => (j === a ? lens[i] : d)));
  return fc.tuple(fc.constant(a), fc.tuple(...shapes.map((s) => arbTensorCase(s))));
});

test('concat joins along an existing axis (negative too), in any layouts, promoting dtypes', () => {
  fc.assert(fc.property(arbJoin, fc.boolean(), ([axis, cases], neg) => {
    const rank = cases[0].shape.length;
    const shape = cases[0].shape.slice();
    shape[axis] = cases.reduce((n, c) => n + c.shape[axis], 0);
    const values = Array.from({ length: sizeOf(shape) }, (_, i) => {
      const oi = unravel(i, shape);
      let k = oi[axis], which = 0;
      while (k >= cases[which].shape[axis]) k -= cases[which++].shape[axis];
      oi[axis] = k;
      return cases[which].values[ravel(oi, cases[which].shape)];
    });
    const dtype: DT = cases.some((c) => c.dtype === 'float64') ? 'float64' : 'float32';
    assertTensor(concat(cases.map((c) => c.t), neg ? axis - rank : axis), { shape, dtype, values }, 0,
      `concat(${cases.map((c) => `${c.layout} [${c.shape}] ${c.dtype}`).join(', ')}; ${axis})`);
  }), { numRuns: 200 });
  assertThrows(() => concat([ones([2, 3]), ones([3, 3])], 1), ShapeError, ['concat', '[2,3]', '[3,3]', 'dimension 1'], 'mismatch');
  assertThrows(() => concat([ones([2, 3]), ones([2, 3, 1])]), ShapeError, ['concat', '[2,3]', '[2,3,1]'], 'rank');
  assertThrows(() => concat([]), RangeError, ['concat'], 'empty list');
  assertThrows(() => concat([tensor(1), tensor(2)]), ShapeError, ['concat', '0-d', 'stack'], '0-d');
  assertThrows(() => concat([ones([2]), ones([2])], 1), RangeError, ['concat', 'axis 1'], 'axis');
});

test('concat and stack of weakly typed arrays with a float32 tensor stay float32', () => {
  const x = tensor([[1, 2]], { dtype: 'float32' });
  assert.is(concat([x, [[3, 4]]]).dtype, 'float32', 'concat([x32, array])');
  assert.is(concat([[[3, 4]], x]).dtype, 'float32', 'concat([array, x32])');
  assert.is(stack([x, [[3, 4]]]).dtype, 'float32', 'stack([x32, array])');
  assert.is(concat([x, tensor([[3, 4]])]).dtype, 'float64', 'a float64 tensor promotes');
});

test('stack joins tensors of one shape along a new axis (0..ndim, negative too)', () => {
  fc.assert(fc.property(
    fc.record({ s: arbShape({ maxRank: 3 }), count: fc.integer({ min: 1, max: 3 }), axis: fc.nat(), neg: fc.boolean() })
      .chain(({ s, count, axis, neg }) => fc.tuple(fc.constant(axis % (s.length + 1)), fc.constant(neg), fc.tuple(...Array.from({ length: count }, () => arbTensorCase(s))))),
    ([axis, neg, cases]) => {
      const s = cases[0].shape;
      const shape = [...s.slice(0, axis), cases.length, ...s.slice(axis)];
      const values = Array.from({ length: sizeOf(shape) }, (_, i) => {
        const oi = unravel(i, shape);
        const which = oi[axis];
        oi.splice(axis, 1);
        return cases[which].values[ravel(oi, s)];
      });
      const dtype: DT = cases.some((c) => c.dtype === 'float64') ? 'float64' : 'float32';
      assertTensor(stack(cases.map((c) => c.t), neg ? axis - s.length - 1 : axis), { shape, dtype, values }, 0, `stack axis ${axis}`);
    },
  ), { numRuns: 150 });
  assertTensor(stack([1, 2, 3]), { shape: [3], values: [1, 2, 3] }, 0, 'stack numbers');
  assertThrows(() => stack([ones([2]), ones([3])]), ShapeError, ['stack', '[2]', '[3]'], 'mismatch');
  assertThrows(() => stack([ones([2])], 2), RangeError, ['stack', 'axis 2'], 'axis');
  assertThrows(() => stack([]), RangeError, ['stack'], 'empty');
});

test('pad adds [before, after] cells of a value to the leading dimensions', () => {
  fc.assert(fc.property(
    arbCase({ maxRank: 3 }).chain((c) => fc.tuple(
      fc.constant(c),
      fc.array(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 2 })), { maxLength: c.shape.length }),
      fc.oneof(fc.constant(undefined), fc.double({ min: -5, max: 5, noNaN: true }), fc.constant(NaN)),
    )),
    ([c, pads, value]) => {
      const p = c.shape.map((_, i) => pads[i] ?? [0, 0]);
      const shape = c.shape.map((d, i) => d + p[i][0] + p[i][1]);
      const fillV = c.dtype === 'float32' ? Math.fround(value ?? 0) : value ?? 0;
      const values = Array.from({ length: sizeOf(shape) }, (_, i) => {
        const oi = unravel(i, shape);
        const xi = oi.map((k, d) => k - p[d][0]);
        return xi.every((k, d) => k >= 0 && k < c.shape[d]) ? c.values[ravel(xi, c.shape)] : fillV;
      });
      assertTensor(pad(c.t, pads, value), { shape, dtype: c.dtype, values }, 0, `pad(${c.layout} [${c.shape}], ${JSON.stringify(pads)}, ${value})`);
    },
  ), { numRuns: 200 });
  assertThrows(() => pad(ones([2]), [[-1, 0]]), RangeError, ['pad', '[-1,0]'], 'negative');
  assertThrows(() => pad(ones([2]), [[0, 0], [1, 1]]), ShapeError, ['pad', '2 pairs', '[2]'], 'too many');
});

// ---------------------------------------------------------------- gather, scatterAdd

const arbGather = arbShape({ minRank: 1, maxRank: 3, minDim: 1 }).chain((s) => fc.tuple(
  fc.constant(s),
  fc.nat({ max: s.length - 1 }),
  arbShape({ maxRank: 2, maxDim: 4 }),
)).chain(([s, axis, ishape]) => fc.tuple(
  arbTensorCase(s),
  fc.constant(axis),
  fc.array(fc.nat({ max: s[axis] - 1 }), { minLength: sizeOf(ishape), maxLength: sizeOf(ishape) }).map((iv) => ({ ishape, iv })),
  fc.constantFrom<'array' | 'tensor32' | 'tensor64' | 'view'>('array', 'tensor32', 'tensor64', 'view'),
  fc.boolean(),
));

function indexTensor(ishape: number[], iv: number[], form: 'array' | 'tensor32' | 'tensor64' | 'view') {
  // (nested arrays cannot express a zero dimension followed by others)
  if (form === 'array' && sizeOf(ishape) > 0) return ishape.length === 0 ? iv[0] : (tensor(iv, { shape: ishape }).toArray() as number[]);
  if (form === 'view') return transpose(transpose(tensor(iv, { shape: ishape }))); // non-contiguous for rank 2
  return tensor(iv, { shape: ishape, dtype: form === 'tensor32' ? 'float32' : 'float64' });
}

/** NumPy take: out[a…, j…, b…] = x[a…, idx[j…], b…]. */
function refGather(c: TensorCase, axis: number, ishape: number[], iv: number[]): { shape: number[]; values: number[] } {
  const shape = [...c.shape.slice(0, axis), ...ishape, ...c.shape.slice(axis + 1)];
  const values = Array.from({ length: sizeOf(shape) }, (_, i) => {
    const oi = unravel(i, shape);
    const j = ravel(oi.slice(axis, axis + ishape.length), ishape);
    const xi = [...oi.slice(0, axis), iv[j], ...oi.slice(axis + ishape.length)];
    return c.values[ravel(xi, c.shape)];
  });
  return { shape, values };
}

test('gather selects along an axis by integer indices of any shape (NumPy take)', () => {
  fc.assert(fc.property(arbGather, ([c, axis, { ishape, iv }, form, neg]) => {
    const e = refGather(c, axis, ishape, iv);
    const r = gather(c.t, indexTensor(ishape, iv, form), neg ? axis - c.shape.length : axis);
    assertTensor(r, { shape: e.shape, dtype: c.dtype, values: e.values }, 0, `gather(${c.layout} [${c.shape}], [${ishape}] ${form}, ${axis})`);
  }), { numRuns: 200 });
  assertThrows(() => gather(ones([3, 2]), [0, 3]), RangeError, ['gather', 'index 3', 'length 3'], 'out of range');
  assertThrows(() => gather(ones([3, 2]), [-1]), RangeError, ['gather', 'index -1'], 'negative');
  assertThrows(() => gather(ones([3, 2]), [0.5]), RangeError, ['gather', '0.5'], 'fractional');
  assertThrows(() => gather(ones([3, 2]), [0], 2), RangeError, ['gather', 'axis 2'], 'axis');
});

test('scatterAdd adds rows into zeros (repeated indices accumulate) and is gather’s adjoint: ⟨gather(x,i), y⟩ = ⟨x, scatterAdd(y,i)⟩', () => {
  fc.assert(fc.property(arbGather.chain((g) => {
    const [c, axis, { ishape }] = g;
    const ys = [...c.shape.slice(0, axis), ...ishape, ...c.shape.slice(axis + 1)];
    return fc.tuple(fc.constant(g), arbTensorCase(ys, { dtype: 'float64' }));
  }), ([[c, axis, { ishape, iv }, form], y]) => {
    const size = c.shape[axis];
    const out = scatterAdd(y.t, indexTensor(ishape, iv, form), axis, size);
    // direct reference
    const expected = new Array<number>(c.values.length).fill(0);
    for (let i = 0; i < y.values.length; i++) {
      const yi = unravel(i, y.shape);
      const j = ravel(yi.slice(axis, axis + ishape.length), ishape);
      const xi = [...yi.slice(0, axis), iv[j], ...yi.slice(axis + ishape.length)];
      expected[ravel(xi, c.shape)] += y.values[i];
    }
    const tol = (k: number) => 4 * EPS.float64 * (Math.abs(expected[k]) + y.values.reduce((a, b) => a + Math.abs(b), 0));
    assertTensor(out, { shape: c.shape, dtype: 'float64', values: expected }, tol, 'scatterAdd');
    // adjoint identity
    const g = gather(c.t, indexTensor(ishape, iv, form), axis).data;
    let lhs = 0, rhs = 0, mag = 0;
    for (let i = 0; i < g.length; i++) { lhs += g[i] * y.values[i]; mag += Math.abs(g[i] * y.values[i]); }
    const s = out.data;
    for (let i = 0; i < s.length; i++) rhs += c.values[i] * s[i];
    assert.ok(Math.abs(lhs - rhs) <= 16 * EPS.float64 * (mag + 1) * (g.length + 1), `⟨gather(x,i), y⟩ = ${lhs}, ⟨x, scatterAdd(y,i)⟩ = ${rhs}`);
  }), { numRuns: 200 });
  assertTensor(scatterAdd([1, 2, 3], [0, 0, 1], 0, 3), { shape: [3], values: [3, 3, 0] }, 0, 'repeated indices add up');
  assertThrows(() => scatterAdd(ones([2, 3]), [0, 1, 2], 0, 4), ShapeError, ['scatterAdd', '[3]', '[2,3]'], 'index shape mismatch');
  assertThrows(() => scatterAdd(ones([2]), [0, 4], 0, 4), RangeError, ['scatterAdd', 'index 4'], 'out of range');
});

test('movement operations accept nested arrays and keep float32', () => {
  const x = tensor([[1, 2, 3]], { dtype: 'float32' });
  for (const t of [reshape(x, [3]), transpose(x), slice(x, [null, [1]]), pad(x, [[1, 1]]), gather(x, [0, 0], 1), broadcastTo(x, [2, 3]), concat([x, x]), stack([x, x])]) {
    assert.is(t.dtype, 'float32');
  }
  assertTensor(reshape([[1, 2], [3, 4]], [4]), { shape: [4], values: [1, 2, 3, 4] }, 0, 'nested');
});

test.run();
