/**
 * Inference fusion of neighbouring Chain entries: a fusion sees the entries, a position and
 * the input, and returns the output of a run of entries from there (two or more), bit for bit
 * what calling them one by one would return, or `undefined` when it does not apply (the Chain
 * then calls the entry alone). Fusions run only while no gradient is open
 * (`tracingDepth() === 0`), on a tensor input, and not while `shapes()` records calls, so
 * gradients, error paths and debugging output see every layer. Layer families register their
 * own: conv.ts a convolution followed by 2×2 max pooling, basic.ts runs of Dense layers on a
 * few rows. A fusion may throw only the errors its first entry's own call would throw.
 *
 * @module
 */
import { tracingDepth } from '../ad/tape.js';
import { Tensor } from '../tensor/tensor.js';

/** The output of entries `at`, `at + 1`, … (`count` of them, at least 2) on `x`, or `undefined` where the fusion does not apply. */
export type RunFusion = (entries: readonly unknown[], at: number, x: Tensor) => { y: Tensor; count: number } | undefined;

const fusions: RunFusion[] = [];
let suspended = 0;

/** @internal Add a fusion (at module load of a layer family). */
export function registerRunFusion(f: RunFusion): void {
  fusions.push(f);
}

/** @internal Whether `x` is a layer of exactly class `cls` (not a subclass) with no `forward` of its own. */
export function plainInstance(x: unknown, cls: { prototype: object }): boolean {
  return typeof x === 'function' && Object.getPrototypeOf(x) === cls.prototype && !Object.prototype.hasOwnProperty.call(x, 'forward');
}

/** @internal Whether a Chain called with `x` should try its fusions now. */
export function fusionApplies(x: unknown): x is Tensor {
  return suspended === 0 && fusions.length > 0 && x instanceof Tensor && tracingDepth() === 0;
}

/** @internal The first registered fusion's run from entry `at`, or `undefined`. */
export function fuseRun(entries: readonly unknown[], at: number, x: Tensor): { y: Tensor; count: number } | undefined {
  for (const f of fusions) {
    const r = f(entries, at, x);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** @internal Run `fn` with every Chain calling its entries one by one (debug.ts's call recording). */
export function withoutFusion<T>(fn: () => T): T {
  suspended++;
  try {
    return fn();
  } finally {
    suspended--;
  }
}
