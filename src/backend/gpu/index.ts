/**
 * The gpu.js backend. It runs the heavy primitives (matrix products so far) through gpu.js
 * kernels on a WebGL/WebGPU device where there is one. gpu.js is loaded on first use, not at
 * import, since loading it costs ~130 ms. On a machine without a GPU gpu.js would fall back
 * to its own CPU/WebAssembly modes, which are slower than our CPU backend, so `available()`
 * is false there and `setBackend('gpu')` warns and stays on the CPU. Tests force those
 * fallback modes (`gpuBackend({ mode })`) to check the kernels' parity with the CPU.
 */
import ndarray from 'ndarray';
import type { GPU as GPUType, IKernelFunctionThis, IKernelRunShortcut } from 'gpu.js';
import type { Backend } from '../index.js';
import type { Primitive } from '../../ops/primitive.js';
import { Tensor } from '../../tensor/tensor.js';
import { matmul as cpuMatmul } from '../cpu/matmul.js';

type GpuModule = typeof import('gpu.js');
/** gpu.js modes that use a real device. */
const DEVICE_MODES = ['gpu', 'webgl', 'webgl2', 'headlessgl', 'webgpu'];

let gpuModule: GpuModule | null | undefined;
/** Why gpu.js could not be loaded, when it could not. */
let loadFailure = '';

/** Load gpu.js synchronously: Node through `createRequire`, a browser page through its global `GPU`. */
function loadGpuJs(): GpuModule | null {
  if (gpuModule !== undefined) return gpuModule;
  gpuModule = null;
  try {
    const g = globalThis as unknown as { GPU?: GpuModule['GPU']; process?: NodeJS.Process };
    if (g.GPU) gpuModule = { GPU: g.GPU } as GpuModule;
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

/** Options of {@link gpuBackend}. */
export interface GpuBackendOptions {
  /** Force a gpu.js mode ('webgl', 'webgpu', … or, for parity tests, 'cpu'/'webasm'). Default: a device mode if one exists. */
  mode?: string;
}

/** Smallest matrix product (m·n·k) worth a device launch under `'auto'`; device launch and transfer cost ~1 ms. */
const AUTO_MIN_FLOPS = 256 * 256 * 256;

/** Create a gpu.js-backed backend. */
export function gpuBackend(options: GpuBackendOptions = {}): Backend {
  let gpu: GPUType | null | undefined;
  let reason = '';
  const kernels = new Map<string, IKernelRunShortcut>();
  const device = (): GPUType | null => {
    if (gpu !== undefined) return gpu;
    gpu = null;
    const m = loadGpuJs();
    if (!m) {
      reason = loadFailure;
      return null;
    }
    try {
      const g = new m.GPU(options.mode ? { mode: options.mode as 'gpu' } : {});
      if (options.mode !== undefined || DEVICE_MODES.includes(g.mode)) gpu = g;
      else reason = `gpu.js found no WebGL/WebGPU context (it would run in its '${g.mode}' mode, slower than the CPU backend)`;
    } catch (e) {
      gpu = null;
      reason = `gpu.js could not start: ${(e as Error).message.split('\n')[0]}`;
    }
    return gpu;
  };
  const matmulKernel = (): IKernelRunShortcut => {
    let k = kernels.get('matmul');
    if (!k) {
      k = device()!.createKernel(
        function (this: IKernelFunctionThis, a: number[], b: number[], kk: number, n: number) {
          let s = 0;
          for (let i = 0; i < kk; i++) s += a[this.thread.y * kk + i] * b[i * n + this.thread.x];
          return s;
        },
        { dynamicOutput: true, dynamicArguments: true, precision: 'single', tactic: 'precision' },
      ).setLoopMaxIterations(1 << 20);
      kernels.set('matmul', k);
    }
    return k;
  };
  return {
    name: 'gpu',
    available: () => device() !== null,
    mode: () => device()?.mode,
    unavailableReason: () => (device() === null ? reason : undefined),
    worthIt(prim: Primitive, inputs: Tensor[]): boolean {
      if (prim !== 'matmul' || inputs.some((t) => t.dtype !== 'float32')) return false;
      const [a, b] = inputs;
      return a.shape[a.ndim - 2] * a.shape[a.ndim - 1] * b.shape[b.ndim - 1] >= AUTO_MIN_FLOPS;
    },
    kernels: {
      // 2-d float32 products on the device. Batched and empty products, and float64 ones (which
      // the device would silently compute in single precision), run on the CPU kernel.
      matmul: ([a, b]) => {
        if (a.ndim !== 2 || b.ndim !== 2 || a.dtype !== 'float32' || b.dtype !== 'float32' || a.size === 0 || b.size === 0) {
          return cpuMatmul(a, b);
        }
        const [m, k] = a.shape, n = b.shape[1];
        const kernel = matmulKernel();
        kernel.setOutput([n, m]);
        const rows = kernel(Float32Array.from(a.data), Float32Array.from(b.data), k, n) as Float32Array[];
        const out = new Float32Array(m * n);
        for (let i = 0; i < m; i++) out.set(rows[i], i * n);
        return new Tensor(ndarray(out, [m, n]));
      },
    },
  };
}
