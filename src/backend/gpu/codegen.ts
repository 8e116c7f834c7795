/**
 * Helpers that write kernel source for gpu.js: flat output index → coordinates, strides,
 * broadcast reads. Division of exact integers held in floats is done as `floor((n + 0.5) / d)`,
 * which is exact for n < 2²³ whatever rounding the device's division has.
 */
import type { Tensor } from '../../tensor/tensor.js';
import type { GpuDevice, KernelArg } from './device.js';
import { bufferOf } from './storage.js';
import { stridesOf } from '../../tensor/shape.js';

// Row-major strides of a compact tensor: the tensor core's, re-exported for the kernel generators.
export { stridesOf };

/** A number as a source literal (gpu.js reads JavaScript; no exponent notation for GLSL's sake). */
export function lit(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const s = String(n);
  return s.includes('e') ? n.toFixed(30).replace(/0+$/, '') : s;
}

/** Lines that split the flat index `flat` over `shape` into `${p}0 … ${p}{r-1}`. */
export function unravel(shape: readonly number[], flat: string, p: string): string[] {
  const r = shape.length;
  if (r === 0) return [];
  const lines: string[] = [];
  let rem = flat;
  for (let d = r - 1; d >= 1; d--) {
    if (shape[d] === 1) {
      lines.push(`const ${p}${d} = 0;`);
      continue;
    }
    lines.push(`const ${p}q${d} = Math.floor((${rem} + 0.5) / ${shape[d]});`);
    lines.push(`const ${p}${d} = ${rem} - ${p}q${d} * ${shape[d]};`);
    rem = `${p}q${d}`;
  }
  lines.push(`const ${p}0 = ${rem};`);
  return lines;
}

/** Σ coordinate·stride over the dimensions, skipping zero strides; `'0'` when none remain. */
export function linear(coords: readonly string[], strides: readonly number[]): string {
  const terms: string[] = [];
  for (let d = 0; d < coords.length; d++) {
    if (strides[d] === 0) continue;
    terms.push(strides[d] === 1 ? coords[d] : `${coords[d]} * ${strides[d]}`);
  }
  return terms.length === 0 ? '0' : terms.join(' + ');
}

/** Strides with which an input of `shape` is read at the coordinates of a broadcast output of rank `rank`. */
export function broadcastStrides(shape: readonly number[], rank: number): number[] {
  const s = stridesOf(shape);
  const out = new Array<number>(rank).fill(0);
  for (let d = 0; d < shape.length; d++) out[rank - shape.length + d] = shape[d] === 1 ? 0 : s[d];
  return out;
}

/** One kernel input: its argument and how the source reads element `idx` of it. */
export interface Operand {
  readonly name: string;
  readonly arg: KernelArg;
  /** Source that reads the element at flat index expression `idx`. */
  at(idx: string): string;
}

/**
 * `t` as kernel input `name`. A one-element CPU tensor (a scalar such as a learning rate) is
 * passed as a number, so changing it does not compile a new kernel; anything else is a texture.
 */
export function operand(dev: GpuDevice, t: Tensor, name: string): Operand {
  if (t.size === 1 && bufferOf(t) === undefined) {
    const v = t.data[0];
    return { name, arg: v, at: () => name };
  }
  return { name, arg: dev.upload(t).value, at: (idx) => `${name}[${idx}]` };
}

/** A complete kernel: arguments, body lines, and the returned expression. */
export function source(ops: readonly Operand[], lines: readonly string[], ret: string): string {
  return `function (${ops.map((o) => o.name).join(', ')}) {\nconst i = this.thread.x;\n${lines.join('\n')}\nreturn ${ret};\n}`;
}

/** Coordinate names `${p}0 … ${p}{r-1}`. */
export const names = (p: string, r: number): string[] => Array.from({ length: r }, (_, d) => `${p}${d}`);
