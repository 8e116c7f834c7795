/**
 * Walking a model's structure, as Functors.jl does for Flux: the same tree that `gradient`,
 * `params`, optimisers, printing and saving see. A model is a tree of layers, arrays and
 * plain objects; its leaves are tensors (parameters, or state such as running statistics when
 * the field is listed under `nonTrainable`) and configuration (numbers, flags, functions).
 */
import { constantFields, emptyLike, frozen, isLayerLike } from '../ad/structure.js';
import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../tensor/shape.js';
import { astype } from '../ops/elementwise.js';
import { concat, reshape, slice } from '../ops/movement.js';
import { fromData } from '../tensor/convert.js';
import { zeros } from '../tensor/create.js';
import type { DType } from '../tensor/dtype.js';

/** One tensor of a model: where it is (field names and indices from the root) and whether it is trained. */
export interface TensorEntry {
  /** Field names and array indices from the root, e.g. `['layers', '0', 'weight']`. */
  readonly path: readonly string[];
  readonly tensor: Tensor;
  /** False for state (fields listed under `nonTrainable`) and for frozen parts. */
  readonly trainable: boolean;
}

/** Can the walk descend into `x` (a layer, an array, a plain object or class instance)? */
function isNode(x: unknown): x is Record<string, unknown> {
  if (x instanceof Tensor || ArrayBuffer.isView(x)) return false;
  return (typeof x === 'object' && x !== null) || isLayerLike(x);
}

/**
 * Every tensor of `model` once (a tensor tied into several places is listed at its first
 * path), in field order, depth first.
 */
export function tensorEntries(model: unknown): TensorEntry[] {
  const out: TensorEntry[] = [];
  const seen = new Set<object>();
  const walk = (x: unknown, path: string[], trainable: boolean): void => {
    if (x instanceof Tensor) {
      if (!seen.has(x)) out.push({ path, tensor: x, trainable });
      seen.add(x);
      return;
    }
    if (!isNode(x) || seen.has(x)) return;
    seen.add(x);
    if (Array.isArray(x)) return x.forEach((e, i) => walk(e, [...path, String(i)], trainable));
    const skip = constantFields(x);
    for (const k of Object.keys(x)) walk(x[k], [...path, k], trainable && !skip.has(k));
  };
  walk(model, [], true);
  return out;
}

/** The tensors an optimiser trains: every tensor of the model outside `nonTrainable` fields and frozen parts, once each. */
export function trainables(model: unknown): Tensor[] {
  return tensorEntries(model).filter((e) => e.trainable).map((e) => e.tensor);
}

/**
 * A copy of `model` with every tensor `x` replaced by `fn(x, path)`: layers stay layers of the
 * same class, configuration is shared, and a tensor tied into several places is mapped once
 * (the copy ties the results the same way).
 * ```ts
 * const m64 = fmap((x) => x.astype('float64'), model);
 * ```
 */
export function fmap<M>(fn: (x: Tensor, path: string, trainable: boolean) => Tensor, model: M): M {
  const memo = new Map<object, unknown>();
  const walk = (x: unknown, path: string[], trainable: boolean): unknown => {
    if (x instanceof Tensor) {
      if (!memo.has(x)) memo.set(x, fn(x, path.join('.'), trainable));
      return memo.get(x);
    }
    if (!isNode(x)) return x;
    if (memo.has(x)) return memo.get(x);
    if (Array.isArray(x)) {
      const arr: unknown[] = [];
      memo.set(x, arr);
      x.forEach((e, i) => arr.push(walk(e, [...path, String(i)], trainable)));
      return arr;
    }
    const copy = emptyLike(x);
    memo.set(x, copy);
    const skip = constantFields(x);
    for (const k of Object.keys(x)) copy[k] = walk(x[k], [...path, k], trainable && !skip.has(k));
    if ((x as { [frozen]?: boolean })[frozen]) setFrozen(copy, true);
    return copy;
  };
  return walk(model, [], true) as M;
}

/** The model with every tensor converted to float32 (a copy; tied tensors stay tied). */
export function f32<M>(model: M): M {
  return convert(model, 'float32');
}

/** The model with every tensor converted to float64 (a copy), e.g. for checking gradients by finite differences. */
export function f64<M>(model: M): M {
  return convert(model, 'float64');
}

function convert<M>(model: M, dtype: DType): M {
  return fmap((x) => (x.dtype === dtype ? copyOf(x) : astype(x, dtype)), model);
}

/**
 * The trainable parameters as one flat vector, and a function that builds a model of the same
 * structure from such a vector (Flux's `destructure`). `rebuild` is differentiable: a gradient
 * with respect to the flat vector flows through the rebuilt model.
 * ```ts
 * const [flat, rebuild] = destructure(model);   // flat: [n]
 * const g = gradient((v) => loss(rebuild(v)(x), y), flat);
 * ```
 */
export function destructure<M>(model: M): [Tensor, (flat: Tensor) => M] {
  const entries = tensorEntries(model).filter((e) => e.trainable);
  const offsets = new Map<Tensor, number>();
  let n = 0;
  for (const e of entries) {
    offsets.set(e.tensor, n);
    n += e.tensor.size;
  }
  const flat = entries.length === 0 ? zeros([0], { dtype: 'float32' }) : concat(entries.map((e) => reshape(e.tensor, [-1])), 0);
  const rebuild = (v: Tensor): M => {
    if (!(v instanceof Tensor) || v.ndim !== 1 || v.size !== n) {
      const got = v instanceof Tensor ? `shape [${v.shape.join(', ')}]` : typeof v;
      throw new ShapeError(`destructure: rebuild expects a vector of ${n} parameters, got ${got}`);
    }
    return fmap((x, _p, trainable) => {
      const at = offsets.get(x);
      if (!trainable || at === undefined) return x;
      return reshape(slice(v, [[at, at + x.size]]), x.shape as number[]);
    }, model);
  };
  return [flat, rebuild];
}

/** A tree of state: plain objects and arrays mirroring the model, with tensors as leaves. */
export type StateTree = Tensor | StateTree[] | { [key: string]: StateTree };

/**
 * Everything needed to restore the model's values: a plain tree shaped like the model holding
 * copies of its tensors (parameters and state such as running statistics; configuration is
 * left out, since it belongs to the code that builds the model). Tied tensors appear once, at
 * their first path. Restore with {@link loadState}.
 */
export function state(model: unknown): StateTree {
  const root: Record<string, StateTree> = {};
  const entries = tensorEntries(model);
  if (entries.length === 1 && entries[0].path.length === 0) return copyOf(entries[0].tensor);
  for (const { path, tensor } of entries) {
    let node = root as Record<string, StateTree>;
    path.forEach((k, i) => {
      if (i === path.length - 1) node[k] = copyOf(tensor);
      else node = (node[k] ??= {}) as Record<string, StateTree>;
    });
  }
  return arraysBack(root, model) as StateTree;
}

/** Turn objects keyed '0', '1', … back into arrays where the model has arrays. */
function arraysBack(tree: unknown, model: unknown): unknown {
  if (tree instanceof Tensor || typeof tree !== 'object' || tree === null) return tree;
  const t = tree as Record<string, unknown>;
  if (Array.isArray(model)) return model.map((m, i) => arraysBack(t[String(i)], m)).filter((v) => v !== undefined);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(t)) out[k] = arraysBack(t[k], (model as Record<string, unknown>)?.[k]);
  return out;
}

/** The tensors of a state tree (or of any tree of tensors) keyed by dotted path, `layers.0.weight`. */
export function flattenState(tree: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (x: unknown, path: string): void => {
    if (x instanceof Tensor || ArrayBuffer.isView(x) || typeof x !== 'object' || x === null) {
      out.set(path, x);
      return;
    }
    const keys = Array.isArray(x) ? x.map((_, i) => String(i)) : Object.keys(x);
    for (const k of keys) walk((x as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`);
  };
  walk(tree, '');
  return out;
}

/**
 * Write a state tree (from {@link state}, or any tree of tensors keyed like the model) into
 * the model's tensors, in place. Every name, shape and dtype is checked first and the first
 * mismatch is reported by its path; nothing is written unless everything fits.
 */
export function loadState(model: unknown, tree: unknown): void {
  assignByPath('loadState', model, flattenState(tree), 'the state');
}

/**
 * @internal Write tensors given by dotted path into the model's tensors, checking every name,
 * shape and dtype first (errors start with `op` and call the source `from`); all or nothing.
 */
export function assignByPath(op: string, model: unknown, given: Map<string, unknown>, from: string): void {
  const planned: [Tensor, Tensor][] = [];
  const left = new Map(given);
  for (const { path, tensor } of tensorEntries(model)) {
    const key = path.join('.');
    const v = left.get(key);
    const name = key === '' ? 'the model' : key;
    if (v === undefined) throw new RangeError(`${op}: ${from} has no entry for ${name}`);
    if (!(v instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a tensor in ${from}, got ${typeof v}`);
    if (v.ndim !== tensor.ndim || v.shape.some((d, i) => d !== tensor.shape[i])) {
      throw new ShapeError(`${op}: ${name} has shape [${tensor.shape.join(', ')}] in the model, [${v.shape.join(', ')}] in ${from}`);
    }
    if (v.dtype !== tensor.dtype) throw new TypeError(`${op}: ${name} is ${tensor.dtype} in the model, ${v.dtype} in ${from}`);
    planned.push([tensor, v]);
    left.delete(key);
  }
  if (left.size > 0) throw new RangeError(`${op}: ${from} has ${left.size === 1 ? 'an entry' : 'entries'} the model lacks: ${[...left.keys()].join(', ')}`);
  for (const [t, v] of planned) t.assign(v);
}

/** A tensor with its own copy of the values. */
export function copyOf(x: Tensor): Tensor {
  return fromData(x.data.slice(), x.shape as number[]);
}

function setFrozen(x: object, on: boolean): void {
  Object.defineProperty(x, frozen, { value: on, configurable: true, enumerable: false, writable: true });
}

/**
 * Leave a layer (or any sub-tree of a model) out of training: `gradient` no longer traces its
 * tensors, `params`/`trainables` skip them and optimisers do not update them. Returns `x`.
 * ```ts
 * freeze(model.layers[0]);   // fine-tune the rest
 * ```
 */
export function freeze<T extends object>(x: T): T {
  if (!isNode(x)) throw new TypeError('freeze: expected a layer or a sub-tree of a model');
  setFrozen(x, true);
  return x;
}

/** Undo {@link freeze}. Returns `x`. */
export function thaw<T extends object>(x: T): T {
  if (!isNode(x)) throw new TypeError('thaw: expected a layer or a sub-tree of a model');
  setFrozen(x, false);
  return x;
}

/** Is `x` frozen by {@link freeze}? */
export function isFrozen(x: unknown): boolean {
  return isNode(x) && (x as { [frozen]?: boolean })[frozen] === true;
}
