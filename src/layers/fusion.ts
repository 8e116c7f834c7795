/**
 * Inference fusion of neighbouring Chain entries: a fusion sees two adjacent entries and the
 * input and returns the pair's output, bit for bit what the two calls would return, or
 * `undefined` when it does not apply (the Chain then calls them one by one). Fusions run only
 * while no gradient is open (`tracingDepth() === 0`), on a tensor input, and not while
 * `shapes()` records calls, so gradients, error paths and debugging output see every layer.
 * Layer families register their own (conv.ts: a convolution followed by 2×2 max pooling).
 *
 * @module
 */
import { tracingDepth } from '../ad/tape.js';
import { Tensor } from '../tensor/tensor.js';

/** The fused output of `first` then `second` on `x`, or `undefined` where the fusion does not apply. */
export type PairFusion = (first: unknown, second: unknown, x: Tensor) => Tensor | undefined;

const fusions: PairFusion[] = [];
let suspended = 0;

/** @internal Add a fusion (at module load of a layer family). */
export function registerPairFusion(f: PairFusion): void {
  fusions.push(f);
}

/** @internal Whether a Chain called with `x` should try its fusions now. */
export function fusionApplies(x: unknown): x is Tensor {
  return suspended === 0 && fusions.length > 0 && x instanceof Tensor && tracingDepth() === 0;
}

/** @internal The first registered fusion's output for the pair, or `undefined`. */
export function fusePair(first: unknown, second: unknown, x: Tensor): Tensor | undefined {
  for (const f of fusions) {
    const y = f(first, second, x);
    if (y !== undefined) return y;
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
