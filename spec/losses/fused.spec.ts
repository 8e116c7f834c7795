/**
 * The fused logitCrossentropy (src/losses/fused.ts, taken for class scores along the last
 * axis): values and both gradients (in ŷ and in y) for every named `agg`, float32 and
 * float64, 1-d to 3-d, against the closed forms written as float64 loops here
 * (loss = lse(z) Σy − Σ y z, ∂z = w·(softmax(z)·Σy − y), ∂y = w·(lse(z) − z)); and a
 * cotangent for `agg: 'none'` that weights the rows differently.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, tensor, logitCrossentropy, pullback } from '../../src/index.js';
import { valuesOf } from '../_helpers/ad-arbitraries.js';

type Agg = 'mean' | 'sum' | 'none';

/** Reference loss per row, and gradients for row weights w, in float64 loops. */
function reference(z: number[], y: number[], cols: number, w: (r: number) => number) {
  const rows = z.length / cols;
  const loss: number[] = [], gz: number[] = [], gy: number[] = [];
  for (let r = 0; r < rows; r++) {
    const zr = z.slice(r * cols, (r + 1) * cols), yr = y.slice(r * cols, (r + 1) * cols);
    const m = Math.max(...zr);
    let s = 0;
    for (const v of zr) s += Math.exp(v - m);
    const lse = m + Math.log(s);
    let l = 0, ys = 0;
    for (let c = 0; c < cols; c++) { l += yr[c]! * (lse - zr[c]!); ys += yr[c]!; }
    loss.push(l);
    for (let c = 0; c < cols; c++) {
      gz.push(w(r) * (Math.exp(zr[c]! - lse) * ys - yr[c]!));
      gy.push(w(r) * (lse - zr[c]!));
    }
  }
  return { loss, gz, gy };
}

function close(got: number[], want: number[], tol: number, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  got.forEach((g, i) => {
    const ok = Math.abs(g - want[i]!) <= tol * (1 + Math.abs(want[i]!));
    if (!ok) assert.unreachable(`${what}[${i}]: got ${g}, expected ${want[i]}`);
  });
}

const arbCase = fc.record({
  lead: fc.constantFrom([] as number[], [1], [4], [2, 3]),
  cols: fc.integer({ min: 1, max: 7 }),
  dtype: fc.constantFrom('float32' as const, 'float64' as const),
  agg: fc.constantFrom<Agg>('mean', 'sum', 'none'),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
  scale: fc.constantFrom(1, 30),
});

test('fused logitCrossentropy: values and gradients in ŷ and y against float64 loops, every agg', () => {
  fc.assert(fc.property(arbCase, ({ lead, cols, dtype, agg, seed, scale }) => {
    let s = seed;
    const rnd = (): number => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const shape = [...lead, cols];
    const n = shape.reduce((a, b) => a * b, 1), rows = n / cols;
    const zv = Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);
    // soft targets whose rows need not sum to 1, so the Σy factor is exercised
    const yv = Array.from({ length: n }, () => rnd());
    const z = tensor(zv, { dtype, shape }), y = tensor(yv, { dtype, shape });
    const dyv = Array.from({ length: rows }, () => rnd() * 2 - 1);
    const [loss, back] = pullback((a: Tensor, b: Tensor) => logitCrossentropy(a, b, { agg }), z, y);
    const dy = agg === 'none' ? tensor(dyv, { dtype, shape: lead }) : tensor(1.5, { dtype });
    const w = agg === 'none' ? (r: number) => dyv[r]! : agg === 'mean' ? () => 1.5 / rows : () => 1.5;
    // the reference on the values the tensors hold (rounded to float32 for float32)
    const ref = reference(valuesOf(z), valuesOf(y), cols, w);
    const tol = dtype === 'float32' ? 2e-5 : 1e-12;
    const label = `[${shape}] ${dtype} agg ${agg}`;
    assert.is((loss as Tensor).dtype, dtype);
    const want = agg === 'none' ? ref.loss : [agg === 'mean' ? ref.loss.reduce((a, b) => a + b, 0) / rows : ref.loss.reduce((a, b) => a + b, 0)];
    close(valuesOf(loss as Tensor), want, tol * (scale + 1), `${label} loss`);
    const [gz, gy] = back(dy) as [Tensor, Tensor];
    assert.equal([...gz.shape], shape);
    assert.is(gz.dtype, dtype);
    close(valuesOf(gz), ref.gz, tol, `${label} ∂ŷ`);
    close(valuesOf(gy), ref.gy, tol * (scale + 1), `${label} ∂y`);
  }), { numRuns: 200 });
});

test('fused logitCrossentropy: the same values as the composite over another axis order (dims) and on a transposed view', () => {
  const z = tensor([[1, 2, 3], [-1, 0, 4]]), y = tensor([[0, 1, 0], [0.2, 0.3, 0.5]]);
  const fused = valuesOf(logitCrossentropy(z, y, { agg: 'none' }));
  // dims: [0] on the transposed inputs takes the composite path
  const composite = valuesOf(logitCrossentropy(z.T, y.T, { dims: 0, agg: 'none' }));
  close(fused, composite, 1e-14, 'fused vs composite');
});

test.run();
