/**
 * Support for the transform specs: throwaway projects in a temporary directory, run in a
 * child process under the import hook.
 *
 * Two ways to reach the library from such a project:
 * - `source` (default): `node_modules/fluxion` is a small package whose exports point into this
 *   repository's `src/` (through a symlink, so there is one copy of every module), run with
 *   `--import tsx --import fluxion/register`: no build needed;
 * - `dist`: `node_modules/fluxion` links to the repository itself, whose exports point at the
 *   build in `dist/`, run with plain `node --import fluxion/register` as a user would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const PROGRAMS = join(REPO, 'spec', 'transform', 'programs');

export type Mode = 'source' | 'dist';

/** A fixture from `spec/transform/programs/` (stored as `.txt` so that `tsc` leaves it alone). */
export function program(name: string): string {
  return readFileSync(join(PROGRAMS, `${name}.txt`), 'utf8');
}

/** Projects made by this process, removed when it exits. */
const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** Create a project with `files` (path → text) and a `node_modules/fluxion` for `mode`. */
export function project(files: Record<string, string>, options: { mode?: Mode; type?: 'module' | 'commonjs'; pkg?: object } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'fluxion-transform-'));
  made.push(dir);
  const mode = options.mode ?? 'source';
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: options.type ?? 'module', ...options.pkg }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const nm = join(dir, 'node_modules');
  mkdirSync(nm, { recursive: true });
  symlinkSync(join(REPO, 'node_modules', 'tsx'), join(nm, 'tsx'), 'dir');
  if (mode === 'dist') {
    if (!existsSync(join(REPO, 'dist', 'transform', 'register.js'))) {
      throw new Error('dist/ is missing or was built before the transform existed: run `npm run build` first (CI does)');
    }
    symlinkSync(REPO, join(nm, 'fluxion'), 'dir');
  } else {
    const pkg = join(nm, 'fluxion');
    mkdirSync(pkg);
    symlinkSync(join(REPO, 'src'), join(pkg, 'src'), 'dir');
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({
      name: 'fluxion', type: 'module',
      exports: {
        '.': './src/index.ts',
        './register': './src/transform/register.ts',
        './plugin': './src/transform/plugin.ts',
        './runtime': './src/transform/runtime.ts',
      },
    }));
  }
  return dir;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Node's options to run under the hook in `mode`. */
export function hookArgs(mode: Mode = 'source'): string[] {
  return mode === 'source' ? ['--import', 'tsx', '--import', 'fluxion/register'] : ['--import', 'fluxion/register'];
}

/**
 * The environment for child processes: plain text. `FORCE_COLOR` is removed rather than set
 * to 0: uvu sets it to 1 for its own output, and Node warns (and lets it win over `NO_COLOR`)
 * whenever both are set.
 */
export function plainEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  if (!('FORCE_COLOR' in env)) delete out.FORCE_COLOR;
  return out;
}

/** Run `node ...args` in `cwd`. */
export function node(args: string[], cwd: string, env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    env: plainEnv(env),
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run `file` of the project under the hook; fail with its output unless it exits with 0. */
export function runOk(dir: string, file: string, opts: { mode?: Mode; args?: string[]; env?: Record<string, string> } = {}): string {
  const r = node([...(opts.args ?? hookArgs(opts.mode)), file], dir, opts.env);
  if (r.status !== 0) throw new Error(`${file} exited with ${r.status}\n--- stderr:\n${r.stderr}\n--- stdout:\n${r.stdout}`);
  return r.stdout;
}

/** The values `programs/grad.ts` prints, against calculus done by hand. */
export function checkGrad(out: string): void {
  const g = JSON.parse(out) as Record<string, unknown>;
  // d/dx (3x² + 2x + 1) = 6x + 2; second derivative 6; relu' = 1 / 0; (sin·exp)' = (cos + sin)·exp.
  assert.equal(g.df, [8]);
  assert.equal(g.d2f, [6]);
  assert.equal(g.relu, [[1], [0]]);
  assert.ok(Math.abs((g.h as number[])[0] - (Math.cos(0.5) + Math.sin(0.5)) * Math.exp(0.5)) < 1e-14);
  // ∇_w (w · v) = v, through a loop over elements (the traced body of a three-body function).
  assert.equal(g.dotArray, [[1, 2, 3]]);
  assert.equal(g.dotTyped, [[4, 5]]);
  assert.is(g.dotPlain, 1 * 3 + 2 * 4);
}
