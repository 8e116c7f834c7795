/**
 * The operator rewrite's top level: the program (runtime import or require, hashbang), the
 * bodies of functions (the plain/traced "dual body" and the typed-array variant, see
 * rewrite.ts) and the dispatch of every node kind to the part that rewrites it.
 */
import type { Node } from './ast.js';
import { children } from './scope.js';
import type { Piece } from './rewrite-map.js';
import { COMPOUND, type Ctx, UNARY_HELPER } from './rewrite-base.js';
import { AssignmentRewriter } from './rewrite-assign.js';

/** The rewriter: `program(ast)` gives the output pieces; `used` says whether any runtime call was emitted. */
export class Rewriter extends AssignmentRewriter {
  /** The whole program's pieces, with the runtime loaded first if anything calls it. */
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

  /**
   * A function: parameters (defaults isolated), then the body, doubled (plain and traced) or
   * tripled (with typed-array parameters) where the module documentation says.
   */
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

  /** A parameter (pattern): default values and computed keys rewritten as isolated expressions. */
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

  protected override dispatch(node: Node, ctx: Ctx, out: Piece[]): void {
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
