/**
 * Convolution/pooling kernel benchmark against TensorFlow.js's wasm backend.
 *
 *   node --import tsx bench/conv.ts
 *
 * Times are medians of single calls after warm-up, in milliseconds. TF.js's
 * wasm Conv2D only supports NHWC, so each TF.js case is reported twice:
 * - `tfjs NHWC`: input already NHWC (transposed once outside the timing),
 *   output left NHWC on the wasm heap — the kernel alone, the harder target;
 * - `tfjs NCHW`: the same contract as fluxion — NCHW in, NCHW out as a JS
 *   typed array (transpose in, conv, transpose out, dataSync).
 * The ratio column is fluxion / `tfjs NHWC` (below 1 means fluxion is faster).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  conv2d, conv2dBackwardFilter, conv2dBackwardInput, conv2dOutputShape,
  type Conv2dParams, type Shape4,
} from '../src/backend/cpu/conv.js';
import { maxPool2d, avgPool2d, type Pool2dParams } from '../src/backend/cpu/pool.js';
import type { FloatArray } from '../src/tensor/dtype.js';

/** One benchmark result. Times in ms per call (median). */
export interface Row {
  name: string;
  fluxionMs: number;
  /** TF.js wasm, NHWC kernel only; null when TF.js has no comparable kernel. */
  tfjsMs: number | null;
  /** TF.js wasm with NCHW in/out as a JS array (same contract as fluxion). */
  tfjsNchwMs: number | null;
  /** fluxionMs / tfjsMs. */
  ratio: number | null;
}

/** Median wall time of `fn` in ms, after warm-up, over ~`budgetMs` of runs. */
function timeMedian(fn: () => unknown, budgetMs = 600, minRuns = 9): number {
  for (let i = 0; i < 3; i++) fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || (performance.now() - start < budgetMs && samples.length < 200)) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

function random(size: number, f64 = false): FloatArray {
  const a = f64 ? new Float64Array(size) : new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

interface ConvCase { name: string; x: Shape4; w: Shape4; p: Conv2dParams }

const unit: Conv2dParams = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };

const cases: ConvCase[] = [
  // The case that matters: first layer of an MNIST CNN.
  { name: '64x1x28x28 * 32x1x3x3', x: [64, 1, 28, 28], w: [32, 1, 3, 3], p: unit },
  // Second layer of the same net: a gemm-heavy reduction (k = 288).
  { name: '64x32x13x13 * 64x32x3x3', x: [64, 32, 13, 13], w: [64, 32, 3, 3], p: unit },
];

/** TF.js timings for one case: [NHWC kernel only, NCHW in/out with copy to JS]. */
function tfjsConv(c: ConvCase, x: FloatArray, w: FloatArray): [number, number] {
  const [n, ci, h, wd] = c.x;
  const xNchw = tf.tensor4d(x as Float32Array, [n, ci, h, wd]);
  const xNhwc = tf.transpose(xNchw, [0, 2, 3, 1]) as tf.Tensor4D;
  // fluxion filter [O, C, KH, KW] → TF.js [KH, KW, C, O]
  const wOihw = tf.tensor4d(w as Float32Array, [...c.w]);
  const wHwio = tf.transpose(wOihw, [2, 3, 1, 0]) as tf.Tensor4D;
  const pad = c.p.padding[0];
  const nhwc = timeMedian(() => {
    const y = tf.conv2d(xNhwc, wHwio, [c.p.stride[0], c.p.stride[1]], pad === 0 ? 'valid' : [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
    y.dispose();
  });
  const nchw = timeMedian(() => {
    const y = tf.tidy(() => {
      const xi = tf.transpose(xNchw, [0, 2, 3, 1]) as tf.Tensor4D;
      return tf.transpose(tf.conv2d(xi, wHwio, [c.p.stride[0], c.p.stride[1]], 'valid'), [0, 3, 1, 2]);
    });
    y.dataSync();
    y.dispose();
  });
  tf.dispose([xNchw, xNhwc, wOihw, wHwio]);
  return [nhwc, nchw];
}

/** TF.js backward-input (conv2dTranspose, NHWC) for the first case. */
function tfjsBackwardInput(c: ConvCase, dy: FloatArray, w: FloatArray): number {
  const ys = conv2dOutputShape(c.x, c.w, c.p);
  const dyNhwc = tf.transpose(tf.tensor4d(dy as Float32Array, ys), [0, 2, 3, 1]) as tf.Tensor4D;
  const wHwio = tf.transpose(tf.tensor4d(w as Float32Array, [...c.w]), [2, 3, 1, 0]) as tf.Tensor4D;
  const xs: [number, number, number, number] = [c.x[0], c.x[2], c.x[3], c.x[1]];
  const t = timeMedian(() => tf.conv2dTranspose(dyNhwc, wHwio, xs, [c.p.stride[0], c.p.stride[1]], 'valid').dispose());
  tf.dispose([dyNhwc, wHwio]);
  return t;
}

function row(name: string, fluxionMs: number, tfjsMs: number | null = null, tfjsNchwMs: number | null = null): Row {
  return { name, fluxionMs, tfjsMs, tfjsNchwMs, ratio: tfjsMs === null ? null : fluxionMs / tfjsMs };
}

/** Run every case; TF.js rows only where TF.js's wasm backend has the kernel. */
export async function benchConv(): Promise<Row[]> {
  await tf.setBackend('wasm');
  await tf.ready();
  const rows: Row[] = [];
  for (const c of cases) {
    const x = random(prod(c.x));
    const w = random(prod(c.w));
    const fx = timeMedian(() => conv2d(x, c.x, w, c.w, c.p));
    const [tNhwc, tNchw] = tfjsConv(c, x, w);
    rows.push(row(`conv2d f32 ${c.name}`, fx, tNhwc, tNchw));
  }

  const c0 = cases[0]!;
  const ys = conv2dOutputShape(c0.x, c0.w, c0.p);
  {
    const x = random(prod(c0.x), true);
    const w = random(prod(c0.w), true);
    rows.push(row(`conv2d f64 ${c0.name}`, timeMedian(() => conv2d(x, c0.x, w, c0.w, c0.p))));
  }
  {
    const x = random(prod(c0.x));
    const w = random(prod(c0.w));
    const dy = random(prod(ys));
    const bi = timeMedian(() => conv2dBackwardInput(dy, ys, w, c0.w, c0.x, c0.p));
    rows.push(row(`conv2dBackwardInput f32 ${c0.name}`, bi, tfjsBackwardInput(c0, dy, w)));
    // TF.js's wasm backend has no Conv2DBackpropFilter kernel, so no comparison.
    rows.push(row(`conv2dBackwardFilter f32 ${c0.name}`, timeMedian(() => conv2dBackwardFilter(x, c0.x, dy, ys, c0.w, c0.p))));
  }
  {
    const c1 = cases[1]!;
    const ys1 = conv2dOutputShape(c1.x, c1.w, c1.p);
    const x = random(prod(c1.x));
    const w = random(prod(c1.w));
    const dy = random(prod(ys1));
    rows.push(row(`conv2dBackwardInput f32 ${c1.name}`, timeMedian(() => conv2dBackwardInput(dy, ys1, w, c1.w, c1.x, c1.p))));
    rows.push(row(`conv2dBackwardFilter f32 ${c1.name}`, timeMedian(() => conv2dBackwardFilter(x, c1.x, dy, ys1, c1.w, c1.p))));
  }
  {
    // 2×2/2 pooling after the first layer.
    const xs: Shape4 = [64, 32, 26, 26];
    const x = random(prod(xs));
    const p: Pool2dParams = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };
    const xNhwc = tf.transpose(tf.tensor4d(x as Float32Array, [...xs]), [0, 2, 3, 1]) as tf.Tensor4D;
    rows.push(row('maxPool2d f32 64x32x26x26 2x2/2', timeMedian(() => maxPool2d(x, xs, p)),
      timeMedian(() => tf.maxPool(xNhwc, 2, 2, 'valid').dispose())));
    rows.push(row('avgPool2d f32 64x32x26x26 2x2/2', timeMedian(() => avgPool2d(x, xs, p)),
      timeMedian(() => tf.avgPool(xNhwc, 2, 2, 'valid').dispose())));
    xNhwc.dispose();
  }
  return rows;
}

function fmt(v: number | null, digits = 3): string {
  return v === null ? '—' : v.toFixed(digits);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchConv();
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'case'.padEnd(w)}  fluxion ms  tfjs NHWC ms  tfjs NCHW ms  fluxion/tfjs`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(w)}  ${fmt(r.fluxionMs).padStart(10)}  ${fmt(r.tfjsMs).padStart(12)}  ${fmt(r.tfjsNchwMs).padStart(12)}  ${fmt(r.ratio, 2).padStart(12)}`);
  }
}
