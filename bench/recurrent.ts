/**
 * Recurrent layers: a full backpropagation-through-time training step of an LSTM (input 64,
 * hidden 256, sequence 50, batch 32, float32, loss = sum of the final hidden state) against
 * TF.js's `tf.layers.lstm` on the same weights (`tf.variableGrads` over its weights; the
 * layer's own cell, not hand-written), and the per-step cost of a small cell (hidden 32,
 * batch 1) against the same LSTM step written by hand with TF.js operations in `tf.tidy`,
 * forward and forward+backward (TF.js: `tf.variableGrads` of that step).
 *
 *   node --import tsx bench/recurrent.ts          (or `npm run bench -- recurrent`)
 *
 * Every call reads its result back.
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs';
import { Tensor, gradient, randn, seed, sum } from '../src/index.js';
import { LSTM, LSTMCell, initialState, type LSTMState } from '../src/layers/recurrent.js';
import { type BenchCase, type Filter, type Row, runCases, tf } from './harness.js';

const SECTION = 'recurrent';

/** TF.js's LSTM kernel layout: [in, 4·units] with gate blocks i, f, c, o (ours i, f, g, o): the transposes, and one bias. */
function tfWeights(cell: any): TF.Tensor[] {
  const t2 = (w: Tensor) => tf.tensor2d(w.data as Float32Array, [w.shape[0], w.shape[1]]).transpose();
  return [t2(cell.weightIh), t2(cell.weightHh), tf.tensor1d(cell.biasIh.add(cell.biasHh).data as Float32Array)];
}

/** The benchmark rows of this section. */
export async function benchRecurrent(filter: Filter): Promise<Row[]> {
  const f32 = { dtype: 'float32' } as const;
  seed(21);
  const [B, T, IN, H] = [32, 50, 64, 256];
  const lstm = LSTM(IN, H, { returnState: true });
  const x = randn([B, T, IN], f32);
  const small = LSTMCell(32, 32);
  const x1 = randn([1, 32], f32);
  const s1 = initialState<LSTMState>(small, 1);
  const read = (t: Tensor): number => (t.data as Float32Array)[0];

  const cases: BenchCase[] = [
    {
      name: `LSTM ${IN}→${H} T${T} b${B} f32: training step (BPTT, loss on the final state)`, unit: 'ms', budgetMs: 6000,
      fluxion: () => ({
        run: () => {
          const [g] = gradient((m: typeof lstm) => sum((m(x) as [Tensor, LSTMState])[1].h), lstm) as any[];
          return read(g.cell.weightHh);
        },
      }),
      tfjs: () => {
        const layer = tf.layers.lstm({ units: H, recurrentActivation: 'sigmoid', inputShape: [T, IN] });
        const tx = tf.tensor3d(x.data as Float32Array, [B, T, IN]);
        layer.apply(tx); // builds the weights
        layer.setWeights(tfWeights(lstm.cell));
        const vars = layer.trainableWeights.map((w) => w.read() as TF.Variable);
        return {
          run: () => {
            const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(tx) as TF.Tensor) as TF.Scalar, vars);
            const v = grads[vars[1].name].dataSync()[0];
            value.dispose();
            tf.dispose(Object.values(grads));
            return v;
          },
          dispose: () => { layer.dispose(); tx.dispose(); },
        };
      },
    },
    {
      name: 'LSTMCell 32→32 b1 f32: one step cell(x, state) (TF.js: the step by hand in tf.tidy)', unit: 'ns', batch: 50,
      fluxion: () => ({ run: () => read(small(x1, s1)[0]) }),
      tfjs: () => {
        const [k, rk, b] = tfWeights(small);
        const tx = tf.tensor2d(x1.data as Float32Array, [1, 32]), th = tf.zeros([1, 32]), tc = tf.zeros([1, 32]);
        return {
          run: () => {
            const h = tf.tidy(() => {
              const z = tf.add(tf.add(tf.matMul(tx, k), tf.matMul(th, rk)), b);
              const [i, f, g, o] = tf.split(z, 4, 1);
              const c2 = tf.add(tf.mul(tf.sigmoid(f), tc), tf.mul(tf.sigmoid(i), tf.tanh(g)));
              return tf.mul(tf.sigmoid(o), tf.tanh(c2));
            });
            const v = h.dataSync()[0];
            h.dispose();
            return v;
          },
          dispose: () => tf.dispose([k, rk, b, tx, th, tc]),
        };
      },
    },
    {
      name: 'LSTMCell 32→32 b1 f32: one step forward+backward, gradient over the cell (TF.js: tf.variableGrads of the step by hand)', unit: 'ns', batch: 20,
      fluxion: () => ({
        run: () => {
          const [g] = gradient((c: typeof small) => sum(c(x1, s1)[0]), small) as any[];
          return read(g.weightHh);
        },
      }),
      tfjs: () => {
        const [k0, rk0, b0] = tfWeights(small);
        const k = tf.variable(k0), rk = tf.variable(rk0), b = tf.variable(b0);
        const tx = tf.tensor2d(x1.data as Float32Array, [1, 32]), th = tf.zeros([1, 32]), tc = tf.zeros([1, 32]);
        return {
          run: () => {
            const { value, grads } = tf.variableGrads(() => {
              const z = tf.add(tf.add(tf.matMul(tx, k), tf.matMul(th, rk)), b);
              const [i, f, g, o] = tf.split(z, 4, 1);
              const c2 = tf.add(tf.mul(tf.sigmoid(f), tc), tf.mul(tf.sigmoid(i), tf.tanh(g)));
              return tf.sum(tf.mul(tf.sigmoid(o), tf.tanh(c2))) as TF.Scalar;
            }, [k, rk, b]);
            const v = grads[rk.name].dataSync()[0];
            value.dispose();
            tf.dispose(Object.values(grads));
            return v;
          },
          dispose: () => tf.dispose([k0, rk0, b0, k, rk, b, tx, th, tc]),
        };
      },
    },
  ];
  return runCases(SECTION, cases, filter);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatTable, makeFilter, describeMachine } = await import('./harness.js');
  for (const l of await describeMachine()) console.log(l);
  for (const l of formatTable(await benchRecurrent(makeFilter(process.argv.slice(2))))) console.log(l);
}
