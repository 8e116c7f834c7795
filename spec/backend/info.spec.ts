/**
 * `getBackend()` answers what actually runs, and `backendInfo()` why: after
 * `setBackend('gpu')` on a machine where no device starts, both say `'cpu'` and give the
 * reason; with a device backend that can run (gpu.js forced into a mode), the choice stands.
 * Also in a child process with the real gpu.js on this machine, whose answer is checked
 * against what gpu.js itself reports.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { backendInfo, backendReady, getBackend, matmul, setBackend, tensor } from '../../src/index.js';
import { setDeviceBackend, type Backend } from '../../src/backend/index.js';
import { gpuBackend } from '../../src/backend/gpu/index.js';
import { node, project } from '../transform/helpers.js';

function quietly<T>(body: () => T): { value: T; warnings: string[] } {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (...a: unknown[]) => { warnings.push(a.join(' ')); };
  try {
    return { value: body(), warnings };
  } finally {
    console.warn = warn;
  }
}

function restore(): void {
  setBackend('cpu');
  setDeviceBackend(gpuBackend());
}

test('no device: getBackend() is cpu after setBackend(gpu/auto), and backendInfo() says why', () => {
  const dead: Backend = { name: 'gpu', available: () => false, unavailableReason: () => 'no WebGL/WebGPU context (test)', kernels: {} };
  setDeviceBackend(dead);
  try {
    for (const name of ['gpu', 'auto'] as const) {
      const { warnings } = quietly(() => setBackend(name));
      assert.is(getBackend(), 'cpu', name);
      assert.equal(backendInfo(), { requested: name, active: 'cpu', device: undefined, reason: 'no WebGL/WebGPU context (test)' });
      if (name === 'gpu') assert.match(warnings[0], 'no WebGL/WebGPU context (test)');
    }
    assert.equal(matmul([[1, 2]], [[3], [4]]).toArray(), [[1 * 3 + 2 * 4]]);
    setDeviceBackend(undefined);
    quietly(() => setBackend('gpu'));
    assert.equal(backendInfo(), { requested: 'gpu', active: 'cpu', device: undefined, reason: 'no device backend is installed' });
  } finally {
    restore();
  }
  assert.equal(backendInfo(), { requested: 'cpu', active: 'cpu', device: undefined, reason: undefined });
  assert.is(getBackend(), 'cpu');
});

test('a device backend that runs: the choice stands and the device mode is named', () => {
  setDeviceBackend(gpuBackend({ mode: 'cpu' })); // gpu.js's CPU mode, forced: counts as available
  try {
    const { warnings } = quietly(() => setBackend('gpu'));
    assert.equal(warnings, []);
    assert.is(getBackend(), 'gpu');
    assert.equal(backendInfo(), { requested: 'gpu', active: 'gpu', device: 'cpu', reason: undefined });
    setBackend('auto');
    assert.is(getBackend(), 'auto');
    assert.equal(matmul(tensor([[1, 2]], { dtype: 'float32' }), tensor([[3], [4]], { dtype: 'float32' })).toArray(), [[11]]);
  } finally {
    restore();
  }
});

test("this machine's real gpu.js, in a child process: getBackend() agrees with the mode gpu.js picks", () => {
  const dir = project({
    'main.ts': `import { setBackend, getBackend, backendInfo } from 'fluxion';
const warns: string[] = [];
console.warn = (...a: unknown[]) => { warns.push(a.join(' ')); };
setBackend('gpu');
console.log(JSON.stringify({ backend: getBackend(), info: backendInfo(), warns }));
` });
  const r = node(['--import', 'tsx', 'main.ts'], dir);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { backend: string; info: { requested: string; active: string; device?: string; reason?: string }; warns: string[] };
  const { GPU } = createRequire(import.meta.url)('gpu.js') as { GPU: new () => { mode: string } };
  const mode = new GPU().mode;
  const device = ['gpu', 'webgl', 'webgl2', 'headlessgl', 'webgpu'].includes(mode);
  assert.is(out.info.requested, 'gpu');
  if (device) {
    assert.is(out.backend, 'gpu');
    assert.is(out.info.device, mode);
    assert.equal(out.warns, []);
  } else {
    assert.is(out.backend, 'cpu');
    assert.is(out.info.active, 'cpu');
    assert.match(out.info.reason ?? '', `gpu.js found no WebGL/WebGPU context (it would run in its '${mode}' mode`);
    assert.is(out.warns.length, 1);
    assert.match(out.warns[0], out.info.reason!);
  }
});


test("setBackend's device option: checked, and 'webgpu' without navigator.gpu falls back to the CPU saying why", async () => {
  try {
    assert.throws(() => setBackend('gpu', { device: 'cuda' as never }), (e: Error) => e instanceof TypeError && /unknown device "cuda"; expected one of 'webgpu'/.test(e.message));
    assert.throws(() => setBackend('cpu', { device: 'webgpu' }), (e: Error) => e instanceof TypeError && /needs 'gpu' or 'auto'/.test(e.message));
    assert.is(backendInfo().requested, 'cpu', 'a refused call changes nothing');
    if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== undefined) {
      console.log("  (navigator.gpu exists in this process: the fallback case is not what runs here)");
    } else {
      const { warnings } = quietly(() => setBackend('gpu', { device: 'webgpu' }));
      assert.match(warnings[0], 'navigator.gpu');
      const info = await backendReady();
      assert.is(info.requested, 'gpu');
      assert.is(info.active, 'cpu');
      assert.match(info.reason ?? '', 'navigator.gpu');
      assert.equal(matmul([[1, 2]], [[3], [4]]).toArray(), [[11]]);
    }
  } finally {
    restore();
  }
  assert.equal(await backendReady(), { requested: 'cpu', active: 'cpu', device: undefined, reason: undefined });
});

test.run();
