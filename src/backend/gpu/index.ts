/**
 * The gpu.js backend: every primitive as a gpu.js kernel, with float32 tensors that stay on
 * the device between operations (textures, read back only when values are asked for).
 *
 * - Mode: gpu.js picks its best synchronous device mode here (WebGL2, then WebGL, then
 *   headless-gl in Node); `backendInfo().device` names it. gpu.js's WebGPU mode is taken
 *   only when asked for (`gpuBackend({ mode: 'webgpu' })`, where `navigator.gpu` exists):
 *   its kernels are asynchronous, so operations queue them and return at once, and values
 *   are read only with `await x.dataAsync()` / `await x.array()` (a synchronous read throws,
 *   saying so). gpu.js is loaded on first use, not at import (~130 ms).
 * - No device (gpu.js would fall back to its CPU/WebAssembly modes, slower than our CPU
 *   backend): `available()` is false and `setBackend('gpu')` warns and stays on the CPU.
 *   Tests force those modes (`gpuBackend({ mode: 'cpu' })`) to run the same kernels in JS.
 * - Precision: the device computes in float32. A primitive with a float64 input runs on the
 *   CPU backend (its result is a CPU float64 tensor), with a one-time warning; `cast` to
 *   float32 is the way onto the device. Indices (gather/scatterAdd) may be float64.
 * - Empty tensors stay on the CPU (gpu.js cannot make an empty output).
 */
import ndarray from 'ndarray';
import type { GPU as GPUType } from 'gpu.js';
import type { Backend } from '../index.js';
import type { Kernel, KernelTable, Primitive } from '../../ops/primitive.js';
import { Tensor } from '../../tensor/tensor.js';
import { cpuKernels } from '../cpu/index.js';
import { DEVICE_MODES, GpuDevice, gpuJsLoadFailure, loadGpuJs, type KernelTiming } from './device.js';
import { elementwiseKernels } from './elementwise.js';
import { reduceKernels } from './reduce.js';
import { movementKernels } from './movement.js';
import { nnKernels } from './nn.js';
import { bufferOf, deviceTensor, memoryStats, type DeviceBuffer, type GpuMemoryStats } from './storage.js';

export type { GpuMemoryStats } from './storage.js';
export type { KernelTiming } from './device.js';

/** Options of {@link gpuBackend}. */
export interface GpuBackendOptions {
  /** Force a gpu.js mode ('webgl2', 'headlessgl', … or, for parity tests, 'cpu'). Default: the best device mode gpu.js finds. */
  mode?: string;
}

/** Smallest matrix product (m·n·k) worth a device launch under `'auto'` for CPU operands; launch and transfer cost ~1 ms. */
const AUTO_MIN_FLOPS = 256 * 256 * 256;

let warnedFloat64 = false;
function warnFloat64(prim: string): void {
  if (warnedFloat64) return;
  warnedFloat64 = true;
  console.warn(
    `fluxion: the GPU backend computes in float32; '${prim}' got a float64 tensor, so it (and every float64 operation) ` +
    "runs on the CPU. Use float32 tensors (tensor(…, { dtype: 'float32' }), x.astype('float32'), gpu(model)) to run on the GPU",
  );
}

/** The device counters: live textures, reads and uploads (for specs and the bench). */
export function gpuMemoryStats(): Readonly<GpuMemoryStats> {
  return { ...memoryStats };
}

/** Whether `t`'s values live on the gpu.js device. */
export const isOnGpu = (t: Tensor): boolean => bufferOf(t) !== undefined;

/** A gpu.js backend, plus the handles that specs and the bench use. */
export interface GpuBackend extends Backend {
  /** The started device, or `undefined` where none can start. */
  device(): GpuDevice | undefined;
  /** First-call (compile) and steady-state times of every kernel compiled so far. */
  timings(): KernelTiming[];
  /** `t` on the device (a copy unless it is there already); float64 is rounded to float32. */
  toDevice(t: Tensor): Tensor;
  /**
   * Resolves once the device has run a kernel and read it back (WebGPU acquires its adapter
   * and device asynchronously); rejects with the reason where it cannot. Immediate on GL.
   */
  ready(): Promise<void>;
}

/** Create a gpu.js-backed backend. */
export function gpuBackend(options: GpuBackendOptions = {}): GpuBackend {
  let dev: GpuDevice | null | undefined;
  let reason = '';
  const start = (): GpuDevice | null => {
    if (dev !== undefined) return dev;
    dev = null;
    const m = loadGpuJs();
    if (!m) {
      reason = gpuJsLoadFailure();
      return null;
    }
    if (options.mode === 'webgpu' && !(m.GPU as unknown as { isWebGPUSupported?: boolean }).isWebGPUSupported) {
      reason = "gpu.js's WebGPU mode needs navigator.gpu, which this runtime lacks (in Node, install it from the `webgpu` package: see the README)";
      return null;
    }
    try {
      const g: GPUType = new m.GPU(options.mode ? { mode: options.mode as 'gpu' } : {});
      if (options.mode !== undefined || DEVICE_MODES.includes(g.mode)) dev = new GpuDevice(g, m);
      else reason = `gpu.js found no WebGL/WebGPU context (it would run in its '${g.mode}' mode, slower than the CPU backend)`;
    } catch (e) {
      reason = `gpu.js could not start: ${(e as Error).message.split('\n')[0]}`;
    }
    return dev;
  };
  const kernels = lazyTable(() => start()!);
  return {
    name: 'gpu',
    available: () => start() !== null,
    mode: () => start()?.mode,
    unavailableReason: () => (start() === null ? reason : undefined),
    device: () => start() ?? undefined,
    timings: () => start()?.timings() ?? [],
    toDevice(t: Tensor): Tensor {
      const d = start();
      if (d === null) throw new Error(`gpu: no GPU device here (${reason})`);
      if (bufferOf(t) !== undefined) return t;
      if (t.size === 0) return t.dtype === 'float32' ? t : cpuKernels.cast([t], { dtype: 'float32' });
      return deviceTensor(d.upload(t), t.shape, (v) => d.upload(v));
    },
    async ready(): Promise<void> {
      const d = start();
      if (d === null) throw new Error(`gpu: no GPU device here (${reason})`);
      const probe = await d.upload(new Tensor(ndarray(Float32Array.of(1.5), [1]))).readAsync();
      if (probe[0] !== 1.5) throw new Error(`gpu (${d.mode}): a probe kernel read back ${probe[0]} instead of 1.5`);
    },
    worthIt(prim: Primitive, inputs: Tensor[]): boolean {
      if (inputs.some((t) => t.dtype !== 'float32' || t.size === 0)) return false;
      if (inputs.some((t) => bufferOf(t) !== undefined)) return true;
      if (prim === 'matmul') {
        const [a, b] = inputs;
        return a.shape[a.ndim - 2] * a.shape[a.ndim - 1] * b.shape[b.ndim - 1] >= AUTO_MIN_FLOPS;
      }
      if (prim === 'conv2d') return inputs[0].size * inputs[1].size >= AUTO_MIN_FLOPS * 4;
      return false;
    },
    kernels,
  };
}

/** The kernel table, built on first use against the device `get()` returns. */
function lazyTable(get: () => GpuDevice): KernelTable {
  let table: KernelTable | undefined;
  const build = (): KernelTable => (table ??= deviceTable(get()));
  const lazy = {} as Record<Primitive, Kernel<Primitive>>;
  for (const prim of Object.keys(cpuKernels) as Primitive[]) {
    lazy[prim] = (inputs, params) => (build()[prim] as Kernel<Primitive>)(inputs, params);
  }
  return lazy as KernelTable;
}

/** Every primitive on `dev`, with the float64 and empty-tensor cases sent to the CPU backend. */
function deviceTable(dev: GpuDevice): KernelTable {
  const upload = (t: Tensor) => dev.upload(t);
  const wrap = (buffer: DeviceBuffer, shape: readonly number[]) => deviceTensor(buffer, shape, upload);
  const ew = elementwiseKernels(dev), red = reduceKernels(dev), mv = movementKernels(dev), nn = nnKernels(dev);
  mv.setWrap(wrap);
  const outOf = (r: { buffer: DeviceBuffer; shape: readonly number[] }) => wrap(r.buffer, r.shape);

  /** `body` on the device unless an input (among the first `valueInputs`) is float64 or any is empty. */
  function f32<P extends Primitive>(prim: P, body: Kernel<P>, valueInputs = Infinity): Kernel<P> {
    return (inputs, params) => {
      for (let k = 0; k < inputs.length; k++) {
        const t = inputs[k];
        if (t.size === 0) return (cpuKernels[prim] as Kernel<P>)(inputs, params);
        if (k < valueInputs && t.dtype === 'float64') {
          warnFloat64(prim);
          return (cpuKernels[prim] as Kernel<P>)(inputs, params);
        }
      }
      return body(inputs, params);
    };
  }
  const unary = (op: Parameters<typeof ew.unary>[0]): Kernel<typeof op> => f32(op, ([x]) => outOf(ew.unary(op, x)));
  const binary = (op: Parameters<typeof ew.binary>[0]): Kernel<typeof op> => f32(op, ([a, b]) => outOf(ew.binary(op, a, b)));
  const reduce = (op: 'sum' | 'prod' | 'max' | 'min'): Kernel<typeof op> =>
    f32(op, ([x], p) => wrap(red.reduce(op, x, p.axes), keptShape(x.shape, p.axes, p.keepDims)));
  const argReduce = (op: 'argmax' | 'argmin'): Kernel<typeof op> => f32(op, ([x], p) => {
    // indices are float64 by contract, so they come back to the CPU: a synchronous read WebGPU cannot do
    if (dev.async) throw new Error(`gpu (webgpu) ${op}: the indices are a float64 CPU tensor, which needs a synchronous read of the device; on WebGPU read the values with \`await x.dataAsync()\` and find the ${op === 'argmax' ? 'maximum' : 'minimum'} there`);
    const flat = p.axis === null;
    const src = flat ? wrap(dev.upload(x), [x.size]) : x;
    const axis = flat ? 0 : p.axis!;
    const values = Float64Array.from(red.argReduce(op, src, axis).read());
    const shape = flat ? (p.keepDims ? x.shape.map(() => 1) : []) : keptShape(x.shape, [axis], p.keepDims);
    return new Tensor(ndarray(values, shape));
  });
  return {
    neg: unary('neg'), exp: unary('exp'), expm1: unary('expm1'), log: unary('log'), log1p: unary('log1p'),
    sqrt: unary('sqrt'), abs: unary('abs'), sign: unary('sign'), sin: unary('sin'), cos: unary('cos'), tan: unary('tan'),
    asin: unary('asin'), acos: unary('acos'), atan: unary('atan'), sinh: unary('sinh'), cosh: unary('cosh'),
    tanh: unary('tanh'), sigmoid: unary('sigmoid'), relu: unary('relu'), erf: unary('erf'),
    add: binary('add'), sub: binary('sub'), mul: binary('mul'), div: binary('div'), pow: binary('pow'),
    maximum: binary('maximum'), minimum: binary('minimum'), atan2: binary('atan2'), mod: binary('mod'),
    gt: binary('gt'), ge: binary('ge'), lt: binary('lt'), le: binary('le'), eq: binary('eq'), ne: binary('ne'),
    where: f32('where', ([c, a, b]) => outOf(ew.where(c, a, b)), 3),
    cast: (inputs, p) => {
      const [x] = inputs;
      if (p.dtype === 'float64' || x.size === 0) return cpuKernels.cast(inputs, p);
      return wrap(dev.upload(x), x.shape);
    },
    sum: reduce('sum'), prod: reduce('prod'), max: reduce('max'), min: reduce('min'),
    argmax: argReduce('argmax'), argmin: argReduce('argmin'),
    matmul: f32('matmul', ([a, b]) => outOf(red.matmul(a, b))),
    reshape: f32('reshape', ([x], p) => wrap(dev.upload(x), p.shape)),
    permute: f32('permute', ([x], p) => wrap(mv.permute(x, p.perm), p.perm.map((d) => x.shape[d]))),
    broadcastTo: f32('broadcastTo', ([x], p) => wrap(mv.broadcastTo(x, p.shape), p.shape)),
    slice: (inputs, p) => (p.size.includes(0) ? cpuKernels.slice(inputs, p) : f32('slice', ([x]) => wrap(mv.slice(x, p), p.size))(inputs, p)),
    concat: (xs, p) => {
      const parts = xs.filter((t) => t.size > 0);
      if (parts.length === 0 || xs.some((t) => t.dtype === 'float64')) {
        if (xs.some((t) => t.dtype === 'float64')) warnFloat64('concat');
        return cpuKernels.concat(xs, p);
      }
      const shape = xs[0].shape.slice();
      shape[p.axis] = xs.reduce((n, t) => n + t.shape[p.axis], 0);
      return wrap(mv.concat(parts, p.axis), shape);
    },
    pad: f32('pad', ([x], p) => wrap(mv.pad(x, p.pads, p.value), x.shape.map((n, d) => n + p.pads[d][0] + p.pads[d][1]))),
    gather: f32('gather', ([x, i], p) => outOf(mv.gather(x, i, p.axis)), 1),
    scatterAdd: f32('scatterAdd', ([s, i], p) => outOf(mv.scatterAdd(s, i, p.axis, p.size)), 1),
    conv2d: f32('conv2d', ([x, w], p) => outOf(nn.conv2d(x, w, p))),
    conv2dBackwardInput: f32('conv2dBackwardInput', ([dy, w], p) => wrap(nn.conv2dBackwardInput(dy, w, p), p.xShape)),
    conv2dBackwardFilter: f32('conv2dBackwardFilter', ([x, dy], p) => wrap(nn.conv2dBackwardFilter(x, dy, p), p.wShape)),
    maxPool2d: f32('maxPool2d', ([x], p) => outOf(nn.maxPool2d(x, p))),
    maxPool2dBackward: f32('maxPool2dBackward', ([x, dy], p) => wrap(nn.maxPool2dBackward(x, dy, p), x.shape)),
    maxPool2dGather: f32('maxPool2dGather', ([x, v], p) => outOf(nn.maxPool2dGather(x, v, p))),
    avgPool2d: f32('avgPool2d', ([x], p) => outOf(nn.avgPool2d(x, p))),
    avgPool2dBackward: f32('avgPool2dBackward', ([dy], p) => wrap(nn.avgPool2dBackward(dy, p), p.xShape)),
  };
}

/** The shape after reducing `axes`, keeping them as 1s when `keepDims`. */
function keptShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((n, d) => (axes.includes(d) ? 1 : n)) : shape.filter((_, d) => !axes.includes(d));
}
