/**
 * The gpu.js device: loading gpu.js, choosing its mode, and a cache of compiled kernels.
 * Every kernel is generated as JavaScript source with its shapes baked in as constants (so
 * loops have constant bounds, which WebGL 1 requires) and writes one float per output
 * element into a flat output of the tensor's size; the source text is the cache key, so a
 * kernel is compiled once per shape and operation. Results stay on the device as textures
 * (`pipeline: true`, `immutable: true`: every call gets a texture of its own).
 *
 * gpu.js's WebGPU mode (`mode: 'webgpu'`, chosen only when asked for) builds kernels and
 * reads buffers asynchronously: each kernel call returns a promise of its output buffer. Here
 * a kernel is queued behind the promises of its inputs and its output is a
 * {@link PendingResult}, so operations still return at once (tensors of known shape whose
 * values are being computed), and reads are `await x.dataAsync()` / `await x.array()`.
 */
import type { GPU as GPUType, IKernelRunShortcut } from 'gpu.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DeviceBuffer, PendingResult, bufferOf, memoryStats, type DeviceValue, type TextureLike } from './storage.js';

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
    // a page's gpu.js bundle sets a global GPU; so does WebGPU (its interface class), which is not gpu.js
    const paged = g.GPU === undefined ? undefined : ('GPU' in g.GPU ? g.GPU.GPU : g.GPU);
    if (typeof (paged as { prototype?: { createKernel?: unknown } } | undefined)?.prototype?.createKernel === 'function') {
      gpuModule = ('GPU' in g.GPU! ? g.GPU : { GPU: g.GPU }) as GpuModule;
    }
    if (gpuModule === null) {
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

/** Add one call's time to a kernel's record: its first call (compilation included) or a steady one. */
function record(timing: KernelTiming, first: boolean, ms: number): void {
  if (first) timing.firstCallMs = ms;
  else {
    timing.calls++;
    timing.totalMs += ms;
  }
}

/** A started gpu.js instance with its kernel cache. */
export class GpuDevice {
  private readonly kernels = new Map<string, { run: IKernelRunShortcut; timing: KernelTiming }>();
  /** Whether results are textures (a GL mode) or arrays (gpu.js's CPU modes). */
  readonly textures: boolean;

  /** The gpu.js mode in use: the kernel type it chose ('webgl2', 'webgl', 'headlessgl', 'webgpu'), where gpu.js itself says only 'gpu'. */
  readonly mode: string;
  /** Whether kernels run asynchronously (WebGPU): results are {@link PendingResult}s, reads are async only. */
  readonly async: boolean;
  /** Most device-value inputs of one kernel: 8 texture units in WebGL 1; 8 storage buffers, one the output, in WebGPU. */
  readonly maxInputs: number;
  /**
   * Source of +∞ inside a kernel. GLSL accepts `1 / 0`; WGSL rejects it as a constant
   * expression, so there it divides by a runtime zero (`i` is every kernel's thread index).
   */
  readonly infinity: string;
  /** The first failure of a queued WebGPU kernel not yet reported (thrown by the next kernel call). */
  private failure: Error | undefined;

  constructor(readonly gpu: GPUType, m: GpuModule) {
    this.textures = gpu.mode !== 'cpu' && gpu.mode !== 'webasm';
    const K = (gpu as unknown as { Kernel?: unknown }).Kernel;
    const kinds: [string, unknown][] = [
      ['webgl2', m.WebGL2Kernel], ['webgl', m.WebGLKernel], ['headlessgl', m.HeadlessGLKernel],
      ['webgpu', (m as unknown as { WebGPUKernel?: unknown }).WebGPUKernel],
    ];
    this.mode = kinds.find(([, k]) => k !== undefined && k === K)?.[0] ?? gpu.mode ?? 'unknown';
    this.async = this.mode === 'webgpu';
    this.maxInputs = this.async ? 7 : 8;
    this.infinity = this.async ? '(1 / (i - i))' : '(1 / 0)';
  }

  /** Timing of every kernel compiled so far. */
  timings(): KernelTiming[] {
    return [...this.kernels.values()].map((k) => k.timing);
  }

  /** Run generated kernel `source` (a `function (…) {…}` over `this.thread.x`) with `size` outputs. */
  run(op: string, source: string, size: number, args: KernelArg[]): DeviceBuffer {
    return this.launch(op, `${size}|${source}`, source, size, size, args);
  }

  /**
   * Run kernel `source` whose threads each return four consecutive outputs (`return [v0, v1,
   * v2, v3]`, gpu.js's `Array(4)`): ⌈size/4⌉ threads, and the result is re-labelled as a flat
   * buffer of `size` floats. That is exact, not a copy: an `Array(4)` output keeps thread t's
   * four values in one RGBA texel (GL) or at 4t…4t+3 of a flat storage buffer (WebGPU), which
   * is the layout of gpu.js's memory-optimised number texture (element i in channel i mod 4 of
   * texel ⌊i/4⌋), the layout its kernels already read. The last thread's spare lanes land in
   * the padding past `size`.
   */
  runPacked(op: string, source: string, size: number, args: KernelArg[]): DeviceBuffer {
    return this.launch(op, `packed ${size}|${source}`, source, Math.ceil(size / 4), size, args, (out) => flatView(out, size));
  }

  /**
   * Build (once per `key`) and call a kernel of `threads` threads whose result is a buffer of
   * `size` floats, seen through `view` when given; times the call as first or steady.
   */
  private launch(
    op: string, key: string, source: string, threads: number, size: number, args: KernelArg[],
    view?: (out: unknown) => DeviceValue,
  ): DeviceBuffer {
    // gpu.js refuses an output of 0 elements; an empty result needs no kernel at all.
    if (size === 0) return new DeviceBuffer(new Float32Array(0), 0, this);
    let k = this.kernels.get(key);
    const first = k === undefined;
    if (k === undefined) {
      const run = this.gpu.createKernel(source, {
        output: [threads], pipeline: this.textures, immutable: true, precision: 'single', tactic: 'precision',
      } as never) as IKernelRunShortcut;
      k = { run, timing: { op, firstCallMs: 0, calls: 0, totalMs: 0 } };
      this.kernels.set(key, k);
    }
    if (this.async) {
      const pending = this.queue(op, k.run, k.timing, first, args);
      const value = view === undefined ? pending : new PendingResult(pending.ready.then((h) => view(h) as TextureLike));
      return new DeviceBuffer(value, size, this);
    }
    const t0 = now();
    const out = k.run(...(args as never[])) as unknown;
    record(k.timing, first, now() - t0);
    return new DeviceBuffer(view === undefined ? (out as DeviceValue) : view(out), size, this);
  }

  /**
   * A WebGPU kernel call queued behind its inputs. The inputs are retained until the call
   * has been submitted (gpu.js submits synchronously once the kernel is built), so the
   * finalizer cannot free a buffer a queued kernel still reads. Timing here is until the
   * submission resolves (the first includes the asynchronous shader build).
   */
  private queue(op: string, run: IKernelRunShortcut, timing: KernelTiming, first: boolean, args: KernelArg[]): PendingResult {
    if (this.failure !== undefined) {
      const e = this.failure;
      this.failure = undefined;
      throw new Error(`gpu (webgpu): an earlier kernel failed: ${e.message.split('\n')[0]}`, { cause: e });
    }
    const inputs = args.filter((a): a is PendingResult => a instanceof PendingResult);
    for (const p of inputs) p.retain();
    const t0 = now();
    const ready = Promise.all(args.map((a) => (a instanceof PendingResult ? a.ready : a)))
      .then((values) => run(...(values as never[])) as unknown as Promise<TextureLike>)
      .then((h) => {
        record(timing, first, now() - t0);
        return h;
      }, (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        const wrapped = new Error(`gpu (webgpu) ${op}: ${err.message}`, { cause: err });
        this.failure ??= wrapped;
        throw wrapped;
      })
      .finally(() => { for (const p of inputs) p.release(); });
    return new PendingResult(ready);
  }

  /** A device buffer with the values of `t` (a copy of its row-major values; float64 is rounded). */
  upload(t: Tensor): DeviceBuffer {
    const own = bufferOf(t);
    if (own !== undefined) return own;
    memoryStats.uploads++;
    // resident CPU storage sits in a SharedArrayBuffer (src/backend/cpu/resident.ts), which GL
    // and WebGPU bindings need not accept: hand them an ordinary copy
    const data = t.data;
    const shared = typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
    const values = t.dtype === 'float32' && !shared ? (data as Float32Array) : new Float32Array(data);
    if (!this.textures) return new DeviceBuffer(values.slice(), t.size, this);
    // a queued WebGPU upload reads its array later: give it a copy the CPU tensor cannot change
    if (this.async) return this.run('upload', 'function (a) { return a[this.thread.x]; }', t.size, [t.dtype === 'float32' ? values.slice() : values]);
    return this.run('upload', 'function (a) { return a[this.thread.x]; }', t.size, [values]);
  }
}

/** GL texture classes of gpu.js, by their float base class: the flat view of an `Array(4)` output. */
const flatTextureClasses = new WeakMap<object, new (settings: object) => TextureLike>();

/**
 * An `Array(4)` kernel output of ⌈size/4⌉ threads as a flat value of `size` floats: a
 * Float32Array in gpu.js's CPU mode; on GL, a texture object over the same GL texture typed
 * `MemoryOptimizedNumberTexture` (so kernels that read it fetch channel i mod 4 of texel ⌊i/4⌋);
 * on WebGPU, a buffer handle over the same storage buffer with one component per element.
 * The original handle is released; the new one holds the reference.
 */
function flatView(out: unknown, size: number): DeviceValue {
  if (Array.isArray(out)) {
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = (out[i >> 2] as Float32Array)[i & 3];
    return values;
  }
  const h = out as TextureLike & Record<string, unknown> & { constructor: new (settings: object) => TextureLike };
  if ('buffer' in h && 'componentCount' in h) {
    const view = new h.constructor({ buffer: h.buffer, output: [size], componentCount: 1, context: h.context, kernel: h.kernel });
    h.delete();
    return view;
  }
  // gpu.js's memory-optimised texture class is not exported: derive it from the float class both extend
  const base = Object.getPrototypeOf(h.constructor) as new (settings: object) => TextureLike & { renderValues(): Float32Array | null; output: number[] };
  let Flat = flatTextureClasses.get(base);
  if (Flat === undefined) {
    Flat = class extends base {
      constructor(settings: object) {
        super(settings);
        (this as unknown as { type: string }).type = 'MemoryOptimizedNumberTexture';
      }
      override toArray(): Float32Array | null {
        return this.renderValues()?.subarray(0, this.output[0]) ?? null;
      }
    };
    flatTextureClasses.set(base, Flat);
  }
  const view = new Flat({ ...h, output: [size], dimensions: [size, 1, 1] });
  h.delete();
  return view;
}
