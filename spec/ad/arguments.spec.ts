/**
 * What `gradient`, `withGradient`, `pullback`, `jacobian` and `hessian` say about the arguments
 * they are given: no argument at all, and arguments that hold nothing to differentiate, are
 * refused at the call, naming the argument and what it is (not by an operation deep inside
 * `f`); values read as "undefined" or "the string 'abc'" in every message.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { gradient, hessian, jacobian, jvp, mul, pullback, sum, tensor, withGradient } from '../../src/index.js';

/** The message `f` throws (a TypeError), or a failure if it does not throw. */
function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.instance(e, TypeError);
    return (e as Error).message;
  }
  assert.unreachable('no error was thrown');
  return '';
}

const square = (x: any) => mul(x, x);

test('no argument: each function says that none was given (not that f must return a scalar)', () => {
  for (const [op, call] of [
    ['gradient', () => (gradient as any)(square)],
    ['withGradient', () => (withGradient as any)(square)],
    ['pullback', () => (pullback as any)(square)],
    ['jacobian', () => (jacobian as any)(square)],
    ['hessian', () => (hessian as any)(square)],
  ] as const) {
    const m = message(call);
    assert.match(m, new RegExp(`^${op}: no argument was given to differentiate with respect to`), m);
    assert.not.match(m, /scalar|undefined/, m);
  }
  assert.match(message(() => (gradient as any)(square)), 'params(W, b)');
});

/** Values with nothing to differentiate, and how the messages must name them. */
const NON_DIFFERENTIABLE: [unknown, string][] = [
  ['abc', "the string 'abc'"],
  ['', "the string ''"],
  ["it's", "the string 'it\\'s'"],
  [undefined, 'undefined'],
  [null, 'null'],
  [true, 'the boolean true'],
  [false, 'the boolean false'],
  [3n, 'the BigInt 3n'],
  [Symbol('s'), "the symbol 's'"],
  [function named() { return 1; }, 'the function named'],
];

test('a non-differentiable argument is rejected at gradient, naming it (not by the inner mul)', () => {
  for (const [v, shown] of NON_DIFFERENTIABLE) {
    const m = message(() => gradient(square, v));
    assert.is(m, `gradient: the argument is ${shown}, which cannot be differentiated; pass numbers, arrays, typed arrays, tensors, or objects (models) holding them`);
    assert.not.match(m, /^mul/);
  }
  // Among several arguments, the position is named.
  assert.match(message(() => gradient((a: any, b: any) => mul(a, b), 2, 'abc')), /^gradient: argument 2 is the string 'abc', which cannot be differentiated/);
  assert.match(message(() => withGradient((a: any) => a, undefined)), /^withGradient: the argument is undefined, which/);
  assert.match(message(() => pullback((a: any) => a, true)), /^pullback: the argument is the boolean true, which/);
  assert.match(message(() => jacobian((a: any) => a, 'x')), /^jacobian: the argument is the string 'x', which/);
  assert.match(message(() => hessian((a: any) => sum(a), undefined)), /^hessian: the argument is undefined, which/);
  assert.match(message(() => (jvp as any)(square, ['abc'], [1])), /^jvp: the argument is the string 'abc', which/);
  assert.match(message(() => (jvp as any)(square, [], [])), /^jvp: no argument was given/);
});

test('property: any string argument is refused with the string quoted, in any position', () => {
  fc.assert(fc.property(fc.string({ maxLength: 30 }), fc.nat({ max: 3 }), (s, pos) => {
    const args: unknown[] = [1, 2, 3, 4].slice(0, pos + 1);
    args[pos] = s;
    const m = message(() => gradient((...xs: any[]) => xs.reduce((acc, x) => mul(acc, x), 1), ...args));
    const which = args.length === 1 ? 'the argument' : `argument ${pos + 1}`;
    assert.ok(m.startsWith(`gradient: ${which} is the string '`), m);
    if (!/['\\\n]/.test(s)) assert.ok(m.includes(`the string '${s}'`), m);
  }), { numRuns: 100 });
});

test('differentiable arguments still work, and messages about outputs read plainly', () => {
  assert.equal(gradient(square, 3), [6]);
  assert.equal(gradient((a: any, b: any) => mul(a, b), 2, 5), [5, 2]);
  assert.equal((gradient((x: any) => sum(mul(x, x)), tensor([1, 2]))[0] as any).toArray(), [2, 4]);
  assert.equal(gradient((m: { w: number; name: string }) => mul(m.w, m.w), { w: 3, name: 'layer' }), [{ w: 6, name: null }]);
  assert.is(message(() => gradient(() => undefined, 1)), 'gradient: the function must return a scalar (a number or a one-element tensor), got undefined; use pullback or jacobian for other outputs');
  assert.match(message(() => gradient(() => 'abc', 1)), "got the string 'abc';");
  assert.match(message(() => (gradient as any)('f', 1)), "gradient: expected a function to differentiate, got the string 'f'");
  // The operations' own messages: "got undefined", "got the string 'abc'".
  assert.is(message(() => mul(undefined as any, tensor([1]))), 'mul: expected a number, an array, a typed array or a Tensor, got undefined');
  assert.is(message(() => mul('abc' as any, tensor([1]))), "mul: expected a number, an array, a typed array or a Tensor, got the string 'abc'");
  assert.is(message(() => mul({} as any, tensor([1]))), 'mul: expected a number, an array, a typed array or a Tensor, got a plain object');
  assert.is(message(() => mul(new Map() as any, tensor([1]))), 'mul: expected a number, an array, a typed array or a Tensor, got a Map');
});

test.run();
