/**
 * Checks for `examples/models.ts` (run under the operator transform, from source): parameter
 * counts from the layer sizes, Chain(exp, sum, log) and the squared-plus-one chain by hand, the
 * gradient of a sum with respect to a bias (ones), and the located error message.
 */
import * as assert from 'uvu/assert';
import type { ExampleOutput } from './support.js';

export const nodeArgs = ['--import', 'tsx', '--import', 'fluxion/register'];

const dense = (i: number, o: number) => i * o + o;
const group = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '_');

export function check({ stdout, stderr }: ExampleOutput): void {
  const out = stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const p1 = dense(784, 128), p2 = dense(128, 10);
  assert.ok(out.includes(`  Dense(784 => 128, relu),              # ${group(p1)} parameters\n`), 'first Dense line');
  assert.ok(out.includes(`  Dense(128 => 10),                     # ${group(p2)} parameters\n`), 'second Dense line');
  const kib = ((p1 + p2) * 4 / 1024).toFixed(1);
  assert.ok(out.includes(`)                   # Total: 4 arrays, ${group(p1 + p2)} parameters, ${kib} KiB.\n`), 'total line');
  const lines = out.split('\n');
  assert.is(lines[5], '[ 10 ]');
  assert.is(lines[6], '[ 32, 10 ]');
  assert.is(Number(lines[7]), Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
  assert.is(lines[8], String(5 ** 2 + 1));
  // compose(f, g) prints g first: it runs first
  assert.ok(lines[10].startsWith('  Dense(10 => 5, sigmoid),') && lines[10].endsWith(`# ${dense(10, 5)} parameters`));
  assert.ok(lines[11].startsWith('  Dense(5 => 2),') && lines[11].endsWith(`# ${dense(5, 2)} parameters`));
  assert.ok(out.includes(`Affine(W: 5×10, b: 5)  # ${dense(10, 5)} parameters\n`));
  assert.ok(out.includes(`[ 5, 10 ] [ ${Array(5).fill(1).join(', ')} ]\n`), 'd sum(W·v + b)/db = 1');
  assert.ok(out.includes(`TLP(\n  Dense(10 => 21, relu),                # ${dense(10, 21)} parameters\n  Dense(21 => 15),                      # ${dense(21, 15)} parameters\n)`));
  assert.ok(out.includes('ShapeError: TLP.second → Dense(21 => 15) expects 21 input features, got input of shape [5, 20]\n'));
  // shapes without data; the summary's counts from the layer sizes; every call's shapes
  assert.ok(out.includes('\n[ 1000000, 10 ]\n'), 'outputSize');
  const row = (name: string, shape: string, n: number) => new RegExp(`^${name.replace(/[()[\]]/g, '\\$&')}\\s+\\${shape.replace(/]/g, '\\]')}\\s+${n}$`, 'm');
  assert.match(out, row('TLP', '[5, 15]', dense(10, 21) + dense(21, 15)));
  assert.match(out, row('  .first Dense(10 => 21, relu)', '[5, 21]', dense(10, 21)));
  assert.match(out, row('  .second Dense(21 => 15)', '[5, 15]', dense(21, 15)));
  assert.match(out, /^Chain\s+\[5, 10\] → \[5, 2\]\s+examples\/models\.ts:\d+$/m);
  assert.match(out, /^ {4}\.second Dense\(21 => 15\)\s+\[5, 21\] → \[5, 15\]\s+examples\/models\.ts:\d+$/m);
  assert.match(out, /^ {2}\[2\] softmax\s+\[5, 2\] → \[5, 2\]/m);
  // a Batch prints as a list; a model maps a Batch to a Batch
  assert.ok(out.includes('2-element Batch of Tensor[3]:\n'));
  assert.ok(out.includes('[ 2, 3 ] [ 4, 5, 6 ]\n'));
  assert.ok(out.includes('2-element Batch of Tensor[2]:\n'));
  // the float64 batch fed to the float32 model is converted, with one warning on stderr
  assert.is(stderr.split('\n').filter((l) => l.includes('got a float64 input')).length, 1);
}
