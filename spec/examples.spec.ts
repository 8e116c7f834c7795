/**
 * Every file in `examples/` runs in a child process (`node --import tsx examples/NAME.ts` from
 * the repository root, unless its check says otherwise) and must exit with status 0. An example
 * may have a companion `spec/examples/NAME.check.ts` that checks what it printed: see
 * `spec/examples/support.ts` for what such a module exports.
 *
 * README code blocks introduced by `<!-- example: examples/NAME.ts -->` must appear verbatim in
 * that example, so the README's code runs here too; blocks introduced by
 * `<!-- output: examples/NAME.ts -->` must appear verbatim in what that example printed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ExampleCheck, ExampleOutput } from './examples/support.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const examplesDir = path.join(root, 'examples');
const checksDir = path.join(root, 'spec', 'examples');

/** What each example printed, for the README test at the end. */
const printedBy = new Map<string, string>();

const examples = readdirSync(examplesDir)
  .filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && !f.endsWith('.d.ts'))
  .sort();

/** Run `node ...nodeArgs file`; resolve with the exit status and output. */
function run(file: string, c: ExampleCheck): Promise<ExampleOutput & { status: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(c.nodeArgs ?? ['--import', 'tsx']), file], {
      cwd: root,
      env: { ...process.env, ...c.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: c.timeoutMs ?? 120_000,
    });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ stdout, stderr, status, signal }));
  });
}

test('examples/ holds at least the main demo run by npm start', () => {
  assert.ok(examples.includes('tensors.ts'), `examples found: ${examples.join(', ')}`);
});

for (const file of examples) {
  const name = file.replace(/\.[^.]+$/, '');
  test(`examples/${file} runs${existsSync(path.join(checksDir, `${name}.check.ts`)) ? ' and prints the right values' : ''}`, async () => {
    const checkFile = path.join(checksDir, `${name}.check.ts`);
    const c: ExampleCheck = existsSync(checkFile) ? ((await import(pathToFileURL(checkFile).href)) as ExampleCheck) : {};
    const out = await run(path.join('examples', file), c);
    printedBy.set(`examples/${file}`, out.stdout);
    const tail = (s: string) => s.split('\n').slice(-30).join('\n');
    if (out.status !== 0) {
      assert.unreachable(`examples/${file} exited with ${out.signal ?? `status ${out.status}`}\n--- stderr:\n${tail(out.stderr)}\n--- stdout:\n${tail(out.stdout)}`);
    }
    await c.check?.(out);
  });
}

test('README code marked <!-- example: ... --> is in that example, and <!-- output: ... --> in what it printed', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const marked = [...readme.matchAll(/<!--\s*(example|output):\s*(\S+)\s*-->\s*```\w*\n([\s\S]*?)```/g)];
  assert.ok(marked.some((m) => m[1] === 'example'), 'README marks at least one code block as taken from an example');
  for (const [, kind, file, block] of marked) {
    if (kind === 'example') {
      const source = readFileSync(path.join(root, file!), 'utf8');
      assert.ok(source.includes(block!), `README's block marked "example: ${file}" is not verbatim in ${file}:\n${block}`);
    } else {
      const stdout = printedBy.get(file!);
      assert.ok(stdout !== undefined, `README marks output of ${file}, which is not an example that ran`);
      // the runner may force colours onto console.log's numbers; the README shows plain text
      const plain = stdout!.replace(/\x1b\[[0-9;]*m/g, '');
      assert.ok(plain.includes(block!), `README's block marked "output: ${file}" is not in what ${file} printed:\n${block}`);
    }
  }
});

test.run();
