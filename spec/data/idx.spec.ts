/** readIDX: files written here byte by byte (big-endian), and every malformed file. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readIDX, readIDXRaw, IDXError, type IDXType } from '../../src/data/idx.js';
import { assertThrows } from '../_helpers/reference.js';

const CODES: Record<IDXType, number> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };
const WIDTH: Record<IDXType, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };

/** An IDX file, written with Buffer's big-endian writers. */
function idx(type: IDXType, shape: number[], values: number[]): Uint8Array {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = CODES[type];
  head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(values.length * WIDTH[type]);
  values.forEach((v, i) => {
    const at = i * WIDTH[type];
    ({
      uint8: () => body.writeUInt8(v, at), int8: () => body.writeInt8(v, at), int16: () => body.writeInt16BE(v, at),
      int32: () => body.writeInt32BE(v, at), float32: () => body.writeFloatBE(v, at), float64: () => body.writeDoubleBE(v, at),
    })[type]();
  });
  return new Uint8Array(Buffer.concat([head, body]));
}

const RANGE: Record<IDXType, fc.Arbitrary<number>> = {
  uint8: fc.integer({ min: 0, max: 255 }),
  int8: fc.integer({ min: -128, max: 127 }),
  int16: fc.integer({ min: -32768, max: 32767 }),
  int32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  float32: fc.float({ noNaN: true }).map(Math.fround),
  float64: fc.double({ noNaN: true }),
};

const arbFile = fc.constantFrom<IDXType>('uint8', 'int8', 'int16', 'int32', 'float32', 'float64').chain((type) =>
  fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.array(RANGE[type], { minLength: n, maxLength: n }).map((values) => ({ type, shape, values }));
  }));

test('every type and shape reads back: values, shape, and the default dtype that holds them exactly', () => {
  fc.assert(fc.property(arbFile, ({ type, shape, values }) => {
    const bytes = idx(type, shape, values);
    const raw = readIDXRaw(bytes);
    assert.is(raw.type, type);
    assert.equal(raw.shape, shape);
    assert.equal(Array.from(raw.data), values);
    const t = readIDX(bytes);
    assert.equal([...t.shape], shape);
    assert.is(t.dtype, type === 'int32' || type === 'float64' ? 'float64' : 'float32');
    Array.from(t.data).forEach((v, i) => assert.ok(Object.is(v, values[i]), `${type}[${i}]: ${v} vs ${values[i]}`));
    const t64 = readIDX(bytes, { dtype: 'float64' });
    assert.is(t64.dtype, 'float64');
    assert.equal(Array.from(t64.data), values);
  }), { numRuns: 300 });
});

test('an MNIST-like label file: [3] uint8', () => {
  const t = readIDX(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4]));
  assert.equal(t.toArray(), [5, 0, 4]);
  assert.is(t.dtype, 'float32');
});

test('malformed files are IDXErrors that say what is wrong', () => {
  assertThrows(() => readIDX(new Uint8Array([0, 0, 8])), IDXError, ['readIDX', '3 bytes, shorter than the 4-byte magic number'], 'short');
  assertThrows(() => readIDX(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 0])), IDXError, ['does not start with two zero bytes'], 'magic');
  assertThrows(() => readIDX(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0])), IDXError, ['gzip-compressed'], 'gzip');
  assertThrows(() => readIDX(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 0])), IDXError, ['unknown type byte 0x0a', '0x08 (uint8)'], 'type');
  assertThrows(() => readIDX(new Uint8Array([0, 0, 8, 0])), IDXError, ['0 dimensions'], 'no dims');
  assertThrows(() => readIDX(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0])), IDXError, ['too short for the 3 dimension lengths', '16 bytes of header'], 'dims truncated');
  const full = idx('int16', [2, 3], [1, 2, 3, 4, 5, 6]);
  assertThrows(() => readIDX(full.subarray(0, full.length - 1)), IDXError, ['dimensions [2,3] of int16 need 12 bytes of data, but the file has 11 (truncated)'], 'data truncated');
  assertThrows(() => readIDX(new Uint8Array([...full, 0])), IDXError, ['has 13 (trailing bytes)'], 'trailing');
  assertThrows(() => readIDX([0, 0, 8, 1] as unknown as Uint8Array), TypeError, ['expected a Uint8Array'], 'not bytes');
  assertThrows(() => readIDX(full, { dtype: 'int8' as never }), TypeError, ['unknown dtype'], 'dtype option');
});

test('random corruptions either read consistently or throw IDXError', () => {
  fc.assert(fc.property(arbFile, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }), fc.option(fc.nat()), ({ type, shape, values }, flips, cut) => {
    const b = Buffer.from(idx(type, shape, values));
    for (const [p, v] of flips) b[p % b.length] = v;
    const bytes = new Uint8Array(cut === null ? b : b.subarray(0, cut % (b.length + 1)));
    try {
      const raw = readIDXRaw(bytes);
      const header = 4 + 4 * bytes[3];
      assert.is(raw.data.length * raw.data.BYTES_PER_ELEMENT, bytes.length - header);
      assert.is(raw.data.length, raw.shape.reduce((a, c) => a * c, 1));
    } catch (e) {
      if (!(e instanceof IDXError)) throw e;
    }
  }), { numRuns: 1000 });
});

test.run();
