/**
 * Generates the WebAssembly SIMD module for max pooling (float32 with f32x4, float64 with
 * f64x2). Lanes are adjacent output columns of one output row; every window handled here
 * lies wholly inside the input (the caller does the border windows, whose taps reach into
 * the padding, and the columns left over after whole vectors).
 *
 * Exports (addresses in bytes, everything else in elements):
 * - `max_<dt>_<s>(x, out, arg, steps, planes, hw, ohw, w, ow, oy0, oy1, ox0, nvec, sh, kh, kw, dh, dw, sw, off)`:
 *   for each plane, output rows oy0..oy1 and columns ox0 .. ox0 + nvec·lanes, the window
 *   maximum into `out` and, when `arg` ≠ 0, the flat index of the chosen input element into
 *   the i32 array at `arg`; `off` = −(ph·w + pw) shifts window origins by the padding. `<s>` is the column stride class: `s1` (contiguous taps), `s2`
 *   (two loads and an even-lane shuffle), `sn` (lane by lane). `steps` holds the lane
 *   offsets `[0, sw, 2sw, 3sw]` as i32x4 (float32) or `[0, sw]` as i64x2 (float64).
 *   Selection is the JavaScript loop's, lane by lane: taps in row-major order, a tap
 *   replaces the current choice when it is strictly greater, or when it is NaN and the
 *   choice is not (so ties keep the first maximum and the first NaN wins).
 * - `avg_<dt>_<s>…(same parameters; arg and steps unused)`: window means, summed in float64
 *   in scan order and divided by kh·kw (all taps are in bounds here), like the JS loop.
 * - `scatter_<dt>(dy, arg, dx, count)`: `dx[arg[i]] += dy[i]` for `arg[i] ≥ 0`, in order.
 * - `gather_<dt>(v, arg, out, count)`: `out[i] = arg[i] ≥ 0 ? v[arg[i]] : 0`.
 * - `maxv_f32_2x2s2(…) → count`: values only of 2×2 windows at stride 2 (see `maxValues2x2`).
 *
 * @module
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './assembler.js';
import { forLoop } from './gemm-kernel.js';

const { i32, v128 } = ValType;

/** Column-stride classes with their own tap loader. */
export const STRIDE_CLASSES = ['s1', 's2', 'sn'] as const;
export type StrideClass = (typeof STRIDE_CLASSES)[number];

interface Flavor {
  e: number;
  shift: number;
  lanes: number;
  sfx: 'f32' | 'f64';
  vt: ValType;
  gt(f: FunctionBuilder): FunctionBuilder;
  ne(f: FunctionBuilder): FunctionBuilder;
  /** Splat the i32 on the stack to this flavor's index vector (i32x4 or i64x2). */
  splatIndex(f: FunctionBuilder): FunctionBuilder;
  addIndex(f: FunctionBuilder): FunctionBuilder;
  /** Store the index vector in local `vec` as `lanes` i32 values at the address on the stack. */
  storeIndex(f: FunctionBuilder, vec: number): FunctionBuilder;
  load(f: FunctionBuilder): FunctionBuilder;
  store(f: FunctionBuilder): FunctionBuilder;
  add(f: FunctionBuilder): FunctionBuilder;
  zero(f: FunctionBuilder): FunctionBuilder;
  splat(f: FunctionBuilder): FunctionBuilder;
  replace(f: FunctionBuilder, lane: number): FunctionBuilder;
  /** Byte pattern picking the even lanes of two vectors. */
  even: number[];
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

const F32: Flavor = {
  e: 4, shift: 2, lanes: 4, sfx: 'f32', vt: ValType.f32,
  gt: (f) => f.f32x4Gt(), ne: (f) => f.f32x4Ne(),
  splatIndex: (f) => f.i32x4Splat(), addIndex: (f) => f.i32x4Add(), storeIndex: (f, vec) => f.get(vec).v128Store(),
  load: (f) => f.f32Load(), store: (f) => f.f32Store(), add: (f) => f.f32Add(), zero: (f) => f.f32(0),
  splat: (f) => f.f32x4Splat(), replace: (f, l) => f.f32x4ReplaceLane(l),
  even: [...range(0, 4), ...range(8, 12), ...range(16, 20), ...range(24, 28)],
};

const F64: Flavor = {
  e: 8, shift: 3, lanes: 2, sfx: 'f64', vt: ValType.f64,
  gt: (f) => f.f64x2Gt(), ne: (f) => f.f64x2Ne(),
  splatIndex: (f) => f.i32x4Splat().i64x2ExtendLowI32x4S(), addIndex: (f) => f.i64x2Add(),
  // low halves of the two i64 lanes, stored as two i32
  storeIndex: (f, vec) => f.get(vec).get(vec).shuffle([...range(0, 4), ...range(8, 12), ...range(0, 8)]).v128Store64Lane(0),
  load: (f) => f.f64Load(), store: (f) => f.f64Store(), add: (f) => f.f64Add(), zero: (f) => f.f64(0),
  splat: (f) => f.f64x2Splat(), replace: (f, l) => f.f64x2ReplaceLane(l),
  even: [...range(0, 8), ...range(16, 24)],
};

const MAX_PARAMS = 20;

/** Square windows with unrolled kernels `max_<dt>_<s>_<k>x<k>` (same parameters; KH, KW ignored). */
export const FIXED_WINDOWS = [2, 3] as const;

/**
 * The max (or, with mode 'avg', mean) kernel for one dtype and stride class; `taps` [kh, kw] fixes the window at
 * generation time (tap loops unrolled, offsets hoisted into locals), null reads KH, KW.
 */
function windowKernel(fl: Flavor, sc: StrideClass, taps: [number, number] | null, mode: 'max' | 'avg' = 'max'): FunctionBuilder {
  const avg = mode === 'avg';
  const f = new FunctionBuilder(Array<ValType>(MAX_PARAMS).fill(i32), []);
  const [X, OUT, ARG, STEPS, PLANES, HW, OHW, W, OW, OY0, OY1, OX0, NVEC, SH, KH, KW, DH, DW, SW, OFF] = range(0, MAX_PARAMS) as [
    number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
  const plane = f.local(i32), oy = f.local(i32), vi = f.local(i32), i = f.local(i32), j = f.local(i32);
  const rowIdx = f.local(i32), outAt = f.local(i32), base = f.local(i32), t = f.local(i32), addr = f.local(i32), swb = f.local(i32);
  const steps = f.local(v128), idx = f.local(v128), best = f.local(v128), at = f.local(v128), v = f.local(v128), upd = f.local(v128);
  // avg: float64 sums (as the JavaScript loop's `sum` is a double), two for float32's 4 lanes
  const acc0 = f.local(v128), acc1 = f.local(v128), count = f.local(v128);
  f.get(KH).get(KW).i32Mul().i32x4Splat().f64x2ConvertLowI32x4S().set(count);
  f.get(STEPS).v128Load().set(steps);
  f.get(SW).i32(fl.shift).i32Shl().set(swb);
  // fixed windows: each tap's element offset and its splat as an index vector, hoisted
  const fixed = taps && Array.from({ length: taps[0] * taps[1] }, (_, q) => {
    const elem = f.local(i32), vec = f.local(v128);
    const ti = Math.floor(q / taps[1]), tj = q % taps[1];
    f.get(DH).i32(ti).i32Mul().get(W).i32Mul().get(DW).i32(tj).i32Mul().i32Add().tee(elem);
    fl.splatIndex(f).set(vec);
    return { elem, vec };
  });

  /** Push the lanes of taps at byte address `addr` (lane q at addr + q·sw·e). */
  const loadTaps = (): void => {
    if (sc === 's1') f.get(addr).v128Load();
    else if (sc === 's2') f.get(addr).v128Load().get(addr).v128Load(16).shuffle(fl.even);
    else {
      fl.splat(fl.load(f.get(addr)));
      for (let q = 1; q < fl.lanes; q++) {
        f.get(addr);
        for (let r = 0; r < q; r++) f.get(swb).i32Add();
        fl.replace(fl.load(f), q);
      }
    }
  };

  forLoop(f, plane, () => f.i32(0), () => f.get(PLANES), 1, () => {
    forLoop(f, oy, () => f.get(OY0), () => f.get(OY1), 1, () => {
      f.get(plane).get(HW).i32Mul().get(oy).get(SH).i32Mul().get(W).i32Mul().i32Add().get(OFF).i32Add().set(rowIdx);
      f.get(plane).get(OHW).i32Mul().get(oy).get(OW).i32Mul().i32Add().get(OX0).i32Add().set(outAt);
      forLoop(f, vi, () => f.i32(0), () => f.get(NVEC), 1, () => {
        // element index of tap (0, 0) of lane 0
        f.get(rowIdx).get(OX0).get(vi).i32(fl.lanes).i32Mul().i32Add().get(SW).i32Mul().i32Add().set(base);
        if (avg) {
          f.v128Zero().set(acc0).v128Zero().set(acc1);
        } else {
          fl.addIndex(fl.splatIndex(f.get(base)).get(steps)).set(idx);
          f.get(X).get(base).i32(fl.shift).i32Shl().i32Add().set(addr);
          loadTaps();
          f.set(best);
          f.get(idx).set(at);
        }
        const tap = (tElem: () => void, tIdx: () => void): void => {
          f.get(X).get(base);
          tElem();
          f.i32Add().i32(fl.shift).i32Shl().i32Add().set(addr);
          loadTaps();
          f.set(v);
          if (avg) {
            if (fl.lanes === 2) f.get(acc0).get(v).f64x2Add().set(acc0);
            else {
              f.get(acc0).get(v).f64x2PromoteLowF32x4().f64x2Add().set(acc0);
              f.get(acc1).get(v).get(v).shuffle(range(8, 24)).f64x2PromoteLowF32x4().f64x2Add().set(acc1);
            }
            return;
          }
          // upd = v > best | (v ≠ v & ¬(best ≠ best))
          fl.gt(f.get(v).get(best));
          fl.ne(f.get(v).get(v));
          fl.ne(f.get(best).get(best));
          f.v128AndNot().v128Or().set(upd);
          f.get(v).get(best).get(upd).v128Bitselect().set(best);
          f.get(idx);
          tIdx();
          fl.addIndex(f);
          f.get(at).get(upd).v128Bitselect().set(at);
        };
        if (fixed) {
          // tap (0, 0) is the initial choice already
          for (let q = avg ? 0 : 1; q < fixed.length; q++) tap(() => f.get(fixed[q]!.elem), () => f.get(fixed[q]!.vec));
        } else {
          forLoop(f, i, () => f.i32(0), () => f.get(KH), 1, () => {
            forLoop(f, j, () => f.i32(0), () => f.get(KW), 1, () => {
              f.get(i).get(DH).i32Mul().get(W).i32Mul().get(j).get(DW).i32Mul().i32Add().set(t);
              tap(() => f.get(t), () => fl.splatIndex(f.get(t)));
            });
          });
        }
        if (avg) {
          // sum / count in float64, then (float32) one rounding, as storing the JS quotient does
          f.get(acc0).get(count).f64x2Div().set(best);
          if (fl.lanes === 4) {
            f.get(best).f32x4DemoteF64x2Zero();
            f.get(acc1).get(count).f64x2Div().f32x4DemoteF64x2Zero();
            f.shuffle([...range(0, 8), ...range(16, 24)]).set(best);
          }
        }
        f.get(OUT).get(outAt).get(vi).i32(fl.lanes).i32Mul().i32Add().i32(fl.shift).i32Shl().i32Add().get(best).v128Store();
        if (!avg) {
          f.get(ARG).if();
          f.get(ARG).get(outAt).get(vi).i32(fl.lanes).i32Mul().i32Add().i32(2).i32Shl().i32Add();
          fl.storeIndex(f, at);
          f.end();
        }
      });
    });
  });
  return f;
}

/** `dx[arg[i]] += dy[i]` (arg[i] ≥ 0). Params: dy, arg, dx, count. */
function scatterKernel(fl: Flavor): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32], []);
  const [DY, ARG, DX, COUNT] = [0, 1, 2, 3] as const;
  const q = f.local(i32), a = f.local(i32), d = f.local(i32);
  forLoop(f, q, () => f.i32(0), () => f.get(COUNT), 1, () => {
    f.get(ARG).get(q).i32(2).i32Shl().i32Add().i32Load().set(a);
    f.get(a).i32(0).i32GeS().if();
    f.get(DX).get(a).i32(fl.shift).i32Shl().i32Add().set(d);
    f.get(d);
    fl.load(f.get(d));
    fl.load(f.get(DY).get(q).i32(fl.shift).i32Shl().i32Add());
    fl.add(f);
    fl.store(f);
    f.end();
  });
  return f;
}

/** `out[i] = arg[i] ≥ 0 ? v[arg[i]] : 0`. Params: v, arg, out, count. */
function gatherKernel(fl: Flavor): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32], []);
  const [V, ARG, OUT, COUNT] = [0, 1, 2, 3] as const;
  const q = f.local(i32), a = f.local(i32);
  forLoop(f, q, () => f.i32(0), () => f.get(COUNT), 1, () => {
    f.get(ARG).get(q).i32(2).i32Shl().i32Add().i32Load().set(a);
    f.get(OUT).get(q).i32(fl.shift).i32Shl().i32Add();
    f.get(a).i32(0).i32GeS().if(fl.vt);
    fl.load(f.get(V).get(a).i32(fl.shift).i32Shl().i32Add());
    f.else();
    fl.zero(f);
    f.end();
    fl.store(f);
  });
  return f;
}

/**
 * `maxv_f32_2x2s2(x, out, planes, hw, ohw, w, ow, oh, nvec, flags) → count`: values only
 * (no argmax) of 2×2 windows at stride 2, no padding or dilation, float32: for each plane,
 * every output row and `nvec` vectors of 4 columns (the last may overhang the row; its extra
 * lanes land on the next row's outputs, written later, or in the caller's slack). Each row
 * pair is loaded as two vectors per input row and split into even and odd columns, and the
 * window maximum taken as `pmax(pmax(a, b), pmax(c, d))` over the taps a, b (top row) and
 * c, d (bottom row): `pmax(x, y) = x < y ? y : x` keeps the left operand unless the right
 * is strictly greater, and every left operand precedes its right one in scan order, so
 * without NaN this is the first maximum, as the reference loop chooses it.
 *
 * NaN is not handled: the sum of the four vectors is checked for NaN per plane instead (a
 * NaN tap makes it NaN; so can ±∞ taps or stray lanes past a row, harmlessly), and the index
 * of every plane that failed is appended to the i32 list at `flags`; the caller redoes those
 * planes with the exact kernel. Returns the number of planes listed.
 */
function maxValues2x2(): FunctionBuilder {
  const f = new FunctionBuilder(Array<ValType>(10).fill(i32), [i32]);
  const [X, OUT, PLANES, HW, OHW, W, OW, OH, NVEC, FLAGS] = range(0, 10) as [number, number, number, number, number, number, number, number, number, number];
  const plane = f.local(i32), oy = f.local(i32), vi = f.local(i32), src = f.local(i32), dst = f.local(i32), nflag = f.local(i32), wb = f.local(i32);
  const r0a = f.local(v128), r0b = f.local(v128), r1a = f.local(v128), r1b = f.local(v128), bad = f.local(v128);
  const even = [...range(0, 4), ...range(8, 12), ...range(16, 20), ...range(24, 28)];
  const odd = even.map((b) => b + 4);
  f.get(W).i32(2).i32Shl().set(wb);
  forLoop(f, plane, () => f.i32(0), () => f.get(PLANES), 1, () => {
    f.v128Zero().set(bad);
    forLoop(f, oy, () => f.i32(0), () => f.get(OH), 1, () => {
      // byte addresses of input row 2·oy and output row oy of this plane
      f.get(X).get(plane).get(HW).i32Mul().get(oy).get(W).i32Mul().i32(1).i32Shl().i32Add().i32(2).i32Shl().i32Add().set(src);
      f.get(OUT).get(plane).get(OHW).i32Mul().get(oy).get(OW).i32Mul().i32Add().i32(2).i32Shl().i32Add().set(dst);
      forLoop(f, vi, () => f.i32(0), () => f.get(NVEC), 1, () => {
        f.get(src).v128Load(0).set(r0a);
        f.get(src).v128Load(16).set(r0b);
        f.get(src).get(wb).i32Add().tee(src).v128Load(0).set(r1a);
        f.get(src).v128Load(16).set(r1b);
        f.get(src).get(wb).i32Sub().i32(32).i32Add().set(src);
        f.get(dst);
        f.get(r0a).get(r0b).shuffle(even).get(r0a).get(r0b).shuffle(odd).f32x4Pmax();
        f.get(r1a).get(r1b).shuffle(even).get(r1a).get(r1b).shuffle(odd).f32x4Pmax();
        f.f32x4Pmax().v128Store(0);
        f.get(r0a).get(r0b).f32x4Add().get(r1a).get(r1b).f32x4Add().f32x4Add().tee(r0a).get(r0a).f32x4Ne().get(bad).v128Or().set(bad);
        f.inc(dst, 16);
      });
    });
    f.get(bad).v128AnyTrue().if();
    f.get(FLAGS).get(nflag).i32(2).i32Shl().i32Add().get(plane).i32Store();
    f.inc(nflag, 1);
    f.end();
  });
  f.get(nflag);
  return f;
}

/** Build the module bytes (both dtypes). The memory is imported as `env.memory`. */
export function buildPoolModule(memory: { shared: boolean; maxPages: number }): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: memory.maxPages, shared: memory.shared });
  for (const fl of [F32, F64]) {
    for (const sc of STRIDE_CLASSES) {
      mod.addFunction(windowKernel(fl, sc, null), `max_${fl.sfx}_${sc}`);
      for (const k of FIXED_WINDOWS) mod.addFunction(windowKernel(fl, sc, [k, k]), `max_${fl.sfx}_${sc}_${k}x${k}`);
      mod.addFunction(windowKernel(fl, sc, null, 'avg'), `avg_${fl.sfx}_${sc}`);
      for (const k of FIXED_WINDOWS) mod.addFunction(windowKernel(fl, sc, [k, k], 'avg'), `avg_${fl.sfx}_${sc}_${k}x${k}`);
    }
    mod.addFunction(scatterKernel(fl), `scatter_${fl.sfx}`);
    mod.addFunction(gatherKernel(fl), `gather_${fl.sfx}`);
  }
  mod.addFunction(maxValues2x2(), 'maxv_f32_2x2s2');
  return mod.toBytes();
}
