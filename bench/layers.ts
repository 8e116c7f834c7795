/**
 * Layer call overhead: `Chain(Dense(784, 128, relu), Dense(128, 64, relu), Dense(64, 10))`
 * against the same computation written by hand with `matmul`/`add`/`relu`, and against
 * TF.js's `tf.sequential` (wasm and cpu backends) on the same weights, in one run.
 *
 *   node --import tsx bench/layers.ts          (or `npm run bench -- layers`)
 *
 * Rows: forward at batch 128, forward+backward at batch 128 (loss: mean softmax
 * cross-entropy; TF.js: `tf.variableGrads` over the model's weights) and a forward call on a
 * single input (batch 1; TF.js: `model.predict`). Every call reads its result back.
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs';
import { Chain, Dense, Tensor, add, gradient, logSoftmax, matmul, mul, oneHot, relu, seed, sum, tensor, randn, transpose } from '../src/index.js';
import { type BenchCase, type Filter, type Row, runCases, tf, timeInterleaved } from './harness.js';

const SECTION = 'layers';
const SIZES = [784, 128, 64, 10] as const;

function makeModel(): ReturnType<typeof Chain> {
  seed(11);
  return Chain(Dense(784, 128, relu), Dense(128, 64, relu), Dense(64, 10));
}

/** The model's computation by hand, on the same tensors. */
function byHand(ws: Tensor[], x: Tensor): Tensor {
  const h1 = relu(add(matmul(x, transpose(ws[0])), ws[1]));
  const h2 = relu(add(matmul(h1, transpose(ws[2])), ws[3]));
  return add(matmul(h2, transpose(ws[4])), ws[5]);
}

const crossEntropy = (logits: Tensor, y: Tensor): Tensor => mul(sum(mul(y, logSoftmax(logits))), -1 / logits.shape[0]);
const weightsOf = (m: any): Tensor[] => [0, 1, 2].flatMap((i) => [m.layers[i].weight, m.layers[i].bias]);

function tfModel(m: any): TF.Sequential {
  const model = tf.sequential();
  [1, 2, 3].forEach((i) => model.add(tf.layers.dense({ units: SIZES[i], activation: i < 3 ? 'relu' : 'linear', inputShape: i === 1 ? [SIZES[0]] : undefined })));
  model.setWeights(weightsOf(m).map((w) => (w.ndim === 2 ? tf.tensor2d(w.data as Float32Array, [w.shape[0], w.shape[1]]).transpose() : tf.tensor1d(w.data as Float32Array))));
  return model;
}

function tfCrossEntropy(logits: TF.Tensor, y: TF.Tensor): TF.Scalar {
  return tf.mul(tf.sum(tf.mul(y, tf.logSoftmax(logits))), -1 / logits.shape[0]) as TF.Scalar;
}

/** The benchmark rows of this section. */
export async function benchLayers(filter: Filter): Promise<Row[]> {
  const f32 = { dtype: 'float32' } as const;
  const model = makeModel();
  const ws = weightsOf(model);
  seed(12);
  const x = randn([128, 784], f32), x1 = randn([1, 784], f32);
  const y = oneHot(tensor(Array.from({ length: 128 }, (_, i) => (i * 7) % 10)), 10, f32);
  const read = (t: Tensor): number => (t.data as Float32Array)[0];
  const tfInputs = () => ({ tx: tf.tensor2d(x.data as Float32Array, [128, 784]), ty: tf.tensor2d(y.data as Float32Array, [128, 10]), tx1: tf.tensor2d(x1.data as Float32Array, [1, 784]) });

  // The by-hand rows are timed against the same TF.js closures as the Chain rows, so both
  // fluxion rows are sampled under the same conditions (alternating with TF.js wasm); timing
  // one row alone and the other interleaved made Chain look 30-40% slower than by hand.
  const tfForward = () => {
    const m = tfModel(model), { tx, ty, tx1 } = tfInputs();
    return { run: () => { const r = m.predict(tx) as TF.Tensor; const v = r.dataSync()[0]; r.dispose(); return v; }, dispose: () => { m.dispose(); tf.dispose([tx, ty, tx1]); } };
  };
  const tfBackward = () => {
    const m = tfModel(model), { tx, ty, tx1 } = tfInputs();
    const vars = m.trainableWeights.map((w) => w.read() as TF.Variable);
    return {
      run: () => {
        const { value, grads } = tf.variableGrads(() => tfCrossEntropy(m.apply(tx) as TF.Tensor, ty), vars);
        const v = grads[vars[0].name].dataSync()[0];
        value.dispose();
        tf.dispose(Object.values(grads));
        return v;
      },
      dispose: () => { m.dispose(); tf.dispose([tx, ty, tx1]); },
    };
  };
  const tfPredict1 = () => {
    const m = tfModel(model), { tx, ty, tx1 } = tfInputs();
    return { run: () => { const r = m.predict(tx1) as TF.Tensor; const v = r.dataSync()[0]; r.dispose(); return v; }, dispose: () => { m.dispose(); tf.dispose([tx, ty, tx1]); } };
  };

  const cases: BenchCase[] = [
    {
      name: 'MLP 784-128-64-10 b128 f32: forward, Chain', unit: 'ms',
      fluxion: () => ({ run: () => read(model(x)) }),
      tfjs: tfForward,
    },
    { name: 'MLP 784-128-64-10 b128 f32: forward, by hand', unit: 'ms', fluxion: () => ({ run: () => read(byHand(ws, x)) }), tfjs: tfForward },
    {
      name: 'MLP b128 f32: forward+backward, gradient((m) => loss(m(x), y), model)', unit: 'ms',
      fluxion: () => ({
        run: () => {
          const [g] = gradient((m: typeof model) => crossEntropy(m(x), y), model) as any[];
          return read(g.layers[0].weight);
        },
      }),
      tfjs: tfBackward,
    },
    {
      name: 'MLP b128 f32: forward+backward by hand (params of the same tensors)', unit: 'ms',
      fluxion: () => ({ run: () => read((gradient((w: Tensor[]) => crossEntropy(byHand(w, x), y), ws)[0] as Tensor[])[0]) }),
      tfjs: tfBackward,
    },
    {
      name: 'MLP f32: one input (batch 1), Chain (TF.js: model.predict)', unit: 'ns',
      batch: 20,
      fluxion: () => ({ run: () => read(model(x1)) }),
      tfjs: tfPredict1,
    },
    { name: 'MLP f32: one input (batch 1), by hand', unit: 'ns', batch: 20, fluxion: () => ({ run: () => read(byHand(ws, x1)) }), tfjs: tfPredict1 },
  ];
  const rows = await runCases(SECTION, cases, filter);
  // The criterion, Chain within 10% of the same computation by hand, timed head to head.
  if (filter(SECTION, 'Chain / by hand')) {
    const gradChain = () => read((gradient((m: typeof model) => crossEntropy(m(x), y), model) as any[])[0].layers[0].weight);
    const gradHand = () => read((gradient((w: Tensor[]) => crossEntropy(byHand(w, x), y), ws)[0] as Tensor[])[0]);
    const [fc, fh] = timeInterleaved([() => read(model(x)), () => read(byHand(ws, x))], { budgetMs: 2000 });
    const [bc, bh] = timeInterleaved([gradChain, gradHand], { budgetMs: 3000 });
    const [oc, oh] = timeInterleaved([() => read(model(x1)), () => read(byHand(ws, x1))], { batch: 20, budgetMs: 1500 });
    console.log(`${SECTION}: Chain / by hand, timed alternately (1.00 = no layer overhead): forward b128 ${(fc! / fh!).toFixed(3)}, ` +
      `forward+backward b128 ${(bc! / bh!).toFixed(3)}, batch 1 ${(oc! / oh!).toFixed(3)}`);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatTable, makeFilter, describeMachine } = await import('./harness.js');
  for (const l of await describeMachine()) console.log(l);
  for (const l of formatTable(await benchLayers(makeFilter(process.argv.slice(2))))) console.log(l);
}
