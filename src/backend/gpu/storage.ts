/**
 * Device storage of the gpu.js backend. A tensor on the device holds a {@link GpuStorage},
 * which points at a {@link DeviceBuffer}: a gpu.js texture (the GL modes, `pipeline: true`)
 * or, in gpu.js's CPU modes that tests force, a Float32Array. Buffers are immutable once
 * written; reshapes share one, `assign` swaps in a new one. A buffer's texture is deleted by a
 * `FinalizationRegistry` when the garbage collector reclaims the last tensor that uses it, so
 * user code never disposes anything.
 */
import ndarray from 'ndarray';
import type { DeviceStorage } from '../../tensor/tensor.js';
import { Tensor } from '../../tensor/tensor.js';
import type { FloatArray } from '../../tensor/dtype.js';

/** The part of a gpu.js texture this backend uses. */
export interface TextureLike {
  toArray(): unknown;
  delete(): void;
}

/** What a device buffer holds: a texture, or the values themselves (gpu.js CPU modes). */
export type DeviceValue = TextureLike | Float32Array;

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

const finalizer = new FinalizationRegistry<{ texture: TextureLike; size: number }>(({ texture, size }) => {
  texture.delete();
  memoryStats.liveTextures--;
  memoryStats.liveElements -= size;
});

/** One immutable block of device memory holding `size` float32 values in row-major order. */
export class DeviceBuffer {
  constructor(readonly value: DeviceValue, readonly size: number) {
    if (!(value instanceof Float32Array)) {
      memoryStats.liveTextures++;
      memoryStats.liveElements += size;
      finalizer.register(this, { texture: value, size });
    }
  }

  /** The values, copied to the CPU. */
  read(): Float32Array {
    memoryStats.reads++;
    const v = this.value;
    if (v instanceof Float32Array) return v.slice();
    const a = v.toArray();
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

  /** The GL modes read synchronously; the promise is for the API that WebGPU would need. */
  readAsync(): Promise<FloatArray> {
    return Promise.resolve(this.buffer.read());
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
