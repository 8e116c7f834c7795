/**
 * A convolution (bias, relu) followed by 2×2 max pooling at stride 2, for inference: the
 * direct kernel's output stays in the runtime's memory and the pooling kernel reads it there
 * (split over the worker pool by planes), so only the pooled quarter is copied out. Run as two
 * operations, the convolution copies its whole output out into a fresh array and the pooling
 * stages it back in: on the CNN's first layer (64×32×26×26, 5.5 MB) that is most of the
 * pooling's time, and more than its comparisons.
 *
 * The values are bit for bit those of the two operations: the same convolution kernel, then
 * the same pooling kernels (`maxv_f32_2x2s2`, and the exact kernel for the planes it flags as
 * possibly holding a NaN; see ./pool-wasm.ts), on the same numbers.
 *
 * @module
 */
import { chunkCopier, directConvChunks, type ConvEpilogue, type DirectChunk, type DirectGeometry } from './conv-direct.js';
import { winogradChunks, type WinogradGeometry } from './conv-winograd.js';
import { redoPlane2x2 } from './pool-wasm.js';
import { runtime } from './runtime.js';
import { align, type WasmJob } from './wasm/gemm-kernel.js';

/** Conv outputs (elements) from which the pooling is split over the pool. */
const THREADED_MIN_ELEMENTS = 1 << 16;

/** A job's share of a chunk: planes `p0 …` (`count` of them), its pooled outputs at byte `out`, its NaN flag list at byte `flags`. */
interface Share { p0: number; count: number; out: number; flags: number }

/** Split `planes` into `parts` shares laid out from byte `at` (each with 16 floats of slack after its outputs). */
function shares(planes: number, parts: number, pohw: number, at: number): { list: Share[]; end: number } {
  const per = Math.ceil(planes / parts), list: Share[] = [];
  for (let p0 = 0; p0 < planes; p0 += per) {
    const count = Math.min(per, planes - p0);
    const out = at, flags = align(out + (count * pohw + 16) * 4);
    at = align(flags + count * 4);
    list.push({ p0, count, out, flags });
  }
  return { list, end: at };
}

/** A 2×2 max pooling of chunks of conv outputs in the runtime's memory, into `out`. */
interface PoolingSink {
  readonly out: Float32Array;
  /** Bytes the sink needs past a chunk of `cnt` images. */
  extraBytes(cnt: number): number;
  consume(chunk: DirectChunk): void;
}

/** The sink pooling `[N, O, OH, OW]` conv outputs; null without the pooling kernels or when an output side is below 2. */
function poolingSink(n: number, o: number, oh: number, ow: number): PoolingSink | null {
  const rt = runtime();
  const fast = rt ? rt.fn('pool', 'maxv_f32_2x2s2') : -1, exact = rt ? rt.fn('pool', 'max_f32_s2_2x2') : -1;
  const poh = oh >> 1, pow = ow >> 1;
  if (!rt || fast < 0 || exact < 0 || poh < 1 || pow < 1) return null;
  const hw = oh * ow, pohw = poh * pow, nvec = Math.ceil(pow / 4);
  const exactKernel = (...args: number[]): void => void rt.call(exact, ...args);
  const pool = rt.pool();
  const ready = pool?.readyCount() ?? 0;
  const partsFor = (planes: number): number => (ready > 0 && planes * hw >= THREADED_MIN_ELEMENTS ? Math.min(planes, 1 + ready) : 1);
  const out = new Float32Array(n * o * pohw);
  return {
    out,
    // steps of the exact kernel's column taps (16 bytes), then the shares
    extraBytes: (cnt) => shares(cnt * o, partsFor(cnt * o), pohw, 64).end + 64,
    consume: (c) => {
      const planes = c.cnt * o, y = c.at * 4;
      const { list } = shares(planes, partsFor(planes), pohw, c.free + 64);
      const ints = new Int32Array(c.view.buffer);
      const jobs: WasmJob[] = list.map((s) => {
        ints.fill(-1, s.flags / 4, s.flags / 4 + s.count);
        return { fn: fast, args: Int32Array.from([y + s.p0 * hw * 4, s.out, s.count, hw, pohw, ow, pow, poh, nvec, s.flags]) };
      });
      if (pool && jobs.length > 1) pool.run(jobs, 0, undefined, 'pool2x2');
      else rt.call(fast, ...jobs[0]!.args);
      ints.set([0, 2, 4, 6], c.free / 4);
      const view = c.view;
      for (const s of list) {
        for (let i = 0; i < s.count; i++) {
          const q = ints[s.flags / 4 + i]!;
          if (q < 0) break;
          redoPlane2x2(exactKernel, view, y + s.p0 * hw * 4, s.out, c.free, q, oh, ow);
        }
        out.set(view.subarray(s.out / 4, s.out / 4 + s.count * pohw), (c.n0 * o + s.p0) * pohw);
      }
    },
  };
}

/**
 * `maxPool2d(relu?(conv2d(x, w) + bias), 2×2, stride 2)` of float32 operands on the direct
 * kernel (conv-direct.ts; same conditions), `[N, O, ⌊OH/2⌋, ⌊OW/2⌋]`; null when that kernel
 * does not apply or an output side is below 2 (the caller then runs the two operations).
 */
export function tryDirectConvMaxPool2x2(x: Float32Array, w: Float32Array, g: DirectGeometry, epilogue: ConvEpilogue): Float32Array | null {
  const sink = poolingSink(g.n, g.o, g.oh, g.ow);
  return sink !== null && directConvChunks(x, w, g, epilogue, sink.extraBytes, sink.consume) ? sink.out : null;
}

/**
 * The same on the Winograd SIMD kernels (conv-winograd.ts, whose rounding it has: for
 * inference only), the pooling done by the output transform: the maximum of each 2×2 output
 * tile, compared in the pooling kernel's order, so the pooled values are those of the pooling
 * kernel on Winograd's output. Null when the kernels do not apply, or some output before relu
 * is not finite (the caller then runs the direct kernel, as for the unpooled convolution).
 */
export function tryWinogradMaxPool2x2(x: Float32Array, w: Float32Array, g: WinogradGeometry, bias: Float32Array | null, relu: boolean): Float32Array | null {
  const pohw = (g.oh >> 1) * (g.ow >> 1);
  if (pohw === 0) return null;
  // the output transform pools each tile itself (a tile is one pooling window), as the pooling kernel would
  const copy = chunkCopier(g.n, g.o * pohw);
  return winogradChunks(x, w, g, bias, relu, () => 0, copy.consume, true) === 'done' ? copy.result() : null;
}
