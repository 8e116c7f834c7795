/**
 * Tensor-core section of `npm run bench`: matmul, a fused-looking elementwise chain, a full
 * reduction, the first convolution of an MNIST CNN, and the per-call cost of a tiny op.
 *
 * Contract for every contender: inputs exist before the timing starts; one timed call runs
 * the operation and reads the result back as a JS typed array (fluxion: `.data`, a view of
 * the result's storage; TF.js: `dataSync()`, then `dispose()`).
 *
 * @module
 */
import { add, conv2d, exp, matmul, mul, randn, seed, sum, type Tensor } from '../src/index.js';
import type * as TF from '@tensorflow/tfjs';
import { type BenchCase, type Filter, type Row, runCases, tf } from './harness.js';

const f32 = { dtype: 'float32' } as const;

function data(t: Tensor): Float32Array {
  return t.data as Float32Array;
}

function matmulCase(n: number): BenchCase {
  seed(n);
  const a = randn([n, n], f32), b = randn([n, n], f32);
  return {
    name: `matmul ${n}×${n}×${n} f32`,
    unit: 'GFLOP/s',
    flops: 2 * n * n * n,
    budgetMs: n >= 1024 ? 4000 : 1500,
    fluxion: () => ({ run: () => data(matmul(a, b)) }),
    tfjs: () => {
      const ta = tf.tensor2d(data(a), [n, n]), tb = tf.tensor2d(data(b), [n, n]);
      return {
        run: () => { const c = tf.matMul(ta, tb); c.dataSync(); c.dispose(); },
        dispose: () => tf.dispose([ta, tb]),
      };
    },
  };
}

function elementwiseCase(): BenchCase {
  const n = 1_000_000;
  seed(1);
  const x = randn([n], f32), y = randn([n], f32), z = randn([n], f32);
  return {
    name: 'exp(x) * y + z, 1e6 f32',
    unit: 'ms',
    fluxion: () => ({ run: () => data(add(mul(exp(x), y), z)) }),
    tfjs: () => {
      const [tx, ty, tz] = [x, y, z].map((t) => tf.tensor1d(data(t))) as [TF.Tensor1D, TF.Tensor1D, TF.Tensor1D];
      return {
        run: () => { const r = tf.tidy(() => tf.add(tf.mul(tf.exp(tx), ty), tz)); r.dataSync(); r.dispose(); },
        dispose: () => tf.dispose([tx, ty, tz]),
      };
    },
  };
}

function sumCase(): BenchCase {
  const n = 1_000_000;
  seed(2);
  const x = randn([n], f32);
  return {
    name: 'sum, 1e6 f32',
    unit: 'ms',
    fluxion: () => ({ run: () => data(sum(x)) }),
    tfjs: () => {
      const tx = tf.tensor1d(data(x));
      return { run: () => { const r = tf.sum(tx); r.dataSync(); r.dispose(); }, dispose: () => tx.dispose() };
    },
  };
}

function convCase(): BenchCase {
  seed(3);
  // C = 1, so the NCHW input is byte-for-byte the NHWC input TF.js wants.
  const x = randn([64, 1, 28, 28], f32), w = randn([32, 1, 3, 3], f32);
  return {
    name: 'conv2d 64×1×28×28 ⊛ 32×1×3×3 f32',
    unit: 'ms',
    fluxion: () => ({ run: () => data(conv2d(x, w)) }),
    tfjs: () => {
      // TF.js's native layout (NHWC in and out, HWIO filters): its best case
      const tx = tf.tensor4d(data(x), [64, 28, 28, 1]);
      const tw = tf.tidy(() => tf.transpose(tf.tensor4d(data(w), [32, 1, 3, 3]), [2, 3, 1, 0])) as TF.Tensor4D;
      return {
        run: () => { const r = tf.conv2d(tx, tw, 1, 'valid'); r.dataSync(); r.dispose(); },
        dispose: () => tf.dispose([tx, tw]),
      };
    },
  };
}

function tinyCase(): BenchCase {
  const a = randn([4], f32), b = randn([4], f32);
  return {
    name: 'tiny op: add of two 4-element f32 tensors',
    unit: 'ns',
    batch: 2000,
    fluxion: () => ({ run: () => data(add(a, b)) }),
    tfjs: () => {
      const ta = tf.tensor1d(data(a)), tb = tf.tensor1d(data(b));
      return {
        run: () => { const r = tf.add(ta, tb); r.dataSync(); r.dispose(); },
        dispose: () => tf.dispose([ta, tb]),
      };
    },
  };
}

/** Run the tensor-core section (cases selected by `filter`). */
export async function benchTensor(filter: Filter): Promise<Row[]> {
  const cases = [matmulCase(128), matmulCase(512), matmulCase(1024), elementwiseCase(), sumCase(), convCase(), tinyCase()];
  return runCases('tensor', cases, filter);
}
