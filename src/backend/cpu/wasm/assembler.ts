/**
 * A small WebAssembly binary emitter.
 *
 * Enough of the format to build compute kernels at load time from TypeScript:
 * a module with a type, import (one memory), function, export and code section,
 * and a function-body builder covering the scalar control flow, integer and
 * float arithmetic, memory access and the 128-bit SIMD instructions that the
 * matrix kernels need. No text format, no validation beyond what the engine
 * does when the bytes are compiled: the engine is the validator.
 *
 * @module
 */

/** Value types, by their binary encoding (a plain object, so it survives isolated transpilation). */
export const ValType = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
} as const;
/** One of the {@link ValType} encodings. */
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Growable byte buffer with the primitive encodings of the binary format. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  /** Number of bytes written so far. */
  get length(): number {
    return this.len;
  }

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** One raw byte. */
  u8(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  /** Raw bytes. */
  bytes(v: ArrayLike<number>): this {
    this.reserve(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  /** Unsigned LEB128 (values up to 2^32 - 1). */
  uleb(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uleb: bad value ${v}`);
    do {
      let byte = v & 0x7f;
      v = Math.floor(v / 128);
      if (v !== 0) byte |= 0x80;
      this.u8(byte);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 (values in the int32 range, or i64 values that fit a double exactly). */
  sleb(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`sleb: bad value ${v}`);
    for (;;) {
      const byte = v & 0x7f;
      v = Math.floor(v / 128);
      // Done once the remaining value is pure sign extension of bit 6 of this byte.
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
        this.u8(byte);
        return this;
      }
      this.u8(byte | 0x80);
    }
  }

  /** A length-prefixed UTF-8 name. */
  name(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.uleb(b.length).bytes(b);
  }

  /** Little-endian IEEE float32. */
  f32(v: number): this {
    const t = new Uint8Array(new Float32Array([v]).buffer);
    return this.bytes(t);
  }

  /** Little-endian IEEE float64. */
  f64(v: number): this {
    const t = new Uint8Array(new Float64Array([v]).buffer);
    return this.bytes(t);
  }

  /** Move the bytes written since `from` to position `at` (≤ from), shifting the bytes in between. */
  moveTail(from: number, at: number): void {
    if (at < 0 || at > from || from > this.len) throw new RangeError('moveTail: bad positions');
    const tail = this.buf.slice(from, this.len);
    this.buf.copyWithin(at + tail.length, at, from);
    this.buf.set(tail, at);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.buf.subarray(0, this.len));
  }
}

/** Memory immediate: natural alignment as log2 of bytes, plus a constant byte offset. */
interface MemArg {
  align: number;
  offset: number;
}

// Opcodes used below; values from the core and SIMD specifications.
const OP = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, brIf: 0x0d, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, f64Load: 0x2b, i32Store: 0x36, f32Store: 0x38, f64Store: 0x39,
  i32Const: 0x41, f32Const: 0x43, f64Const: 0x44,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GtU: 0x4b,
  i32LeS: 0x4c, i32LeU: 0x4d, i32GeS: 0x4e, i32GeU: 0x4f, f32Lt: 0x5d, f64Lt: 0x63,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32DivS: 0x6d, i32DivU: 0x6e, i32RemS: 0x6f, i32RemU: 0x70,
  i32And: 0x71, i32Or: 0x72, i32Xor: 0x73, i32Shl: 0x74, i32ShrS: 0x75, i32ShrU: 0x76,
  f32Add: 0x92, f32Mul: 0x94, f64Add: 0xa0, f64Mul: 0xa2, f64Min: 0xa4, f64Max: 0xa5,
  f64PromoteF32: 0xbb, f32DemoteF64: 0xb6,
} as const;

// SIMD opcodes (after the 0xfd prefix, LEB128-encoded).
const SIMD = {
  load: 0x00, load32Splat: 0x09, load64Splat: 0x0a, store: 0x0b, const: 0x0c, shuffle: 0x0d,
  f32x4Splat: 0x13, f64x2Splat: 0x14,
  f32x4ExtractLane: 0x1f, f32x4ReplaceLane: 0x20, f64x2ExtractLane: 0x21, f64x2ReplaceLane: 0x22,
  store32Lane: 0x5a, store64Lane: 0x5b, load32Zero: 0x5c, load64Zero: 0x5d,
  f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f64x2Add: 0xf0, f64x2Sub: 0xf1, f64x2Mul: 0xf2,
  i32x4Splat: 0x11, i32x4ExtractLane: 0x1b,
  f32x4Eq: 0x41, f32x4Ne: 0x42, f32x4Lt: 0x43, f32x4Gt: 0x44, f32x4Le: 0x45, f32x4Ge: 0x46,
  f64x2Eq: 0x47, f64x2Ne: 0x48, f64x2Lt: 0x49, f64x2Gt: 0x4a, f64x2Le: 0x4b, f64x2Ge: 0x4c,
  v128Not: 0x4d, v128And: 0x4e, v128AndNot: 0x4f, v128Or: 0x50, v128Xor: 0x51, v128Bitselect: 0x52,
  f32x4DemoteF64x2Zero: 0x5e, f64x2PromoteLowF32x4: 0x5f,
  f32x4Ceil: 0x67, f32x4Floor: 0x68, f32x4Trunc: 0x69, f32x4Nearest: 0x6a, f64x2Nearest: 0x94,
  i32x4Shl: 0xab, i32x4ShrS: 0xac, i32x4ShrU: 0xad, i32x4Add: 0xae, i32x4Sub: 0xb1,
  i64x2Shl: 0xcb, i64x2Add: 0xce, i64x2Sub: 0xd1,
  f32x4Abs: 0xe0, f32x4Neg: 0xe1, f32x4Sqrt: 0xe3, f32x4Div: 0xe7, f32x4Min: 0xe8, f32x4Max: 0xe9,
  f32x4Pmin: 0xea, f32x4Pmax: 0xeb,
  f64x2Abs: 0xec, f64x2Neg: 0xed, f64x2Sqrt: 0xef, f64x2Div: 0xf3, f64x2Min: 0xf4, f64x2Max: 0xf5,
  f64x2Pmin: 0xf6, f64x2Pmax: 0xf7,
  i32x4TruncSatF32x4S: 0xf8, f32x4ConvertI32x4S: 0xfa, f64x2ConvertLowI32x4S: 0xfe,
  i32x4AllTrue: 0xa3, v128AnyTrue: 0x53,
  i32x4TruncSatF64x2SZero: 0xfc, i64x2ExtendLowI32x4S: 0xc7, f64x2Trunc: 0x7a, f64x2Floor: 0x75, f64x2Ceil: 0x74,
} as const;

/**
 * Builds one function body. Parameters are locals 0..params-1; {@link local}
 * declares more. Each instruction method appends its encoding and returns `this`,
 * so bodies read as a sequence of stack-machine instructions.
 */
export class FunctionBuilder {
  private readonly code = new ByteWriter();
  private readonly extra: ValType[] = [];
  private depth = 0;

  constructor(
    /** Parameter types. */
    readonly params: readonly ValType[],
    /** Result types. */
    readonly results: readonly ValType[],
  ) {}

  /** Declare a new local of type `t`; returns its index. */
  local(t: ValType): number {
    this.extra.push(t);
    return this.params.length + this.extra.length - 1;
  }

  private op(b: number): this {
    this.code.u8(b);
    return this;
  }

  private mem(b: number, m: MemArg): this {
    this.code.u8(b).uleb(m.align).uleb(m.offset);
    return this;
  }

  private simd(sub: number): this {
    this.code.u8(0xfd).uleb(sub);
    return this;
  }

  private simdMem(sub: number, m: MemArg): this {
    this.simd(sub).code.uleb(m.align).uleb(m.offset);
    return this;
  }

  /** The current code position, for {@link insertAt}. */
  mark(): number {
    return this.code.length;
  }

  /**
   * Insert instructions at an earlier {@link mark}: `emit` appends them as usual, then they
   * are moved there. Valid because instruction encodings are position-independent; the
   * inserted sequence must leave the stack and block nesting as it found them.
   */
  insertAt(mark: number, emit: () => void): this {
    const from = this.code.length;
    emit();
    this.code.moveTail(from, mark);
    return this;
  }

  // ---- control flow ----
  /** `block`, with no result unless `result` is given; pair with {@link end}. */
  block(result?: ValType): this { this.depth++; return this.op(OP.block).op(result ?? 0x40); }
  /** `loop` with no result; pair with {@link end}. */
  loop(): this { this.depth++; return this.op(OP.loop).op(0x40); }
  /** `if`, with no result unless `result` is given; pops an i32 condition. */
  if(result?: ValType): this { this.depth++; return this.op(OP.if).op(result ?? 0x40); }
  /** `else` branch of the innermost `if`. */
  else(): this { return this.op(OP.else); }
  /** Close the innermost block, loop or if. */
  end(): this {
    if (this.depth === 0) throw new Error('FunctionBuilder.end: no open block');
    this.depth--;
    return this.op(OP.end);
  }
  /** Branch to the label `depth` levels out (0 = innermost). */
  br(depth: number): this { this.op(OP.br).code.uleb(depth); return this; }
  /** Conditional branch; pops an i32. */
  brIf(depth: number): this { this.op(OP.brIf).code.uleb(depth); return this; }
  /** Return from the function. */
  return(): this { return this.op(OP.return); }
  /** Call function index `f`. */
  call(f: number): this { this.op(OP.call).code.uleb(f); return this; }
  /** Drop the top of the stack. */
  drop(): this { return this.op(OP.drop); }
  /** `select`: pops cond, b, a; pushes cond ? a : b. */
  select(): this { return this.op(OP.select); }
  /** Trap. */
  unreachable(): this { return this.op(OP.unreachable); }

  // ---- locals ----
  /** Push local `i`. */
  get(i: number): this { this.op(OP.localGet).code.uleb(i); return this; }
  /** Pop into local `i`. */
  set(i: number): this { this.op(OP.localSet).code.uleb(i); return this; }
  /** Store into local `i`, keeping the value on the stack. */
  tee(i: number): this { this.op(OP.localTee).code.uleb(i); return this; }

  // ---- constants and integer arithmetic ----
  /** Push an i32 constant. */
  i32(v: number): this { this.op(OP.i32Const).code.sleb(v | 0); return this; }
  /** Push an f32 constant. */
  f32(v: number): this { this.op(OP.f32Const).code.f32(v); return this; }
  /** Push an f64 constant. */
  f64(v: number): this { this.op(OP.f64Const).code.f64(v); return this; }
  i32Add(): this { return this.op(OP.i32Add); }
  i32Sub(): this { return this.op(OP.i32Sub); }
  i32Mul(): this { return this.op(OP.i32Mul); }
  i32DivU(): this { return this.op(OP.i32DivU); }
  i32RemU(): this { return this.op(OP.i32RemU); }
  i32And(): this { return this.op(OP.i32And); }
  f32Lt(): this { return this.op(OP.f32Lt); }
  f64Lt(): this { return this.op(OP.f64Lt); }
  i32Or(): this { return this.op(OP.i32Or); }
  i32Shl(): this { return this.op(OP.i32Shl); }
  i32ShrU(): this { return this.op(OP.i32ShrU); }
  i32Eqz(): this { return this.op(OP.i32Eqz); }
  i32Eq(): this { return this.op(OP.i32Eq); }
  i32Ne(): this { return this.op(OP.i32Ne); }
  i32LtS(): this { return this.op(OP.i32LtS); }
  i32LtU(): this { return this.op(OP.i32LtU); }
  i32GtS(): this { return this.op(OP.i32GtS); }
  i32GeS(): this { return this.op(OP.i32GeS); }
  i32LeS(): this { return this.op(OP.i32LeS); }
  i32GeU(): this { return this.op(OP.i32GeU); }
  f32Add(): this { return this.op(OP.f32Add); }
  f32Mul(): this { return this.op(OP.f32Mul); }
  f64Add(): this { return this.op(OP.f64Add); }
  f64Mul(): this { return this.op(OP.f64Mul); }
  f64Min(): this { return this.op(OP.f64Min); }
  f64Max(): this { return this.op(OP.f64Max); }
  f64PromoteF32(): this { return this.op(OP.f64PromoteF32); }
  f32DemoteF64(): this { return this.op(OP.f32DemoteF64); }

  /** Add a constant to the i32 on top of the stack (no-op for 0). */
  addConst(v: number): this { return v === 0 ? this : this.i32(v).i32Add(); }
  /** `local[i] += v` for an i32 local. */
  inc(i: number, v: number): this { return this.get(i).i32(v).i32Add().set(i); }
  /** `local[i] += local[j]` for i32 locals. */
  incBy(i: number, j: number): this { return this.get(i).get(j).i32Add().set(i); }

  // ---- scalar memory ----
  i32Load(offset = 0): this { return this.mem(OP.i32Load, { align: 2, offset }); }
  i32Store(offset = 0): this { return this.mem(OP.i32Store, { align: 2, offset }); }
  f32Load(offset = 0): this { return this.mem(OP.f32Load, { align: 2, offset }); }
  f32Store(offset = 0): this { return this.mem(OP.f32Store, { align: 2, offset }); }
  f64Load(offset = 0): this { return this.mem(OP.f64Load, { align: 3, offset }); }
  f64Store(offset = 0): this { return this.mem(OP.f64Store, { align: 3, offset }); }

  // ---- SIMD ----
  /** `v128.load` (alignment hint 16 bytes; unaligned addresses are still legal). */
  v128Load(offset = 0): this { return this.simdMem(SIMD.load, { align: 4, offset }); }
  /** `v128.store`. */
  v128Store(offset = 0): this { return this.simdMem(SIMD.store, { align: 4, offset }); }
  /** Load one f32/i32 and broadcast it to all 4 lanes. */
  v128Load32Splat(offset = 0): this { return this.simdMem(SIMD.load32Splat, { align: 2, offset }); }
  /** Load one f64/i64 and broadcast it to both lanes. */
  v128Load64Splat(offset = 0): this { return this.simdMem(SIMD.load64Splat, { align: 3, offset }); }
  /** Load 32 bits into lane 0, zeroing the rest. */
  v128Load32Zero(offset = 0): this { return this.simdMem(SIMD.load32Zero, { align: 2, offset }); }
  /** Load 64 bits into lane 0, zeroing the rest. */
  v128Load64Zero(offset = 0): this { return this.simdMem(SIMD.load64Zero, { align: 3, offset }); }
  /** Store 32-bit lane `lane` of the vector on top of the stack. */
  v128Store32Lane(lane: number, offset = 0): this {
    this.simdMem(SIMD.store32Lane, { align: 2, offset }).code.u8(lane);
    return this;
  }
  /** Store 64-bit lane `lane`. */
  v128Store64Lane(lane: number, offset = 0): this {
    this.simdMem(SIMD.store64Lane, { align: 3, offset }).code.u8(lane);
    return this;
  }
  /** Push a v128 constant given as 16 bytes. */
  v128Const(bytes: ArrayLike<number>): this {
    if (bytes.length !== 16) throw new RangeError('v128Const: need 16 bytes');
    this.simd(SIMD.const).code.bytes(bytes);
    return this;
  }
  /** The all-zero vector. */
  v128Zero(): this { return this.v128Const(new Uint8Array(16)); }
  /** `i8x16.shuffle` with 16 lane indices into the concatenation of the two operands. */
  shuffle(lanes: ArrayLike<number>): this {
    if (lanes.length !== 16) throw new RangeError('shuffle: need 16 lanes');
    this.simd(SIMD.shuffle).code.bytes(lanes);
    return this;
  }
  f32x4Splat(): this { return this.simd(SIMD.f32x4Splat); }
  f64x2Splat(): this { return this.simd(SIMD.f64x2Splat); }
  f32x4ExtractLane(l: number): this { this.simd(SIMD.f32x4ExtractLane).code.u8(l); return this; }
  f64x2ExtractLane(l: number): this { this.simd(SIMD.f64x2ExtractLane).code.u8(l); return this; }
  f32x4ReplaceLane(l: number): this { this.simd(SIMD.f32x4ReplaceLane).code.u8(l); return this; }
  f64x2ReplaceLane(l: number): this { this.simd(SIMD.f64x2ReplaceLane).code.u8(l); return this; }
  f32x4Add(): this { return this.simd(SIMD.f32x4Add); }
  f32x4Sub(): this { return this.simd(SIMD.f32x4Sub); }
  f32x4Mul(): this { return this.simd(SIMD.f32x4Mul); }
  f64x2Add(): this { return this.simd(SIMD.f64x2Add); }
  f64x2Sub(): this { return this.simd(SIMD.f64x2Sub); }
  f64x2Mul(): this { return this.simd(SIMD.f64x2Mul); }
  f32x4Div(): this { return this.simd(SIMD.f32x4Div); }
  f64x2Div(): this { return this.simd(SIMD.f64x2Div); }
  /** NaN-propagating minimum (−0 < +0), like `Math.min`. */
  f32x4Min(): this { return this.simd(SIMD.f32x4Min); }
  /** NaN-propagating maximum (−0 < +0), like `Math.max`. */
  f32x4Max(): this { return this.simd(SIMD.f32x4Max); }
  f64x2Min(): this { return this.simd(SIMD.f64x2Min); }
  f64x2Max(): this { return this.simd(SIMD.f64x2Max); }
  /** Pseudo-minimum `b < a ? b : a` (pops a, b). */
  f32x4Pmin(): this { return this.simd(SIMD.f32x4Pmin); }
  /** Pseudo-maximum `a < b ? b : a` (pops a, b). */
  f32x4Pmax(): this { return this.simd(SIMD.f32x4Pmax); }
  f64x2Pmin(): this { return this.simd(SIMD.f64x2Pmin); }
  f64x2Pmax(): this { return this.simd(SIMD.f64x2Pmax); }
  f32x4Abs(): this { return this.simd(SIMD.f32x4Abs); }
  f32x4Neg(): this { return this.simd(SIMD.f32x4Neg); }
  f32x4Sqrt(): this { return this.simd(SIMD.f32x4Sqrt); }
  f64x2Abs(): this { return this.simd(SIMD.f64x2Abs); }
  f64x2Neg(): this { return this.simd(SIMD.f64x2Neg); }
  f64x2Sqrt(): this { return this.simd(SIMD.f64x2Sqrt); }
  f32x4Eq(): this { return this.simd(SIMD.f32x4Eq); }
  f32x4Ne(): this { return this.simd(SIMD.f32x4Ne); }
  f32x4Lt(): this { return this.simd(SIMD.f32x4Lt); }
  f32x4Gt(): this { return this.simd(SIMD.f32x4Gt); }
  f32x4Le(): this { return this.simd(SIMD.f32x4Le); }
  f32x4Ge(): this { return this.simd(SIMD.f32x4Ge); }
  f64x2Eq(): this { return this.simd(SIMD.f64x2Eq); }
  f64x2Ne(): this { return this.simd(SIMD.f64x2Ne); }
  f64x2Lt(): this { return this.simd(SIMD.f64x2Lt); }
  f64x2Gt(): this { return this.simd(SIMD.f64x2Gt); }
  f64x2Le(): this { return this.simd(SIMD.f64x2Le); }
  f64x2Ge(): this { return this.simd(SIMD.f64x2Ge); }
  /** Round to nearest, ties to even. */
  f32x4Nearest(): this { return this.simd(SIMD.f32x4Nearest); }
  f32x4Floor(): this { return this.simd(SIMD.f32x4Floor); }
  f32x4Ceil(): this { return this.simd(SIMD.f32x4Ceil); }
  f32x4Trunc(): this { return this.simd(SIMD.f32x4Trunc); }
  f64x2Nearest(): this { return this.simd(SIMD.f64x2Nearest); }
  f64x2Trunc(): this { return this.simd(SIMD.f64x2Trunc); }
  f64x2Floor(): this { return this.simd(SIMD.f64x2Floor); }
  f64x2Ceil(): this { return this.simd(SIMD.f64x2Ceil); }
  /** Saturating f64 → int32 into lanes 0, 1 (lanes 2, 3 zero; NaN → 0). */
  i32x4TruncSatF64x2SZero(): this { return this.simd(SIMD.i32x4TruncSatF64x2SZero); }
  /** 1 if every i32 lane is non-zero, else 0 (pops a v128, pushes an i32). */
  i32x4AllTrue(): this { return this.simd(SIMD.i32x4AllTrue); }
  /** 1 if any bit is set, else 0 (pops a v128, pushes an i32). */
  v128AnyTrue(): this { return this.simd(SIMD.v128AnyTrue); }
  /** Sign-extend i32 lanes 0, 1 to two i64 lanes. */
  i64x2ExtendLowI32x4S(): this { return this.simd(SIMD.i64x2ExtendLowI32x4S); }
  /** Saturating float → int32 (NaN → 0). */
  i32x4TruncSatF32x4S(): this { return this.simd(SIMD.i32x4TruncSatF32x4S); }
  f32x4ConvertI32x4S(): this { return this.simd(SIMD.f32x4ConvertI32x4S); }
  /** Lanes 0, 1 of an i32x4 as two f64. */
  f64x2ConvertLowI32x4S(): this { return this.simd(SIMD.f64x2ConvertLowI32x4S); }
  /** Lanes 0, 1 of an f32x4 as two f64. */
  f64x2PromoteLowF32x4(): this { return this.simd(SIMD.f64x2PromoteLowF32x4); }
  /** Two f64 lanes as f32 lanes 0, 1 (lanes 2, 3 zero). */
  f32x4DemoteF64x2Zero(): this { return this.simd(SIMD.f32x4DemoteF64x2Zero); }
  i32x4Splat(): this { return this.simd(SIMD.i32x4Splat); }
  i32x4ExtractLane(l: number): this { this.simd(SIMD.i32x4ExtractLane).code.u8(l); return this; }
  i32x4Add(): this { return this.simd(SIMD.i32x4Add); }
  i32x4Sub(): this { return this.simd(SIMD.i32x4Sub); }
  /** Shift each lane left by an i32 scalar (pops v128, i32). */
  i32x4Shl(): this { return this.simd(SIMD.i32x4Shl); }
  i32x4ShrS(): this { return this.simd(SIMD.i32x4ShrS); }
  i32x4ShrU(): this { return this.simd(SIMD.i32x4ShrU); }
  i64x2Add(): this { return this.simd(SIMD.i64x2Add); }
  i64x2Sub(): this { return this.simd(SIMD.i64x2Sub); }
  i64x2Shl(): this { return this.simd(SIMD.i64x2Shl); }
  v128Not(): this { return this.simd(SIMD.v128Not); }
  v128And(): this { return this.simd(SIMD.v128And); }
  /** `a & ~b` (pops a, b). */
  v128AndNot(): this { return this.simd(SIMD.v128AndNot); }
  v128Or(): this { return this.simd(SIMD.v128Or); }
  v128Xor(): this { return this.simd(SIMD.v128Xor); }
  /** `(a & c) | (b & ~c)` (pops a, b, c). */
  v128Bitselect(): this { return this.simd(SIMD.v128Bitselect); }
  /** Push an f32x4 constant with all lanes `v`. */
  f32x4Const(v: number): this {
    const b = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    return this.v128Const(b);
  }
  /** Push an f64x2 constant with both lanes `v`. */
  f64x2Const(v: number): this {
    const b = new Uint8Array(new Float64Array([v, v]).buffer);
    return this.v128Const(b);
  }
  /** Push an f64x2 constant whose lanes both have the IEEE bit pattern `hi:lo` (two 32-bit words). */
  f64x2ConstBits(hi: number, lo: number): this {
    const b = new Uint8Array(new Uint32Array([lo >>> 0, hi >>> 0, lo >>> 0, hi >>> 0]).buffer);
    return this.v128Const(b);
  }
  /** Push an i32x4 constant with all lanes `v`. */
  i32x4Const(v: number): this {
    const b = new Uint8Array(new Int32Array([v, v, v, v]).buffer);
    return this.v128Const(b);
  }

  /** Encoded body: local declarations (run-length grouped), instructions, final `end`. */
  encode(): Uint8Array {
    if (this.depth !== 0) throw new Error(`FunctionBuilder: ${this.depth} unclosed block(s)`);
    const w = new ByteWriter();
    const groups: [number, ValType][] = [];
    for (const t of this.extra) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    w.uleb(groups.length);
    for (const [count, t] of groups) w.uleb(count).u8(t);
    w.bytes(this.code.finish()).u8(OP.end);
    const body = w.finish();
    return new ByteWriter().uleb(body.length).bytes(body).finish();
  }
}

/** Options of the single imported linear memory. */
export interface MemoryImport {
  module: string;
  name: string;
  /** Initial size in 64 KiB pages. */
  minPages: number;
  /** Maximum size in pages; required when `shared`. */
  maxPages?: number;
  shared?: boolean;
}

/**
 * Assembles a module from functions built with {@link FunctionBuilder}.
 * Function indices are assigned in order of {@link addFunction} (no function imports).
 */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeSigs: [readonly ValType[], readonly ValType[]][] = [];
  private readonly funcs: { type: number; body: FunctionBuilder }[] = [];
  private readonly exports: { name: string; func: number }[] = [];
  private memory: MemoryImport | null = null;

  /** Import the module's linear memory. */
  importMemory(m: MemoryImport): this {
    if (m.shared && m.maxPages === undefined) throw new Error('shared memory needs maxPages');
    this.memory = m;
    return this;
  }

  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(',')}>${results.join(',')}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.length;
      this.types.push(key);
      this.typeSigs.push([params, results]);
    }
    return i;
  }

  /** Add a function; if `exportName` is given it is exported under that name. Returns its index. */
  addFunction(body: FunctionBuilder, exportName?: string): number {
    const idx = this.funcs.length;
    this.funcs.push({ type: this.typeIndex(body.params, body.results), body });
    if (exportName !== undefined) this.exports.push({ name: exportName, func: idx });
    return idx;
  }

  /**
   * Reserve the index of a function whose body is supplied later with
   * {@link defineFunction}, so functions can call each other in any order.
   */
  declareFunction(params: readonly ValType[], results: readonly ValType[], exportName?: string): number {
    const idx = this.funcs.length;
    this.funcs.push({ type: this.typeIndex(params, results), body: new FunctionBuilder(params, results) });
    if (exportName !== undefined) this.exports.push({ name: exportName, func: idx });
    return idx;
  }

  /** Supply the body of a function reserved with {@link declareFunction}. */
  defineFunction(idx: number, body: FunctionBuilder): void {
    const f = this.funcs[idx];
    if (!f) throw new RangeError(`defineFunction: no function ${idx}`);
    if (f.type !== this.typeIndex(body.params, body.results)) throw new TypeError('defineFunction: signature mismatch');
    f.body = body;
  }

  private static section(out: ByteWriter, id: number, content: ByteWriter): void {
    const bytes = content.finish();
    out.u8(id).uleb(bytes.length).bytes(bytes);
  }

  /** The module's binary encoding. */
  toBytes(): Uint8Array<ArrayBuffer> {
    const out = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

    const types = new ByteWriter().uleb(this.typeSigs.length);
    for (const [p, r] of this.typeSigs) {
      types.u8(0x60).uleb(p.length);
      for (const t of p) types.u8(t);
      types.uleb(r.length);
      for (const t of r) types.u8(t);
    }
    ModuleBuilder.section(out, 1, types);

    if (this.memory) {
      const m = this.memory;
      const imp = new ByteWriter().uleb(1).name(m.module).name(m.name).u8(0x02);
      // Limits flag: bit 0 = has max, bit 1 = shared.
      const flag = (m.maxPages !== undefined ? 1 : 0) | (m.shared ? 2 : 0);
      imp.u8(flag).uleb(m.minPages);
      if (m.maxPages !== undefined) imp.uleb(m.maxPages);
      ModuleBuilder.section(out, 2, imp);
    }

    const fn = new ByteWriter().uleb(this.funcs.length);
    for (const f of this.funcs) fn.uleb(f.type);
    ModuleBuilder.section(out, 3, fn);

    const ex = new ByteWriter().uleb(this.exports.length);
    for (const e of this.exports) ex.name(e.name).u8(0x00).uleb(e.func);
    ModuleBuilder.section(out, 7, ex);

    const code = new ByteWriter().uleb(this.funcs.length);
    for (const f of this.funcs) code.bytes(f.body.encode());
    ModuleBuilder.section(out, 10, code);

    return out.finish();
  }
}
