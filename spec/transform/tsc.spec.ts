/**
 * `fluxion-tsc` (src/transform/tsc.cts, shipped as the package's `bin`): a scratch project
 * holding the README's operator examples type-checks clean with it, though plain `tsc`
 * refuses it; genuine type errors still fail it, with their messages; and the diagnostic
 * filter it shares with `fluxion/ts-plugin` never hides a report on a line whose expressions
 * have no Tensor, typed-array or number-array operand (a fast-check property over generated
 * programs, filtered against unfiltered diagnostics from the compiler API).
 *
 * The scratch projects use the built package (`dist/`, as `npm test` builds it first).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { REPO, node, program, project } from './helpers.js';

const require = createRequire(import.meta.url);
const { filterDiagnostics } = require('../../src/transform/ts-filter.cts') as typeof import('../../src/transform/ts-filter.cjs');

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'],
    strict: true, noEmit: true, skipLibCheck: true, types: [],
  },
  files: ['main.ts'],
});

const FLUXION_TSC = join(REPO, 'dist', 'transform', 'tsc.cjs');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

function scratch(main: string): string {
  return project({ 'main.ts': main, 'tsconfig.json': TSCONFIG }, { mode: 'dist' });
}

test("the README's operator examples: plain tsc refuses them, fluxion-tsc -p passes them clean", () => {
  const dir = scratch(program('operators-readme.ts'));
  const plain = node([TSC, '-p', 'tsconfig.json'], dir);
  assert.is.not(plain.status, 0, 'plain tsc should refuse tensor arithmetic');
  for (const code of ['TS2322', 'TS2362', 'TS2363', 'TS2365', 'TS2588']) assert.match(plain.stdout, code);
  const r = node([FLUXION_TSC, '-p', 'tsconfig.json'], dir);
  assert.is(r.stdout + r.stderr, '');
  assert.is(r.status, 0);
  // Also found from the current directory without -p, and with -p pointing at the directory.
  assert.is(node([FLUXION_TSC], dir).status, 0);
  assert.is(node([FLUXION_TSC, '-p', '.'], dir).status, 0);
});

test('genuine type errors still fail: a string passed to matmul, a misspelt method, string arithmetic', () => {
  const source = program('operators-readme.ts') + [
    "export const bad1 = matmul('abc', W);",
    'export const bad2 = W.sumn();',
    "export const bad3 = 'a' - 1;",
    'const n = 1;',
    'n += 1;',
  ].join('\n') + '\n';
  const lines = source.split('\n');
  const lineOf = (text: string): number => lines.findIndex((l) => l.includes(text)) + 1;
  const dir = scratch(source);
  const r = node([FLUXION_TSC, '-p', 'tsconfig.json'], dir);
  assert.is(r.status, 2, r.stdout);
  const reported = r.stdout.split('\n').filter((l) => /^main\.ts\(\d+,\d+\): error TS\d+/.test(l));
  const at = (line: number, code: string): boolean => reported.some((l) => l.startsWith(`main.ts(${line},`) && l.includes(`error ${code}:`));
  assert.ok(at(lineOf("matmul('abc'"), 'TS2345'), r.stdout);
  assert.match(r.stdout, "Argument of type 'string' is not assignable to parameter of type 'TensorLike'");
  assert.ok(at(lineOf('W.sumn()'), 'TS2551'), r.stdout);
  assert.match(r.stdout, "Property 'sumn' does not exist on type 'Tensor'");
  assert.ok(at(lineOf("'a' - 1"), 'TS2362'), r.stdout);
  assert.ok(at(lineOf('n += 1'), 'TS2588'), r.stdout);
  assert.is(reported.length, 4, r.stdout);
});

test('emits like tsc when noEmit is off, and honours noEmitOnError on the filtered reports', () => {
  const config = (extra: object): string => JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], strict: true, skipLibCheck: true, types: [], outDir: 'out', ...extra },
    files: ['main.ts'],
  });
  const dir = project({ 'main.ts': program('operators-readme.ts'), 'tsconfig.json': config({ noEmitOnError: true }) }, { mode: 'dist' });
  const r = node([FLUXION_TSC, '-p', 'tsconfig.json'], dir);
  assert.is(r.status, 0, r.stdout);
  // The emitted JavaScript runs under the hook (the values are checked by basics.spec.ts).
  const out = node(['--import', 'fluxion/register', '-e', "import('./out/main.js').then((m) => console.log(JSON.stringify(m.df)))"], dir);
  assert.is(out.stdout.trim(), '[8]', out.stderr);
  writeFileSync(join(dir, 'main.ts'), "export const bad: number = 'x';\n");
  const bad = node([FLUXION_TSC, '-p', 'tsconfig.json'], dir);
  assert.is(bad.status, 1, bad.stdout);
  assert.match(bad.stdout, 'TS2322');
});

test('command-line errors and a missing project are reported with status 1', () => {
  const dir = scratch('export {};\n');
  const r = node([FLUXION_TSC, '--noSuchOption'], dir);
  assert.is(r.status, 1);
  assert.match(r.stdout, 'noSuchOption');
  const m = node([FLUXION_TSC, '-p', 'missing.json'], dir);
  assert.is(m.status, 1);
  assert.match(m.stdout, 'cannot find a tsconfig.json at missing.json');
  assert.match(node([FLUXION_TSC, '--version'], dir).stdout, `TypeScript ${ts.version}`);
});

// ------------------------------------------------------------------ the filter, as a property

/** Declarations the generated lines use: operands without and with numeric objects. */
const PRELUDE = `declare class Tensor { readonly shape: number[]; sum(): Tensor }
declare let s: string; declare let bo: boolean; declare let n: number; declare const c: number;
declare let o: { a: number }; declare let u: undefined; declare let ss: string[]; declare let d: Date;
declare let sn: string | number; declare let big: bigint; declare let nul: null; declare let sym: symbol;
declare const cs: string; declare const co: { a: number };
declare let W: Tensor; declare const K: Tensor; declare let f64: Float64Array; declare let xs: number[];
declare let tn: Tensor & number; declare const ks: Tensor[];
`;
const PLAIN = ['s', 'bo', 'n', 'c', 'o', 'u', 'ss', 'd', 'sn', 'big', 'nul', 'sym', 'cs', 'co', "'x'", '1', 'true', '(s + 1)', '(n * 2)', 'o.a', '[s]'];
const NUMERIC = ['W', 'K', 'f64', 'xs', 'tn', '[1, 2]', 'ks[0]', '(W * 2)'];
const VARS_PLAIN = ['s', 'bo', 'n', 'c', 'o', 'cs', 'co', 'sn', 'o.a'];
const VARS_NUMERIC = ['W', 'K', 'f64', 'xs', 'tn'];
const BIN = ['+', '-', '*', '/', '%', '**', '<', '>=', '&', '|', '<<', '==='];
const COMPOUND = ['+=', '-=', '*=', '/=', '**=', '|=', '='];
const TARGET_TYPES = ['Tensor', 'string', 'number', 'Tensor | undefined', 'boolean'];

/** One statement (one line) from operands; `i` names the declared things uniquely. */
const arbLine = (operand: fc.Arbitrary<string>, variable: fc.Arbitrary<string>) => fc.oneof(
  fc.tuple(operand, fc.constantFrom(...BIN), operand).map(([a, op, b]) => (i: number) => `export const e${i} = ${a} ${op} ${b};`),
  fc.tuple(variable, fc.constantFrom(...COMPOUND), operand).map(([a, op, b]) => () => `${a} ${op} ${b};`),
  fc.tuple(fc.constantFrom(...TARGET_TYPES), operand, fc.constantFrom('-', '*', '+'), operand).map(([t, a, op, b]) => (i: number) => `export const v${i}: ${t} = ${a} ${op} ${b};`),
  fc.tuple(fc.constantFrom(...TARGET_TYPES), operand, operand).map(([t, a, b]) => (i: number) => `export function r${i}(): ${t} { return ${a} - ${b}; }`),
  fc.tuple(fc.constantFrom('-', '+', '~', '!'), operand).map(([op, a]) => (i: number) => `export const p${i} = ${op}${a};`),
  fc.tuple(variable, fc.constantFrom('++', '--')).map(([a, op]) => () => `${a}${op};`),
  fc.tuple(fc.constantFrom(...TARGET_TYPES), operand).map(([t, a]) => (i: number) => `export const q${i} = (): ${t} => -${a};`),
);

/** A line with no numeric-object operand, or one that mixes numeric and plain operands. */
const arbPlainLine = arbLine(fc.constantFrom(...PLAIN), fc.constantFrom(...VARS_PLAIN)).map((f) => ({ f, plain: true }));
const arbNumericLine = arbLine(fc.constantFrom(...PLAIN, ...NUMERIC), fc.constantFrom(...VARS_PLAIN, ...VARS_NUMERIC)).map((f) => ({ f, plain: false }));

const FILE = join(REPO, 'spec', 'transform', '__generated_filter_case.ts');
const OPTIONS: ts.CompilerOptions = { strict: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts'], noEmit: true, types: [], skipLibCheck: true };
let previous: ts.Program | undefined;

/** Semantic diagnostics of `source`, before and after the filter (the lib files reused between runs). */
function check(source: string): { before: readonly ts.Diagnostic[]; after: readonly ts.Diagnostic[] } {
  const host = ts.createCompilerHost(OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError) => (name === FILE ? ts.createSourceFile(name, source, lang) : previous?.getSourceFile(name) ?? getSourceFile(name, lang, onError));
  host.fileExists = (f) => f === FILE || ts.sys.fileExists(f);
  const p = ts.createProgram({ rootNames: [FILE], options: OPTIONS, host, oldProgram: previous });
  previous = p;
  const before = p.getSemanticDiagnostics(p.getSourceFile(FILE));
  return { before, after: filterDiagnostics(ts, p, before) };
}

const lineOfDiag = (d: ts.Diagnostic): number => d.file!.getLineAndCharacterOfPosition(d.start!).line;
const key = (d: ts.Diagnostic): string => `${d.start}:${d.code}`;

test('property: a diagnostic on a line with no Tensor/array operand is never hidden; tensor lines lose only operator reports', () => {
  const offset = PRELUDE.split('\n').length - 1;
  let hiddenSomewhere = 0;
  fc.assert(fc.property(fc.array(fc.oneof(arbPlainLine, arbNumericLine), { minLength: 1, maxLength: 25 }), (lines) => {
    const source = PRELUDE + lines.map((l, i) => l.f(i)).join('\n') + '\n';
    const { before, after } = check(source);
    const kept = new Set(after.map(key));
    for (const d of before) {
      const line = lineOfDiag(d) - offset;
      const hidden = !kept.has(key(d));
      if (!hidden) continue;
      hiddenSomewhere++;
      assert.ok(line >= 0 && !lines[line].plain, `hidden on a line without numeric operands: ${source.split('\n')[lineOfDiag(d)]} (TS${d.code})`);
      assert.ok([2322, 2356, 2362, 2363, 2365, 2588].includes(d.code), `hid TS${d.code}`);
    }
    assert.ok(after.every((d) => before.includes(d)));
  }), { numRuns: 40 });
  assert.ok(hiddenSomewhere > 0, 'the generated programs never exercised the filter');
});

test('the filter on exact cases: what is hidden and what is kept', () => {
  const lines = [
    'W -= 0.1 * W;', 'K -= 0.1 * K;', 'tn -= 0.1 * tn;', 'export const a1: Tensor = W - 1;', 'export const a2: string = W - 1;',
    "export const a3: Tensor = s - 1;", 'export function a4(): Tensor { return W * 2; }', 'export function a5(): number { return s * 2; }',
    'c += 1;', "n -= 'a' as unknown as number;", 'export const a6 = (): Tensor => -W;', 'export const a7 = (): Tensor => -s;',
    'export const a8: Tensor = (n * 2);', 'cs -= 1;', 'W = (W - 1) * 2;', 'W = n * 2;', 'W++;', 'K--;', 'cs++;',
  ];
  const { before, after } = check(PRELUDE + lines.join('\n') + '\n');
  const offset = PRELUDE.split('\n').length - 1;
  const summary = (ds: readonly ts.Diagnostic[]): string[] => ds.map((d) => `${lines[lineOfDiag(d) - offset]} ${d.code}`).sort();
  const removed = summary(before.filter((d) => !after.includes(d)));
  assert.equal(removed, [
    'K -= 0.1 * K; 2363', 'K -= 0.1 * K; 2588', 'W++; 2356', 'K--; 2588',
    'W -= 0.1 * W; 2362', 'W -= 0.1 * W; 2363',
    'W = (W - 1) * 2; 2322', 'W = (W - 1) * 2; 2362',
    'export const a1: Tensor = W - 1; 2322', 'export const a1: Tensor = W - 1; 2362',
    'export const a2: string = W - 1; 2362',
    'export const a6 = (): Tensor => -W; 2322',
    'export function a4(): Tensor { return W * 2; } 2322', 'export function a4(): Tensor { return W * 2; } 2362',
    'tn -= 0.1 * tn; 2322',
  ].sort());
  assert.equal(summary(after), [
    'cs -= 1; 2588', 'c += 1; 2588',
    'export const a2: string = W - 1; 2322',
    'export const a3: Tensor = s - 1; 2322', 'export const a3: Tensor = s - 1; 2362',
    'export const a5(): number { return s * 2; } 2362'.replace('const a5()', 'function a5()'),
    'export const a7 = (): Tensor => -s; 2322',
    'export const a8: Tensor = (n * 2); 2322', 'cs++; 2588',
    'W = n * 2; 2322',
  ].sort());
});

test.run();
