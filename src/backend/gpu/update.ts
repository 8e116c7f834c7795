/**
 * Optimiser steps on the device: when `update` meets a parameter that lives on the gpu.js
 * device, the library's common rules run as fused kernels there, with their state (moments,
 * velocities) moved to the device on the first step, so a training step reads nothing back.
 * Hyperparameters and the bias corrections that change every step are kernel arguments, not
 * constants, so later steps compile nothing. Each kernel writes one output (gpu.js has no
 * multiple outputs on every device), so Adam takes three: m, v, then the parameter.
 *
 * The device computes in float32 (the CPU kernels compute in float64 and round once).
 * Rules are recognised by name and hyperparameter names; any other rule (or one inside an
 * `OptimiserChain`) takes the generic path, which reads the tensors back (and so throws on
 * WebGPU, saying to read asynchronously).
 */
import type { Rule } from '../../optimise/rule.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GpuDevice, KernelArg } from './device.js';
import { source, type Operand } from './codegen.js';
import { bufferOf, deviceTensor, type DeviceBuffer } from './storage.js';

/** A scalar kernel argument named `name`. */
const scalar = (name: string, value: number): Operand => ({ name, arg: value, at: () => name });

/** The rules with device kernels, with the hyperparameter names that identify them. */
const KNOWN: Record<string, string> = {
  Descent: 'eta', Momentum: 'eta,rho', Nesterov: 'eta,rho', RMSProp: 'centred,epsilon,eta,rho',
  Adam: 'beta,epsilon,eta', AdamW: 'beta,couple,epsilon,eta,lambda',
};

/** Whether `rule` has device kernels here. */
export function hasDeviceStep(rule: Rule): boolean {
  return KNOWN[rule.name] !== undefined && Object.keys(rule.hyper).sort().join(',') === KNOWN[rule.name];
}

/**
 * One step of `rule` on the device parameter `x` with gradient `g`, updating `state` in
 * place (its tensors replaced by device tensors). Returns false, doing nothing, where `x` is
 * not on the device or the rule has no device kernels.
 */
export function deviceRuleStep(rule: Rule, state: unknown, x: Tensor, g: Tensor): boolean {
  const xb = bufferOf(x);
  const dev = xb?.owner;
  if (xb === undefined || dev === undefined || x.dtype !== 'float32' || !hasDeviceStep(rule)) return false;
  const n = x.size;
  const upload = (t: Tensor) => dev.upload(t);
  /** Run `ret` (after `lines`) over tensors and scalars, one output per element of x. */
  const run = (op: string, tensors: [string, Tensor][], scalars: [string, number][], lines: string[], ret: string): DeviceBuffer => {
    // every tensor as an array, even of one element (operand() would pass that as a number)
    const arrays = tensors.map(([name, t]): Operand => ({ name, arg: dev.upload(t).value, at: (idx) => `${name}[${idx}]` }));
    const ops = [...arrays, ...scalars.map(([name, v]) => scalar(name, v))];
    return dev.run(op, source(ops, lines, ret), n, ops.map((o) => o.arg as KernelArg));
  };
  const onDevice = (b: DeviceBuffer): Tensor => deviceTensor(b, x.shape, upload);
  const gi = 'g[i]';
  const h = rule.hyper as Record<string, number & boolean & [number, number]>;
  const s = state as Record<string, unknown>;
  const setX = (b: DeviceBuffer) => x.assign(onDevice(b));

  switch (rule.name) {
    case 'Descent':
      setX(run('Descent', [['x', x], ['g', g]], [['eta', h.eta]], [], `x[i] - eta * ${gi}`));
      return true;
    case 'Momentum': {
      const v = onDevice(run('Momentum.v', [['v', s.velocity as Tensor], ['g', g]], [['rho', h.rho], ['eta', h.eta]], [], `rho * v[i] + eta * ${gi}`));
      s.velocity = v;
      setX(run('Momentum.x', [['x', x], ['v', v]], [], [], 'x[i] - v[i]'));
      return true;
    }
    case 'Nesterov': {
      const v0 = s.velocity as Tensor;
      // the step needs the old velocity: the parameter first, then the velocity
      setX(run('Nesterov.x', [['x', x], ['v', v0], ['g', g]], [['a', h.rho * h.rho], ['b', (1 + h.rho) * h.eta]], [], `x[i] - (b * ${gi} - a * v[i])`));
      s.velocity = onDevice(run('Nesterov.v', [['v', v0], ['g', g]], [['rho', h.rho], ['eta', h.eta]], [], `rho * v[i] - eta * ${gi}`));
      return true;
    }
    case 'RMSProp': {
      const c = 1 - h.rho;
      const q = onDevice(run('RMSProp.q', [['q', s.meanSquare as Tensor], ['g', g]], [['rho', h.rho], ['c', c]], [], `rho * q[i] + c * ${gi} * ${gi}`));
      s.meanSquare = q;
      const scal: [string, number][] = [['eta', h.eta], ['epsilon', h.epsilon]];
      if (h.centred) {
        const l = onDevice(run('RMSProp.l', [['l', s.meanGrad as Tensor], ['g', g]], [['rho', h.rho], ['c', c]], [], `rho * l[i] + c * ${gi}`));
        s.meanGrad = l;
        setX(run('RMSProp.xc', [['x', x], ['g', g], ['q', q], ['l', l]], scal, [], `x[i] - (eta * ${gi}) / (Math.sqrt(q[i] - l[i] * l[i]) + epsilon)`));
      } else {
        setX(run('RMSProp.x', [['x', x], ['g', g], ['q', q]], scal, [], `x[i] - (eta * ${gi}) / (Math.sqrt(q[i]) + epsilon)`));
      }
      return true;
    }
    case 'Adam':
    case 'AdamW': {
      const [b1, b2] = h.beta as unknown as [number, number];
      const t = ++(s as { t: number }).t;
      const m = onDevice(run('Adam.m', [['m', s.m as Tensor], ['g', g]], [['b1', b1], ['d1', 1 - b1]], [], `b1 * m[i] + d1 * ${gi}`));
      const v = onDevice(run('Adam.v', [['v', s.v as Tensor], ['g', g]], [['b2', b2], ['d2', 1 - b2]], [], `b2 * v[i] + d2 * ${gi} * ${gi}`));
      s.m = m;
      s.v = v;
      const scal: [string, number][] = [['c1', 1 / (1 - b1 ** t)], ['c2', 1 / (1 - b2 ** t)], ['eta', h.eta], ['epsilon', h.epsilon]];
      const adam = '((m[i] * c1) / (Math.sqrt(v[i] * c2) + epsilon))';
      if (rule.name === 'Adam') setX(run('Adam.x', [['x', x], ['m', m], ['v', v]], scal, [], `x[i] - ${adam} * eta`));
      else {
        const decay = h.couple ? h.eta * h.lambda : h.lambda;
        setX(run('AdamW.x', [['x', x], ['m', m], ['v', v]], [...scal, ['decay', decay]], [], `x[i] - (eta * ${adam} + decay * x[i])`));
      }
      return true;
    }
    default:
      return false;
  }
}

/** @internal For specs: the device a tensor's buffer belongs to. */
export const ownerOf = (t: Tensor): GpuDevice | undefined => bufferOf(t)?.owner;
