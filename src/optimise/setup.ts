/**
 * Explicit optimiser state, as in Optimisers.jl: `setup(rule, model)` builds a tree shaped
 * like the model with one {@link StateLeaf} per trainable tensor, and `update(opt, model,
 * grads)` walks it with the model and a gradient of the same shape, updating the model's
 * tensors in place. The implicit style of Flux (`update(rule, params(W, b), grads)`) is
 * supported too.
 */
import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../tensor/shape.js';
import { fromData, tensor } from '../tensor/convert.js';
import { allocate, dtypeOf, type FloatArray } from '../tensor/dtype.js';
import { sub } from '../ops/elementwise.js';
import { checkMutable } from '../ad/tape.js';
import { Grads, Params, type ParamLeaf } from '../ad/params.js';
import { constantFields, isLayerLike } from '../ad/structure.js';
import { isRule, showRule, type HyperValue, type Rule } from './rule.js';
import { deviceRuleStep } from '../backend/gpu/update.js';

/** The state of one trainable tensor: its rule, the rule's state, and whether it is frozen. */
export class StateLeaf<S = unknown> {
  /** @internal */
  constructor(
    /** The rule that updates this tensor (replaced by `adjust`). */
    public rule: Rule<S>,
    /** The rule's state for this tensor (moments, counters). */
    public state: S,
    /** While true, `update` leaves this tensor alone (see {@link freezeState}). */
    public frozen = false,
  ) {}

  /** `Leaf(Adam(eta=0.001, …))`, with `frozen` when frozen. */
  toString(): string {
    return `Leaf(${showRule(this.rule)}${this.frozen ? ', frozen' : ''})`;
  }
}

/** A tree shaped like the model: a {@link StateLeaf} per trainable tensor, `null` for array slots without one. */
export type OptimiserTree = StateLeaf | null | OptimiserTree[] | { [key: string]: OptimiserTree };

interface Entry {
  readonly leaf: StateLeaf;
  /** Every path of the tensor in the model (more than one when it is tied). */
  readonly paths: readonly (readonly string[])[];
  /** The tensor (or, for params, the typed or number array) the state was made for. */
  readonly source: object;
}

/**
 * What {@link setup} returns: the state tree (`opt.tree.layers[0].weight.state.m`) and the
 * bookkeeping `update` needs. Pass it to `update`, `train`, `adjust`, `freezeState`,
 * `optimiserState`.
 */
export class OptimiserState {
  /** @internal */
  readonly entries: readonly Entry[];
  /** @internal Set when made from `params(...)`: the entry of each param source. */
  readonly bySource: Map<object, Entry> | undefined;

  /** @internal */
  constructor(
    /** The rule given to `setup`. */
    readonly rule: Rule,
    /** The state tree, shaped like the model. */
    readonly tree: OptimiserTree,
    entries: Entry[],
    implicit: boolean,
  ) {
    this.entries = entries;
    this.bySource = implicit ? new Map(entries.map((e) => [e.source, e])) : undefined;
  }

  /** Every leaf once (tied tensors share one), in the model's field order. */
  leaves(): StateLeaf[] {
    return this.entries.map((e) => e.leaf);
  }

  /** The rule and the number of tensors it updates. */
  toString(): string {
    const frozen = this.entries.filter((e) => e.leaf.frozen).length;
    return `OptimiserState(${showRule(this.rule)}; ${this.entries.length} tensors${frozen > 0 ? `, ${frozen} frozen` : ''})`;
  }
}

/** Can the model walk descend into `x`? (the same notion of structure as src/layers/tree.ts) */
function isNode(x: unknown): x is Record<string, unknown> {
  if (x instanceof Tensor || ArrayBuffer.isView(x)) return false;
  return (typeof x === 'object' && x !== null) || isLayerLike(x);
}

/** Every trainable tensor of `model` with all its paths, in field order. */
function trainableEntries(model: unknown): { tensor: Tensor; paths: string[][] }[] {
  const found = new Map<Tensor, string[][]>();
  const visiting = new Set<object>();
  const walk = (x: unknown, path: string[]): void => {
    if (x instanceof Tensor) {
      const ps = found.get(x);
      if (ps === undefined) found.set(x, [path]); else ps.push(path);
      return;
    }
    if (!isNode(x) || visiting.has(x)) return;
    visiting.add(x);
    if (Array.isArray(x)) x.forEach((e, i) => walk(e, [...path, String(i)]));
    else {
      const skip = constantFields(x);
      for (const k of Object.keys(x)) if (!skip.has(k)) walk(x[k], [...path, k]);
    }
    visiting.delete(x);
  };
  walk(model, []);
  return [...found].map(([tensor, paths]) => ({ tensor, paths }));
}

const pathName = (p: readonly string[]): string => (p.length === 0 ? 'the model' : p.join('.'));

/**
 * Prepare `rule` for `model`: one state per trainable tensor (tensors outside `nonTrainable`
 * fields and frozen parts; a tensor tied into several places gets one state, shared).
 * Also accepts `params(W, b)`, for the implicit style.
 * ```ts
 * const opt = setup(Adam(1e-3), model);
 * const [g] = gradient((m) => logitCrossentropy(m(x), y), model);
 * update(opt, model, g);
 * ```
 */
export function setup(rule: Rule, model: unknown): OptimiserState {
  if (!isRule(rule)) {
    throw new TypeError(`setup: the first argument must be a rule such as Adam(1e-3), got ${describe(rule)}${isRule(model) ? ' (the arguments are setup(rule, model))' : ''}`);
  }
  if (model instanceof Params) {
    const entries = [...model].map((src, i): Entry => ({ leaf: new StateLeaf(rule, rule.init(asTensor(src))), paths: [[String(i)]], source: src }));
    return new OptimiserState(rule, entries.map((e) => e.leaf), entries, true);
  }
  const entries = trainableEntries(model).map(({ tensor: t, paths }): Entry => ({ leaf: new StateLeaf(rule, rule.init(t)), paths, source: t }));
  if (entries.length === 0) throw new TypeError('setup: the model has no trainable tensors (all are frozen, nonTrainable, or there are none)');
  return new OptimiserState(rule, buildTree(entries, model), entries, false);
}

/** The plain tree: leaves at every path of each tensor, `null` holes in arrays. */
function buildTree(entries: readonly Entry[], model: unknown): OptimiserTree {
  if (entries.length === 1 && entries[0].paths[0].length === 0) return entries[0].leaf;
  const root: Record<string, unknown> = {};
  for (const e of entries) {
    for (const p of e.paths) {
      let node = root;
      p.forEach((k, i) => {
        if (i === p.length - 1) node[k] = e.leaf;
        else node = (node[k] ??= {}) as Record<string, unknown>;
      });
    }
  }
  const arrays = (t: unknown, m: unknown): unknown => {
    if (t instanceof StateLeaf || typeof t !== 'object' || t === null) return t;
    const o = t as Record<string, unknown>;
    if (Array.isArray(m)) return m.map((mi, i) => (String(i) in o ? arrays(o[String(i)], mi) : null));
    return Object.fromEntries(Object.keys(o).map((k) => [k, arrays(o[k], (m as Record<string, unknown>)[k])]));
  };
  return arrays(root, model) as OptimiserTree;
}

function asTensor(src: ParamLeaf): Tensor {
  if (src instanceof Tensor) return src;
  if (src instanceof Float32Array || src instanceof Float64Array) return fromData(src, [src.length]);
  return tensor(src);
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (x instanceof Tensor) return `a tensor of shape [${x.shape.join(', ')}]`;
  return typeof x;
}

// the implicit style's state: per rule value, per param (WeakMaps, so nothing is kept alive)
const implicitStates = new WeakMap<Rule, WeakMap<object, StateLeaf>>();

/**
 * Apply one step: every trainable tensor of `model` is updated in place by its rule, with the
 * gradient at the same path of `grads` (a tree shaped like the model, as `gradient` returns;
 * `null` or a missing field means no gradient, no change). Returns `model`.
 * ```ts
 * update(opt, model, g);                              // explicit: opt = setup(rule, model)
 * update(Descent(0.1), params(W, b), gs);             // implicit: gs = gradient(() => …, ps)
 * ```
 * In the implicit style a rule with state (Momentum, Adam) keeps it per rule value and
 * param, so pass the same rule value on every step (or use `setup(rule, params(W, b))`).
 */
export function update<M>(opt: OptimiserState | Rule, model: M, grads: unknown): M {
  if (model instanceof Params) {
    if (!(grads instanceof Grads)) throw new TypeError(`update: with params(...) the gradient must be the Grads that gradient(() => …, params) returns, got ${describe(grads)}`);
    updateImplicit(opt, model, grads);
    return model;
  }
  if (!(opt instanceof OptimiserState)) {
    const what = isRule(opt) ? `the rule ${showRule(opt)}` : describe(opt);
    throw new TypeError(`update: expected the optimiser state from setup(rule, model), got ${what}; call \`const opt = setup(rule, model)\` once and pass opt`);
  }
  if (opt.bySource !== undefined) throw new TypeError('update: this optimiser state was set up for params(...); pass those params and their Grads');
  if (grads instanceof Grads) throw new TypeError('update: got Grads (from the implicit style) for a model; pass params(...) as the model, or take gradient((m) => …, model)[0]');
  if (Array.isArray(grads) && looksLikeGradientArray(grads, model)) {
    throw new TypeError(`update: the gradient is an array of ${grads.length} (one entry per argument of gradient), but the model is not; you probably want grads[0]`);
  }
  const gradOf = matchGradient(model, grads, opt);
  for (const e of opt.entries) {
    const x = tensorAt(model, e);
    if (e.leaf.frozen) continue;
    let g: Tensor | undefined;
    for (const p of e.paths) if ((g = gradOf.get(p.join('.'))) !== undefined) break;
    if (g === undefined) continue;
    step(e.leaf, x, g);
  }
  return model;
}

function looksLikeGradientArray(grads: unknown[], model: unknown): boolean {
  if (!Array.isArray(model)) return true;
  return grads.length === 1 && model.length !== 1 && Array.isArray(grads[0]) && grads[0].length === model.length;
}

/** The model's tensor at the entry's path (checked against the state: present, same shape). */
function tensorAt(model: unknown, e: Entry): Tensor {
  let x: unknown = model;
  const path = e.paths[0];
  for (const k of path) {
    if (!isNode(x)) break;
    x = x[k];
  }
  if (x === e.source) return x as Tensor;
  if (!(x instanceof Tensor)) throw new TypeError(`update: the model has no tensor at ${pathName(path)}, where the optimiser state has one; was the state set up for another model?`);
  const want = (e.source as Tensor).shape;
  if (x.ndim !== want.length || x.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(`update: the model's tensor at ${pathName(path)} has shape [${x.shape.join(', ')}], the optimiser state was set up for shape [${want.join(', ')}]`);
  }
  return x;
}

// every dotted path that has a state, per optimiser state (its entries never change)
const knownPaths = new WeakMap<OptimiserState, Set<string>>();

/**
 * Walk `grads` with `model`: every gradient tensor must sit where the model has a trainable
 * tensor of the same shape. Returns the gradients by dotted path.
 */
function matchGradient(model: unknown, grads: unknown, opt: OptimiserState): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const walk = (m: unknown, g: unknown, path: string[]): void => {
    if (g === null || g === undefined || typeof g === 'number' || typeof g === 'boolean' || ArrayBuffer.isView(g)) return;
    const at = pathName(path);
    if (m instanceof Tensor) {
      if (!(g instanceof Tensor)) throw new TypeError(`update: the gradient at ${at} must be a tensor like the model's, got ${describe(g)}`);
      if (g.ndim !== m.ndim || g.shape.some((d, i) => d !== m.shape[i])) {
        throw new ShapeError(`update: the gradient at ${at} has shape [${g.shape.join(', ')}], the model's tensor there has shape [${m.shape.join(', ')}]`);
      }
      out.set(path.join('.'), g);
      return;
    }
    if (g instanceof Tensor) throw new TypeError(`update: the gradient has a tensor at ${at}, where the model has ${m === undefined ? 'nothing' : describe(m)}`);
    if (!isNode(m)) throw new TypeError(`update: the gradient has ${describe(g)} at ${at}, where the model has ${m === undefined ? 'nothing' : describe(m)}`);
    if (typeof g !== 'object') return;
    if (Array.isArray(m)) {
      if (!Array.isArray(g) || g.length !== m.length) throw new TypeError(`update: the gradient at ${at} must be an array of ${m.length} like the model's, got ${describe(g)}`);
      g.forEach((gi, i) => walk(m[i], gi, [...path, String(i)]));
      return;
    }
    const skip = constantFields(m);
    for (const k of Object.keys(g)) {
      if (!(k in m)) throw new TypeError(`update: the gradient has a field '${k}' at ${at} that the model lacks (its fields: ${Object.keys(m).join(', ')})`);
      if (!skip.has(k)) walk(m[k], (g as Record<string, unknown>)[k], [...path, k]);
    }
  };
  walk(model, grads, []);
  if (out.size > 0) {
    let known = knownPaths.get(opt);
    if (known === undefined) knownPaths.set(opt, (known = new Set(opt.entries.flatMap((e) => e.paths.map((p) => p.join('.'))))));
    for (const k of out.keys()) {
      if (!known.has(k)) throw new TypeError(`update: the optimiser state has no entry for ${k === '' ? 'the model' : k} (it was frozen or absent when setup ran); call setup again after thawing`);
    }
  }
  return out;
}

/** One rule step on one tensor, fused over the raw values when the rule has a kernel. */
function step(leaf: StateLeaf, x: Tensor, g: Tensor): void {
  checkMutable(x, 'update');
  const rule = leaf.rule;
  if (rule.kernel !== undefined && x.device === undefined && x.isContiguous) {
    rule.kernel(leaf.state, x.data, rowMajorValues(leaf, g), null);
    return;
  }
  // a parameter on the GPU: the rule's device kernels, with its state moved there (no read-back)
  if (x.device !== undefined && deviceRuleStep(rule, leaf.state, x, g)) return;
  const [s, d] = rule.apply(leaf.state, x, g);
  leaf.state = s;
  if (d !== null) x.assign(sub(x, d));
}

// Per-leaf scratch for gradients that arrive as transposed views (a Dense weight's gradient
// is the transpose of xᵀ·dy): reused on every step, so the kernel path allocates nothing.
const transposeScratch = new WeakMap<StateLeaf, FloatArray>();
const TILE = 32;

/**
 * The gradient's values in row-major order. A contiguous gradient is its own storage; a 2-D
 * transposed view (strides [1, rows]) is transposed tile by tile into the leaf's scratch
 * array (cache-friendly, unlike the generic strided copy of `.data`); anything else is `.data`.
 */
function rowMajorValues(leaf: StateLeaf, g: Tensor): FloatArray {
  if (g.device !== undefined || g.ndim !== 2 || g.isContiguous) return g.data;
  const { data: src, stride, offset } = g.nd;
  const [rows, cols] = g.shape;
  if (stride[0] !== 1 || stride[1] !== rows) return g.data;
  let out = transposeScratch.get(leaf);
  if (out === undefined || out.length !== g.size || dtypeOf(out) !== g.dtype) {
    out = allocate(g.dtype, g.size);
    transposeScratch.set(leaf, out);
  }
  // out[i, j] = src[offset + j·rows + i]
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let i = i0; i < i1; i++) {
        const o = i * cols;
        for (let j = j0, s = offset + j0 * rows + i; j < j1; j++, s += rows) out[o + j] = src[s];
      }
    }
  }
  return out;
}

function updateImplicit(opt: OptimiserState | Rule, ps: Params, gs: Grads): void {
  let leafOf: (src: object, x: Tensor) => StateLeaf;
  if (opt instanceof OptimiserState) {
    const by = opt.bySource;
    if (by === undefined) throw new TypeError('update: this optimiser state was set up for a model; pass the model and gradient((m) => …, model)[0]');
    leafOf = (src) => {
      const e = by.get(src);
      if (e === undefined) throw new RangeError('update: a param has no state in this optimiser (set it up with the same params)');
      return e.leaf;
    };
  } else if (isRule(opt)) {
    let states = implicitStates.get(opt);
    if (states === undefined) implicitStates.set(opt, (states = new WeakMap()));
    const byRule = states;
    leafOf = (src, x) => {
      let l = byRule.get(src);
      if (l === undefined) byRule.set(src, (l = new StateLeaf(opt, opt.init(x))));
      return l;
    };
  } else throw new TypeError(`update: expected a rule or the state from setup, got ${describe(opt)}`);
  for (const [src, g] of gs) {
    if (!ps.has(src)) throw new RangeError('update: the Grads were taken with respect to other params');
    const x = asTensor(src);
    const leaf = leafOf(src, x);
    if (leaf.frozen) continue;
    const gt = g instanceof Tensor ? g : asTensor(g as ParamLeaf);
    if (gt.size !== x.size) throw new ShapeError(`update: a gradient of ${gt.size} elements for a param of ${x.size}`);
    step(leaf, x, gt);
    if (Array.isArray(src)) writeBack(src, x.data);
  }
}

/** Copy updated values back into a nested number array param. */
function writeBack(arr: unknown[], data: ArrayLike<number>): void {
  let pos = 0;
  const fill = (a: unknown[]): void => {
    for (let i = 0; i < a.length; i++) {
      if (Array.isArray(a[i])) fill(a[i] as unknown[]);
      else a[i] = data[pos++];
    }
  };
  fill(arr);
}

/** The leaves under `path` of the state tree (all of them without a path). */
function leavesAt(opt: OptimiserState, path: string | readonly (string | number)[] | undefined, op: string): StateLeaf[] {
  if (!(opt instanceof OptimiserState)) throw new TypeError(`${op}: expected the optimiser state from setup(rule, model), got ${describe(opt)}`);
  if (path === undefined) return opt.leaves();
  const keys = typeof path === 'string' ? (path === '' ? [] : path.split('.')) : path.map(String);
  let node: unknown = opt.tree;
  for (let i = 0; i < keys.length; i++) {
    const here = node as Record<string, unknown> | null;
    if (here === null || here instanceof StateLeaf || typeof here !== 'object' || !(keys[i] in here) || here[keys[i]] === null) {
      const has = here !== null && typeof here === 'object' && !(here instanceof StateLeaf)
        ? Object.keys(here).filter((k) => here[k] !== null) : [];
      const prefix = keys.slice(0, i).join('.');
      throw new RangeError(`${op}: the optimiser state has no entry at ${keys.slice(0, i + 1).join('.')}` +
        (has.length > 0 ? ` (entries there: ${has.map((k) => (prefix ? `${prefix}.${k}` : k)).join(', ')})` : ''));
    }
    node = here[keys[i]];
  }
  const out = new Set<StateLeaf>();
  const walk = (t: unknown): void => {
    if (t instanceof StateLeaf) out.add(t);
    else if (typeof t === 'object' && t !== null) Object.values(t).forEach(walk);
  };
  walk(node);
  return [...out];
}

/**
 * Stop updating part of the model: `freezeState(opt, 'layers.0')` (or `['layers', 0]`, or no
 * path for everything) marks those leaves of the optimiser state frozen; their moments are
 * kept. Unlike `freeze(layer)` from the layers module, which takes a part out of the model's
 * trainables (no gradient is even computed), this only pauses the optimiser. Returns `opt`.
 */
export function freezeState(opt: OptimiserState, path?: string | readonly (string | number)[]): OptimiserState {
  for (const l of leavesAt(opt, path, 'freezeState')) l.frozen = true;
  return opt;
}

/** Undo {@link freezeState} under `path` (everything without one). Returns `opt`. */
export function thawState(opt: OptimiserState, path?: string | readonly (string | number)[]): OptimiserState {
  for (const l of leavesAt(opt, path, 'thawState')) l.frozen = false;
  return opt;
}

/**
 * Change hyperparameters without losing the state: `adjust(opt, { eta: 1e-4 })` or
 * `adjust(opt, 1e-4)` for the learning rate; a `path` limits it to part of the model. A name
 * that the rule does not have is an error listing the ones it has. Applied to a rule, returns
 * the adjusted rule. Returns `opt`.
 */
export function adjust(opt: OptimiserState, changes: number | { readonly [name: string]: HyperValue }, path?: string | readonly (string | number)[]): OptimiserState;
export function adjust(rule: Rule, changes: number | { readonly [name: string]: HyperValue }): Rule;
export function adjust(opt: OptimiserState | Rule, changes: number | { readonly [name: string]: HyperValue }, path?: string | readonly (string | number)[]): OptimiserState | Rule {
  const named = typeof changes === 'number' ? { eta: changes } : changes;
  if (typeof named !== 'object' || named === null) throw new TypeError(`adjust: expected a learning rate or an object of hyperparameters, got ${describe(changes)}`);
  if (Object.keys(named).length === 0) throw new TypeError('adjust: nothing to change (pass e.g. { eta: 1e-4 })');
  if (isRule(opt) && !(opt instanceof OptimiserState)) return adjustRule(opt, named);
  const memo = new Map<Rule, Rule>();
  const leaves = leavesAt(opt as OptimiserState, path, 'adjust');
  // compute every new rule first, so an error changes nothing
  for (const l of leaves) if (!memo.has(l.rule)) memo.set(l.rule, adjustRule(l.rule, named));
  for (const l of leaves) l.rule = memo.get(l.rule)!;
  return opt as OptimiserState;
}

function adjustRule(rule: Rule, changes: { readonly [name: string]: HyperValue }): Rule {
  const known = Object.keys(rule.hyper);
  for (const k of Object.keys(changes)) {
    if (!known.includes(k)) {
      const list = known.length === 0 ? 'it has none' : `its hyperparameters are ${known.join(', ')}`;
      throw new TypeError(`adjust: ${rule.name} has no hyperparameter '${k}'; ${list}`);
    }
    if (rule.name === 'RMSProp' && k === 'centred' && changes[k] !== rule.hyper[k]) {
      throw new TypeError('adjust: RMSProp\'s centred cannot be changed, as the two variants keep different state; call setup again');
    }
  }
  if (rule.with === undefined) throw new TypeError(`adjust: ${rule.name} cannot be adjusted (the rule has no with method)`);
  return rule.with(changes);
}
