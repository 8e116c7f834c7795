/**
 * Movement kernels as gpu.js source: each output element computes where it comes from.
 * `reshape` of a device tensor shares its buffer (buffers are immutable), everything else
 * writes a new compact buffer.
 */
import type { SliceParams } from '../../ops/primitive.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GpuDevice } from './device.js';
import { broadcastStrides, linear, lit, names, operand, source, stridesOf, unravel } from './codegen.js';
import type { DeviceBuffer } from './storage.js';

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Kernels of the movement primitives on `dev`; each returns the output buffer (shapes are the op layer's). */
export function movementKernels(dev: GpuDevice) {
  /** out[o] = x[index(o)] for an output of `shape`, `index` written over coordinates o0…. */
  const remap = (op: string, x: Tensor, shape: readonly number[], index: string[] | ((c: string[]) => string), guard?: (c: string[]) => string, fill = 0): DeviceBuffer => {
    const a = operand(dev, x, 'a0');
    const c = names('o', shape.length);
    const idx = typeof index === 'function' ? index(c) : linear(c, index.map(Number));
    const body = [...unravel(shape, 'i', 'o')];
    if (guard === undefined) body.push(`const r = ${a.at(idx)};`);
    else body.push(`let r = ${lit(fill)};`, `if (${guard(c)}) { r = ${a.at(idx)}; }`);
    return dev.run(op, source([a], body, 'r'), sizeOf(shape), [a.arg]);
  };

  const concatGroup = (xs: Tensor[], axis: number, shape: number[]): DeviceBuffer => {
    const ops = xs.map((t, k) => operand(dev, t, `a${k}`));
    const c = names('o', shape.length);
    const body = [...unravel(shape, 'i', 'o'), 'let r = 0;'];
    let offset = 0;
    xs.forEach((t, k) => {
      const cc = c.slice();
      cc[axis] = `(${c[axis]} - ${offset})`;
      const read = ops[k].at(linear(cc, stridesOf(t.shape)));
      const test = k === xs.length - 1 ? '' : `if (${c[axis]} < ${offset + t.shape[axis]}) `;
      body.push(`${k === 0 ? '' : 'else '}${test}{ r = ${read}; }`);
      offset += t.shape[axis];
    });
    return dev.run('concat', source(ops, body, 'r'), sizeOf(shape), ops.map((o) => o.arg));
  };

  const self = {
    permute: (x: Tensor, perm: readonly number[]) => {
      const s = stridesOf(x.shape);
      return remap('permute', x, perm.map((p) => x.shape[p]), perm.map((p) => s[p]) as unknown as string[]);
    },
    broadcastTo: (x: Tensor, shape: readonly number[]) => remap('broadcastTo', x, shape, broadcastStrides(x.shape, shape.length) as unknown as string[]),
    slice: (x: Tensor, p: SliceParams) => {
      const s = stridesOf(x.shape);
      return remap('slice', x, p.size, (c) => {
        const terms = c.map((o, d) => `(${p.start[d]} + ${o} * ${p.step[d]}) * ${s[d]}`);
        return terms.length === 0 ? '0' : terms.join(' + ');
      });
    },
    pad: (x: Tensor, pads: readonly (readonly [number, number])[], value: number) => {
      const shape = x.shape.map((n, d) => n + pads[d][0] + pads[d][1]);
      const s = stridesOf(x.shape);
      return remap('pad', x, shape,
        (c) => c.map((o, d) => `(${o} - ${pads[d][0]}) * ${s[d]}`).join(' + ') || '0',
        (c) => c.map((o, d) => `${o} >= ${pads[d][0]} && ${o} < ${pads[d][0] + x.shape[d]}`).join(' && ') || 'true',
        value);
    },
    concat: (xs: Tensor[], axis: number): DeviceBuffer => {
      // more inputs than texture units: concatenate groups, then the groups
      const parts = xs.filter((t) => t.size > 0);
      const most = dev.maxInputs;
      if (parts.length > most) {
        const groups: Tensor[] = [];
        for (let g = 0; g < parts.length; g += most) {
          const grp = parts.slice(g, g + most);
          const shape = grp[0].shape.slice();
          shape[axis] = grp.reduce((n, t) => n + t.shape[axis], 0);
          groups.push(wrapAs(concatGroup(grp, axis, shape), shape));
        }
        return self.concat(groups, axis);
      }
      const shape = parts[0].shape.slice();
      shape[axis] = parts.reduce((n, t) => n + t.shape[axis], 0);
      return concatGroup(parts, axis, shape);
    },
    /** NumPy's take along `axis`: out[pre, idx…, post] = x[pre, indices[idx…], post]. */
    gather: (x: Tensor, indices: Tensor, axis: number): { buffer: DeviceBuffer; shape: number[] } => {
      const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
      const a = operand(dev, x, 'a0'), ix = operand(dev, indices, 'a1');
      const s = stridesOf(x.shape);
      const c = names('o', shape.length);
      const q = indices.ndim;
      const pre = c.slice(0, axis), mid = c.slice(axis, axis + q), post = c.slice(axis + q);
      const body = [
        ...unravel(shape, 'i', 'o'),
        `const j = Math.floor(${ix.at(linear(mid, stridesOf(indices.shape)))} + 0.5);`,
        `const at = ${linear([...pre, 'j', ...post], [...s.slice(0, axis), s[axis], ...s.slice(axis + 1)])};`,
      ];
      return { buffer: dev.run('gather', source([a, ix], body, a.at('at')), sizeOf(shape), [a.arg, ix.arg]), shape };
    },
    /** Adjoint of gather: out[pre, j, post] = Σ over index positions p with indices[p] = j of src[pre, p, post]. */
    scatterAdd: (src: Tensor, indices: Tensor, axis: number, size: number): { buffer: DeviceBuffer; shape: number[] } => {
      const q = indices.ndim;
      const shape = [...src.shape.slice(0, axis), size, ...src.shape.slice(axis + q)];
      const a = operand(dev, src, 'a0'), ix = operand(dev, indices, 'a1');
      const s = stridesOf(src.shape);
      const c = names('o', shape.length);
      const pre = c.slice(0, axis), post = c.slice(axis + 1);
      // the index dimensions are consecutive in src: position p is at p·(stride of the last one)
      const pStride = q === 0 ? 0 : s[axis + q - 1];
      const base = linear([...pre, ...post], [...s.slice(0, axis), ...s.slice(axis + q)]);
      const body = [
        ...unravel(shape, 'i', 'o'), `const base = ${base};`, 'let r = 0;',
        `for (let p = 0; p < ${indices.size}; p++) {`,
        `if (Math.floor(${ix.at('p')} + 0.5) == ${c[axis]}) { r += ${a.at(`base + p * ${pStride}`)}; }`, '}',
      ];
      return { buffer: dev.run('scatterAdd', source([a, ix], body, 'r'), sizeOf(shape), [a.arg, ix.arg]), shape };
    },
  };
  /** Set by the backend: wraps a buffer as a device tensor (concat of many inputs needs it). */
  let wrapAs: (b: DeviceBuffer, shape: number[]) => Tensor = () => { throw new Error('gpu concat: wrap not set'); };
  return { ...self, setWrap(w: typeof wrapAs) { wrapAs = w; } };
}
