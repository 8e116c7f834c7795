/**
 * Attention: scaled dot-product attention as a function of its own, and the multi-head
 * attention layer built from it (PyTorch's `nn.MultiheadAttention`, batch first). Both are
 * composites of matmul, softmax and where, so their gradients come from the AD at any order.
 */
import { Tensor } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/convert.js';
import { ShapeError, broadcastShapes } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import { arange, rand } from '../tensor/create.js';
import { astype, ge, mul, ne, where } from '../ops/elementwise.js';
import { max } from '../ops/reduce.js';
import { matmul } from '../ops/linalg.js';
import { permute, reshape, transpose } from '../ops/movement.js';
import { softmax } from '../ops/nn.js';
import { tracingDepth } from '../ad/tape.js';
import { Layer, describeValue, labelOf, layer, layerLabel } from './layer.js';
import { layerChildren } from './show.js';
import { Dense, asInput } from './basic.js';
import type { Initializer } from './init.js';

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Options of {@link dotProductAttention}. */
export interface DotProductAttentionOptions {
  /**
   * Which keys each query may attend to: a 0/1 tensor (1 = attend) broadcastable to the
   * scores' shape `[..., Tq, Tk]`. A query row with no key allowed gets all-zero weights
   * (and so a zero output) rather than NaN.
   */
  mask?: TensorLike;
  /** Query i attends only to keys j ≤ i (top-left aligned, as PyTorch's `is_causal`); default false. */
  causal?: boolean;
  /** Probability of dropping each attention weight (the rest are scaled by 1/(1 − p)); default 0. */
  dropout?: number;
  /**
   * Whether dropout applies: `undefined` (default) = while a gradient is being taken, as
   * Flux's Dropout; `true`/`false` force it on or off.
   */
  active?: boolean;
}

/**
 * Scaled dot-product attention: `softmax(q·kᵀ / √d + masks)·v` over the last two dimensions,
 * with any leading (batch, head) dimensions broadcast.
 * `q`: `[..., Tq, d]`, `k`: `[..., Tk, d]`, `v`: `[..., Tk, dv]` → `[..., Tq, dv]`.
 * ```ts
 * dotProductAttention(q, k, v, { causal: true })
 * ```
 */
export function dotProductAttention(q: TensorLike, k: TensorLike, v: TensorLike, opts: DotProductAttentionOptions = {}): Tensor {
  return attend('dotProductAttention', q, k, v, opts)[0];
}

/**
 * The attention weights of {@link dotProductAttention}: `[..., Tq, Tk]`, each row summing to 1
 * over the keys allowed (0 for a fully masked row), after dropout when it applies.
 */
export function attentionWeights(q: TensorLike, k: TensorLike, opts: DotProductAttentionOptions = {}): Tensor {
  return attend('attentionWeights', q, k, undefined, opts)[1];
}

/** A fill for masked scores: exp of (fill − row max) is exactly 0 in float32 and float64 for any realistic score. */
const MASKED = -1e30;

function attend(op: string, qIn: TensorLike, kIn: TensorLike, vIn: TensorLike | undefined, opts: DotProductAttentionOptions): [Tensor, Tensor] {
  const q = toTensor(qIn, op), k = toTensor(kIn, op, q.dtype);
  const v = vIn === undefined ? undefined : toTensor(vIn, op, q.dtype);
  if (q.ndim < 2 || k.ndim < 2 || (v !== undefined && v.ndim < 2)) {
    throw new ShapeError(`${op}: expects q [..., Tq, d], k [..., Tk, d]${v ? ' and v [..., Tk, dv]' : ''}, got ${[q, k, ...(v ? [v] : [])].map((t) => shapeText(t.shape)).join(', ')}`);
  }
  const d = q.shape[q.ndim - 1], tq = q.shape[q.ndim - 2], tk = k.shape[k.ndim - 2];
  if (k.shape[k.ndim - 1] !== d || (v !== undefined && v.shape[v.ndim - 2] !== tk)) {
    throw new ShapeError(`${op}: q [..., Tq, d] and k [..., Tk, d] need the same d, and v [..., Tk, dv] the keys' length; got q ${shapeText(q.shape)}, k ${shapeText(k.shape)}${v ? `, v ${shapeText(v.shape)}` : ''}`);
  }
  const scores = mul(matmul(q, transpose(k)), 1 / Math.sqrt(d));
  let allowed: Tensor | undefined;
  if (opts.mask !== undefined) {
    const m = toTensor(opts.mask, op, q.dtype);
    try {
      broadcastShapes(op, m.shape, scores.shape);
    } catch {
      throw new ShapeError(`${op}: the mask of shape ${shapeText(m.shape)} does not broadcast to the scores [..., Tq, Tk] = ${shapeText(scores.shape)}`);
    }
    // as 0/1 in the scores' dtype, so a float64 mask does not promote float32 attention
    allowed = ne(astype(m, scores.dtype), 0);
  }
  if (opts.causal === true) {
    // key j is visible from query i when j ≤ i
    const causal = ge(reshape(arange(tq, { dtype: q.dtype }), [tq, 1]), reshape(arange(tk, { dtype: q.dtype }), [1, tk]));
    allowed = allowed === undefined ? causal : mul(allowed, causal);
  }
  let w: Tensor;
  if (allowed === undefined) w = softmax(scores, -1);
  else {
    w = softmax(where(allowed, scores, MASKED), -1);
    // a row with no key allowed would be uniform over masked keys: make it zero instead
    const anyAllowed = max(allowed, -1, { keepDims: true });
    w = mul(w, anyAllowed);
  }
  const p = opts.dropout ?? 0;
  checkDropout(op, p);
  if (p > 0 && (opts.active ?? tracingDepth() > 0)) {
    const keep = ge(rand(w.shape, { dtype: w.dtype }), p);
    w = mul(w, mul(keep, 1 / (1 - p)));
  }
  return [v === undefined ? w : matmul(w, v), w];
}

function checkDropout(op: string, p: unknown): void {
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new RangeError(`${op}: dropout must be a probability in [0, 1), got ${describeValue(p)}`);
}

// ---------------------------------------------------------------- MultiHeadAttention

/** Options of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionOptions {
  /** Number of heads; must divide `dim`. Default 8. */
  heads?: number;
  /** Dropout probability on the attention weights (while training; see `active`). Default 0. */
  dropout?: number;
  /** Every call is causal (query i sees keys ≤ i). Default false. */
  causal?: boolean;
  /** Biases in the four projections. Default true. */
  bias?: boolean;
  /** Features of the key input; default `dim`. */
  kdim?: number;
  /** Features of the value input; default `dim`. */
  vdim?: number;
  /** Weight initialiser of the projections; default Dense's (glorotUniform). */
  init?: Initializer;
  /** Parameter dtype; default `'float32'`. */
  dtype?: DType;
}

/** Options of a {@link MultiHeadAttention} call. */
export interface AttentionCallOptions {
  /** 0/1 tensor broadcastable to `[B, heads, Tq, Tk]` (1 = attend); a 2-d `[Tq, Tk]` mask applies to every batch element and head. */
  mask?: TensorLike;
  /** Key padding: a 0/1 tensor `[B, Tk]` (1 = a real key, 0 = padding), combined with `mask`. */
  keyMask?: TensorLike;
  /** Overrides the layer's `causal` for this call. */
  causal?: boolean;
}

const withWeightsFlag: unique symbol = Symbol('fluxion.attentionWeights');
type InternalCall = AttentionCallOptions & { [withWeightsFlag]?: boolean };

const isOptions = (x: unknown): x is AttentionCallOptions =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Tensor) && !ArrayBuffer.isView(x);

/**
 * Multi-head attention (Vaswani et al.), as PyTorch's `nn.MultiheadAttention` with
 * `batch_first`: projections `qProj`, `kProj`, `vProj` (Dense layers with `[dim, dim]`
 * weights, or `[dim, kdim]`, `[dim, vdim]`), scaled dot-product attention per head, and the
 * output projection `outProj`.
 * ```ts
 * const mha = MultiHeadAttention(64, { heads: 8 });
 * mha(x);                              // self-attention: [B, T, 64] → [B, T, 64]
 * mha(q, k, v, { mask });              // [B, Tq, 64], [B, Tk, 64], [B, Tk, 64] → [B, Tq, 64]
 * const [y, w] = mha.withWeights(q);   // w: [B, heads, Tq, Tk], per head
 * ```
 * `k` defaults to `q` and `v` to `k`; the options object may follow any of them. An
 * unbatched query `[Tq, dim]` (with keys `[Tk, kdim]`) gives `[Tq, dim]`. Dropout on the
 * attention weights follows `active`: `undefined` = while a gradient is being taken.
 */
export const MultiHeadAttention = layer(class MultiHeadAttention extends Layer<[TensorLike, (TensorLike | AttentionCallOptions)?, (TensorLike | AttentionCallOptions)?, AttentionCallOptions?], Tensor> {
  /** Query projection, weight `[dim, dim]`. */
  qProj: Dense;
  /** Key projection, weight `[dim, kdim]`. */
  kProj: Dense;
  /** Value projection, weight `[dim, vdim]`. */
  vProj: Dense;
  /** Output projection, weight `[dim, dim]`. */
  outProj: Dense;
  /** Number of heads. */
  heads: number;
  /** Dropout probability on the attention weights. */
  dropout: number;
  /** Whether calls are causal by default. */
  causal: boolean;
  /** Dropout on (`true`), off (`false`) or automatic (`undefined`: while a gradient is taken). */
  active: boolean | undefined = undefined;

  constructor(dim: number, opts: MultiHeadAttentionOptions = {}) {
    super();
    const heads = opts.heads ?? 8, kdim = opts.kdim ?? dim, vdim = opts.vdim ?? dim;
    for (const [name, n] of [['dim', dim], ['heads', heads], ['kdim', kdim], ['vdim', vdim]] as const) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new TypeError(`MultiHeadAttention: ${name} must be a positive integer, got ${describeValue(n)}`);
    }
    if (dim % heads !== 0) throw new RangeError(`MultiHeadAttention: dim ${dim} is not divisible by heads ${heads}`);
    checkDropout('MultiHeadAttention', opts.dropout ?? 0);
    const dense = { bias: opts.bias ?? true, dtype: opts.dtype ?? 'float32', ...(opts.init ? { init: opts.init } : {}) };
    this.qProj = Dense(dim, dim, undefined, dense);
    this.kProj = Dense(kdim, dim, undefined, dense);
    this.vProj = Dense(vdim, dim, undefined, dense);
    this.outProj = Dense(dim, dim, undefined, dense);
    this.heads = heads;
    this.dropout = opts.dropout ?? 0;
    this.causal = opts.causal ?? false;
  }

  forward(qIn: TensorLike, kIn?: TensorLike | AttentionCallOptions, vIn?: TensorLike | AttentionCallOptions, optsIn?: AttentionCallOptions): Tensor {
    // the options object may follow q, k or v
    let opts: InternalCall = optsIn ?? {};
    let kArg: TensorLike | undefined, vArg: TensorLike | undefined;
    if (isOptions(kIn)) opts = kIn;
    else {
      kArg = kIn;
      if (isOptions(vIn)) opts = vIn;
      else vArg = vIn;
    }
    const dtype = this.qProj.weight.dtype;
    const dim = this.qProj.weight.shape[0];
    let q = asInput(this, qIn, dtype);
    let k = kArg === undefined ? q : asInput(this, kArg, dtype);
    let v = vArg === undefined ? k : asInput(this, vArg, dtype);
    const single = q.ndim === 2;
    const kdim = this.kProj.weight.shape[1], vdim = this.vProj.weight.shape[1];
    const rank = single ? 2 : 3, form = single ? '' : 'B, ';
    if (q.ndim !== rank || q.shape[rank - 1] !== dim) {
      throw new ShapeError(`${labelOf(this)} expects query [B, Tq, ${dim}] (or [Tq, ${dim}]), got query of shape ${shapeText(q.shape)}`);
    }
    if (k.ndim !== rank || k.shape[rank - 1] !== kdim) {
      throw new ShapeError(`${labelOf(this)} expects key [${form}Tk, ${kdim}], got key of shape ${shapeText(k.shape)} with query ${shapeText(q.shape)}`);
    }
    if (v.ndim !== rank || v.shape[rank - 1] !== vdim) {
      throw new ShapeError(`${labelOf(this)} expects value [${form}Tk, ${vdim}], got value of shape ${shapeText(v.shape)} with query ${shapeText(q.shape)}`);
    }
    if (v.shape[rank - 2] !== k.shape[rank - 2] || (!single && (k.shape[0] !== q.shape[0] || v.shape[0] !== q.shape[0]))) {
      throw new ShapeError(`${labelOf(this)} expects query, key and value with one batch size and key and value of one length, got query ${shapeText(q.shape)}, key ${shapeText(k.shape)}, value ${shapeText(v.shape)}`);
    }
    if (single) [q, k, v] = [q, k, v].map((t) => reshape(t, [1, ...t.shape]));
    const [b, tq] = q.shape, tk = k.shape[1], h = this.heads, dh = dim / h;
    const split = (x: Tensor, t: number): Tensor => permute(reshape(x, [b, t, h, dh]), [0, 2, 1, 3]);
    let mask = opts.mask === undefined ? undefined : toTensor(opts.mask, 'MultiHeadAttention', dtype);
    if (mask !== undefined && !single && mask.ndim === 3) {
      throw new ShapeError(`${labelOf(this)}: a 3-d mask is ambiguous; give [Tq, Tk], [B, 1, Tq, Tk] or [B, heads, Tq, Tk], got mask of shape ${shapeText(mask.shape)}`);
    }
    if (opts.keyMask !== undefined) {
      const km = toTensor(opts.keyMask, 'MultiHeadAttention', dtype);
      const want = single ? [tk] : [b, tk];
      if (km.ndim !== want.length || km.shape.some((n, i) => n !== want[i])) {
        throw new ShapeError(`${labelOf(this)} expects keyMask ${single ? '[Tk]' : '[B, Tk]'} = ${shapeText(want)}, got keyMask of shape ${shapeText(km.shape)}`);
      }
      const km4 = reshape(km, [b, 1, 1, tk]);
      mask = mask === undefined ? km4 : mul(ne(mask, 0), ne(km4, 0));
    }
    if (mask !== undefined) {
      try {
        broadcastShapes('MultiHeadAttention', mask.shape, [b, h, tq, tk]);
      } catch {
        throw new ShapeError(`${labelOf(this)}: the mask of shape ${shapeText(mask.shape)} does not broadcast to [B, heads, Tq, Tk] = ${shapeText([b, h, tq, tk])}`);
      }
    }
    const [o, w] = attend('MultiHeadAttention', split(this.qProj(q), tq), split(this.kProj(k), tk), split(this.vProj(v), tk), {
      mask, causal: opts.causal ?? this.causal, dropout: this.dropout, active: this.active,
    });
    let y = this.outProj(reshape(permute(o, [0, 2, 1, 3]), [b, tq, dim]));
    let weights = w;
    if (single) [y, weights] = [reshape(y, [tq, dim]), reshape(w, [h, tq, tk])];
    return (opts[withWeightsFlag] ? [y, weights] : y) as Tensor;
  }

  /**
   * The output and the attention weights `[B, heads, Tq, Tk]` (per head, not averaged;
   * `[heads, Tq, Tk]` for an unbatched query). Same arguments as a call.
   */
  withWeights(q: TensorLike, k?: TensorLike | AttentionCallOptions, v?: TensorLike | AttentionCallOptions, opts?: AttentionCallOptions): [Tensor, Tensor] {
    const args: unknown[] = [q, k, v, opts];
    let i = args.length;
    while (i > 1 && args[i - 1] === undefined) i--;
    const last = args[i - 1];
    const flagged = { [withWeightsFlag]: true };
    if (i > 1 && isOptions(last)) args[i - 1] = { ...last, ...flagged };
    else args[i++] = flagged;
    return (this as unknown as (...a: unknown[]) => [Tensor, Tensor])(...args.slice(0, i));
  }

  /** @internal */
  [layerLabel](): string {
    const dim = this.qProj.weight.shape[0];
    const extra: string[] = [`heads=${this.heads}`];
    if (this.kProj.weight.shape[1] !== dim) extra.push(`kdim=${this.kProj.weight.shape[1]}`);
    if (this.vProj.weight.shape[1] !== dim) extra.push(`vdim=${this.vProj.weight.shape[1]}`);
    if (this.dropout > 0) extra.push(`dropout=${this.dropout}`);
    if (this.causal) extra.push('causal=true');
    if (this.qProj.bias === false) extra.push('bias=false');
    return `MultiHeadAttention(${dim}; ${extra.join(', ')})`;
  }

  /** @internal Printed as one line with its parameter count, not as four Dense layers. */
  [layerChildren](): [string | undefined, unknown][] {
    return [];
  }
});
/** A {@link MultiHeadAttention} layer. */
export type MultiHeadAttention = InstanceType<typeof MultiHeadAttention>;
