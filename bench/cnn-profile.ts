/**
 * Per-kernel profile of the issue-9 CNN training step (the model of bench/train.ts's CNN
 * row): every CPU kernel call is timed with performance.now and grouped by primitive and
 * input shapes; prints mean ms per step, sorted. Not a benchmark row, a diagnostic.
 *
 *   node --import tsx bench/cnn-profile.ts [steps=30] [--one-thread]
 *
 * `--one-thread` hides the worker pool from the kernels (the runtime's `pool()` returns null),
 * to see what the workers' share and their polling cost on a loaded box.
 *
 * @module
 */
import * as os from 'node:os';
import {
  Chain, Conv, Dense, Descent, Flatten, MaxPool, type Tensor, gradient, logitCrossentropy, onehotbatch, randn, relu,
  seed, setup, tensor, update,
} from '../src/index.js';
import { cpuKernels } from '../src/backend/cpu/index.js';
import { runtime } from '../src/backend/cpu/runtime.js';

const args = process.argv.slice(2);
const steps = Number(args.find((a) => /^\d+$/.test(a)) ?? 30);
if (args.includes('--one-thread')) {
  const rt = runtime();
  if (rt) (rt as { pool: () => unknown }).pool = () => null;
}
const table = cpuKernels as unknown as Record<string, (inputs: Tensor[], p: unknown) => Tensor>;
const totals = new Map<string, { ms: number; calls: number; each: number[] }>();
let timing = false;
for (const [name, k] of Object.entries(table)) {
  table[name] = (inputs, p) => {
    if (!timing) return k(inputs, p);
    const t = performance.now();
    const out = k(inputs, p);
    const ms = performance.now() - t;
    const key = `${name} ${inputs.map((x) => `[${x.shape.join(',')}]`).join(' ')}${(p as { axes?: number[] } | undefined)?.axes ? ` axes ${(p as { axes: number[] }).axes.join(',')}` : ''}`;
    const e = totals.get(key) ?? { ms: 0, calls: 0, each: [] };
    e.ms += ms; e.calls++; e.each.push(ms);
    totals.set(key, e);
    return out;
  };
}

seed(12);
const model = Chain(Conv([3, 3], 1, 32, relu), MaxPool([2, 2]), Conv([3, 3], 32, 64, relu), MaxPool([2, 2]), Flatten(), Dense(1600, 10));
const x = randn([64, 1, 28, 28], { dtype: 'float32' });
const y = onehotbatch(tensor(Array.from({ length: 64 }, (_, i) => (i * 7) % 10)), Array.from({ length: 10 }, (_, i) => i), { dtype: 'float32' });
const opt = setup(Descent(0.01), model);
const step = (): void => {
  const g = gradient((m: typeof model) => logitCrossentropy(m(x), y), model);
  update(opt, model, g[0]);
};
for (let i = 0; i < 5; i++) step();
timing = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const wall = (performance.now() - t0) / steps;
timing = false;
const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms);
let inKernels = 0;
console.log(`load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${steps} steps; mean ms per step, median ms per call (calls per step)`);
for (const [key, { ms, calls, each }] of rows) {
  inKernels += ms;
  const med = each.sort((a, b) => a - b)[each.length >> 1]!;
  if (ms / steps >= 0.05) console.log(`${(ms / steps).toFixed(2).padStart(7)} ${med.toFixed(2).padStart(7)}  (${(calls / steps).toFixed(0)})  ${key}`);
}
console.log(`${(inKernels / steps).toFixed(2).padStart(7)}  in kernels; step wall ${wall.toFixed(2)} ms`);
