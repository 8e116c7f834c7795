import type { FloatArray } from '../../tensor/dtype.js';
import { ARENA_LIMIT_BYTES, WasmGemmEngine } from './wasm/gemm-kernel.js';
import { gemmFewRows } from './gemv.js';
import { runtime } from './runtime.js';
import type { ThreadPool } from './threads.js';

/**
 * Implementations of {@link gemm}:
 * - `'js'`: plain JavaScript loops (always available),
 * - `'wasm'`: WebAssembly SIMD, packed and register-tiled, on the calling thread,
 * - `'threaded'`: the same kernel split across `worker_threads` (Node only).
 */
export type GemmVariant = 'js' | 'wasm' | 'threaded';

/*
 * Size thresholds, in multiply-adds (m·n·k). Measured on the 2-core dev box (load ~2 from
 * other jobs) with
 *   node --import tsx bench/crossover.ts gemm
 * which times each variant on square shapes: wasm beats the JS loops from 12³ (2.7 vs 3.0 µs);
 * the threaded variant (wake-up, duplicated packing of A, waiting for the worker) lost to
 * one thread up to 192³ (376 vs 385 µs) and won from 256³ (783 vs 884 µs). At 128³ a worker
 * takes ~2x as long as the caller for the same half (106 vs ~55 µs): it reads operands the
 * caller just staged from another core's cache; with work claiming the pool only breaks
 * even there (107 vs 110 µs).
 */
const WASM_MIN_MACS = 12 * 12 * 12;
/*
 * With m ≤ fewRowsMax and a unit-stride B the few-rows kernels (./gemv.ts) take over:
 * through matmul(x, transpose(W)) (µs per call, JS vs wasm, same run):
 * 1×8×8 2.9 vs 4.6, 1×16×16 4.3 vs 4.2, 1×16×32 5.3 vs 4.5, 1×32×32 7.1 vs 4.5,
 * 1×64×64 19 vs 8.2; 1×784→128: 391 vs 72 (from 161 on the packed driver). The op's own
 * ~4 µs (view, allocation, tensor) dominates below ~1k multiply-adds.
 */
const FEW_ROWS_MIN_MACS = 256;
/*
 * The MLP benchmark's two large products (128×128×784 forward, 128×784×128 for the weight's
 * gradient; 12.8M multiply-adds) lost on the pool even at load 1.4, timed with the variants
 * forced in one run (µs, wasm vs threaded): 1038 vs 1215 and 918 vs 1051. Hence 256³, where
 * the crossover measurement above first saw the pool win.
 */
const THREADED_MIN_MACS = 256 * 256 * 256;

let forced: GemmVariant | 'auto' = 'auto';

/**
 * Dispatch knobs. `fewRowsMax`: the most rows of A for which the single-thread wasm variant
 * runs the few-rows kernels (./gemv.ts) instead of the packed driver; 0 turns them off.
 * @internal For tests (to reach the packed driver on small m) and benchmarks.
 */
export const gemmTuning = { fewRowsMax: 8 };

/** The wasm engine (on the runtime's memory, shared when threads are possible); null if wasm SIMD is missing. */
function getEngine(): WasmGemmEngine | null {
  return runtime()?.engine ?? null;
}

let privateEngine: WasmGemmEngine | null | undefined;

/**
 * For the single-thread variant: an engine on a private (non-shared) memory when the
 * runtime's is shared. Typed-array copies into and out of shared memory go through V8's
 * relaxed-atomic memcpy, about half as fast (5.5 MB: 0.26 vs 0.14 ms); a 128³ product
 * copies 192 KB.
 */
function getSingleEngine(): WasmGemmEngine | null {
  return singleThreadEngine();
}

/**
 * The engine whose memory the single-thread wasm kernels stage operands in (private,
 * non-shared where possible; see above); null without wasm SIMD.
 * @internal For the other single-thread kernels (pooling).
 */
export function singleThreadEngine(): WasmGemmEngine | null {
  const e = getEngine();
  if (!e || !e.shared) return e;
  if (privateEngine === undefined) privateEngine = WasmGemmEngine.create(false);
  return privateEngine ?? e;
}

/** The worker pool, started (in the background) on first use; null when unavailable. */
function getPool(): ThreadPool | null {
  return runtime()?.pool() ?? null;
}

/** Variants that can run in this runtime, cheapest first. */
export function gemmVariants(): GemmVariant[] {
  const out: GemmVariant[] = ['js'];
  if (getEngine()) out.push('wasm');
  if (getPool()) out.push('threaded');
  return out;
}

/**
 * Force one implementation for every later {@link gemm} call (for parity tests and
 * benchmarks), or go back to size-based dispatch with `'auto'`.
 * @throws RangeError if the variant is not available here.
 */
export function setGemmVariant(v: GemmVariant | 'auto'): void {
  if (v !== 'auto' && !gemmVariants().includes(v)) throw new RangeError(`gemm variant '${v}' is not available here`);
  forced = v;
}

/** The variant set with {@link setGemmVariant} (`'auto'` by default). */
export function getGemmVariant(): GemmVariant | 'auto' {
  return forced;
}

/**
 * The worker pool behind the `'threaded'` variant, or null.
 * @internal For tests and benchmarks (waiting for start-up, counting worker jobs).
 */
export function gemmThreadPool(): ThreadPool | null {
  return getPool();
}

/** The pool's gate key for a gemm of `macs` multiply-adds (size classes of a power of 2). */
const gateKey = (macs: number): string => `gemm:${Math.round(Math.log2(macs))}`;

/** The variant auto-dispatch picks for a problem of this size. */
function choose(m: number, n: number, k: number, unitB: boolean): GemmVariant {
  const macs = m * n * k;
  const fewRows = unitB && m <= gemmTuning.fewRowsMax;
  if (macs < (fewRows ? FEW_ROWS_MIN_MACS : WASM_MIN_MACS) || !getEngine()) return 'js';
  // Worth threading only if there is more than one register tile to split.
  // ... and only while the pool pays on this machine right now (see ThreadPool.worthIt)
  if (macs >= THREADED_MIN_MACS && Math.max(m, n) >= 16 && getPool()?.worthIt(gateKey(macs))) return 'threaded';
  return 'wasm';
}

/**
 * An engine with the few-rows kernels on which `gemm` would run an m×n×k product with a
 * column-contiguous B (x·Wᵀ with W [n, k]) — the runtime's shared one (gemm uses it when B is
 * resident, its private one with the same kernels otherwise) — or null where `gemm` would take
 * another path; for fused callers that must compute exactly what `gemm` computes.
 */
export function fewRowsEngine(m: number, n: number, k: number): WasmGemmEngine | null {
  if (m > gemmTuning.fewRowsMax || (forced === 'auto' ? choose(m, n, k, true) : forced) !== 'wasm') return null;
  return getEngine();
}

/**
 * General matrix multiply on strided row/column views:
 *   C[m×n] (+)= A[m×k] · B[k×n]
 * Element (i, j) of A is `a[aOff + i*aRs + j*aCs]`; likewise B. C is written at
 * `c[cOff + i*cRs + j]` (unit column stride). All arrays share one dtype.
 * Transposed operands are expressed through strides, so no copy is needed by callers.
 * With `accumulate` the product is added to C, otherwise C is overwritten.
 *
 * Small problems run as JavaScript loops, medium ones in WebAssembly SIMD, large ones
 * additionally split across worker threads; every path is synchronous.
 */
export function gemm(
  m: number, n: number, k: number,
  a: FloatArray, aOff: number, aRs: number, aCs: number,
  b: FloatArray, bOff: number, bRs: number, bCs: number,
  c: FloatArray, cOff: number, cRs: number,
  accumulate = false,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, cOff + i * cRs, cOff + i * cRs + n);
    return;
  }
  if ((a instanceof Float32Array) !== (c instanceof Float32Array) || (b instanceof Float32Array) !== (c instanceof Float32Array)) {
    throw new TypeError('gemm: a, b and c must all be Float32Array or all Float64Array');
  }
  let v = forced === 'auto' ? choose(m, n, k, bRs === 1 || bCs === 1) : forced;
  // resident operands (./resident.ts) are read in place, so only the runtime's memory will do
  const shared = getEngine();
  const resident = shared !== null && (shared.residentAddress(a) >= 0 || shared.residentAddress(b) >= 0);
  const eng = v === 'js' ? null : v === 'wasm' && !resident ? getSingleEngine() : shared;
  if (!eng) v = 'js';
  if (v === 'js' || !eng) {
    gemmJs(m, n, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, cRs, accumulate);
    return;
  }
  if (v === 'wasm' && m <= gemmTuning.fewRowsMax && gemmFewRows(eng, m, n, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, cRs, accumulate)) return;
  const p = v === 'threaded' ? getPool() : null;
  p?.wake();
  const parts = p ? 1 + p.readyCount() : 1;
  const dtype = c instanceof Float32Array ? 'float32' : 'float64';
  if (WasmGemmEngine.bytesNeeded(dtype, m, n, k, parts) > ARENA_LIMIT_BYTES) {
    splitGemm(m, n, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, cRs, accumulate);
    return;
  }
  // forced 'threaded' keeps one job per worker for the workers (tests rely on it); auto lets
  // the calling thread take any job a busy worker has not claimed yet
  const reserve = forced === 'threaded' ? parts - 1 : 0;
  eng.gemm(m, n, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, cRs, accumulate, parts, p ? (jobs) => p.run(jobs, reserve, undefined, gateKey(m * n * k)) : undefined);
}

/** Halve the largest dimension so each piece's staging fits the wasm arena. */
function splitGemm(
  m: number, n: number, k: number,
  a: FloatArray, aOff: number, aRs: number, aCs: number,
  b: FloatArray, bOff: number, bRs: number, bCs: number,
  c: FloatArray, cOff: number, cRs: number,
  accumulate: boolean,
): void {
  if (m >= n && m >= k) {
    const h = m >> 1;
    gemm(h, n, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, cRs, accumulate);
    gemm(m - h, n, k, a, aOff + h * aRs, aRs, aCs, b, bOff, bRs, bCs, c, cOff + h * cRs, cRs, accumulate);
  } else if (n >= k) {
    const h = n >> 1;
    gemm(m, h, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, cRs, accumulate);
    gemm(m, n - h, k, a, aOff, aRs, aCs, b, bOff + h * bCs, bRs, bCs, c, cOff + h, cRs, accumulate);
  } else {
    const h = k >> 1;
    gemm(m, n, h, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, cRs, accumulate);
    gemm(m, n, k - h, a, aOff + h * aCs, aRs, aCs, b, bOff + h * bRs, bRs, bCs, c, cOff, cRs, true);
  }
}

/**
 * JavaScript gemm for small problems. Row-contiguous B: each pass streams four rows of B
 * into one row of C (fewer C loads/stores than one k step at a time). Otherwise (B
 * column-contiguous or strided): dot products with four partial sums.
 */
function gemmJs(
  m: number, n: number, k: number,
  a: FloatArray, aOff: number, aRs: number, aCs: number,
  b: FloatArray, bOff: number, bRs: number, bCs: number,
  c: FloatArray, cOff: number, cRs: number,
  accumulate: boolean,
): void {
  if (bCs === 1) {
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * cRs;
      const ai = aOff + i * aRs;
      if (!accumulate) c.fill(0, ci, ci + n);
      let p = 0;
      for (; p + 3 < k; p += 4) {
        const a0 = a[ai + p * aCs]!, a1 = a[ai + (p + 1) * aCs]!, a2 = a[ai + (p + 2) * aCs]!, a3 = a[ai + (p + 3) * aCs]!;
        const b0 = bOff + p * bRs, b1 = b0 + bRs, b2 = b1 + bRs, b3 = b2 + bRs;
        for (let j = 0; j < n; j++) {
          c[ci + j] = c[ci + j]! + a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
        }
      }
      for (; p < k; p++) {
        const av = a[ai + p * aCs]!;
        const bp = bOff + p * bRs;
        for (let j = 0; j < n; j++) c[ci + j] = c[ci + j]! + av * b[bp + j]!;
      }
    }
    return;
  }
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * cRs;
    const ai = aOff + i * aRs;
    for (let j = 0; j < n; j++) {
      const bj = bOff + j * bCs;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let p = 0;
      if (aCs === 1 && bRs === 1) {
        // contiguous row of A and column of B (x·Wᵀ): no stride multiplies
        for (; p + 3 < k; p += 4) {
          const x = ai + p, y = bj + p;
          s0 += a[x]! * b[y]!;
          s1 += a[x + 1]! * b[y + 1]!;
          s2 += a[x + 2]! * b[y + 2]!;
          s3 += a[x + 3]! * b[y + 3]!;
        }
      }
      for (; p + 3 < k; p += 4) {
        s0 += a[ai + p * aCs]! * b[bj + p * bRs]!;
        s1 += a[ai + (p + 1) * aCs]! * b[bj + (p + 1) * bRs]!;
        s2 += a[ai + (p + 2) * aCs]! * b[bj + (p + 2) * bRs]!;
        s3 += a[ai + (p + 3) * aCs]! * b[bj + (p + 3) * bRs]!;
      }
      for (; p < k; p++) s0 += a[ai + p * aCs]! * b[bj + p * bRs]!;
      const s = s0 + s1 + (s2 + s3);
      c[ci + j] = accumulate ? c[ci + j]! + s : s;
    }
  }
}
