/**
 * The browser: a bundle made with `fluxion/plugin` (esbuild) runs in headless Chromium
 * (Debian's `chromium` package, driven by playwright-core) and computes gradients on the page
 * with operators written as plain JavaScript arithmetic.
 *
 * Needs `/usr/bin/chromium` (CI installs it: `apt-get install -y chromium`). Where it is
 * missing, the spec prints that it did not run, why and how to install Chromium, and counts as
 * skipped, so that `npm test` passes on a fresh machine; with `CI=true` it fails instead, so CI
 * cannot lose it silently. `FLUXION_CHROMIUM=/path/to/chromium` runs another binary (and
 * `spec/transform/browser-missing.spec.ts` points it at a missing one to check both paths).
 * The skip-or-fail logic and the launch are shared with the other browser specs in
 * `spec/_helpers/browser.ts`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import fluxion from '../../src/transform/plugin.js';
import { browserTest, launchChromium } from '../_helpers/browser.js';
import { program, project } from './helpers.js';

const NAME = 'a gradient computed on a page in headless Chromium';

browserTest(test, 'browser.spec.ts', NAME, async () => {
  const dir = project({ 'grad.ts': program('grad.ts'), 'page.ts': program('page.ts') });
  await esbuild.build({
    entryPoints: [join(dir, 'page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    outfile: join(dir, 'page.js'), logLevel: 'error', plugins: [fluxion.esbuild()],
  });
  const bundle = readFileSync(join(dir, 'page.js'), 'utf8');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setContent('<!doctype html><html><body><p id="out">…</p></body></html>');
    await page.addScriptTag({ type: 'module', content: bundle });
    await page.waitForFunction(() => (globalThis as Record<string, unknown>).result !== undefined || document.title === 'error', undefined, { timeout: 60_000 });
    assert.equal(errors, []);
    const r = await page.evaluate(() => (globalThis as Record<string, unknown>).result) as Record<string, unknown>;
    const ua = await page.evaluate(() => navigator.userAgent);
    assert.match(ua, /HeadlessChrome|Chromium|Chrome/);
    // d/dx (3x² + 2x + 1) at 1 is 8, the second derivative 6; relu'(2) = 1, relu'(-2) = 0;
    // (sin·exp)'(0.5) = (cos 0.5 + sin 0.5)·e^0.5.
    assert.equal(r.df, [8]);
    assert.equal(r.d2f, [6]);
    assert.equal(r.relu, [[1], [0]]);
    assert.ok(Math.abs((r.h as number[])[0] - (Math.cos(0.5) + Math.sin(0.5)) * Math.exp(0.5)) < 1e-14);
    // The linear model: one gradient step with W -= 0.1 * g, checked against the closed form.
    const lin = r.linear as { W0: number[][]; b0: number[]; x: number[]; y: number[]; W1: number[][]; gb: number[] };
    const pred = lin.W0.map((row, i) => row.reduce((s, w, j) => s + w * lin.x[j], 0) + lin.b0[i]);
    const gb = pred.map((p, i) => 2 * (p - lin.y[i]));
    lin.gb.forEach((g, i) => assert.ok(Math.abs(g - gb[i]) < 1e-12, `dL/db[${i}]`));
    lin.W1.forEach((row, i) => row.forEach((w, j) => assert.ok(Math.abs(w - (lin.W0[i][j] - 0.1 * gb[i] * lin.x[j])) < 1e-12, `W[${i}][${j}]`)));
    assert.is(await page.textContent('#out'), 'df = 8');
  } finally {
    await browser.close();
  }
});

test.run();
