/**
 * Which gpu.js device the GPU specs run on. `FLUXION_GPU_MODE` forces a gpu.js mode (`cpu`
 * runs the generated kernels in JavaScript, which checks their logic on any machine;
 * `webgpu` installs `navigator.gpu` from the `webgpu` package first, see ./dawn.ts);
 * otherwise the best device gpu.js finds (headless-gl under Xvfb, WebGL in a browser).
 * Where none starts the specs say so plainly and pass, except with `FLUXION_GPU_REQUIRED=1`
 * (CI's GPU legs), where they fail.
 */
import { gpuBackend, type GpuBackend } from '../../../src/backend/gpu/index.js';
import { setDeviceBackend } from '../../../src/backend/index.js';
import { setBackend } from '../../../src/index.js';
import { installDawn } from './dawn.js';

export const required = process.env.FLUXION_GPU_REQUIRED === '1';
const forced = process.env.FLUXION_GPU_MODE;

/** The backend under test (started and probed), or `undefined` with the reason printed. */
export async function deviceUnderTest(spec: string): Promise<GpuBackend | undefined> {
  let why = '';
  let via = '';
  if (forced === 'webgpu' && (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === undefined) {
    try {
      via = `, ${await installDawn()}`;
    } catch (e) {
      why = (e as Error).message;
    }
  }
  const b = gpuBackend(forced ? { mode: forced } : {});
  if (why === '' && b.available()) {
    try {
      await b.ready();
      console.log(`${spec}: running on gpu.js mode '${b.mode!()}'${forced ? ' (forced by FLUXION_GPU_MODE)' : ''}${via}`);
      return b;
    } catch (e) {
      why = (e as Error).message;
    }
  }
  why ||= b.unavailableReason?.() ?? 'no device';
  if (required) throw new Error(`${spec}: FLUXION_GPU_REQUIRED=1 but no GPU device starts: ${why}`);
  console.log(`${spec}: SKIPPED, no GPU device here (${why}). Run under xvfb-run with gl built (scripts/gpu-headless-gl.sh), FLUXION_GPU_MODE=webgpu with Mesa's EGL (scripts/gpu-webgpu.sh), or set FLUXION_GPU_MODE=cpu to check the kernels in gpu.js's CPU mode.`);
  return undefined;
}

/** Whether the device under test reads only asynchronously (WebGPU). */
export const asyncOnly = (b: GpuBackend): boolean => b.device()?.async === true;

/** Run `body` with the GPU backend `b` selected, then go back to the CPU (`b` stays installed as the device). */
export function onGpu<T>(b: GpuBackend, body: () => T): T {
  setDeviceBackend(b);
  setBackend('gpu');
  try {
    return body();
  } finally {
    setBackend('cpu');
  }
}

/** Put the default device backend back (end of a spec file). */
export function restoreDevice(): void {
  setBackend('cpu');
  setDeviceBackend(gpuBackend());
}
