/**
 * Seeing the shapes inside a model (the seeds' debugging chapter):
 * - {@link outputSize}: the output shape for an input shape, with no data: the model runs on
 *   *shape-only* tensors (no values, nothing allocated for them), for which every primitive
 *   has a shape rule instead of a kernel.
 * - {@link summary}: a table of every layer call, with output shapes and parameter counts.
 * - {@link shapes}: runs the model on real data and lists every layer call, nested, with its
 *   input and output shapes and the source line of the call.
 */
import { withoutFusion } from './fusion.js';
import { Tensor, type DeviceStorage } from '../tensor/tensor.js';
import { broadcastShapes, checkShape } from '../tensor/shape.js';
import { type DType, promote } from '../tensor/dtype.js';
import type { Kernel, KernelTable, Primitive, Pool2dParams } from '../ops/primitive.js';
import { UNARY, BINARY, COMPARE } from '../ops/primitive.js';
import { setShapeOnlyDispatch } from '../backend/index.js';
import { isLayerLike } from '../ad/structure.js';
import { type LayerCallHook, type LayerRun, setLayerCallHook } from './layer.js';
import { childrenOf, groupDigits, layerHead, leafLabel } from './show.js';
import { tensorEntries } from './tree.js';
import { Chain } from './basic.js';
import { isBatched, rawbatch } from './batch.js';

// ---------------------------------------------------------------- shape-only tensors

const SHAPE_BACKEND = 'shape-only';

/** Thrown when a shape-only tensor's values are read: the computation depends on data, not only shapes. */
function valuesNeeded(shape: readonly number[], dtype: DType): Error {
  const op = shapeRunBy;
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  // the frame after Tensor's `nd` getter is the accessor (item, data, toArray, get…)
  const at = frames.findIndex((f) => /get nd\b/.test(f));
  const accessor = at >= 0 ? frames[at + 1] ?? '' : '';
  const what = /\bitem\b/.test(accessor) ? 'item()' : /get data\b/.test(accessor) ? '.data'
    : /toArray/.test(accessor) ? 'toArray()' : /\.get\b/.test(accessor) ? 'get()' : /assign/.test(accessor) ? 'assign()' : 'a read';
  return new TypeError(
    `${op}: the values of a tensor of shape [${shape.join(', ')}] (${dtype}) were needed (by ${what}), but ${op} follows shapes only; ` +
    'this computation depends on the data (an index check, item(), a branch on values): use shapes(model, x) with real data instead',
  );
}

/** A tensor with a shape and a dtype but no values: reading them throws. */
function shapeOnly(shape: readonly number[], dtype: DType): Tensor {
  const s = shape.slice();
  const storage: DeviceStorage = { backend: SHAPE_BACKEND, read: () => { throw valuesNeeded(s, dtype); } };
  return new Tensor(storage, s, dtype);
}

/** Is `x` a tensor without values (made by {@link outputSize})? */
export function isShapeOnly(x: unknown): boolean {
  return x instanceof Tensor && x.device?.backend === SHAPE_BACKEND;
}

const broadcast = (op: string, ...ts: Tensor[]): number[] => ts.slice(1).reduce<number[]>((s, t) => broadcastShapes(op, s, t.shape), ts[0].shape.slice());

function reduced(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

const window = (n: number, k: number, s: number, p: number, d: number): number => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

function pooled(x: Tensor, p: Pool2dParams): number[] {
  const [n, c, h, w] = x.shape;
  return [n, c, window(h, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]), window(w, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1])];
}

/** One shape rule per primitive (`tsc` fails if one is missing); the dtype rules follow the CPU kernels. @internal */
export const shapeKernels: KernelTable = {
  ...(Object.fromEntries(UNARY.map((op) => [op, ([x]: Tensor[]) => shapeOnly(x.shape, x.dtype)])) as unknown as Pick<KernelTable, (typeof UNARY)[number]>),
  ...(Object.fromEntries([...BINARY, ...COMPARE].map((op) => [op, ([a, b]: Tensor[]) => shapeOnly(broadcast(op, a, b), promote(a.dtype, b.dtype))])) as unknown as
    Pick<KernelTable, (typeof BINARY)[number] | (typeof COMPARE)[number]>),
  where: ([c, a, b]) => shapeOnly(broadcast('where', c, a, b), promote(a.dtype, b.dtype)),
  cast: ([x], p) => shapeOnly(x.shape, p.dtype),
  sum: ([x], p) => shapeOnly(reduced(x.shape, p.axes, p.keepDims), x.dtype),
  prod: ([x], p) => shapeOnly(reduced(x.shape, p.axes, p.keepDims), x.dtype),
  max: ([x], p) => shapeOnly(reduced(x.shape, p.axes, p.keepDims), x.dtype),
  min: ([x], p) => shapeOnly(reduced(x.shape, p.axes, p.keepDims), x.dtype),
  argmax: ([x], p) => shapeOnly(reduced(x.shape, p.axis === null ? x.shape.map((_, i) => i) : [p.axis], p.keepDims), 'float64'),
  argmin: ([x], p) => shapeOnly(reduced(x.shape, p.axis === null ? x.shape.map((_, i) => i) : [p.axis], p.keepDims), 'float64'),
  matmul: ([a, b]) => {
    const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
    return shapeOnly([...batch, a.shape[a.ndim - 2], b.shape[b.ndim - 1]], promote(a.dtype, b.dtype));
  },
  reshape: ([x], p) => shapeOnly(p.shape, x.dtype),
  permute: ([x], p) => shapeOnly(p.perm.map((i) => x.shape[i]), x.dtype),
  broadcastTo: ([x], p) => shapeOnly(p.shape, x.dtype),
  slice: ([x], p) => shapeOnly(p.size, x.dtype),
  concat: (xs, p) => shapeOnly(xs[0].shape.map((d, i) => (i === p.axis ? xs.reduce((n, x) => n + x.shape[i], 0) : d)), xs[0].dtype),
  pad: ([x], p) => shapeOnly(x.shape.map((d, i) => d + p.pads[i][0] + p.pads[i][1]), x.dtype),
  gather: ([x, idx], p) => shapeOnly([...x.shape.slice(0, p.axis), ...idx.shape, ...x.shape.slice(p.axis + 1)], x.dtype),
  scatterAdd: ([s, idx], p) => shapeOnly([...s.shape.slice(0, p.axis), p.size, ...s.shape.slice(p.axis + idx.ndim)], s.dtype),
  conv2d: ([x, w], p) => {
    const [n, , h, wd] = x.shape, [o, , kh, kw] = w.shape;
    return shapeOnly([n, o, window(h, kh, p.stride[0], p.padding[0], p.dilation[0]), window(wd, kw, p.stride[1], p.padding[1], p.dilation[1])], x.dtype);
  },
  conv2dBackwardInput: ([dy], p) => shapeOnly(p.xShape, dy.dtype),
  conv2dBackwardFilter: ([x], p) => shapeOnly(p.wShape, x.dtype),
  maxPool2d: ([x], p) => shapeOnly(pooled(x, p), x.dtype),
  maxPool2dBackward: ([x, dy]) => shapeOnly(x.shape, dy.dtype),
  maxPool2dGather: ([x, v], p) => shapeOnly(pooled(x, p), v.dtype),
  avgPool2d: ([x], p) => shapeOnly(pooled(x, p), x.dtype),
  avgPool2dBackward: ([dy], p) => shapeOnly(p.xShape, dy.dtype),
};

function shapeDispatch(prim: Primitive, inputs: Tensor[]): Kernel<Primitive> | undefined {
  for (let i = 0; i < inputs.length; i++) if (inputs[i].device?.backend === SHAPE_BACKEND) return shapeKernels[prim] as Kernel<Primitive>;
  return undefined;
}

/** Shapes in the structure of a model's output: a shape for a tensor, arrays and objects of them. */
export type OutputShape = number[] | OutputShape[] | { [key: string]: OutputShape };

/** Options of {@link outputSize} and {@link summary}. */
export interface OutputSizeOptions {
  /** Dtype of the shape-only inputs; default the dtype of the model's first parameter, else float32. */
  dtype?: DType;
}

const isShapeList = (s: readonly unknown[]): s is readonly (readonly number[])[] => s.length > 0 && s.every(Array.isArray);

/**
 * The shape of `model`'s output for an input of shape `inputShape` (or several inputs:
 * `[[B, 4], [B, 3]]`), computed without data: the model runs on tensors that have a shape
 * but no values, and each primitive only computes its output shape (Flux's `outputsize`).
 * ```ts
 * outputSize(Chain(Conv([3, 3], 1, 8), MaxPool([2, 2]), Flatten()), [1, 1, 28, 28])   // [1, 1352]
 * ```
 * Shape errors are the same as on real data (they name the layer). A computation that reads
 * values (an Embedding's index check, `item()`) throws a TypeError saying so.
 */
export function outputSize(model: unknown, inputShape: readonly number[] | readonly (readonly number[])[], opts: OutputSizeOptions = {}): OutputShape {
  if (typeof model !== 'function') throw new TypeError(`outputSize: the model must be a layer or a function, got ${typeof model}`);
  const inputs = shapeInputs('outputSize', model, inputShape, opts);
  return shapesOf(withShapeOnly('outputSize', () => (model as (...a: unknown[]) => unknown)(...inputs)));
}

function shapeInputs(op: string, model: unknown, inputShape: readonly unknown[], opts: OutputSizeOptions): Tensor[] {
  if (!Array.isArray(inputShape)) throw new TypeError(`${op}: the input shape must be an array of integers (or an array of such arrays), got ${typeof inputShape}`);
  const dtype = opts.dtype ?? tensorEntries(model)[0]?.tensor.dtype ?? 'float32';
  const list = isShapeList(inputShape) ? inputShape : [inputShape as readonly number[]];
  return list.map((s) => shapeOnly(checkShape(s, op), dtype));
}

/** The function running the model on shape-only tensors, for error messages. */
let shapeRunBy = 'outputSize';

function withShapeOnly<T>(op: string, fn: () => T): T {
  const previous = setShapeOnlyDispatch(shapeDispatch);
  const previousOp = shapeRunBy;
  shapeRunBy = op;
  try {
    return fn();
  } finally {
    setShapeOnlyDispatch(previous);
    shapeRunBy = previousOp;
  }
}

function shapesOf(y: unknown): OutputShape {
  if (y instanceof Tensor) return y.shape.slice();
  if (isBatched(y)) return rawbatch(y).shape.slice();
  if (Array.isArray(y)) return y.map(shapesOf);
  if (typeof y === 'object' && y !== null) return Object.fromEntries(Object.entries(y).map(([k, v]) => [k, shapesOf(v)]));
  throw new TypeError(`outputSize: the model returned ${typeof y}, not tensors`);
}

// ---------------------------------------------------------------- recording layer calls

/** One call of a layer (or of a plain function inside a Chain) while a model ran. */
interface LayerCall {
  /** The layer or function called. */
  readonly node: unknown;
  /** Where the node sits in its caller: `[0]`, `.encoder`, `.first`; empty if it is not a field of the caller. */
  readonly key: string;
  /** Nesting depth (0 for the model itself). */
  readonly depth: number;
  /** Shapes of the tensor arguments. */
  readonly inputs: OutputShape[];
  /** Shape of the result (undefined while the call runs, or if it threw). */
  output: OutputShape | undefined;
  /** `file:line` of the code that made the call. */
  readonly location: string;
}

/** Where `child` sits among `parent`'s fields. */
function keyIn(parent: unknown, child: unknown): string {
  if (parent === undefined) return '';
  if (parent instanceof Chain) {
    const ls = (parent as Chain).layers as unknown;
    if (Array.isArray(ls)) return ls.includes(child) ? `[${ls.indexOf(child)}]` : '';
    for (const [k, v] of Object.entries(ls as object)) if (v === child) return `.${k}`;
    return '';
  }
  for (const k of Object.keys(parent as object)) {
    const v = (parent as Record<string, unknown>)[k];
    if (v === child) return `.${k}`;
    if (Array.isArray(v) && v.includes(child)) return `.${k}[${v.indexOf(child)}]`;
    if (typeof v === 'object' && v !== null && !(v instanceof Tensor) && !Array.isArray(v)) {
      for (const kk of Object.keys(v)) if ((v as Record<string, unknown>)[kk] === child) return `.${k}.${kk}`;
    }
  }
  return '';
}

// The library's own layers (Chain calling its entries, the call machinery) are skipped, so a
// call made by a library container is reported at the user's line that led to it.
const layersDir = new URL('.', import.meta.url).href;
const machinery = [layersDir];

/** `file:line` of the first stack frame outside fluxion's layers. */
function callSite(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^\s()]+):(\d+):\d+\)?$/.exec(line.trim());
    if (m === null) continue;
    const file = m[1].startsWith('file://') ? m[1] : `file://${m[1]}`;
    if (machinery.some((u) => file.startsWith(u))) continue;
    const path = decodeURIComponent(file.slice('file://'.length));
    const cwd = typeof process === 'undefined' ? '' : `${process.cwd()}/`;
    return `${path.startsWith(cwd) ? path.slice(cwd.length) : path}:${m[2]}`;
  }
  return '';
}

const argShapes = (args: unknown[]): OutputShape[] =>
  args.filter((a) => a instanceof Tensor || isBatched(a)).map((a) => (a instanceof Tensor ? a.shape.slice() : rawbatch(a as never).shape.slice()));

/** Run `fn` recording every layer call (and every plain function a Chain calls). */
function recordCalls<T>(fn: () => T, withLocations: boolean): { result: T; calls: LayerCall[] } {
  const calls: LayerCall[] = [];
  const stack: unknown[] = [];
  const record = <R>(node: unknown, args: unknown[], run: () => R): R => {
    const parent = stack[stack.length - 1];
    const call: LayerCall = { node, key: keyIn(parent, node), depth: stack.length, inputs: argShapes(args), output: undefined, location: withLocations ? callSite() : '' };
    calls.push(call);
    stack.push(node);
    try {
      const y = run();
      call.output = y instanceof Tensor || isBatched(y) || Array.isArray(y) ? safeShapes(y) : undefined;
      return y;
    } finally {
      stack.pop();
    }
  };
  const previous = setLayerCallHook(undefined);
  const hook: LayerCallHook = (self, args, run) => record(self, args, () => {
    // a Chain's plain-function entries are not layers: run it on a view that reports their calls too
    const runner: LayerRun = self instanceof Chain ? (s, a) => runChainSeeingFunctions(s as Chain, a, record) : run;
    return previous === undefined ? runner(self, args) : previous(self, args, runner);
  });
  setLayerCallHook(hook);
  try {
    return { result: withoutFusion(fn), calls }; // every layer's own call is what is shown
  } finally {
    setLayerCallHook(previous);
  }
}

function safeShapes(y: unknown): OutputShape | undefined {
  try {
    return shapesOf(y);
  } catch {
    return undefined;
  }
}

/** Chain's own forward, on a view of the Chain whose plain functions report their calls. */
function runChainSeeingFunctions(chain: Chain, args: unknown[], record: <R>(node: unknown, args: unknown[], run: () => R) => R): unknown {
  const wrap = (f: unknown): unknown => {
    if (typeof f !== 'function' || isLayerLike(f)) return f;
    const g = (...a: unknown[]): unknown => record(f, a, () => (f as (...b: unknown[]) => unknown)(...a));
    Object.defineProperty(g, 'name', { value: f.name });
    return g;
  };
  const ls = chain.layers as unknown;
  const layers = Array.isArray(ls) ? ls.map(wrap) : Object.fromEntries(Object.entries(ls as object).map(([k, v]) => [k, wrap(v)]));
  const view = Object.create(chain, { layers: { value: layers } }) as Chain;
  return (Object.getPrototypeOf(chain) as { forward: (...a: unknown[]) => unknown }).forward.apply(view, args);
}

// ---------------------------------------------------------------- summary and shapes

const shapeText = (s: OutputShape | undefined): string =>
  s === undefined ? '?' : Array.isArray(s) && s.every((d) => typeof d === 'number') ? `[${s.join(', ')}]`
    : Array.isArray(s) ? `(${s.map(shapeText).join(', ')})` : `{ ${Object.entries(s).map(([k, v]) => `${k}: ${shapeText(v)}`).join(', ')} }`;

/** A container's name (`Chain`, a custom layer's class), or a leaf's one-line label. */
function nodeLabel(x: unknown): string {
  if (!isLayerLike(x)) return leafLabel(x);
  if (childrenOf(x).length === 0) return leafLabel(x);
  const head = (x as { [layerHead]?: () => string })[layerHead];
  return typeof head === 'function' ? `${head.call(x)})` : (x as object).constructor?.name ?? 'Layer';
}

const paramCount = (x: unknown): number => (isLayerLike(x) ? tensorEntries(x).filter((e) => e.trainable).reduce((n, e) => n + e.tensor.size, 0) : 0);

function table(rows: string[][], rightAlign: boolean[]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (rightAlign[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('   ').trimEnd());
}

/**
 * A table of every layer call of `model` on an input of shape `inputShape` (computed without
 * data, as {@link outputSize}): the layer (indented by nesting, with its place in its
 * parent), its output shape and its parameter count, and the totals.
 * ```
 * Layer                          Output shape   Parameters
 * ────────────────────────────────────────────────────────
 * Chain                          [32, 10]          101_770
 *   [0] Dense(784 => 128, relu)  [32, 128]         100_480
 *   [1] Dense(128 => 10)         [32, 10]            1_290
 *   [2] softmax                  [32, 10]                0
 * ────────────────────────────────────────────────────────
 * Total: 4 arrays, 101_770 parameters; output [32, 10]
 * ```
 */
export function summary(model: unknown, inputShape: readonly number[] | readonly (readonly number[])[], opts: OutputSizeOptions = {}): string {
  if (typeof model !== 'function') throw new TypeError(`summary: the model must be a layer or a function, got ${typeof model}`);
  const inputs = shapeInputs('summary', model, inputShape, opts);
  const { result, calls } = recordCalls(() => withShapeOnly('summary', () => (model as (...a: unknown[]) => unknown)(...inputs)), false);
  const rows = [['Layer', 'Output shape', 'Parameters']];
  for (const c of calls) rows.push([`${'  '.repeat(c.depth)}${c.key === '' ? '' : `${c.key} `}${nodeLabel(c.node)}`, shapeText(c.output), groupDigits(paramCount(c.node))]);
  const lines = table(rows, [false, false, true]);
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '─'.repeat(width);
  const entries = tensorEntries(model);
  const trained = entries.filter((e) => e.trainable), state = entries.filter((e) => !e.trainable);
  let total = `Total: ${trained.length} arrays, ${groupDigits(trained.reduce((n, e) => n + e.tensor.size, 0))} parameters`;
  if (state.length > 0) total += `, plus ${state.length} non-trainable arrays, ${groupDigits(state.reduce((n, e) => n + e.tensor.size, 0))} values`;
  return [lines[0], rule, ...lines.slice(1), rule, `${total}; output ${shapeText(shapesOf(result))}`].join('\n');
}

/**
 * Runs `model` on real data and lists every layer call, nested by indentation, inlining
 * custom layers: its place in its caller, the layer, the input and output shapes, and the
 * `file:line` the call was made from (the seeds' `@shapes`). A wrong shape stands out at a
 * glance; the output of the model is not returned (call it again).
 * ```
 * TLP                     [5, 10] → [5, 15]   examples/tlp.ts:31
 *   .first Dense(10 => 20, relu) [5, 10] → [5, 20]   examples/tlp.ts:24
 *   …
 * ```
 * Works with any arguments the model takes (tensors, Batches); if the model throws, the
 * error propagates (its message names the layer).
 */
export function shapes(model: unknown, ...inputs: unknown[]): string {
  if (typeof model !== 'function') throw new TypeError(`shapes: the model must be a layer or a function, got ${typeof model}`);
  const { calls } = recordCalls(() => (model as (...a: unknown[]) => unknown)(...inputs), true);
  const rows = calls.map((c) => [
    `${'  '.repeat(c.depth)}${c.key === '' ? '' : `${c.key} `}${nodeLabel(c.node)}`,
    `${c.inputs.map(shapeText).join(', ')} → ${shapeText(c.output)}`,
    c.location,
  ]);
  return table(rows, [false, false, false]).join('\n');
}
