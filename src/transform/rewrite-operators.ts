/**
 * The operator rewrite of expressions: trees of operators and `Math` calls (native when the
 * operands are primitive, the runtime otherwise), truth tests, `&&`/`||`, `typeof`, and the
 * calls of globals whose meaning changes for tensors (`Number`, `isNaN`, `JSON.stringify`, `includes` …).
 */
import type { Node } from './ast.js';
import { children, isMathCall } from './scope.js';
import type { Piece } from './rewrite-map.js';
import { BINARY_HELPER, type Ctx, EQUALITY, RewriterBase, UNARY_HELPER } from './rewrite-base.js';

const NUMBER_STATICS: Record<string, string> = {
  isFinite: 'numberIsFinite', isNaN: 'numberIsNaN', isInteger: 'numberIsInteger', isSafeInteger: 'numberIsSafeInteger',
};
const SEARCH_METHODS = new Set(['includes', 'indexOf', 'lastIndexOf']);

/** Operators, truth values and calls; assignments and statements come in the subclasses. */
export abstract class OperatorRewriter extends RewriterBase {
  /** A node the rewrite turns into a native/runtime choice: an operator or a call of a `Math` function. */
  protected isSite(node: Node): boolean {
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

  /**
   * A tree of operator sites rooted at `root`, as one choice: native operators when every
   * leaf is known primitive, runtime calls when traced, else a check of the leaves (complex
   * ones evaluated once into temporaries) choosing between the two. `test`: only the truth
   * value is used.
   */
  protected tree(root: Node, ctx: Ctx, out: Piece[], test: boolean): void {
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
  protected test(node: Node, ctx: Ctx, out: Piece[], needParens: boolean): void {
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
  protected truth(name: string, ctx: Ctx): string {
    return ctx.mode === 'guard' ? `(typeof ${name} !== 'object' ? ${name} : ${this.call('truthy')}(${name}))` : `${this.call('truthy')}(${name})`;
  }

  protected logical(node: Node, ctx: Ctx, out: Piece[]): void {
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

  protected typeofExpr(node: Node, ctx: Ctx, out: Piece[]): void {
    const a = node.argument;
    if (this.known(a, ctx) || (a.type === 'Identifier' && this.binding(a) === null)) return this.generic(node, ctx, out);
    out.push({ s: `${this.call('typeOf')}(`, o: node.start });
    this.node(a, ctx, out);
    out.push(')');
  }

  // ------------------------------------------------------------------ calls

  protected callExpr(node: Node, ctx: Ctx, out: Piece[]): void {
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
          for (const a of args) {
            out.push(', ');
            this.node(a, ctx, out);
          }
          out.push(')');
          return;
        }
      }
    }
    return this.generic(node, ctx, out);
  }
}

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
