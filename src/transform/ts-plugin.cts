/**
 * `fluxion/ts-plugin`: a TypeScript language-service plugin for editors. With the operator
 * transform on, `W - 0.1 * g` on tensors is valid code, but TypeScript reports it (no operator
 * overloading). The plugin hides those reports where an operand is a Tensor, a typed array or
 * a number array: "the left/right-hand side of an arithmetic operation must be of type number"
 * (2362, 2363), "operator cannot be applied to types" (2365), and "cannot assign to a constant"
 * (2588) for a compound assignment that updates a tensor or array in place.
 *
 * ```json
 * // tsconfig.json
 * { "compilerOptions": { "plugins": [{ "name": "fluxion/ts-plugin" }] } }
 * ```
 * Editors use it (VS Code: "Use Workspace Version" of TypeScript); `tsc` on the command line
 * does not load plugins (see the README for typing tensors as `Tensor & number` there).
 */
import type * as TS from 'typescript';

const HIDDEN = new Set([2362, 2363, 2365, 2588]);
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

function hidden(ts: typeof TS, program: TS.Program, d: TS.Diagnostic): boolean {
  if (!HIDDEN.has(d.code) || d.file === undefined || d.start === undefined) return false;
  const checker = program.getTypeChecker();
  const op = operatorAt(ts, d.file, d.start);
  if (op === undefined) return false;
  const operands = ts.isBinaryExpression(op) ? [op.left, op.right] : [op.operand];
  const numeric = operands.some((e) => numericObject(ts, checker, checker.getTypeAtLocation(e)));
  if (d.code !== 2588) return numeric;
  // Assigning to a const: only a compound update of a tensor or array (done in place). The
  // target's type at the assignment is an error type: take the declared one.
  const target = ts.isBinaryExpression(op) ? op.left : op.operand;
  if (ts.isBinaryExpression(op)) {
    const k = op.operatorToken.kind;
    if (k < ts.SyntaxKind.FirstCompoundAssignment || k > ts.SyntaxKind.LastCompoundAssignment) return false;
  }
  const sym = checker.getSymbolAtLocation(target);
  const decl = sym?.valueDeclaration;
  return sym !== undefined && decl !== undefined && numericObject(ts, checker, checker.getTypeOfSymbolAtLocation(sym, decl));
}

/** Diagnostics without the reports the operator transform makes obsolete. */
function filterDiagnostics(ts: typeof TS, program: TS.Program | undefined, diags: readonly TS.Diagnostic[]): TS.Diagnostic[] {
  if (program === undefined) return [...diags];
  return diags.filter((d) => !hidden(ts, program, d));
}

function init(modules: { typescript: typeof TS }): { create(info: { languageService: TS.LanguageService }): TS.LanguageService } {
  const ts = modules.typescript;
  return {
    create(info) {
      const ls = info.languageService;
      const proxy: TS.LanguageService = Object.create(null);
      for (const k of Object.keys(ls) as (keyof TS.LanguageService)[]) {
        const f = ls[k] as unknown as (...a: unknown[]) => unknown;
        (proxy as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => f.apply(ls, a);
      }
      proxy.getSemanticDiagnostics = (fileName) => filterDiagnostics(ts, ls.getProgram(), ls.getSemanticDiagnostics(fileName));
      return proxy;
    },
  };
}

export = init;
