/**
 * The operator rewrite: JavaScript in, JavaScript out, with a source map.
 *
 * Every operator whose operands may be objects (Tensors, traced numbers, arrays) becomes a
 * choice between the native operator and a call into `runtime.ts`:
 *
 * - operands the analysis proves primitive (literals, loop counters, accumulators) keep the
 *   native operator, unchanged;
 * - other operands are checked where they are used (`typeof t !== 'object'`), natively on
 *   primitives, by the runtime otherwise;
 * - a function that defines no other function and uses parameters as numbers gets two bodies
 *   (the "dual body"): the first runs when no gradient is in flight and those parameters are
 *   not objects, with native operators wherever the parameters and the locals computed from
 *   them are involved; the second calls the runtime for everything. Plain numeric kernels
 *   therefore run their original code.
 *
 * Source maps: the output maps every copied token and every generated call back to the
 * input, and is chained with the map of the input (from the TypeScript stripper).
 */
import { parse } from 'acorn';
import { GenMapping, addSegment, setSourceContent, toEncodedMap, type EncodedSourceMap } from '@jridgewell/gen-mapping';
import remapping from '@jridgewell/remapping';
import type { Node } from './ast.js';
import { type Binding, type FnInfo, type ScopeInfo, analyse, children, exprKnown, isMathCall } from './scope.js';

/** A source map as JSON (version 3). */
export type SourceMapJSON = EncodedSourceMap;

export interface RewriteOptions {
  /** Name of the file (used as the map's source when there is no input map). */
  filename: string;
  /** `module` (ESM: the runtime is imported) or `script` (CommonJS: the runtime is required). */
  sourceType: 'module' | 'script';
  /** Specifier the output uses to load `runtime.ts` (a URL for `import`, a path for `require`). */
  runtime: string;
  /** Map from the original source to `code` (e.g. from type stripping); chained into the result. */
  inputMap?: SourceMapJSON | string | null;
}

export interface RewriteResult {
  code: string;
  map: SourceMapJSON;
  /** False when nothing needed rewriting (then `code` is the input). */
  changed: boolean;
}

type Piece = string | { s: string; o: number } | { a: number; b: number };

interface Temps { names: string[]; prefix: string; counter: { n: number } }

interface Ctx {
  fn: FnInfo;
  temps: Temps | null;
  known: Set<Binding>;
  /** `guard`: unknown operands are checked at the site; `traced`: the runtime is called directly. */
  mode: 'guard' | 'traced';
  inChain: boolean;
}

const BINARY_HELPER: Record<string, string> = {
  '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'rem', '**': 'pow',
  '|': 'bor', '&': 'band', '^': 'bxor', '<<': 'shl', '>>': 'shr', '>>>': 'ushr',
  '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '===': 'seq', '!==': 'sne', '==': 'leq', '!=': 'lne',
};
const UNARY_HELPER: Record<string, string> = { '-': 'neg', '+': 'pos', '~': 'bnot' };
const COMPOUND: Record<string, string> = {
  '+=': 'add', '-=': 'sub', '*=': 'mul', '/=': 'div', '%=': 'rem', '**=': 'pow',
  '|=': 'bor', '&=': 'band', '^=': 'bxor', '<<=': 'shl', '>>=': 'shr', '>>>=': 'ushr',
};
const EQUALITY = new Set(['==', '!=', '===', '!==']);
const COMPARE = new Set(['<', '<=', '>', '>=']);
const NUMBER_STATICS: Record<string, string> = {
  isFinite: 'numberIsFinite', isNaN: 'numberIsNaN', isInteger: 'numberIsInteger', isSafeInteger: 'numberIsSafeInteger',
};
const SEARCH_METHODS = new Set(['includes', 'indexOf', 'lastIndexOf']);

/** Rewrite `code`; see the module documentation. Throws a SyntaxError for code acorn cannot parse. */
export function rewrite(code: string, options: RewriteOptions): RewriteResult {
  // An inline map left by a previous tool (tsx, a bundler) is chained, and its comment dropped.
  let inputMap = typeof options.inputMap === 'string' ? (JSON.parse(options.inputMap) as SourceMapJSON) : options.inputMap ?? null;
  const inline = /\n?\/\/[#@] sourceMappingURL=data:application\/json(?:;charset=[^;,]*)?;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (inline) {
    if (!inputMap) inputMap = JSON.parse(Buffer.from(inline[1], 'base64').toString('utf8')) as SourceMapJSON;
    code = code.slice(0, inline.index);
  }

  const program = parse(code, {
    ecmaVersion: 'latest',
    sourceType: options.sourceType,
    allowHashBang: true,
    allowReturnOutsideFunction: options.sourceType === 'script',
    allowAwaitOutsideFunction: options.sourceType === 'module',
  }) as unknown as Node;
  const info = analyse(program);
  const r = new Rewriter(code, info, options);
  const pieces = r.program(program);
  if (!r.used) return { code, map: identityMap(code, options.filename, inputMap), changed: false };
  const { text, map } = assemble(code, pieces, options.filename);
  const finalMap = inputMap ? (remapping([map as never, inputMap as never], () => null) as unknown as SourceMapJSON) : map;
  return { code: text, map: finalMap, changed: true };
}

/** `code` followed by an inline source-map comment. */
export function withInlineMap(code: string, map: SourceMapJSON): string {
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

class Rewriter {
  used = false;
  readonly rt: string;
  readonly tempPrefix: string;

  constructor(readonly code: string, readonly info: ScopeInfo, readonly options: RewriteOptions) {
    let rt = '$fx';
    for (let i = 1; code.includes(rt); i++) rt = `$fx${i}`;
    this.rt = rt;
    this.tempPrefix = `${rt}_`;
  }

  // ------------------------------------------------------------------ helpers

  private newTemps(): Temps {
    return { names: [], prefix: this.tempPrefix, counter: { n: 0 } };
  }

  private temp(ctx: Ctx): string {
    if (ctx.temps === null) throw new NoTemps();
    const name = `${ctx.temps.prefix}${ctx.temps.counter.n++}`;
    ctx.temps.names.push(name);
    return name;
  }

  /** Text calling the runtime: `$fx.name`. */
  /** Number of runtime references emitted so far (a body without any runs only native code). */
  private calls = 0;

  private call(name: string): string {
    this.used = true;
    this.calls++;
    return `${this.rt}.${name}`;
  }

  private tempDecl(t: Temps): string {
    return t.names.length ? `let ${t.names.join(', ')};` : '';
  }

  /** Emit `node` with its children processed, copying the text between them. */
  private generic(node: Node, ctx: Ctx, out: Piece[], override?: (c: Node, out: Piece[]) => boolean): void {
    let cur = node.start;
    const list = node.type === 'Program' || node.type === 'BlockStatement' || node.type === 'SwitchCase';
    for (const c of children(node)) {
      if (c.start < cur) continue;
      if (c.start > cur) out.push({ a: cur, b: c.start });
      if (!override || !override(c, out)) {
        if (list) this.stmt(c, ctx, out);
        else this.node(c, ctx, out);
      }
      cur = c.end;
    }
    if (node.end > cur) out.push({ a: cur, b: node.end });
  }

  /**
   * A statement of a statement list. Rewritten code that starts with `(` after a line without
   * a semicolon would call the previous line (`s = 0\n(s = …)`): such statements get a `;`.
   */
  private stmt(node: Node, ctx: Ctx, out: Piece[]): void {
    if (node.type !== 'ExpressionStatement') return this.node(node, ctx, out);
    const local: Piece[] = [];
    this.node(node, ctx, local);
    const first = local[0];
    const text = typeof first === 'string' ? first : first !== undefined && 's' in first ? first.s : '';
    if (/^[([`]/.test(text)) out.push(';');
    out.push(...local);
  }

  private emit(node: Node, ctx: Ctx): Piece[] {
    const out: Piece[] = [];
    this.node(node, ctx, out);
    return out;
  }

  /** Emit an expression, in parentheses unless it is a primary expression. */
  private wrapped(node: Node, ctx: Ctx, out: Piece[]): void {
    const simple = node.type === 'Identifier' || node.type === 'Literal' || node.type === 'ThisExpression' ||
      node.type === 'MemberExpression' || node.type === 'CallExpression' || node.type === 'TemplateLiteral';
    if (!simple) out.push('(');
    this.node(node, ctx, out);
    if (!simple) out.push(')');
  }

  /** An expression that may need temporaries where none can be declared: an arrow IIFE holds them. */
  private isolated(node: Node, ctx: Ctx, out: Piece[]): void {
    const temps = this.newTemps();
    const inner = this.emit(node, { ...ctx, temps });
    if (temps.names.length === 0) {
      out.push(...inner);
      return;
    }
    out.push(`(() => { ${this.tempDecl(temps)} return (`, ...inner, '); })()');
  }

  private isGlobal(id: Node, name: string): boolean {
    return id.type === 'Identifier' && id.name === name && this.info.refs.get(id) === null;
  }

  private known(node: Node, ctx: Ctx): boolean {
    return !this.info.dynamic && exprKnown(node, ctx.known, this.info.refs);
  }

  private binding(id: Node): Binding | null | undefined {
    return this.info.refs.get(id);
  }

  /** An identifier whose value cannot change behind the current expression's back. */
  private stable(id: Node, ctx: Ctx): boolean {
    const b = this.binding(id);
    if (!b) return false;
    if (b.kind === 'const' || b.kind === 'class') return true;
    if (b.kind === 'import') return false;
    if (b.kind === 'param' && b.fn.usesArguments) return false;
    return b.fn === ctx.fn && !b.assignedInNested;
  }

  private isConstTarget(id: Node): boolean {
    const b = this.binding(id);
    return !!b && (b.kind === 'const' || b.kind === 'import' || (b.kind === 'class' && false));
  }

  /** Position of an operator between two child nodes (for mapping generated calls to it). */
  private opPos(from: number, to: number, op: string, fallback: number): number {
    const i = this.code.indexOf(op, from);
    return i >= 0 && i < to ? i : fallback;
  }

  // ------------------------------------------------------------------ program and functions

  program(program: Node): Piece[] {
    const temps = this.newTemps();
    const ctx: Ctx = { fn: this.info.fns.get(program)!, temps, known: this.info.known, mode: 'guard', inChain: false };
    const body: Piece[] = [];
    this.generic(program, ctx, body);
    if (!this.used) return body;
    const header = (this.options.sourceType === 'module'
      ? `import * as ${this.rt} from ${JSON.stringify(this.options.runtime)};`
      : `const ${this.rt} = globalThis[Symbol.for("fluxion.transform.runtime")] ?? require(${JSON.stringify(this.options.runtime)});`) + this.tempDecl(temps);
    // Keep a hashbang first.
    if (this.code.startsWith('#!')) {
      const nl = this.code.indexOf('\n');
      const first = body[0];
      if (first && typeof first === 'object' && 'a' in first && first.a === 0 && nl > 0 && first.b > nl) {
        return [{ a: 0, b: nl + 1 }, header, { a: nl + 1, b: first.b }, ...body.slice(1)];
      }
    }
    return [header, ...body];
  }

  private fnNode(node: Node, ctx: Ctx, out: Piece[]): void {
    const fn = this.info.fns.get(node)!;
    const guardCtx: Ctx = { fn, temps: null, known: this.info.known, mode: 'guard', inChain: false };
    const bodyNode = node.body as Node;
    // Parameters: their default values have no place for temporaries.
    let cur = node.start;
    for (const c of children(node)) {
      if (c === bodyNode) break;
      if (c.start > cur) out.push({ a: cur, b: c.start });
      this.param(c, guardCtx, out);
      cur = c.end;
    }
    const entry = fn.usesArguments || this.info.dynamic ? [] : fn.params.filter((b) => b.numericUse);
    // Leaf functions get two bodies. The plain one runs when the parameters used as numbers
    // are not objects and, if it checks other operands where they are used, only while no
    // gradient is in flight (so that traced values never reach those checks and the plain
    // code keeps its speed after a gradient has run); the traced one runs otherwise.
    const temps = this.newTemps();
    const base: Ctx = { fn, temps, known: this.info.known, mode: 'guard', inChain: false };
    let dual = !fn.hasNested && !this.info.dynamic && hasSites(bodyNode);
    let checksInFast = 0;
    const fastCtx: Ctx = { ...base, known: dual ? this.info.knownFor(fn, entry) : this.info.known };
    const emitFast = (emit: (ctx: Ctx) => Piece[]): Piece[] => {
      const c0 = this.calls;
      const r = emit(fastCtx);
      checksInFast = this.calls - c0;
      // Nothing checked and no parameter to check: the plain body is the only body.
      if (checksInFast === 0 && entry.length === 0) dual = false;
      return r;
    };
    const cond = (): string => {
      const names = [...new Set(entry.map((b) => b.name))];
      return [...(checksInFast > 0 ? [`${this.call('state')}.depth === 0`] : []), ...names.map((n) => `typeof ${n} !== 'object'`)].join(' && ');
    };

    if (bodyNode.type !== 'BlockStatement') {
      // Expression body: `=> expr`, possibly `=> (expr)`.
      const arrow = this.code.lastIndexOf('=>', bodyNode.start);
      if (arrow + 2 > cur) out.push({ a: cur, b: arrow + 2 });
      const asBlock = (parts: Piece[]): void => {
        out.push(' ', ...parts);
      };
      const asExpr = (parts: Piece[]): void => {
        if (bodyNode.start > arrow + 2) out.push({ a: arrow + 2, b: bodyNode.start });
        out.push(...parts);
        if (node.end > bodyNode.end) out.push({ a: bodyNode.end, b: node.end });
      };
      const fast = dual ? emitFast((ctx) => this.emit(bodyNode, ctx)) : [];
      if (dual) {
        const traced = this.emit(bodyNode, { ...base, mode: 'traced' });
        if (temps.names.length) asBlock([`{ ${this.tempDecl(temps)} if (${cond()}) return (`, ...fast, `); return (`, ...traced, '); }']);
        else asExpr([`(${cond()} ? (`, ...fast, ') : (', ...traced, '))']);
      } else {
        const body = fast.length ? fast : this.emit(bodyNode, base);
        if (temps.names.length) asBlock([`{ ${this.tempDecl(temps)} return (`, ...body, '); }']);
        else asExpr(body);
      }
      return;
    }
    if (bodyNode.start > cur) out.push({ a: cur, b: bodyNode.start });
    // Block body: directives stay first.
    const stmts: Node[] = bodyNode.body;
    let d = 0;
    while (d < stmts.length && stmts[d].type === 'ExpressionStatement' && typeof stmts[d].directive === 'string') d++;
    const innerStart = d > 0 ? stmts[d - 1].end : bodyNode.start + 1;
    const innerEnd = bodyNode.end - 1;
    out.push({ a: bodyNode.start, b: innerStart });
    const range = (ctx: Ctx): Piece[] => {
      const o: Piece[] = [];
      let c = innerStart;
      for (let i = d; i < stmts.length; i++) {
        if (stmts[i].start > c) o.push({ a: c, b: stmts[i].start });
        this.stmt(stmts[i], ctx, o);
        c = stmts[i].end;
      }
      if (innerEnd > c) o.push({ a: c, b: innerEnd });
      return o;
    };
    let inner: Piece[];
    // Parameters only read element by element (`x[i]`, `x.length`): when they are typed
    // arrays of numbers, their elements need no check. Three bodies then: traced (a gradient
    // is in flight), guarded (some parameter is something else), plain.
    const typed = dual && !fn.usesArguments ? fn.params.filter((b) => b.elementUse && !b.numericUse && b.defs.length === 1 && b.kind === 'param') : [];
    if (typed.length > 0) {
      const plain = range({ ...base, known: this.info.knownFor(fn, entry, typed) });
      const guarded = range(base);
      const traced = range({ ...base, mode: 'traced' });
      const checks = [...new Set(entry.map((b) => `typeof ${b.name} !== 'object'`)), ...new Set(typed.map((b) => `${this.call('numbers')}(${b.name})`))];
      inner = [` if (${this.call('state')}.depth !== 0) {`, ...traced, '\n; return; }', ` if (!(${checks.join(' && ')})) {`, ...guarded, '\n; return; }', ...plain];
      out.push(this.tempDecl(temps), ...inner, { a: innerEnd, b: node.end });
      return;
    }
    const fast = dual ? emitFast(range) : [];
    if (dual) {
      const traced = range({ ...base, mode: 'traced' });
      // The plain body stays at the function's top level (V8's on-stack replacement of a hot
      // loop compiles it as well as the original only there); the traced one returns early.
      inner = [` if (!(${cond()})) {`, ...traced, '\n; return; }', ...fast];
    } else inner = fast.length ? fast : range(base);
    out.push(this.tempDecl(temps), ...inner, { a: innerEnd, b: node.end });
  }

  private param(p: Node, ctx: Ctx, out: Piece[]): void {
    // Default values (also nested in patterns) and computed keys are isolated expressions.
    const visit = (n: Node, o: Piece[]): void => {
      if (n.type === 'AssignmentPattern') {
        let cur = n.start;
        for (const c of children(n)) {
          if (c.start < cur) continue;
          if (c.start > cur) o.push({ a: cur, b: c.start });
          if (c === n.right) this.isolated(c, { ...ctx, temps: null }, o);
          else visit(c, o);
          cur = c.end;
        }
        if (n.end > cur) o.push({ a: cur, b: n.end });
        return;
      }
      if (n.type === 'Property' && n.computed) {
        let cur = n.start;
        for (const c of children(n)) {
          if (c.start < cur) continue;
          if (c.start > cur) o.push({ a: cur, b: c.start });
          if (c === n.key) this.isolated(c, ctx, o);
          else visit(c, o);
          cur = c.end;
        }
        if (n.end > cur) o.push({ a: cur, b: n.end });
        return;
      }
      if (n.type === 'Identifier') {
        o.push({ a: n.start, b: n.end });
        return;
      }
      let cur = n.start;
      for (const c of children(n)) {
        if (c.start < cur) continue;
        if (c.start > cur) o.push({ a: cur, b: c.start });
        visit(c, o);
        cur = c.end;
      }
      if (n.end > cur) o.push({ a: cur, b: n.end });
    };
    visit(p, out);
  }

  // ------------------------------------------------------------------ dispatch

  node(node: Node, ctx: Ctx, out: Piece[]): void {
    if (ctx.temps !== null) return this.dispatch(node, ctx, out);
    const local: Piece[] = [];
    try {
      this.dispatch(node, ctx, local);
      out.push(...local);
    } catch (e) {
      if (!(e instanceof NoTemps)) throw e;
      // No place for temporaries here: evaluate this expression in an arrow IIFE.
      this.isolated(node, ctx, out);
    }
  }

  private dispatch(node: Node, ctx: Ctx, out: Piece[]): void {
    switch (node.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        return this.fnNode(node, ctx, out);
      case 'StaticBlock': {
        const fn = this.info.fns.get(node)!;
        const temps = this.newTemps();
        const inner: Piece[] = [];
        const open = this.code.indexOf('{', node.start) + 1;
        let cur = open;
        for (const s of node.body as Node[]) {
          if (s.start > cur) inner.push({ a: cur, b: s.start });
          this.stmt(s, { fn, temps, known: this.info.known, mode: 'guard', inChain: false }, inner);
          cur = s.end;
        }
        out.push({ a: node.start, b: open }, this.tempDecl(temps), ...inner, { a: cur, b: node.end });
        return;
      }
      case 'PropertyDefinition': {
        const fn = this.info.fns.get(node);
        return this.generic(node, ctx, out, (c, o) => {
          if (c !== node.value || !fn) return false;
          this.isolated(c, { fn, temps: null, known: this.info.known, mode: 'guard', inChain: false }, o);
          return true;
        });
      }
      case 'BinaryExpression':
        if (this.isSite(node)) return this.tree(node, ctx, out, false);
        return this.generic(node, ctx, out);
      case 'UnaryExpression':
        if (node.operator in UNARY_HELPER) return this.tree(node, ctx, out, false);
        if (node.operator === '!') {
          out.push({ s: '!', o: node.start });
          return this.test(node.argument, ctx, out, true);
        }
        if (node.operator === 'typeof') return this.typeofExpr(node, ctx, out);
        return this.generic(node, ctx, out);
      case 'CallExpression':
        return this.callExpr(node, ctx, out);
      case 'ChainExpression':
        return this.generic(node, { ...ctx, inChain: true }, out);
      case 'UpdateExpression':
        return this.update(node, ctx, out);
      case 'AssignmentExpression':
        if (node.operator in COMPOUND) return this.compound(node, ctx, out);
        if (node.operator === '||=' || node.operator === '&&=') return this.logicalAssign(node, ctx, out);
        return this.generic(node, ctx, out);
      case 'LogicalExpression':
        if (node.operator === '??') return this.generic(node, ctx, out);
        return this.logical(node, ctx, out);
      case 'ConditionalExpression':
        return this.generic(node, ctx, out, (c, o) => (c === node.test ? (this.test(c, ctx, o, false), true) : false));
      case 'IfStatement':
      case 'WhileStatement':
      case 'DoWhileStatement':
      case 'ForStatement':
        return this.generic(node, ctx, out, (c, o) => (c === node.test ? (this.test(c, ctx, o, false), true) : false));
      case 'SwitchStatement':
        return this.generic(node, ctx, out, (c, o) => {
          if (c !== node.discriminant || this.known(c, ctx)) return false;
          o.push({ s: `${this.call('value')}(`, o: c.start });
          this.node(c, ctx, o);
          o.push(')');
          return true;
        });
      case 'Identifier':
        if (this.isGlobal(node, 'Math')) {
          out.push({ s: this.call('MathObject'), o: node.start });
          return;
        }
        out.push({ a: node.start, b: node.end });
        return;
      case 'ObjectExpression':
        return this.generic(node, ctx, out, (c, o) => {
          if (c.type === 'Property' && c.shorthand && this.isGlobal(c.value, 'Math')) {
            o.push({ a: c.start, b: c.end }, { s: `: ${this.call('MathObject')}`, o: c.start });
            return true;
          }
          return false;
        });
      default:
        return this.generic(node, ctx, out);
    }
  }

  // ------------------------------------------------------------------ operator trees

  private isSite(node: Node): boolean {
    if (node.type === 'BinaryExpression') {
      const op = node.operator as string;
      if (!(op in BINARY_HELPER)) return false;
      if (EQUALITY.has(op)) return !this.nonNumeric(node.left) && !this.nonNumeric(node.right);
      return node.left.type !== 'PrivateIdentifier';
    }
    if (node.type === 'UnaryExpression') return node.operator in UNARY_HELPER;
    return isMathCall(node, this.info.refs) && node.arguments.every((a: Node) => a.type !== 'SpreadElement');
  }

  /** An operand that is certainly not a number: a string, boolean, null, undefined, typeof. */
  private nonNumeric(n: Node): boolean {
    if (n.type === 'Literal') return typeof n.value === 'string' || typeof n.value === 'boolean' || n.value === null;
    if (n.type === 'TemplateLiteral') return true;
    if (n.type === 'Identifier') return this.isGlobal(n, 'undefined');
    if (n.type === 'UnaryExpression') return n.operator === 'typeof' || n.operator === 'void' || n.operator === '!';
    return false;
  }

  private tree(root: Node, ctx: Ctx, out: Piece[], test: boolean): void {
    const leaves: Node[] = [];
    const collect = (n: Node): void => {
      if (n !== root && !this.isSite(n)) {
        leaves.push(n);
        return;
      }
      if (n.type === 'BinaryExpression') {
        collect(n.left);
        collect(n.right);
      } else if (n.type === 'UnaryExpression') collect(n.argument);
      else for (const a of n.arguments) collect(a);
    };
    collect(root);
    const isLit = (n: Node): boolean => n.type === 'Literal' && !n.regex;
    const leafKnown = leaves.map((l) => isLit(l) || this.known(l, ctx));
    const needsTruthy = test && !(root.type === 'BinaryExpression' && EQUALITY.has(root.operator));

    if (leafKnown.every(Boolean)) {
      this.nativeTree(root, ctx, out, new Map());
      return;
    }
    if (ctx.mode === 'traced') {
      if (needsTruthy) out.push({ s: `${this.call('truthy')}(`, o: root.start });
      this.helperTree(root, ctx, out, new Map());
      if (needsTruthy) out.push(')');
      return;
    }
    // Guarded: complex operands go to temporaries (evaluated once, in order), then one check.
    const lastComplex = leaves.reduce((m, l, i) => (l.type !== 'Identifier' && l.type !== 'ThisExpression' && !isLit(l) ? i : m), -1);
    const assignedLater = (name: string, i: number): boolean => {
      for (let j = i + 1; j < leaves.length; j++) if (assignsName(leaves[j], name)) return true;
      return false;
    };
    const sub = new Map<Node, string>();
    const pre: Piece[] = [];
    const checks: string[] = [];
    leaves.forEach((l, i) => {
      if (isLit(l)) return;
      const simpleId = l.type === 'Identifier' && !this.isGlobal(l, 'Math');
      const inline = (simpleId && i >= lastComplex) || (simpleId && this.stable(l, ctx) && !assignedLater(l.name, i)) || l.type === 'ThisExpression';
      if (inline) {
        if (!leafKnown[i]) checks.push(`typeof ${l.type === 'ThisExpression' ? 'this' : l.name} !== 'object'`);
        return;
      }
      const t = this.temp(ctx);
      sub.set(l, t);
      pre.push(`${t} = `);
      this.wrapped(l, ctx, pre);
      pre.push(', ');
      if (!leafKnown[i]) checks.push(`typeof ${t} !== 'object'`);
    });
    out.push('(', ...pre, `${[...new Set(checks)].join(' && ') || 'true'} ? `);
    this.nativeTree(root, ctx, out, sub);
    out.push(' : ');
    if (needsTruthy) out.push({ s: `${this.call('truthy')}(`, o: root.start });
    this.helperTree(root, ctx, out, sub);
    if (needsTruthy) out.push(')');
    out.push(')');
  }

  private leaf(n: Node, ctx: Ctx, out: Piece[], sub: Map<Node, string>): void {
    const t = sub.get(n);
    if (t !== undefined) out.push({ s: t, o: n.start });
    else this.wrapped(n, ctx, out);
  }

  private nativeTree(n: Node, ctx: Ctx, out: Piece[], sub: Map<Node, string>, isRoot = true): void {
    if (!isRoot && !this.isSite(n)) return this.leaf(n, ctx, out, sub);
    if (n.type === 'BinaryExpression') {
      out.push('(');
      this.nativeTree(n.left, ctx, out, sub, false);
      const p = this.opPos(n.left.end, n.right.start, n.operator, n.start);
      out.push({ s: ` ${n.operator} `, o: p });
      this.nativeTree(n.right, ctx, out, sub, false);
      out.push(')');
    } else if (n.type === 'UnaryExpression') {
      out.push({ s: `(${n.operator}`, o: n.start }, ' ');
      this.nativeTree(n.argument, ctx, out, sub, false);
      out.push(')');
    } else {
      out.push({ s: `Math.${n.callee.property.name}(`, o: n.start });
      n.arguments.forEach((a: Node, i: number) => {
        if (i) out.push(', ');
        this.nativeTree(a, ctx, out, sub, false);
      });
      out.push(')');
    }
  }

  private helperTree(n: Node, ctx: Ctx, out: Piece[], sub: Map<Node, string>, isRoot = true): void {
    if (!isRoot && !this.isSite(n)) return this.leaf(n, ctx, out, sub);
    if (n.type === 'BinaryExpression') {
      const p = this.opPos(n.left.end, n.right.start, n.operator, n.start);
      // A compound assignment's own operation updates tensors in place.
      out.push({ s: n.fxUpdate ? `${this.call('update')}('${n.fxUpdate}', ` : `${this.call(BINARY_HELPER[n.operator])}(`, o: p });
      this.helperTree(n.left, ctx, out, sub, false);
      out.push(', ');
      this.helperTree(n.right, ctx, out, sub, false);
      out.push(')');
    } else if (n.type === 'UnaryExpression') {
      out.push({ s: `${this.call(UNARY_HELPER[n.operator])}(`, o: n.start });
      this.helperTree(n.argument, ctx, out, sub, false);
      out.push(')');
    } else {
      out.push({ s: `${this.call('math')}.${n.callee.property.name}(`, o: n.start });
      n.arguments.forEach((a: Node, i: number) => {
        if (i) out.push(', ');
        this.helperTree(a, ctx, out, sub, false);
      });
      out.push(')');
    }
  }

  // ------------------------------------------------------------------ truthiness

  /** Emit `node` where only its truth value matters. */
  private test(node: Node, ctx: Ctx, out: Piece[], needParens: boolean): void {
    if (this.known(node, ctx)) return needParens ? this.wrapped(node, ctx, out) : this.node(node, ctx, out);
    if (node.type === 'LogicalExpression' && node.operator !== '??') {
      out.push('(');
      this.test(node.left, ctx, out, true);
      out.push({ s: ` ${node.operator} `, o: this.opPos(node.left.end, node.right.start, node.operator, node.start) });
      this.test(node.right, ctx, out, true);
      out.push(')');
      return;
    }
    if (node.type === 'UnaryExpression' && node.operator === '!') {
      out.push({ s: '(!', o: node.start });
      this.test(node.argument, ctx, out, true);
      out.push(')');
      return;
    }
    if (this.isSite(node)) return this.tree(node, ctx, out, true);
    if (node.type === 'Identifier' && ctx.mode === 'guard' && !this.isGlobal(node, 'Math')) {
      out.push(`(typeof ${node.name} !== 'object' ? `, { a: node.start, b: node.end }, ` : ${this.call('truthy')}(`, { a: node.start, b: node.end }, '))');
      return;
    }
    out.push({ s: `${this.call('truthy')}(`, o: node.start });
    this.node(node, ctx, out);
    out.push(')');
  }

  /** The truth test of an already evaluated, side-effect-free operand (an identifier or temp). */
  private truth(name: string, ctx: Ctx): string {
    return ctx.mode === 'guard' ? `(typeof ${name} !== 'object' ? ${name} : ${this.call('truthy')}(${name}))` : `${this.call('truthy')}(${name})`;
  }

  private logical(node: Node, ctx: Ctx, out: Piece[]): void {
    if (this.known(node.left, ctx)) return this.generic(node, ctx, out);
    let name: string;
    out.push('(');
    if (node.left.type === 'Identifier' && !this.isGlobal(node.left, 'Math')) name = node.left.name;
    else {
      name = this.temp(ctx);
      out.push(`${name} = `);
      this.wrapped(node.left, ctx, out);
      out.push(', ');
    }
    out.push({ s: `${this.truth(name, ctx)} ? `, o: node.start });
    if (node.operator === '||') {
      out.push(`${name} : `);
      this.wrapped(node.right, ctx, out);
    } else {
      this.wrapped(node.right, ctx, out);
      out.push(` : ${name}`);
    }
    out.push(')');
  }

  private typeofExpr(node: Node, ctx: Ctx, out: Piece[]): void {
    const a = node.argument;
    if (this.known(a, ctx) || (a.type === 'Identifier' && this.binding(a) === null)) return this.generic(node, ctx, out);
    out.push({ s: `${this.call('typeOf')}(`, o: node.start });
    this.node(a, ctx, out);
    out.push(')');
  }

  // ------------------------------------------------------------------ calls

  private callExpr(node: Node, ctx: Ctx, out: Piece[]): void {
    if (this.isSite(node)) return this.tree(node, ctx, out, false);
    const callee = node.callee;
    const args: Node[] = node.arguments;
    const oneArg = args.length >= 1 && args[0].type !== 'SpreadElement';
    const replaceCallee = (name: string): void => {
      out.push({ s: this.call(name), o: callee.start });
      let cur = callee.end;
      for (const a of args) {
        if (a.start > cur) out.push({ a: cur, b: a.start });
        this.node(a, ctx, out);
        cur = a.end;
      }
      out.push({ a: cur, b: node.end });
    };
    if (!node.optional) {
      if (this.isGlobal(callee, 'Number') && oneArg && !this.known(args[0], ctx)) return replaceCallee('toNumber');
      if (this.isGlobal(callee, 'Boolean') && oneArg && !this.known(args[0], ctx)) return replaceCallee('toBoolean');
      if (this.isGlobal(callee, 'isFinite') && oneArg && !this.known(args[0], ctx)) return replaceCallee('globalIsFinite');
      if (this.isGlobal(callee, 'isNaN') && oneArg && !this.known(args[0], ctx)) return replaceCallee('globalIsNaN');
      if (callee.type === 'MemberExpression' && !callee.computed && !callee.optional && callee.property.type === 'Identifier') {
        const prop = callee.property.name as string;
        if (this.isGlobal(callee.object, 'Number') && prop in NUMBER_STATICS && oneArg && !this.known(args[0], ctx)) return replaceCallee(NUMBER_STATICS[prop]);
        if (this.isGlobal(callee.object, 'JSON') && prop === 'stringify') return replaceCallee('jsonStringify');
        if (SEARCH_METHODS.has(prop) && !ctx.inChain && callee.object.type !== 'Super' && oneArg &&
          !(args[0].type === 'Literal' && typeof args[0].value === 'string') && args[0].type !== 'TemplateLiteral') {
          out.push({ s: `${this.call('method')}(`, o: node.start });
          this.wrapped(callee.object, ctx, out);
          out.push({ s: `, '${prop}'`, o: callee.property.start });
          let cur = -1;
          for (const a of args) {
            out.push(', ');
            this.node(a, ctx, out);
            cur = a.end;
          }
          void cur;
          out.push(')');
          return;
        }
      }
    }
    return this.generic(node, ctx, out);
  }

  // ------------------------------------------------------------------ assignments

  /**
   * A target read once: `{ read, write(v) }` texts, after pushing the temporaries that hold
   * the object and key into `pre`.
   */
  private target(left: Node, ctx: Ctx, pre: Piece[]): { read: string; write: (v: string) => string; mapAt: number } {
    if (left.type === 'Identifier') return { read: left.name, write: (v) => `${left.name} = ${v}`, mapAt: left.start };
    // MemberExpression
    let obj: string;
    if (left.object.type === 'Super') obj = 'super';
    else {
      obj = this.temp(ctx);
      pre.push(`${obj} = `);
      this.wrapped(left.object, ctx, pre);
      pre.push(', ');
    }
    let acc: string;
    if (left.computed) {
      const k = this.temp(ctx);
      pre.push(`${k} = `);
      this.wrapped(left.property, ctx, pre);
      pre.push(', ');
      acc = `${obj}[${k}]`;
    } else if (left.property.type === 'PrivateIdentifier') acc = `${obj}.#${left.property.name}`;
    else acc = `${obj}.${left.property.name}`;
    return { read: acc, write: (v) => `${acc} = ${v}`, mapAt: left.start };
  }

  private compound(node: Node, ctx: Ctx, out: Piece[]): void {
    const name = COMPOUND[node.operator];
    const left = node.left as Node;
    const isId = left.type === 'Identifier';
    const constTarget = isId && this.isConstTarget(left);
    if (isId && !constTarget && this.known(left, ctx) && this.known(node.right, ctx)) return this.generic(node, ctx, out);
    const upd = this.call('update');
    if (constTarget) {
      out.push({ s: `${upd}('${name}', `, o: node.start }, { a: left.start, b: left.end }, ', ');
      this.wrapped(node.right, ctx, out);
      out.push(`, ${JSON.stringify(left.name)})`);
      return;
    }
    if (isId) {
      // `x op= e` is `x = x op e` with one check for all operands (the operation itself
      // updates a tensor in place): a tree whose root is the assignment's operation.
      const root: Node = { type: 'BinaryExpression', operator: node.operator.slice(0, -1), left, right: node.right, start: node.start, end: node.end, fxUpdate: name };
      out.push('(', { s: `${left.name} = `, o: node.start });
      this.tree(root, ctx, out, false);
      out.push(')');
      return;
    }
    const pre: Piece[] = [];
    const tg = this.target(left, ctx, pre);
    // A tensor or array updated in place is the same object: not written back (the property
    // may be a getter, as for a layer's weights), like NumPy's `obj.w -= d`.
    const old = this.temp(ctx);
    const res = this.temp(ctx);
    const writeBack = `${res} === ${old} && typeof ${res} === 'object' ? ${res} : ${tg.write(res)}`;
    pre.push(`${old} = ${tg.read}, `);
    if (ctx.mode === 'traced') {
      out.push('(', ...pre, { s: `${res} = ${upd}('${name}', ${old}, `, o: node.start });
      this.wrapped(node.right, ctx, out);
      out.push(`), ${writeBack})`);
      return;
    }
    // Guarded: read the target, evaluate the value, then native or runtime.
    const v = this.temp(ctx);
    pre.push(`${v} = `);
    this.wrapped(node.right, ctx, pre);
    pre.push(', ');
    out.push('(', ...pre, `typeof ${old} !== 'object' && typeof ${v} !== 'object' ? `,
      { s: tg.write(`${old} ${node.operator.slice(0, -1)} ${v}`), o: node.start },
      ' : ', { s: `(${res} = ${upd}('${name}', ${old}, ${v}), ${writeBack})`, o: node.start }, ')');
  }

  private logicalAssign(node: Node, ctx: Ctx, out: Piece[]): void {
    const left = node.left as Node;
    if (left.type === 'Identifier' && this.known(left, ctx)) return this.generic(node, ctx, out);
    const pre: Piece[] = [];
    const tg = this.target(left, ctx, pre);
    const cur = left.type === 'Identifier' ? left.name : this.temp(ctx);
    if (cur !== tg.read) pre.push(`${cur} = ${tg.read}, `);
    const rhs: Piece[] = [];
    this.wrapped(node.right, ctx, rhs);
    const assign: Piece[] = left.type === 'Identifier' && this.isConstTarget(left)
      ? [`(`, ...rhs, `, ${this.call('constAssign')}())`]
      : [`(${tg.write('')}`, ...rhs, ')'];
    out.push('(', ...pre, { s: `${this.truth(cur, ctx)} ? `, o: node.start });
    if (node.operator === '||=') out.push(`${cur} : `, ...assign);
    else out.push(...assign, ` : ${cur}`);
    out.push(')');
  }

  private update(node: Node, ctx: Ctx, out: Piece[]): void {
    const arg = node.argument as Node;
    if (arg.type === 'Identifier' && this.known(arg, ctx) && !this.isConstTarget(arg)) return this.generic(node, ctx, out);
    const delta = node.operator === '++' ? 1 : -1;
    const step = this.call('step');
    if (arg.type === 'Identifier' && this.isConstTarget(arg)) {
      out.push({ s: `${step}(${arg.name}, ${delta}, ${node.prefix}, ${JSON.stringify(arg.name)})[1]`, o: node.start });
      return;
    }
    const pre: Piece[] = [];
    const tg = this.target(arg, ctx, pre);
    const r = this.temp(ctx);
    const slow = `(${r} = ${step}(${arg.type === 'Identifier' ? arg.name : '$V'}, ${delta}, ${node.prefix}), ${tg.write(`${r}[0]`)}, ${r}[1])`;
    if (ctx.mode === 'traced' && arg.type === 'Identifier') {
      out.push('(', ...pre, { s: slow, o: node.start }, ')');
      return;
    }
    if (arg.type === 'Identifier') {
      out.push('(', ...pre, { s: `typeof ${arg.name} !== 'object' ? ${node.prefix ? node.operator + arg.name : arg.name + node.operator} : ${slow}`, o: node.start }, ')');
      return;
    }
    const v = this.temp(ctx);
    const o = this.temp(ctx);
    pre.push(`${v} = ${tg.read}, `);
    const fast = node.prefix ? tg.write(`${node.operator}${v}`) : `(${o} = ${v}${node.operator}, ${tg.write(v)}, ${o})`;
    const slowM = slow.replace('$V', v);
    if (ctx.mode === 'traced') out.push('(', ...pre, { s: slowM, o: node.start }, ')');
    else out.push('(', ...pre, { s: `typeof ${v} !== 'object' ? ${fast} : ${slowM}`, o: node.start }, ')');
  }
}

class NoTemps extends Error {}

/** Whether an expression assigns to the name `name` (outside nested functions). */
function assignsName(n: Node, name: string): boolean {
  let found = false;
  const visit = (x: Node): void => {
    if (found) return;
    if (x.type === 'AssignmentExpression' && x.left.type === 'Identifier' && x.left.name === name) found = true;
    else if (x.type === 'UpdateExpression' && x.argument.type === 'Identifier' && x.argument.name === name) found = true;
    else if (x.type === 'AssignmentExpression' && x.left.type !== 'Identifier' && x.left.type !== 'MemberExpression') {
      // destructuring assignment
      const s = JSON.stringify(x.left, (k, v) => (k === 'start' || k === 'end' ? undefined : v));
      if (s.includes(`"name":"${name}"`)) found = true;
    }
    for (const c of children(x)) visit(c);
  };
  visit(n);
  return found;
}

/** Whether a function body contains anything the rewrite touches. */
function hasSites(n: Node): boolean {
  let found = false;
  const visit = (x: Node): void => {
    if (found) return;
    switch (x.type) {
      case 'BinaryExpression': case 'UnaryExpression': case 'UpdateExpression': case 'AssignmentExpression':
      case 'LogicalExpression': case 'ConditionalExpression': case 'IfStatement': case 'WhileStatement':
      case 'DoWhileStatement': case 'ForStatement': case 'CallExpression':
        found = true;
        return;
      default:
        for (const c of children(x)) visit(c);
    }
  };
  visit(n);
  return found;
}

// ------------------------------------------------------------------ output and maps

function lineStarts(code: string): number[] {
  const starts = [0];
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function locate(starts: number[], pos: number): [number, number] {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return [lo, pos - starts[lo]];
}

const isWord = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c > 127;
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

function assemble(code: string, pieces: Piece[], source: string): { text: string; map: SourceMapJSON } {
  const starts = lineStarts(code);
  const gen = new GenMapping({ file: source });
  setSourceContent(gen, source, code);
  const parts: string[] = [];
  let line = 0, col = 0;
  const advance = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) === 10) {
        line++;
        col = 0;
      } else col++;
    }
  };
  const mapAt = (o: number): void => {
    const [l, c] = locate(starts, o);
    addSegment(gen, line, col, source, l, c);
  };
  for (const p of pieces) {
    if (typeof p === 'string') {
      parts.push(p);
      advance(p);
    } else if ('s' in p) {
      mapAt(p.o);
      parts.push(p.s);
      advance(p.s);
    } else {
      const text = code.slice(p.a, p.b);
      for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        if (ch === 10) {
          line++;
          col = 0;
          continue;
        }
        if (!isSpace(ch)) {
          const prev = i === 0 ? 32 : text.charCodeAt(i - 1);
          if (i === 0 || isSpace(prev) || !isWord(ch) || !isWord(prev)) mapAt(p.a + i);
        }
        col++;
      }
      parts.push(text);
    }
  }
  return { text: parts.join(''), map: toEncodedMap(gen) as SourceMapJSON };
}

function identityMap(code: string, source: string, inputMap: SourceMapJSON | null): SourceMapJSON {
  if (inputMap) return inputMap;
  return assemble(code, [{ a: 0, b: code.length }], source).map;
}
