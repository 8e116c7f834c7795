/** CPU kernels that move data: views (no copy) where the layout allows, copies otherwise. */
import type { NdArray } from 'ndarray';
import ops from 'ndarray-ops';
import { type FloatArray, allocate } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import type { SliceParams } from '../../ops/primitive.js';
import { compact } from './strided.js';
import { ndView, tensorOf } from './ndview.js';

const view = (data: FloatArray, shape: number[], stride: number[], offset: number): Tensor =>
  new Tensor(ndView(data, shape, stride, offset));

/** A row-major copy of the tensor's values. */
export function contiguousData(x: Tensor): FloatArray {
  return compact(x.nd, allocate(x.dtype, x.size));
}

export function reshape(x: Tensor, shape: number[]): Tensor {
  const nd = x.nd;
  if (x.isContiguous) return new Tensor(ndView(nd.data, shape, undefined, nd.offset));
  return tensorOf(contiguousData(x), shape);
}

export function permute(x: Tensor, perm: number[]): Tensor {
  return new Tensor(x.nd.transpose(...perm));
}

export function broadcastTo(x: Tensor, shape: number[]): Tensor {
  const nd = x.nd;
  const k = shape.length - nd.shape.length;
  const stride = shape.map((_, i) => (i < k || nd.shape[i - k] === 1 ? 0 : nd.stride[i - k]));
  return view(nd.data, shape, stride, nd.offset);
}

export function slice(x: Tensor, { start, step, size }: SliceParams): Tensor {
  const nd = x.nd;
  let offset = nd.offset;
  const stride = nd.stride.map((s, i) => {
    offset += start[i] * s;
    return s * step[i];
  });
  return view(nd.data, size, stride, offset);
}

/** A writable row-major tensor and its ndarray, for kernels that assemble output piece by piece. */
function blank(x: Tensor, shape: number[]): [NdArray<FloatArray>, Tensor] {
  const out = tensorOf(allocate(x.dtype, shape.reduce((a, b) => a * b, 1)), shape);
  return [out.nd, out];
}

export function concat(xs: Tensor[], axis: number): Tensor {
  const shape = xs[0].shape.slice();
  shape[axis] = xs.reduce((n, x) => n + x.shape[axis], 0);
  const [o, out] = blank(xs[0], shape);
  let at = 0;
  for (const x of xs) {
    const len = x.shape[axis];
    if (len === 0) continue;
    const lo = shape.map((_, i) => (i === axis ? at : 0));
    const hi = shape.map((d, i) => (i === axis ? len : d));
    ops.assign(o.lo(...lo).hi(...hi), x.nd);
    at += len;
  }
  return out;
}

export function pad(x: Tensor, pads: [number, number][], value: number): Tensor {
  const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const [o, out] = blank(x, shape);
  if (value !== 0) (o.data as Float64Array).fill(value);
  if (x.size > 0) ops.assign(o.lo(...pads.map((p) => p[0])).hi(...x.shape), x.nd);
  return out;
}

/** NumPy's `take`: out[..., j, ...] = x[..., idx[j], ...] along `axis`; indices already checked. */
export function gather(x: Tensor, indices: Tensor, axis: number): Tensor {
  const idx = indices.data;
  const xs = x.shape;
  const shape = [...xs.slice(0, axis), ...indices.shape, ...xs.slice(axis + 1)];
  const outer = xs.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = xs.slice(axis + 1).reduce((a, b) => a * b, 1);
  const src = x.isContiguous ? x.data : contiguousData(x);
  const o = allocate(x.dtype, outer * idx.length * inner);
  let p = 0;
  for (let a = 0; a < outer; a++) {
    const base = a * xs[axis] * inner;
    for (let j = 0; j < idx.length; j++) {
      const s = base + idx[j] * inner;
      for (let k = 0; k < inner; k++) o[p++] = src[s + k];
    }
  }
  return tensorOf(o, shape);
}

/** Adjoint of {@link gather}: out has `axis` of length `size`; rows of src are added at idx. */
export function scatterAdd(src: Tensor, indices: Tensor, axis: number, size: number): Tensor {
  const idx = indices.data;
  const ss = src.shape;
  const lead = ss.slice(0, axis);
  const tail = ss.slice(axis + indices.ndim);
  const shape = [...lead, size, ...tail];
  const outer = lead.reduce((a, b) => a * b, 1);
  const inner = tail.reduce((a, b) => a * b, 1);
  const s = src.isContiguous ? src.data : contiguousData(src);
  const o = allocate(src.dtype, outer * size * inner);
  let p = 0;
  for (let a = 0; a < outer; a++) {
    const base = a * size * inner;
    for (let j = 0; j < idx.length; j++) {
      const d = base + idx[j] * inner;
      for (let k = 0; k < inner; k++) o[d + k] += s[p++];
    }
  }
  return tensorOf(o, shape);
}
