/**
 * The packing and edge routines of the WebAssembly matrix multiply (./gemm-kernel.ts), and the
 * pieces its generators share: the kernel configuration, per-dtype instruction choices and
 * the loop helper. Packing copies blocks of A and B (any element strides) into the
 * zero-padded panel layout the micro-kernel streams; the edge store writes partial tiles.
 *
 * @module
 */
import { FunctionBuilder, ValType } from './assembler.js';

const { i32, v128 } = ValType;

/** Shape parameters of one generated module. */
export interface GemmKernelConfig {
  dtype: 'float32' | 'float64';
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile; a multiple of the vector width (4 for f32, 2 for f64). */
  nr: number;
  /** k-loop unroll of the micro-kernel; packed panels are padded to a multiple of it. */
  unroll: number;
}

/** Per-dtype instruction choices. */
export interface Flavor {
  e: number;
  vt: ValType;
  lanes: number;
  load(f: FunctionBuilder, off?: number): FunctionBuilder;
  store(f: FunctionBuilder, off?: number): FunctionBuilder;
  splatLoad(f: FunctionBuilder, off?: number): FunctionBuilder;
  vadd(f: FunctionBuilder): FunctionBuilder;
  vmul(f: FunctionBuilder): FunctionBuilder;
  zero(f: FunctionBuilder): FunctionBuilder;
  add(f: FunctionBuilder): FunctionBuilder;
}

export function flavor(dtype: 'float32' | 'float64'): Flavor {
  return dtype === 'float32'
    ? {
        e: 4, lanes: 4, vt: ValType.f32,
        load: (f, o = 0) => f.f32Load(o), store: (f, o = 0) => f.f32Store(o),
        splatLoad: (f, o = 0) => f.v128Load32Splat(o),
        vadd: (f) => f.f32x4Add(), vmul: (f) => f.f32x4Mul(), zero: (f) => f.f32(0), add: (f) => f.f32Add(),
      }
    : {
        e: 8, lanes: 2, vt: ValType.f64,
        load: (f, o = 0) => f.f64Load(o), store: (f, o = 0) => f.f64Store(o),
        splatLoad: (f, o = 0) => f.v128Load64Splat(o),
        vadd: (f) => f.f64x2Add(), vmul: (f) => f.f64x2Mul(), zero: (f) => f.f64(0), add: (f) => f.f64Add(),
      };
}

/** Pushes one i32 value. */
export type Push = () => unknown;

/** `for (i = from; i < limit; i += step) body()` over an i32 local, signed compare (shared by the kernel generators). */
export function forLoop(f: FunctionBuilder, i: number, from: Push, limit: Push, step: number, body: () => void): void {
  from();
  f.set(i).block().loop();
  f.get(i);
  limit();
  f.i32GeS().brIf(1);
  body();
  if (step !== 0) f.inc(i, step); // step 0: the body advances i itself
  f.br(0).end().end();
}

/** Push min(x, y) of two pushed i32 values (evaluates each once via select). */
export function minI32(f: FunctionBuilder, x: number, y: number): FunctionBuilder {
  return f.get(x).get(y).get(x).get(y).i32LtS().select();
}

/**
 * Pack an mc×kc block of A (byte strides rs, cs) into MR-tall panels: panel q holds
 * rows q·MR.. as kcp groups of MR contiguous elements, zero-padded in both directions.
 * Params: dst, src, rs, cs, mc, kc, kcp.
 */
export function packA(cfg: GemmKernelConfig, fl: Flavor): FunctionBuilder {
  const { mr } = cfg;
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32, i32], []);
  const [DST, SRC, RS, CS, MC, KC, KCP] = [0, 1, 2, 3, 4, 5, 6] as const;
  const ir = f.local(i32), p = f.local(i32), s = f.local(i32);
  const rows = f.local(i32), rowBase = f.local(i32);

  forLoop(f, ir, () => f.i32(0), () => f.get(MC), mr, () => {
    f.get(MC).get(ir).i32Sub().set(rows);
    f.get(SRC).get(ir).get(RS).i32Mul().i32Add().set(rowBase);
    f.get(rows).i32(mr).i32GeS().if();
    // Full panel: MR strided loads per k step, unrolled.
    forLoop(f, p, () => f.i32(0), () => f.get(KC), 1, () => {
      f.get(rowBase).get(p).get(CS).i32Mul().i32Add().set(s);
      for (let q = 0; q < mr; q++) {
        f.get(DST);
        fl.load(f.get(s));
        fl.store(f, q * fl.e);
        if (q < mr - 1) f.incBy(s, RS);
      }
      f.inc(DST, mr * fl.e);
    });
    f.else();
    // Edge panel: copy the rows that exist, zero the rest.
    forLoop(f, p, () => f.i32(0), () => f.get(KC), 1, () => {
      f.get(rowBase).get(p).get(CS).i32Mul().i32Add().set(s);
      for (let q = 0; q < mr; q++) {
        f.get(DST);
        f.i32(q).get(rows).i32LtS().if(fl.vt);
        fl.load(f.get(s));
        f.else();
        fl.zero(f);
        f.end();
        fl.store(f, q * fl.e);
        if (q < mr - 1) f.incBy(s, RS);
      }
      f.inc(DST, mr * fl.e);
    });
    f.end();
    // k padding.
    forLoop(f, p, () => f.get(KC), () => f.get(KCP), 1, () => {
      for (let q = 0; q < mr; q++) fl.store(fl.zero(f.get(DST)), q * fl.e);
      f.inc(DST, mr * fl.e);
    });
  });
  return f;
}

/**
 * Pack a kc×nc block of B (byte strides rs, cs) into NR-wide panels: panel q holds
 * columns q·NR.. as kcp rows of NR contiguous elements, zero-padded in both directions.
 * Params: dst, src, rs, cs, kc, kcp, nc.
 */
export function packB(cfg: GemmKernelConfig, fl: Flavor): FunctionBuilder {
  const { nr } = cfg;
  const vecs = nr / fl.lanes;
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32, i32], []);
  const [DST, SRC, RS, CS, KC, KCP, NC] = [0, 1, 2, 3, 4, 5, 6] as const;
  const jr = f.local(i32), p = f.local(i32), s = f.local(i32), cols = f.local(i32), colBase = f.local(i32);

  const colv = Array.from({ length: fl.lanes }, () => f.local(v128));
  const tv = Array.from({ length: fl.lanes }, () => f.local(v128));
  forLoop(f, jr, () => f.i32(0), () => f.get(NC), nr, () => {
    f.get(NC).get(jr).i32Sub().set(cols);
    f.get(SRC).get(jr).get(CS).i32Mul().i32Add().set(colBase);
    f.get(cols).i32(nr).i32GeS().get(RS).i32(fl.e).i32Eq().i32And().if();
    // Full panel of a column-contiguous B (x·Wᵀ): per `lanes` k steps, one vector load down
    // each column, transposed in registers into `lanes` rows of the panel. With the scalar
    // gather a transposed B cost 8% more (128×128×784 f32: 1097 vs 1017 µs for a row-major
    // B, same run); with the transposes they match (878 vs 880 µs; 128×784×128: 863 vs 863).
    // A transposed A already cost nothing extra (packA gathers MR rows per k step anyway).
    f.i32(0).set(p);
    f.block().loop();
    f.get(p).i32(fl.lanes).i32Add().get(KC).i32GtS().brIf(1);
    for (let g = 0; g < nr / fl.lanes; g++) {
      for (let q = 0; q < fl.lanes; q++) {
        f.get(colBase).get(p).i32(fl.e).i32Mul().i32Add();
        f.get(CS).i32(g * fl.lanes + q).i32Mul().i32Add().v128Load().set(colv[q]!);
      }
      transposeStore(f, fl, colv, tv, (r) => f.get(DST).i32((r * nr + g * fl.lanes) * fl.e).i32Add());
    }
    f.inc(DST, fl.lanes * nr * fl.e).inc(p, fl.lanes);
    f.br(0).end().end();
    // the last k steps (fewer than a vector): scalar gather of the whole row
    forLoop(f, p, () => f.get(p), () => f.get(KC), 1, () => {
      f.get(colBase).get(p).get(RS).i32Mul().i32Add().set(s);
      for (let q = 0; q < nr; q++) {
        f.get(DST);
        fl.load(f.get(s));
        fl.store(f, q * fl.e);
        if (q < nr - 1) f.incBy(s, CS);
      }
      f.inc(DST, nr * fl.e);
    });
    f.else();
    f.get(cols).i32(nr).i32GeS().get(CS).i32(fl.e).i32Eq().i32And().if();
    // Full panel of a row-contiguous B: straight vector copies.
    forLoop(f, p, () => f.i32(0), () => f.get(KC), 1, () => {
      f.get(colBase).get(p).get(RS).i32Mul().i32Add().set(s);
      for (let v = 0; v < vecs; v++) f.get(DST).get(s).v128Load(v * 16).v128Store(v * 16);
      f.inc(DST, nr * fl.e);
    });
    f.else();
    // Strided or edge panel: scalar gather with zero fill.
    forLoop(f, p, () => f.i32(0), () => f.get(KC), 1, () => {
      f.get(colBase).get(p).get(RS).i32Mul().i32Add().set(s);
      for (let q = 0; q < nr; q++) {
        f.get(DST);
        f.i32(q).get(cols).i32LtS().if(fl.vt);
        fl.load(f.get(s));
        f.else();
        fl.zero(f);
        f.end();
        fl.store(f, q * fl.e);
        if (q < nr - 1) f.incBy(s, CS);
      }
      f.inc(DST, nr * fl.e);
    });
    f.end();
    f.end();
    forLoop(f, p, () => f.get(KC), () => f.get(KCP), 1, () => {
      for (let v = 0; v < vecs; v++) f.get(DST).v128Zero().v128Store(v * 16);
      f.inc(DST, nr * fl.e);
    });
  });
  return f;
}

/** Byte lanes of an `i8x16.shuffle` picking element lanes `idx` (of width `e` bytes) from two vectors. */
const byteLanes = (idx: number[], e: number): number[] => idx.flatMap((l) => Array.from({ length: e }, (_, b) => l * e + b));

/**
 * Transpose the lanes×lanes block held in `cols` (vector q = column q, lane r = row r) and
 * store row r at the address `rowAddr(r)` pushes. `tmp`: lanes scratch locals.
 */
function transposeStore(f: FunctionBuilder, fl: Flavor, cols: number[], tmp: number[], rowAddr: (r: number) => void): void {
  const sh = (x: number, y: number, idx: number[]): FunctionBuilder => f.get(x).get(y).shuffle(byteLanes(idx, fl.e));
  if (fl.lanes === 2) {
    rowAddr(0);
    sh(cols[0]!, cols[1]!, [0, 2]).v128Store();
    rowAddr(1);
    sh(cols[0]!, cols[1]!, [1, 3]).v128Store();
    return;
  }
  const [c0, c1, c2, c3] = cols as [number, number, number, number];
  const [t0, t1, t2, t3] = tmp as [number, number, number, number];
  sh(c0, c1, [0, 4, 1, 5]).set(t0);
  sh(c2, c3, [0, 4, 1, 5]).set(t1);
  sh(c0, c1, [2, 6, 3, 7]).set(t2);
  sh(c2, c3, [2, 6, 3, 7]).set(t3);
  rowAddr(0);
  sh(t0, t1, [0, 1, 4, 5]).v128Store();
  rowAddr(1);
  sh(t0, t1, [2, 3, 6, 7]).v128Store();
  rowAddr(2);
  sh(t2, t3, [0, 1, 4, 5]).v128Store();
  rowAddr(3);
  sh(t2, t3, [2, 3, 6, 7]).v128Store();
}

/**
 * Copy (beta = 0) or add (beta = 1) the top-left rows×cols of a dense MR×NR tile into C.
 * Params: tile, c, ldc, rows, cols, beta.
 */
export function edgeStore(cfg: GemmKernelConfig, fl: Flavor): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32], []);
  const [TILE, C, LDC, ROWS, COLS, BETA] = [0, 1, 2, 3, 4, 5] as const;
  const r = f.local(i32), j = f.local(i32), src = f.local(i32), dst = f.local(i32);
  forLoop(f, r, () => f.i32(0), () => f.get(ROWS), 1, () => {
    f.get(TILE).get(r).i32(cfg.nr * fl.e).i32Mul().i32Add().set(src);
    f.get(C).get(r).get(LDC).i32Mul().i32Add().set(dst);
    forLoop(f, j, () => f.i32(0), () => f.get(COLS), 1, () => {
      f.get(dst);
      fl.load(f.get(src));
      f.get(BETA).if(fl.vt);
      fl.load(f.get(dst));
      f.else();
      fl.zero(f);
      f.end();
      fl.add(f);
      fl.store(f);
      f.inc(src, fl.e).inc(dst, fl.e);
    });
  });
  return f;
}
