/**
 * The rewrite in-process: random arithmetic over numbers gives identical results rewritten
 * and not (fast-check), in every kind of function body; structural cases (no place for
 * temporaries, name clashes, hashbangs, directives); the file filter.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'acorn';
import * as runtime from '../../src/transform/runtime.js';
import { rewrite } from '../../src/transform/rewrite.js';
import { fileFilter } from '../../src/transform/files.js';
import { tensor, Tensor, add, mul, sub, sin } from '../../src/index.js';
import { REPO } from './helpers.js';

/** Rewrite `code` (a script that ends by assigning `result`) and run it with the runtime. */
function runRewritten(code: string): unknown {
  const out = rewrite(code, { filename: 'case.js', sourceType: 'script', runtime: 'fluxion-runtime' });
  // The header reads a global first; make sure it is the in-process runtime.
  const g = globalThis as Record<symbol, unknown>;
  const key = Symbol.for('fluxion.transform.runtime');
  const saved = g[key];
  g[key] = runtime;
  try {
    return new Function('require', `${out.code}\n;return result;`)(() => runtime);
  } finally {
    g[key] = saved;
  }
}
const runPlain = (code: string): unknown => new Function(`${code}\n;return result;`)();

/** Random arithmetic expressions over `a`, `b`, `c` (numbers). */
const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', 'c', '0', '1', '2', '0.5', '(-3)', 'NaN', 'Infinity'),
    fc.tuple(tie('e'), fc.constantFrom('+', '-', '*', '/', '%', '**', '<', '<=', '>', '>=', '===', '!==', '==', '|', '&', '^', '<<', '>>'), tie('e')).map(([l, op, r]) => `(${l} ${op} ${r})`),
    tie('e').map((x) => `(- ${x})`),
    tie('e').map((x) => `(+ ${x})`),
    tie('e').map((x) => `(!${x})`),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([t, x, y]) => `(${t} ? ${x} : ${y})`),
    fc.tuple(tie('e'), fc.constantFrom('&&', '||', '??'), tie('e')).map(([l, op, r]) => `(${l} ${op} ${r})`),
    fc.tuple(fc.constantFrom('sin', 'exp', 'abs', 'sqrt', 'floor', 'tanh', 'log1p', 'cbrt'), tie('e')).map(([f, x]) => `Math.${f}(${x})`),
    fc.tuple(fc.constantFrom('max', 'min', 'atan2', 'pow', 'hypot'), tie('e'), tie('e')).map(([f, x, y]) => `Math.${f}(${x}, ${y})`),
    fc.tuple(fc.constantFrom('+=', '-=', '*=', '**=', '/='), tie('e')).map(([op, x]) => `(a ${op} ${x})`),
    fc.constantFrom('(b++)', '(--c)', '(typeof a)'),
  ),
})).e;

const values = fc.oneof(fc.double({ noNaN: false }), fc.integer({ min: -5, max: 5 }));

/** The same expression in four places: top level, a leaf function (dual body), a function with a closure, a method. */
const wrappers: [string, (e: string) => string][] = [
  ['top level', (e) => `let a = @A, b = @B, c = @C; var result = ${e};`],
  ['leaf function (dual body)', (e) => `function f(a, b, c) { return ${e}; } var result = f(@A, @B, @C);`],
  ['function defining a closure', (e) => `function f(a, b, c) { const g = () => a; return ${e}; } var result = f(@A, @B, @C);`],
  ['arrow with expression body', (e) => `const f = (a, b, c) => ${e}; var result = f(@A, @B, @C);`],
  ['class method with default parameter', (e) => `class K { m(a, b = 0, c = b) { return ${e}; } } var result = new K().m(@A, @B, @C);`],
  ['typed-array parameter (three bodies), with a Float64Array and a plain array', (e) =>
    `function f(a, b, c, v) { let t = 0; for (let i = 0; i < v.length; i++) t += v[i] * a; return (${e}) + t; } var result = [f(@A, @B, @C, new Float64Array([1, 2])), f(@A, @B, @C, [1, 2])];`],
];

/** Equal as results of the same expression: NaN equals NaN, -0 differs from 0, arrays elementwise. */
function sameResult(want: unknown, got: unknown): boolean {
  if (Array.isArray(want) && Array.isArray(got)) return want.length === got.length && want.every((w, i) => sameResult(w, got[i]));
  return Object.is(want, got);
}

for (const [where, wrap] of wrappers) {
  test(`numbers: rewritten and plain code agree (${where})`, () => {
    fc.assert(fc.property(expr, values, values, values, (e, a, b, c) => {
      const code = wrap(e).replaceAll('@A', `(${a})`).replaceAll('@B', `(${b})`).replaceAll('@C', `(${c})`);
      const want = runPlain(code);
      const got = runRewritten(code);
      return sameResult(want, got);
    }), { numRuns: 300 });
  });
}

test('side effects run once and in order (temporaries), getters and setters once', () => {
  const code = `
    const log = [];
    const o = { _v: 2, get v() { log.push('get'); return this._v; }, set v(x) { log.push('set'); this._v = x; } };
    const k = () => { log.push('key'); return 'v'; };
    const val = (x) => { log.push('val' + x); return x; };
    o[k()] += val(3);
    const r1 = val(1) * val(2) + val(3) ** val(2);
    let x = 1; const r2 = x + (x = 5) + x;
    var result = [log.join(','), o._v, r1, r2];`;
  assert.equal(runRewritten(code), runPlain(code));
});

test('the fast body of a leaf function is the original code; the traced body calls the runtime', () => {
  const src = 'function k(n, a, b, c) { let s = 0; for (let i = 0; i < n; i++) s += a * b + c; return s; }';
  const out = rewrite(src, { filename: 'k.js', sourceType: 'module', runtime: 'rt' }).code;
  assert.ok(out.includes(' return; } let s = 0; for (let i = 0; (i < n); i++) s += ((a * b) + c); return s; }'), out);
  assert.ok(out.includes("$fx.update('add', s, $fx.add($fx.mul(a, b), c))"), out);
  // No check inside the plain body, so no need to look at the tape: only the parameters are checked.
  assert.ok(out.includes("if (!(typeof n !== 'object' && typeof a !== 'object' && typeof b !== 'object' && typeof c !== 'object'))"), out);
  // A plain body that checks operands where they are used runs only while no gradient is in flight.
  const dot = rewrite('function dot(x, y) { let s = 0; for (let i = 0; i < x.length; i++) s += x[i] * y[i]; return s; }', { filename: 'd.js', sourceType: 'module', runtime: 'rt' }).code;
  assert.ok(dot.includes('if ($fx.state.depth !== 0) {'), dot);
  // Parameters read element by element: typed arrays of numbers need no check at all.
  assert.ok(dot.includes('if (!($fx.numbers(x) && $fx.numbers(y))) {'), dot);
  assert.ok(dot.endsWith(' return; } let s = 0; for (let i = 0; (i < x.length); i++) s += (x[i] * y[i]); return s; }'), dot);
});

test('operators on tensors and arrays, in-process', () => {
  const t = tensor([1, 2, 3]);
  (globalThis as Record<string, unknown>).__t = t;
  const got = runRewritten('const t = globalThis.__t; var result = [Math.sin(t) * 2 - t, [1, 2, 3] + t, t > 1, -t + 0];') as Tensor[];
  const want = [sub(mul(sin(t), 2), t), add([1, 2, 3], t), tensor([0, 1, 1]), mul(t, -1)];
  got.forEach((g, i) => assert.equal(Array.from(g.data), Array.from(want[i].data)));
  delete (globalThis as Record<string, unknown>).__t;
});

test('output is valid JavaScript for awkward places: defaults, fields, static blocks, object bodies, sequences', () => {
  const cases = [
    'const f = (x, y = x[0] * x[1]) => y; var result = f([2, 3]);',
    'const f = ({ a = [1][0] + 1 } = {}) => a; var result = f();',
    'class A { v = [2][0] ** 3; static s; static { A.s = [3][0] * 2; } } var result = [new A().v, A.s];',
    'const f = (x) => ({ y: [x][0] * 2 }); var result = f(4).y;',
    'var result = ((1, [2][0]) * 3);',
    'label: for (const v of [1, 2]) { if (v * 2 > 2) break label; } var result = 1;',
    "const f = function () { 'use strict'; return [1][0] + this; }; var result = f.call(2);",
  ];
  for (const c of cases) {
    const out = rewrite(c, { filename: 'c.js', sourceType: 'script', runtime: 'rt' }).code;
    parse(out, { ecmaVersion: 'latest', sourceType: 'script', allowReturnOutsideFunction: true });
    assert.equal(runRewritten(c), runPlain(c), c);
  }
});

test('a module that already uses the name $fx gets another name; hashbang stays first', () => {
  const out = rewrite('#!/usr/bin/env node\nconst $fx = 1; export const f = (x) => x * $fx;', { filename: 'a.js', sourceType: 'module', runtime: 'rt' }).code;
  assert.ok(out.startsWith('#!/usr/bin/env node\nimport * as $fx1 from "rt";'), out);
});

test('code without semicolons keeps its meaning (no rewritten statement continues the previous line)', () => {
  const code = [
    'let s = 0',
    's += [2][0] * 3',
    'const o = { n: 1 }',
    'o.n += s',
    'function f(a, b) {',
    '  let t = a',
    '  t *= b',
    '  t++',
    '  return t',
    '}',
    'var result = [s, o.n, f(2, 3)]',
  ].join('\n');
  assert.equal(runRewritten(code), runPlain(code));
});

test('a real program rewritten whole (acorn, 6000 lines of bit flags and char codes) behaves the same', async () => {
  const src = readFileSync(join(REPO, 'node_modules', 'acorn', 'dist', 'acorn.mjs'), 'utf8');
  const out = rewrite(src, { filename: 'acorn.mjs', sourceType: 'module', runtime: pathToFileURL(join(REPO, 'src', 'transform', 'runtime.ts')).href });
  assert.ok(out.changed);
  const dir = mkdtempSync(join(tmpdir(), 'fluxion-acorn-'));
  writeFileSync(join(dir, 'acorn.mjs'), out.code);
  const rewritten = (await import(pathToFileURL(join(dir, 'acorn.mjs')).href)) as typeof import('acorn');
  rmSync(dir, { recursive: true, force: true });
  for (const text of [src, 'let x = 0x1f | 2 ** 3 >>> 1; label: for (;;) { break label }', '`a${1 + 2}b` + /re/g.source']) {
    const opts = { ecmaVersion: 'latest' as const, sourceType: 'module' as const, locations: true };
    assert.equal(JSON.stringify(rewritten.parse(text, opts)), JSON.stringify(parse(text, opts)));
  }
});

test('code without operators is returned unchanged', () => {
  const src = 'export function id(x) { return x; }\n';
  const r = rewrite(src, { filename: 'a.js', sourceType: 'module', runtime: 'rt' });
  assert.is(r.changed, false);
  assert.is(r.code, src);
});

test('file filter: the library itself and node_modules are never rewritten unless opted in', () => {
  const root = '/project';
  const all = fileFilter({ root, include: ['**'] });
  assert.is(all(join(REPO, 'src', 'ops', 'elementwise.ts')), false);
  assert.is(all(join(REPO, 'dist', 'index.js')), false);
  assert.is(all('/project/src/app.ts'), true);
  assert.is(all('/project/node_modules/pkg/index.js'), false);
  assert.is(all('/project/types.d.ts'), false);
  const opts = fileFilter({ root, include: ['src'], exclude: ['src/legacy/**'], packages: ['@me/models'] });
  assert.is(opts('/project/src/a.ts'), true);
  assert.is(opts('/project/src/legacy/b.ts'), false);
  assert.is(opts('/project/scripts/c.ts'), false);
  assert.is(opts('/project/node_modules/@me/models/index.js'), true);
  assert.is(opts('/project/node_modules/other/index.js'), false);
});

test.run();
