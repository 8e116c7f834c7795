/**
 * Checks for `examples/custom-layer.ts`: parameter counts from the sizes, the loss falling by
 * training (CI runs the short setting: 400 Adam steps), and the reloaded model's outputs.
 */
import * as assert from 'uvu/assert';
import type { ExampleOutput } from './support.js';

export function check({ stdout }: ExampleOutput): void {
  const out = stdout.replace(/\x1b\[[0-9;]*m/g, '');
  assert.match(out, /^ {2}Affine\(W: 32×1, b: 32\),\s+# 64 parameters$/m);   // 32·1 + 32
  assert.match(out, /^ {2}Affine\(W: 1×32, b: 1\),\s+# 33 parameters$/m);    // 1·32 + 1
  const losses = [...out.matchAll(/^step (\d+): loss (\S+)$/gm)].map((m) => Number(m[2]));
  assert.is(losses.length, 5, 'the loss is printed five times');
  // sin(3x) has variance about 0.4 on [-1, 1); the fit must take the loss well below it
  assert.ok(losses[0] > 0.1, `initial loss ${losses[0]}`);
  assert.ok(losses[4] < 0.02 && losses[4] < losses[0] / 20, `the loss fell from ${losses[0]} to ${losses[4]}`);
  assert.match(out, /^saved \d+ bytes; the reloaded model gives identical outputs: true$/m);
}
