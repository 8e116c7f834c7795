/**
 * `npm run bench -- gpu`: the gpu.js backend on whatever device gpu.js finds (a real GPU, or
 * headless-gl on Mesa's software rasteriser under `xvfb-run`, where the figures are only a
 * regression guard). For each case: the first call (gpu.js builds and compiles the shaders
 * then) and the steady-state median, both including one read-back of the result (GL runs
 * asynchronously until a read), beside fluxion's CPU backend on the same inputs. TF.js's
 * WebGL/WebGPU backends need a browser page and are not measured in Node.
 *
 * @module
 */
import * as F from '../src/index.js';
import { gpuBackend } from '../src/backend/gpu/index.js';
import { setDeviceBackend } from '../src/backend/index.js';

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const values = (n: number, seed: number): Float32Array => {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) a[i] = ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return a;
};
const f32 = (shape: number[], seed: number) => F.tensor(values(shape.reduce((a, b) => a * b, 1), seed), { shape, dtype: 'float32' });

/** ms of `run` (which must read its result back): first call, then the median of `reps`. */
function time(run: () => unknown, reps: number): { first: number; steady: number } {
  let t = performance.now();
  run();
  const first = performance.now() - t;
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    t = performance.now();
    run();
    ts.push(performance.now() - t);
  }
  return { first, steady: median(ts) };
}

export async function benchGpu(): Promise<void> {
  const backend = gpuBackend();
  if (!backend.available()) {
    console.log(`GPU bench: no GPU device here (${backend.unavailableReason?.()}); run under xvfb-run with gl built, or in a browser`);
    return;
  }
  setDeviceBackend(backend);
  console.log(`GPU bench on gpu.js mode '${backend.mode!()}' (software rasteriser figures are a regression guard, not GPU speed)`);
  const rows: string[][] = [['case', 'first call ms', 'steady ms', 'GFLOP/s', 'cpu backend ms']];
  const row = (name: string, flops: number, gpuRun: () => unknown, cpuRun: () => unknown, reps: number) => {
    const g = time(gpuRun, reps);
    const c = time(cpuRun, reps);
    rows.push([name, g.first.toFixed(1), g.steady.toFixed(2), flops > 0 ? (flops / g.steady / 1e6).toFixed(2) : '', c.steady.toFixed(2)]);
  };
  for (const n of [128, 256, 512]) {
    const a = f32([n, n], 1), b = f32([n, n], 2);
    const ga = F.gpu(a), gb = F.gpu(b);
    row(`matmul ${n}³`, 2 * n * n * n, () => F.matmul(ga, gb).data, () => F.matmul(a, b).data, 5);
  }
  {
    const x = f32([8, 16, 28, 28], 3), w = f32([32, 16, 3, 3], 4);
    const gx = F.gpu(x), gw = F.gpu(w);
    row('conv2d [8,16,28,28]*[32,16,3,3] pad 1', 2 * 8 * 32 * 28 * 28 * 16 * 9, () => F.conv2d(gx, gw, { padding: 1 }).data, () => F.conv2d(x, w, { padding: 1 }).data, 5);
  }
  {
    F.seed(1);
    const model = F.Chain(F.Dense(784, 256, F.relu), F.Dense(256, 10));
    const gmodel = F.gpu(model);
    const x = f32([128, 784], 5), y = F.onehotbatch(Array.from({ length: 128 }, (_, i) => i % 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { dtype: 'float32' });
    const gx = F.gpu(x), gy = F.gpu(y);
    const step = (m: typeof model, xx: F.Tensor, yy: F.Tensor) => () => {
      const [g] = F.gradient((mm: typeof model) => F.logitCrossentropy(mm(xx), yy), m);
      return (F.trainables(g) as F.Tensor[]).map((t) => t.data);
    };
    const flops = 3 * 2 * 128 * (784 * 256 + 256 * 10);
    row('MLP 784-256-10 gradient, batch 128', flops, step(gmodel, gx, gy), step(model, x, y), 5);
    const last = rows[rows.length - 1];
    last.push(`(${(128 / (Number(last[2]) / 1000)).toFixed(0)} samples/s on the device)`);
  }
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => (r[k] ?? '').length)));
  for (const r of rows) console.log(r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k] ?? 0))).join('  '));
  const timings = backend.timings();
  const compile = timings.reduce((s, t) => s + t.firstCallMs, 0);
  console.log(`${timings.length} kernels compiled, ${compile.toFixed(0)} ms in first calls`);
  setDeviceBackend(gpuBackend());
}
