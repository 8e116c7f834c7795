/**
 * The operator rewrite of assignments that compute: compound assignment (`+=` … updating
 * tensors in place), logical assignment (`||=`, `&&=`) and increments (`++`, `--`), each
 * reading its target once.
 */
import type { Node } from './ast.js';
import type { Piece } from './rewrite-map.js';
import { COMPOUND, type Ctx } from './rewrite-base.js';
import { OperatorRewriter } from './rewrite-operators.js';

/** Assignments and increments; statements and functions come in the subclass. */
export abstract class AssignmentRewriter extends OperatorRewriter {
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

  /** `x op= e`, `o.k op= e`, `o[k] op= e`: tensors and arrays updated in place; a const target throws as natively. */
  protected compound(node: Node, ctx: Ctx, out: Piece[]): void {
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

  /** `x ||= e`, `x &&= e` with the truth value of tensors and traced values. */
  protected logicalAssign(node: Node, ctx: Ctx, out: Piece[]): void {
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

  /** `++`/`--` on identifiers and members; objects go through the runtime's `step`. */
  protected update(node: Node, ctx: Ctx, out: Piece[]): void {
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
