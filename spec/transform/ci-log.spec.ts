/**
 * `.ci/run` writes plain-text logs: no ANSI colour codes from uvu or from the processes the
 * specs start, and no Node warning that `FORCE_COLOR` overrides `NO_COLOR`. Checked by running
 * uvu the way `.ci/run` runs it (its environment settings and the arguments it passes to
 * `npm test`, read from the script) on a scratch spec that prints from itself and from a child
 * process; and, as a control, that the same run without those settings does carry colours.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from './helpers.js';

const CI_RUN = readFileSync(join(REPO, '.ci', 'run'), 'utf8');
const ESC = '\u001b[';

/** The arguments `.ci/run` passes after `npm test --`. */
function ciTestArgs(): string[] {
  const line = CI_RUN.split('\n').find((l) => /^(\w+=\S+\s+)*npm test\b/.test(l));
  assert.ok(line !== undefined, 'no `npm test` line in .ci/run');
  const m = /npm test -- (.*?)\s*(<\s*\/dev\/null)?\s*$/.exec(line);
  return m ? m[1].split(/\s+/) : [];
}

/** A scratch spec directory: one spec printing an object itself and through a child `node`. */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fluxion-ci-log-'));
  const uvu = pathToFileURL(join(REPO, 'node_modules', 'uvu', 'dist', 'index.mjs')).href;
  writeFileSync(join(dir, 'print.spec.mjs'), `
import { test } from ${JSON.stringify(uvu)};
import { spawnSync } from 'node:child_process';
test('prints', () => {
  console.log({ here: 1, s: 'text' });
  const r = spawnSync(process.execPath, ['-e', "console.log({ child: 2, s: 'text' })"], { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
});
test.run();
`);
  return dir;
}

function runUvu(dir: string, env: NodeJS.ProcessEnv, args: string[]): string {
  const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'uvu', 'bin.js'), dir, '\\.spec\\.mjs$', ...args], { encoding: 'utf8', env });
  assert.is(r.status, 0, r.stdout + r.stderr);
  return r.stdout + r.stderr;
}

test('.ci/run sets NO_COLOR, unsets FORCE_COLOR and passes --no-color to uvu', () => {
  assert.match(CI_RUN, /^export NO_COLOR=1$/m);
  assert.match(CI_RUN, /^unset FORCE_COLOR$/m);
  assert.ok(ciTestArgs().includes('--no-color'), `npm test arguments in .ci/run: ${ciTestArgs().join(' ')}`);
});

test('uvu run as .ci/run runs it prints plain text, also from child processes; without those settings it does not', () => {
  const dir = scratch();
  try {
    // As .ci/run leaves the environment, starting from one where FORCE_COLOR is set.
    const ciEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '1' };
    if (/^unset FORCE_COLOR$/m.test(CI_RUN)) delete ciEnv.FORCE_COLOR;
    const plain = runUvu(dir, ciEnv, ciTestArgs());
    assert.match(plain, "child: 2, s: 'text'");
    assert.match(plain, "here: 1, s: 'text'");
    assert.ok(!plain.includes(ESC), `ANSI codes in: ${JSON.stringify(plain)}`);
    assert.not.match(plain, /NO_COLOR' env is ignored/);
    // Control: NO_COLOR alone (what .ci/run did before) still lets colours into the child's output.
    const before: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete before.FORCE_COLOR;
    const coloured = runUvu(dir, before, []);
    assert.ok(coloured.includes(ESC), 'the control run should carry colour codes');
    assert.match(coloured, /NO_COLOR' env is ignored/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
