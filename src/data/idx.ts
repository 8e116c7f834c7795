/**
 * The IDX format of MNIST-style datasets: two zero bytes, a type byte, the number of
 * dimensions, then one big-endian unsigned 32-bit length per dimension and the values,
 * row-major and big-endian.
 */
import ndarray from 'ndarray';
import { Tensor } from '../tensor/tensor.js';
import { type DType, allocate, checkDType } from '../tensor/dtype.js';

/** The element types of IDX files. */
export type IDXType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** A file that is not valid IDX: the message says what is wrong. */
export class IDXError extends Error {
  override name = 'IDXError';
}

/** The contents of an IDX file in its own element type (what {@link readIDXRaw} returns). */
export interface IDXContents {
  /** The element type named by the file's third byte. */
  type: IDXType;
  /** The dimensions, outermost first. */
  shape: number[];
  /** The values, row-major, converted from big-endian. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Options of {@link readIDX}. */
export interface ReadIDXOptions {
  /** Element type of the tensor; by default the narrowest that holds every value exactly. */
  dtype?: DType;
}

const TYPES: Record<number, { type: IDXType; size: number }> = {
  0x08: { type: 'uint8', size: 1 },
  0x09: { type: 'int8', size: 1 },
  0x0b: { type: 'int16', size: 2 },
  0x0c: { type: 'int32', size: 4 },
  0x0d: { type: 'float32', size: 4 },
  0x0e: { type: 'float64', size: 8 },
};

/**
 * Parse an IDX file into its type, shape and values without converting them. Throws an
 * {@link IDXError} for a bad magic number, an unknown type, a truncated header, or a data
 * section whose length is not what the dimensions say.
 */
export function readIDXRaw(bytes: Uint8Array): IDXContents {
  const op = 'readIDX';
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${op}: expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length < 4) throw new IDXError(`${op}: the file is ${bytes.length} bytes, shorter than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const hint = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (it is gzip-compressed: decompress it first)' : '';
    throw new IDXError(`${op}: the file does not start with two zero bytes, so it is not IDX${hint}`);
  }
  const info = TYPES[bytes[2]];
  if (info === undefined) {
    throw new IDXError(`${op}: unknown type byte 0x${bytes[2].toString(16).padStart(2, '0')}; expected 0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32) or 0x0e (float64)`);
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new IDXError(`${op}: the file declares 0 dimensions`);
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new IDXError(`${op}: the file is ${bytes.length} bytes, too short for the ${ndims} dimension lengths its header declares (${headerLength} bytes of header)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    shape.push(view.getUint32(4 + 4 * d, false));
    count *= shape[d];
  }
  const expected = count * info.size;
  const actual = bytes.length - headerLength;
  if (actual !== expected) {
    throw new IDXError(`${op}: dimensions [${shape.join(',')}] of ${info.type} need ${expected} bytes of data, but the file has ${actual}${actual < expected ? ' (truncated)' : ' (trailing bytes)'}`);
  }
  const at = headerLength;
  let data: IDXContents['data'];
  switch (info.type) {
    case 'uint8': data = bytes.slice(at); break;
    case 'int8': data = new Int8Array(bytes.slice(at).buffer); break;
    case 'int16': data = new Int16Array(count); for (let i = 0; i < count; i++) data[i] = view.getInt16(at + 2 * i, false); break;
    case 'int32': data = new Int32Array(count); for (let i = 0; i < count; i++) data[i] = view.getInt32(at + 4 * i, false); break;
    case 'float32': data = new Float32Array(count); for (let i = 0; i < count; i++) data[i] = view.getFloat32(at + 4 * i, false); break;
    case 'float64': data = new Float64Array(count); for (let i = 0; i < count; i++) data[i] = view.getFloat64(at + 8 * i, false); break;
  }
  return { type: info.type, shape, data };
}

/**
 * Read an IDX file (the format of the MNIST files) into a tensor of its shape. Values keep
 * their magnitude (MNIST pixels stay 0–255). The default dtype is float32 for uint8, int8,
 * int16 and float32 files and float64 for int32 and float64 files, so no value is rounded;
 * `{ dtype }` chooses another. Errors as in {@link readIDXRaw}.
 * ```ts
 * const images = readIDX(readFileSync('train-images-idx3-ubyte'));   // [60000, 28, 28] float32
 * ```
 */
export function readIDX(bytes: Uint8Array, options: ReadIDXOptions = {}): Tensor {
  const raw = readIDXRaw(bytes);
  const exactDType: DType = raw.type === 'int32' || raw.type === 'float64' ? 'float64' : 'float32';
  const dtype = options.dtype === undefined ? exactDType : checkDType(options.dtype, 'readIDX');
  const values = allocate(dtype, raw.data.length);
  values.set(raw.data);
  return new Tensor(ndarray(values, raw.shape));
}
