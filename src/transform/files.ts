/**
 * What the Node hook and the bundler plugin share: which files to rewrite, how to strip
 * TypeScript types, and the whole per-file transform with its chained source map.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform as sucrase, type Transform } from 'sucrase';
import { rewrite, withInlineMap, type SourceMapJSON } from './rewrite.js';

/** Which files the transform rewrites. */
export interface TransformOptions {
  /**
   * Files to rewrite: globs (`src/**`, `**\/*.ts`) relative to `root`, or absolute paths.
   * Default: every JavaScript or TypeScript file of the project.
   */
  include?: string[];
  /** Files never to rewrite (globs as for `include`). `node_modules` is always excluded unless listed in `packages`. */
  exclude?: string[];
  /** Packages in `node_modules` whose files are rewritten too (opt-in), e.g. `['my-models']`. */
  packages?: string[];
  /** Directory that relative globs start from. Default: the current working directory. */
  root?: string;
}

/** `.ts .mts .cts .tsx`: needs its types stripped. */
export const TS_FILE = /\.[cm]?tsx?$/;
/** Files the transform may rewrite. */
export const CODE_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

const here = dirname(fileURLToPath(import.meta.url));
/** The library's own sources and build: never rewritten (its runtime must stay one plain copy). */
const LIBRARY_DIRS = [resolve(here, '..') + sep, resolve(here, '../../src') + sep, resolve(here, '../../dist') + sep];
/** Path or URL of the runtime that rewritten code imports (next to this file, `.ts` when run from source). */
export const RUNTIME_FILE = join(here, import.meta.url.endsWith('.ts') ? 'runtime.ts' : 'runtime.js');

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += /[.+^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`^${re}$`);
}

/** A predicate deciding whether the file at an absolute path is rewritten. */
export function fileFilter(options: TransformOptions = {}): (path: string) => boolean {
  const root = resolve(options.root ?? process.cwd());
  const toAbs = (g: string): RegExp => {
    const abs = isAbsolute(g) ? g : `${root}/${g}`;
    // A directory means everything below it.
    return globToRegExp(/[*?]/.test(abs) || CODE_FILE.test(abs) ? abs : `${abs.replace(/\/$/, '')}/**`);
  };
  const include = (options.include ?? []).map(toAbs);
  const exclude = (options.exclude ?? []).map(toAbs);
  const packages = new Set(options.packages ?? []);
  return (path: string): boolean => {
    const p = path.split(sep).join('/');
    if (!CODE_FILE.test(p) || p.endsWith('.d.ts')) return false;
    if (LIBRARY_DIRS.some((d) => path.startsWith(d))) return false;
    const nm = p.lastIndexOf('/node_modules/');
    if (nm >= 0) {
      const rest = p.slice(nm + 14).split('/');
      const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
      if (!packages.has(name)) return false;
    }
    if (exclude.some((r) => r.test(p))) return false;
    return include.length === 0 || include.some((r) => r.test(p)) || (nm >= 0 && packages.size > 0);
  };
}

/** Options from the nearest `package.json` (`"fluxion": { "include", "exclude", "packages" }`) and `FLUXION_TRANSFORM` (JSON). */
export function loadOptions(cwd = process.cwd()): TransformOptions {
  let opts: TransformOptions = {};
  for (let d = resolve(cwd); ; d = dirname(d)) {
    const f = join(d, 'package.json');
    if (existsSync(f)) {
      try {
        const pkg = JSON.parse(readFileSync(f, 'utf8')) as { fluxion?: TransformOptions };
        if (pkg.fluxion) opts = { ...pkg.fluxion, root: resolve(d, pkg.fluxion.root ?? '.') };
      } catch { /* not JSON: ignore */ }
      break;
    }
    if (dirname(d) === d) break;
  }
  const env = process.env.FLUXION_TRANSFORM;
  if (env) opts = { ...opts, ...(JSON.parse(env) as TransformOptions) };
  return opts;
}

/** Whether the nearest package.json says `"type": "module"`. */
export function packageIsModule(path: string): boolean {
  for (let d = dirname(path); ; d = dirname(d)) {
    const f = join(d, 'package.json');
    if (existsSync(f)) {
      try {
        return (JSON.parse(readFileSync(f, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(d) === d) return false;
  }
}

/** Whether source text uses `import`/`export` statements (ESM syntax). */
export function hasModuleSyntax(code: string): boolean {
  return /^\s*(?:import\s*[\w{*'"]|export\s+(?:\{|\*|default|const|let|var|function|class|async|type|interface|enum|declare|abstract))/m.test(code);
}

/**
 * TypeScript (or JSX) to JavaScript with a source map; the module syntax is kept, or converted
 * to CommonJS with `cjs`. Sucrase is used because it keeps lines and never folds constants
 * (esbuild turns `[1, 2] + [3, 4]` into `"1,23,4"` before the rewrite could see it).
 */
export function stripTypes(code: string, path: string, cjs = false): { code: string; map: SourceMapJSON } {
  const transforms: Transform[] = [];
  if (TS_FILE.test(path)) transforms.push('typescript');
  if (path.endsWith('x')) transforms.push('jsx');
  if (cjs) transforms.push('imports');
  const r = sucrase(code, {
    transforms,
    filePath: path,
    disableESTransforms: true,
    preserveDynamicImport: true,
    sourceMapOptions: { compiledFilename: path },
  });
  const map = r.sourceMap as unknown as SourceMapJSON & { sourcesContent?: string[] };
  map.sources = [path];
  map.sourcesContent = [code];
  return { code: r.code, map };
}

export interface FileResult {
  code: string;
  map: SourceMapJSON | null;
  rewritten: boolean;
}

/**
 * The whole transform of one file: strip types if `path` is TypeScript and `code` is still
 * TypeScript, rewrite operators if `rewriteIt`, and return JavaScript with an inline map.
 */
export function transformFile(code: string, path: string, o: { sourceType: 'module' | 'script'; rewriteIt: boolean; isTypeScript: boolean; runtime: string }): FileResult {
  let js = code;
  let map: SourceMapJSON | null = null;
  // TypeScript required as CommonJS but written with import/export: convert, as tsc would.
  if (o.isTypeScript) ({ code: js, map } = stripTypes(code, path, o.sourceType === 'script' && hasModuleSyntax(code)));
  if (!o.rewriteIt) return { code: map ? withInlineMap(js, map) : js, map, rewritten: false };
  const r = rewrite(js, { filename: path, sourceType: o.sourceType, runtime: o.runtime, inputMap: map });
  if (!r.changed) return { code: map ? withInlineMap(js, map) : code, map, rewritten: false };
  return { code: withInlineMap(r.code, r.map), map: r.map, rewritten: true };
}
