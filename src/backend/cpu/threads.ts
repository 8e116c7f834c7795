/**
 * A tiny synchronous thread pool for the WebAssembly kernels: workers that share the
 * runtime's WebAssembly.Memory and compiled modules, driven through control words in that
 * memory with `Atomics` (no message passing on the hot path, so a call stays synchronous:
 * the calling thread runs its own share, then waits for the workers' completion).
 *
 * A job names an entry of the pool's job table (an export of one of the modules: the gemm
 * drivers, the elementwise maps, …) and its i32 arguments; each worker instantiates every
 * module on the shared memory at start-up and calls the entry.
 *
 * The workers are Node's `worker_threads`, or, in a browser, module Web Workers made from a
 * Blob of the same source (nothing for a bundler to find or copy). A browser has
 * SharedArrayBuffer only in a cross-origin isolated page (served with
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`);
 * its main thread may not block in `Atomics.wait`, so there the calling thread spins while
 * it waits (it takes jobs itself first, so it spins only for the workers' last jobs).
 * Where SharedArrayBuffer or workers are missing, {@link createThreadPool} returns null and
 * callers run single-threaded.
 *
 * @module
 */
import { CONTROL_BYTES, JOB_ARGS, type WasmJob } from './wasm/gemm-kernel.js';

/*
 * Control block layout (int32 words at the start of the shared memory):
 *   GEN       bumped once per batch of jobs; idle workers wait on it
 *   NEXT      index of the next unclaimed job (claimed with compareExchange)
 *   NJOBS     number of jobs in the batch (0 while the batch is being written)
 *   FINISHED  jobs completed in the batch; the caller waits on it
 *   jobs      MAX_JOBS entries of JOB_WORDS: fn, args…, status (1 ok, 2 threw)
 *   workers   READY, COUNT and SLEEPING words per worker (SLEEPING 1 while it blocks in
 *             Atomics.wait rather than polling)
 */
const GEN = 0, NEXT = 1, NJOBS = 2, FINISHED = 3;
const JOBS = 16;
const JOB_WORDS = JOB_ARGS + 2, STATUS = JOB_ARGS + 1;
const MAX_JOBS = 32;
const WORKERS = JOBS + MAX_JOBS * JOB_WORDS;
const WORKER_WORDS = 3;
const MAX_WORKERS = Math.floor((CONTROL_BYTES / 4 - WORKERS) / WORKER_WORDS);
/**
 * Polls before blocking: waking a thread blocked in `Atomics.wait` costs the waker 7–37 µs
 * (mostly 17–37) on the dev box's VM (an idle vCPU), and the woken worker starts polling
 * 0.04–1.4 ms later,
 * so a worker that just finished keeps polling for a follow-up batch for WORKER_POLL_MS
 * (back-to-back calls, and the few-µs products that use the pool only while it polls), and
 * the caller polls before sleeping on the workers' completion (~8 ns a poll there).
 */
const WORKER_POLL_MS = 2;
const CALLER_SPINS = 2000;

/**
 * Worker body, shared by Node and browser workers (each wraps it in its own prelude that
 * supplies `modules`, `memory`, `id` and `table`). It instantiates the shared modules on the
 * shared memory, resolves the job table, flags itself ready, then claims jobs of each batch
 * until none is left. Claims are compareExchange on NEXT, so a job runs exactly once, on
 * whichever thread gets to it first: a worker that wakes late (its core busy with other
 * processes) finds the batch already done by the caller instead of holding it up.
 */
const WORKER_BODY = `
const inst = modules.map((m) => new WebAssembly.Instance(m, { env: { memory } }).exports);
const fns = table.map(([m, name]) => inst[m][name]);
const ctl = new Int32Array(memory.buffer, 0, ${CONTROL_BYTES / 4});
const READY = ${WORKERS} + ${WORKER_WORDS} * id, COUNT = READY + 1, SLEEPING = READY + 2;
Atomics.store(ctl, READY, 1);
let gen = Atomics.load(ctl, ${GEN});
for (;;) {
  let spins = 0, since = performance.now();
  while (Atomics.load(ctl, ${GEN}) === gen) {
    if ((++spins & 1023) === 0 && performance.now() - since > ${WORKER_POLL_MS}) {
      // SLEEPING before the wait's check of GEN, and the caller bumps GEN before it reads
      // SLEEPING: either the caller sees it and notifies, or the wait sees the new GEN
      Atomics.store(ctl, SLEEPING, 1);
      Atomics.wait(ctl, ${GEN}, gen);
      Atomics.store(ctl, SLEEPING, 0);
      since = performance.now();
    }
  }
  gen = Atomics.load(ctl, ${GEN});
  for (;;) {
    const i = Atomics.load(ctl, ${NEXT});
    if (i >= Atomics.load(ctl, ${NJOBS})) break;
    if (Atomics.compareExchange(ctl, ${NEXT}, i, i + 1) !== i) continue;
    const J = ${JOBS} + i * ${JOB_WORDS}, A = J + 1;
    try {
      fns[ctl[J]](ctl[A], ctl[A + 1], ctl[A + 2], ctl[A + 3], ctl[A + 4], ctl[A + 5], ctl[A + 6], ctl[A + 7],
        ctl[A + 8], ctl[A + 9], ctl[A + 10], ctl[A + 11], ctl[A + 12], ctl[A + 13], ctl[A + 14], ctl[A + 15],
        ctl[A + 16], ctl[A + 17]);
      Atomics.store(ctl, J + ${STATUS}, 1);
    } catch {
      Atomics.store(ctl, J + ${STATUS}, 2);
    }
    Atomics.add(ctl, COUNT, 1);
    Atomics.add(ctl, ${FINISHED}, 1);
    Atomics.notify(ctl, ${FINISHED});
  }
}
`;

/** Node: a CommonJS script (`eval: true`), so it works the same from src/ under tsx and from dist/. */
const NODE_WORKER_SOURCE = `'use strict';
const { workerData } = require('node:worker_threads');
const { modules, memory, id, table } = workerData;
${WORKER_BODY}`;

/**
 * Browser: a module worker that waits for its start message (modules and memory can only
 * arrive by postMessage) and then never returns from the handler: the loop above is its life.
 */
const BROWSER_WORKER_SOURCE = `self.onmessage = ({ data: { modules, memory, id, table } }) => {
${WORKER_BODY}};`;

/** What a pool runs: modules instantiated on one shared memory, and the job table over their exports. */
export interface PoolSpec {
  memory: WebAssembly.Memory;
  modules: readonly WebAssembly.Module[];
  /** Job table: entry i is export `name` of module `m`. */
  table: readonly (readonly [m: number, name: string])[];
  /** The same entries instantiated on the calling thread (for the caller's share and re-runs). */
  local: readonly ((...args: number[]) => unknown)[];
}

/** What each worker is given at start-up. */
interface WorkerData {
  modules: readonly WebAssembly.Module[];
  memory: WebAssembly.Memory;
  id: number;
  table: PoolSpec['table'];
}

/** A started worker, either kind. */
interface WorkerHandle {
  terminate(): Promise<unknown>;
}

/** How this runtime starts workers, and whether its calling thread may block. */
interface ThreadHost {
  readonly kind: 'node' | 'browser';
  readonly cores: number;
  /** Whether `Atomics.wait` may block the calling thread (not on a browser's main thread). */
  readonly canBlock: boolean;
  /** Start worker `data.id`; `gone` is called if it fails to start or dies. */
  spawn(data: WorkerData, gone: () => void): WorkerHandle;
}

type NodeWorkerCtor = new (src: string, opts: { eval: true; workerData: unknown }) => {
  unref(): void;
  on(event: 'error' | 'exit', cb: (e?: unknown) => void): unknown;
  terminate(): Promise<number>;
};

/** The subset of the DOM's Worker used here (the declarations need no DOM types). */
type BrowserWorkerCtor = new (url: string, opts: { type: 'module'; name: string }) => {
  postMessage(message: unknown): void;
  addEventListener(event: 'error', cb: () => void): void;
  terminate(): void;
};

/*
 * Resolved once at load, synchronously: in Node `process.getBuiltinModule` (Node ≥ 20.16)
 * instead of a top-level `await import(...)`, which made the package impossible to `require()`
 * from CommonJS (ERR_REQUIRE_ASYNC_MODULE); older Node runs gemm on the calling thread.
 */
const host = ((): ThreadHost | null => {
  try {
    if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics?.wait !== 'function') return null;
    let canBlock = true;
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    } catch {
      canBlock = false; // a browser's main thread
    }
    const g = globalThis as {
      process?: { getBuiltinModule?: (id: string) => unknown };
      Worker?: BrowserWorkerCtor;
      Blob?: new (parts: string[], opts: { type: string }) => unknown;
      URL?: { createObjectURL?: (blob: unknown) => string };
      navigator?: { hardwareConcurrency?: number };
    };
    const load = g.process?.getBuiltinModule;
    if (typeof load === 'function') {
      // Node's main thread may block; its workers are unref'd so idle ones never keep the process alive
      if (!canBlock) return null;
      const { Worker } = load('node:worker_threads') as { Worker: NodeWorkerCtor };
      const osMod = load('node:os') as { availableParallelism?: () => number; cpus: () => unknown[] };
      return {
        kind: 'node', cores: osMod.availableParallelism?.() ?? osMod.cpus().length, canBlock,
        spawn(data, gone) {
          const worker = new Worker(NODE_WORKER_SOURCE, { eval: true, workerData: data });
          worker.unref();
          worker.on('error', gone);
          worker.on('exit', gone);
          return worker;
        },
      };
    }
    const { Worker, Blob, URL } = g;
    if (typeof Worker !== 'function' || typeof Blob !== 'function' || typeof URL?.createObjectURL !== 'function') return null;
    let url: string | undefined; // one Blob URL for all workers, kept for the page's life
    return {
      kind: 'browser', cores: g.navigator?.hardwareConcurrency ?? 1, canBlock,
      spawn(data, gone) {
        url ??= URL.createObjectURL!(new Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
        const worker = new Worker(url, { type: 'module', name: `fluxion-pool-${data.id}` });
        worker.addEventListener('error', gone);
        worker.postMessage(data);
        return { terminate: async () => { worker.terminate(); gone(); } };
      },
    };
  } catch {
    return null;
  }
})();

/** Whether this runtime can run gemm on worker threads at all. */
export function threadsSupported(): boolean {
  return host !== null && host.cores > 1;
}

/** Number of hardware threads seen (1 when threads are unsupported). */
export function hardwareThreads(): number {
  return host?.cores ?? 1;
}

/**
 * Where the workers run: `'node'` (worker_threads), `'browser'` (Web Workers in a
 * cross-origin isolated page), or null where there are none.
 * @internal For tests and the browser example's report.
 */
export function threadHost(): 'node' | 'browser' | null {
  return threadsSupported() ? host!.kind : null;
}

/**
 * Wait up to `ms` for `ctl[index]` to change from `value`: `Atomics.wait` where the calling
 * thread may block, else return at once (the caller's loop then spins).
 */
function pause(ctl: Int32Array, index: number, value: number, ms: number): void {
  if (host?.canBlock) Atomics.wait(ctl, index, value, ms);
}

/**
 * Auto dispatch gives up the pool for this many calls after batches that did not pay, then
 * tries it again (see {@link ThreadPool.worthIt}).
 */
const SKIP_CALLS = 32;
/** Estimated speed-up below which a batch did not pay for the pool. */
const MIN_GAIN = 1.1;

/** Pool of workers bound to one shared memory and job table. */
export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly workers: WorkerHandle[] = [];
  private readonly dead: boolean[] = [];
  /** Per kind of call (see worthIt): moving average of recent batches' estimated speed-up, and calls left to skip. */
  private readonly gate = new Map<string, { gain: number; skip: number }>();

  constructor(private readonly spec: PoolSpec, size: number, threadHost: ThreadHost) {
    this.ctl = new Int32Array(spec.memory.buffer, 0, CONTROL_BYTES / 4);
    this.ctl.fill(0, 0, WORKERS + WORKER_WORDS * size);
    for (let w = 0; w < size; w++) {
      this.dead.push(false);
      // A worker that fails to start or dies is not counted as ready any more.
      const retire = (): void => {
        this.dead[w] = true;
        Atomics.store(this.ctl, WORKERS + WORKER_WORDS * w, 0);
      };
      this.workers.push(threadHost.spawn({ modules: spec.modules, memory: spec.memory, id: w, table: spec.table }, retire));
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
    return !this.dead[w] && Atomics.load(this.ctl, WORKERS + WORKER_WORDS * w) === 1;
  }

  /**
   * Block the calling thread until every worker has started, or `timeoutMs` passed.
   * Returns the number ready. Worker start-up needs no help from this thread's event loop in
   * Node; a browser may start a worker only once the page's thread returns to its event loop,
   * so there await {@link ThreadPool.ready} instead.
   */
  waitReady(timeoutMs = 5000): number {
    const end = performance.now() + timeoutMs;
    for (let w = 0; w < this.workers.length; w++) {
      const i = WORKERS + WORKER_WORDS * w;
      while (!this.dead[w] && Atomics.load(this.ctl, i) !== 1) {
        const left = end - performance.now();
        if (left <= 0) return this.readyCount();
        pause(this.ctl, i, 0, Math.min(left, 5));
      }
    }
    return this.readyCount();
  }

  /**
   * Resolves once every worker that has not died has started, or after `timeoutMs`, with the
   * number ready; unlike {@link ThreadPool.waitReady} it lets this thread's event loop run,
   * which a browser needs to start workers.
   */
  async ready(timeoutMs = 5000): Promise<number> {
    const end = performance.now() + timeoutMs;
    const pending = (): boolean => this.workers.some((_, w) => !this.dead[w] && !this.isReady(w));
    while (pending() && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
    return this.readyCount();
  }

  /**
   * Rouse workers that fell asleep waiting for jobs, so they are polling for the next calls
   * (a futex wake-up costs this thread tens of µs; nothing when none sleeps).
   */
  wake(): void {
    // a generation with no jobs: a worker about to wait sees it changed (see the worker's loop)
    Atomics.add(this.ctl, GEN, 1);
    if (this.anySleeping()) Atomics.notify(this.ctl, GEN);
  }

  /** Whether worker `w` blocks in `Atomics.wait` (its SLEEPING word). */
  private sleeping(w: number): boolean {
    return Atomics.load(this.ctl, WORKERS + WORKER_WORDS * w + 2) === 1;
  }

  private anySleeping(): boolean {
    for (let w = 0; w < this.workers.length; w++) if (this.sleeping(w)) return true;
    return false;
  }

  /**
   * Workers that are up and polling for jobs now, not asleep in `Atomics.wait`. A job handed
   * to a sleeping worker waits for a futex wake-up (tens of µs, ~100 µs on a VM's idle
   * vCPU), so a product of a few µs should run here and only {@link ThreadPool.wake} it.
   */
  pollingCount(): number {
    let r = 0;
    for (let w = 0; w < this.workers.length; w++) {
      if (this.isReady(w) && !this.sleeping(w)) r++;
    }
    return r;
  }

  /**
   * Whether automatic dispatch should use the pool for the next call of kind `key` (kernel
   * and size class, e.g. `gemm:21` for about 2²¹ multiply-adds). On a machine whose other
   * cores are busy (other processes), workers start late or get preempted and the caller
   * ends up waiting for them; each batch estimates the speed-up it got, and when the recent
   * average for its kind falls below 1.1 the pool is skipped for the next 32 calls of that
   * kind, then tried again. Forced `'threaded'` variants do not ask.
   */
  worthIt(key: string): boolean {
    const g = this.gate.get(key);
    if (g !== undefined && g.skip > 0) {
      g.skip--;
      return false;
    }
    return true;
  }

  /** Jobs completed by each worker so far (lets tests prove the workers really ran). */
  jobCounts(): number[] {
    return this.workers.map((_, w) => Atomics.load(this.ctl, WORKERS + WORKER_WORDS * w + 1));
  }

  /**
   * Run all jobs and return when they are done. The jobs are published as one batch; the
   * calling thread and the workers claim them one at a time until none is left, so a worker
   * that is slow to wake (its core busy elsewhere) costs only its share of the parallelism,
   * not a wait. With `reserve` > 0 the calling thread leaves the last `reserve` jobs of each
   * batch to the workers (for the forced `'threaded'` variants, whose point is to exercise
   * the workers). `meanwhile` is this thread's own share, if it has one (see `runBatch`).
   * A job whose worker reported an error is re-run here.
   */
  run(jobs: WasmJob[], reserve = 0, meanwhile?: () => void, key = ''): void {
    const r = Math.min(reserve, this.readyCount());
    for (let s = 0; s < jobs.length; s += MAX_JOBS) {
      this.runBatch(jobs, s, Math.min(jobs.length, s + MAX_JOBS), r, s === 0 ? meanwhile : undefined, key);
    }
  }

  /**
   * One batch. `meanwhile`, if given, is this thread's own share, of about one job's cost: it
   * runs right after the batch is published, then this thread claims whatever jobs no worker
   * has taken. So the workers' jobs are theirs while they are polling (a split like that keeps
   * each core's part of the operands in its own cache, and an eager worker cannot take this
   * thread's share, as it can with `reserve`), and a sleeping worker costs no wait.
   * (Tried and dropped there: touching the fresh output array, so its page faults overlap
   * the workers' computing — on the dev box's VM faults taken while the other core is busy
   * cost up to ~4x more: exp over 1e6 float32 after 3 ms of other work took 7.8 ms with it,
   * 3.7 ms without.)
   */
  private runBatch(jobs: WasmJob[], from: number, to: number, reserve: number, meanwhile: (() => void) | undefined, key: string): void {
    const ctl = this.ctl, n = to - from, mineUpTo = Math.max(1, n - reserve);
    // NJOBS = 0 first: a straggler from the last batch can claim nothing while the table is rewritten
    Atomics.store(ctl, NJOBS, 0);
    Atomics.store(ctl, NEXT, 0);
    for (let i = 0; i < n; i++) {
      const job = jobs[from + i]!, J = JOBS + i * JOB_WORDS;
      ctl[J] = job.fn;
      ctl.set(job.args, J + 1);
      ctl[J + STATUS] = 0;
    }
    Atomics.store(ctl, FINISHED, 0);
    Atomics.store(ctl, NJOBS, n);
    Atomics.add(ctl, GEN, 1);
    if (this.anySleeping()) Atomics.notify(ctl, GEN); // after the bump (see the worker's loop)
    const tm = performance.now();
    meanwhile?.();
    let mine = 0;
    const t0 = performance.now();
    for (;;) {
      const i = Atomics.load(ctl, NEXT);
      if (i >= mineUpTo) break;
      if (Atomics.compareExchange(ctl, NEXT, i, i + 1) !== i) continue;
      this.runLocal(jobs[from + i]!);
      ctl[JOBS + i * JOB_WORDS + STATUS] = 1;
      mine++;
      Atomics.add(ctl, FINISHED, 1);
    }
    const t1 = performance.now();
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctl, FINISHED);
      if (done >= n) break;
      if (++spins > CALLER_SPINS) pause(ctl, FINISHED, done, 50);
    }
    if (meanwhile !== undefined || (reserve === 0 && mine > 0 && n > 1)) {
      // speed-up estimate: this thread's time per job × all jobs, over the time the batch took
      // (with a share of its own: that share's time × (jobs + 1))
      const t2 = performance.now();
      const est = meanwhile !== undefined ? (t2 > tm ? ((t0 - tm) * (n + 1)) / (t2 - tm) : 1)
        : t2 > t0 ? ((t1 - t0) * n) / mine / (t2 - t0) : 1;
      let g = this.gate.get(key);
      if (g === undefined) this.gate.set(key, (g = { gain: 2, skip: 0 }));
      g.gain = 0.75 * g.gain + 0.25 * est;
      if (g.gain < MIN_GAIN) {
        g.skip = SKIP_CALLS;
        g.gain = MIN_GAIN + 0.2; // one good probe lets the pool back in
      }
    }
    if (mine < n) {
      for (let i = 0; i < n; i++) if (Atomics.load(ctl, JOBS + i * JOB_WORDS + STATUS) === 2) this.runLocal(jobs[from + i]!);
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
  if (!host || !(spec.memory.buffer instanceof SharedArrayBuffer) || threads < 2) return null;
  try {
    return new ThreadPool(spec, Math.min(threads - 1, MAX_WORKERS), host);
  } catch {
    return null;
  }
}
