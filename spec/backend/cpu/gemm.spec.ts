/**
 * Parity of the few-rows gemm kernels (src/backend/cpu/gemv.ts: dot form for column-contiguous
 * B, axpy form for row-contiguous B) against an independent float64 loop with a rounding
 * bound, against the JavaScript variant and against the packed wasm driver (reached with
 * `gemmTuning.fewRowsMax = 0`), over random m ≤ 10 (crossing the threshold), n and k across
 * the vector-lane and 4-column block edges, every layout (row, column, reversed, gapped),
 * offsets, padded C rows, accumulate, float32 and float64, and ±∞/NaN operands.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import '../../../src/index.js';
import { gemm, gemmTuning, gemmVariants, setGemmVariant } from '../../../src/backend/cpu/gemm.js';

type DT = 'float32' | 'float64';
const EPS = { float32: 2 ** -23, float64: 2 ** -52 } as const;
const HAS_WASM = gemmVariants().includes('wasm');

/** Deterministic values in [−1, 1) from a seed (a 32-bit LCG), optionally with specials planted. */
function values(len: number, seed: number, dtype: DT, specials: number[]): Float32Array | Float64Array {
  const out = dtype === 'float32' ? new Float32Array(len) : new Float64Array(len);
  let s = seed >>> 0;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  for (let q = 0; q < specials.length; q++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[s % len] = specials[q]!;
  }
  return out;
}

/** Strides and base of an r×c matrix laid out by `order` from `off`, with row/column gap `gap`. */
function place(order: string, r: number, c: number, off: number, gap: number): { base: number; rs: number; cs: number; len: number } {
  const ld = c + gap, ldc = r + gap;
  switch (order) {
    case 'row': return { base: off, rs: ld, cs: 1, len: off + r * ld };
    case 'col': return { base: off, rs: 1, cs: ldc, len: off + c * ldc };
    case 'rowRev': return { base: off + (r - 1) * ld, rs: -ld, cs: 1, len: off + r * ld };
    case 'colRev': return { base: off + (c - 1) * ldc, rs: 1, cs: -ldc, len: off + c * ldc };
    default: return { base: off, rs: 2 * c, cs: 2, len: off + 2 * r * c }; // both strides > 1
  }
}

const ORDERS = ['row', 'col', 'rowRev', 'colRev', 'sparse'] as const;

const arbCase = fc.record({
  m: fc.integer({ min: 1, max: 10 }),
  n: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 70 })),
  k: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 300 })),
  dtype: fc.constantFrom<DT>('float32', 'float64'),
  aOrder: fc.constantFrom(...ORDERS), bOrder: fc.constantFrom(...ORDERS),
  gap: fc.nat({ max: 3 }), off: fc.nat({ max: 5 }), cPad: fc.nat({ max: 3 }), accumulate: fc.boolean(),
  specials: fc.array(fc.constantFrom(Infinity, -Infinity, NaN, 0, -0, 1e15), { maxLength: 3 }),
  seed: fc.integer(),
});

type Case = typeof arbCase extends fc.Arbitrary<infer T> ? T : never;

/** Runs the case with the current variant; returns C (whole array, padding and outside included) and its start. */
function run(p: Case, fewRowsMax: number) {
  const { m, n, k, dtype, gap, off, cPad, accumulate } = p;
  const la = place(p.aOrder, m, k, off, gap), lb = place(p.bOrder, k, n, off, gap);
  const A = values(la.len + 2, p.seed, dtype, p.specials), B = values(lb.len + 2, p.seed ^ 0x5bd1e995, dtype, p.specials);
  const cRs = n + cPad;
  const C = values(off + m * cRs + 3, p.seed ^ 7, dtype, []);
  const C0 = C.slice();
  const saved = gemmTuning.fewRowsMax;
  gemmTuning.fewRowsMax = fewRowsMax;
  try {
    gemm(m, n, k, A, la.base, la.rs, la.cs, B, lb.base, lb.rs, lb.cs, C, off, cRs, accumulate);
  } finally {
    gemmTuning.fewRowsMax = saved;
  }
  return { A, B, C, C0, la, lb, cRs };
}

/** Same special class: NaN, +∞, −∞ or finite. */
const cls = (x: number): string => (Number.isNaN(x) ? 'nan' : x === Infinity ? '+inf' : x === -Infinity ? '-inf' : 'finite');

test('few-rows gemm: against a float64 loop (rounding bound), the JS variant and the packed driver, every layout, specials', () => {
  if (!HAS_WASM) {
    assert.unreachable('WebAssembly SIMD is expected in this runtime (Node 20)');
    return;
  }
  fc.assert(fc.property(arbCase, (p) => {
    const { m, n, k, dtype, off, accumulate } = p;
    setGemmVariant('wasm');
    let few, packed, js;
    try {
      few = run(p, 8);
      packed = run(p, 0);
      setGemmVariant('js');
      js = run(p, 8);
    } finally {
      setGemmVariant('auto');
    }
    const { A, B, C, C0, la, lb, cRs } = few;
    for (let i = 0; i < C.length; i++) {
      const rel = i - off, row = Math.floor(rel / cRs), col = rel % cRs;
      if (!(rel >= 0 && row < m && col < n)) {
        if (!Object.is(C[i], C0[i])) assert.unreachable(`wrote outside C at ${i} (${JSON.stringify(p)})`);
        continue;
      }
      let s = accumulate ? C0[i]! : 0, mag = Math.abs(s);
      for (let q = 0; q < k; q++) {
        const t = A[la.base + row * la.rs + q * la.cs]! * B[lb.base + q * lb.rs + col * lb.cs]!;
        s += t;
        mag += Math.abs(t);
      }
      const got = C[i]!;
      const where = `C[${row},${col}] ${JSON.stringify(p)}`;
      // the class of a sum of products does not depend on the order of summation (no finite overflow here)
      if (cls(s) !== 'finite' || cls(got) !== 'finite') assert.is(cls(got), cls(s), `special class ${where}`);
      else if (!(Math.abs(got - s) <= 2 * (k + 2) * EPS[dtype] * mag + 1e-300)) assert.unreachable(`${got} vs ${s} ± ${mag} at ${where}`);
      for (const [name, other] of [['packed wasm', packed.C], ['js', js.C]] as const) {
        const o = other[i]!;
        if (cls(o) !== cls(got) || (cls(o) === 'finite' && !(Math.abs(o - got) <= 4 * (k + 2) * EPS[dtype] * mag + 1e-300))) {
          assert.unreachable(`few-rows ${got} vs ${name} ${o} at ${where}`);
        }
      }
    }
  }), { numRuns: 400 });
});

test('few-rows gemm: the dense-layer shapes (x·Wᵀ, x·W) equal the packed driver within rounding, float32 and float64', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [m, n, k] of [[1, 128, 784], [4, 64, 128], [8, 10, 64], [1, 1, 1], [2, 3, 5]] as const) {
      for (const bT of [true, false]) {
        const a = values(m * k, m + k, dtype, []), w = values(n * k, n + k, dtype, []);
        const [bRs, bCs] = bT ? [1, k] : [n, 1];
        const c1 = dtype === 'float32' ? new Float32Array(m * n) : new Float64Array(m * n), c2 = c1.slice();
        setGemmVariant('wasm');
        try {
          gemm(m, n, k, a, 0, k, 1, w, 0, bRs, bCs, c1, 0, n);
          gemmTuning.fewRowsMax = 0;
          gemm(m, n, k, a, 0, k, 1, w, 0, bRs, bCs, c2, 0, n);
        } finally {
          gemmTuning.fewRowsMax = 8;
          setGemmVariant('auto');
        }
        for (let i = 0; i < m * n; i++) {
          if (!(Math.abs(c1[i]! - c2[i]!) <= 2 * k * EPS[dtype] * k)) assert.unreachable(`${dtype} ${m}×${n}×${k} bT=${bT}: ${c1[i]} vs ${c2[i]} at ${i}`);
        }
      }
    }
  }
});

test.run();
