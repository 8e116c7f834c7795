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
import { MAX_KW } from './wasm/conv-kernel.js';
import { CONTROL_BYTES, type WasmJob } from './wasm/gemm-kernel.js';

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

/** The geometry the direct kernel needs (a subset of conv.ts's). */
export interface DirectGeometry {
  n: number; c: number; h: number; w: number; o: number; kh: number; kw: number; oh: number; ow: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; groups: number; cg: number; og: number;
}

/**
 * The direct convolution of float32 `x` with float32 `w`, or null when the im2col path
 * should run (variant, parameters or runtime rule the kernel out).
 */
export function tryDirectConv(x: FloatArray, w: FloatArray, g: DirectGeometry): Float32Array | null {
  if (forced === 'im2col') return null;
  // a forced gemm variant (gemm parity tests, benchmarks) means: run convolutions through the gemm
  if (forced === 'auto' && getGemmVariant() !== 'auto') return null;
  if (!(x instanceof Float32Array) || !(w instanceof Float32Array)) return null;
  if (g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || g.kw > MAX_KW || g.kw < 1 || g.kh < 1 || g.ow < 8) return null;
  const k = g.cg * g.kh * g.kw;
  if (forced === 'auto' && k > DIRECT_MAX_K) return null;
  const rt = runtime();
  const fn = rt ? rt.fn('conv', `conv_k${g.kw}`) : -1;
  if (!rt || fn < 0) return null;
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
  const align = (v: number): number => Math.ceil(v / 64) * 64;
  const W0 = CONTROL_BYTES, X0 = align(W0 + wpk.length * 4), Y0 = align(X0 + nb * xImg * 4);
  const out = new Float32Array(n * yImg);
  let v = rt.engine.reserve(align(Y0 + nb * yImg * 4) + 64).f32;
  v.set(wpk, W0 / 4);
  for (let n0 = 0; n0 < n; n0 += nb) {
    const cnt = Math.min(nb, n - n0);
    v = rt.engine.reserve(align(Y0 + nb * yImg * 4) + 64).f32;
    const hw = h * g.w;
    if (ph === 0 && pw === 0) v.set(x.subarray(n0 * c * hw, (n0 + cnt) * c * hw), X0 / 4);
    else {
      v.fill(0, X0 / 4, X0 / 4 + cnt * xImg);
      for (let p = 0; p < cnt * c; p++) {
        for (let r = 0; r < h; r++) {
          const s = (n0 * c + p) * hw + r * g.w;
          v.set(x.subarray(s, s + g.w), X0 / 4 + p * hp * wp + (r + ph) * wp + pw);
        }
      }
    }
    // a few image ranges per thread: whoever is free claims the next one (see ThreadPool.run)
    const parts = pool ? Math.min(cnt, 4 * (1 + pool.readyCount())) : 1;
    const per = Math.ceil(cnt / parts);
    const jobs: WasmJob[] = [];
    for (let i0 = 0; i0 < cnt; i0 += per) {
      const ni = Math.min(per, cnt - i0);
      jobs.push({ fn, args: Int32Array.from([X0 + i0 * xImg * 4, W0, Y0 + i0 * yImg * 4, cg, hp, wp, og, oh, ow, kh, ni, xImg * 4, yImg * 4, groups, wGroup * 4]) });
    }
    // forced 'threaded' leaves image ranges to the workers (tests rely on it); auto lets this thread take any
    if (pool && jobs.length > 1) pool.run(jobs, forced === 'threaded' ? pool.readyCount() : 0, undefined, gateKey);
    else for (const j of jobs) rt.call(fn, ...j.args);
    out.set(v.subarray(Y0 / 4, Y0 / 4 + cnt * yImg), n0 * yImg);
  }
  return out;
}
