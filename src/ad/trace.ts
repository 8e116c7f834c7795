/**
 * Recording: tensor primitives with traced inputs (through the `bind` hook), scalar
 * operations on traced numbers, and the crossings between traced numbers and tensors.
 * Loading this module installs the hooks.
 */
import { bind } from '../backend/index.js';
import { add, mul } from '../ops/elementwise.js';
import { reshape } from '../ops/movement.js';
import type { BinaryOp, CompareOp, Primitive, PrimitiveParams, UnaryOp } from '../ops/primitive.js';
import { type Rule, binaryPartials, rules, unaryDerivative } from '../rules/index.js';
import { allocate, type DType } from '../tensor/dtype.js';
import { fromData, toTensor } from '../tensor/convert.js';
import { Tensor } from '../tensor/tensor.js';
import { adHooks } from './hooks.js';
import {
  type GeneralNode, type Tape, TrackedNumber, liveNumber, setCotangentMath, trackNumber,
} from './tape.js';
import { TrackedTensor, resolveTensor, setElementMath } from './tracked.js';

type Num = number | TrackedNumber;

/**
 * A recorded primitive: its reverse rule applied to what the forward pass saw. One object per
 * traced operation (its reverse rule is a method, not a closure).
 */
class PrimitiveNode<P extends Primitive> implements GeneralNode {
  constructor(
    readonly inputs: readonly number[],
    readonly prim: P,
    readonly primals: Tensor[],
    readonly output: Tensor,
    readonly params: PrimitiveParams[P],
    readonly need: readonly boolean[],
  ) {}

  back(dy: unknown): readonly (Tensor | null)[] {
    return (rules[this.prim] as Rule<P>)(dy as Tensor, this.primals, this.output, this.params, this.need);
  }
}

/** `need` arrays shared by every node of up to three inputs, indexed by the bit mask of traced inputs. */
const NEED_BY_MASK: readonly (readonly boolean[])[][] = [1, 2, 3].map((n) =>
  Array.from({ length: 1 << n }, (_, mask) => Object.freeze(Array.from({ length: n }, (_, i) => (mask & (1 << i)) !== 0))));

/** A primitive applied to inputs some of which are traced: record it on the innermost live tape. */
function tracedBind<P extends Primitive>(prim: P, inputs: Tensor[], params: PrimitiveParams[P]): Tensor {
  const n = inputs.length;
  // resolved inputs, then (in place) the values one level below the recording tape
  const primals = new Array<Tensor>(n);
  let top: Tape | undefined;
  for (let i = 0; i < n; i++) {
    const x = resolveTensor(inputs[i]);
    primals[i] = x;
    if (x instanceof TrackedTensor && (top === undefined || x.tape.level > top.level)) top = x.tape;
  }
  if (top === undefined) return bind(prim, primals, params);
  const ids = new Array<number>(n);
  let mask = 0;
  for (let i = 0; i < n; i++) {
    const x = primals[i];
    if (x instanceof TrackedTensor && x.tape === top) {
      primals[i] = x.primal;
      ids[i] = x.id;
      mask |= 1 << i;
    } else ids[i] = -1;
  }
  const y = bind(prim, primals, params);
  const need = n <= 3 ? NEED_BY_MASK[n - 1][mask] : ids.map((i) => i >= 0);
  const id = top.node(new PrimitiveNode(ids, prim, primals, y, params, need));
  return new TrackedTensor(y, top, id);
}

/** A unary operation on a traced number: the derivative becomes the node's partial. */
export function traceUnary(op: UnaryOp, fn: (x: Num) => Num, x: TrackedNumber): Num {
  const lx = x.tape.open && x.tape.gen === x.gen ? x : liveNumber(x);
  if (typeof lx === 'number') return fn(lx);
  const v = lx.value;
  const y = fn(v);
  const t = lx.tape;
  if (typeof v === 'number') return new TrackedNumber(y, t, t.scalarNumbers(lx.id, -1, numberDerivative(op, v, y as number), 0), t.gen);
  return new TrackedNumber(y, t, t.scalar(lx.id, -1, unaryDerivative[op](v as unknown as number, y as number), 0), t.gen);
}

/** The unary derivatives on plain numbers, without going back through the ops (same values as the rules). */
function numberDerivative(op: UnaryOp, x: number, y: number): number {
  switch (op) {
    case 'neg': return -1;
    case 'exp': return y;
    case 'log': return 1 / x;
    case 'sqrt': return 0.5 / y;
    case 'sin': return Math.cos(x);
    case 'cos': return -Math.sin(x);
    case 'tanh': return 1 - y * y;
    case 'sigmoid': return y * (1 - y);
    case 'relu': return x > 0 ? 1 : 0;
    default: return unaryDerivative[op](x, y) as number;
  }
}

type Partials = readonly [(a: number, b: number, y: number) => unknown, (a: number, b: number, y: number) => unknown];
/** Partials by op, undefined for comparisons (they carry no derivative). */
const PARTIALS = binaryPartials as unknown as Record<string, Partials | undefined>;

/** A binary operation where at least one operand is a traced number. Hot in scalar code: keep it lean. */
export function traceBinary(op: BinaryOp | CompareOp, fn: (a: Num, b: Num) => Num, a: Num, b: Num): Num {
  let ta: Tape | undefined, tb: Tape | undefined;
  if (typeof a !== 'number') {
    if (!(a.tape.open && a.tape.gen === a.gen)) a = liveNumber(a);
    if (typeof a !== 'number') ta = a.tape;
  }
  if (typeof b !== 'number') {
    if (!(b.tape.open && b.tape.gen === b.gen)) b = liveNumber(b);
    if (typeof b !== 'number') tb = b.tape;
  }
  if (ta === undefined && tb === undefined) return fn(a, b);
  const top = (tb === undefined || (ta !== undefined && ta.level >= tb.level) ? ta : tb)!;
  const onA = ta === top, onB = tb === top;
  const av = onA ? (a as TrackedNumber).value : a;
  const bv = onB ? (b as TrackedNumber).value : b;
  const y = fn(av, bv);
  const ia = onA ? (a as TrackedNumber).id : -1, ib = onB ? (b as TrackedNumber).id : -1;
  const parts = PARTIALS[op];
  if (parts === undefined) return y;
  let da: unknown, db: unknown;
  if (op === 'pow' && typeof av === 'number' && typeof bv === 'number') {
    // `x ** c` is common in scalar code: the rule's partials on plain numbers, without its op calls
    // (∂/∂a exactly 0 for b = 0; ∂/∂b = y·log a, taken as 0 at a = 0)
    da = bv === 0 ? 0 : bv * av ** (bv - 1);
    db = ib < 0 ? 0 : (y as number) * Math.log(av === 0 ? 1 : av);
  } else {
    // (+ − × ÷ of the common case never get here: src/ad/scalar.ts records them)
    const A = av as number, B = bv as number, Y = y as number;
    da = ia >= 0 ? parts[0](A, B, Y) : 0;
    db = ib >= 0 ? parts[1](A, B, Y) : 0;
  }
  return new TrackedNumber(y, top, top.scalar(ia, ib, da, db), top.gen);
}

/** A traced number as a 0-d traced tensor. */
function numberToTensor(x: TrackedNumber, like: DType | undefined): Tensor {
  const lx = liveNumber(x);
  if (typeof lx === 'number') return toTensor(lx, 'tensor', like);
  const below = toTensor(lx.value as number, 'tensor', like);
  const id = lx.tape.general([lx.id], (dy) => [(dy as Tensor).item()]);
  return new TrackedTensor(below, lx.tape, id);
}

/** Does this (nested) array hold a traced number? */
function holdsTraced(x: unknown): boolean {
  if (x instanceof TrackedNumber) return true;
  if (!Array.isArray(x)) return false;
  for (const e of x) if (holdsTraced(e)) return true;
  return false;
}

/** Nested arrays holding traced numbers, packed into one traced tensor. */
function packTraced(x: unknown[], like: DType | undefined): Tensor {
  const flat: Num[] = [];
  const shape: number[] = [];
  let level: unknown = x;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const walk = (v: unknown, d: number): void => {
    if (d === shape.length) {
      if (typeof v !== 'number' && !(v instanceof TrackedNumber)) {
        throw new TypeError(`tensor: element is ${v === null ? 'null' : typeof v}, expected a number`);
      }
      flat.push(typeof v === 'number' ? v : liveNumber(v));
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new TypeError(`tensor: ragged array: expected an array of length ${shape[d]} at depth ${d}`);
    }
    for (const e of v) walk(e, d + 1);
  };
  walk(x, 0);
  let top: Tape | undefined;
  for (const v of flat) if (typeof v !== 'number' && (top === undefined || v.tape.level > top.level)) top = v.tape;
  if (top === undefined) return toTensor(flat as number[], 'tensor', like).reshape(shape);
  const ids = flat.map((v) => (typeof v !== 'number' && v.tape === top ? v.id : -1));
  const below = toTensor(flat.map((v) => (typeof v !== 'number' && v.tape === top ? v.value : v)) as number[], 'tensor', like).reshape(shape);
  const id = top.general(ids, (dy) => {
    const g = dy as Tensor;
    if (g instanceof TrackedTensor) return g.reshape([-1]).toArray() as number[];
    const d = g.data;
    return ids.map((i, k) => (i >= 0 ? d[k] : null));
  });
  return new TrackedTensor(below, top, id);
}

/** The cotangent of a tensor from the cotangents of some of its elements (see `elements`). */
function packCotangent(t: Tensor, indices: readonly number[], cts: unknown[]): Tensor {
  if (cts.every((c) => c === undefined || typeof c === 'number')) {
    const out = allocate(t.dtype, t.size);
    indices.forEach((i, k) => { if (cts[k] !== undefined) out[i] += cts[k] as number; });
    return fromData(out, t.shape);
  }
  const flat: Num[] = new Array(t.size).fill(0);
  indices.forEach((i, k) => { if (cts[k] !== undefined) flat[i] = add(flat[i] as number, cts[k] as number); });
  return reshape(packTraced(flat, t.dtype), t.shape);
}

/** The traced tensor for an array registered as an implicit param (see `params`). */
const arrayParamSlots = new WeakMap<object, { tape: Tape; gen: number; leaf?: TrackedTensor; value: () => Tensor }[]>();

/** @internal Register an array or typed array as an implicit param of `tape` until it closes. */
export function registerArrayParam(x: object, tape: Tape, value: () => Tensor): () => TrackedTensor | undefined {
  const regs = arrayParamSlots.get(x) ?? [];
  const reg: { tape: Tape; gen: number; leaf?: TrackedTensor; value: () => Tensor } = { tape, gen: tape.gen, value };
  regs.push(reg);
  arrayParamSlots.set(x, regs);
  adHooks.arrayParams++;
  tape.onClose.push(() => {
    regs.splice(regs.indexOf(reg), 1);
    if (regs.length === 0) arrayParamSlots.delete(x);
    adHooks.arrayParams--;
  });
  return () => reg.leaf;
}

/** True while an array param's current value is being converted (the lookup must not recurse). */
let converting = false;

function arrayParam(x: object): Tensor | undefined {
  const regs = arrayParamSlots.get(x);
  if (regs === undefined || converting) return undefined;
  let base: Tensor | undefined;
  for (const reg of regs) {
    if (!reg.tape.open || reg.tape.gen !== reg.gen) continue;
    if (reg.leaf === undefined) {
      if (base === undefined) {
        converting = true;
        try { base = reg.value(); } finally { converting = false; }
      }
      reg.leaf = new TrackedTensor(base, reg.tape, reg.tape.leaf());
    }
    base = reg.leaf;
  }
  return base;
}

/** Cotangent arithmetic for the sweep: the library's own (differentiable) operations. */
const cotangentAdd = (a: unknown, b: unknown): unknown => add(a as number, b as number);
setCotangentMath({ add: cotangentAdd, mul: (a, b) => mul(a as number, b as number) });
setElementMath(cotangentAdd, packCotangent);

adHooks.bind = tracedBind;
adHooks.unary = traceUnary;
adHooks.binary = traceBinary;
adHooks.toTensor = (x, like) => {
  if (x instanceof TrackedNumber) return numberToTensor(x, like);
  if (Array.isArray(x) && holdsTraced(x)) return packTraced(x, like);
  return undefined;
};
adHooks.arrayParam = (x) => arrayParam(x);
