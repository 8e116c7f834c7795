/**
 * `fluxion/plugin`: the operator rewrite in a bundle, for Vite, Rollup and esbuild.
 *
 * ```ts
 * // vite.config.ts
 * import fluxion from 'fluxion/plugin';
 * export default { plugins: [fluxion.vite()] };
 * // rollup.config.js
 * export default { input: 'src/main.ts', plugins: [fluxion.rollup()] };
 * // esbuild
 * await esbuild.build({ entryPoints: ['src/main.ts'], bundle: true, plugins: [fluxion.esbuild()] });
 * ```
 *
 * Each takes the options of {@link TransformOptions} (`include`, `exclude`, `packages`,
 * `root`). The rewrite runs before the bundler's own TypeScript handling (which would fold
 * `[1, 2] + [3, 4]` into a string), on user modules only: never on `node_modules` unless a
 * package is opted in, never on fluxion itself. Source maps are chained back to the
 * TypeScript.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CODE_FILE, RUNTIME_FILE, TS_FILE, fileFilter, stripTypes, transformFile, type TransformOptions } from './files.js';
import { tsAlternative } from './hooks.js';
import { pathToFileURL } from 'node:url';

export type { TransformOptions } from './files.js';

/** A source map as Rollup and Vite take it. */
export interface RawSourceMap {
  version: number;
  file?: string;
  sources: string[];
  sourcesContent?: string[];
  names: string[];
  mappings: string;
}

/** The subset of the Rollup/Vite plugin interface used here. */
export interface RollupLikePlugin {
  name: string;
  enforce?: 'pre' | 'post';
  resolveId?(source: string, importer: string | undefined): string | null;
  transform(code: string, id: string): { code: string; map: RawSourceMap | null } | null;
}

/** The subset of the esbuild plugin interface used here. */
export interface EsbuildLikePlugin {
  name: string;
  setup(build: {
    onLoad(options: { filter: RegExp; namespace?: string }, callback: (args: { path: string }) => { contents: string; loader: 'js'; resolveDir: string } | undefined): void;
  }): void;
}

const cleanId = (id: string): string => id.replace(/[?#].*$/, '');

function rollupLike(name: string, options: TransformOptions, framework: 'vite' | 'rollup'): RollupLikePlugin {
  const include = fileFilter(options);
  return {
    name,
    // Vite: before its own TypeScript transform.
    ...(framework === 'vite' ? { enforce: 'pre' as const } : {}),
    // Rollup has no TypeScript resolution of its own: `./b.js` may be `./b.ts`.
    ...(framework === 'rollup'
      ? {
        resolveId(source: string, importer: string | undefined) {
          if (!importer || importer.startsWith('\0')) return null;
          const alt = tsAlternative(source, pathToFileURL(cleanId(importer)).href);
          return alt === undefined ? null : new URL(alt).pathname;
        },
      }
      : {}),
    transform(code: string, id: string) {
      if (id.startsWith('\0')) return null;
      const path = cleanId(id);
      if (!CODE_FILE.test(path)) return null;
      const isTS = TS_FILE.test(path);
      const rewriteIt = include(path);
      if (!rewriteIt) {
        // Rollup alone cannot read TypeScript: strip it (fluxion's own sources included).
        if (framework === 'rollup' && isTS) {
          const r = stripTypes(code, path);
          return { code: r.code, map: r.map as unknown as RawSourceMap };
        }
        return null;
      }
      const r = transformFile(code, path, { sourceType: 'module', rewriteIt, isTypeScript: isTS, runtime: RUNTIME_FILE });
      return { code: r.code.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'), map: r.map as unknown as RawSourceMap | null };
    },
  };
}

/** The plugin for Vite (runs before Vite's TypeScript transform). */
export function vite(options: TransformOptions = {}): RollupLikePlugin {
  return rollupLike('fluxion:operators', options, 'vite');
}

/** The plugin for Rollup (strips TypeScript itself: no other plugin needed). */
export function rollup(options: TransformOptions = {}): RollupLikePlugin {
  return rollupLike('fluxion:operators', options, 'rollup');
}

/** The plugin for esbuild (`build({ plugins: [fluxion.esbuild()] })`). */
export function esbuild(options: TransformOptions = {}): EsbuildLikePlugin {
  const include = fileFilter(options);
  return {
    name: 'fluxion:operators',
    setup(build) {
      build.onLoad({ filter: /\.(?:[cm]?[jt]s|[jt]sx)$/ }, (args) => {
        if (!include(args.path)) return undefined;
        const code = readFileSync(args.path, 'utf8');
        const r = transformFile(code, args.path, { sourceType: 'module', rewriteIt: true, isTypeScript: TS_FILE.test(args.path) || args.path.endsWith('.jsx'), runtime: RUNTIME_FILE });
        return { contents: r.code, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** `fluxion.vite()`, `fluxion.rollup()`, `fluxion.esbuild()`. */
const fluxion = { vite, rollup, esbuild };
export default fluxion;
