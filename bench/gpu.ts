/**
 * The gpu.js backend's benchmark, beside TensorFlow.js's GPU backend in the same run where one
 * can start. Run it on its own or as a section of bench/index.ts:
 *
 *   xvfb-run -a -s "-screen 0 1024x768x24" node --import tsx bench/gpu.ts     headless-gl (Node)
 *   EGL_PLATFORM=surfaceless node --import tsx bench/gpu.ts --device webgpu   WebGPU through Dawn
 *   FLUXION_DAWN_BACKEND=vulkan node --import tsx bench/gpu.ts --device webgpu  Dawn on a real GPU's Vulkan
 *   npm run bench -- gpu                                                       the same, after the CPU sections
 *
 * Options (flags or environment): `--device <mode>` / `FLUXION_GPU_MODE` forces a gpu.js mode
 * ('webgpu', 'webgl2', 'webgl', 'headlessgl'); `--quick` / `FLUXION_BENCH_QUICK=1` drops the
 * largest cases. Every case reads its result back with `await x.dataAsync()` (GL runs
 * asynchronously until a read, and WebGPU reads only that way), and reports the first call
 * (gpu.js builds and compiles the shaders then) apart from the steady-state median.
 *
 * TF.js: in a browser its WebGPU or WebGL backend; in Node its WebGL backend on a headless-gl
 * context where one starts (an X server: xvfb-run), since TF.js has no WebGL in Node
 * otherwise, and no WebGPU backend here (`@tensorflow/tfjs-backend-webgpu` is not a
 * dependency). The output says which, or why none. On a software renderer (Mesa llvmpipe,
 * SwiftShader) the figures are a regression guard, not GPU speed.
 *
 * @module
 */
import * as F from '../src/index.js';
import { gpuBackend, type GpuBackend } from '../src/backend/gpu/index.js';
import { setDeviceBackend } from '../src/backend/index.js';

type TF = typeof import('@tensorflow/tfjs');
type TfTensor = import('@tensorflow/tfjs').Tensor;

interface Env { argv: string[]; env: Record<string, string | undefined>; getBuiltinModule?(m: string): unknown }
const proc = (globalThis as { process?: Env }).process;
const inNode = proc !== undefined && typeof (globalThis as { document?: unknown }).document === 'undefined';

/** Options of {@link benchGpu}. */
export interface GpuBenchOptions {
  /** gpu.js mode to force ('webgpu', 'webgl2', 'headlessgl', …); default: gpu.js's best synchronous device. */
  device?: string;
  /** Skip the largest cases. */
  quick?: boolean;
}

function optionsFromProcess(): GpuBenchOptions {
  const argv = proc?.argv.slice(2) ?? [];
  const at = argv.findIndex((a) => a === '--device' || a.startsWith('--device='));
  const flag = at < 0 ? undefined : argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
  return { device: flag ?? proc?.env.FLUXION_GPU_MODE, quick: argv.includes('--quick') || proc?.env.FLUXION_BENCH_QUICK === '1' };
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const values = (n: number, seed: number, scale = 1): Float32Array => {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) a[i] = (((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1) * scale;
  return a;
};
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], seed: number, scale = 1) => F.tensor(values(count(shape), seed, scale), { shape, dtype: 'float32' });

/** ms of `run` (which reads its result back): the first call, then the median of `reps`. */
async function time(run: () => Promise<unknown>, reps: number): Promise<{ first: number; steady: number }> {
  let t = performance.now();
  await run();
  const first = performance.now() - t;
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    t = performance.now();
    await run();
    ts.push(performance.now() - t);
  }
  return { first, steady: median(ts) };
}

/** The gpu.js backend in `mode`, with Dawn installed as `navigator.gpu` first where WebGPU is asked for in Node. */
async function startDevice(mode: string | undefined): Promise<GpuBackend | string> {
  let via = '';
  if (mode === 'webgpu' && inNode && (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === undefined) {
    try {
      via = ` (${await (await import('../spec/backend/gpu/dawn.js')).installDawn()})`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  const backend = gpuBackend(mode ? { mode } : {});
  if (!backend.available()) return backend.unavailableReason?.() ?? 'no device';
  try {
    await backend.ready();
  } catch (e) {
    return (e as Error).message;
  }
  console.log(`GPU bench on gpu.js mode '${backend.mode!()}'${via}`);
  return backend;
}

/** TF.js on a GPU backend, or why not. TF.js's import notice is silenced. */
async function startTfjs(): Promise<{ tf: TF; backend: string } | string> {
  const log = console.log, warn = console.warn;
  console.log = console.warn = () => {};
  try {
    const tf: TF = await import('@tensorflow/tfjs');
    tf.enableProdMode();
    if (!inNode) {
      for (const name of ['webgpu', 'webgl']) if (tf.findBackendFactory(name) && (await tf.setBackend(name))) return { tf, backend: name };
      return 'neither TF.js webgpu nor webgl starts in this page';
    }
    const { createRequire } = proc!.getBuiltinModule!('node:module') as typeof import('node:module');
    const require = createRequire(import.meta.url);
    let gl: WebGLRenderingContext | null = null;
    try {
      gl = (require('gl') as (w: number, h: number) => WebGLRenderingContext | null)(1, 1);
    } catch {
      return "TF.js has no WebGL backend in Node, and headless-gl ('gl') does not load here";
    }
    if (gl === null) return 'TF.js has no WebGL backend in Node, and headless-gl found no X display for a context (run under xvfb-run)';
    // TF.js registers 'webgl' only in a browser; given a context (headless-gl's WebGL 1) it runs in Node
    const webgl = require('@tensorflow/tfjs-backend-webgl') as typeof import('@tensorflow/tfjs-backend-webgl');
    webgl.setWebGLContext(1, gl);
    if (!tf.findBackendFactory('webgl')) tf.registerBackend('webgl', () => new webgl.MathBackendWebGL(), 1);
    if (!(await tf.setBackend('webgl'))) return "TF.js's webgl backend did not start on the headless-gl context";
    return { tf, backend: 'webgl (on headless-gl, WebGL 1)' };
  } catch (e) {
    return `TF.js did not start: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/** A TF.js run that reads its result back and frees what it made. */
const tfRun = (tf: TF, body: () => TfTensor) => async () => {
  const out = tf.tidy(body);
  await out.data();
  out.dispose();
};

/** Run the GPU benchmark and print its table. */
export async function benchGpu(options: GpuBenchOptions = optionsFromProcess()): Promise<void> {
  const backend = await startDevice(options.device);
  if (typeof backend === 'string') {
    console.log(`GPU bench: no GPU device here (${backend}); run under xvfb-run with gl built, with --device webgpu where Dawn starts, or in a browser`);
    return;
  }
  const previous = gpuBackend();
  setDeviceBackend(backend);
  const tfjs = await startTfjs();
  const tf = typeof tfjs === 'string' ? undefined : tfjs.tf;
  console.log(typeof tfjs === 'string' ? `TF.js column empty: ${tfjs}` : `TF.js backend: ${tfjs.backend}`);
  console.log('(on a software renderer such as Mesa llvmpipe or SwiftShader these figures are a regression guard, not GPU speed)');
  const rows: string[][] = [['case', 'first call ms', 'steady ms', 'rate', 'TF.js first ms', 'TF.js steady ms', 'TF.js rate', 'fluxion cpu ms']];
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(x >= 10 ? 1 : 2));
  /** One row; `rate` turns steady ms into the row's figure (GFLOP/s or samples/s). */
  const row = async (name: string, rate: (ms: number) => string, gpuRun: () => Promise<unknown>, tfRunner: (() => Promise<unknown>) | undefined, cpuRun: (() => Promise<unknown>) | undefined, reps: number) => {
    const g = await time(gpuRun, reps);
    const t = tfRunner ? await time(tfRunner, reps) : undefined;
    const c = cpuRun ? await time(cpuRun, Math.min(reps, 3)) : undefined;
    rows.push([name, fmt(g.first), fmt(g.steady), rate(g.steady), t ? fmt(t.first) : '', t ? fmt(t.steady) : '', t ? rate(t.steady) : '', c ? fmt(c.steady) : '']);
  };
  const gflops = (flops: number) => (ms: number) => `${(flops / ms / 1e6).toFixed(2)} GFLOP/s`;
  const perSecond = (samples: number) => (ms: number) => `${(samples / (ms / 1000)).toFixed(0)} samples/s`;
  const read = (t: F.Tensor) => t.dataAsync();

  const sizes: [number, number, number][] = [[128, 128, 128], [256, 256, 256], [512, 512, 512], [128, 784, 256], [1024, 1024, 1]];
  if (!options.quick) sizes.splice(3, 0, [1024, 1024, 1024]);
  for (const [m, k, n] of sizes) {
    const a = f32([m, k], 1), b = f32([k, n], 2);
    const ga = F.gpu(a), gb = F.gpu(b);
    const ta = tf?.tensor2d(a.data as Float32Array, [m, k]), tb = tf?.tensor2d(b.data as Float32Array, [k, n]);
    const reps = m * n * k >= 512 ** 3 ? 3 : 5;
    await row(`matmul ${m}×${k}·${k}×${n}`, gflops(2 * m * n * k), () => read(F.matmul(ga, gb)),
      tf ? tfRun(tf, () => tf.matMul(ta!, tb!)) : undefined, () => read(F.matmul(a, b)), reps);
  }
  {
    const x = f32([8, 16, 28, 28], 3), w = f32([32, 16, 3, 3], 4, 0.3);
    const gx = F.gpu(x), gw = F.gpu(w);
    // TF.js wants NHWC input and HWIO filters: the same numbers, transposed once outside the timing
    const tx = tf?.tensor4d(x.data as Float32Array, [8, 16, 28, 28]).transpose([0, 2, 3, 1]);
    const tw = tf?.tensor4d(w.data as Float32Array, [32, 16, 3, 3]).transpose([2, 3, 1, 0]);
    await row('conv2d [8,16,28,28]∗[32,16,3,3] pad 1', gflops(2 * 8 * 32 * 28 * 28 * 16 * 9), () => read(F.conv2d(gx, gw, { padding: 1 })),
      tf ? tfRun(tf, () => tf.conv2d(tx as import('@tensorflow/tfjs').Tensor4D, tw as import('@tensorflow/tfjs').Tensor4D, 1, 'same')) : undefined,
      () => read(F.conv2d(x, w, { padding: 1 })), 5);
  }
  const labels = (batch: number) => F.onehotbatch(Array.from({ length: batch }, (_, i) => i % 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { dtype: 'float32' });
  /** One Adam training step of `model` (gradient, update, the loss read back). */
  const trainStep = <M extends (x: F.Tensor) => F.Tensor>(model: M, x: F.Tensor, y: F.Tensor) => {
    const opt = F.setup(F.Adam(1e-3), model);
    return async () => {
      const { value, grad } = F.withGradient((mm: M) => F.logitCrossentropy(mm(x), y), model);
      F.update(opt, model, grad[0]);
      return (value as F.Tensor).dataAsync();
    };
  };
  /** The same step in TF.js: Adam minimising softmax cross-entropy over `vars`. */
  const tfStep = (forward: () => TfTensor, y: TfTensor, vars: import('@tensorflow/tfjs').Variable[]) => {
    const opt = tf!.train.adam(1e-3);
    return async () => {
      const loss = opt.minimize(() => tf!.losses.softmaxCrossEntropy(y, forward()) as import('@tensorflow/tfjs').Scalar, true, vars)!;
      await loss.data();
      loss.dispose();
    };
  };
  {
    const batch = 128;
    F.seed(1);
    const model = F.Chain(F.Dense(784, 256, F.relu), F.Dense(256, 10));
    const gmodel = F.gpu(model);
    const x = f32([batch, 784], 5), y = labels(batch);
    let tfRunner: (() => Promise<unknown>) | undefined;
    if (tf) {
      const v = (shape: number[], seed: number) => tf.variable(tf.tensor(values(count(shape), seed, 0.05), shape));
      const [w1, b1, w2, b2] = [v([784, 256], 6), v([256], 7), v([256, 10], 8), v([10], 9)];
      const tx = tf.tensor2d(x.data as Float32Array, [batch, 784]), ty = tf.tensor2d(y.data as Float32Array, [batch, 10]);
      tfRunner = tfStep(() => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tx, w1), b1)), w2), b2), ty, [w1, b1, w2, b2]);
    }
    await row(`MLP 784-256-10 Adam step, batch ${batch}`, perSecond(batch), trainStep(gmodel, F.gpu(x), F.gpu(y)), tfRunner, trainStep(model, x, y), 5);
  }
  {
    const batch = 32;
    F.seed(2);
    const model = F.Chain(F.Conv([3, 3], 1, 8, F.relu), F.MaxPool([2, 2]), F.Flatten(), F.Dense(8 * 13 * 13, 10));
    const gmodel = F.gpu(model);
    const x = f32([batch, 1, 28, 28], 10), y = labels(batch);
    let tfRunner: (() => Promise<unknown>) | undefined;
    if (tf) {
      const v = (shape: number[], seed: number) => tf.variable(tf.tensor(values(count(shape), seed, 0.1), shape));
      const [wc, bc, wd, bd] = [v([3, 3, 1, 8], 11), v([8], 12), v([8 * 13 * 13, 10], 13), v([10], 14)];
      const tx = tf.tensor4d(x.data as Float32Array, [batch, 28, 28, 1]), ty = tf.tensor2d(y.data as Float32Array, [batch, 10]);
      tfRunner = tfStep(() => {
        const h = tf.maxPool(tf.relu(tf.add(tf.conv2d(tx, wc as import('@tensorflow/tfjs').Tensor4D, 1, 'valid'), bc)) as import('@tensorflow/tfjs').Tensor4D, 2, 2, 'valid');
        return tf.add(tf.matMul(tf.reshape(h, [batch, 8 * 13 * 13]), wd), bd);
      }, ty, [wc, bc, wd, bd]);
    }
    await row(`CNN conv8-pool-dense Adam step, batch ${batch}`, perSecond(batch), trainStep(gmodel, F.gpu(x), F.gpu(y)), tfRunner, trainStep(model, x, y), 5);
  }
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => (r[k] ?? '').length)));
  for (const r of rows) console.log(r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  '));
  const timings = backend.timings();
  const compile = timings.reduce((s, t) => s + t.firstCallMs, 0);
  const steady = timings.reduce((s, t) => s + (t.calls > 0 ? t.totalMs / t.calls : 0), 0);
  if (backend.device()?.async) {
    // a queued WebGPU kernel's time runs from its queueing to its submission, so it includes the wait behind its inputs
    console.log(`${timings.length} gpu.js kernels compiled (WebGPU: per-kernel times include queueing behind inputs, so compare the first-call and steady columns above)`);
  } else {
    console.log(`${timings.length} gpu.js kernels compiled: ${compile.toFixed(0)} ms in their first calls (shader build and compile), ` +
      `${steady.toFixed(0)} ms for one steady call of each (launch time; GL runs asynchronously until a read)`);
  }
  setDeviceBackend(previous);
}

// run on its own: node --import tsx bench/gpu.ts
const nodeUrl = proc?.getBuiltinModule?.('node:url') as typeof import('node:url') | undefined;
if (inNode && nodeUrl !== undefined && proc!.argv[1] !== undefined && import.meta.url === nodeUrl.pathToFileURL(proc!.argv[1]).href) await benchGpu();
