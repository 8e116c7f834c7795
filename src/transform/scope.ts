/**
 * Scope analysis for the operator rewrite: which binding each identifier refers to, which
 * functions are leaves (define no other function), and which bindings can only ever hold
 * primitive values ("known"), so that operators on them can stay native.
 * @internal
 */
import type { Node } from './ast.js';

export type BindingKind = 'var' | 'let' | 'const' | 'param' | 'function' | 'class' | 'import' | 'catch';

/** A definition of a binding: the expression it is set to, or a marker. */
export type Def =
  | { kind: 'expr'; node: Node }
  | { kind: 'compound'; op: string; node: Node }
  | { kind: 'update' }
  | { kind: 'undefined' }
  | { kind: 'unknown' };

export interface Binding {
  name: string;
  kind: BindingKind;
  fn: FnInfo;
  defs: Def[];
  /** Assigned from a function nested inside the one that owns it. */
  assignedInNested: boolean;
  /** Some reference uses it as a number (an operand, a test, an initializer). */
  numericUse: boolean;
  /** Some reference reads an element or the length of it (`b[i]`, `b.length`). */
  elementUse: boolean;
}

export interface Scope {
  parent: Scope | undefined;
  fn: FnInfo;
  vars: Map<string, Binding>;
}

export interface FnInfo {
  node: Node;
  parent: FnInfo | undefined;
  /** Arrow functions see the `arguments` of the enclosing function. */
  arrow: boolean;
  params: Binding[];
  /** Defines a function, class body, field initializer or static block inside. */
  hasNested: boolean;
  usesArguments: boolean;
}

export interface ScopeInfo {
  /** Identifier node → its binding (null: a global or undeclared name). */
  refs: Map<Node, Binding | null>;
  fns: Map<Node, FnInfo>;
  /** Bindings that hold only primitive values, whatever the arguments of their function. */
  known: Set<Binding>;
  /** A direct `eval` or a `with` statement: no binding is analysable. */
  dynamic: boolean;
  /**
   * Bindings known for one leaf function, with its entry-checked parameters assumed primitive
   * and `typed` parameters assumed to be typed arrays of numbers (their elements are numbers).
   */
  knownFor(fn: FnInfo, params: Binding[], typed?: Binding[]): Set<Binding>;
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** Child nodes of `node` in source order. */
export function children(node: Node): Node[] {
  // A shorthand property `{ x }` / `{ x = 1 }`: the value covers the key.
  if (node.type === 'Property' && node.shorthand) return [node.value];
  const out: Node[] = [];
  for (const key in node) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'range') continue;
    const v = (node as Record<string, unknown>)[key];
    if (Array.isArray(v)) {
      for (const c of v) if (c !== null && typeof c === 'object' && typeof (c as Node).type === 'string') out.push(c as Node);
    } else if (v !== null && typeof v === 'object' && typeof (v as Node).type === 'string') out.push(v as Node);
  }
  // A shorthand property `{ x }` has key and value at the same place: keep one.
  const uniq: Node[] = [];
  for (const c of out) if (!uniq.some((u) => u === c || (u.start === c.start && u.end === c.end && u.type === c.type))) uniq.push(c);
  return uniq.sort((a, b) => a.start - b.start);
}

/** Identifiers bound by a pattern. */
export function patternNames(p: Node, out: Node[] = []): Node[] {
  switch (p.type) {
    case 'Identifier': out.push(p); break;
    case 'ObjectPattern': for (const prop of p.properties) patternNames(prop.type === 'RestElement' ? prop.argument : prop.value, out); break;
    case 'ArrayPattern': for (const el of p.elements) if (el) patternNames(el, out); break;
    case 'RestElement': patternNames(p.argument, out); break;
    case 'AssignmentPattern': patternNames(p.left, out); break;
    default: break; // member expressions in assignment patterns bind nothing
  }
  return out;
}

const ARITH = new Set(['+', '-', '*', '/', '%', '**', '|', '&', '^', '<<', '>>', '>>>']);
const COMPARE = new Set(['<', '<=', '>', '>=']);
const EQUALITY = new Set(['==', '!=', '===', '!==']);

/** The analysis of a whole module or script. */
export function analyse(program: Node): ScopeInfo {
  const refs = new Map<Node, Binding | null>();
  const fns = new Map<Node, FnInfo>();
  const scopeOf = new Map<Node, Scope>();
  let dynamic = false;

  const root: FnInfo = { node: program, parent: undefined, arrow: false, params: [], hasNested: false, usesArguments: false };
  fns.set(program, root);
  const rootScope: Scope = { parent: undefined, fn: root, vars: new Map() };
  scopeOf.set(program, rootScope);

  const fnScope = (s: Scope): Scope => {
    let cur = s;
    while (cur.parent && cur.parent.fn === s.fn) cur = cur.parent;
    return cur;
  };
  const declare = (scope: Scope, id: Node, kind: BindingKind, def: Def): Binding => {
    let b = scope.vars.get(id.name);
    if (b === undefined || kind === 'var' || kind === 'function') {
      if (b === undefined) {
        b = { name: id.name, kind, fn: scope.fn, defs: [], assignedInNested: false, numericUse: false, elementUse: false };
        scope.vars.set(id.name, b);
      }
    }
    b.defs.push(def);
    return b;
  };

  // ---- pass 1: scopes and declarations ----
  const declarePass = (node: Node, scope: Scope): void => {
    switch (node.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression': {
        if (node.type === 'FunctionDeclaration' && node.id) declare(scope, node.id, 'function', { kind: 'unknown' });
        scope.fn.hasNested = true;
        const info: FnInfo = { node, parent: scope.fn, arrow: node.type === 'ArrowFunctionExpression', params: [], hasNested: false, usesArguments: false };
        fns.set(node, info);
        let outer = scope;
        if (node.type === 'FunctionExpression' && node.id) {
          outer = { parent: scope, fn: info, vars: new Map() };
          declare(outer, node.id, 'function', { kind: 'unknown' });
        }
        const fs: Scope = { parent: outer, fn: info, vars: new Map() };
        scopeOf.set(node, fs);
        for (const p of node.params) {
          for (const id of patternNames(p)) info.params.push(declare(fs, id, 'param', { kind: 'unknown' }));
          declarePass(p, fs);
        }
        if (node.body.type === 'BlockStatement') {
          scopeOf.set(node.body, fs);
          for (const s of node.body.body) declarePass(s, fs);
        } else declarePass(node.body, fs);
        return;
      }
      case 'StaticBlock':
      case 'PropertyDefinition': {
        scope.fn.hasNested = true;
        if (node.type === 'PropertyDefinition') {
          if (node.computed) declarePass(node.key, scope);
          if (!node.value) return;
        }
        const info: FnInfo = { node, parent: scope.fn, arrow: false, params: [], hasNested: false, usesArguments: false };
        fns.set(node, info);
        const fs: Scope = { parent: scope, fn: info, vars: new Map() };
        scopeOf.set(node, fs);
        if (node.type === 'StaticBlock') for (const s of node.body) declarePass(s, fs);
        else declarePass(node.value, fs);
        return;
      }
      case 'ClassDeclaration':
      case 'ClassExpression': {
        if (node.type === 'ClassDeclaration' && node.id) declare(scope, node.id, 'class', { kind: 'unknown' });
        scope.fn.hasNested = true;
        const cs: Scope = { parent: scope, fn: scope.fn, vars: new Map() };
        if (node.type === 'ClassExpression' && node.id) declare(cs, node.id, 'class', { kind: 'unknown' });
        scopeOf.set(node, cs);
        if (node.superClass) declarePass(node.superClass, cs);
        declarePass(node.body, cs);
        return;
      }
      case 'BlockStatement':
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement':
      case 'SwitchStatement': {
        const bs: Scope = { parent: scope, fn: scope.fn, vars: new Map() };
        scopeOf.set(node, bs);
        for (const c of children(node)) declarePass(c, bs);
        return;
      }
      case 'CatchClause': {
        const cs: Scope = { parent: scope, fn: scope.fn, vars: new Map() };
        scopeOf.set(node, cs);
        if (node.param) for (const id of patternNames(node.param)) declare(cs, id, 'catch', { kind: 'unknown' });
        if (node.param) declarePass(node.param, cs);
        scopeOf.set(node.body, cs);
        for (const s of node.body.body) declarePass(s, cs);
        return;
      }
      case 'VariableDeclaration': {
        const target = node.kind === 'var' ? fnScope(scope) : scope;
        for (const d of node.declarations) {
          const ids = patternNames(d.id);
          for (const id of ids) {
            let def: Def;
            if (d.id.type !== 'Identifier') def = { kind: 'unknown' };
            else if (node.forHead) def = { kind: 'unknown' };
            else if (d.init) def = { kind: 'expr', node: d.init };
            else def = { kind: 'undefined' };
            declare(target, id, node.kind as BindingKind, def);
          }
          declarePass(d.id, scope);
          if (d.init) declarePass(d.init, scope);
        }
        return;
      }
      case 'ImportDeclaration':
        for (const s of node.specifiers) declare(rootScope, s.local, 'import', { kind: 'unknown' });
        return;
      case 'WithStatement':
        dynamic = true;
        break;
      default:
        break;
    }
    for (const c of children(node)) declarePass(c, scope);
  };

  // Mark the left side of for-in/of declarations before declaring them.
  const markForHeads = (node: Node): void => {
    if ((node.type === 'ForInStatement' || node.type === 'ForOfStatement') && node.left.type === 'VariableDeclaration') node.left.forHead = true;
    for (const c of children(node)) markForHeads(c);
  };
  markForHeads(program);
  for (const s of program.body) declarePass(s, rootScope);

  // ---- pass 2: references and assignments ----
  const lookup = (scope: Scope, name: string): Binding | null => {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const b = s.vars.get(name);
      if (b) return b;
    }
    return null;
  };
  const nonArrow = (f: FnInfo): FnInfo => {
    let cur = f;
    while (cur.arrow && cur.parent) cur = cur.parent;
    return cur;
  };
  const assign = (scope: Scope, target: Node, def: Def): void => {
    if (target.type === 'Identifier') {
      const b = lookup(scope, target.name);
      if (b) {
        b.defs.push(def);
        if (b.fn !== scope.fn) b.assignedInNested = true;
      }
      return;
    }
    for (const id of patternNames(target)) assign(scope, id, { kind: 'unknown' });
  };

  const refPass = (node: Node, scope: Scope, parent: Node | undefined, key: string | undefined): void => {
    const own = scopeOf.get(node);
    const s = own ?? scope;
    switch (node.type) {
      case 'Identifier': {
        if (!isReference(node, parent, key)) return;
        const b = lookup(s, node.name);
        refs.set(node, b);
        if (b === null && node.name === 'arguments') nonArrow(s.fn).usesArguments = true;
        if (b && parent && isNumericPosition(parent, key)) b.numericUse = true;
        if (b && parent?.type === 'MemberExpression' && key === 'object' && (parent.computed || parent.property.name === 'length')) b.elementUse = true;
        return;
      }
      case 'AssignmentExpression': {
        const left = node.left;
        if (node.operator === '=') assign(s, left, left.type === 'Identifier' ? { kind: 'expr', node: node.right } : { kind: 'unknown' });
        else if (node.operator === '&&=' || node.operator === '||=' || node.operator === '??=') assign(s, left, { kind: 'expr', node: node.right });
        else assign(s, left, { kind: 'compound', op: node.operator, node: node.right });
        break;
      }
      case 'UpdateExpression':
        assign(s, node.argument, { kind: 'update' });
        break;
      case 'ForInStatement':
      case 'ForOfStatement':
        if (node.left.type !== 'VariableDeclaration') assign(s, node.left, { kind: 'unknown' });
        break;
      case 'CallExpression':
        if (node.callee.type === 'Identifier' && node.callee.name === 'eval') dynamic = true;
        break;
      default:
        break;
    }
    for (const k in node) {
      if (k === 'type' || k === 'start' || k === 'end' || k === 'forHead') continue;
      const v = (node as Record<string, unknown>)[k];
      if (Array.isArray(v)) {
        for (const c of v) if (c && typeof c === 'object' && typeof (c as Node).type === 'string') refPass(c as Node, s, node, k);
      } else if (v && typeof v === 'object' && typeof (v as Node).type === 'string') {
        // Shorthand `{ x }`: key and value are one identifier; visit it as the value.
        if (k === 'key' && node.type === 'Property' && node.shorthand) continue;
        refPass(v as Node, s, node, k);
      }
    }
  };
  refPass(program, rootScope, undefined, undefined);

  // ---- inference: bindings that only ever hold primitives ----
  const all: Binding[] = [];
  const collect = (sc: Scope): void => { for (const b of sc.vars.values()) all.push(b); };
  const seen = new Set<Scope>();
  for (const sc of scopeOf.values()) if (!seen.has(sc)) { seen.add(sc); collect(sc); for (let p = sc.parent; p; p = p.parent) if (!seen.has(p)) { seen.add(p); collect(p); } }

  const candidate = (b: Binding): boolean =>
    (b.kind === 'var' || b.kind === 'let' || b.kind === 'const') && b.defs.every((d) => d.kind !== 'unknown');

  // Greatest fixpoint with a worklist: a binding leaves the set when one of its definitions
  // is not known; then only the bindings whose definitions mention it are checked again.
  const fixpoint = (start: Set<Binding>, movable: Binding[]): Set<Binding> => {
    const k = new Set(start);
    for (const b of movable) k.add(b);
    const dependents = new Map<Binding, Binding[]>();
    for (const b of movable) {
      for (const d of b.defs) {
        if (d.kind !== 'expr' && d.kind !== 'compound') continue;
        forEachIdentifier(d.node, (id) => {
          const r = refs.get(id);
          if (!r) return;
          const list = dependents.get(r);
          if (list) list.push(b);
          else dependents.set(r, [b]);
        });
      }
    }
    const queue: Binding[] = [...movable];
    while (queue.length) {
      const b = queue.pop()!;
      if (!k.has(b) || b.defs.every((d) => defKnown(d, k, refs))) continue;
      k.delete(b);
      for (const dep of dependents.get(b) ?? []) if (k.has(dep)) queue.push(dep);
    }
    return k;
  };
  const known = dynamic ? new Set<Binding>() : fixpoint(new Set(), all.filter(candidate));

  const byFn = new Map<FnInfo, Binding[]>();
  for (const b of all) {
    const list = byFn.get(b.fn);
    if (list) list.push(b);
    else byFn.set(b.fn, [b]);
  }
  const knownFor = (fn: FnInfo, params: Binding[], typed: Binding[] = []): Set<Binding> => {
    if (dynamic) return new Set();
    const locals = (byFn.get(fn) ?? []).filter((b) => b.fn === fn && (candidate(b) || (params.includes(b) && b.defs.every((d) => d.kind !== 'unknown' || d === b.defs[0]))));
    const base = new Set(known);
    for (const b of locals) base.delete(b);
    // A parameter's first definition is the argument itself, checked at entry.
    const movable = locals;
    const k = new Set(base);
    if (typed.length) typedElements.set(k, new Set(typed));
    for (const b of movable) k.add(b);
    let changed = true;
    while (changed) {
      changed = false;
      for (const b of movable) {
        if (!k.has(b)) continue;
        const defs = params.includes(b) ? b.defs.slice(1) : b.defs;
        if (!defs.every((d) => defKnown(d, k, refs))) {
          k.delete(b);
          changed = true;
        }
      }
    }
    return k;
  };

  return { refs, fns, known, dynamic, knownFor };
}

/** Call `f` on every Identifier node below `n` (functions included: a cheap over-approximation). */
function forEachIdentifier(n: Node, f: (id: Node) => void): void {
  if (n.type === 'Identifier') f(n);
  for (const c of children(n)) forEachIdentifier(c, f);
}

function defKnown(d: Def, k: Set<Binding>, refs: Map<Node, Binding | null>): boolean {
  switch (d.kind) {
    case 'undefined': case 'update': return true;
    case 'unknown': return false;
    case 'expr': return exprKnown(d.node, k, refs);
    case 'compound': return d.op === '??=' || exprKnown(d.node, k, refs);
  }
}

const GLOBAL_PRIMITIVES = new Set(['undefined', 'NaN', 'Infinity']);

/** For a knowledge set: the parameters checked at entry to be typed arrays of numbers. */
const typedElements = new WeakMap<Set<Binding>, Set<Binding>>();

/** Whether `e` evaluates to a primitive (never an object) when every binding in `k` holds primitives. */
export function exprKnown(e: Node, k: Set<Binding>, refs: Map<Node, Binding | null>): boolean {
  switch (e.type) {
    case 'Literal': return !e.regex;
    case 'TemplateLiteral': return true;
    case 'Identifier': {
      const b = refs.get(e);
      if (b === undefined) return false;
      if (b === null) return GLOBAL_PRIMITIVES.has(e.name);
      return k.has(b);
    }
    case 'UnaryExpression':
      if (e.operator === '-' || e.operator === '+' || e.operator === '~') return exprKnown(e.argument, k, refs);
      return true; // ! typeof void delete
    case 'BinaryExpression':
      if (e.operator === 'in' || e.operator === 'instanceof' || EQUALITY.has(e.operator)) return true;
      if (ARITH.has(e.operator) || COMPARE.has(e.operator)) return exprKnown(e.left, k, refs) && exprKnown(e.right, k, refs);
      return false;
    case 'LogicalExpression': return exprKnown(e.left, k, refs) && exprKnown(e.right, k, refs);
    case 'ConditionalExpression': return exprKnown(e.consequent, k, refs) && exprKnown(e.alternate, k, refs);
    case 'AssignmentExpression':
      if (e.operator === '=' || e.operator === '&&=' || e.operator === '||=' || e.operator === '??=') return exprKnown(e.right, k, refs) && (e.operator === '=' || exprKnown(e.left, k, refs));
      return exprKnown(e.left, k, refs) && exprKnown(e.right, k, refs);
    case 'UpdateExpression': return exprKnown(e.argument, k, refs);
    case 'SequenceExpression': return exprKnown(e.expressions[e.expressions.length - 1], k, refs);
    case 'MemberExpression': {
      // `b[i]` and `b.length` of a parameter checked to be a typed array of numbers.
      const typed = typedElements.get(k);
      if (!typed || e.optional || e.object.type !== 'Identifier') return false;
      const b = refs.get(e.object);
      if (!b || !typed.has(b)) return false;
      if (!e.computed) return e.property.type === 'Identifier' && e.property.name === 'length';
      return !(e.property.type === 'Literal' && typeof e.property.value === 'string') && exprKnown(e.property, k, refs);
    }
    case 'CallExpression':
      return isMathCall(e, refs) && e.arguments.every((a: Node) => a.type !== 'SpreadElement' && exprKnown(a, k, refs));
    default: return false;
  }
}

/** Math functions the runtime wraps. */
export const MATH_FUNCTIONS = new Set([
  'abs', 'sign', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'exp', 'expm1', 'log', 'log1p',
  'sqrt', 'log2', 'log10', 'cbrt', 'asinh', 'acosh', 'atanh', 'pow', 'atan2', 'hypot', 'max', 'min', 'floor', 'ceil',
  'round', 'trunc', 'fround', 'clz32', 'imul',
]);

/** `Math.f(...)` with the global `Math` and a function the runtime wraps. */
export function isMathCall(e: Node, refs: Map<Node, Binding | null>): boolean {
  if (e.type !== 'CallExpression' || e.optional) return false;
  const c = e.callee;
  return c.type === 'MemberExpression' && !c.computed && !c.optional && c.object.type === 'Identifier' && c.object.name === 'Math' &&
    refs.get(c.object) === null && c.property.type === 'Identifier' && MATH_FUNCTIONS.has(c.property.name);
}

/** Whether an Identifier at `parent[key]` is a reference to a binding (not a property name or label). */
export function isReference(node: Node, parent: Node | undefined, key: string | undefined): boolean {
  if (!parent) return true;
  switch (parent.type) {
    case 'MemberExpression': return key !== 'property' || parent.computed;
    case 'Property': return key === 'value' || (key === 'key' && parent.computed);
    case 'PropertyDefinition': case 'MethodDefinition': return key !== 'key' || parent.computed;
    case 'LabeledStatement': case 'BreakStatement': case 'ContinueStatement': return false;
    case 'ImportSpecifier': case 'ImportDefaultSpecifier': case 'ImportNamespaceSpecifier': return false;
    case 'ExportSpecifier': return key === 'local';
    case 'ExportAllDeclaration': return false;
    case 'MetaProperty': return false;
    default: return true;
  }
}

/** Whether a reference at `parent[key]` uses the value as a number (so an entry check pays off). */
function isNumericPosition(parent: Node, key: string | undefined): boolean {
  switch (parent.type) {
    case 'BinaryExpression': return ARITH.has(parent.operator) || COMPARE.has(parent.operator) || EQUALITY.has(parent.operator);
    case 'UnaryExpression': return parent.operator !== 'typeof' && parent.operator !== 'delete' && parent.operator !== 'void';
    case 'UpdateExpression': case 'LogicalExpression': return true;
    case 'AssignmentExpression': return key === 'right' || parent.operator !== '=';
    case 'VariableDeclarator': return key === 'init';
    case 'ConditionalExpression': case 'IfStatement': case 'WhileStatement': case 'DoWhileStatement': return true;
    case 'ForStatement': return key === 'test';
    case 'CallExpression': return key === 'arguments' && parent.callee.type === 'MemberExpression' && parent.callee.object.type === 'Identifier' && parent.callee.object.name === 'Math';
    default: return false;
  }
}

export { FUNCTION_TYPES };
