/**
 * Traced + − × ÷ on numbers: the operations scalar code is made of, recorded without the
 * generic dispatch when the case is the common one (plain-number values on one live tape);
 * anything else (nested levels, stale values) goes the generic way. Depends only on the
 * tape, so the ops can import it.
 */
import { adHooks } from './hooks.js';
import { type Tape, TrackedNumber } from './tape.js';

type Num = number | TrackedNumber;
type Fn = (a: Num, b: Num) => Num;

/** A traced number on a live tape whose value is a plain number. */
const simple = (x: TrackedNumber): boolean => x.tape.open && x.tape.gen === x.gen && typeof x.value === 'number';

/** The tape of the common case — each operand a plain number or a simple traced number on that one tape — else undefined. */
function commonTape(a: Num, b: Num): Tape | undefined {
  if (typeof a === 'number') return typeof b !== 'number' && simple(b) ? b.tape : undefined;
  if (!simple(a)) return undefined;
  return typeof b === 'number' || (simple(b) && b.tape === a.tape) ? a.tape : undefined;
}

const valueOf = (x: Num): number => (typeof x === 'number' ? x : (x.value as number));
const idOf = (x: Num): number => (typeof x === 'number' ? -1 : x.id);

export function tracedAdd(a: Num, b: Num, fn: Fn): Num {
  const t = commonTape(a, b);
  if (t === undefined) return adHooks.binary!('add', fn, a, b);
  return new TrackedNumber(valueOf(a) + valueOf(b), t, t.scalar(idOf(a), idOf(b), 1, 1), t.gen);
}

export function tracedSub(a: Num, b: Num, fn: Fn): Num {
  const t = commonTape(a, b);
  if (t === undefined) return adHooks.binary!('sub', fn, a, b);
  return new TrackedNumber(valueOf(a) - valueOf(b), t, t.scalar(idOf(a), idOf(b), 1, -1), t.gen);
}

export function tracedMul(a: Num, b: Num, fn: Fn): Num {
  const t = commonTape(a, b);
  if (t === undefined) return adHooks.binary!('mul', fn, a, b);
  const av = valueOf(a), bv = valueOf(b);
  return new TrackedNumber(av * bv, t, t.scalar(idOf(a), idOf(b), bv, av), t.gen);
}

export function tracedDiv(a: Num, b: Num, fn: Fn): Num {
  const t = commonTape(a, b);
  if (t === undefined) return adHooks.binary!('div', fn, a, b);
  const bv = valueOf(b), y = valueOf(a) / bv;
  return new TrackedNumber(y, t, t.scalar(idOf(a), idOf(b), 1 / bv, -y / bv), t.gen);
}
