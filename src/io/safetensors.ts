/**
 * The safetensors format (https://github.com/huggingface/safetensors), written and read
 * without any dependency and without ever evaluating anything from the file:
 *
 * - 8 bytes: `N`, the header length, an unsigned 64-bit little-endian integer;
 * - `N` bytes: a UTF-8 JSON object `{ name: { dtype, shape, data_offsets: [begin, end] }, … }`,
 *   with an optional `"__metadata__"` object of string → string, padded with spaces so the
 *   data that follows starts at a multiple of 8;
 * - the data buffer: each tensor row-major, little-endian, at `[begin, end)` relative to the
 *   start of the buffer; the tensors tile the buffer exactly (no holes, no overlaps, nothing after).
 *
 * Works the same in Node and in a browser (only `Uint8Array`, `DataView`, `TextEncoder`/`TextDecoder`).
 * The Node file helpers are in `node.ts`.
 */
import ndarray from 'ndarray';
import { Tensor } from '../tensor/tensor.js';
import type { FloatArray } from '../tensor/dtype.js';

/** Largest header accepted, in bytes (the reference implementation's limit). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** The element types of the safetensors format that fluxion reads. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Bytes per element of each readable dtype. */
const DTYPE_SIZE: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** Dtypes of the format that fluxion cannot convert (8-, 6- and 4-bit floats, complex). */
const UNSUPPORTED_DTYPES = new Set(['F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

/**
 * A file that is not valid safetensors, or that fluxion cannot read. The message says what is
 * wrong and, where one tensor is at fault, names it; {@link SafetensorsError.key} holds that name.
 */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  /** The tensor (or metadata) key the problem is about, when there is one. */
  readonly key: string | undefined;

  /** @param key - the tensor name at fault, if any. */
  constructor(message: string, key?: string) {
    super(message);
    this.key = key;
  }
}

/** What {@link decodeSafetensors} returns. */
export interface SafetensorsContents {
  /** The tensors by name. `F64` data becomes float64 tensors, every other dtype float32. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` entries (empty when the file has none). */
  metadata: Record<string, string>;
  /** The dtype each tensor had in the file, before conversion. */
  dtypes: Record<string, SafetensorsDType>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Own data property, safe for keys such as `__proto__`. */
function define<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** True when a string has no lone surrogate (so UTF-8 encoding keeps it as it is). */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** Order of strings by Unicode code points, which is the byte order of their UTF-8 (the reference writer's order). */
function compareCodePoints(a: string, b: string): number {
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!, y = b.codePointAt(j)!;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

/**
 * Encode named tensors (and optional string metadata) as the bytes of a safetensors file.
 * float32 tensors are stored as `F32`, float64 as `F64`. Like the reference writer, the tensors
 * are laid out and listed by dtype (`F64` first, so every tensor is aligned to its element size)
 * and then by name; the output is the same for the same input, whatever the key order.
 *
 * ```ts
 * const bytes = encodeSafetensors({ 'layers.0.weight': W, 'layers.0.bias': b }, { epoch: '3' });
 * ```
 * @param tensors - tensors by name; a name may be any string except `"__metadata__"`.
 * @param metadata - free-form string → string entries stored under `"__metadata__"`.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const op = 'encodeSafetensors';
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors) || tensors instanceof Tensor) {
    const got = tensors === null ? 'null' : Array.isArray(tensors) ? 'an array' : tensors instanceof Tensor ? 'a Tensor (name it: { name: tensor })' : typeof tensors;
    throw new TypeError(`${op}: expected an object of named tensors, got ${got}`);
  }
  const entries = Object.keys(tensors).map((name) => {
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: the value of "${name}" is not a Tensor`);
    if (name === '__metadata__') throw new TypeError(`${op}: "__metadata__" is reserved for the metadata and cannot name a tensor`);
    if (!isWellFormed(name)) throw new TypeError(`${op}: the tensor name ${JSON.stringify(name)} contains a lone surrogate, which UTF-8 cannot hold`);
    return { name, tensor: t, dtype: t.dtype === 'float64' ? 'F64' as const : 'F32' as const };
  });
  entries.sort((a, b) => (a.dtype === b.dtype ? compareCodePoints(a.name, b.name) : a.dtype === 'F64' ? -1 : 1));

  const parts: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new TypeError(`${op}: metadata must be an object of strings`);
    const keys = Object.keys(metadata).sort(compareCodePoints);
    const items = keys.map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new TypeError(`${op}: metadata "${k}" must be a string, got ${typeof v}`);
      if (!isWellFormed(k) || !isWellFormed(v)) throw new TypeError(`${op}: metadata "${k}" contains a lone surrogate, which UTF-8 cannot hold`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${items.join(',')}}`);
  }
  let offset = 0;
  for (const e of entries) {
    const bytes = e.tensor.size * (e.dtype === 'F64' ? 8 : 4);
    // Built by hand: an object literal would move integer-like names ("10", "2") to the front.
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.tensor.shape.join(',')}],"data_offsets":[${offset},${offset + bytes}]}`);
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > SAFETENSORS_MAX_HEADER) {
    throw new RangeError(`${op}: the header would be ${headerLength} bytes, over the format's limit of ${SAFETENSORS_MAX_HEADER}`);
  }

  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true); // the high 32 bits stay 0
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const e of entries) {
    const data = e.tensor.data;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
      pos += data.byteLength;
    } else if (e.dtype === 'F64') {
      for (let i = 0; i < data.length; i++, pos += 8) view.setFloat64(pos, data[i], true);
    } else {
      for (let i = 0; i < data.length; i++, pos += 4) view.setFloat32(pos, data[i], true);
    }
  }
  return out;
}

/** One validated header entry. */
interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Decode the bytes of a safetensors file. Nothing in the file is executed; anything that is not
 * a well-formed file throws a {@link SafetensorsError} saying what is wrong (and naming the
 * tensor): a header length beyond the file or over 100 MB, a header that is not UTF-8 JSON
 * starting with `{`, that is not an object, or that repeats a key; an unknown dtype; a shape
 * that is not a list of non-negative integers or that disagrees with the byte length; offsets
 * out of range, overlapping, or leaving holes or trailing bytes; metadata that is not strings.
 *
 * `F32` and `F64` tensors keep their type. `F16`, `BF16`, `I64`, `I32`, `I16`, `I8`, `U64`,
 * `U32`, `U16`, `U8` and `BOOL` (bytes 0 or 1) are converted to float32 — exactly for the
 * 8- and 16-bit types; integers beyond 2^24 in magnitude are rounded to the nearest float32.
 * The tensors own fresh copies of their data (the input bytes can be reused).
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decodeSafetensors: expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  const fail: (message: string, key?: string) => never = (message, key) => {
    throw new SafetensorsError(`decodeSafetensors: ${message}`, key);
  };
  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true), high = view.getUint32(4, true);
  const headerLength = high * 2 ** 32 + low;
  if (headerLength > SAFETENSORS_MAX_HEADER) fail(`the header length ${high === 0 ? headerLength : `≥ 2^32 (${headerLength})`} is over the limit of ${SAFETENSORS_MAX_HEADER} bytes`);
  if (8 + headerLength > bytes.length) fail(`the header length ${headerLength} runs beyond the end of the file (${bytes.length} bytes)`);
  if (headerLength === 0 || bytes[8] !== 0x7b) fail(`the header does not start with '{'`);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    fail(duplicate.owner === undefined
      ? `the header names ${JSON.stringify(duplicate.key)} twice`
      : `the header entry of ${JSON.stringify(duplicate.owner)} has the field ${JSON.stringify(duplicate.key)} twice`, duplicate.owner ?? duplicate.key);
  }

  const dataLength = bytes.length - 8 - headerLength;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (!isWellFormed(name)) fail(`the key ${JSON.stringify(name)} contains a lone surrogate`, name);
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('"__metadata__" is not an object of strings', name);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata ${JSON.stringify(k)} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}, not a string`, k);
        define(metadata, k, v as string);
      }
      continue;
    }
    entries.push(checkEntry(name, info, dataLength, fail));
  }

  // The tensors must tile the data buffer: sorted by offset, each starts where the last ended.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: Entry | undefined;
  for (const e of byOffset) {
    if (e.begin < expected) fail(`the data of ${JSON.stringify(e.name)} [${e.begin}, ${e.end}) overlaps that of ${JSON.stringify(previous!.name)} [${previous!.begin}, ${previous!.end})`, e.name);
    if (e.begin > expected) fail(`bytes [${expected}, ${e.begin}) of the data buffer belong to no tensor (a hole before ${JSON.stringify(e.name)})`, e.name);
    expected = e.end;
    previous = e;
  }
  if (expected !== dataLength) fail(`the data buffer has ${dataLength - expected} bytes after the last tensor (it is ${dataLength} bytes, the tensors cover ${expected})`);

  const tensors: Record<string, Tensor> = {};
  const dtypes: Record<string, SafetensorsDType> = {};
  const dataStart = bytes.byteOffset + 8 + headerLength;
  for (const e of entries) {
    const values = convert(e, bytes, dataStart, view, 8 + headerLength, fail);
    define(tensors, e.name, new Tensor(ndarray(values, e.shape)));
    define(dtypes, e.name, e.dtype);
  }
  return { tensors, metadata, dtypes };
}

function checkEntry(name: string, info: unknown, dataLength: number, fail: (m: string, key?: string) => never): Entry {
  const q = JSON.stringify(name);
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`the entry of ${q} is not an object`, name);
  const record = info as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (field !== 'dtype' && field !== 'shape' && field !== 'data_offsets') fail(`the entry of ${q} has an unknown field ${JSON.stringify(field)}`, name);
  }
  const { dtype, shape, data_offsets: offsets } = record;
  if (typeof dtype !== 'string') fail(`the entry of ${q} has no dtype string`, name);
  if (UNSUPPORTED_DTYPES.has(dtype as string)) fail(`tensor ${q} has dtype ${dtype}, which fluxion cannot read`, name);
  if (!Object.prototype.hasOwnProperty.call(DTYPE_SIZE, dtype as string)) {
    fail(`tensor ${q} has an unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(DTYPE_SIZE).join(', ')}`, name);
  }
  const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!Array.isArray(shape) || !shape.every(isIndex)) fail(`tensor ${q} has shape ${JSON.stringify(shape)}, not an array of non-negative integers`, name);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    fail(`tensor ${q} has data_offsets ${JSON.stringify(offsets)}, not a pair [begin, end] of non-negative integers`, name);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) fail(`tensor ${q} has data_offsets [${begin}, ${end}] that end before they begin`, name);
  if (end > dataLength) fail(`tensor ${q} has data_offsets [${begin}, ${end}] beyond the data buffer (${dataLength} bytes)`, name);
  const size = DTYPE_SIZE[dtype as SafetensorsDType];
  let count = 1;
  for (const d of shape as number[]) count *= d; // exact while ≤ 2^53, and any larger count fails below
  if (count * size !== end - begin) {
    fail(`tensor ${q} of shape [${(shape as number[]).join(',')}] and dtype ${dtype} needs ${count * size} bytes, but its data_offsets [${begin}, ${end}] hold ${end - begin}`, name);
  }
  return { name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end };
}

/** Copy one tensor's bytes out of the file as float32 (float64 for F64). */
function convert(e: Entry, bytes: Uint8Array, dataStart: number, view: DataView, dataPos: number, fail: (m: string, key?: string) => never): FloatArray {
  const n = (e.end - e.begin) / DTYPE_SIZE[e.dtype];
  const at = dataPos + e.begin; // position within `view`
  if (LITTLE_ENDIAN && (e.dtype === 'F32' || e.dtype === 'F64')) {
    // slice copies into a fresh, aligned buffer
    const copy = bytes.buffer.slice(dataStart + e.begin, dataStart + e.end) as ArrayBuffer;
    return e.dtype === 'F32' ? new Float32Array(copy) : new Float64Array(copy);
  }
  if (e.dtype === 'F64') {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i, true);
    return out;
  }
  const out = new Float32Array(n);
  switch (e.dtype) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i, true); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = halfToNumber(view.getUint16(at + 2 * i, true)); break;
    case 'BF16': {
      // a bfloat16 is the upper half of a float32's bits
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(at + 2 * i, true) << 16;
      break;
    }
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(at + 8 * i, true)); break;
    case 'U64': for (let i = 0; i < n; i++) out[i] = Number(view.getBigUint64(at + 8 * i, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i, true); break;
    case 'U32': for (let i = 0; i < n; i++) out[i] = view.getUint32(at + 4 * i, true); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i, true); break;
    case 'U16': for (let i = 0; i < n; i++) out[i] = view.getUint16(at + 2 * i, true); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = view.getInt8(at + i); break;
    case 'U8': for (let i = 0; i < n; i++) out[i] = view.getUint8(at + i); break;
    case 'BOOL':
      for (let i = 0; i < n; i++) {
        const b = view.getUint8(at + i);
        if (b > 1) fail(`tensor ${JSON.stringify(e.name)} (BOOL) holds the byte ${b} at element ${i}; booleans are 0 or 1`, e.name);
        out[i] = b;
      }
      break;
  }
  return out;
}

/** IEEE 754 binary16 bits to a number (exact). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/**
 * The first key that an object of the (valid) JSON text repeats, with the key of the object it
 * is in (`undefined` at the top level). JSON.parse silently keeps the last of repeated keys.
 */
function findDuplicateKey(text: string): { key: string; owner: string | undefined } | undefined {
  // one frame per open object or array: its keys so far (null for arrays) and its own key
  const stack: { keys: Set<string> | null; owner: string | undefined; last: string | undefined }[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // "
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, owner: top.owner };
        top.keys.add(key);
        top.last = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) { // { [
      const parent = stack[stack.length - 1];
      const owner = stack.length === 1 && parent.keys ? parent.last : parent?.owner;
      stack.push({ keys: c === 0x7b ? new Set() : null, owner, last: undefined });
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) { // ,
      expectKey = stack[stack.length - 1]?.keys != null;
    }
  }
  return undefined;
}
