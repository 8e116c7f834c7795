/**
 * Checks for `examples/char-rnn.ts` at CI settings: the corpus size and alphabet recomputed from
 * the same READMEs, the first loss near ln(V) (an untrained model is close to uniform), the
 * smoothed loss falling by at least 0.5 nats, and samples drawn from the alphabet.
 */
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ExampleOutput } from './support.js';
import { prose } from '../../examples/_data/prose.js';

export const env = { FLUXION_EXAMPLE_SCALE: 'ci' };

export function check({ stdout }: ExampleOutput): void {
  const require = createRequire(import.meta.url);
  const sources = ['gpu.js', 'fast-check', 'sucrase', 'ndarray', '@tensorflow/tfjs'];
  const text = prose(sources.map((p) => readFileSync(join(dirname(require.resolve(`${p}/package.json`)), 'README.md'), 'utf8')).join('\n'));
  const alphabet = new Set(text);
  assert.ok(stdout.includes(`text: ${text.length} characters from the READMEs of ${sources.join(', ')}; ${alphabet.size} distinct\n`), 'corpus line');
  const losses = [...stdout.matchAll(/^step +(\d+) +loss (\d+\.\d+) +\(smoothed (\d+\.\d+)\)$/gm)].map((m) => ({ step: Number(m[1]), loss: Number(m[2]), smooth: Number(m[3]) }));
  assert.equal(losses.map((l) => l.step), [0, 50, 100, 150, 200, 250, 300]);
  assert.ok(Math.abs(losses[0].loss - Math.log(alphabet.size)) < 0.25, `first loss ${losses[0].loss} vs ln V = ${Math.log(alphabet.size)}`);
  assert.ok(losses[losses.length - 1].smooth < losses[0].loss - 0.5, `loss fell: ${losses.map((l) => l.smooth).join(' → ')}`);
  const samples = [...stdout.matchAll(/sample at temperature ([\d.]+):\n([\s\S]*?)\n\n/g)];
  assert.equal(samples.map((m) => m[1]), ['0.5', '1']);
  for (const [, , s] of samples) {
    assert.is(s.length, 121, 'the seed character and 120 sampled');
    for (const c of s) assert.ok(alphabet.has(c), `sampled ${JSON.stringify(c)} is in the alphabet`);
  }
  // the seeds' layer: 10 steps of hidden size 16; the gradient reaches Wh, and the hidden field (state) gets none
  assert.ok(stdout.includes('unroll(Recurrent(), 10): 10 outputs of shape [16]; gradient of the last through time: Wh 16×16, hidden null\n'));
}
