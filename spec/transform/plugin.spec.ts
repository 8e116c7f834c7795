/**
 * `fluxion/plugin`: the same programs bundled by esbuild, Rollup and Vite, then executed.
 * The bundles contain one copy of fluxion (the user's import and the rewritten code's
 * runtime share it), and stack traces map to the TypeScript through the bundle's map.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { rollup } from 'rollup';
import { build as viteBuild } from 'vite';
import fluxion from '../../src/transform/plugin.js';
import { REPO, checkGrad, node, program, project } from './helpers.js';

const deps = Object.keys((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);

/** Link fluxion's dependencies into a project (the bundles leave them external or read them at build time). */
function linkDeps(dir: string): void {
  for (const d of deps) {
    const to = join(dir, 'node_modules', d);
    if (existsSync(to)) continue;
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(join(REPO, 'node_modules', d), to, 'dir');
  }
}

/** A project with the forms program, a gradient program, and fluxion's dependencies linked for the bundles' externals. */
function app(): string {
  const dir = project({
    'forms.ts': program('forms.ts'),
    'shapes.ts': program('shapes.ts'),
    'grad.ts': program('grad.ts'),
  });
  linkDeps(dir);
  return dir;
}

const formsCount = (): number => program('forms.ts').match(/\bsame\(/g)!.length + 1;

function runBundle(dir: string, file: string): string {
  const r = node(['--enable-source-maps', file], dir);
  if (r.status !== 0) throw new Error(`${file} exited with ${r.status}\n${r.stderr}\n${r.stdout}`);
  return r.stdout.trim();
}

test('esbuild: bundle (browser platform, everything inlined) runs every form and gradients', async () => {
  const dir = app();
  for (const name of ['forms', 'grad']) {
    await esbuild.build({
      entryPoints: [join(dir, `${name}.ts`)], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
      outfile: join(dir, `out/${name}.esbuild.mjs`), sourcemap: true, logLevel: 'error', plugins: [fluxion.esbuild()],
    });
  }
  assert.is(runBundle(dir, 'out/forms.esbuild.mjs'), `ok ${formsCount()}`);
  checkGrad(runBundle(dir, 'out/grad.esbuild.mjs'));
});

test('Rollup: bundle (fluxion inlined, its dependencies external) runs every form and gradients', async () => {
  const dir = app();
  for (const name of ['forms', 'grad']) {
    const bundle = await rollup({
      input: join(dir, `${name}.ts`),
      external: (id) => deps.includes(id) || id.startsWith('node:'),
      onwarn: () => {},
      plugins: [
        // Rollup alone resolves no package names: point `fluxion` at the linked package (users add @rollup/plugin-node-resolve).
        { name: 'resolve-fluxion', resolveId: (id) => (id === 'fluxion' ? realpathSync(join(dir, 'node_modules/fluxion/src/index.ts')) : null) },
        fluxion.rollup(),
      ],
    });
    await bundle.write({ file: join(dir, `out/${name}.rollup.mjs`), format: 'esm', sourcemap: true });
    await bundle.close();
  }
  assert.is(runBundle(dir, 'out/forms.rollup.mjs'), `ok ${formsCount()}`);
  checkGrad(runBundle(dir, 'out/grad.rollup.mjs'));
});

test('Vite: SSR build (fluxion bundled) runs every form and gradients', async () => {
  const dir = app();
  for (const name of ['forms', 'grad']) {
    await viteBuild({
      root: dir, configFile: false, logLevel: 'silent',
      plugins: [fluxion.vite()],
      ssr: { noExternal: ['fluxion'] },
      build: { ssr: join(dir, `${name}.ts`), outDir: join(dir, `out/vite-${name}`), emptyOutDir: true, sourcemap: true, target: 'es2022', minify: false },
    });
  }
  assert.is(runBundle(dir, 'out/vite-forms/forms.js'), `ok ${formsCount()}`);
  checkGrad(runBundle(dir, 'out/vite-grad/grad.js'));
});

test('bundles map stack traces back to the TypeScript source', async () => {
  const src = program('stack.ts');
  const dir = project({ 'stack.ts': src });
  linkDeps(dir);
  await esbuild.build({
    entryPoints: [join(dir, 'stack.ts')], bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'out/stack.mjs'),
    sourcemap: true, logLevel: 'error', plugins: [fluxion.esbuild()],
  });
  const frames = JSON.parse(runBundle(dir, 'out/stack.mjs')) as string[];
  const at = (needle: string): string => {
    const before = src.slice(0, src.indexOf(needle)).split('\n');
    return `stack.ts:${before.length}:${before[before.length - 1].length + 1}`;
  };
  const tooBig = at("new Error('too big')"), negative = at("new RangeError('negative')");
  assert.equal(frames, [tooBig, tooBig, negative, negative]);
});

test.run();
