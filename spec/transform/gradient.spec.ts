/**
 * Gradients through rewritten operators: random expressions against finite differences
 * (fast-check, first and second order), and the safety net and the decisions on truthiness,
 * `typeof`, `JSON.stringify`, `includes`, template strings and `console.log` of traced values,
 * run as a real program under the hook.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as runtime from '../../src/transform/runtime.js';
import { rewrite } from '../../src/transform/rewrite.js';
import { gradient } from '../../src/index.js';
import { program, project, runOk } from './helpers.js';

/** `f` defined by `body` (an expression in x), rewritten, or as written. */
function compile(body: string, rewritten: boolean): (x: number) => number {
  const code = `var result = (x) => ${body};`;
  if (!rewritten) return new Function(`${code}\nreturn result;`)() as (x: number) => number;
  const out = rewrite(code, { filename: 'f.js', sourceType: 'script', runtime: 'rt' });
  const g = globalThis as Record<symbol, unknown>;
  const key = Symbol.for('fluxion.transform.runtime');
  const saved = g[key];
  g[key] = runtime;
  try {
    return new Function('require', `${out.code}\nreturn result;`)(() => runtime) as (x: number) => number;
  } finally {
    g[key] = saved;
  }
}

/** Smooth expressions in x (no poles, no kinks on the real line). */
const smooth: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('x', '0.5', '2', '(-1.5)'),
    fc.tuple(tie('e'), fc.constantFrom('+', '-', '*'), tie('e')).map(([l, op, r]) => `(${l} ${op} ${r})`),
    fc.tuple(tie('e'), tie('e')).map(([l, r]) => `(${l} / (2 + ${r} * ${r}))`),
    fc.tuple(tie('e'), fc.constantFrom('2', '3')).map(([l, k]) => `(${l} ** ${k})`),
    tie('e').map((a) => `(- ${a})`),
    fc.tuple(fc.constantFrom('sin', 'cos', 'tanh', 'atan'), tie('e')).map(([f, a]) => `Math.${f}(${a})`),
    tie('e').map((a) => `Math.exp(Math.sin(${a}))`),
    tie('e').map((a) => `Math.sqrt(1 + ${a} * ${a})`),
    tie('e').map((a) => `Math.log1p(${a} * ${a})`),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `Math.hypot(1, ${a}, ${b})`),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `(() => { let s = ${a}; s *= ${b}; s += x; return s; })()`),
  ),
})).e;

const point = fc.double({ min: -2, max: 2, noNaN: true });

test('gradients of rewritten expressions match central finite differences', () => {
  fc.assert(fc.property(smooth, point, (body, x0) => {
    const plain = compile(body, false), f = compile(body, true);
    const h = 1e-5;
    const fd = (plain(x0 + h) - plain(x0 - h)) / (2 * h);
    const [g] = gradient(f, x0) as number[];
    const scale = Math.max(1, Math.abs(fd), Math.abs(plain(x0)));
    if (!(Math.abs(g - fd) <= 1e-5 * scale)) throw new Error(`f = ${body} at ${x0}: gradient ${g}, finite difference ${fd}`);
    // The value itself is unchanged by the rewrite.
    return Object.is(f(x0), plain(x0)) || Math.abs(f(x0) - plain(x0)) <= 1e-15 * Math.abs(plain(x0));
  }), { numRuns: 150 });
});

test('second derivatives of rewritten expressions match finite differences of the first', () => {
  fc.assert(fc.property(smooth, point, (body, x0) => {
    const f = compile(body, true);
    const df = (x: number): number => (gradient(f, x) as number[])[0];
    const h = 1e-4;
    const fd = (df(x0 + h) - df(x0 - h)) / (2 * h);
    const [g2] = gradient(df, x0) as number[];
    const scale = Math.max(1, Math.abs(fd));
    if (!(Math.abs(g2 - fd) <= 1e-4 * scale)) throw new Error(`f = ${body} at ${x0}: second derivative ${g2}, finite difference ${fd}`);
    return true;
  }), { numRuns: 60 });
});

test('safety net and decisions on traced values, as a real program under the hook', () => {
  const dir = project({
    'safety.ts': program('safety.ts'),
    'untransformed.ts': program('untransformed.ts'),
    'node_modules/third-party/package.json': JSON.stringify({ name: 'third-party', type: 'module', exports: './index.js' }),
    'node_modules/third-party/index.js': 'export const thirdParty = (x) => Math.sqrt(x * x + 1);\n',
  }, { pkg: { fluxion: { exclude: ['untransformed.ts'] } } });
  const r = JSON.parse(runOk(dir, 'safety.ts')) as Record<string, any>;
  // Native operators outside the transform refuse traced numbers and say how to switch it on.
  for (const k of ['unaryPlus', 'increment', 'excludedModule', 'thirdParty']) {
    assert.match(r[k], /traced number/, k);
    assert.match(r[k], /fluxion\/register/, k);
  }
  // Inside rewritten code a traced number behaves as the number it stands for.
  assert.equal(r.seen, {
    ternary: 'falsy', or: 1, not: true, typeof: 'number', isFinite: true, isNaN: false, json: '{"x":0}',
    includes: true, indexOf: 1, template: 'x=0', concat: 'x=0', strictEq: true, looseEq: true, switched: 'zero',
    index: 'a', boolean: false, number: true, floor: 0, bitor: 1,
  });
  assert.match(r.consoleLog, /^2\b/);
  assert.match(r.ambiguous, /ambiguous/);
  assert.match(r.ambiguous, /where\(/);
  assert.is(r.oneElement, 'yes');
  assert.is(r.presence, 'has bias');
  assert.match(r.mutateParam, /in place/);
  assert.match(r.constTraced, /declare it with `let`/);
  assert.equal(r.letTraced, [3]);
  assert.is(r.afterTape, 4);
});

test.run();
