/**
 * Reductions and matrix products as gpu.js source: one thread per output element (four for
 * the blocked matrix products), looping over the reduced elements (constant bounds, baked in
 * per shape).
 */
import type { ArgReduceOp, ReduceOp } from '../../ops/primitive.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GpuDevice } from './device.js';
import { broadcastStrides, linear, names, operand, source, stridesOf, unravel, type Operand } from './codegen.js';
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
      const size = shape.reduce((p, q) => p * q, 1);
      const a = operand(dev, x, 'a0'), b = operand(dev, y, 'a1');
      const r = batch.length;
      const sa = broadcastStrides(x.shape.slice(0, -2), r).map((s) => s * m * k);
      const sb = broadcastStrides(y.shape.slice(0, -2), r).map((s) => s * k * n);
      const layout = { shape, r, m, n, k, sa, sb };
      const blocked = n % 4 === 0 ? rowBlock(a, b, layout) : n === 1 && sb.every((s) => s === 0) ? columnBlock(a, b, layout, size) : undefined;
      if (blocked !== undefined) return { buffer: dev.runPacked('matmul', source([a, b], blocked, '[s0, s1, s2, s3]'), size, [a.arg, b.arg]), shape };
      return { buffer: dev.run('matmul', source([a, b], perOutput(a, b, layout), 's'), size, [a.arg, b.arg]), shape };
    },
  };
}

/**
 * Matrix products. gpu.js's GLSL modes have no workgroup memory, so the tiling that a
 * compute shader does through shared memory is done here in registers: each thread computes
 * four outputs and reuses what it loads. On a GPU a matmul like this is bound by texture
 * fetches and their address arithmetic (every `a[i]` becomes an index → texel-coordinate
 * computation and a fetch), not by multiply-adds, so loads per multiply-add is the figure to
 * cut:
 * - n a multiple of 4 ({@link rowBlock}, a 1×4 tile): the four outputs are one row's
 *   consecutive columns; per step of k one load of A serves four products, 1.25 loads per
 *   multiply-add instead of 2, and neighbouring threads read the same A element and adjacent
 *   B elements (texture-cache friendly).
 * - n = 1 with an unbatched right operand (matrix · vector, {@link columnBlock}, a 4×1 tile):
 *   four consecutive rows share each load of the vector.
 * - anything else ({@link perOutput}): one output per thread, four products per iteration.
 * Four outputs per thread is what fits: a gpu.js thread returns at most a vec4, and the four
 * must be consecutive in the flat row-major output (see `GpuDevice.runPacked`). Tiles larger
 * than that (2×2 over two rows, 4×4) would need a layout pass after the product.
 */
interface MatmulLayout {
  readonly shape: readonly number[];
  /** Batch rank. */
  readonly r: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Batch strides of A and B in elements (0 where broadcast). */
  readonly sa: readonly number[];
  readonly sb: readonly number[];
}

/** One output per thread: `s` = row of A · column of B, four products per iteration. */
function perOutput(a: Operand, b: Operand, { shape, r, n, k, sa, sb }: MatmulLayout): string[] {
  const bc = names('o', r);
  const k4 = k - (k % 4);
  return [
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
}

/** n % 4 = 0: thread t computes flat outputs 4t … 4t+3, one row and four consecutive columns. */
function rowBlock(a: Operand, b: Operand, { shape, r, n, k, sa, sb }: MatmulLayout): string[] {
  const bc = names('o', r);
  return [
    'const i0 = i * 4;',
    ...unravel(shape, 'i0', 'o'),
    `const ar = ${linear(bc, sa)} + o${r} * ${k};`,
    `const bc = ${linear(bc, sb)} + o${r + 1};`,
    'let s0 = 0;', 'let s1 = 0;', 'let s2 = 0;', 'let s3 = 0;',
    `for (let p = 0; p < ${k}; p++) {`,
    `const av = ${a.at('ar + p')};`,
    `const bp = bc + p * ${n};`,
    `s0 += av * ${b.at('bp')};`, `s1 += av * ${b.at('bp + 1')};`, `s2 += av * ${b.at('bp + 2')};`, `s3 += av * ${b.at('bp + 3')};`,
    '}',
  ];
}

/**
 * n = 1, B without batch strides: thread t computes flat outputs 4t … 4t+3, four consecutive
 * rows (possibly of different batch elements), sharing each element of B's one column. Lanes
 * past the end recompute the last output (their values fall in the padding).
 */
function columnBlock(a: Operand, b: Operand, { shape, r, k, sa }: MatmulLayout, size: number): string[] {
  const rows = shape.slice(0, r + 1);
  const lines: string[] = [];
  for (let j = 0; j < 4; j++) {
    lines.push(`const i${j} = Math.min(i * 4 + ${j}, ${size - 1});`, ...unravel(rows, `i${j}`, `o${j}_`));
    lines.push(`const ar${j} = ${linear(names(`o${j}_`, r), sa)} + o${j}_${r} * ${k};`);
  }
  return [
    ...lines,
    'let s0 = 0;', 'let s1 = 0;', 'let s2 = 0;', 'let s3 = 0;',
    `for (let p = 0; p < ${k}; p++) {`,
    `const bv = ${b.at('p')};`,
    `s0 += ${a.at('ar0 + p')} * bv;`, `s1 += ${a.at('ar1 + p')} * bv;`, `s2 += ${a.at('ar2 + p')} * bv;`, `s3 += ${a.at('ar3 + p')} * bv;`,
    '}',
  ];
}
