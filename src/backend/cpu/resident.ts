/**
 * Resident storage: typed arrays that live in the WebAssembly runtime's shared memory, so
 * kernels read them where they are instead of copying them into the call arena first.
 *
 * Staging is what a small call pays most for: a batch-1 dense layer 784 → 128 spent more
 * time copying its 401 KB weight into wasm memory (~11 µs) than multiplying (~10 µs).
 * Parameters are long-lived and read by every call, so the initialisers allocate them here
 * (see `parameterArray`); everything else stays in ordinary typed arrays.
 *
 * Only a shared memory can hold them: growing a non-shared memory detaches every view of it,
 * while a grown shared memory leaves old views valid. The resident heap sits above the call
 * arena's ceiling ({@link RESIDENT_BASE}), in address space that costs nothing until touched.
 *
 * Nobody frees a block by hand. Each typed array over a block holds a reference on it,
 * dropped by a FinalizationRegistry when the array is collected; the arrays are of a subclass
 * whose constructor takes that reference, and `subarray` (which builds its result through the
 * subclass) therefore keeps the block alive too. A block is reused only when no array over it
 * can be reached. (A view the user builds by hand over `.buffer` is theirs to keep in scope:
 * `.buffer` is the whole wasm memory.)
 *
 * @module
 */
import { type DType, type FloatArray, allocate } from '../../tensor/dtype.js';
import { RESIDENT_BASE } from './wasm/gemm-kernel.js';
import { runtime } from './runtime.js';

export { RESIDENT_BASE };
/** End of the resident heap: addresses stay below 2³¹, so kernels may compare them signed. */
const RESIDENT_END = 2 ** 31 - (1 << 16);
/** Arrays smaller than this stay ordinary: staging them costs less than a registry entry. */
export const RESIDENT_MIN_BYTES = 4096;

const ALIGN = 64;
/** Bytes past a block a kernel may read (a vector's stray lanes): always inside the memory. */
const SLACK = 64;

interface Block {
  readonly start: number;
  readonly bytes: number;
  refs: number;
}

/** Live blocks by start address, and their starts in order (to find the block of a view). */
const live = new Map<number, Block>();
let starts: number[] = [];
/** Free extents [start, bytes] in address order; `top` is the first never-used byte. */
let free: [number, number][] = [];
let top = RESIDENT_BASE;

const registry = new FinalizationRegistry<number>((start) => release(start));

/** The block holding byte address `at`, if any. */
function blockAt(at: number): Block | undefined {
  let lo = 0, hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = starts[mid]!;
    if (s > at) hi = mid - 1;
    else {
      const b = live.get(s)!;
      if (at < s + b.bytes) return b;
      lo = mid + 1;
    }
  }
  return undefined;
}

/** Take a reference on the block under `a` for as long as `a` lives. */
function adopt(a: FloatArray): void {
  if (residentAddress(a) < 0) return;
  const b = blockAt(a.byteOffset);
  if (b === undefined) return;
  b.refs++;
  registry.register(a, b.start);
}

function release(start: number): void {
  const b = live.get(start);
  if (b === undefined || --b.refs > 0) return;
  live.delete(start);
  starts = starts.filter((s) => s !== start);
  free.push([b.start, b.bytes]);
  free.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const f of free) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last[0] + last[1] === f[0]) last[1] += f[1];
    else merged.push([f[0], f[1]]);
  }
  const last = merged[merged.length - 1];
  if (last !== undefined && last[0] + last[1] === top) {
    top = last[0];
    merged.pop();
  }
  free = merged;
}

/** A Float32Array over resident memory; taking part in the block's reference count is all it adds. */
class ResidentFloat32Array extends Float32Array {
  constructor(...args: unknown[]) {
    super(...(args as [ArrayBuffer, number, number]));
    adopt(this);
  }
}

/** A Float64Array over resident memory (see {@link ResidentFloat32Array}). */
class ResidentFloat64Array extends Float64Array {
  constructor(...args: unknown[]) {
    super(...(args as [ArrayBuffer, number, number]));
    adopt(this);
  }
}

function reserveBlock(bytes: number): number {
  for (let i = 0; i < free.length; i++) {
    const f = free[i]!;
    if (f[1] < bytes) continue;
    const at = f[0];
    if (f[1] === bytes) free.splice(i, 1);
    else free[i] = [at + bytes, f[1] - bytes];
    return at;
  }
  if (top + bytes > RESIDENT_END) return -1;
  const at = top;
  top += bytes;
  return at;
}

/**
 * A zero-filled array of `size` elements in resident memory, or null where there is none (no
 * shared wasm memory, an array under {@link RESIDENT_MIN_BYTES}, or the heap is full).
 */
export function residentArray(dtype: DType, size: number): FloatArray | null {
  const e = dtype === 'float32' ? 4 : 8;
  const need = size * e;
  if (need < RESIDENT_MIN_BYTES) return null;
  const rt = runtime();
  if (!rt || !rt.engine.shared) return null;
  const bytes = Math.ceil(need / ALIGN) * ALIGN;
  const at = reserveBlock(bytes);
  if (at < 0) return null;
  try {
    rt.engine.growTo(at + bytes + SLACK);
  } catch {
    free.push([at, bytes]); // the memory cannot grow there: give the extent back
    free.sort((x, y) => x[0] - y[0]);
    return null;
  }
  const buf = rt.memory.buffer;
  live.set(at, { start: at, bytes, refs: 0 });
  starts.push(at);
  starts.sort((x, y) => x - y);
  new Uint8Array(buf, at, bytes).fill(0); // a reused block holds its last owner's values, padding too
  return dtype === 'float32' ? new ResidentFloat32Array(buf, at, size) : new ResidentFloat64Array(buf, at, size);
}

/**
 * Storage for a parameter (what the initialisers fill): resident where it can be (see the
 * module comment), an ordinary zero-filled array otherwise.
 */
export function parameterArray(dtype: DType, size: number): FloatArray {
  return residentArray(dtype, size) ?? allocate(dtype, size);
}

/** Byte address in the runtime memory of element 0 of `a` if it is resident, else −1. */
export function residentAddress(a: FloatArray): number {
  return a.byteOffset >= RESIDENT_BASE ? (runtime()?.engine.residentAddress(a) ?? -1) : -1;
}

/** @internal Live blocks and their bytes (for specs of the heap's bookkeeping). */
export function residentStats(): { blocks: number; bytes: number; top: number } {
  let bytes = 0;
  for (const b of live.values()) bytes += b.bytes;
  return { blocks: live.size, bytes, top };
}
