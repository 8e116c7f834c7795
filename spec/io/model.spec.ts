/** saveModel / loadModel (src/io/model.ts): safetensors files keyed by the model's paths. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Chain, Dense, ShapeError, Tensor, layer, nonTrainable, relu, seed, tensor, zeros, mul } from '../../src/index.js';
import { loadModel, modelBytes, saveModel } from '../../src/io/model.js';
import { Adam, setup, update, gradient, mse, Descent } from '../../src/index.js';
import { SafetensorsError } from '../../src/io/safetensors.js';

const Norm = layer(class Norm {
  static [nonTrainable]: readonly string[] = ['running'];
  scale = tensor([1, 2, 3], { dtype: 'float32' });
  running = tensor([0.5, 0.5, 0.5]);
  forward(x: Tensor) { return mul(x, this.scale); }
});
const build = () => Chain(Dense(4, 3, relu), Norm());

/** The header of a safetensors file, parsed independently of the library. */
function header(bytes: Uint8Array): Record<string, any> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

test('keys are the model paths; parameters and state, each in its own dtype; metadata kept', () => {
  seed(1);
  const m = build();
  const bytes = saveModel(m, undefined, { metadata: { epoch: '3' } });
  const h = header(bytes);
  assert.equal(Object.keys(h).filter((k) => k !== '__metadata__').sort(), ['layers.0.bias', 'layers.0.weight', 'layers.1.running', 'layers.1.scale']);
  assert.equal(h['layers.0.weight'].shape, [3, 4]);
  assert.is(h['layers.0.weight'].dtype, 'F32');
  assert.is(h['layers.1.running'].dtype, 'F64');
  assert.is(h.__metadata__.epoch, '3');
  // the data of one entry, read by hand
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const [b, e] = h['layers.0.weight'].data_offsets;
  const w = new Float32Array(bytes.slice(8 + n + b, 8 + n + e).buffer);
  assert.equal(Array.from(w), Array.from(m.layers[0].weight.data));
});

test('a round trip restores every tensor of a fresh model of the same structure', () => {
  seed(2);
  const m = build();
  m.layers[1].running.assign([1, 2, 3]);
  const bytes = modelBytes(m);
  seed(3);
  const fresh = build();
  const { metadata } = loadModel(fresh, bytes);
  assert.equal(metadata, {});
  assert.equal(fresh.layers[0].weight.toArray(), m.layers[0].weight.toArray());
  assert.equal(fresh.layers[1].running.toArray(), [1, 2, 3]);
});

test('files: written atomically (no temporary left), read back by path', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fluxion-save-'));
  try {
    seed(4);
    const m = build();
    const file = path.join(dir, 'model.safetensors');
    await saveModel(m, file);
    assert.equal(readdirSync(dir), ['model.safetensors']);
    assert.equal(new Uint8Array(readFileSync(file)), modelBytes(m));
    const fresh = build();
    await loadModel(fresh, file);
    assert.equal(fresh.layers[0].bias.toArray(), m.layers[0].bias.toArray());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mismatches are named by path, and the model is left as it was', () => {
  seed(5);
  const other = Chain(Dense(4, 2, relu), Norm());
  const bytes = modelBytes(other);
  const m = build();
  const before = m.layers[0].weight.toArray();
  assert.throws(() => loadModel(m, bytes), (e: Error) => e instanceof ShapeError && e.message === 'loadModel: layers.0.weight has shape [3, 4] in the model, [2, 4] in the file');
  assert.equal(m.layers[0].weight.toArray(), before);
  const bigger = Chain(Dense(4, 3, relu), Norm(), Dense(3, 1));
  assert.throws(() => loadModel(m, modelBytes(bigger)), (e: Error) => e instanceof RangeError && e.message === 'loadModel: the file has entries the model lacks: layers.2.bias, layers.2.weight');
  assert.throws(() => loadModel(bigger, modelBytes(m)), (e: Error) => e instanceof RangeError && e.message === 'loadModel: the file has no entry for layers.2.weight');
  const truncated = modelBytes(m).slice(0, 40);
  assert.throws(() => loadModel(m, truncated), (e: Error) => e instanceof SafetensorsError);
  assert.equal(m.layers[0].weight.toArray(), before);
});

test('extra tensors travel beside the model; reserved metadata keys are refused', () => {
  const m = build();
  const bytes = saveModel(m, undefined, { extra: { 'optimiser.step': tensor([7]) } });
  assert.throws(() => loadModel(build(), bytes), (e: Error) => e.message === 'loadModel: the file has an entry the model lacks: optimiser.step');
  const { extra } = loadModel(build(), bytes, { extra: (k) => k.startsWith('optimiser.') });
  assert.equal(extra['optimiser.step'].toArray(), [7]);
  assert.throws(() => saveModel(m, undefined, { metadata: { 'fluxion.format': 'x' } }), (e: Error) => e.message === 'saveModel: metadata keys starting with "fluxion." are reserved, got fluxion.format');
  assert.throws(() => saveModel(m, undefined, { extra: { 'layers.0.bias': zeros([3]) } }), (e: Error) => e.message === "saveModel: the extra tensor layers.0.bias has the name of one of the model's tensors");
});

test('the optimiser state travels with the model: training resumes with the same losses', () => {
  const x = tensor([[1, 2, 3, 4], [0, -1, 2, 1]], { dtype: 'float32' }), y = tensor([[1, 0, 2], [0, 1, 1]], { dtype: 'float32' });
  const step = (m: ReturnType<typeof build>, o: ReturnType<typeof setup>): number => {
    const [g] = gradient((mm: typeof m) => mse(mm(x), y), m);
    update(o, m, g);
    return mse(m(x), y).item();
  };
  seed(6);
  const m = build(), opt = setup(Adam(0.01), m);
  for (let i = 0; i < 3; i++) step(m, opt);
  const bytes = saveModel(m, undefined, { optimiser: opt });
  const straight = [0, 1, 2].map(() => step(m, opt));
  seed(7);
  const m2 = build(), opt2 = setup(Adam(0.01), m2);
  loadModel(m2, bytes, { optimiser: opt2 });
  const resumed = [0, 1, 2].map(() => step(m2, opt2));
  assert.equal(resumed, straight);
  // without asking for it, the optimiser state in a file is not an error for the model alone
  loadModel(build(), bytes);
  // an optimiser that does not fit the saved state: nothing is loaded
  const m3 = build(), before = m3.layers[0].weight.toArray();
  assert.throws(() => loadModel(m3, bytes, { optimiser: setup(Descent(0.1), m3) }), (e: Error) => /^loadModel: .*\(nothing was loaded\)$/.test(e.message));
  assert.equal(m3.layers[0].weight.toArray(), before);
  assert.throws(() => loadModel(build(), modelBytes(m), { optimiser: setup(Adam(), build()) }), (e: Error) => e.message === 'loadModel: the file holds no optimiser state (save it with saveModel(model, path, { optimiser }))');
});

test.run();
