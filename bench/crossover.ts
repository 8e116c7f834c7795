/**
 * Measures where each CPU kernel variant starts to pay, to set the dispatch thresholds in
 * src/backend/cpu (gemm.ts, vector.ts). Not part of `npm run bench`'s table.
 *
 *   node --import tsx bench/crossover.ts            every group
 *   node --import tsx bench/crossover.ts vector     elementwise maps
 *   node --import tsx bench/crossover.ts reduce     full reductions
 *   node --import tsx bench/crossover.ts gemm       matrix products
 *   node --import tsx bench/crossover.ts chunk      streaming chunk size of the wasm maps
 *   node --import tsx bench/crossover.ts conv       forward convolution: im2col vs direct kernel
 *   node --import tsx bench/crossover.ts threads    exp on one thread vs auto dispatch on the pool
 *   node --import tsx bench/crossover.ts dense      dense-layer products (x·Wᵀ, dy·W, dyᵀ·x) and staging cost
 *   node --import tsx bench/crossover.ts pool       max/avg pooling kernels: wasm vs JavaScript
 *
 * Each line times the variants alternately (same inputs, public API, so dispatch and
 * allocation are included) and prints medians in µs per call, then the smallest size from
 * which the faster variant stays faster for every larger size measured.
 *
 * @module
 */
import { add, conv2d, exp, matmul, randn, relu, seed, sum, transpose, type Tensor } from '../src/index.js';
import * as cpuNn from '../src/backend/cpu/nn.js';
import { poolVariants, setPoolVariant, type PoolVariant } from '../src/backend/cpu/pool.js';
import type { Pool2dParams } from '../src/ops/primitive.js';
import { convVariants, setConvVariant } from '../src/backend/cpu/conv-direct.js';
import { gemmThreadPool, gemmTuning, gemmVariants, setGemmVariant, type GemmVariant } from '../src/backend/cpu/gemm.js';
import { setElementwiseVariant, setReduceVariant, vectorTuning, vectorVariants, type VectorVariant } from '../src/backend/cpu/vector.js';
import { runtime } from '../src/backend/cpu/runtime.js';
import { timeInterleaved } from './harness.js';

type Group = 'vector' | 'reduce' | 'gemm' | 'chunk' | 'conv' | 'threads' | 'dense' | 'pool';

function report(title: string, variants: string[], rows: { label: string; size: number; us: number[] }[]): void {
  console.log(`\n${title}`);
  console.log(`${'size'.padStart(10)}  ${variants.map((v) => `${v} µs`.padStart(12)).join('')}   best`);
  for (const r of rows) {
    const best = r.us.indexOf(Math.min(...r.us));
    console.log(`${r.label.padStart(10)}  ${r.us.map((u) => u.toFixed(u < 10 ? 2 : 1).padStart(12)).join('')}   ${variants[best]}`);
  }
  // crossover of each non-first variant over the first: smallest size from which it stays ahead
  for (let v = 1; v < variants.length; v++) {
    let from: string | null = null;
    for (let i = rows.length - 1; i >= 0; i--) {
      if (rows[i]!.us[v]! < rows[i]!.us[0]!) from = rows[i]!.label;
      else break;
    }
    console.log(`  ${variants[v]} beats ${variants[0]} from: ${from ?? 'never (in this range)'}`);
  }
}

function vectorGroup(
  name: string, f: (x: Tensor, y: Tensor) => Tensor, dtype: 'float32' | 'float64', set: (v: VectorVariant) => void,
  variants: VectorVariant[] = vectorVariants(),
): void {
  const rows = [];
  for (let p = 4; p <= 20; p += 2) {
    const n = 2 ** p;
    seed(p);
    const x = randn([n], { dtype }), y = randn([n], { dtype });
    const runs = variants.map((v) => () => { set(v); return f(x, y).data; });
    const us = timeInterleaved(runs, { batch: Math.max(1, Math.floor(2 ** 14 / n)), budgetMs: 400 }).map((ms) => ms * 1e3);
    rows.push({ label: `2^${p}`, size: n, us });
  }
  set('auto' as VectorVariant);
  report(`${name} (${dtype})`, variants, rows);
}

function gemmGroup(): void {
  const variants = gemmVariants();
  gemmThreadPool()?.waitReady();
  const rows = [];
  for (const n of [8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]) {
    seed(n);
    const a = randn([n, n], { dtype: 'float32' }), b = randn([n, n], { dtype: 'float32' });
    const runs = variants.map((v) => () => { setGemmVariant(v as GemmVariant); return matmul(a, b).data; });
    const us = timeInterleaved(runs, { batch: Math.max(1, Math.floor(2 ** 18 / (n * n * n))), budgetMs: 400 }).map((ms) => ms * 1e3);
    rows.push({ label: `${n}³`, size: n * n * n, us });
  }
  setGemmVariant('auto');
  report('matmul n×n×n (float32)', variants, rows);
}

const want = (g: Group): boolean => process.argv.length <= 2 || process.argv.slice(2).includes(g);

function chunkGroup(): void {
  const chunks = [1024, 2048, 4096, 8192, 16384, 32768, 65536];
  setElementwiseVariant('wasm');
  for (const [name, f] of [['exp(x)', exp], ['x + y', add]] as const) {
    for (const p of [16, 20]) {
      seed(p);
      const x = randn([2 ** p], { dtype: 'float32' }), y = randn([2 ** p], { dtype: 'float32' });
      const runs = chunks.map((c) => () => { vectorTuning.chunk = c; return (f as (a: Tensor, b: Tensor) => Tensor)(x, y).data; });
      const us = timeInterleaved(runs, { budgetMs: 1500 }).map((ms) => ms * 1e3);
      console.log(`${name} 2^${p} f32, µs by chunk: ${chunks.map((c, i) => `${c}: ${us[i]!.toFixed(0)}`).join(', ')}`);
    }
  }
  vectorTuning.chunk = 16384;
  setElementwiseVariant('auto');
}

function convGroup(): void {
  const variants = convVariants();
  const rows = [];
  const cases: [number[], number[], number][] = [
    [[1, 1, 28, 28], [32, 1, 3, 3], 0], [[64, 1, 28, 28], [32, 1, 3, 3], 0], [[16, 3, 32, 32], [16, 3, 3, 3], 1],
    [[64, 32, 13, 13], [64, 32, 3, 3], 0], [[8, 64, 16, 16], [64, 64, 3, 3], 1], [[4, 128, 16, 16], [128, 128, 3, 3], 1],
    [[8, 16, 32, 32], [16, 16, 5, 5], 2],
  ];
  for (const [xs, ws, pad] of cases) {
    seed(xs[0]! * ws[0]!);
    const x = randn(xs, { dtype: 'float32' }), w = randn(ws, { dtype: 'float32' });
    const macs = xs[0]! * ws[0]! * (xs[2]! + 2 * pad - ws[2]! + 1) * (xs[3]! + 2 * pad - ws[3]! + 1) * ws[1]! * ws[2]! * ws[3]!;
    const runs = variants.map((v) => () => { setConvVariant(v); return conv2d(x, w, { padding: pad }).data; });
    const us = timeInterleaved(runs, { budgetMs: 800 }).map((ms) => ms * 1e3);
    rows.push({ label: `[${xs}]⊛[${ws}] k=${ws[1]! * ws[2]! * ws[3]!} ${(macs / 1e6).toFixed(1)}M MAC`, size: macs, us });
  }
  setConvVariant('auto');
  console.log('\nconv2d forward (float32), µs');
  console.log(`${'case'.padStart(50)}  ${variants.map((v) => `${v}`.padStart(10)).join('')}`);
  for (const r of rows) console.log(`${r.label.padStart(50)}  ${r.us.map((u) => u.toFixed(0).padStart(10)).join('')}`);
}

/** exp: the wasm kernel on this thread against auto dispatch to the pool (work claiming, as in real use). */
function threadsGroup(): void {
  const rows = [];
  const saved = vectorTuning.threadedMin;
  for (let p = 10; p <= 20; p += 2) {
    seed(p);
    const x = randn([2 ** p], { dtype: 'float32' });
    const runs = [
      () => { setElementwiseVariant('wasm'); return exp(x).data; },
      () => { setElementwiseVariant('auto'); vectorTuning.threadedMin = 0; return exp(x).data; },
    ];
    const us = timeInterleaved(runs, { batch: Math.max(1, Math.floor(2 ** 16 / 2 ** p)), budgetMs: 600 }).map((ms) => ms * 1e3);
    rows.push({ label: `2^${p}`, size: 2 ** p, us });
  }
  vectorTuning.threadedMin = saved;
  setElementwiseVariant('auto');
  report('exp(x) float32: one thread vs the pool (auto dispatch)', ['wasm', 'pool'], rows);
}

/**
 * Dense-layer products in the three layouts of an MLP's forward and backward pass (W [out, in]
 * contiguous, as PyTorch stores it): x·Wᵀ (B a transposed view), dy·W (B contiguous) and
 * dyᵀ·x (A a transposed view); then the bare cost of staging W into wasm memory.
 */
function denseGroup(): void {
  const variants = gemmVariants().filter((v) => v !== 'threaded');
  const cases: [string, number[], number[], (a: Tensor, b: Tensor) => Tensor][] = [];
  for (const [o, i] of [[128, 784], [64, 128], [10, 64]] as const) {
    for (const m of [1, 4, 8]) cases.push([`[${m},${i}]·[${o},${i}]ᵀ`, [m, i], [o, i], (x, w) => matmul(x, transpose(w))]);
    cases.push([`[1,${i}]·[${i},${o}]`, [1, i], [i, o], (x, w) => matmul(x, w)]);
  }
  cases.push(['[128,784]·[128,784]ᵀ', [128, 784], [128, 784], (x, w) => matmul(x, transpose(w))]);
  cases.push(['[128,128]·[128,784]', [128, 128], [128, 784], (dy, w) => matmul(dy, w)]);
  cases.push(['[128,128]ᵀ·[128,784]', [128, 128], [128, 784], (dy, x) => matmul(transpose(dy), x)]);
  const rows = [];
  for (const [label, as, bs, f] of cases) {
    seed(as[0]! + bs[0]!);
    const a = randn(as, { dtype: 'float32' }), b = randn(bs, { dtype: 'float32' });
    const runs = variants.map((v) => () => { setGemmVariant(v as GemmVariant); return f(a, b).data; });
    const macs = as[0]! * as[1]! * bs[0]!;
    const us = timeInterleaved(runs, { batch: Math.max(1, Math.floor(2 ** 18 / macs)), budgetMs: 300 }).map((ms) => ms * 1e3);
    rows.push({ label, size: macs, us });
  }
  setGemmVariant('auto');
  report('dense-layer matmuls (float32), µs', variants, rows);
  // batch-1 inference through 784-128-64-10 (x·Wᵀ + b, relu between), layout as PyTorch's
  seed(3);
  const layers = [[128, 784], [64, 128], [10, 64]].map(([o, i]) => ({ w: randn([o!, i!], { dtype: 'float32' }), b: randn([o!], { dtype: 'float32' }) }));
  const x1 = randn([1, 784], { dtype: 'float32' });
  const mlp = (): Tensor => layers.reduce((h, l, q) => { const y = add(matmul(h, transpose(l.w)), l.b); return q < 2 ? relu(y) : y; }, x1);
  const mlpRuns = [
    ...variants.map((v) => () => { setGemmVariant(v as GemmVariant); return mlp().data; }),
    () => { setGemmVariant('auto'); gemmTuning.fewRowsMax = 0; const r = mlp().data; gemmTuning.fewRowsMax = 8; return r; },
  ];
  const mlpUs = timeInterleaved(mlpRuns, { batch: 20, budgetMs: 600 }).map((ms) => ms * 1e3);
  setGemmVariant('auto');
  console.log(`  MLP 784-128-64-10 batch 1 forward: ${[...variants, 'auto without few-rows kernels'].map((v, i) => `${v} ${mlpUs[i]!.toFixed(1)} µs`).join(', ')}`);
  // the floor of any wasm path on JS-owned arrays: copying the operand into wasm memory
  const mem = new WebAssembly.Memory({ initial: 64 });
  const view = new Float32Array(mem.buffer);
  for (const n of [784 * 128, 128 * 64, 64 * 10]) {
    const src = randn([n], { dtype: 'float32' }).data as Float32Array;
    const [us] = timeInterleaved([() => view.set(src, 16)], { batch: Math.max(1, Math.floor(2 ** 16 / n)), budgetMs: 200 }).map((ms) => ms * 1e3);
    console.log(`  staging ${n} float32 (${(n * 4 / 1024).toFixed(0)} KB) into wasm memory: ${us!.toFixed(2)} µs`);
  }
}

/** Pooling kernels on conv-net shapes, each variant of the backend kernel (forward, argmax, backward). */
function poolGroup(): void {
  const variants = poolVariants();
  const p2: Pool2dParams = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };
  const p3: Pool2dParams = { kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1] };
  const cases: [string, number[], Pool2dParams][] = [
    ['[64,32,26,26] 2×2/2', [64, 32, 26, 26], p2], ['[8,16,32,32] 2×2/2', [8, 16, 32, 32], p2],
    ['[8,64,32,32] 3×3/2 pad 1', [8, 64, 32, 32], p3], ['[1,8,8,8] 2×2/2', [1, 8, 8, 8], p2],
    ['[1,4,16,16] 2×2/2', [1, 4, 16, 16], p2], ['[1,8,16,16] 2×2/2', [1, 8, 16, 16], p2], ['[1,16,16,16] 2×2/2', [1, 16, 16, 16], p2],
  ];
  for (const dtype of ['float32', 'float64'] as const) {
    const rows = [];
    for (const [label, xs, p] of cases) {
      seed(xs[0]! * xs[1]!);
      const x = randn(xs, { dtype });
      const y = cpuNn.maxPool2d(x, p);
      const dy = randn(y.shape, { dtype });
      const ops: [string, () => unknown][] = [
        ['max', () => cpuNn.maxPool2d(x, p).data], ['max bwd', () => cpuNn.maxPool2dBackward(x, dy, p).data],
        ['gather', () => cpuNn.maxPool2dGather(x, x, p).data], ['avg', () => cpuNn.avgPool2d(x, p).data],
        ['avg bwd', () => cpuNn.avgPool2dBackward(dy, { ...p, xShape: xs }).data],
      ];
      for (const [name, op] of ops) {
        const runs = variants.map((v) => () => { setPoolVariant(v as PoolVariant); return op(); });
        const us = timeInterleaved(runs, { batch: Math.max(1, Math.floor(2 ** 16 / x.size)), budgetMs: 300 }).map((ms) => ms * 1e3);
        rows.push({ label: `${name} ${label}`, size: x.size, us });
      }
    }
    setPoolVariant('auto');
    report(`pooling (${dtype}), µs`, variants, rows);
  }
}

runtime()?.pool()?.waitReady();
if (want('vector')) {
  const setMap = (v: VectorVariant) => setElementwiseVariant(v);
  vectorGroup('exp(x)', (x) => exp(x), 'float32', setMap);
  vectorGroup('exp(x)', (x) => exp(x), 'float64', setMap);
  vectorGroup('relu(x)', (x) => relu(x), 'float32', setMap);
  vectorGroup('x + y', (x, y) => add(x, y), 'float32', setMap);
  vectorGroup('x + y', (x, y) => add(x, y), 'float64', setMap);
}
if (want('reduce')) {
  const setRed = (v: VectorVariant) => setReduceVariant(v);
  vectorGroup('sum(x)', (x) => sum(x), 'float32', setRed, ['js', 'wasm']);
  vectorGroup('sum(x)', (x) => sum(x), 'float64', setRed, ['js', 'wasm']);
}
if (want('gemm')) gemmGroup();
if (want('chunk')) chunkGroup();
if (want('conv')) convGroup();
if (want('threads')) threadsGroup();
if (want('dense')) denseGroup();
if (want('pool')) poolGroup();
