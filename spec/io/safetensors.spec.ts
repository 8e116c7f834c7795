/**
 * safetensors: round trips, the exact bytes (checked against a writer and a reader written
 * here from the format's description), every rejection, and thousands of mutated files.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { encodeSafetensors, decodeSafetensors, SafetensorsError, type SafetensorsDType } from '../../src/io/safetensors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/convert.js';
import { arbTensor } from '../_helpers/arbitraries.js';
import { assertThrows } from '../_helpers/reference.js';

// ------------------------------------------------------------ an independent writer and reader

/** Writer from the format's description: F64 tensors first, then F32, each group by UTF-8 bytes of the name. */
function referenceEncode(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors);
  const rank = (n: string) => (tensors[n].dtype === 'float64' ? 0 : 1);
  names.sort((a, b) => rank(a) - rank(b) || Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  const fields: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    fields.push('"__metadata__":{' + keys.map((k) => JSON.stringify(k) + ':' + JSON.stringify(metadata[k])).join(',') + '}');
  }
  const chunks: Buffer[] = [];
  let at = 0;
  for (const n of names) {
    const t = tensors[n];
    const width = t.dtype === 'float64' ? 8 : 4;
    const chunk = Buffer.alloc(t.size * width);
    const values = t.toArray();
    const flat: number[] = typeof values === 'number' ? [values] : (values as unknown[]).flat(Infinity) as number[];
    flat.forEach((v, i) => (width === 8 ? chunk.writeDoubleLE(v, i * 8) : chunk.writeFloatLE(v, i * 4)));
    fields.push(`${JSON.stringify(n)}:{"dtype":"${width === 8 ? 'F64' : 'F32'}","shape":[${t.shape.join(',')}],"data_offsets":[${at},${at + chunk.length}]}`);
    at += chunk.length;
    chunks.push(chunk);
  }
  let header = Buffer.from('{' + fields.join(',') + '}', 'utf8');
  header = Buffer.concat([header, Buffer.alloc((8 - (header.length % 8)) % 8, ' ')]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  return new Uint8Array(Buffer.concat([prefix, header, ...chunks]));
}

const WIDTH: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 };

/** binary16 bits → value, by building the float32 bit pattern (a different route from the library's arithmetic). */
function half(h: number): number {
  const sign = (h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  if (e === 0) return (sign ? -1 : 1) * m / 16777216; // subnormal: m · 2^-24
  u[0] = sign | (e === 31 ? 0xff << 23 : (e + 112) << 23) | (m << 13);
  return f[0];
}

/** Reader from the format's description: every tensor as plain numbers (F64 exact, everything else rounded to float32). */
function referenceDecode(bytes: Uint8Array): { headerLength: number; header: Record<string, any>; values: Map<string, number[]> } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + headerLength).toString('utf8'));
  const values = new Map<string, number[]>();
  for (const [name, e] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    const out: number[] = [];
    const w = WIDTH[e.dtype];
    for (let p = 8 + headerLength + e.data_offsets[0]; p < 8 + headerLength + e.data_offsets[1]; p += w) {
      const v = {
        F64: () => b.readDoubleLE(p), F32: () => b.readFloatLE(p), F16: () => half(b.readUInt16LE(p)),
        BF16: () => { const x = Buffer.alloc(4); x.writeUInt16LE(b.readUInt16LE(p), 2); return x.readFloatLE(0); },
        I64: () => Number(b.readBigInt64LE(p)), U64: () => Number(b.readBigUInt64LE(p)), I32: () => b.readInt32LE(p),
        U32: () => b.readUInt32LE(p), I16: () => b.readInt16LE(p), U16: () => b.readUInt16LE(p), I8: () => b.readInt8(p),
        U8: () => b.readUInt8(p), BOOL: () => b.readUInt8(p),
      }[e.dtype as SafetensorsDType]();
      out.push(e.dtype === 'F64' ? v : Math.fround(v));
    }
    values.set(name, out);
  }
  return { headerLength, header, values };
}

/** A file from a header text and a data buffer; the length prefix is the header's unless given. */
function file(headerText: string, data: ArrayLike<number> = [], length?: bigint): Uint8Array {
  const header = Buffer.from(headerText, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(header.length));
  return new Uint8Array(Buffer.concat([prefix, header, Buffer.from(Array.from(data))]));
}

/** Bit patterns, so NaN payloads and -0 count. */
function bits(t: Tensor): bigint[] | number[] {
  const d = t.data.slice();
  return d instanceof Float64Array ? Array.from(new BigUint64Array(d.buffer)) : Array.from(new Uint32Array(d.buffer));
}

// ------------------------------------------------------------ arbitraries

const arbName = fc.oneof(
  fc.string({ minLength: 0, maxLength: 6 }),
  fc.constantFrom('layers.0.weight', 'layers.10.bias', '__proto__', 'constructor', '10', '2', 'é', '\u{1F600}', '\uffff', 'a"b\\c\n', ''),
).filter((n) => n !== '__metadata__');

const arbTensors = fc.dictionary(arbName, arbTensor({ maxRank: 3, maxDim: 3 }, { values: { special: true } }), { maxKeys: 5 })
  .map((d) => {
    const out: Record<string, Tensor> = {};
    for (const k of Object.keys(d)) Object.defineProperty(out, k, { value: d[k].t, enumerable: true });
    return out;
  });
const arbMetadata = fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined });

// ------------------------------------------------------------ writing

test('encode writes exactly the bytes of the format (reference writer in this spec) and decode reads them back', () => {
  fc.assert(fc.property(arbTensors, arbMetadata, (tensors, metadata) => {
    const bytes = encodeSafetensors(tensors, metadata);
    assert.equal(Buffer.compare(Buffer.from(bytes), Buffer.from(referenceEncode(tensors, metadata))), 0, 'bytes differ from the reference writer');
    const { headerLength, header, values } = referenceDecode(bytes);
    assert.is(headerLength % 8, 0, 'data starts at a multiple of 8');
    for (const name of Object.keys(tensors)) {
      const t = tensors[name];
      assert.equal(header[name].shape, [...t.shape]);
      const off = header[name].data_offsets[0];
      assert.is(off % (t.dtype === 'float64' ? 8 : 4), 0, `"${name}" is aligned`);
      const expected = Array.from(t.data);
      values.get(name)!.forEach((v, i) => assert.ok(Object.is(v, expected[i]), `"${name}"[${i}]: ${v} vs ${expected[i]}`));
    }
    const back = decodeSafetensors(bytes);
    assert.equal(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
    for (const name of Object.keys(tensors)) {
      const t = tensors[name], u = back.tensors[name];
      assert.ok(u instanceof Tensor);
      assert.equal([...u.shape], [...t.shape]);
      assert.is(u.dtype, t.dtype);
      assert.is(back.dtypes[name], t.dtype === 'float64' ? 'F64' : 'F32');
      assert.equal(bits(u), bits(t), `"${name}" bit for bit`);
    }
    assert.equal({ ...back.metadata }, { ...metadata }); // fast-check may draw null-prototype objects
  }), { numRuns: 300 });
});

test('a known file: one F32 tensor [1,2,3] named "attn.0", and an empty file with metadata', () => {
  const bytes = encodeSafetensors({ 'attn.0': tensor([[[0, 1, 2], [3, 4, 5]]], { dtype: 'float32' }) });
  const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assert.is(json.length, 64); // already a multiple of 8: no padding
  assert.is(Buffer.from(bytes.subarray(8, 72)).toString(), json);
  assert.equal(Array.from(bytes.subarray(0, 8)), [64, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(Array.from(new Float32Array(bytes.slice(72).buffer)), [0, 1, 2, 3, 4, 5]);
  assert.is(bytes.length, 8 + 64 + 24);

  const empty = encodeSafetensors({});
  assert.is(Buffer.from(empty).toString('latin1'), '\x08\0\0\0\0\0\0\0{}      ');
  const meta = encodeSafetensors({}, { framework: 'pt' });
  assert.is(Buffer.from(meta.subarray(8)).toString(), '{"__metadata__":{"framework":"pt"}}     ');
  assert.equal(decodeSafetensors(meta).metadata, { framework: 'pt' });
});

test('header order: F64 before F32, then names by UTF-8 bytes (integer-like names are not moved first)', () => {
  const f32 = tensor([1], { dtype: 'float32' }), f64 = tensor([1]);
  const bytes = encodeSafetensors({ b: f32, '10': f32, a: f64, '\u{1F600}': f32, '\uffff': f32, '2': f64 });
  const text = Buffer.from(bytes.subarray(8, 8 + Number(Buffer.from(bytes).readBigUInt64LE(0)))).toString();
  const order = [...text.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
  // U+FFFF is EF BF BF in UTF-8 and U+1F600 is F0 9F 98 80: the emoji sorts last (UTF-16 order would put it first)
  assert.equal(order, ['2', 'a', '10', 'b', '\uffff', '\u{1F600}']);
});

test('writes views (transposed, sliced) as their row-major values, and the input key order does not matter', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32' });
  const back = decodeSafetensors(encodeSafetensors({ t: x.T, s: x.slice([null, [null, null, -1]]) }));
  assert.equal(back.tensors.t.toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.equal(back.tensors.s.toArray(), [[3, 2, 1], [6, 5, 4]]);
  const a = encodeSafetensors({ p: x, q: x.T }, { y: '1', x: '2' });
  const b = encodeSafetensors({ q: x.T, p: x }, { x: '2', y: '1' });
  assert.equal(Buffer.compare(Buffer.from(a), Buffer.from(b)), 0);
});

test('decoded tensors own their data; a "__proto__" name stays an ordinary key', () => {
  const named: Record<string, Tensor> = {};
  Object.defineProperty(named, '__proto__', { value: tensor([7], { dtype: 'float32' }), enumerable: true });
  const bytes = encodeSafetensors(named);
  const back = decodeSafetensors(bytes);
  bytes.fill(0);
  assert.ok(Object.prototype.hasOwnProperty.call(back.tensors, '__proto__'));
  assert.equal(Array.from(back.tensors['__proto__'].data), [7]);
  assert.is(Object.getPrototypeOf(back.tensors), Object.prototype);
});

test('a file inside a larger buffer at an unaligned offset decodes the same', () => {
  const bytes = encodeSafetensors({ w: tensor([1.5, -2], { dtype: 'float32' }), v: tensor([3.25]) });
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  const back = decodeSafetensors(big.subarray(3));
  assert.equal(Array.from(back.tensors.w.data), [1.5, -2]);
  assert.equal(Array.from(back.tensors.v.data), [3.25]);
});

test('encode rejects what the format cannot hold', () => {
  const t = tensor([1]);
  assertThrows(() => encodeSafetensors({ a: [1, 2] as unknown as Tensor }), TypeError, ['"a"', 'not a Tensor'], 'non-tensor');
  assertThrows(() => encodeSafetensors({ __metadata__: t }), TypeError, ['"__metadata__" is reserved'], 'reserved name');
  assertThrows(() => encodeSafetensors({ a: t }, { k: 3 as unknown as string }), TypeError, ['metadata "k" must be a string'], 'metadata value');
  assertThrows(() => encodeSafetensors({ '\ud800': t }), TypeError, ['lone surrogate'], 'lone surrogate');
  assertThrows(() => encodeSafetensors(t as unknown as Record<string, Tensor>), TypeError, ['expected an object of named tensors'], 'a bare tensor');
});

// ------------------------------------------------------------ other dtypes, from hand-made files

test('F16: every one of the 65,536 bit patterns converts exactly (checked against float32 bit assembly)', () => {
  const data = Buffer.alloc(2 * 65536);
  for (let h = 0; h < 65536; h++) data.writeUInt16LE(h, 2 * h);
  const { tensors, dtypes } = decodeSafetensors(file(`{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,${data.length}]}}`, data));
  assert.is(dtypes.h, 'F16');
  assert.is(tensors.h.dtype, 'float32');
  const got = tensors.h.data;
  for (let h = 0; h < 65536; h++) if (!Object.is(got[h], half(h)) && !(Number.isNaN(got[h]) && Number.isNaN(half(h)))) assert.unreachable(`F16 0x${h.toString(16)}: ${got[h]} vs ${half(h)}`);
  // a few values known from IEEE 754 itself
  const known: [number, number][] = [[0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x0001, 2 ** -24], [0x0400, 2 ** -14], [0x7c00, Infinity], [0xfc00, -Infinity], [0x3555, 0.333251953125]];
  for (const [h, v] of known) assert.is(got[h], v, `0x${h.toString(16)}`);
  assert.ok(Object.is(got[0x8000], -0));
  assert.ok(Number.isNaN(got[0x7e00]));
});

test('BF16, integers and BOOL convert to float32', () => {
  const cases: { dtype: SafetensorsDType; write: (b: Buffer, v: any, at: number) => void; values: any[]; expected: number[] }[] = [
    { dtype: 'BF16', write: (b, v, at) => b.writeUInt16LE(v, at), values: [0x3f80, 0xc000, 0x4049, 0x7f80, 0x0001, 0x8000], expected: [1, -2, 3.140625, Infinity, 2 ** -133, -0] },
    { dtype: 'I64', write: (b, v, at) => b.writeBigInt64LE(v, at), values: [-1n, 2n ** 40n, -(2n ** 62n), 16777217n], expected: [-1, 2 ** 40, -(2 ** 62), 16777216] },
    { dtype: 'U64', write: (b, v, at) => b.writeBigUInt64LE(v, at), values: [0n, 2n ** 64n - 1n], expected: [0, 2 ** 64] },
    { dtype: 'I32', write: (b, v, at) => b.writeInt32LE(v, at), values: [-2147483648, 7, -1], expected: [-(2 ** 31), 7, -1] },
    { dtype: 'U32', write: (b, v, at) => b.writeUInt32LE(v, at), values: [4294967295, 3], expected: [2 ** 32, 3] },
    { dtype: 'I16', write: (b, v, at) => b.writeInt16LE(v, at), values: [-32768, 32767, -5], expected: [-32768, 32767, -5] },
    { dtype: 'U16', write: (b, v, at) => b.writeUInt16LE(v, at), values: [65535, 0], expected: [65535, 0] },
    { dtype: 'I8', write: (b, v, at) => b.writeInt8(v, at), values: [-128, 127, 0], expected: [-128, 127, 0] },
    { dtype: 'U8', write: (b, v, at) => b.writeUInt8(v, at), values: [255, 0, 17], expected: [255, 0, 17] },
    { dtype: 'BOOL', write: (b, v, at) => b.writeUInt8(v, at), values: [0, 1, 1, 0], expected: [0, 1, 1, 0] },
  ];
  for (const c of cases) {
    const w = WIDTH[c.dtype];
    const data = Buffer.alloc(w * c.values.length);
    c.values.forEach((v, i) => c.write(data, v, i * w));
    const bytes = file(`{"x":{"dtype":"${c.dtype}","shape":[${c.values.length}],"data_offsets":[0,${data.length}]}}`, data);
    const { tensors, dtypes } = decodeSafetensors(bytes);
    assert.is(dtypes.x, c.dtype);
    assert.is(tensors.x.dtype, 'float32', c.dtype);
    const got = Array.from(tensors.x.data);
    c.expected.forEach((v, i) => assert.ok(Object.is(got[i], Math.fround(v)), `${c.dtype}[${i}]: ${got[i]} vs ${v}`));
    assert.equal(got, referenceDecode(bytes).values.get('x'), `${c.dtype} against the spec's reader`);
  }
});

test('mixed dtypes in one file, in any offset order, with a 2-d shape and a 0-d and an empty tensor', () => {
  const data = Buffer.alloc(8 + 4 + 2 * 4);
  data.writeDoubleLE(Math.PI, 0);
  data.writeInt32LE(-9, 8);
  [1, 2, 3, 4].forEach((v, i) => data.writeUInt16LE(v, 12 + 2 * i));
  const header = '{"i":{"dtype":"I32","shape":[],"data_offsets":[8,12]},"u":{"dtype":"U16","shape":[2,2],"data_offsets":[12,20]},' +
    '"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"e":{"dtype":"BF16","shape":[0,3],"data_offsets":[20,20]}}';
  const { tensors } = decodeSafetensors(file(header, data));
  assert.equal(tensors.d.toArray(), [Math.PI]);
  assert.is(tensors.d.dtype, 'float64');
  assert.equal(tensors.i.shape, []);
  assert.is(tensors.i.item(), -9);
  assert.equal(tensors.u.toArray(), [[1, 2], [3, 4]]);
  assert.equal([...tensors.e.shape], [0, 3]);
});

// ------------------------------------------------------------ rejections

const entry = (name: string, dtype: string, shape: string, offsets: string) => `"${name}":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}`;
const f32 = (name: string, begin: number, end: number) => entry(name, 'F32', `[${(end - begin) / 4}]`, `[${begin},${end}]`);

/** Assert a decode failure: a SafetensorsError with these message fragments and, if given, this key. */
function rejects(bytes: Uint8Array, fragments: (string | RegExp)[], what: string, key?: string): void {
  assertThrows(() => decodeSafetensors(bytes), SafetensorsError, ['decodeSafetensors', ...fragments], what);
  if (key !== undefined) {
    try {
      decodeSafetensors(bytes);
    } catch (e) {
      assert.is((e as SafetensorsError).key, key, `${what}: key`);
    }
  }
}

test('rejects: too short, header length beyond the file or over 100 MB, bad start, bad UTF-8, bad JSON, not an object', () => {
  rejects(new Uint8Array(5), ['5 bytes, shorter than the 8-byte header length'], 'short file');
  rejects(file('{}', [], 100n), ['header length 100 runs beyond the end of the file (10 bytes)'], 'beyond');
  rejects(file('{}', [], 100_000_001n), ['100000001', 'over the limit of 100000000 bytes'], 'over 100 MB');
  rejects(file('{}', [], 2n ** 40n), ['over the limit'], 'length ≥ 2^32');
  rejects(file('{}', [], 2n ** 64n - 1n), ['over the limit'], 'length 2^64-1');
  rejects(file(' {}'), ["does not start with '{'"], 'leading space');
  rejects(file(''), ["does not start with '{'"], 'empty header');
  rejects(file('[1,2]'), ["does not start with '{'"], 'an array header');
  rejects(file('5'), ["does not start with '{'"], 'a number header');
  rejects(new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0xff, 0x7d]), ['not valid UTF-8'], 'bad UTF-8');
  rejects(file('{"a":'), ['not valid JSON'], 'truncated JSON');
  rejects(file('{} x'), ['not valid JSON'], 'junk after the object');
  rejects(file('{}\0\0'), ['not valid JSON'], 'NUL padding');
});

test('rejects: bad entries, unknown dtypes, bad shapes, shapes that disagree with the bytes', () => {
  rejects(file('{"a":5}'), ['the entry of "a" is not an object'], 'entry not an object', 'a');
  rejects(file(`{${entry('a', 'F33', '[1]', '[0,4]')}}`, [0, 0, 0, 0]), ['unknown dtype "F33"', 'F32'], 'unknown dtype', 'a');
  rejects(file(`{${entry('a', 'F8_E4M3', '[1]', '[0,1]')}}`, [0]), ['dtype F8_E4M3', 'cannot read'], 'unsupported dtype', 'a');
  rejects(file('{"a":{"shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), ['"a" has no dtype'], 'no dtype', 'a');
  for (const shape of ['3', '[-1]', '[1.5]', '["2"]', '[1e300]', 'null', '[9007199254740993]']) {
    rejects(file(`{${entry('w', 'F32', shape, '[0,4]')}}`, [0, 0, 0, 0]), ['tensor "w" has shape', 'not an array of non-negative integers'], `shape ${shape}`, 'w');
  }
  rejects(file(`{${entry('w', 'F32', '[3]', '[0,8]')}}`, new Array(8).fill(0)), ['tensor "w" of shape [3] and dtype F32 needs 12 bytes', 'hold 8'], 'shape vs bytes', 'w');
  rejects(file(`{${entry('w', 'F32', '[0,5]', '[0,4]')}}`, [0, 0, 0, 0]), ['needs 0 bytes'], 'empty shape vs bytes', 'w');
  rejects(file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}`, [0, 0, 0, 0]), ['unknown field "extra"'], 'unknown field', 'a');
  const bool = Buffer.from([0, 2]);
  rejects(file(`{${entry('b', 'BOOL', '[2]', '[0,2]')}}`, bool), ['"b" (BOOL) holds the byte 2 at element 1'], 'BOOL byte', 'b');
});

test('rejects: offsets out of range, reversed, malformed, overlapping, holes, trailing bytes', () => {
  const zeros = (n: number) => new Array(n).fill(0);
  rejects(file(`{${f32('a', 0, 16)}}`, zeros(8)), ['"a" has data_offsets [0, 16] beyond the data buffer (8 bytes)'], 'out of range', 'a');
  rejects(file(`{${entry('a', 'F32', '[0]', '[8,0]')}}`, zeros(8)), ['[8, 0] that end before they begin'], 'reversed', 'a');
  for (const offsets of ['[0]', '[0,4,8]', '"0,4"', '[-4,0]', '[0,4.5]']) {
    rejects(file(`{${entry('a', 'F32', '[1]', offsets)}}`, zeros(4)), ['"a" has data_offsets', 'not a pair'], `offsets ${offsets}`, 'a');
  }
  rejects(file(`{${f32('a', 0, 8)},${f32('b', 4, 12)}}`, zeros(12)), ['data of "b" [4, 12) overlaps that of "a" [0, 8)'], 'overlap', 'b');
  rejects(file(`{${f32('a', 0, 8)},${f32('b', 0, 8)}}`, zeros(8)), ['overlaps'], 'same offsets');
  rejects(file(`{${f32('a', 0, 4)},${f32('b', 8, 12)}}`, zeros(12)), ['bytes [4, 8) of the data buffer belong to no tensor', 'before "b"'], 'hole', 'b');
  rejects(file(`{${f32('b', 4, 8)}}`, zeros(8)), ['bytes [0, 4)', 'belong to no tensor'], 'hole at the start', 'b');
  rejects(file(`{${f32('a', 0, 4)}}`, zeros(8)), ['4 bytes after the last tensor'], 'trailing bytes');
  rejects(file('{}', zeros(1)), ['1 bytes after the last tensor'], 'data with no tensors');
});

test('rejects: duplicate keys (at the top, inside an entry, in the metadata, spelled with escapes), bad metadata', () => {
  rejects(file(`{${f32('a', 0, 4)},${f32('a', 0, 4)}}`, [0, 0, 0, 0]), ['the header names "a" twice'], 'duplicate tensor', 'a');
  rejects(file(`{${f32('a', 0, 4)},${f32('\\u0061', 0, 4)}}`, [0, 0, 0, 0]), ['names "a" twice'], 'duplicate by escape', 'a');
  rejects(file('{"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), ['entry of "a" has the field "dtype" twice'], 'duplicate field', 'a');
  rejects(file('{"__metadata__":{"k":"1","k":"2"}}'), ['"__metadata__"', 'field "k" twice'], 'duplicate metadata');
  rejects(file('{"__metadata__":{"x":"1"},"__metadata__":{}}'), ['names "__metadata__" twice'], 'two metadata objects');
  // the same key in two different objects is not a duplicate
  const ok = decodeSafetensors(file(`{"__metadata__":{"dtype":"x","a":"y"},${f32('a', 0, 4)}}`, [0, 0, 0, 0]));
  assert.equal(ok.metadata, { dtype: 'x', a: 'y' });
  rejects(file('{"__metadata__":{"k":1}}'), ['metadata "k" is number, not a string'], 'number metadata', 'k');
  rejects(file('{"__metadata__":{"k":null}}'), ['metadata "k" is null'], 'null metadata', 'k');
  rejects(file('{"__metadata__":"text"}'), ['"__metadata__" is not an object of strings'], 'metadata string');
  rejects(file('{"__metadata__":["a"]}'), ['"__metadata__" is not an object of strings'], 'metadata array');
  rejects(file(`{${f32('\\ud800', 0, 4)}}`, [0, 0, 0, 0]), ['lone surrogate'], 'lone surrogate key');
});

test('decode rejects a non-Uint8Array argument with a TypeError', () => {
  assertThrows(() => decodeSafetensors([1, 2, 3] as unknown as Uint8Array), TypeError, ['expected a Uint8Array'], 'array');
});

// ------------------------------------------------------------ mutated files

/** A valid file to mutate: float tensors from encode, sometimes an integer or half tensor appended by hand. */
const arbValidFile = fc.tuple(arbTensors, arbMetadata, fc.boolean()).map(([tensors, metadata, extra]) => {
  if (!extra) return encodeSafetensors(tensors, metadata);
  // re-emit with one I16 and one BF16 tensor after the float data
  const bytes = encodeSafetensors(tensors, metadata);
  const { headerLength } = referenceDecode(bytes);
  const text = Buffer.from(bytes.subarray(8, 8 + headerLength)).toString().trimEnd();
  const data = bytes.subarray(8 + headerLength);
  const at = data.length;
  const more = `"i16":{"dtype":"I16","shape":[3],"data_offsets":[${at},${at + 6}]},"bf":{"dtype":"BF16","shape":[2],"data_offsets":[${at + 6},${at + 10}]}`;
  const head = text === '{}' ? `{${more}}` : `${text.slice(0, -1)},${more}}`;
  return file(head, [...data, 1, 0, 0xff, 0xff, 2, 0x80, 0x80, 0x3f, 0x49, 0x40]);
});

const JSONISH = '{}[]",:0123456789-+.eE \\ufFI8BOLabd_';
type Mutation =
  | { kind: 'flip'; at: number[]; to: number[] }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; extra: number[] }
  | { kind: 'edit'; at: number; del: number; insert: string; fixLength: boolean }
  | { kind: 'length'; lo: number; hi: number };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), to: fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.array(fc.nat(255), { minLength: 1, maxLength: 9 }) }),
  fc.record({
    kind: fc.constant('edit' as const), at: fc.nat(), del: fc.nat(6),
    insert: fc.oneof(fc.stringMatching(new RegExp(`^[${JSONISH.replace(/[\]\\[-]/g, '\\$&')}]{0,4}$`)), fc.constantFrom('"a":{}', ',"x":1', '-1', '99999999', '1e9', '"F64"', '"I32"', '[0,0]', '"__metadata__"')),
    fixLength: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('length' as const), lo: fc.nat(0xffffffff), hi: fc.oneof(fc.constant(0), fc.nat(0xffffffff)) }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const b = Buffer.from(bytes);
  switch (m.kind) {
    case 'flip': m.at.forEach((p, i) => { if (b.length) b[p % b.length] = m.to[i]; }); return new Uint8Array(b);
    case 'truncate': return new Uint8Array(b.subarray(0, m.keep % (b.length + 1)));
    case 'append': return new Uint8Array(Buffer.concat([b, Buffer.from(m.extra)]));
    case 'length': b.writeUInt32LE(m.lo, 0); b.writeUInt32LE(m.hi, 4); return new Uint8Array(b);
    case 'edit': {
      const n = Number(b.readBigUInt64LE(0));
      const text = b.subarray(8, 8 + n).toString('latin1');
      const at = m.at % (text.length + 1);
      const edited = Buffer.from(text.slice(0, at) + m.insert + text.slice(at + m.del), 'latin1');
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(m.fixLength ? edited.length : n));
      return new Uint8Array(Buffer.concat([prefix, edited, b.subarray(8 + n)]));
    }
  }
}

test('thousands of mutated files: each decodes consistently with the spec\'s reader or throws SafetensorsError, quickly', () => {
  let decoded = 0, rejected = 0;
  fc.assert(fc.property(arbValidFile, arbMutation, (original, m) => {
    const bytes = mutate(original, m);
    const started = performance.now();
    let result;
    try {
      result = decodeSafetensors(bytes);
    } catch (e) {
      if (!(e instanceof SafetensorsError)) throw new Error(`not a SafetensorsError: ${(e as Error)?.stack ?? String(e)}`);
      assert.ok(e.message.startsWith('decodeSafetensors: '));
      rejected++;
      return;
    } finally {
      assert.ok(performance.now() - started < 1000, 'decode took over a second');
    }
    decoded++;
    // consistent: same names, shapes and values as the independent reader, and the tensors tile the data
    const { headerLength, header, values } = referenceDecode(bytes);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    assert.equal(Object.keys(result.tensors).sort(), names.sort());
    const spans: [number, number][] = [];
    for (const name of names) {
      const t = result.tensors[name];
      assert.equal([...t.shape], header[name].shape);
      assert.is(result.dtypes[name], header[name].dtype);
      const got = Array.from(t.data), want = values.get(name)!;
      assert.is(got.length, want.length);
      got.forEach((v, i) => assert.ok(Object.is(v, want[i]) || (Number.isNaN(v) && Number.isNaN(want[i])), `${name}[${i}]`));
      spans.push(header[name].data_offsets);
    }
    spans.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    let end = 0;
    for (const [s, e] of spans) {
      assert.is(s, end);
      end = e;
    }
    assert.is(8 + headerLength + end, bytes.length);
    for (const v of Object.values(result.metadata)) assert.type(v, 'string');
  }), { numRuns: 4000 });
  assert.ok(decoded > 20 && rejected > 1000, `decoded ${decoded}, rejected ${rejected}: the mutations should exercise both outcomes`);
});

test.run();
