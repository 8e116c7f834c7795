/**
 * Saving and restoring optimiser state, so training resumes exactly: the moments and step
 * counters of every leaf, keyed by the model's paths (`layers.0.weight.m`), as plain trees
 * of tensors and numbers that a checkpoint writer (safetensors) can store beside the model.
 */
import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../tensor/shape.js';
import { flattenState, copyOf } from '../layers/tree.js';
import { OptimiserState } from './setup.js';

/** A saved optimiser state: nested objects and arrays of tensors and numbers (step counters). */
export type SavedOptimiserState = Tensor | number | null | SavedOptimiserState[] | { [key: string]: SavedOptimiserState };

function copyState(s: unknown): SavedOptimiserState | undefined {
  if (s instanceof Tensor) return copyOf(s);
  if (typeof s === 'number') return s;
  if (s === null || s === undefined) return null;
  if (Array.isArray(s)) return s.map((e) => copyState(e) ?? null);
  if (typeof s === 'object') {
    const out: Record<string, SavedOptimiserState> = {};
    for (const [k, v] of Object.entries(s)) out[k] = copyState(v) ?? null;
    return out;
  }
  return undefined; // booleans, strings, functions: configuration, not state
}

/** Does a state hold anything to save? */
function hasValues(s: unknown): boolean {
  if (s instanceof Tensor || typeof s === 'number') return true;
  if (typeof s !== 'object' || s === null) return false;
  return Object.values(s).some(hasValues);
}

/**
 * A copy of the optimiser's state: for every tensor the model trains, its rule's state
 * (tensors copied, step counters as numbers), at the tensor's path in the model. Tied
 * tensors appear once, at their first path; rules without state (Descent) are left out.
 * ```ts
 * const saved = optimiserState(opt);   // { layers: { 0: { weight: { m, v, t }, … } } }
 * loadOptimiserState(opt2, saved);      // resume exactly
 * ```
 */
export function optimiserState(opt: OptimiserState): SavedOptimiserState {
  if (!(opt instanceof OptimiserState)) throw new TypeError('optimiserState: expected the optimiser state from setup(rule, model)');
  const root: Record<string, SavedOptimiserState> = {};
  for (const e of opt.entries) {
    if (!hasValues(e.leaf.state)) continue;
    const path = e.paths[0];
    const value = copyState(e.leaf.state) ?? null;
    if (path.length === 0) return value;
    let node = root;
    path.forEach((k, i) => {
      if (i === path.length - 1) node[k] = value;
      else node = (node[k] ??= {}) as Record<string, SavedOptimiserState>;
    });
  }
  return root;
}

type Slot = { key: string; value: Tensor | number | null; set: (v: number) => void };

/** Every value of a leaf's state with its dotted key, and a setter for the numbers. */
function slotsOf(holder: { state: unknown }, prefix: string): Slot[] {
  const out: Slot[] = [];
  const join = (a: string, b: string): string => (a === '' ? b : `${a}.${b}`);
  const walk = (v: unknown, key: string, set: (x: number) => void): void => {
    if (v instanceof Tensor || typeof v === 'number' || v === null || v === undefined) {
      out.push({ key, value: (v ?? null) as Tensor | number | null, set });
      return;
    }
    if (typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    const keys = Array.isArray(v) ? v.map((_, i) => String(i)) : Object.keys(o);
    for (const k of keys) walk(o[k], join(key, k), (x) => { o[k] = x; });
  };
  walk(holder.state, prefix, (x) => { holder.state = x; });
  return out;
}

/**
 * Restore a state saved by {@link optimiserState} (or the same keys flattened, as read back
 * from a checkpoint: `{ 'layers.0.weight.m': tensor, … }`; a counter may come back as a
 * one-element tensor). Every key, shape and counter is checked first, and the first mismatch
 * is reported by its path; nothing is written unless everything fits. Returns `opt`.
 */
export function loadOptimiserState(opt: OptimiserState, saved: unknown): OptimiserState {
  const op = 'loadOptimiserState';
  if (!(opt instanceof OptimiserState)) throw new TypeError(`${op}: expected the optimiser state from setup(rule, model)`);
  const given = saved instanceof Tensor || typeof saved === 'number' ? new Map<string, unknown>([['', saved]]) : flattenState(saved ?? {});
  const writes: (() => void)[] = [];
  for (const e of opt.entries) {
    for (const slot of slotsOf(e.leaf, e.paths[0].join('.'))) {
      const name = slot.key === '' ? 'the model' : slot.key;
      const v = given.get(slot.key);
      given.delete(slot.key);
      const cur = slot.value;
      if (cur === null) {
        if (v !== null && v !== undefined) throw new TypeError(`${op}: the saved state has a value at ${name}, where this optimiser keeps none`);
        continue;
      }
      if (v === undefined || v === null) throw new RangeError(`${op}: the saved state has no entry for ${name}`);
      if (cur instanceof Tensor) {
        if (!(v instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a tensor in the saved state, got ${typeof v}`);
        if (v.ndim !== cur.ndim || v.shape.some((d, i) => d !== cur.shape[i])) {
          throw new ShapeError(`${op}: ${name} has shape [${cur.shape.join(', ')}] in the optimiser, [${v.shape.join(', ')}] in the saved state`);
        }
        writes.push(() => { cur.assign(v); });
      } else {
        const n = v instanceof Tensor && v.size === 1 ? v.item() : v;
        if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError(`${op}: ${name} must be a number (a step counter) in the saved state, got ${v instanceof Tensor ? `a tensor of shape [${v.shape.join(', ')}]` : typeof v}`);
        writes.push(() => slot.set(n));
      }
    }
  }
  const extra = [...given.entries()].filter(([, v]) => v !== null && v !== undefined).map(([k]) => k);
  if (extra.length > 0) throw new RangeError(`${op}: the saved state has ${extra.length === 1 ? 'an entry' : 'entries'} this optimiser lacks: ${extra.join(', ')}`);
  for (const w of writes) w();
  return opt;
}
