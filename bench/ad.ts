/**
 * Autodiff section of the benchmarks: the "Speed" figures of the AD core issue, measured in
 * one run and printed as one table.
 *
 *   node --import tsx bench/ad.ts                 every case
 *   node --import tsx bench/ad.ts mlp heap        only cases whose "autodiff <case>" contains a term
 *   node --expose-gc --import tsx bench/ad.ts     same, with the process's own global.gc for the heap rows
 *
 * Cases (keys for the filter in brackets):
 * 1. [overhead] per-call cost of `gradient(f, x)` with f(x) = 3x² + 2x + 1 written with
 *    fluxion ops on a JS number, beside `tf.grad` of the same f on a scalar tensor
 *    (TF.js wasm and CPU backends, result read back with `dataSync()`).
 * 2. [scalar horner], [scalar loop] ~1000 scalar operations: gradient / f (f on plain numbers
 *    through the same fluxion ops), gradient / f written with JS operators, ns per recorded op.
 * 3. [mlp] loss of an MLP 784-128-64-10 (relu, relu, logSoftmax cross-entropy), batch 128,
 *    float32: forward+backward / forward, implicit (`params`) and explicit (`gradient(m => …, model)`)
 *    forms, beside `tf.variableGrads` on the same network and weights.
 * 4. [heap] heapUsed before/after 1e5 `gradient` calls (and 1e4 on the Horner function).
 *
 * Method: every closure is warmed up, then timed in samples of `batch` calls (batch chosen so
 * a sample lasts ~10 ms); closures compared with each other are sampled alternately (a, b,
 * a, b, …) so a burst of load from other processes on this shared machine hits them alike.
 * Times are medians over the samples; ratios are medians of the per-pair ratios of those
 * alternating samples; spread is half the interquartile range, in % of the median.
 * Nothing here asserts timings: it prints figures.
 *
 * `benchAd` can be called by `bench/index.ts` like the other sections: it takes the CLI filter,
 * prints its own table (unless `{ print: false }`), and returns {@link Row}s for the shared table.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { pathToFileURL } from 'node:url';
import type * as TF from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import type { Tensor } from '../src/index.js';

/*
 * The library as users run it: the tsc build in dist/ (what the package ships). Through tsx,
 * src/ goes through esbuild's per-file transform, which measured about twice as slow on
 * recorded scalar ops (Horner gradient 46 µs from src/ vs 24 µs from dist/, same machine,
 * same hour), so it would misstate what users get. `npm run bench` builds first; without a
 * build the bench falls back to src/ and says so in its header.
 */
const distDir = new URL('../dist/', import.meta.url);
const fromDist = existsSync(new URL('index.js', distDir));
const libUrl = fromDist ? new URL('index.js', distDir).href : new URL('../src/index.js', import.meta.url).href;
const gemmUrl = fromDist ? new URL('backend/cpu/gemm.js', distDir).href : new URL('../src/backend/cpu/gemm.js', import.meta.url).href;
const {
  add, exp, gradient, logSoftmax, matmul, mul, oneHot, params, pow, randn, relu, seed, sin, sum, tensor, zeros,
} = (await import(libUrl)) as typeof import('../src/index.js');
const gemmMod = (await import(gemmUrl)) as typeof import('../src/backend/cpu/gemm.js');
/** Which build is measured, for the header. */
export const adLibrary = fromDist ? 'dist/ (the tsc build the package ships)' : 'src/ through tsx (no build found: run npm run build)';
import { type Filter, type Row, describeMachine, makeFilter, tf, useBackend } from './harness.js';

const SECTION = 'autodiff';

// ---------------------------------------------------------------------------------------------
// Timing

/** A timed closure: one call. */
type Run = () => unknown;

/** Summary of samples (ms per call, or a dimensionless ratio). */
interface Stats {
  median: number;
  q1: number;
  q3: number;
  n: number;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function stats(xs: number[]): Stats {
  const s = xs.slice().sort((a, b) => a - b);
  return { median: quantile(s, 0.5), q1: quantile(s, 0.25), q3: quantile(s, 0.75), n: s.length };
}

/** Keeps results alive so the JIT cannot drop the timed work. */
let sink = 0;
function consume(v: unknown): void {
  if (typeof v === 'number') sink += v;
  else if (Array.isArray(v) && typeof v[0] === 'number') sink += v[0];
}

function sample(run: Run, batch: number): number {
  const t = performance.now();
  for (let i = 0; i < batch; i++) consume(run());
  return (performance.now() - t) / batch;
}

interface TimeOptions {
  /** Total sampling budget in ms (default 1500). */
  budgetMs?: number;
  /** Minimum samples per closure (default 7). */
  minRuns?: number;
  /** Maximum samples per closure (default 300). */
  maxRuns?: number;
  /** Target duration of one sample in ms; sets each closure's batch (default 10). */
  sampleMs?: number;
  /** Warm-up per closure in ms (default 300; at least 3 calls). */
  warmupMs?: number;
}

/**
 * Time closures in alternation. Returns every closure's samples (ms per call), index-aligned:
 * sample i of every closure was taken in the same round.
 */
function timeAlternating(runs: Run[], o: TimeOptions = {}): number[][] {
  const budget = o.budgetMs ?? 1500, minRuns = o.minRuns ?? 7, maxRuns = o.maxRuns ?? 300;
  const sampleMs = o.sampleMs ?? 10, warmupMs = o.warmupMs ?? 300;
  const batches = runs.map((r) => {
    // warm-up (JIT tiers, pools, TF.js kernel caches), then a batch that lasts ~sampleMs
    let calls = 0;
    const t0 = performance.now();
    while (calls < 3 || performance.now() - t0 < warmupMs) { consume(r()); calls++; }
    const perCall = sample(r, Math.max(1, Math.min(calls, 1000)));
    return Math.max(1, Math.round(sampleMs / Math.max(perCall, 1e-6)));
  });
  const samples: number[][] = runs.map(() => []);
  const start = performance.now();
  while (samples[0]!.length < minRuns || (performance.now() - start < budget && samples[0]!.length < maxRuns)) {
    runs.forEach((r, i) => samples[i]!.push(sample(r, batches[i]!)));
  }
  return samples;
}

/** Ratios of aligned samples a[i] / b[i]. */
const pairRatios = (a: number[], b: number[]): Stats => stats(a.map((x, i) => x / b[i]!));

// ---------------------------------------------------------------------------------------------
// The table

/** One line of the printed table. */
export interface AdLine {
  /** Case number and title of the group this line belongs to (printed on its first line). */
  group: string;
  measure: string;
  fluxion: string;
  /** Half interquartile range of fluxion's samples, in % of the median. */
  spread: string;
  tfjsWasm: string;
  tfjsCpu: string;
  target: string;
}

function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const p = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  if (ms < 1e-3) return `${p(ms * 1e6)} ns`;
  if (ms < 1) return `${p(ms * 1e3)} µs`;
  return `${p(ms)} ms`;
}

function fmtRatio(r: number | null | undefined): string {
  if (r === null || r === undefined) return '—';
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

function fmtSpread(s: Stats | null): string {
  if (s === null || s.median === 0) return '';
  return `±${((50 * (s.q3 - s.q1)) / Math.abs(s.median)).toFixed(0)}%`;
}

function fmtBytes(b: number): string {
  return `${(b / 2 ** 20).toFixed(2)} MiB`;
}

/** The table as Markdown-compatible lines. */
export function formatAdTable(lines: AdLine[]): string[] {
  const head = ['case', 'measure', 'fluxion', 'spread', 'TF.js wasm', 'TF.js cpu', 'target'];
  let last = '';
  const body = lines.map((l) => {
    const g = l.group === last ? '' : l.group;
    last = l.group;
    return [g, l.measure, l.fluxion, l.spread, l.tfjsWasm, l.tfjsCpu, l.target];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const left = (i: number): boolean => i < 2;
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (left(i) ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)];
}

/** What the section measured: the printed lines and the rows for the shared `npm run bench` table. */
export interface AdResult {
  lines: AdLine[];
  rows: Row[];
  /** How the heap rows collected garbage. */
  gcNote: string;
}

// ---------------------------------------------------------------------------------------------
// 1. Per-call overhead

type Num = number;
/** f(x) = 3x² + 2x + 1 with fluxion ops (typed on numbers; traced numbers flow through at run time). */
const poly = (x: Num): Num => add(mul(3, pow(x, 2)), add(mul(2, x), 1));
const tfPoly = (x: TF.Tensor): TF.Tensor => tf.add(tf.mul(3, tf.pow(x, 2)), tf.add(tf.mul(2, x), 1));

async function overhead(out: AdLine[], rows: Row[]): Promise<void> {
  const group = '1. per-call overhead, f(x) = 3x² + 2x + 1';
  let k = 0;
  const xs = [0.5, 1, 1.5, 2];
  const fxGrad: Run = () => gradient(poly, xs[k++ & 3]!);
  const fxF: Run = () => poly(xs[k++ & 3]!);

  await useBackend('wasm');
  let x = tf.scalar(1.5);
  let g = tf.grad(tfPoly);
  const tfGrad = (): Run => () => { const r = g(x); const v = r.dataSync()[0]; r.dispose(); return v; };
  const tfF = (): Run => () => { const r = tf.tidy(() => tfPoly(x)); const v = r.dataSync()[0]; r.dispose(); return v; };
  const [sG, sF, sWG, sWF] = timeAlternating([fxGrad, fxF, tfGrad(), tfF()], { budgetMs: 2500 });
  x.dispose();

  await useBackend('cpu');
  x = tf.scalar(1.5);
  g = tf.grad(tfPoly);
  const [sCG, sCF] = timeAlternating([tfGrad(), tfF()], { budgetMs: 1200 });
  x.dispose();

  const grad = stats(sG!), f = stats(sF!);
  const wG = stats(sWG!).median, wF = stats(sWF!).median, cG = stats(sCG!).median, cF = stats(sCF!).median;
  out.push(
    { group, measure: '`gradient(f, x)` on a number (TF.js: `tf.grad(f)(x)` + `dataSync`), per call', fluxion: fmtTime(grad.median), spread: fmtSpread(grad), tfjsWasm: fmtTime(wG), tfjsCpu: fmtTime(cG), target: '≤ 1 µs' },
    { group, measure: '`f(x)` alone (fluxion ops on a number; TF.js: `tf.tidy(f)` + `dataSync`)', fluxion: fmtTime(f.median), spread: fmtSpread(f), tfjsWasm: fmtTime(wF), tfjsCpu: fmtTime(cF), target: '' },
    { group, measure: 'TF.js time / fluxion time for the gradient call', fluxion: '', spread: '', tfjsWasm: fmtRatio(wG / grad.median), tfjsCpu: fmtRatio(cG / grad.median), target: '≥ 50×' },
  );
  rows.push({ section: SECTION, name: 'gradient of 3x²+2x+1 on a number', unit: 'ns', fluxion: grad.median * 1e6, tfjsWasm: wG * 1e6, tfjsCpu: cG * 1e6 });
}

// ---------------------------------------------------------------------------------------------
// 2. Scalar code

/** Deterministic coefficients in [−1, 1) (a 32-bit LCG: no dependence on the tensor RNG). */
function coefficients(n: number): number[] {
  let s = 12345;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

interface ScalarCase {
  key: string;
  title: string;
  /** Operations recorded on the tape per call (leaves excluded). */
  ops: number;
  x: number;
  fx: (x: Num) => Num;
  js: (x: number) => number;
  tf: (x: TF.Tensor) => TF.Tensor;
}

const DEG = 500;
const C = coefficients(DEG + 1);

const horner: ScalarCase = {
  key: 'scalar horner',
  title: `2a. scalar: Horner, degree ${DEG}`,
  ops: 2 * DEG, // one mul and one add per coefficient after the leading one
  x: 0.7,
  fx: (x) => {
    let p: Num = C[DEG]!;
    for (let i = DEG - 1; i >= 0; i--) p = add(mul(p, x), C[i]!);
    return p;
  },
  js: (x) => {
    let p = C[DEG]!;
    for (let i = DEG - 1; i >= 0; i--) p = p * x + C[i]!;
    return p;
  },
  tf: (x) => {
    let p: TF.Tensor = tf.scalar(C[DEG]!);
    for (let i = DEG - 1; i >= 0; i--) p = tf.add(tf.mul(p, x), C[i]!);
    return p;
  },
};

const ITERS = 200;
const loop: ScalarCase = {
  key: 'scalar loop',
  title: `2b. scalar: loop of ${ITERS} × y = x·sin(y) + exp(−0.1·y)`,
  ops: 5 * ITERS, // sin, mul, mul, exp, add
  x: 0.7,
  fx: (x) => {
    let y: Num = x;
    for (let i = 0; i < ITERS; i++) y = add(mul(x, sin(y)), exp(mul(-0.1, y)));
    return y;
  },
  js: (x) => {
    let y = x;
    for (let i = 0; i < ITERS; i++) y = x * Math.sin(y) + Math.exp(-0.1 * y);
    return y;
  },
  tf: (x) => {
    let y: TF.Tensor = x;
    for (let i = 0; i < ITERS; i++) y = tf.add(tf.mul(x, tf.sin(y)), tf.exp(tf.mul(-0.1, y)));
    return y;
  },
};

async function scalar(c: ScalarCase, out: AdLine[], rows: Row[]): Promise<void> {
  const group = `${c.title} (${c.ops} recorded ops)`;
  const fxGrad: Run = () => gradient(c.fx, c.x);
  const fxF: Run = () => c.fx(c.x);
  const jsF: Run = () => c.js(c.x);

  const tfRuns = (): { grad: Run; f: Run; done: () => void } => {
    const x = tf.scalar(c.x);
    const g = tf.grad(c.tf);
    return {
      grad: () => { const r = g(x); const v = r.dataSync()[0]; r.dispose(); return v; },
      f: () => { const r = tf.tidy(() => c.tf(x)); const v = r.dataSync()[0]; r.dispose(); return v; },
      done: () => x.dispose(),
    };
  };

  await useBackend('wasm');
  const w = tfRuns();
  const [sG, sF, sJ, sWG, sWF] = timeAlternating([fxGrad, fxF, jsF, w.grad, w.f], { budgetMs: 3000, sampleMs: 15 });
  w.done();
  await useBackend('cpu');
  const cpu = tfRuns();
  const [sCG, sCF] = timeAlternating([cpu.grad, cpu.f], { budgetMs: 1500, minRuns: 5, sampleMs: 15 });
  cpu.done();

  const grad = stats(sG!), f = stats(sF!), js = stats(sJ!);
  const rF = pairRatios(sG!, sF!), rJ = pairRatios(sG!, sJ!);
  const perOp = stats(sG!.map((t) => (t * 1e6) / c.ops));
  const wG = stats(sWG!).median, cG = stats(sCG!).median;
  const wR = pairRatios(sWG!, sWF!).median, cR = pairRatios(sCG!, sCF!).median;
  out.push(
    { group, measure: '`gradient(f, x)`, per call (TF.js: `tf.grad` on scalar tensors + `dataSync`)', fluxion: fmtTime(grad.median), spread: fmtSpread(grad), tfjsWasm: fmtTime(wG), tfjsCpu: fmtTime(cG), target: '' },
    { group, measure: '`f(x)` through fluxion ops on numbers (TF.js: `tf.tidy(f)`)', fluxion: fmtTime(f.median), spread: fmtSpread(f), tfjsWasm: fmtTime(stats(sWF!).median), tfjsCpu: fmtTime(stats(sCF!).median), target: '' },
    { group, measure: '`f(x)` with JS operators (`*`, `+`, `Math.sin`, …)', fluxion: fmtTime(js.median), spread: fmtSpread(js), tfjsWasm: '', tfjsCpu: '', target: '' },
    { group, measure: 'gradient / f (fluxion ops; TF.js: tf.grad / forward)', fluxion: fmtRatio(rF.median), spread: fmtSpread(rF), tfjsWasm: fmtRatio(wR), tfjsCpu: fmtRatio(cR), target: '≤ 5×' },
    { group, measure: 'gradient / f (JS operators)', fluxion: fmtRatio(rJ.median), spread: fmtSpread(rJ), tfjsWasm: '', tfjsCpu: '', target: '' },
    { group, measure: 'forward+backward per recorded op', fluxion: fmtTime(perOp.median / 1e6), spread: fmtSpread(perOp), tfjsWasm: fmtTime(wG / c.ops), tfjsCpu: fmtTime(cG / c.ops), target: '' },
  );
  rows.push({ section: SECTION, name: `gradient, ${c.key.replace('scalar ', '')} (${c.ops} scalar ops)`, unit: 'ms', fluxion: grad.median, tfjsWasm: wG, tfjsCpu: cG });
}

// ---------------------------------------------------------------------------------------------
// 3. MLP

const BATCH = 128, SIZES = [784, 128, 64, 10] as const;

interface Mlp {
  W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor; W3: Tensor; b3: Tensor;
}

/** Mean cross-entropy of the MLP's log-softmax against one-hot labels. */
function loss(m: Mlp, x: Tensor, y: Tensor): Tensor {
  const h1 = relu(add(matmul(x, m.W1), m.b1));
  const h2 = relu(add(matmul(h1, m.W2), m.b2));
  const lp = logSoftmax(add(matmul(h2, m.W3), m.b3));
  return mul(sum(mul(y, lp)), -1 / BATCH);
}

function tfLoss(m: Record<keyof Mlp, TF.Tensor>, x: TF.Tensor, y: TF.Tensor): TF.Scalar {
  const h1 = tf.relu(tf.add(tf.matMul(x as TF.Tensor2D, m.W1 as TF.Tensor2D), m.b1));
  const h2 = tf.relu(tf.add(tf.matMul(h1 as TF.Tensor2D, m.W2 as TF.Tensor2D), m.b2));
  const lp = tf.logSoftmax(tf.add(tf.matMul(h2 as TF.Tensor2D, m.W3 as TF.Tensor2D), m.b3));
  return tf.mul(tf.sum(tf.mul(y, lp)), -1 / BATCH) as TF.Scalar;
}

async function mlp(out: AdLine[], rows: Row[]): Promise<string | undefined> {
  const group = '3. MLP 784-128-64-10, batch 128, f32';
  const f32 = { dtype: 'float32' } as const;
  seed(7);
  // He initialisation (keeps activations O(1)); labels 0..9 in a fixed pattern
  const layer = (i: number): [Tensor, Tensor] => [mul(randn([SIZES[i]!, SIZES[i + 1]!], f32), Math.sqrt(2 / SIZES[i]!)), zeros([SIZES[i + 1]!], f32)];
  const [W1, b1] = layer(0), [W2, b2] = layer(1), [W3, b3] = layer(2);
  const model: Mlp = { W1, b1, W2, b2, W3, b3 };
  const x = randn([BATCH, SIZES[0]], f32);
  const labels = Array.from({ length: BATCH }, (_, i) => (i * 7) % 10);
  const y = oneHot(tensor(labels), 10, f32);
  const ps = params(model);
  const keys = Object.keys(model) as (keyof Mlp)[];

  // a call reads the results back as typed arrays, as TF.js's dataSync does
  const fxFwd: Run = () => (loss(model, x, y).data as Float32Array)[0];
  const fxImplicit: Run = () => {
    const gs = gradient(() => loss(model, x, y), ps);
    let s = 0;
    for (const k of keys) s += (gs.get(model[k]).data as Float32Array)[0]!;
    return s;
  };
  const fxExplicit: Run = () => {
    const [gm] = gradient((m: Mlp) => loss(m, x, y), model) as [Mlp];
    let s = 0;
    for (const k of keys) s += (gm[k].data as Float32Array)[0]!;
    return s;
  };

  const tfSetup = (): { fwd: Run; grad: Run; value: () => number; done: () => void } => {
    const vars = Object.fromEntries(keys.map((k) => [k, tf.variable(tf.tensor(model[k].data as Float32Array, [...model[k].shape]), true)])) as unknown as Record<keyof Mlp, TF.Variable>;
    const tx = tf.tensor2d(x.data as Float32Array, [BATCH, SIZES[0]]);
    const ty = tf.tensor2d(y.data as Float32Array, [BATCH, 10]);
    const fwd: Run = () => { const r = tf.tidy(() => tfLoss(vars, tx, ty)); const v = r.dataSync()[0]; r.dispose(); return v; };
    const grad: Run = () => {
      const { value, grads } = tf.variableGrads(() => tfLoss(vars, tx, ty), keys.map((k) => vars[k]));
      let s = value.dataSync()[0]!;
      for (const k of keys) s += grads[vars[k].name]!.dataSync()[0]!;
      value.dispose();
      tf.dispose(Object.values(grads));
      return s;
    };
    return { fwd, grad, value: () => fwd() as number, done: () => tf.dispose([tx, ty, ...Object.values(vars)]) };
  };

  // the same two calls with fluxion's gemm forced onto the calling thread (TF.js wasm is single-threaded too)
  const oneThread = typeof gemmMod.setGemmVariant === 'function' && gemmMod.gemmVariants().includes('wasm');
  const single = (run: Run): Run => () => {
    const prev = gemmMod.getGemmVariant();
    gemmMod.setGemmVariant('wasm');
    try { return run(); } finally { gemmMod.setGemmVariant(prev); }
  };

  await useBackend('wasm');
  const w = tfSetup();
  // sanity: both libraries compute the same loss on the same weights (printed if not)
  const lf = loss(model, x, y).item(), lt = w.value();
  const mismatch = Math.abs(lf - lt) > 1e-3 * Math.max(1, Math.abs(lf)) ? `warning: MLP loss differs: fluxion ${lf}, TF.js ${lt}` : undefined;
  const runs = [fxFwd, fxImplicit, fxExplicit, w.fwd, w.grad, ...(oneThread ? [single(fxFwd), single(fxImplicit)] : [])];
  const [sF, sI, sE, sWF, sWG, s1F, s1I] = timeAlternating(runs, { budgetMs: 6000, sampleMs: 30, warmupMs: 500 });
  w.done();
  await useBackend('cpu');
  const c = tfSetup();
  const [sCF, sCG] = timeAlternating([c.fwd, c.grad], { budgetMs: 3000, minRuns: 5, sampleMs: 30, warmupMs: 300 });
  c.done();

  const fwd = stats(sF!), imp = stats(sI!), exp_ = stats(sE!);
  const rI = pairRatios(sI!, sF!), rE = pairRatios(sE!, sF!);
  const wF = stats(sWF!).median, wG = stats(sWG!).median, cF = stats(sCF!).median, cG = stats(sCG!).median;
  out.push(
    { group, measure: 'forward: loss (TF.js: `tf.tidy` + `dataSync`)', fluxion: fmtTime(fwd.median), spread: fmtSpread(fwd), tfjsWasm: fmtTime(wF), tfjsCpu: fmtTime(cF), target: '' },
    { group, measure: 'forward+backward: `gradient(() => loss(…), params(model))` (TF.js: `tf.variableGrads`)', fluxion: fmtTime(imp.median), spread: fmtSpread(imp), tfjsWasm: fmtTime(wG), tfjsCpu: fmtTime(cG), target: '' },
    { group, measure: 'forward+backward: `gradient(m => loss(m, x, y), model)`', fluxion: fmtTime(exp_.median), spread: fmtSpread(exp_), tfjsWasm: '', tfjsCpu: '', target: '' },
    { group, measure: 'forward+backward / forward, `params` (TF.js: `variableGrads` / forward)', fluxion: fmtRatio(rI.median), spread: fmtSpread(rI), tfjsWasm: fmtRatio(pairRatios(sWG!, sWF!).median), tfjsCpu: fmtRatio(pairRatios(sCG!, sCF!).median), target: '≤ 3×' },
    { group, measure: 'forward+backward / forward, explicit', fluxion: fmtRatio(rE.median), spread: fmtSpread(rE), tfjsWasm: '', tfjsCpu: '', target: '≤ 3×' },
  );
  if (s1F && s1I) {
    const f1 = stats(s1F), i1 = stats(s1I), r1 = pairRatios(s1I, s1F);
    out.push(
      { group, measure: 'forward, fluxion gemm on one thread (`setGemmVariant(\'wasm\')`)', fluxion: fmtTime(f1.median), spread: fmtSpread(f1), tfjsWasm: '', tfjsCpu: '', target: '' },
      { group, measure: 'forward+backward (`params`), gemm on one thread', fluxion: fmtTime(i1.median), spread: fmtSpread(i1), tfjsWasm: '', tfjsCpu: '', target: '' },
      { group, measure: 'forward+backward / forward, gemm on one thread', fluxion: fmtRatio(r1.median), spread: fmtSpread(r1), tfjsWasm: '', tfjsCpu: '', target: '≤ 3×' },
    );
  }
  rows.push(
    { section: SECTION, name: 'MLP 784-128-64-10 b128 f32: forward', unit: 'ms', fluxion: fwd.median, tfjsWasm: wF, tfjsCpu: cF },
    { section: SECTION, name: 'MLP 784-128-64-10 b128 f32: forward+backward', unit: 'ms', fluxion: imp.median, tfjsWasm: wG, tfjsCpu: cG },
  );
  return mismatch;
}

// ---------------------------------------------------------------------------------------------
// 4. Heap

/** A full garbage collection, and how it was obtained. */
function findGc(): { gc: (() => void) | undefined; note: string } {
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === 'function') return { gc: own, note: 'global.gc (run with --expose-gc)' };
  try {
    // Node lets a running process turn the flag on; a fresh context then exposes gc()
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    if (typeof gc === 'function') return { gc: gc as () => void, note: "gc() via v8.setFlagsFromString('--expose-gc') (not run with --expose-gc)" };
  } catch { /* fall through */ }
  return { gc: undefined, note: 'no gc available: heap figures include uncollected garbage' };
}

function heapRun(label: string, calls: number, run: Run, gc: (() => void) | undefined): AdLine {
  const group = '4. heap (`process.memoryUsage().heapUsed`)';
  for (let i = 0; i < Math.min(1000, calls); i++) consume(run()); // warm-up: pools, JIT code, caches
  const used = (): number => { gc?.(); gc?.(); return process.memoryUsage().heapUsed; };
  const before = used();
  const checkpoints: number[] = [];
  const step = calls / 10;
  for (let i = 0; i < calls; i++) {
    consume(run());
    if ((i + 1) % step === 0) checkpoints.push(used());
  }
  const after = checkpoints[checkpoints.length - 1]!;
  const max = Math.max(...checkpoints);
  // growth per call between the first and the last checkpoint (9/10 of the calls): a leak shows as a steady slope
  const perCall = (after - checkpoints[0]!) / (calls - step);
  const kib = (b: number): string => `${b >= 0 ? '+' : '−'}${(Math.abs(b) / 1024).toFixed(0)} KiB`;
  return {
    group,
    measure: `${label}: heapUsed before → after`,
    fluxion: `${fmtBytes(before)} → ${fmtBytes(after)} (${kib(after - before)}; max ${fmtBytes(max)}; ${perCall >= 0 ? '+' : '−'}${Math.abs(perCall).toFixed(1)} B/call)`,
    spread: '', tfjsWasm: '', tfjsCpu: '', target: 'no growth',
  };
}

// ---------------------------------------------------------------------------------------------
// Entry points

const CASES = ['overhead', horner.key, loop.key, 'mlp', 'heap'] as const;

function toFilter(filter: Filter | string | readonly string[] | undefined): Filter {
  if (typeof filter === 'function') return filter;
  if (filter === undefined) return makeFilter([]);
  return makeFilter(typeof filter === 'string' ? filter.split(/\s+/).filter(Boolean) : filter);
}

/** Measure the selected cases; returns the printed lines and the rows for the shared table. */
export async function measureAd(filter?: Filter | string | readonly string[]): Promise<AdResult> {
  const want = toFilter(filter);
  const lines: AdLine[] = [], rows: Row[] = [];
  gemmMod.gemmThreadPool()?.waitReady(); // fluxion's matmul worker pool starts in the background otherwise
  let gcNote = '';
  const notes: string[] = [];
  if (want(SECTION, CASES[0])) await overhead(lines, rows);
  if (want(SECTION, horner.key)) await scalar(horner, lines, rows);
  if (want(SECTION, loop.key)) await scalar(loop, lines, rows);
  if (want(SECTION, 'mlp')) {
    const m = await mlp(lines, rows);
    if (m) notes.push(m);
  }
  if (want(SECTION, 'heap')) {
    const { gc, note } = findGc();
    gcNote = note;
    let k = 0;
    lines.push(heapRun('1e5 × `gradient(f, x)`, f = 3x² + 2x + 1', 100_000, () => gradient(poly, (k++ & 7) * 0.25), gc));
    lines.push(heapRun(`1e4 × \`gradient(f, x)\`, Horner degree ${DEG}`, 10_000, () => gradient(horner.fx, 0.7), gc));
  }
  for (const n of notes) console.warn(n);
  return { lines, rows, gcNote };
}

/** Which fluxion was measured: the commit, and whether src/ differed from it. */
function version(): string {
  try {
    const git = (...a: string[]): string => execFileSync('git', a, { cwd: path.dirname(new URL(import.meta.url).pathname), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', '../src') !== '';
    return `fluxion at commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes in src/' : ''}, measured from ${adLibrary}`;
  } catch {
    return 'fluxion (commit unknown)';
  }
}

/** The header printed above the table. */
export function adHeader(r: AdResult): string[] {
  return [
    `${version()}.`,
    'Autodiff: all figures measured in this one run. Every closure is warmed up (≥ 300 ms), then timed in samples of a',
    'batch of calls (~10–30 ms each); times are medians over the samples; closures compared with each other (gradient vs f,',
    'fluxion vs TF.js-wasm) are sampled alternately, and ratios are medians of the ratios of paired samples.',
    'spread = half the interquartile range of fluxion\'s samples, in % of the median. TF.js calls include dataSync() + dispose();',
    'TF.js inputs/variables are created before timing; fluxion\'s matmul may use its 2-thread worker pool, TF.js wasm runs single-threaded.',
    ...(r.gcNote ? [
      `heap rows: after 1000 warm-up calls, a full gc, then heapUsed before → after the calls (Δ; the highest of 10 checkpoints taken`,
      `during the loop, each after a full gc; growth per call between the first and the last checkpoint). gc: ${r.gcNote}.`,
    ] : []),
  ];
}

/**
 * The autodiff section for `npm run bench`: measures the cases selected by `filter`, prints
 * its own table (ratios, targets, heap) unless `opts.print` is false, and returns the time rows
 * for the shared fluxion-vs-TF.js table.
 */
export async function benchAd(filter?: Filter | string | readonly string[], opts: { print?: boolean } = {}): Promise<Row[]> {
  const r = await measureAd(filter);
  if ((opts.print ?? true) && r.lines.length > 0) {
    for (const h of adHeader(r)) console.log(h);
    console.log('');
    for (const l of formatAdTable(r.lines)) console.log(l);
    console.log('');
  }
  return r.rows;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  const terms = process.argv.slice(2);
  for (const h of await describeMachine()) console.log(h);
  const r = await measureAd(terms);
  if (r.lines.length === 0) console.log(`no case matches ${JSON.stringify(terms)}; cases: ${CASES.join(', ')}`);
  else {
    for (const h of adHeader(r)) console.log(h);
    console.log('');
    for (const l of formatAdTable(r.lines)) console.log(l);
  }
  if (sink === 12345.678) console.log(''); // keeps `sink` observable
}
