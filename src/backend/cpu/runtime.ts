/**
 * The WebAssembly runtime behind the CPU kernels that can use worker threads: one memory
 * (shared where threads are possible), the gemm engine on it, the other kernel modules
 * instantiated on the same memory, and the worker pool whose job table spans them all.
 *
 * Created on first use; `runtime()` is null where WebAssembly SIMD is missing. The memory's
 * arena (above the pool's control words) is scratch for the one synchronous call in
 * progress, whichever kernel makes it.
 *
 * @module
 */
import { buildConvModule } from './wasm/conv-kernel.js';
import { buildElementwiseModule } from './wasm/elementwise-kernel.js';
import { buildGemvModule } from './wasm/gemv-kernel.js';
import { buildPoolModule } from './wasm/pool-kernel.js';
import { buildWinogradModule } from './wasm/winograd-kernel.js';
import { MAX_PAGES, WasmGemmEngine } from './wasm/gemm-kernel.js';
import { createThreadPool, threadsSupported, type PoolSpec, type ThreadPool } from './threads.js';

/** A compiled module of extra kernels and where its exports start in the job table. */
interface ExtraModule {
  readonly module: WebAssembly.Module;
  readonly exports: Record<string, unknown>;
}

export class WasmRuntime {
  private poolState: ThreadPool | null | undefined;
  private readonly index = new Map<string, number>();
  private readonly spec: PoolSpec;

  private constructor(
    readonly engine: WasmGemmEngine,
    private readonly extras: Record<string, ExtraModule>,
  ) {
    const modules: WebAssembly.Module[] = [...engine.modules];
    const table: [number, string][] = [[0, 'gemm'], [1, 'gemm']];
    const local: ((...args: number[]) => unknown)[] = [...engine.fns];
    for (const [key, x] of Object.entries(extras)) {
      const m = modules.push(x.module) - 1;
      for (const d of WebAssembly.Module.exports(x.module)) {
        if (d.kind !== 'function') continue;
        this.index.set(`${key}:${d.name}`, table.length);
        table.push([m, d.name]);
        local.push(x.exports[d.name] as (...args: number[]) => unknown);
      }
    }
    this.spec = { memory: engine.memory, modules, table, local };
  }

  /** Build the engine (shared memory when threads are possible) and the extra modules on its memory; null without wasm SIMD. */
  static create(): WasmRuntime | null {
    const engine = (threadsSupported() ? WasmGemmEngine.create(true) : null) ?? WasmGemmEngine.create(false);
    if (!engine) return null;
    const extras: Record<string, ExtraModule> = {};
    const builders: Record<string, (m: { shared: boolean; maxPages: number }) => Uint8Array<ArrayBuffer>> = {
      ew: buildElementwiseModule,
      conv: buildConvModule,
      gemv: buildGemvModule, // the engine has its own instance; this one is for the job table
      wino: buildWinogradModule,
      pool: buildPoolModule, // pool-wasm.ts runs its own copy on the single-thread engine; this one reads conv outputs in place (conv-pool.ts)
    };
    for (const [key, build] of Object.entries(builders)) {
      try {
        const module = new WebAssembly.Module(build({ shared: engine.shared, maxPages: MAX_PAGES }));
        const inst = new WebAssembly.Instance(module, { env: { memory: engine.memory } });
        extras[key] = { module, exports: inst.exports as Record<string, unknown> };
      } catch {
        // gemm still works; the kernels of this module just fall back to their other variants
      }
    }
    return new WasmRuntime(engine, extras);
  }

  /** The memory all modules share. */
  get memory(): WebAssembly.Memory {
    return this.engine.memory;
  }

  /** Job-table index of export `name` of extra module `key` (e.g. `'ew'`, `'u_exp_f32'`), or −1. */
  fn(key: string, name: string): number {
    return this.index.get(`${key}:${name}`) ?? -1;
  }

  /** Whether extra module `key` compiled. */
  has(key: string): boolean {
    return key in this.extras;
  }

  /** The worker pool (started on first call, in the background); null where threads are unavailable. */
  pool(): ThreadPool | null {
    if (this.poolState === undefined) this.poolState = this.engine.shared ? createThreadPool(this.spec) : null;
    return this.poolState;
  }

  /** Run a job-table entry on the calling thread. */
  call(fn: number, ...args: number[]): unknown {
    return this.spec.local[fn]!(...args);
  }
}

let rt: WasmRuntime | null | undefined;

/** The runtime, created on first use; null where WebAssembly SIMD is missing. */
export function runtime(): WasmRuntime | null {
  if (rt === undefined) {
    try {
      rt = WasmRuntime.create();
    } catch {
      rt = null;
    }
  }
  return rt;
}
