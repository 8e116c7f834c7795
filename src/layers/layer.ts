/**
 * What makes something a layer: callable (`model(x)`), walkable (its fields are its
 * parameters and sub-layers) and printable. Library layers and a user's layers are made the
 * same way — a class with a `forward` method, passed through {@link layer} (or extending
 * {@link Layer}).
 *
 * A layer object *is* a function: calling it runs `forward` and, when something fails inside,
 * adds the path to the failing layer to the error. Its fields live on the function, so
 * `dense.weight` and `chain.layers[0]` read as on any object, and the structure walks of
 * `gradient`, `params`, optimisers, printing and saving all see the same tree.
 */
import { emptyCopy, nonTrainable } from '../ad/structure.js';
import { Tensor } from '../tensor/tensor.js';
import { astype } from '../ops/elementwise.js';
import type { DType } from '../tensor/dtype.js';
import { layerLabel, leafLabel, showModel } from './show.js';

/** The call signature of a layer: a layer is a function of its `forward`'s arguments. */
export interface Layer<A extends unknown[] = any[], R = any> {
  (...args: A): R;
}

/**
 * Base class of layers. `new` on a subclass returns a callable object with the subclass's
 * prototype: the fields the subclass's constructor sets are fields of that callable.
 * ```ts
 * class Affine extends Layer<[Tensor], Tensor> {
 *   W = glorotUniform([5, 10]); b = zeros([5]);
 *   forward(x: Tensor) { return add(matmul(this.W, x), this.b); }
 * }
 * ```
 * Wrap the class with {@link layer} to construct it without `new`, as Flux does.
 */
export abstract class Layer<A extends unknown[] = any[], R = any> {
  constructor() {
    // eslint-disable-next-line no-constructor-return
    return callableWith(new.target.prototype) as unknown as this;
  }

  /** The computation of the layer. Call the layer itself (`layer(x)`), not this method. */
  abstract forward(...args: A): R;

  /** The model as a tree with parameter counts, like Flux's display. */
  toString(): string {
    return showModel(this);
  }
}

// Defined outside the class body so that declaration files of subclasses need not name the symbols.
Object.defineProperties(Layer.prototype, {
  // Node's console.log and util.inspect
  [Symbol.for('nodejs.util.inspect.custom')]: { value(this: Layer) { return showModel(this); } },
  // an empty layer of the same class, for the structure walks
  [emptyCopy]: { value(this: Layer) { return callableWith(Object.getPrototypeOf(this)); } },
});

/** What {@link layer} accepts: a class whose instances have a `forward` method. */
export type Forwarding = { forward(...args: any[]): any };
/** The instances of a class made a layer by {@link layer}: the instance, callable like its `forward`. */
export type LayerOf<T> = T & (T extends { forward(...args: infer A): infer R } ? (...args: A) => R : never);

/** A class made into a layer by {@link layer}: constructible with or without `new`. */
export type LayerClass<C extends abstract new (...args: any[]) => Forwarding> = {
  new (...args: ConstructorParameters<C>): LayerOf<InstanceType<C>>;
  (...args: ConstructorParameters<C>): LayerOf<InstanceType<C>>;
  readonly prototype: InstanceType<C>;
} & Omit<C, 'prototype'>;

/**
 * Make a class a layer: its instances become callable (running `forward`), walkable by
 * `gradient`, `params`, optimisers and saving, and printable; the class can be constructed
 * without `new` (`Affine(10, 5)`). Works as a function and as a decorator:
 * ```ts
 * const Affine = layer(class Affine {
 *   W: Tensor; b: Tensor;
 *   constructor(inp: number, out: number) { this.W = glorotUniform([out, inp]); this.b = zeros([out]); }
 *   forward(x: Tensor) { return add(matmul(this.W, x), this.b); }
 * });
 * const a = Affine(10, 5);   // a(x), a.W, gradient((m) => sum(m(x)), a)
 *
 * @layer class Perceptron { … }                // the decorator form; constructed with `new`.
 * interface Perceptron { (x: Tensor): Tensor } // tells TypeScript that instances are callable
 * ```
 * Fields hold parameters (tensors, at any depth inside arrays and objects) and sub-layers;
 * numbers, strings, flags and functions are configuration. The constructor's `this` is not the
 * layer (its fields are moved onto a callable), so closures should not capture `this` there;
 * `forward`, getters and methods see the layer as `this`. A class that extends {@link Layer}
 * needs no such care.
 */
export function layer<C extends abstract new (...args: any[]) => Forwarding>(cls: C, _context?: unknown): LayerClass<C> {
  if (typeof cls !== 'function' || typeof cls.prototype?.forward !== 'function') {
    throw new TypeError(`layer: expected a class with a forward method, got ${describeValue(cls)}`);
  }
  adoptLayerPrototype(cls.prototype);
  const made = function (this: unknown, ...args: unknown[]): unknown {
    const inst = Reflect.construct(cls, args, new.target ?? made) as object;
    return typeof inst === 'function' ? inst : moveToCallable(inst);
  } as unknown as LayerClass<C>;
  Object.defineProperty(made, 'name', { value: cls.name });
  Object.setPrototypeOf(made, cls); // statics (e.g. [nonTrainable]) are inherited
  (made as unknown as { prototype: unknown }).prototype = cls.prototype;
  return made;
}

/** Put Layer's methods under the prototype chain of a class that does not extend Layer. */
function adoptLayerPrototype(proto: object): void {
  let p = proto;
  while (p !== Layer.prototype) {
    const up = Object.getPrototypeOf(p) as object | null;
    if (up === null) return; // a null-prototype class: nothing to hang Layer under
    if (up === Object.prototype) {
      Object.setPrototypeOf(p, Layer.prototype);
      return;
    }
    p = up;
  }
}

/** A function that calls `forward` on itself, with prototype `proto` and no own properties. */
function callableWith(proto: object): (...args: unknown[]) => unknown {
  // made by a call, not bound to a local name: tsx (keepNames) would wrap a named closure in a
  // defineProperty call, and a traced copy of the model is made by every gradient call
  const f = selfCalling();
  // a layer's fields may be called `name` or `length`; a function's own ones would be read-only
  delete (f as { name?: string }).name;
  delete (f as { length?: number }).length;
  Object.setPrototypeOf(f, proto);
  return f;
}

/** A function that calls `forward` on itself with its arguments. */
function selfCalling(): (...args: unknown[]) => unknown {
  const cell: ((...args: unknown[]) => unknown)[] = [];
  cell.push((...args: unknown[]): unknown => callLayer(cell[0] as unknown as Forwarding, args));
  return cell[0];
}

function moveToCallable(inst: object): object {
  const f = callableWith(Object.getPrototypeOf(inst));
  Object.defineProperties(f, Object.getOwnPropertyDescriptors(inst));
  return f;
}

/** Is `x` a layer (made by {@link layer} or extending {@link Layer})? */
export function isLayer(x: unknown): x is Layer {
  return typeof x === 'function' && x instanceof Layer;
}

// ---------------------------------------------------------------- errors that say where

const trail: unique symbol = Symbol('fluxion.layerTrail');
interface TrailStep { node: unknown; key?: string }
type Located = Error & { [trail]?: TrailStep[] };
let depth = 0;

/**
 * @internal Wraps every layer call when set (Batch arguments in batch.ts, tracing in debug.ts);
 * `run(self, args)` runs forward. (`run` takes `self` so that a call makes no closure.)
 */
export type LayerCallHook = (self: Layer, args: unknown[], run: LayerRun) => unknown;
/** @internal Runs a layer's forward on arguments (see {@link LayerCallHook}). */
export type LayerRun = (self: Layer, args: unknown[]) => unknown;
const runForward: LayerRun = (self, args) => (self as unknown as Forwarding).forward(...args);
let onLayerCall: LayerCallHook | undefined;

/** @internal Install a layer-call hook (it should call the previous one, returned, in turn); `undefined` removes it. */
export function setLayerCallHook(hook: LayerCallHook | undefined): LayerCallHook | undefined {
  const previous = onLayerCall;
  onLayerCall = hook;
  return previous;
}

function callLayer(self: Forwarding, args: unknown[]): unknown {
  depth++;
  try {
    return onLayerCall === undefined ? self.forward(...args) : onLayerCall(self as Layer, args, runForward);
  } catch (e) {
    throw located(e, self, undefined);
  } finally {
    depth--;
  }
}

/**
 * Record that error `e` passed out of `node` (a layer, or a plain function called by a
 * container, which passes the `key` it holds the function under, e.g. `[2]`). The outermost
 * layer rewrites the message to start with the path to the failing layer; the stack stays.
 */
export function located(e: unknown, node: unknown, key: string | undefined): unknown {
  if (!(e instanceof Error)) return e;
  const err = e as Located;
  const steps = err[trail] ?? [];
  if (err[trail] === undefined) Object.defineProperty(err, trail, { value: steps, configurable: true });
  const last = steps[steps.length - 1];
  if (last === undefined || last.node !== node) steps.push({ node, key });
  else if (key !== undefined) last.key = key;
  if (depth === 1 && isLayer(node) && key === undefined) rewrite(err, steps);
  return err;
}

function rewrite(err: Located, steps: TrailStep[]): void {
  delete err[trail];
  const inner = steps[0].node;
  let path = labelOf(steps[steps.length - 1].node, true);
  for (let i = steps.length - 1; i > 0; i--) {
    const parent = steps[i].node, child = steps[i - 1];
    const key = child.key ?? keyOf(parent, child.node);
    path += key === undefined ? ` → ${labelOf(child.node, true)}` : key;
  }
  const head = labelOf(inner);
  // messages that already name the layer (its label, or `Parallel: …`) are not prefixed again
  const named = err.message.startsWith(head) || (isLayer(inner) && err.message.startsWith(`${inner.constructor.name}:`));
  const msg = named ? err.message : `${head}: ${err.message}`;
  const text = steps.length > 1 ? `${path} → ${msg}` : msg;
  const old = `${err.name}: ${err.message}`;
  err.message = text;
  if (typeof err.stack === 'string' && err.stack.startsWith(old)) err.stack = `${err.name}: ${text}${err.stack.slice(old.length)}`;
}

/** Where `child` sits among `parent`'s fields: `.second`, `.layers[1]`, `[1]` in a Chain. */
function keyOf(parent: unknown, child: unknown): string | undefined {
  if (typeof parent !== 'function' && (typeof parent !== 'object' || parent === null)) return undefined;
  for (const k of Object.keys(parent)) {
    const v = (parent as Record<string, unknown>)[k];
    if (v === child) return `.${k}`;
    if (Array.isArray(v)) {
      const i = v.indexOf(child);
      if (i >= 0) return `.${k}[${i}]`;
    } else if (typeof v === 'object' && v !== null && !(v instanceof Tensor)) {
      for (const kk of Object.keys(v)) if ((v as Record<string, unknown>)[kk] === child) return `.${k}.${kk}`;
    }
  }
  return undefined;
}

/** The one-line label of a layer or function; `short` gives just the class or function name. */
export function labelOf(x: unknown, short = false): string {
  if (short && isLayer(x)) return x.constructor.name;
  return typeof x === 'function' ? leafLabel(x) : describeValue(x);
}

/** A short description of a value for error messages: "the string 'abc'", "undefined". */
export function describeValue(x: unknown): string {
  if (x === undefined || x === null) return String(x);
  if (typeof x === 'string') return `the string '${x}'`;
  if (x instanceof Tensor) return `a tensor of shape [${x.shape.join(', ')}]`;
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (typeof x === 'function') return x.name ? `the function ${x.name}` : 'an anonymous function';
  if (typeof x === 'object') return `a ${x.constructor?.name ?? 'object'}`;
  return `${typeof x} ${String(x)}`;
}

// ---------------------------------------------------------------- dtypes

const warnedDtype = new Set<string>();

/**
 * `x` in the layer's dtype: an input of another float dtype is converted, with a one-time
 * warning per layer kind and pair of dtypes (as Flux does), since the mismatch usually means
 * data was prepared in float64 by accident and every call pays for the conversion.
 */
export function inDtype(layerName: string, x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const key = `${layerName}:${x.dtype}:${dtype}`;
  if (!warnedDtype.has(key)) {
    warnedDtype.add(key);
    console.warn(`fluxion: ${layerName} has ${dtype} parameters and got a ${x.dtype} input; converting it (convert the data once with x.astype('${dtype}'), or the model with ${dtype === 'float32' ? 'f64(model)' : 'f32(model)'})`);
  }
  return astype(x, dtype);
}

export { nonTrainable, layerLabel };
