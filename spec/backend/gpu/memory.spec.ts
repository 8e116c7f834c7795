/**
 * Device memory is released by the garbage collector: over many training steps (gradient
 * and an SGD update written with `assign`, all on the device) the number of live textures
 * stays bounded instead of growing with the step count. The finalizer runs between tasks,
 * so the loop yields every 50 steps (as `train` and a browser frame loop do); a synchronous
 * loop keeps its garbage textures until it yields. `FLUXION_GPU_STEPS` sets the count
 * (default 10,000). Under `node --expose-gc` it also asks for a GC at each yield.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as F from '../../../src/index.js';
import { gpuMemoryStats } from '../../../src/backend/gpu/index.js';
import { deviceUnderTest, onGpu, restoreDevice } from './env.js';

const device = await deviceUnderTest('gpu memory');
const STEPS = Number(process.env.FLUXION_GPU_STEPS ?? 10_000);

if (device !== undefined) {
  test(`live textures stay flat over ${STEPS} training steps`, async () => {
    await onGpu(device, async () => {
      F.seed(3);
      const model = F.gpu(F.Chain(F.Dense(4, 8, F.tanh), F.Dense(8, 1)));
      const x = F.gpu(F.tensor(Array.from({ length: 16 * 4 }, (_, i) => Math.sin(i)), { shape: [16, 4], dtype: 'float32' }));
      const y = F.gpu(F.tensor(Array.from({ length: 16 }, (_, i) => Math.cos(i)), { shape: [16, 1], dtype: 'float32' }));
      const params = F.trainables(model) as F.Tensor[];
      const live: number[] = [];
      const t0 = performance.now();
      for (let step = 1; step <= STEPS; step++) {
        const [g] = F.gradient((m: typeof model) => F.mse(m(x), y), model);
        const grads = F.trainables(g) as F.Tensor[];
        params.forEach((p, k) => p.assign(F.sub(p, F.mul(grads[k], 0.05))));
        // the finalizer runs between tasks: a loop that yields now and then (as a browser frame loop does) frees its garbage
        // under `node --expose-gc` (the WebGPU leg, whose buffer handles are too small for V8 to collect
        // often: a major GC came every ~1,600 steps) a GC is asked for here, so a short run sees the finalizer work
        if (step % 50 === 0) {
          (globalThis as { gc?: () => void }).gc?.();
          await new Promise((r) => setImmediate(r));
        }
        if (step % Math.max(1, Math.floor(STEPS / 10)) === 0) live.push(gpuMemoryStats().liveTextures);
      }
      const ms = (performance.now() - t0) / STEPS;
      const loss = (await F.mse(model(x), y).dataAsync())[0];
      console.log(`gpu memory: live textures every ${STEPS / 10} steps: ${live.join(' ')}; ${ms.toFixed(2)} ms/step; final loss ${loss.toFixed(4)}`);
      // V8 does not see texture memory, so textures are freed in the sawtooth of its major GCs:
      // the count must fall back at least once, and the later half must not outgrow the earlier
      const half = live.length / 2;
      assert.ok(live.some((v, k) => k > 0 && v < live[k - 1]), `live textures never fall: ${live.join(' ')}`);
      assert.ok(Math.max(...live.slice(half)) <= 1.5 * Math.max(...live.slice(0, half)) + 1000, `live textures grow: ${live.join(' ')}`);
      assert.ok(Number.isFinite(loss));
    });
  });
} else {
  test('gpu memory: no device here (see the line above)', () => {});
}

test.after(restoreDevice);
test.run();
