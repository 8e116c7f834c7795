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
import { deviceUnderTest, onGpu, restoreDevice } from './env.js';

const device = deviceUnderTest('gpu parity');
const f32 = (shape: number[], seed: number, scale = 1, shift = 0): Tensor =>
  tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed, 'float32').map((v) => v * scale + shift), { shape, dtype: 'float32' });
const ewTol = (c: Tensor) => { const d = c.data; return (i: number) => 1e-5 * Math.abs(d[i]) + 1e-6; };
/** (n + 2)·ε·Σ|terms| + 1e-6, Σ|terms| from `absRun` (the same operation on |inputs|). */
const sumTol = (n: number, absRun: () => Tensor) => { const m = absRun().data; return (i: number) => (n + 2) * EPS.float32 * Math.abs(m[i]) + 1e-6; };

/** Run on the CPU and on the GPU, compare shape, dtype, placement and values. */
function parity(what: string, run: () => Tensor, tol: (cpu: Tensor) => (i: number) => number = ewTol): void {
  const c = run();
  const g = onGpu(device!, run);
  assert.equal([...g.shape], [...c.shape], `${what}: shape`);
  assert.is(g.dtype, c.dtype, `${what}: dtype`);
  if (c.dtype === 'float32' && c.size > 0) assert.is(g.device?.backend, 'gpu', `${what}: result stays on the device`);
  assertValues(g.data, c.data, tol(c), what);
}
const prim = <P extends Primitive>(p: P, inputs: Tensor[], params: PrimitiveParams[P]) => () => bind(p, inputs, params);
const abs = (t: Tensor) => F.abs(t);
const NONE = {} as Record<string, never>;

if (device !== undefined) {
  const DOMAIN: Partial<Record<(typeof UNARY)[number], [number, number]>> = {
    log: [1.5, 2], sqrt: [1.5, 2], asin: [0.95, 0], acos: [0.95, 0], tan: [1.2, 0], exp: [4, 0], sinh: [3, 0], cosh: [3, 0],
  };
  test('unary primitives, including arguments near 0 (series branches) and far from it', () => {
    for (const op of UNARY) {
      const [scale, shift] = DOMAIN[op] ?? [3, 0];
      parity(op, prim(op, [f32([5, 7], 1, scale, shift)], NONE));
      parity(`${op} near 0`, prim(op, [f32([40], 2, 0.05, op === 'log' || op === 'sqrt' ? 1 : 0)], NONE));
    }
  });

  test('binary primitives and comparisons with broadcasting, scalars and ties', () => {
    const shapes: [number[], number[]][] = [[[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [3, 1]], [[4], [2, 3, 4]], [[2, 1, 4], [3, 1]], [[2, 3], []]];
    for (const op of [...BINARY, ...COMPARE]) {
      shapes.forEach(([sa, sb], k) => {
        const pos = op === 'pow';
        const a = f32(sa, 10 + k, pos ? 1 : 3, pos ? 2 : 0), b = f32(sb, 20 + k, pos ? 2 : 3, 0);
        parity(`${op} [${sa}]·[${sb}]`, prim(op, [a, op === 'mod' || op === 'div' ? F.add(F.abs(b), 0.5) : b], NONE));
      });
      // ties for the comparisons, integers for pow of negative bases
      const ints = tensor([-2, -1, 0, 1, 2, 3], { dtype: 'float32' }), ints2 = tensor([3, 2, 0, 1, 2, -1], { dtype: 'float32' });
      if (op !== 'div' && op !== 'mod' && op !== 'atan2') parity(`${op} on integers`, prim(op, [ints, ints2], NONE));
    }
  });

  test('where, cast, and the movement primitives', () => {
    const x = f32([2, 3, 4], 30);
    parity('where', prim('where', [F.gt(f32([3, 1], 31), 0), x, f32([4], 32)], NONE));
    parity('cast 64→32', prim('cast', [tensor(seededValues(6, 33), { shape: [2, 3] })], { dtype: 'float32' }));
    parity('cast 32→64', prim('cast', [x], { dtype: 'float64' }));
    parity('reshape', prim('reshape', [x], { shape: [4, 6] }));
    parity('permute', prim('permute', [x], { perm: [2, 0, 1] }));
    parity('broadcastTo', prim('broadcastTo', [f32([3, 1], 34)], { shape: [2, 3, 5] }));
    parity('slice', prim('slice', [x], { start: [1, 2, 0], step: [1, -1, 2], size: [1, 3, 2] }));
    parity('concat', prim('concat', [x, f32([2, 1, 4], 35), x], { axis: 1 }));
    parity('concat of 11', prim('concat', Array.from({ length: 11 }, (_, k) => f32([2, k + 1], 40 + k)), { axis: 1 }));
    parity('pad', prim('pad', [x], { pads: [[1, 0], [0, 2], [3, 1]], value: -1.5 }));
    const idx = tensor([[2, 0], [1, 2], [0, 0]]);
    parity('gather', prim('gather', [x, idx], { axis: 1 }));
    parity('scatterAdd', prim('scatterAdd', [f32([2, 3, 2, 4], 36), idx], { axis: 1, size: 4 }),
      () => sumTol(6, () => bind('scatterAdd', [abs(f32([2, 3, 2, 4], 36)), idx], { axis: 1, size: 4 })));
  });

  test('reductions over every axis set, and argmax/argmin (first extreme wins)', () => {
    const x = f32([3, 4, 5], 50);
    const sets = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];
    for (const op of ['sum', 'prod', 'max', 'min'] as const) {
      for (const axes of sets) for (const keepDims of [false, true]) {
        const n = axes.reduce((a, d) => a * x.shape[d], 1);
        const tol = op === 'sum' || op === 'prod' ? () => sumTol(n, () => bind(op, [abs(x)], { axes, keepDims })) : ewTol;
        parity(`${op} ${axes} ${keepDims}`, prim(op, [x], { axes, keepDims }), tol);
      }
    }
    const ties = tensor([[1, 3, 3, 0], [2, 2, -1, -1]], { dtype: 'float32' });
    for (const op of ['argmax', 'argmin'] as const) {
      for (const axis of [0, 1, null]) for (const keepDims of [false, true]) {
        parity(`${op} ${axis}`, prim(op, [ties], { axis, keepDims }));
        parity(`${op} ${axis} random`, prim(op, [x], { axis: axis === null ? null : axis + 1, keepDims }));
      }
    }
  });

  test('matmul: 2-d, inner sizes not a multiple of 4, broadcast batches, large k', () => {
    const cases: [number[], number[]][] = [[[3, 5], [5, 2]], [[7, 8], [8, 9]], [[2, 1, 4, 6], [3, 6, 5]], [[1, 1], [1, 3]], [[16, 300], [300, 4]]];
    for (const [sa, sb] of cases) {
      const a = f32(sa, 60), b = f32(sb, 61);
      const k = sa[sa.length - 1];
      parity(`matmul [${sa}]·[${sb}]`, prim('matmul', [a, b], NONE), () => sumTol(k, () => bind('matmul', [abs(a), abs(b)], NONE)));
    }
  });

  test('conv2d and its two backward kernels: stride, padding, dilation, groups', () => {
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
      parity(`conv2d ${JSON.stringify(p)}`, prim('conv2d', [x, w], p), () => sumTol(taps, () => bind('conv2d', [abs(x), abs(w)], p)));
      const pi = { ...p, xShape: [...x.shape] }, pf = { ...p, wShape: [...w.shape] };
      parity('conv2dBackwardInput', prim('conv2dBackwardInput', [dy, w], pi), () => sumTol(6 * 6, () => bind('conv2dBackwardInput', [abs(dy), abs(w)], pi)));
      parity('conv2dBackwardFilter', prim('conv2dBackwardFilter', [x, dy], pf),
        () => sumTol(dy.size / 6, () => bind('conv2dBackwardFilter', [abs(x), abs(dy)], pf)));
    }
  });

  test('pooling, its backward kernels and the gather (ties: first in scan order)', () => {
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
      parity(`maxPool2d ${name}`, prim('maxPool2d', [x], p));
      parity(`maxPool2dBackward ${name}`, prim('maxPool2dBackward', [x, dy], p), () => sumTol(6, () => bind('maxPool2dBackward', [x, abs(dy)], p)));
      parity(`maxPool2dGather ${name}`, prim('maxPool2dGather', [x, f32([...x.shape], 82)], p));
      for (const countIncludePad of [true, false]) {
        const pa = { ...p, countIncludePad };
        const n = p.kernel[0] * p.kernel[1];
        parity(`avgPool2d ${countIncludePad}`, prim('avgPool2d', [x], pa), () => sumTol(n, () => bind('avgPool2d', [abs(x)], pa)));
        const pb = { ...pa, xShape: [...x.shape] };
        parity(`avgPool2dBackward ${countIncludePad}`, prim('avgPool2dBackward', [dy], pb), () => sumTol(n, () => bind('avgPool2dBackward', [abs(dy)], pb)));
      }
    }
  });

  /** ∇ of Σ f(x…)·r on both backends: the rules run on the device with the forward ops. */
  const gradTol = (c: Tensor) => { const d = c.data; let m = 0; for (const v of d) m = Math.max(m, Math.abs(v)); return () => 2e-5 * (1 + m); };
  function gradParity(what: string, f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): void {
    const r = f(...xs);
    const weights = f32([...r.shape], 99);
    const run = () => F.gradient((...a: Tensor[]) => F.sum(F.mul(f(...a), weights)), ...xs) as Tensor[];
    const cpu = run();
    const gpu = onGpu(device!, run);
    cpu.forEach((c, k) => {
      assert.equal([...gpu[k].shape], [...c.shape], `${what}: gradient ${k} shape`);
      assertValues(gpu[k].data, c.data, gradTol(c), `${what}: gradient ${k}`);
    });
  }

  test('derivative rules on the device: elementwise, reductions, movement, matmul, nn', () => {
    const x = f32([3, 4], 90, 0.9), y = f32([4], 91, 1, 2), z = f32([3, 4], 92, 3);
    for (const op of UNARY) {
      if (op === 'sign') continue; // zero derivative: covered by the where/compare rules below
      const [scale, shift] = ({ log: [0.5, 2], sqrt: [0.5, 2], log1p: [0.5, 1] } as Record<string, [number, number]>)[op] ?? [0.9, 0];
      gradParity(op, (a) => bind(op, [a], NONE), [f32([3, 4], 93, scale, shift)]);
    }
    for (const op of BINARY) {
      const b = op === 'pow' || op === 'div' || op === 'mod' ? y : z;
      gradParity(op, (a, c) => bind(op, [op === 'pow' ? F.add(F.abs(a), 0.5) : a, c], NONE), [x, b]);
    }
    gradParity('where', (a, b) => F.where(F.gt(a, 0), a, b), [x, z]);
    gradParity('sum/prod/max/min', (a) => F.add(F.add(F.sum(a, 0), F.prod(a, 0)), F.add(F.max(a, 0), F.min(a, 0))), [z]);
    gradParity('matmul', (a, b) => F.matmul(a, b), [x, f32([4, 5], 94)]);
    gradParity('movement', (a) => F.concat([F.pad(F.slice(F.transpose(a), [null, [1, 3]]), [[0, 1], [2, 0]]), F.broadcastTo(F.reshape(F.sum(a), [1, 1]), [1, 4])], 0), [x]);
    gradParity('gather', (a) => F.gather(a, [2, 0, 2], 1), [x]);
    gradParity('softmax/logsumexp', (a) => F.add(F.softmax(a, 1), F.logsumexp(a, 1, { keepDims: true })), [z]);
    const img = f32([2, 2, 6, 6], 95), w = f32([3, 2, 3, 3], 96);
    gradParity('conv2d', (a, b) => F.conv2d(a, b, { padding: 1, stride: 2 }), [img, w]);
    gradParity('maxPool2d', (a) => F.maxPool2d(a, 2), [img]);
    gradParity('avgPool2d', (a) => F.avgPool2d(a, 3, { stride: 1, padding: 1 }), [img]);
  });

  test('an MLP trained with Adam: the GPU copy (gpu(model)) gives the CPU losses, and reads back only the loss', () => {
    F.seed(7);
    const model = F.Chain(F.Dense(8, 16, F.tanh), F.Dense(16, 3));
    const X = f32([32, 8], 100), Y = f32([32, 3], 101);
    const onDev = onGpu(device!, () => F.gpu(model));
    const Xg = onGpu(device!, () => F.gpu(X));
    assert.is((onDev as unknown as { layers: { weight: Tensor }[] }).layers[0].weight.device?.backend, 'gpu', 'weights moved');
    const losses = (m: typeof model, x: Tensor) => {
      const opt = F.setup(F.Adam(1e-2), m);
      const out: number[] = [];
      for (let step = 0; step < 15; step++) {
        const before = gpuMemoryStats().reads;
        const [g] = F.gradient((mm: typeof model) => F.mse(mm(x), Y), m);
        gradientReads += gpuMemoryStats().reads - before;
        F.update(opt, m, g);
        out.push(F.mse(m(x), Y).item());
      }
      return out;
    };
    let gradientReads = 0;
    const cpu = losses(model, X);
    const reads0 = gpuMemoryStats().reads;
    const gpu = losses(onDev, Xg);
    const reads = gpuMemoryStats().reads - reads0;
    assertValues(gpu, cpu, (i) => 1e-3 * Math.abs(cpu[i]), 'losses');
    assert.ok(cpu[14] < cpu[0], 'the loss falls');
    assert.is(gradientReads, 0, 'the forward and backward passes read nothing back from the device');
    // the optimiser's fused update kernels run on the CPU (src/optimise): they read each parameter and gradient back
    console.log(`gpu parity: MLP losses ${cpu[0].toFixed(4)} → ${cpu[14].toFixed(4)} on both; 0 device reads in the gradients, ${reads} in 15 steps (15 losses, the rest the CPU-side Adam update)`);
    const back = F.cpu(onDev);
    assert.is((back as unknown as { layers: { weight: Tensor }[] }).layers[0].weight.device, undefined, 'cpu(model) brings the weights back');
  });

  test('float64 tensors stay on the CPU (one warning), and results match', () => {
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
  test('gpu parity: no device here (see the line above)', () => {});
}

test.after(restoreDevice);
test.run();
