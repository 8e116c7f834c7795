/** The CPU backend: every primitive, as tight typed-array loops or WebAssembly kernels. */
import type { KernelTable } from '../../ops/primitive.js';
import { binary, cast, unary, where } from './elementwise.js';
import { argReduce, reduce } from './reduce.js';
import { matmul } from './matmul.js';
import * as mv from './movement.js';
import * as nn from './nn.js';

export const cpuKernels: KernelTable = {
  neg: ([x]) => unary('neg', x), exp: ([x]) => unary('exp', x), expm1: ([x]) => unary('expm1', x),
  log: ([x]) => unary('log', x), log1p: ([x]) => unary('log1p', x), sqrt: ([x]) => unary('sqrt', x),
  abs: ([x]) => unary('abs', x), sign: ([x]) => unary('sign', x), sin: ([x]) => unary('sin', x),
  cos: ([x]) => unary('cos', x), tan: ([x]) => unary('tan', x), asin: ([x]) => unary('asin', x),
  acos: ([x]) => unary('acos', x), atan: ([x]) => unary('atan', x), sinh: ([x]) => unary('sinh', x),
  cosh: ([x]) => unary('cosh', x), tanh: ([x]) => unary('tanh', x), sigmoid: ([x]) => unary('sigmoid', x),
  relu: ([x]) => unary('relu', x), erf: ([x]) => unary('erf', x),
  add: ([a, b]) => binary('add', a, b), sub: ([a, b]) => binary('sub', a, b), mul: ([a, b]) => binary('mul', a, b),
  div: ([a, b]) => binary('div', a, b), pow: ([a, b]) => binary('pow', a, b),
  maximum: ([a, b]) => binary('maximum', a, b), minimum: ([a, b]) => binary('minimum', a, b),
  atan2: ([a, b]) => binary('atan2', a, b), mod: ([a, b]) => binary('mod', a, b),
  gt: ([a, b]) => binary('gt', a, b), ge: ([a, b]) => binary('ge', a, b), lt: ([a, b]) => binary('lt', a, b),
  le: ([a, b]) => binary('le', a, b), eq: ([a, b]) => binary('eq', a, b), ne: ([a, b]) => binary('ne', a, b),
  where: ([c, a, b]) => where(c, a, b),
  cast: ([x], p) => cast(x, p.dtype),
  sum: ([x], p) => reduce('sum', x, p), prod: ([x], p) => reduce('prod', x, p),
  max: ([x], p) => reduce('max', x, p), min: ([x], p) => reduce('min', x, p),
  argmax: ([x], p) => argReduce('argmax', x, p), argmin: ([x], p) => argReduce('argmin', x, p),
  matmul: ([a, b]) => matmul(a, b),
  reshape: ([x], p) => mv.reshape(x, p.shape),
  permute: ([x], p) => mv.permute(x, p.perm),
  broadcastTo: ([x], p) => mv.broadcastTo(x, p.shape),
  slice: ([x], p) => mv.slice(x, p),
  concat: (xs, p) => mv.concat(xs, p.axis),
  pad: ([x], p) => mv.pad(x, p.pads, p.value),
  gather: ([x, i], p) => mv.gather(x, i, p.axis),
  scatterAdd: ([s, i], p) => mv.scatterAdd(s, i, p.axis, p.size),
  conv2d: ([x, w], p) => nn.conv2d(x, w, p),
  conv2dBackwardInput: ([dy, w], p) => nn.conv2dBackwardInput(dy, w, p),
  conv2dBackwardFilter: ([x, dy], p) => nn.conv2dBackwardFilter(x, dy, p),
  maxPool2d: ([x], p) => nn.maxPool2d(x, p),
  maxPool2dBackward: ([x, dy], p) => nn.maxPool2dBackward(x, dy, p),
  maxPool2dGather: ([x, v], p) => nn.maxPool2dGather(x, v, p),
  avgPool2d: ([x], p) => nn.avgPool2d(x, p),
  avgPool2dBackward: ([dy], p) => nn.avgPool2dBackward(dy, p),
};
