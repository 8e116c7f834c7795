/**
 * `spec/transform/browser.spec.ts` on a machine without Chromium, run in a child process with
 * `FLUXION_CHROMIUM` pointing at a binary that does not exist: outside CI it says plainly that
 * it did not run, why, and the install command, and passes (counted as skipped); with
 * `CI=true` it fails, so CI cannot lose the browser check silently.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { REPO, node } from './helpers.js';

const MISSING = join(REPO, 'spec', 'transform', 'no-such-dir', 'chromium');

function runBrowserSpec(ci: string): ReturnType<typeof node> {
  return node(['--import', 'tsx', join(REPO, 'node_modules', 'uvu', 'bin.js'), 'spec/transform', '^browser\\.spec\\.ts$'], REPO, {
    FLUXION_CHROMIUM: MISSING, CI: ci,
  });
}

test('without Chromium, outside CI: prints that it did not run, why and how to install, and passes', () => {
  const r = runBrowserSpec('');
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, `browser.spec.ts DID NOT RUN: ${MISSING} is missing`);
  assert.match(r.stdout, 'apt-get install -y chromium');
  assert.match(r.stdout, /Skipped:\s+1/);
  assert.match(r.stdout, /Passed:\s+0/);
});

test('without Chromium, with CI=true: fails, saying that CI must run it', () => {
  const r = runBrowserSpec('true');
  assert.is.not(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, `${MISSING} is missing and CI=true, so the browser spec could not run`);
  assert.match(r.stdout, 'apt-get install -y chromium');
  assert.not.match(r.stdout, 'DID NOT RUN');
});

test.run();
