/**
 * Saving and loading models as safetensors files. The keys are the model's paths
 * (`layers.0.weight`), so a fluxion file maps onto a PyTorch `state_dict` by key names: Dense
 * weights are `[out, in]` like `nn.Linear.weight` and conv filters `[O, C, kh, kw]` like
 * `nn.Conv2d.weight`.
 */
import { Tensor } from '../tensor/tensor.js';
import { assignByPath, loadState, state, tensorEntries } from '../layers/tree.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { readFileBytes, writeSafetensorsFile } from './node.js';
import { OptimiserState } from '../optimise/setup.js';
import { loadOptimiserState, optimiserState } from '../optimise/state.js';
import { fromData } from '../tensor/convert.js';

/** Optimiser state is stored under this prefix: `optimiser/layers.0.weight.m`; a slash never occurs in a model's dotted paths. */
const OPTIMISER = 'optimiser/';

/** Options of {@link saveModel}. */
export interface SaveOptions {
  /** The optimiser state from `setup(rule, model)`, saved beside the model so that training resumes exactly after {@link loadModel}. */
  optimiser?: OptimiserState;
  /** Free-form string entries stored in the file's `__metadata__` (keys starting with `fluxion.` are reserved). */
  metadata?: Record<string, string>;
  /**
   * Extra named tensors saved beside the model's (e.g. optimiser state, flattened by the
   * caller), under keys that must not clash with the model's paths.
   */
  extra?: Record<string, Tensor>;
}

/** What {@link loadModel} reads besides the model's tensors. */
export interface Loaded {
  /** The file's metadata, without fluxion's own `fluxion.` entries. */
  metadata: Record<string, string>;
  /** Tensors in the file under the keys of {@link SaveOptions.extra}, when `extra` names were asked for. */
  extra: Record<string, Tensor>;
}

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /** Restore the optimiser state saved with the model into this state (from `setup(rule, model)` on the model being loaded). */
  optimiser?: OptimiserState;
  /** Keys that are not the model's (saved with {@link SaveOptions.extra}) to read back instead of rejecting them. */
  extra?: readonly string[] | ((key: string) => boolean);
}

const FORMAT = { 'fluxion.format': 'fluxion-model', 'fluxion.version': '1' } as const;

/** Dotted keys of a saved optimiser tree; counters become one-element float64 tensors. */
function flattenSaved(tree: unknown): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const walk = (v: unknown, key: string): void => {
    if (v instanceof Tensor) out.push([key, v]);
    else if (typeof v === 'number') out.push([key, fromData(Float64Array.of(v), [1])]);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, e] of Object.entries(v)) walk(e, key === '' ? k : `${key}.${k}`);
    }
  };
  walk(tree, '');
  return out;
}

/** The bytes of a safetensors file holding every tensor of `model` (parameters and state) by path. */
export function modelBytes(model: unknown, options: SaveOptions = {}): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const { path, tensor } of tensorEntries(model)) tensors[path.length === 0 ? 'value' : path.join('.')] = tensor;
  if (options.optimiser !== undefined) {
    if (!(options.optimiser instanceof OptimiserState)) throw new TypeError('saveModel: optimiser must be the state from setup(rule, model)');
    for (const [k, v] of flattenSaved(optimiserState(options.optimiser))) tensors[OPTIMISER + k] = v;
  }
  for (const [k, t] of Object.entries(options.extra ?? {})) {
    if (k in tensors) throw new RangeError(`saveModel: the extra tensor ${k} has the name of one of the model's tensors`);
    tensors[k] = t;
  }
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.metadata ?? {})) {
    if (k.startsWith('fluxion.')) throw new RangeError(`saveModel: metadata keys starting with "fluxion." are reserved, got ${k}`);
    if (typeof v !== 'string') throw new TypeError(`saveModel: metadata values must be strings, got ${typeof v} for ${k}`);
    meta[k] = v;
  }
  return encodeSafetensors(tensors, { ...meta, ...FORMAT });
}

/**
 * Save `model` (every tensor, by path) as a safetensors file. With a path (Node), the file is
 * written atomically — to a temporary file that is flushed and renamed over `path`, so a crash
 * mid-save never leaves a torn checkpoint. Without one, returns the file's bytes (for a
 * browser: a download, IndexedDB, a POST).
 * ```ts
 * await saveModel(model, 'mnist.safetensors', { metadata: { epoch: '3' } });
 * const bytes = saveModel(model);
 * ```
 */
export function saveModel(model: unknown, path: string, options?: SaveOptions): Promise<void>;
export function saveModel(model: unknown, path?: undefined, options?: SaveOptions): Uint8Array;
export function saveModel(model: unknown, path?: string, options: SaveOptions = {}): Promise<void> | Uint8Array {
  const bytes = modelBytes(model, options);
  return path === undefined ? bytes : writeSafetensorsFile(path, bytes);
}

/**
 * Fill `model` (a model of the same structure, e.g. freshly built by the same code) from a
 * safetensors file's bytes or (Node) its path. Loading never executes anything from the file;
 * a malformed file is a `SafetensorsError`; a missing or extra tensor, or a shape or dtype that
 * does not match the model, is an error naming the path — and then nothing is written: the
 * model is left exactly as it was.
 */
export function loadModel(model: unknown, source: Uint8Array, options?: LoadOptions): Loaded;
export function loadModel(model: unknown, source: string, options?: LoadOptions): Promise<Loaded>;
export function loadModel(model: unknown, source: Uint8Array | string, options: LoadOptions = {}): Loaded | Promise<Loaded> {
  if (typeof source === 'string') return readFileBytes(source).then((b) => loadModel(model, b, options));
  if (!(source instanceof Uint8Array)) throw new TypeError(`loadModel: expected the file's bytes (a Uint8Array) or a path, got ${source === null ? 'null' : typeof source}`);
  const { tensors, metadata } = decodeSafetensors(source);
  const isExtra = typeof options.extra === 'function' ? options.extra : (k: string) => (options.extra as readonly string[] | undefined)?.includes(k) ?? false;
  const given = new Map<string, unknown>(), extra: Record<string, Tensor> = {}, saved: Record<string, Tensor> = {};
  const rootOnly = tensorEntries(model).some((e) => e.path.length === 0);
  for (const [k, t] of Object.entries(tensors)) {
    if (isExtra(k)) extra[k] = t;
    else if (k.startsWith(OPTIMISER)) saved[k.slice(OPTIMISER.length)] = t;
    else given.set(rootOnly && k === 'value' ? '' : k, t);
  }
  if (options.optimiser !== undefined && Object.keys(saved).length === 0) throw new RangeError('loadModel: the file holds no optimiser state (save it with saveModel(model, path, { optimiser }))');
  // loadOptimiserState checks everything before it writes, as assignByPath does; if it fails
  // after the model was written, the model's previous values are put back
  const before = options.optimiser === undefined ? undefined : state(model);
  assignByPath('loadModel', model, given, 'the file');
  if (options.optimiser !== undefined) {
    try {
      loadOptimiserState(options.optimiser, saved);
    } catch (e) {
      loadState(model, before);
      if (e instanceof Error) e.message = `loadModel: ${e.message} (nothing was loaded)`;
      throw e;
    }
  }
  const user: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) if (!k.startsWith('fluxion.')) user[k] = v;
  return { metadata: user, extra };
}
