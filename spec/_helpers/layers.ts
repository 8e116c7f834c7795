/**
 * Checking layers: gradients with respect to inputs and every parameter, by finite
 * differences; seeded random inputs and the elementwise comparison the layer specs share.
 */
import * as assert from 'uvu/assert';
import { Tensor } from '../../src/tensor/tensor.js';
import { fromData } from '../../src/tensor/convert.js';
import type { DType } from '../../src/tensor/dtype.js';
import { f64, fmap, tensorEntries } from '../../src/layers/tree.js';
import { checkGradient, checkSecondOrder } from './gradcheck.js';
import { seededValues } from './arbitraries.js';

/** A tensor of `shape` with seeded random values (`seededValues`, in [−1, 1)), float32 unless told. */
export const randomTensor = (shape: number[], s: number, dtype: DType = 'float32'): Tensor =>
  fromData(seededValues(shape.reduce((a, b) => a * b, 1), s, dtype), shape);

/** `actual` ≈ `expected` elementwise: |a − e| ≤ tol·(1 + |e|), same length; `what` names the failing entry. */
export function close(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const a = actual instanceof Tensor ? actual.data : actual;
  assert.is(a.length, expected.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const e = expected[i];
    assert.ok(Math.abs(a[i] - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: ${a[i]} vs ${e}`);
  }
}

/**
 * `f(inputs…, params…)`: the layer in float64 applied to the inputs, with its trainable
 * tensors replaced by the given arguments, so gradcheck differentiates all of them at once.
 */
export function asFunction(layer: unknown, nInputs: number): { f: (...args: Tensor[]) => unknown; params: Tensor[] } {
  const model = f64(layer);
  const params = tensorEntries(model).filter((e) => e.trainable).map((e) => e.tensor);
  const f = (...args: Tensor[]): unknown => {
    const subst = new Map<Tensor, Tensor>(params.map((p, i) => [p, args[nInputs + i]]));
    const m = fmap((t) => subst.get(t) ?? t, model) as (...xs: Tensor[]) => unknown;
    return m(...args.slice(0, nInputs));
  };
  return { f, params };
}

/** First-order check of a layer's gradients (inputs and parameters) in float64. */
export function checkLayerGradient(layer: unknown, inputs: Tensor[], seed = 1, label = 'layer'): void {
  const { f, params } = asFunction(layer, inputs.length);
  checkGradient(f, [...inputs.map((x) => x.astype('float64')), ...params], { seed, label });
}

/** Second-order check (Hessian-vector products) of a smooth layer. */
export function checkLayerSecondOrder(layer: unknown, inputs: Tensor[], seed = 1, label = 'layer'): void {
  const { f, params } = asFunction(layer, inputs.length);
  checkSecondOrder(f, [...inputs.map((x) => x.astype('float64')), ...params], { seed, label });
}
