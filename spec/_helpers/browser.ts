/**
 * Support for the specs that run a page in headless Chromium (Debian's `chromium` package,
 * driven by playwright-core): `spec/transform/browser.spec.ts` and `spec/examples/browser.spec.ts`.
 *
 * Both need `/usr/bin/chromium` (CI installs it: `apt-get install -y chromium`). Where it is
 * missing, {@link browserTest} prints that the spec did not run, why and how to install
 * Chromium, and counts it as skipped, so that `npm test` passes on a fresh machine; with
 * `CI=true` the test fails instead, so CI cannot lose it silently. `FLUXION_CHROMIUM=/path/to/chromium`
 * runs another binary (`spec/transform/browser-missing.spec.ts` points it at a missing one to
 * check both paths).
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** The Chromium binary the browser specs drive. */
export const CHROMIUM = process.env.FLUXION_CHROMIUM || '/usr/bin/chromium';
/** How to install it, as CI does. */
export const INSTALL = 'apt-get install -y chromium';
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const missing = !existsSync(CHROMIUM);

/**
 * Register `body` as the test `name` of `suite` (a spec file's `test`): skipped with a message
 * naming `specFile` where Chromium is missing outside CI, failing where it is missing in CI.
 */
export function browserTest(suite: Test, specFile: string, name: string, body: () => Promise<void>): void {
  if (missing && !inCI) {
    suite.before(() => {
      process.stdout.write(
        `\n  ${specFile} DID NOT RUN: ${CHROMIUM} is missing, so "${name}" was skipped.\n` +
        `  To run it, install Debian's Chromium (as CI does): ${INSTALL}\n`,
      );
    });
    suite.skip(name, body);
    return;
  }
  suite(name, async () => {
    assert.ok(!missing, `${CHROMIUM} is missing and CI=true, so the browser spec could not run (CI must run it): ${INSTALL}`);
    await body();
  });
}

/** Headless Chromium with the flags CI needs (no sandbox, no GPU, no background traffic). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
