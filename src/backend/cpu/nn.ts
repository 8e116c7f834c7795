/** Tensor-level wrappers around the convolution and pooling kernels (which work on row-major arrays). */
import { Tensor } from '../../tensor/tensor.js';
import type { Conv2dParams, Pool2dParams } from '../../ops/primitive.js';
import * as conv from './conv.js';
import * as pool from './pool.js';
import { tensorOf } from './ndview.js';

const wrap = (data: Float32Array | Float64Array, shape: number[]) => tensorOf(data, shape);
const dims = (t: Tensor) => t.shape as unknown as conv.Shape4;
const four = (s: number[]) => s as unknown as conv.Shape4;

export function conv2d(x: Tensor, w: Tensor, p: Conv2dParams): Tensor {
  return wrap(conv.conv2d(x.data, dims(x), w.data, dims(w), p), conv.conv2dOutputShape(dims(x), dims(w), p) as number[]);
}

export function conv2dBackwardInput(dy: Tensor, w: Tensor, p: Conv2dParams & { xShape: number[] }): Tensor {
  return wrap(conv.conv2dBackwardInput(dy.data, dims(dy), w.data, dims(w), four(p.xShape), p), p.xShape);
}

export function conv2dBackwardFilter(x: Tensor, dy: Tensor, p: Conv2dParams & { wShape: number[] }): Tensor {
  return wrap(conv.conv2dBackwardFilter(x.data, dims(x), dy.data, dims(dy), four(p.wShape), p), p.wShape);
}

export function maxPool2d(x: Tensor, p: Pool2dParams): Tensor {
  return wrap(pool.maxPool2dValues(x.data, dims(x), p), pool.pool2dOutputShape(dims(x), p) as number[]);
}

export function maxPool2dBackward(x: Tensor, dy: Tensor, p: Pool2dParams): Tensor {
  return wrap(pool.maxPool2dGradient(x.data, dy.data, dims(x), p), x.shape.slice());
}

export function maxPool2dGather(x: Tensor, v: Tensor, p: Pool2dParams): Tensor {
  return wrap(pool.maxPool2dGatherAt(x.data, v.data, dims(x), p), pool.pool2dOutputShape(dims(x), p) as number[]);
}

export function avgPool2d(x: Tensor, p: Pool2dParams): Tensor {
  return wrap(pool.avgPool2d(x.data, dims(x), p), pool.pool2dOutputShape(dims(x), p) as number[]);
}

export function avgPool2dBackward(dy: Tensor, p: Pool2dParams & { xShape: number[] }): Tensor {
  return wrap(pool.avgPool2dBackward(dy.data, dims(dy), four(p.xShape), p), p.xShape);
}
