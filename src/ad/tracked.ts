/**
 * Traced values: {@link TrackedTensor} (a Tensor whose operations are recorded) and the
 * helpers that resolve what is live. {@link TrackedNumber} lives in `tape.ts`.
 */
import { Tensor, type NestedNumbers } from '../tensor/tensor.js';
import { formatTensor } from '../tensor/format.js';
import type { FloatArray } from '../tensor/dtype.js';
import type { NdArray } from 'ndarray';
import { type Tape, TrackedNumber, primalNumber } from './tape.js';

/** A tensor being differentiated: reads show its values; operations on it are recorded. */
export class TrackedTensor extends Tensor {
  readonly gen: number;

  constructor(
    /** The value one level down (possibly traced by an enclosing gradient). */
    readonly primal: Tensor,
    readonly tape: Tape,
    readonly id: number,
  ) {
    super(null, primal.shape, primal.dtype);
    this.gen = tape.gen;
    this._ad = this;
  }

  /** Whether this value is still being recorded (its gradient call is running). */
  get live(): boolean {
    return this.tape.open && this.tape.gen === this.gen;
  }

  /** @internal The primal's CPU `ndarray` view, internal as on Tensor. */
  override get nd(): NdArray<FloatArray> {
    return this.primal.nd;
  }

  /** A copy of the values: writing into a traced tensor's storage would corrupt the derivative. */
  override get data(): FloatArray {
    return this.primal.data.slice();
  }

  /** The single value, as a traced number. */
  override item(): number {
    if (this.size !== 1) return super.item();
    return elements(this, [0])[0] as unknown as number;
  }

  /** The value at an index, as a traced number. */
  override get(...idx: number[]): number {
    super.get(...idx); // validates the index
    let flat = 0;
    idx.forEach((k, d) => (flat = flat * this.shape[d] + (k < 0 ? k + this.shape[d] : k)));
    return elements(this, [flat])[0] as unknown as number;
  }

  /** Nested arrays of traced numbers. */
  override toArray(): NestedNumbers {
    const all = elements(this, Array.from({ length: this.size }, (_, i) => i)) as unknown as number[];
    if (this.ndim === 0) return all[0];
    let pos = 0;
    const build = (d: number): NestedNumbers[] =>
      Array.from({ length: this.shape[d] }, () => (d === this.ndim - 1 ? all[pos++] : build(d + 1)));
    return build(0);
  }

  override toString(): string {
    return `${formatTensor(primalTensor(this))} (traced)`;
  }
}

/** A plain tensor registered as an implicit param by gradients in flight: one entry per gradient. */
export interface ParamSlot {
  regs: { tape: Tape; gen: number; leaf?: TrackedTensor }[];
  /** The same storage without the registration, as the innermost primal. */
  alias?: Tensor;
}

/**
 * The live form of a tensor: stale traced levels dropped; a registered param replaced by
 * its chain of leaves (one per gradient that registered it, outermost innermost-last).
 */
export function resolveTensor(t: Tensor): Tensor {
  if (t instanceof TrackedTensor) {
    let u: Tensor = t;
    while (u instanceof TrackedTensor && !u.live) u = u.primal;
    return u._ad !== undefined && !(u instanceof TrackedTensor) ? resolveTensor(u) : u;
  }
  const slot = t._ad as ParamSlot | undefined;
  if (slot === undefined) return t;
  let base: Tensor = (slot.alias ??= new Tensor(t.nd));
  for (const reg of slot.regs) {
    if (!reg.tape.open || reg.tape.gen !== reg.gen) continue;
    reg.leaf ??= new TrackedTensor(base, reg.tape, reg.tape.leaf());
    base = reg.leaf;
  }
  return base;
}

/** The plain tensor under every level of tracing. */
export function primalTensor(t: Tensor): Tensor {
  while (t instanceof TrackedTensor) t = t.primal;
  return t;
}

/** The plain number or tensor under a traced value (anything else is returned as is). */
export function primal<T>(x: T): T {
  if (x instanceof TrackedNumber) return primalNumber(x) as T;
  if (x instanceof TrackedTensor) return primalTensor(x) as T;
  return x;
}

/** True for traced numbers and traced tensors. */
export function isTracked(x: unknown): boolean {
  return x instanceof TrackedNumber || x instanceof TrackedTensor;
}

/**
 * Traced numbers for the elements at flat `indices` of `t`. One collector node gathers the
 * elements' cotangents into a tensor, so reading all n elements costs O(n), not O(n²).
 */
export function elements(t: TrackedTensor, indices: readonly number[]): (number | TrackedNumber)[] {
  const lt = resolveTensor(t);
  if (!(lt instanceof TrackedTensor)) {
    const d = lt.data;
    return indices.map((i) => d[i]);
  }
  const tape = lt.tape;
  const below: (number | TrackedNumber)[] = lt.primal instanceof TrackedTensor
    ? elements(lt.primal, indices)
    : ((d) => indices.map((i) => d[i]))(lt.primal.data);
  const cts: unknown[] = new Array(indices.length);
  const collector = tape.general([lt.id], () => {
    const g = packCotangent(lt, indices, cts);
    cts.fill(undefined);
    return [g];
  });
  return below.map((v, k) => {
    const id = tape.general([collector], (g) => {
      cts[k] = cts[k] === undefined ? g : addScalars(cts[k], g);
      return [0]; // a token, so the collector runs; it reads `cts`
    });
    return new TrackedNumber(v, tape, id, tape.gen);
  });
}

let addScalars: (a: unknown, b: unknown) => unknown = () => {
  throw new Error('fluxion: AD layer not loaded');
};
let packCotangent: (t: Tensor, indices: readonly number[], cts: unknown[]) => Tensor = () => {
  throw new Error('fluxion: AD layer not loaded');
};

/** @internal Installed by `ad/trace` (it needs the operations, which this module must not import). */
export function setElementMath(add: typeof addScalars, pack: typeof packCotangent): void {
  addScalars = add;
  packCotangent = pack;
}
