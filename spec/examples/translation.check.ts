/**
 * Checks for `examples/translation.ts` at CI settings: the encoder identity (Bidirectional =
 * forward ⧺ flip(backward)), the loss falling, held-out exact match of at least 80% (the full
 * settings reach more; see the README), and the printed translations: their sentences and
 * expected ISO dates regenerated here from the same generator, decoded strings consistent with
 * the attention table, and every row of attention weights summing to 1.
 */
import * as assert from 'uvu/assert';
import type { ExampleOutput } from './support.js';
import { dateSentence } from '../../examples/_data/dates.js';

export const env = { FLUXION_EXAMPLE_SCALE: 'ci' };
export const timeoutMs = 180_000;

export function check({ stdout }: ExampleOutput): void {
  assert.ok(stdout.includes('encoder = concat(forward, flip(backward)): max difference 0\n'), 'encoder identity');
  const losses = [...stdout.matchAll(/^step +(\d+) +loss (\d+\.\d+)$/gm)].map((m) => Number(m[2]));
  assert.is(losses.length, 6);
  assert.ok(Math.abs(losses[0] - Math.log(12)) < 0.5, `first loss ${losses[0]} near ln 12 (untrained)`);
  assert.ok(losses[losses.length - 1] < losses[0] / 5, `loss fell: ${losses.join(' → ')}`);
  const m = /held-out exact match: (\d+)\/(\d+) = ([\d.]+)%/.exec(stdout);
  assert.ok(m, 'accuracy line');
  const [ok, n] = [Number(m![1]), Number(m![2])];
  assert.is(n, 300);
  assert.is(m![3], (100 * ok / n).toFixed(1));
  assert.ok(ok / n >= 0.8, `held-out exact match ${ok}/${n}`);
  // the held-out set, regenerated: the first sentences are the ones printed
  let r = 2024;
  const uniform = (): number => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const held = new Map<string, string>();
  while (held.size < n) { const [s, iso] = dateSentence(uniform); held.set(s, iso); }
  const first = [...held.entries()].slice(0, 3);
  const blocks = stdout.split('\n\n').slice(1);
  assert.is(blocks.length, 3);
  blocks.forEach((block, k) => {
    const lines = block.trim().split('\n');
    const head = /^(.*)  →  (\S+)  \(expected (\S+)\)$/.exec(lines[0]);
    assert.ok(head, lines[0]);
    assert.is(head![1], first[k][0]);
    assert.is(head![3], first[k][1]);
    const rows = lines.slice(2);
    assert.is(rows.length, 10);
    assert.is(rows.map((l) => l.trim()[0]).join(''), head![2], 'decoded characters label the rows');
    const words = first[k][0].split(' ').length;
    for (const row of rows) {
      const ws = row.trim().split(/\s+/).slice(1).map(Number);
      assert.is(ws.length, words);
      const total = ws.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 1) <= 0.005 * words + 1e-9, `attention row sums to 1: ${row}`);
    }
  });
}
