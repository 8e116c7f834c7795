/**
 * Reductions and matrix products as gpu.js source: one thread per output element, looping
 * over the reduced elements (constant bounds, baked in per shape).
 */
import type { ArgReduceOp, ReduceOp } from '../../ops/primitive.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GpuDevice } from './device.js';
import { broadcastStrides, linear, names, operand, source, stridesOf, unravel } from './codegen.js';
import { broadcastShape } from './elementwise.js';
import type { DeviceBuffer } from './storage.js';

const COMBINE: Record<ReduceOp, (acc: string, v: string) => string> = {
  sum: (a, v) => `${a} + ${v}`,
  prod: (a, v) => `${a} * ${v}`,
  max: (a, v) => `Math.max(${a}, ${v})`,
  min: (a, v) => `Math.min(${a}, ${v})`,
};

/** Lines that set `base` (the kept coordinates' offset) and a loop body reading element `j` of the reduced block as `v`. */
function reduceLayout(shape: readonly number[], axes: readonly number[]): { kept: number[]; lines: string[]; count: number; loopLines: string[] } {
  const strides = stridesOf(shape);
  const keptAxes = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const kept = keptAxes.map((d) => shape[d]);
  const lines = [...unravel(kept, 'i', 'k'), `const base = ${linear(names('k', kept.length), keptAxes.map((d) => strides[d]))};`];
  const red = axes.map((d) => shape[d]);
  const count = red.reduce((a, b) => a * b, 1);
  // consecutive reduced axes form one strided run: element j is at base + j·(stride of the last)
  const consecutive = axes.every((d, q) => q === 0 || d === axes[q - 1] + 1);
  const loopLines = consecutive
    ? [`const at = base + j * ${strides[axes[axes.length - 1]]};`]
    : [...unravel(red, 'j', 'r'), `const at = base + ${linear(names('r', red.length), axes.map((d) => strides[d]))};`];
  return { kept, lines, count, loopLines };
}

/** Kernels of the reductions and matmul on `dev`. */
export function reduceKernels(dev: GpuDevice) {
  return {
    /** sum/prod/max/min over sorted axes (non-empty input); returns the buffer of the kept shape. */
    reduce(op: ReduceOp, x: Tensor, axes: readonly number[]): DeviceBuffer {
      const a = operand(dev, x, 'a0');
      if (axes.length === 0) return dev.upload(x);
      const { kept, lines, count, loopLines } = reduceLayout(x.shape, axes);
      const body = [
        ...lines, `let acc = ${a.at('base')};`,
        `for (let j = 1; j < ${count}; j++) {`, ...loopLines, `acc = ${COMBINE[op]('acc', a.at('at'))};`, '}',
      ];
      return dev.run(op, source([a], body, 'acc'), kept.reduce((p, q) => p * q, 1), [a.arg]);
    },

    /** Index of the first extreme along `axis` (non-empty input). */
    argReduce(op: ArgReduceOp, x: Tensor, axis: number): DeviceBuffer {
      const a = operand(dev, x, 'a0');
      const { kept, lines, count, loopLines } = reduceLayout(x.shape, [axis]);
      const cmp = op === 'argmax' ? '>' : '<';
      const body = [
        ...lines, `let best = ${a.at('base')};`, 'let bi = 0;',
        `for (let j = 1; j < ${count}; j++) {`, ...loopLines, `const v = ${a.at('at')};`, `if (v ${cmp} best) { best = v; bi = j; }`, '}',
      ];
      return dev.run(op, source([a], body, 'bi'), kept.reduce((p, q) => p * q, 1), [a.arg]);
    },

    /** Batched [..., m, k] · [..., k, n] with broadcast batch dimensions. */
    matmul(x: Tensor, y: Tensor): { buffer: DeviceBuffer; shape: number[] } {
      const [m, k] = x.shape.slice(-2), n = y.shape[y.ndim - 1];
      const batch = broadcastShape([x.shape.slice(0, -2), y.shape.slice(0, -2)]);
      const shape = [...batch, m, n];
      const a = operand(dev, x, 'a0'), b = operand(dev, y, 'a1');
      const r = batch.length;
      const coords = names('o', r + 2);
      const sa = broadcastStrides(x.shape.slice(0, -2), r).map((s) => s * m * k);
      const sb = broadcastStrides(y.shape.slice(0, -2), r).map((s) => s * k * n);
      const bc = coords.slice(0, r);
      // four products per iteration: fewer loop tests, and independent multiplies for the shader compiler
      const k4 = k - (k % 4);
      const body = [
        ...unravel(shape, 'i', 'o'),
        `const ar = ${linear(bc, sa)} + o${r} * ${k};`,
        `const bc = ${linear(bc, sb)} + o${r + 1};`,
        'let s = 0;',
        `for (let p = 0; p < ${k4}; p += 4) {`,
        `s += ${a.at('ar + p')} * ${b.at(`bc + p * ${n}`)} + ${a.at('ar + p + 1')} * ${b.at(`bc + (p + 1) * ${n}`)}` +
          ` + ${a.at('ar + p + 2')} * ${b.at(`bc + (p + 2) * ${n}`)} + ${a.at('ar + p + 3')} * ${b.at(`bc + (p + 3) * ${n}`)};`,
        '}',
        `for (let p = ${k4}; p < ${k}; p++) {`, `s += ${a.at('ar + p')} * ${b.at(`bc + p * ${n}`)};`, '}',
      ];
      return { buffer: dev.run('matmul', source([a, b], body, 's'), shape.reduce((p, q) => p * q, 1), [a.arg, b.arg]), shape };
    },
  };
}
