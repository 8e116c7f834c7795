/**
 * What the page's CPU kernels run on, for the page's report and `spec/examples/browser.spec.ts`:
 * whether the page is cross-origin isolated (so has SharedArrayBuffer), which gemm variants
 * exist here, and the worker pool's size and jobs. These are fluxion internals, reached
 * through this repository's `src/` (a project of your own needs none of this: fluxion picks
 * its kernels by itself).
 *
 * The `gemm` query parameter forces one gemm variant (`js`, `wasm` or `threaded`) for the
 * whole run; without it fluxion dispatches by size, which for this MLP on batches of 128 is
 * the single-thread wasm kernel (the products stay below the pool's 256³ crossover).
 */
import { gemmThreadPool, gemmVariants, setGemmVariant, type GemmVariant } from '../../src/backend/cpu/gemm.js';
import { hardwareThreads, threadHost } from '../../src/backend/cpu/threads.js';

/** The page's kernel report (`mnistResult.kernels`). */
export interface KernelReport {
  /** `globalThis.crossOriginIsolated`: whether the page may share memory with workers. */
  crossOriginIsolated: boolean;
  /** `navigator.hardwareConcurrency`, as fluxion reads it. */
  hardwareThreads: number;
  /** Where the pool's workers run (`'browser'` here when isolated), or null without a pool. */
  threadHost: 'node' | 'browser' | null;
  /** The gemm variants available here, cheapest first. */
  gemmVariants: GemmVariant[];
  /** The variant forced with `?gemm=`, or `'auto'`. */
  gemm: GemmVariant | 'auto';
  /** Workers in the pool, and how many had started when training began. */
  workers: number;
  workersReady: number;
  /** Jobs each worker ran during the run (0s when auto dispatch kept gemm on this thread). */
  workerJobs: number[];
}

/**
 * Start the kernels before training: apply `?gemm=`, start the worker pool (if any) and wait
 * for its workers, which a browser starts only while the page's thread is idle. Returns a
 * function that gives the report at the end of the run.
 * @throws RangeError for a `gemm` value that is not a variant available here.
 */
export async function prepareKernels(gemm: string | null): Promise<() => KernelReport> {
  const variants = gemmVariants();
  if (gemm !== null && !(variants as string[]).includes(gemm)) {
    throw new RangeError(`query parameter gemm: expected one of ${variants.join(', ')} here, got ${JSON.stringify(gemm)}`);
  }
  const forced = (gemm ?? 'auto') as GemmVariant | 'auto';
  setGemmVariant(forced);
  const pool = gemmThreadPool();
  const workersReady = pool ? await pool.ready() : 0;
  const jobsBefore = pool?.jobCounts() ?? [];
  return () => ({
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    hardwareThreads: hardwareThreads(),
    threadHost: threadHost(),
    gemmVariants: variants,
    gemm: forced,
    workers: pool?.size ?? 0,
    workersReady,
    workerJobs: (pool?.jobCounts() ?? []).map((n, w) => n - (jobsBefore[w] ?? 0)),
  });
}
