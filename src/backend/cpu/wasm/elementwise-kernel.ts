/**
 * Generates the WebAssembly SIMD module for elementwise maps and full reductions
 * (float32 with f32x4, float64 with f64x2), assembled at load time like the gemm module.
 *
 * Exported functions (all addresses in bytes, counts in elements):
 * - `u_<op>_<dt>(x, o, n)`: `o[i] = op(x[i])`;
 * - `b_<op>_<dt>_<mode>(a, b, o, n)`: `o[i] = a[i] op b[i]`, where mode `vv` reads both
 *   operands as vectors, `vs` broadcasts the single element at `b`, `sv` the one at `a`;
 * - `r_<op>_<dt>(x, n) → f64`: sum (accumulated in float64, as the JavaScript loops do),
 *   max or min (NaN-propagating) of `x[0..n)`.
 *
 * Maps process whole vectors: `n` is rounded up to the vector width, so callers leave 16
 * bytes of slack after every buffer (the extra lanes compute garbage nobody reads).
 * Reductions handle the tail exactly. Outputs may alias inputs (in-place maps).
 *
 * Results are bit-identical to the JavaScript loops: add, sub, mul, div, sqrt, neg, abs,
 * relu, maximum, minimum and the comparisons are the same IEEE operations on the same
 * operands, and exp/sigmoid replay V8's Math.exp algorithm lane by lane in float64 (then
 * round once to float32 for float32 tensors, as storing into a Float32Array does).
 *
 * @module
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './assembler.js';

const { i32, f64, v128 } = ValType;

/** Element types with kernels. */
export type VecDType = 'float32' | 'float64';

/** Unary maps with a SIMD kernel, per dtype. */
export const SIMD_UNARY = {
  float32: ['neg', 'abs', 'sqrt', 'relu', 'exp', 'sigmoid'],
  float64: ['neg', 'abs', 'sqrt', 'relu', 'exp', 'sigmoid'],
} as const;
export type SimdUnaryOp = (typeof SIMD_UNARY)['float32'][number];

/** Binary maps with a SIMD kernel (both dtypes). */
export const SIMD_BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const;
export type SimdBinaryOp = (typeof SIMD_BINARY)[number];

/** Full reductions with a SIMD kernel (both dtypes). */
export const SIMD_REDUCE = ['sum', 'max', 'min'] as const;
export type SimdReduceOp = (typeof SIMD_REDUCE)[number];

/** Binary operand modes: vector-vector, vector-scalar, scalar-vector. */
export const MODES = ['vv', 'vs', 'sv'] as const;
export type Mode = (typeof MODES)[number];

export const dtSuffix = (d: VecDType): string => (d === 'float32' ? 'f32' : 'f64');

/** Per-dtype SIMD instruction choices. */
interface Lanes {
  e: number;
  lanes: number;
  splatLoad(f: FunctionBuilder): FunctionBuilder;
  splat(f: FunctionBuilder, v: number): FunctionBuilder;
  add(f: FunctionBuilder): FunctionBuilder;
  sub(f: FunctionBuilder): FunctionBuilder;
  mul(f: FunctionBuilder): FunctionBuilder;
  div(f: FunctionBuilder): FunctionBuilder;
  min(f: FunctionBuilder): FunctionBuilder;
  max(f: FunctionBuilder): FunctionBuilder;
  pmax(f: FunctionBuilder): FunctionBuilder;
  neg(f: FunctionBuilder): FunctionBuilder;
  abs(f: FunctionBuilder): FunctionBuilder;
  sqrt(f: FunctionBuilder): FunctionBuilder;
  cmp: Record<'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne', (f: FunctionBuilder) => FunctionBuilder>;
}

const F32: Lanes = {
  e: 4, lanes: 4,
  splatLoad: (f) => f.v128Load32Splat(), splat: (f, v) => f.f32x4Const(v),
  add: (f) => f.f32x4Add(), sub: (f) => f.f32x4Sub(), mul: (f) => f.f32x4Mul(), div: (f) => f.f32x4Div(),
  min: (f) => f.f32x4Min(), max: (f) => f.f32x4Max(), pmax: (f) => f.f32x4Pmax(),
  neg: (f) => f.f32x4Neg(), abs: (f) => f.f32x4Abs(), sqrt: (f) => f.f32x4Sqrt(),
  cmp: {
    gt: (f) => f.f32x4Gt(), ge: (f) => f.f32x4Ge(), lt: (f) => f.f32x4Lt(),
    le: (f) => f.f32x4Le(), eq: (f) => f.f32x4Eq(), ne: (f) => f.f32x4Ne(),
  },
};

const F64: Lanes = {
  e: 8, lanes: 2,
  splatLoad: (f) => f.v128Load64Splat(), splat: (f, v) => f.f64x2Const(v),
  add: (f) => f.f64x2Add(), sub: (f) => f.f64x2Sub(), mul: (f) => f.f64x2Mul(), div: (f) => f.f64x2Div(),
  min: (f) => f.f64x2Min(), max: (f) => f.f64x2Max(), pmax: (f) => f.f64x2Pmax(),
  neg: (f) => f.f64x2Neg(), abs: (f) => f.f64x2Abs(), sqrt: (f) => f.f64x2Sqrt(),
  cmp: {
    gt: (f) => f.f64x2Gt(), ge: (f) => f.f64x2Ge(), lt: (f) => f.f64x2Lt(),
    le: (f) => f.f64x2Le(), eq: (f) => f.f64x2Eq(), ne: (f) => f.f64x2Ne(),
  },
};

const lanesOf = (d: VecDType): Lanes => (d === 'float32' ? F32 : F64);

/**
 * Vector constants hoisted out of the loops: each distinct constant gets a local, set once
 * at the point where the pool was created (V8 would otherwise rebuild a v128.const on
 * every use inside the loop, several instructions each).
 */
class ConstPool {
  private readonly locals = new Map<string, number>();
  private readonly at: number;

  constructor(private readonly f: FunctionBuilder) {
    this.at = f.mark();
  }

  private get(key: string, push: () => void): number {
    let l = this.locals.get(key);
    if (l === undefined) {
      const local = this.f.local(v128);
      l = local;
      this.locals.set(key, l);
      this.f.insertAt(this.at, () => {
        push();
        this.f.set(local);
      });
    }
    return l;
  }

  /** Local holding an f32x4 splat of `v`. */
  f32(v: number): number {
    return this.get(`f32:${Math.fround(v)}`, () => this.f.f32x4Const(v));
  }

  /** Local holding an i32x4 splat of `v`. */
  i32(v: number): number {
    return this.get(`i32:${v | 0}`, () => this.f.i32x4Const(v));
  }

  /** Local holding an f64x2 splat of `v`. */
  f64(v: number): number {
    return this.get(`f64:${Object.is(v, -0) ? '-0' : v}`, () => this.f.f64x2Const(v));
  }

  /** Local holding the float64 sign-bit mask in both lanes. */
  i64Sign(): number {
    return this.get('i64:sign', () => this.f.f64x2ConstBits(0x80000000, 0));
  }

  /** Local holding a splat of `v` in the lanes of `L`. */
  splat(L: Lanes, v: number): number {
    return L.lanes === 4 ? this.f32(v) : this.f64(v);
  }
}

/**
 * `do { body(); ptrs += 16 } while (ptrs[0] < end)` over whole vectors, skipped when n ≤ 0.
 * `ptrs[0]` is the output pointer; `n` an element count (local).
 */
function vectorLoop(f: FunctionBuilder, L: Lanes, n: number, ptrs: number[], body: () => void): void {
  const end = f.local(i32);
  f.get(n).i32(0).i32GtS().if();
  // end = o + ceil(n / lanes) · 16
  f.get(ptrs[0]!).get(n).i32(L.lanes - 1).i32Add().i32(L.lanes === 4 ? 2 : 1).i32ShrU().i32(4).i32Shl().i32Add().set(end);
  f.loop();
  body();
  for (const p of ptrs) f.inc(p, 16);
  f.get(ptrs[0]!).get(end).i32LtU().brIf(0);
  f.end();
  f.end();
}

// ---------------------------------------------------------------- exp and sigmoid, bit-exact
//
// The JavaScript loops compute Math.exp in float64 (V8's port of fdlibm's e_exp.c) and, for
// float32 tensors, round that once. The kernels below evaluate the same algorithm with the
// same float64 operations in the same order on both lanes of an f64x2, so the results are
// bit-identical to the loops: the branches of the scalar code become lane masks. WebAssembly
// never fuses a multiply-add, so every rounding matches.

/** A float64 from the two 32-bit halves of its IEEE encoding. */
function fromBits(hi: number, lo = 0): number {
  const b = new Uint32Array([lo >>> 0, hi >>> 0]);
  return new Float64Array(b.buffer)[0]!;
}

const EXP = {
  /** |x| below this (high word 0x3FD62E43) means k = 0: no argument reduction. */
  halfLn2: fromBits(0x3fd62e43),
  /** |x| < 2⁻²⁸: the result is 1 + x. */
  tiny: fromBits(0x3e300000),
  overflow: 7.09782712893383973096e+02,
  underflow: -7.45133219101941108420e+02,
  ln2Hi: 6.93147180369123816490e-01,
  ln2Lo: 1.90821492927058770002e-10,
  invLn2: 1.44269504088896338700e+00,
  p: [1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05, -1.65339022054652515390e-06, 4.13813679705723846039e-08],
  /** V8 returns this for exp(1) exactly (its reduction would miss the last bit). */
  e: 2.718281828459045,
  /** 2⁵² + 1023: adding it to a small integer j puts j + 1023 in the low bits of the encoding. */
  magic: 2 ** 52 + 1023,
};

/**
 * Push x clamped to [lo, hi], NaN kept. pmax(x, lo) = x < lo ? lo : x and pmin(x, hi) =
 * hi < x ? hi : x pass a NaN x through, and each is one instruction; IEEE max/min (which
 * V8 has to build from eight, to order NaN and signed zeros) are not needed for a clamp.
 */
function clamp(f: FunctionBuilder, k: ConstPool, x: number, lo: number, hi: number): FunctionBuilder {
  return f.get(x).get(k.f64(lo)).f64x2Pmax().get(k.f64(hi)).f64x2Pmin();
}

/**
 * exp of the f64x2s in locals `xs`, left in locals `out` (one per input). Per lane, as the
 * scalar code: k = trunc(x/ln2 ± ½) (0 when |x| ≤ ½ln2), hi = x − k·ln2Hi, lo = k·ln2Lo,
 * r = hi − lo, c = r − r²·P(r²), y = 1 − ((lo − r·c/(2 − c)) − hi), result y·2ᵏ (as
 * y·2^⌊k/2⌋·2^⌈k/2⌉, which rounds once, like the scalar code's split scaling near the ends
 * of the range); special lanes (|x| < 2⁻²⁸, x = 1, overflow, underflow) are selected at the
 * end. Several inputs are evaluated step by step side by side, so the processor overlaps
 * their dependency chains (the polynomial and the division are long ones).
 *
 * With `forFloat32` the lanes are widened float32 values whose results are rounded to
 * float32 afterwards: x is clamped to [−746, 710] instead (the results there overflow or
 * underflow all the same), and the |x| < 2⁻²⁸ and x = 1 lanes need no special case (their
 * float64 results differ from the scalar code's by at most an ulp, far from any float32
 * rounding boundary: 1 + x with |x| < 2⁻²⁸, and e).
 */
function exp64(f: FunctionBuilder, k: ConstPool, xs: number[], out: number[], forFloat32 = false): void {
  const m = xs.length;
  const L = (): number[] => Array.from({ length: m }, () => f.local(v128));
  const ax = L(), t = L(), hi = L(), lo = L(), r = L(), rr = L(), c = L(), k1 = L(), x = L();
  const each = (fn: (i: number) => void): void => { for (let i = 0; i < m; i++) fn(i); };
  if (forFloat32) each((i) => clamp(f, k, xs[i]!, -746, 710).set(x[i]!));
  else each((i) => f.get(xs[i]!).set(x[i]!));
  each((i) => f.get(x[i]!).f64x2Abs().set(ax[i]!));
  // t = trunc(invLn2·x + copysign(½, x)), forced to 0 where |x| is below ½ln2
  each((i) => {
    f.get(k.f64(EXP.invLn2)).get(x[i]!).f64x2Mul();
    f.get(x[i]!).get(k.i64Sign()).v128And().get(k.f64(0.5)).v128Or().f64x2Add().f64x2Trunc();
    f.get(ax[i]!).get(k.f64(EXP.halfLn2)).f64x2Lt().v128AndNot().set(t[i]!);
  });
  each((i) => f.get(x[i]!).get(t[i]!).get(k.f64(EXP.ln2Hi)).f64x2Mul().f64x2Sub().set(hi[i]!));
  each((i) => f.get(t[i]!).get(k.f64(EXP.ln2Lo)).f64x2Mul().set(lo[i]!));
  each((i) => f.get(hi[i]!).get(lo[i]!).f64x2Sub().set(r[i]!));
  each((i) => f.get(r[i]!).get(r[i]!).f64x2Mul().set(rr[i]!));
  // c = r − rr·(P1 + rr·(P2 + rr·(P3 + rr·(P4 + rr·P5))))
  each((i) => f.get(k.f64(EXP.p[4]!)).set(c[i]!));
  for (let j = 3; j >= 0; j--) each((i) => f.get(c[i]!).get(rr[i]!).f64x2Mul().get(k.f64(EXP.p[j]!)).f64x2Add().set(c[i]!));
  each((i) => f.get(r[i]!).get(c[i]!).get(rr[i]!).f64x2Mul().f64x2Sub().set(c[i]!));
  // y = 1 − ((lo − (r·c)/(2 − c)) − hi), into out
  each((i) => {
    f.get(k.f64(1)).get(lo[i]!).get(r[i]!).get(c[i]!).f64x2Mul().get(k.f64(2)).get(c[i]!).f64x2Sub().f64x2Div().f64x2Sub();
    f.get(hi[i]!).f64x2Sub().f64x2Sub().set(out[i]!);
  });
  // · 2^k1 · 2^k2 with k1 = ⌊k/2⌋, k2 = k − k1 (each a normal power of two). 2^j is built
  // from the double j + 2⁵² + 1023, whose low mantissa bits hold the biased exponent j + 1023:
  // shifting its encoding left by 52 leaves exactly the encoding of 2^j.
  each((i) => f.get(t[i]!).get(k.f64(0.5)).f64x2Mul().f64x2Floor().set(k1[i]!));
  each((i) => f.get(out[i]!).get(k1[i]!).get(k.f64(EXP.magic)).f64x2Add().i32(52).i64x2Shl().f64x2Mul().set(out[i]!));
  each((i) => f.get(out[i]!).get(t[i]!).get(k1[i]!).f64x2Sub().get(k.f64(EXP.magic)).f64x2Add().i32(52).i64x2Shl().f64x2Mul().set(out[i]!));
  if (forFloat32) return;
  // special lanes
  each((i) => {
    const o = out[i]!, xi = x[i]!;
    f.get(k.f64(1)).get(xi).f64x2Add().get(o).get(ax[i]!).get(k.f64(EXP.tiny)).f64x2Lt().v128Bitselect().set(o);
    f.get(k.f64(EXP.e)).get(o).get(xi).get(k.f64(1)).f64x2Eq().v128Bitselect().set(o);
    f.get(k.f64(Infinity)).get(o).get(xi).get(k.f64(EXP.overflow)).f64x2Gt().v128Bitselect();
    f.get(xi).get(k.f64(EXP.underflow)).f64x2Lt().v128AndNot().set(o);
  });
}

/**
 * The logistic function as the JavaScript loop computes it, for the f64x2s in locals `xs`
 * into locals `out`: with e = exp(−|x|), 1/(1 + e) where x ≥ 0, else e/(1 + e) (NaN stays NaN).
 */
function sigmoid64(f: FunctionBuilder, k: ConstPool, xs: number[], out: number[], forFloat32 = false): void {
  const m = xs.length;
  const e = Array.from({ length: m }, () => f.local(v128)), d = Array.from({ length: m }, () => f.local(v128));
  const nx = Array.from({ length: m }, () => f.local(v128));
  for (let i = 0; i < m; i++) f.get(xs[i]!).f64x2Abs().f64x2Neg().set(nx[i]!);
  exp64(f, k, nx, e, forFloat32);
  for (let i = 0; i < m; i++) f.get(k.f64(1)).get(e[i]!).f64x2Add().set(d[i]!);
  for (let i = 0; i < m; i++) {
    f.get(k.f64(1)).get(d[i]!).f64x2Div();
    f.get(e[i]!).get(d[i]!).f64x2Div();
    f.get(xs[i]!).get(k.f64(0)).f64x2Ge().v128Bitselect().set(out[i]!);
  }
}

/**
 * exp for widened float32 lanes, whose results are rounded to float32 afterwards: x clamped
 * to [−104, 89] (beyond, the float32 result is 0 or ∞ either way), n = round(x·log₂e),
 * r = x − n·ln2 with fdlibm's two-part ln2 (n·ln2Hi exact), eʳ by its Taylor polynomial of
 * degree 11 (truncation below 2⁻⁴⁵·⁵ for |r| ≤ ½ln2) in Estrin's form, times 2ⁿ. No division and no special
 * lanes, so it costs about two thirds of {@link exp64}. It is used only because rounding its
 * result to float32 gives exactly what rounding Math.exp's does, checked for every float32
 * input by `node --import tsx bench/exhaustive-exp.ts` (the float32 spec re-checks edges).
 */
/** Degree of expF32Lanes's Taylor polynomial (see bench/exhaustive-exp.ts). */
const EXP_F32_DEGREE = 13;

function expF32Lanes(f: FunctionBuilder, k: ConstPool, xs: number[], out: number[]): void {
  const m = xs.length;
  const L = (): number[] => Array.from({ length: m }, () => f.local(v128));
  const x = L(), n = L(), r = L();
  const each = (fn: (i: number) => void): void => { for (let i = 0; i < m; i++) fn(i); };
  each((i) => clamp(f, k, xs[i]!, -104, 89).set(x[i]!));
  each((i) => f.get(x[i]!).get(k.f64(Math.LOG2E)).f64x2Mul().f64x2Nearest().set(n[i]!));
  each((i) => {
    f.get(x[i]!).get(n[i]!).get(k.f64(EXP.ln2Hi)).f64x2Mul().f64x2Sub();
    f.get(n[i]!).get(k.f64(EXP.ln2Lo)).f64x2Mul().f64x2Sub().set(r[i]!);
  });
  // Estrin's scheme, not Horner's: a dependency chain of ~8 operations instead of 2·degree,
  // so the loop is not bound by the latency of one long chain
  const a: number[] = [1];
  for (let d = 1; d <= EXP_F32_DEGREE; d++) a.push(a[d - 1]! / d);
  // level 0: terms c0 + c1·r, c2 + c3·r, …; each next level pairs terms with the next power r^(2^level)
  let terms: number[][] = [];
  for (let j = 0; j < a.length; j += 2) {
    const t = L();
    if (j + 1 < a.length) each((i) => f.get(k.f64(a[j + 1]!)).get(r[i]!).f64x2Mul().get(k.f64(a[j]!)).f64x2Add().set(t[i]!));
    else each((i) => f.get(k.f64(a[j]!)).set(t[i]!));
    terms.push(t);
  }
  let pw = r;
  while (terms.length > 1) {
    const sq = L();
    each((i) => f.get(pw[i]!).get(pw[i]!).f64x2Mul().set(sq[i]!));
    pw = sq;
    const next: number[][] = [];
    for (let j = 0; j < terms.length; j += 2) {
      if (j + 1 === terms.length) { next.push(terms[j]!); break; }
      const t = L(), lo = terms[j]!, hi = terms[j + 1]!;
      each((i) => f.get(hi[i]!).get(pw[i]!).f64x2Mul().get(lo[i]!).f64x2Add().set(t[i]!));
      next.push(t);
    }
    terms = next;
  }
  each((i) => f.get(terms[0]![i]!).set(out[i]!));
  each((i) => f.get(out[i]!).get(n[i]!).get(k.f64(EXP.magic)).f64x2Add().i32(52).i64x2Shl().f64x2Mul().set(out[i]!));
}

type Fn64 = (f: FunctionBuilder, k: ConstPool, xs: number[], out: number[], forFloat32?: boolean) => void;

/** A float64 function applied to the four float32 lanes of local `x` (widened, computed side by side, rounded once), pushed. */
function viaF64(f: FunctionBuilder, k: ConstPool, x: number, fn: Fn64): void {
  const w0 = f.local(v128), w1 = f.local(v128), r0 = f.local(v128), r1 = f.local(v128);
  f.get(x).f64x2PromoteLowF32x4().set(w0);
  f.get(x).get(x).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).f64x2PromoteLowF32x4().set(w1);
  fn(f, k, [w0, w1], [r0, r1], true);
  f.get(r0).f32x4DemoteF64x2Zero().get(r1).f32x4DemoteF64x2Zero().shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
}

/** Push op(x) for the vector in local `x` (may overwrite `x`). */
function unaryBody(f: FunctionBuilder, k: ConstPool, L: Lanes, op: SimdUnaryOp, x: number): void {
  switch (op) {
    case 'neg': L.neg(f.get(x)); return;
    case 'abs': L.abs(f.get(x)); return;
    case 'sqrt': L.sqrt(f.get(x)); return;
    // pmax(x, 0) = x < 0 ? 0 : x, like the JS loop: NaN and −0 pass through
    case 'relu': L.pmax(f.get(x).get(k.splat(L, 0))); return;
    case 'exp':
    case 'sigmoid': {
      const fn = op === 'exp' ? exp64 : sigmoid64;
      if (L.lanes === 4) viaF64(f, k, x, op === 'exp' ? expF32Lanes : fn);
      else {
        const r = f.local(v128);
        fn(f, k, [x], [r]);
        f.get(r);
      }
      return;
    }
  }
}

function unaryFn(L: Lanes, op: SimdUnaryOp): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32], []);
  const [X, O, N] = [0, 1, 2] as const;
  const x = f.local(v128);
  const k = new ConstPool(f);
  vectorLoop(f, L, N, [O, X], () => {
    f.get(X).v128Load().set(x);
    f.get(O);
    unaryBody(f, k, L, op, x);
    f.v128Store();
  });
  return f;
}

function binaryFn(L: Lanes, op: SimdBinaryOp, mode: Mode): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32], []);
  const [A, B, O, N] = [0, 1, 2, 3] as const;
  const s = f.local(v128);
  const k = new ConstPool(f);
  if (mode === 'vs') L.splatLoad(f.get(B)).set(s);
  if (mode === 'sv') L.splatLoad(f.get(A)).set(s);
  const ptrs = mode === 'vv' ? [O, A, B] : mode === 'vs' ? [O, A] : [O, B];
  vectorLoop(f, L, N, ptrs, () => {
    f.get(O);
    if (mode === 'sv') f.get(s);
    else f.get(A).v128Load();
    if (mode === 'vs') f.get(s);
    else f.get(B).v128Load();
    switch (op) {
      case 'add': L.add(f); break;
      case 'sub': L.sub(f); break;
      case 'mul': L.mul(f); break;
      case 'div': L.div(f); break;
      case 'maximum': L.max(f); break;
      case 'minimum': L.min(f); break;
      // all-ones mask & bits of 1.0 → 1.0, else 0
      default: L.cmp[op](f); f.get(k.splat(L, 1)).v128And(); break;
    }
    f.v128Store();
  });
  return f;
}

/**
 * Full reduction. Sum: float64 accumulators (float32 lanes are widened first), four
 * independent ones; max/min: NaN-propagating vector max/min. The tail is done in scalars.
 */
function reduceFn(dt: VecDType, op: SimdReduceOp): FunctionBuilder {
  const L = lanesOf(dt);
  const f = new FunctionBuilder([i32, i32], [f64]);
  const [X, N] = [0, 1] as const;
  const acc = [f.local(v128), f.local(v128), f.local(v128), f.local(v128)];
  const v = f.local(v128), end = f.local(i32), res = f.local(f64);
  const step = 32; // bytes per iteration: two vectors
  const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
  for (const a of acc) (dt === 'float32' && op !== 'sum' ? f.f32x4Const(init) : f.f64x2Const(init)).set(a);
  // end of the whole-iteration part
  f.get(X).get(N).i32(L.e).i32Mul().i32(-step).i32And().i32Add().set(end);
  f.get(X).get(end).i32LtU().if().loop();
  for (let k = 0; k < 2; k++) {
    f.get(X).v128Load(k * 16).set(v);
    if (op === 'sum') {
      if (dt === 'float32') {
        const lo = acc[2 * k]!, hi = acc[2 * k + 1]!;
        f.get(lo).get(v).f64x2PromoteLowF32x4().f64x2Add().set(lo);
        f.get(hi).get(v).get(v).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).f64x2PromoteLowF32x4().f64x2Add().set(hi);
      } else {
        f.get(acc[k]!).get(v).f64x2Add().set(acc[k]!);
      }
    } else {
      f.get(acc[k]!).get(v);
      if (op === 'max') L.max(f);
      else L.min(f);
      f.set(acc[k]!);
    }
  }
  f.inc(X, step);
  f.get(X).get(end).i32LtU().brIf(0);
  f.end().end();
  // combine lanes into a scalar f64
  if (op === 'sum') {
    f.get(acc[0]!).get(acc[1]!).f64x2Add().get(acc[2]!).get(acc[3]!).f64x2Add().f64x2Add().set(v);
    f.get(v).f64x2ExtractLane(0).get(v).f64x2ExtractLane(1).f64Add().set(res);
  } else {
    f.get(acc[0]!).get(acc[1]!);
    if (op === 'max') L.max(f);
    else L.min(f);
    f.set(v);
    f.f64(init).set(res);
    for (let l = 0; l < L.lanes; l++) {
      f.get(res).get(v);
      if (dt === 'float32') f.f32x4ExtractLane(l).f64PromoteF32();
      else f.f64x2ExtractLane(l);
      if (op === 'max') f.f64Max();
      else f.f64Min();
      f.set(res);
    }
  }
  // scalar tail
  f.get(X).get(N).i32(L.e).i32Mul().i32(step - 1).i32And().i32Add().set(end);
  f.get(X).get(end).i32LtU().if().loop();
  f.get(res).get(X);
  if (dt === 'float32') f.f32Load().f64PromoteF32();
  else f.f64Load();
  if (op === 'sum') f.f64Add();
  else if (op === 'max') f.f64Max();
  else f.f64Min();
  f.set(res);
  f.inc(X, L.e);
  f.get(X).get(end).i32LtU().brIf(0);
  f.end().end();
  f.get(res);
  return f;
}

/** The module bytes; the memory is imported as `env.memory`. */
export function buildElementwiseModule(memory: { shared: boolean; maxPages: number }): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: memory.maxPages, shared: memory.shared });
  for (const dt of ['float32', 'float64'] as const) {
    const L = lanesOf(dt), sfx = dtSuffix(dt);
    for (const op of SIMD_UNARY[dt]) mod.addFunction(unaryFn(L, op), `u_${op}_${sfx}`);
    for (const op of SIMD_BINARY) for (const m of MODES) mod.addFunction(binaryFn(L, op, m), `b_${op}_${sfx}_${m}`);
    for (const op of SIMD_REDUCE) mod.addFunction(reduceFn(dt, op), `r_${op}_${sfx}`);
  }
  return mod.toBytes();
}

/** Signatures of the exports. */
export type UnaryExport = (x: number, o: number, n: number) => void;
export type BinaryExport = (a: number, b: number, o: number, n: number) => void;
export type ReduceExport = (x: number, n: number) => number;
