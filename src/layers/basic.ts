/**
 * The basic layers: `Chain`/`compose`, `Dense`, `Parallel`, `SkipConnection`, `Maxout`,
 * `Bilinear`, `Embedding`, `Flatten`, `Scale`. Batch first, features last: a Dense layer maps
 * `[in]` to `[out]` and `[B, in]` (or `[B, T, in]`) to `[B, out]` (`[B, T, out]`).
 */
import { Tensor } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/convert.js';
import { ShapeError } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import { ones, randn, zeros } from '../tensor/create.js';
import { add, maximum, mul, relu } from '../ops/elementwise.js';
import { type DenseStep, denseFewRows, denseRunFewRows } from '../backend/cpu/dense.js';
import { sum } from '../ops/reduce.js';
import { matmul } from '../ops/linalg.js';
import { gather, permute, reshape, transpose, unsqueeze } from '../ops/movement.js';
import { Layer, describeValue, inDtype, isLayer, labelOf, layer, layerLabel, located } from './layer.js';
import { layerChildren, layerHead } from './show.js';
import { fuseRun, fusionApplies, plainInstance, registerRunFusion } from './fusion.js';
import { type Initializer, glorotUniform } from './init.js';

/** An activation or any function of one tensor. */
export type Activation = (x: Tensor) => Tensor;

/** The identity function: the default activation (not shown when a layer prints). */
export function identity<T>(x: T): T {
  return x;
}

const shapeText = (x: Tensor): string => `[${x.shape.join(', ')}]`;
const activationText = (σ: unknown): string => (σ === identity ? '' : `, ${typeof σ === 'function' ? σ.name || 'σ' : String(σ)}`);

/**
 * A tensor input to a layer, in the layer's `dtype`: a tensor of another float dtype is
 * converted (warning once); numbers and arrays become tensors of `dtype`.
 */
export function asInput(self: object, x: unknown, dtype: DType): Tensor {
  if (x instanceof Tensor) return x.dtype === dtype ? x : inDtype(self.constructor.name, x, dtype);
  if (typeof x === 'number' || Array.isArray(x) || ArrayBuffer.isView(x)) return toTensor(x as TensorLike, self.constructor.name, dtype);
  throw new TypeError(`${labelOf(self)} expects a tensor, got ${describeValue(x)}`);
}

// ---------------------------------------------------------------- Chain and compose

/** Entries of a Chain: a list, or named layers. */
type Chained = unknown[] | Record<string, unknown>;

/**
 * Layers (or plain functions) applied in sequence: `Chain(f, g, h)(x) = h(g(f(x)))`. Pass an
 * object to name them: `Chain({ encoder, head })`, then `chain.layers.encoder`.
 * ```ts
 * const model = Chain(Dense(784, 128, relu), Dense(128, 10), softmax);
 * Chain(exp, sum, log)([1, 2, 3]);   // 3.4076…
 * ```
 */
export const Chain = layer(class Chain extends Layer<[any], any> {
  /** The layers, in order: an array, or an object of named layers (typed loosely so `chain.layers[0].weight` and `chain.layers.encoder` read directly). */
  layers: any;

  constructor(...layers: unknown[]) {
    super();
    const named = layers.length === 1 && typeof layers[0] === 'object' && layers[0] !== null && !Array.isArray(layers[0]) && !(layers[0] instanceof Tensor);
    this.layers = named ? { ...(layers[0] as Record<string, unknown>) } : layers;
    for (const [k, f] of this.entries()) {
      if (typeof f !== 'function') throw new TypeError(`Chain: entry ${named ? k : `[${k}]`} must be a layer or a function, got ${describeValue(f)}`);
    }
  }

  forward(x: unknown): any {
    const ls = this.layers as Chained;
    const keys = Array.isArray(ls) ? undefined : Object.keys(ls);
    const list = keys === undefined ? (ls as unknown[]) : keys.map((k) => (ls as Record<string, unknown>)[k]);
    for (let i = 0; i < list.length; i++) {
      const f = list[i];
      try {
        // a run of entries computed in one pass where a fusion applies (inference only; see fusion.ts)
        const run = i + 1 < list.length && fusionApplies(x) ? fuseRun(list, i, x) : undefined;
        if (run !== undefined) {
          x = run.y;
          i += run.count - 1;
        } else {
          x = (f as (x: unknown) => unknown)(x);
        }
      } catch (e) {
        throw located(e, f, keys === undefined ? `[${i}]` : `.${keys[i]}`);
      }
    }
    return x;
  }

  /** `[key, layer]` pairs: indices as strings for a list, names for named layers. */
  entries(): [string, unknown][] {
    return Array.isArray(this.layers) ? this.layers.map((l, i) => [String(i), l]) : Object.entries(this.layers);
  }

  /** Number of layers. */
  get size(): number {
    return Array.isArray(this.layers) ? this.layers.length : Object.keys(this.layers).length;
  }

  /** The layer at position `i` (negative counts from the end). */
  at(i: number): unknown {
    const e = this.entries();
    return e[i < 0 ? e.length + i : i]?.[1];
  }

  /** A Chain of the layers from `start` up to (not including) `end`, sharing them (Flux's `chain[1:2]`). */
  slice(start?: number, end?: number): Chain {
    const picked = this.entries().slice(start, end);
    return (Array.isArray(this.layers) ? new ChainLayer(...picked.map((e) => e[1])) : new ChainLayer(Object.fromEntries(picked))) as Chain;
  }

  /** The layers in order. */
  [Symbol.iterator](): Iterator<unknown> {
    return this.entries().map((e) => e[1])[Symbol.iterator]();
  }

  /** @internal */
  [layerChildren](): [string | undefined, unknown][] {
    return this.entries().map(([k, l]) => [Array.isArray(this.layers) ? undefined : k, l]);
  }
});
/** A {@link Chain} layer. */
export type Chain = InstanceType<typeof Chain>;
const ChainLayer = Chain;

/** Function composition: `compose(f, g)(x) = f(g(x))`, a {@link Chain} of the functions in reverse order. */
export function compose(...fs: unknown[]): Chain {
  return Chain(...fs.slice().reverse());
}

// ---------------------------------------------------------------- Dense

/** Options of {@link Dense}. */
export interface DenseOptions {
  /** Weight initialiser; default {@link glorotUniform}. */
  init?: Initializer;
  /** `false` for no bias, or a bias tensor of shape `[out]`; default zeros. */
  bias?: boolean | Tensor;
  /** Parameter dtype; default `'float32'`. */
  dtype?: DType;
}

/**
 * A fully connected layer: `σ(x·Wᵀ + b)` with weight `W` of shape `[out, in]` (as PyTorch's
 * `nn.Linear`) and bias `b` of shape `[out]`. `Dense(inp, out, σ?, opts?)`, or
 * `Dense(weight, bias?, σ?)` from existing tensors.
 */
export const Dense = layer(class Dense extends Layer<[TensorLike], Tensor> {
  /** `[out, in]`. */
  weight: Tensor;
  /** `[out]`, or `false` for none. */
  bias: Tensor | false;
  /** The activation. */
  σ: Activation;

  constructor(inp: number | Tensor, out?: number | Tensor | boolean, σ: Activation = identity, opts: DenseOptions = {}) {
    super();
    if (inp instanceof Tensor) {
      if (inp.ndim !== 2) throw new ShapeError(`Dense: the weight must be a matrix [out, in], got shape ${shapeText(inp)}`);
      this.weight = inp;
      this.bias = out === false ? false : out instanceof Tensor ? out : zeros([inp.shape[0]], { dtype: inp.dtype });
    } else {
      checkSizes('Dense', { in: inp, out });
      const dtype = opts.dtype ?? 'float32';
      this.weight = (opts.init ?? glorotUniform)([out as number, inp], { dtype });
      this.bias = opts.bias === false ? false : opts.bias instanceof Tensor ? opts.bias : zeros([out as number], { dtype });
    }
    if (this.bias !== false && (this.bias.ndim !== 1 || this.bias.shape[0] !== this.weight.shape[0])) {
      throw new ShapeError(`Dense: the bias must have shape [${this.weight.shape[0]}], got ${shapeText(this.bias)}`);
    }
    if (typeof σ !== 'function') throw new TypeError(`Dense: the activation must be a function, got ${describeValue(σ)}`);
    this.σ = σ;
  }

  forward(input: TensorLike): Tensor {
    const x = denseInput(this, input);
    // untraced calls on a few rows: one product and one pass (values identical to the ops below)
    const σ = this.σ, plainσ = σ === identity || σ === relu;
    const fast = plainσ ? denseFewRows(x, this.weight, this.bias, σ === relu) : undefined;
    if (fast !== undefined) return fast;
    const y = matmul(x, transpose(this.weight));
    return σ(this.bias === false ? y : add(y, this.bias));
  }

  /** @internal */
  [layerLabel](): string {
    return `Dense(${this.weight.shape[1]} => ${this.weight.shape[0]}${activationText(this.σ)}${this.bias === false ? '; bias=false' : ''})`;
  }
});
/** A {@link Dense} layer. */
export type Dense = InstanceType<typeof Dense>;

/** A Dense layer's input, checked: the layer's dtype, `in` features last. */
function denseInput(self: Dense, input: TensorLike): Tensor {
  const x = asInput(self, input, self.weight.dtype);
  const inp = self.weight.shape[1];
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inp) {
    throw new ShapeError(`${labelOf(self)} expects ${inp} input features, got input of shape ${shapeText(x)}`);
  }
  return x;
}

/*
 * Consecutive Dense layers (relu or identity) in a Chain, on a few rows outside any gradient:
 * each layer's output stays in the kernels' memory as the next one's input
 * (src/backend/cpu/dense.ts `denseRunFewRows`), the same kernel calls as one by one, so the
 * same values. At batch 1 this spares each later layer its call, checks, staging and result
 * tensor.
 */
registerRunFusion((entries, at, x) => {
  const steps: DenseStep[] = [];
  for (let j = at; j < entries.length; j++) {
    const d = entries[j];
    if (!plainInstance(d, Dense)) break;
    const { weight, bias, σ } = d as Dense;
    if (σ !== relu && σ !== identity) break;
    const prev = steps[steps.length - 1];
    if (prev !== undefined && (weight.shape[1] !== prev.weight.shape[0] || weight.dtype !== prev.weight.dtype)) break;
    steps.push({ weight, bias, relu: σ === relu });
  }
  if (steps.length < 2) return undefined;
  const y = denseRunFewRows(denseInput(entries[at] as Dense, x), steps);
  return y === undefined ? undefined : { y, count: steps.length };
});

function checkSizes(op: string, sizes: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(sizes)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TypeError(`${op}: the ${k} size must be a positive integer, got ${describeValue(v)}`);
  }
}

// ---------------------------------------------------------------- combinators

/**
 * Several layers on one input (or one layer per input), combined by `connection`:
 * `Parallel(connection, f, g)(x) = connection(f(x), g(x))` and
 * `Parallel(connection, f, g)(x, y) = connection(f(x), g(y))`.
 * ```ts
 * Parallel((a, b) => concat([a, b], -1), Dense(4, 2), Dense(4, 3))   // [B, 4] → [B, 5]
 * ```
 */
export const Parallel = layer(class Parallel extends Layer<any[], any> {
  /** Combines the branches' outputs. */
  connection: (...ys: any[]) => any;
  /** The branches. */
  layers: unknown[];

  constructor(connection: (...ys: any[]) => any, ...layers: unknown[]) {
    super();
    if (typeof connection !== 'function') throw new TypeError(`Parallel: the connection must be a function, got ${describeValue(connection)}`);
    if (layers.length === 0) throw new TypeError('Parallel: give at least one layer');
    this.connection = connection;
    this.layers = layers;
  }

  forward(...xs: unknown[]): any {
    const n = this.layers.length;
    if (xs.length !== 1 && xs.length !== n) throw new TypeError(`Parallel: expects 1 input or ${n} inputs (one per layer), got ${xs.length}`);
    const ys = this.layers.map((l, i) => {
      try {
        return (l as (x: unknown) => unknown)(xs.length === 1 ? xs[0] : xs[i]);
      } catch (e) {
        throw located(e, l, `.layers[${i}]`);
      }
    });
    return this.connection(...ys);
  }

  /** @internal */
  [layerHead](): string {
    return `Parallel(${this.connection.name || 'connection'}`;
  }

  /** @internal */
  [layerChildren](): [string | undefined, unknown][] {
    return this.layers.map((l) => [undefined, l]);
  }
});
/** A {@link Parallel} layer. */
export type Parallel = InstanceType<typeof Parallel>;

/**
 * `connection(layer(x), x)`: a residual connection with `add`, or a dense block with concatenation.
 * ```ts
 * SkipConnection(Dense(8, 8, relu), add)
 * ```
 */
export const SkipConnection = layer(class SkipConnection extends Layer<[any], any> {
  /** The wrapped layer. */
  layer: (x: any) => any;
  /** Combines the layer's output with its input. */
  connection: (y: any, x: any) => any;

  constructor(inner: (x: any) => any, connection: (y: any, x: any) => any) {
    super();
    if (typeof inner !== 'function') throw new TypeError(`SkipConnection: the layer must be a layer or a function, got ${describeValue(inner)}`);
    if (typeof connection !== 'function') throw new TypeError(`SkipConnection: the connection must be a function, got ${describeValue(connection)}`);
    this.layer = inner;
    this.connection = connection;
  }

  forward(x: unknown): any {
    return this.connection(this.layer(x), x);
  }

  /** @internal */
  [layerHead](): string {
    return `SkipConnection(${this.connection.name || 'connection'}`;
  }

  /** @internal */
  [layerChildren](): [string | undefined, unknown][] {
    return [[undefined, this.layer]];
  }
});
/** A {@link SkipConnection} layer. */
export type SkipConnection = InstanceType<typeof SkipConnection>;

/**
 * The elementwise maximum of several layers' outputs on the same input (Goodfellow et al.'s
 * maxout). `Maxout(l1, l2, …)`, or `Maxout(() => Dense(4, 3), n)` for `n` fresh copies.
 */
export const Maxout = layer(class Maxout extends Layer<[any], Tensor> {
  /** The branches. */
  layers: unknown[];

  constructor(...args: unknown[]) {
    super();
    if (args.length === 2 && typeof args[1] === 'number' && typeof args[0] === 'function' && !isLayer(args[0])) {
      const [make, n] = args as [() => unknown, number];
      checkSizes('Maxout', { count: n });
      this.layers = Array.from({ length: n }, make);
    } else {
      this.layers = args;
    }
    if (this.layers.length === 0) throw new TypeError('Maxout: give at least one layer');
  }

  forward(x: unknown): Tensor {
    let out: Tensor | undefined;
    this.layers.forEach((l, i) => {
      let y: Tensor;
      try {
        y = (l as (x: unknown) => Tensor)(x);
      } catch (e) {
        throw located(e, l, `.layers[${i}]`);
      }
      out = out === undefined ? y : maximum(out, y);
    });
    return out!;
  }
});
/** A {@link Maxout} layer. */
export type Maxout = InstanceType<typeof Maxout>;

/** Options of {@link Bilinear}. */
export type BilinearOptions = DenseOptions;

/**
 * `y_o = σ(x₁ᵀ·W_o·x₂ + b_o)`: a bilinear form per output, weight `[out, in1, in2]`.
 * Call with two inputs `[B, in1]`, `[B, in2]` (or one, used for both).
 */
export const Bilinear = layer(class Bilinear extends Layer<[TensorLike, TensorLike?], Tensor> {
  /** `[out, in1, in2]`. */
  weight: Tensor;
  /** `[out]`, or `false`. */
  bias: Tensor | false;
  /** The activation. */
  σ: Activation;

  constructor(in1: number, in2: number, out: number, σ: Activation = identity, opts: BilinearOptions = {}) {
    super();
    checkSizes('Bilinear', { in1, in2, out });
    const dtype = opts.dtype ?? 'float32';
    this.weight = (opts.init ?? glorotUniform)([out, in1, in2], { dtype });
    this.bias = opts.bias === false ? false : opts.bias instanceof Tensor ? opts.bias : zeros([out], { dtype });
    this.σ = σ;
  }

  forward(a: TensorLike, b?: TensorLike): Tensor {
    const [out, in1, in2] = this.weight.shape;
    const x = asInput(this, a, this.weight.dtype);
    const y = b === undefined ? x : asInput(this, b, this.weight.dtype);
    if (x.shape[x.ndim - 1] !== in1 || y.shape[y.ndim - 1] !== in2 || x.ndim !== y.ndim || x.shape.slice(0, -1).some((d, i) => d !== y.shape[i])) {
      throw new ShapeError(`${labelOf(this)} expects inputs [..., ${in1}] and [..., ${in2}] with the same batch dimensions, got ${shapeText(x)} and ${shapeText(y)}`);
    }
    // x·W viewed as [in1, out·in2], then contracted with y along in2
    const w = reshape(permute(this.weight, [1, 0, 2]), [in1, out * in2]);
    const xw = reshape(matmul(x, w), [...x.shape.slice(0, -1), out, in2]);
    const z = sum(mul(xw, unsqueeze(y, -2)), -1);
    return this.σ(this.bias === false ? z : add(z, this.bias));
  }

  /** @internal */
  [layerLabel](): string {
    const [out, in1, in2] = this.weight.shape;
    return `Bilinear((${in1}, ${in2}) => ${out}${activationText(this.σ)})`;
  }
});
/** A {@link Bilinear} layer. */
export type Bilinear = InstanceType<typeof Bilinear>;

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** Initialiser of the table; default standard normal values (as PyTorch and Flux). */
  init?: Initializer;
  /** Parameter dtype; default `'float32'`. */
  dtype?: DType;
}

/**
 * A lookup table: integer indices (0-based) to rows of `weight`, of shape `[vocab, dim]`.
 * An index tensor of shape `[...s]` gives `[...s, dim]`.
 */
export const Embedding = layer(class Embedding extends Layer<[TensorLike], Tensor> {
  /** `[vocab, dim]`. */
  weight: Tensor;

  constructor(vocab: number, dim: number, opts: EmbeddingOptions = {}) {
    super();
    checkSizes('Embedding', { vocabulary: vocab, embedding: dim });
    const dtype = opts.dtype ?? 'float32';
    this.weight = opts.init ? opts.init([vocab, dim], { dtype }) : randn([vocab, dim], { dtype });
  }

  forward(indices: TensorLike): Tensor {
    const idx = toTensor(indices, 'Embedding', 'float64');
    const vocab = this.weight.shape[0];
    for (const v of idx.data) {
      if (!Number.isInteger(v) || v < 0 || v >= vocab) {
        throw new RangeError(`${labelOf(this)} got index ${v}; indices must be integers in 0…${vocab - 1}`);
      }
    }
    return gather(this.weight, idx, 0);
  }

  /** @internal */
  [layerLabel](): string {
    return `Embedding(${this.weight.shape[0]} => ${this.weight.shape[1]})`;
  }
});
/** An {@link Embedding} layer. */
export type Embedding = InstanceType<typeof Embedding>;

/** Flattens every dimension but the first (the batch): `[B, C, H, W]` → `[B, C·H·W]`. */
export const Flatten = layer(class Flatten extends Layer<[TensorLike], Tensor> {
  // an explicit constructor: without one, TypeScript declares this class's construct signature as `new (): this`, an error in .d.ts files (TS2526)
  constructor() {
    super();
  }

  forward(x: TensorLike): Tensor {
    const t = toTensor(x, 'Flatten');
    if (t.ndim < 1) throw new ShapeError(`Flatten() expects a batch of at least one dimension, got a scalar`);
    return reshape(t, [t.shape[0], -1]);
  }

  /** @internal */
  [layerLabel](): string {
    return 'Flatten()';
  }
});
/** A {@link Flatten} layer. */
export type Flatten = InstanceType<typeof Flatten>;

/** Options of {@link Scale}. */
export interface ScaleOptions {
  /** Add a learnt bias (default true). */
  bias?: boolean;
  /** Parameter dtype; default `'float32'`. */
  dtype?: DType;
}

/**
 * Elementwise affine: `σ(x ⊙ scale + bias)`, with `scale` (ones) and `bias` (zeros) of the
 * given shape, broadcast against the input's last dimensions.
 */
export const Scale = layer(class Scale extends Layer<[TensorLike], Tensor> {
  /** Multiplies the input. */
  scale: Tensor;
  /** Added after scaling, or `false`. */
  bias: Tensor | false;
  /** The activation. */
  σ: Activation;

  constructor(size: number | readonly number[], σ: Activation = identity, opts: ScaleOptions = {}) {
    super();
    const shape = typeof size === 'number' ? [size] : [...size];
    shape.forEach((d, i) => checkSizes('Scale', { [`dimension ${i}`]: d }));
    const dtype = opts.dtype ?? 'float32';
    this.scale = ones(shape, { dtype });
    this.bias = opts.bias === false ? false : zeros(shape, { dtype });
    this.σ = σ;
  }

  forward(input: TensorLike): Tensor {
    const x = asInput(this, input, this.scale.dtype);
    const s = this.scale.shape;
    if (x.ndim < s.length || s.some((d, i) => x.shape[x.ndim - s.length + i] !== d)) {
      throw new ShapeError(`${labelOf(this)} expects input of shape [..., ${s.join(', ')}], got ${shapeText(x)}`);
    }
    const y = mul(x, this.scale);
    return this.σ(this.bias === false ? y : add(y, this.bias));
  }

  /** @internal */
  [layerLabel](): string {
    return `Scale(${this.scale.shape.join(', ')}${activationText(this.σ)})`;
  }
});
/** A {@link Scale} layer. */
export type Scale = InstanceType<typeof Scale>;
