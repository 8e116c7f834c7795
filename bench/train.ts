/**
 * Training throughput: fluxion's `train` against TF.js's `model.fit` on the same models and
 * data, in one run (wasm and cpu backends).
 *
 *   node --import tsx bench/train.ts            (or `npm run bench -- train`)
 *   node --import tsx bench/train.ts epoch      only the full MNIST epoch
 *
 * Rows, all float32:
 * - MLP 784-128-64-10, batch 128: `train` with Chain/Dense/logitCrossentropy and Descent,
 *   then Adam (TF.js: `model.fit` with sgd / adam and softmax cross-entropy on logits);
 * - CNN (conv 3×3 1→32, relu, maxpool 2, conv 3×3 32→64, relu, maxpool 2, flatten, dense
 *   → 10), batch 64, Descent (TF.js: the same layers in NHWC, its native layout). TF.js's wasm
 *   backend has no Conv2DBackpropFilter kernel, so it cannot train this model: the training
 *   row compares with TF.js cpu (~53 s a step, so one step timed once, ~1 minute), and a
 *   second row compares the forward pass with TF.js wasm (`predict` + reading the logits);
 * - one MNIST epoch of examples/mnist-mlp.ts (784-256-128-10, Adam, shuffled batches of
 *   128, its cosine learning-rate schedule; TF.js: model.fit with shuffle and adam at a fixed
 *   rate), in seconds; TF.js cpu is left out of this row (it would take minutes).
 * Values are ms per step (s per epoch for the epoch row); fluxion and TF.js-wasm are timed
 * alternately, so load from other processes hits both alike. The standalone run also prints
 * samples/s.
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs';
import * as os from 'node:os';
import {
  Adam, Chain, Conv, DataLoader, Dense, Descent, Flatten, MaxPool, Tensor, cosineAnnealing, logitCrossentropy,
  onehotbatch, randn, relu, seed, setup, tensor, train, type Rule,
} from '../src/index.js';
import { loadMNIST, DIGITS } from '../examples/_data/mnist.js';
import { type Filter, type Row, tf, useBackend } from './harness.js';

const SECTION = 'train';

/** An asynchronous timed call: one pass over the case's batches. */
type AsyncRun = () => Promise<unknown>;

interface TrainCase {
  name: string;
  /** Steps (batches) per call; the row reports ms per step (or s per call when `perCall`). */
  steps: number;
  /** Observations per call (for samples/s). */
  samples: number;
  /** Report seconds per call instead of ms per step (the epoch row). */
  perCall?: boolean;
  /** Budget for the interleaved fluxion/wasm samples in ms, and the least number of samples each. */
  budgetMs: number;
  minRuns: number;
  fluxion: () => AsyncRun;
  tfjs: () => { run: AsyncRun; dispose: () => void };
  /** Measure the TF.js cpu backend too (default true). */
  cpu?: boolean;
  /**
   * TF.js cpu on its own, smaller closure (one batch per call, timed once with no warm-up
   * call) for rows where the cpu backend takes tens of seconds per step; replaces `tfjs`
   * for the cpu figure. `cpuSteps` is its steps per call.
   */
  tfjsCpuOnce?: () => { run: AsyncRun; dispose: () => void };
  cpuSteps?: number;
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function timeOne(run: AsyncRun): Promise<number> {
  const t = performance.now();
  await run();
  return performance.now() - t;
}

/** Medians (ms per call) of async closures sampled in alternation after one warm-up call each. */
async function interleaved(runs: AsyncRun[], budgetMs: number, minRuns: number): Promise<number[]> {
  for (const r of runs) await r();
  const samples: number[][] = runs.map(() => []);
  const start = performance.now();
  while (samples[0]!.length < minRuns || (performance.now() - start < budgetMs && samples[0]!.length < 200)) {
    for (let i = 0; i < runs.length; i++) samples[i]!.push(await timeOne(runs[i]!));
  }
  return samples.map(median);
}

function randomBatches(n: number, inShape: number[], classes: number, k: number): { x: Tensor; y: Tensor } {
  seed(21 + k);
  const x = randn([n, ...inShape], { dtype: 'float32' });
  const labels = tensor(Array.from({ length: n }, (_, i) => (i * 7 + k) % classes));
  return { x, y: onehotbatch(labels, Array.from({ length: classes }, (_, i) => i), { dtype: 'float32' }) };
}

const fxLoss = (m: (x: Tensor) => Tensor, x: Tensor, y: Tensor): Tensor => logitCrossentropy(m(x), y);
const tfLoss = (yTrue: TF.Tensor, yPred: TF.Tensor): TF.Tensor => tf.losses.softmaxCrossEntropy(yTrue, yPred);

/** A TF.js `fit` closure over fixed data. */
function tfFit(model: TF.LayersModel, x: TF.Tensor, y: TF.Tensor, batchSize: number, shuffle = false): AsyncRun {
  return () => model.fit(x, y, { batchSize, epochs: 1, shuffle, verbose: 0 });
}

function mlpCase(ruleName: 'Descent' | 'Adam'): TrainCase {
  const B = 128, K = 8;
  const make = (): Rule => (ruleName === 'Descent' ? Descent(0.01) : Adam(1e-3));
  return {
    name: `MLP 784-128-64-10 b128 f32, ${ruleName}: train step (TF.js: model.fit)`, steps: K, samples: B * K, budgetMs: 2500, minRuns: 5,
    fluxion: () => {
      seed(11);
      const model = Chain(Dense(784, 128, relu), Dense(128, 64, relu), Dense(64, 10));
      const { x, y } = randomBatches(B * K, [784], 10, 0);
      const data = DataLoader([x, y], { batchSize: B });
      const opt = setup(make(), model);
      return () => train(fxLoss, model, data, opt, { progress: false });
    },
    tfjs: () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ units: 128, activation: 'relu', inputShape: [784] }),
          tf.layers.dense({ units: 64, activation: 'relu' }),
          tf.layers.dense({ units: 10 }),
        ],
      });
      model.compile({ optimizer: ruleName === 'Descent' ? tf.train.sgd(0.01) : tf.train.adam(1e-3), loss: tfLoss });
      const { x, y } = randomBatches(B * K, [784], 10, 0);
      const tx = tf.tensor2d(x.data as Float32Array, [B * K, 784]), ty = tf.tensor2d(y.data as Float32Array, [B * K, 10]);
      return { run: tfFit(model, tx, ty, B), dispose: () => { model.dispose(); tf.dispose([tx, ty]); } };
    },
  };
}

/** The CNN of issue 9 in TF.js (NHWC, its native layout), compiled for SGD. */
function tfCnn(): TF.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.01), loss: tfLoss });
  return model;
}

const fxCnn = () => Chain(Conv([3, 3], 1, 32, relu), MaxPool([2, 2]), Conv([3, 3], 32, 64, relu), MaxPool([2, 2]), Flatten(), Dense(1600, 10));

/** `batches` batches of 64 CNN inputs as TF.js tensors ([N, 1, 28, 28] and [N, 28, 28, 1] hold the same values in the same order). */
function tfCnnData(batches: number): { tx: TF.Tensor; ty: TF.Tensor } {
  const { x, y } = randomBatches(64 * batches, [1, 28, 28], 10, 1);
  return { tx: tf.tensor4d(x.data as Float32Array, [64 * batches, 28, 28, 1]), ty: tf.tensor2d(y.data as Float32Array, [64 * batches, 10]) };
}

function cnnCase(): TrainCase {
  const B = 64, K = 4;
  return {
    name: 'CNN conv32-pool-conv64-pool-dense b64 f32, Descent: train step (TF.js: model.fit, NHWC)', steps: K, samples: B * K, budgetMs: 3000, minRuns: 5,
    // TF.js cpu takes ~53 s per step here (measured 54.4 and 52.1 s, load ~1.5): one batch, timed once
    cpuSteps: 1,
    tfjsCpuOnce: () => {
      const model = tfCnn();
      const { tx, ty } = tfCnnData(1);
      return { run: tfFit(model, tx, ty, B), dispose: () => { model.dispose(); tf.dispose([tx, ty]); } };
    },
    fluxion: () => {
      seed(12);
      const model = fxCnn();
      const { x, y } = randomBatches(B * K, [1, 28, 28], 10, 1);
      const data = DataLoader([x, y], { batchSize: B });
      const opt = setup(Descent(0.01), model);
      return () => train(fxLoss, model, data, opt, { progress: false });
    },
    tfjs: () => {
      const model = tfCnn();
      const { tx, ty } = tfCnnData(K);
      return { run: tfFit(model, tx, ty, B), dispose: () => { model.dispose(); tf.dispose([tx, ty]); } };
    },
  };
}

/** The CNN's forward pass on one batch of 64 (TF.js wasm can run this one: it has no backward filter kernel, but a forward conv). */
function cnnForwardCase(): TrainCase {
  const B = 64;
  return {
    name: 'CNN conv32-pool-conv64-pool-dense b64 f32: forward (TF.js: predict + dataSync)', steps: 1, samples: B, budgetMs: 2000, minRuns: 9, cpu: false,
    fluxion: () => {
      seed(12);
      const model = fxCnn();
      const { x } = randomBatches(B, [1, 28, 28], 10, 1);
      return async () => model(x).data;
    },
    tfjs: () => {
      const model = tfCnn();
      const { tx, ty } = tfCnnData(1);
      return { run: async () => (model.predict(tx) as TF.Tensor).data().then((d) => d), dispose: () => { model.dispose(); tf.dispose([tx, ty]); } };
    },
  };
}

function mnistEpochCase(): TrainCase {
  const mnist = loadMNIST('train');
  const N = mnist.images.shape[0], B = 128;
  const Y = onehotbatch(mnist.labels, DIGITS, { dtype: 'float32' });
  return {
    name: 'MNIST epoch, examples/mnist-mlp.ts (784-256-128-10, Adam, b128, shuffled): s per epoch', steps: Math.ceil(N / B), samples: N,
    perCall: true, budgetMs: 0, minRuns: 2, cpu: false,
    fluxion: () => {
      seed(1);
      const model = Chain(Dense(784, 256, relu), Dense(256, 128, relu), Dense(128, 10));
      const opt = setup(Adam(1e-3), model);
      const data = DataLoader([mnist.images, Y], { batchSize: B, shuffle: true });
      const schedule = cosineAnnealing({ max: 2e-3, min: 1e-5, period: data.length * 5 });
      return () => train(fxLoss, model, data, opt, { schedule, progress: false });
    },
    tfjs: () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ units: 256, activation: 'relu', inputShape: [784] }),
          tf.layers.dense({ units: 128, activation: 'relu' }),
          tf.layers.dense({ units: 10 }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(1e-3), loss: tfLoss });
      const tx = tf.tensor2d(mnist.images.data as Float32Array, [N, 784]), ty = tf.tensor2d(Y.data as Float32Array, [N, 10]);
      return { run: tfFit(model, tx, ty, B, true), dispose: () => { model.dispose(); tf.dispose([tx, ty]); } };
    },
  };
}

/** Samples per second of each contender, by row name (filled by {@link benchTrain}). */
export const samplesPerSecond = new Map<string, { fluxion: number; tfjsWasm: number | null; tfjsCpu: number | null }>();

/** The benchmark rows of this section. */
export async function benchTrain(filter: Filter): Promise<Row[]> {
  const cases: (() => TrainCase)[] = [() => mlpCase('Descent'), () => mlpCase('Adam'), cnnCase, cnnForwardCase, mnistEpochCase];
  const names = ['MLP Descent', 'MLP Adam', 'CNN', 'CNN forward', 'MNIST epoch'];
  const rows: Row[] = [];
  for (let i = 0; i < cases.length; i++) {
    if (!filter(SECTION, names[i]!)) continue;
    const c = cases[i]!();
    const fx = c.fluxion();
    await useBackend('wasm');
    const wasm = c.tfjs();
    let fxMs: number, wasmMs: number | null;
    try {
      [fxMs, wasmMs] = await interleaved([fx, wasm.run], c.budgetMs, c.minRuns) as [number, number];
    } catch (e) {
      // TF.js's wasm backend lacks some gradient kernels (Conv2DBackpropFilter): no wasm figure then
      console.log(`${c.name}: TF.js wasm cannot train it (${(e as Error).message})`);
      [fxMs] = await interleaved([fx], c.budgetMs, c.minRuns) as [number];
      wasmMs = null;
    }
    wasm.dispose();
    let cpuMs: number | null = null;
    if (c.tfjsCpuOnce) {
      await useBackend('cpu');
      const cpu = c.tfjsCpuOnce();
      // per call of the main closure, so `per` below applies alike
      cpuMs = (await timeOne(cpu.run)) * c.steps / (c.cpuSteps ?? c.steps);
      cpu.dispose();
    } else if (c.cpu !== false) {
      await useBackend('cpu');
      const cpu = c.tfjs();
      [cpuMs] = await interleaved([cpu.run], Math.min(c.budgetMs, 2000), 3) as [number];
      cpu.dispose();
    }
    const per = (ms: number): number => (c.perCall ? ms / 1000 : ms / c.steps);
    const rate = (ms: number): number => c.samples / (ms / 1000);
    rows.push({ section: SECTION, name: c.name, unit: 'ms', fluxion: per(fxMs), tfjsWasm: wasmMs === null ? null : per(wasmMs), tfjsCpu: cpuMs === null ? null : per(cpuMs) });
    samplesPerSecond.set(c.name, { fluxion: rate(fxMs), tfjsWasm: wasmMs === null ? null : rate(wasmMs), tfjsCpu: cpuMs === null ? null : rate(cpuMs) });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatTable, makeFilter, describeMachine } = await import('./harness.js');
  for (const l of await describeMachine()) console.log(l);
  const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' ');
  console.log(`load average before: ${load()}`);
  const rows = await benchTrain(makeFilter(process.argv.slice(2)));
  console.log(`load average after: ${load()}`);
  console.log('(the epoch row is in seconds per epoch, the others in ms per step)');
  for (const l of formatTable(rows)) console.log(l);
  console.log('\nsamples/s:');
  for (const [name, s] of samplesPerSecond) {
    const vs = (v: number | null): string => (v === null ? '—' : `${v.toFixed(0)} (fluxion ${(s.fluxion / v).toFixed(2)}×)`);
    console.log(`  ${name}: fluxion ${s.fluxion.toFixed(0)}, TF.js wasm ${vs(s.tfjsWasm)}, TF.js cpu ${vs(s.tfjsCpu)}`);
  }
}
