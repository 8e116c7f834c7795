/**
 * Reading and writing safetensors files in Node. The Node modules are imported when these
 * functions are first called, through a specifier bundlers leave alone, so a browser bundle of
 * fluxion never contains or requests them (in a browser, use the bytes of
 * {@link encodeSafetensors} and {@link decodeSafetensors} directly).
 */
import { decodeSafetensors, type SafetensorsContents } from './safetensors.js';

type FsPromises = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

/** Import a Node built-in at run time, hidden from bundlers' static analysis. */
async function nodeModule<T>(name: string, op: string): Promise<T> {
  if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') {
    throw new Error(`${op}: needs Node's file system; in a browser use encodeSafetensors / decodeSafetensors with the bytes`);
  }
  return (await import(/* @vite-ignore */ name)) as T;
}

/**
 * Write the bytes of a safetensors file (from {@link encodeSafetensors}) to `path` atomically:
 * they go to a temporary file in the same directory, which is flushed to disk and then renamed
 * over `path`. A crash or error midway leaves either the old file or the new one, never a torn
 * one; on error the temporary file is removed and the error rethrown.
 */
export async function writeSafetensorsFile(path: string, bytes: Uint8Array): Promise<void> {
  const op = 'writeSafetensorsFile';
  if (typeof path !== 'string' || path === '') throw new TypeError(`${op}: expected a file path, got ${JSON.stringify(path)}`);
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${op}: expected the file's bytes as a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  const fs = await nodeModule<FsPromises>('node:fs/promises', op);
  const paths = await nodeModule<NodePath>('node:path', op);
  const dir = paths.dirname(path);
  const unique = `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}`;
  const temporary = paths.join(dir, `.${paths.basename(path)}.${unique}.tmp`);
  const handle = await fs.open(temporary, 'wx');
  let closed = false, renamed = false;
  try {
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    closed = true;
    await fs.rename(temporary, path);
    renamed = true;
  } finally {
    if (!closed) await handle.close().catch(() => undefined);
    if (!renamed) await fs.rm(temporary, { force: true }).catch(() => undefined);
  }
  // Make the rename itself durable; directories cannot be opened for this on every platform (Windows).
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // the data is on disk either way
  }
}

/** The bytes of a file, as a Uint8Array (for {@link decodeSafetensors} or `readIDX`). */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const op = 'readFileBytes';
  if (typeof path !== 'string' || path === '') throw new TypeError(`${op}: expected a file path, got ${JSON.stringify(path)}`);
  const fs = await nodeModule<FsPromises>('node:fs/promises', op);
  const b = await fs.readFile(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Read and decode a safetensors file: {@link decodeSafetensors} of its bytes (which throws a
 * `SafetensorsError` for a malformed file; file-system errors come through unchanged).
 */
export async function readSafetensorsFile(path: string): Promise<SafetensorsContents> {
  return decodeSafetensors(await readFileBytes(path));
}
