/**
 * The few-rows gemm path (m ≤ `gemmTuning.fewRowsMax` in ./gemm.ts): matrix–vector products and small
 * batches, e.g. batch-1 inference through dense layers. It stages the operands into wasm
 * memory as they are (B is never packed) and runs the kernels of ./wasm/gemv-kernel.ts:
 * dot products when B's columns are contiguous (x·Wᵀ with W [out, in]), row axpys when
 * B's rows are.
 *
 * Resident weights (./resident.ts) are read in place, so for x [1,784]·Wᵀ with W [128,784]
 * float32 the dot kernel itself is most of the call (8.7–8.9 µs on one core, 11.4 G
 * multiply-adds/s; staging W used to cost more than the kernel). Products of at least
 * `gemvTuning.threadedMinMacs` multiply-adds split their columns with a polling worker
 * (`dotThreaded`), and a dense layer's bias and relu ride in the kernel (`denseDot`).
 *
 * @module
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { CONTROL_BYTES, JOB_ARGS, type WasmGemmEngine, type WasmJob } from './wasm/gemm-kernel.js';
import { runtime } from './runtime.js';


const align16 = (x: number): number => (x + 15) & ~15;

/**
 * Copy element (i, j) of a rows×cols strided view to `dst[at + i·ld + j]`, zeroing
 * `dst[at + i·ld + cols .. at + i·ld + ld)` (the padding the kernels read).
 */
function stageRows(
  dst: FloatArray, at: number, ld: number,
  src: FloatArray, off: number, rs: number, cs: number, rows: number, cols: number,
): void {
  for (let i = 0; i < rows; i++) {
    const s = off + i * rs, d = at + i * ld;
    if (cs === 1) dst.set(src.subarray(s, s + cols), d);
    else for (let j = 0; j < cols; j++) dst[d + j] = src[s + j * cs]!;
    if (ld > cols) dst.fill(0, d + cols, d + ld);
  }
}

/**
 * Copy the index span of a strided view whole (one memcpy) when it is dense enough;
 * returns the element index in `dst` of the view's element (0, 0), or −1 if the view is too
 * sparse for that.
 */
function stageSpan(dst: FloatArray, at: number, src: FloatArray, off: number, rs: number, cs: number, rows: number, cols: number): number {
  const lo = off + Math.min(0, (rows - 1) * rs) + Math.min(0, (cols - 1) * cs);
  const hi = off + Math.max(0, (rows - 1) * rs) + Math.max(0, (cols - 1) * cs);
  if (hi - lo + 1 > 2 * rows * cols + 64) return -1;
  dst.set(src.subarray(lo, hi + 1), at);
  return at + off - lo;
}

/**
 * Few-rows products of at least this many multiply-adds split their columns across the worker
 * pool (when the operands are in the shared memory). Below it the hand-off costs more than
 * the part it saves. @internal Exposed for tests and benchmarks.
 */
export const gemvTuning = { threadedMinMacs: 1 << 16 };

/** When the last product big enough to split came (ms, performance.now). */
let lastSplitCall = -Infinity;

/** The workers' jobs of a split, reused (the pool copies the arguments when it publishes). */
const splitJobs: WasmJob[] = [];

/**
 * Run the dot form (element addresses in the view, as in {@link gemmFewRows}) split over
 * column ranges, one per thread, if the engine is the runtime's shared one, the pool is up and
 * the product is big enough; false (having done nothing) otherwise. This thread computes the
 * first range itself while the workers take the others, and takes over any a worker has not
 * started, so a sleeping worker costs no wait. Each column's sum is the one-thread kernel's.
 */
function dotThreaded(
  eng: WasmGemmEngine, f32: boolean, m: number, n: number, kp: number,
  aAt: number, bAt: number, bLd: number, cAt: number, flags: number,
): boolean {
  if (m * n * kp < gemvTuning.threadedMinMacs || n < 8) return false;
  const rt = runtime();
  if (!rt || rt.engine !== eng || !eng.gemv) return false;
  const pool = rt.pool();
  const fn = rt.fn('gemv', f32 ? 'dot_f32' : 'dot_f64');
  const key = `gemv:${Math.round(Math.log2(m * n * kp))}`;
  if (!pool || fn < 0) return false;
  const polling = pool.pollingCount(), now = performance.now();
  const streaming = now - lastSplitCall < 1;
  lastSplitCall = now;
  if (polling === 0) {
    // waking a sleeping worker costs this call more than the split saves; in a stream of
    // calls it pays for the next ones
    if (streaming) pool.wake();
    return false;
  }
  if (!pool.worthIt(key)) return false;
  const e = f32 ? 4 : 8;
  const parts = Math.min(1 + polling, n >> 2);
  const per = Math.ceil(n / parts / 4) * 4; // whole blocks of 4 columns per range
  let count = 0;
  for (let j0 = per; j0 < n; j0 += per, count++) {
    const job = (splitJobs[count] ??= { fn, args: new Int32Array(JOB_ARGS) });
    job.fn = fn;
    job.args.set([m, Math.min(per, n - j0), kp * e, aAt * e, kp * e, (bAt + j0 * bLd) * e, bLd * e, (cAt + j0) * e, n * e, flags]);
  }
  const dot = f32 ? eng.gemv.dot_f32 : eng.gemv.dot_f64;
  // the same columns on the same thread every call: each core's cache keeps its part of B
  pool.run(splitJobs.slice(0, count), 0, () => dot(m, per, kp * e, aAt * e, kp * e, bAt * e, bLd * e, cAt * e, n * e, flags), key);
  return true;
}

/**
 * The dot form on staged operands (element addresses in the engine's view), split over the
 * pool when that pays. `flags`: the kernel's beta (1 accumulate into C, 2 relu).
 */
function runDot(
  eng: WasmGemmEngine, f32: boolean, m: number, n: number, kp: number,
  aAt: number, bAt: number, bLd: number, cAt: number, flags: number,
): void {
  if (dotThreaded(eng, f32, m, n, kp, aAt, bAt, bLd, cAt, flags)) return;
  const e = f32 ? 4 : 8;
  (f32 ? eng.gemv!.dot_f32 : eng.gemv!.dot_f64)(m, n, kp * e, aAt * e, kp * e, bAt * e, bLd * e, cAt * e, n * e, flags);
}

/**
 * A dense layer's `y = x·Wᵀ + b`, then relu when `relu`, on the dot form, for contiguous
 * x [m, k] and W [n, k] with k a whole number of vectors (a resident W is read in place, any
 * other copied in); false (nothing done) otherwise. The bias is staged as C and the kernel
 * adds the dot product to it, in the element type: the correctly rounded sum, as the add kernel computes it; relu is
 * the kernel's last step. So the values are bit for bit those of `gemm` then `add` then
 * `relu`, without their passes.
 */
export function denseDot(
  eng: WasmGemmEngine, m: number, n: number, k: number,
  x: FloatArray, xOff: number, w: FloatArray, wOff: number, b: FloatArray | null, bOff: number,
  relu: boolean, y: FloatArray,
): boolean {
  return denseDotRun(eng, m, [{ n, k, w, wOff, b, bOff, relu }], x, xOff, y);
}

/** One layer of {@link denseDotRun}: `[n, k]` weights from element `wOff` of `w`, bias `[n]` or null, relu. */
export interface DotLayer {
  readonly n: number;
  readonly k: number;
  readonly w: FloatArray;
  readonly wOff: number;
  readonly b: FloatArray | null;
  readonly bOff: number;
  readonly relu: boolean;
}

/**
 * Consecutive dense layers on `m` rows, each as {@link denseDot} computes it, with every
 * intermediate output left in the engine's memory as the next layer's input: x is staged once
 * and only the last output is copied out, into `y`. Resident weights are read in place, others
 * copied in. False (nothing done) when some layer's k is not a whole number of vectors.
 */
export function denseDotRun(eng: WasmGemmEngine, m: number, layers: readonly DotLayer[], x: FloatArray, xOff: number, y: FloatArray): boolean {
  const f32 = y instanceof Float32Array, e = f32 ? 4 : 8;
  if (!eng.gemv) return false;
  // x, then each layer's output (its C), then the weights that are not resident
  let end = CONTROL_BYTES / e + m * layers[0]!.k;
  const cAt: number[] = [], wAt: number[] = [], copyW: boolean[] = [];
  for (const l of layers) {
    if (l.k % (16 / e) !== 0) return false;
    cAt.push(align16(end * e) / e);
    end = cAt[cAt.length - 1]! + m * l.n;
  }
  for (const l of layers) {
    const res = eng.residentAddress(l.w);
    copyW.push(res < 0);
    if (res >= 0) {
      wAt.push(res / e + l.wOff);
    } else {
      wAt.push(align16(end * e) / e);
      end = wAt[wAt.length - 1]! + l.n * l.k;
    }
  }
  const views = eng.reserve(end * e + 64);
  const view = f32 ? views.f32 : views.f64;
  let aAt = CONTROL_BYTES / e;
  view.set(x.subarray(xOff, xOff + m * layers[0]!.k), aAt);
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!, c = cAt[i]!;
    if (copyW[i]) view.set(l.w.subarray(l.wOff, l.wOff + l.n * l.k), wAt[i]!);
    if (l.b !== null) for (let r = 0; r < m; r++) view.set(l.b.subarray(l.bOff, l.bOff + l.n), c + r * l.n);
    runDot(eng, f32, m, l.n, l.k, aAt, wAt[i]!, l.k, c, (l.b !== null ? 1 : 0) | (l.relu ? 2 : 0));
    aAt = c;
  }
  y.set(view.subarray(aAt, aAt + m * layers[layers.length - 1]!.n));
  return true;
}

/**
 * C[m×n] (+)= A·B on the few-rows kernels, if B has a unit stride (row or column) and the
 * staging fits the arena; returns false (doing nothing) otherwise. Arguments as in `gemm`.
 */
export function gemmFewRows(
  eng: WasmGemmEngine,
  m: number, n: number, k: number,
  a: FloatArray, aOff: number, aRs: number, aCs: number,
  b: FloatArray, bOff: number, bRs: number, bCs: number,
  c: FloatArray, cOff: number, cRs: number,
  accumulate: boolean,
): boolean {
  const x = eng.gemv;
  if (!x) return false;
  const f32 = c instanceof Float32Array;
  const e = f32 ? 4 : 8, lanes = 16 / e;
  const dotForm = bRs === 1 && bCs !== 1;
  if (!dotForm && bCs !== 1) return false;
  if (4 * (m * k + k * n + m * n) * e > 1 << 30) return false;
  let view: FloatArray;
  const base = CONTROL_BYTES / e;
  if (dotForm) {
    // rows of A and columns of B padded with zeros to whole vectors along k
    const kp = Math.ceil(k / lanes) * lanes;
    const aAt = base, bAt0 = align16((base + m * kp) * e) / e;
    // worst case: B gathered column by column with stride kp
    const bytesB = (kp === k ? 2 * k * n + 64 : n * kp) * e;
    const cAt = align16((bAt0 * e + bytesB + 16)) / e;
    const views = eng.reserve((cAt + m * n) * e + 64);
    view = f32 ? views.f32 : views.f64;
    stageRows(view, aAt, kp, a, aOff, aRs, aCs, m, k);
    let bAt = -1, bLd = kp;
    const bRes = eng.residentAddress(b);
    if (kp === k && bRes >= 0) {
      bAt = bRes / e + bOff; // read in place (columns need no padding when k is whole vectors)
      bLd = bCs;
    } else if (kp === k) {
      bAt = stageSpan(view, bAt0, b, bOff, 1, bCs, k, n);
      bLd = bCs;
    }
    if (bAt < 0) {
      bAt = bAt0;
      bLd = kp;
      stageRows(view, bAt0, kp, b, bOff, bCs, 1, n, k); // column j of B as row j, padded
    }
    if (accumulate) stageRows(view, cAt, n, c, cOff, cRs, 1, m, n);
    runDot(eng, f32, m, n, kp, aAt, bAt, bLd, cAt, accumulate ? 1 : 0);
    for (let i = 0; i < m; i++) c.set(view.subarray(cAt + i * n, cAt + i * n + n), cOff + i * cRs);
    return true;
  }
  // axpy form: whole vectors of columns; lanes past n compute values nobody reads (B may
  // hold garbage there, so C's staging row is padded and only n columns come back)
  const np = Math.ceil(n / lanes) * lanes;
  const aAt0 = base;
  const bAt0 = align16((base + 2 * m * k + 64) * e) / e;
  const cAt = align16((bAt0 + 2 * k * n + 64 + lanes) * e) / e;
  const views = eng.reserve((cAt + m * np) * e + 64);
  view = f32 ? views.f32 : views.f64;
  let aAt = stageSpan(view, aAt0, a, aOff, aRs, aCs, m, k), aR = aRs, aC = aCs;
  if (aAt < 0) {
    aAt = aAt0;
    aR = k;
    aC = 1;
    stageRows(view, aAt0, k, a, aOff, aRs, aCs, m, k);
  }
  // a resident B is read in place: the lanes past n read its neighbours (or the heap's slack)
  const bRes = eng.residentAddress(b);
  let bAt = bRes >= 0 ? bRes / e + bOff : stageSpan(view, bAt0, b, bOff, bRs, 1, k, n), bR = bRs;
  if (bAt < 0) {
    bAt = bAt0;
    bR = n;
    stageRows(view, bAt0, n, b, bOff, bRs, 1, k, n);
  }
  if (accumulate) stageRows(view, cAt, np, c, cOff, cRs, 1, m, n);
  (f32 ? x.axpy_f32 : x.axpy_f64)(m, np / lanes, k, aAt * e, aR * e, aC * e, bAt * e, bR * e, cAt * e, np * e, accumulate ? 1 : 0);
  for (let i = 0; i < m; i++) c.set(view.subarray(cAt + i * np, cAt + i * np + n), cOff + i * cRs);
  return true;
}
