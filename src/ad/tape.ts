/**
 * The tape: a record of the operations executed while a `pullback` runs, and the reverse
 * sweep over it. This module imports nothing from the tensor layer so that the ops can
 * recognise traced scalars without an import cycle.
 *
 * Storage is struct-of-arrays: a scalar node whose partial derivatives are plain numbers
 * (the common case in scalar code) costs four typed-array writes; anything else (tensor
 * primitives, partials that are themselves traced by an outer gradient) keeps a small
 * object. Each `pullback` gets its own tape with a level one above the innermost open
 * tape, which is what keeps nested derivatives apart (no perturbation confusion).
 */

/** A value flowing through a traced computation: a number, a Tensor, or a traced wrapper of either. */
export type Value = unknown;

/** Reverse rule of a general node: cotangent of the output → cotangents of the inputs (null: none). */
export type Back = (dy: Value) => readonly (Value | null | undefined)[];

/**
 * A general node: its inputs' node ids on this tape (−1: not traced here) and its reverse
 * rule, as a method so that a node can be one object (no closure per recorded operation).
 */
export interface GeneralNode {
  readonly inputs: readonly number[];
  back(dy: Value): readonly (Value | null | undefined)[];
}

/** Scalar node whose partials are not plain numbers (nested differentiation). */
interface ObjectPartials {
  da: Value;
  db: Value;
}

const enum Kind {
  Leaf = 0,
  /** Partials `da`, `db` in the typed arrays. */
  Scalar = 1,
  /** Partials in `objects[id]` as an {@link ObjectPartials}. */
  ScalarObject = 2,
  /** `objects[id]` is a {@link GeneralNode}. */
  General = 3,
}

/** Arithmetic the sweep needs on cotangents that are not plain numbers; installed by the AD layer. */
export interface CotangentMath {
  add(a: Value, b: Value): Value;
  mul(a: Value, b: Value): Value;
}

let math: CotangentMath | undefined;

/** @internal Install cotangent arithmetic (done once by `ad/trace`). */
export function setCotangentMath(m: CotangentMath): void {
  math = m;
}

function plus(a: Value, b: Value): Value {
  return typeof a === 'number' && typeof b === 'number' ? a + b : math!.add(a, b);
}

function allNumbers(seeds: readonly [number, Value][]): boolean {
  for (let i = 0; i < seeds.length; i++) if (typeof seeds[i][1] !== 'number') return false;
  return true;
}

/** Add cotangent `v` into `adj[k]` (k −1: an input not traced here; v null/undefined: none). */
function accumulate(adj: Value[], k: number, v: Value): void {
  if (k >= 0 && v !== null && v !== undefined) adj[k] = adj[k] === undefined ? v : plus(adj[k], v);
}

/** `a`'s values at the start of the larger array `b`. */
function grown<A extends Uint8Array | Int32Array | Float64Array>(a: A, b: A): A {
  b.set(a);
  return b;
}

/** Open tapes, innermost last. */
const stack: Tape[] = [];

/**
 * `depth`: the number of gradients in flight, as a field so hot code (the operator
 * transform's function entries) can read it without a call.
 */
export const tracingState = { depth: 0 };
/** Closed tapes kept for reuse by `gradient`, so a call allocates no typed arrays. */
const pool: Tape[] = [];

export class Tape {
  /** Nesting depth: 1 for the outermost gradient. Higher levels are "inner" perturbations. */
  level = 0;
  /** Bumped on every reuse, so values traced on an earlier use are recognised as stale. */
  gen = 0;
  /** True while the function being differentiated runs (values traced here are live). */
  open = false;
  /** Number of nodes. */
  n = 0;
  kind = new Uint8Array(64);
  pa = new Int32Array(64);
  pb = new Int32Array(64);
  da = new Float64Array(64);
  db = new Float64Array(64);
  objects: (GeneralNode | ObjectPartials | undefined)[] = [];
  /** Scratch for numeric sweeps, reused across calls (a sweep's result is read before the next). */
  private adjBuf = new Float64Array(64);
  private stampBuf = new Uint32Array(64);
  private sweeps = 0;
  /** Ids of the leaf nodes. */
  private leaves: number[] = [];
  /** True while every node is a leaf or a plain-number scalar node: enables the numeric sweep. */
  numeric = true;
  /** Objects being differentiated (arguments and params), guarded against in-place mutation. */
  readonly guarded = new Set<object>();
  /** Release hooks (e.g. clearing param registrations) run when the tape closes. */
  readonly onClose: (() => void)[] = [];

  /** Start recording: a tape at the next level, from the pool when possible. */
  static begin(): Tape {
    const t = pool.pop() ?? new Tape();
    t.gen++;
    t.level = stack.length + 1;
    t.open = true;
    stack.push(t);
    tracingState.depth = stack.length;
    return t;
  }

  /** Stop recording (values traced here become constants to everything that runs later). */
  end(): void {
    this.open = false;
    if (stack[stack.length - 1] === this) stack.pop();
    else {
      const i = stack.lastIndexOf(this);
      if (i >= 0) stack.splice(i, 1);
    }
    tracingState.depth = stack.length;
    if (this.onClose.length > 0) {
      for (const f of this.onClose) f();
      this.onClose.length = 0;
    }
    if (this.guarded.size > 0) this.guarded.clear();
  }

  /** Return a closed tape to the pool; its nodes are dropped. Only when nothing can call its sweep again. */
  release(): void {
    if (this.objects.length > 0) this.objects.length = 0;
    this.leaves.length = 0;
    this.n = 0;
    this.numeric = true;
    this.gen++;
    // keep small tapes for reuse; a huge one would pin its arrays for the life of the process
    if (pool.length < 16 && this.kind.length <= 1 << 16) pool.push(this);
  }

  private grow(): void {
    const cap = this.kind.length * 2;
    this.kind = grown(this.kind, new Uint8Array(cap));
    this.pa = grown(this.pa, new Int32Array(cap));
    this.pb = grown(this.pb, new Int32Array(cap));
    this.da = grown(this.da, new Float64Array(cap));
    this.db = grown(this.db, new Float64Array(cap));
  }

  /** A leaf (an input being differentiated). */
  leaf(): number {
    if (this.n === this.kind.length) this.grow();
    const id = this.n++;
    this.kind[id] = Kind.Leaf;
    // no parents: the numeric sweep then needs no kind check
    this.pa[id] = -1;
    this.pb[id] = -1;
    this.leaves.push(id);
    return id;
  }

  /** A scalar node y = f(a, b) with ∂y/∂a = da, ∂y/∂b = db (ids −1 for inputs not traced here). */
  scalar(a: number, b: number, da: Value, db: Value): number {
    if (this.n === this.kind.length) this.grow();
    const id = this.n++;
    this.pa[id] = a;
    this.pb[id] = b;
    if (typeof da === 'number' && typeof db === 'number') {
      this.kind[id] = Kind.Scalar;
      this.da[id] = da;
      this.db[id] = db;
    } else {
      this.kind[id] = Kind.ScalarObject;
      this.objects[id] = { da, db };
      this.numeric = false;
    }
    return id;
  }

  /** {@link scalar} for partials known to be plain numbers (the hot case; small enough to inline). */
  scalarNumbers(a: number, b: number, da: number, db: number): number {
    if (this.n === this.kind.length) this.grow();
    const id = this.n++;
    this.kind[id] = Kind.Scalar;
    this.pa[id] = a;
    this.pb[id] = b;
    this.da[id] = da;
    this.db[id] = db;
    return id;
  }

  /** A node with a reverse rule. */
  general(inputs: number[], back: Back): number {
    return this.node({ inputs, back });
  }

  /** A node given as one object holding its input ids and reverse rule (the per-primitive hot case). */
  node(node: GeneralNode): number {
    if (this.n === this.kind.length) this.grow();
    const id = this.n++;
    this.kind[id] = Kind.General;
    this.objects[id] = node;
    this.numeric = false;
    return id;
  }

  /**
   * The reverse sweep: seeds cotangents at output nodes and returns the cotangent of every
   * node (undefined where none flowed; a numeric sweep returns a scratch array that is
   * valid until the tape's next sweep). Cotangent arithmetic runs through the library's
   * differentiable operations, so an enclosing gradient records this sweep.
   */
  sweep(seeds: readonly [id: number, dy: Value][]): Value[] | Float64Array {
    const n = this.n;
    const { kind, pa, pb, da, db } = this;
    if (this.numeric && allNumbers(seeds)) {
      if (this.adjBuf.length < n) {
        this.adjBuf = new Float64Array(this.kind.length);
        this.stampBuf = new Uint32Array(this.kind.length);
      }
      // a node's adjoint is valid only where its stamp is this sweep's: no O(n) clearing, and an
      // unreached node (skipped) stays distinct from one whose cotangent is 0 (0 · ∞ must give NaN)
      const adj = this.adjBuf, stamp = this.stampBuf;
      if (this.sweeps === 0xffffffff) { stamp.fill(0); this.sweeps = 0; }
      const now = ++this.sweeps;
      for (let s = 0; s < seeds.length; s++) {
        const id = seeds[s][0], d = seeds[s][1] as number;
        if (stamp[id] === now) adj[id] += d;
        else { adj[id] = d; stamp[id] = now; }
      }
      for (let i = n - 1; i >= 0; i--) {
        if (stamp[i] !== now) continue;
        const g = adj[i], a = pa[i], b = pb[i];
        if (a >= 0) {
          if (stamp[a] === now) adj[a] += g * da[i];
          else { adj[a] = g * da[i]; stamp[a] = now; }
        }
        if (b >= 0) {
          if (stamp[b] === now) adj[b] += g * db[i];
          else { adj[b] = g * db[i]; stamp[b] = now; }
        }
      }
      // unreached entries hold stale values: zero those callers read (the leaves)
      const leaves = this.leaves;
      for (let k = 0; k < leaves.length; k++) if (stamp[leaves[k]] !== now) adj[leaves[k]] = 0;
      return adj;
    }
    const adj: Value[] = new Array(n);
    for (const [id, d] of seeds) adj[id] = adj[id] === undefined ? d : plus(adj[id], d);
    for (let i = n - 1; i >= 0; i--) {
      const g = adj[i];
      if (g === undefined) continue;
      switch (kind[i]) {
        case Kind.Leaf: break;
        case Kind.Scalar:
          if (typeof g === 'number') {
            if (pa[i] >= 0) accumulate(adj, pa[i], g * da[i]);
            if (pb[i] >= 0) accumulate(adj, pb[i], g * db[i]);
          } else {
            if (pa[i] >= 0) accumulate(adj, pa[i], math!.mul(g, da[i]));
            if (pb[i] >= 0) accumulate(adj, pb[i], math!.mul(g, db[i]));
          }
          break;
        case Kind.ScalarObject: {
          const o = this.objects[i] as ObjectPartials;
          if (pa[i] >= 0) accumulate(adj, pa[i], math!.mul(g, o.da));
          if (pb[i] >= 0) accumulate(adj, pb[i], math!.mul(g, o.db));
          break;
        }
        case Kind.General: {
          const node = this.objects[i] as GeneralNode;
          const cts = node.back(g);
          for (let j = 0; j < node.inputs.length; j++) accumulate(adj, node.inputs[j], cts[j]);
          break;
        }
      }
    }
    return adj;
  }
}

/** Number of open tapes (gradients in flight). */
export function tracingDepth(): number {
  return stack.length;
}

/**
 * Run `fn` with every open tape paused: values traced so far act as constants inside.
 * @internal Used by `ignoreGradient`.
 */
export function withTapesPaused<T>(fn: () => T): T {
  const paused = stack.filter((t) => t.open);
  for (const t of paused) t.open = false;
  try {
    return fn();
  } finally {
    for (const t of paused) t.open = true;
  }
}

/** Throws when `target` is being differentiated by a gradient in flight. */
export function checkMutable(target: object, op: string): void {
  for (const t of stack) {
    if (t.guarded.has(target)) {
      throw new Error(
        `${op}: cannot modify a value in place while it is being differentiated (gradient level ${t.level}); ` +
        'compute a new value instead (e.g. `x = x - d` rather than `x -= d`), or update it after `gradient` returns',
      );
    }
  }
}

/**
 * How to do arithmetic on fluxion's values without the operator transform, or how to switch it
 * on: the one text every "plain JavaScript arithmetic" error ends with (traced numbers here,
 * every Tensor in `Tensor[Symbol.toPrimitive]`). @internal
 */
export const OPERATOR_TRANSFORM_HINT =
  "Use fluxion's operations (add, mul, exp, …), or switch on the operator transform: " +
  "run with `node --import fluxion/register` or add `fluxion/plugin` to your bundler";

const TRACED_HINT =
  'a traced number reached plain JavaScript arithmetic, which cannot record it for differentiation. ' + OPERATOR_TRANSFORM_HINT;

/**
 * A number being differentiated. User code sees it where a `number` was passed; the
 * library's operations (and the operator transform) record what is done with it.
 */
export class TrackedNumber {
  // `declare` + constructor assignments: one initialisation pass per object (parameter
  // properties would also emit class-field definitions first); this is allocated per scalar op
  /** The value one level down: a number, or a number traced by an enclosing gradient. */
  declare readonly value: number | TrackedNumber;
  declare readonly tape: Tape;
  declare readonly id: number;
  declare readonly gen: number;

  constructor(value: number | TrackedNumber, tape: Tape, id: number, gen: number) {
    (this as { value: unknown }).value = value;
    (this as { tape: Tape }).tape = tape;
    (this as { id: number }).id = id;
    (this as { gen: number }).gen = gen;
  }

  /** Whether this value is still being recorded (its gradient call is running). */
  get live(): boolean {
    return this.tape.open && this.tape.gen === this.gen;
  }

  /** Plain JS arithmetic on a traced number would silently drop its derivative: refuse it. */
  [Symbol.toPrimitive](hint: string): string | number {
    if (hint === 'string') return String(primalNumber(this));
    throw new TypeError(`fluxion: ${TRACED_HINT}`);
  }

  toString(): string {
    return String(primalNumber(this));
  }

  toJSON(): number {
    return primalNumber(this);
  }

  /** @internal */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `${primalNumber(this)} (traced)`;
  }
}

/** The plain number under every level of tracing. */
export function primalNumber(x: number | TrackedNumber): number {
  while (typeof x !== 'number') x = x.value;
  return x;
}

/** Drop levels whose gradient is no longer recording (escaped values act as constants). */
export function liveNumber(x: number | TrackedNumber): number | TrackedNumber {
  while (typeof x !== 'number' && !(x.tape.open && x.tape.gen === x.gen)) x = x.value;
  return x;
}

/** Record a traced scalar on `tape`. */
export function trackNumber(value: number | TrackedNumber, tape: Tape, id: number): TrackedNumber {
  return new TrackedNumber(value, tape, id, tape.gen);
}
