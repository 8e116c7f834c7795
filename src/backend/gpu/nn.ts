/**
 * Convolution and pooling kernels (NCHW) as gpu.js source, one thread per output element.
 * The backward kernels gather instead of scatter (a fragment shader writes only its own
 * output): the input gradient visits the output positions whose window covers its cell.
 */
import type { Conv2dParams, Pool2dParams } from '../../ops/primitive.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GpuDevice } from './device.js';
import { operand, source, unravel } from './codegen.js';
import type { DeviceBuffer } from './storage.js';

const windowOut = (size: number, k: number, s: number, p: number, d: number): number => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
const size4 = (s: readonly number[]): number => s[0] * s[1] * s[2] * s[3];

/**
 * Lines that find, for output position (oy, ox), the tap `t` of one axis that lands on input
 * coordinate `v`: `${name}` = (v + pad − t·dil) / stride when that is a whole output index in
 * range; `${name}ok` says whether it is.
 */
function tapToOutput(name: string, v: string, t: string, pad: number, dil: number, stride: number, out: number): string[] {
  return [
    `const ${name}t = ${v} + ${pad} - ${t} * ${dil};`,
    `const ${name} = Math.floor((${name}t + 0.5) / ${stride});`,
    `const ${name}ok = ${name}t >= 0 && ${name} * ${stride} == ${name}t && ${name} < ${out};`,
  ];
}

/** Kernels of the convolution and pooling primitives on `dev`. */
export function nnKernels(dev: GpuDevice) {
  /** Lines that set `bi`/`bj` to the argmax cell of window (oy, ox) of plane `plane` of x (first maximum in scan order; −1 if empty). */
  const argmaxLines = (xa: (idx: string) => string, H: number, W: number, p: Pool2dParams, oy: string, ox: string, plane: string): string[] => [
    'let best = 0;', 'let bi = -1;', 'let bj = -1;',
    `for (let ky = 0; ky < ${p.kernel[0]}; ky++) {`,
    `const iy = ${oy} * ${p.stride[0]} - ${p.padding[0]} + ky * ${p.dilation[0]};`,
    `if (iy >= 0 && iy < ${H}) {`,
    `for (let kx = 0; kx < ${p.kernel[1]}; kx++) {`,
    `const ix = ${ox} * ${p.stride[1]} - ${p.padding[1]} + kx * ${p.dilation[1]};`,
    `if (ix >= 0 && ix < ${W}) {`,
    `const v = ${xa(`(${plane} * ${H} + iy) * ${W} + ix`)};`,
    'if (bi < 0 || v > best) { best = v; bi = iy; bj = ix; }',
    '}', '}', '}', '}',
  ];

  return {
    conv2d(x: Tensor, w: Tensor, p: Conv2dParams): { buffer: DeviceBuffer; shape: number[] } {
      const [N, C, H, W] = x.shape, [O, Cg, KH, KW] = w.shape;
      const shape = [N, O, windowOut(H, KH, p.stride[0], p.padding[0], p.dilation[0]), windowOut(W, KW, p.stride[1], p.padding[1], p.dilation[1])];
      const a = operand(dev, x, 'a0'), b = operand(dev, w, 'a1');
      const Og = O / p.groups;
      const body = [
        ...unravel(shape, 'i', 'o'),
        `const g = Math.floor((o1 + 0.5) / ${Og});`,
        'let s = 0;',
        `for (let c = 0; c < ${Cg}; c++) {`,
        `for (let ky = 0; ky < ${KH}; ky++) {`,
        `const iy = o2 * ${p.stride[0]} - ${p.padding[0]} + ky * ${p.dilation[0]};`,
        `if (iy >= 0 && iy < ${H}) {`,
        `for (let kx = 0; kx < ${KW}; kx++) {`,
        `const ix = o3 * ${p.stride[1]} - ${p.padding[1]} + kx * ${p.dilation[1]};`,
        `if (ix >= 0 && ix < ${W}) {`,
        `s += ${a.at(`((o0 * ${C} + g * ${Cg} + c) * ${H} + iy) * ${W} + ix`)} * ${b.at(`((o1 * ${Cg} + c) * ${KH} + ky) * ${KW} + kx`)};`,
        '}', '}', '}', '}', '}',
      ];
      return { buffer: dev.run('conv2d', source([a, b], body, 's'), size4(shape), [a.arg, b.arg]), shape };
    },

    conv2dBackwardInput(dy: Tensor, w: Tensor, p: Conv2dParams & { xShape: number[] }): DeviceBuffer {
      const [N, C, H, W] = p.xShape, [O, Cg, KH, KW] = w.shape, [, , OH, OW] = dy.shape;
      const a = operand(dev, dy, 'a0'), b = operand(dev, w, 'a1');
      const Og = O / p.groups;
      const body = [
        ...unravel([N, C, H, W], 'i', 'o'),
        `const g = Math.floor((o1 + 0.5) / ${Cg});`, `const c = o1 - g * ${Cg};`,
        'let s = 0;',
        `for (let ky = 0; ky < ${KH}; ky++) {`, ...tapToOutput('oy', 'o2', 'ky', p.padding[0], p.dilation[0], p.stride[0], OH), 'if (oyok) {',
        `for (let kx = 0; kx < ${KW}; kx++) {`, ...tapToOutput('ox', 'o3', 'kx', p.padding[1], p.dilation[1], p.stride[1], OW), 'if (oxok) {',
        `for (let q = 0; q < ${Og}; q++) {`,
        `const oc = g * ${Og} + q;`,
        `s += ${a.at(`((o0 * ${O} + oc) * ${OH} + oy) * ${OW} + ox`)} * ${b.at(`((oc * ${Cg} + c) * ${KH} + ky) * ${KW} + kx`)};`,
        '}', '}', '}', '}', '}',
      ];
      return dev.run('conv2dBackwardInput', source([a, b], body, 's'), N * C * H * W, [a.arg, b.arg]);
    },

    conv2dBackwardFilter(x: Tensor, dy: Tensor, p: Conv2dParams & { wShape: number[] }): DeviceBuffer {
      const [N, C, H, W] = x.shape, [O, Cg, KH, KW] = p.wShape, [, , OH, OW] = dy.shape;
      const a = operand(dev, x, 'a0'), b = operand(dev, dy, 'a1');
      const Og = O / p.groups;
      const body = [
        ...unravel([O, Cg, KH, KW], 'i', 'o'),
        `const ci = Math.floor((o0 + 0.5) / ${Og}) * ${Cg} + o1;`,
        'let s = 0;',
        `for (let n = 0; n < ${N}; n++) {`,
        `for (let oy = 0; oy < ${OH}; oy++) {`,
        `const iy = oy * ${p.stride[0]} - ${p.padding[0]} + o2 * ${p.dilation[0]};`,
        `if (iy >= 0 && iy < ${H}) {`,
        `for (let ox = 0; ox < ${OW}; ox++) {`,
        `const ix = ox * ${p.stride[1]} - ${p.padding[1]} + o3 * ${p.dilation[1]};`,
        `if (ix >= 0 && ix < ${W}) {`,
        `s += ${a.at(`((n * ${C} + ci) * ${H} + iy) * ${W} + ix`)} * ${b.at(`((n * ${O} + o0) * ${OH} + oy) * ${OW} + ox`)};`,
        '}', '}', '}', '}', '}',
      ];
      return dev.run('conv2dBackwardFilter', source([a, b], body, 's'), O * Cg * KH * KW, [a.arg, b.arg]);
    },

    maxPool2d(x: Tensor, p: Pool2dParams): { buffer: DeviceBuffer; shape: number[] } {
      const [N, C, H, W] = x.shape;
      const shape = [N, C, windowOut(H, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]), windowOut(W, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1])];
      const a = operand(dev, x, 'a0');
      const body = [...unravel(shape, 'i', 'o'), `const plane = o0 * ${C} + o1;`, ...argmaxLines(a.at, H, W, p, 'o2', 'o3', 'plane')];
      return { buffer: dev.run('maxPool2d', source([a], body, `bi < 0 ? -${dev.infinity} : best`), size4(shape), [a.arg]), shape };
    },

    /** Inputs [x, v]: v at each window's argmax of x. */
    maxPool2dGather(x: Tensor, v: Tensor, p: Pool2dParams): { buffer: DeviceBuffer; shape: number[] } {
      const [N, C, H, W] = x.shape;
      const shape = [N, C, windowOut(H, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]), windowOut(W, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1])];
      const a = operand(dev, x, 'a0'), b = operand(dev, v, 'a1');
      const body = [...unravel(shape, 'i', 'o'), `const plane = o0 * ${C} + o1;`, ...argmaxLines(a.at, H, W, p, 'o2', 'o3', 'plane'),
        'let r = 0;', `if (bi >= 0) { r = ${b.at(`(plane * ${H} + bi) * ${W} + bj`)}; }`];
      return { buffer: dev.run('maxPool2dGather', source([a, b], body, 'r'), size4(shape), [a.arg, b.arg]), shape };
    },

    /** Inputs [x, dy]: each dy routed to its window's argmax cell. */
    maxPool2dBackward(x: Tensor, dy: Tensor, p: Pool2dParams): DeviceBuffer {
      const [N, C, H, W] = x.shape, [, , OH, OW] = dy.shape;
      const a = operand(dev, x, 'a0'), b = operand(dev, dy, 'a1');
      const body = [
        ...unravel([N, C, H, W], 'i', 'o'), `const plane = o0 * ${C} + o1;`, 'let s = 0;',
        `for (let ty = 0; ty < ${p.kernel[0]}; ty++) {`, ...tapToOutput('wy', 'o2', 'ty', p.padding[0], p.dilation[0], p.stride[0], OH), 'if (wyok) {',
        `for (let tx = 0; tx < ${p.kernel[1]}; tx++) {`, ...tapToOutput('wx', 'o3', 'tx', p.padding[1], p.dilation[1], p.stride[1], OW), 'if (wxok) {',
        ...argmaxLines(a.at, H, W, p, 'wy', 'wx', 'plane'),
        `if (bi == o2 && bj == o3) { s += ${b.at(`(plane * ${OH} + wy) * ${OW} + wx`)}; }`,
        '}', '}', '}', '}',
      ];
      return dev.run('maxPool2dBackward', source([a, b], body, 's'), N * C * H * W, [a.arg, b.arg]);
    },

    avgPool2d(x: Tensor, p: Pool2dParams & { countIncludePad?: boolean }): { buffer: DeviceBuffer; shape: number[] } {
      const [N, C, H, W] = x.shape;
      const shape = [N, C, windowOut(H, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]), windowOut(W, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1])];
      const a = operand(dev, x, 'a0');
      const full = p.kernel[0] * p.kernel[1];
      const body = [
        ...unravel(shape, 'i', 'o'), `const plane = o0 * ${C} + o1;`, 'let s = 0;', 'let count = 0;',
        `for (let ky = 0; ky < ${p.kernel[0]}; ky++) {`,
        `const iy = o2 * ${p.stride[0]} - ${p.padding[0]} + ky * ${p.dilation[0]};`,
        `if (iy >= 0 && iy < ${H}) {`,
        `for (let kx = 0; kx < ${p.kernel[1]}; kx++) {`,
        `const ix = o3 * ${p.stride[1]} - ${p.padding[1]} + kx * ${p.dilation[1]};`,
        `if (ix >= 0 && ix < ${W}) { s += ${a.at(`(plane * ${H} + iy) * ${W} + ix`)}; count += 1; }`,
        '}', '}', '}',
        (p.countIncludePad ?? true) ? `const r = s / ${full};` : 'const r = count > 0 ? s / count : 0;',
      ];
      return { buffer: dev.run('avgPool2d', source([a], body, 'r'), size4(shape), [a.arg]), shape };
    },

    avgPool2dBackward(dy: Tensor, p: Pool2dParams & { xShape: number[]; countIncludePad?: boolean }): DeviceBuffer {
      const [N, C, H, W] = p.xShape, [, , OH, OW] = dy.shape;
      const b = operand(dev, dy, 'a0');
      const include = p.countIncludePad ?? true;
      // the divisor of window (wy, wx) without padding: its in-bounds taps along each axis
      const taps = (o: string, k: number, s: number, pad: number, d: number, n: number, name: string): string[] => [
        `let ${name} = 0;`, `for (let t = 0; t < ${k}; t++) { const v = ${o} * ${s} - ${pad} + t * ${d}; if (v >= 0 && v < ${n}) { ${name} += 1; } }`,
      ];
      const body = [
        ...unravel([N, C, H, W], 'i', 'o'), `const plane = o0 * ${C} + o1;`, 'let s = 0;',
        `for (let ty = 0; ty < ${p.kernel[0]}; ty++) {`, ...tapToOutput('wy', 'o2', 'ty', p.padding[0], p.dilation[0], p.stride[0], OH), 'if (wyok) {',
        `for (let tx = 0; tx < ${p.kernel[1]}; tx++) {`, ...tapToOutput('wx', 'o3', 'tx', p.padding[1], p.dilation[1], p.stride[1], OW), 'if (wxok) {',
        ...(include ? [`const div = ${p.kernel[0] * p.kernel[1]};`] : [
          ...taps('wy', p.kernel[0], p.stride[0], p.padding[0], p.dilation[0], H, 'cy'),
          ...taps('wx', p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], W, 'cx'), 'const div = cy * cx;',
        ]),
        `s += ${b.at(`(plane * ${OH} + wy) * ${OW} + wx`)} / div;`,
        '}', '}', '}', '}',
      ];
      return dev.run('avgPool2dBackward', source([b], body, 's'), N * C * H * W, [b.arg]);
    },
  };
}
