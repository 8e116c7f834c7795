/** train: history, loss forms, the NaN guarantee, callbacks, signal, schedules, progress bar. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Chain, Dense, Tensor, mse, mul, randn, seed, sqrt, sum, tensor, relu, mean,
} from '../../src/index.js';
import {
  setup, train, Descent, Adam, Momentum, earlyStopping, throttle, NonFiniteError, optimiserState, cosineAnnealing,
  type StepInfo,
} from '../../src/optimise/index.js';
import { progressLine, progressStream, clock } from '../../src/optimise/progress.js';

const values = (m: unknown): number[][] => {
  const out: number[][] = [];
  const walk = (x: unknown): void => {
    if (x instanceof Tensor) out.push(Array.from(x.data));
    else if ((typeof x === 'object' && x !== null) || typeof x === 'function') Object.values(x as object).forEach(walk);
  };
  walk(m);
  return out;
};

function regression(batches = 4, n = 8): [Tensor, Tensor][] {
  seed(11);
  const w = tensor([[1.5], [-2]], { dtype: 'float32' });
  return Array.from({ length: batches }, () => {
    const x = randn([n, 2], { dtype: 'float32' });
    return [x, x.matmul(w)];
  });
}

test('history: one loss per step, epoch means, samples and steps; the loss goes down', async () => {
  const data = regression();
  seed(2);
  const model = Dense(2, 1);
  const h = await train((m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y), model, data, setup(Descent(0.1), model), { epochs: 5, progress: false });
  assert.is(h.loss.length, 20);
  assert.is(h.epochs.length, 5);
  assert.is(h.stopped, 'completed');
  h.epochs.forEach((e, k) => {
    const own = h.loss.slice(4 * k, 4 * k + 4);
    assert.ok(Math.abs(e.loss - own.reduce((a, b) => a + b, 0) / 4) < 1e-12);
    assert.is(e.epoch, k + 1);
    assert.is(e.steps, 4);
    assert.is(e.samples, 32);
    assert.ok(e.seconds >= 0);
  });
  assert.ok(h.epochs[4].loss < h.epochs[0].loss / 4, `${h.epochs[0].loss} → ${h.epochs[4].loss}`);
  // the first loss is the untrained model's
  seed(2);
  const fresh = Dense(2, 1);
  assert.ok(Math.abs(h.loss[0] - mse(fresh(data[0][0]), data[0][1]).item()) < 1e-7);
});

test('loss(model, batch) for non-array batches; { loss, …metrics } is recorded', async () => {
  const data = regression().map(([x, y]) => ({ x, y }));
  const model = Dense(2, 1);
  const h = await train((m: typeof model, b: { x: Tensor; y: Tensor }) => {
    const l = mse(m(b.x), b.y);
    return { loss: l, half: mul(l, 0.5), label: 'ignored' };
  }, model, data, Adam(0.01), { epochs: 2, progress: false });
  assert.is(h.loss.length, 8);
  assert.ok(Math.abs(h.epochs[1].half - h.epochs[1].loss / 2) < 1e-9);
  assert.not.ok('label' in h.epochs[1]);
});

/** A model whose loss (or only gradient) becomes NaN at epoch 2, batch 2 (the 6th step). */
async function nanAt(kind: 'loss' | 'gradient'): Promise<void> {
  const data = regression(4, 4);
  const bad = kind === 'loss' ? tensor([[NaN, 1], [0, 0], [0, 0], [0, 0]], { dtype: 'float32' }) : tensor([[0, 0]], { dtype: 'float32' });
  const batches = data.map((b) => b as unknown[]);
  const model = Chain(Dense(2, 3, relu), Dense(3, 1));
  const opt = setup(Adam(0.05), model);
  // √(w²·0) is 0 with a NaN derivative (0 · ∞): a finite loss and a NaN gradient
  const loss = (m: typeof model, x: Tensor, y: Tensor): Tensor => (x === bad && kind === 'gradient'
    ? sum(sqrt(mul(mul(m.layers[0].weight, m.layers[0].weight), 0)))
    : mse(m(x), y));
  let calls = 0;
  const data2 = { length: 4, *[Symbol.iterator]() { calls++; for (let i = 0; i < 4; i++) yield calls === 2 && i === 1 ? [bad, batches[i][1]] : batches[i]; } };
  const seen: { model: number[][]; opt: unknown }[] = [];
  let error: unknown;
  try {
    await train(loss, model, data2, opt, {
      epochs: 3, progress: false,
      onStep: () => { seen.push({ model: values(model), opt: values(optimiserState(opt)) }); },
    });
  } catch (e) { error = e; }
  assert.instance(error, NonFiniteError);
  const e = error as NonFiniteError;
  assert.equal([e.quantity, e.epoch, e.step, e.batch, e.globalStep], [kind, 2, 2, 1, 6]);
  assert.is(seen.length, 5, 'five good steps');
  assert.equal(values(model), seen[4].model, 'every tensor holds its value from before the bad step');
  assert.equal(values(optimiserState(opt)), seen[4].opt, 'and so does the optimiser state');
  assert.is(e.history.loss.length, 5);
  if (kind === 'loss') {
    assert.is(e.message, 'train: the loss is NaN at epoch 2, step 2 (batch 1 of the epoch, step 6 overall); the model and the optimiser state keep their values from the last good step');
  } else {
    assert.is(e.path, 'layers.0.weight');
    assert.match(e.message, /^train: the gradient of layers\.0\.weight holds NaN at epoch 2, step 2 \(batch 1 of the epoch, step 6 overall\); the model and the optimiser state keep/);
  }
}

test('a NaN loss stops training at once; the model and state keep the last good step', () => nanAt('loss'));
test('a NaN gradient with a finite loss does too (checked before the update)', () => nanAt('gradient'));

test('callbacks: onStep info, onEpoch can add metrics, earlyStopping stops after patience epochs', async () => {
  const data = regression(3);
  const model = Dense(2, 1);
  const steps: StepInfo[] = [];
  const fake = [5, 4, 4.5, 4.2, 4.1, 3];
  const h = await train((m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y), model, data, Momentum(0.01), {
    epochs: 10, progress: false,
    onStep: (i) => { steps.push(i); },
    callbacks: [
      { onEpoch: (i) => { i.summary.valLoss = fake[i.epoch - 1]; } },
      earlyStopping({ patience: 3, monitor: 'valLoss' }),
    ],
  });
  // best 4 at epoch 2; epochs 3, 4, 5 do not improve on it → stop after epoch 5
  assert.is(h.epochs.length, 5);
  assert.is(h.stopped, 'callback');
  assert.is(h.reason, 'earlyStopping');
  assert.equal(h.epochs.map((e) => e.valLoss), [5, 4, 4.5, 4.2, 4.1]);
  assert.equal(steps.slice(0, 4).map((s) => [s.epoch, s.step, s.batch, s.globalStep, s.batches, s.samples]), [[1, 1, 0, 1, 3, 8], [1, 2, 1, 2, 3, 8], [1, 3, 2, 3, 3, 8], [2, 1, 0, 4, 3, 8]]);
  assert.equal(steps.map((s) => s.loss), h.loss);
  // minDelta: an improvement smaller than it does not count
  const es = earlyStopping({ patience: 1, minDelta: 0.5, monitor: (i) => fake[i.epoch - 1] });
  const h2 = await train((m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y), model, data, Descent(0.01), { epochs: 10, progress: false, callbacks: [es] });
  assert.is(h2.epochs.length, 3, '5 → 4 improves by 1; 4.5 does not, and patience is 1');
  assert.throws(() => earlyStopping({ patience: 0 }), /earlyStopping: patience must be a positive integer, got 0/);
  await train((m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y), model, data, Descent(0.01), { epochs: 1, progress: false, callbacks: [earlyStopping({ monitor: 'nope' })] })
    .then(() => assert.unreachable('should throw'), (e: Error) => assert.match(e.message, /earlyStopping: the monitored value 'nope' is not a number in epoch 1 \(the summary has epoch, loss, steps, samples, seconds\)/));
});

test('stop() from onStep ends after that step', async () => {
  const model = Dense(2, 1);
  const h = await train((m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y), model, regression(), Descent(0.01), {
    epochs: 3, progress: false, onStep: (i) => { if (i.globalStep === 6) i.stop('enough'); },
  });
  assert.is(h.loss.length, 6);
  assert.equal([h.stopped, h.reason, h.epochs.length], ['callback', 'enough', 2]);
});

test('signal: aborting stops cleanly between steps (also from a timer, as training yields)', async () => {
  const model = Dense(2, 1);
  const ac = new AbortController();
  const h = await train((m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y), model, regression(), Descent(0.01), {
    epochs: 3, progress: false, signal: ac.signal, onStep: (i) => { if (i.globalStep === 3) ac.abort(); },
  });
  assert.equal([h.loss.length, h.stopped], [3, 'signal']);
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 80);
  const t0 = Date.now();
  const many = regression(1);
  const endless: Iterable<unknown> & { length: number } = { length: 1e9, *[Symbol.iterator]() { for (;;) yield many[0]; } };
  const h2 = await train((m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y), model, endless, Descent(0.01), { progress: false, signal: ac2.signal });
  assert.is(h2.stopped, 'signal');
  assert.ok(Date.now() - t0 < 2000, 'stopped soon after the abort');
  assert.ok(h2.loss.length > 0);
});

test('throttle: at most one call per interval, the first always', async () => {
  const calls: number[] = [];
  const f = throttle((i: number) => { calls.push(i); }, 40);
  for (let i = 0; i < 5; i++) f(i);
  await new Promise((r) => setTimeout(r, 60));
  f(5); f(6);
  assert.equal(calls, [0, 5]);
});

test('schedule: eta set from the global step on every step', async () => {
  const model = Dense(2, 1);
  const opt = setup(Descent(1), model);
  const sched = cosineAnnealing({ max: 0.1, min: 0.01, period: 6 });
  const etas: number[] = [];
  await train((m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y), model, regression(), opt, {
    epochs: 2, progress: false, schedule: sched, onStep: () => { etas.push(opt.leaves()[0].rule.hyper.eta as number); },
  });
  assert.equal(etas, Array.from({ length: 8 }, (_, t) => sched(t)));
});

test('errors: bad arguments, a generator exhausted after the first epoch', async () => {
  const model = Dense(2, 1);
  const l = (m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y);
  const rejects = async (p: Promise<unknown>, re: RegExp) => p.then(() => assert.unreachable('should throw'), (e: Error) => { if (!re.test(e.message)) console.log(e.message); assert.match(e.message, re); });
  await rejects(train(l, model, 3 as never, Descent()), /train: the data must be iterable/);
  await rejects(train(l, model, [], Descent(), { epochs: 0 }), /train: epochs must be a positive integer, got 0/);
  await rejects(train(l, model, regression(), {} as never), /train: opt must be the state from setup/);
  const gen = (function* () { yield* regression(); })();
  await rejects(train(l, model, gen, Descent(), { epochs: 2, progress: false }), /train: the data yielded no batches in epoch 2 \(an iterator or generator can be iterated only once/);
  await rejects(train(((m: typeof model, x: Tensor) => m(x)) as never, model, regression(), Descent(), { progress: false }), /train: the loss function must return a scalar \(a number or a one-element tensor\), or \{ loss, …metrics \}; got a tensor of shape \[8, 1\]/);
});

test('progress: quiet unless a TTY outside CI and not disabled; no process (a browser) is quiet', () => {
  const tty = { stdout: { isTTY: true, write: () => true }, env: {} };
  assert.ok(progressStream(undefined, tty) !== undefined);
  assert.is(progressStream(false, tty), undefined);
  assert.is(progressStream(undefined, { ...tty, env: { CI: 'true' } }), undefined);
  assert.ok(progressStream(undefined, { ...tty, env: { CI: 'false' } }) !== undefined);
  assert.is(progressStream(undefined, { stdout: { isTTY: false, write: () => true }, env: {} }), undefined);
  assert.is(progressStream(undefined, undefined), undefined);
  assert.is(progressStream(undefined, {}), undefined);
});

test('progress line: bar, percentage, count, loss, samples/s and ETA; the final line has the time', () => {
  const line = progressLine({ epoch: 2, epochs: 3, steps: 50, total: 200, samples: 6400, loss: 0.123456, ms: 2000, done: false, width: 120 });
  assert.is(line, `Epoch 2/3  ${'█'.repeat(8)}${'░'.repeat(22)}  25%   50/200  loss 0.1235  3,200 samples/s  ETA 0:06`);
  const end = progressLine({ epoch: 3, epochs: 3, steps: 200, total: 200, samples: 25600, loss: 0.05, ms: 8123, done: true, width: 120 });
  assert.is(end, `Epoch 3/3  ${'█'.repeat(30)} 100%  200/200  loss 0.05000  3,152 samples/s  8.1s`);
  assert.ok(progressLine({ epoch: 1, epochs: 1, steps: 5, total: undefined, samples: 5, loss: 1, ms: 1, done: false, width: 120 }).startsWith('Epoch 1/1  5 steps  loss 1.000'));
  assert.ok(progressLine({ epoch: 1, epochs: 1, steps: 5, total: 10, samples: 5, loss: 1, ms: 1, done: false, width: 30 }).length <= 30);
  assert.equal([clock(7.4), clock(754), clock(3723)], ['0:07', '12:34', '1:02:03']);
});

test('train draws the bar on a TTY (and only there), and runs without a process object', async () => {
  const model = Dense(2, 1);
  const l = (m: typeof model, x: Tensor, y: Tensor) => mse(m(x), y);
  const out = process.stdout as unknown as { write: unknown; isTTY: unknown };
  const [write, isTTY, ci] = [out.write, out.isTTY, process.env.CI];
  const written: string[] = [];
  try {
    out.write = (s: string) => { written.push(s); return true; };
    out.isTTY = false;
    await train(l, model, regression(), Descent(0.01), { epochs: 2 });
    assert.equal(written, [], 'not a TTY: quiet');
    out.isTTY = true;
    delete process.env.CI;
    await train(l, model, regression(), Descent(0.01), { epochs: 2, progress: false });
    assert.equal(written, [], 'progress: false');
    await train(l, model, regression(), Descent(0.01), { epochs: 2 });
    const text = written.join('');
    assert.match(text, /\rEpoch 1\/2  █+ 100%  4\/4  loss \d+\.\d+  [\d,]+ samples\/s  \d+\.\ds\x1b\[K\n/);
    assert.match(text, /Epoch 2\/2/);
    assert.is(text.split('\n').length, 3, 'one line per epoch');
  } finally {
    out.write = write;
    out.isTTY = isTTY;
    if (ci !== undefined) process.env.CI = ci;
  }
  const g = globalThis as { process?: unknown };
  const saved = g.process;
  let h;
  try {
    g.process = undefined;
    h = await train(l, model, regression(), Descent(0.01), { epochs: 1 });
  } finally {
    g.process = saved;
  }
  assert.is(h.loss.length, 4);
});

test('mean of a batch-dependent loss over a DataLoader-like iterable with length', async () => {
  const model = Chain(Dense(2, 2, relu), Dense(2, 1));
  const data = regression(5);
  const loader = { length: data.length, [Symbol.iterator]: () => data[Symbol.iterator]() };
  const h = await train((m: typeof model, x: Tensor, y: Tensor) => mean(mul(m(x).sub(y), m(x).sub(y))), model, loader, Adam(0.01), { epochs: 2, progress: false });
  assert.is(h.loss.length, 10);
});

test.run();
