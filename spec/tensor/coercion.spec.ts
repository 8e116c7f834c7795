/**
 * A Tensor never becomes a number by plain JavaScript coercion: arithmetic, comparisons and
 * unary `+`/`-` on it throw the error that names `fluxion/register` and `fluxion/plugin`
 * (instead of a silent NaN, or an all-zero gradient when it happens inside `gradient`), while
 * text contexts (template strings, `String`, `console.log`, `JSON.stringify`) keep working.
 * In this process (no operator transform) and in a child process run without the hook, as a
 * user's script would be; under the hook the same programs compute the right values.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gradient, matmul, params, sum, tensor, withGradient } from '../../src/index.js';
import { hookArgs, node, program, project } from '../transform/helpers.js';

/** The message every coercion of a Tensor must carry. */
function assertRefusal(f: () => unknown, what: string): void {
  let message = '';
  try {
    f();
  } catch (e) {
    assert.instance(e, TypeError, what);
    message = (e as Error).message;
  }
  assert.ok(message !== '', `${what}: no error was thrown`);
  assert.match(message, /a Tensor \(shape \[[\d,]*\]\) reached plain JavaScript arithmetic/, what);
  assert.match(message, 'node --import fluxion/register', what);
  assert.match(message, 'fluxion/plugin', what);
}

test('arithmetic, comparisons and unary +/- on a Tensor throw the register/plugin error', () => {
  const t = tensor([1, 2]) as any;
  assertRefusal(() => t * 2, 't * 2');
  assertRefusal(() => 2 - t, '2 - t');
  assertRefusal(() => t + 1, 't + 1');
  assertRefusal(() => t + t, 't + t');
  assertRefusal(() => +t, '+t');
  assertRefusal(() => -t, '-t');
  assertRefusal(() => t < 2, 't < 2');
  assertRefusal(() => t >= 0, 't >= 0');
  assertRefusal(() => t == 1, 't == 1'); // eslint-disable-line eqeqeq
  assertRefusal(() => t ** 2, 't ** 2');
  assertRefusal(() => Math.exp(t), 'Math.exp(t)');
  assertRefusal(() => Number(t), 'Number(t)');
  assertRefusal(() => isNaN(t), 'isNaN(t)');
  assertRefusal(() => { let W = tensor([1, 2]) as any; W -= 0.1 * (tensor([1, 2]) as any); return W; }, 'W -= 0.1 * G');
  assertRefusal(() => { let W = tensor([1, 2]) as any; W++; return W; }, 'W++');
});

test('inside gradient the traced tensors refuse too: no NaN value, no all-zero gradient', () => {
  assertRefusal(() => withGradient((x: any) => sum(x * 2), tensor([1, 2])), 'withGradient(x => sum(x * 2))');
  const W = tensor([[1, 2], [3, 4]]), x = tensor([1, 2]);
  assertRefusal(() => gradient(() => sum((matmul(W, x) as any) - 1), params(W)), 'gradient(() => sum(matmul(W, x) - 1), params(W))');
  assertRefusal(() => gradient((v: any) => sum(v.mul(1) * 3), tensor([1])), 'a traced result times 3');
});

test('text contexts keep working: template strings, String, toString, JSON.stringify, identity comparisons', () => {
  const t = tensor([1, 2]);
  const shown = t.toString();
  assert.ok(shown.startsWith('2-element Tensor<float64>:'), shown);
  assert.is(`${t}`, shown);
  assert.is(String(t), shown);
  assert.is(`${tensor([[1, 2], [3, 4]]).T}`, tensor([[1, 2], [3, 4]]).T.toString());
  assert.type(JSON.stringify(t), 'string');
  assert.is([t].join(), shown); // Array.prototype.join converts with the string hint
  assert.ok(t === t && t != null && t !== tensor([1, 2]) as unknown); // eslint-disable-line eqeqeq
  // Inside gradient, printing a traced tensor stays possible.
  let seen = '';
  gradient((v: any) => { seen = `${v}`; return sum(v); }, tensor([5]));
  assert.ok(seen.includes('5.0'), seen);
});

/** The values the programs must give under the hook, computed here by hand. */
function expected(): Record<string, unknown> {
  const W = [[1, 2], [3, 4]], x = [1, 2];
  // d/dW sum(W·x − 1) = d/dW Σ_i Σ_j W_ij x_j = x_j in every row.
  const dW = W.map((row) => row.map((_, j) => x[j]));
  return {
    times2: [1, 2].map((v) => v * 2),
    update: [1, 2].map((w, i) => w - 0.1 * [1, 2][i]),
    withGradient: [[1, 2].reduce((s, v) => s + 2 * v, 0), [2, 2]],
    params: dW,
    unaryPlus: [3],
    unaryMinus: [-3],
    less: [1, 0],
    plusNumber: [2, 3],
  };
}

const TEXT = ['template', 'string', 'json', 'log'];

test('in a child process without the hook: every case throws the register/plugin error; text works', () => {
  const dir = project({ 'main.ts': program('coercion.ts') });
  const r = node(['--import', 'tsx', 'main.ts'], dir);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { value?: unknown; error?: string }>;
  for (const name of Object.keys(expected())) {
    const e = out[name].error ?? `no error (value ${JSON.stringify(out[name].value)})`;
    assert.match(e, /^TypeError: fluxion: a Tensor \(shape \[[\d,]*\]\) reached plain JavaScript arithmetic/, name);
    assert.match(e, 'node --import fluxion/register', name);
    assert.match(e, 'fluxion/plugin', name);
  }
  for (const name of TEXT) assert.is(out[name].error, undefined, name);
  assert.ok(String(out.template.value).startsWith('2-element Tensor<float64>:'));
  assert.is(out.string.value, out.template.value);
  assert.is(out.log.value, out.template.value);
  assert.is(out.json.value, 'string');
});

test('the same programs under the hook compute the right values', () => {
  const dir = project({ 'main.ts': program('coercion.ts') });
  const r = node([...hookArgs(), 'main.ts'], dir);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { value?: unknown; error?: string }>;
  const want = expected();
  for (const [name, v] of Object.entries(want)) {
    assert.is(out[name].error, undefined, name);
    const got = JSON.stringify(out[name].value), exp = JSON.stringify(v);
    // update: 2 − 0.1·2 in float64 is what the spec computes with the same operations
    assert.is(got, exp, name);
  }
  for (const name of TEXT) assert.is(out[name].error, undefined, name);
});

test.run();
