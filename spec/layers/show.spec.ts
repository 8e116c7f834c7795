/** Printing models (src/layers/show.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';
import { Chain, Dense, Tensor, layer, nonTrainable, relu, softmax, tensor, zeros, showModel } from '../../src/index.js';
import { groupDigits } from '../../src/layers/show.js';

test('a Chain prints like Flux: one line per layer with counts, and a total', () => {
  const model = Chain(Dense(784, 128, relu), Dense(128, 10), softmax);
  const want = [
    'Chain(',
    '  Dense(784 => 128, relu),              # 100_480 parameters',
    '  Dense(128 => 10),                     # 1_290 parameters',
    '  softmax,',
    ')                   # Total: 4 arrays, 101_770 parameters, 397.5 KiB.',
  ].join('\n');
  assert.is(String(model), want);
  assert.is(inspect(model), want, 'console.log shows the same');
  assert.is(showModel(model), want);
});

test('counts: digits grouped, bytes by dtype, non-trainable state apart, flags', () => {
  assert.is(groupDigits(1234567), '1_234_567');
  assert.is(groupDigits(999), '999');
  const Norm = layer(class Norm {
    static [nonTrainable]: readonly string[] = ['mean'];
    scale = tensor([1, 1, 1, 1]);
    mean = zeros([4]);
    forward(x: Tensor) { return x; }
  });
  const m = Chain(Norm(), Dense(4, 2, relu, { dtype: 'float64' }));
  assert.is(String(m), [
    'Chain(',
    '  Norm(scale: 4, mean: 4),              # 4 parameters, plus 4 non-trainable',
    '  Dense(4 => 2, relu),                  # 10 parameters',
    ')                   # Total: 3 trainable arrays, 14 parameters, plus 1 non-trainable, 4 parameters, 144 bytes.',
  ].join('\n'));
  const d = Dense(2, 1);
  d.weight.assign([[NaN, 1]]);
  assert.is(String(d), 'Dense(2 => 1)  # 3 parameters  (some NaN)');
  d.weight.assign([[0, 0]]);
  assert.is(String(d), 'Dense(2 => 1)  # 3 parameters  (all zero)');
  d.weight.assign([[Infinity, 0]]);
  assert.is(String(d), 'Dense(2 => 1)  # 3 parameters  (some Inf)');
});

test('named layers and custom containers print their children', () => {
  const TLP = layer(class TLP {
    first = Dense(10, 20, relu);
    second = Dense(20, 15);
    forward(x: Tensor) { return this.second(this.first(x)); }
  });
  assert.is(String(Chain({ encoder: TLP(), head: Dense(15, 1) })), [
    'Chain(',
    '  encoder = TLP(',
    '    Dense(10 => 20, relu),              # 220 parameters',
    '    Dense(20 => 15),                    # 315 parameters',
    '  ),',
    '  head = Dense(15 => 1),                # 16 parameters',
    ')                   # Total: 6 arrays, 551 parameters, 2.2 KiB.',
  ].join('\n'));
});

test.run();
