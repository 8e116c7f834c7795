/**
 * Generates the WebAssembly SIMD module of one small LSTM step:
 *
 * - `gates_<dt>(batch, H, kx, wx, wh, x, h, bias, z, mp)`: the gate pre-activations, both
 *   matrix–vector products of the step and the bias in one call,
 *   `z[b, j] = (Σ_p wx[j, p]·x[b, p] + bias[j]) + Σ_p wh[j, p]·h[b, p]` for j < 4H, written
 *   gate-major: gate q = ⌊j/H⌋ of row b at element `q·mp + b·H + j mod H` (so each gate is one
 *   contiguous run of batch·H, padded to `mp`). `wx` `[4H, kx]` and `wh` `[4H, H]` are
 *   row-major and unpadded (SIMD loads need no alignment, so the weights are staged with one
 *   copy each), `x` `[batch, kx]`, `h` `[batch, H]`; `bias` 0 for none.
 * - `lstm_f32(mp, z, c, hOut, cOut)`: the gate arithmetic on such a z (float32; `mp` a
 *   multiple of 4): `c′ = σ(f)·c + σ(i)·tanh(g)`, `h′ = σ(o)·tanh(c′)`, the products and the sum
 *   rounded to float32 as the separate kernels round them; σ and tanh are evaluated in
 *   float64 lanes (below) and rounded to float32 once.
 *
 * All addresses in bytes.
 *
 * Rows go four at a time (four accumulators share each load of x or h). Each dot product is
 * summed in the element type, lanes first, then the lanes pairwise, then the tail elements
 * one by one, so it differs from the JavaScript loops by rounding only. The bias is added
 * between the two products, as the cell's unfused path does (`(x·Wᵢₕᵀ + b) + h·Wₕₕᵀ`).
 *
 * @module
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './assembler.js';
import { forLoop } from './gemm-kernel.js';

const { i32, v128 } = ValType;

/** Per-dtype instructions. */
interface Flavor {
  readonly e: number;
  readonly lanes: number;
  readonly sfx: string;
  readonly vt: ValType;
  vmulAdd(f: FunctionBuilder): FunctionBuilder;
  hsum(f: FunctionBuilder, tmp: number): FunctionBuilder;
  load(f: FunctionBuilder): FunctionBuilder;
  store(f: FunctionBuilder): FunctionBuilder;
  add(f: FunctionBuilder): FunctionBuilder;
  mul(f: FunctionBuilder): FunctionBuilder;
  zero(f: FunctionBuilder): FunctionBuilder;
}

const F32: Flavor = {
  e: 4, lanes: 4, sfx: 'f32', vt: ValType.f32,
  vmulAdd: (f) => f.f32x4Mul().f32x4Add(),
  hsum: (f, t) => f.tee(t).f32x4ExtractLane(0).get(t).f32x4ExtractLane(1).f32Add()
    .get(t).f32x4ExtractLane(2).get(t).f32x4ExtractLane(3).f32Add().f32Add(),
  load: (f) => f.f32Load(), store: (f) => f.f32Store(), add: (f) => f.f32Add(), mul: (f) => f.f32Mul(),
  zero: (f) => f.f32(0),
};

const F64: Flavor = {
  e: 8, lanes: 2, sfx: 'f64', vt: ValType.f64,
  vmulAdd: (f) => f.f64x2Mul().f64x2Add(),
  hsum: (f, t) => f.tee(t).f64x2ExtractLane(0).get(t).f64x2ExtractLane(1).f64Add(),
  load: (f) => f.f64Load(), store: (f) => f.f64Store(), add: (f) => f.f64Add(), mul: (f) => f.f64Mul(),
  zero: (f) => f.f64(0),
};

/** Locals of one four-row dot product. */
interface DotLocals {
  acc: number[];
  sums: number[];
  rows: number[];
  v: number;
  p: number;
  t: number;
  kvBytes: number;
  kBytes: number;
}

/**
 * Leave in `L.sums[r]` the dot product of row r (r < 4) of the matrix at `w` (row stride
 * `L.kBytes`, rows starting at `L.rows[r]`) with the vector at `vec`, both k elements long
 * (`L.kvBytes` of them in whole vectors).
 */
function dot4(f: FunctionBuilder, fl: Flavor, L: DotLocals, vec: number): void {
  for (const a of L.acc) f.v128Zero().set(a);
  forLoop(f, L.p, () => f.i32(0), () => f.get(L.kvBytes), 16, () => {
    f.get(vec).get(L.p).i32Add().v128Load().set(L.v);
    for (let r = 0; r < 4; r++) {
      f.get(L.acc[r]!).get(L.rows[r]!).get(L.p).i32Add().v128Load().get(L.v);
      fl.vmulAdd(f).set(L.acc[r]!);
    }
  });
  for (let r = 0; r < 4; r++) fl.hsum(f.get(L.acc[r]!), L.t).set(L.sums[r]!);
  // the tail elements, one by one (p continues from the last whole vector)
  forLoop(f, L.p, () => f.get(L.kvBytes), () => f.get(L.kBytes), fl.e, () => {
    for (let r = 0; r < 4; r++) {
      f.get(L.sums[r]!);
      fl.load(f.get(L.rows[r]!).get(L.p).i32Add());
      fl.load(f.get(vec).get(L.p).i32Add());
      fl.mul(f);
      fl.add(f).set(L.sums[r]!);
    }
  });
}

function gates(fl: Flavor): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32, i32, i32, i32, i32], []);
  // KH: the hidden size H (also the recurrent product's length); XP, HP: x and h
  const [BATCH, KH, KX, WX, WH, XP, HP, BIAS, Z, MP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const b = f.local(i32), j = f.local(i32), xRow = f.local(i32), hRow = f.local(i32), G = f.local(i32);
  const zq = f.local(i32), jj = f.local(i32), gateBytes = f.local(i32);
  const kxBytes = f.local(i32), khBytes = f.local(i32), kxv = f.local(i32), khv = f.local(i32);
  const L: DotLocals = {
    acc: Array.from({ length: 4 }, () => f.local(v128)),
    sums: Array.from({ length: 4 }, () => f.local(fl.vt)),
    rows: Array.from({ length: 4 }, () => f.local(i32)),
    v: f.local(v128), p: f.local(i32), t: f.local(v128), kvBytes: f.local(i32), kBytes: f.local(i32),
  };
  const xs = Array.from({ length: 4 }, () => f.local(fl.vt));
  // row lengths in bytes, all of them and the part in whole vectors
  for (const [k, all, whole] of [[KX, kxBytes, kxv], [KH, khBytes, khv]] as const) {
    f.get(k).i32(fl.e).i32Mul().set(all);
    f.get(k).get(k).i32(fl.lanes).i32RemU().i32Sub().i32(fl.e).i32Mul().set(whole);
  }
  f.get(KH).i32(4).i32Mul().set(G);
  f.get(MP).i32(fl.e).i32Mul().set(gateBytes);
  forLoop(f, b, () => f.i32(0), () => f.get(BATCH), 1, () => {
    f.get(XP).get(b).get(kxBytes).i32Mul().i32Add().set(xRow);
    f.get(HP).get(b).get(khBytes).i32Mul().i32Add().set(hRow);
    f.get(Z).get(b).get(khBytes).i32Mul().i32Add().set(zq);
    f.i32(0).set(jj);
    forLoop(f, j, () => f.i32(0), () => f.get(G), 4, () => {
      // input part
      for (let r = 0; r < 4; r++) f.get(WX).get(j).i32(r).i32Add().get(kxBytes).i32Mul().i32Add().set(L.rows[r]!);
      f.get(kxv).set(L.kvBytes).get(kxBytes).set(L.kBytes);
      dot4(f, fl, L, xRow);
      for (let r = 0; r < 4; r++) f.get(L.sums[r]!).set(xs[r]!);
      f.get(BIAS).if();
      for (let r = 0; r < 4; r++) {
        f.get(xs[r]!);
        fl.load(f.get(BIAS).get(j).i32(r).i32Add().i32(fl.e).i32Mul().i32Add());
        fl.add(f).set(xs[r]!);
      }
      f.end();
      // recurrent part
      for (let r = 0; r < 4; r++) f.get(WH).get(j).i32(r).i32Add().get(khBytes).i32Mul().i32Add().set(L.rows[r]!);
      f.get(khv).set(L.kvBytes).get(khBytes).set(L.kBytes);
      dot4(f, fl, L, hRow);
      for (let r = 0; r < 4; r++) {
        // gate-major: element q·mp + b·H + jj, with the gate q and jj = (j+r) mod H kept
        // incrementally (an integer division per output cost more than the sums)
        f.get(zq).get(jj).i32(fl.e).i32Mul().i32Add();
        f.get(xs[r]!).get(L.sums[r]!);
        fl.add(f);
        fl.store(f);
        f.inc(jj, 1).get(jj).get(KH).i32Eq().if();
        f.i32(0).set(jj).incBy(zq, gateBytes);
        f.end();
      }
    });
  });
  return f;
}

// ---------------------------------------------------------------- σ and tanh in float64 lanes

/*
 * exp(y) for y ≤ 0: y = t·ln2 + r with t = nearest(y/ln2) and |r| ≤ ln2/2 (ln2 split in two
 * parts so t·ln2Hi is exact), exp(r) by its Taylor polynomial to degree 9 (truncation
 * < 1e-11 relative: far below float32's 6e-8, so the float32 result is the rounding of the
 * exact value except within 1e-11 of a rounding boundary), times 2^t. y is clamped at −110,
 * where exp is already below half the least float32 subnormal.
 */
const LN2_HI = 0.6931471803691238; // 0x3fe62e42fee00000: low mantissa bits zero
const LN2_LO = 1.9082149292705877e-10;
/** 2⁵² + 1023: t + this, as a double, holds the biased exponent t + 1023 in its low bits. */
const POW2_MAGIC = 4503599627371519;
/** Below this |x|, tanh by its odd Taylor polynomial (to x⁹; truncation < 1e-14 relative) instead of (1 − e)/(1 + e), which cancels. */
const TANH_SMALL = 0.0625;
const CONSTANTS = [
  -110, Math.LOG2E, LN2_HI, LN2_LO, POW2_MAGIC, 1, 0.5, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880,
  -2, TANH_SMALL, -1 / 3, 2 / 15, -17 / 315, 62 / 2835, 0,
] as const;

/** f64x2 constants held in locals, set once at the start of the function. */
class Constants {
  private readonly at = new Map<number, number>();
  constructor(private readonly f: FunctionBuilder) {
    for (const v of CONSTANTS) {
      const l = f.local(v128);
      f.f64x2Const(v).set(l);
      this.at.set(v, l);
    }
  }

  /** Push the constant `v`. */
  push(v: (typeof CONSTANTS)[number]): FunctionBuilder {
    return this.f.get(this.at.get(v)!);
  }
}

/** Scratch locals of the transcendental helpers. */
interface Scratch {
  t: number;
  r: number;
  p: number;
  a: number;
  e: number;
}

/** exp of the f64x2 on the stack (lanes ≤ 0, or NaN), left on the stack. */
function expNonPositive(f: FunctionBuilder, K: Constants, S: Scratch): void {
  K.push(-110).f64x2Max().set(S.r); // max propagates NaN
  f.get(S.r);
  K.push(Math.LOG2E).f64x2Mul().f64x2Nearest().set(S.t);
  f.get(S.r).get(S.t);
  K.push(LN2_HI).f64x2Mul().f64x2Sub().get(S.t);
  K.push(LN2_LO).f64x2Mul().f64x2Sub().set(S.r);
  const coeffs = [1, 1, 0.5, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880] as const;
  K.push(coeffs[9]).set(S.p);
  for (let n = 8; n >= 0; n--) {
    f.get(S.p).get(S.r).f64x2Mul();
    K.push(coeffs[n]!).f64x2Add().set(S.p);
  }
  // 2^t: t ∈ [−159, 0] gives a normal power of two
  f.get(S.p).get(S.t);
  K.push(POW2_MAGIC).f64x2Add().i32(52).i64x2Shl().f64x2Mul();
}

/** σ of the f64x2 in local `x`, left on the stack: with e = exp(−|x|), 1/(1 + e) where x ≥ 0, else e/(1 + e). */
function sigmoid64(f: FunctionBuilder, K: Constants, S: Scratch, x: number): void {
  f.get(x).f64x2Abs().f64x2Neg();
  expNonPositive(f, K, S);
  f.set(S.e);
  K.push(1).get(S.e).f64x2Add().set(S.a);
  K.push(1).get(S.a).f64x2Div();
  f.get(S.e).get(S.a).f64x2Div();
  f.get(x);
  K.push(0).f64x2Ge().v128Bitselect();
}

/** tanh of the f64x2 in local `x`, left on the stack: |tanh| by the small-|x| polynomial or (1 − e)/(1 + e) with e = exp(−2|x|), then x's sign. */
function tanh64(f: FunctionBuilder, K: Constants, S: Scratch, x: number): void {
  f.get(x).f64x2Abs().set(S.a);
  f.get(S.a);
  K.push(-2).f64x2Mul();
  expNonPositive(f, K, S);
  f.set(S.e);
  K.push(1).get(S.e).f64x2Sub();
  K.push(1).get(S.e).f64x2Add().f64x2Div().set(S.e);
  // a + a·a²·(c3 + a²·(c5 + a²·(c7 + a²·c9)))
  f.get(S.a).get(S.a).f64x2Mul().set(S.r);
  K.push(62 / 2835).set(S.p);
  for (const c of [-17 / 315, 2 / 15, -1 / 3] as const) {
    f.get(S.p).get(S.r).f64x2Mul();
    K.push(c).f64x2Add().set(S.p);
  }
  f.get(S.a).get(S.a).get(S.r).f64x2Mul().get(S.p).f64x2Mul().f64x2Add();
  f.get(S.e).get(S.a);
  K.push(TANH_SMALL).f64x2Lt().v128Bitselect();
  // copy the sign of x (tanh is odd; keeps −0)
  f.get(x);
  K.push(0).f64x2Neg().v128And().v128Or();
}

/** Apply `fn` (σ or tanh in float64 lanes) to the f32x4 in local `v`, leaving the float32 results on the stack. */
function viaF64(f: FunctionBuilder, K: Constants, S: Scratch, lo: number, hi: number, v: number, fn: typeof sigmoid64): void {
  f.get(v).f64x2PromoteLowF32x4().set(lo);
  f.get(v).get(v).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).f64x2PromoteLowF32x4().set(hi);
  fn(f, K, S, lo);
  f.f32x4DemoteF64x2Zero();
  fn(f, K, S, hi);
  f.f32x4DemoteF64x2Zero();
  f.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
}

function lstmF32(): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, i32], []);
  const [MP, Z, C, HOUT, COUT] = [0, 1, 2, 3, 4] as const;
  const K = new Constants(f);
  const S: Scratch = { t: f.local(v128), r: f.local(v128), p: f.local(v128), a: f.local(v128), e: f.local(v128) };
  const lo = f.local(v128), hi = f.local(v128), v = f.local(v128), ig = f.local(v128), c2 = f.local(v128);
  const q = f.local(i32), gateBytes = f.local(i32), end = f.local(i32);
  f.get(MP).i32(4).i32Mul().set(gateBytes);
  f.get(gateBytes).set(end);
  forLoop(f, q, () => f.i32(0), () => f.get(end), 16, () => {
    const gate = (n: number): void => {
      f.get(Z).get(q).i32Add();
      if (n > 0) f.get(gateBytes).i32(n).i32Mul().i32Add();
      f.v128Load().set(v);
    };
    // σ(i)·tanh(g)
    gate(0);
    viaF64(f, K, S, lo, hi, v, sigmoid64);
    f.set(ig);
    gate(2);
    viaF64(f, K, S, lo, hi, v, tanh64);
    f.get(ig).f32x4Mul().set(ig);
    // c′ = σ(f)·c + σ(i)·tanh(g)
    gate(1);
    viaF64(f, K, S, lo, hi, v, sigmoid64);
    f.get(C).get(q).i32Add().v128Load().f32x4Mul().get(ig).f32x4Add().set(c2);
    f.get(COUT).get(q).i32Add().get(c2).v128Store();
    // h′ = σ(o)·tanh(c′)
    gate(3);
    viaF64(f, K, S, lo, hi, v, sigmoid64);
    f.set(ig);
    viaF64(f, K, S, lo, hi, c2, tanh64);
    f.get(ig).f32x4Mul().set(v);
    f.get(HOUT).get(q).i32Add().get(v).v128Store();
  });
  return f;
}

/** Build the module bytes. The memory is imported as `env.memory`. */
export function buildCellModule(memory: { shared: boolean; maxPages: number }): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: memory.maxPages, shared: memory.shared });
  for (const fl of [F32, F64]) mod.addFunction(gates(fl), `gates_${fl.sfx}`);
  mod.addFunction(lstmF32(), 'lstm_f32');
  return mod.toBytes();
}

/** Signature of `gates_<dt>`. */
export type GatesExport = (batch: number, H: number, kx: number, wx: number, wh: number, x: number, h: number, bias: number, z: number, mp: number) => void;
/** Signature of `lstm_f32`. */
export type LstmExport = (mp: number, z: number, c: number, hOut: number, cOut: number) => void;
