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

/** The resolved operands of the common case: plain-number values, node ids (−1: constant), and their tape. */
const R = { t: undefined as Tape | undefined, av: 0, bv: 0, ia: -1, ib: -1 };

/**
 * Is this the common case — each operand a plain number or a traced number with a plain-number
 * value, on one live tape? If so, fill R.
 */
function common(a: Num, b: Num): boolean {
  let t: Tape;
  if (typeof a === 'number') {
    t = (b as TrackedNumber).tape;
    if (!(t.open && t.gen === (b as TrackedNumber).gen)) return false;
    const v = (b as TrackedNumber).value;
    if (typeof v !== 'number') return false;
    R.av = a; R.ia = -1; R.bv = v; R.ib = (b as TrackedNumber).id;
  } else {
    t = a.tape;
    const v = a.value;
    if (!(t.open && t.gen === a.gen) || typeof v !== 'number') return false;
    R.av = v; R.ia = a.id;
    if (typeof b === 'number') { R.bv = b; R.ib = -1; }
    else {
      const w = b.value;
      if (b.tape !== t || b.gen !== a.gen || typeof w !== 'number') return false;
      R.bv = w; R.ib = b.id;
    }
  }
  R.t = t;
  return true;
}

export function tracedAdd(a: Num, b: Num, fn: Fn): Num {
  if (!common(a, b)) return adHooks.binary!('add', fn, a, b);
  const t = R.t!;
  return new TrackedNumber(R.av + R.bv, t, t.scalarNumbers(R.ia, R.ib, 1, 1), t.gen);
}

export function tracedSub(a: Num, b: Num, fn: Fn): Num {
  if (!common(a, b)) return adHooks.binary!('sub', fn, a, b);
  const t = R.t!;
  return new TrackedNumber(R.av - R.bv, t, t.scalarNumbers(R.ia, R.ib, 1, -1), t.gen);
}

export function tracedMul(a: Num, b: Num, fn: Fn): Num {
  if (!common(a, b)) return adHooks.binary!('mul', fn, a, b);
  const t = R.t!, av = R.av, bv = R.bv;
  return new TrackedNumber(av * bv, t, t.scalarNumbers(R.ia, R.ib, bv, av), t.gen);
}

export function tracedDiv(a: Num, b: Num, fn: Fn): Num {
  if (!common(a, b)) return adHooks.binary!('div', fn, a, b);
  const t = R.t!, bv = R.bv, y = R.av / bv;
  return new TrackedNumber(y, t, t.scalarNumbers(R.ia, R.ib, 1 / bv, -y / bv), t.gen);
}
