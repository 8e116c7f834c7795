/**
 * Elementwise kernels (unary, binary and comparisons with broadcasting, `where`) as gpu.js
 * source. Functions that lose float32 accuracy near 0 when written from `exp`/`log`
 * (expm1, log1p, sinh, tanh, erf) use their Taylor series there.
 */
import type { BinaryOp, CompareOp, UnaryOp } from '../../ops/primitive.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GpuDevice } from './device.js';
import { broadcastStrides, linear, lit, names, operand, source, unravel, type Operand } from './codegen.js';

/** x·(c0 + x·(c1 + …)) written out, for series in `v`. */
function horner(coeffs: readonly number[], v: string): string {
  let s = lit(coeffs[coeffs.length - 1]);
  for (let i = coeffs.length - 2; i >= 0; i--) s = `${lit(coeffs[i])} + ${v} * (${s})`;
  return s;
}

const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
/** Σ x^k/k!, k = 1…8, for |x| < 0.1 (error below 1e-13 relative). */
const EXPM1_SERIES = Array.from({ length: 8 }, (_, k) => 1 / fact(k + 1));
/** Σ (−1)^(k+1) x^k / k, k = 1…10. */
const LOG1P_SERIES = Array.from({ length: 10 }, (_, k) => (k % 2 === 0 ? 1 : -1) / (k + 1));
/** sinh x / x in x²: Σ x^(2k)/(2k+1)!. */
const SINH_SERIES = Array.from({ length: 5 }, (_, k) => 1 / fact(2 * k + 1));
/** tanh x / x in x², from its Maclaurin series. */
const TANH_SERIES = [1, -1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925];
/** erf x / x in x²: (2/√π) Σ (−1)^k x^(2k) / (k!(2k+1)). */
const ERF_SERIES = Array.from({ length: 12 }, (_, k) => ((k % 2 === 0 ? 1 : -1) * 2) / Math.sqrt(Math.PI) / (fact(k) * (2 * k + 1)));

/** sin r / r in r² and cos r in r², Taylor to r¹¹ / r¹⁰ (error < 1e-11 for |r| ≤ π/4). */
const SIN_SERIES = Array.from({ length: 6 }, (_, k) => (k % 2 === 0 ? 1 : -1) / fact(2 * k + 1));
const COS_SERIES = Array.from({ length: 6 }, (_, k) => (k % 2 === 0 ? 1 : -1) / fact(2 * k));

/**
 * Lines setting `sr` = sin(x) and `cr` = cos(x) reduced to the octant around 0 (quadrant `q`).
 * Drivers' sin/cos are not accurate enough (SwiftShader's is 6e-5 off at x ≈ 0.76), so the
 * argument is reduced here: k = round(x·2/π), red = x − k·π/2 with π/2 split in three parts
 * (Cody–Waite; the first has 8 significant bits, so k·part is exact for |k| < 2¹⁵).
 */
const SINCOS_REDUCED = [
  'const k = Math.floor(x * 0.6366197723675814 + 0.5);',
  `const red = ((x - k * 1.5703125) - k * ${lit(4.837512969970703125e-4)}) - k * ${lit(7.54978995489188216e-8)};`,
  'const red2 = red * red;',
  `const sr = red * (${horner(SIN_SERIES, 'red2')});`,
  `const cr = ${horner(COS_SERIES, 'red2')};`,
  'const q = k - 4 * Math.floor(k / 4);',
];

/** Body lines computing `r` from `x`. */
const UNARY_BODY: Record<UnaryOp, string[]> = {
  neg: ['const r = -x;'],
  exp: ['const r = Math.exp(x);'],
  expm1: ['let r = Math.exp(x) - 1;', `if (Math.abs(x) < 0.1) { r = x * (${horner(EXPM1_SERIES, 'x')}); }`],
  log: ['const r = Math.log(x);'],
  log1p: ['let r = Math.log(1 + x);', `if (Math.abs(x) < 0.1) { r = x * (${horner(LOG1P_SERIES, 'x')}); }`],
  sqrt: ['const r = Math.sqrt(x);'],
  abs: ['const r = Math.abs(x);'],
  sign: ['const r = x > 0 ? 1 : (x < 0 ? -1 : 0);'],
  sin: [...SINCOS_REDUCED, 'let r = sr;', 'if (q == 1) { r = cr; }', 'if (q == 2) { r = -sr; }', 'if (q == 3) { r = -cr; }'],
  cos: [...SINCOS_REDUCED, 'let r = cr;', 'if (q == 1) { r = -sr; }', 'if (q == 2) { r = -cr; }', 'if (q == 3) { r = sr; }'],
  tan: [...SINCOS_REDUCED, 'let r = sr / cr;', 'if (q == 1 || q == 3) { r = -cr / sr; }'],
  // the GL drivers' asin/acos are far less accurate than their atan (3e-5 off on Mesa): via atan2
  asin: ['const r = Math.atan2(x, Math.sqrt((1 - x) * (1 + x)));'],
  acos: ['const r = Math.atan2(Math.sqrt((1 - x) * (1 + x)), x);'],
  atan: ['const r = Math.atan(x);'],
  sinh: ['const e = Math.exp(x);', 'let r = (e - 1 / e) / 2;', `if (Math.abs(x) < 0.1) { const x2 = x * x; r = x * (${horner(SINH_SERIES, 'x2')}); }`],
  cosh: ['const e = Math.exp(x);', 'const r = (e + 1 / e) / 2;'],
  tanh: [
    'const ax = Math.abs(x);', 'const e = Math.exp(-2 * ax);', 'let r = (x < 0 ? -1 : 1) * (1 - e) / (1 + e);',
    `if (ax < 0.1) { const x2 = x * x; r = x * (${horner(TANH_SERIES, 'x2')}); }`,
  ],
  sigmoid: ['const r = 1 / (1 + Math.exp(-x));'],
  relu: ['const r = x > 0 ? x : 0;'],
  // |x| ≥ 0.5: Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7, relative < 3e-7 there)
  erf: [
    'const ax = Math.abs(x);', 'const t = 1 / (1 + 0.3275911 * ax);',
    'const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));',
    'let r = (x < 0 ? -1 : 1) * (1 - poly * Math.exp(-ax * ax));',
    `if (ax < 0.5) { const x2 = x * x; r = x * (${horner(ERF_SERIES, 'x2')}); }`,
  ],
};

/** Body lines computing `r` from `x` and `y` (`INFINITY` stands for the device's +∞, see {@link GpuDevice.infinity}). */
const BINARY_BODY: Record<BinaryOp | CompareOp, string[]> = {
  add: ['const r = x + y;'], sub: ['const r = x - y;'], mul: ['const r = x * y;'], div: ['const r = x / y;'],
  // GLSL's pow is undefined for x < 0 and for 0^0: the sign of odd integer powers and the
  // zero cases are restored here (a negative base with a non-integer exponent has no real value)
  pow: [
    'let r = Math.pow(Math.abs(x), y);',
    'if (x < 0) { const half = y / 2; if (Math.floor(y) == y && Math.floor(half) != half) { r = -r; } }',
    'if (x == 0) { r = y > 0 ? 0 : INFINITY; }',
    'if (y == 0) { r = 1; }',
  ],
  maximum: ['const r = Math.max(x, y);'], minimum: ['const r = Math.min(x, y);'],
  atan2: ['const r = Math.atan2(x, y);'],
  mod: ['const r = x - y * Math.floor(x / y);'],
  gt: ['const r = x > y ? 1 : 0;'], ge: ['const r = x >= y ? 1 : 0;'], lt: ['const r = x < y ? 1 : 0;'],
  le: ['const r = x <= y ? 1 : 0;'], eq: ['const r = x == y ? 1 : 0;'], ne: ['const r = x != y ? 1 : 0;'],
};

/** The broadcast shape of several shapes (already checked compatible by the op layer). */
export function broadcastShape(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) for (let d = 0; d < s.length; d++) {
    const o = rank - s.length + d;
    if (s[d] !== 1) out[o] = s[d];
  }
  return out;
}

/** Lines and read expressions for operands broadcast to `shape` (the flat index where no broadcast is needed). */
export function broadcastReads(ops: Operand[], inputs: readonly Tensor[], shape: readonly number[]): { lines: string[]; reads: string[] } {
  const rank = shape.length;
  const same = (t: Tensor) => t.ndim === rank && t.shape.every((n, d) => n === shape[d]);
  const lines = inputs.every((t) => same(t) || t.size === 1) ? [] : unravel(shape, 'i', 'o');
  const coords = names('o', rank);
  const reads = inputs.map((t, k) => (t.size === 1 ? ops[k].at('0') : same(t) ? ops[k].at('i') : ops[k].at(linear(coords, broadcastStrides(t.shape, rank)))));
  return { lines, reads };
}

/** Kernels of the elementwise primitives on `dev`. */
export function elementwiseKernels(dev: GpuDevice) {
  const run = (op: string, inputs: Tensor[], body: (reads: string[]) => string[]) => {
    const shape = broadcastShape(inputs.map((t) => t.shape));
    const ops = inputs.map((t, k) => operand(dev, t, `a${k}`));
    const { lines, reads } = broadcastReads(ops, inputs, shape);
    const size = shape.reduce((a, b) => a * b, 1);
    const code = [...lines, ...body(reads)].map((l) => l.replace('INFINITY', dev.infinity));
    return { buffer: dev.run(op, source(ops, code, 'r'), size, ops.map((o) => o.arg)), shape };
  };
  return {
    unary: (op: UnaryOp, x: Tensor) => run(op, [x], ([r]) => [`const x = ${r};`, ...UNARY_BODY[op]]),
    binary: (op: BinaryOp | CompareOp, a: Tensor, b: Tensor) => run(op, [a, b], ([ra, rb]) => [`const x = ${ra};`, `const y = ${rb};`, ...BINARY_BODY[op]]),
    where: (c: Tensor, a: Tensor, b: Tensor) => run('where', [c, a, b], ([rc, ra, rb]) => [`const r = ${rc} != 0 ? ${ra} : ${rb};`]),
  };
}
