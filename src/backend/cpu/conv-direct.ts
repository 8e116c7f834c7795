/**
 * Direct convolution with the WebAssembly SIMD kernel of wasm/conv-kernel.ts (float32,
 * stride 1, dilation 1, kernel width ≤ 7, output width ≥ 8), optionally split over the
 * worker pool by images. The input is staged (zero-padded) in the runtime's memory, the
 * output written there in NCHW order and copied out once — against im2col + gemm this
 * saves the column matrix, the gemm's packing and the [O, N, OHW] → [N, O, OHW] copy.
 *
 * @module
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { getGemmVariant } from './gemm.js';
import { runtime } from './runtime.js';
import { FILTER_MAX_JC, FILTER_PARAMS, MAX_KW } from './wasm/conv-kernel.js';
import { CONTROL_BYTES, align, type WasmJob } from './wasm/gemm-kernel.js';

/**
 * Implementations of the forward convolution:
 * - `'im2col'`: column matrix + gemm (any parameters, any dtype; the gemm picks its own variant),
 * - `'direct'`: the direct SIMD kernel on the calling thread,
 * - `'threaded'`: the direct kernel with the images split over the worker pool.
 * The direct variants apply where the kernel does (float32, unit stride and dilation, kernel
 * width ≤ 7, output width ≥ 8); elsewhere every variant runs im2col. Under `'auto'`, a gemm
 * variant forced with `setGemmVariant` sends convolutions to im2col, so the gemm variant
 * under test is the one that runs.
 */
export type ConvVariant = 'im2col' | 'direct' | 'threaded';

let forced: ConvVariant | 'auto' = 'auto';

/*
 * Auto dispatch, measured on the 2-core dev box (shared; load average 1.4 at the time) with
 *   node --import tsx bench/crossover.ts conv
 * over 7 layer shapes (k = C·KH·KW from 9 to 1152, 0.2M to 151M multiply-adds) against
 * im2col + (threaded) gemm. The direct kernel wins while k is short: 2.0x at k = 9
 * (64×1×28×28 ⊛ 32×1×3×3: 1.55 ms threaded vs 3.17 ms), 3.7x at k = 400, 2.0x at k = 288,
 * 1.35x at k = 576 (4.2 vs 5.7 ms, threaded); even at k = 1152 (8.3 vs 8.1 ms), hence
 * DIRECT_MAX_K. Threads paid from 12.5M multiply-adds (1.55 vs 1.95 ms one thread), not
 * at 7.1M (0.81 vs 0.82 ms).
 */
const DIRECT_MAX_K = 576;
const THREADED_MIN_MACS = 10e6;

/*
 * The filter gradient, by k = C·KH·KW, wall time on the 2-core dev box (load ~0.3, both
 * threads, medians of 30; /tmp scratch), ms, im2col + gemm against the direct kernel:
 * k = 72 ([64,8,28,28]*[16], pad 1) 11.2 vs 4.2; k = 144 ([16,16,28,28]*[32]) 6.2 vs 3.5;
 * k = 288 ([64,32,13,13]*[64], the CNN's second layer) 9.2 vs 8.7; k = 576
 * ([16,64,14,14]*[64]) 7.0 vs 7.6; k = 1152 ([8,128,14,14]*[128]) 9.9 vs 14.5. (The earlier
 * limit of 64 came from CPU time on one thread under load ~15, where k = 288 measured 24 vs 29.)
 */
const FILTER_DIRECT_MAX_K = 288;

/**
 * The input gradient through the forward kernel (conv.ts) computes on dy padded by k − 1 − p:
 * for a valid 3×3 convolution of 13×13 inputs 13·13 outputs per 11·11 of work (1.4×). Under
 * 'auto' it runs only while that excess stays below this ratio. Measured on the 2-core dev box
 * (load ~0.3, wall time, both threads, medians of 40; /tmp scratch), ms, im2col + gemm + col2im
 * against the direct kernel, by excess: [64,16,28,28] k3 (1.16) 25.0 vs 5.1; [64,32,13,13] k3
 * (1.40) 10.6 vs 8.0; [16,64,10,10] k3 (1.56) 2.92 vs 2.21; [32,16,7,7] k3 (1.96) 0.60 vs 0.61;
 * [8,32,12,12] k5 (2.25) 1.88 vs 1.97. (An earlier gate of 1.15 came from CPU-time
 * measurements on one thread under load ~15: 28.6 vs 23.2 ms for the 1.40 case.)
 */
export const DIRECT_INPUT_MAX_EXCESS = 2;

/** Bytes of input + output staged per chunk of images. */
const STAGE_BUDGET = 64 << 20;

/** Variants that can run here. */
export function convVariants(): ConvVariant[] {
  const rt = runtime();
  if (!rt?.has('conv')) return ['im2col'];
  return rt.pool() ? ['im2col', 'direct', 'threaded'] : ['im2col', 'direct'];
}

/**
 * Force one implementation of the forward convolution (parity tests, benchmarks), or go
 * back to automatic choice with `'auto'`.
 * @throws RangeError if the variant is not available here.
 */
export function setConvVariant(v: ConvVariant | 'auto'): void {
  if (v !== 'auto' && !convVariants().includes(v)) throw new RangeError(`conv variant '${v}' is not available here`);
  forced = v;
}

/** The variant set with {@link setConvVariant}. */
export function getConvVariant(): ConvVariant | 'auto' {
  return forced;
}

/**
 * Copy `planes` planes of `h × w` from `x` (starting at plane `p0`) into `v` at `at`, each
 * surrounded by `ph` zero rows and `pw` zero columns. An element loop: rows are short
 * (a subarray per row cost ~5 ms for the 64·64·11 rows of a 64×64×11×11 input gradient).
 */
function stagePadded(x: FloatArray, p0: number, planes: number, h: number, w: number, ph: number, pw: number, v: Float32Array, at: number): void {
  const hw = h * w;
  if (ph === 0 && pw === 0) {
    v.set(x.subarray(p0 * hw, (p0 + planes) * hw), at);
    return;
  }
  const wp = w + 2 * pw, plane = (h + 2 * ph) * wp;
  v.fill(0, at, at + planes * plane);
  for (let p = 0; p < planes; p++) {
    for (let r = 0; r < h; r++) {
      const s = (p0 + p) * hw + r * w, d = at + p * plane + (r + ph) * wp + pw;
      for (let t = 0; t < w; t++) v[d + t] = x[s + t]!;
    }
  }
}

/** The geometry the direct kernel needs (a subset of conv.ts's). */
export interface DirectGeometry {
  n: number; c: number; h: number; w: number; o: number; kh: number; kw: number; oh: number; ow: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; groups: number; cg: number; og: number;
}

/** What the direct kernel applies to each finished sum: a per-output-channel bias, then relu. */
export interface ConvEpilogue {
  /** `[O]` biases (float32), or null for none. */
  readonly bias: Float32Array | null;
  /** Whether relu follows. */
  readonly relu: boolean;
}

/**
 * The direct convolution of float32 `x` with float32 `w`, or null when the im2col path
 * should run (variant, parameters or runtime rule the kernel out). With `epilogue`, the
 * kernel adds the bias and applies relu before it stores each output block, which spares
 * the separate passes (and their multi-megabyte outputs) over the result.
 */
export function tryDirectConv(x: FloatArray, w: FloatArray, g: DirectGeometry, epilogue?: ConvEpilogue): Float32Array | null {
  const copy = chunkCopier(g.n, g.o * g.oh * g.ow);
  return directConvChunks(x, w, g, epilogue, () => 0, copy.consume) ? copy.result() : null;
}

/** One chunk of a direct convolution's output, in the runtime's memory (see {@link directConvChunks}). */
export interface DirectChunk {
  /** The memory's float32 view (valid until the next reserve). */
  readonly view: Float32Array;
  /** Element index in `view` of the chunk's first output. */
  readonly at: number;
  /** First image of the chunk, and the number of images. */
  readonly n0: number;
  readonly cnt: number;
  /** Byte address, 64-aligned, of the `extraBytes(cnt)` reserved past the outputs and their slack (16 floats). */
  readonly free: number;
}

/**
 * A `consume` for chunked convolutions ({@link directConvChunks}, conv-winograd.ts's) that
 * copies each chunk's outputs, `perImage` floats an image, into one array of `n` images, made
 * at the first chunk (so a path that declines allocates nothing); `result()` returns it.
 */
export function chunkCopier(n: number, perImage: number): { consume: (c: DirectChunk) => void; result: () => Float32Array } {
  let out: Float32Array | null = null;
  return {
    consume: (c) => (out ??= new Float32Array(n * perImage)).set(c.view.subarray(c.at, c.at + c.cnt * perImage), c.n0 * perImage),
    result: () => out ?? new Float32Array(n * perImage),
  };
}

/**
 * Run the direct convolution chunk by chunk of images (staging budget), handing each chunk's
 * output, still in the runtime's memory, to `consume`; false (nothing done) when the kernel
 * does not apply (see {@link tryDirectConv}). `extraBytes(cnt)` more bytes are reserved past
 * each chunk's outputs for the consumer.
 */
export function directConvChunks(
  x: FloatArray, w: FloatArray, g: DirectGeometry, epilogue: ConvEpilogue | undefined,
  extraBytes: (cnt: number) => number, consume: (chunk: DirectChunk) => void,
): boolean {
  if (forced === 'im2col') return false;
  // a forced gemm variant (gemm parity tests, benchmarks) means: run convolutions through the gemm
  if (forced === 'auto' && getGemmVariant() !== 'auto') return false;
  if (!(x instanceof Float32Array) || !(w instanceof Float32Array)) return false;
  if (g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || g.kw > MAX_KW || g.kw < 1 || g.kh < 1 || g.ow < 8) return false;
  const k = g.cg * g.kh * g.kw;
  if (forced === 'auto' && k > DIRECT_MAX_K) return false;
  const rt = runtime();
  const fn = rt ? rt.fn('conv', `conv_k${g.kw}`) : -1;
  if (!rt || fn < 0) return false;
  const macs = g.n * g.o * g.oh * g.ow * k;
  const gateKey = `conv:${Math.round(Math.log2(macs))}`;
  const pool = forced === 'threaded' ? rt.pool()
    : forced === 'auto' && macs >= THREADED_MIN_MACS && rt.pool()?.worthIt(gateKey) ? rt.pool() : null;

  pool?.wake();
  const { n, c, h, o, kh, kw, oh, ow, ph, pw, groups, cg, og } = g;
  const hp = h + 2 * ph, wp = g.w + 2 * pw;
  const ohw = oh * ow;
  // weights: per group [⌈og/4⌉][cg][kh][kw][4], zero past og
  const blocks = Math.ceil(og / 4);
  const wGroup = blocks * cg * kh * kw * 4;
  const wpk = new Float32Array(groups * wGroup);
  for (let gr = 0; gr < groups; gr++) {
    for (let oc = 0; oc < og; oc++) {
      const b = oc >> 2, q = oc & 3;
      const src = (gr * og + oc) * cg * kh * kw;
      const dst = gr * wGroup + b * cg * kh * kw * 4 + q;
      for (let t = 0; t < cg * kh * kw; t++) wpk[dst + t * 4] = w[src + t]!;
    }
  }
  const xImg = c * hp * wp, yImg = o * ohw;
  const nb = Math.max(1, Math.min(n, Math.floor(STAGE_BUDGET / (4 * (xImg + yImg)))));
  const bias = epilogue?.bias ?? null;
  const W0 = CONTROL_BYTES, B0 = align(W0 + wpk.length * 4), X0 = align(B0 + (bias === null ? 0 : o * 4)), Y0 = align(X0 + nb * xImg * 4);
  const free = align(Y0 + nb * yImg * 4 + 64);
  const bytes = free + extraBytes(nb) + 64;
  let v = rt.engine.reserve(bytes).f32;
  v.set(wpk, W0 / 4);
  if (bias !== null) v.set(bias.subarray(0, o), B0 / 4);
  const epilogueArgs = [bias === null ? 0 : B0, epilogue?.relu === true ? 1 : 0];
  for (let n0 = 0; n0 < n; n0 += nb) {
    const cnt = Math.min(nb, n - n0);
    v = rt.engine.reserve(bytes).f32;
    stagePadded(x, n0 * c, cnt * c, h, g.w, ph, pw, v, X0 / 4);
    // a few image ranges per thread: whoever is free claims the next one (see ThreadPool.run)
    const parts = pool ? Math.min(cnt, 4 * (1 + pool.readyCount())) : 1;
    const per = Math.ceil(cnt / parts);
    const jobs: WasmJob[] = [];
    for (let i0 = 0; i0 < cnt; i0 += per) {
      const ni = Math.min(per, cnt - i0);
      jobs.push({ fn, args: Int32Array.from([X0 + i0 * xImg * 4, W0, Y0 + i0 * yImg * 4, cg, hp, wp, og, oh, ow, kh, ni, xImg * 4, yImg * 4, groups, wGroup * 4, ...epilogueArgs]) });
    }
    // forced 'threaded' leaves image ranges to the workers (tests rely on it); auto lets this thread take any
    if (pool && jobs.length > 1) pool.run(jobs, forced === 'threaded' ? pool.readyCount() : 0, undefined, gateKey);
    else for (const j of jobs) rt.call(fn, ...j.args);
    consume({ view: v, at: Y0 / 4, n0, cnt, free });
  }
  return true;
}

/** Whether the direct filter-gradient kernel applies (float32, unit column stride; any row stride, dilation, kernel size). */
function filterKernelApplies(x: FloatArray, dy: FloatArray, g: DirectGeometry): boolean {
  return forced !== 'im2col' && !(forced === 'auto' && getGemmVariant() !== 'auto')
    && x instanceof Float32Array && dy instanceof Float32Array && g.sw === 1 && g.kh >= 1 && g.kw >= 1 && g.oh >= 1 && g.ow >= 1;
}

/** Lane masks for 0..3 valid lanes of the last vector of a row. */
const LANE_MASKS = Int32Array.from([0, 0, 0, 0, -1, 0, 0, 0, -1, -1, 0, 0, -1, -1, -1, 0]);

/**
 * The filter gradient of a float32 convolution with the SIMD kernel `convbf_j*` of
 * wasm/conv-kernel.ts, optionally split over the worker pool by output-channel blocks: dy is
 * copied in once as it is (NCHW), x staged zero-padded, and dW accumulated in place — no
 * column matrix, no [N, O, OHW] → [O, N·OHW] copy, no transposed gemm operand. Returns
 * `[O, C/groups, KH, KW]`, or null when the im2col path should run.
 *
 * Lanes past a row's end multiply x values of the next row by a masked (zero) dy, so a
 * non-finite input value can turn a few more filter-gradient entries into NaN than the exact
 * sum would; finite inputs give the exact sum up to float32 rounding (summation order
 * differs from the gemm's).
 */
export function tryDirectConvFilter(x: FloatArray, dy: FloatArray, g: DirectGeometry): Float32Array | null {
  if (!filterKernelApplies(x, dy, g)) return null;
  if (forced === 'auto' && g.cg * g.kh * g.kw > FILTER_DIRECT_MAX_K) return null;
  const rt = runtime();
  const fns = rt ? Array.from({ length: FILTER_MAX_JC }, (_, i) => rt.fn('conv', `convbf_j${i + 1}`)) : [];
  if (!rt || fns.some((f) => f < 0)) return null;
  const { n, c, h, o, kh, kw, oh, ow, sh, ph, pw, dh, dw, groups, cg, og } = g;
  const hp = h + 2 * ph, wp = g.w + 2 * pw;
  const ohw = oh * ow;
  const k = cg * kh * kw;
  const macs = n * o * ohw * k;
  const gateKey = `convbf:${Math.round(Math.log2(Math.max(1, macs)))}`;
  const pool = forced === 'threaded' ? rt.pool()
    : forced === 'auto' && macs >= THREADED_MIN_MACS && rt.pool()?.worthIt(gateKey) ? rt.pool() : null;
  pool?.wake();

  const xImg = c * hp * wp, yImg = o * ohw;
  const nb = Math.max(1, Math.min(n, Math.floor(STAGE_BUDGET / (4 * (xImg + yImg)))));
  // slack: the last vector of a row reads up to 3 lanes past it (x and dy), a channel block
  // past O reads up to 3 more dy planes
  // parameter block at M0, lane mask at K0, the dW accumulator at W0, staged dy at D0 and x at X0
  const M0 = CONTROL_BYTES, K0 = M0 + 4 * FILTER_PARAMS.length + 16 & ~15, W0 = K0 + 64;
  const D0 = align(W0 + o * k * 4), X0 = align(D0 + (nb * yImg + 3 * ohw + 16) * 4);
  const end = align(X0 + (nb * xImg + 16) * 4) + 64;
  let v = rt.engine.reserve(end).f32;
  new Int32Array(v.buffer, K0, 4).set(LANE_MASKS.subarray(4 * (ow & 3), 4 * (ow & 3) + 4));
  v.fill(0, W0 / 4, W0 / 4 + o * k);
  const blocks = Math.ceil(og / 4);
  for (let n0 = 0; n0 < n; n0 += nb) {
    const cnt = Math.min(nb, n - n0);
    v = rt.engine.reserve(end).f32;
    const words: Record<(typeof FILTER_PARAMS)[number], number> = {
      X: X0, DY: D0, DW: W0, C: cg, O: og, OH: oh, NV: ow >> 2, REM: ow & 3, KH: kh, KW: kw, NIMG: cnt,
      XIMG: xImg * 4, DYIMG: yImg * 4, XPLANE: hp * wp * 4, DYPLANE: ohw * 4, XROW: sh * wp * 4, DYROW: ow * 4,
      TAPROW: dh * wp * 4, TAPCOL: dw * 4, MASK: K0, XG: cg * hp * wp * 4, DYG: og * ohw * 4, DWG: og * k * 4,
      // images per pass: 4 dy planes of them within ~16 KB
      NCH: Math.max(1, Math.floor(1024 / ohw)),
    };
    new Int32Array(v.buffer, M0, FILTER_PARAMS.length).set(FILTER_PARAMS.map((name) => words[name]));
    v.set(dy.subarray(n0 * yImg, (n0 + cnt) * yImg), D0 / 4);
    v.fill(0, D0 / 4 + cnt * yImg, D0 / 4 + cnt * yImg + 3 * ohw + 16);
    stagePadded(x, n0 * c, cnt * c, h, g.w, ph, pw, v, X0 / 4);
    v.fill(0, X0 / 4 + cnt * xImg, X0 / 4 + cnt * xImg + 16);
    // jobs: (group, range of 4-channel blocks, chunk of ≤ 3 kernel columns); each writes its own dW entries
    const parts = pool ? Math.min(blocks, 2 * (1 + pool.readyCount())) : 1;
    const per = Math.ceil(blocks / parts);
    const jobs: WasmJob[] = [];
    for (let gr = 0; gr < groups; gr++) {
      for (let b0 = 0; b0 < blocks; b0 += per) {
        for (let j0 = 0; j0 < kw; j0 += FILTER_MAX_JC) {
          const jc = Math.min(FILTER_MAX_JC, kw - j0);
          jobs.push({ fn: fns[jc - 1]!, args: Int32Array.from([M0, gr, 4 * b0, Math.min(og, 4 * (b0 + per)), j0]) });
        }
      }
    }
    if (pool && jobs.length > 1) pool.run(jobs, forced === 'threaded' ? pool.readyCount() : 0, undefined, gateKey);
    else for (const j of jobs) rt.call(j.fn, ...j.args);
  }
  return v.slice(W0 / 4, W0 / 4 + o * k);
}
