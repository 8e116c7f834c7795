/**
 * Generates the WebAssembly SIMD module for direct 2-D convolution (float32, stride 1,
 * dilation 1, input already zero-padded): each output block of 4 channels × 8 columns
 * is accumulated in 8 f32x4 registers over every (channel, kernel row, kernel column) tap,
 * reading the input rows in place — an implicit im2col with no column matrix and no
 * layout copies, writing the NCHW output directly.
 *
 * One export per kernel width `conv_k<KW>` (KW = 1..{@link MAX_KW}; the column-tap
 * loop runs one tap per trip), with i32 parameters (addresses and strides in bytes):
 *   x, w, y, C, H, W, O, OH, OW, KH, nImg, xImg, yImg, G, wGroup, bias, act
 * - x: image 0 of the padded input [nImg][G·C][H][W]; y: its output [nImg][G·O][OH][OW];
 * - w: weights packed per group (wGroup bytes apart) as [⌈O/4⌉][C][KH][KW][4] (zero-filled
 *   past O), so the 4 channel weights of one tap are adjacent;
 * - OW ≥ 8: rows go in blocks of 8 columns; the last block is moved left to end at OW
 *   (recomputing a few outputs with identical values), or, when at most 4 columns are left,
 *   the 4 columns ending at OW of two rows make one block, so no block reads or writes past
 *   a row.
 * - bias: 0, or the address of G·O float32 biases added to each finished sum (one f32
 *   addition, as a separate bias add would round it); act: 1 applies relu after that as
 *   `v < 0 ? 0 : v` (f32x4.pmax, which keeps NaN and −0 as the JavaScript relu does), 0 none.
 * Sums run over taps in (channel, row, column) order, the order of the im2col gemm.
 *
 * Also the filter gradient `convbf_j<JC>` (see {@link FILTER_PARAMS}): lanes over output
 * columns, 4 output channels × JC kernel columns of partial sums in registers.
 *
 * @module
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './assembler.js';

const { i32, v128 } = ValType;

/** Widest kernel with a generated variant; wider kernels use im2col. */
export const MAX_KW = 7;

/** `for (i = 0; i < limit; i++) body()` over an i32 local (limit a local). */
function countLoop(f: FunctionBuilder, i: number, limit: number, body: () => void): void {
  f.i32(0).set(i).block().loop();
  f.get(i).get(limit).i32GeS().brIf(1);
  body();
  f.inc(i, 1).br(0).end().end();
}

function convFn(kw: number): FunctionBuilder {
  const f = new FunctionBuilder(Array<ValType>(17).fill(i32), []);
  const [X, Wt, Y, C, H, W, O, OH, OW, KH, NIMG, XIMG, YIMG, G, WGROUP, BIAS, ACT] = Array.from({ length: 17 }, (_, i) => i) as [
    number, number, number, number, number, number, number, number, number, number, number, number, number, number, number,
    number, number];
  const img = f.local(i32), g = f.local(i32), ob = f.local(i32), yy = f.local(i32), xb = f.local(i32), xs = f.local(i32);
  const c = f.local(i32), r = f.local(i32), nq = f.local(i32), j = f.local(i32), kwTaps = f.local(i32);
  f.i32(kw).set(kwTaps); // countLoop takes its limit from a local
  const xr = f.local(i32), wp = f.local(i32), wb = f.local(i32), yo = f.local(i32);
  const xG = f.local(i32), yG = f.local(i32), wG = f.local(i32), rowStep = f.local(i32), chanStep = f.local(i32), plane = f.local(i32);
  const blockW = f.local(i32), bG = f.local(i32), bq = f.local(i32);
  const acc = Array.from({ length: 8 }, () => f.local(v128));
  const xv0 = f.local(v128), xv1 = f.local(v128), ws = f.local(v128);

  f.get(W).i32(2).i32Shl().set(rowStep);
  f.get(H).get(KH).i32Sub().get(W).i32Mul().i32(2).i32Shl().set(chanStep);
  f.get(OH).get(OW).i32Mul().i32(2).i32Shl().set(plane);
  f.get(C).get(KH).i32Mul().i32(kw * 16).i32Mul().set(blockW); // bytes of one 4-channel weight block

  /**
   * One block at column xs of row yy: 4 channels × 4·nv columns, or (`twoRows`) 4 channels ×
   * 4 columns of rows yy and yy + 1 (the second vector one input and one output row further):
   * accumulate every tap, store.
   */
  const block = (nv: 1 | 2, twoRows = false): void => {
    for (let q = 0; q < 4; q++) for (let v = 0; v < nv; v++) f.v128Zero().set(acc[2 * q + v]!);
    f.get(wb).set(wp);
    f.get(xG).get(yy).get(W).i32Mul().get(xs).i32Add().i32(2).i32Shl().i32Add().set(xr);
    countLoop(f, c, C, () => {
      countLoop(f, r, KH, () => {
        // one tap per trip, not the kw taps unrolled: TurboFan schedules every load of a basic
        // block ahead of its arithmetic, and kw taps' loads next to 8 accumulators spilled
        // (k = 3: ~40 vector spills per kernel row)
        countLoop(f, j, kwTaps, () => {
          f.get(xr).v128Load(0).set(xv0);
          if (nv === 2 && twoRows) f.get(xr).get(rowStep).i32Add().v128Load(0).set(xv1);
          else if (nv === 2) f.get(xr).v128Load(16).set(xv1);
          for (let q = 0; q < 4; q++) {
            f.get(wp).v128Load32Splat(q * 4).set(ws);
            f.get(acc[2 * q]!).get(ws).get(xv0).f32x4Mul().f32x4Add().set(acc[2 * q]!);
            if (nv === 2) f.get(acc[2 * q + 1]!).get(ws).get(xv1).f32x4Mul().f32x4Add().set(acc[2 * q + 1]!);
          }
          f.inc(wp, 16);
          f.inc(xr, 4);
        });
        f.get(xr).i32(kw * 4).i32Sub().set(xr);
        f.incBy(xr, rowStep);
      });
      f.incBy(xr, chanStep);
    });
    // store the channels that exist
    f.get(yG).get(ob).get(OH).i32Mul().get(yy).i32Add().get(OW).i32Mul().get(xs).i32Add().i32(2).i32Shl().i32Add().set(yo);
    f.get(bG).get(ob).i32(2).i32Shl().i32Add().set(bq);
    for (let q = 0; q < 4; q++) {
      if (q > 0) f.get(nq).i32(q).i32GtS().if();
      // epilogue: + bias[channel], then relu
      f.get(BIAS).if();
      f.get(bq).v128Load32Splat(q * 4).set(ws);
      for (let v = 0; v < nv; v++) f.get(acc[2 * q + v]!).get(ws).f32x4Add().set(acc[2 * q + v]!);
      f.end();
      f.get(ACT).if();
      for (let v = 0; v < nv; v++) f.get(acc[2 * q + v]!).v128Zero().f32x4Pmax().set(acc[2 * q + v]!);
      f.end();
      f.get(yo).get(acc[2 * q]!).v128Store(0);
      if (nv === 2 && twoRows) f.get(yo).get(OW).i32(2).i32Shl().i32Add().get(acc[2 * q + 1]!).v128Store(0);
      else if (nv === 2) f.get(yo).get(acc[2 * q + 1]!).v128Store(16);
      if (q < 3) f.incBy(yo, plane);
      if (q > 0) f.end();
    }
  };

  countLoop(f, img, NIMG, () => {
    f.get(X).set(xG).get(Y).set(yG).get(Wt).set(wG).get(BIAS).set(bG);
    countLoop(f, g, G, () => {
      f.get(wG).set(wb);
      f.i32(0).set(ob).block().loop();
      f.get(ob).get(O).i32GeS().brIf(1);
      // nq = min(4, O − ob)
      f.get(O).get(ob).i32Sub().set(nq);
      countLoop(f, yy, OH, () => {
        f.i32(0).set(xb).block().loop();
        f.get(xb).get(OW).i32GeS().brIf(1);
        // a full block of 8 columns (the last one moved left to end at OW); at most 4 columns
        // left go to the tail pass below
        f.get(OW).get(xb).i32Sub().i32(4).i32GtS().if();
        f.get(xb).get(OW).i32(8).i32Sub().get(xb).get(OW).i32(8).i32Sub().i32LtS().select().set(xs);
        block(2);
        f.end();
        f.inc(xb, 8).br(0).end().end();
      });
      // tail (OW mod 8 in 1..4): the 4 columns ending at OW of two rows per block, which
      // keeps 8 accumulators busy (a one-row block of 4 ran at about half the rate); the last
      // row of an odd OH alone
      f.get(OW).i32(7).i32And().i32(1).i32Sub().i32(4).i32LtU().if();
      f.get(OW).i32(4).i32Sub().set(xs);
      f.i32(0).set(yy).block().loop();
      f.get(yy).get(OH).i32GeS().brIf(1);
      f.get(yy).i32(1).i32Add().get(OH).i32LtS().if();
      block(2, true);
      f.else();
      block(1);
      f.end();
      f.inc(yy, 2).br(0).end().end();
      f.end();
      f.incBy(wb, blockW);
      f.inc(ob, 4).br(0).end().end();
      // next group: C input planes, O output planes, one packed weight group further
      f.get(xG).get(C).get(H).i32Mul().get(W).i32Mul().i32(2).i32Shl().i32Add().set(xG);
      f.get(yG).get(O).get(plane).i32Mul().i32Add().set(yG);
      f.incBy(wG, WGROUP);
      f.get(bG).get(O).i32(2).i32Shl().i32Add().set(bG);
    });
    f.incBy(X, XIMG).incBy(Y, YIMG);
  });
  return f;
}

/** Most kernel columns one filter-gradient pass accumulates (4 channels × this many taps in registers). */
export const FILTER_MAX_JC = 3;

/** The i32 words of the filter-gradient kernels' parameter block, in order (see `convbf_j*`). */
export const FILTER_PARAMS = [
  'X', 'DY', 'DW', 'C', 'O', 'OH', 'NV', 'REM', 'KH', 'KW', 'NIMG', 'XIMG', 'DYIMG', 'XPLANE', 'DYPLANE',
  'XROW', 'DYROW', 'TAPROW', 'TAPCOL', 'MASK', 'XG', 'DYG', 'DWG', 'NCH',
] as const;

/**
 * The filter gradient `convbf_j<JC>` (JC = 1..{@link FILTER_MAX_JC}): for output channels
 * [OB0, OB1) of one group (in blocks of 4), every input channel c, every kernel row i and the
 * JC kernel columns J0 … J0+JC−1, adds
 *   Σ_n Σ_{y, x} dy[n, o, y, x] · xs[n, c, y·sh + i·dh, x + j·dw]
 * to dW[o, c, i, j] (float32, layout [O][C][KH][KW]); xs is the zero-padded input (row
 * stride in the XROW/TAPROW byte steps). Lanes run over 4 adjacent output columns; each row
 * has NV whole vectors and, when REM > 0, one more whose dy lanes past the row are masked to
 * zero with the vector at MASK, so the x lanes it reads past the row (finite values of the
 * next row, or the zeroed slack) add nothing. Channel blocks reaching past O read dy planes
 * of the next channels (or the caller's slack) and are not stored.
 *
 * i32 parameters P, G, OB0, OB1, J0: P is the address of a block of i32 words (addresses
 * and steps in bytes) {@link FILTER_PARAMS}; group G's x, dy and dW start XG, DYG and DWG
 * bytes per group further on; images go in chunks of NCH (each chunk's partial sums are added
 * to dW). A job is (group, range of channel blocks, column chunk), so
 * parallel jobs write disjoint dW entries.
 */
function filterFn(jc: number): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, i32], []);
  const P = 0, G = 1, OB0 = 2, OB1 = 3, J0 = 4;
  const word = Object.fromEntries(FILTER_PARAMS.map((name) => [name, f.local(i32)])) as Record<(typeof FILTER_PARAMS)[number], number>;
  FILTER_PARAMS.forEach((name, k) => f.get(P).i32Load(4 * k).set(word[name]));
  const { X, DY, DW, C, O, OH, NV, REM, KH, KW, NIMG, XIMG, DYIMG, XPLANE, DYPLANE, XROW, DYROW, TAPROW, TAPCOL, MASK, XG, DYG, DWG, NCH } = word;
  f.get(X).get(G).get(XG).i32Mul().i32Add().set(X);
  f.get(DY).get(G).get(DYG).i32Mul().i32Add().set(DY);
  f.get(DW).get(G).get(DWG).i32Mul().i32Add().set(DW);
  const ob = f.local(i32), c = f.local(i32), i = f.local(i32), n = f.local(i32), y = f.local(i32), v = f.local(i32);
  const xr = f.local(i32), dr = f.local(i32), px = f.local(i32), pd = f.local(i32), out = f.local(i32);
  const n0 = f.local(i32), nEnd = f.local(i32);
  const dp = [f.local(i32), f.local(i32), f.local(i32)];
  const xo = Array.from({ length: jc }, () => f.local(i32));
  const acc = Array.from({ length: 4 * jc }, () => f.local(v128));
  const xv = f.local(v128), mask = f.local(v128);

  f.get(MASK).v128Load(0).set(mask);
  f.get(DYPLANE).set(dp[0]!);
  f.get(DYPLANE).i32(2).i32Mul().set(dp[1]!);
  f.get(DYPLANE).i32(3).i32Mul().set(dp[2]!);
  for (let j = 0; j < jc; j++) f.get(TAPCOL).i32(j).i32Mul().set(xo[j]!);

  /** One vector of 4 output columns at px/pd: every (channel, column tap) product. */
  const body = (masked: boolean): void => {
    for (let j = 0; j < jc; j++) {
      f.get(px).get(xo[j]!).i32Add().v128Load(0).set(xv);
      for (let q = 0; q < 4; q++) {
        const a = acc[q * jc + j]!;
        f.get(a);
        if (q === 0) f.get(pd);
        else f.get(pd).get(dp[q - 1]!).i32Add();
        f.v128Load(0);
        if (masked) f.get(mask).v128And();
        f.get(xv).f32x4Mul().f32x4Add().set(a);
      }
    }
  };

  // image chunks outermost: the 4 dy planes of a chunk stay in L1 over every (c, i) pass
  f.i32(0).set(n0).block().loop();
  f.get(n0).get(NIMG).i32GeS().brIf(1);
  f.get(n0).get(NCH).i32Add().tee(nEnd).get(NIMG).get(nEnd).get(NIMG).i32LtS().select().set(nEnd);
  f.get(OB0).set(ob).block().loop();
  f.get(ob).get(OB1).i32GeS().brIf(1);
  countLoop(f, c, C, () => {
    countLoop(f, i, KH, () => {
      for (const a of acc) f.v128Zero().set(a);
      // x at (channel c, tap row i, tap column J0) of image 0; dy at channel ob of image 0
      f.get(X).get(n0).get(XIMG).i32Mul().i32Add().get(c).get(XPLANE).i32Mul().i32Add().get(i).get(TAPROW).i32Mul().i32Add().get(J0).get(TAPCOL).i32Mul().i32Add().set(xr);
      f.get(DY).get(n0).get(DYIMG).i32Mul().i32Add().get(ob).get(DYPLANE).i32Mul().i32Add().set(dr);
      f.get(n0).set(n).block().loop();
      f.get(n).get(nEnd).i32GeS().brIf(1);
      {
        f.get(xr).set(px).get(dr).set(pd);
        countLoop(f, y, OH, () => {
          countLoop(f, v, NV, () => {
            body(false);
            f.inc(px, 16).inc(pd, 16);
          });
          f.get(REM).if();
          body(true);
          f.end();
          // next row: px/pd restart from the row starts
          f.get(px).get(NV).i32(4).i32Shl().i32Sub().get(XROW).i32Add().set(px);
          f.get(pd).get(NV).i32(4).i32Shl().i32Sub().get(DYROW).i32Add().set(pd);
        });
        f.incBy(xr, XIMG).incBy(dr, DYIMG);
      }
      f.inc(n, 1).br(0).end().end();
      // dW[ob + q, c, i, J0 + j] += horizontal sum of acc[q][j], for the channels that exist
      f.get(DW).get(ob).get(C).i32Mul().get(c).i32Add().get(KH).i32Mul().get(i).i32Add().get(KW).i32Mul().get(J0).i32Add().i32(2).i32Shl().i32Add().set(out);
      for (let q = 0; q < 4; q++) {
        if (q > 0) f.get(O).get(ob).i32Sub().i32(q).i32GtS().if();
        for (let j = 0; j < jc; j++) {
          const a = acc[q * jc + j]!;
          f.get(out);
          f.get(out).f32Load(j * 4);
          f.get(a).f32x4ExtractLane(0).get(a).f32x4ExtractLane(1).f32Add();
          f.get(a).f32x4ExtractLane(2).get(a).f32x4ExtractLane(3).f32Add();
          f.f32Add().f32Add().f32Store(j * 4);
        }
        if (q > 0) f.end();
        // next channel: C·KH·KW floats on
        if (q < 3) f.get(out).get(C).get(KH).i32Mul().get(KW).i32Mul().i32(2).i32Shl().i32Add().set(out);
      }
    });
  });
  f.inc(ob, 4).br(0).end().end();
  f.get(nEnd).set(n0).br(0).end().end();
  return f;
}

/** The module bytes (memory imported as `env.memory`). */
export function buildConvModule(memory: { shared: boolean; maxPages: number }): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: memory.maxPages, shared: memory.shared });
  for (let kw = 1; kw <= MAX_KW; kw++) mod.addFunction(convFn(kw), `conv_k${kw}`);
  for (let jc = 1; jc <= FILTER_MAX_JC; jc++) mod.addFunction(filterFn(jc), `convbf_j${jc}`);
  return mod.toBytes();
}
