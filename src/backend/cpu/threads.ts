/**
 * A tiny synchronous thread pool for the WebAssembly kernels: `worker_threads` workers that
 * share the runtime's WebAssembly.Memory and compiled modules, driven through control words
 * in that memory with `Atomics` (no message passing on the hot path, so a call stays
 * synchronous: the calling thread runs its own share, then blocks in `Atomics.wait`).
 *
 * A job names an entry of the pool's job table (an export of one of the modules: the gemm
 * drivers, the elementwise maps, …) and its i32 arguments; each worker instantiates every
 * module on the shared memory at start-up and calls the entry.
 *
 * Where `worker_threads`, SharedArrayBuffer or a blocking `Atomics.wait` on the calling
 * thread are missing (a browser main thread, say), {@link createThreadPool} returns null and
 * callers run single-threaded.
 *
 * @module
 */
import { CONTROL_BYTES, JOB_ARGS, type WasmJob } from './wasm/gemm-kernel.js';

/** Int32 words per worker slot (128 bytes: the slots never share a cache line). */
const SLOT = 32;
/** First slot starts after a few global words. */
const SLOT0 = 16;
/** Slot layout (offsets in int32 words). */
const REQ = 0, DONE = 1, FN = 2, ARGS = 3, READY = ARGS + JOB_ARGS, ERROR = READY + 1, COUNT = ERROR + 1;
const MAX_WORKERS = Math.floor((CONTROL_BYTES / 4 - SLOT0) / SLOT);
/**
 * Polls before blocking: waking a futex-blocked thread costs tens of microseconds, so a
 * worker that just finished keeps polling briefly for a follow-up job (back-to-back
 * matmuls), and the caller polls before sleeping on the workers' completion.
 */
const WORKER_SPINS = 20000;
const CALLER_SPINS = 2000;

/**
 * Worker body, evaluated as a CommonJS script (`eval: true`) so it works the same from
 * src/ under tsx and from dist/. It instantiates the shared modules on the shared memory,
 * resolves the job table, flags itself ready, then serves jobs posted to its slot.
 */
const WORKER_SOURCE = `
'use strict';
const { workerData } = require('node:worker_threads');
const { modules, memory, base, table } = workerData;
const inst = modules.map((m) => new WebAssembly.Instance(m, { env: { memory } }).exports);
const fns = table.map(([m, name]) => inst[m][name]);
const ctl = new Int32Array(memory.buffer, 0, ${CONTROL_BYTES / 4});
const REQ = base + ${REQ}, DONE = base + ${DONE}, FN = base + ${FN}, A = base + ${ARGS};
Atomics.store(ctl, base + ${READY}, 1);
let seen = Atomics.load(ctl, REQ);
for (;;) {
  let spins = 0;
  while (Atomics.load(ctl, REQ) === seen) {
    if (++spins > ${WORKER_SPINS}) { Atomics.wait(ctl, REQ, seen); spins = 0; }
  }
  seen = Atomics.load(ctl, REQ);
  try {
    fns[ctl[FN]](ctl[A], ctl[A + 1], ctl[A + 2], ctl[A + 3], ctl[A + 4], ctl[A + 5], ctl[A + 6], ctl[A + 7],
      ctl[A + 8], ctl[A + 9], ctl[A + 10], ctl[A + 11], ctl[A + 12], ctl[A + 13], ctl[A + 14], ctl[A + 15],
      ctl[A + 16], ctl[A + 17]);
  } catch {
    Atomics.store(ctl, base + ${ERROR}, 1);
  }
  Atomics.add(ctl, base + ${COUNT}, 1);
  Atomics.store(ctl, DONE, seen);
  Atomics.notify(ctl, DONE);
}
`;

/** What a pool runs: modules instantiated on one shared memory, and the job table over their exports. */
export interface PoolSpec {
  memory: WebAssembly.Memory;
  modules: readonly WebAssembly.Module[];
  /** Job table: entry i is export `name` of module `m`. */
  table: readonly (readonly [m: number, name: string])[];
  /** The same entries instantiated on the calling thread (for the caller's share and re-runs). */
  local: readonly ((...args: number[]) => unknown)[];
}

interface WorkerLike {
  unref(): void;
  on(event: 'error' | 'exit', cb: (e?: unknown) => void): unknown;
  terminate(): Promise<number>;
}
type WorkerCtor = new (src: string, opts: { eval: true; workerData: unknown }) => WorkerLike;

// Resolved once at load; the specifier is built at run time so browser bundlers leave it alone.
const nodeRuntime = await (async (): Promise<{ Worker: WorkerCtor; cores: number } | null> => {
  try {
    if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics?.wait !== 'function') return null;
    // A browser main thread throws here; Node's main thread may block.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    const wt = 'node:worker_threads', os = 'node:os';
    const [{ Worker }, osMod] = await Promise.all([
      import(/* @vite-ignore */ wt) as Promise<{ Worker: WorkerCtor }>,
      import(/* @vite-ignore */ os) as Promise<{ availableParallelism?: () => number; cpus: () => unknown[] }>,
    ]);
    const cores = osMod.availableParallelism?.() ?? osMod.cpus().length;
    return { Worker, cores };
  } catch {
    return null;
  }
})();

/** Whether this runtime can run gemm on worker threads at all. */
export function threadsSupported(): boolean {
  return nodeRuntime !== null && nodeRuntime.cores > 1;
}

/** Number of hardware threads seen (1 when threads are unsupported). */
export function hardwareThreads(): number {
  return nodeRuntime?.cores ?? 1;
}

/** Pool of workers bound to one shared memory and job table. */
export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly workers: WorkerLike[] = [];
  private readonly dead: boolean[] = [];

  constructor(private readonly spec: PoolSpec, size: number, Worker: WorkerCtor) {
    this.ctl = new Int32Array(spec.memory.buffer, 0, CONTROL_BYTES / 4);
    for (let w = 0; w < size; w++) {
      const base = SLOT0 + w * SLOT;
      this.ctl.fill(0, base, base + SLOT);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { modules: spec.modules, memory: spec.memory, base, table: spec.table },
      });
      worker.unref(); // idle workers must not keep the process alive
      this.dead.push(false);
      // A worker that fails to start or dies is never dispatched to again.
      const retire = (): void => {
        this.dead[w] = true;
        Atomics.store(this.ctl, base + READY, 0);
      };
      worker.on('error', retire);
      worker.on('exit', retire);
      this.workers.push(worker);
    }
  }

  /** Number of workers (the calling thread comes on top). */
  get size(): number {
    return this.workers.length;
  }

  /** Workers that have started and can take jobs now. */
  readyCount(): number {
    let r = 0;
    for (let w = 0; w < this.workers.length; w++) if (this.isReady(w)) r++;
    return r;
  }

  private isReady(w: number): boolean {
    return !this.dead[w] && Atomics.load(this.ctl, SLOT0 + w * SLOT + READY) === 1;
  }

  /**
   * Block the calling thread until every worker has started, or `timeoutMs` passed.
   * Returns the number ready. Worker start-up needs no help from this thread's event loop.
   */
  waitReady(timeoutMs = 5000): number {
    const end = performance.now() + timeoutMs;
    for (let w = 0; w < this.workers.length; w++) {
      const i = SLOT0 + w * SLOT + READY;
      while (!this.dead[w] && Atomics.load(this.ctl, i) !== 1) {
        const left = end - performance.now();
        if (left <= 0) return this.readyCount();
        Atomics.wait(this.ctl, i, 0, Math.min(left, 5));
      }
    }
    return this.readyCount();
  }

  /** Jobs completed by each worker so far (lets tests prove the workers really ran). */
  jobCounts(): number[] {
    return this.workers.map((_, w) => Atomics.load(this.ctl, SLOT0 + w * SLOT + COUNT));
  }

  /**
   * Run all jobs: jobs 1.. go to ready workers, job 0 and any job no worker could take
   * run here; returns when all are done. A job whose worker reported an error is re-run here.
   */
  run(jobs: WasmJob[]): void {
    const ctl = this.ctl;
    const posted: { base: number; seq: number; job: WasmJob }[] = [];
    const local: WasmJob[] = [jobs[0]!];
    let w = 0;
    for (let j = 1; j < jobs.length; j++) {
      while (w < this.workers.length && !this.isReady(w)) w++;
      if (w >= this.workers.length) {
        local.push(jobs[j]!);
        continue;
      }
      const base = SLOT0 + w * SLOT;
      const job = jobs[j]!;
      ctl.set(job.args, base + ARGS);
      ctl[base + FN] = job.fn;
      const seq = (Atomics.load(ctl, base + REQ) + 1) | 0;
      Atomics.store(ctl, base + REQ, seq); // publishes the arguments written above
      Atomics.notify(ctl, base + REQ);
      posted.push({ base, seq, job });
      w++;
    }
    for (const job of local) this.runLocal(job);
    for (const p of posted) {
      let spins = 0;
      for (;;) {
        const done = Atomics.load(ctl, p.base + DONE);
        if (done === p.seq) break;
        if (++spins > CALLER_SPINS) Atomics.wait(ctl, p.base + DONE, done, 50);
      }
      if (Atomics.load(ctl, p.base + ERROR) !== 0) {
        Atomics.store(ctl, p.base + ERROR, 0);
        this.runLocal(p.job);
      }
    }
  }

  /** Run a job on the calling thread. */
  runLocal(job: WasmJob): void {
    const a = job.args;
    this.spec.local[job.fn]!(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!, a[13]!, a[14]!, a[15]!, a[16]!, a[17]!);
  }

  /** Stop all workers (tests; normal processes can simply exit since workers are unref'd). */
  async close(): Promise<void> {
    for (let w = 0; w < this.workers.length; w++) this.dead[w] = true;
    await Promise.all(this.workers.map((x) => x.terminate()));
  }
}

/**
 * A pool of `threads - 1` workers for modules on a shared memory, or null where threads are
 * unsupported, the memory is not shared, or `threads` < 2. Workers start in the background;
 * until they report ready their share runs on the calling thread.
 */
export function createThreadPool(spec: PoolSpec, threads = hardwareThreads()): ThreadPool | null {
  if (!nodeRuntime || !(spec.memory.buffer instanceof SharedArrayBuffer) || threads < 2) return null;
  try {
    return new ThreadPool(spec, Math.min(threads - 1, MAX_WORKERS), nodeRuntime.Worker);
  } catch {
    return null;
  }
}
