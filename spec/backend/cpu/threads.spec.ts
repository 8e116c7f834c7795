/**
 * The worker pool's sleep/wake protocol (src/backend/cpu/threads.ts): a worker polls for a
 * while after its last job, then sleeps in `Atomics.wait` with its SLEEPING word set; the
 * caller notifies only when some worker sleeps. Checked: an idle worker is reported asleep,
 * a batch posted then still reaches it (its reserved job is run by it, so a lost wake-up would
 * not go unnoticed); `wake()` rouses a sleeping worker, which then polls. (Whether a worker
 * still polls right after a batch depends on how long the caller's own share took.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gemm, setGemmVariant } from '../../../src/backend/cpu/gemm.js';
import { runtime } from '../../../src/backend/cpu/runtime.js';
import { lcgFloat32 } from '../../_helpers/reference.js';

const pool = runtime()?.pool() ?? null;
const ready = pool ? pool.waitReady() : 0;
const note = (): void => console.log('  (no worker pool in this runtime: the sleep/wake protocol is not exercised here)');

/** Busy-wait up to `ms` for `cond`; whether it came true. */
function within(ms: number, cond: () => boolean): boolean {
  const end = performance.now() + ms;
  while (performance.now() < end) if (cond()) return true;
  return cond();
}

/** A 64×64×64 product forced onto the pool (one job per worker reserved for the workers), checked against the JavaScript loops. */
function threadedProduct(): void {
  const n = 64, a = lcgFloat32(n * n, 1), b = lcgFloat32(n * n, 2);
  const got = new Float32Array(n * n), want = new Float32Array(n * n);
  setGemmVariant('js');
  try { gemm(n, n, n, a, 0, n, 1, b, 0, n, 1, want, 0, n); } finally { setGemmVariant('auto'); }
  setGemmVariant('threaded');
  try { gemm(n, n, n, a, 0, n, 1, b, 0, n, 1, got, 0, n); } finally { setGemmVariant('auto'); }
  for (let i = 0; i < n * n; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)), `C[${i}] = ${got[i]}, want ${want[i]}`);
}

test('thread pool: an idle worker sleeps, and a batch posted then still reaches it', () => {
  if (!pool || ready === 0) return note();
  assert.ok(within(500, () => pool.pollingCount() === 0), 'a worker idle for longer than its polling time is asleep');
  const before = pool.jobCounts().reduce((s, c) => s + c, 0);
  threadedProduct();
  assert.ok(pool.jobCounts().reduce((s, c) => s + c, 0) > before, 'the sleeping worker was woken and ran its reserved job');
});

test('thread pool: wake() rouses sleeping workers, which then poll', () => {
  if (!pool || ready === 0) return note();
  assert.ok(within(500, () => pool.pollingCount() === 0), 'idle workers fall asleep');
  // a woken worker polls for ~2 ms; on a busy box this thread may be descheduled through that
  // window, so a few tries
  let seen = false;
  for (let tries = 0; tries < 20 && !seen; tries++) {
    pool.wake();
    seen = within(100, () => pool.pollingCount() === ready);
  }
  assert.ok(seen, 'woken workers poll again');
});

test.run();
