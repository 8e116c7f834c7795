/**
 * `fluxion/ts-plugin`: a TypeScript language-service plugin for editors. With the operator
 * transform on, `W - 0.1 * g` on tensors is valid code, but TypeScript reports it (no operator
 * overloading). The plugin hides those reports where an operand is a Tensor, a typed array or
 * a number array: "the left/right-hand side of an arithmetic operation must be of type number"
 * (2362, 2363), "operator cannot be applied to types" (2365), "cannot assign to a constant"
 * (2588) for a compound assignment that updates a tensor or array in place, and "type 'number'
 * is not assignable" (2322) where an arithmetic result that is a Tensor at run time is stored.
 *
 * ```json
 * // tsconfig.json
 * { "compilerOptions": { "plugins": [{ "name": "fluxion/ts-plugin" }] } }
 * ```
 * Editors use it (VS Code: "Use Workspace Version" of TypeScript); `tsc` on the command line
 * does not load plugins: run `fluxion-tsc` (same arguments as `tsc`) there, which applies the
 * same filter (src/transform/ts-filter.cts, where the hidden reports are listed).
 */
import type * as TS from 'typescript';
import { filterDiagnostics } from './ts-filter.cjs';

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
