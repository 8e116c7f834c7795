/**
 * The LSTM gate arithmetic of one step, from pre-activations `z` (`[…, 4H]`, blocks i, f, g,
 * o) and cell state `c` (`[…, H]`): `c′ = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h′ = σ(o) ⊙ tanh(c′)`.
 *
 * Inside a gradient it is one node on the tape (instead of a split and eleven elementwise
 * operations, each recorded and each with its own backward), whose pullback is
 * `dc′ₜ = dc′ + dh′ ⊙ o ⊙ (1 − tanh²c′)`, `dz = [dc′ₜ ⊙ g ⊙ i(1 − i), dc′ₜ ⊙ c ⊙ f(1 − f),
 * dc′ₜ ⊙ i ⊙ (1 − g²), dh′ ⊙ tanh c′ ⊙ o(1 − o)]`, `dc = dc′ₜ ⊙ f`. Where nothing can record
 * them (plain CPU tensors, no enclosing gradient) and the state is small enough that the
 * operations would run as JavaScript loops anyway, the forward and the pullback are one loop
 * each; otherwise they are written with the library's operations, so an enclosing gradient
 * differentiates them again.
 *
 * @module
 */
import { Tensor } from '../tensor/tensor.js';
import { add, mul, sigmoid, sub, tanh } from '../ops/elementwise.js';
import { zeros } from '../tensor/create.js';
import { multiOutput } from '../ad/checkpoint.js';
import { cpuDispatch } from '../backend/index.js';
import { ndView } from '../backend/cpu/ndview.js';
import { runsAsJsLoop } from '../backend/cpu/vector.js';
import { lstmGates } from '../backend/cpu/cell.js';
import { allocate } from '../tensor/dtype.js';
import { concat, slice } from '../ops/movement.js';

/** A CPU tensor that no gradient traces and no device owns, while the CPU kernels run operations. */
export function plainCpu(x: Tensor): boolean {
  return x._ad === undefined && x.device === undefined && cpuDispatch();
}

/** @internal `x` cut into `k` equal parts along its last axis; one node, whose adjoint concatenates the cotangents. */
export function splitLast(x: Tensor, k: number): Tensor[] {
  const d = x.ndim - 1, size = x.shape[d] / k;
  if (plainCpu(x)) {
    // nothing to record: the views `slice` would make, without its dispatch (hot in small cells)
    const nd = x.nd, shape = x.shape.slice(), step = nd.stride[d] * size;
    shape[d] = size;
    return Array.from({ length: k }, (_, j) => new Tensor(ndView(nd.data, shape, nd.stride, nd.offset + j * step)));
  }
  return multiOutput([x], ([v]) => Array.from({ length: k }, (_, j) => lastRange(v as Tensor, j * size, (j + 1) * size)), (cts) => {
    const shape = x.shape.slice();
    shape[d] = size;
    return [concat(cts.map((c) => (c === undefined ? zeros(shape, { dtype: x.dtype }) : (c as Tensor))), d)];
  }) as Tensor[];
}

function lastRange(x: Tensor, a: number, b: number): Tensor {
  const r: ([number, number] | null)[] = x.shape.map(() => null);
  r[x.ndim - 1] = [a, b];
  return slice(x, r);
}

/** Plain contiguous CPU operands of one dtype while the CPU kernels run everything: the loops apply. */
function loopable(z: Tensor, c: Tensor): boolean {
  return z._ad === undefined && c._ad === undefined && z.device === undefined && c.device === undefined
    && z.dtype === c.dtype && z.isContiguous && c.isContiguous && cpuDispatch();
}

/** Would every elementwise operation on `m` elements run as its JavaScript loop? Then one loop is cheaper; above, the SIMD kernels win. */
function small(m: number): boolean {
  return runsAsJsLoop('sigmoid', m) && runsAsJsLoop('mul', m) && runsAsJsLoop('add', m);
}

/** The gates by the library's operations (recorded by any gradient in flight). */
function gatesByOps(z: Tensor, c: Tensor): [Tensor, Tensor] {
  const [i, f, g, o] = splitLast(z, 4);
  const c2 = add(mul(sigmoid(f), c), mul(sigmoid(i), tanh(g)));
  return [mul(sigmoid(o), tanh(c2)), c2];
}

/** The gates as one loop on plain operands. */
function gatesByLoop(z: Tensor, c: Tensor): [Tensor, Tensor] {
  const H = c.shape[c.ndim - 1]!;
  const [h2, c2] = lstmGates(z.nd.data, z.nd.offset, 4 * H, H, c.nd.data, c.nd.offset, c.size / H, H, z.dtype === 'float32');
  return [new Tensor(ndView(h2, c.shape.slice())), new Tensor(ndView(c2, c.shape.slice()))];
}

/**
 * `[h′, c′]` of the step: outside a gradient the loop where every operation would run as its
 * JavaScript loop (bit-identical to the operations), inside one a single node.
 * @internal
 */
export function lstmGateStep(z: Tensor, c: Tensor): [Tensor, Tensor] {
  if (z._ad === undefined && c._ad === undefined) return loopable(z, c) && small(c.size) ? gatesByLoop(z, c) : gatesByOps(z, c);
  if (z.dtype !== c.dtype || z.ndim !== c.ndim) return gatesByOps(z, c); // promotion: leave it to the operations
  // forward sees the values without the innermost gradient's tracing; the pullback needs the same
  let zp = z, cp = c;
  return multiOutput([z, c], ([zv, cv]) => {
    zp = zv as Tensor;
    cp = cv as Tensor;
    return loopable(zp, cp) && small(cp.size) ? gatesByLoop(zp, cp) : gatesByOps(zp, cp);
  }, ([dh, dc]) => gatesBackward(zp, cp, dh as Tensor | undefined, dc as Tensor | undefined)) as [Tensor, Tensor];
}

/** `[dz, dc]` from the cotangents of h′ and c′ (undefined: none flowed). */
function gatesBackward(z: Tensor, c: Tensor, dh: Tensor | undefined, dc2: Tensor | undefined): [Tensor, Tensor] {
  if (dh === undefined && dc2 === undefined) return [zeros(z.shape, { dtype: z.dtype }), zeros(c.shape, { dtype: c.dtype })];
  if (loopable(z, c) && small(c.size) && c.ndim <= 2 && plainCotangent(dh, c) && plainCotangent(dc2, c)) return backwardByLoop(z, c, dh, dc2);
  const [zi, zf, zg, zo] = splitLast(z, 4);
  const i = sigmoid(zi), f = sigmoid(zf), g = tanh(zg), o = sigmoid(zo);
  const c2 = add(mul(f, c), mul(i, g)), t = tanh(c2);
  const dsigmoid = (s: Tensor): Tensor => mul(s, sub(1, s)); // σ′ from σ
  let dct = dc2;
  if (dh !== undefined) {
    const viaH = mul(mul(dh, o), sub(1, mul(t, t)));
    dct = dct === undefined ? viaH : add(dct, viaH);
  }
  const dzo = dh === undefined ? zeros(zo.shape, { dtype: zo.dtype }) : mul(mul(dh, t), dsigmoid(o));
  const d = dct!;
  const dz = concat([mul(mul(d, g), dsigmoid(i)), mul(mul(d, c), dsigmoid(f)), mul(mul(d, i), sub(1, mul(g, g))), dzo], z.ndim - 1);
  return [dz, mul(d, f)];
}

/** A cotangent the loop can read: none, or an untraced CPU tensor shaped like `c`, any strides (the seed of a sum is a broadcast view). */
function plainCotangent(t: Tensor | undefined, c: Tensor): boolean {
  if (t === undefined) return true;
  if (t._ad !== undefined || t.device !== undefined || t.dtype !== c.dtype || t.ndim !== c.ndim) return false;
  for (let d = 0; d < c.ndim; d++) if (t.shape[d] !== c.shape[d]) return false;
  return true;
}

/** Row and column strides of a `[B, H]` or `[H]` view. */
function rowCol(t: Tensor | undefined): [number, number] {
  if (t === undefined) return [0, 0];
  const s = t.nd.stride;
  return t.ndim === 2 ? [s[0]!, s[1]!] : [0, s[0]!];
}

/** The pullback as one loop (float64 arithmetic per element, rounded once to the dtype). */
function backwardByLoop(z: Tensor, c: Tensor, dh: Tensor | undefined, dc2: Tensor | undefined): [Tensor, Tensor] {
  const H = c.shape[c.ndim - 1]!, m = c.size, batch = m / H;
  const dz = allocate(z.dtype, 4 * m), dc = allocate(c.dtype, m);
  const zd = z.nd.data, zo = z.nd.offset, cd = c.nd.data, co = c.nd.offset;
  const hd = dh?.nd.data, ho = dh?.nd.offset ?? 0, ed = dc2?.nd.data, eo = dc2?.nd.offset ?? 0;
  const [hr, hc] = rowCol(dh), [er, ec] = rowCol(dc2);
  for (let b = 0, k = 0; b < batch; b++) {
    const row = b * 4 * H, hRow = ho + b * hr, eRow = eo + b * er;
    for (let j = 0; j < H; j++, k++) {
      const i = sigma(zd[zo + row + j]!), f = sigma(zd[zo + row + H + j]!), g = Math.tanh(zd[zo + row + 2 * H + j]!), o = sigma(zd[zo + row + 3 * H + j]!);
      const t = Math.tanh(f * cd[co + k]! + i * g);
      const gh = hd === undefined ? 0 : hd[hRow + j * hc]!;
      const d = (ed === undefined ? 0 : ed[eRow + j * ec]!) + gh * o * (1 - t * t);
      dz[row + j] = d * g * i * (1 - i);
      dz[row + H + j] = d * cd[co + k]! * f * (1 - f);
      dz[row + 2 * H + j] = d * i * (1 - g * g);
      dz[row + 3 * H + j] = gh * t * o * (1 - o);
      dc[k] = d * f;
    }
  }
  return [new Tensor(ndView(dz, z.shape.slice())), new Tensor(ndView(dc, c.shape.slice()))];
}

function sigma(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}
