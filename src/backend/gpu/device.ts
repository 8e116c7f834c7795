/**
 * The gpu.js device: loading gpu.js, choosing its mode, and a cache of compiled kernels.
 * Every kernel is generated as JavaScript source with its shapes baked in as constants (so
 * loops have constant bounds, which WebGL 1 requires) and writes one float per output
 * element into a flat output of the tensor's size; the source text is the cache key, so a
 * kernel is compiled once per shape and operation. Results stay on the device as textures
 * (`pipeline: true`, `immutable: true`: every call gets a texture of its own).
 */
import type { GPU as GPUType, IKernelRunShortcut } from 'gpu.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DeviceBuffer, bufferOf, memoryStats, type DeviceValue } from './storage.js';

type GpuModule = typeof import('gpu.js');
/** gpu.js modes that use a real device, best first. */
export const DEVICE_MODES = ['webgl2', 'webgl', 'headlessgl', 'gpu'];

let gpuModule: GpuModule | null | undefined;
let loadFailure = '';

/** Load gpu.js synchronously: Node through `createRequire`, a browser page through its global `GPU`. */
export function loadGpuJs(): GpuModule | null {
  if (gpuModule !== undefined) return gpuModule;
  gpuModule = null;
  try {
    const g = globalThis as unknown as { GPU?: GpuModule['GPU'] | { GPU: GpuModule['GPU'] }; process?: NodeJS.Process };
    if (g.GPU) gpuModule = ('GPU' in g.GPU ? g.GPU : { GPU: g.GPU }) as GpuModule;
    else {
      const mod = g.process?.getBuiltinModule?.('node:module') as typeof import('node:module') | undefined;
      if (mod) gpuModule = mod.createRequire(import.meta.url)('gpu.js') as GpuModule;
      else loadFailure = 'gpu.js could not be loaded (no global GPU on this page, and no Node module loader)';
    }
  } catch (e) {
    gpuModule = null;
    loadFailure = `gpu.js could not be loaded: ${(e as Error).message.split('\n')[0]}`;
  }
  return gpuModule;
}

/** Why {@link loadGpuJs} failed. */
export const gpuJsLoadFailure = (): string => loadFailure;

/** Compile and run times of one cached kernel. */
export interface KernelTiming {
  /** The operation it implements. */
  readonly op: string;
  /** Milliseconds of the first call (gpu.js builds and compiles the shader then). */
  firstCallMs: number;
  /** Calls after the first, and their total milliseconds (launch time: GL runs asynchronously until a read). */
  calls: number;
  totalMs: number;
}

/** A kernel argument: a device value, or a one-element input passed as a number. */
export type KernelArg = DeviceValue | number;

const now = (): number => globalThis.performance.now();

/** A started gpu.js instance with its kernel cache. */
export class GpuDevice {
  private readonly kernels = new Map<string, { run: IKernelRunShortcut; timing: KernelTiming }>();
  /** Whether results are textures (a GL mode) or arrays (gpu.js's CPU modes). */
  readonly textures: boolean;

  /** The gpu.js mode in use: the kernel type it chose ('webgl2', 'webgl', 'headlessgl'), where gpu.js itself says only 'gpu'. */
  readonly mode: string;

  constructor(readonly gpu: GPUType, m: GpuModule) {
    this.textures = gpu.mode !== 'cpu' && gpu.mode !== 'webasm';
    const K = (gpu as unknown as { Kernel?: unknown }).Kernel;
    const kinds: [string, unknown][] = [['webgl2', m.WebGL2Kernel], ['webgl', m.WebGLKernel], ['headlessgl', m.HeadlessGLKernel]];
    this.mode = kinds.find(([, k]) => k !== undefined && k === K)?.[0] ?? gpu.mode ?? 'unknown';
  }

  /** Timing of every kernel compiled so far. */
  timings(): KernelTiming[] {
    return [...this.kernels.values()].map((k) => k.timing);
  }

  /** Run generated kernel `source` (a `function (…) {…}` over `this.thread.x`) with `size` outputs. */
  run(op: string, source: string, size: number, args: KernelArg[]): DeviceBuffer {
    const key = `${size}|${source}`;
    let k = this.kernels.get(key);
    const first = k === undefined;
    if (k === undefined) {
      const run = this.gpu.createKernel(source, {
        output: [size], pipeline: this.textures, immutable: true, precision: 'single', tactic: 'precision',
      } as never) as IKernelRunShortcut;
      k = { run, timing: { op, firstCallMs: 0, calls: 0, totalMs: 0 } };
      this.kernels.set(key, k);
    }
    const t0 = now();
    const out = k.run(...(args as never[])) as unknown as DeviceValue;
    const dt = now() - t0;
    if (first) k.timing.firstCallMs = dt;
    else {
      k.timing.calls++;
      k.timing.totalMs += dt;
    }
    return new DeviceBuffer(out instanceof Float32Array ? out : out, size);
  }

  /** A device buffer with the values of `t` (a copy of its row-major values; float64 is rounded). */
  upload(t: Tensor): DeviceBuffer {
    const own = bufferOf(t);
    if (own !== undefined) return own;
    memoryStats.uploads++;
    const values = t.dtype === 'float32' ? (t.data as Float32Array) : Float32Array.from(t.data);
    if (!this.textures) return new DeviceBuffer(values.slice(), t.size);
    return this.run('upload', 'function (a) { return a[this.thread.x]; }', t.size, [values]);
  }
}
