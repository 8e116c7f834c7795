/**
 * CPU kernels for 2-D max and average pooling in NCHW layout, forward and backward.
 *
 * Raw kernels on contiguous row-major typed arrays; shapes are validated by the
 * op layer. Each (n, c) plane is pooled independently with a direct loop: the
 * windows are tiny, so there is no gemm to exploit, and precomputing each
 * output position's in-bounds tap range keeps the inner loops branch-free.
 *
 * Adjoint relations (for autodiff, including second derivatives):
 * - `avgPool2d` is linear; `avgPool2dBackward` is its adjoint (transpose), and
 *   the adjoint of `avgPool2dBackward` is `avgPool2d` again.
 * - `maxPool2d` is, for fixed `argmax`, the gather `x[argmax]`
 *   ({@link maxPool2dGather}); `maxPool2dBackward` is the matching scatter-add.
 *   Each is the other's adjoint, so the derivative of `maxPool2dBackward` with
 *   respect to `dy` is `maxPool2dGather` (argmax treated as constant).
 */
import { allocate, dtypeOf, type FloatArray } from '../../tensor/dtype.js';
import { windowOutputSize, type Pair, type Shape4 } from './conv.js';
import { avgPoolWasm, maxPoolBackwardWasm, maxPoolGatherWasm, maxPoolWasm, poolKernels } from './pool-wasm.js';

/** Implementations of the pooling kernels: `'js'` loops (always available), `'wasm'` SIMD. */
export type PoolVariant = 'js' | 'wasm';

let forcedPool: PoolVariant | 'auto' = 'auto';

/*
 * Inputs (elements) from which the wasm path runs. Measured with
 *   node --import tsx bench/crossover.ts pool
 * (2-core box under load ~6, µs per call, js vs wasm, float32): [1,8,8,8] 2×2/2 forward
 * 6.0 vs 7.4, backward 22 vs 11; [1,4,16,16] forward 9.5 vs 6.5, backward 17 vs 9.3, gather
 * 15 vs 8.3; [1,16,16,16] forward 34 vs 12. Larger figures are in ./pool-wasm.ts.
 */
const POOL_WASM_MIN = 1024;

/** Variants that can run here. */
export function poolVariants(): PoolVariant[] {
  return poolKernels() ? ['js', 'wasm'] : ['js'];
}

/** Whether a kernel on an input of `n` elements takes the wasm path. */
function usePoolWasm(n: number): boolean {
  if (forcedPool === 'js') return false;
  return (forcedPool === 'wasm' || n >= POOL_WASM_MIN) && poolKernels() !== null;
}

/**
 * Force one pooling implementation (parity tests, benchmarks), or `'auto'` to dispatch by size.
 * @throws RangeError if the variant is not available here.
 */
export function setPoolVariant(v: PoolVariant | 'auto'): void {
  if (v !== 'auto' && !poolVariants().includes(v)) throw new RangeError(`pool variant '${v}' is not available here`);
  forcedPool = v;
}

/** Hyper-parameters of 2-D pooling. */
export interface Pool2dParams {
  /** Window size `[kh, kw]`, each ≥ 1. */
  readonly kernel: Pair;
  /** Step between windows `[sh, sw]`, each ≥ 1 (PyTorch's default is the kernel size; pass it explicitly). */
  readonly stride: Pair;
  /** Implicit padding on both sides `[ph, pw]`, each ≥ 0. */
  readonly padding: Pair;
  /** Spacing between window taps `[dh, dw]`, each ≥ 1. */
  readonly dilation: Pair;
}

/** Average-pooling parameters. */
export interface AvgPool2dParams extends Pool2dParams {
  /**
   * Whether padded cells count in the divisor (default `true`, like PyTorch's
   * `count_include_pad=True`): the divisor is then always `kh·kw`, i.e. padding
   * behaves as zeros. With `false` the divisor is the number of in-bounds taps,
   * and a window lying entirely in the padding yields 0.
   */
  readonly countIncludePad?: boolean;
}

/**
 * Shape `[N, C, OH, OW]` of a 2-D pooling (floor mode). Pure; OH or OW may be
 * non-positive — the op layer must reject that.
 */
export function pool2dOutputShape(xShape: Shape4, p: Pool2dParams): [number, number, number, number] {
  return [
    xShape[0],
    xShape[1],
    windowOutputSize(xShape[2], p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]),
    windowOutputSize(xShape[3], p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]),
  ];
}

/** Window geometry along one axis: per output position, the in-bounds taps and input start. */
export interface Axis {
  readonly out: number;
  /** First in-bounds tap index of the window at each output position. */
  readonly lo: Int32Array;
  /** One past the last in-bounds tap index. */
  readonly hi: Int32Array;
  /** Input coordinate of tap 0 (possibly negative, in the padding). */
  readonly base: Int32Array;
}

/** @internal Window geometry of one axis (shared with ./pool-wasm.ts). */
export function poolAxis(size: number, kernel: number, stride: number, pad: number, dilation: number): Axis {
  const out = Math.max(0, windowOutputSize(size, kernel, stride, pad, dilation));
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  const base = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const b = o * stride - pad;
    // taps t with 0 ≤ b + t·dilation ≤ size − 1
    const l = b >= 0 ? 0 : Math.ceil(-b / dilation);
    const h = b > size - 1 ? 0 : Math.min(kernel, Math.floor((size - 1 - b) / dilation) + 1);
    base[o] = b;
    lo[o] = Math.min(l, kernel);
    hi[o] = Math.max(h, lo[o]!);
  }
  return { out, lo, hi, base };
}

/**
 * Max pooling. Returns the pooled values `out` `[N, C, OH, OW]` and, for each
 * output, `argmax`: the flat index into `x` (over the whole tensor, so x must
 * have < 2³¹ elements) of the element chosen.
 *
 * - Padding acts as −∞, so it is never selected while the window holds any
 *   input cell. A window lying entirely in the padding gives −∞ and argmax −1.
 * - Ties: the first maximal element in the window's row-major scan order
 *   (top-to-bottom, then left-to-right) wins, i.e. the lowest flat index.
 * - NaN propagates: the first NaN in scan order is selected.
 */
export function maxPool2d(x: FloatArray, xShape: Shape4, p: Pool2dParams): { out: FloatArray; argmax: Int32Array } {
  if (usePoolWasm(x.length)) {
    const r = maxPoolWasm(x, xShape, p, true);
    if (r) return { out: r.out, argmax: r.argmax! };
  }
  const [oh, ow] = pool2dOutputShape(xShape, p).slice(2) as [number, number];
  const count = xShape[0] * xShape[1] * Math.max(0, oh) * Math.max(0, ow);
  const out = allocate(dtypeOf(x), count);
  const argmax = new Int32Array(count);
  maxPoolWindows(x, xShape, p, out, argmax, null);
  return { out, argmax };
}

/** Output rows oy0..oy1 × columns ox0..ox1 that {@link maxPoolWindows} leaves to another kernel. */
export interface PoolRegion {
  readonly oy0: number;
  readonly oy1: number;
  readonly ox0: number;
  readonly ox1: number;
}

/**
 * The reference max-pooling loop, writing values into `out` and flat argmax indices into
 * `argmax` (either may be a view into wasm memory), for every output position outside
 * `skip` (all of them when null). Semantics as documented on {@link maxPool2d}.
 * @internal Shared with the wasm path (./pool-wasm.ts), which does the interior windows.
 */
export function maxPoolWindows(x: FloatArray, xShape: Shape4, p: Pool2dParams, out: FloatArray, argmax: Int32Array | null, skip: PoolRegion | null): void {
  const [n, c, h, w] = xShape;
  const rows = poolAxis(h, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]);
  const cols = poolAxis(w, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]);
  const dh = p.dilation[0], dw = p.dilation[1];
  const oh = rows.out, ow = cols.out, hw = h * w, ohw = oh * ow;
  for (let plane = 0; plane < n * c; plane++) {
    const xOff = plane * hw;
    for (let oy = 0; oy < oh; oy++) {
      const iLo = rows.lo[oy]!, iHi = rows.hi[oy]!, yb = rows.base[oy]!;
      // columns skipFrom..skipTo are another kernel's (none when skipFrom = ow)
      const inside = skip !== null && skip.ox1 > skip.ox0 && oy >= skip.oy0 && oy < skip.oy1;
      const skipFrom = inside ? skip.ox0 : ow, skipTo = inside ? Math.min(skip.ox1, ow) : ow;
      if (skipFrom === 0 && skipTo === ow) continue;
      for (let ox = 0; ox < ow; ox++) {
        if (ox === skipFrom) {
          ox = skipTo - 1;
          continue;
        }
        const k = plane * ohw + oy * ow + ox;
        const jLo = cols.lo[ox]!, jHi = cols.hi[ox]!, xb = cols.base[ox]!;
        let best = -Infinity;
        let at = -1;
        scan: for (let i = iLo; i < iHi; i++) {
          const r = xOff + (yb + i * dh) * w + xb;
          for (let j = jLo; j < jHi; j++) {
            const idx = r + j * dw;
            const v = x[idx]!;
            // strict `>` keeps the first of equal values; `at < 0` admits a leading −∞;
            // the first NaN wins and ends the scan
            if (v > best || at < 0 || v !== v) {
              best = v;
              at = idx;
              if (v !== v) break scan;
            }
          }
        }
        out[k] = best;
        if (argmax) argmax[k] = at;
      }
    }
  }
}

/**
 * The values of {@link maxPool2d} without the argmax (the forward pass needs only these):
 * the same results, NaN propagation and −∞ for all-padding windows. Non-overlapping,
 * unpadded, undilated windows (the usual `maxPool2d(x, 2)`) take a direct loop.
 */
export function maxPool2dValues(x: FloatArray, xShape: Shape4, p: Pool2dParams): FloatArray {
  if (usePoolWasm(x.length)) {
    const r = maxPoolWasm(x, xShape, p, false);
    if (r) return r.out;
  }
  const [n, c, h, w] = xShape;
  const [kh, kw] = p.kernel, [sh, sw] = p.stride;
  if (p.padding[0] === 0 && p.padding[1] === 0 && p.dilation[0] === 1 && p.dilation[1] === 1 && sh === kh && sw === kw) {
    const oh = Math.floor(h / kh), ow = Math.floor(w / kw);
    const out = allocate(dtypeOf(x), n * c * oh * ow);
    let k = 0;
    for (let plane = 0; plane < n * c; plane++) {
      const xOff = plane * h * w;
      for (let oy = 0; oy < oh; oy++) {
        const row = xOff + oy * kh * w;
        for (let ox = 0; ox < ow; ox++, k++) {
          const at = row + ox * kw;
          let best = -Infinity, nan = false;
          for (let i = 0; i < kh; i++) {
            const r = at + i * w;
            for (let j = 0; j < kw; j++) {
              const v = x[r + j]!;
              if (v > best) best = v;
              else if (v !== v) nan = true;
            }
          }
          out[k] = nan ? NaN : best;
        }
      }
    }
    return out;
  }
  return maxPool2d(x, xShape, p).out;
}

/**
 * Gradient of {@link maxPool2d}: scatter-adds each `dy[i]` onto `dx[argmax[i]]`
 * (entries with argmax −1 are dropped). Returns dx shaped `xShape`, dtype of dy.
 * Linear in `dy`; its adjoint is {@link maxPool2dGather}.
 */
export function maxPool2dBackward(dy: FloatArray, argmax: Int32Array, xShape: Shape4): FloatArray {
  // (the fused wasm path, argmax never leaving wasm memory, is maxPool2dGradient)
  const dx = allocate(dtypeOf(dy), xShape[0] * xShape[1] * xShape[2] * xShape[3]);
  for (let i = 0; i < argmax.length; i++) {
    const a = argmax[i]!;
    if (a >= 0) dx[a] += dy[i]!;
  }
  return dx;
}

/**
 * The gradient of max pooling w.r.t. `x` in one call: {@link maxPool2dBackward} of `dy`
 * with the argmax of {@link maxPool2d}`(x)`; on the wasm path the argmax stays in wasm memory.
 */
export function maxPool2dGradient(x: FloatArray, dy: FloatArray, xShape: Shape4, p: Pool2dParams): FloatArray {
  if (usePoolWasm(x.length)) {
    const r = maxPoolBackwardWasm(x, dy, xShape, p);
    if (r) return r;
  }
  return maxPool2dBackward(dy, maxPool2d(x, xShape, p).argmax, xShape);
}

/**
 * {@link maxPool2dGather} of `v` with the argmax of {@link maxPool2d}`(x)` in one call.
 */
export function maxPool2dGatherAt(x: FloatArray, v: FloatArray, xShape: Shape4, p: Pool2dParams): FloatArray {
  if (usePoolWasm(x.length)) {
    const r = maxPoolGatherWasm(x, v, xShape, p);
    if (r) return r;
  }
  return maxPool2dGather(v, maxPool2d(x, xShape, p).argmax);
}

/**
 * `out[i] = v[argmax[i]]` (0 where argmax is −1): max pooling of `v` with the
 * window choices frozen. It is the adjoint of {@link maxPool2dBackward}, and the
 * JVP of {@link maxPool2d}, so second-order rules use it.
 */
export function maxPool2dGather(v: FloatArray, argmax: Int32Array): FloatArray {
  const out = allocate(dtypeOf(v), argmax.length);
  for (let i = 0; i < argmax.length; i++) {
    const a = argmax[i]!;
    if (a >= 0) out[i] = v[a]!;
  }
  return out;
}

/**
 * Average pooling; see {@link AvgPool2dParams.countIncludePad} for how padded
 * cells are counted (default: as zeros, divisor `kh·kw`, like PyTorch).
 * Returns `[N, C, OH, OW]`.
 */
export function avgPool2d(x: FloatArray, xShape: Shape4, p: AvgPool2dParams): FloatArray {
  if (usePoolWasm(x.length)) {
    const r = avgPoolWasm(x, xShape, p);
    if (r) return r;
  }
  const [oh, ow] = pool2dOutputShape(xShape, p).slice(2) as [number, number];
  const out = allocate(dtypeOf(x), xShape[0] * xShape[1] * Math.max(0, oh) * Math.max(0, ow));
  avgPoolWindows(x, xShape, p, out, null);
  return out;
}

/**
 * The reference average-pooling loop into `out` (possibly a view into wasm memory), for
 * every output position outside `skip` (all when null).
 * @internal Shared with the wasm path (./pool-wasm.ts), which does the interior windows.
 */
export function avgPoolWindows(x: FloatArray, xShape: Shape4, p: AvgPool2dParams, out: FloatArray, skip: PoolRegion | null): void {
  const [n, c, h, w] = xShape;
  const rows = poolAxis(h, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]);
  const cols = poolAxis(w, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]);
  const dh = p.dilation[0], dw = p.dilation[1];
  const includePad = p.countIncludePad ?? true;
  const full = p.kernel[0] * p.kernel[1];
  const oh = rows.out, ow = cols.out, hw = h * w, ohw = oh * ow;
  for (let plane = 0; plane < n * c; plane++) {
    const xOff = plane * hw;
    for (let oy = 0; oy < oh; oy++) {
      const iLo = rows.lo[oy]!, iHi = rows.hi[oy]!, yb = rows.base[oy]!;
      const inside = skip !== null && skip.ox1 > skip.ox0 && oy >= skip.oy0 && oy < skip.oy1;
      const skipFrom = inside ? skip.ox0 : ow, skipTo = inside ? Math.min(skip.ox1, ow) : ow;
      if (skipFrom === 0 && skipTo === ow) continue;
      for (let ox = 0; ox < ow; ox++) {
        if (ox === skipFrom) {
          ox = skipTo - 1;
          continue;
        }
        const jLo = cols.lo[ox]!, jHi = cols.hi[ox]!, xb = cols.base[ox]!;
        let sum = 0;
        for (let i = iLo; i < iHi; i++) {
          const r = xOff + (yb + i * dh) * w + xb;
          for (let j = jLo; j < jHi; j++) sum += x[r + j * dw]!;
        }
        const count = includePad ? full : (iHi - iLo) * (jHi - jLo);
        out[plane * ohw + oy * ow + ox] = count > 0 ? sum / count : 0;
      }
    }
  }
}

/**
 * Gradient of {@link avgPool2d} (its adjoint): each `dy` entry is spread
 * evenly, with the same divisor as the forward pass, over the in-bounds cells
 * of its window. Returns dx shaped `xShape`, dtype of dy. Linear in `dy`; its
 * own adjoint is {@link avgPool2d} with the same parameters.
 */
export function avgPool2dBackward(dy: FloatArray, dyShape: Shape4, xShape: Shape4, p: AvgPool2dParams): FloatArray {
  const [n, c, h, w] = xShape;
  void dyShape; // implied by xShape and p
  const rows = poolAxis(h, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]);
  const cols = poolAxis(w, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]);
  const dh = p.dilation[0], dw = p.dilation[1];
  const includePad = p.countIncludePad ?? true;
  const full = p.kernel[0] * p.kernel[1];
  const oh = rows.out, ow = cols.out, hw = h * w, ohw = oh * ow;
  const dx = allocate(dtypeOf(dy), n * c * hw);
  for (let plane = 0; plane < n * c; plane++) {
    const xOff = plane * hw;
    let k = plane * ohw;
    for (let oy = 0; oy < oh; oy++) {
      const iLo = rows.lo[oy]!, iHi = rows.hi[oy]!, yb = rows.base[oy]!;
      for (let ox = 0; ox < ow; ox++, k++) {
        const jLo = cols.lo[ox]!, jHi = cols.hi[ox]!, xb = cols.base[ox]!;
        const count = includePad ? full : (iHi - iLo) * (jHi - jLo);
        if (count === 0) continue;
        const g = dy[k]! / count;
        for (let i = iLo; i < iHi; i++) {
          const r = xOff + (yb + i * dh) * w + xb;
          for (let j = jLo; j < jHi; j++) dx[r + j * dw] += g;
        }
      }
    }
  }
  return dx;
}
