/**
 * One untraced LSTM step on the CPU as one pass: both matrix–vector products and the bias in
 * one WebAssembly call (./wasm/cell-kernel.ts), then the gate arithmetic in one JavaScript
 * loop. For a small cell the arithmetic is a few thousand multiply-adds, so the separate
 * operations' per-call costs (dispatch, a tensor and an array per result, staging each
 * product's operands) were most of a step; here the operands are staged once (one copy per
 * weight matrix) and only the two results are allocated.
 *
 * Where WebAssembly SIMD is missing the products run as JavaScript loops instead; the gate
 * loop is the same either way.
 *
 * @module
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { allocate } from '../../tensor/dtype.js';
import { CONTROL_BYTES, MAX_PAGES, type WasmGemmEngine } from './wasm/gemm-kernel.js';
import { buildCellModule, type GatesExport, type LstmExport } from './wasm/cell-kernel.js';
import { singleThreadEngine } from './gemm.js';

/** A contiguous operand: its storage and where its first element is. */
export interface Operand {
  readonly data: FloatArray;
  readonly offset: number;
}

interface CellKernel {
  readonly eng: WasmGemmEngine;
  readonly f32: GatesExport;
  readonly f64: GatesExport;
  readonly lstmF32: LstmExport;
}

let kernel: CellKernel | null | undefined;

function getKernel(): CellKernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  const eng = singleThreadEngine();
  if (eng !== null) {
    try {
      const mod = new WebAssembly.Module(buildCellModule({ shared: eng.shared, maxPages: MAX_PAGES }));
      const fns = new WebAssembly.Instance(mod, { env: { memory: eng.memory } }).exports as Record<string, unknown>;
      kernel = { eng, f32: fns.gates_f32 as GatesExport, f64: fns.gates_f64 as GatesExport, lstmF32: fns.lstm_f32 as LstmExport };
    } catch {
      // the JavaScript products cover it
    }
  }
  return kernel;
}

/**
 * Which implementation of the products runs: `'auto'` (wasm where available), or one forced.
 * @internal For tests (both paths must agree) and benchmarks.
 */
export const cellTuning: { products: 'auto' | 'js' } = { products: 'auto' };

const align16 = (bytes: number): number => (bytes + 15) & ~15;

/** σ as the CPU sigmoid kernel's loop computes it (no overflow for either sign). */
function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

function identity(v: number): number {
  return v;
}

/**
 * The LSTM gate arithmetic on pre-activations `z` (gate q of element j of row b at
 * `z[zOff + b·rowStride + q·gateStride + j]`, gates i, f, g, o) and cell state `c`
 * `[batch, H]`: `c′ = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h′ = σ(o) ⊙ tanh(c′)`, each operation
 * rounded to the dtype as the separate kernels store it (so bit-identical to them for the
 * same `z`). Returns `[h′, c′]`, new arrays.
 */
export function lstmGates(
  z: FloatArray, zOff: number, rowStride: number, gateStride: number,
  c: FloatArray, cOff: number, batch: number, H: number, f32: boolean,
): [FloatArray, FloatArray] {
  const m = batch * H;
  const cOut = allocate(f32 ? 'float32' : 'float64', m), hOut = allocate(f32 ? 'float32' : 'float64', m);
  const r = f32 ? Math.fround : identity;
  const g1 = gateStride, g2 = 2 * gateStride, g3 = 3 * gateStride;
  for (let b = 0, k = 0; b < batch; b++) {
    const row = zOff + b * rowStride;
    for (let j = 0; j < H; j++, k++) {
      const iv = r(sigmoid(z[row + j]!)), fv = r(sigmoid(z[row + g1 + j]!)), gv = r(Math.tanh(z[row + g2 + j]!)), ov = r(sigmoid(z[row + g3 + j]!));
      const c2 = r(r(fv * c[cOff + k]!) + r(iv * gv));
      cOut[k] = c2;
      hOut[k] = r(ov * r(Math.tanh(c2)));
    }
  }
  return [hOut, cOut];
}

/**
 * The pre-activations `z = (x·Wxᵀ + bias) + h·Whᵀ`, `[batch, G]`, into `z`, in JavaScript:
 * dot products with four partial sums in float64 (as the CPU gemm's loops), rounded to the
 * dtype where each unfused operation would store its result.
 */
function gatesJs(batch: number, G: number, kx: number, kh: number, wx: Operand, wh: Operand, bias: FloatArray | null, x: Operand, h: Operand, z: FloatArray): void {
  const r = z instanceof Float32Array ? Math.fround : identity;
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < G; j++) {
      let s = r(dot(wx.data, wx.offset + j * kx, x.data, x.offset + b * kx, kx));
      if (bias !== null) s = r(s + bias[j]!);
      z[b * G + j] = s + dot(wh.data, wh.offset + j * kh, h.data, h.offset + b * kh, kh);
    }
  }
}

function dot(a: FloatArray, ai: number, v: FloatArray, vi: number, k: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, p = 0;
  for (; p + 3 < k; p += 4) {
    s0 += a[ai + p]! * v[vi + p]!;
    s1 += a[ai + p + 1]! * v[vi + p + 1]!;
    s2 += a[ai + p + 2]! * v[vi + p + 2]!;
    s3 += a[ai + p + 3]! * v[vi + p + 3]!;
  }
  let s = s0 + s1 + (s2 + s3);
  for (; p < k; p++) s += a[ai + p]! * v[vi + p]!;
  return s;
}

/** Copy `n` elements of `src` from `off` to `dst` at element `at`. */
function stage(dst: FloatArray, at: number, src: FloatArray, off: number, n: number): void {
  if (off === 0 && src.length === n) dst.set(src, at);
  else dst.set(src.subarray(off, off + n), at);
}

/**
 * One LSTM step, `[h′, c′]` (new arrays, `[batch, H]`), from contiguous operands of one
 * dtype: weights `wx` `[4H, kx]`, `wh` `[4H, H]`, biases `[4H]` (null for none), input `x`
 * `[batch, kx]`, state `h`, `c` `[batch, H]`. The two biases are summed first, as the unfused
 * path sums them before adding them to the input projection.
 */
export function lstmStep(
  batch: number, kx: number, H: number, f32: boolean,
  wx: Operand, wh: Operand, bx: Operand | null, bh: Operand | null,
  x: Operand, h: Operand, c: Operand,
): [FloatArray, FloatArray] {
  const G = 4 * H;
  const k = cellTuning.products === 'auto' ? getKernel() : null;
  if (k === null) {
    const bias = biasSum(G, f32, bx, bh);
    const z = allocate(f32 ? 'float32' : 'float64', batch * G);
    gatesJs(batch, G, kx, H, wx, wh, bias, x, h, z);
    return lstmGates(z, 0, G, H, c.data, c.offset, batch, H, f32);
  }
  const e = f32 ? 4 : 8, m = batch * H, mp = (m + 3) & ~3;
  const wxAt = CONTROL_BYTES, whAt = align16(wxAt + G * kx * e), xAt = align16(whAt + G * H * e);
  const hAt = align16(xAt + batch * kx * e), bAt = align16(hAt + m * e), zAt = align16(bAt + G * e);
  const cAt = zAt + 4 * mp * e, hOutAt = cAt + mp * e, cOutAt = hOutAt + mp * e;
  const views = k.eng.reserve(cOutAt + mp * e);
  const mem = f32 ? views.f32 : views.f64;
  stage(mem, wxAt / e, wx.data, wx.offset, G * kx);
  stage(mem, whAt / e, wh.data, wh.offset, G * H);
  stage(mem, xAt / e, x.data, x.offset, batch * kx);
  stage(mem, hAt / e, h.data, h.offset, batch * H);
  let bias = 0;
  if (bx !== null && bh !== null) {
    // the float32 view's stores round the sum, as the unfused add does
    const at = bAt / e, xd = bx.data, xo = bx.offset, hd = bh.data, ho = bh.offset;
    for (let j = 0; j < G; j++) mem[at + j] = xd[xo + j]! + hd[ho + j]!;
    bias = bAt;
  } else if (bx !== null || bh !== null) {
    const b = (bx ?? bh)!;
    stage(mem, bAt / e, b.data, b.offset, G);
    bias = bAt;
  }
  (f32 ? k.f32 : k.f64)(batch, H, kx, wxAt, whAt, xAt, hAt, bias, zAt, mp);
  if (!f32) return lstmGates(mem, zAt / e, H, mp, c.data, c.offset, batch, H, false);
  stage(mem, cAt / e, c.data, c.offset, m);
  if (mp > m) mem.fill(0, cAt / e + m, cAt / e + mp); // padding lanes: finite, never read back
  k.lstmF32(mp, zAt, cAt, hOutAt, cOutAt);
  return [copyOut(mem, hOutAt / e, m), copyOut(mem, cOutAt / e, m)];
}

/** A new float32 array of `mem[at..at+n)` (`slice` on the large wasm buffer costs ~0.4 µs a call; a loop is far cheaper for a small state). */
function copyOut(mem: FloatArray, at: number, n: number): FloatArray {
  const out = allocate('float32', n);
  if (n > 256) out.set(mem.subarray(at, at + n));
  else for (let i = 0; i < n; i++) out[i] = mem[at + i]!;
  return out;
}

function biasSum(G: number, f32: boolean, bx: Operand | null, bh: Operand | null): FloatArray | null {
  if (bx === null && bh === null) return null;
  const out = allocate(f32 ? 'float32' : 'float64', G);
  for (let j = 0; j < G; j++) out[j] = (bx === null ? 0 : bx.data[bx.offset + j]!) + (bh === null ? 0 : bh.data[bh.offset + j]!);
  return out;
}
