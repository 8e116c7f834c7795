/**
 * A character-level LSTM language model (Karpathy's char-rnn) trained on the prose of the READMEs
 * that installed packages ship (gpu.js, fast-check, sucrase, ndarray, TF.js: direct dependencies, so
 * nothing is downloaded), with
 * truncated backpropagation through time: B parallel streams of text, chunks of T characters,
 * the final state of one chunk carried into the next with `stopGradient`. Prints the loss
 * falling and text sampled at a temperature. `FLUXION_EXAMPLE_SCALE=ci` (or `CI=true`) runs
 * small settings; `spec/examples/char-rnn.check.ts` checks what it prints.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Adam, Chain, Dense, Embedding, Tensor, fromData, gradient, logSoftmax, mul, oneHot, seed, setup,
  softmax, stopGradient, sum, update, div, primal, Layer, layer, nonTrainable, glorotUniform,
  zeros, tanh, add, matmul, LSTM, type LSTMState, reset, stateful, unroll,
} from 'fluxion';
import { prose } from './_data/prose.js';

const ci = process.env.FLUXION_EXAMPLE_SCALE === 'ci' || (process.env.CI === 'true' && process.env.FLUXION_EXAMPLE_SCALE !== 'full');
const S = ci
  ? { hidden: 64, embed: 16, batch: 8, chunk: 24, steps: 300, every: 50, sample: 120 }
  : { hidden: 192, embed: 32, batch: 16, chunk: 48, steps: 1500, every: 100, sample: 400 };

// ---------------------------------------------------------------- the text
const require = createRequire(import.meta.url);
/** Packages this project depends on directly, so their READMEs are installed wherever it is. */
export const sources = ['gpu.js', 'fast-check', 'sucrase', 'ndarray', '@tensorflow/tfjs'];
const readme = sources.map((p) => readFileSync(join(dirname(require.resolve(`${p}/package.json`)), 'README.md'), 'utf8')).join('\n');
const text = prose(readme);
const vocab = [...new Set(text)].sort();
const V = vocab.length;
const code = new Map(vocab.map((c, i) => [c, i]));
const ids = Float64Array.from(text, (c) => code.get(c)!);
console.log(`text: ${text.length} characters from the READMEs of ${sources.join(', ')}; ${V} distinct`);

// ---------------------------------------------------------------- the model
seed(1);
const embed = Embedding(V, S.embed);
const lstm = LSTM(S.embed, S.hidden, { returnState: true });
const head = Dense(S.hidden, V);
const model = Chain({ embed, lstm, head });
console.log(model);

/** Mean cross-entropy (nats per character) of logits [B, T, V] against integer targets [B, T]. */
function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return div(sum(mul(oneHot(targets, V, { dtype: 'float32' }), logSoftmax(logits))), -targets.size);
}

// B streams, each reading its own stretch of the text; a chunk is the next T characters of each
const streamLength = Math.floor((text.length - 1) / S.batch);
function chunkAt(step: number): { x: Tensor; y: Tensor } {
  const offset = (step * S.chunk) % (streamLength - S.chunk - 1);
  const x = new Float64Array(S.batch * S.chunk), y = new Float64Array(S.batch * S.chunk);
  for (let b = 0; b < S.batch; b++) {
    for (let t = 0; t < S.chunk; t++) {
      x[b * S.chunk + t] = ids[b * streamLength + offset + t];
      y[b * S.chunk + t] = ids[b * streamLength + offset + t + 1];
    }
  }
  return { x: fromData(x, [S.batch, S.chunk]), y: fromData(y, [S.batch, S.chunk]) };
}

// ---------------------------------------------------------------- training: truncated BPTT
const opt = setup(Adam(3e-3), model);
let carried: LSTMState | undefined;
let smooth = Math.log(V);
let lossValue = 0;
const started = Date.now();
for (let step = 0; step <= S.steps; step++) {
  const { x, y } = chunkAt(step);
  if (step * S.chunk % (streamLength - S.chunk - 1) < S.chunk) carried = undefined; // the streams wrapped around: start afresh
  let last: LSTMState | undefined;
  const [g] = gradient((m: typeof model) => {
    const [h, s] = m.layers.lstm(m.layers.embed(x), carried === undefined ? undefined : stopGradient(carried));
    last = s;
    const loss = crossEntropy(m.layers.head(h), y);
    lossValue = primal(loss).item();
    return loss;
  }, model);
  carried = last; // untraced when the gradient returned; stopGradient above makes the cut explicit
  update(opt, model, g);
  smooth = step === 0 ? lossValue : 0.9 * smooth + 0.1 * lossValue;
  if (step % S.every === 0) console.log(`step ${String(step).padStart(5)}  loss ${lossValue.toFixed(4)}  (smoothed ${smooth.toFixed(4)})`);
}
console.log(`trained ${S.steps} steps of ${S.batch}×${S.chunk} characters in ${((Date.now() - started) / 1000).toFixed(1)} s`);

// ---------------------------------------------------------------- sampling at a temperature
/** Draw from softmax(logits / temperature) with a seeded generator. */
function sample(logits: Tensor, temperature: number, u: number): number {
  const p = softmax(div(logits, temperature)).data;
  let acc = 0;
  for (let i = 0; i < p.length; i++) { acc += p[i]; if (u < acc) return i; }
  return p.length - 1;
}
let u = 12345;
const uniform = (): number => ((u = (Math.imul(u, 1103515245) + 12345) >>> 0) / 2 ** 32);
const sampler = Chain(embed, stateful(lstm), head);   // keeps the LSTM's state between calls
for (const temperature of [0.5, 1]) {
  reset(sampler);
  let c = code.get('t')!;
  let out = 't';
  for (let i = 0; i < S.sample; i++) {
    c = sample(sampler(fromData(Float64Array.of(c), [1, 1])).reshape([V]), temperature, uniform());
    out += vocab[c];
  }
  console.log(`sample at temperature ${temperature}:\n${out}\n`);
}

// ---------------------------------------------------------------- the seeds' style: state in a field
const Recurrent = layer(class Recurrent extends Layer<[Tensor], Tensor> {
  static [nonTrainable]: string[] = ['hidden']; // state, not a parameter
  Wx = glorotUniform([16, 8]); Wh = glorotUniform([16, 16]); b = zeros([16]); hidden = zeros([16]);
  forward(x: Tensor) { return (this.hidden = tanh(add(add(matmul(this.Wx, x), matmul(this.Wh, this.hidden)), this.b))); }
});
const m = unroll(Recurrent(), 10);              // reset(m) between sequences
const xs = Array.from({ length: 10 }, (_, t) => fromData(Float32Array.from({ length: 8 }, (_, k) => Math.sin(t + k)), [8]));
const [gm] = gradient((mm: typeof m) => { reset(mm); return sum(mm(xs)[9]); }, m);
console.log(`unroll(Recurrent(), 10): ${m(xs).length} outputs of shape [${m(xs)[0].shape}]; gradient of the last through time: Wh ${gm.model.layer.Wh.shape.join('×')}, hidden ${gm.model.layer.hidden}`);
