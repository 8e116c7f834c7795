/**
 * The seeds' translation model with alignment: a bidirectional LSTM encoder (one LSTM forward
 * in time, one over flipped time) and a decoder LSTM cell that attends over the encoder's
 * outputs at every step, trained on a synthetic task — dates written in words ("the fourteenth
 * of march nineteen ninety two") to ISO dates ("1992-03-14") — and evaluated by exact match on
 * held-out sentences the training never saw. Prints the loss, the accuracy and a few
 * translations with their attention weights. `FLUXION_EXAMPLE_SCALE=ci` (or `CI=true`) runs
 * small settings; `spec/examples/translation.check.ts` checks what it prints.
 */
import {
  Adam, Dense, Embedding, Tensor, concat, div, fromData, gradient, logSoftmax, mul, oneHot, primal,
  seed, setup, softmax, sum, update, where, unsqueeze, argmax, stack, LSTM, LSTMCell,
  type LSTMState, Bidirectional, flip,
} from 'fluxion';
import { dateSentence, inputWords } from './_data/dates.js';

const ci = process.env.FLUXION_EXAMPLE_SCALE === 'ci' || (process.env.CI === 'true' && process.env.FLUXION_EXAMPLE_SCALE !== 'full');
const S = ci ? { steps: 250, batch: 32, every: 50, heldOut: 300 } : { steps: 1500, batch: 64, every: 250, heldOut: 1000 };

// ---------------------------------------------------------------- data
const words = ['<pad>', ...inputWords];
const wordId = new Map(words.map((w, i) => [w, i]));
const chars = ['<s>', ...'0123456789-'];
const charId = new Map(chars.map((c, i) => [c, i]));
const OUT = 10; // YYYY-MM-DD

let r = 2024;
const uniform = (): number => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const heldOut = new Map<string, string>();
while (heldOut.size < S.heldOut) { const [src, iso] = dateSentence(uniform); heldOut.set(src, iso); }
/** A training batch: sentences not in the held-out set. */
function trainingPairs(n: number): [string, string][] {
  const out: [string, string][] = [];
  while (out.length < n) { const p = dateSentence(uniform); if (!heldOut.has(p[0])) out.push(p); }
  return out;
}

/** Token ids [B, L] (padded), lengths, and target ids [B, 10]. */
function encode(pairs: readonly [string, string][]): { x: Tensor; lengths: number[]; y: Tensor; prev: Tensor } {
  const toks = pairs.map(([s]) => s.split(' ').map((w) => wordId.get(w)!));
  const L = Math.max(...toks.map((t) => t.length));
  const x = new Float64Array(pairs.length * L), y = new Float64Array(pairs.length * OUT), prev = new Float64Array(pairs.length * OUT);
  toks.forEach((t, b) => t.forEach((id, i) => (x[b * L + i] = id)));
  pairs.forEach(([, iso], b) => [...iso].forEach((c, i) => {
    y[b * OUT + i] = charId.get(c)!;
    prev[b * OUT + i] = i === 0 ? 0 : charId.get(iso[i - 1])!; // teacher forcing: the previous true character
  }));
  return { x: fromData(x, [pairs.length, L]), lengths: toks.map((t) => t.length), y: fromData(y, [pairs.length, OUT]), prev: fromData(prev, [pairs.length, OUT]) };
}

// ---------------------------------------------------------------- the model
seed(3);
const E = 32, H = 64, A = 64;
const forward = LSTM(E, H), backward = LSTM(E, H);
const encoder = Bidirectional(forward, backward);     // = concat(forward(x), flip(backward)(x)) along the features
const model = {
  embedIn: Embedding(words.length, E),
  encoder,
  keys: Dense(2 * H, A),
  embedOut: Embedding(chars.length, 16),
  decoder: LSTMCell(16 + 2 * H, H),
  query: Dense(H, A),
  out: Dense(H + 2 * H, chars.length),
};
type Model = typeof model;

{ // the encoder is the two directions side by side, the backward one reading flipped time
  const x = model.embedIn(encode(trainingPairs(2).map(([s, iso]) => [s.split(' ').slice(0, 3).join(' '), iso])).x);
  const byHand = concat([forward(x), flip(backward)(x)], -1);
  console.log(`encoder = concat(forward, flip(backward)): max difference ${Math.max(...sum(mul(encoder(x).sub(byHand), encoder(x).sub(byHand)), -1).data)}`);
}

/** Attention weights [B, L] of the query h over the encoder keys, padding masked out, and the context [B, 2H]. */
function attend(m: Model, h: Tensor, keys: Tensor, enc: Tensor, valid: Tensor): { weights: Tensor; context: Tensor } {
  const scores = sum(mul(keys, unsqueeze(m.query(h), 1)), -1);
  const weights = softmax(where(valid, scores, -1e9), -1);
  return { weights, context: sum(mul(unsqueeze(weights, 2), enc), 1) };
}

/**
 * Logits [B, 10, V] for the target positions. With `prev` (teacher forcing) each step is fed
 * the previous true character; without it, the previous prediction (greedy decoding).
 */
function translate(m: Model, x: Tensor, lengths: number[], prev?: Tensor): { logits: Tensor; weights: Tensor[] } {
  const [B, L] = x.shape;
  const enc = m.encoder(m.embedIn(x), undefined, { lengths }) as Tensor;        // [B, L, 2H]
  const keys = m.keys(enc);
  const valid = fromData(Float64Array.from({ length: B * L }, (_, i) => (i % L < lengths[Math.floor(i / L)] ? 1 : 0)), [B, L]);
  let state: LSTMState | undefined;
  let context = fromData(new Float32Array(B * 2 * H), [B, 2 * H]);
  let input = fromData(new Float64Array(B), [B]); // <s>
  const logits: Tensor[] = [], weights: Tensor[] = [];
  for (let t = 0; t < OUT; t++) {
    if (prev !== undefined) input = prev.slice([null, [t, t + 1]]).reshape([B]);
    const [h, s] = m.decoder(concat([m.embedOut(input), context], -1), state);
    state = s;
    const a = attend(m, h, keys, enc, valid);
    context = a.context;
    weights.push(a.weights);
    const z = m.out(concat([h, context], -1));
    logits.push(z);
    if (prev === undefined) input = argmax(primal(z), -1);
  }
  return { logits: stack(logits, 1), weights };
}

function crossEntropy(logits: Tensor, y: Tensor): Tensor {
  return div(sum(mul(oneHot(y, chars.length, { dtype: 'float32' }), logSoftmax(logits))), -y.size);
}

// ---------------------------------------------------------------- training
const opt = setup(Adam(3e-3), model);
const started = Date.now();
for (let step = 1; step <= S.steps; step++) {
  const { x, lengths, y, prev } = encode(trainingPairs(S.batch));
  let loss = 0;
  const [g] = gradient((m: Model) => {
    const l = crossEntropy(translate(m, x, lengths, prev).logits, y);
    loss = primal(l).item();
    return l;
  }, model);
  update(opt, model, g);
  if (step % S.every === 0 || step === 1) console.log(`step ${String(step).padStart(5)}  loss ${loss.toFixed(4)}`);
}
const trainSeconds = (Date.now() - started) / 1000;

// ---------------------------------------------------------------- evaluation on held-out sentences
const test = [...heldOut.entries()];
let exact = 0;
const decoded: string[] = [];
for (let i = 0; i < test.length; i += 100) {
  const part = test.slice(i, i + 100);
  const { x, lengths } = encode(part);
  const ids = argmax(translate(model, x, lengths).logits, -1).data;
  part.forEach(([, iso], b) => {
    const got = Array.from(ids.subarray(b * OUT, (b + 1) * OUT), (k) => chars[k]).join('');
    decoded.push(got);
    if (got === iso) exact++;
  });
}
console.log(`trained ${S.steps} steps of ${S.batch} sentences in ${trainSeconds.toFixed(1)} s`);
console.log(`held-out exact match: ${exact}/${test.length} = ${(100 * exact / test.length).toFixed(1)}%`);

// a few translations, with the attention weights of every output character over the input words
for (const k of [0, 1, 2]) {
  const [src, iso] = test[k];
  const { x, lengths } = encode([[src, iso]]);
  const { weights } = translate(model, x, lengths);
  const ws = src.split(' ');
  console.log(`\n${src}  →  ${decoded[k]}  (expected ${iso})`);
  console.log(`     ${ws.map((w) => w.slice(0, 6).padStart(7)).join('')}`);
  weights.forEach((w, t) => console.log(`  ${decoded[k][t]}  ${Array.from(w.data.subarray(0, ws.length), (v) => v.toFixed(2).padStart(7)).join('')}`));
}
