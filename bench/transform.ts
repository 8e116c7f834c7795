/**
 * Cost of the operator transform on plain numeric code: the same kernels loaded once as
 * written and once rewritten (as `fluxion/register` or the bundler plugin would), with no
 * gradient in flight. Target: rewritten / plain ≤ 1.1.
 *
 *   node --import tsx bench/transform.ts
 *
 * Times are the fastest of interleaved runs (ms per call; the machine is shared and noisy); `after tensors` repeats the
 * measurement after every kernel has also been called with Tensors (which run the traced
 * body), to show that the plain path keeps its speed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { rewrite } from '../src/transform/rewrite.js';
import { add, gradient, tensor } from '../src/index.js';

const KERNELS = `
export function axpb(n, a, b, c) { let s = 0; for (let i = 0; i < n; i++) s += a * b + c * i; return s; }
export function dot(x, y) { let s = 0; for (let i = 0; i < x.length; i++) s += x[i] * y[i]; return s; }
export function sines(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sin(i * 0.001) * Math.exp(-i * 1e-7); return s; }
export function horner(coef, x) { let y = 0; for (let i = 0; i < coef.length; i++) y = y * x + coef[i]; return y; }
export function manyHorner(coef, n) { let s = 0; for (let i = 0; i < n; i++) s += horner(coef, i * 1e-6); return s; }
export function particles(ps, steps, dt) {
  for (let k = 0; k < steps; k++) for (const p of ps) { p.vy -= 9.81 * dt; p.x += p.vx * dt; p.y += p.vy * dt; if (p.y < 0) { p.y = -p.y; p.vy = -p.vy * 0.9; } }
  let e = 0; for (const p of ps) e += 0.5 * (p.vx ** 2 + p.vy ** 2) + 9.81 * p.y; return e;
}
export function withClosure(n) { const sq = (v) => v * v; let s = 0; for (let i = 0; i < n; i++) s += sq(i % 100) / (i + 1); return s; }
`;

/** One kernel's timing. */
export interface TransformRow {
  kernel: string;
  plainMs: number;
  rewrittenMs: number;
  /** rewrittenMs / plainMs */
  ratio: number;
  /** The ratio again after the kernel was differentiated (traced numbers went through it). */
  ratioAfterGradients: number;
  /** The ratio again after the kernel also ran with Tensors outside any gradient. */
  ratioAfterTensors: number;
}

type Kernels = Record<string, (...a: any[]) => unknown>;

/** The fastest run: on a shared, noisy machine the least disturbed one (other processes only ever add time). */
function fastest(xs: number[]): number {
  return Math.min(...xs);
}

function timeBoth(plain: () => unknown, rewritten: () => unknown, runs: number): [number, number] {
  for (let i = 0; i < 3; i++) { plain(); rewritten(); }
  const tp: number[] = [], tr: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now(); plain(); tp.push(performance.now() - t);
    t = performance.now(); rewritten(); tr.push(performance.now() - t);
  }
  return [fastest(tp), fastest(tr)];
}

/** Load the kernels as written and rewritten; time each pair. */
export async function runTransformBench(options: { runs?: number; print?: boolean } = {}): Promise<TransformRow[]> {
  const runs = options.runs ?? 25;
  const dir = mkdtempSync(join(tmpdir(), 'fluxion-bench-'));
  const runtimeURL = new URL('../src/transform/runtime.ts', import.meta.url).href;
  const out = rewrite(KERNELS, { filename: 'kernels.mjs', sourceType: 'module', runtime: runtimeURL });
  writeFileSync(join(dir, 'plain.mjs'), KERNELS);
  writeFileSync(join(dir, 'rewritten.mjs'), out.code);
  const P = (await import(pathToFileURL(join(dir, 'plain.mjs')).href)) as Kernels;
  const R = (await import(pathToFileURL(join(dir, 'rewritten.mjs')).href)) as Kernels;
  rmSync(dir, { recursive: true, force: true });

  const x = Float64Array.from({ length: 1 << 20 }, (_, i) => (i % 7) - 3);
  const y = Float64Array.from({ length: 1 << 20 }, (_, i) => (i % 5) * 0.5);
  const coef = [1, -2, 3, -4, 5, -6, 7, -8, 9, -10];
  const mkParticles = () => Array.from({ length: 1000 }, (_, i) => ({ x: i, y: 10 + (i % 13), vx: 1, vy: 0 }));
  const cases: [string, (K: Kernels) => unknown, (K: Kernels) => unknown, (K: Kernels) => unknown][] = [
    ['s += a*b + c*i (1e7)', (K) => K.axpb(1e7, 1.5, 2.5, 0.5), (K) => K.axpb(3, tensor([1, 2]), 2, 1), (K) => gradient((a: number) => K.axpb(3, a, 2, 1) as number, 1.5)],
    ['Float64Array dot (1M ×4)', (K) => { for (let r = 0; r < 4; r++) K.dot(x, y); }, (K) => K.dot([tensor([1])], [2]), (K) => gradient((w: number[]) => K.dot(w, x.subarray(0, 3)) as number, [1, 2, 3])],
    ['Math.sin·Math.exp (2e6)', (K) => K.sines(2e6), (K) => K.sines(tensor([3])), (K) => gradient((n: number) => K.sines(n) as number, 3)],
    ['Horner, called 1e6 times', (K) => K.manyHorner(coef, 1e6), (K) => K.horner(coef, tensor([0.5, 1])), (K) => gradient((v: number) => add(K.manyHorner(coef, 3) as number, K.horner(coef, v) as number), 0.5)],
    ['particles (objects, 1000 × 200)', (K) => K.particles(mkParticles(), 200, 0.01), (K) => K.particles([{ x: tensor([1]), y: tensor([1]), vx: 1, vy: 1 }], 1, 0.1), (K) => gradient((dt: number) => K.particles(mkParticles().slice(0, 3), 2, dt) as number, 0.01)],
    ['closure inside (not dual, 5e6)', (K) => K.withClosure(5e6), (K) => K.withClosure(tensor([3])), (K) => gradient((n: number) => add(K.withClosure(3) as number, n), 1)],
  ];
  const rows: TransformRow[] = [];
  for (const [kernel, run] of cases) {
    const [plainMs, rewrittenMs] = timeBoth(() => run(P), () => run(R), runs);
    rows.push({ kernel, plainMs, rewrittenMs, ratio: rewrittenMs / plainMs, ratioAfterGradients: NaN, ratioAfterTensors: NaN });
  }
  for (const [, , , differentiate] of cases) for (let k = 0; k < 20; k++) differentiate(R);
  cases.forEach(([, run], i) => {
    const [p, r] = timeBoth(() => run(P), () => run(R), runs);
    rows[i].ratioAfterGradients = r / p;
  });
  for (const [, , withTensors] of cases) for (let k = 0; k < 20; k++) withTensors(R);
  cases.forEach(([, run], i) => {
    const [p, r] = timeBoth(() => run(P), () => run(R), runs);
    rows[i].ratioAfterTensors = r / p;
  });
  if (options.print ?? true) {
    console.log('\nOperator transform on plain numeric code (no gradient in flight): rewritten / plain');
    console.log(`${'kernel'.padEnd(34)} ${'plain ms'.padStart(9)} ${'rewritten'.padStart(9)} ${'ratio'.padStart(6)} ${'after gradients'.padStart(16)} ${'after tensors'.padStart(14)}`);
    for (const r of rows) {
      console.log(`${r.kernel.padEnd(34)} ${r.plainMs.toFixed(2).padStart(9)} ${r.rewrittenMs.toFixed(2).padStart(9)} ${r.ratio.toFixed(2).padStart(6)} ${r.ratioAfterGradients.toFixed(2).padStart(16)} ${r.ratioAfterTensors.toFixed(2).padStart(14)}`);
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runTransformBench();
