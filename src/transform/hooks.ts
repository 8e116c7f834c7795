/**
 * Module customization hooks for Node's ESM loader (`module.register`, Node 20): resolve
 * TypeScript files the way `tsc` users write their imports (`./b.js` for `b.ts`,
 * extensionless paths), strip types, and rewrite operators in user modules.
 *
 * CommonJS files are left to the CommonJS loader, which `register.ts` patches on the main
 * thread (on Node 20 these hooks never see `require()`).
 * @internal
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CODE_FILE, RUNTIME_FILE, TS_FILE, fileFilter, hasModuleSyntax, packageIsModule, transformFile, type TransformOptions } from './files.js';

interface ResolveContext { parentURL?: string; conditions?: string[] }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
interface LoadContext { format?: string | null; conditions?: string[] }
interface LoadResult { format: string; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }
type NextResolve = (specifier: string, context?: ResolveContext) => ResolveResult | Promise<ResolveResult>;
type NextLoad = (url: string, context?: LoadContext) => LoadResult | Promise<LoadResult>;

let include: (path: string) => boolean = fileFilter();
const runtimeURL = pathToFileURL(RUNTIME_FILE).href;

/** Receives the options `register` was called with. */
export function initialize(data?: { options?: TransformOptions }): void {
  include = fileFilter(data?.options ?? {});
}

const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/** TypeScript's resolution of relative imports: `./b.js` → `./b.ts`, `./b` → `./b.ts`, `./dir` → `./dir/index.ts`. */
export function tsAlternative(specifier: string, parentURL: string | undefined): string | undefined {
  if (!parentURL?.startsWith('file:') || !/^(\.{1,2}\/|\/|file:)/.test(specifier)) return undefined;
  const base = new URL(specifier, parentURL);
  const path = fileURLToPath(base);
  const tries: string[] = [];
  const m = /\.([cm]?)js(x?)$/.exec(path);
  if (m) tries.push(path.slice(0, -m[0].length) + `.${m[1]}ts${m[2]}`);
  if (!CODE_FILE.test(path)) tries.push(`${path}.ts`, `${path}.tsx`, `${path}.js`, `${path}/index.ts`, `${path}/index.js`);
  const hit = tries.find(isFile);
  return hit === undefined ? undefined : pathToFileURL(hit).href + base.search;
}

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  try {
    return await nextResolve(specifier, context);
  } catch (e) {
    const alt = tsAlternative(specifier, context.parentURL);
    if (alt === undefined) throw e;
    return { url: alt, shortCircuit: true };
  }
}

/** The module format of a TypeScript file, as Node decides it for JavaScript. */
function tsFormat(path: string): 'module' | 'commonjs' {
  if (/\.mtsx?$/.test(path)) return 'module';
  if (/\.ctsx?$/.test(path)) return 'commonjs';
  if (packageIsModule(path)) return 'module';
  // Like Node's module detection for .js: TypeScript written with import/export is ESM.
  return hasModuleSyntax(readFileSync(path, 'utf8')) ? 'module' : 'commonjs';
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  if (!url.startsWith('file:')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  if (!CODE_FILE.test(path)) return nextLoad(url, context);
  const isTS = TS_FILE.test(path) || path.endsWith('.jsx');
  const rewriteIt = include(path);
  if (!isTS && !rewriteIt) return nextLoad(url, context);

  // User TypeScript is read and stripped here even after `--import tsx`: esbuild folds
  // constants such as `[1, 2] + [3, 4]` into strings before the rewrite could see them.
  if (isTS && rewriteIt) {
    const format = context.format === 'module' || context.format === 'commonjs' ? context.format : tsFormat(path);
    if (format === 'commonjs') return { format: 'commonjs', source: null, shortCircuit: true };
    const r = transformFile(readFileSync(path, 'utf8'), path, { sourceType: 'module', rewriteIt, isTypeScript: true, runtime: runtimeURL });
    return { format: 'module', source: r.code, shortCircuit: true };
  }
  let loaded: LoadResult | undefined;
  try {
    loaded = await nextLoad(url, isTS ? { ...context, format: context.format ?? tsFormat(path) } : context);
  } catch (e) {
    if (!isTS) throw e;
  }
  let format = loaded?.format;
  // CommonJS goes through the CommonJS loader (patched by register.ts).
  if ((format ?? (isTS ? tsFormat(path) : undefined)) === 'commonjs' || format === 'commonjs-typescript') {
    return { format: 'commonjs', source: null, shortCircuit: true };
  }
  let source = loaded?.source == null ? undefined : typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8');
  // Raw TypeScript: Node could not load it, or handed it over as `module-typescript`.
  const raw = source === undefined || format === 'module-typescript' || (isTS && format === undefined);
  if (source === undefined) source = readFileSync(path, 'utf8');
  if (format === undefined || format === null || format === 'module-typescript') format = isTS ? tsFormat(path) : 'module';
  if (format !== 'module') return loaded ?? { format, source, shortCircuit: true };
  const r = transformFile(source, path, { sourceType: 'module', rewriteIt, isTypeScript: isTS && raw, runtime: runtimeURL });
  return { format: 'module', source: r.code, shortCircuit: true };
}
