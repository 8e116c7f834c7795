/**
 * Backend selection. The CPU backend implements every primitive; a device backend may
 * implement a subset and receives only the calls worth its launch cost. `bind` is the
 * single point through which every primitive runs.
 */
import type { Kernel, KernelTable, Primitive, PrimitiveParams } from '../ops/primitive.js';
import type { Tensor } from '../tensor/tensor.js';
import { cpuKernels } from './cpu/index.js';
import { gpuBackend } from './gpu/index.js';
import { adHooks } from '../ad/hooks.js';

/** Which backend runs operations: `'auto'` picks per call by operation and size. */
export type BackendName = 'cpu' | 'gpu' | 'auto';

/** A backend: a (possibly partial) kernel table and, for device backends, when a call is worth sending. */
export interface Backend {
  readonly name: 'cpu' | 'gpu';
  readonly kernels: Partial<KernelTable>;
  /** Whether the backend can run here (a device backend may not find a device). */
  available(): boolean;
  /** For `'auto'`: does this call pay for itself on this backend? */
  worthIt?(prim: Primitive, inputs: Tensor[]): boolean;
  /** The device mode in use (gpu.js: `'webgl2'`, `'headlessgl'`, …), when available. */
  mode?(): string | undefined;
  /** Why the backend cannot run here, when `available()` is false. */
  unavailableReason?(): string | undefined;
  /** Resolves once the device has started (WebGPU starts asynchronously). */
  ready?(): Promise<void>;
}

/** What {@link backendInfo} reports: the backend asked for, the one that runs, and why they differ. */
export interface BackendInfo {
  /** What the last {@link setBackend} call asked for (`'cpu'` by default). */
  readonly requested: BackendName;
  /**
   * What runs operations: `'cpu'`; `'gpu'` (every operation the device backend implements);
   * `'auto'` (per call, between the device and the CPU). `'cpu'` whenever no device can start.
   */
  readonly active: BackendName;
  /** The device's mode when one is in use (gpu.js: `'webgl2'`, `'headlessgl'`, `'webgpu'`, …). */
  readonly device: string | undefined;
  /** Why `active` differs from `requested` (e.g. no WebGL/WebGPU context); `undefined` when they agree. */
  readonly reason: string | undefined;
}

/** The device backend, created on first use (creating it at load would close an import cycle through gpu/). */
let deviceSlot: Backend | undefined | null = null;
const deviceBackend = (): Backend | undefined => (deviceSlot === null ? (deviceSlot = gpuBackend()) : deviceSlot);
let selected: BackendName = 'cpu';
let warned = false;

/** @internal The device backend when one can run here (used by `gpu(model)`), else `undefined`. */
export function availableDeviceBackend(): Backend | undefined {
  const d = deviceBackend();
  return d !== undefined && d.available() ? d : undefined;
}

/** @internal Replace the device backend (tests use this to run gpu.js kernels in its CPU modes). */
export function setDeviceBackend(b: Backend | undefined): void {
  deviceSlot = b;
  warned = false;
}

/** A gpu.js device mode that {@link setBackend} can be asked for. */
export type DeviceMode = 'webgpu' | 'webgl2' | 'webgl' | 'headlessgl';
const DEVICE_MODES: readonly DeviceMode[] = ['webgpu', 'webgl2', 'webgl', 'headlessgl'];

/** Options of {@link setBackend}. */
export interface SetBackendOptions {
  /**
   * Force gpu.js's device mode instead of its best synchronous one (WebGL2, WebGL,
   * headless-gl). `'webgpu'` is never picked by default: its kernels run asynchronously, so
   * values are read only with `await x.dataAsync()` / `await x.array()`; await
   * {@link backendReady} before the first operation.
   */
  device?: DeviceMode;
}

/**
 * Choose where operations run. `'gpu'` sends every operation the GPU backend implements
 * there; `'auto'` only those large enough to pay for it. If the GPU backend cannot start
 * here, a warning is printed once and everything runs on the CPU.
 */
export function setBackend(name: BackendName, options: SetBackendOptions = {}): void {
  if (name !== 'cpu' && name !== 'gpu' && name !== 'auto') {
    throw new TypeError(`setBackend: unknown backend ${JSON.stringify(name)}; expected 'cpu', 'gpu' or 'auto'`);
  }
  const { device } = options;
  if (device !== undefined) {
    if (!DEVICE_MODES.includes(device)) {
      throw new TypeError(`setBackend: unknown device ${JSON.stringify(device)}; expected one of ${DEVICE_MODES.map((m) => `'${m}'`).join(', ')}`);
    }
    if (name === 'cpu') throw new TypeError(`setBackend('cpu', { device: '${device}' }): a device mode needs 'gpu' or 'auto'`);
    if (deviceSlot === null || deviceSlot?.mode?.() !== device) setDeviceBackend(gpuBackend({ mode: device }));
  }
  selected = name;
  if (name !== 'cpu' && !(deviceBackend()?.available() ?? false)) {
    if (!warned) {
      console.warn(`fluxion: setBackend('${name}'): no GPU backend can start here (${backendInfo().reason}); running on the CPU`);
      warned = true;
    }
  }
}

/**
 * The backend that actually runs operations: what {@link setBackend} chose, except `'cpu'`
 * where no device can start (then {@link backendInfo} says why).
 */
export function getBackend(): BackendName {
  return backendInfo().active;
}

/**
 * Resolves once the chosen backend can run, with {@link backendInfo}'s answer then: at once on
 * the CPU and the GL modes; after WebGPU has acquired its adapter and device (asynchronous)
 * in `'webgpu'` mode. Rejects with the reason where the device fails to start.
 */
export async function backendReady(): Promise<BackendInfo> {
  if (selected !== 'cpu') {
    const d = deviceBackend();
    if (d !== undefined && d.available()) await d.ready?.();
  }
  return backendInfo();
}

/** Which backend was asked for, which one runs, on which device, and why they differ. */
export function backendInfo(): BackendInfo {
  if (selected === 'cpu') return { requested: 'cpu', active: 'cpu', device: undefined, reason: undefined };
  const device = deviceBackend();
  if (device !== undefined && device.available()) return { requested: selected, active: selected, device: device.mode?.(), reason: undefined };
  const why = device === undefined ? 'no device backend is installed' : device.unavailableReason?.() || 'no WebGL/WebGPU device';
  return { requested: selected, active: 'cpu', device: undefined, reason: why };
}

/** @internal While set, picks kernels for calls on shape-only tensors (shape inference, src/layers/debug.ts). */
let shapeOnly: ((prim: Primitive, inputs: Tensor[]) => Kernel<Primitive> | undefined) | undefined;

/** @internal Install (or remove, with `undefined`) the shape-only dispatch; returns the previous one, for nesting. */
export function setShapeOnlyDispatch(f: typeof shapeOnly): typeof shapeOnly {
  const previous = shapeOnly;
  shapeOnly = f;
  return previous;
}

/** Does an input's storage live on the device (moved there by gpu(model), or a device result)? */
function anyOnDevice(inputs: Tensor[]): boolean {
  for (let i = 0; i < inputs.length; i++) if (inputs[i].device?.backend === 'gpu') return true;
  return false;
}

function kernelFor<P extends Primitive>(prim: P, inputs: Tensor[]): Kernel<P> {
  if (shapeOnly !== undefined) {
    const shaped = shapeOnly(prim, inputs);
    if (shaped !== undefined) return shaped as Kernel<P>;
  }
  // an input on the device takes the operation there whatever setBackend chose, so values do not bounce back
  const onDevice = anyOnDevice(inputs);
  if (selected === 'cpu' && !onDevice) return cpuKernels[prim] as Kernel<P>;
  const device = deviceBackend();
  if (device !== undefined && device.available()) {
    const k = device.kernels[prim] as Kernel<P> | undefined;
    if (k !== undefined && (selected === 'gpu' || onDevice || (device.worthIt?.(prim, inputs) ?? false))) return k;
  }
  return cpuKernels[prim] as Kernel<P>;
}

/**
 * @internal True while every operation on CPU tensors runs the CPU kernels: the CPU backend is
 * selected and no shape-only dispatch is installed. Fused fast paths (e.g. in the derivative
 * rules) check this before computing what the kernels would.
 */
export function cpuDispatch(): boolean {
  return selected === 'cpu' && shapeOnly === undefined;
}

/** Run primitive `prim` on tensors with its parameters. @internal */
export function bind<P extends Primitive>(prim: P, inputs: Tensor[], params: PrimitiveParams[P]): Tensor {
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i]._ad !== undefined) return adHooks.bind!(prim, inputs, params);
  }
  return kernelFor(prim, inputs)(inputs, params);
}
