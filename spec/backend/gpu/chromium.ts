/**
 * The GPU parity suite in headless Chromium (Debian's `chromium`, driven by playwright-core),
 * where gpu.js runs on WebGL2 over SwiftShader. parity.spec.ts is bundled with esbuild
 * into a page (uvu runs in the browser, printing through console.log), after gpu.js's
 * browser build, which sets the global `GPU` that src/backend/gpu/device.ts looks for.
 * Exits non-zero when a test fails, when the page errors, or when no WebGL device starts
 * (the page runs with FLUXION_GPU_REQUIRED=1).
 *
 * Not a `.spec.ts` file, so neither `npm test` nor the Node GPU legs run it:
 * `node --import tsx spec/backend/gpu/chromium.ts` (scripts/gpu-chromium.sh). Where Chromium
 * is missing it says so and exits 0, except with CI=true, where it fails.
 *
 * Flags: current Chromium enables SwiftShader's WebGL only on request
 * (`--use-angle=swiftshader`, `--enable-unsafe-swiftshader`); without them WebGL has no
 * context in headless mode (`FLUXION_CHROMIUM_FLAGS=none` shows it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.FLUXION_CHROMIUM || '/usr/bin/chromium';
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const here = dirname(fileURLToPath(import.meta.url));
const GPU_FLAGS = process.env.FLUXION_CHROMIUM_FLAGS === 'none' ? [] : ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

async function main(): Promise<number> {
  if (!existsSync(CHROMIUM)) {
    const msg = `gpu-chromium: ${CHROMIUM} is missing, so the Chromium GPU parity leg did NOT run (install it: apt-get install -y chromium)`;
    console.log(msg);
    return inCI ? 1 : 0;
  }
  const t0 = performance.now();
  const built = await esbuild.build({
    entryPoints: [join(here, 'parity.spec.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    write: false, logLevel: 'error',
    // the Node-only WebGPU installer is imported dynamically, and only for FLUXION_GPU_MODE=webgpu
    external: ['webgpu'],
    define: { 'process.env.FLUXION_GPU_REQUIRED': '"1"', 'process.env.FLUXION_GPU_MODE': 'undefined' },
  });
  const bundle = built.outputFiles[0].text;
  const gpuJs = readFileSync(createRequire(import.meta.url).resolve('gpu.js/dist/gpu-browser.min.js'), 'utf8');
  console.log(`gpu-chromium: bundled parity.spec.ts (${(bundle.length / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', ...GPU_FLAGS, '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const lines: string[] = [];
    const errors: string[] = [];
    let done: (v: void) => void = () => {};
    const finished = new Promise<void>((r) => { done = r; });
    page.on('console', (m) => {
      // plain-text logs (.ci/run): uvu's colours are on in a page, where it cannot see NO_COLOR
      const text = m.text().replace(/\x1b\[[0-9;]*m/g, '');
      lines.push(text);
      if (!/^• $|^✘ $/.test(text)) process.stdout.write(`  page: ${text}\n`);
      if (/Duration:/.test(text) || /SKIPPED/.test(text)) done();
    });
    page.on('pageerror', (e) => { errors.push(String(e)); done(); });
    await page.setContent('<!doctype html><html><body></body></html>');
    const gl = await page.evaluate(() => {
      const c = document.createElement('canvas').getContext('webgl2');
      if (c === null) return null;
      const info = c.getExtension('WEBGL_debug_renderer_info');
      return info ? String(c.getParameter(info.UNMASKED_RENDERER_WEBGL)) : String(c.getParameter(c.RENDERER));
    });
    console.log(`gpu-chromium: ${await browser.version()}, flags ${GPU_FLAGS.join(' ') || '(none)'}; WebGL2 renderer: ${gl ?? 'none (no WebGL2 context)'}`);
    await page.addScriptTag({ content: gpuJs });
    const t1 = performance.now();
    await page.addScriptTag({ type: 'module', content: bundle });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), 480_000); });
    if ((await Promise.race([finished, timeout])) === 'timeout') errors.push('the suite did not finish within 8 minutes');
    clearTimeout(timer);
    const out = lines.join('');
    const total = Number(/Total:\s*(\d+)/.exec(out)?.[1] ?? NaN), passed = Number(/Passed:\s*(\d+)/.exec(out)?.[1] ?? NaN);
    console.log(`gpu-chromium: ${passed}/${total} passed in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    if (errors.length > 0) console.log(`gpu-chromium: page errors:\n${errors.join('\n')}`);
    const ok = errors.length === 0 && Number.isFinite(total) && total > 0 && passed === total && !/SKIPPED/.test(out);
    return ok ? 0 : 1;
  } finally {
    await browser.close();
  }
}

process.exitCode = await main();
