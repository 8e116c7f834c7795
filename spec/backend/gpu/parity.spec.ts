/**
 * GPU parity: every primitive (called through `bind` with its parameters) and every
 * derivative rule (through `gradient` of the ops that use it) on the gpu.js backend against
 * the CPU backend on the same float32 inputs, and a short MLP training run whose losses match.
 *
 * Tolerances, fixed from float32 arithmetic before running (never widened to pass):
 * elementwise |g − c| ≤ 1e-5·|c| + 1e-6 (the device's transcendental functions are not
 * correctly rounded); sums of n terms (reductions, matmul, conv, scatter, avg pooling)
 * (n + 2)·ε₃₂·Σ|terms| + 1e-6, with Σ|terms| computed by the same operation on |inputs|.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as F from '../../../src/index.js';
import { tensor, type Tensor } from '../../../src/index.js';
import { bind } from '../../../src/backend/index.js';
import { BINARY, COMPARE, UNARY, type Primitive, type PrimitiveParams } from '../../../src/ops/primitive.js';
import { gpuMemoryStats } from '../../../src/backend/gpu/index.js';
import { seededValues } from '../../_helpers/arbitraries.js';
import { EPS, assertValues } from '../../_helpers/reference.js';
import { asyncOnly, deviceUnderTest, onGpu, restoreDevice } from './env.js';

const device = await deviceUnderTest('gpu parity');
/** WebGPU reads only asynchronously: what needs a synchronous read must throw there, saying so. */
const webgpu = device !== undefined && asyncOnly(device);
const f32 = (shape: number[], seed: number, scale = 1, shift = 0): Tensor =>
  tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed, 'float32').map((v) => v * scale + shift), { shape, dtype: 'float32' });
const ewTol = (c: Tensor) => { const d = c.data; return (i: number) => 1e-5 * Math.abs(d[i]) + 1e-6; };
/** (n + 2)·ε·Σ|terms| + 1e-6, Σ|terms| from `absRun` (the same operation on |inputs|). */
const sumTol = (n: number, absRun: () => Tensor) => { const m = absRun().data; return (i: number) => (n + 2) * EPS.float32 * Math.abs(m[i]) + 1e-6; };

/** Run on the CPU and on the GPU, compare shape, dtype, placement and values (read with `dataAsync`, as WebGPU needs). */
async function parity(what: string, run: () => Tensor, tol: (cpu: Tensor) => (i: number) => number = ewTol): Promise<void> {
  const c = run();
  const g = onGpu(device!, run);
  assert.equal([...g.shape], [...c.shape], `${what}: shape`);
  assert.is(g.dtype, c.dtype, `${what}: dtype`);
  if (c.dtype === 'float32' && c.size > 0) assert.is(g.device?.backend, 'gpu', `${what}: result stays on the device`);
  assertValues(await g.dataAsync(), c.data, tol(c), what);
}

/** On WebGPU: `run` throws an error matching `message` (it needs a synchronous read); elsewhere: parity. */
async function parityOrSyncError(what: string, run: () => Tensor, message: RegExp): Promise<void> {
  if (!webgpu) return parity(what, run);
  assert.throws(() => onGpu(device!, run), message, `${what}: on WebGPU it must say that it needs a synchronous read`);
}
const prim = <P extends Primitive>(p: P, inputs: Tensor[], params: PrimitiveParams[P]) => () => bind(p, inputs, params);
const abs = (t: Tensor) => F.abs(t);
const NONE = {} as Record<string, never>;

if (device !== undefined) {
  const DOMAIN: Partial<Record<(typeof UNARY)[number], [number, number]>> = {
    log: [1.5, 2], sqrt: [1.5, 2], log1p: [0.9, 0], // inside each domain: out of it the device's values are unspecified (README)
    asin: [0.95, 0], acos: [0.95, 0], tan: [1.2, 0], exp: [4, 0], sinh: [3, 0], cosh: [3, 0],
  };
  test('unary primitives, including arguments near 0 (series branches) and far from it', async () => {
    for (const op of UNARY) {
      const [scale, shift] = DOMAIN[op] ?? [3, 0];
      await parity(op, prim(op, [f32([5, 7], 1, scale, shift)], NONE));
      await parity(`${op} near 0`, prim(op, [f32([40], 2, 0.05, op === 'log' || op === 'sqrt' ? 1 : 0)], NONE));
    }
  });

  test('binary primitives and comparisons with broadcasting, scalars and ties', async () => {
    const shapes: [number[], number[]][] = [[[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [3, 1]], [[4], [2, 3, 4]], [[2, 1, 4], [3, 1]], [[2, 3], []]];
    for (const op of [...BINARY, ...COMPARE]) {
      for (const [k, [sa, sb]] of shapes.entries()) {
        const pos = op === 'pow';
        const a = f32(sa, 10 + k, pos ? 1 : 3, pos ? 2 : 0), b = f32(sb, 20 + k, pos ? 2 : 3, 0);
        await parity(`${op} [${sa}]·[${sb}]`, prim(op, [a, op === 'mod' || op === 'div' ? F.add(F.abs(b), 0.5) : b], NONE));
      }
      // ties for the comparisons, integers for pow of negative bases
      const ints = tensor([-2, -1, 0, 1, 2, 3], { dtype: 'float32' }), ints2 = tensor([3, 2, 0, 1, 2, -1], { dtype: 'float32' });
      if (op !== 'div' && op !== 'mod' && op !== 'atan2') await parity(`${op} on integers`, prim(op, [ints, ints2], NONE));
    }
  });

  test('where, cast, and the movement primitives', async () => {
    const x = f32([2, 3, 4], 30);
    await parity('where', prim('where', [F.gt(f32([3, 1], 31), 0), x, f32([4], 32)], NONE));
    await parity('cast 64→32', prim('cast', [tensor(seededValues(6, 33), { shape: [2, 3] })], { dtype: 'float32' }));
    await parity('cast 32→64', prim('cast', [x], { dtype: 'float64' }));
    await parity('reshape', prim('reshape', [x], { shape: [4, 6] }));
    await parity('permute', prim('permute', [x], { perm: [2, 0, 1] }));
    await parity('broadcastTo', prim('broadcastTo', [f32([3, 1], 34)], { shape: [2, 3, 5] }));
    await parity('slice', prim('slice', [x], { start: [1, 2, 0], step: [1, -1, 2], size: [1, 3, 2] }));
    await parity('concat', prim('concat', [x, f32([2, 1, 4], 35), x], { axis: 1 }));
    await parity('concat of 11', prim('concat', Array.from({ length: 11 }, (_, k) => f32([2, k + 1], 40 + k)), { axis: 1 }));
    await parity('pad', prim('pad', [x], { pads: [[1, 0], [0, 2], [3, 1]], value: -1.5 }));
    const idx = tensor([[2, 0], [1, 2], [0, 0]]);
    await parity('gather', prim('gather', [x, idx], { axis: 1 }));
    await parity('scatterAdd', prim('scatterAdd', [f32([2, 3, 2, 4], 36), idx], { axis: 1, size: 4 }),
      () => sumTol(6, () => bind('scatterAdd', [abs(f32([2, 3, 2, 4], 36)), idx], { axis: 1, size: 4 })));
  });

  test('reductions over every axis set, and argmax/argmin (first extreme wins)', async () => {
    const x = f32([3, 4, 5], 50);
    const sets = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];
    for (const op of ['sum', 'prod', 'max', 'min'] as const) {
      for (const axes of sets) for (const keepDims of [false, true]) {
        const n = axes.reduce((a, d) => a * x.shape[d], 1);
        const tol = op === 'sum' || op === 'prod' ? () => sumTol(n, () => bind(op, [abs(x)], { axes, keepDims })) : ewTol;
        await parity(`${op} ${axes} ${keepDims}`, prim(op, [x], { axes, keepDims }), tol);
      }
    }
    const ties = tensor([[1, 3, 3, 0], [2, 2, -1, -1]], { dtype: 'float32' });
    for (const op of ['argmax', 'argmin'] as const) {
      for (const axis of [0, 1, null]) for (const keepDims of [false, true]) {
        await parityOrSyncError(`${op} ${axis}`, prim(op, [ties], { axis, keepDims }), /float64 CPU tensor/);
        await parityOrSyncError(`${op} ${axis} random`, prim(op, [x], { axis: axis === null ? null : axis + 1, keepDims }), /float64 CPU tensor/);
      }
    }
  });

  test('matmul: 2-d, inner sizes not a multiple of 4, broadcast batches, large k', async () => {
    const cases: [number[], number[]][] = [[[3, 5], [5, 2]], [[7, 8], [8, 9]], [[2, 1, 4, 6], [3, 6, 5]], [[1, 1], [1, 3]], [[16, 300], [300, 4]]];
    for (const [sa, sb] of cases) {
      const a = f32(sa, 60), b = f32(sb, 61);
      const k = sa[sa.length - 1];
      await parity(`matmul [${sa}]·[${sb}]`, prim('matmul', [a, b], NONE), () => sumTol(k, () => bind('matmul', [abs(a), abs(b)], NONE)));
    }
  });

  // the blocked kernels: n % 4 = 0 (four columns a thread), n = 1 with an unbatched B (four
  // rows a thread, the last thread partly past the end), and the per-output fallback; sizes
  // 1, 3, 17, 33 around the four-wide tile, batches broadcast either way
  test('matmul tiles: sizes that are not multiples of the tile, batches, vectors, transposed operands', async () => {
    const cases: [number[], number[]][] = [];
    for (const m of [1, 3, 17, 33]) for (const k of [1, 3, 17, 33]) for (const n of [1, 3, 4, 8, 17, 36]) cases.push([[m, k], [k, n]]);
    cases.push(
      [[2, 5, 3], [3, 8]], [[5, 3], [2, 3, 8]], [[2, 1, 5, 3], [3, 3, 4]], // row tiles over broadcast batches
      [[3, 5, 7], [7, 1]], [[2, 3, 3, 17], [17, 1]], // column tiles whose four rows straddle batch elements
      [[3, 5, 7], [3, 7, 1]], [[5, 7], [3, 7, 1]], // n = 1 with batched B: per-output kernel
      [[64, 96], [96, 64]],
    );
    for (const [sa, sb] of cases) {
      const a = f32(sa, 62), b = f32(sb, 63);
      const k = sa[sa.length - 1];
      await parity(`matmul [${sa}]·[${sb}]`, prim('matmul', [a, b], NONE), () => sumTol(k, () => bind('matmul', [abs(a), abs(b)], NONE)));
    }
    // through F.matmul: vector·matrix, matrix·vector, vector·vector, and transposed (permuted) operands
    const v17 = f32([17], 64), v8 = f32([8], 65), m17x8 = f32([17, 8], 66), m8x17 = f32([8, 17], 67), m17x33 = f32([17, 33], 68);
    const ops: [string, () => Tensor, () => Tensor, number][] = [
      ['v·M', () => F.matmul(v17, m17x8), () => F.matmul(abs(v17), abs(m17x8)), 17],
      ['M·v', () => F.matmul(m8x17, v17), () => F.matmul(abs(m8x17), abs(v17)), 17],
      ['v·v', () => F.matmul(v17, v17), () => F.matmul(abs(v17), abs(v17)), 17],
      ['Mᵀ·M', () => F.matmul(F.transpose(m17x8), m17x33), () => F.matmul(F.transpose(abs(m17x8)), abs(m17x33)), 17],
      ['M·Mᵀ', () => F.matmul(m17x33, F.transpose(m17x33)), () => F.matmul(abs(m17x33), F.transpose(abs(m17x33))), 33],
      ['vᵀ-like [8,1]·[1,17]', () => F.matmul(F.reshape(v8, [8, 1]), F.reshape(v17, [1, 17])), () => F.matmul(F.reshape(abs(v8), [8, 1]), F.reshape(abs(v17), [1, 17])), 1],
    ];
    for (const [what, run, absRun, k] of ops) await parity(`matmul ${what}`, run, () => sumTol(k, absRun));
  });

  test('conv2d and its two backward kernels: stride, padding, dilation, groups', async () => {
    const configs = [
      { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
      { stride: [2, 1], padding: [1, 2], dilation: [1, 1], groups: 1 },
      { stride: [1, 2], padding: [2, 1], dilation: [2, 1], groups: 2 },
    ] as PrimitiveParams['conv2d'][];
    for (const p of configs) {
      const x = f32([2, 4, 7, 6], 70), w = f32([6, 4 / p.groups, 3, 2], 71);
      const y = bind('conv2d', [x, w], p);
      const dy = f32([...y.shape], 72);
      const taps = (4 / p.groups) * 3 * 2;
      await parity(`conv2d ${JSON.stringify(p)}`, prim('conv2d', [x, w], p), () => sumTol(taps, () => bind('conv2d', [abs(x), abs(w)], p)));
      const pi = { ...p, xShape: [...x.shape] }, pf = { ...p, wShape: [...w.shape] };
      await parity('conv2dBackwardInput', prim('conv2dBackwardInput', [dy, w], pi), () => sumTol(6 * 6, () => bind('conv2dBackwardInput', [abs(dy), abs(w)], pi)));
      await parity('conv2dBackwardFilter', prim('conv2dBackwardFilter', [x, dy], pf),
        () => sumTol(dy.size / 6, () => bind('conv2dBackwardFilter', [abs(x), abs(dy)], pf)));
    }
  });

  test('pooling, its backward kernels and the gather (ties: first in scan order)', async () => {
    const configs = [
      { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] },
      { kernel: [3, 2], stride: [1, 2], padding: [1, 1], dilation: [1, 1] },
      { kernel: [2, 2], stride: [1, 1], padding: [1, 0], dilation: [2, 1] },
    ] as PrimitiveParams['maxPool2d'][];
    const xr = f32([2, 3, 6, 5], 80);
    const xt = tensor(Array.from(xr.data, (v) => Math.round(v * 2)), { shape: [...xr.shape], dtype: 'float32' }); // ties
    for (const p of configs) for (const [name, x] of [['random', xr], ['ties', xt]] as const) {
      const y = bind('maxPool2d', [x], p);
      const dy = f32([...y.shape], 81);
      await parity(`maxPool2d ${name}`, prim('maxPool2d', [x], p));
      await parity(`maxPool2dBackward ${name}`, prim('maxPool2dBackward', [x, dy], p), () => sumTol(6, () => bind('maxPool2dBackward', [x, abs(dy)], p)));
      await parity(`maxPool2dGather ${name}`, prim('maxPool2dGather', [x, f32([...x.shape], 82)], p));
      for (const countIncludePad of [true, false]) {
        const pa = { ...p, countIncludePad };
        const n = p.kernel[0] * p.kernel[1];
        await parity(`avgPool2d ${countIncludePad}`, prim('avgPool2d', [x], pa), () => sumTol(n, () => bind('avgPool2d', [abs(x)], pa)));
        const pb = { ...pa, xShape: [...x.shape] };
        await parity(`avgPool2dBackward ${countIncludePad}`, prim('avgPool2dBackward', [dy], pb), () => sumTol(n, () => bind('avgPool2dBackward', [abs(dy)], pb)));
      }
    }
  });

  /** ∇ of Σ f(x…)·r on both backends: the rules run on the device with the forward ops. */
  const gradTol = (c: Tensor) => { const d = c.data; let m = 0; for (const v of d) m = Math.max(m, Math.abs(v)); return () => 2e-5 * (1 + m); };
  async function gradParity(what: string, f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): Promise<void> {
    const r = f(...xs);
    const weights = f32([...r.shape], 99);
    const run = () => F.gradient((...a: Tensor[]) => F.sum(F.mul(f(...a), weights)), ...xs) as Tensor[];
    const cpu = run();
    const gpu = onGpu(device!, run);
    for (const [k, c] of cpu.entries()) {
      assert.equal([...gpu[k].shape], [...c.shape], `${what}: gradient ${k} shape`);
      assertValues(await gpu[k].dataAsync(), c.data, gradTol(c), `${what}: gradient ${k}`);
    }
  }

  test('derivative rules on the device: elementwise, reductions, movement, matmul, nn', async () => {
    const x = f32([3, 4], 90, 0.9), y = f32([4], 91, 1, 2), z = f32([3, 4], 92, 3);
    for (const op of UNARY) {
      if (op === 'sign') continue; // zero derivative: covered by the where/compare rules below
      const [scale, shift] = ({ log: [0.5, 2], sqrt: [0.5, 2], log1p: [0.5, 1] } as Record<string, [number, number]>)[op] ?? [0.9, 0];
      await gradParity(op, (a) => bind(op, [a], NONE), [f32([3, 4], 93, scale, shift)]);
    }
    for (const op of BINARY) {
      const b = op === 'pow' || op === 'div' || op === 'mod' ? y : z;
      await gradParity(op, (a, c) => bind(op, [op === 'pow' ? F.add(F.abs(a), 0.5) : a, c], NONE), [x, b]);
    }
    await gradParity('where', (a, b) => F.where(F.gt(a, 0), a, b), [x, z]);
    await gradParity('sum/prod/max/min', (a) => F.add(F.add(F.sum(a, 0), F.prod(a, 0)), F.add(F.max(a, 0), F.min(a, 0))), [z]);
    await gradParity('matmul', (a, b) => F.matmul(a, b), [x, f32([4, 5], 94)]);
    await gradParity('movement', (a) => F.concat([F.pad(F.slice(F.transpose(a), [null, [1, 3]]), [[0, 1], [2, 0]]), F.broadcastTo(F.reshape(F.sum(a), [1, 1]), [1, 4])], 0), [x]);
    await gradParity('gather', (a) => F.gather(a, [2, 0, 2], 1), [x]);
    await gradParity('softmax/logsumexp', (a) => F.add(F.softmax(a, 1), F.logsumexp(a, 1, { keepDims: true })), [z]);
    const img = f32([2, 2, 6, 6], 95), w = f32([3, 2, 3, 3], 96);
    await gradParity('conv2d', (a, b) => F.conv2d(a, b, { padding: 1, stride: 2 }), [img, w]);
    await gradParity('maxPool2d', (a) => F.maxPool2d(a, 2), [img]);
    await gradParity('avgPool2d', (a) => F.avgPool2d(a, 3, { stride: 1, padding: 1 }), [img]);
  });

  test('an MLP trained with Adam: the GPU copy (gpu(model)) gives the CPU losses, and reads back only the loss', async () => {
    F.seed(7);
    const model = F.Chain(F.Dense(8, 16, F.tanh), F.Dense(16, 3));
    const X = f32([32, 8], 100), Y = f32([32, 3], 101);
    const onDev = onGpu(device!, () => F.gpu(model));
    const Xg = onGpu(device!, () => F.gpu(X));
    assert.is((onDev as unknown as { layers: { weight: Tensor }[] }).layers[0].weight.device?.backend, 'gpu', 'weights moved');
    const losses = async (m: typeof model, x: Tensor) => {
      const opt = F.setup(F.Adam(1e-2), m);
      const out: number[] = [];
      for (let step = 0; step < 15; step++) {
        const before = gpuMemoryStats().reads;
        const [g] = F.gradient((mm: typeof model) => F.mse(mm(x), Y), m);
        F.update(opt, m, g);
        stepReads += gpuMemoryStats().reads - before;
        out.push((await F.mse(m(x), Y).dataAsync())[0]);
      }
      return out;
    };
    let stepReads = 0;
    const cpu = await losses(model, X);
    stepReads = 0;
    const reads0 = gpuMemoryStats().reads;
    const gpu = await losses(onDev, Xg);
    const reads = gpuMemoryStats().reads - reads0;
    assertValues(gpu, cpu, (i) => 1e-3 * Math.abs(cpu[i]), 'losses');
    assert.ok(cpu[14] < cpu[0], 'the loss falls');
    // the Adam update runs as device kernels (src/backend/gpu/update.ts): a step reads nothing back
    assert.is(stepReads, 0, 'gradient and update read nothing back from the device');
    assert.is(reads, 15, 'the only reads are the 15 losses asked for');
    console.log(`gpu parity: MLP losses ${cpu[0].toFixed(4)} → ${cpu[14].toFixed(4)} on both; ${reads} device reads in 15 steps (the losses), none in gradient + update`);
    if (webgpu) {
      // cpu(model) copies synchronously, which WebGPU cannot: it must say so
      assert.throws(() => F.cpu(onDev), /cannot be read synchronously/, 'cpu(model) on WebGPU');
    } else {
      const back = F.cpu(onDev);
      assert.is((back as unknown as { layers: { weight: Tensor }[] }).layers[0].weight.device, undefined, 'cpu(model) brings the weights back');
    }
  });

  test('optimiser rules with device kernels: the same steps as the CPU kernels, state on the device, no reads', async () => {
    const rules: [string, F.Rule][] = [
      ['Descent', F.Descent(0.1)], ['Momentum', F.Momentum(0.05, 0.8)], ['Nesterov', F.Nesterov(0.05, 0.8)],
      ['RMSProp', F.RMSProp(0.01)], ['RMSProp centred', F.RMSProp({ eta: 0.01, centred: true })],
      ['Adam', F.Adam(0.01)], ['AdamW', F.AdamW({ eta: 0.01, lambda: 0.1 })], ['AdamW uncoupled', F.AdamW({ eta: 0.01, lambda: 0.01, couple: false })],
    ];
    for (const [name, rule] of rules) {
      const run = (onDevice: boolean) => {
        const model = { w: f32([3, 5], 110), b: f32([1], 111) };
        const m = onDevice ? onGpu(device!, () => ({ w: F.gpu(model.w), b: F.gpu(model.b) })) : model;
        const opt = F.setup(rule, m);
        const reads0 = gpuMemoryStats().reads;
        for (let k = 0; k < 4; k++) {
          const g = { w: f32([3, 5], 120 + k), b: f32([1], 130 + k) };
          F.update(opt, m, onDevice ? onGpu(device!, () => ({ w: F.gpu(g.w), b: F.gpu(g.b) })) : g);
        }
        return { m, reads: gpuMemoryStats().reads - reads0 };
      };
      const cpu = run(false), gpu = run(true);
      assert.is(gpu.reads, 0, `${name}: the update read nothing back`);
      for (const k of ['w', 'b'] as const) {
        assert.is(gpu.m[k].device?.backend, 'gpu', `${name}: ${k} stays on the device`);
        // four float32 steps: each rounds x (½ ulp) and its step and state (a few ulps of the step): 4 × 8·ε₃₂ ≈ 4e-6, relative to 1 + |x|
        const c = cpu.m[k].data;
        assertValues(await gpu.m[k].dataAsync(), c, (i) => 4e-6 * (1 + Math.abs(c[i])), `${name}: ${k} after 4 steps`);
      }
    }
  });

  test('float64 tensors stay on the CPU (one warning), and results match', async () => {
    const a = tensor([[1 / 3, 0.1]]), b = tensor([[3], [1e-9]]);
    const warn = console.warn;
    console.warn = () => {};
    try {
      const r = onGpu(device!, () => F.matmul(a, b));
      assert.is(r.device, undefined);
      assert.is(r.item(), (1 / 3) * 3 + 0.1 * 1e-9);
    } finally {
      console.warn = warn;
    }
  });
} else {
  test('gpu parity: no device here (see the line above)', async () => {});
}

test.after(restoreDevice);
test.run();
