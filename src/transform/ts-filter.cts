/**
 * The diagnostic filter shared by `fluxion/ts-plugin` (editors) and the `fluxion-tsc` command
 * (CI): it drops the reports that the operator transform makes obsolete, and only those.
 *
 * With the transform on, `W - 0.1 * g` on tensors is valid code, but TypeScript has no
 * operator overloading and reports it. Hidden, where an operand is a Tensor, a typed array or
 * a number array (a *numeric object*):
 * - 2362, 2363: "the left/right-hand side of an arithmetic operation must be of type number";
 * - 2356: "an arithmetic operand must be of type number" (`W++`, an in-place update);
 * - 2365: "operator cannot be applied to types";
 * - 2588: "cannot assign to a constant", for a compound assignment (`W -= …`), which updates a
 *   tensor or array in place;
 * - 2322: "type 'number' is not assignable to type …", where TypeScript typed an arithmetic
 *   result as `number` although it is a Tensor at run time: a compound assignment to a numeric
 *   object (`W -= 0.1 * g` with `let W: Tensor`), or an arithmetic expression with a numeric
 *   operand stored where a numeric object is expected (`const d: Tensor = W - g`, `return W * 2`
 *   in a function returning a Tensor).
 * Every other diagnostic is kept: one on an expression with no numeric-object operand is never
 * hidden. `ts` is passed in, so the filter works with whichever TypeScript runs it.
 */
import type * as TS from 'typescript';

const OPERATOR_CODES = new Set([2356, 2362, 2363, 2365]);
const CONST_ASSIGN = 2588;
const NOT_ASSIGNABLE = 2322;
const ARRAYS = new Set(['Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array', 'Uint16Array', 'Uint32Array', 'Uint8ClampedArray']);

/** Whether values of `type` take part in fluxion's elementwise arithmetic. */
function numericObject(ts: typeof TS, checker: TS.TypeChecker, type: TS.Type): boolean {
  if (type.isUnionOrIntersection()) return type.types.some((t) => numericObject(ts, checker, t));
  const name = type.getSymbol()?.getName();
  if (name === 'Tensor' || name === 'TrackedTensor' || (name !== undefined && ARRAYS.has(name))) return true;
  if (checker.isArrayType(type)) {
    const [el] = checker.getTypeArguments(type as TS.TypeReference);
    return el !== undefined && ((el.flags & ts.TypeFlags.NumberLike) !== 0 || numericObject(ts, checker, el));
  }
  return false;
}

/** The operator expression a diagnostic points into. */
type OperatorNode = TS.BinaryExpression | TS.PrefixUnaryExpression | TS.PostfixUnaryExpression;

function operatorAt(ts: typeof TS, sf: TS.SourceFile, pos: number): OperatorNode | undefined {
  let found: OperatorNode | undefined;
  const visit = (n: TS.Node): void => {
    if (pos < n.getStart(sf) || pos >= n.getEnd()) return;
    if (ts.isBinaryExpression(n) || ts.isPrefixUnaryExpression(n) || ts.isPostfixUnaryExpression(n)) found = n;
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

/** The innermost node that starts exactly at `pos` and satisfies `accept`. */
function nodeStartingAt(ts: typeof TS, sf: TS.SourceFile, pos: number, accept: (n: TS.Node) => boolean): TS.Node | undefined {
  let found: TS.Node | undefined;
  const visit = (n: TS.Node): void => {
    if (pos < n.getStart(sf) || pos >= n.getEnd()) return;
    if (accept(n)) found = n;
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const isCompound = (ts: typeof TS, k: TS.SyntaxKind): boolean =>
  k >= ts.SyntaxKind.FirstCompoundAssignment && k <= ts.SyntaxKind.LastCompoundAssignment;

const ARITHMETIC = (ts: typeof TS): Set<TS.SyntaxKind> => new Set([
  ts.SyntaxKind.PlusToken, ts.SyntaxKind.MinusToken, ts.SyntaxKind.AsteriskToken, ts.SyntaxKind.SlashToken,
  ts.SyntaxKind.PercentToken, ts.SyntaxKind.AsteriskAsteriskToken,
]);

/** The declared type of an assignment target (its type at the assignment is an error type). */
function declaredType(checker: TS.TypeChecker, target: TS.Expression): TS.Type {
  const sym = checker.getSymbolAtLocation(target);
  const decl = sym?.valueDeclaration;
  return sym !== undefined && decl !== undefined ? checker.getTypeOfSymbolAtLocation(sym, decl) : checker.getTypeAtLocation(target);
}

/**
 * Is `e` an arithmetic expression that is a Tensor at run time: `+ - * / % **` or a unary
 * `-`/`+` with a numeric-object operand, directly or through such expressions and parentheses?
 */
function tensorValued(ts: typeof TS, checker: TS.TypeChecker, e: TS.Expression): boolean {
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  const operand = (x: TS.Expression): boolean => numericObject(ts, checker, checker.getTypeAtLocation(x)) || tensorValued(ts, checker, x);
  if (ts.isBinaryExpression(e) && ARITHMETIC(ts).has(e.operatorToken.kind)) return operand(e.left) || operand(e.right);
  if (ts.isPrefixUnaryExpression(e) && (e.operator === ts.SyntaxKind.MinusToken || e.operator === ts.SyntaxKind.PlusToken)) return operand(e.operand);
  return false;
}

/** 2322 on a value TypeScript typed `number` that is a Tensor at run time, stored where a numeric object is expected. */
function hiddenAssignability(ts: typeof TS, checker: TS.TypeChecker, sf: TS.SourceFile, pos: number): boolean {
  // Where TypeScript anchors 2322: the assignment's target, the declared name, the property
  // name, the `return` keyword, an arrow function's expression body.
  const anchor = nodeStartingAt(ts, sf, pos, (n) => {
    const p = n.parent;
    if (p === undefined) return false;
    if (ts.isBinaryExpression(p) && p.left === n) return true;
    if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isParameter(p)) && p.name === n) return true;
    if (ts.isArrowFunction(p) && p.body === n) return true;
    return ts.isReturnStatement(n);
  });
  if (anchor === undefined) return false;
  if (anchor.getStart(sf) !== pos) return false;
  const p = anchor.parent;
  if (ts.isBinaryExpression(p) && p.left === anchor) {
    const k = p.operatorToken.kind;
    // `W -= …` on a numeric object updates it in place: it stays what it is.
    if (isCompound(ts, k)) return numericObject(ts, checker, declaredType(checker, p.left));
    if (k !== ts.SyntaxKind.EqualsToken) return false;
    return tensorValued(ts, checker, p.right) && numericObject(ts, checker, declaredType(checker, p.left));
  }
  let source: TS.Expression | undefined;
  if (ts.isReturnStatement(anchor)) source = anchor.expression;
  else if (ts.isArrowFunction(p) && p.body === anchor) source = anchor as TS.Expression;
  else if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isParameter(p)) source = p.initializer;
  if (source === undefined || !tensorValued(ts, checker, source)) return false;
  const expected = checker.getContextualType(source);
  return expected !== undefined && numericObject(ts, checker, expected);
}

/** Whether `d` is one of the reports the operator transform makes obsolete. */
export function isObsoleteOperatorDiagnostic(ts: typeof TS, program: TS.Program, d: TS.Diagnostic): boolean {
  if (d.file === undefined || d.start === undefined) return false;
  if (!OPERATOR_CODES.has(d.code) && d.code !== CONST_ASSIGN && d.code !== NOT_ASSIGNABLE) return false;
  const checker = program.getTypeChecker();
  if (d.code === NOT_ASSIGNABLE) return hiddenAssignability(ts, checker, d.file, d.start);
  const op = operatorAt(ts, d.file, d.start);
  if (op === undefined) return false;
  if (d.code !== CONST_ASSIGN) {
    const operands = ts.isBinaryExpression(op) ? [op.left, op.right] : [op.operand];
    return operands.some((e) => numericObject(ts, checker, checker.getTypeAtLocation(e)));
  }
  // Assigning to a const: only a compound update (or ++/--) of a tensor or array, done in place.
  const target = ts.isBinaryExpression(op) ? op.left : op.operand;
  if (ts.isBinaryExpression(op) && !isCompound(ts, op.operatorToken.kind)) return false;
  return numericObject(ts, checker, declaredType(checker, target));
}

/** `diags` without the reports the operator transform makes obsolete. */
export function filterDiagnostics(ts: typeof TS, program: TS.Program | undefined, diags: readonly TS.Diagnostic[]): TS.Diagnostic[] {
  if (program === undefined) return [...diags];
  return diags.filter((d) => !isObsoleteOperatorDiagnostic(ts, program, d));
}
