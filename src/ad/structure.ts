/**
 * Walking the values a function is differentiated with respect to: replacing their numeric
 * leaves by traced leaves, and building gradients shaped like them.
 *
 * number → number; nested number arrays → arrays of the same nesting; Float32Array /
 * Float64Array → the same typed array type; Tensor → Tensor of the same shape and dtype;
 * plain objects and class instances → plain objects with the same keys (null for fields
 * that carry no gradient: strings, booleans, functions, fields named in {@link nonTrainable}).
 */
import { tensor } from '../tensor/convert.js';
import { zeros } from '../tensor/create.js';
import { sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type Tape, TrackedNumber, trackNumber } from './tape.js';
import { TrackedTensor, resolveTensor } from './tracked.js';

/**
 * Names fields that are configuration, not parameters (a stride, a flag): put an array of
 * field names under this key on an object or as a static on its class, and the walk leaves
 * those fields alone (their gradient is `null`).
 * ```ts
 * class Conv { static [nonTrainable] = ['stride']; constructor(public w: Tensor, public stride: number) {} }
 * ```
 */
export const nonTrainable: unique symbol = Symbol.for('fluxion.nonTrainable');

/**
 * Marks structures whose copies are made by a method instead of `Object.create`: a callable
 * layer is a function carrying fields, and its copy (a traced model, a converted model) must
 * be callable too. The method returns an empty structure of the same kind; the walk copies
 * the fields. Structures with this method are also *layers* for the walk: only their tensor
 * fields (at any depth) are parameters; numbers, number arrays and typed arrays in them are
 * configuration, left alone.
 */
export const emptyCopy: unique symbol = Symbol.for('fluxion.emptyCopy');

/** Is `x` a structure with {@link emptyCopy} (a layer)? */
export function isLayerLike(x: unknown): x is object & { [emptyCopy](): Record<string, unknown> } {
  return (typeof x === 'function' || (typeof x === 'object' && x !== null)) && typeof (x as { [emptyCopy]?: unknown })[emptyCopy] === 'function';
}

/** An empty structure of the same kind as `x` (same prototype; callable for a layer). */
export function emptyLike(x: object): Record<string, unknown> {
  return isLayerLike(x) ? x[emptyCopy]() : Object.create(Object.getPrototypeOf(x));
}

/** A Float32Array or Float64Array: the typed arrays treated as differentiable vectors. */
export const isFloatArray = (x: unknown): x is Float32Array | Float64Array =>
  x instanceof Float32Array || x instanceof Float64Array;

function isPlainData(x: object): boolean {
  return !(x instanceof Map || x instanceof Set || x instanceof WeakMap || x instanceof WeakSet || x instanceof Promise);
}

/** Set (to true) on a structure by `freeze`: all its fields are left out of differentiation and training. */
export const frozen: unique symbol = Symbol.for('fluxion.frozen');

const NO_FIELDS: ReadonlySet<string> = new Set();

/** Field names of `x` excluded from differentiation (listed under {@link nonTrainable} on it or its class). */
export function constantFields(x: object): ReadonlySet<string> {
  if ((x as { [frozen]?: boolean })[frozen] === true) return new Set(Object.keys(x));
  const own = (x as { [nonTrainable]?: readonly string[] })[nonTrainable];
  const cls = (x.constructor as { [nonTrainable]?: readonly string[] } | undefined)?.[nonTrainable];
  if (own === undefined && cls === undefined) return NO_FIELDS; // the common case, without a Set per object
  return new Set([...(own ?? []), ...(cls ?? [])]);
}

/**
 * State of one {@link trackArgument} walk. The path to the current value is kept as a stack
 * of steps and spelled out only for an error message (building it per field was per-call cost).
 */
interface TrackWalk {
  readonly tape: Tape;
  readonly op: string;
  readonly root: string;
  readonly steps: (string | number)[];
  /** Objects on the path from the root (a repeat is a cycle). */
  readonly active: Set<object>;
  /** Each original object's traced copy, so shared parts stay shared. */
  readonly memo: Map<object, unknown>;
}

function pathOf(w: TrackWalk): string {
  let at = w.root;
  for (const s of w.steps) at += typeof s === 'number' ? `[${s}]` : `.${s}`;
  return at;
}

/**
 * `x` with every differentiable leaf replaced by a traced leaf on `tape`. Originals that
 * could be mutated (tensors, arrays, typed arrays, objects) are added to `tape.guarded`.
 */
export function trackArgument(x: unknown, tape: Tape, op: string, path = 'argument'): unknown {
  if (typeof x === 'number') return trackNumber(x, tape, tape.leaf()); // the common scalar case, without the walk
  const w: TrackWalk = { tape, op, root: path, steps: [], active: new Set(), memo: new Map() };
  return trackValue(w, x, false);
}

function trackValue(w: TrackWalk, v: unknown, inLayer: boolean): unknown {
  const tape = w.tape;
  if (inLayer && (typeof v === 'number' || isFloatArray(v))) return v; // configuration of a layer
  if (typeof v === 'number' || v instanceof TrackedNumber) return trackNumber(v, tape, tape.leaf());
  if (v instanceof Tensor) {
    const done = w.memo.get(v);
    if (done !== undefined) return done;
    tape.guarded.add(v);
    const t = new TrackedTensor(resolveTensor(v), tape, tape.leaf());
    w.memo.set(v, t);
    return t;
  }
  if (isFloatArray(v)) {
    // inside f a typed array is an array of traced numbers, so `w[i]`, `.length` and loops
    // work as on the original; its gradient comes back as the same typed array type
    const done = w.memo.get(v);
    if (done !== undefined) return done;
    tape.guarded.add(v);
    const t = Array.from(v, (e) => trackNumber(e, tape, tape.leaf()));
    w.memo.set(v, t);
    return t;
  }
  const layer = isLayerLike(v);
  if ((typeof v !== 'object' && !layer) || v === null || ArrayBuffer.isView(v)) return v;
  if (!isPlainData(v)) {
    throw new TypeError(`${w.op}: ${pathOf(w)} is a ${v.constructor.name}, which cannot be differentiated; pass its contents as an array or object`);
  }
  if (w.active.has(v)) throw new TypeError(`${w.op}: ${pathOf(w)} refers back to an object that contains it (a circular reference); differentiate with respect to an acyclic part of it`);
  const done = w.memo.get(v);
  if (done !== undefined) return done;
  w.active.add(v);
  tape.guarded.add(v);
  let out: unknown;
  const steps = w.steps;
  if (Array.isArray(v)) {
    const arr = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      steps.push(i);
      arr[i] = trackValue(w, v[i], inLayer);
      steps.pop();
    }
    out = arr;
  } else {
    const skip = constantFields(v);
    const copy = emptyLike(v);
    for (const k of Object.keys(v)) {
      const f = (v as Record<string, unknown>)[k];
      if (skip.has(k)) copy[k] = f;
      else {
        steps.push(k);
        copy[k] = trackValue(w, f, inLayer || layer);
        steps.pop();
      }
    }
    out = copy;
  }
  w.active.delete(v);
  w.memo.set(v, out);
  return out;
}

/** Cotangent lookup: node id → cotangent (undefined: none flowed). */
export type Adjoints = ArrayLike<unknown>;

/**
 * The gradient with respect to an original argument `orig`, given its traced copy and the
 * cotangents of the tape's nodes. Leaves no cotangent reached get zeros.
 */
export function gradientOf(orig: unknown, traced: unknown, adj: Adjoints, tape: Tape): unknown {
  if (typeof orig === 'number' && traced instanceof TrackedNumber) return adj[traced.id] ?? 0;
  return gradientWalk(orig, traced, adj, tape);
}

function gradientWalk(o: unknown, t: unknown, adj: Adjoints, tape: Tape): unknown {
  if (t instanceof TrackedNumber && t.tape === tape) return adj[t.id] ?? 0;
  if (t instanceof TrackedTensor && t.tape === tape) {
    const a = adj[t.id];
    // numeric sweeps leave 0 for unreached nodes: an unused tensor still gets a zero tensor
    return a instanceof Tensor ? a : zeros(t.shape, { dtype: t.dtype });
  }
  if (t === o) return null; // left alone by the walk: configuration, a non-trainable field
  if (isFloatArray(o)) {
    const gs = (t as TrackedNumber[]).map((e) => adj[e.id] ?? 0);
    // cotangents traced by an enclosing gradient cannot live in a typed array: keep them in an array
    if (gs.some((g) => typeof g !== 'number')) return gs;
    return new (o.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(gs as number[]);
  }
  if ((typeof o !== 'object' && !isLayerLike(o)) || o === null || ArrayBuffer.isView(o)) return null;
  if (Array.isArray(o)) {
    const ts = t as unknown[];
    const out = new Array<unknown>(o.length);
    for (let i = 0; i < o.length; i++) out[i] = gradientWalk(o[i], ts[i], adj, tape);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) out[k] = gradientWalk((o as Record<string, unknown>)[k], (t as Record<string, unknown>)[k], adj, tape);
  return out;
}

/** `y` with this tape's tracing removed (values one level down), for handing results back. */
export function untrack(y: unknown, tape: Tape): unknown {
  if (y instanceof TrackedNumber) return y.tape === tape ? y.value : y;
  if (y instanceof TrackedTensor) return y.tape === tape ? y.primal : y;
  if (Array.isArray(y)) return y.map((e) => untrack(e, tape));
  if (typeof y === 'object' && y !== null && Object.getPrototypeOf(y) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(y)) out[k] = untrack((y as Record<string, unknown>)[k], tape);
    return out;
  }
  return y;
}

/**
 * Pair an output structure with a cotangent of the same structure: the (node, cotangent)
 * seeds for the sweep. Leaves not traced on this tape take no seed.
 */
export function seedsOf(y: unknown, dy: unknown, tape: Tape, op: string): [number, unknown][] {
  if (y instanceof TrackedNumber && (typeof dy === 'number' || dy instanceof TrackedNumber)) return y.tape === tape ? [[y.id, dy]] : [];
  if (y instanceof TrackedTensor && dy instanceof Tensor) {
    // a tensor output seeded by a tensor: the common case of `gradient`, without the walk
    return y.tape === tape ? [[y.id, asTensorLike(dy, y, op, 'output')]] : [];
  }
  const seeds: [number, unknown][] = [];
  seedWalk(seeds, y, dy, 'output', tape, op);
  return seeds;
}

function seedWalk(seeds: [number, unknown][], v: unknown, d: unknown, at: string, tape: Tape, op: string): void {
  if (d === null || d === undefined) return;
  if (v instanceof TrackedNumber) {
    if (v.tape === tape) seeds.push([v.id, typeof d === 'number' || d instanceof TrackedNumber ? d : asScalar(d, op, at)]);
    return;
  }
  if (v instanceof TrackedTensor) {
    if (v.tape === tape) seeds.push([v.id, asTensorLike(d, v, op, at)]);
    return;
  }
  if (Array.isArray(v)) {
    if (!Array.isArray(d) || d.length !== v.length) throw new TypeError(`${op}: the cotangent at ${at} must be an array of length ${v.length}, like the output`);
    for (let i = 0; i < v.length; i++) seedWalk(seeds, v[i], d[i], `${at}[${i}]`, tape, op);
    return;
  }
  if (typeof v === 'object' && v !== null && !(v instanceof Tensor)) {
    for (const k of Object.keys(v)) seedWalk(seeds, (v as Record<string, unknown>)[k], (d as Record<string, unknown>)[k], `${at}.${k}`, tape, op);
  }
}

function asScalar(d: unknown, op: string, at: string): unknown {
  if (d instanceof Tensor && d.size === 1) return d.item();
  throw new TypeError(`${op}: the cotangent at ${at} must be a number, like the output`);
}

function asTensorLike(d: unknown, v: Tensor, op: string, at: string): Tensor {
  const t = d instanceof Tensor ? d : typeof d === 'number' || d instanceof TrackedNumber
    ? zeros(v.shape, { dtype: v.dtype }).add(d as number)
    : tensor(d as number[], { dtype: v.dtype });
  if (t.size !== v.size || !sameShape(t.shape, v.shape)) {
    throw new TypeError(`${op}: the cotangent at ${at} has shape [${t.shape.join(',')}], the output has shape [${v.shape.join(',')}]`);
  }
  return t;
}
