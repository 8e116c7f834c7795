/**
 * CPU kernels for 2-D convolution in NCHW layout, forward and backward.
 *
 * Raw kernels: inputs are contiguous row-major typed arrays whose shapes are
 * already validated by the op layer. The output dtype follows `x` (forward,
 * backward-filter) or `dy` (backward-input); mixed dtypes are not expected.
 *
 * Strategy (chosen by measurement, see bench/conv.ts):
 * - 1×1 kernels with unit stride and no padding use the input directly as the
 *   gemm operand (im2col would be an identity copy).
 * - Everything else is im2col + {@link gemm}. Several images are folded into
 *   the gemm's n dimension when each image is small, because one large gemm
 *   amortises per-call overhead of the WebAssembly/threaded gemm better than
 *   many small ones; the price is a block copy between `[O, nb, OHW]` and
 *   `[nb, O, OHW]` layouts.
 * - The im2col workspace is capped (see {@link convTuning}) so huge inputs are
 *   processed in batch chunks instead of materialising one enormous matrix.
 *
 * Adjoint relations (used by autodiff, including second derivatives).
 * `conv2d(x, w)` is bilinear. With `<·,·>` the elementwise inner product:
 *
 *   <conv2d(x, w), dy> = <x, conv2dBackwardInput(dy, w)> = <w, conv2dBackwardFilter(x, dy)>
 *
 * Hence
 * - `conv2dBackwardInput(dy, w)` is linear in `dy` and in `w`:
 *   its VJP w.r.t. `dy` (cotangent `v`, shaped like x) is `conv2d(v, w)`,
 *   its VJP w.r.t. `w` is `conv2dBackwardFilter(v, dy)`.
 * - `conv2dBackwardFilter(x, dy)` is linear in `x` and in `dy`:
 *   its VJP w.r.t. `x` (cotangent `u`, shaped like w) is `conv2dBackwardInput(dy, u)`,
 *   its VJP w.r.t. `dy` is `conv2d(x, u)`.
 * So the three kernels are closed under differentiation.
 */
import { allocate, dtypeOf, type FloatArray } from '../../tensor/dtype.js';
import { gemm } from './gemm.js';
import { DIRECT_INPUT_MAX_EXCESS, getConvVariant, tryDirectConv, tryDirectConvFilter } from './conv-direct.js';
import { convEpilogueInPlace } from './conv-epilogue.js';
import { tryDirectConvMaxPool2x2, tryWinogradMaxPool2x2 } from './conv-pool.js';
import { winogradApplies, winogradConv3x3 } from './conv-winograd.js';
import { scratch as reusedScratch } from './scratch.js';

/** A 4-D shape `[N, C, H, W]` (or `[O, C/groups, KH, KW]` for filters). */
export type Shape4 = readonly [number, number, number, number];

/** A pair of per-axis values `[height, width]`. */
export type Pair = readonly [number, number];

/** Hyper-parameters of a 2-D convolution. Padding is symmetric zero padding. */
export interface Conv2dParams {
  /** Step between output positions, `[sh, sw]`, each ≥ 1. */
  readonly stride: Pair;
  /** Zeros added on both sides of each spatial axis, `[ph, pw]`, each ≥ 0. */
  readonly padding: Pair;
  /** Spacing between kernel taps, `[dh, dw]`, each ≥ 1 (1 = dense kernel). */
  readonly dilation: Pair;
  /** Number of channel groups; C and O must both be divisible by it. */
  readonly groups: number;
}

/**
 * Output extent of one spatial axis of a sliding window (floor mode, as in PyTorch).
 * May be ≤ 0 for a window larger than the padded input; callers must check.
 */
export function windowOutputSize(size: number, kernel: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * Shape `[N, O, OH, OW]` of `conv2d(x, w)`. Pure; does no validation, so OH or
 * OW may be non-positive — the op layer must reject that.
 */
export function conv2dOutputShape(xShape: Shape4, wShape: Shape4, p: Conv2dParams): [number, number, number, number] {
  return [
    xShape[0],
    wShape[0],
    windowOutputSize(xShape[2], wShape[2], p.stride[0], p.padding[0], p.dilation[0]),
    windowOutputSize(xShape[3], wShape[3], p.stride[1], p.padding[1], p.dilation[1]),
  ];
}

/**
 * Tuning knobs, tuned with bench/conv.ts. Mutable so benchmarks and specs can
 * exercise every code path; results never depend on them, only speed does.
 */
export const convTuning = {
  /**
   * Maximum number of elements of the im2col workspace (4 Mi elements = 16 MiB
   * in float32). Larger problems are processed in batch chunks; a single image
   * whose column matrix exceeds this still gets one full-size workspace.
   */
  colBudget: 1 << 22,
  /**
   * Fold images into one gemm only while one image's output plane has fewer
   * elements than this; larger planes make per-image gemms big enough that the
   * extra layout copy would only cost time. 0 disables folding.
   */
  foldMaxOhw: 4096,
};

/** Everything the kernels need to know about a convolution, derived once. */
interface Geometry {
  readonly n: number; readonly c: number; readonly h: number; readonly w: number;
  readonly o: number; readonly kh: number; readonly kw: number;
  readonly oh: number; readonly ow: number;
  readonly sh: number; readonly sw: number;
  readonly ph: number; readonly pw: number;
  readonly dh: number; readonly dw: number;
  readonly groups: number;
  /** Input channels per group. */
  readonly cg: number;
  /** Output channels per group. */
  readonly og: number;
  /** Rows of the column matrix: cg·kh·kw (the gemm's reduction length). */
  readonly k: number;
  readonly hw: number;
  readonly ohw: number;
  /** Per kernel row/column: first and one-past-last output index whose tap lands inside the input. */
  readonly ohLo: Int32Array; readonly ohHi: Int32Array;
  readonly owLo: Int32Array; readonly owHi: Int32Array;
}

function geometry(xShape: Shape4, wShape: Shape4, p: Conv2dParams): Geometry {
  const [n, c, h, w] = xShape;
  const [o, , kh, kw] = wShape;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  const groups = p.groups;
  const oh = windowOutputSize(h, kh, sh, ph, dh);
  const ow = windowOutputSize(w, kw, sw, pw, dw);
  const cg = c / groups;
  const rows = validRange(kh, oh, h, sh, ph, dh);
  const cols = validRange(kw, ow, w, sw, pw, dw);
  return {
    n, c, h, w, o, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, groups,
    cg, og: o / groups, k: cg * kh * kw, hw: h * w, ohw: oh * ow,
    ohLo: rows.lo, ohHi: rows.hi, owLo: cols.lo, owHi: cols.hi,
  };
}

/**
 * For each kernel tap t along one axis, the output range [lo, hi) whose input
 * coordinate `o·stride − pad + t·dilation` lies in [0, size). Computing the
 * range once lets the inner loops run branch-free. Shared with the pooling kernels.
 */
export function validRange(
  kernel: number, out: number, size: number, stride: number, pad: number, dilation: number,
): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(kernel);
  const hi = new Int32Array(kernel);
  for (let t = 0; t < kernel; t++) {
    const off = t * dilation - pad; // input coordinate of output 0
    const a = off >= 0 ? 0 : Math.ceil(-off / stride);
    const b = off > size - 1 ? 0 : Math.floor((size - 1 - off) / stride) + 1;
    lo[t] = Math.min(Math.max(a, 0), out);
    hi[t] = Math.max(Math.min(b, out), lo[t]!);
  }
  return { lo, hi };
}

/** True when im2col is the identity: 1×1 kernel, unit stride, no padding. */
function isPointwise(g: Geometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

/**
 * Workspace `slot` (0 or 1, for two live at once) of at least `length` elements (./scratch.ts).
 * Workspaces beyond twice {@link convTuning}`.colBudget` are not kept.
 */
function scratch(like: FloatArray, slot: 0 | 1, length: number): FloatArray {
  return reusedScratch(dtypeOf(like), slot, length, 2 * convTuning.colBudget);
}

/** Images per chunk: fold small images up to the workspace budget, else one at a time. */
function chunkImages(g: Geometry): number {
  if (g.ohw >= convTuning.foldMaxOhw) return 1;
  return Math.max(1, Math.min(g.n, Math.floor(convTuning.colBudget / Math.max(1, g.k * g.ohw))));
}

/**
 * Unfold the `cg` channels of one image starting at `x[xOff]` into the column
 * matrix: row `(c·kh + i)·kw + j`, column `oy·ow + ox` holds the input value
 * under tap (i, j) of output (oy, ox), or 0 in the padding. Rows start at
 * `col[colOff + r·colRs]`, so several images can share one matrix side by side.
 */
function im2col(x: FloatArray, xOff: number, g: Geometry, col: FloatArray, colOff: number, colRs: number): void {
  const { cg, kh, kw, w, hw, ow, oh, sh, sw, ph, pw, dh, dw, ohLo, ohHi, owLo, owHi } = g;
  for (let c = 0; c < cg; c++) {
    const xc = xOff + c * hw;
    for (let i = 0; i < kh; i++) {
      const yLo = ohLo[i]!, yHi = ohHi[i]!;
      const ihBase = i * dh - ph;
      for (let j = 0; j < kw; j++) {
        const row = colOff + ((c * kh + i) * kw + j) * colRs;
        const xLo = owLo[j]!, xHi = owHi[j]!;
        const iwBase = j * dw - pw;
        if (yLo > 0) col.fill(0, row, row + yLo * ow);
        for (let y = yLo; y < yHi; y++) {
          const dst = row + y * ow;
          const src = xc + (y * sh + ihBase) * w + iwBase;
          for (let t = 0; t < xLo; t++) col[dst + t] = 0;
          if (sw === 1) {
            for (let t = xLo; t < xHi; t++) col[dst + t] = x[src + t]!;
          } else {
            for (let t = xLo; t < xHi; t++) col[dst + t] = x[src + t * sw]!;
          }
          for (let t = xHi; t < ow; t++) col[dst + t] = 0;
        }
        if (yHi < oh) col.fill(0, row + yHi * ow, row + oh * ow);
      }
    }
  }
}

/**
 * Adjoint of {@link im2col}: add every column-matrix entry back onto the input
 * cell it was copied from (padding entries are dropped). `dx` must be
 * pre-initialised (zeros) by the caller.
 */
function col2im(col: FloatArray, colOff: number, colRs: number, g: Geometry, dx: FloatArray, dxOff: number): void {
  const { cg, kh, kw, w, hw, ow, sh, sw, ph, pw, dh, dw, ohLo, ohHi, owLo, owHi } = g;
  for (let c = 0; c < cg; c++) {
    const xc = dxOff + c * hw;
    for (let i = 0; i < kh; i++) {
      const yLo = ohLo[i]!, yHi = ohHi[i]!;
      const ihBase = i * dh - ph;
      for (let j = 0; j < kw; j++) {
        const row = colOff + ((c * kh + i) * kw + j) * colRs;
        const xLo = owLo[j]!, xHi = owHi[j]!;
        const iwBase = j * dw - pw;
        for (let y = yLo; y < yHi; y++) {
          const src = row + y * ow;
          const dst = xc + (y * sh + ihBase) * w + iwBase;
          if (sw === 1) {
            for (let t = xLo; t < xHi; t++) dx[dst + t] += col[src + t]!;
          } else {
            for (let t = xLo; t < xHi; t++) dx[dst + t * sw] += col[src + t]!;
          }
        }
      }
    }
  }
}

/**
 * Copy `count` consecutive images' planes between the batch-major layout
 * `[count, rows(of total), ohw]` (rows `r0 … r0+rows` of a tensor with `total`
 * rows per image) and the gemm-friendly layout `[rows, count, ohw]`.
 */
function packRows(src: FloatArray, srcOff: number, total: number, rows: number, ohw: number, count: number, dst: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < count; b++) {
      const s = srcOff + (b * total + r) * ohw;
      dst.set(src.subarray(s, s + ohw), (r * count + b) * ohw);
    }
  }
}

/** Inverse of {@link packRows}. */
function unpackRows(src: FloatArray, dst: FloatArray, dstOff: number, total: number, rows: number, ohw: number, count: number): void {
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < count; b++) {
      const s = (r * count + b) * ohw;
      dst.set(src.subarray(s, s + ohw), dstOff + (b * total + r) * ohw);
    }
  }
}

/**
 * 2-D convolution (cross-correlation, like PyTorch/TF): for x `[N, C, H, W]`
 * and w `[O, C/groups, KH, KW]`, returns y `[N, O, OH, OW]` with
 *
 *   y[n, o, i, j] = Σ_{c∈group(o), a, b} x[n, c, i·sh − ph + a·dh, j·sw − pw + b·dw] · w[o, c − c0, a, b]
 *
 * where out-of-range input coordinates read as 0. No bias (add it in the op layer).
 */
export function conv2d(x: FloatArray, xShape: Shape4, w: FloatArray, wShape: Shape4, p: Conv2dParams): FloatArray {
  const g = geometry(xShape, wShape, p);
  const { n, c, o, og, cg, k, hw, ohw, groups } = g;
  // float32, unit stride and dilation, narrow kernels: the direct SIMD kernel (conv-direct.ts)
  // allocates its own output
  if (n * o * ohw > 0 && k > 0 && !isPointwise(g)) {
    const direct = tryDirectConv(x, w, g);
    if (direct !== null) return direct;
  }

  const out = allocate(dtypeOf(x), n * o * ohw);
  if (out.length === 0 || k === 0) return out;

  if (isPointwise(g)) {
    // y_n,group = W_group [og×cg] · x_n,group [cg×hw], straight from the input.
    for (let b = 0; b < n; b++) {
      for (let gr = 0; gr < groups; gr++) {
        gemm(og, ohw, cg, w, gr * og * cg, cg, 1, x, (b * c + gr * cg) * hw, hw, 1, out, (b * o + gr * og) * ohw, ohw);
      }
    }
    return out;
  }

  const nb = chunkImages(g);
  const col = scratch(x, 0, k * nb * ohw);
  const tmp = nb > 1 ? scratch(x, 1, og * nb * ohw) : null;
  for (let n0 = 0; n0 < n; n0 += nb) {
    const cnt = Math.min(nb, n - n0);
    const cols = cnt * ohw;
    for (let gr = 0; gr < groups; gr++) {
      for (let b = 0; b < cnt; b++) im2col(x, ((n0 + b) * c + gr * cg) * hw, g, col, b * ohw, cols);
      const yOff = (n0 * o + gr * og) * ohw;
      if (tmp === null) {
        gemm(og, ohw, k, w, gr * og * k, k, 1, col, 0, ohw, 1, out, yOff, ohw);
      } else {
        gemm(og, cols, k, w, gr * og * k, k, 1, col, 0, cols, 1, tmp, 0, cols);
        unpackRows(tmp, out, yOff, o, og, ohw, cnt);
      }
    }
  }
  return out;
}

/**
 * `relu?(conv2d(x, w) + bias)` in one call: the bias (`[O]`, same dtype as x, or null) is added
 * per output channel and relu (when `relu`) applied, rounded exactly as the separate add and
 * relu kernels round, so the result equals those three operations bit for bit. The direct
 * kernel does both before it stores each output block; other paths make one in-place pass
 * over the fresh output instead of two passes that each allocate a new one.
 *
 * With `inference` (the caller knows that no gradient records the result) large float32 3×3
 * convolutions may run by Winograd F(2×2, 3×3) instead (conv-winograd.ts): fewer
 * multiply-adds, different rounding, so never where a gradient could see both.
 */
export function conv2dBiasRelu(
  x: FloatArray, xShape: Shape4, w: FloatArray, wShape: Shape4, p: Conv2dParams, bias: FloatArray | null, relu: boolean,
  inference = false,
): FloatArray {
  const g = geometry(xShape, wShape, p);
  if (inference && winogradApplies(x, w, bias, g)) {
    // null: some output is not finite, which the direct kernels handle as the definition does
    const y = winogradConv3x3(x as Float32Array, w as Float32Array, g, bias as Float32Array | null, relu);
    if (y !== null) return y;
  }
  if (g.n * g.o * g.ohw > 0 && g.k > 0 && !isPointwise(g) && (bias === null || bias instanceof Float32Array)) {
    const direct = tryDirectConv(x, w, g, { bias, relu });
    if (direct !== null) return direct;
  }
  const y = conv2d(x, xShape, w, wShape, p);
  convEpilogueInPlace(y, g.n, g.o, g.ohw, bias, relu);
  return y;
}

/**
 * {@link conv2dBiasRelu} followed by 2×2 max pooling at stride 2 (no padding), in one pass
 * over memory where the direct or the Winograd kernels compute the convolution (conv-pool.ts):
 * bit for bit the two operations with `inference`. Null where neither runs (im2col, float64,
 * an output side below 2); the caller then runs the two operations. For inference only: it
 * records nothing a gradient could use (no argmax), and may take the Winograd path.
 */
export function conv2dBiasReluMaxPool2x2(
  x: FloatArray, xShape: Shape4, w: FloatArray, wShape: Shape4, p: Conv2dParams, bias: FloatArray | null, relu: boolean,
): Float32Array | null {
  const g = geometry(xShape, wShape, p);
  if (!(x instanceof Float32Array) || !(w instanceof Float32Array) || !(bias === null || bias instanceof Float32Array)) return null;
  if (g.n * g.o * g.ohw === 0 || g.k === 0 || isPointwise(g)) return null;
  if (winogradApplies(x, w, bias, g)) {
    const y = tryWinogradMaxPool2x2(x, w, g, bias, relu);
    if (y !== null) return y;
  }
  return tryDirectConvMaxPool2x2(x, w, g, { bias, relu });
}

/**
 * For unit stride and dilation, the input gradient is itself a convolution: of dy, padded by
 * `k − 1 − p` on each side, with the filters' in/out channels swapped (per group) and their
 * taps reversed. That runs on the direct kernel (conv-direct.ts) where it applies, with no
 * column matrix and no col2im scatter; null sends the caller to im2col + gemm + col2im.
 */
function directBackwardInput(dy: FloatArray, w: FloatArray, g: Geometry): FloatArray | null {
  const { n, c, h, o, kh, kw, oh, ow, ph, pw, groups, cg, og } = g;
  if (g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || ph > kh - 1 || pw > kw - 1) return null;
  if (!(dy instanceof Float32Array) || !(w instanceof Float32Array)) return null;
  if (getConvVariant() === 'auto' && h * g.w > DIRECT_INPUT_MAX_EXCESS * oh * ow) return null;
  const taps = kh * kw;
  // wT[gr·cg + ci, oc, a, b] = w[gr·og + oc, ci, kh−1−a, kw−1−b]
  const wT = new Float32Array(w.length);
  for (let gr = 0; gr < groups; gr++) {
    for (let oc = 0; oc < og; oc++) {
      for (let ci = 0; ci < cg; ci++) {
        const src = ((gr * og + oc) * cg + ci) * taps;
        const dst = ((gr * cg + ci) * og + oc) * taps;
        for (let t = 0; t < taps; t++) wT[dst + taps - 1 - t] = w[src + t]!;
      }
    }
  }
  return tryDirectConv(dy, wT, {
    n, c: o, h: oh, w: ow, o: c, kh, kw, oh: h, ow: g.w, sh: 1, sw: 1, ph: kh - 1 - ph, pw: kw - 1 - pw, dh: 1, dw: 1,
    groups, cg: og, og: cg,
  });
}

/**
 * Gradient of {@link conv2d} with respect to its input: given dy `[N, O, OH, OW]`
 * and w, returns dx `[N, C, H, W]` (= `xShape`). Equivalently the transposed
 * convolution of dy with w. Linear in `dy` and in `w`; see the module comment
 * for its own derivatives.
 */
export function conv2dBackwardInput(
  dy: FloatArray, dyShape: Shape4, w: FloatArray, wShape: Shape4, xShape: Shape4, p: Conv2dParams,
): FloatArray {
  const g = geometry(xShape, wShape, p);
  const { n, c, o, og, cg, k, hw, ohw, groups } = g;
  void dyShape; // implied by xShape, wShape and p; kept in the signature for symmetry with the op layer
  if (n * c * hw > 0 && ohw > 0 && og > 0 && !isPointwise(g)) {
    const direct = directBackwardInput(dy, w, g);
    if (direct !== null) return direct;
  }
  const dx = allocate(dtypeOf(dy), n * c * hw);
  if (dx.length === 0 || ohw === 0 || og === 0) return dx;

  if (isPointwise(g)) {
    // dx_n,group = W_groupᵀ [cg×og] · dy_n,group [og×hw]; W transposed through strides.
    for (let b = 0; b < n; b++) {
      for (let gr = 0; gr < groups; gr++) {
        gemm(cg, hw, og, w, gr * og * cg, 1, cg, dy, (b * o + gr * og) * ohw, ohw, 1, dx, (b * c + gr * cg) * hw, hw);
      }
    }
    return dx;
  }

  const nb = chunkImages(g);
  const dcol = scratch(dy, 0, k * nb * ohw);
  const dyT = nb > 1 ? scratch(dy, 1, og * nb * ohw) : null;
  for (let n0 = 0; n0 < n; n0 += nb) {
    const cnt = Math.min(nb, n - n0);
    const cols = cnt * ohw;
    for (let gr = 0; gr < groups; gr++) {
      const dyOff = (n0 * o + gr * og) * ohw;
      // dcol [k × cols] = W_groupᵀ [k × og] · dy_group [og × cols]
      if (dyT === null) {
        gemm(k, ohw, og, w, gr * og * k, 1, k, dy, dyOff, ohw, 1, dcol, 0, ohw);
      } else {
        packRows(dy, dyOff, o, og, ohw, cnt, dyT);
        gemm(k, cols, og, w, gr * og * k, 1, k, dyT, 0, cols, 1, dcol, 0, cols);
      }
      for (let b = 0; b < cnt; b++) col2im(dcol, b * ohw, cols, g, dx, ((n0 + b) * c + gr * cg) * hw);
    }
  }
  return dx;
}

/**
 * Gradient of {@link conv2d} with respect to its filter: given x `[N, C, H, W]`
 * and dy `[N, O, OH, OW]`, returns dw shaped `wShape` = `[O, C/groups, KH, KW]`,
 * summed over the batch. Linear in `x` and in `dy`; see the module comment for
 * its own derivatives.
 */
export function conv2dBackwardFilter(
  x: FloatArray, xShape: Shape4, dy: FloatArray, dyShape: Shape4, wShape: Shape4, p: Conv2dParams,
): FloatArray {
  const g = geometry(xShape, wShape, p);
  const { n, c, o, og, cg, k, hw, ohw, groups } = g;
  void dyShape; // implied by xShape, wShape and p
  if (o * k > 0 && n * ohw > 0 && !isPointwise(g)) {
    const direct = tryDirectConvFilter(x, dy, g);
    if (direct !== null) return direct;
  }
  const dw = allocate(dtypeOf(x), o * k);
  if (dw.length === 0 || n === 0 || ohw === 0) return dw;

  if (isPointwise(g)) {
    // dW_group [og×cg] += dy_n,group [og×hw] · x_n,groupᵀ [hw×cg]
    for (let b = 0; b < n; b++) {
      for (let gr = 0; gr < groups; gr++) {
        gemm(og, cg, hw, dy, (b * o + gr * og) * ohw, ohw, 1, x, (b * c + gr * cg) * hw, 1, hw, dw, gr * og * cg, cg, b > 0);
      }
    }
    return dw;
  }

  const nb = chunkImages(g);
  const col = scratch(x, 0, k * nb * ohw);
  const dyT = nb > 1 ? scratch(x, 1, og * nb * ohw) : null;
  for (let n0 = 0; n0 < n; n0 += nb) {
    const cnt = Math.min(nb, n - n0);
    const cols = cnt * ohw;
    for (let gr = 0; gr < groups; gr++) {
      for (let b = 0; b < cnt; b++) im2col(x, ((n0 + b) * c + gr * cg) * hw, g, col, b * ohw, cols);
      const dyOff = (n0 * o + gr * og) * ohw;
      // dW_group [og × k] (+)= dy_group [og × cols] · colᵀ [cols × k]
      if (dyT === null) {
        gemm(og, k, ohw, dy, dyOff, ohw, 1, col, 0, 1, ohw, dw, gr * og * k, k, n0 > 0);
      } else {
        packRows(dy, dyOff, o, og, ohw, cnt, dyT);
        gemm(og, k, cols, dyT, 0, cols, 1, col, 0, 1, cols, dw, gr * og * k, k, n0 > 0);
      }
    }
  }
  return dw;
}
