/**
 * Recurrent cells and the sequence layers that run them. A cell maps one time step and a
 * state to an output and the next state, `cell(x, state) → [y, newState]`, on `[B, in]`
 * (or an unbatched `[in]`); a sequence layer runs a cell over `[B, T, in]` (batch first, or an
 * unbatched `[T, in]`) and returns `[B, T, out]`. The stateful style (`stateful`, `reset`,
 * `unroll`, `flip`, `Bidirectional`) is in `stateful.ts`.
 *
 * Gate layout and parameter names follow PyTorch, so weights map one to one onto a PyTorch
 * `state_dict` (`weightIh` ↔ `weight_ih`, `weightHh` ↔ `weight_hh`, `biasIh` ↔ `bias_ih`,
 * `biasHh` ↔ `bias_hh`; in `nn.LSTM`/`nn.GRU`/`nn.RNN` with the `_l0` suffix): `weightIh` is
 * `[G·out, in]`, `weightHh` `[G·out, out]`, the biases `[G·out]`, with the G gate blocks
 * stacked in the order i, f, g, o (LSTM), r, z, n (GRU).
 */
import { Tensor } from '../tensor/tensor.js';
import type { TensorLike } from '../tensor/convert.js';
import { fromData } from '../tensor/convert.js';
import { ShapeError } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import { zeros } from '../tensor/create.js';
import { add, mul, sigmoid, sub, tanh, where } from '../ops/elementwise.js';
import { matmul } from '../ops/linalg.js';
import { broadcastTo, concat, index, reshape, slice, squeeze, stack, transpose, unsqueeze } from '../ops/movement.js';
import { multiOutput } from '../ad/checkpoint.js';
import { Layer, describeValue, isLayer, labelOf, layer, layerLabel } from './layer.js';
import { layerChildren } from './show.js';
import { cpuDispatch } from '../backend/index.js';
import { ndView } from '../backend/cpu/ndview.js';
import { lstmStep } from '../backend/cpu/cell.js';
import { lstmGateStep, splitLast } from './recurrent-gates.js';
import { tracingDepth } from '../ad/tape.js';
import { fusable } from '../backend/cpu/dense.js';
import { asInput, type Activation } from './basic.js';
import { type Initializer, glorotUniform, orthogonal } from './init.js';

/** The state of a cell: a tensor (RNN, GRU), `{ h, c }` (LSTM), or any structure of tensors (a user's cell). */
export type RecurrentState = Tensor | readonly RecurrentState[] | { readonly [key: string]: RecurrentState };

/** The state of an LSTM: hidden state `h` and cell state `c`, each `[B, out]`. */
export type LSTMState = {
  h: Tensor;
  c: Tensor;
};

/**
 * A recurrent cell: a layer called as `cell(x, state)` that returns `[y, newState]`, with an
 * `initialState(batch)` method giving the state to start from (`batch` undefined for
 * unbatched steps). A user's own cell class with these two methods works everywhere the
 * library's cells do (`Recurrence`, `stateful`, `unroll`).
 */
export interface Cell<S = RecurrentState> {
  (x: Tensor, state: S): [Tensor, S];
  initialState(batch?: number): S;
}

/** The state a cell (or a sequence layer, through its cell) starts from, for a batch of `batch` (undefined: unbatched). */
export function initialState<S = any>(cell: unknown, batch?: number): S {
  const c = cellOf(cell);
  if (c === undefined) throw new TypeError(`initialState: expected a recurrent cell (a layer with an initialState(batch) method) or a sequence layer, got ${describeValue(cell)}`);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1)) throw new TypeError(`initialState: the batch size must be a positive integer, got ${describeValue(batch)}`);
  return c.initialState(batch) as S;
}

function cellOf(x: unknown): { initialState(batch?: number): unknown } | undefined {
  if (x instanceof SequenceBase) return cellOf(x.cell);
  if ((typeof x === 'function' || (typeof x === 'object' && x !== null)) && typeof (x as { initialState?: unknown }).initialState === 'function') {
    return x as { initialState(batch?: number): unknown };
  }
  return undefined;
}

/** Is `x` a recurrent cell (a callable with an `initialState` method), as opposed to a sequence layer? */
export function isCell(x: unknown): x is Cell {
  return typeof x === 'function' && !(x instanceof SequenceBase) && typeof (x as { initialState?: unknown }).initialState === 'function';
}

const shapeText = (x: { shape: readonly number[] }): string => `[${x.shape.join(', ')}]`;

// ---------------------------------------------------------------- one node per split

/** @internal The steps of `x` along `axis` (each without that dimension); one node, whose adjoint stacks the cotangents. */
export function unstack(x: Tensor, axis: number): Tensor[] {
  const n = x.shape[axis];
  return multiOutput([x], ([v]) => Array.from({ length: n }, (_, t) => select(v as Tensor, axis, t)), (cts) => {
    const like = (x as Tensor);
    const parts = cts.map((c) => (c === undefined ? zeros(dropAxis(like.shape, axis), { dtype: like.dtype }) : (c as Tensor)));
    return [stack(parts, axis)];
  }) as Tensor[];
}


function select(x: Tensor, axis: number, i: number): Tensor {
  if (axis === 0) return index(x, i);
  const r: [number, number][] | null[] = x.shape.map(() => null) as null[];
  (r as unknown as ([number, number] | null)[])[axis] = [i, i + 1];
  return squeeze(slice(x, r), axis);
}

function dropAxis(shape: readonly number[], axis: number): number[] {
  return shape.filter((_, i) => i !== axis);
}

// ---------------------------------------------------------------- cells

/** Options of the recurrent cells and layers. */
export interface CellOptions {
  /** Initialiser of each gate's block of `weightIh` (`[out, in]`); default {@link glorotUniform}. */
  init?: Initializer;
  /** Initialiser of each gate's block of `weightHh` (`[out, out]`); default {@link orthogonal}. */
  initRecurrent?: Initializer;
  /** `false` for no biases; default true (zeros). */
  bias?: boolean;
  /** Parameter dtype; default `'float32'`. */
  dtype?: DType;
}

/** Options of {@link LSTMCell} and {@link LSTM}. */
export interface LSTMOptions extends CellOptions {
  /** Initial value of the forget gate's bias (in `biasIh`; Jozefowicz et al. 2015 suggest 1); default 1. */
  forgetBias?: number;
}

/** Options of {@link GRUCell} and {@link GRU}. */
export interface GRUOptions extends CellOptions {
  /**
   * Where the reset gate applies: `true` (default, PyTorch's and Keras's `reset_after`):
   * `n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))`; `false` (the original paper, and TF.js's only
   * form): `n = tanh(W_in·x + b_in + W_hn·(r ⊙ h) + b_hn)`.
   */
  resetAfter?: boolean;
}

function checkSize(op: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TypeError(`${op}: the ${what} size must be a positive integer, got ${describeValue(v)}`);
}

/** The parameters and the step machinery shared by the library's cells. */
abstract class CellBase<S extends RecurrentState> extends Layer<[TensorLike, S?], [Tensor, S]> {
  /** Input weights, `[G·out, in]`: the gate blocks stacked. */
  weightIh!: Tensor;
  /** Recurrent weights, `[G·out, out]`. */
  weightHh!: Tensor;
  /** Input bias, `[G·out]`, or `false`. */
  biasIh!: Tensor | false;
  /** Recurrent bias, `[G·out]`, or `false`. */
  biasHh!: Tensor | false;

  /** @internal */
  setup(op: string, inp: number, out: number, gates: number, opts: CellOptions): void {
    checkSize(op, 'input', inp);
    checkSize(op, 'output', out);
    const dtype = opts.dtype ?? 'float32';
    const init = opts.init ?? glorotUniform, initR = opts.initRecurrent ?? orthogonal;
    const blocks = (f: Initializer, cols: number): Tensor => concat(Array.from({ length: gates }, () => f([out, cols], { dtype })), 0);
    this.weightIh = blocks(init, inp);
    this.weightHh = blocks(initR, out);
    this.biasIh = opts.bias === false ? false : zeros([gates * out], { dtype });
    this.biasHh = opts.bias === false ? false : zeros([gates * out], { dtype });
  }

  /** Input size. */
  get inputSize(): number {
    return this.weightIh.shape[1];
  }

  /** Output (hidden) size. */
  get outputSize(): number {
    return this.weightHh.shape[1];
  }

  /** The state for a batch of `batch` (undefined: unbatched): zeros. */
  abstract initialState(batch?: number): S;

  /** @internal The input projection `x·weightIhᵀ (+ biases folded in where the cell allows)`, on any leading dimensions. */
  abstract project(x: Tensor): Tensor;

  /** @internal One step from a projected input. */
  abstract step(xw: Tensor, state: S, whhT: Tensor): [Tensor, S];

  forward(input: TensorLike, state?: S): [Tensor, S] {
    const x = asInput(this, input, this.weightIh.dtype);
    if ((x.ndim !== 1 && x.ndim !== 2) || x.shape[x.ndim - 1] !== this.inputSize) {
      throw new ShapeError(`${labelOf(this)} expects input [B, ${this.inputSize}] or [${this.inputSize}], got input of shape ${shapeText(x)}`);
    }
    const batch = x.ndim === 2 ? x.shape[0] : undefined;
    const s = state ?? this.initialState(batch);
    this.checkState(s, batch);
    return this.fusedStep(x, s) ?? this.step(this.project(x), s, transpose(this.weightHh));
  }

  /** @internal The whole step in one pass where nothing is traced (see src/backend/cpu/cell.ts); undefined where it does not apply. */
  fusedStep(_x: Tensor, _state: S): [Tensor, S] | undefined {
    return undefined;
  }

  /** @internal Throw unless every tensor of `s` is `[batch, out]` (or `[out]` when unbatched); `label` names the caller in errors (default: this cell's label). */
  checkState(s: unknown, batch: number | undefined, label?: string): void {
    if (s instanceof Tensor) this.checkStatePart(s, 'h', batch, label);
    else if (typeof s === 'object' && s !== null) {
      for (const k in s) if (Object.prototype.hasOwnProperty.call(s, k)) this.checkStatePart((s as Record<string, unknown>)[k], k, batch, label);
    } else throw new TypeError(`${label ?? labelOf(this)} expects a state, got ${describeValue(s)}`);
  }

  // a method, not a closure per call, and the label spelled out only for an error: this runs every step
  /** @internal */
  checkStatePart(t: unknown, name: string, batch: number | undefined, label: string | undefined): void {
    if (!(t instanceof Tensor)) throw new TypeError(`${label ?? labelOf(this)} expects the state ${name} to be a tensor, got ${describeValue(t)}`);
    const out = this.outputSize;
    if (batch === undefined ? t.ndim === 1 && t.shape[0] === out : t.ndim === 2 && t.shape[0] === batch && t.shape[1] === out) return;
    const want = batch === undefined ? [out] : [batch, out];
    throw new ShapeError(`${label ?? labelOf(this)} expects the state ${name} of shape [${want.join(', ')}]${batch === undefined ? ' (unbatched)' : ` (batch ${batch})`}, got ${shapeText(t)}`);
  }

  /** @internal */
  zerosState(batch: number | undefined): Tensor {
    return zeros(batch === undefined ? [this.outputSize] : [batch, this.outputSize], { dtype: this.weightIh.dtype });
  }

  /** @internal */
  biasSum(): Tensor | false {
    if (this.biasIh === false) return this.biasHh;
    return this.biasHh === false ? this.biasIh : add(this.biasIh, this.biasHh);
  }

  /** @internal */
  arrow(): string {
    return `${this.inputSize} => ${this.outputSize}`;
  }
}

/** `x·Wᵀ (+ b)` on any leading dimensions, as one matrix product. */
function affine(x: Tensor, w: Tensor, b: Tensor | false): Tensor {
  const flat = x.ndim === 2 ? x : reshape(x, [-1, x.shape[x.ndim - 1]]);
  let y = matmul(flat, transpose(w));
  if (b !== false) y = add(y, b);
  return x.ndim === 2 ? y : reshape(y, [...x.shape.slice(0, -1), w.shape[0]]);
}

/**
 * The Elman cell: `h′ = σ(x·Wᵢₕᵀ + bᵢₕ + h·Wₕₕᵀ + bₕₕ)`, output `h′`, state `h′`.
 * `RNNCell(in, out, σ = tanh, opts?)`; as PyTorch's `nn.RNNCell` (one gate block).
 */
export const RNNCell = layer(class RNNCell extends CellBase<Tensor> {
  /** The activation. */
  σ: Activation;

  constructor(inp: number, out: number, σ: Activation = tanh, opts: CellOptions = {}) {
    super();
    this.setup('RNNCell', inp, out, 1, opts);
    if (typeof σ !== 'function') throw new TypeError(`RNNCell: the activation must be a function, got ${describeValue(σ)}`);
    this.σ = σ;
  }

  initialState(batch?: number): Tensor {
    return this.zerosState(batch);
  }

  /** @internal */
  project(x: Tensor): Tensor {
    return affine(x, this.weightIh, this.biasSum());
  }

  /** @internal */
  step(xw: Tensor, h: Tensor, whhT: Tensor): [Tensor, Tensor] {
    const h2 = this.σ(add(xw, matmul(h, whhT)));
    return [h2, h2];
  }

  /** @internal */
  [layerLabel](): string {
    return `RNNCell(${this.arrow()}, ${this.σ.name || 'σ'})`;
  }
});
/** An {@link RNNCell} layer. */
export type RNNCell = InstanceType<typeof RNNCell>;

/**
 * The long short-term memory cell, as PyTorch's `nn.LSTMCell`: with the gate pre-activations
 * `x·Wᵢₕᵀ + bᵢₕ + h·Wₕₕᵀ + bₕₕ` split into blocks i, f, g, o,
 * `c′ = σ(f) ⊙ c + σ(i) ⊙ tanh(g)` and `h′ = σ(o) ⊙ tanh(c′)`; output `h′`, state `{ h: h′, c: c′ }`.
 * Initialisation: per gate block, `init` (Glorot uniform) for the input weights and
 * `initRecurrent` (orthogonal) for the recurrent ones; biases zero except the forget gate's
 * part of `biasIh`, which is `forgetBias` (1).
 */
export const LSTMCell = layer(class LSTMCell extends CellBase<LSTMState> {
  constructor(inp: number, out: number, opts: LSTMOptions = {}) {
    super();
    this.setup('LSTMCell', inp, out, 4, opts);
    const fb = opts.forgetBias ?? 1;
    if (typeof fb !== 'number' || !Number.isFinite(fb)) throw new TypeError(`LSTMCell: forgetBias must be a finite number, got ${describeValue(fb)}`);
    if (this.biasIh !== false && fb !== 0) {
      const b = new (this.biasIh.dtype === 'float32' ? Float32Array : Float64Array)(4 * out);
      b.fill(fb, out, 2 * out);
      this.biasIh = fromData(b, [4 * out]);
    }
  }

  initialState(batch?: number): LSTMState {
    return { h: this.zerosState(batch), c: this.zerosState(batch) };
  }

  /** @internal */
  project(x: Tensor): Tensor {
    return affine(x, this.weightIh, this.biasSum());
  }

  /** @internal */
  override fusedStep(x: Tensor, state: LSTMState): [Tensor, LSTMState] | undefined {
    const { h, c } = state;
    const wx = this.weightIh, wh = this.weightHh, bx = this.biasIh, bh = this.biasHh, dtype = wx.dtype;
    // not while any gradient records (e.g. the untaped first pass of a checkpoint): the fused
    // step agrees with the operations to rounding only, and a gradient's value must not depend
    // on which of its parts were taped
    if (tracingDepth() > 0 || !cpuDispatch() || !fusable(x, dtype) || !fusable(h, dtype) || !fusable(c, dtype) || !fusable(wx, dtype) || !fusable(wh, dtype)) return undefined;
    if ((bx !== false && !fusable(bx, dtype)) || (bh !== false && !fusable(bh, dtype))) return undefined;
    const H = this.outputSize, kx = this.inputSize, batch = x.ndim === 2 ? x.shape[0]! : 1;
    const [hOut, cOut] = lstmStep(batch, kx, H, dtype === 'float32', wx.nd, wh.nd, bx === false ? null : bx.nd, bh === false ? null : bh.nd, x.nd, h.nd, c.nd);
    const h2 = new Tensor(ndView(hOut, h.shape.slice())), c2 = new Tensor(ndView(cOut, h.shape.slice()));
    return [h2, { h: h2, c: c2 }];
  }

  /** @internal */
  step(xw: Tensor, { h, c }: LSTMState, whhT: Tensor): [Tensor, LSTMState] {
    const [h2, c2] = lstmGateStep(add(xw, matmul(h, whhT)), c);
    return [h2, { h: h2, c: c2 }];
  }

  /** @internal */
  [layerLabel](): string {
    return `LSTMCell(${this.arrow()})`;
  }
});
/** An {@link LSTMCell} layer. */
export type LSTMCell = InstanceType<typeof LSTMCell>;

/**
 * The gated recurrent unit, as PyTorch's `nn.GRUCell`: with blocks r, z, n,
 * `r = σ(Wᵢᵣx + bᵢᵣ + Wₕᵣh + bₕᵣ)`, `z = σ(Wᵢ𝓏x + bᵢ𝓏 + Wₕ𝓏h + bₕ𝓏)`,
 * `n = tanh(Wᵢₙx + bᵢₙ + r ⊙ (Wₕₙh + bₕₙ))`, `h′ = (1 − z) ⊙ n + z ⊙ h` (see
 * {@link GRUOptions.resetAfter} for the other placement of r); output and state `h′`.
 */
export const GRUCell = layer(class GRUCell extends CellBase<Tensor> {
  /** Reset gate after the recurrent product (PyTorch) or before it (TF.js). */
  resetAfter: boolean;

  constructor(inp: number, out: number, opts: GRUOptions = {}) {
    super();
    this.setup('GRUCell', inp, out, 3, opts);
    this.resetAfter = opts.resetAfter ?? true;
  }

  initialState(batch?: number): Tensor {
    return this.zerosState(batch);
  }

  /** @internal */
  project(x: Tensor): Tensor {
    return affine(x, this.weightIh, this.biasIh);
  }

  /** @internal */
  step(xw: Tensor, h: Tensor, whhT: Tensor): [Tensor, Tensor] {
    const H = this.outputSize;
    const [xr, xz, xn] = splitLast(xw, 3);
    let r: Tensor, z: Tensor, n: Tensor;
    if (this.resetAfter) {
      let hh = matmul(h, whhT);
      if (this.biasHh !== false) hh = add(hh, this.biasHh);
      const [hr, hz, hn] = splitLast(hh, 3);
      r = sigmoid(add(xr, hr));
      z = sigmoid(add(xz, hz));
      n = tanh(add(xn, mul(r, hn)));
    } else {
      const [wr, wz, wn] = splitLast(whhT, 3); // [out, 3·out] → three [out, out]
      const [br, bz, bn] = this.biasHh === false ? [0, 0, 0] : splitLast(this.biasHh, 3);
      r = sigmoid(add(add(xr, matmul(h, wr)), br));
      z = sigmoid(add(add(xz, matmul(h, wz)), bz));
      n = tanh(add(add(xn, matmul(mul(r, h), wn)), bn));
      void H;
    }
    const h2 = add(mul(sub(1, z), n), mul(z, h));
    return [h2, h2];
  }

  /** @internal */
  [layerLabel](): string {
    return `GRUCell(${this.arrow()}${this.resetAfter ? '' : '; resetAfter=false'})`;
  }
});
/** A {@link GRUCell} layer. */
export type GRUCell = InstanceType<typeof GRUCell>;

function isLibraryCell(x: unknown): x is CellBase<RecurrentState> {
  return x instanceof CellBase;
}

// ---------------------------------------------------------------- sequence layers

/** Options of a sequence layer's call, `layer(x, state?, opts?)`. */
export interface SequenceCallOptions {
  /** `[B, T]` (or `[T]` unbatched): 1 at real steps, 0 at padding; padded steps keep the state, output zeros and receive no gradient. */
  mask?: TensorLike;
  /** The real length of each sequence (`[B]` numbers, or one number unbatched): a mask with 1s before each length. */
  lengths?: readonly number[] | number;
  /** Return `[y, finalState]` instead of `y` (overrides the layer's own setting). */
  returnState?: boolean;
}

/** Options of {@link Recurrence}, {@link RNN}, {@link LSTM}, {@link GRU}. */
export interface SequenceOptions {
  /** Return `[y, finalState]` instead of `y`; default false. */
  returnState?: boolean;
  /**
   * A state to start from when the call passes none (default: the cell's zeros). Its tensors,
   * shaped like one unbatched state (`[out]`, `{ h: [out], c: [out] }`), become parameters of
   * the layer (a learnt initial state) and are broadcast over the batch.
   */
  initialState?: RecurrentState;
}

/** @internal Base of the sequence layers: a cell run over the time dimension. */
export abstract class SequenceBase extends Layer<[TensorLike, any?, SequenceCallOptions?], any> {
  /** The cell run at every step. */
  cell: any;
  /** Return the final state too. */
  returnState: boolean;
  /** A learnt initial state (unbatched), or undefined for the cell's zeros. */
  state0: RecurrentState | undefined;

  constructor(cell: unknown, opts: SequenceOptions = {}) {
    super();
    if (!isCell(cell)) throw new TypeError(`${new.target.name}: expected a recurrent cell (a layer called as cell(x, state) → [y, state], with an initialState(batch) method), got ${isLayer(cell) ? labelOf(cell) : describeValue(cell)}`);
    this.cell = cell;
    this.returnState = opts.returnState ?? false;
    this.state0 = opts.initialState;
  }

  /** The state for a batch of `batch`: the learnt initial state broadcast, or the cell's. */
  initialState(batch?: number): any {
    if (this.state0 === undefined) return this.cell.initialState(batch);
    return mapState(this.state0, (t) => (batch === undefined ? t : broadcastTo(t, [batch, ...t.shape])));
  }

  forward(input: TensorLike, state?: any, opts: SequenceCallOptions = {}): any {
    const lib = isLibraryCell(this.cell);
    let x = lib ? asInput(this, input, this.cell.weightIh.dtype) : (input instanceof Tensor ? input : asInput(this, input, 'float32'));
    const inSize = lib ? this.cell.inputSize : undefined;
    if ((x.ndim !== 2 && x.ndim !== 3) || (inSize !== undefined && x.shape[x.ndim - 1] !== inSize)) {
      const f = inSize ?? 'in';
      throw new ShapeError(`${labelOf(this)} expects input [B, T, ${f}] (batch first) or [T, ${f}], got input of shape ${shapeText(x)}`);
    }
    const unbatched = x.ndim === 2;
    if (unbatched) x = unsqueeze(x, 0);
    const [B, T] = x.shape;
    let s = state ?? this.initialState(B);
    if (unbatched && state !== undefined) s = mapState(s, (t) => unsqueeze(t, 0));
    if (lib) this.cell.checkState(s, B, labelOf(this));
    const masks = stepMasks(labelOf(this), opts, B, T, unbatched, x.dtype);
    const ys: Tensor[] = [];
    if (lib) {
      const cell = this.cell as CellBase<RecurrentState>;
      const whhT = transpose(cell.weightHh);
      const xs = unstack(cell.project(x), 1);
      for (let t = 0; t < T; t++) {
        const [y, s2] = cell.step(xs[t], s, whhT);
        ys.push(masked(y, s2, masks?.[t]));
        s = masks === undefined ? s2 : keep(s2, s, masks[t]);
      }
    } else {
      const xs = unstack(x, 1);
      for (let t = 0; t < T; t++) {
        const [y, s2] = this.cell(xs[t], s) as [Tensor, RecurrentState];
        ys.push(masked(y, s2, masks?.[t]));
        s = masks === undefined ? s2 : keep(s2, s, masks[t]);
      }
    }
    let out = stack(ys, 1);
    if (unbatched) {
      out = squeeze(out, 0);
      s = mapState(s, (t) => squeeze(t, 0));
    }
    return opts.returnState ?? this.returnState ? [out, s] : out;
  }
}

function masked(y: Tensor, _s: unknown, m: Tensor | undefined): Tensor {
  return m === undefined ? y : mul(y, m);
}

/** The new state where the step is real, the old one where it is padding. */
function keep(next: RecurrentState, old: RecurrentState, m: Tensor): RecurrentState {
  return zipState(next, old, (a, b) => where(m, a, b));
}

/** @internal Apply `fn` to every tensor of a state structure. */
export function mapState(s: any, fn: (t: Tensor) => Tensor): any {
  if (s instanceof Tensor) return fn(s);
  if (Array.isArray(s)) return s.map((e) => mapState(e, fn));
  if (typeof s === 'object' && s !== null) return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, mapState(v, fn)]));
  return s;
}

function zipState(a: any, b: any, fn: (x: Tensor, y: Tensor) => Tensor): any {
  if (a instanceof Tensor) return fn(a, b as Tensor);
  if (Array.isArray(a)) return a.map((e, i) => zipState(e, (b as unknown[])[i], fn));
  if (typeof a === 'object' && a !== null) return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, zipState(v, (b as Record<string, unknown>)[k], fn)]));
  return a;
}

/** Per-step masks `[B, 1]` from a call's `mask` or `lengths`, or undefined for none. */
export function stepMasks(label: string, opts: SequenceCallOptions, B: number, T: number, unbatched: boolean, dtype: DType): Tensor[] | undefined {
  if (opts.mask !== undefined && opts.lengths !== undefined) throw new TypeError(`${label}: give a mask or lengths, not both`);
  let m: Float64Array;
  if (opts.lengths !== undefined) {
    const ls = typeof opts.lengths === 'number' ? [opts.lengths] : [...opts.lengths];
    if (ls.length !== B || (unbatched && typeof opts.lengths !== 'number' && ls.length !== 1)) throw new ShapeError(`${label}: expects ${unbatched ? 'one length' : `${B} lengths (one per sequence)`}, got ${ls.length}`);
    ls.forEach((l) => {
      if (!Number.isInteger(l) || l < 0 || l > T) throw new RangeError(`${label}: lengths must be integers in 0…${T}, got ${l}`);
    });
    m = new Float64Array(B * T);
    ls.forEach((l, b) => m.fill(1, b * T, b * T + l));
  } else if (opts.mask !== undefined) {
    const mt = opts.mask instanceof Tensor ? opts.mask : fromData(Float64Array.from((opts.mask as number[]).flat(2) as number[]), unbatched ? [T] : [B, T]);
    const want = unbatched ? [T] : [B, T];
    if (mt.ndim !== want.length || mt.shape.some((d, i) => d !== want[i])) throw new ShapeError(`${label}: expects a mask of shape [${want.join(', ')}], got ${shapeText(mt)}`);
    m = Float64Array.from(mt.data);
    for (const v of m) if (v !== 0 && v !== 1) throw new RangeError(`${label}: mask entries must be 0 or 1, got ${v}`);
  } else return undefined;
  return Array.from({ length: T }, (_, t) => {
    const col = new (dtype === 'float32' ? Float32Array : Float64Array)(B);
    for (let b = 0; b < B; b++) col[b] = m[b * T + t];
    return fromData(col, [B, 1]);
  });
}

/**
 * Any cell run over a sequence: `Recurrence(cell, opts?)` maps `[B, T, in]` (batch first, or
 * an unbatched `[T, in]`) to `[B, T, out]`, starting from the state passed as the second
 * argument or the cell's initial state; `opts.returnState` (or the call's) also returns the
 * final state. The cell may be a user's own (see {@link Cell}).
 * ```ts
 * const rnn = Recurrence(LSTMCell(8, 16), { returnState: true });
 * const [ys, { h, c }] = rnn(x);                       // x: [B, T, 8] → ys: [B, T, 16]
 * rnn(x, undefined, { lengths: [5, 3] });              // padded steps keep the state
 * ```
 */
export const Recurrence = layer(class Recurrence extends SequenceBase {
  constructor(cell: unknown, opts: SequenceOptions = {}) {
    super(cell, opts);
  }
});
/** A {@link Recurrence} layer. */
export type Recurrence = InstanceType<typeof Recurrence>;

/** Label `Name(in => out…)` and no children: the built-in sequence layers print on one line. */
abstract class BuiltinSequence extends SequenceBase {
  /** @internal */
  [layerChildren](): [string | undefined, unknown][] {
    return [];
  }

  /** @internal */
  [layerLabel](): string {
    const cell = this.cell as CellBase<RecurrentState>;
    const inner = labelOf(cell).replace(/^\w+Cell\(/, '');
    return `${this.constructor.name}(${inner.slice(0, -1)}${this.returnState ? '; returnState=true' : ''})`;
  }
}

/** An Elman RNN over a sequence: `RNN(in, out, σ = tanh, opts?)`, a {@link Recurrence} of an {@link RNNCell}. */
export const RNN = layer(class RNN extends BuiltinSequence {
  constructor(inp: number, out: number, σ: Activation = tanh, opts: CellOptions & SequenceOptions = {}) {
    super(RNNCell(inp, out, σ, opts), opts);
  }
});
/** An {@link RNN} layer. */
export type RNN = InstanceType<typeof RNN>;

/** An LSTM over a sequence: `LSTM(in, out, opts?)`, a {@link Recurrence} of an {@link LSTMCell}; the state is `{ h, c }`. */
export const LSTM = layer(class LSTM extends BuiltinSequence {
  constructor(inp: number, out: number, opts: LSTMOptions & SequenceOptions = {}) {
    super(LSTMCell(inp, out, opts), opts);
  }
});
/** An {@link LSTM} layer. */
export type LSTM = InstanceType<typeof LSTM>;

/** A GRU over a sequence: `GRU(in, out, opts?)`, a {@link Recurrence} of a {@link GRUCell}. */
export const GRU = layer(class GRU extends BuiltinSequence {
  constructor(inp: number, out: number, opts: GRUOptions & SequenceOptions = {}) {
    super(GRUCell(inp, out, opts), opts);
  }
});
/** A {@link GRU} layer. */
export type GRU = InstanceType<typeof GRU>;
