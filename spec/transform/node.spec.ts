/**
 * Real programs run in child processes under the import hook (`fluxion/register`): every
 * rewritten form, ESM and CommonJS, TypeScript and JavaScript, with tsx in either order,
 * under `node --test`, include/exclude/package options, and source-mapped stack traces.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, checkGrad, hookArgs, node, program, project, runOk } from './helpers.js';

const hasDist = existsSync(join(REPO, 'dist', 'transform', 'register.js'));

/** Line and column (1-based) of the `nth` occurrence of `needle` in `text`. */
function position(text: string, needle: string, nth = 0): string {
  let i = -1;
  for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
  assert.ok(i >= 0, `${needle} not found`);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

test('every form of the tutorial and of JavaScript runs rewritten (ESM, TypeScript, two modules)', () => {
  const forms = program('forms.ts');
  const dir = project({ 'forms.ts': forms, 'shapes.ts': program('shapes.ts') });
  const out = runOk(dir, 'forms.ts');
  // Every `same(...)` check passed, plus the switch case.
  const expected = forms.match(/\bsame\(/g)!.length + 1; // the calls, plus the switch case
  assert.is(out.trim(), `ok ${expected}`);
});

test('the tutorial\'s gradients, and gradients through loops over arrays, under the hook', () => {
  const dir = project({ 'grad.ts': program('grad.ts') });
  checkGrad(runOk(dir, 'grad.ts'));
});

test('plain JavaScript modules (.mjs and .js) are rewritten too', () => {
  const dir = project({
    'main.mjs': "import { tensor } from 'fluxion';\nimport { half } from './half.js';\nconst t = half(tensor([2, 4])) - 1;\nconsole.log(JSON.stringify([Array.from(t.data), half(3), 'x' + half(1)]));\n",
    'half.js': 'export const half = (x) => x / 2;\n',
  });
  assert.is(runOk(dir, 'main.mjs').trim(), JSON.stringify([[0, 1], 1.5, 'x0.5']));
});

test('CommonJS: .cts entry, .cjs helper, stack trace into the .cts source', () => {
  const main = program('cjs-main.cts');
  const dir = project({ 'main.cts': main, 'cjs-helper.cjs': program('cjs-helper.cjs') }, { type: 'commonjs' });
  const [json, frame] = runOk(dir, 'main.cts').trim().split('\n');
  assert.equal(JSON.parse(json), { v: [12, 24], n: 42.5, s: 'n=4', cjs: 'object' });
  assert.ok(frame.endsWith(`main.cts:${position(main, 'new Error')})`), frame);
});

test('CommonJS: a .ts file in a package without "type": "module", written with require', () => {
  const dir = project({
    'app.ts': "const { twice } = require('./h.js');\nconst n: number = twice(4) ** 2;\nimport('fluxion').then(({ tensor }) => console.log(JSON.stringify([n, Array.from((twice(tensor([1])) * 3).data)])));\n",
    'h.js': 'module.exports.twice = (x) => 2 * x;\n',
  }, { type: 'commonjs' });
  assert.is(runOk(dir, 'app.ts').trim(), JSON.stringify([64, [6]]));
});

test('stack traces point at the original TypeScript line and column, in both bodies of a rewritten function', () => {
  const src = program('stack.ts');
  const dir = project({ 'stack.ts': src });
  const frames = JSON.parse(runOk(dir, 'stack.ts')) as string[];
  const tooBig = position(src, "new Error('too big')");
  const negative = position(src, "new RangeError('negative')");
  assert.equal(frames, [`stack.ts:${tooBig}`, `stack.ts:${tooBig}`, `stack.ts:${negative}`, `stack.ts:${negative}`]);
});

test('works under node --test', () => {
  const dir = project({
    'ops.test.ts': [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "import { tensor } from 'fluxion';",
      "test('tensor arithmetic', () => { const t = tensor([1, 2]) * 3 + 1; assert.deepEqual(Array.from(t.data), [4, 7]); });",
      "test('numbers', () => { const f = (x: number) => x ** 2 - 1; assert.equal(f(3), 8); });",
      '',
    ].join('\n'),
  });
  const r = node([...hookArgs(), '--test', 'ops.test.ts'], dir);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /# pass 2/);
  assert.match(r.stdout, /# fail 0/);
});

test('include/exclude options and the opt-in for packages in node_modules', () => {
  const files = {
    'main.ts': [
      "import { tensor } from 'fluxion';",
      "import { double } from 'mathpkg';",
      "import { inc } from './legacy/inc.js';",
      'const t = tensor([1, 2]);',
      'const show = (v: unknown) => (typeof v === "object" && v !== null && "data" in v ? Array.from((v as any).data) : v);',
      'const attempt = (f: () => unknown) => { try { return show(f()); } catch (e) { return `error: ${(e as Error).message}`; } };',
      'console.log(JSON.stringify([attempt(() => double(t)), attempt(() => inc(t))]));',
      '',
    ].join('\n'),
    'legacy/inc.ts': 'export const inc = (x: any) => x + 1;\n',
    'node_modules/mathpkg/package.json': JSON.stringify({ name: 'mathpkg', type: 'module', exports: './index.js' }),
    'node_modules/mathpkg/index.js': 'export const double = (x) => x * 2;\n',
  };
  // By default: user files rewritten, node_modules not (native `*` on a Tensor throws the
  // register/plugin error rather than giving NaN).
  const refused = /^error: fluxion: a Tensor \(shape \[2\]\) reached plain JavaScript arithmetic.*fluxion\/register/;
  const a = project(files);
  const [d1, i1] = JSON.parse(runOk(a, 'main.ts'));
  assert.match(d1, refused);
  assert.equal(i1, [2, 3]);
  // Opting a package in, and excluding a folder.
  const b = project(files, { pkg: { fluxion: { packages: ['mathpkg'], exclude: ['legacy/**'] } } });
  const [d2, i2] = JSON.parse(runOk(b, 'main.ts'));
  assert.equal(d2, [2, 4]);
  assert.match(i2, refused); // native `+` on a tensor in the excluded folder: refused too
  // The same through the environment variable.
  const [d3] = JSON.parse(runOk(a, 'main.ts', { env: { FLUXION_TRANSFORM: JSON.stringify({ packages: ['mathpkg'] }) } }));
  assert.equal(d3, [2, 4]);
});

test('fluxion/register from the built package: plain node, and composed with tsx in either order', () => {
  assert.ok(hasDist, 'dist/ is missing: run `npm run build` first (CI does)');
  const src = program('forms.ts');
  const dir = project({ 'forms.ts': src, 'shapes.ts': program('shapes.ts') }, { mode: 'dist' });
  const expected = `ok ${src.match(/\bsame\(/g)!.length + 1}`;
  assert.is(runOk(dir, 'forms.ts', { mode: 'dist' }).trim(), expected);
  assert.is(runOk(dir, 'forms.ts', { args: ['--import', 'tsx', '--import', 'fluxion/register'] }).trim(), expected);
  assert.is(runOk(dir, 'forms.ts', { args: ['--import', 'fluxion/register', '--import', 'tsx'] }).trim(), expected);
});

test.run();
