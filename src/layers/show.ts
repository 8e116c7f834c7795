/**
 * Printing models as Flux does: a tree of layers, each leaf with its parameter count, and a
 * total of arrays, parameters and bytes at the root.
 * ```
 * Chain(
 *   Dense(784 => 128, relu),              # 100_480 parameters
 *   Dense(128 => 10),                     # 1_290 parameters
 *   softmax,
 * )                   # Total: 4 arrays, 101_770 parameters, 397.5 KiB.
 * ```
 */
import { isLayerLike } from '../ad/structure.js';
import { Tensor } from '../tensor/tensor.js';
import { tensorEntries } from './tree.js';

/** Lets a container list what it prints as children: `[name or undefined, child]` pairs. */
export const layerChildren: unique symbol = Symbol.for('fluxion.layerChildren');

/** A layer's one-line description (`Dense(784 => 128, relu)`), used in printing and in errors. */
export const layerLabel: unique symbol = Symbol.for('fluxion.layerLabel');

type Entry = [string | undefined, unknown];

/** The children printed inside a container: its sub-layers (and the functions beside them). */
export function childrenOf(x: unknown): Entry[] {
  const own = (x as { [layerChildren]?: () => Entry[] })[layerChildren];
  if (typeof own === 'function') return own.call(x);
  const out: Entry[] = [];
  for (const k of Object.keys(x as object)) {
    const v = (x as Record<string, unknown>)[k];
    if (isLayerLike(v)) out.push([undefined, v]);
    else if (Array.isArray(v) && v.some(isLayerLike)) v.forEach((e) => (isLayerLike(e) || typeof e === 'function') && out.push([undefined, e]));
  }
  return out;
}

/** The label of a leaf: its own `[layerLabel]()` or `Name(field: shape, …)` from its tensors. */
export function leafLabel(x: unknown): string {
  if (typeof x === 'function' && !isLayerLike(x)) return x.name || '(anonymous function)';
  const own = (x as { [layerLabel]?: () => string })[layerLabel];
  if (typeof own === 'function') return own.call(x);
  const name = (x as object).constructor?.name ?? 'Layer';
  const fields = Object.keys(x as object)
    .filter((k) => (x as Record<string, unknown>)[k] instanceof Tensor)
    .map((k) => `${k}: ${((x as Record<string, Tensor>)[k].shape).join('×') || 'scalar'}`);
  return `${name}(${fields.join(', ')})`;
}

/** `100_480`: digits grouped by three with underscores, as Julia prints them. */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
}

function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

interface Counts { arrays: number; params: number; stateArrays: number; state: number; bytes: number; flags: string }

function countsOf(x: unknown): Counts {
  const c: Counts = { arrays: 0, params: 0, stateArrays: 0, state: 0, bytes: 0, flags: '' };
  let nan = false, inf = false, allZero = true;
  for (const { tensor, trainable } of tensorEntries(x)) {
    if (trainable) { c.arrays++; c.params += tensor.size; } else { c.stateArrays++; c.state += tensor.size; }
    c.bytes += tensor.size * (tensor.dtype === 'float32' ? 4 : 8);
    if (!trainable) continue;
    for (const v of tensor.data) {
      if (v !== v) nan = true;
      else if (v === Infinity || v === -Infinity) inf = true;
      if (v !== 0) allZero = false;
    }
  }
  c.flags = nan ? '  (some NaN)' : inf ? '  (some Inf)' : c.params > 0 && allZero ? '  (all zero)' : '';
  return c;
}

function comment(c: Counts): string {
  if (c.params === 0 && c.state === 0) return '';
  let s = `# ${groupDigits(c.params)} parameters`;
  if (c.state > 0) s += `, plus ${groupDigits(c.state)} non-trainable`;
  return s + c.flags;
}

function pad(line: string, col: number, text: string): string {
  return text === '' ? line : line + ' '.repeat(Math.max(2, col - line.length)) + text;
}

/** The whole model as text (what `String(model)` and `console.log(model)` show). */
export function showModel(x: unknown): string {
  const lines: string[] = [];
  const emit = (v: unknown, name: string | undefined, indent: number, last: string): void => {
    const pre = ' '.repeat(indent) + (name === undefined ? '' : `${name} = `);
    const kids = isLayerLike(v) ? childrenOf(v) : [];
    if (kids.length === 0) {
      lines.push(pad(pre + leafLabel(v) + last, 40, comment(countsOf(v))));
      return;
    }
    lines.push(`${pre}${headOf(v)}(`);
    for (const [n, k] of kids) emit(k, n, indent + 2, ',');
    lines.push(' '.repeat(indent) + ')' + last);
  };
  const kids = isLayerLike(x) ? childrenOf(x) : [];
  const c = countsOf(x);
  if (kids.length === 0) return pad(leafLabel(x), 0, comment(c));
  emit(x, undefined, 0, '');
  const total = `# Total: ${c.arrays} ${c.stateArrays > 0 ? 'trainable ' : ''}arrays, ${groupDigits(c.params)} parameters` +
    (c.stateArrays > 0 ? `, plus ${c.stateArrays} non-trainable, ${groupDigits(c.state)} parameters` : '') + `, ${bytes(c.bytes)}.` + c.flags;
  lines[lines.length - 1] = pad(lines[lines.length - 1], 20, total);
  return lines.join('\n');
}

/** The name a container prints before its children (its class name, or its own `[layerLabel]` head). */
function headOf(x: unknown): string {
  const head = (x as { [layerHead]?: () => string })[layerHead];
  return typeof head === 'function' ? head.call(x) : (x as object).constructor?.name ?? 'Layer';
}

/** Lets a container print a head other than its class name. */
export const layerHead: unique symbol = Symbol.for('fluxion.layerHead');
