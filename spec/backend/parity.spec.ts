/**
 * Backend parity: every kernel variant (gemm: plain JS, WebAssembly SIMD, worker threads;
 * convolution tunings on top of each; the gpu.js backend in its CPU mode) against
 * definitions computed here in float64, within float32 tolerance bounds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { availableParallelism } from 'node:os';
import * as F from '../../src/index.js';
import { matmul, tensor, type Tensor } from '../../src/index.js';
import { gemm, gemmThreadPool, gemmVariants, getGemmVariant, setGemmVariant, type GemmVariant } from '../../src/backend/cpu/gemm.js';
import { conv2d as convKernel, conv2dBackwardFilter, conv2dBackwardInput, conv2dOutputShape, convTuning, type Conv2dParams, type Shape4 } from '../../src/backend/cpu/conv.js';
import { getBackend, setBackend, setDeviceBackend, type Backend } from '../../src/backend/index.js';
import * as vector from '../../src/backend/cpu/vector.js';
import { gpuBackend } from '../../src/backend/gpu/index.js';
import { arbBroadcastShapes, arbTensorCase, seededValues, type TensorCase } from '../_helpers/arbitraries.js';
import { EPS, TINY, assertValues, broadcastIndex, sizeOf, unravel } from '../_helpers/reference.js';

type DT = 'float32' | 'float64';

const VARIANTS = gemmVariants();
const pool = gemmThreadPool();
pool?.waitReady();
const jobsDone = () => (pool ? pool.jobCounts().reduce((a, b) => a + b, 0) : 0);

/** Run `body` with gemm forced to `v`, always going back to 'auto'. */
function withVariant<T>(v: GemmVariant, body: () => T): T {
  setGemmVariant(v);
  try {
    return body();
  } finally {
    setGemmVariant('auto');
  }
}

// ---------------------------------------------------------------- matmul reference

/** C = A·B by definition, in float64, for strided views; with the bound (k+2)·ε·Σ|a||b| per element. */
function refGemm(
  m: number, n: number, k: number, at: (i: number, p: number) => number, bt: (p: number, j: number) => number, dtype: DT,
): { c: Float64Array; tol: Float64Array } {
  const c = new Float64Array(m * n), mag = new Float64Array(m * n), tol = new Float64Array(m * n);
  const arow = new Float64Array(k);
  const bcol = new Float64Array(k * n);
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bcol[j * k + p] = bt(p, j);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) arow[p] = at(i, p);
    for (let j = 0; j < n; j++) {
      let s = 0, a = 0;
      const o = j * k;
      for (let p = 0; p < k; p++) {
        const t = arow[p] * bcol[o + p];
        s += t;
        a += Math.abs(t);
      }
      c[i * n + j] = s;
      mag[i * n + j] = a;
    }
  }
  for (let i = 0; i < m * n; i++) tol[i] = (k + 2) * EPS[dtype] * mag[i] + EPS[dtype] * Math.abs(c[i]) + (k + 1) * TINY[dtype];
  return { c, tol };
}

/** matmul of two (batched) matrices by definition: values, shape, tolerances. */
function refMatmul(a: TensorCase, b: TensorCase): { shape: number[]; values: number[]; tol: number[] } {
  const dtype: DT = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
  const [m, k] = a.shape.slice(-2), n = b.shape[b.shape.length - 1];
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const batch = Array.from({ length: rank }, (_, i) => {
    const x = ba[i - (rank - ba.length)] ?? 1, y = bb[i - (rank - bb.length)] ?? 1;
    return x === 1 ? y : x;
  });
  const values: number[] = [], tol: number[] = [];
  for (let q = 0; q < sizeOf(batch); q++) {
    const bi = unravel(q, batch);
    const oa = broadcastIndex(bi, ba) * m * k, ob = broadcastIndex(bi, bb) * k * n;
    const r = refGemm(m, n, k, (i, p) => a.values[oa + i * k + p], (p, j) => b.values[ob + p * n + j], dtype);
    values.push(...r.c);
    tol.push(...r.tol);
  }
  return { shape: [...batch, m, n], values, tol };
}

function checkMatmul(a: TensorCase, b: TensorCase, what: string): void {
  const e = refMatmul(a, b);
  const r = matmul(a.t, b.t);
  assert.equal([...r.shape], e.shape, `${what}: shape`);
  assert.is(r.dtype, a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32', `${what}: dtype`);
  assertValues(r.data, e.values, (i) => e.tol[i], what);
}

/** Dimensions that straddle the dispatch thresholds (16³ for wasm, 96³ for threads) and the 4×8 register tile. */
const arbDim = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 9 }) },
  { weight: 3, arbitrary: fc.constantFrom(15, 16, 17, 31, 33, 63, 65, 95, 96, 97) },
  { weight: 2, arbitrary: fc.integer({ min: 10, max: 130 }) },
);

const arbMatmulCase = fc.record({
  batch: arbBroadcastShapes(2, { maxRank: 1, maxDim: 3 }),
  m: arbDim, k: arbDim, n: arbDim,
}).filter(({ m, k, n, batch }) => m * k * n * Math.max(1, sizeOf(batch.out)) <= 700_000)
  .chain(({ batch, m, k, n }) => fc.tuple(
    arbTensorCase([...batch.shapes[0], m, k], { layouts: ['contiguous', 'transposed', 'sliced', 'broadcast'] }),
    arbTensorCase([...batch.shapes[1], k, n], { layouts: ['contiguous', 'transposed', 'sliced', 'broadcast'] }),
  ));

// ---------------------------------------------------------------- gemm variants

test('the WebAssembly and threaded gemm variants are available here (Node 20, 2 cores)', () => {
  assert.ok(VARIANTS.includes('js'));
  assert.ok(VARIANTS.includes('wasm'), `variants: ${VARIANTS}`);
  if (availableParallelism() > 1) {
    assert.ok(VARIANTS.includes('threaded'), `variants: ${VARIANTS}`);
    assert.ok(pool !== null && pool.readyCount() > 0, 'worker threads started');
  }
  assert.is(getGemmVariant(), 'auto');
  assert.throws(() => setGemmVariant('cuda' as GemmVariant), /not available/);
});

test('matmul parity across gemm variants: random shapes across the dispatch thresholds, strided operands, float32 and float64', () => {
  const before = jobsDone();
  for (const v of VARIANTS) {
    withVariant(v, () => {
      fc.assert(fc.property(arbMatmulCase, ([a, b]) => {
        checkMatmul(a, b, `${v}: matmul(${a.layout} [${a.shape}] ${a.dtype}, ${b.layout} [${b.shape}] ${b.dtype})`);
      }), { numRuns: 60 });
    });
  }
  // and under automatic dispatch
  fc.assert(fc.property(arbMatmulCase, ([a, b]) => checkMatmul(a, b, 'auto')), { numRuns: 40 });
  if (VARIANTS.includes('threaded')) assert.ok(jobsDone() > before, 'the threaded variant ran jobs on the workers');
});

test('matmul parity on large problems (every variant), incl. transposed and reversed operands', () => {
  const cases: [number, number, number, DT, 'plain' | 'aT' | 'bT' | 'rev'][] = [
    [300, 257, 333, 'float32', 'bT'],
    [129, 700, 67, 'float64', 'aT'],
    [1024, 48, 512, 'float32', 'plain'],
    [97, 96, 200, 'float32', 'rev'],
  ];
  for (const [m, k, n, dtype, form] of cases) {
    const A = seededValues(m * k, m + k, dtype), B = seededValues(k * n, k * n, dtype);
    // the logical A (m×k) and B (k×n), stored in the requested layout
    let a: Tensor, b: Tensor;
    let at = (i: number, p: number) => A[i * k + p], bt = (p: number, j: number) => B[p * n + j];
    if (form === 'aT') { a = F.transpose(tensor(A, { shape: [k, m] })); at = (i, p) => A[p * m + i]; } else a = tensor(A, { shape: [m, k] });
    if (form === 'bT') { b = F.transpose(tensor(B, { shape: [n, k] })); bt = (p, j) => B[j * k + p]; } else b = tensor(B, { shape: [k, n] });
    if (form === 'rev') {
      a = F.slice(a, [[null, null, -1]]);
      b = F.slice(b, [null, [null, null, -1]]);
      at = (i, p) => A[(m - 1 - i) * k + p];
      bt = (p, j) => B[p * n + (n - 1 - j)];
    }
    const e = refGemm(m, n, k, at, bt, dtype);
    const before = jobsDone();
    for (const v of VARIANTS) {
      const r = withVariant(v, () => matmul(a, b));
      assert.is(r.dtype, dtype);
      assertValues(r.data, e.c, (i) => e.tol[i], `${v} ${m}×${k}×${n} ${dtype} ${form}`);
    }
    if (VARIANTS.includes('threaded')) assert.ok(jobsDone() > before, `threaded ran jobs on workers for ${m}×${k}×${n}`);
  }
});

test('gemm kernel parity: arbitrary strides (negative included), offsets, padded C rows and accumulate', () => {
  const arb = fc.record({
    m: arbDim, n: arbDim, k: arbDim,
    dtype: fc.constantFrom<DT>('float32', 'float64'),
    aOrder: fc.constantFrom('row', 'col', 'rowRev', 'colRev'), bOrder: fc.constantFrom('row', 'col', 'rowRev', 'colRev'),
    pad: fc.nat({ max: 3 }), off: fc.nat({ max: 5 }), accumulate: fc.boolean(), seed: fc.integer(),
  }).filter(({ m, n, k }) => m * n * k <= 400_000);
  /** Strides and base offset placing an r×c matrix in an array of r·c + pad elements. */
  const place = (order: string, r: number, c: number, off: number) => {
    switch (order) {
      case 'row': return { base: off, rs: c, cs: 1 };
      case 'col': return { base: off, rs: 1, cs: r };
      case 'rowRev': return { base: off + (r - 1) * c, rs: -c, cs: 1 }; // rows reversed
      default: return { base: off + (c - 1) * r, rs: 1, cs: -r }; // columns reversed, column-major
    }
  };
  for (const v of VARIANTS) {
    withVariant(v, () => {
      fc.assert(fc.property(arb, (p) => {
        const { m, n, k, dtype, off, pad, accumulate } = p;
        const A = seededValues(m * k + off + 2, p.seed, dtype), B = seededValues(k * n + off + 2, p.seed ^ 1, dtype);
        const la = place(p.aOrder, m, k, off), lb = place(p.bOrder, k, n, off);
        const cRs = n + pad;
        const C = seededValues(off + m * cRs + 3, p.seed ^ 2, dtype);
        const C0 = C.slice();
        gemm(m, n, k, A, la.base, la.rs, la.cs, B, lb.base, lb.rs, lb.cs, C, off, cRs, accumulate);
        const e = refGemm(m, n, k, (i, q) => A[la.base + i * la.rs + q * la.cs], (q, j) => B[lb.base + q * lb.rs + j * lb.cs], dtype);
        for (let i = 0; i < C.length; i++) {
          const rel = i - off, row = Math.floor(rel / cRs), col = rel % cRs;
          const inside = rel >= 0 && row < m && col < n;
          if (!inside) {
            if (!Object.is(C[i], C0[i])) assert.unreachable(`${v}: gemm wrote outside C at ${i} (${JSON.stringify(p)})`);
            continue;
          }
          const want = e.c[row * n + col] + (accumulate ? C0[i] : 0);
          const tol = e.tol[row * n + col] + (accumulate ? 2 * EPS[dtype] * (Math.abs(C0[i]) + Math.abs(want)) : 0);
          if (!(Math.abs(C[i] - want) <= tol)) assert.unreachable(`${v}: C[${row},${col}] = ${C[i]}, expected ${want} ± ${tol} (${JSON.stringify(p)})`);
        }
      }), { numRuns: 60 });
    });
  }
});

// ---------------------------------------------------------------- convolution variants

/** Convolution's three kernels by definition (float64): forward, and the adjoints w.r.t. x and w. */
function refConvAll(x: Float64Array | Float32Array, xs: Shape4, w: Float64Array | Float32Array, ws: Shape4, dy: Float64Array | Float32Array, p: Conv2dParams) {
  const [n, c, h, wd] = xs, [o, cg, kh, kw] = ws;
  const ys = conv2dOutputShape(xs, ws, p);
  const [, , oh, ow] = ys;
  const og = o / p.groups;
  const y = new Float64Array(sizeOf(ys)), dx = new Float64Array(sizeOf(xs)), dw = new Float64Array(sizeOf(ws));
  const ym = new Float64Array(y.length), dxm = new Float64Array(dx.length), dwm = new Float64Array(dw.length);
  for (let b = 0; b < n; b++) for (let oc = 0; oc < o; oc++) {
    const c0 = Math.floor(oc / og) * cg;
    for (let yy = 0; yy < oh; yy++) for (let xx = 0; xx < ow; xx++) for (let ci = 0; ci < cg; ci++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const iy = yy * p.stride[0] - p.padding[0] + i * p.dilation[0], ix = xx * p.stride[1] - p.padding[1] + j * p.dilation[1];
      if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
      const yi = ((b * o + oc) * oh + yy) * ow + xx, xi = ((b * c + c0 + ci) * h + iy) * wd + ix, wi = ((oc * cg + ci) * kh + i) * kw + j;
      y[yi] += x[xi] * w[wi]; ym[yi] += Math.abs(x[xi] * w[wi]);
      dx[xi] += dy[yi] * w[wi]; dxm[xi] += Math.abs(dy[yi] * w[wi]);
      dw[wi] += dy[yi] * x[xi]; dwm[wi] += Math.abs(dy[yi] * x[xi]);
    }
  }
  return { ys, y, ym, dx, dxm, dw, dwm };
}

const arbConvCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 3 }), og: fc.integer({ min: 1, max: 4 }),
  kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), sh: fc.integer({ min: 1, max: 2 }), sw: fc.integer({ min: 1, max: 2 }),
  ph: fc.nat({ max: 2 }), pw: fc.nat({ max: 2 }), dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }),
  eh: fc.nat({ max: 9 }), ew: fc.nat({ max: 9 }), dtype: fc.constantFrom<DT>('float32', 'float64'), seed: fc.integer(),
}).map((r) => {
  const h = Math.max(1, r.dh * (r.kh - 1) + 1 - 2 * r.ph) + r.eh, w = Math.max(1, r.dw * (r.kw - 1) + 1 - 2 * r.pw) + r.ew;
  const xs: Shape4 = [r.n, r.cg * r.groups, h, w], ws: Shape4 = [r.og * r.groups, r.cg, r.kh, r.kw];
  const p: Conv2dParams = { stride: [r.sh, r.sw], padding: [r.ph, r.pw], dilation: [r.dh, r.dw], groups: r.groups };
  return { xs, ws, p, dtype: r.dtype, seed: r.seed };
});

const TUNINGS: [string, Partial<typeof convTuning>][] = [
  ['default', {}],
  ['no image folding', { foldMaxOhw: 0 }],
  ['fold everything', { foldMaxOhw: 1 << 30 }],
  ['tiny im2col budget (batch chunks)', { colBudget: 64 }],
];

test('conv2d and its backward kernels: parity across gemm variants × convolution tunings', () => {
  const defaults = { ...convTuning };
  try {
    for (const v of VARIANTS) {
      for (const [name, t] of TUNINGS) {
        Object.assign(convTuning, defaults, t);
        withVariant(v, () => fc.assert(fc.property(arbConvCase, ({ xs, ws, p, dtype, seed }) => {
          const x = seededValues(sizeOf(xs), seed, dtype), w = seededValues(sizeOf(ws), seed ^ 7, dtype);
          const dy = seededValues(sizeOf(conv2dOutputShape(xs, ws, p)), seed ^ 9, dtype);
          const e = refConvAll(x, xs, w, ws, dy, p);
          const bound = (mag: Float64Array, val: Float64Array, terms: number) => (i: number) => (terms + 2) * EPS[dtype] * mag[i] + EPS[dtype] * Math.abs(val[i]) + TINY[dtype];
          const what = `${v}/${name} ${dtype} x[${xs}] w[${ws}] ${JSON.stringify(p)}`;
          const y = convKernel(x, xs, w, ws, p);
          assert.instance(y, dtype === 'float32' ? Float32Array : Float64Array);
          assertValues(y, e.y, bound(e.ym, e.y, ws[1] * ws[2] * ws[3]), `conv2d ${what}`);
          assertValues(conv2dBackwardInput(dy, e.ys, w, ws, xs, p), e.dx, bound(e.dxm, e.dx, ws[0] * ws[2] * ws[3]), `backwardInput ${what}`);
          assertValues(conv2dBackwardFilter(x, xs, dy, e.ys, ws, p), e.dw, bound(e.dwm, e.dw, e.ys[0] * e.ys[2] * e.ys[3]), `backwardFilter ${what}`);
        }), { numRuns: 25 }));
      }
    }
  } finally {
    Object.assign(convTuning, defaults);
  }
});

test('conv2d through the op on a batch big enough for the wasm/threaded gemm, every variant', () => {
  const xs: Shape4 = [8, 3, 20, 20], ws: Shape4 = [16, 3, 3, 3];
  const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
  const x = seededValues(sizeOf(xs), 1, 'float32'), w = seededValues(sizeOf(ws), 2, 'float32');
  const e = refConvAll(x, xs, w, ws, new Float32Array(sizeOf(conv2dOutputShape(xs, ws, p))), p);
  const before = jobsDone();
  for (const v of VARIANTS) {
    const r = withVariant(v, () => F.conv2d(tensor(x, { shape: xs }), tensor(w, { shape: ws }), { padding: 1 }));
    assert.equal([...r.shape], [...e.ys]);
    assertValues(r.data, e.y, (i) => 29 * EPS.float32 * e.ym[i] + TINY.float32, `conv2d op, ${v}`);
  }
  if (VARIANTS.includes('threaded')) assert.ok(jobsDone() > before, 'threaded conv2d ran gemm jobs on workers');
});

// ---------------------------------------------------------------- the gpu.js backend

/** Run `body` on the gpu.js backend in its CPU mode, then restore the CPU backend and the default device. */
function onGpu<T>(body: () => T): T {
  setDeviceBackend(gpuBackend({ mode: 'cpu' }));
  setBackend('gpu');
  try {
    return body();
  } finally {
    setBackend('cpu');
    setDeviceBackend(gpuBackend());
  }
}

test('gpu.js backend (CPU mode): matmul parity on random 2-d, batched, vector, strided, float32/float64 operands', () => {
  onGpu(() => {
    assert.is(getBackend(), 'gpu');
    fc.assert(fc.property(
      fc.record({ batch: arbBroadcastShapes(2, { maxRank: 1, maxDim: 2 }), m: fc.integer({ min: 0, max: 24 }), k: fc.integer({ min: 0, max: 24 }), n: fc.integer({ min: 0, max: 24 }), batched: fc.boolean() })
        .chain(({ batch, m, k, n, batched }) => fc.tuple(
          arbTensorCase([...(batched ? batch.shapes[0] : []), m, k], { layouts: ['contiguous', 'transposed', 'sliced', 'broadcast'] }),
          arbTensorCase([...(batched ? batch.shapes[1] : []), k, n], { layouts: ['contiguous', 'transposed', 'sliced', 'broadcast'] }),
        )),
      ([a, b]) => checkMatmul(a, b, `gpu: matmul(${a.layout} [${a.shape}] ${a.dtype}, ${b.layout} [${b.shape}] ${b.dtype})`),
    ), { numRuns: 60 });
    // matrix · vector and vector · matrix go through the same kernel
    const W = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32' });
    assert.equal(matmul(W, tensor([1, 0, -1], { dtype: 'float32' })).toArray(), [-2, -2]);
    assert.equal(matmul(tensor([1, 1], { dtype: 'float32' }), W).toArray(), [5, 7, 9]);
  });
  assert.is(getBackend(), 'cpu');
});

test('gpu.js backend (CPU mode): empty results (a broadcast to a 0-length axis) run no kernel', () => {
  // The property above found this: gpu.js refuses a kernel with 0 outputs.
  onGpu(() => {
    const x = F.broadcastTo(tensor([[1, 2, 3]], { dtype: 'float32' }), [0, 3]);
    assert.equal(x.shape, [0, 3]);
    const y = matmul(x, tensor([[1], [2], [3]], { dtype: 'float32' }));
    assert.equal(y.shape, [0, 1]);
    assert.equal(y.toArray(), []);
  });
});

test("gpu.js backend: float64 products keep float64 precision (they are not computed in single precision)", () => {
  onGpu(() => {
    const a = tensor([[1 / 3, 0.1]]), b = tensor([[3], [1e-9]]);
    assert.is(matmul(a, b).item(), (1 / 3) * 3 + 0.1 * 1e-9);
  });
});

test('gpu.js backend: operations it does not implement still run (on the CPU) and agree with the CPU backend', () => {
  const x = tensor(seededValues(24, 5), { shape: [2, 3, 4] });
  const y = tensor(seededValues(4, 6), { shape: [4] });
  const img = tensor(seededValues(2 * 2 * 5 * 5, 7), { shape: [2, 2, 5, 5] });
  const filt = tensor(seededValues(3 * 2 * 3 * 3, 8), { shape: [3, 2, 3, 3] });
  const program = () => [
    F.add(x, y), F.exp(x), F.sum(x, 1), F.softmax(x), F.logsumexp(x, [0, 2]), F.matmul(x, y), F.matmul(F.transpose(x), x),
    F.concat([x, x], 2), F.gather(x, [1, 0], 1), F.conv2d(img, filt, { padding: 1 }), F.maxPool2d(img, 2), F.argmax(x, 2),
  ];
  const cpu = program();
  const gpu = onGpu(program);
  gpu.forEach((g, i) => {
    assert.equal([...g.shape], [...cpu[i].shape], `op ${i}: shape`);
    assertValues(g.data, cpu[i].data, (j) => 1e-6 * (1 + Math.abs(cpu[i].data[j])), `op ${i}`);
  });
});

test("gpu.js backend under 'auto': large float32 products go to the device, results agree", () => {
  setDeviceBackend(gpuBackend({ mode: 'cpu' }));
  setBackend('auto');
  try {
    const m = 256, k = 256, n = 256;
    const A = seededValues(m * k, 11, 'float32'), B = seededValues(k * n, 12, 'float32');
    const e = refGemm(m, n, k, (i, p) => A[i * k + p], (p, j) => B[p * n + j], 'float32');
    const r = matmul(tensor(A, { shape: [m, k] }), tensor(B, { shape: [k, n] }));
    assertValues(r.data, e.c, (i) => e.tol[i], 'auto 256³');
  } finally {
    setBackend('cpu');
    setDeviceBackend(gpuBackend());
  }
});

// ---------------------------------------------------------------- elementwise and reduction variants


const UNARY_REF: [string, (x: number) => number][] = [
  ['neg', (x) => -x], ['exp', Math.exp], ['expm1', Math.expm1], ['log', Math.log], ['log1p', Math.log1p], ['sqrt', Math.sqrt],
  ['abs', Math.abs], ['sign', Math.sign], ['sin', Math.sin], ['cos', Math.cos], ['tan', Math.tan], ['asin', Math.asin],
  ['acos', Math.acos], ['atan', Math.atan], ['sinh', Math.sinh], ['cosh', Math.cosh], ['tanh', Math.tanh],
  ['sigmoid', (x) => 1 / (1 + Math.exp(-x))], ['relu', (x) => (x > 0 ? x : x === x ? 0 : NaN)],
];
const BINARY_REF: [string, (a: number, b: number) => number][] = [
  ['add', (a, b) => a + b], ['sub', (a, b) => a - b], ['mul', (a, b) => a * b], ['div', (a, b) => a / b], ['pow', Math.pow],
  ['maximum', (a, b) => (a !== a || b !== b ? NaN : Math.max(a, b))], ['minimum', (a, b) => (a !== a || b !== b ? NaN : Math.min(a, b))],
  ['atan2', Math.atan2], ['gt', (a, b) => Number(a > b)], ['ge', (a, b) => Number(a >= b)], ['lt', (a, b) => Number(a < b)],
  ['le', (a, b) => Number(a <= b)], ['eq', (a, b) => Number(a === b)], ['ne', (a, b) => Number(a !== b)],
];

/** float32 tolerance: a few float32 ulps of the exact value (at least of the smallest normal). */
const f32Tol = (e: ArrayLike<number>) => (i: number) => 8 * EPS.float32 * Math.max(Math.abs(e[i]), 2 ** -126);

/** Sizes around the kernels' thresholds (64, 256 elements) and their SIMD lane/chunk tails. */
const arbLength = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(63, 64, 65, 255, 256, 257, 1023, 4099), fc.integer({ min: 9, max: 3000 }));

test('elementwise maps and full reductions: parity across their variants (js, wasm, threaded) within float32 tolerance', () => {
  const arb = fc.record({ n: arbLength, dtype: fc.constantFrom<DT>('float32', 'float64'), seed: fc.integer(), special: fc.boolean(), scalar: fc.constantFrom('none', 'left', 'right') });
  const make = (n: number, seed: number, dtype: DT, special: boolean) => {
    const v = seededValues(n, seed, dtype).map((x) => x * 6);
    if (special && n > 0) [NaN, Infinity, -Infinity, -0, 0].forEach((s, i) => { v[(seed >>> 0) % n + i < n ? ((seed >>> 0) % n) + i : i % n] = s; });
    return v;
  };
  try {
    for (const v of vector.vectorVariants()) {
      vector.setElementwiseVariant(v);
      vector.setReduceVariant(v);
      fc.assert(fc.property(arb, ({ n, dtype, seed, special, scalar }) => {
        const xv = make(n, seed, dtype, special), yv = make(n, seed ^ 5, dtype, special).map((y) => (y === 0 ? 0.5 : y));
        const x = tensor(xv), y = tensor(yv);
        for (const [name, ref] of UNARY_REF) {
          const e = Array.from(xv, ref);
          const r = (F as unknown as Record<string, (t: Tensor) => Tensor>)[name](x);
          assert.is(r.dtype, dtype);
          assertValues(r.data, e, f32Tol(e), `${v} ${name} ${dtype} n=${n}`);
        }
        const other = scalar === 'none' ? y : tensor(yv.slice(0, 1).length ? [yv[0]] : [1.5], { dtype });
        const ov = scalar === 'none' ? yv : other.data;
        for (const [name, ref] of BINARY_REF) {
          const [a, b] = scalar === 'left' ? [other, x] : [x, other];
          const e = Array.from(xv, (xx, i) => (scalar === 'left' ? ref(ov[0], xx) : ref(xx, scalar === 'none' ? ov[i] : ov[0])));
          const r = (F as unknown as Record<string, (p: Tensor, q: Tensor) => Tensor>)[name](a, b);
          assertValues(r.data, e, f32Tol(e), `${v} ${name} ${dtype} n=${n} scalar ${scalar}`);
        }
        let s = 0, mag = 0, mx = -Infinity, mn = Infinity, nan = false;
        for (const u of xv) { s += u; mag += Math.abs(u); if (u !== u) nan = true; if (u > mx) mx = u; if (u < mn) mn = u; }
        const sumTol = (n + 2) * EPS.float32 * mag;
        assertValues([F.sum(x).item()], [s], sumTol, `${v} sum n=${n}`);
        if (n > 0) {
          assertValues([F.max(x).item()], [nan ? NaN : mx], 0, `${v} max n=${n}`);
          assertValues([F.min(x).item()], [nan ? NaN : mn], 0, `${v} min n=${n}`);
        }
      }), { numRuns: 40 });
    }
  } finally {
    vector.setElementwiseVariant('auto');
    vector.setReduceVariant('auto');
  }
});

test('elementwise variants on broadcast rows and strided views with long rows, and reductions along axes', () => {
  const arb = fc.record({
    r: fc.integer({ min: 1, max: 4 }), n: arbLength, dtype: fc.constantFrom<DT>('float32', 'float64'), seed: fc.integer(),
    form: fc.constantFrom('row', 'column', 'scalar', 'transposed'),
  });
  try {
    for (const v of vector.vectorVariants()) {
      vector.setElementwiseVariant(v);
      vector.setReduceVariant(v);
      fc.assert(fc.property(arb, ({ r, n, dtype, seed, form }) => {
        const av = seededValues(r * n, seed, dtype), a = tensor(av, { shape: [r, n] });
        // b broadcast against a: a row [n], a column [r, 1], a scalar [1], or a transposed [n, r] view
        const bShape = form === 'row' ? [n] : form === 'column' ? [r, 1] : form === 'scalar' ? [1] : [n, r];
        const bv = seededValues(sizeOf(bShape), seed ^ 3, dtype);
        const b = form === 'transposed' ? F.transpose(tensor(bv, { shape: bShape })) : tensor(bv, { shape: bShape });
        const bAt = (i: number, j: number) => (form === 'row' ? bv[j] : form === 'column' ? bv[i] : form === 'scalar' ? bv[0] : bv[j * r + i]);
        for (const [name, ref] of BINARY_REF) {
          const e: number[] = [];
          for (let i = 0; i < r; i++) for (let j = 0; j < n; j++) e.push(ref(av[i * n + j], bAt(i, j)));
          for (const [p, q, flip] of [[a, b, false], [b, a, true]] as const) {
            const out = (F as unknown as Record<string, (x: Tensor, y: Tensor) => Tensor>)[name](p, q);
            const want = flip ? (() => {
              const f: number[] = [];
              for (let i = 0; i < r; i++) for (let j = 0; j < n; j++) f.push(ref(bAt(i, j), av[i * n + j]));
              return f;
            })() : e;
            assert.equal([...out.shape], [r, n]);
            assertValues(out.data, want, f32Tol(want), `${v} ${name} [${r},${n}] ${form}${flip ? ' (flipped)' : ''} ${dtype}`);
          }
        }
        // reductions along each axis of a and of its transpose
        const rows = Array.from({ length: r }, (_, i) => Array.from(av.subarray(i * n, (i + 1) * n)));
        const rowSums = rows.map((row) => row.reduce((x, y) => x + y, 0));
        const rowMag = rows.map((row) => row.reduce((x, y) => x + Math.abs(y), 0));
        assertValues(F.sum(a, 1).data, rowSums, (i) => (n + 2) * EPS.float32 * rowMag[i], `${v} sum rows`);
        assertValues(F.sum(F.transpose(a), 0).data, rowSums, (i) => (n + 2) * EPS.float32 * rowMag[i], `${v} sum of transposed`);
        if (n > 0) {
          const rowMax = rows.map((row) => Math.max(...row));
          assertValues(F.max(a, 1).data, rowMax, 0, `${v} max rows`);
        }
      }), { numRuns: 30 });
    }
  } finally {
    vector.setElementwiseVariant('auto');
    vector.setReduceVariant('auto');
  }
});

test('a device backend that cannot start: one warning, everything runs on the CPU, nothing crashes', () => {
  const dead: Backend = {
    name: 'gpu',
    available: () => false,
    kernels: { matmul: () => { throw new Error('must not be called'); } },
  };
  const warn = console.warn;
  const messages: string[] = [];
  console.warn = (...a: unknown[]) => { messages.push(a.join(' ')); };
  setDeviceBackend(dead);
  try {
    setBackend('gpu');
    setBackend('auto');
    setBackend('gpu');
    assert.is(messages.length, 1, `warned once: ${messages.join(' | ')}`);
    assert.match(messages[0], /CPU/);
    assert.equal(matmul([[1, 2]], [[3], [4]]).toArray(), [[11]]);
  } finally {
    console.warn = warn;
    setBackend('cpu');
    setDeviceBackend(gpuBackend());
  }
  assert.throws(() => setBackend('tpu' as 'cpu'), /unknown backend/);
});

test.run();
