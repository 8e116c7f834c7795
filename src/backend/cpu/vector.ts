/**
 * WebAssembly SIMD elementwise maps and full reductions for large contiguous operands.
 *
 * The operands live in JavaScript typed arrays, so each call streams them through a small
 * scratch area in WebAssembly memory, chunk by chunk: copy a chunk in, run the SIMD kernel
 * on it in place, copy the result out. Chunks stay in the L2 cache, so the copies cost
 * little next to the scalar `Math.exp` or the float conversions of a JavaScript loop.
 *
 * Callers (elementwise.ts, reduce.ts) ask `tryUnary`/`tryBinary`/`tryReduce`; these
 * return false/undefined when the plain JavaScript loop should run instead (no kernel
 * for this op and dtype, operand too small, or the `'js'` variant forced).
 *
 * @module
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { runtime } from './runtime.js';
import { ARENA_LIMIT_BYTES, CONTROL_BYTES, type WasmJob } from './wasm/gemm-kernel.js';
import {
  type BinaryExport, type Mode, type ReduceExport, SIMD_BINARY, SIMD_REDUCE, SIMD_UNARY, type SimdBinaryOp,
  type SimdReduceOp, type SimdUnaryOp, type UnaryExport, type VecDType, buildElementwiseModule, dtSuffix,
} from './wasm/elementwise-kernel.js';

/**
 * Implementations of elementwise maps and of full reductions:
 * - `'js'`: typed-array loops (always available),
 * - `'wasm'`: WebAssembly SIMD on the calling thread, streamed through a scratch chunk,
 * - `'threaded'`: the same kernels on slices run by the worker pool (maps only; Node).
 */
export type VectorVariant = 'js' | 'wasm' | 'threaded';

/*
 * Thresholds (elements) from which the wasm kernels beat the JavaScript loops, measured on
 * the 2-core dev box (AMD EPYC, Node 20, shared with other jobs) with
 *   node --import tsx bench/crossover.ts vector reduce
 * which times the variants through the public ops over sizes 2^4..2^20. Crossovers seen:
 * exp 2^6–2^8 (float32 and float64), relu and add 2^8, sum 2^8; below them the wasm call
 * and the copies cost more than the loop saves. The threaded maps only pay for exp/sigmoid
 * (the others are bound by the copies); see `threaded` below.
 */
const MIN_ELEMENTS = {
  /** exp, sigmoid: the JavaScript loop calls Math.exp per element. */
  transcendental: 64,
  /** neg, abs, sqrt, relu and the binary arithmetic and comparisons. */
  arithmetic: 256,
  /** sum, max, min over all elements. */
  reduce: 256,
};

/** Largest chunk the scratch area holds (elements). */
const MAX_CHUNK = 1 << 16;

/**
 * Tuning knobs (results never depend on them, only speed), mutable for benchmarks and specs:
 * - `chunk`: elements per streamed chunk, at most 65536. `bench/crossover.ts chunk` (loaded
 *   box): exp flat from 4 Ki to 64 Ki; x + y at 2^20 improves up to 16 Ki (823 → 778 µs)
 *   and little beyond; 16 Ki keeps the two float64 scratch chunks (256 KiB) inside L2.
 * - `threadedMin`: elements from which auto dispatch runs exp/sigmoid on the worker pool
 *   (with work claiming, so a busy worker costs no wait). `bench/crossover.ts threads` at
 *   load ~2: the pool beat one thread from 2^12 (17 vs 20 µs), 2^14 by 28%, 2^16 by 34%.
 */
export const vectorTuning = { chunk: 16384, threadedMin: 1 << 14 };

const TRANSCENDENTAL = new Set<string>(['exp', 'sigmoid']);

const chunk = (): number => Math.max(16, Math.min(MAX_CHUNK, vectorTuning.chunk | 0));

let forcedMap: VectorVariant | 'auto' = 'auto';
let forcedReduce: VectorVariant | 'auto' = 'auto';

class VectorEngine {
  readonly memory: WebAssembly.Memory;
  private readonly unary = new Map<string, UnaryExport>();
  private readonly binary = new Map<string, BinaryExport>();
  private readonly reduce = new Map<string, ReduceExport>();
  private f32!: Float32Array;
  private f64!: Float64Array;
  /** Byte addresses of the two scratch buffers (each MAX_CHUNK float64 plus slack). */
  readonly bufA = 64;
  readonly bufB = 64 + MAX_CHUNK * 8 + 64;

  constructor() {
    const pages = Math.ceil((this.bufB + MAX_CHUNK * 8 + 64) / 65536);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const mod = new WebAssembly.Module(buildElementwiseModule({ shared: false, maxPages: pages }));
    const ex = new WebAssembly.Instance(mod, { env: { memory: this.memory } }).exports as Record<string, unknown>;
    for (const dt of ['float32', 'float64'] as const) {
      const s = dtSuffix(dt);
      for (const op of SIMD_UNARY[dt]) this.unary.set(`${op}_${s}`, ex[`u_${op}_${s}`] as UnaryExport);
      for (const op of SIMD_BINARY) for (const m of ['vv', 'vs', 'sv']) this.binary.set(`${op}_${s}_${m}`, ex[`b_${op}_${s}_${m}`] as BinaryExport);
      for (const op of SIMD_REDUCE) this.reduce.set(`${op}_${s}`, ex[`r_${op}_${s}`] as ReduceExport);
    }
    this.f32 = new Float32Array(this.memory.buffer);
    this.f64 = new Float64Array(this.memory.buffer);
  }

  private view(dt: VecDType): FloatArray {
    return dt === 'float32' ? this.f32 : this.f64;
  }

  unaryFn(op: string, dt: VecDType): UnaryExport | undefined {
    return this.unary.get(`${op}_${dtSuffix(dt)}`);
  }

  binaryFn(op: string, dt: VecDType, mode: Mode): BinaryExport | undefined {
    return this.binary.get(`${op}_${dtSuffix(dt)}_${mode}`);
  }

  reduceFn(op: string, dt: VecDType): ReduceExport | undefined {
    return this.reduce.get(`${op}_${dtSuffix(dt)}`);
  }

  /** o[oOff..+n] = op(x[xOff..+n]). */
  runUnary(fn: UnaryExport, dt: VecDType, x: FloatArray, xOff: number, o: FloatArray, oOff: number, n: number): void {
    const v = this.view(dt), e = v.BYTES_PER_ELEMENT, at = this.bufA / e, A = this.bufA, CHUNK = chunk();
    for (let s = 0; s < n; s += CHUNK) {
      const len = Math.min(CHUNK, n - s);
      v.set(x.subarray(xOff + s, xOff + s + len), at);
      fn(A, A, len);
      o.set(v.subarray(at, at + len), oOff + s);
    }
  }

  /** o = a op b, where a (b) is a vector or, in mode 'sv' ('vs'), the single element at aOff (bOff). */
  runBinary(fn: BinaryExport, dt: VecDType, mode: Mode, a: FloatArray, aOff: number, b: FloatArray, bOff: number, o: FloatArray, oOff: number, n: number): void {
    const v = this.view(dt), e = v.BYTES_PER_ELEMENT, atA = this.bufA / e, atB = this.bufB / e, A = this.bufA, B = this.bufB, CHUNK = chunk();
    if (mode === 'vs') v[atB] = b[bOff]!;
    if (mode === 'sv') v[atB] = a[aOff]!;
    for (let s = 0; s < n; s += CHUNK) {
      const len = Math.min(CHUNK, n - s);
      if (mode === 'vv') {
        v.set(a.subarray(aOff + s, aOff + s + len), atA);
        v.set(b.subarray(bOff + s, bOff + s + len), atB);
        fn(A, B, A, len);
      } else if (mode === 'vs') {
        v.set(a.subarray(aOff + s, aOff + s + len), atA);
        fn(A, B, A, len);
      } else {
        v.set(b.subarray(bOff + s, bOff + s + len), atA);
        fn(B, A, A, len);
      }
      o.set(v.subarray(atA, atA + len), oOff + s);
    }
  }

  /** Full reduction of x[off..+n], combining chunk results the way the JavaScript loop combines elements. */
  runReduce(fn: ReduceExport, op: SimdReduceOp, dt: VecDType, x: FloatArray, off: number, n: number): number {
    const v = this.view(dt), e = v.BYTES_PER_ELEMENT, at = this.bufA / e, A = this.bufA, CHUNK = chunk();
    let acc = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
    for (let s = 0; s < n; s += CHUNK) {
      const len = Math.min(CHUNK, n - s);
      v.set(x.subarray(off + s, off + s + len), at);
      const r = fn(A, len);
      if (op === 'sum') acc += r;
      else if (op === 'max') { if (r > acc || r !== r) acc = r; }
      else if (r < acc || r !== r) acc = r;
    }
    return acc;
  }
}

let engine: VectorEngine | null | undefined;

/** The engine, compiled on first use; null where WebAssembly SIMD is missing. */
function getEngine(): VectorEngine | null {
  if (engine === undefined) {
    try {
      engine = new VectorEngine();
    } catch {
      engine = null;
    }
  }
  return engine;
}

function dtypeOfArray(a: FloatArray): VecDType {
  return a instanceof Float32Array ? 'float32' : 'float64';
}

/** Variants that can run here (`'threaded'` only where the worker pool can start). */
export function vectorVariants(): VectorVariant[] {
  if (!getEngine()) return ['js'];
  const rt = runtime();
  return rt?.has('ew') && rt.pool() ? ['js', 'wasm', 'threaded'] : ['js', 'wasm'];
}

/**
 * Force one implementation of the elementwise maps (for parity tests and benchmarks), or go
 * back to size-based dispatch with `'auto'`. Ops without a SIMD kernel always run in JavaScript.
 * @throws RangeError if the variant is not available here.
 */
export function setElementwiseVariant(v: VectorVariant | 'auto'): void {
  if (v !== 'auto' && !vectorVariants().includes(v)) throw new RangeError(`elementwise variant '${v}' is not available here`);
  forcedMap = v;
}

/** The variant set with {@link setElementwiseVariant}. */
export function getElementwiseVariant(): VectorVariant | 'auto' {
  return forcedMap;
}

/**
 * Force one implementation of full reductions (sum, max, min over all elements), or `'auto'`.
 * Reductions have no threaded kernel (copying the operand in costs more than the sum):
 * `'threaded'` runs the wasm kernel on the calling thread.
 */
export function setReduceVariant(v: VectorVariant | 'auto'): void {
  if (v !== 'auto' && !vectorVariants().includes(v)) throw new RangeError(`reduce variant '${v}' is not available here`);
  forcedReduce = v;
}

/** The variant set with {@link setReduceVariant}. */
export function getReduceVariant(): VectorVariant | 'auto' {
  return forcedReduce;
}

/** The pool's gate key for a map (op and power-of-2 size class). */
const gateKey = (op: string, n: number): string => `map:${op}:${Math.round(Math.log2(n))}`;

/** Which implementation a map of `n` elements gets. */
function mapVariant(op: string, n: number): VectorVariant {
  if (forcedMap !== 'auto') return forcedMap;
  const heavy = TRANSCENDENTAL.has(op);
  if (n < (heavy ? MIN_ELEMENTS.transcendental : MIN_ELEMENTS.arithmetic)) return 'js';
  return heavy && n >= vectorTuning.threadedMin && runtime()?.pool()?.worthIt(gateKey(op, n)) ? 'threaded' : 'wasm';
}

/**
 * Whether a map of `n` elements runs as the plain JavaScript loop of ./elementwise.ts (so a
 * fused loop written with the same formulas gives bit-identical results).
 */
export function runsAsJsLoop(op: string, n: number): boolean {
  return mapVariant(op, n) === 'js';
}

/**
 * o[oOff..+n] = op(x[xOff..+n]) with a SIMD kernel, if one exists and pays here.
 * `x` and `o` have the same dtype. Returns false when the caller should run its JavaScript loop.
 */
export function tryUnary(op: string, x: FloatArray, xOff: number, o: FloatArray, oOff: number, n: number): boolean {
  const v = mapVariant(op, n);
  if (v === 'js') return false;
  const eng = getEngine();
  const dt = dtypeOfArray(o);
  if (!eng || dtypeOfArray(x) !== dt) return false;
  const fn = eng.unaryFn(op, dt);
  if (!fn) return false;
  if (v === 'threaded' && threaded(`u_${op}_${dtSuffix(dt)}`, dt, 'u', x, xOff, x, xOff, o, oOff, n)) return true;
  eng.runUnary(fn, dt, x, xOff, o, oOff, n);
  return true;
}

/**
 * o[oOff..+n] = a op b where each operand steps by 1 (a vector) or 0 (one broadcast element).
 * All three arrays share a dtype. Returns false when the caller should run its JavaScript loop.
 */
export function tryBinary(
  op: string, a: FloatArray, aOff: number, sa: 0 | 1, b: FloatArray, bOff: number, sb: 0 | 1,
  o: FloatArray, oOff: number, n: number,
): boolean {
  if ((sa | sb) === 0) return false;
  const v = mapVariant(op, n);
  if (v === 'js') return false;
  const eng = getEngine();
  const dt = dtypeOfArray(o);
  if (!eng || dtypeOfArray(a) !== dt || dtypeOfArray(b) !== dt) return false;
  const mode: Mode = sa === 0 ? 'sv' : sb === 0 ? 'vs' : 'vv';
  const fn = eng.binaryFn(op, dt, mode);
  if (!fn) return false;
  if (v === 'threaded' && threaded(`b_${op}_${dtSuffix(dt)}_${mode}`, dt, mode, a, aOff, b, bOff, o, oOff, n)) return true;
  eng.runBinary(fn, dt, mode, a, aOff, b, bOff, o, oOff, n);
  return true;
}

/**
 * The threaded path: stage the operands whole in the runtime's shared memory, split the
 * elements into one slice per thread (whole vectors), run the slices on the pool (the
 * calling thread takes the first), copy the result out. False if the pool is missing.
 */
function threaded(
  name: string, dt: VecDType, mode: Mode | 'u', a: FloatArray, aOff: number, b: FloatArray, bOff: number,
  o: FloatArray, oOff: number, n: number,
): boolean {
  const rt = runtime();
  const pool = rt?.pool();
  const fn = rt ? rt.fn('ew', name) : -1;
  if (!rt || !pool || fn < 0) return false;
  const e = dt === 'float32' ? 4 : 8;
  const A = CONTROL_BYTES, span = Math.ceil((n * e + 16) / 64) * 64, B = A + span;
  if (B + span > ARENA_LIMIT_BYTES) return false; // the chunked single-thread path has no limit
  pool.wake();
  const views = rt.engine.reserve(B + span);
  const v = dt === 'float32' ? views.f32 : views.f64;
  // the vector operand goes to A (the result is computed in place there), a scalar to B
  if (mode === 'sv') { v[B / e] = a[aOff]!; v.set(b.subarray(bOff, bOff + n), A / e); }
  else {
    v.set(a.subarray(aOff, aOff + n), A / e);
    if (mode === 'vs') v[B / e] = b[bOff]!;
    else if (mode === 'vv') v.set(b.subarray(bOff, bOff + n), B / e);
  }
  // a few slices per thread: whoever is free claims the next one (see ThreadPool.run)
  const parts = 4 * (1 + pool.readyCount());
  const slice = Math.ceil(n / parts / 16) * 16;
  const jobs: WasmJob[] = [];
  for (let s = 0; s < n; s += slice) {
    const len = Math.min(slice, n - s), off = s * e;
    const args = mode === 'u' ? [A + off, A + off, len]
      : mode === 'vv' ? [A + off, B + off, A + off, len]
        : mode === 'vs' ? [A + off, B, A + off, len]
          : [B, A + off, A + off, len];
    jobs.push({ fn, args: Int32Array.from(args) });
  }
  // forced 'threaded' leaves slices to the workers (tests rely on it); auto lets this thread take any
  if (jobs.length > 0) pool.run(jobs, forcedMap === 'threaded' ? pool.readyCount() : 0, undefined, gateKey(name.split('_')[1]!, n));
  o.set(v.subarray(A / e, A / e + n), oOff);
  return true;
}

/** sum/max/min of x[off..+n] with a SIMD kernel, or undefined when the caller should loop in JavaScript. */
export function tryReduce(op: string, x: FloatArray, off: number, n: number): number | undefined {
  if (forcedReduce === 'js' || (forcedReduce === 'auto' && n < MIN_ELEMENTS.reduce)) return undefined;
  // 'threaded' reductions run the wasm kernel here (see setReduceVariant)
  const eng = getEngine();
  if (!eng || !(SIMD_REDUCE as readonly string[]).includes(op)) return undefined;
  const dt = dtypeOfArray(x);
  const fn = eng.reduceFn(op, dt);
  if (!fn) return undefined;
  return eng.runReduce(fn, op as SimdReduceOp, dt, x, off, n);
}

/** Ops with a SIMD kernel for a dtype (for parity tests). */
export const simdOps = {
  unary: SIMD_UNARY as { readonly [D in VecDType]: readonly SimdUnaryOp[] },
  binary: SIMD_BINARY as readonly SimdBinaryOp[],
  reduce: SIMD_REDUCE as readonly SimdReduceOp[],
};
