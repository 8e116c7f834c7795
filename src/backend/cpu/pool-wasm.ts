/**
 * The WebAssembly SIMD path of max pooling and average-pooling forward (kernels in ./wasm/pool-kernel.ts): operands are
 * staged into the single-thread engine's memory; windows wholly inside the input run in
 * SIMD lanes over adjacent output columns, the rest (windows reaching into the padding,
 * and the columns left after whole vectors) through the reference loop `maxPoolWindows`,
 * which writes straight into the same wasm-memory views. Results are identical to the
 * JavaScript loops (same comparisons, same scan order).
 *
 * Measured with `node --import tsx bench/crossover.ts pool` (2-core box under load ~6, ms per
 * call, js vs wasm): [64,32,26,26] 2×2/2 float32 forward 20.3 vs 2.8, backward (argmax and
 * scatter) 38 vs 11.5, gather 38 vs 8.2; float64 forward 23 vs 12; [8,64,32,32] 3×3/2 pad 1
 * float32 forward 35 vs 11 (noisy), backward 28 vs 6.1. A quieter run (load ~2): [64,32,26,26]
 * max 11.1 vs 1.48 (f32), 10.4 vs 2.26 (f64); avgPool2d 6.2 vs 1.28 (f32), 6.3 vs 2.14 (f64);
 * [8,64,32,32] 3×3/2 pad 1 avg 3.4 vs 0.90. avgPool2dBackward stays a JavaScript loop (overlapping
 * windows scatter into the same cells across lanes). Inside one call (64×32×26×26 f32,
 * forward): staging x ~0.6 ms, kernel ~1.2 ms, border loop ~0.4 ms, copying the result out
 * into a fresh array ~1.1 ms: moving memory, not comparing, is most of it (5.5 MB in,
 * 1.4 MB out; a fresh 5.5 MB array alone costs 0.5–1 ms on this box).
 *
 * @module
 */
import { allocate, dtypeOf, type FloatArray } from '../../tensor/dtype.js';
import type { Shape4 } from './conv.js';
import { singleThreadEngine } from './gemm.js';
import { avgPoolWindows, maxPoolWindows, poolAxis, type AvgPool2dParams, type Pool2dParams, type PoolRegion } from './pool.js';
import { buildPoolModule, FIXED_WINDOWS } from './wasm/pool-kernel.js';
import { ARENA_LIMIT_BYTES, CONTROL_BYTES, MAX_PAGES, align, type WasmGemmEngine } from './wasm/gemm-kernel.js';

type Kernel = (...args: number[]) => void;

interface PoolKernels {
  readonly eng: WasmGemmEngine;
  readonly fns: Record<string, Kernel>;
}

let kernels: PoolKernels | null | undefined;

/** The compiled pool module on the single-thread engine's memory; null without wasm SIMD. */
export function poolKernels(): PoolKernels | null {
  if (kernels === undefined) {
    kernels = null;
    const eng = singleThreadEngine();
    if (eng) {
      try {
        const mod = new WebAssembly.Module(buildPoolModule({ shared: eng.shared, maxPages: MAX_PAGES }));
        const fns = new WebAssembly.Instance(mod, { env: { memory: eng.memory } }).exports as unknown as Record<string, Kernel>;
        kernels = { eng, fns };
      } catch {
        // the JavaScript loops remain
      }
    }
  }
  return kernels;
}

/** Number of outputs of pooling `xShape` with `p`. */
function outputCount(xShape: Shape4, p: Pool2dParams): number {
  const oh = poolAxis(xShape[2], p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]).out;
  const ow = poolAxis(xShape[3], p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]).out;
  return xShape[0] * xShape[1] * oh * ow;
}

/** Byte layout of one call's arena. */
interface Layout {
  x: number;
  out: number;
  arg: number;
  steps: number;
  extra: number;
  end: number;
}

/**
 * Geometry of the SIMD interior: rows oy0..oy1 and columns ox0..ox1 whose windows lie wholly
 * inside the input, and the number of vectors covering those columns.
 */
function interior(xShape: Shape4, p: Pool2dParams, lanes: number): PoolRegion & { nvec: number; oh: number; ow: number } {
  const rows = poolAxis(xShape[2], p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]);
  const cols = poolAxis(xShape[3], p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]);
  const full = (a: typeof rows, k: number): [number, number] => {
    let lo = 0;
    while (lo < a.out && !(a.lo[lo] === 0 && a.hi[lo] === k)) lo++;
    let hi = lo;
    while (hi < a.out && a.lo[hi] === 0 && a.hi[hi] === k) hi++;
    return [lo, hi];
  };
  const [oy0, oy1] = full(rows, p.kernel[0]);
  const [ox0, ox1] = full(cols, p.kernel[1]);
  // the last vector may overhang the interior: its extra lanes land on outputs that a later
  // row's kernel pass or the border loop overwrites (or in the slack after the arrays)
  const nvec = Math.ceil((ox1 - ox0) / lanes);
  return { oy0, oy1, ox0, ox1, nvec, oh: rows.out, ow: cols.out };
}

/**
 * Stage `x`, run the max kernel (interior) and the reference loop (border) into wasm memory.
 * `extraBytes` more are reserved after the results for the caller. Returns the engine views
 * and the layout, or null when the arena would be too large.
 */
function runMax(x: FloatArray, xShape: Shape4, p: Pool2dParams, withArg: boolean, extraBytes: number, mode: 'max' | 'avg' = 'max') {
  const k = poolKernels();
  if (!k) return null;
  const f32 = x instanceof Float32Array;
  const e = f32 ? 4 : 8, lanes = 16 / e;
  const g = interior(xShape, p, lanes);
  const planes = xShape[0] * xShape[1];
  const count = planes * g.oh * g.ow;
  const L: Layout = { x: CONTROL_BYTES, out: 0, arg: 0, steps: 0, extra: 0, end: 0 };
  // slack for the overhanging lanes' reads past x and writes past out and arg
  L.out = align(L.x + (x.length + lanes * (p.stride[1] + 1) + p.kernel[1] * p.dilation[1]) * e);
  L.arg = align(L.out + (count + lanes) * e);
  L.steps = align(L.arg + (count + lanes) * 4);
  L.extra = align(L.steps + 16);
  L.end = L.extra + extraBytes;
  if (L.end > ARENA_LIMIT_BYTES) return null;
  const views = k.eng.reserve(L.end + 64);
  const view = f32 ? views.f32 : views.f64;
  view.set(x, L.x / e);
  const sw = p.stride[1];
  const ints = new Int32Array(view.buffer, L.steps, 4);
  if (f32) ints.set([0, sw, 2 * sw, 3 * sw]);
  else ints.set([0, 0, sw, 0]); // two i64 lanes, little-endian
  const outView = view.subarray(L.out / e, L.out / e + count);
  const argView = new Int32Array(view.buffer, L.arg, count);
  if (g.nvec > 0 && g.oy1 > g.oy0) {
    const cls = sw === 1 ? 's1' : sw === 2 ? 's2' : 'sn';
    const [kh, kw] = p.kernel;
    const fixed = kh === kw && (FIXED_WINDOWS as readonly number[]).includes(kh) ? `_${kh}x${kw}` : '';
    k.fns[`${mode}_${f32 ? 'f32' : 'f64'}_${cls}${fixed}`]!(
      L.x, L.out, withArg ? L.arg : 0, L.steps, planes, xShape[2] * xShape[3], g.oh * g.ow, xShape[3], g.ow,
      g.oy0, g.oy1, g.ox0, g.nvec, p.stride[0], p.kernel[0], p.kernel[1], p.dilation[0], p.dilation[1], sw,
      -(p.padding[0] * xShape[3] + p.padding[1]),
    );
  }
  // the reference loop only for a border: with the interior every window it would just skip them all
  const allInterior = g.nvec > 0 && g.oy0 === 0 && g.oy1 === g.oh && g.ox0 === 0 && g.ox1 === g.ow;
  if (!allInterior) {
    if (mode === 'avg') avgPoolWindows(x, xShape, p, outView, g.nvec > 0 ? g : null);
    else maxPoolWindows(x, xShape, p, outView, withArg ? argView : null, g.nvec > 0 ? g : null);
  }
  return { k, view, outView, argView, L, count, e, f32 };
}

/** Whether `p` is the 2×2 window at stride 2 with no padding or dilation (every window is inside the input). */
function isPlain2x2(p: Pool2dParams): boolean {
  return p.kernel[0] === 2 && p.kernel[1] === 2 && p.stride[0] === 2 && p.stride[1] === 2
    && p.padding[0] === 0 && p.padding[1] === 0 && p.dilation[0] === 1 && p.dilation[1] === 1;
}

/**
 * Max-pooling values (no argmax) of float32 `x` with 2×2 windows at stride 2, no padding:
 * the `maxv_f32_2x2s2` kernel (pmax over the four taps; see ./wasm/pool-kernel.ts), whose
 * planes holding a NaN (or what might be one) are redone with the exact kernel, so results
 * equal the exact kernel's bit for bit. Null when the arena would be too large.
 */
function maxValues2x2Wasm(x: Float32Array, xShape: Shape4): Float32Array | null {
  const k = poolKernels();
  if (!k) return null;
  const [n, c, h, w] = xShape;
  const oh = h >> 1, ow = w >> 1, planes = n * c, hw = h * w, ohw = oh * ow, count = planes * ohw;
  if (count === 0) return new Float32Array(0);
  const nvec = Math.ceil(ow / 4);
  // slack: the last vector of a row reads up to 7 elements past it and writes up to 3 outputs past it
  const X0 = CONTROL_BYTES, O0 = align(X0 + (x.length + 16) * 4), S0 = align(O0 + (count + 8) * 4), F0 = S0 + 64;
  const end = F0 + planes * 4;
  if (end > ARENA_LIMIT_BYTES) return null;
  const view = k.eng.reserve(end + 64).f32;
  view.set(x, X0 / 4);
  const flagged = k.fns['maxv_f32_2x2s2']!(X0, O0, planes, hw, ohw, w, ow, oh, nvec, F0) as unknown as number;
  if (flagged > 0) {
    new Int32Array(view.buffer, S0, 4).set([0, 2, 4, 6]);
    const flags = new Int32Array(view.buffer, F0, flagged).slice();
    for (const plane of flags) redoPlane2x2(k.fns['max_f32_s2_2x2']!, view, X0, O0, S0, plane, h, w);
  }
  return view.slice(O0 / 4, O0 / 4 + count);
}

/**
 * Redo plane `plane` of a `maxv_f32_2x2s2` call (input planes `h × w` from byte `x`, pooled
 * planes from byte `out`) with the exact kernel `exact` (the column-tap steps [0, 2, 4, 6] at
 * byte `steps`), as `maxv_f32_2x2s2` asks for the planes it flags; the exact kernel's last row
 * overhangs into the next plane's first outputs, which are kept.
 */
export function redoPlane2x2(exact: Kernel, view: Float32Array, x: number, out: number, steps: number, plane: number, h: number, w: number): void {
  const oh = h >> 1, ow = w >> 1, hw = h * w, ohw = oh * ow;
  const next = out / 4 + (plane + 1) * ohw;
  const kept = view.slice(next, next + 4);
  exact(x + plane * hw * 4, out + plane * ohw * 4, 0, steps, 1, hw, ohw, w, ow, 0, oh, 0, Math.ceil(ow / 4), 2, 2, 2, 1, 1, 2, 0);
  view.set(kept, next);
}

/** {@link maxPool2d} (./pool.ts) on the wasm path; null if the arena would be too large. */
export function maxPoolWasm(x: FloatArray, xShape: Shape4, p: Pool2dParams, withArg: boolean): { out: FloatArray; argmax: Int32Array | null } | null {
  if (!withArg && x instanceof Float32Array && isPlain2x2(p)) {
    const out = maxValues2x2Wasm(x, xShape);
    if (out) return { out, argmax: null };
  }
  const r = runMax(x, xShape, p, withArg, 0);
  if (!r) return null;
  return { out: r.outView.slice(), argmax: withArg ? r.argView.slice() : null };
}

/** Gradient of max pooling w.r.t. x (argmax computed and used in wasm memory); null if too large. */
export function maxPoolBackwardWasm(x: FloatArray, dy: FloatArray, xShape: Shape4, p: Pool2dParams): FloatArray | null {
  const e = dy.BYTES_PER_ELEMENT;
  if (e !== x.BYTES_PER_ELEMENT) return null;
  const dyBytes = align(dy.length * e + 16);
  const r = runMax(x, xShape, p, true, dyBytes + x.length * e + 16);
  if (!r) return null;
  const dyAt = r.L.extra, dxAt = r.L.extra + dyBytes;
  r.view.set(dy, dyAt / e);
  r.view.fill(0, dxAt / e, dxAt / e + x.length);
  r.k.fns[`scatter_${r.f32 ? 'f32' : 'f64'}`]!(dyAt, r.L.arg, dxAt, r.count);
  const dx = allocate(dtypeOf(dy), x.length);
  dx.set(r.view.subarray(dxAt / e, dxAt / e + x.length));
  return dx;
}

/** `v` at the argmax of max pooling of `x` (argmax computed and used in wasm memory); null if too large. */
export function maxPoolGatherWasm(x: FloatArray, v: FloatArray, xShape: Shape4, p: Pool2dParams): FloatArray | null {
  const e = v.BYTES_PER_ELEMENT;
  if (e !== x.BYTES_PER_ELEMENT) return null;
  const vBytes = align(v.length * e + 16);
  const r = runMax(x, xShape, p, true, vBytes + outputCount(xShape, p) * e + 16);
  if (!r) return null;
  const vAt = r.L.extra, oAt = r.L.extra + vBytes;
  r.view.set(v, vAt / e);
  r.k.fns[`gather_${r.f32 ? 'f32' : 'f64'}`]!(vAt, r.L.arg, oAt, r.count);
  return r.view.slice(oAt / e, oAt / e + r.count);
}

/** `avgPool2d` (./pool.ts) on the wasm path (interior windows in SIMD); null if the arena would be too large. */
export function avgPoolWasm(x: FloatArray, xShape: Shape4, p: AvgPool2dParams): FloatArray | null {
  const r = runMax(x, xShape, p, false, 0, 'avg');
  return r ? r.outView.slice() : null;
}
