/**
 * `examples/basics.ts`, the operator tutorial, run exactly as a user would:
 * `node --import fluxion/register examples/basics.ts` (the built package: CI runs
 * `npm run build` first). Every printed value is recomputed here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, node } from './helpers.js';

/** `> code` lines, each followed by one JSON value. */
function transcript(stdout: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const lines = stdout.trim().split('\n');
  for (let i = 0; i < lines.length; i += 2) {
    assert.ok(lines[i].startsWith('> '), `unexpected line: ${lines[i]}`);
    const key = lines[i].slice(2);
    out.set(out.has(key) ? `${key} (after)` : key, JSON.parse(lines[i + 1]));
  }
  return out;
}

const close = (a: number[], b: number[], what: string, tol = 1e-12) =>
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: printed ${v}, expected ${b[i]}`));

test('examples/basics.ts under fluxion/register prints what calculus says', () => {
  const r = node(['--import', 'fluxion/register', 'examples/basics.ts'], REPO);
  assert.is(r.status, 0, r.stderr);
  const t = transcript(r.stdout);
  const get = (k: string) => { assert.ok(t.has(k), `not printed: ${k}`); return t.get(k) as any; };
  // f = 3x² + 2x + 1: f' = 6x + 2, f'' = 6.
  assert.equal(get('gradient(f, 1)'), [6 * 1 + 2]);
  assert.equal(get('gradient((x: number) => gradient(f, x)[0], 1)'), [6]);
  // L = Σ (y − (Wx + b))²: ∂L/∂b = 2(Wx + b − y), ∂L/∂W = ∂L/∂b ⊗ x.
  const W: number[][] = get('W'), b: number[] = get('b'), x: number[] = get('x'), y: number[] = get('y');
  const r2 = W.map((row, i) => 2 * (row.reduce((s, w, j) => s + w * x[j], 0) + b[i] - y[i]));
  close(get('gs.get(b)'), r2, 'dL/db');
  const gW: number[][] = get('gs.get(W)');
  gW.forEach((row, i) => close(row, x.map((xj) => r2[i] * xj), `dL/dW[${i}]`));
  // W -= 0.1 · ∂L/∂W, in place (the alias sees it).
  const W1: number[][] = get('W (after)');
  W1.forEach((row, i) => close(row, W[i].map((w, j) => w - 0.1 * r2[i] * x[j]), `W[${i}] after the step`));
  assert.is(get('alias === W'), true);
  // relu' = 1 for x > 0, 0 for x < 0; (sin x · eˣ)' = (cos x + sin x) eˣ.
  assert.equal(get('gradient(relu, 2)'), [1]);
  assert.equal(get('gradient(relu, -2)'), [0]);
  close(get('gradient(h, 0.5)'), [(Math.cos(0.5) + Math.sin(0.5)) * Math.exp(0.5)], "h'", 1e-15);
  assert.equal(get('[1, 2] + [10, 20]'), [11, 22]);
  assert.is(get("'x = ' + f(2)"), `x = ${3 * 2 ** 2 + 2 * 2 + 1}`);
});

test.run();
