/**
 * Checks for `examples/regression.ts` (run under the operator transform, from source). The data
 * are regenerated here from the example's generator; the least-squares fit is solved here by
 * Gaussian elimination on the normal equations (plain loops, no fluxion), and the printed
 * losses and parameters are compared with it and with the true map.
 */
import * as assert from 'uvu/assert';
import type { ExampleOutput } from './support.js';

export const nodeArgs = ['--import', 'tsx', '--import', 'fluxion/register'];

/** The example's generator: a 32-bit LCG, uniform in [-1, 1). */
function uniform(seedValue: number): () => number {
  let state = seedValue >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (2 * state) / 2 ** 32 - 1;
  };
}

function regenerate() {
  const N = 200, inputs = 5, outputs = 2;
  const next = uniform(2024);
  const table = (rows: number, cols: number, scale = 1) =>
    Array.from({ length: rows }, () => Array.from({ length: cols }, () => scale * next()));
  const trueW = table(inputs, outputs, 2), trueB = table(1, outputs, 2)[0]!;
  const xs = table(N, inputs);
  const ys = xs.map((row) => trueB.map((bj, j) => bj + row.reduce((s, xi, i) => s + xi * trueW[i]![j]!, 0) + 0.05 * next()));
  return { N, inputs, outputs, trueW, trueB, xs, ys };
}

/** Solve `A θ = r` (A square) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], r: number[]): number[] {
  const n = r.length;
  const M = A.map((row, i) => [...row, r[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(M[i]![c]!) > Math.abs(M[p]![c]!)) p = i;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let i = c + 1; i < n; i++) {
      const f = M[i]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[i]![k]! -= f * M[c]![k]!;
    }
  }
  const θ = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i]![n]!;
    for (let k = i + 1; k < n; k++) s -= M[i]![k]! * θ[k]!;
    θ[i] = s / M[i]![i]!;
  }
  return θ;
}

/** Least squares with an intercept, per output: W `[inputs][outputs]`, b `[outputs]`, and the mean summed squared residual. */
function leastSquares({ N, inputs, outputs, xs, ys }: ReturnType<typeof regenerate>) {
  const rows = xs.map((r) => [...r, 1]);
  const AtA = Array.from({ length: inputs + 1 }, (_, i) => Array.from({ length: inputs + 1 }, (_, k) => rows.reduce((s, r) => s + r[i]! * r[k]!, 0)));
  const W = Array.from({ length: inputs }, () => new Array<number>(outputs).fill(0));
  const b = new Array<number>(outputs).fill(0);
  for (let j = 0; j < outputs; j++) {
    const θ = solve(AtA, Array.from({ length: inputs + 1 }, (_, i) => rows.reduce((s, r, n) => s + r[i]! * ys[n]![j]!, 0)));
    for (let i = 0; i < inputs; i++) W[i]![j] = θ[i]!;
    b[j] = θ[inputs]!;
  }
  let residual = 0;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < outputs; j++) {
      const p = b[j]! + xs[n]!.reduce((s, xi, i) => s + xi * W[i]![j]!, 0);
      residual += (p - ys[n]![j]!) ** 2;
    }
  }
  return { W, b, loss: residual / N };
}

const json = (out: string, label: string): unknown => {
  const m = new RegExp(`^${label.replace(/[()[\]]/g, '\\$&')}: (.*)$`, 'm').exec(out);
  if (!m) assert.unreachable(`the example did not print "${label}: …"`);
  return JSON.parse(m![1]!);
};

function assertClose(actual: unknown, expected: number[] | number[][], tol: number, what: string): void {
  const a = (actual as number[] | number[][]).flat(), e = expected.flat();
  assert.is(a.length, e.length, `${what}: number of values`);
  for (let i = 0; i < e.length; i++) {
    if (!(Math.abs(a[i]! - e[i]!) <= tol)) assert.unreachable(`${what}[${i}]: printed ${a[i]}, expected ${e[i]} ± ${tol}`);
  }
}

export function check({ stdout }: ExampleOutput): void {
  const out = stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const data = regenerate();
  assert.equal(json(out, 'true W'), data.trueW, 'the printed true W is the generator\'s');
  assert.equal(json(out, 'true b'), data.trueB, 'the printed true b is the generator\'s');
  const ls = leastSquares(data);
  // the least-squares fit itself is near the true map (noise ±0.05 on 200 samples)
  assertClose(ls.W, data.trueW, 0.02, 'least-squares W vs true W');

  const losses = [...out.matchAll(/^step (\d+): loss (\S+)$/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
  assert.equal(losses.map(([s]) => s), Array.from({ length: 11 }, (_, i) => 20 * i), 'the loss every 20 steps');
  // at W = 0, b = 0 the loss is the mean summed square of the targets
  const first = data.ys.reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0), 0) / data.N;
  assert.ok(Math.abs(losses[0]![1] - first) <= 1e-12 * first, `step 0: loss ${losses[0]![1]}, expected ${first}`);
  for (let i = 1; i < losses.length; i++) assert.ok(losses[i]![1] < losses[i - 1]![1], `the loss fell from step ${losses[i - 1]![0]} to ${losses[i]![0]}`);
  const last = losses[losses.length - 1]![1];
  assert.ok(last >= ls.loss * (1 - 1e-9), `the final loss ${last} is not below the least-squares minimum ${ls.loss}`);
  assert.ok(last <= ls.loss * 1.001, `the final loss ${last} is within 0.1% of the least-squares minimum ${ls.loss}`);

  const W = json(out, 'recovered W'), b = json(out, 'recovered b');
  assertClose(W, ls.W, 1e-3, 'recovered W vs least squares');
  assertClose(b, ls.b, 1e-3, 'recovered b vs least squares');
  assertClose(W, data.trueW, 0.02, 'recovered W vs true W');
  assertClose(b, data.trueB, 0.02, 'recovered b vs true b');

  // update(Descent(0.1), …) takes the same steps as the hand-written loop
  const m = /^with update\(Descent\(0\.1\), params\(W, b\), gs\): loss (\S+)$/m.exec(out);
  assert.ok(m, 'the Descent fit was printed');
  assert.ok(Math.abs(Number(m![1]) - last) <= 1e-12 * last, 'the Descent fit reaches the same loss');
  assertClose(json(out, '  W'), (W as number[][]).flat(), 1e-12, 'Descent W vs the hand-written loop');
  assertClose(json(out, '  b'), b as number[], 1e-12, 'Descent b vs the hand-written loop');
}
