/**
 * `fluxion/ts-plugin` (src/transform/ts-plugin.cts) in a real TypeScript language service: the
 * reports that tensor arithmetic is not number arithmetic disappear; every other report stays.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import ts from 'typescript';
import { REPO } from './helpers.js';

const require = createRequire(import.meta.url);
const init = require('../../src/transform/ts-plugin.cts') as (m: { typescript: typeof ts }) => { create(info: { languageService: ts.LanguageService }): ts.LanguageService };

const APP = join(REPO, 'spec', 'transform', '__virtual_app.ts');
const SOURCE = `
import { rand } from './../../src/index.js';
const W = rand([2, 2]), g = rand([2, 2]);
export const a = W - 0.1 * g;
W -= 0.1 * g;
const xs = [1, 2];
export const ys = xs * 2;
export const f64 = new Float64Array(2) + W;
const s = 'a';
export const bad = s - 1;
const n = 1;
n += 1;
`;

function service(): ts.LanguageService {
  const options: ts.CompilerOptions = { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, noEmit: true, types: ['node'] };
  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => options,
    getScriptFileNames: () => [APP],
    getScriptVersion: () => '1',
    getScriptSnapshot: (f) => (f === APP ? ts.ScriptSnapshot.fromString(SOURCE) : ts.sys.fileExists(f) ? ts.ScriptSnapshot.fromString(ts.sys.readFile(f)!) : undefined),
    getCurrentDirectory: () => REPO,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (f) => f === APP || ts.sys.fileExists(f),
    readFile: (f) => (f === APP ? SOURCE : ts.sys.readFile(f)),
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

/** `line: code` of each semantic diagnostic. */
const report = (ds: readonly ts.Diagnostic[]): string[] =>
  ds.map((d) => `${SOURCE.slice(0, d.start).split('\n').length - 1}: ${d.code}`).sort();

test('tensor, typed-array and number-array arithmetic is no longer reported; string arithmetic and const numbers still are', () => {
  const ls = service();
  const before = report(ls.getSemanticDiagnostics(APP));
  // Without the plugin TypeScript reports all of them.
  for (const line of ['3: 2362', '3: 2363', '4: 2588', '6: 2362', '7: 2365', '9: 2362', '11: 2588']) assert.ok(before.includes(line), `${line} in ${before}`);
  const after = report(init({ typescript: ts }).create({ languageService: ls }).getSemanticDiagnostics(APP));
  assert.equal(after, ['11: 2588', '9: 2362']);
});

test.run();
