/**
 * Shared benchmark machinery: timing, the TF.js contenders, the CLI filter and the table.
 *
 * A section (bench/tensor.ts, later autodiff, transform, …) describes its cases as
 * {@link BenchCase}s and hands them to {@link runCases}, which measures fluxion and
 * TF.js (wasm and CPU backends) on the same inputs in this process and returns
 * {@link Row}s; bench/index.ts prints every section's rows as one table.
 *
 * Nothing here asserts anything about timings: a benchmark is not a test.
 *
 * @module
 */
import * as os from 'node:os';
import { createRequire } from 'node:module';

// TF.js prints a hint to install tfjs-node on import; it is noise in a benchmark table.
const quiet = console.log;
console.log = () => {};
const tf: typeof import('@tensorflow/tfjs') = await import('@tensorflow/tfjs');
const tfwasm = await import('@tensorflow/tfjs-backend-wasm');
console.log = quiet;
// Production mode: TF.js skips its debug-time correctness checks (its fastest configuration).
tf.enableProdMode();

export { tf };

/** Unit of a row; GFLOP/s is higher-is-better, the times lower-is-better. */
export type Unit = 'GFLOP/s' | 'ms' | 'ns';

/** One line of the table. Values are medians in the row's unit; null where a contender was not measured. */
export interface Row {
  section: string;
  name: string;
  unit: Unit;
  fluxion: number;
  tfjsCpu: number | null;
  tfjsWasm: number | null;
}

/** A timed closure: one call of the operation including reading the result back to a JS typed array. */
export type Run = () => unknown;

/** What a contender's builder returns: the closure to time and what to release afterwards. */
export interface Built {
  run: Run;
  dispose?: () => void;
}

/** One benchmark case. */
export interface BenchCase {
  name: string;
  unit: Unit;
  /** For GFLOP/s rows: floating-point operations per call. */
  flops?: number;
  /** For ns rows: calls per timed sample (the sample's time is divided by it). */
  batch?: number;
  /** Build the fluxion closure (inputs are created here, outside the timing). */
  fluxion: () => Built;
  /** Build the TF.js closure on the backend in force (inputs created here); omit if TF.js has no counterpart. */
  tfjs?: () => Built;
  /** Budget in ms for the interleaved fluxion/TF.js-wasm samples (default 1500). */
  budgetMs?: number;
}

/** Which cases to run: every CLI term is a case-insensitive substring of "section case-name"; no terms = all. */
export type Filter = (section: string, name: string) => boolean;

export function makeFilter(terms: readonly string[]): Filter {
  const t = terms.map((s) => s.toLowerCase());
  return (section, name) => t.length === 0 || t.some((x) => `${section} ${name}`.toLowerCase().includes(x));
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Time one sample of `batch` calls, in ms per call. */
function sample(run: Run, batch: number): number {
  const t = performance.now();
  for (let i = 0; i < batch; i++) run();
  return (performance.now() - t) / batch;
}

/**
 * Medians (ms per call) of several closures measured in alternation (a, b, a, b, …), so a
 * burst of load from other processes on this shared machine hits every contender alike.
 * Runs `warmup` calls each first, then samples until `budgetMs` is spent (at least `minRuns`
 * samples each, at most 400).
 */
export function timeInterleaved(runs: Run[], opts: { batch?: number; budgetMs?: number; minRuns?: number; warmup?: number } = {}): number[] {
  const batch = opts.batch ?? 1, budget = opts.budgetMs ?? 1500, minRuns = opts.minRuns ?? 7, warmup = opts.warmup ?? 3;
  for (const r of runs) for (let i = 0; i < warmup; i++) sample(r, batch);
  const samples: number[][] = runs.map(() => []);
  const start = performance.now();
  while (samples[0]!.length < minRuns || (performance.now() - start < budget && samples[0]!.length < 400)) {
    runs.forEach((r, i) => samples[i]!.push(sample(r, batch)));
  }
  return samples.map(median);
}

function toUnit(c: BenchCase, ms: number): number {
  switch (c.unit) {
    case 'GFLOP/s': return c.flops! / (ms * 1e6);
    case 'ms': return ms;
    case 'ns': return ms * 1e6;
  }
}

/**
 * Measure cases: fluxion and TF.js-wasm interleaved on the same inputs, then TF.js-CPU on
 * its own (it is often 10–100× slower, so it gets a smaller sample: 1 warm-up, ≥ 3 runs).
 */
export async function runCases(section: string, cases: BenchCase[], filter: Filter): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of cases) {
    if (!filter(section, c.name)) continue;
    const batch = c.batch ?? 1;
    const fx = c.fluxion();
    let wasmMs: number | null = null, cpuMs: number | null = null, fxMs: number;
    if (c.tfjs) {
      await useBackend('wasm');
      const w = c.tfjs();
      [fxMs, wasmMs] = timeInterleaved([fx.run, w.run], { batch, budgetMs: c.budgetMs }) as [number, number];
      w.dispose?.();
      await useBackend('cpu');
      const cpu = c.tfjs();
      [cpuMs] = timeInterleaved([cpu.run], { batch, budgetMs: Math.min(c.budgetMs ?? 1500, 1000), minRuns: 3, warmup: 1 }) as [number];
      cpu.dispose?.();
    } else {
      [fxMs] = timeInterleaved([fx.run], { batch, budgetMs: c.budgetMs }) as [number];
    }
    fx.dispose?.();
    rows.push({
      section, name: c.name, unit: c.unit,
      fluxion: toUnit(c, fxMs),
      tfjsWasm: wasmMs === null ? null : toUnit(c, wasmMs),
      tfjsCpu: cpuMs === null ? null : toUnit(c, cpuMs),
    });
  }
  return rows;
}

let backendReady: Promise<void> | undefined;

/** Switch TF.js to a backend (initialising the wasm one on first use). */
export async function useBackend(name: 'wasm' | 'cpu'): Promise<void> {
  if (name === 'wasm' && backendReady === undefined) {
    backendReady = (async () => {
      // the .wasm files ship next to the package's main file
      const dir = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm').replace(/[^/\\]+$/, '');
      tfwasm.setWasmPaths(dir);
    })();
  }
  await backendReady;
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`TF.js backend '${name}' failed to start`);
  }
  await tf.ready();
}

/** Where and against what the table was measured. */
export async function describeMachine(): Promise<string[]> {
  await useBackend('wasm');
  const threads = tfwasm.getThreadsCount();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const cpus = os.cpus();
  const req = createRequire(import.meta.url);
  const version = (p: string): string => (req(`${p}/package.json`) as { version: string }).version;
  return [
    `machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${os.availableParallelism()} hardware threads, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.arch()}, Node ${process.versions.node} (V8 ${process.versions.v8})`,
    `TF.js ${version('@tensorflow/tfjs')} in production mode: CPU backend (plain JS) and wasm backend ${version('@tensorflow/tfjs-backend-wasm')} (XNNPACK, SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'}: TF.js runs wasm single-threaded under Node)`,
  ];
}

function fmt(v: number | null, unit: Unit): string {
  if (v === null) return '—';
  if (unit === 'ns') return v >= 100 ? v.toFixed(0) : v.toPrecision(3);
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

/** Times faster than TF.js-wasm (> 1 means fluxion wins), whatever the unit's direction. */
export function speedup(r: Row): number | null {
  if (r.tfjsWasm === null) return null;
  return r.unit === 'GFLOP/s' ? r.fluxion / r.tfjsWasm : r.tfjsWasm / r.fluxion;
}

/** The table as lines of text (Markdown-compatible). */
export function formatTable(rows: Row[]): string[] {
  const head = ['case', 'unit', 'fluxion', 'TF.js cpu', 'TF.js wasm', 'fluxion / wasm', 'fluxion speed-up'];
  const body = rows.map((r) => {
    const ratio = r.tfjsWasm === null ? null : r.fluxion / r.tfjsWasm;
    const s = speedup(r);
    return [
      r.section === 'tensor' ? r.name : `${r.section}: ${r.name}`, r.unit,
      fmt(r.fluxion, r.unit), fmt(r.tfjsCpu, r.unit), fmt(r.tfjsWasm, r.unit),
      ratio === null ? '—' : ratio.toFixed(2), s === null ? '—' : `${s.toFixed(2)}×`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)];
}
