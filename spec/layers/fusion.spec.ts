/**
 * Chain's inference fusions (src/layers/fusion.ts): a Conv (relu or identity) followed by
 * MaxPool((2, 2)) runs as one pass outside gradients (src/backend/cpu/conv-pool.ts), and so does
 * a run of Dense layers on a few rows (src/backend/cpu/dense.ts). Checked: the same values bit
 * for bit as the layers called one by one, on random layers and inputs with NaN and ±∞ (which
 * the pooling kernel hands to its exact kernel); the fused pass really runs (the later layers
 * are not called); gradients, `shapes()` and error paths see every layer.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Chain, Conv, Dense, Flatten, MaxPool, MeanPool, Tensor, fromData, gradient, identity, relu, shapes, sigmoid, sum } from '../../src/index.js';
import { withoutFusion } from '../../src/layers/fusion.js';
import { setLayerCallHook } from '../../src/layers/layer.js';
import { winogradApplies } from '../../src/backend/cpu/conv-winograd.js';
import { seededValues } from '../_helpers/arbitraries.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const randomTensor = (shape: number[], s: number, dtype: 'float32' | 'float64' = 'float32'): Tensor => fromData(seededValues(size(shape), s, dtype), shape);

/** Bit-for-bit equality (Object.is: NaN equals NaN, −0 is not +0), naming the first difference. */
function sameBits(actual: Tensor, expected: Tensor, what: string): void {
  assert.equal(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.data, e = expected.data;
  for (let i = 0; i < e.length; i++) if (!Object.is(a[i], e[i])) assert.unreachable(`${what}: y[${i}] = ${a[i]}, one by one ${e[i]}`);
}

/** The message of what `fn` throws, or 'no error'. */
function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

/** The layers whose own call ran during `fn` (through the layer-call hook). */
function calledLayers<T>(fn: () => T): { result: T; called: unknown[] } {
  const called: unknown[] = [];
  const previous = setLayerCallHook((self, args, run) => {
    called.push(self);
    return previous === undefined ? run(self, args) : previous(self, args, run);
  });
  try {
    return { result: fn(), called };
  } finally {
    setLayerCallHook(previous);
  }
}

/** `x` with NaN, +∞ and −∞ written at positions picked by `seed` (`count` of each). */
function withSpecials(x: Tensor, seed: number, count: number): Tensor {
  const d = x.data.slice();
  for (let i = 0; i < count; i++) {
    for (const [k, v] of [[1, NaN], [2, Infinity], [3, -Infinity]] as const) d[Math.abs((seed * 7919 + i * 104729 * k) % d.length)] = v;
  }
  return fromData(d, x.shape);
}

const arbCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 4 }), o: fc.integer({ min: 1, max: 9 }),
  kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), padding: fc.constantFrom(0, 1),
  groups: fc.constantFrom(1, 1, 2), h: fc.integer({ min: 3, max: 16 }), w: fc.integer({ min: 3, max: 22 }),
  act: fc.constantFrom('relu', 'identity'), bias: fc.boolean(), single: fc.boolean(), f64: fc.boolean(),
  specials: fc.constantFrom(0, 0, 1, 3), seed: fc.integer(),
});

test('Conv then MaxPool((2, 2)) in a Chain equals the two layers called one by one, bit for bit', () => {
  let fusedRuns = 0;
  fc.assert(fc.property(arbCase, (r) => {
    const dtype = r.f64 ? 'float64' : 'float32';
    const c = r.c * r.groups, o = r.o * r.groups;
    const conv = Conv([r.kh, r.kw], c, o, r.act === 'relu' ? relu : identity, {
      padding: r.padding, groups: r.groups, dtype, bias: r.bias ? randomTensor([o], r.seed ^ 5, dtype) : false,
    });
    const model = Chain(conv, MaxPool([2, 2]));
    const shape = r.single ? [c, r.h, r.w] : [r.n, c, r.h, r.w];
    const x = withSpecials(randomTensor(shape, r.seed, dtype), r.seed, r.specials);
    let oneByOne: Tensor;
    try {
      oneByOne = withoutFusion(() => model(x));
    } catch (e) {
      // too small for the pooling window: the fused call fails the same way
      assert.throws(() => model(x), (f: Error) => f.message === (e as Error).message);
      return;
    }
    const { result, called } = calledLayers(() => model(x));
    sameBits(result, oneByOne, `${String(conv)} then MaxPool((2, 2)) on [${shape}]`);
    if (!called.includes(model.layers[1])) fusedRuns++;
  }), { numRuns: 150 });
  // the property holds vacuously if nothing fuses: most float32 cases with 8+ output columns do
  assert.ok(fusedRuns >= 20, `the fused pass ran in only ${fusedRuns} of 150 cases`);
});

test('the CNN-sized pairs (pooling split over the worker pool) equal the layers one by one, with NaN and ±∞ planes', () => {
  const model = Chain(Conv([3, 3], 1, 32, relu, { bias: randomTensor([32], 1) }), MaxPool([2, 2]),
    Conv([3, 3], 32, 64, relu, { bias: randomTensor([64], 2) }), MaxPool([2, 2]), Flatten(), Dense(1600, 10));
  for (const specials of [0, 2, 40]) {
    const x = withSpecials(randomTensor([16, 1, 28, 28], 3 + specials), 11, specials);
    const { result, called } = calledLayers(() => model(x));
    sameBits(result, withoutFusion(() => model(x)), `CNN, ${specials} of each special value`);
    assert.ok(!called.includes(model.layers[1]) && !called.includes(model.layers[3]), 'both pairs fused');
  }
  // and a pair by itself, compared before the head mixes planes together
  const pair = Chain(model.layers[0], model.layers[1]);
  const x = withSpecials(randomTensor([16, 1, 28, 28], 9), 5, 7);
  sameBits(pair(x), withoutFusion(() => pair(x)), 'Conv((3, 3), 1 => 32, relu) then MaxPool((2, 2))');
});

test('Winograd convolutions pool inside their output transform: odd and even sides equal the layers one by one', () => {
  for (const [h, w, padding] of [[13, 13, 0], [14, 14, 0], [13, 16, 1], [16, 13, 0], [10, 19, 1], [9, 30, 0]] as const) {
    for (const σ of [relu, identity]) {
      // 32 => 32: 16 products per transformed value, which the gate admits whatever the tile waste
      const conv = Conv([3, 3], 32, 32, σ, { padding, bias: randomTensor([32], h * w) });
      const x4 = randomTensor([6, 32, h, w], h + w);
      const y = conv(x4);
      const tiles = 6 * Math.ceil(y.shape[2]! / 2) * Math.ceil(y.shape[3]! / 2);
      const g = { n: 6, c: 32, h, w, o: 32, oh: y.shape[2]!, ow: y.shape[3]!, ph: padding, pw: padding, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, groups: 1 };
      assert.ok(winogradApplies(x4.data, conv.weight.data, null, g), `[6, 32, ${h}, ${w}] takes the Winograd path (${tiles} tiles)`);
      const m = Chain(conv, MaxPool([2, 2]));
      const run = calledLayers(() => m(x4));
      assert.ok(!run.called.includes(m.layers[1]), 'fused');
      sameBits(run.result, withoutFusion(() => m(x4)), `${String(conv)} on [6, 32, ${h}, ${w}]`);
    }
  }
});

test('named Chains fuse too; other pools, subclasses and strides are called one by one', () => {
  const conv = Conv([3, 3], 2, 4, relu);
  const x = randomTensor([2, 2, 12, 12], 21);
  const named = Chain({ features: conv, pool: MaxPool([2, 2]) });
  const run = calledLayers(() => named(x));
  assert.ok(!run.called.includes(named.layers.pool), 'named pair fused');
  sameBits(run.result, withoutFusion(() => named(x)), 'named Chain');
  for (const second of [MaxPool([2, 2], { stride: 1 }), MaxPool([3, 3]), MaxPool([2, 2], { padding: 1 }), MeanPool([2, 2])]) {
    const m = Chain(conv, second);
    assert.ok(calledLayers(() => m(x)).called.includes(second), `${String(second)} is called`);
  }
});

test('inside a gradient every layer runs (and differentiates); shapes() shows every layer', () => {
  const model = Chain(Conv([3, 3], 1, 3, relu), MaxPool([2, 2]), Flatten(), Dense(75, 2));
  const x = randomTensor([2, 1, 12, 12], 31);
  const { result, called } = calledLayers(() => gradient((m: typeof model) => sum(m(x)), model));
  // a gradient calls a traced copy of the model: its MaxPool, not this one
  assert.ok(called.some((l) => l instanceof MaxPool), 'MaxPool called under gradient');
  const g = result[0] as { layers: { weight: Tensor }[] };
  assert.ok(g.layers[0]!.weight.data.some((v) => v !== 0), 'the conv weight has a gradient');
  const text = shapes(model, x);
  assert.match(text, /MaxPool\(\(2, 2\)\)\s+\[2, 3, 10, 10\] → \[2, 3, 5, 5\]/);
});

test('a bad input to the fused pair names the Conv, as without fusion', () => {
  const model = Chain(Conv([3, 3], 3, 4, relu), MaxPool([2, 2]));
  const x = randomTensor([1, 2, 10, 10], 41);
  const fused = message(() => model(x));
  assert.match(fused, /^Chain\[0\] → Conv\(\(3, 3\), 3 => 4, relu\)/);
  assert.is(fused, message(() => withoutFusion(() => model(x))));
});

test('identity convolutions fuse (no relu), float64 runs one by one', () => {
  const conv = Conv([3, 3], 2, 5, identity, { bias: randomTensor([5], 51) });
  const x = randomTensor([3, 2, 14, 18], 52);
  const m = Chain(conv, MaxPool([2, 2]));
  const run = calledLayers(() => m(x));
  assert.ok(!run.called.includes(m.layers[1]));
  sameBits(run.result, withoutFusion(() => m(x)), 'identity');
  const m64 = Chain(Conv([3, 3], 2, 5, relu, { dtype: 'float64' }), MaxPool([2, 2]));
  assert.ok(calledLayers(() => m64(randomTensor([3, 2, 14, 18], 53, 'float64'))).called.includes(m64.layers[1]));
});

const arbDenseRun = fc.record({
  // mostly sizes the few-rows kernel takes (whole vectors, large enough), some that end a run
  sizes: fc.array(fc.constantFrom(3, 10, 16, 32, 64, 64, 100, 128, 128, 256), { minLength: 3, maxLength: 6 }),
  acts: fc.array(fc.constantFrom('relu', 'relu', 'identity', 'identity', 'sigmoid'), { minLength: 5, maxLength: 5 }),
  bias: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  rows: fc.constantFrom(0, 1, 1, 2, 5, 8, 9), f64: fc.boolean(), specials: fc.constantFrom(0, 0, 1), seed: fc.integer(),
});

test('runs of Dense layers on a few rows equal the layers one by one, bit for bit', () => {
  let fusedRuns = 0;
  const act = { relu, identity, sigmoid } as const;
  fc.assert(fc.property(arbDenseRun, (r) => {
    const dtype = r.f64 ? 'float64' : 'float32';
    const layers = r.sizes.slice(1).map((out, i) => Dense(r.sizes[i]!, out, act[r.acts[i] as keyof typeof act], {
      dtype, bias: r.bias[i] ? randomTensor([out], r.seed ^ (i + 7), dtype) : false,
    }));
    const model = Chain(...layers);
    const shape = r.rows === 0 ? [r.sizes[0]!] : [r.rows, r.sizes[0]!];
    const x = withSpecials(randomTensor(shape, r.seed, dtype), r.seed, r.specials);
    const { result, called } = calledLayers(() => model(x));
    sameBits(result, withoutFusion(() => model(x)), `${String(model)} on [${shape}]`);
    if (!called.includes(layers[1])) fusedRuns++;
  }), { numRuns: 200 });
  assert.ok(fusedRuns >= 40, `a Dense run fused in only ${fusedRuns} of 200 cases`);
});

test('a Dense run stops where the sizes do not chain: the error names that layer, as without fusion', () => {
  const model = Chain(Dense(8, 16, relu), Dense(16, 4), Dense(5, 2));
  const x = randomTensor([1, 8], 61);
  assert.match(message(() => model(x)), /^Chain\[2\] → Dense\(5 => 2\) expects 5 input features/);
  assert.is(message(() => model(x)), message(() => withoutFusion(() => model(x))));
  // and a bad input to the first layer of a run
  assert.match(message(() => model(randomTensor([1, 7], 62))), /^Chain\[0\] → Dense\(8 => 16, relu\) expects 8 input features/);
  // the run of the first two fused: the second layer is not called
  const ok = Chain(Dense(64, 128, relu), Dense(128, 32), sigmoid);
  const x64 = randomTensor([1, 64], 63);
  const run = calledLayers(() => ok(x64));
  assert.ok(!run.called.includes(ok.layers[1]), 'the second Dense ran inside the first one\'s pass');
  sameBits(run.result, withoutFusion(() => ok(x64)), 'Dense, Dense, sigmoid');
});

test.run();
