/**
 * Generates the WebAssembly SIMD matrix-multiply module (float32 with f32x4, float64 with f64x2).
 *
 * Structure follows the GotoBLAS/BLIS scheme:
 *   for jc over n in NC columns
 *     for pc over k in KC steps:   pack B[pc:pc+kc, jc:jc+nc] into NR-wide panels
 *       for ic over m in MC rows:  pack A[ic:ic+mc, pc:pc+kc] into MR-tall panels
 *         for jr, ir:              MR×NR register-tiled micro-kernel
 * Packed panels are zero-padded to whole MR/NR tiles and to a multiple of the k-unroll,
 * so the micro-kernel never branches on edges; partial tiles go through a small
 * scratch tile that is then copied (or added) into C.
 *
 * Everything works on byte addresses inside the imported memory. A and B are read
 * with arbitrary element strides (so transposed views cost nothing extra), C is
 * dense with a byte row stride.
 *
 * @module
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './assembler.js';
import { type Flavor, type GemmKernelConfig, edgeStore, flavor, forLoop, minI32, packA, packB } from './gemm-pack.js';
import { buildGemvModule } from './gemv-kernel.js';

export { forLoop, type GemmKernelConfig, type Push } from './gemm-pack.js';

const { i32, v128 } = ValType;

/**
 * Tile shapes chosen by measurement. 4×8 (f32) / 4×4 (f64) keeps 8 accumulators,
 * 2 B vectors and 4 broadcasts in 14 of the 15 XMM registers V8 allocates; taller
 * tiles or k-unrolling made TurboFan hoist the loads and spill (6×8: ~16 vs ~23 GFLOP/s
 * single-core at 1024). Unroll 1: V8 folds no displacement into load-splat, so every
 * unrolled offset costs a hoisted base register.
 */
export const DEFAULT_CONFIG: Record<'float32' | 'float64', GemmKernelConfig> = {
  float32: { dtype: 'float32', mr: 4, nr: 8, unroll: 1 },
  float64: { dtype: 'float64', mr: 4, nr: 4, unroll: 1 },
};

/** Signature of the exported driver (all addresses and strides in bytes). */
export type GemmExport = (
  m: number, n: number, k: number,
  a: number, aRs: number, aCs: number,
  b: number, bRs: number, bCs: number,
  c: number, ldc: number, beta: number,
  aPack: number, bPack: number, tile: number, kcBlock: number, mcBlock: number, ncBlock: number,
) => void;

/** Exports of the few-rows module (see ./gemv-kernel.ts; addresses and strides in bytes). */
export interface GemvExports {
  dot_f32(m: number, n: number, kb: number, a: number, aRs: number, b: number, bCs: number, c: number, ldc: number, beta: number): void;
  dot_f64(m: number, n: number, kb: number, a: number, aRs: number, b: number, bCs: number, c: number, ldc: number, beta: number): void;
  axpy_f32(m: number, nv: number, k: number, a: number, aRs: number, aCs: number, b: number, bRs: number, c: number, ldc: number, beta: number): void;
  axpy_f64(m: number, nv: number, k: number, a: number, aRs: number, aCs: number, b: number, bRs: number, c: number, ldc: number, beta: number): void;
}

/** Bytes of scratch the driver needs at `work` for the given block sizes. */
export function gemmWorkBytes(cfg: GemmKernelConfig, kcBlock: number, mcBlock: number, ncBlock: number): number {
  const e = cfg.dtype === 'float32' ? 4 : 8;
  const kcp = Math.ceil(kcBlock / cfg.unroll) * cfg.unroll;
  const aBytes = Math.ceil(mcBlock / cfg.mr) * cfg.mr * kcp * e;
  const bBytes = Math.ceil(ncBlock / cfg.nr) * cfg.nr * kcp * e;
  return 64 + cfg.mr * cfg.nr * e + aBytes + bBytes + 64;
}

/**
 * Micro-kernel: C[MR×NR] (beta ? += : =) Apanel·Bpanel over kc (a multiple of `unroll`, > 0).
 * Params: a, b, c (byte addresses), ldc (bytes), kc, beta.
 */
function microKernel(cfg: GemmKernelConfig, fl: Flavor): FunctionBuilder {
  const { mr, nr, unroll } = cfg;
  const vecs = nr / fl.lanes;
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32], []);
  const [A, B, C, LDC, KC, BETA] = [0, 1, 2, 3, 4, 5] as const;
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) acc.push(Array.from({ length: vecs }, () => f.local(v128)));
  const bv = Array.from({ length: vecs }, () => f.local(v128));
  const av = f.local(v128);
  const crow = f.local(i32);

  for (const row of acc) for (const x of row) f.v128Zero().set(x);
  f.block().loop();
  for (let u = 0; u < unroll; u++) {
    for (let v = 0; v < vecs; v++) f.get(B).v128Load((u * nr + v * fl.lanes) * fl.e).set(bv[v]!);
    for (let r = 0; r < mr; r++) {
      fl.splatLoad(f.get(A), (u * mr + r) * fl.e).set(av);
      for (let v = 0; v < vecs; v++) {
        const x = acc[r]![v]!;
        f.get(x);
        fl.vmul(f.get(av).get(bv[v]!));
        fl.vadd(f).set(x);
      }
    }
  }
  f.inc(A, unroll * mr * fl.e).inc(B, unroll * nr * fl.e);
  f.get(KC).i32(unroll).i32Sub().tee(KC).brIf(0);
  f.end().end();

  // Write back: optional load-add, then store each row.
  f.get(C).set(crow);
  for (let r = 0; r < mr; r++) {
    f.get(BETA).if();
    for (let v = 0; v < vecs; v++) {
      const x = acc[r]![v]!;
      fl.vadd(f.get(x).get(crow).v128Load(v * 16)).set(x);
    }
    f.end();
    for (let v = 0; v < vecs; v++) f.get(crow).get(acc[r]![v]!).v128Store(v * 16);
    if (r < mr - 1) f.incBy(crow, LDC);
  }
  return f;
}

/** Exported driver parameters, in order. */
const DRIVER_PARAMS = 18;

/**
 * The blocked driver. Params: m, n, k, a, aRs, aCs, b, bRs, bCs, c, ldc, beta,
 * aPack, bPack, tile, kcBlock, mcBlock, ncBlock (addresses and strides in bytes).
 */
function driver(cfg: GemmKernelConfig, fl: Flavor, fn: { kernel: number; packA: number; packB: number; edge: number }): FunctionBuilder {
  const { mr, nr, unroll } = cfg;
  const f = new FunctionBuilder(Array<ValType>(DRIVER_PARAMS).fill(i32), []);
  const [M, N, K, A, ARS, ACS, B, BRS, BCS, C, LDC, BETA, APACK, BPACK, TILE, KCB, MCB, NCB] =
    Array.from({ length: DRIVER_PARAMS }, (_, i) => i) as [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
  const jc = f.local(i32), pc = f.local(i32), ic = f.local(i32), jr = f.local(i32), ir = f.local(i32);
  const nc = f.local(i32), kc = f.local(i32), kcp = f.local(i32), mc = f.local(i32), bet = f.local(i32);
  const rem = f.local(i32), t = f.local(i32), bPanel = f.local(i32), aPanel = f.local(i32), cTile = f.local(i32), nrr = f.local(i32);

  forLoop(f, jc, () => f.i32(0), () => f.get(N), 0, () => {
    f.get(N).get(jc).i32Sub().set(rem);
    minI32(f, rem, NCB).set(nc);
    forLoop(f, pc, () => f.i32(0), () => f.get(K), 0, () => {
      f.get(K).get(pc).i32Sub().set(rem);
      minI32(f, rem, KCB).set(kc);
      f.get(kc).i32(unroll - 1).i32Add().i32(-unroll).i32And().set(kcp);
      f.get(BPACK);
      f.get(B).get(pc).get(BRS).i32Mul().i32Add().get(jc).get(BCS).i32Mul().i32Add();
      f.get(BRS).get(BCS).get(kc).get(kcp).get(nc).call(fn.packB);
      f.get(BETA).get(pc).i32(0).i32GtS().i32Or().set(bet);
      forLoop(f, ic, () => f.i32(0), () => f.get(M), 0, () => {
        f.get(M).get(ic).i32Sub().set(rem);
        minI32(f, rem, MCB).set(mc);
        f.get(APACK);
        f.get(A).get(ic).get(ARS).i32Mul().i32Add().get(pc).get(ACS).i32Mul().i32Add();
        f.get(ARS).get(ACS).get(mc).get(kc).get(kcp).call(fn.packA);
        forLoop(f, jr, () => f.i32(0), () => f.get(nc), nr, () => {
          f.get(BPACK).get(jr).get(kcp).i32Mul().i32(fl.e).i32Mul().i32Add().set(bPanel);
          f.get(nc).get(jr).i32Sub().set(nrr);
          forLoop(f, ir, () => f.i32(0), () => f.get(mc), mr, () => {
            f.get(APACK).get(ir).get(kcp).i32Mul().i32(fl.e).i32Mul().i32Add().set(aPanel);
            f.get(C).get(ic).get(ir).i32Add().get(LDC).i32Mul().i32Add();
            f.get(jc).get(jr).i32Add().i32(fl.e).i32Mul().i32Add().set(cTile);
            f.get(mc).get(ir).i32Sub().set(t);
            f.get(t).i32(mr).i32GeS().get(nrr).i32(nr).i32GeS().i32And().if();
            f.get(aPanel).get(bPanel).get(cTile).get(LDC).get(kcp).get(bet).call(fn.kernel);
            f.else();
            f.get(aPanel).get(bPanel).get(TILE).i32(nr * fl.e).get(kcp).i32(0).call(fn.kernel);
            f.get(TILE).get(cTile).get(LDC);
            f.i32(mr).set(rem);
            minI32(f, t, rem);
            f.i32(nr).set(rem);
            minI32(f, nrr, rem);
            f.get(bet).call(fn.edge);
            f.end();
          });
        });
        f.incBy(ic, MCB);
      });
      f.incBy(pc, KCB);
    });
    f.incBy(jc, NCB);
  });
  return f;
}

/** Build the module bytes for one configuration. The memory is imported as `env.memory`. */
export function buildGemmModule(cfg: GemmKernelConfig, memory: { shared: boolean; maxPages: number }): Uint8Array<ArrayBuffer> {
  const fl = flavor(cfg.dtype);
  if (cfg.nr % fl.lanes !== 0) throw new RangeError(`nr must be a multiple of ${fl.lanes}`);
  if ((cfg.unroll & (cfg.unroll - 1)) !== 0) throw new RangeError('unroll must be a power of two');
  const mod = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: memory.maxPages, shared: memory.shared });
  const kernel = mod.addFunction(microKernel(cfg, fl), 'kernel');
  const pA = mod.addFunction(packA(cfg, fl), 'packA');
  const pB = mod.addFunction(packB(cfg, fl), 'packB');
  const edge = mod.addFunction(edgeStore(cfg, fl), 'edge');
  mod.addFunction(driver(cfg, fl, { kernel, packA: pA, packB: pB, edge }), 'gemm');
  return mod.toBytes();
}

// ---------------------------------------------------------------------------
// Runtime: one memory shared by the float32 and float64 modules, a per-call arena.
// ---------------------------------------------------------------------------

type FloatArray = Float32Array | Float64Array;
type DTypeName = 'float32' | 'float64';

/** Cache-blocking sizes (elements). */
interface Blocking {
  kc: number;
  mc: number;
  nc: number;
}

/**
 * Block sizes: the KC×NR B micro-panel stays in L1, the MC×KC A block in L2.
 * Measured flat (±5%, noise) for kc 256–512, mc 64–256 at 1024³ on this 2-core box.
 */
const BLOCKING: Record<DTypeName, Blocking> = {
  float32: { kc: 256, mc: 128, nc: 2048 },
  float64: { kc: 256, mc: 64, nc: 1024 },
};

/** Bytes at the start of memory reserved for the thread pool's control words. */
export const CONTROL_BYTES = 4096;
/** Memory limit in pages (4 GiB: the whole wasm32 space; only address space is reserved). */
export const MAX_PAGES = 65536;
/** Arena ceiling per call; larger problems are split on the JS side. */
export const ARENA_LIMIT_BYTES = 1 << 30;
/**
 * First byte of the resident heap (../resident.ts): the arena may not grow past it. The slack
 * above {@link ARENA_LIMIT_BYTES} covers the alignment and control words a call adds.
 */
export const RESIDENT_BASE = ARENA_LIMIT_BYTES + (64 << 20);
/** Most i32 arguments a {@link WasmJob} passes (the gemm driver's 18). */
export const JOB_ARGS = DRIVER_PARAMS;

/**
 * One call of an exported function of a module on the shared memory: `fn` indexes the
 * runtime's job table (0 = gemm float32, 1 = gemm float64, then the other modules' exports),
 * `args` are its i32 arguments (at most {@link JOB_ARGS}).
 */
export interface WasmJob {
  fn: number;
  args: Int32Array;
}

/** A gemm driver call (`fn` 0 = float32, 1 = float64). */
export type GemmJob = WasmJob;

/** Runs jobs (some possibly on the caller's thread). Must return only when all are done. */
export type JobRunner = (jobs: WasmJob[]) => void;

/** `x` rounded up to a multiple of `a` (default a 64-byte cache line): where call arenas start each region. */
export const align = (x: number, a = 64): number => Math.ceil(x / a) * a;

/** Where a staged operand lives in wasm memory: byte address of element (0,0) and byte strides. */
interface Staged {
  base: number;
  rs: number;
  cs: number;
}

/** Plan for copying a strided operand in: either its whole index span, or a dense gather. */
interface StagePlan {
  lo: number;
  count: number;
  dense: boolean;
}

function planStage(off: number, rs: number, cs: number, rows: number, cols: number): StagePlan {
  const lo = off + Math.min(0, (rows - 1) * rs) + Math.min(0, (cols - 1) * cs);
  const hi = off + Math.max(0, (rows - 1) * rs) + Math.max(0, (cols - 1) * cs);
  const span = hi - lo + 1;
  // A dense-ish span (row-major, column-major, mild padding) is one memcpy; a sparse view is gathered.
  return span <= 2 * rows * cols + 64 ? { lo, count: span, dense: false } : { lo, count: rows * cols, dense: true };
}

/**
 * The compiled modules, their shared (or private) memory and the call arena.
 * Construct with {@link WasmGemmEngine.create}, which returns null when WebAssembly
 * SIMD (or, if requested, shared memory) is unavailable.
 */
export class WasmGemmEngine {
  private f32view!: Float32Array;
  private f64view!: Float64Array;
  private viewBytes = -1;
  /** The buffer objects of {@link memory} that resident arrays were made on (one per growth). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  private constructor(
    /** Memory imported by both modules. */
    readonly memory: WebAssembly.Memory,
    /** Whether {@link memory} is backed by a SharedArrayBuffer (for workers). */
    readonly shared: boolean,
    /** Compiled modules, index 0 = float32, 1 = float64; transferable to workers. */
    readonly modules: readonly [WebAssembly.Module, WebAssembly.Module],
    /** The two drivers on the calling thread (float32, float64). */
    readonly fns: readonly [GemmExport, GemmExport],
    /** The few-rows kernels of ./gemv-kernel.ts on the same memory (null if that module failed to build). */
    readonly gemv: GemvExports | null,
  ) {}

  /** Compile both modules; null if the engine lacks SIMD (or shared memory when `shared`). */
  static create(shared: boolean): WasmGemmEngine | null {
    try {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared });
      const mods = (['float32', 'float64'] as const).map(
        (d) => new WebAssembly.Module(buildGemmModule(DEFAULT_CONFIG[d], { shared, maxPages: MAX_PAGES })),
      ) as [WebAssembly.Module, WebAssembly.Module];
      const fns = mods.map(
        (mod) => new WebAssembly.Instance(mod, { env: { memory } }).exports['gemm'] as unknown as GemmExport,
      ) as [GemmExport, GemmExport];
      let gemv: GemvExports | null = null;
      try {
        const mod = new WebAssembly.Module(buildGemvModule({ shared, maxPages: MAX_PAGES }));
        gemv = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as GemvExports;
      } catch {
        // the general driver covers every shape
      }
      return new WasmGemmEngine(memory, shared, mods, fns, gemv);
    } catch {
      return null;
    }
  }

  /** Run one gemm job (fn 0 or 1) on the calling thread. */
  run(job: GemmJob): void {
    const a = job.args;
    this.fns[job.fn as 0 | 1](a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!, a[13]!, a[14]!, a[15]!, a[16]!, a[17]!);
  }

  /**
   * Make the memory at least `bytes` long (the arena above {@link CONTROL_BYTES} is scratch
   * for the call in progress, whichever kernel makes it) and return fresh views of it.
   */
  reserve(bytes: number): { f32: Float32Array; f64: Float64Array } {
    this.ensure(bytes);
    return { f32: this.f32view, f64: this.f64view };
  }

  /** Make the memory at least `bytes` long, for the resident heap (no arena ceiling). */
  growTo(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
    this.buffers.add(this.memory.buffer);
  }

  /**
   * Byte address of element 0 of `a` if it is a resident array (../resident.ts) in this
   * engine's memory, else −1. Kernels read such operands in place.
   */
  residentAddress(a: FloatArray): number {
    return a.byteOffset >= RESIDENT_BASE && this.buffers.has(a.buffer) ? a.byteOffset : -1;
  }

  private ensure(bytes: number): void {
    // past the ceiling a call would overwrite resident arrays; callers split larger problems
    if (bytes > RESIDENT_BASE) throw new RangeError(`wasm kernels: a call needs ${bytes} bytes of scratch, more than the arena's ${RESIDENT_BASE}`);
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
    const buf = this.memory.buffer;
    if (buf.byteLength !== this.viewBytes) {
      this.f32view = new Float32Array(buf);
      this.f64view = new Float64Array(buf);
      this.viewBytes = buf.byteLength;
    }
  }

  /** Arena bytes a call needs (without splitting), to decide whether to split it. */
  static bytesNeeded(dtype: DTypeName, m: number, n: number, k: number, parts: number): number {
    const e = dtype === 'float32' ? 4 : 8;
    const bl = BLOCKING[dtype];
    const work = gemmWorkBytes(DEFAULT_CONFIG[dtype], Math.min(bl.kc, k), Math.min(bl.mc, m), Math.min(bl.nc, n));
    return CONTROL_BYTES + 3 * 64 + e * (2 * m * k + 2 * k * n + m * n) + parts * (work + 3 * 64);
  }

  private copyIn(src: FloatArray, off: number, rs: number, cs: number, rows: number, cols: number, plan: StagePlan, ptr: number): Staged {
    const e = src.BYTES_PER_ELEMENT;
    const at0 = this.residentAddress(src);
    if (at0 >= 0) return { base: at0 + off * e, rs: rs * e, cs: cs * e };
    const view = e === 4 ? this.f32view : this.f64view;
    const at = ptr / e;
    if (!plan.dense) {
      view.set(src.subarray(plan.lo, plan.lo + plan.count), at);
      return { base: ptr + (off - plan.lo) * e, rs: rs * e, cs: cs * e };
    }
    for (let i = 0; i < rows; i++) {
      const s = off + i * rs, d = at + i * cols;
      if (cs === 1) view.set(src.subarray(s, s + cols), d);
      else for (let j = 0; j < cols; j++) view[d + j] = src[s + j * cs]!;
    }
    return { base: ptr, rs: cols * e, cs: e };
  }

  /**
   * C[m×n] (+)= A·B for strided JS arrays (see `gemm` in ../gemm.ts): stage A, B (and C
   * when accumulating) into wasm memory, split the work into `parts` jobs over the longer
   * of m and n, run them through `runner` (or inline), copy C back.
   * Caller guarantees m, n, k ≥ 1 and that {@link bytesNeeded} fits {@link ARENA_LIMIT_BYTES}.
   */
  gemm(
    m: number, n: number, k: number,
    a: FloatArray, aOff: number, aRs: number, aCs: number,
    b: FloatArray, bOff: number, bRs: number, bCs: number,
    c: FloatArray, cOff: number, cRs: number,
    accumulate: boolean, parts: number, runner?: JobRunner,
  ): void {
    const dtype: DTypeName = c instanceof Float32Array ? 'float32' : 'float64';
    const e = c.BYTES_PER_ELEMENT;
    const cfg = DEFAULT_CONFIG[dtype];
    const bl = BLOCKING[dtype];

    // Split along the longer output side, in whole register tiles.
    const alongN = n >= m;
    const unit = alongN ? cfg.nr : cfg.mr;
    const len = alongN ? n : m;
    const chunk = Math.ceil(Math.ceil(len / unit) / Math.max(1, parts)) * unit;
    const nParts = Math.ceil(len / chunk);
    const pm = alongN ? m : Math.min(m, chunk), pn = alongN ? Math.min(n, chunk) : n;
    const kcp = Math.ceil(Math.min(bl.kc, k) / cfg.unroll) * cfg.unroll;
    const tileBytes = align(cfg.mr * cfg.nr * e);
    const aPackBytes = align(Math.ceil(Math.min(bl.mc, pm) / cfg.mr) * cfg.mr * kcp * e);
    const bPackBytes = align(Math.ceil(Math.min(bl.nc, pn) / cfg.nr) * cfg.nr * kcp * e);

    const pa = planStage(aOff, aRs, aCs, m, k);
    const pb = planStage(bOff, bRs, bCs, k, n);
    const aPtr = CONTROL_BYTES;
    const bPtr = align(aPtr + pa.count * e);
    const cPtr = align(bPtr + pb.count * e);
    const workPtr = align(cPtr + m * n * e);
    const perPart = tileBytes + aPackBytes + bPackBytes;
    this.ensure(workPtr + nParts * perPart);

    const A = this.copyIn(a, aOff, aRs, aCs, m, k, pa, aPtr);
    const B = this.copyIn(b, bOff, bRs, bCs, k, n, pb, bPtr);
    const view = e === 4 ? this.f32view : this.f64view;
    const cAt = cPtr / e;
    if (accumulate) {
      if (cRs === n) view.set(c.subarray(cOff, cOff + m * n), cAt);
      else for (let i = 0; i < m; i++) view.set(c.subarray(cOff + i * cRs, cOff + i * cRs + n), cAt + i * n);
    }

    const jobs: GemmJob[] = [];
    const dt = dtype === 'float32' ? 0 : 1;
    for (let p = 0; p < nParts; p++) {
      const start = p * chunk, size = Math.min(chunk, len - start);
      const w = workPtr + p * perPart;
      const args = new Int32Array(JOB_ARGS);
      args.set([
        alongN ? m : size, alongN ? size : n, k,
        A.base + (alongN ? 0 : start * A.rs), A.rs, A.cs,
        B.base + (alongN ? start * B.cs : 0), B.rs, B.cs,
        cPtr + (alongN ? start * e : start * n * e), n * e, accumulate ? 1 : 0,
        w + tileBytes, w + tileBytes + aPackBytes, w, bl.kc, bl.mc, bl.nc,
      ]);
      jobs.push({ fn: dt, args });
    }
    if (runner && jobs.length > 1) runner(jobs);
    else for (const j of jobs) this.run(j);

    if (cRs === n) c.set(view.subarray(cAt, cAt + m * n), cOff);
    else for (let i = 0; i < m; i++) c.set(view.subarray(cAt + i * n, cAt + i * n + n), cOff + i * cRs);
  }
}
