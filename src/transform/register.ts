/**
 * `node --import fluxion/register app.ts`: run TypeScript or JavaScript with operators on
 * traced values, tensors and arrays rewritten (see `rewrite.ts`). ESM and CommonJS, alone
 * or after `--import tsx`.
 *
 * Options come from the nearest package.json (`"fluxion": { "include": [...], "exclude":
 * [...], "packages": [...] }`) or the `FLUXION_TRANSFORM` environment variable (JSON).
 */
import Module, { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CODE_FILE, RUNTIME_FILE, TS_FILE, fileFilter, loadOptions, packageIsModule, transformFile } from './files.js';

// Stack traces of rewritten code point at the user's TypeScript.
process.setSourceMapsEnabled(true);

const options = loadOptions();
const include = fileFilter(options);
const state = globalThis as { __fluxionRegistered?: boolean };

interface SyncHooks {
  registerHooks(hooks: {
    resolve?: (s: string, c: { parentURL?: string }, next: (s: string, c?: object) => { url: string; format?: string | null }) => { url: string; format?: string | null; shortCircuit?: boolean };
    load?: (u: string, c: { format?: string | null }, next: (u: string, c?: object) => { format: string; source?: unknown }) => { format: string; source?: unknown; shortCircuit?: boolean };
  }): unknown;
}

/**
 * The runtime is loaded now, before any user module: CommonJS modules reach it through a
 * global (the library's ESM graph uses top-level await, so `require()` cannot load it), and
 * ES modules import the same instance by URL.
 */
const RUNTIME_KEY = Symbol.for('fluxion.transform.runtime');
(globalThis as Record<symbol, unknown>)[RUNTIME_KEY] ??= await import(pathToFileURL(RUNTIME_FILE).href);

if (!state.__fluxionRegistered) {
  state.__fluxionRegistered = true;
  const mod = Module as unknown as Partial<SyncHooks> & { register?: (url: string, parent: string, opts: object) => void };
  if (typeof mod.registerHooks === 'function') registerSync(mod as SyncHooks);
  else {
    const hooks = new URL(import.meta.url.endsWith('.ts') ? './hooks.ts' : './hooks.js', import.meta.url).href;
    mod.register!(hooks, import.meta.url, { data: { options } });
    patchCommonJS();
  }
}

/** Node ≥ 22.15: one set of synchronous hooks covers `import` and `require`. */
function registerSync(mod: SyncHooks): void {
  const runtimeURL = pathToFileURL(RUNTIME_FILE).href;
  mod.registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (e) {
        const base = context.parentURL;
        const alt = base?.startsWith('file:') ? tsAlt(specifier, base) : undefined;
        if (alt === undefined) throw e;
        return { url: alt, shortCircuit: true };
      }
    },
    load(url, context, next) {
      if (!url.startsWith('file:')) return next(url, context);
      const path = fileURLToPath(url);
      if (!CODE_FILE.test(path)) return next(url, context);
      const isTS = TS_FILE.test(path) || path.endsWith('.jsx');
      const rewriteIt = include(path);
      if (!isTS && !rewriteIt) return next(url, context);
      let format: string | null | undefined;
      let source: string;
      let raw = true;
      try {
        const r = next(url, context);
        format = r.format;
        source = typeof r.source === 'string' ? r.source : r.source == null ? readFileSync(path, 'utf8') : Buffer.from(r.source as Uint8Array).toString('utf8');
        raw = isTS && (r.source == null || format === 'module-typescript' || format === 'commonjs-typescript' || format == null);
      } catch (e) {
        if (!isTS) throw e;
        source = readFileSync(path, 'utf8');
      }
      if (format == null || format.endsWith('-typescript')) {
        format = /\.m[jt]sx?$/.test(path) ? 'module' : /\.c[jt]sx?$/.test(path) ? 'commonjs' : packageIsModule(path) ? 'module' : 'commonjs';
      }
      if (format !== 'module' && format !== 'commonjs') return next(url, context);
      const sourceType = format === 'module' ? 'module' : 'script';
      const out = transformFile(source, path, { sourceType, rewriteIt, isTypeScript: raw, runtime: sourceType === 'module' ? runtimeURL : RUNTIME_FILE });
      return { format, source: out.code, shortCircuit: true };
    },
  });
}

function tsAlt(specifier: string, parentURL: string): string | undefined {
  // Same rules as hooks.ts (kept here to avoid loading the async hooks module on the main thread).
  if (!/^(\.{1,2}\/|\/|file:)/.test(specifier)) return undefined;
  const path = fileURLToPath(new URL(specifier, parentURL));
  const tries: string[] = [];
  const m = /\.([cm]?)js(x?)$/.exec(path);
  if (m) tries.push(path.slice(0, -m[0].length) + `.${m[1]}ts${m[2]}`);
  if (!CODE_FILE.test(path)) tries.push(`${path}.ts`, `${path}.tsx`, `${path}/index.ts`);
  const req = createRequire(import.meta.url);
  for (const t of tries) {
    try {
      req.resolve(t);
      return pathToFileURL(t).href;
    } catch { /* next */ }
  }
  return undefined;
}

/** Node 20: the CommonJS loader compiles through `Module.prototype._compile`; rewrite there. */
function patchCommonJS(): void {
  type Compile = (this: unknown, content: string, filename: string) => unknown;
  type Handler = (m: { _compile: Compile }, filename: string) => void;
  const M = Module as unknown as { prototype: { _compile: Compile }; _extensions: Record<string, Handler> };
  const compile = M.prototype._compile;
  let ready: string | undefined;
  M.prototype._compile = function (content: string, filename: string) {
    if (ready === filename) ready = undefined;
    else if (typeof content === 'string' && include(filename)) {
      content = transformFile(content, filename, { sourceType: 'script', rewriteIt: true, isTypeScript: false, runtime: RUNTIME_FILE }).code;
    }
    return compile.call(this, content, filename);
  };
  // TypeScript: strip the types here for the files we rewrite (also in front of tsx, whose
  // esbuild would fold `[1, 2] + [3, 4]` into a string); leave the others to tsx if present.
  for (const ext of ['.ts', '.cts', '.tsx']) {
    const prev = M._extensions[ext];
    M._extensions[ext] = (m, filename) => {
      const rewriteIt = include(filename);
      if (!rewriteIt && prev) return prev(m, filename);
      const out = transformFile(readFileSync(filename, 'utf8'), filename, { sourceType: 'script', rewriteIt, isTypeScript: true, runtime: RUNTIME_FILE });
      ready = filename;
      m._compile(out.code, filename);
    };
  }
}
