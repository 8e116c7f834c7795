/**
 * The seeds' stateful style of recurrence: `stateful(layer)` keeps the hidden state between
 * calls (`m(x1); m(x2)` continues the sequence), `reset(model)` starts every stateful layer of
 * a model afresh, `unroll(model, n)` runs a model over `n` steps, `flip(layer)` runs a
 * sequence layer over reversed time and `Bidirectional` combines both directions.
 *
 * The rule for state (why both ways of taking gradients agree). The state is not a parameter:
 * it lives outside the model's fields (optimisers, `trainables`, `params` and `state()` do not
 * see it, unless `saveState` asks for it), in a store that a traced copy of the model shares
 * with the original. So inside `gradient((m) => …, model)` the copy's calls carry the state
 * from step to step (gradients flow through time) and also advance the original's state; with
 * implicit params (`gradient(() => …, params(model))`) the original runs and advances it
 * itself. Either way, when a gradient finishes, the state it left behind is untraced one level
 * (its values stay, their derivative history is dropped): the next gradient starts from it as
 * from a constant — truncated backpropagation at gradient boundaries, as in Flux.
 *
 * A user's layer in the seeds' style — a class whose `forward` reads and reassigns a field
 * (`this.hidden = tanh(…)`) — is handled the same way: `stateful` notices which fields a call
 * reassigns, writes them through to the original when a copy ran, untraces them when the
 * gradient ends, and `reset` puts back the values they had before the first call. List such
 * fields under `nonTrainable` (they are state, not parameters).
 */
import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../tensor/shape.js';
import { fromData, toTensor } from '../tensor/convert.js';
import { concat, slice, stack } from '../ops/movement.js';
import { copyOf } from './tree.js';
import { emptyCopy, isLayerLike, nonTrainable } from '../ad/structure.js';
import { type Tape, TrackedNumber, tracingDepth } from '../ad/tape.js';
import { TrackedTensor } from '../ad/tracked.js';
import { Layer, type LayerRun, describeValue, isLayer, labelOf, layer, layerLabel, setLayerCallHook } from './layer.js';
import { Batched, rawbatch } from './batch.js';
import { layerChildren, layerHead } from './show.js';
import { SequenceBase, type SequenceCallOptions, initialState, isCell, mapState } from './recurrent.js';

const storeKey: unique symbol = Symbol('fluxion.statefulStore');

/** A field a forward reassigned: where it is (from the wrapped layer) and what it held before. */
interface TrackedField {
  path: string[];
  initial: unknown;
}

/** Shared by a stateful layer and its traced copies. */
interface Store {
  owner: Stateful;
  value: unknown;
  fields: Map<string, TrackedField>;
  /** Tapes whose closing will untrace what this store holds. */
  hooked: Set<Tape>;
  /** Traced copies whose tracked fields were written while a gradient runs. */
  copies: Set<Stateful>;
}

/** Options of {@link stateful}. */
export interface StatefulOptions {
  /**
   * Keep the state (of a cell or sequence layer) in a field `state` listed under
   * `nonTrainable`, so `state()`/`loadState`/`saveModel` include it; default false.
   */
  saveState?: boolean;
  /** With `saveState`: the batch size to create the initial state for, so the field exists before the first call. */
  batch?: number;
}

/** Structures the walks descend into: layers, arrays, plain objects and class instances (not tensors). */
function isNode(x: unknown): x is Record<string, unknown> {
  if (x instanceof Tensor || ArrayBuffer.isView(x) || x instanceof TrackedNumber) return false;
  return (typeof x === 'object' && x !== null) || isLayerLike(x);
}

/** `x` with values traced on `tape` replaced by their value one level down. */
function untraceOn(x: unknown, tape: Tape): unknown {
  if (x instanceof TrackedTensor) return x.tape === tape ? x.primal : x;
  if (x instanceof TrackedNumber) return x.tape === tape ? x.value : x;
  if (Array.isArray(x)) return x.map((e) => untraceOn(e, tape));
  if (typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, untraceOn(v, tape)]));
  }
  return x;
}

/** The tapes (in flight) that trace something in `x`. */
function tapesIn(x: unknown, out: Set<Tape>): void {
  if (x instanceof TrackedTensor || x instanceof TrackedNumber) {
    for (let v: unknown = x; v instanceof TrackedTensor || v instanceof TrackedNumber; v = v instanceof TrackedTensor ? v.primal : v.value) {
      if (v.live) out.add(v.tape);
    }
  } else if (Array.isArray(x)) x.forEach((e) => tapesIn(e, out));
  else if (typeof x === 'object' && x !== null && !(x instanceof Tensor) && Object.getPrototypeOf(x) === Object.prototype) Object.values(x).forEach((e) => tapesIn(e, out));
}

function getPath(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const k of path) {
    if (!isNode(v)) return undefined;
    v = v[k];
  }
  return v;
}

function setPath(root: unknown, path: readonly string[], value: unknown): void {
  const parent = getPath(root, path.slice(0, -1));
  if (isNode(parent)) parent[path[path.length - 1]] = value;
}

/** Every field reachable from `root` (not inside tensors): [path, holder, key, value]. */
function fieldsOf(root: unknown): [string[], Record<string, unknown>, string, unknown][] {
  const out: [string[], Record<string, unknown>, string, unknown][] = [];
  const seen = new Set<object>();
  const walk = (x: unknown, path: string[]): void => {
    if (!isNode(x) || seen.has(x) || x instanceof StatefulLayer) return; // a nested stateful layer tracks itself
    seen.add(x);
    for (const k of Object.keys(x)) {
      const v = x[k];
      out.push([[...path, k], x, k, v]);
      walk(v, [...path, k]);
    }
  };
  walk(root, []);
  return out;
}

function batchOf(x: unknown): number | undefined {
  const t = x instanceof Tensor ? x : toTensor(x as number[], 'stateful');
  return t.ndim >= 2 ? t.shape[0] : undefined;
}

/**
 * A layer that keeps its hidden state between calls. Made by {@link stateful}; the wrapped
 * layer is `layer`. For a cell, a call `m(x)` runs `cell(x, state)` and keeps the new state;
 * for a sequence layer, `m(x, opts?)` runs the whole sequence from the kept state and keeps the
 * final one; for any other layer (the seeds' style, a `forward` that reassigns its own fields)
 * the layer keeps its state itself and `stateful` tracks the reassigned fields.
 */
export const Stateful = layer(class Stateful extends Layer<[any, SequenceCallOptions?], any> {
  /** The wrapped layer. */
  layer: any;
  /** Expose the state as the `state` field (see {@link StatefulOptions.saveState}). */
  saveState: boolean;
  /** The kept state when `saveState` is on (listed under `nonTrainable`); otherwise undefined. */
  state: unknown;
  declare [storeKey]: Store;

  static [nonTrainable]: readonly string[] = ['state'];

  constructor(inner: unknown, opts: StatefulOptions = {}) {
    super();
    if (typeof inner !== 'function') throw new TypeError(`stateful: expected a layer, got ${describeValue(inner)}`);
    if (inner instanceof StatefulLayer) throw new TypeError(`stateful: the layer is already stateful`);
    this.layer = inner;
    this.saveState = opts.saveState ?? false;
    if (opts.batch !== undefined && !opts.saveState) throw new TypeError('stateful: batch is only used with saveState: true');
    this.state = this.saveState && opts.batch !== undefined ? initialState(inner, opts.batch) : undefined;
    if (this.saveState && !isCell(inner) && !(inner instanceof SequenceBase)) {
      throw new TypeError(`stateful: saveState needs a cell or a sequence layer; ${labelOf(inner)} keeps its state in its own fields, which state() already includes`);
    }
    Object.defineProperty(this, storeKey, { value: { owner: this, value: this.state, fields: new Map(), hooked: new Set(), copies: new Set() }, configurable: true });
  }

  /** The state kept now (undefined before the first call and after {@link reset}). */
  get current(): unknown {
    return this.saveState ? this.state : this[storeKey].value;
  }

  forward(x: any, opts?: SequenceCallOptions): any {
    const inner = this.layer;
    if (isCell(inner)) {
      if (opts !== undefined) throw new TypeError(`${labelOf(this)}: a stateful cell takes one input per call`);
      const s = this.current ?? initialState(inner, batchOf(x));
      const [y, s2] = (inner as (x: unknown, s: unknown) => [unknown, unknown])(x, s);
      this.keep(s2);
      return y;
    }
    if (inner instanceof SequenceBase || inner instanceof BidirectionalLayer || inner instanceof FlipLayer) {
      const [y, s2] = inner(x, this.current, { ...opts, returnState: true }) as [unknown, unknown];
      this.keep(s2);
      return y;
    }
    if (opts !== undefined) throw new TypeError(`${labelOf(this)}: ${labelOf(inner)} takes one input`);
    return this.trackFields(() => inner(x));
  }

  /** @internal */
  keep(s: unknown): void {
    const st = this[storeKey];
    const tapes = new Set<Tape>();
    tapesIn(s, tapes);
    // the saved field must not share storage with an output the caller holds (loadState writes into it)
    const kept = this.saveState && tapes.size === 0 ? mapState(s, copyOf) : s;
    st.value = kept;
    if (this.saveState) {
      this.state = kept;
      st.owner.state = kept;
    }
    untraceLater(st, kept);
  }

  /**
   * Run `call`; fields of the wrapped layer that it reassigned are state: remembered (with their
   * values before the first call, for `reset`), written through to the original when a traced
   * copy ran (the copy and the original then hold the same values, so the gradient's walk sees
   * the field unchanged and gives it no gradient), and untraced in both when the gradient ends.
   * @internal
   */
  trackFields(call: () => unknown): unknown {
    const st = this[storeKey];
    const onCopy = st.owner !== this;
    if (onCopy) {
      st.copies.add(this);
      for (const f of st.fields.values()) setPath(this.layer, f.path, getPath(st.owner.layer, f.path));
    }
    const before = fieldsOf(this.layer);
    try {
      return call();
    } finally {
      for (const [path, holder, key, old] of before) {
        const now = holder[key];
        if (now === old) continue;
        const id = path.join('.');
        if (!st.fields.has(id)) st.fields.set(id, { path, initial: old });
        if (onCopy) setPath(st.owner.layer, path, now);
        untraceLater(st, now);
      }
    }
  }

  /** Forget the state: the next call starts from the initial state. Tracked fields get the values they had before the first call. */
  reset(): void {
    const st = this[storeKey];
    let fresh: unknown;
    if (this.saveState && this.state !== undefined) {
      let batch: number | undefined;
      mapState(this.state, (t) => { batch ??= t.ndim >= 2 ? t.shape[0] : undefined; return t; });
      fresh = initialState(this.layer, batch);
    }
    st.value = fresh;
    if (this.saveState) { this.state = fresh; st.owner.state = fresh; }
    for (const f of st.fields.values()) {
      setPath(this.layer, f.path, f.initial);
      if (st.owner !== this) setPath(st.owner.layer, f.path, f.initial);
    }
  }

  /** @internal A traced copy (made while a gradient runs) shares the state with the original; another copy starts afresh. */
  [emptyCopy](): Record<string, unknown> {
    const copy = (Layer.prototype as unknown as { [emptyCopy](this: unknown): Record<string, unknown> })[emptyCopy].call(this);
    const store: Store = tracingDepth() > 0 ? this[storeKey] : { owner: copy as unknown as Stateful, value: undefined, fields: new Map(), hooked: new Set(), copies: new Set() };
    Object.defineProperty(copy, storeKey, { value: store, configurable: true });
    return copy;
  }

  /** @internal */
  [layerLabel](): string {
    return `stateful(${labelOf(this.layer)})`;
  }

  /** @internal */
  [layerHead](): string {
    return 'stateful';
  }

  /** @internal */
  [layerChildren](): [string | undefined, unknown][] {
    return wrapped(this.layer);
  }
});
/** A {@link Stateful} layer. */
export type Stateful = InstanceType<typeof Stateful>;
const StatefulLayer = Stateful;

/**
 * When a gradient tracing something in `value` finishes, untrace (one level) everything the
 * store holds: the kept state, the `state` field, the tracked fields of the original layer.
 */
function untraceLater(st: Store, value: unknown): void {
  const tapes = new Set<Tape>();
  tapesIn(value, tapes);
  for (const tape of tapes) {
    if (st.hooked.has(tape)) continue;
    st.hooked.add(tape);
    tape.onClose.push(() => {
      st.hooked.delete(tape);
      st.value = untraceOn(st.value, tape);
      if (st.owner.saveState) st.owner.state = st.value = mapState(st.value, (t) => (t instanceof TrackedTensor ? t : copyOf(t)));
      for (const holder of [st.owner, ...st.copies]) {
        for (const f of st.fields.values()) setPath(holder.layer, f.path, untraceOn(getPath(holder.layer, f.path), tape));
      }
      if (st.hooked.size === 0) st.copies.clear();
    });
  }
}

/**
 * `layer` keeping its hidden state between calls, the seeds' style: `m(x1); m(x2)` continues
 * the sequence, {@link reset} starts again. `layer` is a cell (`cell(x, state) → [y, state]`), a
 * sequence layer (each call continues from the previous call's final state: chunks of one long
 * sequence), or a layer that keeps state in its own fields.
 * ```ts
 * const m = Chain(stateful(LSTMCell(10, 32)), Dense(32, 10));
 * m(x1); m(x2);          // the second call starts from the state the first left
 * reset(m);
 * ```
 */
export function stateful(inner: unknown, opts: StatefulOptions = {}): Stateful {
  return Stateful(inner, opts);
}

/** Reset every stateful layer inside `model` (see {@link Stateful}); returns `model`. */
export function reset<M>(model: M): M {
  const seen = new Set<object>();
  const walk = (x: unknown): void => {
    if (!isNode(x) || seen.has(x)) return;
    seen.add(x);
    if (x instanceof StatefulLayer) (x as Stateful).reset();
    for (const k of Object.keys(x)) walk(x[k]);
  };
  walk(model);
  return model;
}

/** Does `model` hold a stateful layer anywhere? */
function holdsStateful(model: unknown): boolean {
  const seen = new Set<object>();
  const walk = (x: unknown): boolean => {
    if (!isNode(x) || seen.has(x)) return false;
    seen.add(x);
    if (x instanceof StatefulLayer) return true;
    return Object.keys(x).some((k) => walk(x[k]));
  };
  return walk(model);
}

// ---------------------------------------------------------------- time as a dimension or a list

/** The time axis of a tensor of steps: 1 for batch-first `[B, T, …]`, 0 for an unbatched `[T, F]` (a Seq's layout). */
function timeAxis(x: Tensor): number {
  return x.ndim >= 3 ? 1 : 0;
}

function steps(x: Tensor, axis: number): Tensor[] {
  return Array.from({ length: x.shape[axis] }, (_, t) => {
    const r: ([number, number] | null)[] = x.shape.map(() => null);
    r[axis] = [t, t + 1];
    const s = slice(x, r);
    return s.reshape(x.shape.filter((_, i) => i !== axis));
  });
}

function reverseTime(x: Tensor, axis: number): Tensor {
  const r: ([number | null, number | null, number] | null)[] = x.shape.map(() => null);
  r[axis] = [null, null, -1];
  return slice(x, r);
}

/**
 * A model over `n` steps (made by {@link unroll}): called with an array of `n` inputs it returns
 * the `n` outputs; called with one tensor of steps (`[B, n, …]` batch first, or `[n, F]`, a
 * Seq's layout) it returns the outputs stacked the same way; called with a {@link Seq} of `n`
 * steps (or a Batch of such Seqs) it returns a list of the same kind.
 */
export const Unroll = layer(class Unroll extends Layer<[any, any?], any> {
  /** The model run at every step: a cell, or a stateful model. */
  model: any;
  /** Number of steps. */
  n: number;

  constructor(model: unknown, n: number) {
    super();
    if (typeof model !== 'function') throw new TypeError(`unroll: expected a model, got ${describeValue(model)}`);
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`unroll: the number of steps must be a positive integer, got ${describeValue(n)}`);
    this.model = isCell(model) || holdsStateful(model) ? model : Stateful(model);
    this.n = n;
  }

  /** `xs`: `n` inputs, or a tensor of steps; `state`: for a cell, the state to start from (default its initial state). */
  forward(xs: any, state?: any): any {
    const asTensor = xs instanceof Tensor;
    let list: unknown[];
    let axis = 0;
    if (asTensor) {
      axis = timeAxis(xs);
      if (xs.ndim < 2 || xs.shape[axis] !== this.n) throw new ShapeError(`${labelOf(this)} expects ${this.n} steps along dimension ${axis} ([B, ${this.n}, …] or [${this.n}, F]), got input of shape [${xs.shape.join(', ')}]`);
      list = steps(xs, axis);
    } else if (Array.isArray(xs)) {
      if (xs.length !== this.n) throw new RangeError(`${labelOf(this)} expects ${this.n} inputs, got ${xs.length}`);
      list = xs;
    } else throw new TypeError(`${labelOf(this)} expects an array of ${this.n} inputs or a tensor of steps, got ${describeValue(xs)}`);
    const ys: unknown[] = [];
    if (isCell(this.model)) {
      let s = state ?? initialState(this.model, batchOf(list[0]));
      for (const x of list) {
        const [y, s2] = (this.model as (x: unknown, s: unknown) => [unknown, unknown])(x, s);
        ys.push(y);
        s = s2;
      }
    } else {
      if (state !== undefined) throw new TypeError(`${labelOf(this)}: a stateful model keeps its own state; call reset(model) to start afresh`);
      for (const x of list) ys.push(this.model(x));
    }
    return asTensor ? stack(ys as Tensor[], axis) : ys;
  }

  /** @internal */
  [layerLabel](): string {
    return `unroll(${labelOf(this.model)}, ${this.n})`;
  }

  /** @internal */
  [layerHead](): string {
    return 'unroll';
  }

  /** @internal */
  [layerChildren](): [string | undefined, unknown][] {
    return wrapped(this.model);
  }
});
/** An {@link Unroll} layer. */
export type Unroll = InstanceType<typeof Unroll>;
const UnrollLayer = Unroll;

// Layers see a Batch or Seq as its tensor (batch.ts's call hook), which loses where time is: a
// Seq of points [B, F] is [T, B, F] and would read as batch-first. Unroll is given a Seq as the
// list of its steps instead (this hook runs before batch.ts's), and its outputs are stacked
// back into a list of the same levels.
const runDirectly = (self: Layer, args: unknown[], run: LayerRun): unknown => run(self, args);
const previousCallHook = setLayerCallHook((self, args, run) => {
  const xs = args[0];
  const next = previousCallHook ?? runDirectly;
  if (!(self instanceof UnrollLayer) || !(xs instanceof Batched) || !xs.levels.includes('Seq')) return next(self, args, run);
  const axis = xs.levels.indexOf('Seq');
  const ys = next(self, [steps(rawbatch(xs), axis), ...args.slice(1)], run) as unknown[];
  return ys.every((y) => y instanceof Tensor) ? new Batched(stack(ys as Tensor[], axis), xs.levels) : ys;
});

/**
 * `model` run over `n` steps, each step's state carried to the next (the seeds' `unroll`). A
 * cell starts from its initial state (or the state passed as the second argument) at every
 * call; a model that keeps state (stateful layers, or the seeds' style of fields reassigned in
 * `forward`, which is wrapped in {@link stateful}) continues from where it is — `reset` it to
 * start afresh.
 * ```ts
 * const m = unroll(LSTMCell(4, 8), 5);
 * const ys = m([x1, x2, x3, x4, x5]);        // five [B, 8] outputs
 * ```
 */
export function unroll(model: unknown, n: number): Unroll {
  return Unroll(model, n);
}

/** Options passed on with the time reversed. */
function reversedOptions(opts: SequenceCallOptions | undefined, x: Tensor, axis: number): SequenceCallOptions | undefined {
  if (opts === undefined || (opts.mask === undefined && opts.lengths === undefined)) return opts;
  const T = x.shape[axis];
  const B = axis === 1 ? x.shape[0] : 1;
  let mask: Tensor;
  if (opts.lengths !== undefined) {
    const ls = typeof opts.lengths === 'number' ? [opts.lengths] : [...opts.lengths];
    const m = new Float64Array(B * T);
    ls.forEach((l, b) => m.fill(1, b * T, b * T + Math.max(0, Math.min(T, l))));
    mask = fromData(m, axis === 1 ? [B, T] : [T]);
    if (ls.length !== B) return { ...opts }; // the wrapped layer reports the mismatch
  } else mask = opts.mask instanceof Tensor ? opts.mask : toTensor(opts.mask as number[], 'flip');
  const { lengths: _l, ...rest } = opts;
  return { ...rest, mask: reverseTime(mask, mask.ndim - 1) };
}

/** Run `inner` over reversed time: `x` reversed, outputs reversed back (a state passes through). */
function runReversed(inner: any, x: any, state: unknown, opts: SequenceCallOptions | undefined): any {
  if (Array.isArray(x)) {
    const y = inner(x.slice().reverse());
    return Array.isArray(y) ? y.slice().reverse() : y;
  }
  const t = x instanceof Tensor ? x : toTensor(x, 'flip');
  const axis = timeAxis(t);
  const xr = reverseTime(t, axis);
  const o = reversedOptions(opts, t, axis);
  const out = inner instanceof StatefulLayer ? inner(xr, o) : state === undefined && o === undefined ? inner(xr) : inner(xr, state, o);
  if (out instanceof Tensor) return reverseTime(out, axis);
  if (Array.isArray(out) && out[0] instanceof Tensor) return [reverseTime(out[0], axis), ...out.slice(1)];
  throw new TypeError(`flip: ${labelOf(inner)} returned ${describeValue(out)}; expected a tensor of steps`);
}

/**
 * A sequence layer run over reversed time (made by {@link flip}): the input's steps are
 * reversed, the layer runs, and its outputs are reversed back, so output step t is aligned with
 * input step t. A mask or lengths are reversed with the input (right padding then comes first,
 * where it leaves the initial state untouched).
 */
export const Flip = layer(class Flip extends Layer<[any, any?, SequenceCallOptions?], any> {
  /** The wrapped sequence layer. */
  layer: any;

  constructor(inner: unknown) {
    super();
    if (typeof inner !== 'function') throw new TypeError(`flip: expected a sequence layer, got ${describeValue(inner)}`);
    this.layer = inner;
  }

  forward(x: any, state?: any, opts?: SequenceCallOptions): any {
    return runReversed(this.layer, x, state, opts);
  }

  /** @internal */
  [layerLabel](): string {
    return `flip(${labelOf(this.layer)})`;
  }

  /** @internal */
  [layerChildren](): [string | undefined, unknown][] {
    return wrapped(this.layer);
  }

  /** @internal */
  [layerHead](): string {
    return 'flip';
  }
});
/** A {@link Flip} layer. */
export type Flip = InstanceType<typeof Flip>;
const FlipLayer = Flip;

/** A wrapper prints on one line around a leaf, and as a container around a container. */
function wrapped(inner: unknown): [string | undefined, unknown][] {
  return isLayer(inner) && layerHasChildren(inner) ? [[undefined, inner]] : [];
}

function layerHasChildren(x: unknown): boolean {
  const own = (x as { [layerChildren]?: () => unknown[] })[layerChildren];
  if (typeof own === 'function') return own.call(x).length > 0;
  return Object.values(x as object).some((v) => isLayerLike(v) || (Array.isArray(v) && v.some(isLayerLike)));
}

/**
 * `layer` over reversed time: `flip(LSTM(8, 16))(x)` reads the sequence from its end, and its
 * output at step t has seen steps t…T−1.
 */
export function flip(inner: unknown): Flip {
  return Flip(inner);
}

/** Concatenation along the last dimension: the default way {@link Bidirectional} combines its directions. */
export function concatFeatures(a: Tensor, b: Tensor): Tensor {
  return concat([a, b], -1);
}

/**
 * Two sequence layers over the same input, one forward in time and one backward (run reversed
 * by this layer: pass it as is, not flipped), with their outputs combined step by step by
 * `combine` (default: concatenation along the features, `[B, T, out₁ + out₂]`). With the call's
 * `returnState` it returns `[y, { forward, backward }]`, the final states of both.
 * ```ts
 * const encoder = Bidirectional(LSTM(32, 64), LSTM(32, 64));   // [B, T, 32] → [B, T, 128]
 * ```
 */
export const Bidirectional = layer(class Bidirectional extends Layer<[any, any?, SequenceCallOptions?], any> {
  /** Runs forward in time. */
  forwardLayer: any;
  /** Runs backward in time. */
  backwardLayer: any;
  /** Combines the two outputs. */
  combine: (a: Tensor, b: Tensor) => Tensor;

  constructor(forwardLayer: unknown, backwardLayer: unknown, combine: (a: Tensor, b: Tensor) => Tensor = concatFeatures) {
    super();
    if (typeof forwardLayer !== 'function' || typeof backwardLayer !== 'function') {
      throw new TypeError(`Bidirectional: expected two sequence layers, got ${describeValue(forwardLayer)} and ${describeValue(backwardLayer)}`);
    }
    if (typeof combine !== 'function') throw new TypeError(`Bidirectional: combine must be a function, got ${describeValue(combine)}`);
    this.forwardLayer = forwardLayer;
    this.backwardLayer = backwardLayer;
    this.combine = combine;
  }

  /** `state`: `{ forward, backward }` initial states (either may be undefined). */
  forward(x: any, state?: { forward?: unknown; backward?: unknown }, opts: SequenceCallOptions = {}): any {
    const both = opts.returnState === true;
    const o = { ...opts, returnState: both };
    const call = (l: any, s: unknown): any => (s === undefined && !both && opts.mask === undefined && opts.lengths === undefined ? l(x) : l(x, s, o));
    const f = call(this.forwardLayer, state?.forward);
    const b = runReversed(this.backwardLayer, x, state?.backward, both || opts.mask !== undefined || opts.lengths !== undefined ? o : undefined);
    if (!both) return this.combine(f, b);
    return [this.combine(f[0], b[0]), { forward: f[1], backward: b[1] }];
  }

  /** @internal */
  [layerChildren](): [string | undefined, unknown][] {
    return [['forward', this.forwardLayer], ['backward', this.backwardLayer]];
  }

  /** @internal */
  [layerHead](): string {
    return 'Bidirectional';
  }
});
/** A {@link Bidirectional} layer. */
export type Bidirectional = InstanceType<typeof Bidirectional>;
const BidirectionalLayer = Bidirectional;
