/**
 * The training loop: `await train(loss, model, data, opt, { epochs })` takes one gradient
 * step per batch, shows a progress bar on a terminal, reports through callbacks, and stops
 * cleanly on an `AbortSignal`, a callback's request, or — with an error — a non-finite loss
 * or gradient, leaving the model and optimiser state as they were after the last good step.
 */
import { Tensor } from '../tensor/tensor.js';
import type { FloatArray } from '../tensor/dtype.js';
import { withGradient } from '../ad/pullback.js';
import { isRule, type HyperValue, type Rule } from './rule.js';
import { OptimiserState, adjust, setup, update } from './setup.js';
import type { Schedule } from './schedules.js';
import { ProgressBar, progressStream } from './progress.js';

/** One epoch's summary in the {@link History}: the mean loss, counts, time, and metrics. */
export interface EpochSummary {
  /** The epoch, from 1. */
  epoch: number;
  /** The mean of the epoch's step losses. */
  loss: number;
  /** Steps (batches) taken. */
  steps: number;
  /** Observations seen (the first dimension of each batch's first tensor). */
  samples: number;
  /** Wall time of the epoch. */
  seconds: number;
  /** Means of the numbers the loss returned beside it (`{ loss, accuracy }`), and whatever `onEpoch` callbacks add. */
  [metric: string]: number;
}

/** What {@link train} returns. */
export interface History {
  /** The loss of every step, in order. */
  loss: number[];
  /** One summary per epoch completed (or cut short by a stop). */
  epochs: EpochSummary[];
  /** Why training ended: all epochs done, the signal aborted, or a callback asked to stop. */
  stopped: 'completed' | 'signal' | 'callback';
  /** The reason a callback gave to `stop` (e.g. `'earlyStopping'`). */
  reason?: string;
}

/** What `onStep` callbacks receive after each step. */
export interface StepInfo {
  /** The epoch, from 1. */
  readonly epoch: number;
  /** Total epochs requested. */
  readonly epochs: number;
  /** The step within the epoch, from 1. */
  readonly step: number;
  /** The step over the whole run, from 1. */
  readonly globalStep: number;
  /** The batch's index within the epoch's data, from 0. */
  readonly batch: number;
  /** Batches per epoch, when the data has a `length`. */
  readonly batches: number | undefined;
  /** This step's loss. */
  readonly loss: number;
  /** Numbers the loss returned beside it (`{ loss, accuracy }`). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Observations in this batch. */
  readonly samples: number;
  /** Ask training to stop after this step (the history records `reason`). */
  stop(reason?: string): void;
}

/** What `onEpoch` callbacks receive after each epoch. */
export interface EpochInfo {
  /** The epoch, from 1. */
  readonly epoch: number;
  /** Total epochs requested. */
  readonly epochs: number;
  /** The epoch's summary, already in the history; add fields to record metrics (validation loss). */
  readonly summary: EpochSummary;
  /** The history so far. */
  readonly history: History;
  /** Ask training to stop now (the history records `reason`). */
  stop(reason?: string): void;
}

/** Hooks into {@link train}; each may return a promise, which is awaited. */
export interface Callback {
  /** Before the first step. */
  onBegin?(info: { readonly epochs: number }): void | Promise<void>;
  /** After every step. */
  onStep?(info: StepInfo): void | Promise<void>;
  /** After every epoch. */
  onEpoch?(info: EpochInfo): void | Promise<void>;
  /** After the last step, also when stopped early (not when an error ends training). */
  onEnd?(history: History): void | Promise<void>;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Passes over the data (default 1). */
  epochs?: number;
  /** Callbacks, called in order: {@link earlyStopping}, or your own objects. */
  callbacks?: readonly Callback[];
  /** Shorthand for a callback with only `onStep`. */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Shorthand for a callback with only `onEpoch`. */
  onEpoch?: (info: EpochInfo) => void | Promise<void>;
  /**
   * Stop cleanly between steps when this aborts (history.stopped is then `'signal'`). Any
   * `AbortSignal` fits; the type is structural so the declarations need neither DOM nor Node types.
   */
  signal?: { readonly aborted: boolean };
  /**
   * Show a progress bar per epoch (default true). It appears only on a terminal: never when
   * stdout is not a TTY, when the CI environment variable is set, or outside Node.
   */
  progress?: boolean;
  /**
   * Set hyperparameters on every step from the global step number (from 0): a schedule for
   * the learning rate `eta`, or an object of schedules by hyperparameter name.
   */
  schedule?: Schedule | { readonly [name: string]: Schedule };
}

/** The error `train` throws on a NaN or infinite loss or gradient; the model keeps its last good values. */
export class NonFiniteError extends Error {
  /** @internal */
  constructor(
    message: string,
    /** What was not finite. */
    readonly quantity: 'loss' | 'gradient',
    /** The epoch, from 1. */
    readonly epoch: number,
    /** The step within the epoch, from 1. */
    readonly step: number,
    /** The batch's index within the epoch, from 0. */
    readonly batch: number,
    /** The step over the whole run, from 1. */
    readonly globalStep: number,
    /** For a gradient, the path of the tensor (`layers.0.weight`). */
    readonly path: string | undefined,
    /** The history up to the last good step. */
    readonly history: History,
  ) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

/** A loss of `(model, x, y)` for `[x, y]` batches, or `(model, batch)` for other batches. */
export type TrainLoss<M> = (model: M, ...batch: any[]) => unknown;

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Let timers, signals and rendering run: a macrotask turn (setImmediate in Node). */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((r) => g.setImmediate!(r));
  if (typeof MessageChannel !== 'undefined') {
    return new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { ch.port1.close(); r(); };
      ch.port2.postMessage(null);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}

function isThenable(x: unknown): x is PromiseLike<void> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

const LOSS_SHAPE = 'train: the loss function must return a scalar (a number or a one-element tensor), or { loss, …metrics }';

/** The scalar loss and the numeric metrics of what the loss function returned. */
function readLoss(value: unknown): { loss: number; metrics: Record<string, number> } {
  const scalar = (v: unknown): number | undefined => (typeof v === 'number' ? v : v instanceof Tensor && v.size === 1 ? v.item() : undefined);
  const metrics: Record<string, number> = {};
  let main: unknown = value, aux: unknown;
  if (Array.isArray(value) && value.length === 2) [main, aux] = value;
  else if (typeof value === 'object' && value !== null && !(value instanceof Tensor) && 'loss' in value) {
    const { loss, ...rest } = value as { loss: unknown };
    main = loss;
    aux = rest;
  }
  if (typeof aux === 'object' && aux !== null) {
    for (const [k, v] of Object.entries(aux)) {
      const n = scalar(v);
      if (n !== undefined) metrics[k] = n;
    }
  }
  const loss = scalar(main);
  if (loss === undefined) throw new TypeError(LOSS_SHAPE);
  return { loss, metrics };
}

/**
 * The storage range that holds exactly the elements of `t`, when its strides are a
 * permutation of a dense layout (contiguous, or a transposed view such as a Dense weight's
 * gradient), so it can be scanned in place without the copy that `.data` makes of a view.
 */
function denseStorage(t: Tensor): FloatArray | undefined {
  if (t.device !== undefined) return undefined;
  const { data, stride, offset } = t.nd;
  const dims: [number, number][] = [];
  for (let i = 0; i < t.ndim; i++) if (t.shape[i] !== 1) dims.push([stride[i], t.shape[i]]);
  dims.sort((a, b) => a[0] - b[0]);
  let expected = 1;
  for (const [s, n] of dims) {
    if (s !== expected) return undefined;
    expected *= n;
  }
  return offset === 0 && data.length === t.size ? data : data.subarray(offset, offset + t.size);
}

/** Index of the first NaN or ±Infinity in `d`, or -1. */
function nonFiniteIndex(d: FloatArray): number {
  // v·0 is 0 for every finite v and NaN otherwise: a branch-free pass over blocks, then a
  // search only inside a block that is not all finite
  const n = d.length, BLOCK = 1024;
  for (let b = 0; b < n; b += BLOCK) {
    const e = Math.min(b + BLOCK, n);
    let a0 = 0, a1 = 0, i = b;
    for (; i + 1 < e; i += 2) { a0 += d[i] * 0; a1 += d[i + 1] * 0; }
    if (i < e) a0 += d[i] * 0;
    if (a0 + a1 !== 0) for (let j = b; j < e; j++) if (d[j] - d[j] !== 0) return j;
  }
  return -1;
}

/** The path and value of the first non-finite element of a gradient tree, if any. */
function firstNonFinite(g: unknown): { path: string; value: number } | undefined {
  const walk = (x: unknown, path: string): { path: string; value: number } | undefined => {
    if (x instanceof Tensor) {
      const d = denseStorage(x) ?? x.data;
      const i = nonFiniteIndex(d);
      return i < 0 ? undefined : { path, value: d[i] };
    }
    if (typeof x !== 'object' || x === null || ArrayBuffer.isView(x)) return undefined;
    const keys = Array.isArray(x) ? x.map((_, i) => String(i)) : Object.keys(x);
    for (const k of keys) {
      const r = walk((x as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`);
      if (r !== undefined) return r;
    }
    return undefined;
  };
  return walk(g, '');
}

/** Observations in a batch: the first dimension of its first tensor (1 when it holds none). */
function batchSize(b: unknown): number {
  if (b instanceof Tensor) return b.ndim === 0 ? 1 : b.shape[0];
  if (typeof b === 'object' && b !== null && !ArrayBuffer.isView(b)) {
    for (const v of Object.values(b)) if (v instanceof Tensor) return v.ndim === 0 ? 1 : v.shape[0];
  }
  return 1;
}

function scheduled(schedule: TrainOptions['schedule'], t: number): { [name: string]: HyperValue } {
  if (typeof schedule === 'function') return { eta: schedule(t) };
  const out: Record<string, number> = {};
  for (const [k, s] of Object.entries(schedule!)) out[k] = s(t);
  return out;
}

/**
 * Train `model` in place: for each epoch, for each batch of `data`, take the gradient of
 * `loss` and update the model with `opt` (the state from `setup`, or a rule, which is set up
 * here). A batch that is an array is spread into the loss, `loss(model, x, y)`; any other
 * batch is passed whole, `loss(model, batch)`. The loss may return `{ loss, …metrics }`.
 * ```ts
 * const opt = setup(Adam(1e-3), model);
 * const history = await train((m, x, y) => logitCrossentropy(m(x), y), model, loader, opt, { epochs: 3 });
 * ```
 * A NaN or infinite loss or gradient ends training with a {@link NonFiniteError} naming the
 * epoch, step and batch; it is detected before that step's update, so the model and the
 * optimiser state keep their values from the last good step.
 *
 * Training yields to the event loop every few tens of milliseconds, so timers, the `signal`
 * and (in a browser) rendering keep running; hence the promise.
 */
export async function train<M>(loss: TrainLoss<M>, model: M, data: Iterable<unknown>, opt: OptimiserState | Rule, options: TrainOptions = {}): Promise<History> {
  if (typeof loss !== 'function') throw new TypeError(`train: the loss must be a function (model, x, y) => number, got ${typeof loss}`);
  if (data === null || typeof (data as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
    throw new TypeError('train: the data must be iterable (an array of batches or a DataLoader)');
  }
  const { epochs = 1, signal, schedule } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`train: epochs must be a positive integer, got ${epochs}`);
  if (schedule !== undefined && typeof schedule !== 'function' && (typeof schedule !== 'object' || schedule === null)) {
    throw new TypeError('train: schedule must be a function of the step or an object of them by hyperparameter name');
  }
  const state = opt instanceof OptimiserState ? opt : isRule(opt) ? setup(opt, model) : undefined;
  if (state === undefined) throw new TypeError('train: opt must be the state from setup(rule, model), or a rule such as Adam(1e-3)');
  const callbacks: Callback[] = [...(options.callbacks ?? [])];
  if (options.onStep) callbacks.push({ onStep: options.onStep });
  if (options.onEpoch) callbacks.push({ onEpoch: options.onEpoch });
  const call = async <K extends keyof Callback>(hook: K, arg: Parameters<NonNullable<Callback[K]>>[0]): Promise<void> => {
    for (const cb of callbacks) {
      const r = (cb[hook] as ((a: unknown) => unknown) | undefined)?.call(cb, arg);
      if (isThenable(r)) await r;
    }
  };

  const history: History = { loss: [], epochs: [], stopped: 'completed' };
  let stopReason: string | undefined;
  const stop = (reason = 'callback'): void => { stopReason ??= reason; };
  const stream = progressStream(options.progress);
  const bar = stream === undefined ? undefined : new ProgressBar(stream);
  const total = typeof (data as { length?: unknown }).length === 'number' ? (data as unknown as { length: number }).length : undefined;
  const lossOf = (m: M, batch: unknown): unknown => {
    const v = Array.isArray(batch) ? loss(m, ...batch) : loss(m, batch);
    if (v instanceof Tensor && v.size !== 1) throw new TypeError(`${LOSS_SHAPE}; got a tensor of shape [${v.shape.join(', ')}]`);
    return v;
  };
  let globalStep = 0, lastYield = now();

  await call('onBegin', { epochs });
  try {
    for (let epoch = 1; epoch <= epochs && stopReason === undefined; epoch++) {
      const t0 = now();
      let sum = 0, steps = 0, samples = 0, batchIndex = -1;
      const metricSums: Record<string, number> = {};
      bar?.start(epoch, epochs, total);
      for (const batch of data) {
        batchIndex++;
        if (signal?.aborted) { history.stopped = 'signal'; break; }
        const { value, grad } = withGradient((m: M) => lossOf(m, batch), model);
        const { loss: l, metrics } = readLoss(value);
        const where = `epoch ${epoch}, step ${steps + 1} (batch ${batchIndex} of the epoch, step ${globalStep + 1} overall)`;
        const kept = 'the model and the optimiser state keep their values from the last good step';
        if (!Number.isFinite(l)) {
          throw new NonFiniteError(`train: the loss is ${l} at ${where}; ${kept}`, 'loss', epoch, steps + 1, batchIndex, globalStep + 1, undefined, history);
        }
        const bad = firstNonFinite(grad[0]);
        if (bad !== undefined) {
          const name = bad.path === '' ? 'the model' : bad.path;
          throw new NonFiniteError(`train: the gradient of ${name} holds ${bad.value} at ${where}; ${kept}`, 'gradient', epoch, steps + 1, batchIndex, globalStep + 1, bad.path, history);
        }
        if (schedule !== undefined) adjust(state, scheduled(schedule, globalStep));
        update(state, model, grad[0]);
        globalStep++; steps++;
        const n = batchSize(batch);
        samples += n; sum += l;
        history.loss.push(l);
        for (const [k, v] of Object.entries(metrics)) metricSums[k] = (metricSums[k] ?? 0) + v;
        bar?.tick(steps, samples, sum / steps, now() - t0);
        if (callbacks.length > 0) {
          await call('onStep', {
            epoch, epochs, step: steps, globalStep, batch: batchIndex, batches: total, loss: l, metrics, samples: n, stop,
          });
        }
        if (stopReason !== undefined) break;
        if (now() - lastYield > 30) {
          await yieldToEventLoop();
          lastYield = now();
        }
      }
      if (steps === 0 && history.stopped === 'completed' && stopReason === undefined) {
        throw new TypeError(`train: the data yielded no batches in epoch ${epoch}` +
          (epoch > 1 ? ' (an iterator or generator can be iterated only once; pass an array, a DataLoader, or an object whose [Symbol.iterator] starts over)' : ''));
      }
      if (steps > 0) {
        const summary: EpochSummary = { epoch, loss: sum / steps, steps, samples, seconds: (now() - t0) / 1000 };
        for (const [k, v] of Object.entries(metricSums)) if (!(k in summary)) summary[k] = v / steps;
        history.epochs.push(summary);
        bar?.end(steps, samples, summary.loss, now() - t0);
        await call('onEpoch', { epoch, epochs, summary, history, stop });
      }
      if (history.stopped === 'signal') break;
    }
  } finally {
    bar?.close();
  }
  if (stopReason !== undefined) {
    history.stopped = 'callback';
    history.reason = stopReason;
  }
  await call('onEnd', history);
  return history;
}

/**
 * Stop when a monitored value has not improved for `patience` epochs: by more than
 * `minDelta`, downwards (`mode: 'min'`, the default) or upwards (`'max'`). `monitor` names a
 * field of the epoch summary (default `'loss'`; a metric the loss returns, or one an earlier
 * `onEpoch` callback adds) or is a function of the epoch info.
 * ```ts
 * await train(loss, model, data, opt, { epochs: 100, callbacks: [earlyStopping({ patience: 3 })] });
 * ```
 */
export function earlyStopping({ patience = 5, minDelta = 0, monitor = 'loss', mode = 'min' }: {
  patience?: number; minDelta?: number; monitor?: string | ((info: EpochInfo) => number); mode?: 'min' | 'max';
} = {}): Callback {
  if (!Number.isInteger(patience) || patience < 1) throw new RangeError(`earlyStopping: patience must be a positive integer, got ${patience}`);
  if (!(minDelta >= 0)) throw new RangeError(`earlyStopping: minDelta must be ≥ 0, got ${minDelta}`);
  if (mode !== 'min' && mode !== 'max') throw new RangeError(`earlyStopping: mode must be 'min' or 'max', got ${String(mode)}`);
  let best = Infinity, waited = 0;
  return {
    onBegin() { best = Infinity; waited = 0; },
    onEpoch(info) {
      const raw = typeof monitor === 'function' ? monitor(info) : info.summary[monitor];
      if (typeof raw !== 'number' || Number.isNaN(raw)) {
        throw new TypeError(`earlyStopping: the monitored value ${typeof monitor === 'string' ? `'${monitor}' ` : ''}is not a number in epoch ${info.epoch} (the summary has ${Object.keys(info.summary).join(', ')})`);
      }
      const v = mode === 'min' ? raw : -raw;
      if (v < best - minDelta) { best = v; waited = 0; return; }
      if (++waited >= patience) info.stop('earlyStopping');
    },
  };
}

/**
 * `fn` called at most once every `ms` milliseconds: calls in between are dropped (the first
 * call always runs). For a live chart or log from `onStep`.
 * ```ts
 * onStep: throttle((info) => chart.push(info.loss), 100)
 * ```
 */
export function throttle<A extends unknown[]>(fn: (...args: A) => void | Promise<void>, ms: number): (...args: A) => void | Promise<void> {
  if (typeof fn !== 'function') throw new TypeError(`throttle: expected a function, got ${typeof fn}`);
  if (!(ms >= 0)) throw new RangeError(`throttle: ms must be ≥ 0, got ${ms}`);
  let last = -Infinity;
  return (...args: A) => {
    const t = now();
    if (t - last < ms) return;
    last = t;
    return fn(...args);
  };
}
