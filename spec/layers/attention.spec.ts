/**
 * Attention (src/layers/attention.ts) against loops written here, against TF.js's
 * MultiHeadAttention given the same weights, and by finite differences.
 *
 * TF.js 4.x has a MultiHeadAttention layer in tfjs-layers' sources (layers/nlp) but does not
 * export it, and its ESM files use extensionless imports Node cannot load; so the spec bundles
 * that module (with tfjs-core and the cpu backend, from node_modules) with esbuild, once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Chain, Dense, ShapeError, Tensor, fromData, gradient, seed, sum, tensor } from '../../src/index.js';
import { MultiHeadAttention, attentionWeights, dotProductAttention } from '../../src/layers/attention.js';
import { f64, fmap, tensorEntries } from '../../src/layers/tree.js';
import { checkGradient, checkSecondOrder } from '../_helpers/gradcheck.js';
import { seededValues } from '../_helpers/arbitraries.js';
import { close, randomTensor } from '../_helpers/layers.js';

const esbuild = await import('esbuild');
const built = await esbuild.build({
  stdin: {
    contents: [
      "export * as core from '@tensorflow/tfjs-core';",
      "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';",
      "export * as cpu from '@tensorflow/tfjs-backend-cpu';",
      "export { MultiHeadAttention } from '@tensorflow/tfjs-layers/dist/layers/nlp/multihead_attention';",
    ].join('\n'),
    resolveDir: process.cwd(), loader: 'js',
  },
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'error',
});
const bundlePath = join(mkdtempSync(join(tmpdir(), 'fluxion-tfmha-')), 'tfmha.mjs');
writeFileSync(bundlePath, built.outputFiles[0].text);
const silence = console.log;
console.log = () => {}; // tfjs-core's "install tfjs-node" banner
const tfm = await import(pathToFileURL(bundlePath).href);
console.log = silence;
const tfc = tfm.core;
tfc.enableProdMode();
await tfc.setBackend('cpu');

// ---------------------------------------------------------------- the loop reference

/** y[r, o] = b[o] + Σ x[r, i]·W[o, i] over rows r. */
function denseLoop(x: ArrayLike<number>, rows: number, W: Tensor, b: Tensor | false): Float64Array {
  const [out, inp] = W.shape, y = new Float64Array(rows * out), w = W.data;
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = b === false ? 0 : b.data[o];
      for (let i = 0; i < inp; i++) s += x[r * inp + i] * w[o * inp + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

/**
 * Attention of one head set by loops: q [B, H, Tq, d], k [B, H, Tk, d], v [B, H, Tk, dv] as
 * flat float64 arrays; `allowed(b, h, i, j)`; a row with nothing allowed gives zero weights.
 */
function attentionLoop(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, H: number, tq: number, tk: number, d: number, dv: number,
  allowed: (b: number, h: number, i: number, j: number) => boolean): { y: Float64Array; w: Float64Array } {
  const y = new Float64Array(B * H * tq * dv), w = new Float64Array(B * H * tq * tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < tq; i++) {
        const s = new Float64Array(tk);
        let m = -Infinity;
        for (let j = 0; j < tk; j++) {
          let acc = 0;
          for (let c = 0; c < d; c++) acc += q[(bh * tq + i) * d + c] * k[(bh * tk + j) * d + c];
          s[j] = acc / Math.sqrt(d);
          if (allowed(b, h, i, j)) m = Math.max(m, s[j]);
        }
        let z = 0;
        for (let j = 0; j < tk; j++) z += allowed(b, h, i, j) ? Math.exp(s[j] - m) : 0;
        for (let j = 0; j < tk; j++) {
          const p = z === 0 || !allowed(b, h, i, j) ? 0 : Math.exp(s[j] - m) / z;
          w[(bh * tq + i) * tk + j] = p;
          for (let c = 0; c < dv; c++) y[(bh * tq + i) * dv + c] += p * v[(bh * tk + j) * dv + c];
        }
      }
    }
  }
  return { y, w };
}

/** MultiHeadAttention by loops: projections, heads split from the feature axis, attention, output projection. */
function mhaLoop(mha: MultiHeadAttention, q: Tensor, k: Tensor, v: Tensor, allowed: (b: number, h: number, i: number, j: number) => boolean) {
  const [B, tq, dim] = q.shape, tk = k.shape[1], H = mha.heads, dh = dim / H;
  const Q = denseLoop(q.data, B * tq, mha.qProj.weight, mha.qProj.bias);
  const K = denseLoop(k.data, B * tk, mha.kProj.weight, mha.kProj.bias);
  const V = denseLoop(v.data, B * tk, mha.vProj.weight, mha.vProj.bias);
  const heads = (X: Float64Array, t: number): Float64Array => {
    const out = new Float64Array(X.length);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < t; i++) for (let c = 0; c < dh; c++) {
      out[((b * H + h) * t + i) * dh + c] = X[(b * t + i) * dim + h * dh + c];
    }
    return out;
  };
  const { y: O, w } = attentionLoop(heads(Q, tq), heads(K, tk), heads(V, tk), B, H, tq, tk, dh, dh, allowed);
  const merged = new Float64Array(B * tq * dim);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < tq; i++) for (let c = 0; c < dh; c++) {
    merged[(b * tq + i) * dim + h * dh + c] = O[((b * H + h) * tq + i) * dh + c];
  }
  return { y: denseLoop(merged, B * tq, mha.outProj.weight, mha.outProj.bias), w };
}

/** Give every projection bias random values (they start at zero, which would hide bias errors). */
function randomiseBiases(mha: MultiHeadAttention, s: number): void {
  [mha.qProj, mha.kProj, mha.vProj, mha.outProj].forEach((d, i) => (d.bias as Tensor).assign(randomTensor([d.weight.shape[0]], s + 100 + i, d.weight.dtype)));
}

const always = () => true;

// ---------------------------------------------------------------- values

test('dotProductAttention: values and weights against loops, with masks and causal, for random shapes', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1e6 }),
    (B, H, tq, tk, d, dv, useMask, causal, s) => {
      const q = randomTensor([B, H, tq, d], s, 'float64'), k = randomTensor([B, H, tk, d], s + 1, 'float64'), v = randomTensor([B, H, tk, dv], s + 2, 'float64');
      // mask [B, 1, Tq, Tk]: broadcast over heads
      const maskValues = Float64Array.from(seededValues(B * tq * tk, s + 3), (u) => (u > -0.3 ? 1 : 0));
      const mask = fromData(maskValues, [B, 1, tq, tk]);
      const allowed = (b: number, _h: number, i: number, j: number): boolean =>
        (!useMask || maskValues[(b * tq + i) * tk + j] === 1) && (!causal || j <= i);
      const ref = attentionLoop(q.data, k.data, v.data, B, H, tq, tk, d, dv, allowed);
      const opts = { mask: useMask ? mask : undefined, causal };
      const y = dotProductAttention(q, k, v, opts);
      assert.equal(y.shape, [B, H, tq, dv]);
      close(y, ref.y, 1e-12, 'output');
      close(attentionWeights(q, k, opts), ref.w, 1e-12, 'weights');
    }), { numRuns: 60 });
});

test('MultiHeadAttention: values against loops (self-attention, cross-attention with kdim/vdim, unbatched)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 }),
    (B, tq, tk, H, dh, s) => {
      seed(s);
      const dim = H * dh;
      const self = MultiHeadAttention(dim, { heads: H });
      randomiseBiases(self, s);
      const x = randomTensor([B, tq, dim], s + 1);
      close(self(x), mhaLoop(self, x, x, x, always).y, 1e-5, 'self-attention');
      const cross = MultiHeadAttention(dim, { heads: H, kdim: 3, vdim: 2 });
      randomiseBiases(cross, s + 7);
      const k = randomTensor([B, tk, 3], s + 2), v = randomTensor([B, tk, 2], s + 3);
      const y = cross(x, k, v);
      assert.equal(y.shape, [B, tq, dim]);
      close(y, mhaLoop(cross, x, k, v, always).y, 1e-5, 'cross-attention');
      const one = cross(x.index(0), k.index(0), v.index(0));
      assert.equal(one.shape, [tq, dim]);
      close(one, y.index(0).data, 1e-6, 'an unbatched query gives the first batch element');
    }), { numRuns: 40 });
});

test('MultiHeadAttention: outputs and weights against TF.js MultiHeadAttention given the same weights (plain, masked, causal)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }), fc.constantFrom('none', 'mask', 'causal'), fc.integer({ min: 0, max: 1e6 }),
    (B, tq, tkIn, H, dh, kind, s) => {
      seed(s);
      const dim = H * dh, tk = kind === 'causal' ? tq : tkIn;
      const mha = MultiHeadAttention(dim, { heads: H });
      randomiseBiases(mha, s);
      const q = randomTensor([B, tq, dim], s + 1), kv = randomTensor([B, tk, dim], s + 2);
      // a random 0/1 mask [B, Tq, Tk] with key 0 always allowed (TF.js gives a fully masked row uniform weights)
      const m = Float32Array.from(seededValues(B * tq * tk, s + 3), (u, i) => (i % tk === 0 || u > 0 ? 1 : 0));
      const opts = kind === 'mask' ? { mask: fromData(m, [B, 1, tq, tk]) } : kind === 'causal' ? { causal: true } : {};
      const [y, w] = mha.withWeights(q, kv, kv, opts);

      const layerTf = new tfm.MultiHeadAttention({ numHeads: H, keyDim: dh });
      const qt = tfc.tensor3d(q.data, [B, tq, dim]), kt = tfc.tensor3d(kv.data, [B, tk, dim]);
      const call = () => layerTf.callAndReturnAttentionScores(qt, {
        value: kt, key: kt, useCausalMask: kind === 'causal', attentionMask: kind === 'mask' ? tfc.tensor3d(m, [B, tq, tk]) : undefined,
      });
      call(); // builds the sub-layers
      // ours: W [out, in] with out = h·dh + c; TF.js: kernel [in, heads, dh], bias [heads, dh]; output kernel [heads, dh, out]
      const inKernel = (d: Dense) => [tfc.tensor2d(d.weight.data, d.weight.shape).transpose().reshape([d.weight.shape[1], H, dh]), tfc.tensor1d((d.bias as Tensor).data).reshape([H, dh])];
      layerTf.queryDense.setWeights(inKernel(mha.qProj));
      layerTf.keyDense.setWeights(inKernel(mha.kProj));
      layerTf.valueDense.setWeights(inKernel(mha.vProj));
      layerTf.outputDense.setWeights([tfc.tensor2d(mha.outProj.weight.data, [dim, dim]).transpose().reshape([H, dh, dim]), tfc.tensor1d((mha.outProj.bias as Tensor).data)]);
      const [yTf, wTf] = call();
      close(y, yTf.dataSync(), 2e-5, `output (${kind})`);
      close(w, wTf.dataSync(), 2e-5, `weights (${kind})`);
    }), { numRuns: 30 });
});

// ---------------------------------------------------------------- masks

test('causal: an output never depends on later positions; weights are lower-triangular', () => {
  seed(3);
  const mha = MultiHeadAttention(4, { heads: 2, causal: true });
  const x = randomTensor([2, 5, 4], 1);
  const y = mha(x);
  const changed = x.data.slice();
  for (let b = 0; b < 2; b++) for (let c = 0; c < 4; c++) changed[(b * 5 + 4) * 4 + c] += 10; // the last position
  const y2 = mha(fromData(changed, [2, 5, 4]));
  for (let b = 0; b < 2; b++) {
    for (let t = 0; t < 4; t++) for (let c = 0; c < 4; c++) assert.is(y2.data[(b * 5 + t) * 4 + c], y.data[(b * 5 + t) * 4 + c], `position ${t} unchanged`);
    assert.ok(Math.abs(y2.data[(b * 5 + 4) * 4] - y.data[(b * 5 + 4) * 4]) > 1e-6, 'the last position changes');
  }
  const [, w] = mha.withWeights(x);
  assert.equal(w.shape, [2, 2, 5, 5]);
  for (let r = 0; r < 4; r++) for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) assert.is(w.data[(r * 5 + i) * 5 + j], 0);
  // a per-call override
  close(mha(x, { causal: false }), MultiHeadAttention.prototype.forward.call(Object.assign(Object.create(mha), { causal: false }), x).data, 0, 'causal: false per call');
});

test('key padding: padded keys get zero weight and do not affect the output; keyMask equals mask [B, 1, 1, Tk]', () => {
  seed(4);
  const mha = MultiHeadAttention(6, { heads: 3 });
  randomiseBiases(mha, 4);
  const q = randomTensor([2, 3, 6], 1), kv = randomTensor([2, 4, 6], 2);
  const keyMask = tensor([[1, 1, 1, 0], [1, 1, 0, 0]], { dtype: 'float32' });
  const [y, w] = mha.withWeights(q, kv, kv, { keyMask });
  const lengths = [3, 2];
  for (let b = 0; b < 2; b++) for (let h = 0; h < 3; h++) for (let i = 0; i < 3; i++) {
    for (let j = lengths[b]; j < 4; j++) assert.is(w.data[(((b * 3 + h) * 3 + i) * 4) + j], 0, 'padding gets no weight');
  }
  const ref = mhaLoop(mha, q, kv, kv, (b, _h, _i, j) => j < lengths[b]);
  close(y, ref.y, 1e-5, 'against loops');
  close(w, ref.w, 1e-5, 'weights against loops');
  close(mha(q, kv, kv, { mask: keyMask.reshape([2, 1, 1, 4]) }), y.data, 0, 'the same as mask [B, 1, 1, Tk]');
  const junk = kv.data.slice();
  junk[(0 * 4 + 3) * 6] = 1e3; junk[(1 * 4 + 2) * 6 + 1] = -1e3;
  close(mha(q, fromData(junk, [2, 4, 6]), fromData(junk, [2, 4, 6]), { keyMask }), y.data, 1e-6, 'padded values are ignored');
});

test('a fully masked row gives zero weights and a zero attention output, not NaN, and finite gradients', () => {
  const q = randomTensor([1, 2, 3], 1, 'float64'), k = randomTensor([1, 4, 3], 2, 'float64'), v = randomTensor([1, 4, 2], 3, 'float64');
  const mask = tensor([[[1, 0, 1, 0], [0, 0, 0, 0]]]);
  const w = attentionWeights(q, k, { mask });
  for (let j = 0; j < 4; j++) assert.is(w.data[4 + j], 0);
  const y = dotProductAttention(q, k, v, { mask });
  assert.equal(Array.from(y.data.subarray(2)), [0, 0]);
  const [gq, gk, gv] = gradient((a: Tensor, b: Tensor, c: Tensor) => sum(dotProductAttention(a, b, c, { mask })), q, k, v) as Tensor[];
  for (const g of [gq, gk, gv]) assert.ok(g.data.every(Number.isFinite), 'finite gradient');
  // the layer: the output of a fully masked row is the output projection's bias
  seed(5);
  const mha = MultiHeadAttention(4, { heads: 2 });
  randomiseBiases(mha, 5);
  const out = mha(randomTensor([1, 2, 4], 6), { mask: tensor([[1, 1], [0, 0]], { dtype: 'float32' }) });
  close(out.data.subarray(4), (mha.outProj.bias as Tensor).data, 1e-7, 'the bias alone');
});

// ---------------------------------------------------------------- gradients

/** f(q, k, v, ...params) for the layer in float64 with its parameters replaced by arguments. */
function asFunction(layerIn: MultiHeadAttention, opts: object) {
  const model = f64(layerIn);
  const params = tensorEntries(model).filter((e) => e.trainable).map((e) => e.tensor);
  const f = (q: Tensor, k: Tensor, v: Tensor, ...ps: Tensor[]): Tensor => {
    const subst = new Map(params.map((p, i) => [p, ps[i]]));
    return fmap((t) => subst.get(t) ?? t, model)(q, k, v, opts);
  };
  return { f, params };
}

test('gradients of inputs and all eight weights by finite differences (first and second order), with masks and causal', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.constantFrom('none', 'mask', 'causal'), fc.integer({ min: 0, max: 1e6 }),
    (B, t, H, kind, s) => {
      seed(s);
      const mha = MultiHeadAttention(2 * H, { heads: H, kdim: 3, vdim: 2 });
      randomiseBiases(mha, s);
      const opts = kind === 'mask' ? { mask: fromData(Float64Array.from({ length: t * (t + 1) }, (_, i) => (i % 3 === 1 ? 0 : 1)), [t, t + 1]) } : kind === 'causal' ? { causal: true } : {};
      const { f, params } = asFunction(mha, opts);
      assert.is(params.length, 8);
      const args = [randomTensor([B, t, 2 * H], s + 1, 'float64'), randomTensor([B, t + 1, 3], s + 2, 'float64'), randomTensor([B, t + 1, 2], s + 3, 'float64'), ...params];
      checkGradient(f, args, { seed: s, label: `MultiHeadAttention (${kind})` });
      if (s % 4 === 0) checkSecondOrder(f, args, { seed: s, label: `MultiHeadAttention (${kind})` });
    }), { numRuns: 12 });
});

test('dotProductAttention: gradients of q, k, v by finite differences (first and second order)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }), (tq, tk, causal, s) => {
    const mask = fromData(Float64Array.from({ length: tq * tk }, (_, i) => (i % tk === 0 || i % 2 === 0 ? 1 : 0)), [tq, tk]);
    const f = (q: Tensor, k: Tensor, v: Tensor) => dotProductAttention(q, k, v, { mask, causal });
    const args = [randomTensor([2, tq, 3], s, 'float64'), randomTensor([2, tk, 3], s + 1, 'float64'), randomTensor([2, tk, 2], s + 2, 'float64')];
    checkGradient(f, args, { seed: s, label: 'dotProductAttention' });
    checkSecondOrder(f, args, { seed: s, label: 'dotProductAttention' });
  }), { numRuns: 15 });
});

test('in a Chain and under gradient: the gradient is shaped like the model', () => {
  seed(9);
  const model = Chain(MultiHeadAttention(4, { heads: 2 }), Dense(4, 1));
  const x = randomTensor([3, 5, 4], 2);
  const [g] = gradient((m: typeof model) => sum(m(x)), model) as any[];
  assert.equal(g.layers[0].qProj.weight.shape, [4, 4]);
  assert.equal(g.layers[0].outProj.bias.shape, [4]);
  assert.ok(g.layers[0].vProj.weight.data.some((u: number) => u !== 0));
});

// ---------------------------------------------------------------- dropout

test('dropout: off outside a gradient, on inside one (or when active), reproducible with seed, kept weights scaled by 1/(1 − p)', () => {
  seed(1);
  const mha = MultiHeadAttention(4, { heads: 2, dropout: 0.5 });
  const x = randomTensor([2, 6, 4], 3);
  const plain = mha(x);
  const ref = MultiHeadAttention(4, { heads: 2 });
  Object.assign(ref, { qProj: mha.qProj, kProj: mha.kProj, vProj: mha.vProj, outProj: mha.outProj });
  close(plain, ref(x).data, 0, 'no dropout outside a gradient');
  const [, w0] = mha.withWeights(x);
  mha.active = true;
  seed(7);
  const [, w1] = mha.withWeights(x);
  seed(7);
  const [, w2] = mha.withWeights(x);
  close(w1, w2.data, 0, 'seed reproduces the dropout mask');
  let dropped = 0;
  for (let i = 0; i < w1.size; i++) {
    if (w1.data[i] === 0) dropped++;
    else assert.ok(Math.abs(w1.data[i] - 2 * w0.data[i]) <= 1e-6 * w0.data[i], 'kept weights doubled');
  }
  assert.ok(dropped > 0.3 * w1.size && dropped < 0.7 * w1.size, `about half dropped (${dropped} of ${w1.size})`);
  mha.active = false;
  seed(7);
  const [g] = gradient((m: MultiHeadAttention) => sum(m(x)), mha) as any[];
  mha.active = undefined;
  seed(7);
  const [gAuto] = gradient((m: MultiHeadAttention) => sum(m(x)), mha) as any[];
  assert.ok(g.vProj.weight.data.some((u: number, i: number) => Math.abs(u - gAuto.vProj.weight.data[i]) > 1e-6), 'dropout is automatic inside a gradient');
});

// ---------------------------------------------------------------- printing and errors

test('printing: a one-line label with the parameter count', () => {
  const count = (dim: number, k: number, v: number) => 2 * (dim * dim + dim) + (dim * k + dim) + (dim * v + dim);
  assert.is(String(MultiHeadAttention(64)), `MultiHeadAttention(64; heads=8)  # ${count(64, 64, 64).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '_')} parameters`);
  assert.is(String(MultiHeadAttention(6, { heads: 2, kdim: 3, vdim: 5, dropout: 0.1, causal: true })),
    `MultiHeadAttention(6; heads=2, kdim=3, vdim=5, dropout=0.1, causal=true)  # ${count(6, 3, 5)} parameters`);
  assert.is(String(MultiHeadAttention(4, { heads: 1, bias: false })), `MultiHeadAttention(4; heads=1, bias=false)  # ${4 * 16} parameters`);
});

test('error texts', () => {
  const thrown = (f: () => unknown): Error => {
    try { f(); } catch (e) { return e as Error; }
    throw new Error('expected an error');
  };
  const is = (f: () => unknown, type: Function, msg: string) => {
    const e = thrown(f);
    assert.instance(e, type);
    assert.is(e.message, msg);
  };
  is(() => MultiHeadAttention(10, { heads: 3 }), RangeError, 'MultiHeadAttention: dim 10 is not divisible by heads 3');
  is(() => MultiHeadAttention(0), TypeError, 'MultiHeadAttention: dim must be a positive integer, got number 0');
  is(() => MultiHeadAttention(8, { dropout: 1 }), RangeError, 'MultiHeadAttention: dropout must be a probability in [0, 1), got number 1');
  const mha = MultiHeadAttention(8, { heads: 2, kdim: 3 });
  is(() => mha(zerosOf([2, 5, 7])), ShapeError, 'MultiHeadAttention(8; heads=2, kdim=3) expects query [B, Tq, 8] (or [Tq, 8]), got query of shape [2, 5, 7]');
  is(() => mha(zerosOf([2, 5, 8]), zerosOf([2, 4, 8])), ShapeError, 'MultiHeadAttention(8; heads=2, kdim=3) expects key [B, Tk, 3], got key of shape [2, 4, 8] with query [2, 5, 8]');
  is(() => mha(zerosOf([2, 5, 8]), zerosOf([2, 4, 3])), ShapeError, 'MultiHeadAttention(8; heads=2, kdim=3) expects value [B, Tk, 8], got value of shape [2, 4, 3] with query [2, 5, 8]');
  is(() => mha(zerosOf([2, 5, 8]), zerosOf([3, 4, 3]), zerosOf([3, 4, 8])), ShapeError,
    'MultiHeadAttention(8; heads=2, kdim=3) expects query, key and value with one batch size and key and value of one length, got query [2, 5, 8], key [3, 4, 3], value [3, 4, 8]');
  is(() => mha(zerosOf([2, 5, 8]), zerosOf([2, 4, 3]), zerosOf([2, 4, 8]), { mask: zerosOf([5, 3]) }), ShapeError,
    'MultiHeadAttention(8; heads=2, kdim=3): the mask of shape [5, 3] does not broadcast to [B, heads, Tq, Tk] = [2, 2, 5, 4]');
  is(() => mha(zerosOf([2, 5, 8]), zerosOf([2, 4, 3]), zerosOf([2, 4, 8]), { mask: zerosOf([2, 5, 4]) }), ShapeError,
    'MultiHeadAttention(8; heads=2, kdim=3): a 3-d mask is ambiguous; give [Tq, Tk], [B, 1, Tq, Tk] or [B, heads, Tq, Tk], got mask of shape [2, 5, 4]');
  is(() => mha(zerosOf([2, 5, 8]), zerosOf([2, 4, 3]), zerosOf([2, 4, 8]), { keyMask: zerosOf([2, 5]) }), ShapeError,
    'MultiHeadAttention(8; heads=2, kdim=3) expects keyMask [B, Tk] = [2, 4], got keyMask of shape [2, 5]');
  is(() => Chain(Dense(8, 8), mha)(zerosOf([2, 5, 4])), ShapeError, 'Chain[0] → Dense(8 => 8) expects 8 input features, got input of shape [2, 5, 4]');
  is(() => Chain(Dense(4, 7), mha)(zerosOf([2, 5, 4])), ShapeError,
    'Chain[1] → MultiHeadAttention(8; heads=2, kdim=3) expects query [B, Tq, 8] (or [Tq, 8]), got query of shape [2, 5, 7]');
  is(() => dotProductAttention(zerosOf([2, 3]), zerosOf([4, 2]), zerosOf([5, 2])), ShapeError,
    "dotProductAttention: q [..., Tq, d] and k [..., Tk, d] need the same d, and v [..., Tk, dv] the keys' length; got q [2, 3], k [4, 2], v [5, 2]");
  is(() => dotProductAttention(zerosOf([3]), zerosOf([4, 3]), zerosOf([4, 2])), ShapeError,
    'dotProductAttention: expects q [..., Tq, d], k [..., Tk, d] and v [..., Tk, dv], got [3], [4, 3], [4, 2]');
  is(() => dotProductAttention(zerosOf([2, 3]), zerosOf([4, 3]), zerosOf([4, 2]), { mask: zerosOf([3, 4]) }), ShapeError,
    'dotProductAttention: the mask of shape [3, 4] does not broadcast to the scores [..., Tq, Tk] = [2, 4]');
  is(() => dotProductAttention(zerosOf([2, 3]), zerosOf([4, 3]), zerosOf([4, 2]), { dropout: -0.5 }), RangeError,
    'dotProductAttention: dropout must be a probability in [0, 1), got number -0.5');
});

function zerosOf(shape: number[]): Tensor {
  return fromData(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
}

test.run();
