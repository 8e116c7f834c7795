/** Checking layers: gradients with respect to inputs and every parameter, by finite differences. */
import { Tensor } from '../../src/tensor/tensor.js';
import { f64, fmap, tensorEntries } from '../../src/layers/tree.js';
import { checkGradient, checkSecondOrder } from './gradcheck.js';

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
