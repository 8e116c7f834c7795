/**
 * Generates the WebAssembly SIMD module for products with few rows (m ≤ ~8: matrix–vector
 * and small batches), which read B in place instead of packing it:
 *
 * - `dot_<dt>(m, n, kb, a, aRs, b, bCs, c, ldc, beta)`: B column-contiguous (the x·Wᵀ of a
 *   dense layer with W [out, in]): `C[i, j] = Σ_p A[i, p]·B[p, j]` as dot products of the
 *   contiguous row i of A and column j of B, blocks of 2 rows × 4 columns (8 accumulators,
 *   2 + 4 operand vectors), partial blocks of 1 row and 1 column. `kb` is k in bytes, a
 *   multiple of 16: callers zero-pad rows of A and columns of B to it.
 * - `axpy_<dt>(m, nb, k, a, aRs, aCs, b, bRs, c, ldc, beta)`: B row-contiguous (dy·W):
 *   each row of C accumulates `A[i, p]·B[p, :]`, blocks of 2 rows × 4 vectors of columns,
 *   partial blocks of 1 row and 1 vector. `nb` is n in bytes, a multiple of 16: callers pad
 *   B's rows (and C's) to it.
 *
 * All addresses and strides are in bytes; `beta` bit 0 set adds into C, clear overwrites; in
 * the dot form bit 1 applies relu to each result (`v < 0 ? 0 : v`, after the add). Sums are
 * taken in the element type, in lane order then pairwise across lanes (so results differ
 * from the JavaScript loops by rounding only).
 *
 * @module
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './assembler.js';
import { forLoop } from './gemm-kernel.js';

const { i32, v128 } = ValType;

/** Per-dtype instructions. */
interface Flavor {
  e: number;
  lanes: number;
  sfx: string;
  vt: ValType;
  vadd(f: FunctionBuilder): FunctionBuilder;
  vmul(f: FunctionBuilder): FunctionBuilder;
  splatLoad(f: FunctionBuilder): FunctionBuilder;
  /** Horizontal sum of the vector on the stack to a scalar. */
  hsum(f: FunctionBuilder, tmp: number): FunctionBuilder;
  load(f: FunctionBuilder): FunctionBuilder;
  store(f: FunctionBuilder): FunctionBuilder;
  add(f: FunctionBuilder): FunctionBuilder;
  /** Push the scalar zero. */
  zero(f: FunctionBuilder): FunctionBuilder;
  lt(f: FunctionBuilder): FunctionBuilder;
}

const F32: Flavor = {
  e: 4, lanes: 4, sfx: 'f32', vt: ValType.f32,
  vadd: (f) => f.f32x4Add(), vmul: (f) => f.f32x4Mul(), splatLoad: (f) => f.v128Load32Splat(),
  hsum: (f, t) => f.tee(t).f32x4ExtractLane(0).get(t).f32x4ExtractLane(1).f32Add()
    .get(t).f32x4ExtractLane(2).get(t).f32x4ExtractLane(3).f32Add().f32Add(),
  load: (f) => f.f32Load(), store: (f) => f.f32Store(), add: (f) => f.f32Add(),
  zero: (f) => f.f32(0), lt: (f) => f.f32Lt(),
};

const F64: Flavor = {
  e: 8, lanes: 2, sfx: 'f64', vt: ValType.f64,
  vadd: (f) => f.f64x2Add(), vmul: (f) => f.f64x2Mul(), splatLoad: (f) => f.v128Load64Splat(),
  hsum: (f, t) => f.tee(t).f64x2ExtractLane(0).get(t).f64x2ExtractLane(1).f64Add(),
  load: (f) => f.f64Load(), store: (f) => f.f64Store(), add: (f) => f.f64Add(),
  zero: (f) => f.f64(0), lt: (f) => f.f64Lt(),
};

/**
 * One block of the dot form: R rows × C columns of C, full k. Params: a, aRs, b, bCs, c,
 * ldc, kb, beta.
 */
function dotBlock(fl: Flavor, rows: number, cols: number): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32, i32, i32], []);
  const [A, ARS, B, BCS, C, LDC, KB, BETA] = [0, 1, 2, 3, 4, 5, 6, 7] as const;
  const acc = Array.from({ length: rows * cols }, () => f.local(v128));
  const av = Array.from({ length: rows }, () => f.local(v128));
  const bv = Array.from({ length: cols }, () => f.local(v128));
  const p = f.local(i32), t = f.local(v128), s = f.local(fl.vt);
  const aRow = Array.from({ length: rows }, () => f.local(i32));
  const bCol = Array.from({ length: cols }, () => f.local(i32));
  for (const x of acc) f.v128Zero().set(x);
  for (let r = 0; r < rows; r++) f.get(A).get(ARS).i32(r).i32Mul().i32Add().set(aRow[r]!);
  for (let q = 0; q < cols; q++) f.get(B).get(BCS).i32(q).i32Mul().i32Add().set(bCol[q]!);
  const step = (off: number): void => {
    for (let r = 0; r < rows; r++) f.get(aRow[r]!).get(p).i32Add().v128Load(off).set(av[r]!);
    for (let q = 0; q < cols; q++) f.get(bCol[q]!).get(p).i32Add().v128Load(off).set(bv[q]!);
    for (let r = 0; r < rows; r++) {
      for (let q = 0; q < cols; q++) {
        const x = acc[r * cols + q]!;
        f.get(x);
        fl.vmul(f.get(av[r]!).get(bv[q]!));
        fl.vadd(f).set(x);
      }
    }
  };
  // one row: two vectors along k per trip (fewer address and loop instructions per multiply-add:
  // 784→128 at batch 1 9.8 → 8.9 µs); with two rows the extra registers cost more than that
  const U = rows === 1 ? 2 : 1;
  if (U > 1) {
    forLoop(f, p, () => f.i32(0), () => f.get(KB).i32(16 * (U - 1)).i32Sub(), 16 * U, () => {
      for (let u = 0; u < U; u++) step(16 * u);
    });
  }
  forLoop(f, p, () => (U > 1 ? f.get(p) : f.i32(0)), () => f.get(KB), 16, () => step(0));
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const at = (): void => void f.get(C).get(LDC).i32(r).i32Mul().i32Add().i32(q * fl.e).i32Add();
      at();
      fl.hsum(f.get(acc[r * cols + q]!), t).set(s);
      f.get(BETA).i32(1).i32And().if();
      at();
      fl.load(f);
      f.get(s);
      fl.add(f).set(s);
      f.end();
      f.get(BETA).i32(2).i32And().if();
      fl.zero(f).get(s); // relu as the relu kernel: v < 0 ? 0 : v (NaN and −0 pass)
      fl.lt(fl.zero(f.get(s))).select().set(s);
      f.end();
      f.get(s);
      fl.store(f);
    }
  }
  return f;
}

/**
 * One block of the axpy form: R rows × V vectors of C's columns. Params: a, aRs, aCs, b,
 * bRs, c, ldc, k, beta.
 */
function axpyBlock(fl: Flavor, rows: number, vecs: number): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32, i32, i32, i32], []);
  const [A, ARS, ACS, B, BRS, C, LDC, K, BETA] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const acc = Array.from({ length: rows * vecs }, () => f.local(v128));
  const av = Array.from({ length: rows }, () => f.local(v128));
  const bv = Array.from({ length: vecs }, () => f.local(v128));
  const p = f.local(i32), ap = f.local(i32), bp = f.local(i32), crow = f.local(i32);
  for (const x of acc) f.v128Zero().set(x);
  f.get(A).set(ap).get(B).set(bp);
  forLoop(f, p, () => f.i32(0), () => f.get(K), 1, () => {
    for (let r = 0; r < rows; r++) {
      if (r === 0) f.get(ap);
      else f.get(ap).get(ARS).i32Add();
      fl.splatLoad(f).set(av[r]!);
    }
    for (let v = 0; v < vecs; v++) f.get(bp).v128Load(v * 16).set(bv[v]!);
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vecs; v++) {
        const x = acc[r * vecs + v]!;
        f.get(x);
        fl.vmul(f.get(av[r]!).get(bv[v]!));
        fl.vadd(f).set(x);
      }
    }
    f.incBy(ap, ACS).incBy(bp, BRS);
  });
  f.get(C).set(crow);
  for (let r = 0; r < rows; r++) {
    f.get(BETA).if();
    for (let v = 0; v < vecs; v++) {
      const x = acc[r * vecs + v]!;
      fl.vadd(f.get(x).get(crow).v128Load(v * 16)).set(x);
    }
    f.end();
    for (let v = 0; v < vecs; v++) f.get(crow).get(acc[r * vecs + v]!).v128Store(v * 16);
    if (r < rows - 1) f.incBy(crow, LDC);
  }
  return f;
}

/**
 * A driver over row pairs (then the odd row) and column blocks of `wide` units (then single
 * units), calling `blocks[rows − 1][wide ? 0 : 1]`. Column unit j sits at `b + j·bStep` in B
 * and `c + j·cUnit` in C.
 */
function blockDriver(
  nParams: number, L: { m: number; n: number; a: number; aRs: number; b: number; c: number; ldc: number },
  bStep: (f: FunctionBuilder) => void, cUnit: number, blocks: number[][], wide: number,
  pass: (f: FunctionBuilder, a: number, b: number, c: number) => void,
): FunctionBuilder {
  const f = new FunctionBuilder(Array<ValType>(nParams).fill(i32), []);
  const i = f.local(i32), j = f.local(i32), a = f.local(i32), b = f.local(i32), c = f.local(i32);
  forLoop(f, i, () => f.i32(0), () => f.get(L.m), 0, () => {
    f.get(L.a).get(L.aRs).get(i).i32Mul().i32Add().set(a);
    const columns = (rows: 1 | 2): void => {
      forLoop(f, j, () => f.i32(0), () => f.get(L.n), 0, () => {
        f.get(L.b);
        bStep(f);
        f.get(j).i32Mul().i32Add().set(b);
        f.get(L.c).get(L.ldc).get(i).i32Mul().i32Add().get(j).i32(cUnit).i32Mul().i32Add().set(c);
        f.get(L.n).get(j).i32Sub().i32(wide).i32GeS().if();
        pass(f, a, b, c);
        f.call(blocks[rows - 1]![0]!).inc(j, wide);
        f.else();
        pass(f, a, b, c);
        f.call(blocks[rows - 1]![1]!).inc(j, 1);
        f.end();
      });
      f.inc(i, rows);
    };
    f.get(L.m).get(i).i32Sub().i32(2).i32GeS().if();
    columns(2);
    f.else();
    columns(1);
    f.end();
  });
  return f;
}

/** Build the module bytes for both dtypes. The memory is imported as `env.memory`. */
export function buildGemvModule(memory: { shared: boolean; maxPages: number }): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: memory.maxPages, shared: memory.shared });
  for (const fl of [F32, F64]) {
    const dots = [[dotBlock(fl, 1, 4), dotBlock(fl, 1, 1)], [dotBlock(fl, 2, 4), dotBlock(fl, 2, 1)]]
      .map((row) => row.map((fb) => mod.addFunction(fb)));
    // dot_(m, n, kb, a, aRs, b, bCs, c, ldc, beta): column units of one element
    {
      const [M, N, KB, A, ARS, B, BCS, C, LDC, BETA] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
      mod.addFunction(blockDriver(10, { m: M, n: N, a: A, aRs: ARS, b: B, c: C, ldc: LDC }, (f) => void f.get(BCS), fl.e, dots, 4,
        (f, a, b, c) => void f.get(a).get(ARS).get(b).get(BCS).get(c).get(LDC).get(KB).get(BETA)), `dot_${fl.sfx}`);
    }
    const axpys = [[axpyBlock(fl, 1, 4), axpyBlock(fl, 1, 1)], [axpyBlock(fl, 2, 4), axpyBlock(fl, 2, 1)]]
      .map((row) => row.map((fb) => mod.addFunction(fb)));
    // axpy_(m, nv, k, a, aRs, aCs, b, bRs, c, ldc, beta): column units of one vector (16 bytes)
    {
      const [M, NV, K, A, ARS, ACS, B, BRS, C, LDC, BETA] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
      mod.addFunction(blockDriver(11, { m: M, n: NV, a: A, aRs: ARS, b: B, c: C, ldc: LDC }, (f) => void f.i32(16), 16, axpys, 4,
        (f, a, b, c) => void f.get(a).get(ARS).get(ACS).get(b).get(BRS).get(c).get(LDC).get(K).get(BETA)), `axpy_${fl.sfx}`);
    }
  }
  return mod.toBytes();
}
