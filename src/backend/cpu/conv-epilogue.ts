/**
 * The bias-and-relu pass that follows a convolution whose kernel did not fuse it (im2col
 * paths, float64), applied in place to the convolution's own fresh output.
 *
 * @module
 */
import type { FloatArray } from '../../tensor/dtype.js';

/**
 * `y[b, o, i] ← relu?(y[b, o, i] + bias[o])` over `y` laid out `[n, channels, plane]`. Each
 * step rounds as the separate kernels store it: the typed-array store rounds the sum to the
 * dtype, and relu is `v < 0 ? 0 : v` (NaN stays NaN, −0 stays −0).
 */
export function convEpilogueInPlace(y: FloatArray, n: number, channels: number, plane: number, bias: FloatArray | null, relu: boolean): void {
  if (bias === null && !relu) return;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < channels; o++) {
      const start = (b * channels + o) * plane, end = start + plane;
      if (bias !== null) {
        const bo = bias[o]!;
        for (let i = start; i < end; i++) y[i] += bo;
      }
      if (relu) {
        for (let i = start; i < end; i++) { const v = y[i]!; y[i] = v < 0 ? 0 : v; }
      }
    }
  }
}
