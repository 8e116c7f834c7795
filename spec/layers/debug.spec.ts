/**
 * Shape debugging (src/layers/debug.ts): every primitive's shape rule against its CPU kernel,
 * outputSize against running the model on random data over random MLPs and CNNs, and the
 * exact texts of summary and shapes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Chain, Dense, Embedding, Flatten, ShapeError, Tensor, add, fromData, layer, matmul, relu, seed, softmax, sum, tensor,
} from '../../src/index.js';
import { Conv, ConvTranspose, MaxPool, MeanPool } from '../../src/layers/conv.js';
import { isShapeOnly, outputSize, shapeKernels, shapes, summary } from '../../src/layers/debug.js';
import { cpuKernels } from '../../src/backend/cpu/index.js';
import type { Primitive, PrimitiveParams } from '../../src/ops/primitive.js';
import { UNARY, BINARY, COMPARE, REDUCE } from '../../src/ops/primitive.js';
import { seededValues } from '../_helpers/arbitraries.js';

const randomTensor = (shape: number[], s: number, dtype: 'float32' | 'float64' = 'float32'): Tensor =>
  fromData(seededValues(shape.reduce((a, b) => a * b, 1), s, dtype), shape);

/** The shape rule and the CPU kernel of `prim` agree on shape and dtype, and the rule's output has no values. */
function agree<P extends Primitive>(prim: P, inputs: Tensor[], params: PrimitiveParams[P]): void {
  const real = (cpuKernels[prim] as (i: Tensor[], p: unknown) => Tensor)(inputs, params);
  const rule = (shapeKernels[prim] as (i: Tensor[], p: unknown) => Tensor)(inputs, params);
  assert.equal(rule.shape, real.shape, `${prim}: shape`);
  assert.is(rule.dtype, real.dtype, `${prim}: dtype`);
  assert.ok(isShapeOnly(rule), `${prim}: shape-only`);
}

const dims = (n: number) => fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: n });
const dtypeArb = fc.constantFrom('float32' as const, 'float64' as const);

test('shape rules: elementwise, comparisons, where and cast (with broadcasting and mixed dtypes) agree with the CPU kernels', () => {
  fc.assert(fc.property(dims(4), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), dtypeArb, dtypeArb, fc.integer({ min: 0, max: 1e6 }), (shape, ones, da, db, s) => {
    const other = shape.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(1, shape.length));
    const a = randomTensor(shape, s, da), b = randomTensor(other, s + 1, db);
    for (const op of UNARY) agree(op, [a], {} as never);
    for (const op of [...BINARY, ...COMPARE]) { agree(op, [a, b], {} as never); agree(op, [b, a], {} as never); }
    agree('where', [b, a, b], {} as never);
    agree('cast', [a], { dtype: db });
  }), { numRuns: 40 });
});

test('shape rules: reductions, arg-reductions and matmul agree with the CPU kernels', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }), dtypeArb, (shape, keepDims, s, dt) => {
    const x = randomTensor(shape, s, dt);
    const axes = shape.map((_, i) => i).filter((i) => (s >> i) & 1);
    for (const op of REDUCE) agree(op, [x], { axes, keepDims });
    agree('argmax', [x], { axis: null, keepDims });
    agree('argmin', [x], { axis: s % shape.length, keepDims });
    const m = 1 + (s % 3), k = 1 + ((s >> 2) % 3), n = 1 + ((s >> 4) % 3);
    const batchA = shape.slice(0, s % 3), batchB = batchA.map((d, i) => (i % 2 ? 1 : d)).slice(s % 2);
    agree('matmul', [randomTensor([...batchA, m, k], s, dt), randomTensor([...batchB, k, n], s + 1)], {} as never);
  }), { numRuns: 40 });
});

test('shape rules: reshape, permute, broadcastTo, slice, concat, pad, gather, scatterAdd agree with the CPU kernels', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 1e6 }), (shape, s) => {
    const x = randomTensor(shape, s);
    const size = x.size;
    agree('reshape', [x], { shape: [size] });
    const perm = shape.map((_, i) => i).sort((a, b) => ((a * 7 + s) % 5) - ((b * 7 + s) % 5));
    agree('permute', [x], { perm });
    agree('broadcastTo', [x], { shape: [2, ...shape] });
    const start = shape.map((d) => s % d), step = shape.map((_, i) => 1 + ((s >> i) % 2));
    agree('slice', [x], { start, step, size: shape.map((d, i) => Math.ceil((d - start[i]) / step[i])) });
    const axis = s % shape.length;
    const y = randomTensor(shape.map((d, i) => (i === axis ? d + 2 : d)), s + 1);
    agree('concat', [x, y], { axis });
    agree('pad', [x], { pads: shape.map((_, i) => [i % 2, (s >> i) % 3] as [number, number]), value: 0 });
    const idx = fromData(Float64Array.from({ length: 3 }, (_, i) => (s + i) % shape[axis]), [3, 1]);
    agree('gather', [x, idx], { axis });
    const src = randomTensor([...shape.slice(0, axis), 3, 1, ...shape.slice(axis + 1)], s + 2);
    agree('scatterAdd', [src, idx], { axis, size: shape[axis] });
  }), { numRuns: 40 });
});

test('shape rules: conv2d, its two backward primitives and the four pooling primitives agree with the CPU kernels', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 5, max: 8 }), fc.integer({ min: 5, max: 8 }),
    fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 1e6 }),
    (n, groups, cg, h, w, k, stride, padding, dilation, s) => {
      const c = cg * groups, o = groups * (1 + (s % 2));
      const p = { stride: [stride, stride] as [number, number], padding: [padding, padding] as [number, number], dilation: [dilation, dilation] as [number, number], groups };
      const x = randomTensor([n, c, h, w], s), wt = randomTensor([o, cg, k, k], s + 1);
      agree('conv2d', [x, wt], p);
      const y = cpuKernels.conv2d([x, wt], p);
      const dy = randomTensor(y.shape.slice(), s + 2);
      agree('conv2dBackwardInput', [dy, wt], { ...p, xShape: x.shape.slice() });
      agree('conv2dBackwardFilter', [x, dy], { ...p, wShape: wt.shape.slice() });
      const pool = { kernel: [k, k] as [number, number], stride: [stride, stride] as [number, number], padding: [Math.min(padding, k >> 1), Math.min(padding, k >> 1)] as [number, number], dilation: [1, 1] as [number, number] };
      agree('maxPool2d', [x], pool);
      agree('avgPool2d', [x], pool);
      const py = cpuKernels.maxPool2d([x], pool);
      agree('maxPool2dBackward', [x, randomTensor(py.shape.slice(), s + 3)], pool);
      agree('maxPool2dGather', [x, randomTensor(x.shape.slice(), s + 4)], pool);
      agree('avgPool2dBackward', [randomTensor(py.shape.slice(), s + 5)], { ...pool, xShape: x.shape.slice() });
    }), { numRuns: 40 });
});

// ---------------------------------------------------------------- outputSize against real runs

type Spec = { kind: 'dense'; out: number } | { kind: 'relu' } | { kind: 'softmax' };

test('outputSize equals the shape of running the model on random data, over random MLPs', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    fc.integer({ min: 0, max: 1e6 }), (inp, outs, time, s) => {
      seed(s);
      const layers: unknown[] = [];
      let n = inp;
      outs.forEach((o, i) => { layers.push(Dense(n, o, i % 2 ? relu : undefined)); n = o; if (s % 3 === i) layers.push(softmax); });
      const model = Chain(...layers);
      const shape = time === undefined ? [1 + (s % 4), inp] : [1 + (s % 4), time, inp];
      assert.equal(outputSize(model, shape), model(randomTensor(shape, s)).shape);
    }), { numRuns: 60 });
});

test('outputSize equals the shape of running the model on random data, over random CNNs (Conv, MaxPool, MeanPool, ConvTranspose, Flatten, Dense)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 6, max: 12 }), fc.integer({ min: 6, max: 12 }),
    fc.array(fc.record({ k: fc.integer({ min: 1, max: 3 }), out: fc.integer({ min: 1, max: 4 }), stride: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 1 }), pool: fc.constantFrom('max', 'mean', 'none', 'transpose') }), { minLength: 1, maxLength: 3 }),
    fc.integer({ min: 0, max: 1e6 }), (cin, h, w, blocks, s) => {
      seed(s);
      const layers: unknown[] = [];
      let c = cin, hh = h, ww = w;
      for (const b of blocks) {
        layers.push(Conv([b.k, b.k], c, b.out, relu, { stride: b.stride, padding: b.pad }));
        c = b.out;
        hh = Math.floor((hh + 2 * b.pad - b.k) / b.stride) + 1; ww = Math.floor((ww + 2 * b.pad - b.k) / b.stride) + 1;
        if (b.pool === 'max' && hh >= 2 && ww >= 2) { layers.push(MaxPool([2, 2])); hh >>= 1; ww >>= 1; }
        if (b.pool === 'mean' && hh >= 2 && ww >= 2) { layers.push(MeanPool([2, 2])); hh >>= 1; ww >>= 1; }
        if (b.pool === 'transpose') { layers.push(ConvTranspose([2, 2], c, c, relu, { stride: 2 })); hh *= 2; ww *= 2; }
        if (hh < 3 || ww < 3) break;
      }
      layers.push(Flatten(), Dense(c * hh * ww, 3));
      const model = Chain(...layers);
      const shape = [1 + (s % 3), cin, h, w];
      assert.equal(outputSize(model, shape), model(randomTensor(shape, s)).shape);
      assert.equal(outputSize(model, shape), [shape[0], 3]);
    }), { numRuns: 40 });
});

test('outputSize allocates nothing for the data: a billion-row input is instant; several inputs; plain functions; output structures', () => {
  const t0 = Date.now();
  assert.equal(outputSize(Chain(Dense(784, 128, relu), Dense(128, 10)), [1e9, 784]), [1e9, 10]);
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(outputSize((a: Tensor, b: Tensor) => matmul(a, b), [[2, 5, 3], [3, 4]]), [2, 5, 4]);
  assert.equal(outputSize((x: Tensor) => [sum(x, 0), { y: add(x, 1) }], [3, 2]), [[2], { y: [3, 2] }]);
});

test('outputSize: shape errors name the layer; reading values throws naming the reader', () => {
  const thrown = (f: () => unknown): Error => { try { f(); } catch (e) { return e as Error; } throw new Error('expected an error'); };
  let e = thrown(() => outputSize(Chain(Dense(3, 4), Dense(5, 2)), [2, 3]));
  assert.instance(e, ShapeError);
  assert.is(e.message, 'Chain[1] → Dense(5 => 2) expects 5 input features, got input of shape [2, 4]');
  e = thrown(() => outputSize(Chain(Embedding(10, 4)), [3]));
  assert.instance(e, TypeError);
  assert.is(e.message, 'Chain[0] → Embedding(10 => 4): outputSize: the values of a tensor of shape [3] (float32) were needed (by .data), but outputSize follows shapes only; ' +
    'this computation depends on the data (an index check, item(), a branch on values): use shapes(model, x) with real data instead');
  e = thrown(() => outputSize((x: Tensor) => sum(x).item(), [2]));
  assert.is(e.message, 'outputSize: the values of a tensor of shape [] (float32) were needed (by item()), but outputSize follows shapes only; ' +
    'this computation depends on the data (an index check, item(), a branch on values): use shapes(model, x) with real data instead');
  assert.is(thrown(() => outputSize(3, [2])).message, 'outputSize: the model must be a layer or a function, got number');
  assert.is(thrown(() => outputSize(Dense(2, 2), [2, -1])).message, 'outputSize: invalid shape [2,-1]: dimensions must be non-negative integers');
});

// ---------------------------------------------------------------- summary and shapes: exact texts

const TLP = layer(class TLP {
  first: Dense; second: Dense;
  constructor() { this.first = Dense(10, 20, relu); this.second = Dense(20, 15); }
  forward(x: Tensor): Tensor {
    const h = this.first(x); // @first
    return relu(this.second(h)); // @second
  }
});

const here = fileURLToPath(import.meta.url);
const lineOf = (file: string, text: string): number => readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
const rel = (p: string) => p.slice(process.cwd().length + 1);

test('summary: exact text for a CNN (Conv, MaxPool, Flatten, Dense, softmax) and for a custom layer', () => {
  seed(1);
  const cnn = Chain(Conv([3, 3], 1, 8, relu), MaxPool([2, 2]), Flatten(), Dense(8 * 13 * 13, 10), softmax);
  const conv = 8 * 9 + 8, dense = 1352 * 10 + 10;
  const g = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
  assert.is(summary(cnn, [32, 1, 28, 28]), layout([
    ['Chain', '[32, 10]', g(conv + dense)],
    ['  [0] Conv((3, 3), 1 => 8, relu)', '[32, 8, 26, 26]', g(conv)],
    ['  [1] MaxPool((2, 2))', '[32, 8, 13, 13]', '0'],
    ['  [2] Flatten()', '[32, 1352]', '0'],
    ['  [3] Dense(1352 => 10)', '[32, 10]', g(dense)],
    ['  [4] softmax', '[32, 10]', '0'],
  ], `Total: 4 arrays, ${g(conv + dense)} parameters; output [32, 10]`));
  const custom = Chain(TLP(), Dense(15, 2));
  assert.is(summary(custom, [7, 10]), layout([
    ['Chain', '[7, 2]', g(10 * 20 + 20 + 20 * 15 + 15 + 15 * 2 + 2)],
    ['  [0] TLP', '[7, 15]', g(10 * 20 + 20 + 20 * 15 + 15)],
    ['    .first Dense(10 => 20, relu)', '[7, 20]', g(10 * 20 + 20)],
    ['    .second Dense(20 => 15)', '[7, 15]', g(20 * 15 + 15)],
    ['  [1] Dense(15 => 2)', '[7, 2]', g(15 * 2 + 2)],
  ], `Total: 6 arrays, ${g(10 * 20 + 20 + 20 * 15 + 15 + 15 * 2 + 2)} parameters; output [7, 2]`));
});

/** The table layout summary promises: columns padded to their widest cell, three spaces apart, counts right-aligned, rules as wide as the widest line. */
function layout(body: string[][], total: string): string {
  const rows = [['Layer', 'Output shape', 'Parameters'], ...body];
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => `${r[0].padEnd(w[0])}   ${r[1].padEnd(w[1])}   ${r[2].padStart(w[2])}`);
  const rule = '─'.repeat(w[0] + w[1] + w[2] + 6);
  return [lines[0], rule, ...lines.slice(1), rule, total].join('\n');
}

test('shapes: every call with input and output shapes and the source line, custom layers inlined', () => {
  seed(2);
  const model = Chain(TLP(), Dense(15, 2), softmax);
  const x = randomTensor([5, 10], 3);
  const text = shapes(model, x); const callLine = lineOf(here, 'const text = shapes(model, x);');
  const me = rel(here);
  // calls a library container (Chain) makes are reported at the user's line that led to them
  const chainCall = `${me}:${callLine}`;
  assert.is(text, [
    `Chain                              [5, 10] → [5, 2]    ${me}:${callLine}`,
    `  [0] TLP                          [5, 10] → [5, 15]   ${chainCall}`,
    `    .first Dense(10 => 20, relu)   [5, 10] → [5, 20]   ${me}:${lineOf(here, '// @first')}`,
    `    .second Dense(20 => 15)        [5, 20] → [5, 15]   ${me}:${lineOf(here, '// @second')}`,
    `  [1] Dense(15 => 2)               [5, 15] → [5, 2]    ${chainCall}`,
    `  [2] softmax                      [5, 2] → [5, 2]     ${chainCall}`,
  ].join('\n'));
  // the same shapes as the shape-only run, row by row
  const table = summary(model, [5, 10]).split('\n').slice(3, -2).map((l) => /(\[[^\]]*\])\s+\S+$/.exec(l)![1]);
  const real = text.split('\n').slice(1).map((l) => /→ (\[[^\]]*\])/.exec(l)![1]);
  assert.equal(table, real);
  // a named Chain and an error that propagates with its path
  const named = Chain({ encoder: Dense(4, 3), head: Dense(3, 1) });
  assert.is(shapes(named, randomTensor([2, 4], 1)).split('\n').map((l) => l.replace(/\s+\S+$/, '')).join('\n'), [
    `${'Chain'.padEnd(24)}   [2, 4] → [2, 1]`,
    `${'  .encoder Dense(4 => 3)'.padEnd(24)}   [2, 4] → [2, 3]`,
    `${'  .head Dense(3 => 1)'.padEnd(24)}   [2, 3] → [2, 1]`,
  ].join('\n'));
  try { shapes(named, randomTensor([2, 5], 1)); assert.unreachable(); } catch (e) {
    assert.is((e as Error).message, 'Chain.encoder → Dense(4 => 3) expects 4 input features, got input of shape [2, 5]');
  }
});

test('hooks are removed afterwards: a later call records nothing and runs as before', () => {
  const d = Dense(2, 2);
  shapes(d, randomTensor([1, 2], 1));
  summary(d, [1, 2]);
  const y = d(tensor([[1, 2]], { dtype: 'float32' }));
  assert.ok(!isShapeOnly(y));
  assert.equal(Array.from(y.data), Array.from(add(matmul(tensor([[1, 2]], { dtype: 'float32' }), d.weight.T), d.bias as Tensor).data));
});

test.run();
