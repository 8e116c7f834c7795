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
 *
 * This module is the entry point; the parts are rewrite-base.ts (context, temporaries,
 * copying), rewrite-operators.ts (operators, truth values, calls), rewrite-assign.ts
 * (compound and logical assignment, increments), rewrite-program.ts (program, function
 * bodies, dispatch) and rewrite-map.ts (output text and source maps).
 */
import { parse } from 'acorn';
import type { Node } from './ast.js';
import { analyse } from './scope.js';
import { type SourceMapJSON, assemble, chainMaps, identityMap, takeInlineMap } from './rewrite-map.js';
import { Rewriter } from './rewrite-program.js';

export { type SourceMapJSON, withInlineMap } from './rewrite-map.js';

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

/** Rewrite `code`; see the module documentation. Throws a SyntaxError for code acorn cannot parse. */
export function rewrite(source: string, options: RewriteOptions): RewriteResult {
  // An inline map left by a previous tool (tsx, a bundler) is chained, and its comment dropped.
  const { code, inputMap } = takeInlineMap(source, options.inputMap);
  const program = parse(code, {
    ecmaVersion: 'latest',
    sourceType: options.sourceType,
    allowHashBang: true,
    allowReturnOutsideFunction: options.sourceType === 'script',
    allowAwaitOutsideFunction: options.sourceType === 'module',
  }) as unknown as Node;
  const r = new Rewriter(code, analyse(program), options);
  const pieces = r.program(program);
  if (!r.used) return { code, map: identityMap(code, options.filename, inputMap), changed: false };
  const { text, map } = assemble(code, pieces, options.filename);
  return { code: text, map: chainMaps(map, inputMap), changed: true };
}
