/**
 * WebGPU in Node for the specs: `navigator.gpu` from the `webgpu` package (Dawn), on Mesa's
 * OpenGL ES driver. Debian 12's software Vulkan (lavapipe) is rejected by Dawn, so Dawn's
 * OpenGL ES backend is asked for (`backend=opengles`, with `EGL_PLATFORM=surfaceless` set by
 * scripts/gpu-webgpu.sh so that EGL needs no display), and the adapter is requested at the
 * compatibility feature level, the one that backend offers. gpu.js asks `navigator.gpu` for
 * an adapter without options, so the wrapper adds the feature level.
 *
 * `FLUXION_DAWN_BACKEND` picks another Dawn backend where the machine has one (`vulkan` on a
 * machine with a GPU driver, or `default` for Dawn's own choice); those get a core-level adapter.
 */
interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<unknown>;
}

/** Install `navigator.gpu` backed by Dawn; returns a description of what it set up, or throws why not. */
export async function installDawn(): Promise<string> {
  let dawn: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  try {
    // resolved from the project: webgpu@0.6.2 (gpu.js itself pins 0.2.9, whose binary needs a newer libstdc++ than Debian 12's)
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (e) {
    throw new Error(`the 'webgpu' package (Dawn for Node) does not load here: ${(e as Error).message.split('\n')[0]}`);
  }
  // the constants gpu.js uses (GPUBufferUsage, GPUMapMode, …); not the interface class GPU, which would shadow a page's gpu.js global
  for (const [k, v] of Object.entries(dawn.globals)) if (k !== 'GPU' && !(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  const backend = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FLUXION_DAWN_BACKEND ?? 'opengles';
  const gles = backend === 'opengles';
  const instance = dawn.create(backend === 'default' ? [] : [`backend=${backend}`]);
  const api = {
    requestAdapter: (options: Record<string, unknown> = {}) => instance.requestAdapter(gles ? { featureLevel: 'compatibility', ...options } : options),
    getPreferredCanvasFormat: () => 'rgba8unorm',
    wgslLanguageFeatures: new Set<string>(),
  };
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav !== undefined) Object.defineProperty(nav, 'gpu', { value: api, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: api }, configurable: true });
  const adapter = (await api.requestAdapter()) as { info?: { description?: string } } | null;
  if (adapter === null) {
    throw new Error(gles ? "Dawn found no adapter on its OpenGL ES backend (is Mesa's EGL installed, and EGL_PLATFORM=surfaceless set?)" : `Dawn found no adapter on its '${backend}' backend`);
  }
  return `Dawn (webgpu package) on ${gles ? 'OpenGL ES' : backend}: ${adapter.info?.description || 'adapter without a description'}`;
}
