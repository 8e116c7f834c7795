/**
 * WebAssembly SIMD kernels of the Winograd F(2×2, 3×3) convolution (../conv-winograd.ts has
 * the algorithm and its notation). Lanes run over 4 neighbouring tiles of a tile row; a row
 * of `tw` tiles is covered by vectors at tile columns 0, 4, 8, … and, when 4 does not divide
 * `tw`, one more at `tw − 4`, which recomputes (and rewrites with the same values) tiles its
 * predecessor did. So every kernel needs `tw ≥ 4`. All arithmetic is float32.
 *
 * - `wino_input(x, plane, v, imgs, c, h, w, hp, wp, ph, pw, th, tw, tp, tile0, vstep)`: for
 *   each of `imgs` images of x (NCHW, dense) and each channel: the plane zero-padded into the
 *   `hp × wp` scratch at `plane` (input at row ph, column pw), then Bᵀ d B of its tiles into
 *   V[ξ][ch][tile0 + image·th·tw + ty·tw + tx] (rows of `tp` floats, matrices `vstep` bytes apart).
 * - `wino_gemm(u, v, m, o4, c, tp, t0, t1)`: M[o][t] = Σ_c U[o][c]·V[c][t] for one ξ, tiles
 *   t0 … t1 (multiples of 8), `o4` output channels (a multiple of 4; U zero past O).
 * - `wino_output[_relu](m, y, bias, imgs, o, oh, ow, th, tw, tp, tile0, mstep, flag)`: Aᵀ m A
 *   of every tile plus the bias (address 0: none), relu, stored into y (NCHW, dense); the
 *   right column and bottom row of tiles past the output are not stored. The i32 at `flag` is
 *   or-ed with 1 when some value before relu is not finite.
 * - `wino_output_pool[_relu](…)`, the same arguments: then the maximum of each tile's four
 *   outputs, `pmax(pmax(y00, y01), pmax(y10, y11))` as the 2×2 pooling kernel takes it, stored
 *   into y as `[imgs, o, ⌊oh/2⌋, ⌊ow/2⌋]` (a tile is exactly one pooling window; tiles past the
 *   pooled output are dropped): 2×2 max pooling at stride 2 of the convolution, without it.
 *
 * @module
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './assembler.js';
import { forLoop } from './gemm-kernel.js';

const { i32, v128 } = ValType;

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
/** Byte lanes of float lanes `fl` of the concatenated operands (0–3 first, 4–7 second). */
const lanes = (fl: number[]): number[] => fl.flatMap((l) => range(4 * l, 4 * l + 4));
const EVEN = lanes([0, 2, 4, 6]), ODD = lanes([1, 3, 5, 7]);
const INTERLEAVE_LO = lanes([0, 4, 1, 5]), INTERLEAVE_HI = lanes([2, 6, 3, 7]);

/**
 * Loop `tx` over the vector positions of a row of `tw` tiles (0, 4, …, and `tw − 4` last
 * when 4 does not divide `tw`), running `body` with local `at` = the position.
 */
function tileVectors(f: FunctionBuilder, tx: number, at: number, tw: number, body: () => void): void {
  forLoop(f, tx, () => f.i32(0), () => f.get(tw), 4, () => {
    // at = min(tx, tw − 4)
    f.get(tx).get(tw).i32(4).i32Sub().get(tx).get(tw).i32(4).i32Sub().i32LtS().select().set(at);
    body();
  });
}

function inputKernel(): FunctionBuilder {
  const f = new FunctionBuilder(Array<ValType>(16).fill(i32), []);
  const [X, PLANE, V, IMGS, C, H, W, HP, WP, PH, PW, TH, TW, TP, TILE0, VSTEP] = range(0, 16) as number[] as [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
  const b = f.local(i32), ch = f.local(i32), r = f.local(i32), i = f.local(i32), src = f.local(i32), dst = f.local(i32);
  const ty = f.local(i32), tx = f.local(i32), at = f.local(i32), row = f.local(i32), out = f.local(i32), wpb = f.local(i32), pend = f.local(i32);
  const wv = f.local(i32);
  // per tile row r of the 4×4 tiles: columns d0..d3 after Bᵀ along the row (t0..t3)
  const t = range(0, 16).map(() => f.local(v128));
  const l0 = f.local(v128), l1 = f.local(v128), m0 = f.local(v128), m1 = f.local(v128);
  f.get(WP).i32(2).i32Shl().set(wpb);
  f.get(HP).get(WP).i32Mul().i32(2).i32Shl().get(PLANE).i32Add().set(pend);
  f.get(W).i32(-4).i32And().set(wv); // whole vectors of a row
  forLoop(f, b, () => f.i32(0), () => f.get(IMGS), 1, () => {
    forLoop(f, ch, () => f.i32(0), () => f.get(C), 1, () => {
      // zero the padded plane, then copy the rows in
      forLoop(f, dst, () => f.get(PLANE), () => f.get(pend), 16, () => {
        f.get(dst).v128Zero().v128Store(0);
      });
      // src = x + ((b·c + ch)·h·w)·4
      f.get(X).get(b).get(C).i32Mul().get(ch).i32Add().get(H).i32Mul().get(W).i32Mul().i32(2).i32Shl().i32Add().set(src);
      forLoop(f, r, () => f.i32(0), () => f.get(H), 1, () => {
        f.get(PLANE).get(r).get(PH).i32Add().get(WP).i32Mul().get(PW).i32Add().i32(2).i32Shl().i32Add().set(dst);
        forLoop(f, i, () => f.i32(0), () => f.get(wv), 4, () => {
          f.get(dst).get(i).i32(2).i32Shl().i32Add();
          f.get(src).get(i).i32(2).i32Shl().i32Add().v128Load(0);
          f.v128Store(0);
        });
        forLoop(f, i, () => f.get(wv), () => f.get(W), 1, () => {
          f.get(dst).get(i).i32(2).i32Shl().i32Add();
          f.get(src).get(i).i32(2).i32Shl().i32Add().f32Load(0);
          f.f32Store(0);
        });
        f.get(src).get(W).i32(2).i32Shl().i32Add().set(src);
      });
      // the tiles: rows 2·ty … 2·ty + 3, columns 2·at … 2·at + 9 for 4 tiles
      forLoop(f, ty, () => f.i32(0), () => f.get(TH), 1, () => {
        tileVectors(f, tx, at, TW, () => {
          f.get(PLANE).get(ty).i32(1).i32Shl().get(WP).i32Mul().get(at).i32(1).i32Shl().i32Add().i32(2).i32Shl().i32Add().set(row);
          for (let rr = 0; rr < 4; rr++) {
            f.get(row).v128Load(0).set(l0);
            f.get(row).v128Load(16).set(l1);
            f.get(row).v128Load(8).set(m0);
            f.get(row).v128Load(24).set(m1);
            const [c0, c1, c2, c3] = [t[4 * rr]!, t[4 * rr + 1]!, t[4 * rr + 2]!, t[4 * rr + 3]!];
            f.get(l0).get(l1).shuffle(EVEN).set(c0); // d0 of the 4 tiles
            f.get(l0).get(l1).shuffle(ODD).set(c1); // d1
            f.get(m0).get(m1).shuffle(EVEN).set(c2); // d2
            f.get(m0).get(m1).shuffle(ODD).set(c3); // d3
            // Bᵀ along the row: (d0 − d2, d1 + d2, d2 − d1, d1 − d3)
            f.get(c0).get(c2).f32x4Sub().set(l0);
            f.get(c1).get(c2).f32x4Add().set(l1);
            f.get(c2).get(c1).f32x4Sub().set(m0);
            f.get(c1).get(c3).f32x4Sub().set(c3);
            f.get(l0).set(c0);
            f.get(l1).set(c1);
            f.get(m0).set(c2);
            if (rr < 3) f.get(row).get(wpb).i32Add().set(row);
          }
          // out = v + ((ch·tp + tile0 + b·th·tw + ty·tw + at)·4)
          f.get(V).get(ch).get(TP).i32Mul().get(TILE0).i32Add().get(b).get(TH).i32Mul().get(TW).i32Mul().i32Add()
            .get(ty).get(TW).i32Mul().i32Add().get(at).i32Add().i32(2).i32Shl().i32Add().set(out);
          // B along the columns: ξ = 4·k + j from rows (r0 − r2, r1 + r2, r2 − r1, r1 − r3)
          for (let j = 0; j < 4; j++) {
            const [r0, r1, r2, r3] = [t[j]!, t[4 + j]!, t[8 + j]!, t[12 + j]!];
            const ops: [number, number, 'add' | 'sub'][] = [[r0, r2, 'sub'], [r1, r2, 'add'], [r2, r1, 'sub'], [r1, r3, 'sub']];
            ops.forEach(([a, c, op], k) => {
              f.get(out);
              if (4 * k + j > 0) f.get(VSTEP).i32(4 * k + j).i32Mul().i32Add();
              f.get(a).get(c);
              if (op === 'add') f.f32x4Add(); else f.f32x4Sub();
              f.v128Store(0);
            });
          }
        });
      });
    });
  });
  return f;
}

function gemmKernel(): FunctionBuilder {
  const f = new FunctionBuilder(Array<ValType>(8).fill(i32), []);
  const [U, V, M, O4, C, TP, T0, T1] = range(0, 8) as [number, number, number, number, number, number, number, number];
  const tt = f.local(i32), ob = f.local(i32), ci = f.local(i32), vp = f.local(i32), up = f.local(i32), mp = f.local(i32), cb = f.local(i32), tpb = f.local(i32);
  const acc = range(0, 8).map(() => f.local(v128));
  const v0 = f.local(v128), v1 = f.local(v128), u = f.local(v128);
  f.get(C).i32(2).i32Shl().set(cb);
  f.get(TP).i32(2).i32Shl().set(tpb);
  // tiles outer: the 8 columns of V (c × 32 bytes) stay in L1 across every output block
  forLoop(f, tt, () => f.get(T0), () => f.get(T1), 8, () => {
    forLoop(f, ob, () => f.i32(0), () => f.get(O4), 4, () => {
      for (const a of acc) f.v128Zero().set(a);
      f.get(V).get(tt).i32(2).i32Shl().i32Add().set(vp);
      f.get(U).get(ob).get(cb).i32Mul().i32Add().set(up);
      forLoop(f, ci, () => f.i32(0), () => f.get(C), 1, () => {
        f.get(vp).v128Load(0).set(v0);
        f.get(vp).v128Load(16).set(v1);
        for (let k = 0; k < 4; k++) {
          f.get(up);
          if (k > 0) f.get(cb).i32(k).i32Mul().i32Add();
          f.v128Load32Splat(0).set(u);
          f.get(acc[2 * k]!).get(u).get(v0).f32x4Mul().f32x4Add().set(acc[2 * k]!);
          f.get(acc[2 * k + 1]!).get(u).get(v1).f32x4Mul().f32x4Add().set(acc[2 * k + 1]!);
        }
        f.inc(up, 4);
        f.get(vp).get(tpb).i32Add().set(vp);
      });
      f.get(M).get(ob).get(tpb).i32Mul().i32Add().get(tt).i32(2).i32Shl().i32Add().set(mp);
      for (let k = 0; k < 4; k++) {
        f.get(mp).get(acc[2 * k]!).v128Store(0);
        f.get(mp).get(acc[2 * k + 1]!).v128Store(16);
        if (k < 3) f.get(mp).get(tpb).i32Add().set(mp);
      }
    });
  });
  return f;
}

function outputKernel(relu: boolean, pool: boolean): FunctionBuilder {
  const f = new FunctionBuilder(Array<ValType>(13).fill(i32), []);
  const [MM, Y, BIAS, IMGS, O, OH, OW, TH, TW, TP, TILE0, MSTEP, FLAG] = range(0, 13) as number[] as [number, number, number, number, number, number, number, number, number, number, number, number, number];
  const b = f.local(i32), oc = f.local(i32), ty = f.local(i32), tx = f.local(i32), at = f.local(i32), src = f.local(i32), dst = f.local(i32), owb = f.local(i32);
  const partial = f.local(i32), rows = f.local(i32), cols = f.local(i32);
  const bias = f.local(v128), bad = f.local(v128), zero = f.local(v128);
  const m = range(0, 16).map(() => f.local(v128));
  const y = range(0, 4).map(() => f.local(v128));
  f.get(OW).i32(2).i32Shl().set(owb);
  // tile rows stored: all (the second output row of the last is checked below), or the pooled rows
  if (pool) f.get(OH).i32(1).i32ShrU().set(rows);
  else f.get(TH).set(rows);
  if (pool) f.get(OW).i32(1).i32ShrU().set(cols);
  f.v128Zero().set(bad);
  f.v128Zero().set(zero);
  forLoop(f, b, () => f.i32(0), () => f.get(IMGS), 1, () => {
    forLoop(f, oc, () => f.i32(0), () => f.get(O), 1, () => {
      f.get(BIAS).if();
      f.get(BIAS).get(oc).i32(2).i32Shl().i32Add().v128Load32Splat(0).set(bias);
      f.else();
      f.v128Zero().set(bias);
      f.end();
      forLoop(f, ty, () => f.i32(0), () => f.get(rows), 1, () => {
        tileVectors(f, tx, at, TW, () => {
          // src = m + (oc·tp + tile0 + b·th·tw + ty·tw + at)·4
          f.get(MM).get(oc).get(TP).i32Mul().get(TILE0).i32Add().get(b).get(TH).i32Mul().get(TW).i32Mul().i32Add()
            .get(ty).get(TW).i32Mul().i32Add().get(at).i32Add().i32(2).i32Shl().i32Add().set(src);
          for (let k = 0; k < 16; k++) {
            f.get(src);
            if (k > 0) f.get(MSTEP).i32(k).i32Mul().i32Add();
            f.v128Load(0).set(m[k]!);
          }
          // Aᵀ along the rows (tile rows 0,1,2 → output row 0; 1,2,3 → row 1), then along columns
          const s = (j: number) => { f.get(m[j]!).get(m[4 + j]!).f32x4Add().get(m[8 + j]!).f32x4Add().set(m[j]!); };
          const d = (j: number) => { f.get(m[4 + j]!).get(m[8 + j]!).f32x4Sub().get(m[12 + j]!).f32x4Sub().set(m[4 + j]!); };
          for (let j = 0; j < 4; j++) { s(j); d(j); } // s writes m[j] only, which d does not read
          f.get(m[0]!).get(m[1]!).f32x4Add().get(m[2]!).f32x4Add().get(bias).f32x4Add().set(y[0]!);
          f.get(m[1]!).get(m[2]!).f32x4Sub().get(m[3]!).f32x4Sub().get(bias).f32x4Add().set(y[1]!);
          f.get(m[4]!).get(m[5]!).f32x4Add().get(m[6]!).f32x4Add().get(bias).f32x4Add().set(y[2]!);
          f.get(m[5]!).get(m[6]!).f32x4Sub().get(m[7]!).f32x4Sub().get(bias).f32x4Add().set(y[3]!);
          for (const v of y) {
            // v − v is NaN exactly for NaN and ±∞
            f.get(v).get(v).f32x4Sub().tee(m[8]!).get(m[8]!).f32x4Ne().get(bad).v128Or().set(bad);
            if (relu) f.get(v).get(zero).f32x4Pmax().set(v); // v < 0 ? 0 : v, as the direct kernel's relu
          }
          if (pool) {
            // dst = y + ((b·o + oc)·⌊oh/2⌋·⌊ow/2⌋ + ty·⌊ow/2⌋ + at)·4
            f.get(Y).get(b).get(O).i32Mul().get(oc).i32Add().get(rows).i32Mul().get(cols).i32Mul()
              .get(ty).get(cols).i32Mul().i32Add().get(at).i32Add().i32(2).i32Shl().i32Add().set(dst);
            f.get(y[0]!).get(y[1]!).f32x4Pmax().get(y[2]!).get(y[3]!).f32x4Pmax().f32x4Pmax().set(y[0]!);
            // the last vector of a row holds one tile past the pooled output when ow is odd
            f.get(at).get(TW).i32(4).i32Sub().i32Eq().get(cols).get(TW).i32LtS().i32And().if();
            f.get(dst).get(y[0]!).v128Store64Lane(0, 0);
            f.get(dst).get(y[0]!).v128Store32Lane(2, 8);
            f.else();
            f.get(dst).get(y[0]!).v128Store(0);
            f.end();
            return;
          }
          // dst = y + ((b·o + oc)·oh·ow + 2·ty·ow + 2·at)·4
          f.get(Y).get(b).get(O).i32Mul().get(oc).i32Add().get(OH).i32Mul().get(OW).i32Mul()
            .get(ty).i32(1).i32Shl().get(OW).i32Mul().i32Add().get(at).i32(1).i32Shl().i32Add().i32(2).i32Shl().i32Add().set(dst);
          // the last vector of an odd-width row has 7 outputs, not 8
          f.get(at).get(TW).i32(4).i32Sub().i32Eq().get(OW).i32(1).i32And().i32And().set(partial);
          const storeRow = (lo: number, hi: number): void => {
            f.get(dst).get(lo).get(hi).shuffle(INTERLEAVE_LO).v128Store(0);
            f.get(partial).if();
            f.get(dst).get(lo).get(hi).shuffle(INTERLEAVE_HI).v128Store64Lane(0, 16);
            f.get(dst).get(lo).get(hi).shuffle(INTERLEAVE_HI).v128Store32Lane(2, 24);
            f.else();
            f.get(dst).get(lo).get(hi).shuffle(INTERLEAVE_HI).v128Store(16);
            f.end();
          };
          storeRow(y[0]!, y[1]!);
          // the second output row of the tile row, when inside the output
          f.get(ty).i32(1).i32Shl().i32(1).i32Add().get(OH).i32LtS().if();
          f.get(dst).get(owb).i32Add().set(dst);
          storeRow(y[2]!, y[3]!);
          f.end();
        });
      });
    });
  });
  f.get(FLAG).get(FLAG).i32Load(0).get(bad).v128AnyTrue().i32Or().i32Store(0);
  return f;
}

/** The Winograd module, on an imported memory. */
export function buildWinogradModule(memory: { shared: boolean; maxPages: number }): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: memory.maxPages, shared: memory.shared });
  mod.addFunction(inputKernel(), 'wino_input');
  mod.addFunction(gemmKernel(), 'wino_gemm');
  mod.addFunction(outputKernel(false, false), 'wino_output');
  mod.addFunction(outputKernel(true, false), 'wino_output_relu');
  mod.addFunction(outputKernel(false, true), 'wino_output_pool');
  mod.addFunction(outputKernel(true, true), 'wino_output_pool_relu');
  return mod.toBytes();
}
