/** The Node file helpers: atomic writes, reads, and no Node module on the browser path. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';
import * as esbuild from 'esbuild';
import { writeSafetensorsFile, readSafetensorsFile, readFileBytes } from '../../src/io/node.js';
import { encodeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';
import { tensor } from '../../src/tensor/convert.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'fluxion-io-'));

async function rejectsWith(p: Promise<unknown>, cls: new (...a: never[]) => Error, fragment: string, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, cls, `${what}: ${(e as Error).message}`);
    assert.ok((e as Error).message.includes(fragment), `${what}: ${(e as Error).message}`);
    return;
  }
  assert.unreachable(`${what}: nothing was thrown`);
}

test('writeSafetensorsFile writes the bytes, replaces an existing file, and leaves no temporary file', async () => {
  const target = path.join(dir, 'model.safetensors');
  const first = encodeSafetensors({ w: tensor([1, 2, 3], { dtype: 'float32' }) }, { step: '1' });
  await writeSafetensorsFile(target, first);
  assert.equal(new Uint8Array(readFileSync(target)), first);
  const second = encodeSafetensors({ w: tensor([4, 5]), b: tensor([6]) });
  await writeSafetensorsFile(target, second);
  assert.equal(new Uint8Array(readFileSync(target)), second);
  assert.equal(readdirSync(dir), ['model.safetensors']);
  const back = await readSafetensorsFile(target);
  assert.equal(back.tensors.w.toArray(), [4, 5]);
  assert.equal(back.tensors.b.toArray(), [6]);
  assert.equal(await readFileBytes(target), second);
});

test('a failed write leaves what was at the path and no temporary file', async () => {
  // the rename fails: the target is a non-empty directory
  const blocked = path.join(dir, 'blocked');
  mkdirSync(blocked);
  writeFileSync(path.join(blocked, 'keep'), 'x');
  let failed = false;
  try {
    await writeSafetensorsFile(blocked, encodeSafetensors({}));
  } catch {
    failed = true;
  }
  assert.ok(failed, 'writing over a non-empty directory fails');
  assert.equal(readdirSync(blocked), ['keep']);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  // a directory that does not exist: the error comes from the file system, nothing is created
  await rejectsWith(writeSafetensorsFile(path.join(dir, 'missing', 'm.safetensors'), encodeSafetensors({})), Error, 'ENOENT', 'missing directory');
  rmSync(blocked, { recursive: true });
});

test('bad arguments and malformed files', async () => {
  await rejectsWith(writeSafetensorsFile('', new Uint8Array()), TypeError, 'expected a file path', 'empty path');
  await rejectsWith(writeSafetensorsFile(path.join(dir, 'x'), [1, 2] as unknown as Uint8Array), TypeError, 'as a Uint8Array', 'array of numbers');
  const junk = path.join(dir, 'junk.safetensors');
  writeFileSync(junk, Buffer.from([1, 2, 3]));
  await rejectsWith(readSafetensorsFile(junk), SafetensorsError, 'shorter than the 8-byte header length', 'junk file');
  rmSync(junk);
});

test('the browser bundle of fluxion contains no Node built-in module', async () => {
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'src/index.ts')], bundle: true, format: 'esm', platform: 'browser',
    write: false, metafile: true, logLevel: 'silent',
  });
  const nodeImports = Object.entries(result.metafile.inputs)
    .flatMap(([file, input]) => input.imports.filter((i) => i.path.startsWith('node:') || builtinModules.includes(i.path)).map((i) => `${file} → ${i.path}`));
  assert.equal(nodeImports, []);
  assert.ok(Object.keys(result.metafile.inputs).some((f) => f.endsWith('src/io/node.ts')), 'the file helpers are in the bundle (and harmless there)');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
