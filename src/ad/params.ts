/**
 * Implicit parameters, as in Flux: `gradient(() => loss(), params(W, b))` differentiates
 * with respect to tensors (and arrays) the function reaches by itself, recognised by
 * identity while the gradient runs.
 */
import { add } from '../ops/elementwise.js';
import { tensor } from '../tensor/convert.js';
import { Tensor } from '../tensor/tensor.js';
import type { Tape } from './tape.js';
import { type ParamSlot, TrackedTensor } from './tracked.js';
import { registerArrayParam } from './trace.js';
import { constantFields, isFloatArray, isLayerLike } from './structure.js';

/** Something with identity that holds numbers: a tensor, a typed array, or a (nested) number array. */
export type ParamLeaf = Tensor | Float32Array | Float64Array | number[];

function isNumberArray(x: unknown): x is number[] {
  if (!Array.isArray(x)) return false;
  let v: unknown = x;
  while (Array.isArray(v)) v = v[0];
  return typeof v === 'number' || v === undefined;
}

/** A set of implicit parameters, keyed by object identity. Build it with {@link params}. */
export class Params implements Iterable<ParamLeaf> {
  /** @internal The differentiable leaves, in order of discovery. */
  readonly leaves: Tensor[] = [];
  /** @internal The original objects behind each leaf (a tensor stands for itself). */
  readonly sources: ParamLeaf[] = [];
  private readonly index = new Map<object, number>();

  /** @internal */
  constructor(objs: readonly unknown[]) {
    objs.forEach((o, i) => this.collect(o, `argument ${i + 1}`, new Set(), false));
  }

  private addLeaf(x: ParamLeaf): void {
    if (this.index.has(x)) return;
    if (x instanceof TrackedTensor) throw new TypeError('params: a traced tensor (a value being differentiated) cannot be a param; pass it as an argument to gradient instead');
    this.index.set(x, this.leaves.length);
    this.sources.push(x);
    this.leaves.push(x instanceof Tensor ? x : tensor(x as number[]));
  }

  private collect(x: unknown, at: string, seen: Set<object>, inLayer: boolean): void {
    // in a layer only tensors are parameters: numbers, number arrays and typed arrays are configuration
    if (inLayer && !(x instanceof Tensor) && (typeof x !== 'object' || x === null || ArrayBuffer.isView(x) || isNumberArray(x)) && !isLayerLike(x)) return;
    if (typeof x === 'number') {
      throw new TypeError(`params: ${at} is a plain number, which has no identity to track; keep it in a tensor or an array (e.g. \`const w = tensor([0.5])\`) and pass that`);
    }
    if (x instanceof Tensor || isFloatArray(x) || isNumberArray(x)) return this.addLeaf(x as ParamLeaf);
    const layer = isLayerLike(x);
    if ((typeof x !== 'object' && !layer) || x === null || seen.has(x)) return;
    seen.add(x);
    if (Array.isArray(x)) return x.forEach((e, i) => this.collect(e, `${at}[${i}]`, seen, inLayer));
    if (x instanceof Map || x instanceof Set) throw new TypeError(`params: ${at} is a ${x.constructor.name}; pass its values instead`);
    const skip = constantFields(x);
    for (const k of Object.keys(x)) {
      const f = (x as Record<string, unknown>)[k];
      if (!skip.has(k) && typeof f !== 'number') this.collect(f, `${at}.${k}`, seen, inLayer || layer);
    }
  }

  /** Number of param leaves. */
  get size(): number {
    return this.leaves.length;
  }

  /** Is `x` one of the params? */
  has(x: object): boolean {
    return this.index.has(x);
  }

  /** @internal Position of a leaf. */
  indexOf(x: object): number | undefined {
    return this.index.get(x);
  }

  [Symbol.iterator](): Iterator<ParamLeaf> {
    return this.sources[Symbol.iterator]();
  }
}

/**
 * Collect implicit parameters: tensors, typed arrays and number arrays, found in the
 * arguments themselves or in the fields of objects (models) among them.
 * ```ts
 * const ps = params(W, b);          // or params(model)
 * const gs = gradient(() => loss(model, x, y), ps);
 * ```
 */
export function params(...objs: unknown[]): Params {
  return new Params(objs);
}

/** @internal Register `ps` with `tape`; returns a getter for the leaves actually traced. */
export function beginParams(ps: Params, tape: Tape): () => (Tensor | undefined)[] {
  const getters = ps.sources.map((src, i) => {
    tape.guarded.add(src);
    if (src instanceof Tensor) {
      const slot = ((src._ad as ParamSlot | undefined) ?? { regs: [] }) as ParamSlot;
      src._ad = slot;
      const reg: ParamSlot['regs'][number] = { tape, gen: tape.gen };
      slot.regs.push(reg);
      tape.onClose.push(() => {
        slot.regs.splice(slot.regs.indexOf(reg), 1);
        if (slot.regs.length === 0) src._ad = undefined;
      });
      return () => reg.leaf;
    }
    return registerArrayParam(src, tape, () => (isFloatArray(src) ? tensor(src) : tensor(src as number[])));
  });
  return () => getters.map((g) => g());
}

/** Gradients with respect to {@link Params}, keyed by the same objects. */
export class Grads implements Iterable<[ParamLeaf, unknown]> {
  /** @internal */
  constructor(private readonly ps: Params, private readonly grads: Tensor[]) {}

  /** Is there a gradient for `p`? */
  has(p: object): boolean {
    return this.ps.has(p);
  }

  /**
   * The gradient for a param, shaped like it: a Tensor for a tensor, the same typed array type
   * for a typed array, nested arrays for a number array; for an object passed to `params`,
   * an object with the same keys (null where a field holds no param).
   */
  get(p: Tensor): Tensor;
  get(p: Float32Array): Float32Array;
  get(p: Float64Array): Float64Array;
  get(p: number[]): number[];
  get(p: object): any;
  get(p: object): unknown {
    const i = this.ps.indexOf(p);
    if (i !== undefined) return this.shaped(i);
    if (((typeof p === 'object' && p !== null) || isLayerLike(p)) && !(p instanceof Tensor)) return this.structured(p, new Set());
    throw new RangeError('Grads.get: not one of the params this gradient was taken with respect to');
  }

  private shaped(i: number): unknown {
    const src = this.ps.sources[i], g = this.grads[i];
    if (src instanceof Tensor || g instanceof TrackedTensor) return g;
    if (isFloatArray(src)) return new (src.constructor as Float64ArrayConstructor)(g.data);
    return g.toArray();
  }

  private structured(o: object, seen: Set<object>): unknown {
    const i = this.ps.indexOf(o);
    if (i !== undefined) return this.shaped(i);
    if (seen.has(o)) return null;
    seen.add(o);
    if (Array.isArray(o)) return o.map((e) => (typeof e === 'object' && e !== null ? this.structured(e, seen) : null));
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) {
      const f = (o as Record<string, unknown>)[k];
      out[k] = (typeof f === 'object' && f !== null) || isLayerLike(f) ? this.structured(f, seen) : null;
    }
    return out;
  }

  /** The params, in the order they were collected. */
  keys(): ParamLeaf[] {
    return [...this.ps];
  }

  /** `[param, gradient]` pairs. */
  *[Symbol.iterator](): Iterator<[ParamLeaf, unknown]> {
    for (let i = 0; i < this.grads.length; i++) yield [this.ps.sources[i], this.shaped(i)];
  }

  /** A new Grads with `fn` applied to every gradient tensor. */
  map(fn: (g: Tensor, p: ParamLeaf) => Tensor): Grads {
    return new Grads(this.ps, this.grads.map((g, i) => fn(g, this.ps.sources[i])));
  }

  /** Elementwise sum with another Grads over the same params (e.g. accumulating over batches). */
  plus(other: Grads): Grads {
    if (other.ps !== this.ps && (other.ps.size !== this.ps.size || this.ps.sources.some((s, i) => other.ps.sources[i] !== s))) {
      throw new RangeError('Grads.plus: the two gradients were taken with respect to different params');
    }
    return new Grads(this.ps, this.grads.map((g, i) => add(g, other.grads[i])));
  }
}
