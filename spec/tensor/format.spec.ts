import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { inspect } from 'node:util';
import { tensor, zeros, arange, transpose, broadcastTo, type DType, type Tensor } from '../../src/index.js';
import { arbTensorCase, arbValue } from '../_helpers/arbitraries.js';
import { unravel } from '../_helpers/reference.js';

/** Significant digits of a decimal string, ignoring Julia's `.0` on integers. */
function sigDigits(cell: string): number {
  let m = cell.replace(/^-/, '').replace(/e.*$/, '').replace(/\.0$/, '');
  m = m.replace('.', '').replace(/^0+/, '');
  if (!cell.includes('.') || cell.endsWith('.0')) m = m.replace(/0+$/, '');
  return Math.max(1, m.length);
}

/** Fewest significant digits that read back as `v` in the dtype (independently of the formatter). */
function shortestDigits(v: number, dtype: DType): number {
  if (v === 0) return 1;
  for (let p = 1; p <= 17; p++) {
    const back = Number(v.toPrecision(p));
    if ((dtype === 'float32' ? Math.fround(back) : back) === v) return p;
  }
  return 17;
}

/** Parse one printed cell back to a number. */
function parseCell(cell: string): number {
  if (cell === 'NaN') return NaN;
  if (cell === 'Inf') return Infinity;
  if (cell === '-Inf') return -Infinity;
  assert.ok(/^-?\d+(\.\d+)?(e[-+]?\d+)?$/.test(cell), `cell ${JSON.stringify(cell)} is a decimal number`);
  return Number(cell);
}

function checkCell(cell: string, v: number, dtype: DType, what: string): void {
  const back = parseCell(cell);
  if (v !== v) {
    assert.is(cell, 'NaN', what);
    return;
  }
  assert.ok(Object.is(dtype === 'float32' ? Math.fround(back) : back, v), `${what}: ${cell} reads back as ${v}`);
  if (Number.isFinite(v)) {
    if (Number.isInteger(v) && Math.abs(v) < 1e16) assert.ok(cell.endsWith('.0'), `${what}: integer ${cell} printed with .0`);
    assert.is(sigDigits(cell), shortestDigits(v, dtype), `${what}: ${cell} is the shortest form of ${v}`);
  }
}

/** Position a cell aligns on: its decimal point or exponent, else its end. */
function alignAt(line: string, cellStart: number, cell: string): number {
  const k = cell.search(/[.e]/);
  return cellStart + (k < 0 ? cell.length : k);
}

function cellsOf(line: string): { cell: string; at: number }[] {
  const out: { cell: string; at: number }[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push({ cell: m[0], at: m.index });
  return out;
}

test('matrices: header, one line per row, every cell reads back (shortest form), columns aligned on the point', () => {
  const arb = fc.record({ r: fc.integer({ min: 1, max: 20 }), c: fc.integer({ min: 1, max: 12 }), dtype: fc.constantFrom<DType>('float64', 'float32') })
    .chain(({ r, c, dtype }) => arbTensorCase([r, c], {
      dtype,
      values: { min: -1e4, max: 1e4, special: true },
      layouts: ['contiguous', 'transposed', 'sliced', 'broadcast'],
    }));
  fc.assert(fc.property(arb, ({ t, shape, values, dtype }) => {
    const [r, c] = shape;
    const lines = t.toString().split('\n');
    assert.is(lines[0], `${r}×${c} Tensor<${dtype}>:`);
    assert.is(lines.length, r + 1);
    const aligns: number[][] = [];
    for (let i = 0; i < r; i++) {
      const line = lines[i + 1];
      assert.ok(line.startsWith(' '), 'rows are indented by one space');
      assert.not.ok(/\s$/.test(line), 'no trailing blanks');
      const cells = cellsOf(line);
      assert.is(cells.length, c, `row ${i} has ${c} cells: ${line}`);
      aligns.push(cells.map(({ cell, at }) => alignAt(line, at, cell)));
      cells.forEach(({ cell }, j) => checkCell(cell, values[i * c + j], dtype, `[${i},${j}]`));
    }
    for (let j = 0; j < c; j++) {
      const col = aligns.map((a) => a[j]);
      assert.ok(col.every((p) => p === col[0]), `column ${j} aligned: ${t.toString()}`);
    }
  }), { numRuns: 150 });
});

test('vectors print one value per line under `n-element Tensor<dtype>:`', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 20 }).chain((n) => arbTensorCase([n], { values: { special: true } })), ({ t, values, dtype }) => {
    const lines = t.toString().split('\n');
    assert.is(lines[0], `${values.length}-element Tensor<${dtype}>:`);
    assert.is(lines.length, values.length + 1);
    const at = lines.slice(1).map((l) => alignAt(l, l.search(/\S/), l.trim()));
    assert.ok(at.every((p) => p === at[0]), 'aligned on the point');
    lines.slice(1).forEach((l, i) => checkCell(l.trim(), values[i], dtype, `[${i}]`));
  }), { numRuns: 100 });
});

test('scalars, special values and signed zero', () => {
  assert.is(tensor(3).toString(), '0-dimensional Tensor<float64>:\n3.0');
  assert.is(tensor(-0.5, { dtype: 'float32' }).toString(), '0-dimensional Tensor<float32>:\n-0.5');
  // Julia aligns on the decimal point; a cell without one (NaN, Inf) ends where the points are
  assert.is(tensor([NaN, Infinity, -Infinity, -0, 0]).toString(), '5-element Tensor<float64>:\n  NaN\n  Inf\n -Inf\n   -0.0\n    0.0');
  assert.is(tensor([NaN, 1.5]).toString(), '2-element Tensor<float64>:\n NaN\n   1.5');
  // float32 prints its own shortest form, not the float64 expansion of the stored value
  assert.is(tensor([0.1, 1 / 3], { dtype: 'float32' }).toString(), '2-element Tensor<float32>:\n 0.1\n 0.33333334');
  assert.is(tensor([[1, 2.5, 3], [4, 5, -6]]).toString(), '2×3 Tensor<float64>:\n 1.0  2.5   3.0\n 4.0  5.0  -6.0');
});

test('empty tensors print only their header', () => {
  assert.is(zeros([0]).toString(), '0-element Tensor<float64>');
  assert.is(zeros([0, 3]).toString(), '0×3 Tensor<float64>');
  assert.is(zeros([2, 0, 3], { dtype: 'float32' }).toString(), '2×0×3 Tensor<float32>');
});

test('higher ranks print one matrix per leading index, as `[i, j, :, :] =` blocks', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 4 }).chain((s) => arbTensorCase(s, { values: { integers: true, min: -99, max: 99 } })),
    ({ t, shape, values }) => {
      const text = t.toString();
      const blocks = text.split('\n\n');
      const lead = shape.slice(0, -2);
      const count = lead.reduce((a, b) => a * b, 1);
      // more than six blocks: the first three, ⋮, the last three
      const shown = count <= 6 ? [...Array(count).keys()] : [0, 1, 2, -1, count - 3, count - 2, count - 1];
      assert.is(blocks.length, shown.length);
      const [r, c] = shape.slice(-2);
      blocks.forEach((b, bi) => {
        const k = shown[bi];
        if (k < 0) {
          assert.is(b, '⋮');
          return;
        }
        const lines = b.split('\n');
        if (bi === 0) {
          assert.is(lines[0], `${shape.join('×')} Tensor<${t.dtype}>:`);
          lines.shift();
        }
        const idx = unravel(k, lead);
        assert.is(lines[0], `[${idx.join(', ')}, :, :] =`);
        assert.is(lines.length, r + 1);
        for (let i = 0; i < r; i++) {
          const cells = cellsOf(lines[i + 1]).map((x) => parseCell(x.cell));
          assert.equal(cells, values.slice((k * r + i) * c, (k * r + i + 1) * c));
        }
      });
    },
  ), { numRuns: 60 });
});

test('large matrices are elided with ⋮, … and ⋱, keeping the corners', () => {
  const x = arange(30 * 16).reshape([30, 16]);
  const lines = x.toString().split('\n');
  assert.is(lines[0], '30×16 Tensor<float64>:');
  assert.is(lines.length, 1 + 21, 'ten rows, the ⋮ row, ten rows');
  const first = cellsOf(lines[1]).map((c) => c.cell);
  assert.equal(first, ['0.0', '1.0', '2.0', '3.0', '4.0', '5.0', '…', '10.0', '11.0', '12.0', '13.0', '14.0', '15.0']);
  const dots = cellsOf(lines[11]).map((c) => c.cell);
  assert.equal(dots, ['⋮', '⋮', '⋮', '⋮', '⋮', '⋮', '⋱', '⋮', '⋮', '⋮', '⋮', '⋮', '⋮']);
  const last = cellsOf(lines[21]).map((c) => c.cell);
  assert.is(last[0], String(29 * 16) + '.0');
  assert.is(last[12], String(30 * 16 - 1) + '.0');
  // a long vector
  const v = arange(100).toString().split('\n');
  assert.is(v.length, 1 + 21);
  assert.is(v[11].trim(), '⋮');
  assert.is(v[21].trim(), '99.0');
  // many leading blocks are elided too
  const blocks = zeros([10, 1, 1]).toString().split('\n\n');
  assert.ok(blocks.length < 10 && blocks.some((b) => b.trim() === '⋮'), 'leading blocks elided');
});

test('views print their logical values; inspect and template strings use the same text', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.is(transpose(x).toString(), tensor([[1, 4], [2, 5], [3, 6]]).toString());
  assert.is(broadcastTo(tensor([1, 2]), [2, 2]).toString(), tensor([[1, 2], [1, 2]]).toString());
  assert.is(inspect(x), x.toString());
  assert.is(`${x}`, x.toString());
});

test('single values print through the same rules at any magnitude', () => {
  fc.assert(fc.property(arbValue({ min: -1e30, max: 1e30, special: true }), fc.constantFrom<DType>('float64', 'float32'), (v, dtype) => {
    const t: Tensor = tensor([v], { dtype });
    const cell = t.toString().split('\n')[1].trim();
    checkCell(cell, dtype === 'float32' ? Math.fround(v) : v, dtype, String(v));
  }), { numRuns: 300 });
});

test.run();
