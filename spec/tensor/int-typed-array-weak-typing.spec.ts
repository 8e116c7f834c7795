// Integer typed arrays carry no float dtype: like JS numbers and arrays, they adopt the dtype
// of the tensor they are combined with (src/tensor/convert.ts: strongDType and toTensor agree).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { add, mul, tensor, where } from '../../src/index.js';

test('integer typed arrays are weakly typed like JS arrays', () => {
  const x32 = tensor([1.5, 2.5], { dtype: 'float32' });
  assert.is(add([1, 2], x32).dtype, 'float32', 'add(array, x32)');
  assert.is(add(new Int32Array([1, 2]), x32).dtype, 'float32', 'add(Int32Array, x32)');
  assert.is(mul(x32, new Uint8Array([1, 2])).dtype, 'float32', 'mul(x32, Uint8Array)');
  assert.is(where(new Int8Array([1, 0]), x32, new Int16Array([3, 4])).dtype, 'float32', 'where with Int16Array');
  // on their own they are float64, as JS numbers are
  assert.is(tensor(new Int32Array([1, 2])).dtype, 'float64');
});

test.run();
