/**
 * Winograd F(2×2, 3×3) convolution for float32 inference (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2015): each 2×2 block of outputs of a 3×3, stride-1,
 * dilation-1, one-group convolution is `Aᵀ [Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B)] A`, where g_c is the
 * filter of input channel c and d_c the 4×4 input tile under the block. The sum over c for one
 * of the 16 tile positions ξ is a matrix product over all tiles at once:
 *
 *   M_ξ [O × tiles] = U_ξ [O × C] · V_ξ [C × tiles],   U = G g Gᵀ, V = Bᵀ d B,
 *
 * 16 products with 16/36 of the direct convolution's multiply-adds. Two implementations: the
 * WebAssembly SIMD kernels of ./wasm/winograd-kernel.ts (transforms and products, each pass
 * split over the worker pool), and, where those cannot run (no runtime, or tile rows of fewer
 * than 4 tiles), transforms in JavaScript with the products on {@link gemm}.
 *
 *   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
 *   Aᵀ = [1 1 1 0; 0 1 −1 −1].
 *
 * The transforms round differently from the direct sum (see the error bound in
 * spec/backend/cpu/conv-winograd.spec.ts), so the path runs only where no gradient records
 * anything (the caller decides) and only for problems where it was measured faster. A
 * non-finite input or weight spreads through a whole tile in the transforms (∞ − ∞ = NaN
 * where the direct sum gives ∞, and ∞ · 0 = NaN from taps the direct sum never multiplies),
 * and such a value always reaches some output; so whenever an output (before relu) is not
 * finite, the caller recomputes with the direct kernel.
 *
 * @module
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { chunkCopier, getConvVariant, type DirectChunk } from './conv-direct.js';
import { gemm, getGemmVariant } from './gemm.js';
import { runtime } from './runtime.js';
import { scratch } from './scratch.js';
import { ARENA_LIMIT_BYTES, CONTROL_BYTES, align, type WasmJob } from './wasm/gemm-kernel.js';

/** What {@link winogradConv3x3} needs to know about the convolution (stride and dilation 1, one group, 3×3). */
export interface WinogradGeometry {
  readonly n: number; readonly c: number; readonly h: number; readonly w: number;
  readonly o: number; readonly oh: number; readonly ow: number;
  readonly ph: number; readonly pw: number;
}

/** The convolution parameters {@link winogradApplies} checks, beyond {@link WinogradGeometry}. */
export interface WinogradCandidate extends WinogradGeometry {
  readonly kh: number; readonly kw: number;
  readonly sh: number; readonly sw: number; readonly dh: number; readonly dw: number;
  readonly groups: number;
}

/*
 * Size gate of the SIMD path (wasm/winograd-kernel.ts), measured on the 2-core dev box (load
 * ~0.3; each shape's calls alternated in one process, 30+ calls, medians; /tmp scratch) against
 * the automatic path (direct kernel, or im2col + gemm where C·9 > 576 or the output is narrower
 * than 8), as speed-up = that time / Winograd's (both with relu, both copying their output out):
 *   [64,32,13,13]*[64] 1.21   [32,32,13,13]*[64] 1.18  [16,32,13,13]*[64] 1.09
 *   [8,32,13,13]*[64] 1.00    [2,32,13,13]*[64] 1.16   [64,24,13,13]*[48] 1.11
 *   [64,8,28,28]*[16] p1 1.23 [64,4,28,28]*[32] p1 1.22 [64,4,28,28]*[8] p1 1.17
 *   [16,16,28,28]*[16] p1 1.40 [16,32,28,28]*[32] p1 1.54 [8,64,28,28]*[64] p1 1.65
 *   [8,64,14,14]*[64] p1 1.50 [16,64,8,8]*[64] p1 1.26  [4,128,14,14]*[128] p1 2.01
 *   [2,96,14,14]*[64] p1 1.89 [1,64,56,56]*[64] p1 2.62  [8,128,28,28]*[128] p1 3.63
 *   [2,256,14,14]*[256] p1 1.12 [8,256,7,7]*[256] p1 1.09 [16,256,7,7]*[256] p1 1.44
 *   [32,32,9,9]*[32] 4.70 (7×7 outputs: im2col otherwise)
 * and where it lost (kept off by the rules below):
 *   [1,32,13,13]*[64] 0.88 (36 tiles); [1,256,14,14]*[256] p1 0.70 (49); [2,128,7,7]*[128] p1 0.93 (32);
 *   [64,16,13,13]*[32] 0.94 (11×11 outputs save 1.89x, and C·O/(C+O) = 10.7 products per
 *   transformed value do not pay for the transforms); few input channels: [64,1,28,28]*[32]
 *   0.76, [64,2,28,28]*[16] 0.66, [64,3,32,32]*[32] p1 0.95, [16,3,32,32]*[64] p1 0.48.
 */
/** Fewest input channels, and tiles (all images), of the SIMD path. */
const SIMD_MIN_CHANNELS = 4;
const SIMD_MIN_TILES = 64;
/** Below this saving in multiply-adds, the SIMD path needs {@link SIMD_MIN_PRODUCTS} products per transformed value. */
const SIMD_FULL_SAVING = 2.2;
const SIMD_MIN_PRODUCTS = 16;

/*
 * Size gate of the JavaScript path (no SIMD kernels, or tile rows under 4 tiles), measured on
 * the 2-core dev box (load 1.0-1.2, each shape's calls alternated in one process, medians of
 * 20; /tmp scratch), the automatic path then (im2col + gemm, threaded where large) against
 * Winograd, ms:
 *   [2,96,14,14]*[64,96]     3.74 -> 2.94    [2,128,14,14]*[128,128]   6.30 -> 5.21
 *   [4,128,14,14]*[128,128] 10.79 -> 7.81    [2,128,28,28]*[128,128]  19.13 -> 13.43
 *   [8,128,28,28]*[128,128] 86.83 -> 65.17   [16,128,14,14]*[64,128]  32.16 -> 19.73
 *   [4,96,32,32]*[96,96]    37.94 -> 23.31   [4,192,14,14]*[192,192]  24.46 -> 20.12
 *   [4,256,14,14]*[256,256] 38.53 -> 26.32   [8,256,14,14]*[256,256]  69.49 -> 54.75
 *   [2,256,28,28]*[256,256] 72.94 -> 58.93
 * and where it did not pay (kept off by the rules below):
 *   [2,256,14,14]*[256,256] 17.55 -> 19.47, [3,256,..] 30.3 -> 28.1, [2,192,14,14] 12.4 -> 11.6
 *     (98-147 tiles: its 16 products stay on one thread while im2col's one product is threaded);
 *   7×7 outputs: [8,256,7,7] 21.3 -> 24.4, [16,256,7,7] 39.9 -> 40.1, [16,512,7,7] 127 -> 129
 *     (16 tiles hold 64 outputs for 49: 1.72x fewer multiply-adds instead of 2.25x);
 *   [1,256,14,14] 7.7 -> 12 (49 tiles); [2,128,7,7] 2.0 -> 9.6 (32 tiles); [4,72,16,16] p0 3.9 -> 4.7.
 * With C ≤ 64 (9·C ≤ 576) the direct SIMD kernel runs, and beats this path: on the CNN's second
 * layer ([64,32,13,13]*[64,32]) the 16 products alone (75.5 M multiply-adds on the project's
 * gemm) took 5.0-7.1 ms on the pool against 7.2-10.4 ms for the whole direct convolution, and
 * the JavaScript transforms another ~14 ms.
 */
/** Fewest input channels measured to pay (72 lost; up to 64 the direct kernel runs and wins). */
const MIN_CHANNELS = 96;
/** Fewest output channels measured. */
const MIN_OUTPUTS = 64;
/** Fewest tiles (all images), and the fewest where C·O exceeds {@link WIDE_CO}. */
const MIN_TILES = 96;
const MIN_TILES_WIDE = 192;
const WIDE_CO = 128 * 128;
/** Least ratio of the direct sum's multiply-adds (9 per output) to Winograd's (16 per 4-output tile). */
const MIN_SAVING = 2;
/** Most bytes of V and M for one image (no tiling within an image). */
const MAX_IMAGE_BYTES = 16 << 20;

/**
 * Whether {@link winogradConv3x3} should compute this convolution: float32 operands, 3×3
 * kernel, stride 1, dilation 1, one group, no forced kernel variant, and a size measured to
 * pay (see above). The caller must also know that no gradient records the result.
 */
export function winogradApplies(x: FloatArray, w: FloatArray, bias: FloatArray | null, g: WinogradCandidate): boolean {
  if (!(x instanceof Float32Array) || !(w instanceof Float32Array) || !(bias === null || bias instanceof Float32Array)) return false;
  if (g.kh !== 3 || g.kw !== 3 || g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || g.groups !== 1) return false;
  if (g.n < 1 || g.oh < 1 || g.ow < 1 || getConvVariant() !== 'auto' || getGemmVariant() !== 'auto') return false;
  const tilesPerImage = ((g.oh + 1) >> 1) * ((g.ow + 1) >> 1);
  const saving = (9 * g.oh * g.ow) / (16 * tilesPerImage);
  if (simdKernels() && (g.ow + 1) >> 1 >= 4) {
    return g.c >= SIMD_MIN_CHANNELS && g.n * tilesPerImage >= SIMD_MIN_TILES
      && (saving >= SIMD_FULL_SAVING || (g.c * g.o) / (g.c + g.o) >= SIMD_MIN_PRODUCTS);
  }
  const minTiles = g.c * g.o > WIDE_CO ? MIN_TILES_WIDE : MIN_TILES;
  return g.c >= MIN_CHANNELS && g.o >= MIN_OUTPUTS && g.n * tilesPerImage >= minTiles
    && saving >= MIN_SAVING
    && 64 * (g.c + g.o) * tilesPerImage <= MAX_IMAGE_BYTES;
}

/** Whether the SIMD kernels compiled (they need tile rows of 4 tiles or more). */
function simdKernels(): boolean {
  return runtime()?.has('wino') ?? false;
}

/**
 * Reused workspaces (./scratch.ts) for the staged input, V and M, kept whatever their size
 * (at most a few times {@link MAX_IMAGE_BYTES}).
 */
const workspace = (slot: 0 | 1 | 2, length: number): Float32Array => scratch('float32', slot, length, Infinity) as Float32Array;

/** Bytes of V and M per chunk of images: both stay near the caches across the 16 products. */
const CHUNK_BYTES = 4 << 20;

/**
 * Distance between the 16 matrices of V or M: at least `length`, and 320 bytes past a
 * multiple of 4 KiB, so that the transforms' 16 streams (one per matrix) do not all map to the
 * same cache sets (a guard; no difference was measurable on the dev box).
 */
const skew = (length: number): number => Math.ceil(length / 1024) * 1024 + 80;

/**
 * U [16][O][C] = G g Gᵀ for every (o, c), from w [O, C, 3, 3], into `u` from element `at`
 * with matrices `step` elements apart (≥ O·C; what lies between is not written).
 */
function filterTransform(w: Float32Array, o: number, c: number, u: Float32Array = new Float32Array(16 * o * c), at = 0, step = o * c): Float32Array {
  const plane = o * c;
  const r = new Float32Array(12); // G·g (4 × 3), rounded as float32 arithmetic would
  for (let oc = 0; oc < plane; oc++) {
    const s = oc * 9;
    for (let j = 0; j < 3; j++) {
      const g0 = w[s + j]!, g1 = w[s + 3 + j]!, g2 = w[s + 6 + j]!;
      r[j] = g0;
      r[3 + j] = Math.fround(g0 + g1 + g2) * 0.5;
      r[6 + j] = Math.fround(g0 - g1 + g2) * 0.5;
      r[9 + j] = g2;
    }
    for (let i = 0; i < 4; i++) {
      const g0 = r[3 * i]!, g1 = r[3 * i + 1]!, g2 = r[3 * i + 2]!;
      u[at + (4 * i) * step + oc] = g0;
      u[at + (4 * i + 1) * step + oc] = Math.fround(g0 + g1 + g2) * 0.5;
      u[at + (4 * i + 2) * step + oc] = Math.fround(g0 - g1 + g2) * 0.5;
      u[at + (4 * i + 3) * step + oc] = g2;
    }
  }
  return u;
}

/**
 * Copy images `n0 … n0+cnt` into `staged` as planes of `hp × wp`, the input at offset
 * (ph, pw) and zeros around it: every 4×4 tile, partial edge tiles included, then reads in bounds.
 */
function stage(x: Float32Array, g: WinogradGeometry, n0: number, cnt: number, hp: number, wp: number, staged: Float32Array): void {
  const { c, h, w, ph, pw } = g;
  const plane = hp * wp;
  staged.fill(0, 0, cnt * c * plane);
  for (let p = 0; p < cnt * c; p++) {
    const src = (n0 * c + p) * h * w, dst = p * plane + ph * wp + pw;
    for (let r = 0; r < h; r++) {
      const s = src + r * w, d = dst + r * wp;
      for (let t = 0; t < w; t++) staged[d + t] = x[s + t]!;
    }
  }
}

/**
 * V [16][C][tiles] (matrices `step` apart): Bᵀ d B of every 4×4 tile (stride 2) of every
 * staged plane. Intermediates are JavaScript doubles, rounded to float32 once when stored: no
 * less accurate than float32 operations (which the spec's error bound counts).
 */
function inputTransform(staged: Float32Array, cnt: number, c: number, hp: number, wp: number, th: number, tw: number, v: Float32Array, step: number): void {
  const tiles = cnt * th * tw, plane = hp * wp;
  for (let b = 0; b < cnt; b++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * plane;
      let out = ch * tiles + b * th * tw;
      for (let ty = 0; ty < th; ty++) {
        for (let tx = 0; tx < tw; tx++, out++) {
          const s = base + 2 * ty * wp + 2 * tx;
          // Bᵀ d along columns of each row, then along the rows
          const a0 = staged[s]!, a1 = staged[s + 1]!, a2 = staged[s + 2]!, a3 = staged[s + 3]!;
          const b0 = staged[s + wp]!, b1 = staged[s + wp + 1]!, b2 = staged[s + wp + 2]!, b3 = staged[s + wp + 3]!;
          const c0 = staged[s + 2 * wp]!, c1 = staged[s + 2 * wp + 1]!, c2 = staged[s + 2 * wp + 2]!, c3 = staged[s + 2 * wp + 3]!;
          const d0 = staged[s + 3 * wp]!, d1 = staged[s + 3 * wp + 1]!, d2 = staged[s + 3 * wp + 2]!, d3 = staged[s + 3 * wp + 3]!;
          const a0t = (a0 - a2), a1t = (a1 + a2), a2t = (a2 - a1), a3t = (a1 - a3);
          const b0t = (b0 - b2), b1t = (b1 + b2), b2t = (b2 - b1), b3t = (b1 - b3);
          const c0t = (c0 - c2), c1t = (c1 + c2), c2t = (c2 - c1), c3t = (c1 - c3);
          const d0t = (d0 - d2), d1t = (d1 + d2), d2t = (d2 - d1), d3t = (d1 - d3);
          v[out] = a0t - c0t; v[out + step] = a1t - c1t; v[out + 2 * step] = a2t - c2t; v[out + 3 * step] = a3t - c3t;
          v[out + 4 * step] = b0t + c0t; v[out + 5 * step] = b1t + c1t; v[out + 6 * step] = b2t + c2t; v[out + 7 * step] = b3t + c3t;
          v[out + 8 * step] = c0t - b0t; v[out + 9 * step] = c1t - b1t; v[out + 10 * step] = c2t - b2t; v[out + 11 * step] = c3t - b3t;
          v[out + 12 * step] = b0t - d0t; v[out + 13 * step] = b1t - d1t; v[out + 14 * step] = b2t - d2t; v[out + 15 * step] = b3t - d3t;
        }
      }
    }
  }
}

/**
 * y ← relu?(Aᵀ m A + bias) for every tile of M [16][O][tiles], into images `n0 …` of `y`
 * (the bottom row / right column of a tile past the output's edge is dropped). Returns false
 * when some value before relu is not finite (or, harmlessly, when four finite ones overflow
 * their sum in the check); doubles inside, as in {@link inputTransform}.
 */
function outputTransform(
  m: Float32Array, g: WinogradGeometry, n0: number, cnt: number, th: number, tw: number,
  bias: Float32Array | null, relu: boolean, y: Float32Array, step: number,
): boolean {
  const { o, oh, ow } = g;
  const tiles = cnt * th * tw;
  let check = 0;
  for (let b = 0; b < cnt; b++) {
    for (let oc = 0; oc < o; oc++) {
      const bo = bias === null ? 0 : bias[oc]!;
      const plane = ((n0 + b) * o + oc) * oh * ow;
      let at = oc * tiles + b * th * tw;
      for (let ty = 0; ty < th; ty++) {
        const row = plane + 2 * ty * ow, lastRow = 2 * ty + 1 < oh;
        for (let tx = 0; tx < tw; tx++, at++) {
          const m0 = m[at]!, m1 = m[at + step]!, m2 = m[at + 2 * step]!, m3 = m[at + 3 * step]!;
          const m4 = m[at + 4 * step]!, m5 = m[at + 5 * step]!, m6 = m[at + 6 * step]!, m7 = m[at + 7 * step]!;
          const m8 = m[at + 8 * step]!, m9 = m[at + 9 * step]!, m10 = m[at + 10 * step]!, m11 = m[at + 11 * step]!;
          const m12 = m[at + 12 * step]!, m13 = m[at + 13 * step]!, m14 = m[at + 14 * step]!, m15 = m[at + 15 * step]!;
          // Aᵀ along the rows (tile rows 0,1,2 → output row 0; 1,2,3 → row 1), then along columns
          const s0 = ((m0 + m4) + m8), s1 = ((m1 + m5) + m9);
          const s2 = ((m2 + m6) + m10), s3 = ((m3 + m7) + m11);
          const t0 = ((m4 - m8) - m12), t1 = ((m5 - m9) - m13);
          const t2 = ((m6 - m10) - m14), t3 = ((m7 - m11) - m15);
          const y00 = (((s0 + s1) + s2) + bo);
          const y01 = (((s1 - s2) - s3) + bo);
          const y10 = (((t0 + t1) + t2) + bo);
          const y11 = (((t1 - t2) - t3) + bo);
          check += (y00 + y01 + y10 + y11) * 0;
          const p = row + 2 * tx;
          const lastCol = 2 * tx + 1 < ow;
          y[p] = relu && y00 < 0 ? 0 : y00;
          if (lastCol) y[p + 1] = relu && y01 < 0 ? 0 : y01;
          if (lastRow) {
            y[p + ow] = relu && y10 < 0 ? 0 : y10;
            if (lastCol) y[p + ow + 1] = relu && y11 < 0 ? 0 : y11;
          }
        }
      }
    }
  }
  return check === 0;
}

/**
 * `relu?(conv2d(x, w) + bias)` of float32 x `[N, C, H, W]` and w `[O, C, 3, 3]` (stride 1,
 * dilation 1, one group, zero padding `ph`, `pw`) by Winograd F(2×2, 3×3), or null when some
 * output before relu is not finite (the caller then runs the direct kernel, whose handling
 * of NaN and ±∞ this cannot reproduce; see the module comment).
 */
export function winogradConv3x3(x: Float32Array, w: Float32Array, g: WinogradGeometry, bias: Float32Array | null, relu: boolean): Float32Array | null {
  const copy = chunkCopier(g.n, g.o * g.oh * g.ow);
  const simd = winogradChunks(x, w, g, bias, relu, () => 0, copy.consume);
  if (simd === 'done') return copy.result();
  if (simd === 'nonfinite') return null;
  return winogradConv3x3Js(x, w, g, bias, relu);
}

/** {@link winogradConv3x3} in JavaScript transforms and {@link gemm} products (where the SIMD kernels are missing). */
function winogradConv3x3Js(x: Float32Array, w: Float32Array, g: WinogradGeometry, bias: Float32Array | null, relu: boolean): Float32Array | null {
  const { n, c, o, oh, ow } = g;
  const th = (oh + 1) >> 1, tw = (ow + 1) >> 1;
  const hp = 2 * th + 2, wp = 2 * tw + 2;
  const u = filterTransform(w, o, c);
  const y = new Float32Array(n * o * oh * ow);
  const perImage = 16 * (c + o) * th * tw * 4;
  const nb = Math.max(1, Math.min(n, Math.floor(CHUNK_BYTES / perImage)));
  const staged = workspace(0, nb * c * hp * wp);
  const vStep = skew(c * nb * th * tw), mStep = skew(o * nb * th * tw);
  const v = workspace(1, 16 * vStep);
  const m = workspace(2, 16 * mStep);
  for (let n0 = 0; n0 < n; n0 += nb) {
    const cnt = Math.min(nb, n - n0);
    const tiles = cnt * th * tw;
    stage(x, g, n0, cnt, hp, wp, staged);
    inputTransform(staged, cnt, c, hp, wp, th, tw, v, vStep);
    for (let xi = 0; xi < 16; xi++) {
      gemm(o, tiles, c, u, xi * o * c, c, 1, v, xi * vStep, tiles, 1, m, xi * mStep, tiles);
    }
    if (!outputTransform(m, g, n0, cnt, th, tw, bias, relu, y, mStep)) return null;
  }
  return y;
}

// ---------------------------------------------------------------- the SIMD kernels (wasm/winograd-kernel.ts)

/**
 * Images per chunk of the SIMD path: V and M of one chunk (all 16 matrices) within about
 * `chunkBytes` (at least one image). Measured on the CNN's second layer ([64,32,13,13]*[64]):
 * 0.5, 1, 2, 4, 16 MB took 4.70, 4.49, 4.11, 3.76, 3.46 ms (each pass waits for the slowest
 * job, and small chunks have more passes). @internal Exposed for tests.
 */
export const winogradTuning = { chunkBytes: 16 << 20 };

/**
 * The convolution on the SIMD kernels, chunk by chunk of images, each chunk's output (NCHW,
 * dense, in the runtime's memory) handed to `consume` as conv-direct.ts's chunks are, with
 * `extraBytes(cnt)` reserved past it. With `pool2x2` the output is its 2×2 max pooling at
 * stride 2 instead, taken by the output transform from each tile's four values. The three
 * passes (input transform by image ranges, the 16 products, output transform by image ranges)
 * each split over the worker pool. Returns 'unavailable' (nothing done) without the kernels or
 * where a tile row has fewer than 4 tiles, 'nonfinite' when some output before relu is not
 * finite (earlier chunks were consumed: the caller recomputes all of it), 'done' otherwise.
 */
export function winogradChunks(
  x: Float32Array, w: Float32Array, g: WinogradGeometry, bias: Float32Array | null, relu: boolean,
  extraBytes: (cnt: number) => number, consume: (chunk: DirectChunk) => void, pool2x2 = false,
): 'unavailable' | 'nonfinite' | 'done' {
  const rt = runtime();
  const fin = rt ? rt.fn('wino', 'wino_input') : -1, fgemm = rt ? rt.fn('wino', 'wino_gemm') : -1;
  const fout = rt ? rt.fn('wino', `wino_output${pool2x2 ? '_pool' : ''}${relu ? '_relu' : ''}`) : -1;
  const { n, c, h, o, oh, ow, ph, pw } = g;
  // what a chunk's output holds per image: the convolution's planes, or their 2×2 maxima
  const yImg = pool2x2 ? o * (oh >> 1) * (ow >> 1) : o * oh * ow;
  const th = (oh + 1) >> 1, tw = (ow + 1) >> 1;
  if (!rt || fin < 0 || fgemm < 0 || fout < 0 || tw < 4) return 'unavailable';
  const hp = 2 * th + 2, wp = 2 * tw + 2, o4 = Math.ceil(o / 4) * 4;
  const pool = rt.pool();
  const threads = 1 + (pool?.readyCount() ?? 0);
  const nb = Math.max(1, Math.min(n, Math.floor(winogradTuning.chunkBytes / (16 * (c + o4) * th * tw * 4))));
  const parts = Math.min(nb, 2 * threads);
  const tpOf = (cnt: number): number => Math.ceil((cnt * th * tw) / 8) * 8;
  // U, the chunk's input, the padded-plane scratch of each input job, V, M, Y, the output jobs' flags
  const tp = tpOf(nb), vStep = skew(c * tp) * 4, mStep = skew(o4 * tp) * 4, planeBytes = align(hp * wp * 4 + 64);
  const U0 = CONTROL_BYTES, X0 = align(U0 + 16 * o4 * c * 4), P0 = align(X0 + nb * c * h * g.w * 4 + 64);
  const V0 = align(P0 + parts * planeBytes), M0 = align(V0 + 16 * vStep), Y0 = align(M0 + 16 * mStep);
  const F0 = align(Y0 + nb * yImg * 4 + 64), B0 = align(F0 + parts * 4), free = align(B0 + o * 4);
  const bytes = free + extraBytes(nb) + 64;
  if (bytes > ARENA_LIMIT_BYTES) return 'unavailable';
  let view = rt.engine.reserve(bytes).f32;
  filterTransform(w, o, c, view, U0 / 4, o4 * c);
  for (let xi = 0; xi < 16; xi++) view.fill(0, U0 / 4 + xi * o4 * c + o * c, U0 / 4 + (xi + 1) * o4 * c);
  if (bias !== null) view.set(bias.subarray(0, o), B0 / 4);
  const run = (jobs: WasmJob[]): void => {
    if (pool && threads > 1 && jobs.length > 1) pool.run(jobs, 0, undefined, 'wino');
    else for (const j of jobs) rt.call(j.fn, ...j.args);
  };
  const imageRanges = (cnt: number): [number, number][] => {
    const per = Math.ceil(cnt / Math.min(cnt, parts)), out: [number, number][] = [];
    for (let i0 = 0; i0 < cnt; i0 += per) out.push([i0, Math.min(per, cnt - i0)]);
    return out;
  };
  for (let n0 = 0; n0 < n; n0 += nb) {
    const cnt = Math.min(nb, n - n0), tpc = tpOf(cnt), ranges = imageRanges(cnt);
    view = rt.engine.reserve(bytes).f32;
    const ints = new Int32Array(view.buffer);
    view.set(x.subarray(n0 * c * h * g.w, (n0 + cnt) * c * h * g.w), X0 / 4);
    run(ranges.map(([i0, ni], j) => ({ fn: fin, args: Int32Array.from([
      X0 + i0 * c * h * g.w * 4, P0 + j * planeBytes, V0, ni, c, h, g.w, hp, wp, ph, pw, th, tw, tpc, i0 * th * tw, vStep,
    ]) })));
    run(Array.from({ length: 16 }, (_, xi) => ({ fn: fgemm, args: Int32Array.from([
      U0 + xi * o4 * c * 4, V0 + xi * vStep, M0 + xi * mStep, o4, c, tpc, 0, tpc,
    ]) })));
    ints.fill(0, F0 / 4, F0 / 4 + ranges.length);
    run(ranges.map(([i0, ni], j) => ({ fn: fout, args: Int32Array.from([
      M0, Y0 + i0 * yImg * 4, bias === null ? 0 : B0, ni, o, oh, ow, th, tw, tpc, i0 * th * tw, mStep, F0 + j * 4,
    ]) })));
    for (let j = 0; j < ranges.length; j++) if (ints[F0 / 4 + j] !== 0) return 'nonfinite';
    consume({ view, at: Y0 / 4, n0, cnt, free });
  }
  return 'done';
}
