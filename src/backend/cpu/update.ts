/**
 * The optimisers' float32 updates in WebAssembly SIMD (./wasm/update-kernel.ts), for the
 * rules' fast paths (src/optimise/rules.ts): Adam and Descent. Parameters, gradient (and
 * Adam's moments) are staged into the single-thread engine's memory, updated four at a time,
 * and copied back; resident ones (../resident.ts) are updated where they are. On the MLP benchmark's 110k parameters the scalar float64 loops cost
 * ~0.65 ms (Adam: one sqrt and one division per element) and ~0.4 ms (Descent) a step;
 * staging is plain memcpy.
 */
import { CONTROL_BYTES, MAX_PAGES, type WasmGemmEngine } from './wasm/gemm-kernel.js';
import { buildUpdateModule } from './wasm/update-kernel.js';
import { singleThreadEngine } from './gemm.js';
import { runtime } from './runtime.js';

interface UpdateExports {
  adam_f32(
    x: number, g: number, m: number, v: number, nvec: number,
    b1: number, b2: number, d1: number, d2: number, c1: number, c2: number, eps: number, eta: number, mode: number,
  ): void;
  descent_f32(x: number, g: number, nvec: number, eta: number): void;
}

type UpdateKernel = { eng: WasmGemmEngine; fn: UpdateExports };
let kernel: UpdateKernel | null | undefined;
let residentKernel: UpdateKernel | null | undefined;

function instantiate(eng: WasmGemmEngine | null): UpdateKernel | null {
  if (eng === null) return null;
  try {
    const mod = new WebAssembly.Module(buildUpdateModule({ shared: eng.shared, maxPages: MAX_PAGES }));
    return { eng, fn: new WebAssembly.Instance(mod, { env: { memory: eng.memory } }).exports as unknown as UpdateExports };
  } catch {
    return null; // the scalar loop covers it
  }
}

function getKernel(): UpdateKernel | null {
  if (kernel === undefined) kernel = instantiate(singleThreadEngine());
  return kernel;
}

/**
 * The kernel on the runtime's shared memory, for arrays that live there (../resident.ts):
 * they are updated in place, and only the gradient is staged. Copies in and out of shared
 * memory are slower than private ones, so staging a resident parameter through the private
 * engine cost more than the update itself (Adam on 100k float32: 244 vs 174 µs).
 */
function getResidentKernel(): UpdateKernel | null {
  if (residentKernel === undefined) {
    const eng = runtime()?.engine ?? null;
    residentKernel = eng !== null && eng.shared ? instantiate(eng) : null;
  }
  return residentKernel;
}

/** Byte addresses of `arrays` if all are resident and whole vectors long (no padding lanes to write), else null. */
function inPlace(k: UpdateKernel | null, n: number, ...arrays: Float32Array[]): number[] | null {
  if (k === null || n % 4 !== 0) return null;
  const at = arrays.map((a) => k.eng.residentAddress(a));
  return at.every((p) => p >= 0) ? at : null;
}

/** Stage `g` (n a multiple of 4) into the shared arena; its byte address. */
function stageGradient(k: UpdateKernel, g: Float32Array): number {
  const { f32: mem } = k.eng.reserve(CONTROL_BYTES + g.length * 4);
  mem.set(g, CONTROL_BYTES >> 2);
  return CONTROL_BYTES;
}

/**
 * Below this many parameters the scalar loops win (staging and the call cost a few µs).
 * @internal Exposed for tests, which set it to 0 to reach the kernels on small arrays.
 */
export const updateTuning = { minElements: 256 };

/** Adam's hyperparameters for one step, with the bias corrections already computed. */
export interface AdamStep {
  b1: number; b2: number; c1: number; c2: number; epsilon: number; eta: number;
}

/**
 * One Adam step on float32 arrays of equal length, in place on `m` and `v`; the step is
 * subtracted from `x` (`out` null) or written to `out`. Returns false (doing nothing) when the
 * kernel is unavailable or the arrays are too small to be worth it; the caller then runs its
 * scalar loop.
 */
export function adamF32(h: AdamStep, x: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array | null): boolean {
  const n = x.length;
  if (n < updateTuning.minElements) return false;
  const rk = getResidentKernel();
  const at = out === null ? inPlace(rk, n, x, m, v) : null;
  if (at !== null && rk !== null) {
    rk.fn.adam_f32(at[0]!, stageGradient(rk, g), at[1]!, at[2]!, n >> 2, h.b1, h.b2, 1 - h.b1, 1 - h.b2, h.c1, h.c2, h.epsilon, h.eta, 0);
    return true;
  }
  const k = getKernel();
  if (k === null) return false;
  const np = (n + 3) & ~3, bytes = np * 4;
  const xp = CONTROL_BYTES, gp = xp + bytes, mp = gp + bytes, vp = mp + bytes;
  const { f32: mem } = k.eng.reserve(vp + bytes);
  mem.set(x, xp >> 2);
  mem.set(g, gp >> 2);
  mem.set(m, mp >> 2);
  mem.set(v, vp >> 2);
  if (np > n) {
    // padding lanes: g = m = v = 0 gives a step of 0, never NaN
    for (const p of [xp, gp, mp, vp]) mem.fill(0, (p >> 2) + n, (p >> 2) + np);
  }
  k.fn.adam_f32(xp, gp, mp, vp, np >> 2, h.b1, h.b2, 1 - h.b1, 1 - h.b2, h.c1, h.c2, h.epsilon, h.eta, out === null ? 0 : 1);
  (out ?? x).set(mem.subarray(xp >> 2, (xp >> 2) + n));
  m.set(mem.subarray(mp >> 2, (mp >> 2) + n));
  v.set(mem.subarray(vp >> 2, (vp >> 2) + n));
  return true;
}

/**
 * One Descent step, x −= η·g, on float32 arrays of equal length (product and difference
 * rounded in float32). Returns false (doing nothing) when the kernel is unavailable or the
 * arrays are too small; the caller then runs its scalar loop.
 */
export function descentF32(eta: number, x: Float32Array, g: Float32Array): boolean {
  const n = x.length;
  if (n < updateTuning.minElements) return false;
  const rk = getResidentKernel();
  const at = inPlace(rk, n, x);
  if (at !== null && rk !== null) {
    rk.fn.descent_f32(at[0]!, stageGradient(rk, g), n >> 2, eta);
    return true;
  }
  const k = getKernel();
  if (k === null) return false;
  const np = (n + 3) & ~3, bytes = np * 4;
  const xp = CONTROL_BYTES, gp = xp + bytes;
  const { f32: mem } = k.eng.reserve(gp + bytes);
  mem.set(x, xp >> 2);
  mem.set(g, gp >> 2);
  if (np > n) for (const p of [xp, gp]) mem.fill(0, (p >> 2) + n, (p >> 2) + np);
  k.fn.descent_f32(xp, gp, np >> 2, eta);
  x.set(mem.subarray(xp >> 2, (xp >> 2) + n));
  return true;
}
