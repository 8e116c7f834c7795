/**
 * Gradient checkpointing (Zygote's `checkpointed`, JAX's `remat`): a function whose
 * intermediates are not kept for the backward pass but recomputed there, trading one extra
 * forward for memory. Also the multi-output custom node it is built on, which the recurrent
 * layers use to split a sequence into steps with one node.
 */
import { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/create.js';
import { add } from '../ops/elementwise.js';
import { rng } from '../tensor/random.js';
import { TrackedNumber, trackNumber } from './tape.js';
import { TrackedTensor } from './tracked.js';
import { emptyLike, isLayerLike } from './structure.js';
import { pullback } from './pullback.js';
import { liveOf, nodeInputs } from './custom.js';

/** A differentiable leaf: a number or a tensor (possibly traced). */
type Leaf = number | TrackedNumber | Tensor;

/**
 * @internal A node with several inputs and outputs, in the style of `customGradient`:
 * `forward` gets the inputs with the innermost tape's tracing removed (values traced by
 * enclosing gradients stay, so it is recorded by them) and returns the outputs (numbers or
 * tensors); `back` gets one cotangent per output (undefined where none flowed) and returns
 * one per input (null for none), computed with fluxion's operations so it can be
 * differentiated again. With nothing traced, `forward` simply runs on the inputs.
 */
export function multiOutput(
  inputs: readonly Leaf[],
  forward: (inputs: Leaf[]) => Leaf[],
  back: (cotangents: (Leaf | undefined)[]) => readonly unknown[],
): Leaf[] {
  const { top, primals, ids } = nodeInputs(inputs);
  if (top === undefined) return forward(primals);
  const ys = forward(primals);
  for (const y of ys) {
    const l = liveOf(y);
    if (l !== undefined && l.tape.level >= top.level) {
      throw new TypeError('checkpoint: the function used a value being differentiated that was not passed to it as an argument (a closure over a parameter or a traced value?); pass it, e.g. checkpoint((model, x) => model(x))(model, x)');
    }
  }
  const cts: (Leaf | undefined)[] = new Array<Leaf | undefined>(ys.length).fill(undefined); // dense: map must see every entry
  const hub = top.general(ids, () => {
    const given = cts.slice();
    cts.fill(undefined);
    const out = back(given);
    if (out.length !== inputs.length) throw new TypeError(`multiOutput: the pullback returned ${out.length} cotangents for ${inputs.length} inputs`);
    return out;
  });
  const tape = top;
  return ys.map((y, k) => {
    const id = tape.general([hub], (g) => {
      cts[k] = cts[k] === undefined ? (g as Leaf) : (add(cts[k] as Tensor, g as Tensor) as Leaf);
      return [0]; // a token: the hub runs after every output's cotangent is in
    });
    if (y instanceof Tensor) return new TrackedTensor(y, tape, id);
    return trackNumber(y as number | TrackedNumber, tape, id);
  });
}

// ---------------------------------------------------------------- structures

/** Can the walk descend into `x`: an array, a plain object or class instance, a layer? */
function isNode(x: unknown): x is Record<string, unknown> {
  if (x instanceof Tensor || ArrayBuffer.isView(x) || x instanceof TrackedNumber) return false;
  return (typeof x === 'object' && x !== null) || isLayerLike(x);
}

/** The traced leaves of a structure (each once) and a builder of copies with the leaves replaced. */
function leavesOf(x: unknown): { leaves: Leaf[]; build: (values: readonly Leaf[]) => unknown } {
  const leaves: Leaf[] = [];
  const at = new Map<unknown, number>();
  const traced = new Set<object>(); // nodes that hold a traced leaf somewhere below
  const seen = new Set<object>();
  const scan = (v: unknown): boolean => {
    if (liveOf(v) !== undefined) {
      if (!at.has(v)) { at.set(v, leaves.length); leaves.push(v as Leaf); }
      return true;
    }
    if (!isNode(v)) return false;
    if (seen.has(v)) return traced.has(v);
    seen.add(v);
    let any = false;
    for (const k of Object.keys(v)) if (scan(v[k])) any = true;
    if (any) traced.add(v);
    return any;
  };
  scan(x);
  const build = (values: readonly Leaf[]): unknown => {
    const memo = new Map<object, unknown>();
    const copy = (v: unknown): unknown => {
      const i = at.get(v);
      if (i !== undefined) return values[i];
      if (!isNode(v) || !traced.has(v)) return v; // nothing traced below: shared as is
      if (memo.has(v)) return memo.get(v);
      const out: Record<string, unknown> = Array.isArray(v) ? ([] as unknown as Record<string, unknown>) : emptyLike(v);
      memo.set(v, out);
      for (const k of Object.keys(v)) out[k] = copy(v[k]);
      return out;
    };
    return copy(x);
  };
  return { leaves, build };
}

/** The number and tensor leaves of an output (arrays and plain objects of them), and how to put it back together. */
function outputsOf(y: unknown): { leaves: Leaf[]; rebuild: (values: readonly Leaf[]) => unknown } {
  const leaves: Leaf[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number' || v instanceof TrackedNumber || v instanceof Tensor) leaves.push(v as Leaf);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(walk);
  };
  walk(y);
  const rebuild = (values: readonly Leaf[]): unknown => {
    let i = 0;
    const put = (v: unknown): unknown => {
      if (typeof v === 'number' || v instanceof TrackedNumber || v instanceof Tensor) return values[i++];
      if (Array.isArray(v)) return v.map(put);
      if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, put(e)]));
      }
      return v;
    };
    return put(y);
  };
  return { leaves, rebuild };
}

// The global generator's state, so a recomputation draws the same random numbers (dropout masks).
type RngState = { s: Uint32Array; spare: number | undefined };
const rngState = (): RngState => {
  const r = rng as unknown as RngState;
  return { s: r.s.slice(), spare: r.spare };
};
const setRngState = (st: RngState): void => {
  const r = rng as unknown as RngState;
  r.s.set(st.s);
  r.spare = st.spare;
};

/**
 * `f` with its intermediates recomputed in the backward pass instead of stored: the forward
 * runs `f` without recording it, and the pullback runs `f` again under a fresh pullback and
 * sweeps that. The result and the derivatives are those of `f` (at any order: a gradient of a
 * gradient through a checkpointed function is exact); the tape keeps only `f`'s inputs and
 * outputs, at the cost of one extra forward per backward.
 *
 * Everything `f` differentiates must reach it as an argument — tensors, numbers, and arrays,
 * objects or layers holding them (`checkpoint((cell, x, s) => cell(x, s))(cell, x, s)`); a
 * closure over a value being differentiated is refused with an error. `f` may return a
 * number, a tensor, or arrays and plain objects of them. The global random generator is
 * rewound for the recomputation, so dropout draws the same masks.
 * ```ts
 * const steps = checkpoint((cell, xs, s) => { for (const x of xs) s = cell(x, s)[1]; return s; });
 * const g = gradient((m) => sum(steps(m, chunk, s0).h), cell);
 * ```
 */
export function checkpoint<A extends unknown[], Y>(f: (...args: A) => Y): (...args: A) => Y {
  if (typeof f !== 'function') throw new TypeError(`checkpoint: expected a function, got ${f === null ? 'null' : typeof f}`);
  return (...args: A): Y => {
    const { leaves, build } = leavesOf(args);
    if (leaves.length === 0) return f(...args);
    let shape: ReturnType<typeof outputsOf> | undefined;
    let inputs: Leaf[] = [];
    const before = rngState();
    const outs = multiOutput(
      leaves,
      (primals) => {
        inputs = primals; // the values one level below the node, as the forward saw them
        shape = outputsOf(f(...(build(primals) as A)));
        return shape.leaves;
      },
      (cts) => {
        const after = rngState();
        setRngState(before);
        try {
          const [, back] = pullback((...vals: Leaf[]) => outputsOf(f(...(build(vals) as A))).leaves, ...inputs);
          const seeds = cts.map((c) => (c === undefined ? null : c));
          const grads = back(seeds);
          return grads.map((g, i) => (g === undefined || g === null ? zerosOf(inputs[i]) : g));
        } finally {
          setRngState(after);
        }
      },
    );
    return shape!.rebuild(outs) as Y;
  };
}

function zerosOf(x: Leaf): unknown {
  return x instanceof Tensor ? zeros(x.shape, { dtype: x.dtype }) : 0;
}
