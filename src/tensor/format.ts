import type { Tensor } from './tensor.js';

const MAX_ROWS = 20;
const MAX_COLS = 12;

/** Shortest text that reads back as the same value in the tensor's dtype, with `.0` on integers (as Julia prints). */
export function formatNumber(v: number, dtype: 'float32' | 'float64'): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Inf';
  if (v === -Infinity) return '-Inf';
  let s: string;
  if (dtype === 'float32') {
    s = String(v);
    for (let p = 1; p <= 9; p++) {
      const t = v.toPrecision(p);
      if (Math.fround(Number(t)) === v) {
        s = String(Number(t));
        break;
      }
    }
  } else s = String(v);
  if (Object.is(v, -0)) s = '-0';
  if (/^-?\d+$/.test(s)) s += '.0';
  return s;
}

/** Split at the decimal point (or exponent) so columns can be aligned on it. */
function splitAt(s: string): [string, string] {
  const i = s.search(/[.e]/);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i)];
}

/** Indices to show along a dimension of length n, with -1 marking the elision. */
function shown(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const h = Math.floor(max / 2);
  return [...Array.from({ length: h }, (_, i) => i), -1, ...Array.from({ length: h }, (_, i) => n - h + i)];
}

function formatMatrix(get: (i: number, j: number) => number, rows: number, cols: number, dtype: 'float32' | 'float64'): string {
  const ri = shown(rows, MAX_ROWS);
  const ci = shown(cols, MAX_COLS);
  const cells = ri.map((i) => ci.map((j) => (i < 0 || j < 0 ? null : splitAt(formatNumber(get(i, j), dtype)))));
  const left = ci.map((_, c) => Math.max(1, ...cells.map((r) => r[c]?.[0].length ?? 0)));
  const right = ci.map((_, c) => Math.max(0, ...cells.map((r) => r[c]?.[1].length ?? 0)));
  return cells
    .map((r, ri2) =>
      r
        .map((cell, c) => {
          if (ri[ri2] < 0) return (ci[c] < 0 ? '⋱' : '⋮').padStart(left[c]).padEnd(left[c] + right[c]);
          if (cell === null) return '…'.padStart(left[c]).padEnd(left[c] + right[c]);
          return cell[0].padStart(left[c]) + cell[1].padEnd(right[c]);
        })
        .map((s) => ' ' + s)
        .join(' ')
        .replace(/\s+$/, ''),
    )
    .join('\n');
}

/** Julia-REPL-style text for a tensor. */
export function formatTensor(t: Tensor): string {
  const { shape, dtype } = t;
  const type = `Tensor<${dtype}>`;
  const nd = t.nd;
  const at = (off: number) => nd.data[off];
  if (shape.length === 0) return `0-dimensional ${type}:\n${formatNumber(at(nd.offset), dtype)}`;
  if (shape.length === 1) {
    const body = formatMatrix((i) => at(nd.offset + i * nd.stride[0]), shape[0], 1, dtype);
    return `${shape[0]}-element ${type}${shape[0] ? ':\n' + body : ''}`;
  }
  const header = `${shape.join('×')} ${type}`;
  if (t.size === 0) return header;
  const r = shape.length - 2;
  const [rows, cols] = [shape[r], shape[r + 1]];
  const [sr, sc] = [nd.stride[r], nd.stride[r + 1]];
  const lead = shape.slice(0, r);
  const blocks: string[] = [];
  const idx = new Array<number>(r).fill(0);
  const leadCount = lead.reduce((a, b) => a * b, 1);
  const leadShown = shown(leadCount, 6);
  for (const k of leadShown) {
    if (k < 0) {
      blocks.push('⋮');
      continue;
    }
    let rem = k;
    for (let d = r - 1; d >= 0; d--) {
      idx[d] = rem % lead[d];
      rem = Math.floor(rem / lead[d]);
    }
    let base = nd.offset;
    for (let d = 0; d < r; d++) base += idx[d] * nd.stride[d];
    const body = formatMatrix((i, j) => at(base + i * sr + j * sc), rows, cols, dtype);
    blocks.push(r === 0 ? body : `[${idx.join(', ')}, :, :] =\n${body}`);
  }
  return `${header}:\n${blocks.join('\n\n')}`;
}
