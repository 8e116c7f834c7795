/**
 * The operator rewrite's machinery shared by all its parts: the context a node is rewritten
 * in, temporaries, runtime references, copying a node's text around its rewritten children,
 * and what the scope analysis says of identifiers. The node kinds themselves are rewritten in
 * rewrite-operators.ts, rewrite-assign.ts and rewrite-program.ts (each class extends the last).
 */
import type { Node } from './ast.js';
import { type Binding, type FnInfo, type ScopeInfo, children, exprKnown } from './scope.js';
import type { Piece } from './rewrite-map.js';

/** Names of the temporaries of one function body (or program), declared at its top. */
export interface Temps { names: string[]; prefix: string; counter: { n: number } }

/** Where a node is rewritten. */
export interface Ctx {
  fn: FnInfo;
  /** Null where no temporaries can be declared (parameter defaults, class fields). */
  temps: Temps | null;
  known: Set<Binding>;
  /** `guard`: unknown operands are checked at the site; `traced`: the runtime is called directly. */
  mode: 'guard' | 'traced';
  inChain: boolean;
}

/** Runtime helper of each binary operator. */
export const BINARY_HELPER: Record<string, string> = {
  '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'rem', '**': 'pow',
  '|': 'bor', '&': 'band', '^': 'bxor', '<<': 'shl', '>>': 'shr', '>>>': 'ushr',
  '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '===': 'seq', '!==': 'sne', '==': 'leq', '!=': 'lne',
};
/** Runtime helper of each rewritten unary operator. */
export const UNARY_HELPER: Record<string, string> = { '-': 'neg', '+': 'pos', '~': 'bnot' };
/** Runtime operation (for `update`) of each compound assignment operator. */
export const COMPOUND: Record<string, string> = {
  '+=': 'add', '-=': 'sub', '*=': 'mul', '/=': 'div', '%=': 'rem', '**=': 'pow',
  '|=': 'bor', '&=': 'band', '^=': 'bxor', '<<=': 'shl', '>>=': 'shr', '>>>=': 'ushr',
};
export const EQUALITY = new Set(['==', '!=', '===', '!==']);

/** Thrown by `temp` where no temporaries can be declared; `node` catches it. */
export class NoTemps extends Error {}

/** What every part of the rewrite uses; `dispatch` (rewrite-program.ts) routes node kinds. */
export abstract class RewriterBase {
  used = false;
  readonly rt: string;
  readonly tempPrefix: string;
  /** Number of runtime references emitted so far (a body without any runs only native code). */
  protected calls = 0;

  constructor(readonly code: string, readonly info: ScopeInfo, readonly options: { sourceType: 'module' | 'script'; runtime: string }) {
    let rt = '$fx';
    for (let i = 1; code.includes(rt); i++) rt = `$fx${i}`;
    this.rt = rt;
    this.tempPrefix = `${rt}_`;
  }

  /** Rewrite `node` by its kind. */
  protected abstract dispatch(node: Node, ctx: Ctx, out: Piece[]): void;

  protected newTemps(): Temps {
    return { names: [], prefix: this.tempPrefix, counter: { n: 0 } };
  }

  protected temp(ctx: Ctx): string {
    if (ctx.temps === null) throw new NoTemps();
    const name = `${ctx.temps.prefix}${ctx.temps.counter.n++}`;
    ctx.temps.names.push(name);
    return name;
  }

  /** Text calling the runtime: `$fx.name`. */
  protected call(name: string): string {
    this.used = true;
    this.calls++;
    return `${this.rt}.${name}`;
  }

  protected tempDecl(t: Temps): string {
    return t.names.length ? `let ${t.names.join(', ')};` : '';
  }

  /** Emit `node` with its children processed, copying the text between them. */
  protected generic(node: Node, ctx: Ctx, out: Piece[], override?: (c: Node, out: Piece[]) => boolean): void {
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
  protected stmt(node: Node, ctx: Ctx, out: Piece[]): void {
    if (node.type !== 'ExpressionStatement') return this.node(node, ctx, out);
    const local: Piece[] = [];
    this.node(node, ctx, local);
    const first = local[0];
    const text = typeof first === 'string' ? first : first !== undefined && 's' in first ? first.s : '';
    if (/^[([`]/.test(text)) out.push(';');
    out.push(...local);
  }

  protected emit(node: Node, ctx: Ctx): Piece[] {
    const out: Piece[] = [];
    this.node(node, ctx, out);
    return out;
  }

  /** Emit an expression, in parentheses unless it is a primary expression. */
  protected wrapped(node: Node, ctx: Ctx, out: Piece[]): void {
    const simple = node.type === 'Identifier' || node.type === 'Literal' || node.type === 'ThisExpression' ||
      node.type === 'MemberExpression' || node.type === 'CallExpression' || node.type === 'TemplateLiteral';
    if (!simple) out.push('(');
    this.node(node, ctx, out);
    if (!simple) out.push(')');
  }

  /** An expression that may need temporaries where none can be declared: an arrow IIFE holds them. */
  protected isolated(node: Node, ctx: Ctx, out: Piece[]): void {
    const temps = this.newTemps();
    const inner = this.emit(node, { ...ctx, temps });
    if (temps.names.length === 0) {
      out.push(...inner);
      return;
    }
    out.push(`(() => { ${this.tempDecl(temps)} return (`, ...inner, '); })()');
  }

  protected isGlobal(id: Node, name: string): boolean {
    return id.type === 'Identifier' && id.name === name && this.info.refs.get(id) === null;
  }

  protected known(node: Node, ctx: Ctx): boolean {
    return !this.info.dynamic && exprKnown(node, ctx.known, this.info.refs);
  }

  protected binding(id: Node): Binding | null | undefined {
    return this.info.refs.get(id);
  }

  /** An identifier whose value cannot change behind the current expression's back. */
  protected stable(id: Node, ctx: Ctx): boolean {
    const b = this.binding(id);
    if (!b) return false;
    if (b.kind === 'const' || b.kind === 'class') return true;
    if (b.kind === 'import') return false;
    if (b.kind === 'param' && b.fn.usesArguments) return false;
    return b.fn === ctx.fn && !b.assignedInNested;
  }

  protected isConstTarget(id: Node): boolean {
    const b = this.binding(id);
    return !!b && (b.kind === 'const' || b.kind === 'import');
  }

  /** Position of an operator between two child nodes (for mapping generated calls to it). */
  protected opPos(from: number, to: number, op: string, fallback: number): number {
    const i = this.code.indexOf(op, from);
    return i >= 0 && i < to ? i : fallback;
  }

  /** Emit `node`; where it needs temporaries and none can be declared, inside an arrow IIFE. */
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

}
