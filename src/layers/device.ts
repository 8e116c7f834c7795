/**
 * `gpu(model)` and `cpu(model)`: the same model with its tensors moved to the GPU backend's
 * device, or back. Operations whose inputs live on the device run there whatever
 * `setBackend` says, so a moved model runs on the GPU and returns the same results (within
 * float32 rounding). Works on any tree `fmap` walks: a layer, a Chain, an array, a tensor.
 */
import ndarray from 'ndarray';
import { Tensor } from '../tensor/tensor.js';
import { availableDeviceBackend, backendInfo } from '../backend/index.js';
import { fmap } from './tree.js';

let warned = false;

/**
 * A copy of `model` whose tensors live on the GPU (float32: float64 parameters are rounded,
 * since the device computes in float32). Where no GPU can start, warns once and returns
 * `model` unchanged, so the same program runs on the CPU.
 * ```ts
 * const m = gpu(Chain(Dense(784, 128, relu), Dense(128, 10)));
 * const x = gpu(batch);          // upload the batch once
 * m(x).toArray();                // the only read-back
 * ```
 */
export function gpu<M>(model: M): M {
  const device = availableDeviceBackend();
  if (device === undefined) {
    if (!warned) {
      warned = true;
      console.warn(`fluxion: gpu(model): no GPU backend can start here (${backendInfo().reason ?? 'no device'}); the model stays on the CPU`);
    }
    return model;
  }
  const cast = device.kernels.cast!;
  return fmap((x) => (x.device?.backend === 'gpu' || x.size === 0 ? x : cast([x], { dtype: 'float32' })), model);
}

/** A copy of `model` whose tensors live on the CPU (float32 values read back from the device; CPU tensors are kept). */
export function cpu<M>(model: M): M {
  return fmap((x) => (x.device?.backend === 'gpu' ? new Tensor(ndarray(Float32Array.from(x.data), x.shape.slice())) : x), model);
}
