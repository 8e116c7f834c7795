/**
 * Device storage of the gpu.js backend. A tensor on the device holds a {@link GpuStorage},
 * which points at a {@link DeviceBuffer}: a gpu.js texture (the GL modes, `pipeline: true`),
 * a {@link PendingResult} (gpu.js's WebGPU mode, whose kernels return promises) or, in
 * gpu.js's CPU modes that tests force, a Float32Array. Buffers are immutable once
 * written; reshapes share one, `assign` swaps in a new one. A buffer's texture is deleted by a
 * `FinalizationRegistry` when the garbage collector reclaims the last tensor that uses it, so
 * user code never disposes anything.
 */
import ndarray from 'ndarray';
import type { DeviceStorage } from '../../tensor/tensor.js';
import { Tensor } from '../../tensor/tensor.js';
import type { FloatArray } from '../../tensor/dtype.js';
import type { GpuDevice } from './device.js';

/** The part of a gpu.js texture this backend uses. */
export interface TextureLike {
  toArray(): unknown;
  delete(): void;
}

/** What a device buffer holds: a texture, a WebGPU result still being computed, or the values themselves (gpu.js CPU modes). */
export type DeviceValue = TextureLike | PendingResult | Float32Array;

/** The message of a synchronous read on WebGPU. */
export const SYNC_READ_ON_WEBGPU =
  'gpu: this tensor lives in a WebGPU buffer, which cannot be read synchronously (item(), toArray(), data, get()); ' +
  'use `await x.dataAsync()` or `await x.array()`';

/**
 * The output of a gpu.js WebGPU kernel: a promise of its buffer handle. Kernels are queued
 * behind the promises of their inputs, so operations return at once and run in dependency
 * order. `users` counts queued kernels that read this result: a `delete` from the finalizer
 * waits until they have been submitted.
 */
export class PendingResult {
  private users = 0;
  private dead = false;
  constructor(readonly ready: Promise<TextureLike>) {
    // a failure is reported when the result is read (and at the device's next kernel); no unhandled rejection
    ready.catch(() => {});
  }

  /** A kernel that reads this result has been queued. */
  retain(): void {
    this.users++;
  }

  /** That kernel has been submitted (or failed). */
  release(): void {
    if (--this.users === 0 && this.dead) this.free();
  }

  /** Free the buffer once no queued kernel needs it. */
  delete(): void {
    this.dead = true;
    if (this.users === 0) this.free();
  }

  private free(): void {
    this.ready.then((h) => h.delete(), () => {});
  }
}

const isPending = (v: DeviceValue): v is PendingResult => v instanceof PendingResult;

/** Counters of the device memory and transfers (specs and the bench read them). */
export interface GpuMemoryStats {
  /** Textures alive now (created and not yet deleted by the finalizer). */
  liveTextures: number;
  /** Float32 elements held by the live textures. */
  liveElements: number;
  /** Device → CPU reads since start. */
  reads: number;
  /** CPU → device uploads since start. */
  uploads: number;
}

/** @internal The counters; mutated by this module and by uploads in ./device.ts. */
export const memoryStats: GpuMemoryStats = { liveTextures: 0, liveElements: 0, reads: 0, uploads: 0 };

const finalizer = new FinalizationRegistry<{ texture: { delete(): void }; size: number }>(({ texture, size }) => {
  texture.delete();
  memoryStats.liveTextures--;
  memoryStats.liveElements -= size;
});

/** One immutable block of device memory holding `size` float32 values in row-major order. */
export class DeviceBuffer {
  /** `owner`: the device that made it (unset for CPU-mode arrays made outside a device). */
  constructor(readonly value: DeviceValue, readonly size: number, readonly owner?: GpuDevice) {
    if (!(value instanceof Float32Array)) {
      memoryStats.liveTextures++;
      memoryStats.liveElements += size;
      finalizer.register(this, { texture: value, size });
    }
  }

  /** The values, copied to the CPU (throws on WebGPU, which reads only asynchronously). */
  read(): Float32Array {
    const v = this.value;
    if (isPending(v)) throw new Error(SYNC_READ_ON_WEBGPU);
    memoryStats.reads++;
    if (v instanceof Float32Array) return v.slice();
    return this.compact(v.toArray());
  }

  /** The values, copied to the CPU without blocking (WebGPU maps a staging buffer; GL reads at once). */
  async readAsync(): Promise<Float32Array> {
    const v = this.value;
    if (!isPending(v)) return this.read();
    memoryStats.reads++;
    return this.compact(await (await v.ready).toArray());
  }

  private compact(a: unknown): Float32Array {
    if (a instanceof Float32Array) return a.length === this.size ? a : a.slice(0, this.size);
    return Float32Array.from(a as ArrayLike<number>);
  }
}

/** Storage of a float32 tensor that lives on the gpu.js device. */
export class GpuStorage implements DeviceStorage {
  readonly backend = 'gpu';
  constructor(public buffer: DeviceBuffer, private readonly upload: (t: Tensor) => DeviceBuffer) {}

  read(): FloatArray {
    return this.buffer.read();
  }

  /** WebGPU reads without blocking; the GL modes read at once. */
  readAsync(): Promise<FloatArray> {
    return this.buffer.readAsync();
  }

  /** `assign` on a device tensor: the new values (already of this shape) replace the buffer. */
  write(value: Tensor): void {
    this.buffer = this.upload(value);
  }
}

/** The device buffer of a tensor on this backend, if it is one. */
export function bufferOf(t: Tensor): DeviceBuffer | undefined {
  const s = t.device;
  return s instanceof GpuStorage ? s.buffer : undefined;
}

/** A float32 tensor of `shape` over `buffer`. Empty tensors stay on the CPU (gpu.js cannot make an empty output). */
export function deviceTensor(buffer: DeviceBuffer | null, shape: readonly number[], upload: (t: Tensor) => DeviceBuffer): Tensor {
  if (buffer === null) return new Tensor(ndarray(new Float32Array(0), shape.slice()));
  return new Tensor(new GpuStorage(buffer, upload), shape.slice(), 'float32');
}
